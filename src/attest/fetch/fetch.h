/*
 * tt_fetch: an optional fetcher of TEE collateral from the vendors' public services (AMD
 * KDS for SEV-SNP, Intel PCS v4 for TDX/SGX) into the local collateral cache directory
 * the verifiers (src/attest/verify) already read. Off unless the caller enables it.
 *
 * Trust model: nothing fetched is trusted. The fetcher only moves bytes into files named
 * as the verifiers expect (vcek.der, crl.der, <tee>-<fmspc>.json); the verifier then
 * checks them exactly as it checks collateral a person copied there: chains to the
 * shipped anchors, signatures, validity at "now", CRLs. The verifier library itself has
 * no HTTP and does not change when fetching is on. HTTPS certificate checking is always
 * on; plain http:// base URLs are accepted (a local mirror, the tests) because the trust
 * does not rest on the transport.
 *
 * Cache layout under cfg->cache_dir (created 0700 when missing):
 *   snp/<Product>-<hwid hex>-<reported TCB hex>/vcek.der, crl.der   (one per chip + TCB)
 *   snp/<Product>-crl.der                                           (shared CRL copy)
 *   snp/<Product>/crl.der          (evidence that brings its VCEK: only the CRL is needed)
 *   dcap-<processor|platform>/tdx-<fmspc>.json, sgx-<fmspc>.json     (collateral JSON)
 * Every file is written to a temporary name in its directory and renamed into place, so
 * a reader (another thread, another turtle-as) sees the old file or the new one, never a
 * part. An item is fetched when it is missing or no longer current at "now" (a CRL past
 * its nextUpdate, TCB info or QE identity past theirs, a certificate past notAfter);
 * an expired item is never handed on as current: if its refetch fails, the call fails.
 *
 * Amplification guard (process-wide, thread-safe): a URL whose answer was refused (an
 * HTTP status other than 200, an answer too large or not of the asked-for shape) is not
 * asked again for negative_ttl seconds (the call fails with the remembered error; at most
 * TT_FETCH_GUARD_MAX remembered), and all requests together pass a token bucket of
 * max_per_minute (burst the same); beyond it a request fails with TT_ERR_LIMIT without
 * contacting the server. Connection failures and timeouts are not remembered.
 *
 * Contract: 0 or a negative tt_err; err (errlen bytes, may be NULL) receives one line a
 * person can act on ("HTTP 404 from https://...", "response larger than 1048576 bytes
 * from ...", "timed out after 10 s fetching ..."). Thread-safe once tt_fetch_init ran.
 */
#ifndef TT_ATTEST_FETCH_H
#define TT_ATTEST_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TT_FETCH_KDS_URL "https://kdsintf.amd.com"
#define TT_FETCH_PCS_URL "https://api.trustedservices.intel.com"
#define TT_FETCH_ROOT_CRL_URL \
	"https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
#define TT_FETCH_TIMEOUT 10u              /* seconds per request (default) */
#define TT_FETCH_TIMEOUT_MAX 120u
#define TT_FETCH_MAX_SIZE (1u << 20)      /* bytes per response (default) */
#define TT_FETCH_MAX_SIZE_MAX (4u << 20)  /* = TT_VERIFY_MAX_COLLATERAL */
#define TT_FETCH_MAX_URL 1024u
#define TT_FETCH_NEGATIVE_TTL 600u        /* seconds a refused lookup is not asked again */
#define TT_FETCH_NEGATIVE_TTL_MAX 86400u
#define TT_FETCH_PER_MINUTE 30u           /* requests per minute, whole process (default) */
#define TT_FETCH_PER_MINUTE_MAX 6000u
#define TT_FETCH_GUARD_MAX 1024u          /* remembered refusals and forgotten items */

/* What the caller configured. NULL URLs and zero limits take the defaults above. */
struct tt_fetch_cfg {
	bool enabled;                 /* false: tt_fetch_collateral refuses (no network) */
	const char *cache_dir;        /* required */
	const char *kds_url;          /* AMD KDS base URL, no trailing '/' */
	const char *pcs_url;          /* Intel PCS base URL, no trailing '/' */
	const char *root_crl_url;     /* Intel SGX Root CA CRL (DER) */
	unsigned timeout;             /* seconds per request, 1..TT_FETCH_TIMEOUT_MAX */
	size_t max_size;              /* bytes per response, 1..TT_FETCH_MAX_SIZE_MAX */
	unsigned negative_ttl;        /* seconds, 1..TT_FETCH_NEGATIVE_TTL_MAX */
	unsigned max_per_minute;      /* requests, 1..TT_FETCH_PER_MINUTE_MAX */
};

/* The caller already holds the evidence's leaf certificate (an SNP VCEK/VLEK sent with
 * the report): only what it lacks (the CRL) is fetched. */
#define TT_FETCH_F_HAVE_CERT (1u << 0)

/* Once per process before threads start (curl_global_init). 0 or TT_ERR_NO_MEMORY. */
int tt_fetch_init(void);

/*
 * Make sure the collateral of `evidence` (tee "snp": the 1184-byte report; "tdx"/"sgx":
 * the raw quote or Trustee's {"quote": base64, ...} JSON) is in the cache and current at
 * `now`, fetching what is missing or expired, and set *dir (malloc'd) to the directory to
 * hand the verifier as tt_verify_trust.collateral_dir.
 * TT_ERR_NOT_SUPPORTED: nothing can be fetched for this evidence (another tee, an SNP
 * report signed by a VLEK, which KDS does not serve, evidence that does not parse far
 * enough to name its collateral) — verify without fetching; the verifier gives its own
 * reason. TT_ERR_NOT_PERMITTED: cfg->enabled is false. TT_ERR_DATA_INVALID: a response
 * is not what was asked for (not a DER certificate or CRL, PCS JSON without its signed
 * member or issuer-chain header).
 * TT_ERR_DOES_NOT_EXIST (HTTP 404), TT_ERR_COMMUNICATION (connection, TLS or another
 * HTTP status), TT_ERR_TIMEOUT, TT_ERR_LIMIT (a response above max_size), TT_ERR_IO
 * (the cache directory), TT_ERR_NO_MEMORY.
 */
int tt_fetch_collateral(const struct tt_fetch_cfg *cfg, const char *tee,
    const uint8_t *evidence, size_t evidence_len, int64_t now, unsigned flags, char **dir,
    char *err, size_t errlen);

/*
 * After a verification that used `dir` (from tt_fetch_collateral for the same tee and
 * evidence) failed on its collateral (a certificate, CRL or collateral link): remove the
 * fetched items it read there, so the next call fetches them again instead of trusting
 * their unverified dates. Each item at most once per negative_ttl, so a server that keeps
 * answering badly is not asked in a loop. 0 (removed or nothing to do), TT_ERR_LIMIT
 * (already forgotten within negative_ttl; kept), TT_ERR_IO.
 */
int tt_fetch_forget(const struct tt_fetch_cfg *cfg, const char *tee, const uint8_t *evidence,
    size_t evidence_len, const char *dir);

/* true when a tt_verify_result chain has a failed link that fetched collateral could
 * have caused ("certificate", "crl", "collateral"), not the evidence's own signature,
 * binding or claims: the caller then calls tt_fetch_forget. With TT_FETCH_F_HAVE_CERT
 * (the leaf certificate came with the evidence, only the CRL was fetched) only "crl". */
bool tt_fetch_collateral_failed(const json_t *chain, unsigned flags);

/* Forget every remembered refusal and refill the token bucket (unit tests). */
void tt_fetch_guard_reset(void);

/* dir and its missing parents created with mode 0700 (the cache root at start-up).
 * 0, TT_ERR_IO, TT_ERR_LIMIT. */
int tt_fetch_mkdirs(const char *dir);

/* ---- pieces, exposed for the unit tests and the fuzz target ---- */

/* KDS product names: 0 "Milan", 1 "Genoa", 2 "Turin" (tt_snp_generation's numbers). */
const char *tt_fetch_kds_product(int gen);

/*
 * The KDS VCEK URL: <base>/vcek/v1/<Product>/<hwid>?[fmcSPL=NN&]blSPL=NN&teeSPL=NN&
 * snpSPL=NN&ucodeSPL=NN, each SPL in decimal with at least two digits. hwid is the whole
 * 64-byte chip_id in lower-case hex, except on Turin, whose KDS takes its first 8 bytes
 * (the rest must be zero). reported_tcb is the report's raw TCB_VERSION, split by
 * generation as snp.c does. TT_ERR_INVALID_ARGUMENT (unknown generation, Turin chip_id
 * with non-zero bytes past 8), TT_ERR_LIMIT (does not fit cap).
 */
int tt_fetch_kds_vcek_url(const char *base, int gen, const uint8_t chip_id[64],
    uint64_t reported_tcb, char *out, size_t cap);
/* <base>/vcek/v1/<Product>/crl and .../cert_chain. */
int tt_fetch_kds_crl_url(const char *base, int gen, char *out, size_t cap);

/* Intel PCS v4: <base>/sgx/certification/v4/pckcrl?ca=<processor|platform>&encoding=der,
 * <base>/<tdx|sgx>/certification/v4/tcb?fmspc=<hex>, <base>/<tdx|sgx>/certification/v4/
 * qe/identity. */
int tt_fetch_pcs_pckcrl_url(const char *base, bool platform, char *out, size_t cap);
int tt_fetch_pcs_tcb_url(const char *base, bool tdx, const uint8_t fmspc[6], char *out,
    size_t cap);
int tt_fetch_pcs_qe_url(const char *base, bool tdx, char *out, size_t cap);

/*
 * The exact text of member `key` of the top-level JSON object in `json` (len bytes), as
 * Intel's signature covers it: PCS answers {"tcbInfo": {...}, "signature": "hex"} and
 * the signature is over the bytes of the tcbInfo value as sent. The whole text must be
 * well-formed JSON (checked with jansson first; duplicate keys refused). *val points into
 * json. TT_ERR_PARSE (not JSON), TT_ERR_DOES_NOT_EXIST (no such member), TT_ERR_LIMIT.
 */
int tt_fetch_json_member_raw(const char *json, size_t len, const char *key,
    const char **val, size_t *vlen);

/* Percent-decode an HTTP header value (Intel's issuer chains are URL-encoded PEM) into a
 * new NUL-terminated string. TT_ERR_PARSE for a bad escape or a NUL byte. */
int tt_fetch_pct_decode(const char *in, size_t len, char **out);

#endif
