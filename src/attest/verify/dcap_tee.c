/*
 * The tdx and sgx verifier tables' common body: evidence and collateral in the forms the
 * verifier interface (verify.h) receives them, tt_dcap_verify, and its result as chain
 * links, reasons and claims.
 *
 * Evidence: the raw quote, or Trustee's attester JSON ({"quote": base64,
 * "cc_eventlog": base64 (TDX, optional)}, as guest-components sends it over KBS).
 * Collateral: trust->collateral (the collateral JSON of dcap.h), else from
 * trust->collateral_dir the file "<tee>-<fmspc>.json" (FMSPC of the quote's PCK
 * certificate, lower-case hex), else "<tee>-collateral.json". None: refused.
 * Anchor: "intel/sgx-root-ca.pem" (tt_verify_anchor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "dcap_internal.h"
#include "dcap_tee.h"
#include "json/json.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/hex.h"

static const char *link_kind(const char *name)
{
	if (strcmp(name, "root-ca") == 0)
		return "anchor";
	if (strcmp(name, "pck-chain") == 0 || strcmp(name, "pck-ca") == 0 ||
	    strcmp(name, "pck") == 0 || strcmp(name, "tcb-signing") == 0)
		return "certificate";
	if (strcmp(name, "attestation-key") == 0)
		return "key";
	if (strcmp(name, "tcb-info") == 0 || strcmp(name, "qe-identity") == 0 ||
	    strcmp(name, "collateral-validity") == 0)
		return "collateral";
	if (strcmp(name, "tcb-level") == 0 || strcmp(name, "tdx-module") == 0)
		return "claim";
	if (strcmp(name, "report-data") == 0)
		return "binding";
	return "evidence";
}

/* Base64 member of Trustee's evidence JSON into a new buffer. */
static int b64_member(const json_t *o, const char *key, uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(o, key);
	size_t il, n;
	uint8_t *d;

	if (!json_is_string(v) || (il = json_string_length(v)) == 0)
		return TT_ERR_DOES_NOT_EXIST;
	if ((d = malloc(tt_b64_dec_max(il) + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (tt_b64_decode(json_string_value(v), il, TT_B64_ANY, d, tt_b64_dec_max(il) + 1,
	    &n) != 0) {
		free(d);
		return TT_ERR_DATA_INVALID;
	}
	*out = d;
	*len = n;
	return 0;
}

/* The FMSPC of the quote's PCK leaf, for the collateral cache's file name. */
static int quote_fmspc(const uint8_t *quote, size_t len, char out[13])
{
	struct tt_dcap_quote q;
	struct tt_dcap_pck_ext e;
	STACK_OF(X509) *chain;
	int r;

	if ((r = tt_dcap_quote_parse(quote, len, &q)) != 0)
		return r;
	if ((chain = tt_dcap_pem_chain(q.cert_data, q.cert_len)) == NULL)
		return TT_ERR_DATA_INVALID;
	r = tt_dcap_pck_ext_parse(sk_X509_value(chain, 0), &e);
	sk_X509_pop_free(chain, X509_free);
	if (r == 0)
		tt_hex_encode(e.fmspc, 6, out);
	return r;
}

static int load_collateral(const struct tt_verify_in *in, bool tdx, const uint8_t *quote,
	size_t qlen, struct tt_dcap_collateral **out)
{
	const struct tt_verify_trust *t = in->trust;
	uint8_t *data = NULL;
	size_t len = 0;
	char name[64], fmspc[13];
	int r;

	if (t == NULL)
		return TT_ERR_DOES_NOT_EXIST;
	if (t->collateral != NULL && t->collateral_len > 0)
		return tt_dcap_collateral_shared((const char *)t->collateral, t->collateral_len,
			out);
	r = TT_ERR_DOES_NOT_EXIST;
	if (quote_fmspc(quote, qlen, fmspc) == 0) {
		snprintf(name, sizeof(name), "%s-%s.json", tdx ? "tdx" : "sgx", fmspc);
		r = tt_verify_collateral_file(t, name, &data, &len);
	}
	if (r == TT_ERR_DOES_NOT_EXIST) {
		snprintf(name, sizeof(name), "%s-collateral.json", tdx ? "tdx" : "sgx");
		r = tt_verify_collateral_file(t, name, &data, &len);
	}
	if (r != 0)
		return r;
	r = tt_dcap_collateral_shared((const char *)data, len, out);
	free(data);
	return r;
}

static X509 *load_anchor(const struct tt_verify_in *in)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *b;
	X509 *x = NULL;

	if (tt_verify_anchor(in->trust, "intel/sgx-root-ca.pem", &pem, &len) != 0)
		return NULL;
	if (len <= INT_MAX && (b = BIO_new_mem_buf(pem, (int)len)) != NULL) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	free(pem);
	return x;
}

int tt_dcap_tee_verify(const struct tt_verify_in *in, struct tt_verify_result *res, bool tdx)
{
	struct tt_dcap_input di;
	struct tt_dcap_result dr;
	struct tt_dcap_collateral *col = NULL;
	uint8_t *quote = NULL, *ccel = NULL;
	size_t qlen = 0, clen = 0;
	json_t *ev = NULL;
	X509 *root = NULL;
	int r;

	memset(&dr, 0, sizeof(dr));
	/* 1. Evidence: raw quote, or Trustee's JSON. */
	if (in->evidence[0] == '{') {
		if (tt_json_parse((const char *)in->evidence, in->evidence_len, 8, &ev,
		    NULL) != 0 || !json_is_object(ev)) {
			r = tt_verify_fail(res, TT_ERR_DATA_INVALID, "evidence JSON does not parse");
			goto out;
		}
		if ((r = b64_member(ev, "quote", &quote, &qlen)) != 0) {
			r = tt_verify_fail(res, r == TT_ERR_NO_MEMORY ? r : TT_ERR_DATA_INVALID,
				"evidence JSON has no base64 \"quote\"");
			goto out;
		}
		r = b64_member(ev, "cc_eventlog", &ccel, &clen);
		if (r != 0 && r != TT_ERR_DOES_NOT_EXIST) {
			r = tt_verify_fail(res, r, "\"cc_eventlog\" is not base64");
			goto out;
		}
		if (r == 0 && !tdx) {
			r = tt_verify_fail(res, TT_ERR_DATA_INVALID, "SGX evidence has an event log");
			goto out;
		}
	} else if ((quote = malloc(in->evidence_len)) != NULL) {
		memcpy(quote, in->evidence, in->evidence_len);
		qlen = in->evidence_len;
	} else {
		r = tt_verify_fail(res, TT_ERR_NO_MEMORY, "out of memory");
		goto out;
	}

	/* 2. Anchor and collateral (refused when absent: nothing is fetched). */
	if ((root = load_anchor(in)) == NULL) {
		tt_verify_link(res, "anchor", "Intel SGX Root CA", false, "not available");
		r = tt_verify_fail(res, TT_ERR_DOES_NOT_EXIST,
			"trust anchor intel/sgx-root-ca.pem is missing or not PEM");
		goto out;
	}
	r = load_collateral(in, tdx, quote, qlen, &col);
	if (r != 0) {
		tt_verify_link(res, "collateral", "DCAP collateral", false,
			r == TT_ERR_DOES_NOT_EXIST ? "not supplied" : "malformed");
		r = tt_verify_fail(res, r == TT_ERR_DOES_NOT_EXIST || r == TT_ERR_NO_MEMORY ? r :
			TT_ERR_DATA_INVALID, "collateral-missing: %s", r == TT_ERR_DOES_NOT_EXIST ?
			"no DCAP collateral (TCB info, QE identity, CRLs) supplied" :
			"DCAP collateral does not parse");
		goto out;
	}

	/* 3. The DCAP checks. The binding is checked below through the common helper. */
	memset(&di, 0, sizeof(di));
	di.quote = quote;
	di.quote_len = qlen;
	di.collateral = col;
	di.root = root;
	di.now = (time_t)in->now;
	di.ccel = ccel;
	di.ccel_len = clen;
	di.accept_status = (in->flags & TT_VERIFY_F_ANY_TCB_STATUS) ? ~0u : 0u;
	r = tt_dcap_verify(&di, &dr);
	for (unsigned i = 0; i < dr.nlinks; i++)
		if (tt_verify_link(res, link_kind(dr.links[i].name), dr.links[i].name,
		    dr.links[i].ok, dr.links[i].detail) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	if (r != 0) {
		r = tt_verify_fail(res, r, "%s: %s", tt_dcap_check_name(dr.check), dr.reason);
		goto out;
	}
	if (dr.tdx != tdx) {
		r = tt_verify_fail(res, TT_ERR_DATA_INVALID, "the quote is %s, not %s",
			dr.tdx ? "TDX" : "SGX", tdx ? "TDX" : "SGX");
		goto out;
	}
	if ((r = tt_verify_check_binding(in, res, tdx ? dr.quote.td.report_data :
	    dr.quote.sgx.report_data, 64)) != 0)
		goto out;
	/* Init data: TDX MRCONFIGID (48 bytes), SGX CONFIGID (64), as Trustee binds them. */
	if ((r = tt_verify_check_init_data(in, res, tdx ? dr.quote.td.mr_config_id :
	    dr.quote.sgx.config_id, tdx ? 48 : 64)) != 0)
		goto out;
	if (!dr.affirming) {
		char adv[120] = "";
		size_t off = 0;

		for (unsigned i = 0; i < dr.adv.n && off < sizeof(adv); i++) {
			int n = snprintf(adv + off, sizeof(adv) - off, "%s%s", i ? "," : "",
				dr.adv.id[i]);

			if (n < 0)
				break;
			off += (size_t)n;
		}
		r = tt_verify_fail(res, TT_ERR_NOT_PERMITTED,
			"tcb-status: %s is not accepted (advisories: %s)",
			tt_dcap_tcb_status_name(dr.tcb_status), dr.adv.n ? adv : "none");
		goto out;
	}
	res->claims = dr.claims;
	dr.claims = NULL;
	r = 0;
out:
	tt_dcap_result_clear(&dr);
	tt_dcap_collateral_release(col);
	X509_free(root);
	json_decref(ev);
	free(quote);
	free(ccel);
	return r;
}
