/*
 * The verifier library's frame: registry, call checks, binding, trust anchors shipped as
 * data (fingerprints as docs/trust-anchors.md lists them), anchors and collateral from
 * directories, certificate chains at a pinned time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "turtle/error.h"
#include "verify.h"

/* 2025-01-01T00:00:00Z */
#define NOW_2025 1735689600

static const struct {
	const char *anchor;
	const char *cn;
	const char *sha256;
} fingerprints[] = {
	{ "amd/milan.pem", "SEV-Milan",
	  "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b" },
	{ "amd/milan.pem", "ARK-Milan",
	  "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd" },
	{ "amd/milan.pem", "SEV-VLEK-Milan",
	  "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5" },
	{ "amd/genoa.pem", "SEV-Genoa",
	  "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521" },
	{ "amd/genoa.pem", "ARK-Genoa",
	  "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1" },
	{ "amd/genoa.pem", "SEV-VLEK-Genoa",
	  "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372" },
	{ "amd/turin.pem", "SEV-Turin",
	  "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185" },
	{ "amd/turin.pem", "ARK-Turin",
	  "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a" },
	{ "amd/turin.pem", "SEV-VLEK-Turin",
	  "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c" },
	{ "huawei/equipment-root-ca.pem", "Huawei Equipment CA",
	  "da2abe9225d795a380e2899d530ef0318a5b32bc81aafd4488ba961ddf7502d4" },
	{ "huawei/it-product-ca.pem", "Huawei IT Product CA",
	  "91be99a26258953efc71757164a75550ceec3dfb95ef978be636508d9ccd9afa" },
	{ "intel/sgx-root-ca.pem", "Intel SGX Root CA",
	  "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3" },
};

static void
test_registry(void **state)
{
	(void)state;
	assert_non_null(tt_verifier_find("snp"));
	assert_non_null(tt_verifier_find("cca"));
	assert_non_null(tt_verifier_find("virtcca"));
	assert_null(tt_verifier_find("nope"));
	assert_null(tt_verifier_find(NULL));
	for (size_t i = 0; tt_verifier_registry[i] != NULL; i++) {
		assert_int_equal(tt_verifier_registry[i]->version, TT_VERIFY_ABI);
		assert_non_null(tt_verifier_registry[i]->name);
		assert_ptr_equal(tt_verifier_find(tt_verifier_registry[i]->tee),
		    tt_verifier_registry[i]);
	}
}

/* Every fingerprint docs/trust-anchors.md lists is in the built-in anchors, and nothing else. */
static void
test_builtin_fingerprints(void **state)
{
	size_t seen = 0;

	(void)state;
	for (size_t i = 0; i < tt_verify_builtins_count; i++) {
		const struct tt_verify_builtin *b = &tt_verify_builtins[i];
		STACK_OF(X509) *sk = NULL;

		if (strstr(b->name, ".pem") == NULL)
			continue;
		assert_int_equal(tt_verify_certs_parse(b->data, b->len, &sk), 0);
		for (int j = 0; j < sk_X509_num(sk); j++) {
			char cn[128], fp[65];
			bool found = false;

			tt_verify_x509_cn(sk_X509_value(sk, j), cn, sizeof(cn));
			assert_int_equal(tt_verify_x509_sha256(sk_X509_value(sk, j), fp), 0);
			for (size_t k = 0; k < sizeof(fingerprints) / sizeof(fingerprints[0]); k++)
				if (strcmp(fingerprints[k].anchor, b->name) == 0 &&
				    strcmp(fingerprints[k].cn, cn) == 0) {
					assert_string_equal(fingerprints[k].sha256, fp);
					found = true;
				}
			assert_true(found);
			seen++;
		}
		sk_X509_pop_free(sk, X509_free);
	}
	assert_int_equal(seen, sizeof(fingerprints) / sizeof(fingerprints[0]));
}

static void
test_anchor_lookup(void **state)
{
	char dir[] = "/tmp/tt_verify_XXXXXX", path[256];
	struct tt_verify_trust t = { 0 };
	uint8_t *d = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_int_equal(tt_verify_anchor(NULL, "amd/milan.pem", &d, &n), 0);
	assert_true(n > 1000 && d[n] == '\0');
	free(d);
	assert_int_equal(tt_verify_anchor(NULL, "amd/rome.pem", &d, &n), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_verify_anchor(NULL, "../amd/milan.pem", &d, &n),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_verify_anchor(NULL, "/etc/passwd", &d, &n), TT_ERR_INVALID_ARGUMENT);

	/* A directory replaces the built-in anchors: no fallback for what it lacks. */
	assert_non_null(mkdtemp(dir));
	t.anchors_dir = dir;
	t.collateral_dir = dir;
	assert_int_equal(tt_verify_anchor(&t, "amd/milan.pem", &d, &n), TT_ERR_DOES_NOT_EXIST);
	snprintf(path, sizeof(path), "%s/vcek.der", dir);
	assert_non_null(f = fopen(path, "we"));
	fputs("abc", f);
	fclose(f);
	assert_int_equal(tt_verify_collateral_file(&t, "vcek.der", &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "abc", 4);
	free(d);
	assert_int_equal(tt_verify_collateral_file(&t, "x/vcek.der", &d, &n),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_verify_collateral_file(&t, "..", &d, &n), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_verify_collateral_file(&t, "crl.der", &d, &n),
	    TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_verify_collateral_file(NULL, "vcek.der", &d, &n),
	    TT_ERR_DOES_NOT_EXIST);
	unlink(path);
	rmdir(dir);
}

/* ASK under ARK (RSA-PSS), judged at the caller's time. */
static void
test_chain_time(void **state)
{
	STACK_OF(X509) *sk = NULL, *anchors = sk_X509_new_null();
	const char *why = NULL;
	uint8_t *d = NULL;
	size_t n;

	(void)state;
	assert_int_equal(tt_verify_anchor(NULL, "amd/genoa.pem", &d, &n), 0);
	assert_int_equal(tt_verify_certs_parse(d, n, &sk), 0);
	assert_int_equal(sk_X509_num(sk), 3);
	assert_true(sk_X509_push(anchors, sk_X509_value(sk, 1)));   /* ARK-Genoa */
	assert_int_equal(tt_verify_x509_chain(sk_X509_value(sk, 0), NULL, anchors, NULL,
	    NOW_2025, &why), 0);
	assert_null(why);
	/* Before the ASK existed (2021) and after it expires (2050). */
	assert_int_equal(tt_verify_x509_chain(sk_X509_value(sk, 0), NULL, anchors, NULL,
	    1609459200, &why), TT_ERR_NOT_PERMITTED);
	assert_non_null(why);
	assert_int_equal(tt_verify_x509_chain(sk_X509_value(sk, 0), NULL, anchors, NULL,
	    2524608000, &why), TT_ERR_NOT_PERMITTED);
	/* The ARK does not chain to the ASK. */
	sk_X509_set(anchors, 0, sk_X509_value(sk, 0));
	assert_int_equal(tt_verify_x509_chain(sk_X509_value(sk, 2), NULL, anchors, NULL,
	    NOW_2025, &why), TT_ERR_INVALID_SIGNATURE);
	sk_X509_free(anchors);
	sk_X509_pop_free(sk, X509_free);
	free(d);
}

static void
test_binding(void **state)
{
	uint8_t rd[64] = { 1, 2, 3 }, b[3] = { 1, 2, 3 }, b2[3] = { 1, 2, 4 };
	struct tt_verify_in in = { .binding = b, .binding_len = 3 };
	struct tt_verify_result res = { 0 };

	(void)state;
	assert_int_equal(tt_verify_check_binding(&in, &res, rd, sizeof(rd)), 0);
	rd[63] = 1;   /* padding must be zero */
	assert_int_equal(tt_verify_check_binding(&in, &res, rd, sizeof(rd)),
	    TT_ERR_NOT_AUTHENTICATED);
	rd[63] = 0;
	in.binding = b2;
	assert_int_equal(tt_verify_check_binding(&in, &res, rd, sizeof(rd)),
	    TT_ERR_NOT_AUTHENTICATED);
	assert_int_equal(tt_verify_check_binding(&in, &res, rd, 2), TT_ERR_NOT_AUTHENTICATED);
	in.flags = TT_VERIFY_F_NO_BINDING;
	assert_int_equal(tt_verify_check_binding(&in, &res, rd, sizeof(rd)), 0);
	assert_int_equal(json_array_size(res.chain), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(res.chain, 4),
	    "verdict")), "not checked");
	assert_string_equal(json_string_value(json_object_get(json_array_get(res.chain, 1),
	    "verdict")), "failed");
	assert_int_equal(json_array_size(res.reasons), 3);
	tt_verify_result_clear(&res);
}

/* tt_verify refuses a call without a binding unless told there is none. */
static void
test_call_checks(void **state)
{
	uint8_t ev[4] = { 0 };
	struct tt_verify_in in = { .evidence = ev, .evidence_len = sizeof(ev) };
	struct tt_verify_result res;
	const struct tt_verifier *v = tt_verifier_find("snp");

	(void)state;
	assert_int_equal(tt_verify(v, &in, &res), TT_ERR_INVALID_ARGUMENT);
	assert_null(res.claims);
	assert_true(json_array_size(res.reasons) >= 1);
	tt_verify_result_clear(&res);
	in.evidence_len = 0;
	in.flags = TT_VERIFY_F_NO_BINDING;
	assert_int_equal(tt_verify(v, &in, &res), TT_ERR_INVALID_ARGUMENT);
	tt_verify_result_clear(&res);
	in.evidence_len = TT_VERIFY_MAX_EVIDENCE + 1;
	assert_int_equal(tt_verify(v, &in, &res), TT_ERR_LIMIT);
	tt_verify_result_clear(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_builtin_fingerprints),
		cmocka_unit_test(test_anchor_lookup),
		cmocka_unit_test(test_chain_time),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_call_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
