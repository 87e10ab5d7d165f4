/*
 * DCAP quote parser (SGX v3, TDX/SGX v4, v5), after Intel's "SGX ECDSA Quote Library API"
 * and "TDX DCAP Quoting Library API" appendices. All integers are little-endian.
 *
 *   v3:  header(48) | enclave report(384) | u32 len | sig data (QE fields inline)
 *   v4:  header(48) | body(384 SGX / 584 TD) | u32 len | sig | key | cert data type 6
 *   v5:  header(48) | u16 body type | u32 body size | body | u32 len | as v4
 * Type-6 certification data wraps the QE report, its signature, the QE authentication
 * data and the type-5 PCK chain. Every declared size must be consumed exactly: a size
 * that disagrees with its content is an attacker's lever (a second, unsigned reading of
 * the same bytes), so it is refused rather than skipped.
 */
#include <string.h>

#include "dcap.h"
#include "turtle/error.h"
#include "util/buf.h"

static int get_report(struct tt_buf *b, struct tt_dcap_enclave_report *r)
{
	int e;

	if ((e = tt_buf_get_bytes(b, r->cpu_svn, 16)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->misc_select, 4)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->reserved1, 12)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->isv_ext_prod_id, 16)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->attributes, 16)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->mr_enclave, 32)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->reserved2, 32)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->mr_signer, 32)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->reserved3, 32)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->config_id, 64)) != 0 ||
	    (e = tt_buf_get_u16le(b, &r->isv_prod_id)) != 0 ||
	    (e = tt_buf_get_u16le(b, &r->isv_svn)) != 0 ||
	    (e = tt_buf_get_u16le(b, &r->config_svn)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->reserved4, 42)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->isv_family_id, 16)) != 0 ||
	    (e = tt_buf_get_bytes(b, r->report_data, 64)) != 0)
		return e;
	return 0;
}

static int get_td(struct tt_buf *b, bool v15, struct tt_dcap_td_report *t)
{
	int e;

	if ((e = tt_buf_get_bytes(b, t->tee_tcb_svn, 16)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_seam, 48)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_signer_seam, 48)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->seam_attributes, 8)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->td_attributes, 8)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->xfam, 8)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_td, 48)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_config_id, 48)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_owner, 48)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_owner_config, 48)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->rtmr, sizeof(t->rtmr))) != 0 ||
	    (e = tt_buf_get_bytes(b, t->report_data, 64)) != 0)
		return e;
	t->v15 = v15;
	if (v15 && ((e = tt_buf_get_bytes(b, t->tee_tcb_svn2, 16)) != 0 ||
	    (e = tt_buf_get_bytes(b, t->mr_servicetd, 48)) != 0))
		return e;
	return 0;
}

/* QE report, its signature, QE auth data and the PCK chain (type-5 certification data),
 * exactly filling b. */
static int get_qe_part(struct tt_buf *b, struct tt_dcap_quote *q)
{
	struct tt_buf c;
	uint16_t alen;
	uint32_t clen;
	const uint8_t *p;
	int e;

	if ((e = tt_buf_get_ref(b, TT_DCAP_ENCLAVE_REPORT_LEN, &q->qe_report_raw)) != 0)
		return e;
	tt_buf_init_ro(&c, q->qe_report_raw, TT_DCAP_ENCLAVE_REPORT_LEN);
	if ((e = get_report(&c, &q->qe_report)) != 0 ||
	    (e = tt_buf_get_bytes(b, q->qe_report_sig, 64)) != 0 ||
	    (e = tt_buf_get_u16le(b, &alen)) != 0 ||
	    (e = tt_buf_get_ref(b, alen, &q->qe_auth)) != 0 ||
	    (e = tt_buf_get_u16le(b, &q->cert_type)) != 0 ||
	    (e = tt_buf_get_u32le(b, &clen)) != 0)
		return e;
	q->qe_auth_len = alen;
	if (q->cert_type != TT_DCAP_CERT_PCK_CHAIN)
		return TT_ERR_NOT_SUPPORTED;
	if ((e = tt_buf_get_ref(b, clen, &p)) != 0)
		return e;
	q->cert_data = p;
	q->cert_len = clen;
	return tt_buf_expect_end(b) == 0 ? 0 : TT_ERR_DATA_INVALID;
}

int tt_dcap_quote_parse(const uint8_t *data, size_t len, struct tt_dcap_quote *out)
{
	struct tt_dcap_quote q;
	struct tt_buf b, s, c;
	const uint8_t *hdr, *sig;
	uint32_t slen, clen;
	uint16_t ctype;
	int e;

	if (data == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (len > TT_DCAP_MAX_QUOTE)
		return TT_ERR_LIMIT;
	memset(&q, 0, sizeof(q));
	tt_buf_init_ro(&b, data, len);
	if ((e = tt_buf_get_ref(&b, TT_DCAP_HEADER_LEN, &hdr)) != 0)
		return e;
	memcpy(q.header, hdr, TT_DCAP_HEADER_LEN);
	tt_buf_init_ro(&s, hdr, TT_DCAP_HEADER_LEN);
	if ((e = tt_buf_get_u16le(&s, &q.version)) != 0 ||
	    (e = tt_buf_get_u16le(&s, &q.att_key_type)) != 0 ||
	    (e = tt_buf_get_u32le(&s, &q.tee_type)) != 0)
		return e;
	if (q.version < 3 || q.version > 5)
		return TT_ERR_NOT_SUPPORTED;
	if (q.att_key_type != TT_DCAP_ATT_KEY_ECDSA_P256)
		return TT_ERR_NOT_SUPPORTED;
	/* In v3 these four bytes are "attestation key data 0" (reserved); v3 is SGX only. */
	if (q.version == 3)
		q.tee_type = TT_DCAP_TEE_SGX;
	else if (q.tee_type != TT_DCAP_TEE_SGX && q.tee_type != TT_DCAP_TEE_TDX)
		return TT_ERR_DATA_INVALID;

	if (q.version == 5) {
		if ((e = tt_buf_get_u16le(&b, &q.body_type)) != 0 ||
		    (e = tt_buf_get_u32le(&b, &q.body_size)) != 0)
			return e;
		if ((q.body_type == TT_DCAP_BODY_SGX && q.body_size != TT_DCAP_ENCLAVE_REPORT_LEN) ||
		    (q.body_type == TT_DCAP_BODY_TD10 && q.body_size != TT_DCAP_TD10_LEN) ||
		    (q.body_type == TT_DCAP_BODY_TD15 && q.body_size != TT_DCAP_TD15_LEN) ||
		    q.body_type < TT_DCAP_BODY_SGX || q.body_type > TT_DCAP_BODY_TD15)
			return TT_ERR_DATA_INVALID;
		if ((q.body_type == TT_DCAP_BODY_SGX) != (q.tee_type == TT_DCAP_TEE_SGX))
			return TT_ERR_DATA_INVALID;
	} else if (q.tee_type == TT_DCAP_TEE_SGX) {
		q.body_type = TT_DCAP_BODY_SGX;
		q.body_size = TT_DCAP_ENCLAVE_REPORT_LEN;
	} else {
		q.body_type = TT_DCAP_BODY_TD10;
		q.body_size = TT_DCAP_TD10_LEN;
	}
	if (q.body_type == TT_DCAP_BODY_SGX)
		e = get_report(&b, &q.sgx);
	else
		e = get_td(&b, q.body_type == TT_DCAP_BODY_TD15, &q.td);
	if (e != 0)
		return e;
	q.signed_data = data;
	q.signed_len = len - tt_buf_avail(&b);

	if ((e = tt_buf_get_u32le(&b, &slen)) != 0 || (e = tt_buf_get_ref(&b, slen, &sig)) != 0)
		return e;
	/* Quote generation services hand out fixed-size buffers: zero bytes after the
	 * signature data are padding (signed by nothing, read by nothing); anything else is
	 * refused. */
	for (const uint8_t *p = tt_buf_ptr(&b), *end = p + tt_buf_avail(&b); p < end; p++)
		if (*p != 0)
			return TT_ERR_TRAILING;
	tt_buf_init_ro(&s, sig, slen);
	if ((e = tt_buf_get_bytes(&s, q.signature, 64)) != 0 ||
	    (e = tt_buf_get_bytes(&s, q.attest_key, 64)) != 0)
		return e;
	if (q.version == 3) {
		if ((e = get_qe_part(&s, &q)) != 0)
			return e;
	} else {
		const uint8_t *cd;

		if ((e = tt_buf_get_u16le(&s, &ctype)) != 0 ||
		    (e = tt_buf_get_u32le(&s, &clen)) != 0)
			return e;
		if (ctype != TT_DCAP_CERT_QE_REPORT)
			return TT_ERR_NOT_SUPPORTED;
		if ((e = tt_buf_get_ref(&s, clen, &cd)) != 0)
			return e;
		if (tt_buf_avail(&s) != 0)
			return TT_ERR_DATA_INVALID;
		tt_buf_init_ro(&c, cd, clen);
		if ((e = get_qe_part(&c, &q)) != 0)
			return e;
	}
	*out = q;
	return 0;
}
