/*
 * AMD SEV-SNP with Trustee's real reports (data/test-report.bin signed by a Milan VCEK,
 * data/test-vlek-report.bin by a Milan VLEK) at a pinned time: verdicts, claims (expected
 * values read here from the report's bytes by offset, not through the parser), the chain
 * record, and the tamper matrix: every byte of the signed body, of the signature and of
 * each certificate flipped; wrong binding, init data, time, anchors, key type; CRLs.
 */
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "snp.h"
#include "slurp.h"
#include "turtle/error.h"
#include "verify.h"

#ifndef TT_VERIFY_DATA
#error "TT_VERIFY_DATA must name the test data directory"
#endif

#define NOW 1748736000        /* 2025-06-01T00:00:00Z: both keys valid */
#define BEFORE_VCEK 1672531200 /* 2023-01-01: before the VCEK was issued */
#define AFTER_VLEK 1767225600  /* 2026-01-01: the VLEK expired 2025-12-10 */

static const char *
hexs(const uint8_t *p, size_t n)
{
	static char buf[2][512];
	static int k;
	char *o = buf[k ^= 1];

	for (size_t i = 0; i < n; i++)
		snprintf(o + 2 * i, 3, "%02x", p[i]);
	return o;
}

struct fix {
	uint8_t *rep, *vcek, *vlrep, *vlek;
	size_t rep_len, vcek_len, vlrep_len, vlek_len;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	f->rep = tt_test_slurp(TT_VERIFY_DATA, "test-report.bin", &f->rep_len);
	f->vcek = tt_test_slurp(TT_VERIFY_DATA, "test-vcek.der", &f->vcek_len);
	f->vlrep = tt_test_slurp(TT_VERIFY_DATA, "test-vlek-report.bin", &f->vlrep_len);
	f->vlek = tt_test_slurp(TT_VERIFY_DATA, "test-vlek.der", &f->vlek_len);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	free(f->rep);
	free(f->vcek);
	free(f->vlrep);
	free(f->vlek);
	free(f);
	return 0;
}

/* Verify rep with cert as collateral, bound to the report's own report_data (0x50). */
static int
run(const uint8_t *rep, size_t rl, const uint8_t *cert, size_t cl, int64_t now,
    unsigned flags, const char *anchors_dir, const char *coll_dir, json_t **claims)
{
	struct tt_verify_trust t = { .anchors_dir = anchors_dir, .collateral_dir = coll_dir,
		.collateral = cert, .collateral_len = cl };
	struct tt_verify_in in = { .evidence = rep, .evidence_len = rl,
		.binding = rl >= 0x90 ? rep + 0x50 : NULL, .binding_len = 64, .now = now,
		.trust = &t, .flags = flags };
	struct tt_verify_result res;
	int r = tt_verify(tt_verifier_find("snp"), &in, &res);

	if (r != 0)
		assert_true(json_array_size(res.reasons) > 0);
	if (claims != NULL && r == 0)
		*claims = json_incref(res.claims);
	tt_verify_result_clear(&res);
	return r;
}

static const char *
jstr(json_t *o, const char *path)
{
	char p[128], *tok, *save = NULL;

	snprintf(p, sizeof(p), "%s", path);
	for (tok = strtok_r(p, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save))
		o = json_object_get(o, tok);
	assert_non_null(o);
	return json_string_value(o);
}

static json_int_t
jint(json_t *o, const char *path)
{
	char p[128], *tok, *save = NULL;

	snprintf(p, sizeof(p), "%s", path);
	for (tok = strtok_r(p, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save))
		o = json_object_get(o, tok);
	assert_true(json_is_integer(o));
	return json_integer_value(o);
}

static bool
jbool(json_t *o, const char *path)
{
	char p[128], *tok, *save = NULL;

	snprintf(p, sizeof(p), "%s", path);
	for (tok = strtok_r(p, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save))
		o = json_object_get(o, tok);
	assert_true(json_is_boolean(o));
	return json_is_true(o);
}

static void
test_vcek_report(void **state)
{
	struct fix *f = *state;
	struct tt_verify_trust t = { .collateral = f->vcek, .collateral_len = f->vcek_len };
	struct tt_verify_in in = { .evidence = f->rep, .evidence_len = f->rep_len,
		.binding = f->rep + 0x50, .binding_len = 32, .now = NOW, .trust = &t };
	struct tt_verify_result res;
	json_t *c, *l;

	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res), 0);
	c = res.claims;
	assert_string_equal(jstr(c, "generation"), "milan");
	assert_int_equal(jint(c, "evidence.version"), 2);
	assert_string_equal(jstr(c, "evidence.measurement"), hexs(f->rep + 0x90, 48));
	assert_string_equal(jstr(c, "measurement"),
	    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"
	    "23500644e0e692e6be917f9050d3d38c");
	assert_string_equal(jstr(c, "evidence.chip_id"), hexs(f->rep + 0x1A0, 64));
	assert_string_equal(jstr(c, "evidence.report_data"), hexs(f->rep + 0x50, 64));
	assert_string_equal(jstr(c, "evidence.host_data"), hexs(f->rep + 0xC0, 32));
	assert_string_equal(jstr(c, "init_data"), hexs(f->rep + 0xC0, 32));
	/* reported_tcb 0x7308000000000003: bootloader 3, tee 0, snp 8, microcode 0x73. */
	assert_int_equal(jint(c, "evidence.reported_tcb.bootloader"), 3);
	assert_int_equal(jint(c, "evidence.reported_tcb.tee"), 0);
	assert_int_equal(jint(c, "evidence.reported_tcb.snp"), 8);
	assert_int_equal(jint(c, "evidence.reported_tcb.microcode"), 0x73);
	assert_true(json_is_null(json_object_get(json_object_get(json_object_get(c, "evidence"),
	    "reported_tcb"), "fmc")));
	assert_int_equal(jint(c, "reported_tcb_microcode"), 0x73);
	/* policy 0x3001f: ABI 0.31, SMT allowed, no debug, no migration agent. */
	assert_false(jbool(c, "evidence.policy.debug_allowed"));
	assert_false(jbool(c, "policy_debug_allowed"));
	assert_false(jbool(c, "evidence.policy.migrate_ma_allowed"));
	assert_true(jbool(c, "evidence.policy.smt_allowed"));
	assert_int_equal(jint(c, "evidence.policy.abi_minor"), 31);
	assert_int_equal(jint(c, "evidence.policy.abi_major"), 0);
	assert_int_equal(jint(c, "evidence.vmpl"), 0);
	assert_int_equal(jint(c, "evidence.key_info.signing_key"), 0);
	assert_true(jbool(c, "evidence.plat_info.smt_enabled"));
	assert_true(json_is_null(json_object_get(json_object_get(c, "evidence"),
	    "cpu_id_fam_id")));
	/* The chain: anchor first, then ASK, VCEK, CRL (not supplied), report, TCB, hwID,
	 * binding, init data (not given). */
	l = json_array_get(res.chain, 0);
	assert_string_equal(jstr(l, "link"), "anchor");
	assert_non_null(strstr(jstr(l, "detail"),
	    "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"));
	assert_string_equal(jstr(json_array_get(res.chain, 2), "name"), "VCEK");
	assert_string_equal(jstr(json_array_get(res.chain, 3), "verdict"), "not checked");
	assert_string_equal(jstr(json_array_get(res.chain, 6), "name"), "VCEK hwID");
	assert_string_equal(jstr(json_array_get(res.chain, 7), "verdict"), "verified");
	assert_int_equal(json_array_size(res.chain), 9);
	tt_verify_result_clear(&res);

	/* The same with host_data bound to its (all-zero) value, then a different one. */
	in.init_data = f->rep + 0xC0;
	in.init_data_len = 32;
	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res), 0);
	tt_verify_result_clear(&res);
	in.init_data = (const uint8_t *)"\x01";
	in.init_data_len = 1;
	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res),
	    TT_ERR_NOT_AUTHENTICATED);
	assert_null(res.claims);
	tt_verify_result_clear(&res);
}

static void
test_vlek_report(void **state)
{
	struct fix *f = *state;
	json_t *c = NULL;

	/* Requested from VMPL 1: refused unless the caller accepts any VMPL. */
	assert_int_equal(run(f->vlrep, f->vlrep_len, f->vlek, f->vlek_len, NOW, 0, NULL, NULL,
	    NULL), TT_ERR_NOT_PERMITTED);
	assert_int_equal(run(f->vlrep, f->vlrep_len, f->vlek, f->vlek_len, NOW,
	    TT_VERIFY_F_ANY_VMPL, NULL, NULL, &c), 0);
	assert_int_equal(jint(c, "evidence.version"), 3);
	assert_int_equal(jint(c, "evidence.vmpl"), 1);
	assert_int_equal(jint(c, "evidence.key_info.signing_key"), 1);
	assert_int_equal(jint(c, "evidence.cpu_id_fam_id"), 0x19);
	assert_int_equal(jint(c, "evidence.cpu_id_mod_id"), 0x01);
	assert_string_equal(jstr(c, "generation"), "milan");
	assert_string_equal(jstr(c, "evidence.measurement"), hexs(f->vlrep + 0x90, 48));
	/* reported_tcb 0xd918000000000004 */
	assert_int_equal(jint(c, "evidence.reported_tcb.bootloader"), 4);
	assert_int_equal(jint(c, "evidence.reported_tcb.snp"), 0x18);
	assert_int_equal(jint(c, "evidence.reported_tcb.microcode"), 0xd9);
	json_decref(c);
	/* The VLEK expired on 2025-12-10. */
	assert_int_equal(run(f->vlrep, f->vlrep_len, f->vlek, f->vlek_len, AFTER_VLEK,
	    TT_VERIFY_F_ANY_VMPL, NULL, NULL, NULL), TT_ERR_NOT_PERMITTED);
}

/* Every byte the signature covers, and every signature byte, flipped: never verifies. */
static void
test_tamper_report(void **state)
{
	struct fix *f = *state;
	uint8_t *t = malloc(f->rep_len);
	size_t n = 0;

	for (size_t i = 0; i < 0x2A0 + 144; i++) {
		memcpy(t, f->rep, f->rep_len);
		t[i] ^= 0x01;
		assert_int_not_equal(run(t, f->rep_len, f->vcek, f->vcek_len, NOW, 0, NULL,
		    NULL, NULL), 0);
		t[i] ^= 0x81;
		assert_int_not_equal(run(t, f->rep_len, f->vcek, f->vcek_len, NOW, 0, NULL,
		    NULL, NULL), 0);
		n++;
	}
	assert_int_equal(n, 0x2A0 + 144);
	/* Truncated and extended reports. */
	assert_int_equal(run(f->rep, f->rep_len - 1, f->vcek, f->vcek_len, NOW, 0, NULL, NULL,
	    NULL), TT_ERR_TRUNCATED);
	free(t);
}

/* Every byte of the VCEK and the VLEK flipped: never verifies. */
static void
test_tamper_cert(void **state)
{
	struct fix *f = *state;
	uint8_t *t = malloc(f->vcek_len > f->vlek_len ? f->vcek_len : f->vlek_len);

	for (size_t i = 0; i < f->vcek_len; i++) {
		memcpy(t, f->vcek, f->vcek_len);
		t[i] ^= 0x01;
		assert_int_not_equal(run(f->rep, f->rep_len, t, f->vcek_len, NOW, 0, NULL, NULL,
		    NULL), 0);
	}
	for (size_t i = 0; i < f->vlek_len; i++) {
		memcpy(t, f->vlek, f->vlek_len);
		t[i] ^= 0x01;
		assert_int_not_equal(run(f->vlrep, f->vlrep_len, t, f->vlek_len, NOW,
		    TT_VERIFY_F_ANY_VMPL, NULL, NULL, NULL), 0);
	}
	free(t);
}

static void
write_file(const char *dir, const char *name, const void *d, size_t n)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "we"));
	assert_int_equal(fwrite(d, 1, n, fp), n);
	fclose(fp);
}

/* Milan's anchor file with one DER byte of certificate `which` flipped at `at`. */
static bool
write_tampered_anchor(const char *dir, int which, size_t at)
{
	bool done = false;
	struct tt_verify_builtin const *b = NULL;
	STACK_OF(X509) *sk = NULL;
	char path[512];
	BIO *out;

	for (size_t i = 0; i < tt_verify_builtins_count; i++)
		if (strcmp(tt_verify_builtins[i].name, "amd/milan.pem") == 0)
			b = &tt_verify_builtins[i];
	assert_non_null(b);
	assert_int_equal(tt_verify_certs_parse(b->data, b->len, &sk), 0);
	snprintf(path, sizeof(path), "%s/amd/milan.pem", dir);
	assert_non_null(out = BIO_new_file(path, "w"));
	for (int i = 0; i < sk_X509_num(sk); i++) {
		unsigned char *der = NULL, *p;
		const unsigned char *q;
		int n = i2d_X509(sk_X509_value(sk, i), &der);
		X509 *c;

		assert_true(n > 0);
		if (i == which && at < (size_t)n) {
			der[at] ^= 0x01;
			done = true;
		}
		q = p = der;
		c = d2i_X509(NULL, &q, n);
		if (c != NULL) {
			PEM_write_bio_X509(out, c);
			X509_free(c);
		}
		OPENSSL_free(p);
	}
	BIO_free(out);
	sk_X509_pop_free(sk, X509_free);
	return done;
}

/* A byte flipped in the ASK or the ARK (read from an anchors directory) is refused; a
 * directory without the file, or with Genoa's file in Milan's place, likewise. */
static void
test_anchors(void **state)
{
	struct fix *f = *state;
	char dir[] = "/tmp/tt_snp_XXXXXX", sub[600], path[600];
	size_t n = 0;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(run(f->rep, f->rep_len, f->vcek, f->vcek_len, NOW, 0, dir, NULL, NULL),
	    TT_ERR_DOES_NOT_EXIST);
	snprintf(sub, sizeof(sub), "%s/amd", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* Untampered copy verifies (the directory works at all). */
	write_tampered_anchor(dir, -1, 0);
	assert_int_equal(run(f->rep, f->rep_len, f->vcek, f->vcek_len, NOW, 0, dir, NULL,
	    NULL), 0);
	/* ASK (0) and ARK (1): every 5th byte of each (the ARK's 1.4 KB of RSA-4096 and
	 * PSS parameters; a flip anywhere breaks a signature or the name chain). */
	for (int which = 0; which < 2; which++)
		for (size_t at = 0; at < 1800; at += 5) {
			if (!write_tampered_anchor(dir, which, at))
				break;
			if (run(f->rep, f->rep_len, f->vcek, f->vcek_len, NOW, 0, dir, NULL,
			    NULL) == 0)
				fail_msg("certificate %d byte %zu flipped still verifies", which, at);
			n++;
		}
	assert_true(n > 600);
	/* Genoa's chain under Milan's name. */
	for (size_t i = 0; i < tt_verify_builtins_count; i++)
		if (strcmp(tt_verify_builtins[i].name, "amd/genoa.pem") == 0)
			write_file(dir, "amd/milan.pem", tt_verify_builtins[i].data,
			    tt_verify_builtins[i].len);
	assert_int_not_equal(run(f->rep, f->rep_len, f->vcek, f->vcek_len, NOW, 0, dir, NULL,
	    NULL), 0);
	snprintf(path, sizeof(path), "%s/amd/milan.pem", dir);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

static void
test_wrong_inputs(void **state)
{
	struct fix *f = *state;
	uint8_t *bad;
	size_t bl;
	struct tt_verify_trust t = { .collateral = f->vcek, .collateral_len = f->vcek_len };
	uint8_t other[64] = { 0 };
	struct tt_verify_in in = { .evidence = f->rep, .evidence_len = f->rep_len,
		.binding = other, .binding_len = 64, .now = NOW, .trust = &t };
	struct tt_verify_result res;

	/* Wrong binding; the right one one byte short of the report data's non-zero part. */
	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res), TT_ERR_NOT_AUTHENTICATED);
	assert_null(res.claims);
	tt_verify_result_clear(&res);
	memcpy(other, f->rep + 0x50, 31);
	in.binding_len = 31;
	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res), TT_ERR_NOT_AUTHENTICATED);
	tt_verify_result_clear(&res);
	/* No binding at all is a refused call; the explicit no-binding flag is not. */
	in.binding = NULL;
	in.binding_len = 0;
	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res), TT_ERR_INVALID_ARGUMENT);
	tt_verify_result_clear(&res);
	in.flags = TT_VERIFY_F_NO_BINDING;
	assert_int_equal(tt_verify(tt_verifier_find("snp"), &in, &res), 0);
	tt_verify_result_clear(&res);
	/* Wrong time. */
	assert_int_equal(run(f->rep, f->rep_len, f->vcek, f->vcek_len, BEFORE_VCEK, 0, NULL,
	    NULL, NULL), TT_ERR_NOT_PERMITTED);
	/* No certificate; the VLEK for a VCEK-signed report; the VCEK for the VLEK report. */
	assert_int_equal(run(f->rep, f->rep_len, NULL, 0, NOW, 0, NULL, NULL, NULL),
	    TT_ERR_DOES_NOT_EXIST);
	assert_int_not_equal(run(f->rep, f->rep_len, f->vlek, f->vlek_len, NOW, 0, NULL, NULL,
	    NULL), 0);
	assert_int_not_equal(run(f->vlrep, f->vlrep_len, f->vcek, f->vcek_len, NOW,
	    TT_VERIFY_F_ANY_VMPL, NULL, NULL, NULL), 0);
	/* Trustee's two deliberately invalid VCEKs (other chips, not AMD-signed chains for
	 * this report). */
	bad = tt_test_slurp(TT_VERIFY_DATA, "test-vcek-invalid-legacy.der", &bl);
	assert_int_not_equal(run(f->rep, f->rep_len, bad, bl, NOW, 0, NULL, NULL, NULL), 0);
	free(bad);
	bad = tt_test_slurp(TT_VERIFY_DATA, "test-vcek-invalid-new.der", &bl);
	assert_int_not_equal(run(f->rep, f->rep_len, bad, bl, NOW, 0, NULL, NULL, NULL), 0);
	free(bad);
}

/* The VCEK from a collateral directory, from AMD's certificate table, and CRLs. */
static void
test_collateral_forms(void **state)
{
	struct fix *f = *state;
	char dir[] = "/tmp/tt_snp_XXXXXX", path[600];
	uint8_t table[4096] = { 0 };
	/* VCEK GUID 63da758d-e664-4564-adc5-f4b93be8accd as the kernel's guid_t bytes. */
	static const uint8_t g[16] = { 0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad,
		0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
	uint32_t off = 48, len = (uint32_t)f->vcek_len;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_CRL *crl = X509_CRL_new();
	unsigned char *der = NULL;
	int dl;

	assert_non_null(mkdtemp(dir));
	write_file(dir, "vcek.der", f->vcek, f->vcek_len);
	assert_int_equal(run(f->rep, f->rep_len, NULL, 0, NOW, 0, NULL, dir, NULL), 0);
	/* REQUIRE_CRL without one. */
	assert_int_equal(run(f->rep, f->rep_len, NULL, 0, NOW, TT_VERIFY_F_REQUIRE_CRL, NULL,
	    dir, NULL), TT_ERR_NOT_PERMITTED);
	/* A CRL that the ARK did not sign. */
	assert_non_null(k);
	/* Named as the ARK's, current, signed by another key. */
	{
		STACK_OF(X509) *sk = NULL;
		ASN1_TIME *t0 = ASN1_TIME_set(NULL, NOW - 86400), *t1 = ASN1_TIME_set(NULL,
		    NOW + 86400);

		for (size_t i = 0; i < tt_verify_builtins_count; i++)
			if (strcmp(tt_verify_builtins[i].name, "amd/milan.pem") == 0)
				assert_int_equal(tt_verify_certs_parse(tt_verify_builtins[i].data,
				    tt_verify_builtins[i].len, &sk), 0);
		assert_true(X509_CRL_set_version(crl, 1));
		assert_true(X509_CRL_set_issuer_name(crl,
		    X509_get_subject_name(sk_X509_value(sk, 1))));
		assert_true(X509_CRL_set1_lastUpdate(crl, t0));
		assert_true(X509_CRL_set1_nextUpdate(crl, t1));
		assert_true(X509_CRL_sign(crl, k, EVP_sha384()) > 0);
		ASN1_TIME_free(t0);
		ASN1_TIME_free(t1);
		sk_X509_pop_free(sk, X509_free);
	}
	assert_true((dl = i2d_X509_CRL(crl, &der)) > 0);
	write_file(dir, "crl.der", der, (size_t)dl);
	assert_int_equal(run(f->rep, f->rep_len, NULL, 0, NOW, 0, NULL, dir, NULL),
	    TT_ERR_INVALID_SIGNATURE);
	write_file(dir, "crl.der", "junk", 4);
	assert_int_not_equal(run(f->rep, f->rep_len, NULL, 0, NOW, 0, NULL, dir, NULL), 0);
	snprintf(path, sizeof(path), "%s/crl.der", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vcek.der", dir);
	unlink(path);
	rmdir(dir);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	EVP_PKEY_free(k);

	/* Certificate table: one VCEK entry, then the all-zero terminator. */
	memcpy(table, g, 16);
	memcpy(table + 16, &off, 4);
	memcpy(table + 20, &len, 4);
	memcpy(table + off, f->vcek, f->vcek_len);
	assert_int_equal(run(f->rep, f->rep_len, table, off + f->vcek_len, NOW, 0, NULL, NULL,
	    NULL), 0);
	/* An entry pointing past the table. */
	len = 4096;
	memcpy(table + 20, &len, 4);
	assert_int_not_equal(run(f->rep, f->rep_len, table, off + f->vcek_len, NOW, 0, NULL,
	    NULL, NULL), 0);
}

/* Versions outside 2..5 are refused before anything else. */
static void
test_versions(void **state)
{
	struct fix *f = *state;
	struct tt_snp_report r;
	uint8_t t[TT_SNP_REPORT_LEN];

	memcpy(t, f->rep, sizeof(t));
	assert_int_equal(tt_snp_report_parse(t, sizeof(t), &r), 0);
	assert_int_equal(r.version, 2);
	for (uint8_t v = 0; v < 8; v++) {
		t[0] = v;
		assert_int_equal(tt_snp_report_parse(t, sizeof(t), &r),
		    v >= 2 && v <= 5 ? 0 : TT_ERR_NOT_SUPPORTED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcek_report),
		cmocka_unit_test(test_vlek_report),
		cmocka_unit_test(test_tamper_report),
		cmocka_unit_test(test_tamper_cert),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_wrong_inputs),
		cmocka_unit_test(test_collateral_forms),
		cmocka_unit_test(test_versions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
