/*
 * EAR attestation results (draft-ietf-rats-ear, EAT Attestation Results with the AR4SI
 * trustworthiness vector), the signing keys that sign them, the JWKS that publishes
 * those keys, and the JWE that wraps a released secret for a TEE key (KBS protocol).
 *
 * JOSE is done by libjose (latchset José); JSON is jansson's json_t. The token is a JWT
 * in compact JWS serialization, ES256 by default.
 *
 * Every function returns 0 or a negative enum tt_err. Out-parameters are written only on
 * success. Strings returned through char ** are malloc'd and freed by the caller with
 * free(); json_t * returned are new references (json_decref). Inputs are borrowed.
 *
 * Prefix: tt_ear_*. enum tt_ear_status is the one status type of the tree: policy
 * engines (src/policy) and turtle-as use it.
 */
#ifndef TT_ATTEST_EAR_H
#define TT_ATTEST_EAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The eat_profile of every token we issue and the only one we accept. */
#define TT_EAR_PROFILE "tag:github.com,2023:veraison/ear"

/* Key under each submodule where turtle puts the claims its verifier extracted from the
 * evidence (PCRs, Secure Boot state, event digests, ...). Veraison uses the same name for
 * the same purpose, so EAR consumers that know it find the claims there. */
#define TT_EAR_ANNOTATED_EVIDENCE "ear.veraison.annotated-evidence"

#define TT_EAR_DEFAULT_LIFETIME   3600u      /* s: default exp - iat */
#define TT_EAR_MAX_LIFETIME       86400u     /* s: upper bound a caller may ask for */
#define TT_EAR_TOKEN_MAX          (256u * 1024u) /* bytes: longest token we parse */

/* ear.status values, ordered from best to worst as AR4SI orders the tiers ("none" is
 * below affirming only in the sense that it affirms nothing). */
enum tt_ear_status {
	TT_EAR_STATUS_NONE = 0,
	TT_EAR_STATUS_AFFIRMING = 1,
	TT_EAR_STATUS_WARNING = 2,
	TT_EAR_STATUS_CONTRAINDICATED = 3,
};

/* "none" / "affirming" / "warning" / "contraindicated"; NULL for an unknown value. */
const char *tt_ear_status_name(enum tt_ear_status s);
/* Inverse of tt_ear_status_name; TT_ERR_PARSE for an unknown name. */
int tt_ear_status_parse(const char *name, enum tt_ear_status *out);

/* The eight AR4SI trustworthiness claims, in the order of the vector array below. */
enum tt_ear_tv_claim {
	TT_EAR_TV_INSTANCE_IDENTITY = 0,
	TT_EAR_TV_CONFIGURATION,
	TT_EAR_TV_EXECUTABLES,
	TT_EAR_TV_FILE_SYSTEM,
	TT_EAR_TV_HARDWARE,
	TT_EAR_TV_RUNTIME_OPAQUE,
	TT_EAR_TV_STORAGE_OPAQUE,
	TT_EAR_TV_SOURCED_DATA,
	TT_EAR_TV_COUNT,
};
/* JSON member name ("instance-identity", ...); NULL when out of range. */
const char *tt_ear_tv_claim_name(enum tt_ear_tv_claim c);

/* A few AR4SI claim values (the full tables are in the draft; any int8 is accepted). */
#define TT_EAR_TV_NO_CLAIM              0
#define TT_EAR_TV_UNEXPECTED_EVIDENCE   1   /* "none" tier */
#define TT_EAR_TV_VERIFIER_MALFUNCTION  (-1)
#define TT_EAR_TV_AFFIRMING             2   /* trustworthy instance / genuine hw / approved */
#define TT_EAR_TV_WARNING               32
#define TT_EAR_TV_CONTRAINDICATED       96

/* AR4SI tier of one claim value: [-1,1] none, [2,31] and [-32,-2] affirming,
 * [32,95] and [-96,-33] warning, [96,127] and [-128,-97] contraindicated. */
enum tt_ear_status tt_ear_tier_of(int8_t value);
/* The worst tier among the set claims of a vector (none when nothing is set). */
enum tt_ear_status tt_ear_status_from_vector(const int8_t tv[TT_EAR_TV_COUNT],
	const bool set[TT_EAR_TV_COUNT]);

/* One appraised submodule (e.g. "tpm", "snp"). */
struct tt_ear_submod {
	const char *name;                       /* key in "submods"; required */
	enum tt_ear_status status;
	int8_t tv[TT_EAR_TV_COUNT];
	bool tv_set[TT_EAR_TV_COUNT];           /* claims not set are omitted */
	const char *policy_id;                  /* ear.appraisal-policy-id; may be NULL */
	const json_t *annotated_evidence;       /* object of extracted claims; may be NULL */
	const json_t *extra;                    /* object merged into the submod (e.g.
	                                           "turtle.reasons"); may be NULL */
};

/* The content of one attestation result. */
struct tt_ear_result {
	const char *nonce;                      /* eat_nonce (text, 8..88 bytes); may be NULL */
	const char *verifier_developer;         /* ear.verifier-id.developer; NULL: "turtle" */
	const char *verifier_build;             /* ear.verifier-id.build; NULL: turtle's version */
	uint32_t lifetime;                      /* s, 1..TT_EAR_MAX_LIFETIME; 0: default */
	size_t n_submods;                       /* >= 1 */
	const struct tt_ear_submod *submods;
};

/*
 * Build the claims set of a result issued at `now` (iat = now, exp = now + lifetime).
 * TT_ERR_INVALID_ARGUMENT for a missing name, duplicate submod, bad nonce length or
 * lifetime, or extra/annotated_evidence that are not objects.
 */
int tt_ear_build(const struct tt_ear_result *r, uint64_t now, json_t **claims_out);

/* ------------------------------------------------------------------------------------ */
/* Signing keys                                                                           */

/*
 * A key directory (mode 0700, created if missing; an existing one must not be group- or
 * world-accessible) holds:
 *   active.jwk    the private JWK in use (0600), with "kid", "alg", "use":"sig"
 *   retired.jwks  public JWKs of earlier keys, each with "turtle.retired" (unix time)
 * Files are replaced atomically (write to a temp file, fsync, rename). kid is the RFC 7638
 * SHA-256 thumbprint. A retired key stays in the JWKS until retired + max_token_lifetime
 * has passed, so every token it signed can still be checked; after that it is pruned.
 */
struct tt_ear_keys;

struct tt_ear_keys_opts {
	const char *alg;               /* "ES256" (default when NULL), "ES384", "RS256", "PS256" */
	uint32_t max_token_lifetime;   /* s; 0: TT_EAR_MAX_LIFETIME */
};

/* Open (creating the directory and a first key when absent). now is used for pruning. */
int tt_ear_keys_open(const char *dir, const struct tt_ear_keys_opts *opts, uint64_t now,
	struct tt_ear_keys **out);
void tt_ear_keys_free(struct tt_ear_keys *k);             /* NULL ok; wipes the private key */

/* Re-read the directory (another process may have rotated). Safe while other threads
 * sign; reloads and rotations of one process run one at a time. */
int tt_ear_keys_reload(struct tt_ear_keys *k, uint64_t now);

/* Make a new active key; the old one becomes retired at `now`. Same concurrency as
 * reload; across processes the directory's flock serialises rotations. The new key's kid
 * is copied to kid_out (kid_len bytes; NULL for none). */
int tt_ear_keys_rotate(struct tt_ear_keys *k, uint64_t now, char *kid_out, size_t kid_len);

/* kid of the active key (borrowed, valid until the next rotate/reload/free: only for a
 * caller that no other thread can rotate under, e.g. at start-up or in tests). */
const char *tt_ear_keys_kid(const struct tt_ear_keys *k);
/* The active kid copied into buf under the lock: safe while other threads rotate.
 * TT_ERR_BUFFER_TOO_SMALL if it does not fit (kids are 43 characters). */
int tt_ear_keys_kid_copy(const struct tt_ear_keys *k, char *buf, size_t len);

/* JWKS {"keys":[...]} of the active key and every retired key not yet expired at now. */
int tt_ear_keys_jwks(const struct tt_ear_keys *k, uint64_t now, json_t **jwks_out);
int tt_ear_keys_jwks_text(const struct tt_ear_keys *k, uint64_t now, char **text_out);

/* Sign any claims object as a JWT with the active key: compact JWS, header
 * {"alg":..,"kid":..,"typ":"JWT"}. */
int tt_ear_sign_claims(const struct tt_ear_keys *k, const json_t *claims, char **token_out);

/* tt_ear_build + tt_ear_sign_claims. */
int tt_ear_sign(const struct tt_ear_keys *k, const struct tt_ear_result *r, uint64_t now,
	char **token_out);

/* ------------------------------------------------------------------------------------ */
/* Verification (offline, against a JWKS)                                                 */

struct tt_ear_verify_opts {
	uint64_t now;                  /* unix time to judge exp/iat/nbf by; required */
	uint32_t leeway;               /* s of clock skew tolerated both ways */
	const void *nonce;             /* expected eat_nonce bytes; NULL: not checked */
	size_t nonce_len;
	bool any_profile;              /* accept any eat_profile (generic JWT); default: EAR only */
};

/*
 * Verify a compact JWS token against a JWKS (json text {"keys":[...]} or one JWK).
 * Checks, in order: shape and size; header alg in {ES256, ES384, RS256, PS256} ("none",
 * HMAC and everything else refused); the key chosen by kid (or, without kid, any key of
 * the matching type) with kty/crv matching alg, "use"/"key_ops"/"alg" of the JWK allowing
 * it; the signature; claims: exp and iat present and integers, now <= exp + leeway,
 * iat <= now + leeway, nbf <= now + leeway if present; eat_profile; eat_nonce equal to the
 * expected bytes (constant-time compare; an array of nonces matches if any entry does);
 * each submod has a valid ear.status.
 *
 * On success *claims_out (if not NULL) gets the decoded claims. On failure returns
 * TT_ERR_INVALID_SIGNATURE (bad signature, no usable key), TT_ERR_NOT_PERMITTED (alg not
 * allowed, expired, not yet valid, nonce mismatch), TT_ERR_PARSE / TT_ERR_DATA_INVALID
 * (malformed token or JWKS) and, if reason_out is not NULL, a malloc'd one-line reason.
 */
int tt_ear_verify(const char *token, const char *jwks_text,
	const struct tt_ear_verify_opts *opts, json_t **claims_out, char **reason_out);

/* Decode header and claims without verifying anything (for display only). */
int tt_ear_decode_unverified(const char *token, json_t **header_out, json_t **claims_out);

/* ------------------------------------------------------------------------------------ */
/* JWE for secret release (KBS protocol resource responses)                              */

/*
 * Encrypt pt to a TEE public key given as a JWK, in JWE flattened JSON serialization
 * {"protected","encrypted_key","iv","ciphertext","tag"} as Trustee's KBS returns it.
 * alg: RSA keys RSA-OAEP-256; EC keys (P-256, P-384, P-521) ECDH-ES+A256KW with the
 * ephemeral key in the protected header; enc is always A256GCM. A JWK "alg" member naming
 * one of these is honoured; any other (notably RSA1_5) is refused with TT_ERR_NOT_SUPPORTED.
 * All header parameters are integrity-protected (in "protected"), none in "header".
 */
int tt_ear_jwe_encrypt(const json_t *tee_jwk, const void *pt, size_t ptl, json_t **jwe_out);

/* Decrypt a flattened (or general, single-recipient) JWE with a private JWK; the same
 * algorithms only. *pt_out is malloc'd with a NUL after the *ptl_out bytes; wipe it. */
int tt_ear_jwe_decrypt(const json_t *priv_jwk, const json_t *jwe, uint8_t **pt_out,
	size_t *ptl_out);

#ifdef __cplusplus
}
#endif
#endif
