/*
 * turtle-as internals: the contracts between the HTTP front, the store, the verifier
 * plugins, the policy engines and the token issuer.
 *
 * Every function returns 0 or a negative enum tt_err. JSON values cross these interfaces
 * as jansson json_t: a function that returns a json_t through an out-parameter gives the
 * caller one reference (json_decref it); inputs are borrowed.
 *
 * Back ends are function tables so that a second implementation is one file and one
 * table entry: the store (sqlite now, PostgreSQL later), verifiers (sample, tpm),
 * policy engines (default now, Rego later).
 */
#ifndef TT_AS_H
#define TT_AS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TT_AS_NONCE_BYTES 32u
#define TT_AS_MAX_BINDING 64u

struct tt_as_config {
	char *listen_host;            /* numeric IPv4/IPv6 address */
	uint16_t port;
	char *data_dir;
	char *admin_token;            /* NULL: admin endpoints disabled */
	size_t admin_token_len;
	size_t max_body;              /* request body limit (default 1 MiB) */
	unsigned max_connections;     /* default 256 */
	unsigned threads;             /* MHD thread pool (default 2) */
	unsigned request_timeout;     /* seconds of inactivity per connection (default 30) */
	unsigned nonce_ttl;           /* seconds a challenge stays valid (default 300) */
	unsigned token_ttl;           /* seconds an EAR token is valid (default 3600) */
	unsigned session_ttl;         /* seconds a KBS session lives (default 300) */
	unsigned max_challenges;      /* outstanding challenges held in memory (default 100000) */
	unsigned cache_ttl_ms;        /* node/refval/policy cache lifetime (default 1000; 0 off) */
	unsigned audit_mib;           /* MiB of appraisal records kept for audit (default 64) */
	bool foreground;
};

/* ---------------------------------------------------------------------------------- */
/* Challenges (nonce.c): in memory on purpose, see there                               */

struct tt_as_nonces;

/* A taken challenge. Strings owned by the struct; free with tt_as_nonce_clear. */
struct tt_as_nonce {
	char *tee;
	char *node_id;                /* NULL when the challenge named no node */
	int64_t expires_at;
};
void tt_as_nonce_clear(struct tt_as_nonce *n);

/* A table of at most `max` outstanding challenges. */
int tt_as_nonces_new(size_t max, struct tt_as_nonces **out);
void tt_as_nonces_free(struct tt_as_nonces *t);
size_t tt_as_nonces_count(struct tt_as_nonces *t);
/* Issue a fresh TT_AS_NONCE_BYTES nonce for `tee` (a static string: the verifier's name)
 * and optionally a node; *nonce_out (base64url, malloc'd) is what the client echoes.
 * TT_ERR_LIMIT when `max` unexpired challenges are outstanding. */
int tt_as_nonce_issue(struct tt_as_nonces *t, const char *tee, const char *node_id,
	int64_t now, int64_t expires_at, char **nonce_out);
/* Take (remove) the challenge with these raw nonce bytes: single use, so two concurrent
 * takes cannot both succeed. TT_ERR_DOES_NOT_EXIST when unknown or already taken;
 * TT_ERR_TIMEOUT when expired (it is removed too, *out not written). */
int tt_as_nonce_take(struct tt_as_nonces *t, const uint8_t *nonce, size_t len, int64_t now,
	struct tt_as_nonce *out);

/* ---------------------------------------------------------------------------------- */
/* Read-through cache of node records, reference values and policies (cache.c)          */

struct tt_as_cache;
struct tt_as_cached;          /* a shared, immutable value with its own reference count */
enum { TT_AS_CACHE_NODE = 1, TT_AS_CACHE_REFVALS = 2, TT_AS_CACHE_POLICY = 3,
	TT_AS_CACHE_REQUIRED = 4, /* key "tee/group": the names tt_policy_required gives */
	TT_AS_CACHE_KBS_POLICY = 5 /* key TT_AS_KBS_POLICY, no fallback to "default" */ };
/* The store key of the KBS resource-release policy (not a group name: it holds '/'). */
#define TT_AS_KBS_POLICY "kbs/resource"

/* ttl_ms = 0: a cache that never holds anything. */
int tt_as_cache_new(unsigned ttl_ms, struct tt_as_cache **out);
void tt_as_cache_free(struct tt_as_cache *c);            /* NULL ok */
/* Forget everything; loads that started before this call will not be stored. */
void tt_as_cache_invalidate(struct tt_as_cache *c);      /* NULL ok */
/* 0 and a handle in *out on a fresh hit, else TT_ERR_DOES_NOT_EXIST. *gen is the
 * generation to hand to tt_as_cache_put with what the caller then loads. c may be NULL. */
int tt_as_cache_get(struct tt_as_cache *c, int kind, const char *key,
	struct tt_as_cached **out, uint64_t *gen);
/* Wrap a freshly loaded value (its reference is taken; JSON null means "there is none")
 * in a handle for the caller, and remember it unless the cache was invalidated since
 * `gen`. The value must not be modified afterwards. TT_ERR_NO_MEMORY (val released). */
int tt_as_cache_put(struct tt_as_cache *c, int kind, const char *key, json_t *val,
	uint64_t gen, struct tt_as_cached **out);
/* The value, or NULL for "there is none". Borrowed from the handle. */
const json_t *tt_as_cached_value(const struct tt_as_cached *h);
void tt_as_cached_release(struct tt_as_cached *h);      /* NULL ok */

/* ---------------------------------------------------------------------------------- */
/* Store                                                                                */

struct tt_as_store;


/* One KBS session (cookie). */
struct tt_as_session {
	char *id;
	char *tee;
	char *nonce;                  /* base64url challenge nonce */
	int64_t expires_at;
	bool attested;                /* an affirming attestation happened in this session */
	json_t *tee_pubkey;           /* JWK from the attestation, NULL before */
	/* What a KBS resource policy reads: {"ear": the token's claims, "group": the
	 * node group}; NULL before a token was issued in this session. */
	json_t *release_input;
};
void tt_as_session_clear(struct tt_as_session *s);

/*
 * Store operations. Each call is one transaction: it commits entirely or not at all, and
 * returns only after the commit is durable (SQLite: WAL, synchronous=FULL).
 * Errors: TT_ERR_DOES_NOT_EXIST (no such row), TT_ERR_ALREADY_EXISTS, TT_ERR_STORAGE
 * (the database failed), TT_ERR_NO_MEMORY.
 */
struct tt_as_store_ops {
	const char *name;
	int (*open)(const char *data_dir, struct tt_as_store **out);
	void (*close)(struct tt_as_store *s);

	/* Nodes: JSON objects with at least "id" and "group" (and "ak_sha256" once their AK
	 * is trusted: see tt_as_node_index_ak in http.h). */
	int (*node_put)(struct tt_as_store *s, const json_t *node);
	int (*node_get)(struct tt_as_store *s, const char *id, json_t **out);
	/* The node whose trusted AK has this fingerprint (the doc's "ak_sha256", hex
	 * SHA-256 of the AK's DER SubjectPublicKeyInfo; unique across nodes: a node_put
	 * that would give two nodes one AK fails with TT_ERR_ALREADY_EXISTS). */
	int (*node_by_ak)(struct tt_as_store *s, const char *ak_sha256, json_t **out);
	/* The nodes registered with this "tee" and this "tee_identity" (hex, compared without
	 * regard to case): *out a JSON array, empty when none (identities are not unique: an
	 * admin may register one platform twice, and the caller decides what that means). */
	int (*node_by_tee_identity)(struct tt_as_store *s, const char *tee,
	    const char *identity, json_t **out);
	int (*node_list)(struct tt_as_store *s, json_t **out);
	int (*node_delete)(struct tt_as_store *s, const char *id);

	/* Reference values: import a JSON array of {name, value, version?, expires_at?,
	 * scope?} in one transaction; *ids receives a JSON array of the new ids. */
	int (*refval_import)(struct tt_as_store *s, const json_t *arr, int64_t now, json_t **ids);
	int (*refval_list)(struct tt_as_store *s, json_t **out);
	int (*refval_revoke)(struct tt_as_store *s, int64_t id, int64_t now);
	/* Valid (not revoked, not expired at `now`, scope all or group:`group`) values as
	 * a JSON object name -> array of value strings. `group` may be NULL. */
	int (*refval_valid)(struct tt_as_store *s, const char *group, int64_t now, json_t **out);

	/* Policies, one per node group (the group "default" applies when none matches).
	 * Keys holding '/' are never group names (ids are [A-Za-z0-9._:-]): TT_AS_KBS_POLICY
	 * keeps the KBS resource policy there, and policy_list leaves such keys out. */
	int (*policy_put)(struct tt_as_store *s, const char *group, const json_t *doc, int64_t now);
	int (*policy_get)(struct tt_as_store *s, const char *group, json_t **out);
	int (*policy_list)(struct tt_as_store *s, json_t **out);
	int (*policy_delete)(struct tt_as_store *s, const char *group);

	/* Resources addressed by "repository/type/tag". */
	int (*resource_put)(struct tt_as_store *s, const char *path, const uint8_t *data,
		size_t len, int64_t now);
	int (*resource_get)(struct tt_as_store *s, const char *path, uint8_t **data, size_t *len);
	int (*resource_list)(struct tt_as_store *s, json_t **out);
	int (*resource_delete)(struct tt_as_store *s, const char *path);

	/* KBS sessions. */
	int (*session_put)(struct tt_as_store *s, const struct tt_as_session *sess);
	int (*session_get)(struct tt_as_store *s, const char *id, int64_t now,
		struct tt_as_session *out);
	/* Mark the session attested (or not) and record the TEE key; clears its nonce so
	 * the challenge cannot be answered twice. TT_ERR_DOES_NOT_EXIST when the session is
	 * unknown or its nonce was already used. */
	int (*session_attest)(struct tt_as_store *s, const char *id, const char *nonce,
		bool affirming, const json_t *tee_pubkey, const json_t *release_input);

	/* Signing keys metadata: kid, alg, created, state ("active"/"retired"). */
	int (*key_add)(struct tt_as_store *s, const char *kid, const char *alg, int64_t now);
	int (*key_list)(struct tt_as_store *s, json_t **out);
};

extern const struct tt_as_store_ops tt_as_store_sqlite;

/* ---------------------------------------------------------------------------------- */
/* Verifiers                                                                            */

struct tt_as_verify_in {
	const char *tee;
	const json_t *evidence;       /* the request's evidence object */
	/* Bytes the evidence must be bound to: the native challenge nonce, or for KBS the
	 * SHA-384 of the runtime data (nonce + tee-pubkey). */
	const uint8_t *binding;
	size_t binding_len;
	const json_t *node;           /* registered node record, or NULL */
};

/*
 * A verifier checks evidence and extracts claims. Claims are a JSON object with a
 * "measurements" object (claim name -> string value, compared by the policy with the
 * reference values) and any informational members; TEE verifiers add "tee_identity"
 * (hex), the platform identity the verified evidence carries, which KBS uses to find a
 * registered node for anonymous evidence.
 * Returns 0 with *claims set, or an error with *reason (static string, never NULL on
 * error) naming the check that failed: TT_ERR_INVALID_ARGUMENT (malformed evidence),
 * TT_ERR_NOT_AUTHENTICATED (binding/nonce mismatch), TT_ERR_INVALID_SIGNATURE.
 */
struct tt_as_verifier {
	const char *tee;
	int (*verify)(const struct tt_as_verify_in *in, json_t **claims, const char **reason);
	/* Prefixes of the measurement names this verifier produces (NULL-terminated; ""
	 * owns every name). A reference value whose name starts with one of them is
	 * required of this tee's evidence: absent, it makes the result contraindicated. */
	const char *const *owned;
};

/* Verifier for a tee name, or NULL. */
const struct tt_as_verifier *tt_as_verifier_find(const char *tee);
extern const struct tt_as_verifier tt_as_verifier_sample;
extern const struct tt_as_verifier tt_as_verifier_tpm;
/* Confidential-computing evidence through src/attest/verify (verifier_tee.c). */
extern const struct tt_as_verifier tt_as_verifier_snp;
extern const struct tt_as_verifier tt_as_verifier_cca;
extern const struct tt_as_verifier tt_as_verifier_virtcca;
extern const struct tt_as_verifier tt_as_verifier_tdx;
extern const struct tt_as_verifier tt_as_verifier_sgx;
/*
 * Registration of a TEE node from its evidence (POST /v1/nodes with "evidence"): verifies
 * the evidence of tee (snp, tdx, sgx, cca, virtcca) as an attestation does but with no
 * challenge binding (TT_VERIFY_F_NO_BINDING: it proves which platform signed, not that the
 * evidence is fresh), and writes the platform identity the verified claims carry (hex, as
 * "tee_identity" in the claims, NUL-terminated) to id. Returns 0, or an error with *reason
 * (a static or thread-local string): TT_ERR_NOT_SUPPORTED for any other tee,
 * TT_ERR_INVALID_ARGUMENT for malformed evidence, TT_ERR_COMMUNICATION when configured
 * collateral could not be fetched, TT_ERR_NOT_AUTHENTICATED when the evidence does not
 * verify, TT_ERR_NOT_PERMITTED when it verifies but carries no identity.
 */
int tt_as_tee_register_identity(const char *tee, const json_t *evidence, char id[129],
    const char **reason);
/* Where those verifiers find trust anchors (NULL: built in) and cached collateral (NULL:
 * none; DCAP collateral and SNP VCEKs must then come with the evidence). Set once at
 * start-up, before serving. */
void tt_as_tee_trust(const char *anchors_dir, const char *collateral_dir);
/* The [collateral] section: the optional KDS/PCS fetcher (src/attest/fetch), copied;
 * its strings must live as long as the process. Off unless cfg->enabled. */
struct tt_fetch_cfg;
void tt_as_tee_fetch(const struct tt_fetch_cfg *cfg);

/* ---------------------------------------------------------------------------------- */
/* Policy: the engines live in src/policy (policy.h); status is enum tt_ear_status.      */

/* ---------------------------------------------------------------------------------- */
/* Audit records of appraisals (results.c)                                              */

struct tt_as_results;

/* Keep the full record of recent appraisals (JSON text: claims, appraisal, token facts)
 * in memory, at most `max_bytes` in all, oldest dropped first; 0 keeps none. In memory
 * on purpose, as challenges are: a record per attestation in the store would cost a
 * durable write on the hot path (docs/turtle-as.md, "Audit records"). */
int tt_as_results_new(size_t max_bytes, struct tt_as_results **out);
void tt_as_results_free(struct tt_as_results *t);           /* NULL ok */
/* Keep the concatenation of `nparts` pieces as one record under `id` (a fresh random id
 * of 1..64 bytes); the pieces are copied. A record larger than the whole budget is kept
 * nowhere (0). t may be NULL (nothing kept). */
int tt_as_results_put(struct tt_as_results *t, const char *id, const char *const *parts,
	const size_t *lens, size_t nparts);
/* A malloc'd copy of the record with this id; TT_ERR_DOES_NOT_EXIST when unknown or
 * already dropped. */
int tt_as_results_get(struct tt_as_results *t, const char *id, char **text, size_t *len);

/* ---------------------------------------------------------------------------------- */
/* Token issuer (EAR JWT, JWKS, JWE)                                                    */

struct tt_as_issuer;

/* Load the signing key from data_dir (creating an ES256 key, 0600, on first start) and
 * record its metadata in the store. */
int tt_as_issuer_open(const char *data_dir, struct tt_as_store *st,
	const struct tt_as_store_ops *ops, struct tt_as_issuer **out);
void tt_as_issuer_close(struct tt_as_issuer *is);
/* Sign a claims set as a compact JWS (typ JWT). *token is malloc'd. */
int tt_as_issuer_sign(struct tt_as_issuer *is, const json_t *claims, char **token);
/* Make a new active signing key; the old one stays in the JWKS (retired) until every
 * token it signed has expired. The new key's metadata is recorded in the store. */
int tt_as_issuer_rotate(struct tt_as_issuer *is, struct tt_as_store *st,
	const struct tt_as_store_ops *ops);
/* The public JWKS: {"keys": [...]} of every active key. */
int tt_as_issuer_jwks(struct tt_as_issuer *is, json_t **out);
/* Encrypt `data` to a TEE public JWK as a flattened JSON JWE (KBS Response). The alg
 * follows the key: RSA -> RSA-OAEP-256 (or the JWK's alg when it names RSA1_5 /
 * RSA-OAEP), EC -> ECDH-ES+A256KW; enc A256GCM. */
int tt_as_jwe_encrypt(const json_t *jwk, const uint8_t *data, size_t len, json_t **out);

/* ---------------------------------------------------------------------------------- */
/* AK credential activation (credential.c)                                              */

struct tt_buf;
/* Name (nameAlg || H(TPMT_PUBLIC)) of an AK given as a marshalled TPM2B_PUBLIC; the key
 * must be a restricted signing key (fixedTPM, fixedParent, sensitiveDataOrigin, sign, not
 * decrypt) with name alg SHA-256. `name` holds at least 66 bytes. TT_ERR_NOT_PERMITTED
 * for other attributes, TT_ERR_INVALID_ARGUMENT for malformed bytes. */
int tt_as_ak_name(const uint8_t *pub, size_t len, uint8_t *name, size_t *name_len);
/* TPM2_MakeCredential for an RSA 2048 or ECC P-256 EK (PEM): appends the marshalled
 * TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET to the two writers. */
int tt_as_make_credential(const char *ek_pem, const uint8_t *name, size_t name_len,
	const uint8_t *secret, size_t slen, struct tt_buf *id_object, struct tt_buf *enc_secret);

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                              */

/* base64url without padding; *out malloc'd and NUL-terminated. */
int tt_as_b64url_enc(const uint8_t *in, size_t len, char **out);
/* base64url or standard base64, padding optional; *out malloc'd. */
int tt_as_b64_dec(const char *in, uint8_t **out, size_t *outlen);
int64_t tt_as_now(void);

#endif
