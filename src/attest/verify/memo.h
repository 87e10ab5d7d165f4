/*
 * Remembered verification facts, shared by the verifier files: a certificate chain that
 * verified up to its anchor (with the window in which every certificate of it is valid),
 * and a public key or certificate already parsed from the bytes of a token. A signature over evidence is
 * never remembered: only what depends on nothing but the bytes hashed into the key.
 *
 * Keys are SHA-256 over a tag naming the fact and every input it depends on, so a hit
 * means "these very bytes, judged the same way, at a time inside the window". Only
 * successes are stored. Two bounded tables (chains, keys), each overwritten round-robin,
 * so a stream of fresh per-VM keys cannot evict the few chains a verifier keeps seeing.
 * Thread-safe; a hit costs one mutex and a scan of at most TT_VERIFY_MEMO_SLOTS keys.
 */
#ifndef TT_VERIFY_MEMO_H
#define TT_VERIFY_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define TT_VERIFY_MEMO_SLOTS 128
#define TT_VERIFY_MEMO_CERTS 8      /* certificates in one chain key */
#define TT_VERIFY_MEMO_CERT_MAX 16384   /* larger DER is parsed, never kept */

enum tt_verify_memo_table {
	TT_VERIFY_MEMO_CHAIN = 0,   /* chains verified to an anchor */
	TT_VERIFY_MEMO_KEY = 1,     /* public keys parsed from token bytes */
	TT_VERIFY_MEMO_CERT = 2,    /* certificates parsed from DER (tt_verify_memo_x509) */
	TT_VERIFY_MEMO_TABLES
};

/* key = SHA-256(tag || for each part: SHA-256(part)). TT_ERR_NO_MEMORY. */
int tt_verify_memo_key(const char *tag, const uint8_t *const *part, const size_t *len,
    size_t n, uint8_t key[32]);

/* The key of n (at most TT_VERIFY_MEMO_CERTS) certificates, from the SHA-256 of each DER,
 * and [*from, *to] the window in which all of them are valid. TT_ERR_DATA_INVALID when a
 * date cannot be read, TT_ERR_LIMIT for too many. */
int tt_verify_memo_certs_key(const char *tag, X509 *const *certs, size_t n, uint8_t key[32],
    int64_t *from, int64_t *to);

/* The window [*from, *to] (both inclusive, seconds) in which all n certificates are
 * valid as OpenSSL's chain check judges them: notBefore on, up to the second before the
 * earliest notAfter. */
int tt_verify_x509_window(X509 *const *certs, size_t n, int64_t *from, int64_t *to);

/* True when key was stored and now is inside its window. *pkey (if pkey is not NULL)
 * receives a reference the caller frees, or NULL when the fact was stored without one. */
bool tt_verify_memo_get(enum tt_verify_memo_table t, const uint8_t key[32], int64_t now,
    EVP_PKEY **pkey);

/* Store key with its window and (optional) key, of which the table takes its own
 * reference. A key already present is refreshed in place. */
void tt_verify_memo_put(enum tt_verify_memo_table t, const uint8_t key[32], int64_t from,
    int64_t to, EVP_PKEY *pkey);

/* A certificate parsed from the DER bytes p[0..n), taken from the memo when these bytes
 * parsed before: *out is a reference the caller frees. zero_pad: the bytes after the DER
 * may be zeros (a table's rounded-up length); otherwise the DER must fill n exactly.
 * TT_ERR_DATA_INVALID for anything else, TT_ERR_LIMIT above TT_VERIFY_MAX_COLLATERAL.
 * Only DER of at most TT_VERIFY_MEMO_CERT_MAX bytes is remembered. */
int tt_verify_memo_x509(const uint8_t *p, size_t n, bool zero_pad, X509 **out);

/* Forget everything (tests; a change of anchors needs no flush: anchors are in the key). */
void tt_verify_memo_flush(void);

#endif
