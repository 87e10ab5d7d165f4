/*
 * CBOR and COSE_Sign1 for the token verifiers (Arm CCA, virtCCA), over libcbor and
 * OpenSSL. Untrusted CBOR is first walked by a bounded, iterative checker (definite lengths
 * only, nesting and item counts limited, every count checked against the bytes left) so
 * that libcbor never allocates from an unchecked count nor recurses deeply when freeing.
 */
#ifndef TT_ATTEST_VERIFY_COSE_H
#define TT_ATTEST_VERIFY_COSE_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/evp.h>

#define TT_CBOR_MAX_DEPTH 8u
#define TT_CBOR_MAX_ITEMS 4096u

/* Well-formed, definite-length CBOR of exactly len bytes within the limits above.
 * TT_ERR_TRUNCATED, TT_ERR_TRAILING, TT_ERR_LIMIT, TT_ERR_DATA_INVALID. */
int tt_cbor_check(const uint8_t *p, size_t len);
/* tt_cbor_check, then libcbor's decoder. *out is a new reference (cbor_decref). */
int tt_cbor_decode(const uint8_t *p, size_t len, cbor_item_t **out);

/* The value of integer key `key` in a definite map (borrowed), or NULL. A map with the key
 * twice is refused by tt_cbor_map_unique. */
cbor_item_t *tt_cbor_map_get(cbor_item_t *map, int64_t key);
/* Every key is an integer and none repeats: 0 or TT_ERR_DATA_INVALID. */
int tt_cbor_map_unique(cbor_item_t *map);
/* An integer item's value (uint or negint within int64). 0 or TT_ERR_DATA_INVALID. */
int tt_cbor_int(cbor_item_t *it, int64_t *v);
/* A definite byte string's bytes (borrowed), optionally of one exact length (0: any). */
int tt_cbor_bytes(cbor_item_t *it, size_t want, const uint8_t **p, size_t *n);
/* A definite text string as a new NUL-terminated copy, with trailing NULs stripped
 * (virtCCA pads); TT_ERR_DATA_INVALID for an embedded NUL. Caller frees. */
int tt_cbor_text(cbor_item_t *it, size_t max, char **out);

/* COSE algorithm identifiers (IANA COSE registry). */
#define TT_COSE_ES256 (-7)
#define TT_COSE_ES384 (-35)
#define TT_COSE_ES512 (-36)
#define TT_COSE_PS256 (-37)
#define TT_COSE_PS384 (-38)

/* A COSE_Sign1 (tag 18 required, as the byte 0xD2): borrowed views into the decoded item. */
struct tt_cose_sign1 {
	const uint8_t *protected_hdr, *payload, *signature;
	size_t protected_len, payload_len, signature_len;
	int64_t alg;
};

/* Parse a tagged COSE_Sign1 from bytes; *item holds the decoded tree the views point into
 * (cbor_decref it when done). TT_ERR_DATA_INVALID, TT_ERR_NOT_SUPPORTED (no or unknown
 * alg, a detached payload). */
int tt_cose_sign1_parse(const uint8_t *p, size_t len, cbor_item_t **item,
    struct tt_cose_sign1 *out);
/* Verify the signature over Sig_structure ("Signature1", protected, empty external aad,
 * payload) with key, whose type must fit alg. 0 or TT_ERR_INVALID_SIGNATURE. */
int tt_cose_sign1_verify(const struct tt_cose_sign1 *s, EVP_PKEY *key);

/* An EC public key from a JWK {"kty":"EC","crv":"P-256|P-384|P-521","x","y"}. */
int tt_jwk_ec_pkey(const json_t *jwk, EVP_PKEY **out);
/* An EC public key from an uncompressed point (0x04||x||y) whose size names the curve
 * (65: P-256, 97: P-384, 133: P-521). */
int tt_ec_point_pkey(const uint8_t *p, size_t n, EVP_PKEY **out);

#endif
