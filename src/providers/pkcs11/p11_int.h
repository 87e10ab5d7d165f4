/*
 * Internals of the PKCS#11 provider (provider id 2). Only the files in this directory
 * include it.
 *
 * The module is loaded with dlopen and driven through its CK_FUNCTION_LIST. Keys are
 * token objects found by CKA_ID = kid, so the key store's reference is only a small
 * versioned descriptor (no secrets). Requests borrow a logged-in R/W session from a
 * pool; a fault that means "the token or the session is gone" marks the pool stale and
 * the next request re-initialises the module, finds the token again by label/serial,
 * reopens the sessions and logs in again.
 */
#ifndef TT_PROVIDERS_P11_INT_H
#define TT_PROVIDERS_P11_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <p11-kit-1/p11-kit/pkcs11.h>

#include "providers/provider.h"
#include "turtle/psa.h"
#include "util/buf.h"

#define P11_REF_VERSION 1
#define P11_REF_LEN (1 + TT_KEY_ID_LEN + 2 + 4)
#define P11_MAX_POOL 64
#define P11_MAX_ATTR 4096            /* largest attribute value we read (RSA-4096 modulus: 512) */
#define P11_HCACHE 256               /* object-handle cache slots (direct-mapped) */

/* A remembered C_FindObjects answer: object handles stay valid for the application until
 * the object is destroyed or the module is re-initialised (generation change). */
struct p11_hslot {
	uint8_t kid[TT_KEY_ID_LEN];
	CK_OBJECT_CLASS cls;
	CK_OBJECT_HANDLE h;
	uint64_t gen;                /* pool generation the handle belongs to; 0 = empty */
};

struct p11_ctx {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	char lib[4096];
	char label[33];              /* wanted token label, or "" when serial is used */
	char serial[17];
	char *pin;                   /* kept for re-login after the token returns; wiped at fini */
	size_t pin_len;
	int sw_public;               /* verify/encrypt with OpenSSL from the public key */
	unsigned pool_want;          /* configured session count */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int initialized;             /* C_Initialize succeeded and C_Finalize not yet called */
	int no_os_locking;           /* module refused CKF_OS_LOCKING_OK: one session only */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE *free_s;   /* idle sessions of the current generation */
	unsigned n_free;
	unsigned n_open;
	unsigned outstanding;        /* borrowed sessions */
	uint64_t gen;                /* bumped at every rebuild */
	int stale;

	/* Finding a key costs about as much as a signature in SoftHSM2, so handles are
	 * cached per (kid, class); see tt_p11_find. */
	pthread_mutex_t hmu;
	struct p11_hslot hcache[P11_HCACHE];
};

/* A borrowed session. `fault` is set by p11_chk when a call reported a lost token or
 * session; returning the session then marks the pool stale. */
struct p11_sess {
	CK_SESSION_HANDLE h;
	uint64_t gen;
	int fault;
};

/* ---- p11.c ---- */
const char *tt_p11_rv_name(CK_RV rv);
/* The tt_err for a CK_RV (never 0 for rv != CKR_OK). */
int tt_p11_rv_err(CK_RV rv);
/* Whether rv means the token or the session is gone. */
int tt_p11_rv_is_fault(CK_RV rv);
/* Record rv in the session (faults) and return it. */
CK_RV tt_p11_chk(struct p11_sess *s, CK_RV rv);
/* Borrow / return a logged-in session; borrowing rebuilds a stale pool first. */
int tt_p11_get(struct p11_ctx *c, struct p11_sess *s);
void tt_p11_put(struct p11_ctx *c, struct p11_sess *s);
/* Log a failed call and map it. */
int tt_p11_fail(const char *what, CK_RV rv);

/* ---- p11_keys.c ---- */
int tt_p11_can_do(void *ctx, enum tt_check_type check, const struct tt_key_attrs *a);
int tt_p11_generate_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *ref);
int tt_p11_import_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, struct tt_buf *ref);
int tt_p11_destroy_key(void *ctx, const uint8_t kid[TT_KEY_ID_LEN], const uint8_t *ref, size_t ref_len);
int tt_p11_export_public_key(void *ctx, const struct tt_key *k, struct tt_buf *out);
/* Forget cached handles of kid (destroy). */
void tt_p11_hcache_drop(struct p11_ctx *c, const uint8_t kid[TT_KEY_ID_LEN]);
/* The object of class `cls` with CKA_ID = kid; TT_ERR_DOES_NOT_EXIST if none. Answers
 * from the handle cache when it holds the kid for the session's pool generation. */
int tt_p11_find(struct p11_ctx *c, struct p11_sess *s, const uint8_t kid[TT_KEY_ID_LEN],
    CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *h);
/* The key's public half as an OpenSSL key (read from the token's public object). */
int tt_p11_public_pkey(struct p11_ctx *c, const struct tt_key *k, EVP_PKEY **pkey);
/* Curve byte length for an ECC key size; 0 if unsupported. */
size_t tt_p11_ecc_bytes(uint32_t bits);
/* Supported hash (SHA-1/2 family) or not. */
int tt_p11_hash_ok(tt_alg_t h);
int tt_p11_sign_alg_ok(tt_key_type_t type, tt_alg_t alg);
int tt_p11_asym_alg_ok(tt_key_type_t type, tt_alg_t alg);

/* ---- p11_ops.c ---- */
int tt_p11_sign_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, struct tt_buf *sig);
int tt_p11_verify_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len);
int tt_p11_asym_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
int tt_p11_asym_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
int tt_p11_generate_random(void *ctx, size_t n, struct tt_buf *out);
int tt_p11_hash_compute(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out);

#endif
