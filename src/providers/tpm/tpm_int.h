/*
 * Internal contract of the TPM 2.0 provider (provider id 3).
 *
 * One ESYS context per provider instance, used under one mutex: ESYS is not thread-safe
 * and a TPM executes one command at a time anyway. Every entry point takes the lock with
 * tt_tpm_enter(), which also rebuilds a context that a transport fault marked dead
 * (new TCTI + ESYS, Startup if the TPM needs it, the SRK recreated, the key cache
 * dropped) and releases it with tt_tpm_leave().
 *
 * Keys live outside the TPM: a key reference is a versioned blob of the marshalled
 * TPM2B_PUBLIC and TPM2B_PRIVATE (see tpm_keys.c); it is loaded under the SRK on use
 * and kept in a small LRU cache of loaded handles.
 */
#ifndef TT_PROVIDERS_TPM_INT_H
#define TT_PROVIDERS_TPM_INT_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "providers/provider.h"

#define TPM_REF_VERSION 1          /* key pair: TPM2B_PUBLIC || TPM2B_PRIVATE */
#define TPM_REF_VERSION_PUBLIC 2   /* imported public key: TPM2B_PUBLIC only */

struct tpm_slot {
	uint8_t kid[TT_KEY_ID_LEN];
	ESYS_TR h;
	uint64_t used;                /* LRU clock; 0 = free slot */
};

struct tpm_ctx {
	pthread_mutex_t lock;
	char *tcti;
	TPM2B_AUTH owner_auth;
	TPM2B_AUTH endorsement_auth;
	TSS2_TCTI_CONTEXT *tcti_ctx;
	ESYS_CONTEXT *esys;
	int dead;                     /* rebuild before the next command */
	ESYS_TR srk;
	size_t max_loaded;
	struct tpm_slot *slots;
	uint64_t clock;
	int ek_ecc;                   /* ek_alg = ecc: the P-256 EK (L-2), else RSA (L-1) */
};

/* ---- tpm.c: context, return codes, cache ---- */
/* Lock and make sure the context is alive (rebuilding it if needed). On failure the
 * lock is NOT held. */
int tt_tpm_enter(struct tpm_ctx *c);
void tt_tpm_leave(struct tpm_ctx *c);
/* Whether rc is transient (RETRY, YIELDED, TESTING): the caller repeats the command. */
int tt_tpm_rc_retry(TSS2_RC rc);
/* Map rc to a tt_err, log it, and mark the context dead for transport faults. */
int tt_tpm_fail(struct tpm_ctx *c, const char *what, TSS2_RC rc);
/* Evict the least recently used loaded key to free a TPM object slot; 0 if one was
 * evicted, TT_ERR_INSUFFICIENT_STORAGE if the cache is empty. */
int tt_tpm_evict_one(struct tpm_ctx *c);
/* Handle of the loaded key pair `k` (loading it under the SRK on a miss). The handle
 * stays owned by the cache. */
int tt_tpm_key_handle(struct tpm_ctx *c, const struct tt_key *k, ESYS_TR *h);
/* Drop `kid` from the cache (flushing it). */
void tt_tpm_cache_drop(struct tpm_ctx *c, const uint8_t kid[TT_KEY_ID_LEN]);
/* CreatePrimary with `tmpl` under `hierarchy`, evicting cached keys on OBJECT_MEMORY.
 * The caller flushes *h. */
int tt_tpm_create_primary(struct tpm_ctx *c, ESYS_TR hierarchy, const TPM2B_PUBLIC *tmpl,
    ESYS_TR *h, TPM2B_PUBLIC **pub);

/* ---- tpm_keys.c ---- */
void tt_tpm_srk_template(TPM2B_PUBLIC *t);
void tt_tpm_ek_template(TPM2B_PUBLIC *t);
void tt_tpm_ak_template(TPM2B_PUBLIC *t);
/* Parse a key reference. priv may be NULL; *is_pair tells whether a private part exists. */
int tt_tpm_ref_parse(const uint8_t *ref, size_t len, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv,
    int *is_pair);
/* OpenSSL public key from a TPM public area. */
int tt_tpm_pub_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out);
int tt_tpm_can_do(void *ctx, enum tt_check_type check, const struct tt_key_attrs *a);
int tt_tpm_generate_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *ref);
int tt_tpm_import_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, struct tt_buf *ref);
int tt_tpm_destroy_key(void *ctx, const uint8_t kid[TT_KEY_ID_LEN], const uint8_t *ref, size_t ref_len);
int tt_tpm_export_public_key(void *ctx, const struct tt_key *k, struct tt_buf *out);

/* ---- tpm_ops.c ---- */
int tt_tpm_sign_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, struct tt_buf *sig);
int tt_tpm_verify_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len);
int tt_tpm_asym_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
int tt_tpm_asym_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out);
int tt_tpm_generate_random(void *ctx, size_t n, struct tt_buf *out);
int tt_tpm_hash_compute(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out);
/* TPM hash algorithm id for a PSA hash; TPM2_ALG_ERROR if none. */
TPM2_ALG_ID tt_tpm_hash_alg(tt_alg_t h);

/* ---- tpm_attest.c ---- */
int tt_tpm_prepare_activate_credential(void *ctx, const struct tt_key *attested,
    const struct tt_key *attesting, struct tt_buf *name, struct tt_buf *pub,
    struct tt_buf *attesting_pub);
int tt_tpm_attest_activate_credential(void *ctx, const struct tt_key *attested,
    const struct tt_key *attesting, const uint8_t *credential_blob, size_t blob_len,
    const uint8_t *secret, size_t secret_len, struct tt_buf *credential);
int tt_tpm_certify_key(void *ctx, const struct tt_key *key, const uint8_t *nonce,
    size_t nonce_len, struct tt_buf *attest, struct tt_buf *sig);

/* ---- tpm_quote.c: the node agent role (see provider.h) ---- */
/* Read the agent's start-up keys from the provider config (ek_alg = rsa|ecc, default
 * rsa); TT_ERR_CONFIG for a value it does not know. */
int tt_tpm_agent_config(struct tpm_ctx *c, const struct tt_provider_cfg *cfg);
/* Template of the configured EK: tt_tpm_ek_template() (RSA 2048, L-1) or the ECC NIST
 * P-256 EK (L-2). Both have the PolicySecret(TPM_RH_ENDORSEMENT) authPolicy. */
void tt_tpm_agent_ek_template(const struct tpm_ctx *c, TPM2B_PUBLIC *t);
int tt_tpm_agent_quote(void *ctx, const struct tt_pcr_select *sel, const uint8_t *nonce,
    size_t nonce_len, struct tt_buf *attest, struct tt_buf *sig, struct tt_buf *ak_pub,
    struct tt_buf *pcrs);
int tt_tpm_agent_identity(void *ctx, struct tt_buf *ek_pub, struct tt_buf *ek_der,
    struct tt_buf *ek_cert, struct tt_buf *ak_pub, struct tt_buf *ak_name);
int tt_tpm_agent_activate(void *ctx, const uint8_t *blob, size_t blob_len,
    const uint8_t *secret, size_t secret_len, struct tt_buf *out);

/* Run an ESYS call, repeating it a bounded number of times while the TPM says RETRY,
 * YIELDED or TESTING. `rc` receives the final return code. */
#define TPM_RUN(rc, call) do { \
		int tpm_run_n_ = 0; \
		do { \
			(rc) = (call); \
		} while (tt_tpm_rc_retry(rc) && ++tpm_run_n_ < 8); \
	} while (0)

/* TPM_RUN for commands that need a free object slot (Load, CreatePrimary, and Create,
 * which builds the new object in a slot): on OBJECT_MEMORY the least recently used
 * cached key is flushed and the command repeated. */
#define TPM_RUN_SLOT(c, rc, call) do { \
		for (;;) { \
			TPM_RUN(rc, call); \
			if ((rc) != TPM2_RC_OBJECT_MEMORY || tt_tpm_evict_one(c) != 0) \
				break; \
		} \
	} while (0)

#endif
