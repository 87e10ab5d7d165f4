/*
 * Claims of a verified DCAP quote, named and nested as Trustee's tdx and sgx verifiers
 * name them (deps/verifier/src/{tdx,sgx}/claims.rs and intel_dcap/claims.rs), so that
 * policies written for Trustee read them unchanged:
 *   tdx: quote.header.*, quote.body.* (hex), quote.type/size (v5), td_attributes.{debug,
 *        septve_disable, protection_keys, key_locker, perfmon}, report_data, init_data;
 *   sgx: header.*, body.* (hex; "attributes.flags" and "attributes.xfrm" are literal keys),
 *        report_data, init_data;
 *   both: tcb_status, advisory_ids[], collateral_expiration_status, tcb_date,
 *        earliest_expiration_date, platform_provider_id, sgx_type (and, added by the
 *        caller, pck_crl_num, root_ca_crl_num, tcb_eval_num, uefi_event_logs[]).
 * Byte fields are lower-case hex of the bytes as they appear in the quote (little-endian
 * integers stay little-endian), as Trustee prints them.
 */
#include <stdio.h>
#include <string.h>

#include "dcap_internal.h"
#include "util/hex.h"

static int put_hex(json_t *o, const char *key, const void *p, size_t n)
{
	char buf[2 * 128 + 1];

	if (n > 128)
		return -1;
	tt_hex_encode(p, n, buf);
	return json_object_set_new(o, key, json_string(buf));
}

static int put_u16le(json_t *o, const char *key, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return put_hex(o, key, b, 2);
}

static int put_time(json_t *o, const char *key, time_t t)
{
	struct tm tm;
	char buf[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return json_object_set_new(o, key, json_string(buf));
}

static json_t *td_body(const struct tt_dcap_td_report *t)
{
	json_t *b = json_object();
	static const char *rtmr[4] = { "rtmr_0", "rtmr_1", "rtmr_2", "rtmr_3" };
	int e = b == NULL;

	e = e || put_hex(b, "tcb_svn", t->tee_tcb_svn, 16);
	e = e || put_hex(b, "mr_seam", t->mr_seam, 48);
	e = e || put_hex(b, "mrsigner_seam", t->mr_signer_seam, 48);
	e = e || put_hex(b, "seam_attributes", t->seam_attributes, 8);
	e = e || put_hex(b, "td_attributes", t->td_attributes, 8);
	e = e || put_hex(b, "xfam", t->xfam, 8);
	e = e || put_hex(b, "mr_td", t->mr_td, 48);
	e = e || put_hex(b, "mr_config_id", t->mr_config_id, 48);
	e = e || put_hex(b, "mr_owner", t->mr_owner, 48);
	e = e || put_hex(b, "mr_owner_config", t->mr_owner_config, 48);
	for (int i = 0; i < 4; i++)
		e = e || put_hex(b, rtmr[i], t->rtmr[i], 48);
	e = e || put_hex(b, "report_data", t->report_data, 64);
	if (t->v15) {
		e = e || put_hex(b, "tee_tcb_svn2", t->tee_tcb_svn2, 16);
		e = e || put_hex(b, "mr_servicetd", t->mr_servicetd, 48);
	}
	if (e) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static json_t *sgx_body(const struct tt_dcap_enclave_report *r)
{
	json_t *b = json_object();
	int e = b == NULL;

	e = e || put_hex(b, "cpu_svn", r->cpu_svn, 16);
	e = e || put_hex(b, "misc_select", r->misc_select, 4);
	e = e || put_hex(b, "reserved1", r->reserved1, 12);
	e = e || put_hex(b, "isv_ext_prod_id", r->isv_ext_prod_id, 16);
	e = e || put_hex(b, "attributes.flags", r->attributes, 8);
	e = e || put_hex(b, "attributes.xfrm", r->attributes + 8, 8);
	e = e || put_hex(b, "mr_enclave", r->mr_enclave, 32);
	e = e || put_hex(b, "reserved2", r->reserved2, 32);
	e = e || put_hex(b, "mr_signer", r->mr_signer, 32);
	e = e || put_hex(b, "reserved3", r->reserved3, 32);
	e = e || put_hex(b, "config_id", r->config_id, 64);
	e = e || put_u16le(b, "isv_prod_id", r->isv_prod_id);
	e = e || put_u16le(b, "isv_svn", r->isv_svn);
	e = e || put_u16le(b, "config_svn", r->config_svn);
	e = e || put_hex(b, "reserved4", r->reserved4, 42);
	e = e || put_hex(b, "isv_family_id", r->isv_family_id, 16);
	e = e || put_hex(b, "report_data", r->report_data, 64);
	if (e) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static json_t *td_attributes(const uint8_t a[8])
{
	uint64_t v = 0;
	json_t *o = json_object();
	int e = o == NULL;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | a[i];
	e = e || json_object_set_new(o, "debug", json_boolean(v & 1u));
	e = e || json_object_set_new(o, "septve_disable", json_boolean(v & (1ull << 28)));
	e = e || json_object_set_new(o, "protection_keys", json_boolean(v & (1ull << 30)));
	e = e || json_object_set_new(o, "key_locker", json_boolean(v & (1ull << 31)));
	e = e || json_object_set_new(o, "perfmon", json_boolean(v & (1ull << 63)));
	if (e) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *tt_dcap_claims(const struct tt_dcap_quote *q, const struct tt_dcap_result *res,
	const struct tt_dcap_pck_ext *pck)
{
	static const char *sgx_types[] = { "Standard", "Scalable", "Scalable with Integrity" };
	json_t *c = json_object(), *hdr = json_object(), *body = NULL, *adv = json_array();
	const uint8_t *h = q->header;
	int e = c == NULL || hdr == NULL || adv == NULL;

	if (e)
		goto out;
	e = e || put_hex(hdr, "version", h, 2);
	e = e || put_hex(hdr, "att_key_type", h + 2, 2);
	if (res->tdx) {
		json_t *quote = json_object();
		uint8_t sz[4] = { (uint8_t)q->body_size, (uint8_t)(q->body_size >> 8),
			(uint8_t)(q->body_size >> 16), (uint8_t)(q->body_size >> 24) };

		e = e || quote == NULL;
		e = e || put_hex(hdr, "tee_type", h + 4, 4);
		e = e || put_hex(hdr, "reserved", h + 8, 4);
		e = e || put_hex(hdr, "vendor_id", h + 12, 16);
		e = e || put_hex(hdr, "user_data", h + 28, 20);
		body = e ? NULL : td_body(&q->td);
		if (!e && body != NULL) {
			e = json_object_set_new(quote, "header", hdr) ||
				json_object_set_new(quote, "body", body);
			hdr = body = NULL;
		} else {
			e = 1;
		}
		if (!e && q->version == 5)
			e = put_u16le(quote, "type", q->body_type) || put_hex(quote, "size", sz, 4);
		if (!e) {
			e = json_object_set_new(c, "quote", quote);
			quote = NULL;
		}
		json_decref(quote);
		e = e || json_object_set_new(c, "td_attributes", td_attributes(q->td.td_attributes));
		e = e || put_hex(c, "report_data", q->td.report_data, 64);
		e = e || put_hex(c, "init_data", q->td.mr_config_id, 48);
	} else {
		e = e || put_hex(hdr, "att_key_data_0", h + 4, 4);
		e = e || put_hex(hdr, "qe_svn", h + 8, 2);
		e = e || put_hex(hdr, "pce_svn", h + 10, 2);
		e = e || put_hex(hdr, "vendor_id", h + 12, 16);
		e = e || put_hex(hdr, "user_data", h + 28, 20);
		body = e ? NULL : sgx_body(&q->sgx);
		if (!e && body != NULL) {
			e = json_object_set_new(c, "header", hdr) ||
				json_object_set_new(c, "body", body);
			hdr = body = NULL;
		} else {
			e = 1;
		}
		e = e || put_hex(c, "report_data", q->sgx.report_data, 64);
		e = e || put_hex(c, "init_data", q->sgx.config_id, 64);
	}
	e = e || json_object_set_new(c, "tcb_status",
		json_string(tt_dcap_tcb_status_name(res->tcb_status)));
	for (unsigned i = 0; !e && i < res->adv.n; i++)
		e = json_array_append_new(adv, json_string(res->adv.id[i]));
	if (!e) {
		e = json_object_set_new(c, "advisory_ids", adv);
		adv = NULL;
	}
	/* Expired collateral is refused before claims exist, so this is always "0". */
	e = e || json_object_set_new(c, "collateral_expiration_status", json_string("0"));
	e = e || (res->tcb_date != 0 && put_time(c, "tcb_date", res->tcb_date));
	e = e || put_time(c, "earliest_expiration_date", res->earliest_expiration);
	e = e || put_hex(c, "platform_provider_id", pck->ppid, 16);
	e = e || json_object_set_new(c, "sgx_type", json_string(sgx_types[pck->sgx_type]));
out:
	json_decref(hdr);
	json_decref(body);
	json_decref(adv);
	if (e) {
		json_decref(c);
		return NULL;
	}
	return c;
}
