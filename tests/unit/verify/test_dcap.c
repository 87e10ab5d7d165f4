/*
 * Intel DCAP verification with the shared real vectors (data/dcap, from dcap-qvl's samples):
 * a TDX v4 quote (UpToDate), an SGX v3 quote (ConfigurationAndSWHardeningNeeded, two
 * advisories) and a TDX v5 / TD 1.5 quote that no TCB level of its collateral covers,
 * each at a time pinned inside its collateral's window. Claims are compared with the bytes
 * at their offsets in the quote (read here, not through the parser). Then the tamper
 * matrix: single-byte flips of every signed byte of the header and body, the signature,
 * the attestation key, the QE report and its signature, the QE auth data, the PCK leaf
 * and intermediate (DER), the TCB info, the QE identity, their signatures and signer
 * certificate, both CRLs; wrong report data; "now" outside the window; missing or foreign
 * collateral; another anchor. Every one must be refused. Finally the verify.h tables and
 * the CC event log replay.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dcap.h"
#include "dcap_internal.h"
#include "slurp.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/hex.h"
#include "verify.h"

#ifndef TT_DCAP_DATA
#error "TT_DCAP_DATA must name the test data directory"
#endif
#ifndef TT_DCAP_ROOT
#error "TT_DCAP_ROOT must name the Intel root PEM"
#endif

#define NOW_2025 1751328000        /* 2025-07-01T00:00:00Z: inside 2025-06-19..07-19 */
#define NOW_2026 1772000000        /* 2026-02-25: inside the v5 collateral's window */

struct vec {
	uint8_t *quote;
	size_t qlen;
	char *coljson;
	size_t cjlen;
	struct tt_dcap_collateral *col;
	X509 *root;
};

static void vec_load(struct vec *v, const char *quote, const char *col)
{
	memset(v, 0, sizeof(*v));
	v->quote = tt_test_slurp(TT_DCAP_DATA, quote, &v->qlen);
	v->coljson = (char *)tt_test_slurp(TT_DCAP_DATA, col, &v->cjlen);
	assert_int_equal(tt_dcap_collateral_parse(v->coljson, v->cjlen, &v->col), 0);
	v->root = tt_dcap_load_root(TT_DCAP_ROOT);
	assert_non_null(v->root);
}

static void vec_free(struct vec *v)
{
	free(v->quote);
	free(v->coljson);
	tt_dcap_collateral_free(v->col);
	X509_free(v->root);
}

static int run(const struct vec *v, const uint8_t *quote, time_t now, const uint8_t *rd,
	struct tt_dcap_result *res)
{
	struct tt_dcap_input in;

	memset(&in, 0, sizeof(in));
	in.quote = quote;
	in.quote_len = v->qlen;
	in.collateral = v->col;
	in.root = v->root;
	in.now = now;
	in.report_data = rd;
	in.report_data_len = rd != NULL ? 64 : 0;
	return tt_dcap_verify(&in, res);
}

/* A claim under dotted path, as a string. */
static const char *claim(const json_t *c, const char *path)
{
	char buf[128], *save = NULL, *tok;
	const json_t *v = c;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL && v != NULL;
	     tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void assert_claim_bytes(const json_t *c, const char *path, const uint8_t *p, size_t n)
{
	char hx[2 * 128 + 1];
	const char *got = claim(c, path);

	assert_non_null(got);
	tt_hex_encode(p, n, hx);
	assert_string_equal(got, hx);
}

/* Offsets of the TD report fields in a v4 quote (header 48 bytes). */
#define TD 48u
#define TD_MR_TD (TD + 136u)
#define TD_RTMR (TD + 328u)
#define TD_RD (TD + 520u)

static void test_tdx_v4_up_to_date(void **state)
{
	struct tt_dcap_result res;
	struct vec v;
	const json_t *ta;

	(void)state;
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	tt_dcap_cache_flush();
	assert_int_equal(run(&v, v.quote, NOW_2025, v.quote + TD_RD, &res), 0);
	assert_null(strstr(res.links[1].detail, "verified before"));
	tt_dcap_result_clear(&res);
	/* The second time the chains come from the cache (same bytes, "now" inside every
	 * certificate's and CRL's validity); the verdict and claims are the same. */
	assert_int_equal(run(&v, v.quote, NOW_2025, v.quote + TD_RD, &res), 0);
	for (unsigned i = 1; i <= 5; i++)
		assert_non_null(strstr(res.links[i].detail, "verified before"));
	assert_int_equal(res.check, TT_DCAP_OK);
	assert_true(res.tdx);
	assert_int_equal(res.quote.version, 4);
	assert_int_equal(res.tcb_status, TT_DCAP_TCB_UP_TO_DATE);
	assert_int_equal(res.qe_status, TT_DCAP_TCB_UP_TO_DATE);
	assert_int_equal(res.module_status, TT_DCAP_TCB_UP_TO_DATE);
	assert_true(res.affirming);
	assert_int_equal(res.adv.n, 0);
	assert_string_equal(res.reason, "");
	/* From the anchor down, every link verified. */
	{
		static const char *names[] = { "root-ca", "pck-ca", "pck", "tcb-signing",
			"tcb-info", "qe-identity", "collateral-validity", "tdx-module", "qe-report",
			"attestation-key", "qe-identity-match", "quote", "tcb-level", "report-data" };

		assert_int_equal(res.nlinks, 14);
		for (unsigned i = 0; i < res.nlinks; i++) {
			assert_string_equal(res.links[i].name, names[i]);
			assert_true(res.links[i].ok);
		}
	}

	assert_non_null(res.claims);
	assert_string_equal(claim(res.claims, "quote.header.version"), "0400");
	assert_string_equal(claim(res.claims, "quote.header.tee_type"), "81000000");
	assert_claim_bytes(res.claims, "quote.body.mr_td", v.quote + TD_MR_TD, 48);
	assert_string_equal(claim(res.claims, "quote.body.mr_td"),
		"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407"
		"de03ae6dc5f87f27428b2538873118b7");
	for (int i = 0; i < 4; i++) {
		char p[32];

		snprintf(p, sizeof(p), "quote.body.rtmr_%d", i);
		assert_claim_bytes(res.claims, p, v.quote + TD_RTMR + 48u * (unsigned)i, 48);
	}
	assert_claim_bytes(res.claims, "quote.body.report_data", v.quote + TD_RD, 64);
	assert_claim_bytes(res.claims, "report_data", v.quote + TD_RD, 64);
	assert_string_equal(claim(res.claims, "quote.body.tcb_svn"),
		"06010300000000000000000000000000");
	assert_string_equal(claim(res.claims, "tcb_status"), "UpToDate");
	assert_string_equal(claim(res.claims, "tcb_date"), "2024-03-13T00:00:00Z");
	assert_string_equal(claim(res.claims, "platform_provider_id"),
		"811dca2a26b952e85bb6448b097ba4fd");
	ta = json_object_get(res.claims, "td_attributes");
	assert_true(json_is_false(json_object_get(ta, "debug")));
	assert_true(json_is_true(json_object_get(ta, "septve_disable")));
	assert_int_equal(json_array_size(json_object_get(res.claims, "advisory_ids")), 0);
	assert_int_equal(json_integer_value(json_object_get(res.claims, "tcb_eval_num")), 17);
	tt_dcap_result_clear(&res);
	vec_free(&v);
}

#define SGX_MR_ENCLAVE (48u + 64u)
#define SGX_MR_SIGNER (48u + 128u)
#define SGX_RD (48u + 320u)

static void test_sgx_v3_status(void **state)
{
	struct tt_dcap_result res;
	struct tt_dcap_input in;
	struct vec v;
	const json_t *adv;

	(void)state;
	vec_load(&v, "sgx_quote", "sgx_quote_collateral.json");
	assert_int_equal(run(&v, v.quote, NOW_2025, v.quote + SGX_RD, &res), 0);
	assert_int_equal(res.check, TT_DCAP_OK);
	assert_false(res.tdx);
	assert_int_equal(res.quote.version, 3);
	assert_int_equal(res.tcb_status, TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
	/* Verified, but a status other than UpToDate does not affirm by default. */
	assert_false(res.affirming);
	assert_non_null(strstr(res.reason, "ConfigurationAndSWHardeningNeeded"));
	assert_string_equal(claim(res.claims, "tcb_status"), "ConfigurationAndSWHardeningNeeded");
	adv = json_object_get(res.claims, "advisory_ids");
	assert_int_equal(json_array_size(adv), 2);
	assert_string_equal(json_string_value(json_array_get(adv, 0)), "INTEL-SA-00289");
	assert_string_equal(json_string_value(json_array_get(adv, 1)), "INTEL-SA-00615");
	assert_string_equal(claim(res.claims, "header.version"), "0300");
	assert_claim_bytes(res.claims, "body.mr_enclave", v.quote + SGX_MR_ENCLAVE, 32);
	assert_claim_bytes(res.claims, "body.mr_signer", v.quote + SGX_MR_SIGNER, 32);
	assert_string_equal(claim(res.claims, "body.mr_enclave"),
		"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
	/* Trustee's key is literally "attributes.flags" (a dot in the name). */
	assert_string_equal(json_string_value(json_object_get(json_object_get(res.claims, "body"),
		"attributes.flags")), "0500000000000000");
	assert_memory_equal(v.quote + SGX_RD, "Hello, world!", 13);
	assert_claim_bytes(res.claims, "report_data", v.quote + SGX_RD, 64);
	tt_dcap_result_clear(&res);

	/* A policy that accepts this status makes it affirming; Revoked never is. */
	memset(&in, 0, sizeof(in));
	in.quote = v.quote;
	in.quote_len = v.qlen;
	in.collateral = v.col;
	in.root = v.root;
	in.now = NOW_2025;
	in.accept_status = 1u << TT_DCAP_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
	assert_int_equal(tt_dcap_verify(&in, &res), 0);
	assert_true(res.affirming);
	tt_dcap_result_clear(&res);
	vec_free(&v);
}

static void test_tdx_v5_outdated(void **state)
{
	struct tt_dcap_result res;
	struct tt_dcap_quote q;
	struct vec v;

	(void)state;
	vec_load(&v, "tdx_quote_outdated", "tdx_quote_outdated_collateral.json");
	assert_int_equal(tt_dcap_quote_parse(v.quote, v.qlen, &q), 0);
	assert_int_equal(q.version, 5);
	assert_int_equal(q.body_type, TT_DCAP_BODY_TD15);
	assert_true(q.td.v15);
	/* The PCK's SGX component 8 (SEAMLDR ACM) is 3 and every TCB level asks for 5: no
	 * level covers the platform (Intel: TCB_NOT_SUPPORTED). Never UpToDate. */
	assert_int_not_equal(run(&v, v.quote, NOW_2026, NULL, &res), 0);
	assert_int_equal(res.check, TT_DCAP_TCB_NOT_SUPPORTED);
	assert_int_not_equal(res.tcb_status, TT_DCAP_TCB_UP_TO_DATE);
	assert_int_not_equal(res.tcb_status, TT_DCAP_TCB_TD_RELAUNCH_ADVISED);
	assert_false(res.affirming);
	/* Everything up to the quote signature held. */
	for (unsigned i = 0; i + 1 < res.nlinks; i++)
		assert_true(res.links[i].ok);
	assert_string_equal(res.links[res.nlinks - 2].name, "quote");
	assert_false(res.links[res.nlinks - 1].ok);
	tt_dcap_result_clear(&res);
	vec_free(&v);
}

/* ---- tamper matrix ---- */

static unsigned refused_count;

static void expect_refused(const struct vec *v, const uint8_t *quote, const char *what,
	size_t at)
{
	struct tt_dcap_result res;
	int r = run(v, quote, NOW_2025, v->quote + (v->quote[0] == 3 ? SGX_RD : TD_RD), &res);

	if (r == 0 || res.affirming)
		fail_msg("%s: flip at %zu accepted (%s)", what, at, tt_dcap_check_name(res.check));
	refused_count++;
	tt_dcap_result_clear(&res);
}

static void flip_range(const struct vec *v, size_t from, size_t to, size_t step,
	const char *what)
{
	uint8_t *q = malloc(v->qlen);

	assert_non_null(q);
	for (size_t i = from; i < to; i += step) {
		memcpy(q, v->quote, v->qlen);
		q[i] ^= 0x01;
		expect_refused(v, q, what, i);
	}
	free(q);
}

/* Replace PEM certificate number `idx` of the quote's chain by one whose DER has byte
 * `at` flipped; the PEM text keeps its length (64-column lines), so the quote's sizes
 * still hold. Returns false past the end of the DER. */
static bool flip_cert(const struct vec *v, uint8_t *q, unsigned idx, size_t at)
{
	struct tt_dcap_quote pq;
	const char *p, *end;
	BIO *in, *out;
	X509 *x;
	unsigned char *der = NULL;
	int n;
	char *pem;
	long pl;
	bool ok = false;

	memcpy(q, v->quote, v->qlen);
	assert_int_equal(tt_dcap_quote_parse(q, v->qlen, &pq), 0);
	p = (const char *)pq.cert_data;
	for (unsigned i = 0; i <= idx; i++) {
		p = strstr(i == 0 ? p : p + 1, "-----BEGIN CERTIFICATE-----");
		assert_non_null(p);
	}
	end = strstr(p, "-----END CERTIFICATE-----");
	assert_non_null(end);
	end += strlen("-----END CERTIFICATE-----\n");
	in = BIO_new_mem_buf(p, (int)(end - p));
	x = PEM_read_bio_X509(in, NULL, NULL, NULL);
	BIO_free(in);
	assert_non_null(x);
	n = i2d_X509(x, &der);
	X509_free(x);
	assert_true(n > 0);
	if (at < (size_t)n) {
		der[at] ^= 0x01;
		/* Write the flipped DER as PEM directly (it may no longer parse as X.509). */
		out = BIO_new(BIO_s_mem());
		assert_true(PEM_write_bio(out, "CERTIFICATE", "", der, n) > 0);
		pl = BIO_get_mem_data(out, &pem);
		assert_int_equal(pl, end - p);
		memcpy(q + ((const uint8_t *)p - q), pem, (size_t)pl);
		BIO_free(out);
		ok = true;
	}
	OPENSSL_free(der);
	return ok;
}

static void tamper_quote(const char *quote, const char *col, bool tdx)
{
	struct tt_dcap_quote pq;
	struct vec v;
	size_t qe, sig;
	uint8_t *q;

	vec_load(&v, quote, col);
	assert_int_equal(tt_dcap_quote_parse(v.quote, v.qlen, &pq), 0);
	/* Every byte the attestation key signs (header and body). */
	flip_range(&v, 0, pq.signed_len, 1, "signed header/body");
	/* Signature, attestation key. */
	sig = pq.signed_len + 4;
	flip_range(&v, sig, sig + 128, 1, "signature/attestation key");
	/* QE report and its signature, QE auth data. */
	qe = (size_t)(pq.qe_report_raw - v.quote);
	flip_range(&v, qe, qe + 384 + 64, 1, "QE report/signature");
	flip_range(&v, (size_t)(pq.qe_auth - v.quote), (size_t)(pq.qe_auth - v.quote) +
		pq.qe_auth_len, 1, "QE auth data");
	/* The PCK leaf and intermediate, every 3rd DER byte. */
	q = malloc(v.qlen);
	assert_non_null(q);
	for (unsigned c = 0; c < 2; c++)
		for (size_t at = 0; flip_cert(&v, q, c, at); at += 3)
			expect_refused(&v, q, c == 0 ? "PCK leaf" : "PCK CA", at);
	free(q);
	(void)tdx;
	vec_free(&v);
}

static void test_tamper_tdx_quote(void **state)
{
	(void)state;
	refused_count = 0;
	tamper_quote("tdx_quote", "tdx_quote_collateral.json", true);
	assert_true(refused_count > 1400);
}

static void test_tamper_sgx_quote(void **state)
{
	(void)state;
	refused_count = 0;
	tamper_quote("sgx_quote", "sgx_quote_collateral.json", false);
	assert_true(refused_count > 1100);
}

/* Flip bytes of one collateral buffer in place (the parsed struct keeps the original
 * values: only the signature or chain can notice). */
static void flip_buf(const struct vec *v, uint8_t *p, size_t n, size_t step, const char *what)
{
	for (size_t i = 0; i < n; i += step) {
		p[i] ^= 0x01;
		expect_refused(v, v->quote, what, i);
		p[i] ^= 0x01;
	}
}

/* Flip DER bytes of the first certificate of a PEM chain held in *pem. */
static void flip_chain_leaf(const struct vec *v, char **pem, const char *what)
{
	char *orig = strdup(*pem);
	BIO *in = BIO_new_mem_buf(orig, -1);
	X509 *x = PEM_read_bio_X509(in, NULL, NULL, NULL);
	unsigned char *der = NULL;
	const char *rest;
	int n;

	BIO_free(in);
	assert_non_null(x);
	n = i2d_X509(x, &der);
	X509_free(x);
	rest = strstr(orig, "-----END CERTIFICATE-----");
	assert_non_null(rest);
	rest += strlen("-----END CERTIFICATE-----\n");
	for (int at = 0; at < n; at += 3) {
		BIO *out = BIO_new(BIO_s_mem());
		char *p;
		long pl;

		der[at] ^= 0x01;
		assert_true(PEM_write_bio(out, "CERTIFICATE", "", der, n) > 0);
		der[at] ^= 0x01;
		pl = BIO_get_mem_data(out, &p);
		free(*pem);
		*pem = malloc((size_t)pl + strlen(rest) + 1);
		assert_non_null(*pem);
		memcpy(*pem, p, (size_t)pl);
		strcpy(*pem + pl, rest);
		BIO_free(out);
		expect_refused(v, v->quote, what, (size_t)at);
	}
	free(*pem);
	*pem = orig;
	OPENSSL_free(der);
}

static void test_tamper_collateral(void **state)
{
	struct vec v;
	struct tt_dcap_collateral *c;

	(void)state;
	refused_count = 0;
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	c = v.col;
	flip_buf(&v, (uint8_t *)c->tcb_info_json, c->tcb_info_json_len, 1, "TCB info body");
	flip_buf(&v, c->tcb_info_sig, 64, 1, "TCB info signature");
	flip_buf(&v, (uint8_t *)c->qe_identity_json, c->qe_identity_json_len, 1,
		"QE identity body");
	flip_buf(&v, c->qe_identity_sig, 64, 1, "QE identity signature");
	flip_buf(&v, c->root_ca_crl, c->root_ca_crl_len, 1, "root CA CRL");
	flip_buf(&v, c->pck_crl, c->pck_crl_len, 3, "PCK CRL");
	flip_chain_leaf(&v, &c->tcb_info_issuer_chain, "TCB signing certificate (TCB info)");
	flip_chain_leaf(&v, &c->qe_identity_issuer_chain,
		"TCB signing certificate (QE identity)");
	assert_true(refused_count > 5000);
	vec_free(&v);
}

static void test_refusals(void **state)
{
	struct tt_dcap_result res;
	struct tt_dcap_input in;
	struct vec v, s;
	uint8_t rd[64];
	EVP_PKEY *k = NULL;
	X509 *other;

	(void)state;
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	/* Wrong report data. */
	memcpy(rd, v.quote + TD_RD, 64);
	rd[63] ^= 1;
	assert_int_equal(run(&v, v.quote, NOW_2025, rd, &res), TT_ERR_NOT_AUTHENTICATED);
	assert_int_equal(res.check, TT_DCAP_REPORT_DATA_MISMATCH);
	assert_false(res.affirming);
	tt_dcap_result_clear(&res);
	/* "now" before issueDate and after nextUpdate: refused as expired/not yet valid. */
	assert_int_equal(run(&v, v.quote, 1750291200 /* 2025-06-19T00:00Z */, NULL, &res),
		TT_ERR_NOT_PERMITTED);
	assert_false(res.affirming);
	tt_dcap_result_clear(&res);
	assert_int_equal(run(&v, v.quote, 1753056000 /* 2025-07-21 */, NULL, &res),
		TT_ERR_NOT_PERMITTED);
	assert_false(res.affirming);
	tt_dcap_result_clear(&res);
	assert_int_equal(run(&v, v.quote, NOW_2026, NULL, &res), TT_ERR_NOT_PERMITTED);
	tt_dcap_result_clear(&res);
	/* No collateral. */
	memset(&in, 0, sizeof(in));
	in.quote = v.quote;
	in.quote_len = v.qlen;
	in.root = v.root;
	in.now = NOW_2025;
	assert_int_equal(tt_dcap_verify(&in, &res), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(res.check, TT_DCAP_COLLATERAL_MISSING);
	assert_null(res.claims);
	tt_dcap_result_clear(&res);
	/* Another platform's / TEE's collateral. */
	vec_load(&s, "sgx_quote", "sgx_quote_collateral.json");
	in.collateral = s.col;
	assert_int_not_equal(tt_dcap_verify(&in, &res), 0);
	assert_int_equal(res.check, TT_DCAP_CRL);   /* the SGX PCK CRL is another CA's */
	tt_dcap_result_clear(&res);
	{
		/* Genuine, validly signed SGX TCB info / QE identity with the TDX quote. */
		struct tt_dcap_collateral mix = *v.col;

		mix.tcb_info_json = s.col->tcb_info_json;
		mix.tcb_info_json_len = s.col->tcb_info_json_len;
		memcpy(mix.tcb_info_sig, s.col->tcb_info_sig, 64);
		mix.tcb_info = s.col->tcb_info;
		in.collateral = &mix;
		assert_int_equal(tt_dcap_verify(&in, &res), TT_ERR_DATA_INVALID);
		assert_int_equal(res.check, TT_DCAP_TCB_INFO_MISMATCH);
		tt_dcap_result_clear(&res);
		mix = *v.col;
		mix.qe_identity_json = s.col->qe_identity_json;
		mix.qe_identity_json_len = s.col->qe_identity_json_len;
		memcpy(mix.qe_identity_sig, s.col->qe_identity_sig, 64);
		mix.qe_identity = s.col->qe_identity;
		assert_int_equal(tt_dcap_verify(&in, &res), TT_ERR_DATA_INVALID);
		assert_int_equal(res.check, TT_DCAP_QE_IDENTITY_MISMATCH);
		tt_dcap_result_clear(&res);
	}
	/* Another anchor: a fresh self-signed P-256 certificate named like Intel's root. */
	k = EVP_EC_gen("P-256");
	assert_non_null(k);
	other = X509_new();
	X509_set_version(other, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(other), 1);
	X509_set_issuer_name(other, X509_get_subject_name(v.root));
	X509_set_subject_name(other, X509_get_subject_name(v.root));
	X509_time_adj_ex(X509_getm_notBefore(other), -3650, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(other), 36500, 0, NULL);
	X509_set_pubkey(other, k);
	assert_true(X509_sign(other, k, EVP_sha256()) > 0);
	in.collateral = v.col;
	in.root = other;
	assert_int_equal(tt_dcap_verify(&in, &res), TT_ERR_INVALID_SIGNATURE);
	assert_int_equal(res.check, TT_DCAP_PCK_CHAIN);
	tt_dcap_result_clear(&res);
	/* An SGX quote with a CC event log. */
	in.root = s.root;
	in.quote = s.quote;
	in.quote_len = s.qlen;
	in.collateral = s.col;
	in.ccel = (const uint8_t *)"x";
	in.ccel_len = 1;
	assert_int_not_equal(tt_dcap_verify(&in, &res), 0);
	assert_int_equal(res.check, TT_DCAP_EVENTLOG);
	tt_dcap_result_clear(&res);
	/* A TDX quote with an event log that does not replay to its RTMRs. */
	in.root = v.root;
	in.quote = v.quote;
	in.quote_len = v.qlen;
	in.collateral = v.col;
	assert_int_not_equal(tt_dcap_verify(&in, &res), 0);
	assert_int_equal(res.check, TT_DCAP_EVENTLOG);
	assert_false(res.affirming);
	tt_dcap_result_clear(&res);
	X509_free(other);
	EVP_PKEY_free(k);
	vec_free(&s);
	vec_free(&v);
}

static void test_parse_limits(void **state)
{
	struct tt_dcap_quote q;
	struct tt_dcap_collateral *c = NULL;
	struct vec v;
	uint8_t *b;

	(void)state;
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	/* Every truncation is refused. */
	for (size_t n = 0; n < 4936; n += 7)
		assert_int_not_equal(tt_dcap_quote_parse(v.quote, n, &q), 0);
	/* Zero padding after the signature data is allowed, anything else is not. */
	assert_int_equal(tt_dcap_quote_parse(v.quote, v.qlen, &q), 0);
	b = malloc(v.qlen);
	memcpy(b, v.quote, v.qlen);
	b[v.qlen - 1] = 1;
	assert_int_equal(tt_dcap_quote_parse(b, v.qlen, &q), TT_ERR_TRAILING);
	/* Version 2, key type 3: not supported. */
	memcpy(b, v.quote, v.qlen);
	b[0] = 2;
	assert_int_equal(tt_dcap_quote_parse(b, v.qlen, &q), TT_ERR_NOT_SUPPORTED);
	memcpy(b, v.quote, v.qlen);
	b[2] = 3;
	assert_int_equal(tt_dcap_quote_parse(b, v.qlen, &q), TT_ERR_NOT_SUPPORTED);
	free(b);
	/* Collateral with a member missing or malformed. */
	assert_int_not_equal(tt_dcap_collateral_parse("{}", 2, &c), 0);
	assert_int_not_equal(tt_dcap_collateral_parse("[]", 2, &c), 0);
	assert_null(c);
	vec_free(&v);
}

/* ---- the verify.h tables ---- */

static void test_tables(void **state)
{
	const struct tt_verifier *tdx = tt_verifier_find("tdx"), *sgx = tt_verifier_find("sgx");
	struct tt_verify_trust trust;
	struct tt_verify_result res;
	struct tt_verify_in in;
	struct vec v, s;
	char *b64, *ev;
	const json_t *last;

	(void)state;
	assert_non_null(tdx);
	assert_non_null(sgx);
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	vec_load(&s, "sgx_quote", "sgx_quote_collateral.json");
	memset(&trust, 0, sizeof(trust));
	trust.collateral = (const uint8_t *)v.coljson;
	trust.collateral_len = v.cjlen;
	memset(&in, 0, sizeof(in));
	in.evidence = v.quote;
	in.evidence_len = v.qlen;
	in.binding = v.quote + TD_RD;
	in.binding_len = 64;
	in.now = NOW_2025;
	in.trust = &trust;
	assert_int_equal(tt_verify(tdx, &in, &res), 0);
	assert_string_equal(claim(res.claims, "quote.body.mr_td"),
		"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407"
		"de03ae6dc5f87f27428b2538873118b7");
	assert_string_equal(claim(res.claims, "tcb_status"), "UpToDate");
	assert_string_equal(json_string_value(json_object_get(json_array_get(res.chain, 0),
		"link")), "anchor");
	last = json_array_get(res.chain, json_array_size(res.chain) - 1);
	assert_string_equal(json_string_value(json_object_get(last, "link")), "binding");
	tt_verify_result_clear(&res);

	/* Trustee's attester JSON ({"quote": base64}) carries the same quote. */
	assert_int_equal(tt_b64_encode_dup(v.quote, v.qlen, TT_B64_STD, &b64), 0);
	assert_true(asprintf(&ev, "{\"quote\":\"%s\"}", b64) > 0);
	in.evidence = (const uint8_t *)ev;
	in.evidence_len = strlen(ev);
	assert_int_equal(tt_verify(tdx, &in, &res), 0);
	tt_verify_result_clear(&res);
	/* ...but not as SGX evidence. */
	assert_int_not_equal(tt_verify(sgx, &in, &res), 0);
	assert_null(res.claims);
	tt_verify_result_clear(&res);
	free(ev);
	free(b64);

	/* A binding that differs is refused. */
	in.evidence = v.quote;
	in.evidence_len = v.qlen;
	in.binding = (const uint8_t *)"nonce";
	in.binding_len = 5;
	assert_int_equal(tt_verify(tdx, &in, &res), TT_ERR_NOT_AUTHENTICATED);
	assert_null(res.claims);
	tt_verify_result_clear(&res);

	/* No collateral: refused, nothing fetched. */
	in.binding = v.quote + TD_RD;
	in.binding_len = 64;
	trust.collateral = NULL;
	trust.collateral_len = 0;
	assert_int_equal(tt_verify(tdx, &in, &res), TT_ERR_DOES_NOT_EXIST);
	tt_verify_result_clear(&res);

	/* SGX: verified but ConfigurationAndSWHardeningNeeded is refused unless the caller
	 * asks for the status to be reported to its policy instead. */
	trust.collateral = (const uint8_t *)s.coljson;
	trust.collateral_len = s.cjlen;
	in.evidence = s.quote;
	in.evidence_len = s.qlen;
	in.binding = (const uint8_t *)"Hello, world!";
	in.binding_len = 13;
	assert_int_equal(tt_verify(sgx, &in, &res), TT_ERR_NOT_PERMITTED);
	assert_null(res.claims);
	assert_non_null(strstr(json_string_value(json_array_get(res.reasons, 0)),
		"ConfigurationAndSWHardeningNeeded"));
	tt_verify_result_clear(&res);
	in.flags = TT_VERIFY_F_ANY_TCB_STATUS;
	assert_int_equal(tt_verify(sgx, &in, &res), 0);
	assert_string_equal(claim(res.claims, "tcb_status"), "ConfigurationAndSWHardeningNeeded");
	assert_string_equal(claim(res.claims, "body.mr_enclave"),
		"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
	tt_verify_result_clear(&res);
	vec_free(&s);
	vec_free(&v);
}

static void test_collateral_dir(void **state)
{
	char dir[] = "/tmp/tt-dcap-XXXXXX", path[256];
	const struct tt_verifier *tdx = tt_verifier_find("tdx");
	struct tt_verify_trust trust;
	struct tt_verify_result res;
	struct tt_verify_in in;
	struct vec v;
	FILE *f;

	(void)state;
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	assert_non_null(mkdtemp(dir));
	/* Named by the PCK certificate's FMSPC. */
	snprintf(path, sizeof(path), "%s/tdx-b0c06f000000.json", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(v.coljson, 1, v.cjlen, f), v.cjlen);
	fclose(f);
	memset(&trust, 0, sizeof(trust));
	trust.collateral_dir = dir;
	memset(&in, 0, sizeof(in));
	in.evidence = v.quote;
	in.evidence_len = v.qlen;
	in.flags = TT_VERIFY_F_NO_BINDING;
	in.now = NOW_2025;
	in.trust = &trust;
	assert_int_equal(tt_verify(tdx, &in, &res), 0);
	tt_verify_result_clear(&res);
	unlink(path);
	assert_int_equal(tt_verify(tdx, &in, &res), TT_ERR_DOES_NOT_EXIST);
	tt_verify_result_clear(&res);
	rmdir(dir);
	vec_free(&v);
}

/* ---- CC event log ---- */

static void put32(uint8_t **p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

/* SHA-384 of event i's data "ev<i>" (what EV_EFI_ACTION events carry as their digest). */
static void ev_digest(unsigned i, uint8_t out[48])
{
	char data[3] = { 'e', 'v', (char)('0' + i) };
	unsigned n = 0;

	assert_int_equal(EVP_Digest(data, 3, out, &n, EVP_sha384(), NULL), 1);
}

/* A CCEL with the Spec ID header (SHA-384 only) and `n` events: index idx[i], event data
 * "ev<i>" and its SHA-384 as the digest. Returns its length; pad trailing 0xff bytes. */
static size_t build_ccel(uint8_t *buf, const uint32_t *idx, unsigned n, size_t pad)
{
	uint8_t *p = buf;

	put32(&p, 0);
	put32(&p, 3);                          /* EV_NO_ACTION */
	memset(p, 0, 20);
	p += 20;
	put32(&p, 33);
	memcpy(p, "Spec ID Event03", 16);
	p += 16;
	put32(&p, 0);                          /* platform class */
	*p++ = 0; *p++ = 2; *p++ = 0; *p++ = 2; /* version 2.0, errata, uintn size */
	put32(&p, 1);
	*p++ = 0x0c; *p++ = 0; *p++ = 48; *p++ = 0;
	*p++ = 0;                              /* vendor info size */
	for (unsigned i = 0; i < n; i++) {
		put32(&p, idx[i]);
		put32(&p, 0x80000007);             /* EV_EFI_ACTION */
		put32(&p, 1);
		*p++ = 0x0c; *p++ = 0;
		ev_digest(i, p);
		p += 48;
		put32(&p, 3);
		*p++ = 'e'; *p++ = 'v'; *p++ = (uint8_t)('0' + i);
	}
	memset(p, 0xff, pad);
	return (size_t)(p - buf) + pad;
}

/* Trustee's default policy picks the kernel by "File(kernel)" in an image event's device
 * paths and the command line by the "LOADED_IMAGE::LoadOptions" tag: both labels are
 * reported, marked as not what the digest covers. */
static void test_ccel_labels(void **state)
{
	uint8_t log[1024], *p = log, rtmr[4][48], dk[48], dc[48];
	static const uint8_t devpath[] = {
		4, 4, 18, 0, 'k', 0, 'e', 0, 'r', 0, 'n', 0, 'e', 0, 'l', 0, 0, 0,
		0x7f, 0xff, 4, 0 };
	static const char tag[] = "LOADED_IMAGE::LoadOptions";
	json_t *ev = NULL;
	const json_t *d;
	unsigned n = 0;

	(void)state;
	p = log + build_ccel(log, NULL, 0, 0);
	EVP_Digest("kernel image", 12, dk, &n, EVP_sha384(), NULL);
	EVP_Digest("c\0o\0n\0s\0o\0l\0e\0\0\0", 16, dc, &n, EVP_sha384(), NULL);
	/* EV_EFI_BOOT_SERVICES_APPLICATION into RTMR 1 (MR index 2). */
	put32(&p, 2);
	put32(&p, 0x80000003);
	put32(&p, 1);
	*p++ = 0x0c; *p++ = 0;
	memcpy(p, dk, 48);
	p += 48;
	put32(&p, 32 + sizeof(devpath));
	memset(p, 0, 24);
	p += 24;
	put32(&p, sizeof(devpath));
	put32(&p, 0);
	memcpy(p, devpath, sizeof(devpath));
	p += sizeof(devpath);
	/* EV_EVENT_TAG (TCG_PCClientTaggedEvent) into RTMR 1. */
	put32(&p, 2);
	put32(&p, 0x6);
	put32(&p, 1);
	*p++ = 0x0c; *p++ = 0;
	memcpy(p, dc, 48);
	p += 48;
	put32(&p, 8 + sizeof(tag));
	put32(&p, 0x8F3B22ED);
	put32(&p, sizeof(tag));
	memcpy(p, tag, sizeof(tag));
	p += sizeof(tag);

	memset(rtmr, 0, sizeof(rtmr));
	for (int i = 0; i < 2; i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		EVP_DigestInit_ex(md, EVP_sha384(), NULL);
		EVP_DigestUpdate(md, rtmr[1], 48);
		EVP_DigestUpdate(md, i == 0 ? dk : dc, 48);
		EVP_DigestFinal_ex(md, rtmr[1], NULL);
		EVP_MD_CTX_free(md);
	}
	assert_int_equal(tt_dcap_ccel_replay(log, (size_t)(p - log), (const uint8_t (*)[48])rtmr,
		&ev), 0);
	assert_int_equal(json_array_size(ev), 2);
	d = json_object_get(json_array_get(ev, 0), "details");
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "device_paths"),
		0)), "File(kernel)");
	assert_true(json_is_false(json_object_get(d, "data_measured")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0),
		"type_name")), "EV_EFI_BOOT_SERVICES_APPLICATION");
	d = json_object_get(json_array_get(ev, 1), "details");
	assert_string_equal(json_string_value(json_object_get(d, "string")), tag);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 1),
		"type_name")), "EV_EVENT_TAG");
	json_decref(ev);
}

static void test_ccel_replay(void **state)
{
	static const uint32_t idx[] = { 1, 2, 2, 3, 4, 1 };
	uint8_t log[2048], rtmr[4][48], d[48];
	json_t *events = NULL;
	size_t len;

	(void)state;
	/* Expected RTMRs computed here with OpenSSL, independently of the replay code. */
	memset(rtmr, 0, sizeof(rtmr));
	for (unsigned i = 0; i < 6; i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ev_digest(i, d);
		assert_int_equal(EVP_DigestInit_ex(md, EVP_sha384(), NULL), 1);
		EVP_DigestUpdate(md, rtmr[idx[i] - 1], 48);
		EVP_DigestUpdate(md, d, 48);
		EVP_DigestFinal_ex(md, rtmr[idx[i] - 1], NULL);
		EVP_MD_CTX_free(md);
	}
	len = build_ccel(log, idx, 6, 64);
	assert_int_equal(tt_dcap_ccel_replay(log, len, (const uint8_t (*)[48])rtmr, &events), 0);
	assert_int_equal(json_array_size(events), 6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(events, 1), "index")),
		2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0),
		"type_name")), "EV_EFI_ACTION");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_array_get(events, 0), "details"), "string")), "ev0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
		json_array_get(events, 0), "digests"), 0), "alg")), "SHA-384");
	json_decref(events);
	/* A flipped index or digest byte of any event, a dropped event, a truncated log,
	 * garbage after the events. (Event type and data are not what the registers
	 * extend; details are only read from data its digest covers, see tdx_ccel.c.) */
	for (unsigned e = 0; e < 6; e++) {
		size_t at = 65 + (size_t)e * 69;        /* 4+4+4+2+48+4+3 bytes per event */

		for (size_t i = 0; i < 69; i++) {
			if (i >= 4 && i < 14)
				continue;                       /* type, count, alg: see below */
			if (i >= 62)
				break;
			log[at + i] ^= 0x20;
			assert_int_not_equal(tt_dcap_ccel_replay(log, len,
				(const uint8_t (*)[48])rtmr, NULL), 0);
			log[at + i] ^= 0x20;
		}
		/* A digest count or algorithm that the header did not declare. */
		log[at + 8] ^= 1;
		assert_int_not_equal(tt_dcap_ccel_replay(log, len, (const uint8_t (*)[48])rtmr,
			NULL), 0);
		log[at + 8] ^= 1;
		log[at + 12] ^= 1;
		assert_int_not_equal(tt_dcap_ccel_replay(log, len, (const uint8_t (*)[48])rtmr,
			NULL), 0);
		log[at + 12] ^= 1;
	}
	assert_int_not_equal(tt_dcap_ccel_replay(log, build_ccel(log, idx, 5, 0),
		(const uint8_t (*)[48])rtmr, NULL), 0);
	len = build_ccel(log, idx, 6, 0);
	for (size_t n = 0; n < len; n += 5)
		assert_int_not_equal(tt_dcap_ccel_replay(log, n, (const uint8_t (*)[48])rtmr,
			NULL), 0);
	log[len] = 0x00;
	log[len + 1] = 0xff;
	assert_int_not_equal(tt_dcap_ccel_replay(log, len + 2, (const uint8_t (*)[48])rtmr,
		NULL), 0);
	/* An event for MRTD (index 0), which no replay can check, is refused. */
	{
		static const uint32_t bad[] = { 0 };

		memset(rtmr, 0, sizeof(rtmr));
		len = build_ccel(log, bad, 1, 0);
		assert_int_not_equal(tt_dcap_ccel_replay(log, len, (const uint8_t (*)[48])rtmr,
			NULL), 0);
	}
}

/* ---- the synthetic world (data/dcap/syn, gen-synthetic.py): a v5 TD 1.0 quote under a
 * test root, one collateral per case ---- */

#define NOW_SYN 1780272000         /* 2026-06-01: inside the synthetic collateral */

static void syn_load(struct vec *v, const char *col)
{
	char cpath[128];

	memset(v, 0, sizeof(*v));
	snprintf(cpath, sizeof(cpath), "syn/collateral-%s.json", col);
	v->quote = tt_test_slurp(TT_DCAP_DATA, "syn/tdx_quote_v5_td10", &v->qlen);
	v->coljson = (char *)tt_test_slurp(TT_DCAP_DATA, cpath, &v->cjlen);
	assert_int_equal(tt_dcap_collateral_parse(v->coljson, v->cjlen, &v->col), 0);
	v->root = tt_dcap_load_root(TT_DCAP_DATA "/syn/root.pem");
	assert_non_null(v->root);
}

static void test_synthetic_statuses(void **state)
{
	static const struct {
		const char *col;
		int r;
		enum tt_dcap_check check;
		enum tt_dcap_tcb_status status, qe, module;
		const char *adv;          /* advisory ids, comma-joined */
	} cases[] = {
		{ "ok", 0, TT_DCAP_OK, TT_DCAP_TCB_UP_TO_DATE, TT_DCAP_TCB_UP_TO_DATE,
		  TT_DCAP_TCB_UP_TO_DATE, "" },
		{ "swh", 0, TT_DCAP_OK, TT_DCAP_TCB_SW_HARDENING_NEEDED, TT_DCAP_TCB_UP_TO_DATE,
		  TT_DCAP_TCB_UP_TO_DATE, "INTEL-SA-00001" },
		/* An OutOfDate QE makes an UpToDate platform OutOfDate. */
		{ "qe-outdated", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE, TT_DCAP_TCB_OUT_OF_DATE,
		  TT_DCAP_TCB_UP_TO_DATE, "INTEL-SA-00002" },
		/* An OutOfDate TDX module makes ConfigurationNeeded OutOfDateConfigurationNeeded. */
		{ "module-outdated", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
		  TT_DCAP_TCB_UP_TO_DATE, TT_DCAP_TCB_OUT_OF_DATE, "INTEL-SA-00003" },
		{ "level-revoked", 0, TT_DCAP_OK, TT_DCAP_TCB_REVOKED, TT_DCAP_TCB_UP_TO_DATE,
		  TT_DCAP_TCB_UP_TO_DATE, "INTEL-SA-00004" },
		{ "no-level", TT_ERR_DATA_INVALID, TT_DCAP_TCB_NOT_SUPPORTED, TT_DCAP_TCB_UNKNOWN,
		  TT_DCAP_TCB_UP_TO_DATE, TT_DCAP_TCB_UP_TO_DATE, "" },
		{ "module-mismatch", TT_ERR_DATA_INVALID, TT_DCAP_TDX_MODULE_MISMATCH,
		  TT_DCAP_TCB_UNKNOWN, TT_DCAP_TCB_UNKNOWN, TT_DCAP_TCB_UNKNOWN, "" },
		{ "pck-revoked", TT_ERR_NOT_PERMITTED, TT_DCAP_PCK_REVOKED, TT_DCAP_TCB_UNKNOWN,
		  TT_DCAP_TCB_UNKNOWN, TT_DCAP_TCB_UNKNOWN, "" },
		{ "crl-expired", TT_ERR_NOT_PERMITTED, TT_DCAP_CRL, TT_DCAP_TCB_UNKNOWN,
		  TT_DCAP_TCB_UNKNOWN, TT_DCAP_TCB_UNKNOWN, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tt_dcap_result res;
		struct tt_dcap_input in;
		struct vec v;
		char adv[256] = "";

		syn_load(&v, cases[i].col);
		memset(&in, 0, sizeof(in));
		in.quote = v.quote;
		in.quote_len = v.qlen;
		in.collateral = v.col;
		in.root = v.root;
		in.now = NOW_SYN;
		/* Accept every status: what is refused here is refused whatever the policy. */
		in.accept_status = ~0u;
		if (tt_dcap_verify(&in, &res) != cases[i].r || res.check != cases[i].check ||
		    res.tcb_status != cases[i].status || res.qe_status != cases[i].qe ||
		    res.module_status != cases[i].module)
			fail_msg("%s: r %s check %s status %s qe %s module %s", cases[i].col,
				tt_strerror(tt_dcap_verify(&in, &res)), tt_dcap_check_name(res.check),
				tt_dcap_tcb_status_name(res.tcb_status),
				tt_dcap_tcb_status_name(res.qe_status),
				tt_dcap_tcb_status_name(res.module_status));
		for (unsigned k = 0; k < res.adv.n; k++) {
			strcat(adv, k ? "," : "");
			strcat(adv, res.adv.id[k]);
		}
		assert_string_equal(adv, cases[i].adv);
		/* Revoked never affirms; verified statuses affirm here (accept_status ~0). */
		assert_int_equal(res.affirming, cases[i].r == 0 &&
			cases[i].status != TT_DCAP_TCB_REVOKED);
		if (cases[i].r == 0)
			assert_string_equal(claim(res.claims, "tcb_status"),
				tt_dcap_tcb_status_name(cases[i].status));
		tt_dcap_result_clear(&res);
		/* Without accept_status only UpToDate affirms. */
		in.accept_status = 0;
		if (tt_dcap_verify(&in, &res) == 0)
			assert_int_equal(res.affirming, cases[i].status == TT_DCAP_TCB_UP_TO_DATE);
		tt_dcap_result_clear(&res);
		vec_free(&v);
	}
}

/* TD 1.5 relaunch advice, one case per path of Intel's QVL TDRelaunchCheck.cpp: the TD
 * runs TDX_01 SVN 2 (OutOfDate in the default collateral); tee_tcb_svn_2 says the platform
 * now runs TDX_01 SVN 4 (td15), TDX_03 SVN 4 (td15_m3) or a version-0 module (td15_v0);
 * td10_m2 is the same TD in a TD 1.0 quote, which gets no advice. */
static void test_td15_relaunch(void **state)
{
	static const struct {
		const char *quote, *col;
		int r;
		enum tt_dcap_check check;
		enum tt_dcap_tcb_status status;
	} cases[] = {
		{ "td15", "relaunch", 0, TT_DCAP_OK, TT_DCAP_TCB_TD_RELAUNCH_ADVISED },
		/* The level needs configuration: so does the advice. */
		{ "td15", "relaunch-config", 0, TT_DCAP_OK,
		  TT_DCAP_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED },
		/* The platform's module (SVN 4) is itself behind the latest (SVN 5). */
		{ "td15", "relaunch-module-newer", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
		/* tee_tcb_svn_2 byte 2 below the latest level's TDX component 2. */
		{ "td15", "relaunch-tdx-svn-low", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
		/* An OutOfDate QE, an OutOfDate SGX level, a current module: no advice. */
		{ "td15", "relaunch-qe-outdated", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
		{ "td15", "relaunch-sgx-outdated", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
		{ "td15", "relaunch-module-current", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
		{ "td15", "relaunch-revoked", 0, TT_DCAP_OK, TT_DCAP_TCB_REVOKED },
		/* The platform's module is TDX_03: its identity decides. */
		{ "td15_m3", "relaunch-m3", 0, TT_DCAP_OK, TT_DCAP_TCB_TD_RELAUNCH_ADVISED },
		{ "td15_m3", "relaunch", TT_ERR_DATA_INVALID, TT_DCAP_TDX_MODULE_MISMATCH,
		  TT_DCAP_TCB_UNKNOWN },
		/* A version-0 module is compared with the latest level's TDX component 0. */
		{ "td15_v0", "relaunch", 0, TT_DCAP_OK, TT_DCAP_TCB_TD_RELAUNCH_ADVISED },
		{ "td15_v0", "relaunch-v0-newer", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
		{ "td10_m2", "relaunch", 0, TT_DCAP_OK, TT_DCAP_TCB_OUT_OF_DATE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tt_dcap_result res;
		struct tt_dcap_input in;
		struct vec v;
		char qpath[64], cpath[128];
		int r;

		snprintf(qpath, sizeof(qpath), "syn/tdx_quote_v5_%s", cases[i].quote);
		snprintf(cpath, sizeof(cpath), "syn/collateral-%s.json", cases[i].col);
		vec_load(&v, qpath, cpath);
		X509_free(v.root);
		v.root = tt_dcap_load_root(TT_DCAP_DATA "/syn/root.pem");
		assert_non_null(v.root);
		memset(&in, 0, sizeof(in));
		in.quote = v.quote;
		in.quote_len = v.qlen;
		in.collateral = v.col;
		in.root = v.root;
		in.now = NOW_SYN;
		in.accept_status = ~0u;
		r = tt_dcap_verify(&in, &res);
		if (r != cases[i].r || res.check != cases[i].check ||
		    res.tcb_status != cases[i].status)
			fail_msg("%s/%s: r %s check %s status %s (%s)", cases[i].quote, cases[i].col,
				tt_strerror(r), tt_dcap_check_name(res.check),
				tt_dcap_tcb_status_name(res.tcb_status), res.reason);
		if (r == 0) {
			assert_string_equal(claim(res.claims, "tcb_status"),
				tt_dcap_tcb_status_name(cases[i].status));
			assert_int_equal(res.module_status, TT_DCAP_TCB_OUT_OF_DATE *
				(strcmp(cases[i].col, "relaunch-module-current") != 0) +
				TT_DCAP_TCB_UP_TO_DATE *
				(strcmp(cases[i].col, "relaunch-module-current") == 0));
		}
		tt_dcap_result_clear(&res);
		/* By default only UpToDate affirms: the advice is never taken for it. */
		in.accept_status = 0;
		if (tt_dcap_verify(&in, &res) == 0)
			assert_false(res.affirming);
		tt_dcap_result_clear(&res);
		vec_free(&v);
	}
}

static void test_synthetic_v5_ccel(void **state)
{
	struct tt_dcap_result res;
	struct tt_dcap_input in;
	struct vec v;
	uint8_t *log, *q;
	size_t loglen;
	const json_t *ev;

	(void)state;
	syn_load(&v, "ok");
	log = tt_test_slurp(TT_DCAP_DATA, "syn/ccel.bin", &loglen);
	memset(&in, 0, sizeof(in));
	in.quote = v.quote;
	in.quote_len = v.qlen;
	in.collateral = v.col;
	in.root = v.root;
	in.now = NOW_SYN;
	in.report_data = (const uint8_t *)"turtle synthetic nonce";
	in.report_data_len = 22;
	in.ccel = log;
	in.ccel_len = loglen;
	assert_int_equal(tt_dcap_verify(&in, &res), 0);
	assert_true(res.affirming);
	assert_int_equal(res.quote.version, 5);
	assert_int_equal(res.quote.body_type, TT_DCAP_BODY_TD10);
	assert_string_equal(claim(res.claims, "quote.header.version"), "0500");
	assert_string_equal(claim(res.claims, "quote.type"), "0200");
	assert_string_equal(claim(res.claims, "quote.size"), "48020000");
	assert_claim_bytes(res.claims, "quote.body.mr_td", v.quote + 54 + 136, 48);
	assert_null(json_object_get(json_object_get(json_object_get(res.claims, "quote"),
		"body"), "mr_servicetd"));
	ev = json_object_get(res.claims, "uefi_event_logs");
	assert_int_equal(json_array_size(ev), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 3), "index")), 3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_array_get(ev, 1), "details"), "string")), "Turtle synthetic kernel");
	assert_string_equal(res.links[res.nlinks - 1].name, "ccel");
	tt_dcap_result_clear(&res);
	/* A log event dropped, or a byte of the signed body flipped: refused. */
	in.ccel_len = loglen - 32 - (4 + 4 + 4 + 2 + 48 + 4 + 28);
	assert_int_not_equal(tt_dcap_verify(&in, &res), 0);
	assert_int_equal(res.check, TT_DCAP_EVENTLOG);
	tt_dcap_result_clear(&res);
	in.ccel_len = loglen;
	q = malloc(v.qlen);
	assert_non_null(q);
	for (size_t i = 0; i < 48 + 6 + TT_DCAP_TD10_LEN; i++) {
		memcpy(q, v.quote, v.qlen);
		q[i] ^= 0x01;
		in.quote = q;
		if (tt_dcap_verify(&in, &res) == 0 || res.affirming)
			fail_msg("v5 flip at %zu accepted", i);
		tt_dcap_result_clear(&res);
	}
	free(q);
	free(log);
	vec_free(&v);
}

/* The tdx table with a caller's anchors directory (the synthetic root as
 * intel/sgx-root-ca.pem) and Trustee's evidence JSON with a cc_eventlog. */
static void test_synthetic_table(void **state)
{
	char dir[] = "/tmp/tt-dcap-anchors-XXXXXX", sub[256], path[300];
	const struct tt_verifier *tdx = tt_verifier_find("tdx");
	struct tt_verify_trust trust;
	struct tt_verify_result res;
	struct tt_verify_in in;
	struct vec v, r;
	uint8_t *log, *pemroot;
	size_t loglen, plen;
	char *bq, *bl, *ev;
	FILE *f;

	(void)state;
	syn_load(&v, "ok");
	syn_load(&r, "level-revoked");
	log = tt_test_slurp(TT_DCAP_DATA, "syn/ccel.bin", &loglen);
	pemroot = tt_test_slurp(TT_DCAP_DATA, "syn/root.pem", &plen);
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/intel", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/sgx-root-ca.pem", sub);
	assert_non_null(f = fopen(path, "we"));
	assert_int_equal(fwrite(pemroot, 1, plen, f), plen);
	fclose(f);
	assert_int_equal(tt_b64_encode_dup(v.quote, v.qlen, TT_B64_STD, &bq), 0);
	assert_int_equal(tt_b64_encode_dup(log, loglen, TT_B64_STD, &bl), 0);
	assert_true(asprintf(&ev, "{\"quote\":\"%s\",\"cc_eventlog\":\"%s\"}", bq, bl) > 0);

	memset(&trust, 0, sizeof(trust));
	trust.anchors_dir = dir;
	trust.collateral = (const uint8_t *)v.coljson;
	trust.collateral_len = v.cjlen;
	memset(&in, 0, sizeof(in));
	in.evidence = (const uint8_t *)ev;
	in.evidence_len = strlen(ev);
	in.binding = (const uint8_t *)"turtle synthetic nonce";
	in.binding_len = 22;
	in.now = NOW_SYN;
	in.trust = &trust;
	assert_int_equal(tt_verify(tdx, &in, &res), 0);
	assert_int_equal(json_array_size(json_object_get(res.claims, "uefi_event_logs")), 4);
	assert_string_equal(claim(res.claims, "quote.header.version"), "0500");
	tt_verify_result_clear(&res);
	/* The built-in (Intel) anchor does not verify the test chain. */
	trust.anchors_dir = NULL;
	assert_int_equal(tt_verify(tdx, &in, &res), TT_ERR_INVALID_SIGNATURE);
	tt_verify_result_clear(&res);
	/* A revoked TCB level is refused even when the caller accepts other statuses. */
	trust.anchors_dir = dir;
	trust.collateral = (const uint8_t *)r.coljson;
	trust.collateral_len = r.cjlen;
	in.flags = TT_VERIFY_F_ANY_TCB_STATUS;
	assert_int_equal(tt_verify(tdx, &in, &res), TT_ERR_NOT_PERMITTED);
	assert_non_null(strstr(json_string_value(json_array_get(res.reasons, 0)), "Revoked"));
	tt_verify_result_clear(&res);

	unlink(path);
	rmdir(sub);
	rmdir(dir);
	free(ev);
	free(bq);
	free(bl);
	free(log);
	free(pemroot);
	vec_free(&r);
	vec_free(&v);
}

/* Four threads verify through the table at once, sharing the cached chains and the
 * cached parsed collateral, while the cache is flushed under them: every verification
 * succeeds and ASan/TSan-style misuse would show as a crash or a leak. */
struct mt_arg {
	const struct vec *v;
	int failures;
};

static void *mt_run(void *p)
{
	struct mt_arg *a = p;
	struct tt_verify_trust trust = { .collateral = (const uint8_t *)a->v->coljson,
		.collateral_len = a->v->cjlen };
	struct tt_verify_in in = { .evidence = a->v->quote, .evidence_len = a->v->qlen,
		.binding = a->v->quote + TD_RD, .binding_len = 64, .now = NOW_2025,
		.trust = &trust };

	for (int i = 0; i < 40; i++) {
		struct tt_verify_result res = { 0 };

		if (tt_verify(tt_verifier_find("tdx"), &in, &res) != 0)
			a->failures++;
		tt_verify_result_clear(&res);
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	struct mt_arg a[4];
	struct vec v;

	(void)state;
	vec_load(&v, "tdx_quote", "tdx_quote_collateral.json");
	for (int i = 0; i < 4; i++) {
		a[i].v = &v;
		a[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, mt_run, &a[i]), 0);
	}
	for (int i = 0; i < 10; i++)
		tt_dcap_cache_flush();
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].failures, 0);
	}
	tt_dcap_cache_flush();
	vec_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tdx_v4_up_to_date),
		cmocka_unit_test(test_sgx_v3_status),
		cmocka_unit_test(test_tdx_v5_outdated),
		cmocka_unit_test(test_td15_relaunch),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_tamper_tdx_quote),
		cmocka_unit_test(test_tamper_sgx_quote),
		cmocka_unit_test(test_tamper_collateral),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_collateral_dir),
		cmocka_unit_test(test_ccel_replay),
		cmocka_unit_test(test_ccel_labels),
		cmocka_unit_test(test_synthetic_statuses),
		cmocka_unit_test(test_synthetic_v5_ccel),
		cmocka_unit_test(test_synthetic_table),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
