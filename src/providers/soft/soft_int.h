/*
 * Internals of the software provider (OpenSSL 3). Not a public contract: only the files
 * in this directory include it.
 *
 * A key lives in the key store as a wrapped blob (soft_wrap.c); on use it is unwrapped
 * and parsed into a `struct soft_key`, which the bounded LRU cache (soft_cache.c) keeps
 * so that hot keys are not unwrapped and parsed per request. A soft_key is immutable
 * once built and reference counted, so worker threads share it without locks; every
 * operation makes its own EVP_PKEY_CTX / EVP_CIPHER_CTX / EVP_MAC_CTX.
 */
#ifndef TT_PROVIDERS_SOFT_INT_H
#define TT_PROVIDERS_SOFT_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "providers/provider.h"
#include "turtle/psa.h"
#include "util/buf.h"

#define SOFT_MASTER_KEY_LEN 32
#define SOFT_WRAP_VERSION 1
#define SOFT_NONCE_LEN 12
#define SOFT_TAG_LEN 16
#define SOFT_MAX_SYM_BYTES 1024      /* HMAC / raw data upper bound */
/* Largest PSA-format key material we wrap. An 8192-bit RSAPrivateKey is about 4.7 KB
 * with balanced primes and stays under 5.2 KB however the primes are split; 4096 cut
 * imports off near 7000 bits. */
#define SOFT_MAX_KEY_BYTES 8192
/* version, kid, auth type, two length-prefixed names (<= 1024 each), type, bits, usage, alg */
#define SOFT_AAD_MAX (1 + TT_KEY_ID_LEN + 1 + 4 + 1024 + 4 + 1024 + 2 + 4 + 4 + 4)

struct soft_cache;

struct soft_ctx {
	uint8_t *mk;                 /* master key, page-locked when possible */
	size_t mk_alloc;             /* size of the mk allocation */
	int mk_locked;
	struct soft_cache *cache;    /* NULL when key_cache_size = 0 */
	EVP_MAC *hmac;               /* fetched once: fetching per call takes a global lock */
	EVP_MAC *cmac;
};

/* A parsed key. Asymmetric keys carry an EVP_PKEY; symmetric ones their raw bytes. */
struct soft_key {
	atomic_int refs;
	tt_key_type_t type;
	uint32_t bits;               /* actual size of the material */
	EVP_PKEY *pkey;
	uint8_t *raw;                /* secret, from OpenSSL's secure heap; wiped on free */
	size_t raw_len;
};

/* ---- soft_keys.c ---- */
/* Whether (type, bits) can be created; bits 0 allowed only when `import`. */
int tt_soft_type_ok(tt_key_type_t type, uint32_t bits, int import);
/* Whether keys of `type` can be used with `alg` (policy algorithms, wildcards allowed). */
int tt_soft_alg_ok(tt_key_type_t type, tt_alg_t alg);
/* Parse PSA-format material into a new key (refs = 1). TT_ERR_INVALID_ARGUMENT on bad
 * encodings, TT_ERR_NOT_SUPPORTED for unsupported types. */
int tt_soft_key_parse(tt_key_type_t type, const uint8_t *d, size_t len, struct soft_key **out);
/* Create fresh material of (type, bits) in PSA format into `psa` (a secret buffer). */
int tt_soft_key_generate(tt_key_type_t type, uint32_t bits, struct tt_buf *psa);
void tt_soft_key_put(struct soft_key *k);
struct soft_key *tt_soft_key_get(struct soft_key *k);
/* Public form of an asymmetric key in PSA format. */
int tt_soft_key_export_public(const struct soft_key *k, struct tt_buf *out);
/* Curve byte length for ECC keys (ceil(bits/8)). */
size_t tt_soft_ecc_bytes(uint32_t bits);
/* EVP_PKEY for a peer public key of the same curve as `type`/`bits`. */
int tt_soft_ecc_public_from_psa(tt_key_type_t type, uint32_t bits, const uint8_t *d, size_t len,
    EVP_PKEY **out);
/* The OpenSSL digest for a PSA hash alg; NULL if unknown. */
const EVP_MD *tt_soft_md(tt_alg_t hash);
const char *tt_soft_md_name(tt_alg_t hash);

/* ---- soft_wrap.c ---- */
/* Build the AAD that binds a wrapped blob to its identity. */
int tt_soft_aad(const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *aad);
int tt_soft_wrap(const struct soft_ctx *c, const uint8_t *aad, size_t aad_len,
    const uint8_t *psa, size_t psa_len, struct tt_buf *ref);
/* Unwrap into a secret buffer; TT_ERR_DATA_CORRUPT if the blob does not authenticate. */
int tt_soft_unwrap(const struct soft_ctx *c, const uint8_t *aad, size_t aad_len,
    const uint8_t *ref, size_t ref_len, struct tt_buf *psa);
/* Unwrap `k->ref` into PSA bytes, coping with keys imported with bits = 0. */
int tt_soft_unwrap_key(const struct soft_ctx *c, const struct tt_key *k, struct tt_buf *psa);
/* Resolve a key for use: cache hit or unwrap + parse (+ cache insert). Release with
 * tt_soft_key_put. */
int tt_soft_load(struct soft_ctx *c, const struct tt_key *k, struct soft_key **out);

/* ---- soft_cache.c ---- */
/* `rsa_pairs`: also keep RSA key pairs (cache_rsa_key_pairs; see soft_cache.c). */
int tt_soft_cache_new(size_t cap, int rsa_pairs, struct soft_cache **out);
void tt_soft_cache_free(struct soft_cache *sc);
/* A new reference to the entry for kid if its identity (aad) and ref match, else NULL. */
struct soft_key *tt_soft_cache_get(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *ref, size_t ref_len);
/* Insert (replacing any entry for kid); takes its own reference. Best effort. */
void tt_soft_cache_put(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *ref, size_t ref_len, struct soft_key *k);
void tt_soft_cache_drop(struct soft_cache *sc, const uint8_t kid[TT_KEY_ID_LEN]);

/* ---- operations (soft_sign.c, soft_sym.c, soft_agree.c) ---- */
int tt_soft_sign_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, struct tt_buf *sig);
int tt_soft_verify_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len);
int tt_soft_asym_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
int tt_soft_asym_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
int tt_soft_aead_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, struct tt_buf *out);
int tt_soft_aead_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, struct tt_buf *out);
int tt_soft_cipher_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, struct tt_buf *out);
int tt_soft_cipher_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, struct tt_buf *out);
int tt_soft_mac_compute(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, struct tt_buf *mac);
int tt_soft_mac_verify(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len);
int tt_soft_raw_key_agreement(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *peer, size_t peer_len, struct tt_buf *out);
int tt_soft_generate_random(void *ctx, size_t n, struct tt_buf *out);
int tt_soft_hash_compute(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out);

/* Shared helpers for the operation files. */
int tt_soft_mac_alg_ok(tt_key_type_t type, uint32_t bits, tt_alg_t alg, size_t *mac_len);
int tt_soft_aead_alg_ok(tt_key_type_t type, tt_alg_t alg);
int tt_soft_cipher_alg_ok(tt_key_type_t type, tt_alg_t alg);
int tt_soft_sign_alg_ok(tt_key_type_t type, tt_alg_t alg);
int tt_soft_asym_alg_ok(tt_key_type_t type, tt_alg_t alg);
int tt_soft_ka_alg_ok(tt_key_type_t type, tt_alg_t alg);

#endif
