/*
 * Intel PCS v4: the DCAP collateral of one quote — PCK CRL, TCB info, QE identity, each
 * with the issuer chain PCS sends in a header, and the root CA's CRL — assembled into the
 * collateral JSON dcap.h reads, as <cache>/dcap-<processor|platform>/<tee>-<fmspc>.json
 * (dcap_tee.c's file name). The PCK certificate itself comes in the quote (certification
 * data type 5), so only collateral is fetched; none of these endpoints needs a
 * subscription key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "dcap.h"
#include "dcap_internal.h"
#include "fetch_internal.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/hex.h"

#define HDR_PCK_CRL "SGX-PCK-CRL-Issuer-Chain"
#define HDR_TCB_INFO "TCB-Info-Issuer-Chain"
#define HDR_QE_ID "SGX-Enclave-Identity-Issuer-Chain"

/* The quote's FMSPC and whether its PCK was issued by the Platform CA (else Processor). */
static int
quote_platform(const uint8_t *ev, size_t len, uint8_t fmspc[6], bool *platform,
    char *err, size_t errlen)
{
	struct tt_dcap_quote q;
	struct tt_dcap_pck_ext ext;
	STACK_OF(X509) *chain = NULL;
	uint8_t *raw = NULL;
	const uint8_t *quote = ev;
	size_t qlen = len, i = 0;
	char cn[128];
	int e;

	while (i < len && (ev[i] == ' ' || ev[i] == '\n' || ev[i] == '\r' || ev[i] == '\t'))
		i++;
	if (i < len && ev[i] == '{') {
		/* Trustee's attester JSON: {"quote": base64, ...}. */
		json_t *o = json_loadb((const char *)ev, len, 0, NULL);
		const json_t *v = json_object_get(o, "quote");
		size_t il = json_string_length(v), cap = tt_b64_dec_max(il) + 1;

		e = TT_ERR_DATA_INVALID;
		if (json_is_string(v) && il > 0 && il <= 2 * TT_DCAP_MAX_QUOTE &&
		    (raw = malloc(cap)) != NULL &&
		    tt_b64_decode(json_string_value(v), il, TT_B64_ANY, raw, cap, &qlen) == 0)
			e = 0;
		json_decref(o);
		if (e != 0) {
			free(raw);
			return tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
			    "evidence JSON without a base64 quote");
		}
		quote = raw;
	}
	e = tt_dcap_quote_parse(quote, qlen, &q);
	if (e == 0 && (chain = tt_dcap_pem_chain(q.cert_data, q.cert_len)) == NULL)
		e = TT_ERR_DATA_INVALID;
	if (e == 0)
		e = tt_dcap_pck_ext_parse(sk_X509_value(chain, 0), &ext);
	if (e != 0) {
		e = tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
		    "the quote does not carry a usable PCK certificate: %s", tt_strerror(e));
		goto out;
	}
	memcpy(fmspc, ext.fmspc, 6);
	if (X509_NAME_get_text_by_NID(X509_get_issuer_name(sk_X509_value(chain, 0)),
	    NID_commonName, cn, sizeof(cn)) <= 0) {
		e = tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED, "PCK certificate without issuer");
		goto out;
	}
	if (strstr(cn, "Platform") != NULL) {
		*platform = true;
	} else if (strstr(cn, "Processor") != NULL) {
		*platform = false;
	} else {
		e = tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED,
		    "PCK issuer '%s' is neither the Platform nor the Processor CA", cn);
		goto out;
	}
	e = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	free(raw);
	return e;
}

/* The cached collateral parses and every dated part of it is current at now. */
static bool
collateral_current(const char *dir, const char *name, int64_t now)
{
	struct tt_dcap_collateral *c = NULL;
	uint8_t *d = NULL;
	size_t n = 0;
	bool ok = false, parses;

	if (tt_fetch_read(dir, name, TT_DCAP_MAX_COLLATERAL, &d, &n) == 0 &&
	    tt_dcap_collateral_parse((const char *)d, n, &c) == 0)
		ok = c->tcb_info.issue_date <= now && now <= c->tcb_info.next_update &&
		    c->qe_identity.issue_date <= now && now <= c->qe_identity.next_update &&
		    tt_fetch_crl_current(c->pck_crl, c->pck_crl_len, now, &parses) &&
		    tt_fetch_crl_current(c->root_ca_crl, c->root_ca_crl_len, now, &parses);
	tt_dcap_collateral_free(c);
	free(d);
	return ok;
}

/* json[member] = hex of n bytes. */
static int
set_hex(json_t *o, const char *member, const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	int r;

	if (h == NULL)
		return TT_ERR_NO_MEMORY;
	tt_hex_encode(p, n, h);
	r = json_object_set_new(o, member, json_string(h)) == 0 ? 0 : TT_ERR_NO_MEMORY;
	free(h);
	return r;
}

/* An issuer-chain header, percent-decoded, as json[member]. */
static int
set_chain(json_t *o, const char *member, const struct tt_fetch_resp *r)
{
	char *pem = NULL;
	int e;

	if ((e = tt_fetch_pct_decode(r->header, r->header_len, &pem)) != 0)
		return TT_ERR_DATA_INVALID;
	e = json_object_set_new(o, member, json_string(pem)) == 0 ? 0 : TT_ERR_DATA_INVALID;
	free(pem);
	return e;
}

/* {"<body_key>": {...}, "signature": "hex"}: the signed member's exact text and the
 * signature as json[text_member] and json[sig_member]. */
static int
set_signed(json_t *o, const struct tt_fetch_resp *r, const char *body_key,
    const char *text_member, const char *sig_member)
{
	const char *val;
	size_t vlen;
	json_t *doc;
	const json_t *sig;
	int e;

	if ((e = tt_fetch_json_member_raw((const char *)r->body, r->len, body_key, &val,
	    &vlen)) != 0)
		return TT_ERR_DATA_INVALID;
	doc = json_loadb((const char *)r->body, r->len, 0, NULL);
	sig = json_object_get(doc, "signature");
	e = TT_ERR_DATA_INVALID;
	if (json_is_string(sig) &&
	    json_object_set_new(o, text_member, json_stringn(val, vlen)) == 0 &&
	    json_object_set_new(o, sig_member, json_string(json_string_value(sig))) == 0)
		e = 0;
	json_decref(doc);
	return e;
}

int
tt_fetch_pcs(const struct tt_fetch_cfg *cfg, bool tdx, const uint8_t *evidence, size_t len,
    int64_t now, char **dirp, char *err, size_t errlen)
{
	const char *pcs = cfg->pcs_url != NULL ? cfg->pcs_url : TT_FETCH_PCS_URL;
	const char *root = cfg->root_crl_url != NULL ? cfg->root_crl_url : TT_FETCH_ROOT_CRL_URL;
	struct tt_fetch_resp pck = { 0 }, tcb = { 0 }, qe = { 0 }, rcrl = { 0 };
	struct tt_dcap_collateral *check = NULL;
	char dir[4096], name[64], fmspc_hex[13], url[TT_FETCH_MAX_URL], *text = NULL;
	char tcb_url[TT_FETCH_MAX_URL];
	uint8_t fmspc[6];
	bool platform = false, parses;
	json_t *o = NULL;
	int e;

	if ((e = quote_platform(evidence, len, fmspc, &platform, err, errlen)) != 0)
		return e;
	tt_hex_encode(fmspc, 6, fmspc_hex);
	snprintf(name, sizeof(name), "%s-%s.json", tdx ? "tdx" : "sgx", fmspc_hex);
	if (snprintf(dir, sizeof(dir), "%s/dcap-%s", cfg->cache_dir,
	    platform ? "platform" : "processor") >= (int)sizeof(dir))
		return tt_fetch_err(err, errlen, TT_ERR_LIMIT, "cache directory name too long");
	if (collateral_current(dir, name, now))
		goto done;
	/* The TCB info first: it is the one lookup the quote names (its FMSPC), so a
	 * made-up FMSPC costs one request, which the negative cache then remembers. */
	if ((e = tt_fetch_pcs_tcb_url(pcs, tdx, fmspc, tcb_url, sizeof(tcb_url))) != 0 ||
	    (e = tt_fetch_get(cfg, tcb_url, HDR_TCB_INFO, &tcb, err, errlen)) != 0)
		goto out;
	if ((e = tt_fetch_pcs_pckcrl_url(pcs, platform, url, sizeof(url))) != 0 ||
	    (e = tt_fetch_get(cfg, url, HDR_PCK_CRL, &pck, err, errlen)) != 0)
		goto out;
	(void)tt_fetch_crl_current(pck.body, pck.len, now, &parses);
	if (!parses) {
		tt_fetch_guard_fail(cfg, url, TT_ERR_DATA_INVALID);
		e = tt_fetch_err(err, errlen, TT_ERR_DATA_INVALID, "%s: not a DER CRL", url);
		goto out;
	}
	if ((e = tt_fetch_pcs_qe_url(pcs, tdx, url, sizeof(url))) != 0 ||
	    (e = tt_fetch_get(cfg, url, HDR_QE_ID, &qe, err, errlen)) != 0)
		goto out;
	if ((e = tt_fetch_get(cfg, root, NULL, &rcrl, err, errlen)) != 0)
		goto out;
	(void)tt_fetch_crl_current(rcrl.body, rcrl.len, now, &parses);
	if (!parses) {
		tt_fetch_guard_fail(cfg, root, TT_ERR_DATA_INVALID);
		e = tt_fetch_err(err, errlen, TT_ERR_DATA_INVALID, "%s: not a DER CRL", root);
		goto out;
	}
	if ((o = json_object()) == NULL) {
		e = tt_fetch_err(err, errlen, TT_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	if ((e = set_chain(o, "pck_crl_issuer_chain", &pck)) != 0 ||
	    (e = set_hex(o, "root_ca_crl", rcrl.body, rcrl.len)) != 0 ||
	    (e = set_hex(o, "pck_crl", pck.body, pck.len)) != 0 ||
	    (e = set_chain(o, "tcb_info_issuer_chain", &tcb)) != 0 ||
	    (e = set_signed(o, &tcb, "tcbInfo", "tcb_info", "tcb_info_signature")) != 0 ||
	    (e = set_chain(o, "qe_identity_issuer_chain", &qe)) != 0 ||
	    (e = set_signed(o, &qe, "enclaveIdentity", "qe_identity",
	    "qe_identity_signature")) != 0) {
		/* Remembered under the FMSPC's TCB info URL, the lookup this quote named. */
		tt_fetch_guard_fail(cfg, tcb_url, TT_ERR_DATA_INVALID);
		e = tt_fetch_err(err, errlen, e, "PCS answers for FMSPC %s are not TCB info, QE "
		    "identity and CRLs with their issuer chains", fmspc_hex);
		goto out;
	}
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL) {
		e = tt_fetch_err(err, errlen, TT_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	/* Parsed once before it is cached: what cannot be read is never stored. Whether it
	 * is authentic is for the verifier to say. */
	if ((e = tt_dcap_collateral_parse(text, strlen(text), &check)) != 0) {
		tt_fetch_guard_fail(cfg, tcb_url, TT_ERR_DATA_INVALID);
		e = tt_fetch_err(err, errlen, TT_ERR_DATA_INVALID,
		    "PCS collateral for FMSPC %s does not parse: %s", fmspc_hex, tt_strerror(e));
		goto out;
	}
	if ((e = tt_fetch_mkdirs(dir)) != 0 ||
	    (e = tt_fetch_write(dir, name, text, strlen(text))) != 0) {
		e = tt_fetch_err(err, errlen, e, "cannot write %s/%s", dir, name);
		goto out;
	}
done:
	if ((*dirp = strdup(dir)) == NULL)
		e = tt_fetch_err(err, errlen, TT_ERR_NO_MEMORY, "out of memory");
	else
		e = 0;
out:
	tt_dcap_collateral_free(check);
	free(text);
	json_decref(o);
	tt_fetch_resp_clear(&pck);
	tt_fetch_resp_clear(&tcb);
	tt_fetch_resp_clear(&qe);
	tt_fetch_resp_clear(&rcrl);
	return e;
}

int
tt_fetch_pcs_forget(const struct tt_fetch_cfg *cfg, bool tdx, const uint8_t *evidence,
    size_t len, const char *dir)
{
	char name[64], fmspc_hex[13];
	uint8_t fmspc[6];
	bool platform;

	if (quote_platform(evidence, len, fmspc, &platform, NULL, 0) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	tt_hex_encode(fmspc, 6, fmspc_hex);
	snprintf(name, sizeof(name), "%s-%s.json", tdx ? "tdx" : "sgx", fmspc_hex);
	return tt_fetch_unlink_once(cfg, dir, name);
}
