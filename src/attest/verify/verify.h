/*
 * tt_verify: one verifier per evidence type behind one table (as curl's lib/vtls backends).
 *
 * A verifier takes the evidence bytes as the attester produced them, the binding the
 * evidence must carry, the time to judge certificates and collateral by, and a trust source;
 * it answers with a verdict, the claims read from signed data, the chain of links it checked
 * from the trust anchor down, and the reasons for its verdict. It knows nothing of HTTP,
 * of turtle-as's store or of policy, and never touches the network: turtle-as, libturtle and
 * `turtle verify` (offline, from a file) all call the same code.
 *
 * Adding a TEE is adding one file with one `const struct tt_verifier` and one line in
 * registry.c.
 *
 * Fail closed (DESIGN.md, "Appraisal"): claims come only from data the verified signature
 * covers; a check that cannot be made (no certificate, unknown processor, no anchor) is a
 * refusal, never a pass. A verifier returns 0 only when every link of the chain verified and
 * the evidence is bound to the expected binding (unless the caller explicitly asked for no
 * binding check with TT_VERIFY_F_NO_BINDING, e.g. `turtle verify` of a stored report).
 * Appraisal of the claims against reference values is the policy's job, not the verifier's.
 */
#ifndef TT_ATTEST_VERIFY_H
#define TT_ATTEST_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

/* Version of struct tt_verifier and of the in/out structures; a table states the version
 * it was written against and the registry refuses others. */
#define TT_VERIFY_ABI 1u

/* Capabilities of a verifier (tt_verifier.caps). */
#define TT_VERIFY_CAP_BINDING    (1u << 0) /* evidence carries caller-chosen report data */
#define TT_VERIFY_CAP_CHAIN      (1u << 1) /* signature chains to a vendor trust anchor */
#define TT_VERIFY_CAP_CRL        (1u << 2) /* checks revocation lists when supplied */
#define TT_VERIFY_CAP_COLLATERAL (1u << 3) /* needs collateral (certificates, TCB info) */
#define TT_VERIFY_CAP_EVENTLOG   (1u << 4) /* replays an event log into signed registers */
#define TT_VERIFY_CAP_TCB_STATUS (1u << 5) /* derives a TCB status from collateral */

/* tt_verify_in.flags */
#define TT_VERIFY_F_NO_BINDING   (1u << 0) /* caller has no challenge: binding not checked */
#define TT_VERIFY_F_REQUIRE_CRL  (1u << 1) /* refuse unless every CRL of the chain is supplied */
#define TT_VERIFY_F_ANY_VMPL     (1u << 2) /* snp: accept a report requested above VMPL 0
                                            * (SVSM/paravisor); the claim carries the VMPL */
/* A verified TCB status other than the vendor's "up to date" (Intel's SWHardeningNeeded,
 * OutOfDate, ...) is reported in the claims for the policy to judge instead of refused.
 * Revoked is refused whatever the flags. */
#define TT_VERIFY_F_ANY_TCB_STATUS (1u << 3)

/* Upper bounds applied to inputs before anything else is read. */
#define TT_VERIFY_MAX_EVIDENCE    (1u << 20)  /* 1 MiB of evidence */
#define TT_VERIFY_MAX_COLLATERAL  (4u << 20)  /* 4 MiB of collateral, in bytes or per file */
#define TT_VERIFY_MAX_BINDING     64u         /* the report-data size TEEs use */

/*
 * Where trust comes from. Every member may be NULL/0.
 *   anchors_dir    replaces the anchors built into the library (shipped as data, listed with
 *                  their fingerprints in docs/trust-anchors.md). When set, an anchor missing
 *                  from it is missing: there is no fallback to the built-in copy.
 *   collateral_dir a local cache of collateral (certificates, CRLs, TCB info) by file name;
 *                  each verifier documents the names it reads.
 *   collateral     collateral that came with the evidence or from the caller, in the
 *                  verifier's own format (e.g. SNP's certificate table or certificates, DCAP's
 *                  collateral JSON).
 */
struct tt_verify_trust {
	const char *anchors_dir;
	const char *collateral_dir;
	const uint8_t *collateral;
	size_t collateral_len;
};

struct tt_verify_in {
	const uint8_t *evidence;     /* the evidence as the TEE produced it (see each verifier) */
	size_t evidence_len;
	/* What the evidence must be bound to: the challenge nonce, or for KBS the hash of the
	 * runtime data. Equal to the report data, or a prefix of it zero-padded to the report
	 * data's size. Required unless flags has TT_VERIFY_F_NO_BINDING. */
	const uint8_t *binding;
	size_t binding_len;
	/* Optional: the expected init-data hash the host bound at launch (SNP host_data,
	 * TDX mr_config_id, ...), compared as the binding is. NULL: not checked (the value
	 * is still a claim for the policy). */
	const uint8_t *init_data;
	size_t init_data_len;
	int64_t now;                 /* seconds since the epoch; certificates, CRLs and
	                              * collateral are judged at this time */
	const struct tt_verify_trust *trust;  /* may be NULL: built-in anchors only */
	unsigned flags;              /* TT_VERIFY_F_* */
};

/*
 * What a verification produced. tt_verify fills all three members (each a new reference
 * owned by the result; release with tt_verify_result_clear).
 *   claims   on success only: the TEE's claims, named and nested as Trustee's verifier for
 *            this TEE names them (e.g. for snp {"measurement": hex, "reported_tcb":
 *            {"bootloader": n, ...}, "policy": {"debug_allowed": bool, ...}, ...});
 *            a caller nests them under its own key (turtle-as: "<tee>.evidence").
 *   chain    always: an array of links in the order they were checked, from the trust
 *            anchor down to the evidence and its binding, each
 *            {"link": kind, "name": text, "verdict": "verified"|"failed"|"not checked",
 *             "detail": text (optional)}; kind is "anchor", "certificate", "crl",
 *            "collateral", "key", "evidence", "binding", "claim".
 *   reasons  always: an array of strings; on failure the first names the check that failed.
 */
struct tt_verify_result {
	json_t *claims;
	json_t *chain;
	json_t *reasons;
};

/*
 * One evidence type.
 *   version  TT_VERIFY_ABI the table was written for;
 *   tee      short name used on the wire and the command line ("snp", "cca", "tdx", ...);
 *   name     human-readable name of the TEE;
 *   caps     TT_VERIFY_CAP_*;
 *   verify   checks in->evidence; returns 0 when every link verified, otherwise a negative
 *            tt_err: TT_ERR_INVALID_ARGUMENT (bad call), TT_ERR_DATA_INVALID /
 *            TT_ERR_TRUNCATED / TT_ERR_TRAILING / TT_ERR_LIMIT (malformed evidence or
 *            collateral), TT_ERR_NOT_SUPPORTED (a version or algorithm this build does not
 *            handle), TT_ERR_INVALID_SIGNATURE (a signature or certificate chain failed),
 *            TT_ERR_DOES_NOT_EXIST (an anchor or collateral item is missing),
 *            TT_ERR_NOT_PERMITTED (expired, not yet valid or revoked, or a claim the
 *            verifier itself must refuse such as a VCEK that contradicts its report),
 *            TT_ERR_NOT_AUTHENTICATED (binding mismatch), TT_ERR_NO_MEMORY.
 *            res has been cleared by the caller; the verifier adds links and reasons as it
 *            goes (tt_verify_link, tt_verify_fail) and sets res->claims only on success.
 */
struct tt_verifier {
	unsigned version;
	const char *tee;
	const char *name;
	uint32_t caps;
	int (*verify)(const struct tt_verify_in *in, struct tt_verify_result *res);
};

/* ---- registry (registry.c) ---- */

/* NULL-terminated list of the verifiers this build has. */
extern const struct tt_verifier *const tt_verifier_registry[];
/* Verifier for a tee name, or NULL. */
const struct tt_verifier *tt_verifier_find(const char *tee);

/*
 * Verify `in` with `v`: checks the call (sizes within the TT_VERIFY_MAX_* bounds, a
 * binding unless TT_VERIFY_F_NO_BINDING), sets up *res and runs v->verify. On return res
 * holds chain and reasons whatever the outcome (release with tt_verify_result_clear) and
 * claims only when 0 is returned. Returns as v->verify does.
 */
int tt_verify(const struct tt_verifier *v, const struct tt_verify_in *in,
    struct tt_verify_result *res);
void tt_verify_result_clear(struct tt_verify_result *res);   /* NULL ok; reusable after */

/* ---- helpers for verifiers (common.c) ---- */

/* Append a link to res->chain. detail may be NULL. 0 or TT_ERR_NO_MEMORY. */
int tt_verify_link(struct tt_verify_result *res, const char *link, const char *name,
    bool ok, const char *detail);
/* Append a link whose verdict is "not checked" (e.g. no CRL supplied). */
int tt_verify_link_skipped(struct tt_verify_result *res, const char *link,
    const char *name, const char *detail);
/* Append a reason (printf-style) and return err, so that `return tt_verify_fail(res,
 * TT_ERR_..., "...")` states a refusal in one line. Returns TT_ERR_NO_MEMORY instead if
 * the reason cannot be recorded. */
int tt_verify_fail(struct tt_verify_result *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The evidence is bound to the binding: report data equals it, or begins with it and the
 * rest is zero (constant time over the report data). False if the binding is longer than
 * the report data. With TT_VERIFY_F_NO_BINDING in in->flags, records a "not checked" link
 * and returns 0; otherwise records the binding link and returns 0 or
 * TT_ERR_NOT_AUTHENTICATED (with a reason).
 */
int tt_verify_check_binding(const struct tt_verify_in *in, struct tt_verify_result *res,
    const uint8_t *report_data, size_t rd_len);

/*
 * The launch-time init data (host_data, mr_config_id, ...) equals in->init_data, or
 * begins with it and the rest is zero. When in->init_data is NULL records a "not checked"
 * link and returns 0; otherwise 0 or TT_ERR_NOT_AUTHENTICATED (with a reason).
 */
int tt_verify_check_init_data(const struct tt_verify_in *in, struct tt_verify_result *res,
    const uint8_t *field, size_t len);

/*
 * A trust anchor by name ("amd/milan.pem", "arm/cpak.json", ...): from trust->anchors_dir
 * when set, else from the anchors built into the library (anchors/ in this directory).
 * *data is a NUL-terminated copy the caller frees. TT_ERR_DOES_NOT_EXIST when there is no
 * such anchor; TT_ERR_LIMIT above TT_VERIFY_MAX_COLLATERAL; TT_ERR_IO.
 */
int tt_verify_anchor(const struct tt_verify_trust *trust, const char *name,
    uint8_t **data, size_t *len);

/*
 * A collateral file by name from trust->collateral_dir (a plain name, no '/' or "..").
 * *data is a NUL-terminated copy the caller frees. TT_ERR_DOES_NOT_EXIST when there is no
 * directory or no such file; TT_ERR_LIMIT above TT_VERIFY_MAX_COLLATERAL; TT_ERR_IO.
 */
int tt_verify_collateral_file(const struct tt_verify_trust *trust, const char *name,
    uint8_t **data, size_t *len);

/* Built-in anchors (generated from anchors/ at build time): name, bytes, length. */
struct tt_verify_builtin {
	const char *name;
	const uint8_t *data;
	size_t len;
};
extern const struct tt_verify_builtin tt_verify_builtins[];
extern const size_t tt_verify_builtins_count;

/* Lower-case hex of n bytes as a new JSON string (NULL on allocation failure). */
json_t *tt_verify_hex(const uint8_t *p, size_t n);

/* ---- certificates (x509.c) ---- */

/*
 * Parse certificates: one DER certificate, or any number of PEM certificates (other PEM
 * blocks are skipped). *out is a new stack the caller frees with
 * sk_X509_pop_free(.., X509_free). TT_ERR_DATA_INVALID when nothing parses, TT_ERR_LIMIT
 * above 16 certificates.
 */
int tt_verify_certs_parse(const uint8_t *data, size_t len, STACK_OF(X509) **out);
/* Likewise for CRLs (DER or PEM). */
int tt_verify_crls_parse(const uint8_t *data, size_t len, STACK_OF(X509_CRL) **out);

/*
 * Verify leaf up to one of `anchors` (trusted as given, e.g. a self-signed root, whose own
 * signature must then verify) through
 * `untrusted` intermediates, judging validity at `now`. With crls non-NULL every
 * certificate of the chain must have a valid CRL from its issuer among them and must not be
 * listed (TT_ERR_NOT_PERMITTED when revoked). On failure *why (may be NULL) is OpenSSL's
 * static text for the first error. TT_ERR_INVALID_SIGNATURE (a signature or name
 * chain fails), TT_ERR_NOT_PERMITTED (expired, not yet valid, revoked, CRL missing or
 * stale), TT_ERR_NO_MEMORY.
 */
int tt_verify_x509_chain(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *anchors,
    STACK_OF(X509_CRL) *crls, int64_t now, const char **why);

/* Subject common name of a certificate into out (NUL-terminated, cut to size), or "?". */
void tt_verify_x509_cn(X509 *c, char *out, size_t size);
/* SHA-256 fingerprint of a certificate's DER as lower-case hex into out[65]. */
int tt_verify_x509_sha256(X509 *c, char out[65]);

#endif
