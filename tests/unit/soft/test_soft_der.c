/* The PKCS#1 RSAPrivateKey reader (soft_der.c) against OpenSSL's own encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "providers/soft/soft_der.h"
#include "turtle/error.h"

static void
test_openssl_keys(void **state)
{
	static const char *const names[SOFT_RSA_NPARTS] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	static const unsigned bits[] = { 1024, 2048 };

	(void)state;
	for (size_t k = 0; k < sizeof(bits) / sizeof(bits[0]); k++) {
		EVP_PKEY *pk = EVP_RSA_gen(bits[k]);
		struct soft_rsa_parts rp;
		unsigned char *der = NULL;
		int n;

		assert_non_null(pk);
		assert_true((n = i2d_PrivateKey(pk, &der)) > 0);
		assert_int_equal(tt_soft_rsa_der_parse(der, (size_t)n, &rp), 0);
		for (int i = 0; i < SOFT_RSA_NPARTS; i++) {
			BIGNUM *want = NULL, *got = BN_bin2bn(rp.v[i], (int)rp.len[i], NULL);

			assert_true(EVP_PKEY_get_bn_param(pk, names[i], &want));
			assert_int_equal(BN_cmp(want, got), 0);
			/* the view is the magnitude: no sign byte */
			assert_true(rp.len[i] == (size_t)BN_num_bytes(want));
			BN_free(want);
			BN_free(got);
		}
		/* a trailing byte, and every truncation, are refused */
		der = OPENSSL_realloc(der, (size_t)n + 1);
		der[n] = 0;
		assert_int_equal(tt_soft_rsa_der_parse(der, (size_t)n + 1, &rp), TT_ERR_INVALID_ARGUMENT);
		for (int cut = 0; cut < n; cut += 7)
			assert_int_equal(tt_soft_rsa_der_parse(der, (size_t)cut, &rp),
			    TT_ERR_INVALID_ARGUMENT);
		OPENSSL_free(der);
		EVP_PKEY_free(pk);
	}
}

/* SEQUENCE { INTEGER version, 8 INTEGERs } with small hand-made values. */
static size_t
mk(uint8_t *out, const uint8_t *ver, size_t vl, const uint8_t *first, size_t fl)
{
	size_t n = 2;

	out[0] = 0x30;
	out[n++] = 0x02;
	out[n++] = (uint8_t)vl;
	memcpy(out + n, ver, vl);
	n += vl;
	out[n++] = 0x02;
	out[n++] = (uint8_t)fl;
	memcpy(out + n, first, fl);
	n += fl;
	for (int i = 1; i < SOFT_RSA_NPARTS; i++) {
		out[n++] = 0x02;
		out[n++] = 0x01;
		out[n++] = (uint8_t)(3 + i);
	}
	out[1] = (uint8_t)(n - 2);
	return n;
}

static void
test_strict_der(void **state)
{
	static const uint8_t v0[] = { 0 }, v1[] = { 1 }, v00[] = { 0, 0 };
	static const uint8_t ok[] = { 0x7f }, padded_ok[] = { 0x00, 0x80 };
	static const uint8_t neg[] = { 0x80 }, pad[] = { 0x00, 0x7f };
	struct soft_rsa_parts rp;
	uint8_t b[64];
	size_t n;

	(void)state;
	n = mk(b, v0, 1, ok, 1);
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), 0);
	assert_int_equal(rp.len[SOFT_RSA_N], 1);
	assert_int_equal(rp.v[SOFT_RSA_N][0], 0x7f);
	n = mk(b, v0, 1, padded_ok, 2);
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), 0);
	assert_int_equal(rp.len[SOFT_RSA_N], 1);
	assert_int_equal(rp.v[SOFT_RSA_N][0], 0x80);
	/* multi-prime version, a non-minimal version, a negative and a padded integer */
	n = mk(b, v1, 1, ok, 1);
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), TT_ERR_INVALID_ARGUMENT);
	n = mk(b, v00, 2, ok, 1);
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), TT_ERR_INVALID_ARGUMENT);
	n = mk(b, v0, 1, neg, 1);
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), TT_ERR_INVALID_ARGUMENT);
	n = mk(b, v0, 1, pad, 2);
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), TT_ERR_INVALID_ARGUMENT);
	/* lengths: indefinite, long form where the short one fits, a leading zero byte */
	n = mk(b, v0, 1, ok, 1);
	{
		uint8_t c[80];

		c[0] = 0x30;
		c[1] = 0x80;
		memcpy(c + 2, b + 2, n - 2);
		c[n] = 0;
		c[n + 1] = 0;
		assert_int_equal(tt_soft_rsa_der_parse(c, n + 2, &rp), TT_ERR_INVALID_ARGUMENT);
		c[1] = 0x81;
		c[2] = (uint8_t)(n - 2);
		memcpy(c + 3, b + 2, n - 2);
		assert_int_equal(tt_soft_rsa_der_parse(c, n + 1, &rp), TT_ERR_INVALID_ARGUMENT);
		c[1] = 0x82;
		c[2] = 0;
		c[3] = (uint8_t)(n - 2);
		memcpy(c + 4, b + 2, n - 2);
		assert_int_equal(tt_soft_rsa_der_parse(c, n + 2, &rp), TT_ERR_INVALID_ARGUMENT);
	}
	/* a wrong outer tag */
	b[0] = 0x31;
	assert_int_equal(tt_soft_rsa_der_parse(b, n, &rp), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_soft_rsa_der_parse(NULL, 0, &rp), TT_ERR_INVALID_ARGUMENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_keys),
		cmocka_unit_test(test_strict_der),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
