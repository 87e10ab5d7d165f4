/*
 * Format conversions between PSA's wire formats and the standard encodings OpenSSL
 * tools expect. Kept apart from the commands so unit tests can exercise them without a
 * daemon. All functions return 0 or a negative tt_err; outputs are malloc'd (free with
 * free()/OPENSSL_free as documented) and written only on success.
 */
#ifndef TT_CLI_CONV_H
#define TT_CLI_CONV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "turtle/psa.h"

/* PSA ECDSA signature r||s (two equal halves) -> DER ECDSA-Sig-Value. *der: free(). */
int tt_cli_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der, size_t *der_len);
/* DER ECDSA-Sig-Value -> r||s, each padded to field_len bytes. TT_ERR_INVALID_SIGNATURE
 * for malformed DER or an integer wider than field_len. *raw: free(). */
int tt_cli_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len,
			    uint8_t **raw, size_t *raw_len);

/* Public key from PSA public format: ECC (SECP_R1 256/384/521) uncompressed point, or
 * RSA PKCS#1 RSAPublicKey DER. `type` may be the key-pair or public-key type; `bits` 0
 * derives the size from the data. *out: EVP_PKEY_free(). */
int tt_cli_pubkey_from_psa(tt_key_type_t type, uint32_t bits, const uint8_t *data, size_t len,
			   EVP_PKEY **out);
/* PEM "PUBLIC KEY" (SubjectPublicKeyInfo) text, NUL-terminated. *pem: free(). */
int tt_cli_pubkey_to_pem(EVP_PKEY *pk, char **pem, size_t *pem_len);

/*
 * An OpenSSL key (private or public) in PSA import format: ECC private scalar or
 * uncompressed point; RSA PKCS#1 DER. Fills attrs->type and attrs->bits (usage and alg
 * are left to the caller). *data: free with tt_free_secret(*data, *len) semantics (the
 * caller wipes it). TT_ERR_NOT_SUPPORTED for other key kinds or curves.
 */
int tt_cli_pkey_to_psa(EVP_PKEY *pk, struct tt_key_attrs *attrs, uint8_t **data, size_t *len);

/* SECP_R1 curve size in bits -> OpenSSL group name, NULL if unsupported. */
const char *tt_cli_curve_name(uint32_t bits);

/* The hash a signing command uses with a key: SHA-256 for RSA and P-256, SHA-384 for
 * P-384, SHA-512 for P-521, unless the key's policy names one hash. */
tt_alg_t tt_cli_sign_hash_for(const struct tt_key_attrs *a);
/* The concrete signature algorithm for a key and hash, from its policy. TT_ALG_NONE if
 * the key cannot sign. */
tt_alg_t tt_cli_sign_alg_for(const struct tt_key_attrs *a, tt_alg_t hash);

#endif
