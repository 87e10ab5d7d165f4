/*
 * DCAP quote verification: the order and rules of Intel's Quote Verification Library
 * (QuoteVerifier.cpp, TcbLevelCheck.cpp, TdxModuleCheck.cpp, EnclaveReportVerifier), with
 * "now" and the anchor as inputs and every failure fatal. Each step adds a link to the
 * result so that a reader can see the chain from Intel's root down to the quote body.
 *
 * Deliberate differences from the QVL: collateral that is expired at "now" (TCB info, QE
 * identity, CRLs, certificates) is refused instead of reported; CRLs are required; a
 * status other than UpToDate is verified but not affirming unless the caller's
 * accept_status allows it (Revoked never). The TD 1.5 relaunch advice is computed as the
 * QVL's TDRelaunchCheck.cpp does (relaunch() below). Not implemented: QE identity v1 and
 * QVE identity.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "dcap_internal.h"
#include "turtle/error.h"

const char *tt_dcap_check_name(enum tt_dcap_check c)
{
	switch (c) {
	case TT_DCAP_OK: return "ok";
	case TT_DCAP_MALFORMED: return "malformed";
	case TT_DCAP_UNSUPPORTED: return "unsupported";
	case TT_DCAP_COLLATERAL_MISSING: return "collateral-missing";
	case TT_DCAP_COLLATERAL_MALFORMED: return "collateral-malformed";
	case TT_DCAP_PCK_CHAIN: return "pck-chain";
	case TT_DCAP_PCK_REVOKED: return "pck-revoked";
	case TT_DCAP_CRL: return "crl";
	case TT_DCAP_PCK_EXTENSIONS: return "pck-extensions";
	case TT_DCAP_TCB_INFO_CHAIN: return "tcb-info-chain";
	case TT_DCAP_TCB_INFO_SIGNATURE: return "tcb-info-signature";
	case TT_DCAP_QE_IDENTITY_CHAIN: return "qe-identity-chain";
	case TT_DCAP_QE_IDENTITY_SIGNATURE: return "qe-identity-signature";
	case TT_DCAP_COLLATERAL_EXPIRED: return "collateral-expired";
	case TT_DCAP_TCB_INFO_MISMATCH: return "tcb-info-mismatch";
	case TT_DCAP_QE_REPORT_SIGNATURE: return "qe-report-signature";
	case TT_DCAP_QE_REPORT_DATA: return "qe-report-data";
	case TT_DCAP_QE_IDENTITY_MISMATCH: return "qe-identity-mismatch";
	case TT_DCAP_QUOTE_SIGNATURE: return "quote-signature";
	case TT_DCAP_TDX_MODULE_MISMATCH: return "tdx-module-mismatch";
	case TT_DCAP_TCB_NOT_SUPPORTED: return "tcb-not-supported";
	case TT_DCAP_REPORT_DATA_MISMATCH: return "report-data-mismatch";
	case TT_DCAP_EVENTLOG: return "eventlog";
	case TT_DCAP_INTERNAL: return "internal";
	}
	return "unknown";
}

static void add_link(struct tt_dcap_result *res, const char *name, bool ok, const char *fmt,
	...)
{
	struct tt_dcap_link *l;
	va_list ap;

	if (res->nlinks >= TT_DCAP_MAX_LINKS)
		return;
	l = &res->links[res->nlinks++];
	l->name = name;
	l->ok = ok;
	va_start(ap, fmt);
	vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
	va_end(ap);
}

/* Record the failed check; returns the tt_err the caller returns. */
static int fail(struct tt_dcap_result *res, enum tt_dcap_check c, int err, const char *fmt,
	...)
{
	va_list ap;

	res->check = c;
	res->affirming = false;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return err;
}

/* X509_V_* of a chain verification to (check, error). */
static int chain_fail(struct tt_dcap_result *res, enum tt_dcap_check chain_check,
	const char *what, int v)
{
	switch (v) {
	case X509_V_ERR_CERT_REVOKED:
		return fail(res, chain_check == TT_DCAP_PCK_CHAIN ? TT_DCAP_PCK_REVOKED :
			chain_check, TT_ERR_NOT_PERMITTED, "%s: certificate revoked", what);
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
		return fail(res, TT_DCAP_CRL, v == X509_V_ERR_CRL_HAS_EXPIRED ||
			v == X509_V_ERR_CRL_NOT_YET_VALID ? TT_ERR_NOT_PERMITTED : TT_ERR_DATA_INVALID,
			"%s: CRL: %s", what,
			X509_verify_cert_error_string(v));
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return fail(res, chain_check, TT_ERR_NOT_PERMITTED, "%s: %s", what,
			X509_verify_cert_error_string(v));
	default:
		return fail(res, chain_check, TT_ERR_INVALID_SIGNATURE, "%s: %s", what,
			X509_verify_cert_error_string(v));
	}
}

static bool cn_contains(X509 *x, const char *needle, char *cn, size_t cnsz)
{
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
		(int)cnsz);

	ERR_clear_error();
	if (n <= 0) {
		cn[0] = '\0';
		return false;
	}
	return strstr(cn, needle) != NULL;
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static long crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	int64_t v = -1;

	if (n != NULL && ASN1_INTEGER_get_int64(&v, n) != 1)
		v = -1;
	ASN1_INTEGER_free(n);
	ERR_clear_error();
	return (long)v;
}

/* Cache key: SHA-256 over a tag and length-prefixed parts (so that no two different
 * inputs concatenate to the same bytes). */
static int cache_key(uint8_t out[32], const char *tag, const void *const *part,
	const size_t *len, unsigned n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, tag, strlen(tag) + 1) == 1;

	for (unsigned i = 0; ok && i < n; i++) {
		uint64_t l = len[i];

		ok = EVP_DigestUpdate(md, &l, sizeof(l)) == 1 &&
			EVP_DigestUpdate(md, part[i], len[i]) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : TT_ERR_NO_MEMORY;
}

/* What the cache keys of one verification share: the anchor and both CRLs. */
struct keyparts {
	uint8_t root_fp[32];
	const struct tt_dcap_collateral *col;
};

/* Verify a collateral issuer chain and the r||s signature of its leaf over text. The
 * chain is not verified again when it is the very text verified_pem (non-NULL), which
 * this call has already verified at the same time against the same anchor and CRLs. */
static int signed_json(struct tt_dcap_result *res, X509 *root, X509_CRL *const *crls,
	time_t now, const char *chain_pem, const char *text, size_t textlen,
	const uint8_t sig[64], enum tt_dcap_check chain_check, enum tt_dcap_check sig_check,
	const char *what, const char *verified_pem, const struct keyparts *kp)
{
	const void *part[6] = { kp->root_fp, kp->col->root_ca_crl, kp->col->pck_crl, chain_pem,
		text, sig };
	size_t plen[6] = { 32, kp->col->root_ca_crl_len, kp->col->pck_crl_len,
		strlen(chain_pem), textlen, 64 };
	STACK_OF(X509) *chain = NULL;
	uint8_t ck[32];
	time_t lo, hi;
	EVP_PKEY *key;
	char cn[128];
	int v, r;

	if ((r = cache_key(ck, "dcap-signed-json", part, plen, 6)) != 0)
		return fail(res, TT_DCAP_INTERNAL, r, "SHA-256 failed");
	if (tt_dcap_cache_get(ck, now, NULL, NULL, cn, NULL)) {
		if (verified_pem == NULL || strcmp(verified_pem, chain_pem) != 0)
			add_link(res, "tcb-signing", true, "\"%s\": issued by the root, not revoked "
				"(verified before, same bytes)", cn);
		add_link(res, what, true, "signature by \"%s\" verifies over the text "
			"(verified before, same bytes)", cn);
		return 0;
	}
	chain = tt_dcap_pem_chain(chain_pem, strlen(chain_pem));
	if (chain == NULL)
		return fail(res, TT_DCAP_COLLATERAL_MALFORMED, TT_ERR_DATA_INVALID,
			"%s: issuer chain is not PEM certificates", what);
	if ((verified_pem == NULL || strcmp(verified_pem, chain_pem) != 0) &&
	    (v = tt_dcap_chain_verify(root, chain, crls, 2, now)) != X509_V_OK) {
		add_link(res, what, false, "%s", X509_verify_cert_error_string(v));
		r = chain_fail(res, chain_check, what, v);
		goto out;
	}
	if (!cn_contains(sk_X509_value(chain, 0), "Intel SGX TCB Signing", cn, sizeof(cn))) {
		add_link(res, what, false, "signer CN \"%s\"", cn);
		r = fail(res, chain_check, TT_ERR_INVALID_SIGNATURE,
			"%s: signer is not an Intel SGX TCB Signing certificate", what);
		goto out;
	}
	key = X509_get0_pubkey(sk_X509_value(chain, 0));
	if (key == NULL || tt_dcap_ecdsa_verify(key, sig, text, textlen) != 1) {
		add_link(res, what, false, "signature by \"%s\" does not verify", cn);
		r = fail(res, sig_check, TT_ERR_INVALID_SIGNATURE, "%s: bad signature", what);
		goto out;
	}
	if (verified_pem == NULL || strcmp(verified_pem, chain_pem) != 0)
		add_link(res, "tcb-signing", true, "\"%s\": issued by the root, not revoked", cn);
	add_link(res, what, true, "signature by \"%s\" verifies over the text", cn);
	tt_dcap_cache_window(root, chain, crls, 2, &lo, &hi);
	tt_dcap_cache_put(ck, lo, hi, NULL, NULL, cn, NULL);
	r = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	return r;
}

static bool ge16(const uint8_t have[16], const uint8_t want[16], unsigned from)
{
	for (unsigned i = from; i < 16; i++)
		if (have[i] < want[i])
			return false;
	return true;
}

/* Intel's convergence: an OutOfDate QE or TDX module makes a good platform OutOfDate (or
 * OutOfDateConfigurationNeeded), a Revoked one makes it Revoked. */
static enum tt_dcap_tcb_status converge(enum tt_dcap_tcb_status tcb,
	enum tt_dcap_tcb_status other)
{
	if (other == TT_DCAP_TCB_OUT_OF_DATE) {
		if (tcb == TT_DCAP_TCB_UP_TO_DATE || tcb == TT_DCAP_TCB_SW_HARDENING_NEEDED)
			return TT_DCAP_TCB_OUT_OF_DATE;
		if (tcb == TT_DCAP_TCB_CONFIGURATION_NEEDED ||
		    tcb == TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return TT_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	if (other == TT_DCAP_TCB_REVOKED)
		return TT_DCAP_TCB_REVOKED;
	return tcb;
}

static bool config_needed(enum tt_dcap_tcb_status s)
{
	return s == TT_DCAP_TCB_CONFIGURATION_NEEDED ||
		s == TT_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
		s == TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
		s == TT_DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* The QVL's order of TCB levels (TcbLevel::operator> for a v3 TDX TCB info): SGX
 * components, then PCE SVN, then TDX components, each compared as unsigned bytes from
 * the first. The greatest level is the latest (the QVL's first of a descending set). */
static const struct tt_dcap_tcb_level *latest_level(const struct tt_dcap_tcb_info *ti)
{
	const struct tt_dcap_tcb_level *best = NULL;

	for (unsigned i = 0; i < ti->nlevels; i++) {
		const struct tt_dcap_tcb_level *l = &ti->levels[i];
		int c;

		if (best == NULL) {
			best = l;
			continue;
		}
		if ((c = memcmp(l->sgx, best->sgx, 16)) == 0)
			c = l->pcesvn != best->pcesvn ? (l->pcesvn > best->pcesvn ? 1 : -1) :
				memcmp(l->tdx, best->tdx, 16);
		if (c > 0)
			best = l;
	}
	return best;
}

/*
 * TD 1.5 relaunch advice, as Intel's QVL computes it (TDRelaunchCheck.cpp, called from
 * checkTcbLevel between the TDX module's convergence and the QE's): when the QE is not
 * OutOfDate or Revoked, the SGX level's status is UpToDate, SWHardeningNeeded,
 * ConfigurationNeeded or ConfigurationAndSWHardeningNeeded, the TDX status (converged
 * with the module's) is OutOfDate or OutOfDateConfigurationNeeded, and the TD's TDX module
 * is OutOfDate, then the module the platform runs now (tee_tcb_svn_2) is compared with the
 * latest level: byte 0 (its SVN) with the latest TDX component 0 when byte 1 (its version)
 * is 0, else with the highest isvsvn of TDX module identity TDX_<byte 1> (none: module
 * mismatch; no level: not supported); and byte 2 with the latest TDX component 2. Both
 * reached: TDRelaunchAdvised, or TDRelaunchAdvisedConfigurationNeeded when the SGX or TDX
 * status needs configuration. Otherwise the TDX status stands. Returns 0 or a fail().
 */
static int relaunch(struct tt_dcap_result *res, const struct tt_dcap_tcb_info *ti,
	const struct tt_dcap_td_report *td, enum tt_dcap_tcb_status sgx,
	enum tt_dcap_tcb_status *tdx)
{
	const uint8_t *svn2 = td->tee_tcb_svn2;
	const struct tt_dcap_tcb_level *latest;
	const struct tt_dcap_module_identity *mod = NULL;
	unsigned need;
	char want[16];

	if (!td->v15 || res->qe_status == TT_DCAP_TCB_OUT_OF_DATE ||
	    res->qe_status == TT_DCAP_TCB_REVOKED ||
	    (sgx != TT_DCAP_TCB_UP_TO_DATE && sgx != TT_DCAP_TCB_SW_HARDENING_NEEDED &&
	    sgx != TT_DCAP_TCB_CONFIGURATION_NEEDED &&
	    sgx != TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED) ||
	    (*tdx != TT_DCAP_TCB_OUT_OF_DATE &&
	    *tdx != TT_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) ||
	    res->module_status != TT_DCAP_TCB_OUT_OF_DATE)
		return 0;
	if ((latest = latest_level(ti)) == NULL)
		return fail(res, TT_DCAP_TCB_NOT_SUPPORTED, TT_ERR_DATA_INVALID,
			"TD relaunch check: no TDX TCB level");
	if (svn2[1] == 0) {
		need = latest->tdx[0];
	} else {
		snprintf(want, sizeof(want), "TDX_%02X", svn2[1]);
		for (unsigned i = 0; i < ti->nmodule_ids && mod == NULL; i++)
			if (strcasecmp(ti->module_ids[i].id, want) == 0)
				mod = &ti->module_ids[i];
		if (mod == NULL)
			return fail(res, TT_DCAP_TDX_MODULE_MISMATCH, TT_ERR_DATA_INVALID,
				"TD relaunch check: no TDX module identity %s (tee_tcb_svn_2)",
				want);
		if (mod->nlevels == 0)
			return fail(res, TT_DCAP_TCB_NOT_SUPPORTED, TT_ERR_DATA_INVALID,
				"TD relaunch check: TDX module identity %s has no level", want);
		need = 0;
		for (unsigned i = 0; i < mod->nlevels; i++)
			if (mod->levels[i].isvsvn > need)
				need = mod->levels[i].isvsvn;
	}
	if (svn2[0] < need || svn2[2] < latest->tdx[2])
		return 0;
	*tdx = config_needed(sgx) || config_needed(*tdx) ?
		TT_DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED :
		TT_DCAP_TCB_TD_RELAUNCH_ADVISED;
	return 0;
}

static int adv_add(struct tt_dcap_advisories *a, const struct tt_dcap_advisories *from)
{
	for (unsigned i = 0; i < from->n; i++) {
		bool dup = false;
		char **n;

		for (unsigned j = 0; j < a->n && !dup; j++)
			dup = strcmp(a->id[j], from->id[i]) == 0;
		if (dup)
			continue;
		if ((n = realloc(a->id, (a->n + 1) * sizeof(*n))) == NULL)
			return TT_ERR_NO_MEMORY;
		a->id = n;
		if ((a->id[a->n] = strdup(from->id[i])) == NULL)
			return TT_ERR_NO_MEMORY;
		a->n++;
	}
	return 0;
}

static const struct tt_dcap_tcb_level *isv_level(const struct tt_dcap_tcb_level *l,
	unsigned n, uint16_t isvsvn)
{
	for (unsigned i = 0; i < n; i++)
		if (isvsvn >= l[i].isvsvn)
			return &l[i];
	return NULL;
}

static bool hexeq_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void tt_dcap_result_clear(struct tt_dcap_result *res)
{
	if (res == NULL)
		return;
	for (unsigned i = 0; i < res->adv.n; i++)
		free(res->adv.id[i]);
	free(res->adv.id);
	json_decref(res->claims);
	memset(res, 0, sizeof(*res));
}

/* RFC 3339 UTC text of t into out[32]; returns out. */
static const char *fmt_time(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
	return out;
}

static void fmt_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int tt_dcap_verify(const struct tt_dcap_input *in, struct tt_dcap_result *res)
{
	const struct tt_dcap_collateral *col;
	const struct tt_dcap_tcb_info *ti;
	const struct tt_dcap_qe_identity *qi;
	struct tt_dcap_quote *q;
	struct tt_dcap_pck_ext pck;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL;
	struct keyparts kp;
	uint8_t ck[32];
	X509_CRL *crls[2] = { NULL, NULL };
	EVP_PKEY *akey = NULL;
	const struct tt_dcap_tcb_level *sgx_lvl = NULL, *tdx_lvl = NULL, *qe_lvl, *mod_lvl = NULL;
	const struct tt_dcap_module_identity *mod = NULL;
	uint8_t h[32];
	char cn[128], ca_cn[128] = "?", hx[129];
	time_t t;
	int v, r;

	if (res == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	memset(res, 0, sizeof(*res));
	res->check = TT_DCAP_INTERNAL;
	if (in == NULL || in->quote == NULL || in->root == NULL)
		return fail(res, TT_DCAP_INTERNAL, TT_ERR_INVALID_ARGUMENT, "missing input");
	q = &res->quote;

	/* 1. The quote's structure (nothing in it is believed yet). */
	if ((r = tt_dcap_quote_parse(in->quote, in->quote_len, q)) != 0) {
		memset(q, 0, sizeof(*q));
		return fail(res, r == TT_ERR_NOT_SUPPORTED ? TT_DCAP_UNSUPPORTED : TT_DCAP_MALFORMED,
			r == TT_ERR_NOT_SUPPORTED ? r : TT_ERR_DATA_INVALID,
			"quote: %s", tt_strerror(r));
	}
	res->tdx = q->tee_type == TT_DCAP_TEE_TDX;
	if ((col = in->collateral) == NULL)
		return fail(res, TT_DCAP_COLLATERAL_MISSING, TT_ERR_DOES_NOT_EXIST,
			"no collateral (TCB info, QE identity, CRLs) for this quote");
	ti = &col->tcb_info;
	qi = &col->qe_identity;

	/* 2. The anchor, the CRLs it and the PCK CA issued, the PCK chain in the quote. */
	if (X509_check_issued(in->root, in->root) != X509_V_OK)
		return fail(res, TT_DCAP_PCK_CHAIN, TT_ERR_INVALID_ARGUMENT,
			"trust anchor is not a self-issued CA certificate");
	add_link(res, "root-ca", true, "%s", cn_contains(in->root, "", cn, sizeof(cn)) ? cn :
		"(no CN)");
	if ((crls[0] = tt_dcap_crl(col->root_ca_crl, col->root_ca_crl_len)) == NULL ||
	    (crls[1] = tt_dcap_crl(col->pck_crl, col->pck_crl_len)) == NULL) {
		r = fail(res, TT_DCAP_COLLATERAL_MALFORMED, TT_ERR_DATA_INVALID,
			"a CRL is not DER");
		goto out;
	}
	kp.col = col;
	if (X509_digest(in->root, EVP_sha256(), kp.root_fp, NULL) != 1) {
		r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "SHA-256 failed");
		goto out;
	}
	{
		const void *part[4] = { kp.root_fp, col->root_ca_crl, col->pck_crl, q->cert_data };
		size_t plen[4] = { 32, col->root_ca_crl_len, col->pck_crl_len, q->cert_len };

		if ((r = cache_key(ck, "dcap-pck-chain", part, plen, 4)) != 0) {
			r = fail(res, TT_DCAP_INTERNAL, r, "SHA-256 failed");
			goto out;
		}
	}
	if (tt_dcap_cache_get(ck, in->now, &leaf, &pck, cn, ca_cn)) {
		add_link(res, "pck-ca", true, "\"%s\": issued by the root, not revoked (verified "
			"before, same bytes)", ca_cn);
		add_link(res, "pck", true, "\"%s\": issued by the PCK CA, not revoked (verified "
			"before, same bytes)", cn);
	} else {
		time_t lo, hi;

		if ((chain = tt_dcap_pem_chain(q->cert_data, q->cert_len)) == NULL) {
			r = fail(res, TT_DCAP_MALFORMED, TT_ERR_DATA_INVALID,
				"PCK certification data is not a PEM chain");
			goto out;
		}
		if ((v = tt_dcap_chain_verify(in->root, chain, crls, 2, in->now)) != X509_V_OK) {
			add_link(res, "pck-chain", false, "%s", X509_verify_cert_error_string(v));
			r = chain_fail(res, TT_DCAP_PCK_CHAIN, "PCK chain", v);
			goto out;
		}
		if (!cn_contains(sk_X509_value(chain, 0), "SGX PCK Certificate", cn, sizeof(cn))) {
			add_link(res, "pck-chain", false, "leaf CN \"%s\"", cn);
			r = fail(res, TT_DCAP_PCK_CHAIN, TT_ERR_INVALID_SIGNATURE,
				"PCK leaf is not an SGX PCK Certificate");
			goto out;
		}
		if (sk_X509_num(chain) > 1)
			cn_contains(sk_X509_value(chain, 1), "", ca_cn, sizeof(ca_cn));
		add_link(res, "pck-ca", true, "\"%s\": issued by the root, not revoked", ca_cn);
		add_link(res, "pck", true, "\"%s\": issued by the PCK CA, not revoked", cn);
		if (tt_dcap_pck_ext_parse(sk_X509_value(chain, 0), &pck) != 0) {
			r = fail(res, TT_DCAP_PCK_EXTENSIONS, TT_ERR_DATA_INVALID,
				"PCK certificate's SGX extensions are missing or malformed");
			goto out;
		}
		leaf = sk_X509_value(chain, 0);
		if (X509_up_ref(leaf) != 1) {
			leaf = NULL;
			r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
		tt_dcap_cache_window(in->root, chain, crls, 2, &lo, &hi);
		tt_dcap_cache_put(ck, lo, hi, leaf, &pck, cn, ca_cn);
	}

	/* 3. The collateral: both signed by the TCB signing key under the same root. */
	if ((r = signed_json(res, in->root, crls, in->now, col->tcb_info_issuer_chain,
	    col->tcb_info_json, col->tcb_info_json_len, col->tcb_info_sig,
	    TT_DCAP_TCB_INFO_CHAIN, TT_DCAP_TCB_INFO_SIGNATURE, "tcb-info", NULL, &kp)) != 0 ||
	    (r = signed_json(res, in->root, crls, in->now, col->qe_identity_issuer_chain,
	    col->qe_identity_json, col->qe_identity_json_len, col->qe_identity_sig,
	    TT_DCAP_QE_IDENTITY_CHAIN, TT_DCAP_QE_IDENTITY_SIGNATURE, "qe-identity",
	    col->tcb_info_issuer_chain, &kp)) != 0)
		goto out;
	if (in->now < ti->issue_date || in->now > ti->next_update ||
	    in->now < qi->issue_date || in->now > qi->next_update) {
		add_link(res, "collateral-validity", false, "now outside issueDate..nextUpdate");
		char a[32], b[32], c[32], d[32];

		r = fail(res, TT_DCAP_COLLATERAL_EXPIRED, TT_ERR_NOT_PERMITTED,
			"collateral not valid at now (TCB info %s..%s, QE identity %s..%s)",
			fmt_time(ti->issue_date, a), fmt_time(ti->next_update, b),
			fmt_time(qi->issue_date, c), fmt_time(qi->next_update, d));
		goto out;
	}
	res->earliest_expiration = ti->next_update < qi->next_update ? ti->next_update :
		qi->next_update;
	for (int i = 0; i < 2; i++) {
		t = asn1_time(X509_CRL_get0_nextUpdate(crls[i]));
		if (t != 0 && t < res->earliest_expiration)
			res->earliest_expiration = t;
	}
	{
		char until[32];

		add_link(res, "collateral-validity", true, "TCB info, QE identity and CRLs "
			"current until %s", fmt_time(res->earliest_expiration, until));
	}

	/* 4. The collateral is for this platform and this TEE. */
	if (ti->tdx != res->tdx || (res->tdx && ti->version < 3) ||
	    memcmp(ti->fmspc, pck.fmspc, 6) != 0 || memcmp(ti->pce_id, pck.pce_id, 2) != 0) {
		fmt_hex(pck.fmspc, 6, hx);
		r = fail(res, TT_DCAP_TCB_INFO_MISMATCH, TT_ERR_DATA_INVALID,
			"TCB info is not for this %s platform (PCK FMSPC %s)",
			res->tdx ? "TDX" : "SGX", hx);
		goto out;
	}
	if (qi->td_qe != res->tdx) {
		r = fail(res, TT_DCAP_QE_IDENTITY_MISMATCH, TT_ERR_DATA_INVALID,
			"QE identity is for the other TEE");
		goto out;
	}

	/* 5. TDX module identity (the SEAM module that produced the TD report). */
	if (res->tdx) {
		uint8_t ver = q->td.tee_tcb_svn[1];
		const uint8_t *mrs, *attr, *mask;

		if (!ti->has_module) {
			r = fail(res, TT_DCAP_TDX_MODULE_MISMATCH, TT_ERR_DATA_INVALID,
				"TDX TCB info has no tdxModule");
			goto out;
		}
		mrs = ti->module.mrsigner;
		attr = ti->module.attributes;
		mask = ti->module.attributes_mask;
		if (ver > 0) {
			char want[16];

			snprintf(want, sizeof(want), "TDX_%02X", ver);
			for (unsigned i = 0; i < ti->nmodule_ids && mod == NULL; i++)
				if (strcasecmp(ti->module_ids[i].id, want) == 0)
					mod = &ti->module_ids[i];
			if (mod == NULL) {
				r = fail(res, TT_DCAP_TDX_MODULE_MISMATCH, TT_ERR_DATA_INVALID,
					"no TDX module identity %s in the TCB info", want);
				goto out;
			}
			mrs = mod->mrsigner;
			attr = mod->attributes;
			mask = mod->attributes_mask;
		}
		if (memcmp(mrs, q->td.mr_signer_seam, 48) != 0) {
			r = fail(res, TT_DCAP_TDX_MODULE_MISMATCH, TT_ERR_DATA_INVALID,
				"mr_signer_seam differs from the TDX module identity");
			goto out;
		}
		for (int i = 0; i < 8; i++) {
			if ((q->td.seam_attributes[i] & mask[i]) != (attr[i] & mask[i])) {
				r = fail(res, TT_DCAP_TDX_MODULE_MISMATCH, TT_ERR_DATA_INVALID,
					"seam_attributes differ from the TDX module identity");
				goto out;
			}
		}
		res->module_status = TT_DCAP_TCB_UP_TO_DATE;
		if (mod != NULL) {
			if ((mod_lvl = isv_level(mod->levels, mod->nlevels,
			    q->td.tee_tcb_svn[0])) == NULL) {
				r = fail(res, TT_DCAP_TCB_NOT_SUPPORTED, TT_ERR_DATA_INVALID,
					"TDX module SVN %u below every level of %s",
					q->td.tee_tcb_svn[0], mod->id);
				goto out;
			}
			res->module_status = mod_lvl->status;
		}
		add_link(res, "tdx-module", true, "%s, status %s", mod != NULL ? mod->id :
			"tdxModule", tt_dcap_tcb_status_name(res->module_status));
	}

	/* 6. The QE report: signed by the PCK, binding the attestation key. */
	if (tt_dcap_ecdsa_verify(X509_get0_pubkey(leaf), q->qe_report_sig,
	    q->qe_report_raw, TT_DCAP_ENCLAVE_REPORT_LEN) != 1) {
		add_link(res, "qe-report", false, "signature by the PCK does not verify");
		r = fail(res, TT_DCAP_QE_REPORT_SIGNATURE, TT_ERR_INVALID_SIGNATURE,
			"QE report signature does not verify with the PCK key");
		goto out;
	}
	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		static const uint8_t zero[32];
		unsigned hl = 0;
		int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
			EVP_DigestUpdate(md, q->attest_key, 64) == 1 &&
			EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 &&
			EVP_DigestFinal_ex(md, h, &hl) == 1;

		EVP_MD_CTX_free(md);
		if (!ok) {
			r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "SHA-256 failed");
			goto out;
		}
		if (!hexeq_ct(h, q->qe_report.report_data, 32) ||
		    !hexeq_ct(zero, q->qe_report.report_data + 32, 32)) {
			add_link(res, "qe-report", false, "report_data does not bind the key");
			r = fail(res, TT_DCAP_QE_REPORT_DATA, TT_ERR_DATA_INVALID,
				"QE report_data != SHA-256(attestation key || QE auth data)");
			goto out;
		}
	}
	add_link(res, "qe-report", true, "signed by the PCK");
	add_link(res, "attestation-key", true, "bound by the QE report (SHA-256 of key and QE "
		"authentication data)");

	/* 7. The QE is Intel's quoting enclave, at a known SVN. */
	{
		const struct tt_dcap_enclave_report *qr = &q->qe_report;
		uint32_t misc = (uint32_t)qr->misc_select[0] | (uint32_t)qr->misc_select[1] << 8 |
			(uint32_t)qr->misc_select[2] << 16 | (uint32_t)qr->misc_select[3] << 24;
		bool attr_ok = true;

		for (int i = 0; i < 16; i++)
			attr_ok &= (qr->attributes[i] & qi->attributes_mask[i]) ==
				(qi->attributes[i] & qi->attributes_mask[i]);
		if ((misc & qi->miscselect_mask) != (qi->miscselect & qi->miscselect_mask) ||
		    !attr_ok || memcmp(qr->mr_signer, qi->mrsigner, 32) != 0 ||
		    qr->isv_prod_id != qi->isvprodid) {
			add_link(res, "qe-identity-match", false, "QE report differs from identity");
			r = fail(res, TT_DCAP_QE_IDENTITY_MISMATCH, TT_ERR_DATA_INVALID,
				"QE report does not match the QE identity (mrsigner, isvprodid, "
				"attributes or miscselect)");
			goto out;
		}
		qe_lvl = isv_level(qi->levels, qi->nlevels, qr->isv_svn);
		res->qe_status = qe_lvl != NULL ? qe_lvl->status : TT_DCAP_TCB_REVOKED;
		add_link(res, "qe-identity-match", true, "%s isvsvn %u: %s",
			qi->td_qe ? "TD_QE" : "QE", qr->isv_svn,
			tt_dcap_tcb_status_name(res->qe_status));
	}

	/* 8. The quote itself: header and body signed by the attestation key. */
	if ((akey = tt_dcap_p256_key(q->attest_key)) == NULL ||
	    tt_dcap_ecdsa_verify(akey, q->signature, q->signed_data, q->signed_len) != 1) {
		add_link(res, "quote", false, "signature by the attestation key does not verify");
		r = fail(res, TT_DCAP_QUOTE_SIGNATURE, TT_ERR_INVALID_SIGNATURE,
			"quote signature does not verify with the attestation key");
		goto out;
	}
	add_link(res, "quote", true, "v%u %s quote signed by the attestation key", q->version,
		res->tdx ? "TDX" : "SGX");

	/* 9. TCB level: the first level the PCK's SVNs (and the TEE TCB SVN) reach. */
	for (unsigned i = 0; i < ti->nlevels; i++) {
		const struct tt_dcap_tcb_level *l = &ti->levels[i];

		if (!ge16(pck.comp_svn, l->sgx, 0) || pck.pcesvn < l->pcesvn)
			continue;
		if (sgx_lvl == NULL)
			sgx_lvl = l;
		if (!res->tdx)
			break;
		/* Bytes 0-1 are the module's SVN and version when the module identity covers
		 * them (version > 0). */
		if (l->has_tdx && ge16(q->td.tee_tcb_svn, l->tdx,
		    q->td.tee_tcb_svn[1] > 0 ? 2 : 0)) {
			tdx_lvl = l;
			break;
		}
	}
	if (sgx_lvl == NULL || (res->tdx && tdx_lvl == NULL)) {
		add_link(res, "tcb-level", false, "no TCB level matches");
		r = fail(res, TT_DCAP_TCB_NOT_SUPPORTED, TT_ERR_DATA_INVALID,
			"no TCB level of the TCB info matches this platform");
		goto out;
	}
	{
		const struct tt_dcap_tcb_level *l = res->tdx ? tdx_lvl : sgx_lvl;

		res->tcb_status = l->status;
		res->tcb_date = l->tcb_date;
		if (res->tdx) {
			res->tcb_status = converge(res->tcb_status, res->module_status);
			if ((r = relaunch(res, ti, &q->td, sgx_lvl->status,
			    &res->tcb_status)) != 0) {
				res->tcb_status = TT_DCAP_TCB_UNKNOWN;
				add_link(res, "tcb-level", false, "%s", res->reason);
				goto out;
			}
		}
		res->tcb_status = converge(res->tcb_status, res->qe_status);
		if (adv_add(&res->adv, &l->adv) != 0 ||
		    (mod_lvl != NULL && adv_add(&res->adv, &mod_lvl->adv) != 0) ||
		    (qe_lvl != NULL && adv_add(&res->adv, &qe_lvl->adv) != 0)) {
			r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
		add_link(res, "tcb-level", true, "platform %s, converged %s, %u advisories",
			tt_dcap_tcb_status_name(l->status),
			tt_dcap_tcb_status_name(res->tcb_status), res->adv.n);
	}
	res->claims = tt_dcap_claims(q, res, &pck);
	if (res->claims == NULL) {
		r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	{
		json_t *cc = res->claims;

		if (json_object_set_new(cc, "pck_crl_num", json_integer(crl_number(crls[1]))) ||
		    json_object_set_new(cc, "root_ca_crl_num", json_integer(crl_number(crls[0]))) ||
		    json_object_set_new(cc, "tcb_eval_num", json_integer(ti->tcb_eval_num))) {
			r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
	}

	/* 10. Freshness binding: the report data the relying party expects. */
	if (in->report_data != NULL) {
		uint8_t want[64];
		const uint8_t *have = res->tdx ? q->td.report_data : q->sgx.report_data;

		if (in->report_data_len > 64) {
			r = fail(res, TT_DCAP_REPORT_DATA_MISMATCH, TT_ERR_INVALID_ARGUMENT,
				"expected report data longer than 64 bytes");
			goto out;
		}
		memset(want, 0, sizeof(want));
		memcpy(want, in->report_data, in->report_data_len);
		if (!hexeq_ct(want, have, 64)) {
			add_link(res, "report-data", false, "differs from the expected value");
			r = fail(res, TT_DCAP_REPORT_DATA_MISMATCH, TT_ERR_NOT_AUTHENTICATED,
				"report_data does not match the expected value");
			goto out;
		}
		add_link(res, "report-data", true, "matches the expected value");
	}

	/* 11. TDX event log: every event replayed into the RTMRs the quote signed. */
	if (in->ccel != NULL) {
		json_t *events = NULL;

		if (!res->tdx) {
			r = fail(res, TT_DCAP_EVENTLOG, TT_ERR_INVALID_ARGUMENT,
				"an event log was given with an SGX quote");
			goto out;
		}
		if (tt_dcap_ccel_replay(in->ccel, in->ccel_len,
		    (const uint8_t (*)[48])q->td.rtmr, &events) != 0) {
			add_link(res, "ccel", false, "replay differs from RTMR 0-3 or malformed");
			r = fail(res, TT_DCAP_EVENTLOG, TT_ERR_DATA_INVALID,
				"CC event log does not replay to the quoted RTMRs");
			goto out;
		}
		add_link(res, "ccel", true, "%zu events replay to RTMR 0-3",
			json_array_size(events));
		if (json_object_set_new(res->claims, "uefi_event_logs", events) != 0) {
			r = fail(res, TT_DCAP_INTERNAL, TT_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
	}

	res->check = TT_DCAP_OK;
	res->affirming = res->tcb_status == TT_DCAP_TCB_UP_TO_DATE ||
		(res->tcb_status != TT_DCAP_TCB_REVOKED && res->tcb_status != TT_DCAP_TCB_UNKNOWN &&
		(in->accept_status & (1u << res->tcb_status)) != 0);
	if (!res->affirming)
		snprintf(res->reason, sizeof(res->reason), "TCB status %s is not accepted",
			tt_dcap_tcb_status_name(res->tcb_status));
	r = 0;
out:
	EVP_PKEY_free(akey);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	X509_CRL_free(crls[0]);
	X509_CRL_free(crls[1]);
	return r;
}
