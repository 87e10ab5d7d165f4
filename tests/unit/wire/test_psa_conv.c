/* protobuf <-> PSA conversion: round trips through real protobuf encoding for every
 * algorithm and key type PARSEC can express, and rejection of everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "turtle/error.h"
#include "turtle/psa.h"
#include "wire/psa_conv.h"

static const tt_alg_t hashes[] = {
	TT_ALG_MD2, TT_ALG_MD4, TT_ALG_MD5, TT_ALG_RIPEMD160, TT_ALG_SHA_1, TT_ALG_SHA_224,
	TT_ALG_SHA_256, TT_ALG_SHA_384, TT_ALG_SHA_512, TT_ALG_SHA_512_224, TT_ALG_SHA_512_256,
	TT_ALG_SHA3_224, TT_ALG_SHA3_256, TT_ALG_SHA3_384, TT_ALG_SHA3_512,
};
#define NHASH (sizeof(hashes) / sizeof(hashes[0]))

/* psa -> protobuf message -> bytes -> protobuf message -> psa */
static int
alg_rt(tt_alg_t a, tt_alg_t *back)
{
	PsaAlgorithm__Algorithm *m = NULL, *u;
	uint8_t buf[256];
	size_t n;
	int r;

	if ((r = tt_psa_alg_to_pb(a, &m)) != 0)
		return r;
	n = psa_algorithm__algorithm__get_packed_size(m);
	assert_true(n <= sizeof(buf));
	assert_int_equal(psa_algorithm__algorithm__pack(m, buf), n);
	tt_pb_alg_free(m);
	u = psa_algorithm__algorithm__unpack(NULL, n, buf);
	assert_non_null(u);
	r = tt_pb_alg_to_psa(u, back);
	psa_algorithm__algorithm__free_unpacked(u, NULL);
	return r;
}

static void
expect_rt(tt_alg_t a, tt_alg_t want)
{
	tt_alg_t back = 0xDEADBEEF;
	int r = alg_rt(a, &back);

	if (r != 0)
		fail_msg("alg 0x%08x: round trip failed %d", a, r);
	if (back != want)
		fail_msg("alg 0x%08x came back as 0x%08x, want 0x%08x", a, back, want);
}

static void
expect_no_pb(tt_alg_t a)
{
	PsaAlgorithm__Algorithm *m = (PsaAlgorithm__Algorithm *)0x1;
	int r = tt_psa_alg_to_pb(a, &m);

	if (r != TT_ERR_INVALID_ARGUMENT)
		fail_msg("alg 0x%08x: to_pb gave %d", a, r);
	assert_ptr_equal(m, (void *)0x1);
}

static void
test_numeric_values(void **state)
{
	/* The PSA numbers these conversions target, spot-checked against the spec. */
	(void)state;
	assert_true(TT_ALG_HMAC(TT_ALG_SHA_256) == 0x03800009);
	assert_true(TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_256), 16) == 0x03900009);
	assert_true(TT_ALG_ECDSA(TT_ALG_SHA_256) == 0x06000609);
	assert_true(TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH) == 0x060002ff);
	assert_true(TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, TT_ALG_HKDF(TT_ALG_SHA_256)) == 0x09020109);
	assert_true(TT_ALG_AEAD_WITH_SHORTENED_TAG(TT_ALG_GCM, 16) == TT_ALG_GCM);
	assert_true(TT_ALG_AEAD_WITH_SHORTENED_TAG(TT_ALG_CCM, 8) == 0x05480100);
	assert_true(TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1) == 0x7112);
}

static void
test_hash_and_none(void **state)
{
	PsaAlgorithm__Algorithm__Hash h;
	tt_alg_t a;

	(void)state;
	expect_rt(TT_ALG_NONE, TT_ALG_NONE);
	for (size_t i = 0; i < NHASH; i++) {
		expect_rt(hashes[i], hashes[i]);
		/* MD2=1 .. SHA3_512=15 in table order */
		assert_int_equal(tt_psa_hash_to_pb(hashes[i], &h), 0);
		assert_int_equal(h, (int)i + 1);
		assert_int_equal(tt_pb_hash_to_psa(h, &a), 0);
		assert_true(a == hashes[i]);
	}
	assert_int_equal(tt_pb_alg_to_psa(NULL, &a), 0);
	assert_true(a == TT_ALG_NONE);
	expect_no_pb(TT_ALG_ANY_HASH);
	expect_no_pb(0x02000006);
	expect_no_pb(0x02000014);
	a = 7;
	assert_int_equal(tt_pb_hash_to_psa(PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE, &a),
			 TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_hash_to_psa((PsaAlgorithm__Algorithm__Hash)99, &a), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_hash_to_psa((PsaAlgorithm__Algorithm__Hash)-1, &a), TT_ERR_INVALID_ARGUMENT);
	assert_true(a == 7);
}

static void
test_mac(void **state)
{
	(void)state;
	for (size_t i = 0; i < NHASH; i++) {
		tt_alg_t full = TT_ALG_HMAC(hashes[i]);
		size_t len = tt_psa_hash_size(hashes[i]);

		expect_rt(full, full);
		expect_rt(TT_ALG_TRUNCATED_MAC(full, 1), TT_ALG_TRUNCATED_MAC(full, 1));
		expect_rt(TT_ALG_TRUNCATED_MAC(full, len - 1), TT_ALG_TRUNCATED_MAC(full, len - 1));
		/* truncated to the full length is the full-length MAC */
		expect_rt(TT_ALG_TRUNCATED_MAC(full, len), full);
	}
	expect_rt(TT_ALG_CMAC, TT_ALG_CMAC);
	expect_rt(TT_ALG_CBC_MAC, TT_ALG_CBC_MAC);
	expect_rt(TT_ALG_TRUNCATED_MAC(TT_ALG_CMAC, 8), TT_ALG_TRUNCATED_MAC(TT_ALG_CMAC, 8));
	expect_rt(TT_ALG_TRUNCATED_MAC(TT_ALG_CBC_MAC, 4), TT_ALG_TRUNCATED_MAC(TT_ALG_CBC_MAC, 4));
	expect_rt(TT_ALG_TRUNCATED_MAC(TT_ALG_CMAC, 16), TT_ALG_CMAC);
	expect_rt(TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_512), 63),
		  TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_512), 63));

	/* No protobuf form. */
	expect_no_pb(TT_ALG_HMAC_BASE);                                      /* no hash */
	expect_no_pb(TT_ALG_HMAC(0xff));                                     /* any hash */
	expect_no_pb(TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_256), 33)); /* longer than MAC */
	expect_no_pb(TT_ALG_TRUNCATED_MAC(TT_ALG_CMAC, 17));
	expect_no_pb(TT_ALG_HMAC(TT_ALG_SHA_256) | 0x00008000);              /* at-least-length */
	expect_no_pb(0x03c00300);
}

static void
test_cipher(void **state)
{
	static const tt_alg_t c[] = {
		TT_ALG_STREAM_CIPHER, TT_ALG_CTR, TT_ALG_CFB, TT_ALG_OFB, TT_ALG_XTS,
		TT_ALG_ECB_NO_PADDING, TT_ALG_CBC_NO_PADDING, TT_ALG_CBC_PKCS7,
	};
	PsaAlgorithm__Algorithm__Cipher pc;
	tt_alg_t a = 5;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		expect_rt(c[i], c[i]);
		assert_int_equal(tt_psa_cipher_to_pb(c[i], &pc), 0);
		assert_int_equal(pc, (int)i + 1);
	}
	expect_no_pb(0x04c01300);
	assert_int_equal(tt_pb_cipher_to_psa(PSA_ALGORITHM__ALGORITHM__CIPHER__CIPHER_NONE, &a),
			 TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_cipher_to_psa((PsaAlgorithm__Algorithm__Cipher)99, &a), TT_ERR_INVALID_ARGUMENT);
	assert_true(a == 5);
}

static void
test_aead(void **state)
{
	static const tt_alg_t base[] = { TT_ALG_CCM, TT_ALG_GCM, TT_ALG_CHACHA20_POLY1305 };
	PsaAlgorithm__Algorithm__Aead *m = NULL;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		expect_rt(base[i], base[i]);
		for (unsigned t = 1; t <= 16; t++)
			expect_rt(TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], t),
				  TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], t));
		/* a "shortened" tag of the default length is the default encoding, both ways */
		assert_int_equal(tt_psa_aead_to_pb(TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], 16), &m), 0);
		assert_int_equal(m->variant_case, PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG);
		assert_int_equal(m->aead_with_default_length_tag, (int)i + 1);
		tt_pb_aead_free(m);
		m = NULL;
		assert_int_equal(tt_psa_aead_to_pb(TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], 8), &m), 0);
		assert_int_equal(m->variant_case, PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG);
		assert_int_equal(m->aead_with_shortened_tag->tag_length, 8);
		tt_pb_aead_free(m);
		m = NULL;
		expect_no_pb(TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], 0));
		expect_no_pb(TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], 17));
		expect_no_pb(TT_ALG_AEAD_WITH_SHORTENED_TAG(base[i], 63));
	}
	{
		/* from_pb: a shortened tag of 16 lands on the default value */
		PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag st =
			PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_SHORTENED_TAG__INIT;
		PsaAlgorithm__Algorithm__Aead am = PSA_ALGORITHM__ALGORITHM__AEAD__INIT;
		tt_alg_t a;

		st.aead_alg = PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM;
		st.tag_length = 16;
		am.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG;
		am.aead_with_shortened_tag = &st;
		assert_int_equal(tt_pb_aead_to_psa(&am, &a), 0);
		assert_true(a == TT_ALG_GCM);
	}
	expect_no_pb(0x05500300);
	tt_pb_aead_free(NULL);
}

static void
test_sign(void **state)
{
	(void)state;
	for (size_t i = 0; i < NHASH; i++) {
		expect_rt(TT_ALG_RSA_PKCS1V15_SIGN(hashes[i]), TT_ALG_RSA_PKCS1V15_SIGN(hashes[i]));
		expect_rt(TT_ALG_RSA_PSS(hashes[i]), TT_ALG_RSA_PSS(hashes[i]));
		expect_rt(TT_ALG_ECDSA(hashes[i]), TT_ALG_ECDSA(hashes[i]));
		expect_rt(TT_ALG_DETERMINISTIC_ECDSA(hashes[i]), TT_ALG_DETERMINISTIC_ECDSA(hashes[i]));
	}
	expect_rt(TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH), TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_ANY_HASH));
	expect_rt(TT_ALG_RSA_PSS(TT_ALG_ANY_HASH), TT_ALG_RSA_PSS(TT_ALG_ANY_HASH));
	expect_rt(TT_ALG_ECDSA(TT_ALG_ANY_HASH), TT_ALG_ECDSA(TT_ALG_ANY_HASH));
	expect_rt(TT_ALG_DETERMINISTIC_ECDSA(TT_ALG_ANY_HASH), TT_ALG_DETERMINISTIC_ECDSA(TT_ALG_ANY_HASH));
	expect_rt(TT_ALG_RSA_PKCS1V15_SIGN_RAW, TT_ALG_RSA_PKCS1V15_SIGN_RAW);
	expect_rt(TT_ALG_ECDSA_ANY, TT_ALG_ECDSA_ANY);

	/* The variant chosen for the special values. */
	{
		PsaAlgorithm__Algorithm__AsymmetricSignature *m = NULL;
		tt_alg_t a;

		assert_int_equal(tt_psa_sign_to_pb(TT_ALG_ECDSA_ANY, &m), 0);
		assert_int_equal(m->variant_case, PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA_ANY);
		tt_pb_sign_free(m);
		assert_int_equal(tt_psa_sign_to_pb(TT_ALG_RSA_PKCS1V15_SIGN_RAW, &m), 0);
		assert_int_equal(m->variant_case,
				 PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN_RAW);
		tt_pb_sign_free(m);
		assert_int_equal(tt_psa_sign_to_pb(TT_ALG_RSA_PSS(TT_ALG_ANY_HASH), &m), 0);
		assert_int_equal(m->rsa_pss->hash_alg->variant_case,
				 PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY);
		assert_int_equal(tt_pb_sign_to_psa(m, &a), 0);
		assert_true(a == TT_ALG_RSA_PSS(TT_ALG_ANY_HASH));
		tt_pb_sign_free(m);
		tt_pb_sign_free(NULL);
	}
	expect_no_pb(TT_ALG_RSA_PSS_BASE);                  /* PSS without a hash */
	expect_no_pb(TT_ALG_DETERMINISTIC_ECDSA_BASE);
	expect_no_pb(TT_ALG_ECDSA(0x06));                   /* unassigned hash */
	expect_no_pb(0x06001309);                           /* PSS any-salt */
	expect_no_pb(0x06000800);
}

static void
test_asym_enc(void **state)
{
	(void)state;
	expect_rt(TT_ALG_RSA_PKCS1V15_CRYPT, TT_ALG_RSA_PKCS1V15_CRYPT);
	for (size_t i = 0; i < NHASH; i++)
		expect_rt(TT_ALG_RSA_OAEP(hashes[i]), TT_ALG_RSA_OAEP(hashes[i]));
	expect_no_pb(TT_ALG_RSA_OAEP_BASE);
	expect_no_pb(TT_ALG_RSA_OAEP(TT_ALG_ANY_HASH));
	expect_no_pb(0x07000400);
}

static void
test_kdf_and_ka(void **state)
{
	PsaAlgorithm__Algorithm__KeyAgreement__Raw raw;
	tt_alg_t a = 3;

	(void)state;
	for (size_t i = 0; i < NHASH; i++) {
		expect_rt(TT_ALG_HKDF(hashes[i]), TT_ALG_HKDF(hashes[i]));
		expect_rt(TT_ALG_TLS12_PRF(hashes[i]), TT_ALG_TLS12_PRF(hashes[i]));
		expect_rt(TT_ALG_TLS12_PSK_TO_MS(hashes[i]), TT_ALG_TLS12_PSK_TO_MS(hashes[i]));
		expect_rt(TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, TT_ALG_HKDF(hashes[i])),
			  TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, TT_ALG_HKDF(hashes[i])));
		expect_rt(TT_ALG_KEY_AGREEMENT(TT_ALG_FFDH, TT_ALG_TLS12_PRF(hashes[i])),
			  TT_ALG_KEY_AGREEMENT(TT_ALG_FFDH, TT_ALG_TLS12_PRF(hashes[i])));
		expect_rt(TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, TT_ALG_TLS12_PSK_TO_MS(hashes[i])),
			  TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, TT_ALG_TLS12_PSK_TO_MS(hashes[i])));
	}
	expect_rt(TT_ALG_ECDH, TT_ALG_ECDH);
	expect_rt(TT_ALG_FFDH, TT_ALG_FFDH);
	assert_int_equal(tt_psa_ka_raw_to_pb(TT_ALG_ECDH, &raw), 0);
	assert_int_equal(raw, PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH);
	assert_int_equal(tt_psa_ka_raw_to_pb(TT_ALG_FFDH, &raw), 0);
	assert_int_equal(raw, PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__FFDH);
	assert_int_equal(tt_psa_ka_raw_to_pb(0x09030000, &raw), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_ka_raw_to_psa(PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__RAW_NONE, &a),
			 TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_ka_raw_to_psa((PsaAlgorithm__Algorithm__KeyAgreement__Raw)99, &a),
			 TT_ERR_INVALID_ARGUMENT);
	assert_true(a == 3);

	expect_no_pb(0x08000100);                                   /* HKDF without hash */
	expect_no_pb(0x08000409);                                   /* unknown KDF */
	expect_no_pb(0x09030000);                                   /* unknown raw KA */
	expect_no_pb(TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, 0x08000409));
	expect_no_pb(0x09020100);                                   /* KA + hashless HKDF */
}

static void
test_other_categories_rejected(void **state)
{
	(void)state;
	expect_no_pb(0x01000000);
	expect_no_pb(0x0a000000);
	expect_no_pb(0x7f000000);
	expect_no_pb(0xffffffff);
	expect_no_pb(0x80000000 | TT_ALG_SHA_256);
	expect_no_pb(0x80000000 | TT_ALG_ECDSA(TT_ALG_SHA_256));
}

/* ---- key attributes ---- */

static int
attrs_rt(const struct tt_key_attrs *in, struct tt_key_attrs *back)
{
	PsaKeyAttributes__KeyAttributes *m = NULL, *u;
	uint8_t buf[256];
	size_t n;
	int r;

	if ((r = tt_psa_attrs_to_pb(in, &m)) != 0)
		return r;
	n = psa_key_attributes__key_attributes__get_packed_size(m);
	assert_true(n <= sizeof(buf));
	psa_key_attributes__key_attributes__pack(m, buf);
	tt_pb_attrs_free(m);
	u = psa_key_attributes__key_attributes__unpack(NULL, n, buf);
	assert_non_null(u);
	r = tt_pb_attrs_to_psa(u, back);
	psa_key_attributes__key_attributes__free_unpacked(u, NULL);
	return r;
}

static void
expect_attrs_rt(tt_key_type_t t, uint32_t bits, tt_usage_t usage, tt_alg_t alg)
{
	struct tt_key_attrs in = { .type = t, .bits = bits, .usage = usage, .alg = alg }, out;
	int r;

	memset(&out, 0xEE, sizeof(out));
	if ((r = attrs_rt(&in, &out)) != 0)
		fail_msg("key type 0x%04x: round trip failed %d", t, r);
	if (out.type != t || out.bits != bits || out.usage != usage || out.alg != alg)
		fail_msg("key type 0x%04x/%u/0x%x/0x%08x came back as 0x%04x/%u/0x%x/0x%08x", t, bits,
			 usage, alg, out.type, out.bits, out.usage, out.alg);
}

static void
test_key_types(void **state)
{
	static const tt_key_type_t simple[] = {
		TT_KEY_TYPE_RAW_DATA, TT_KEY_TYPE_HMAC, TT_KEY_TYPE_DERIVE, TT_KEY_TYPE_AES,
		TT_KEY_TYPE_DES, TT_KEY_TYPE_CAMELLIA, TT_KEY_TYPE_ARC4, TT_KEY_TYPE_CHACHA20,
		TT_KEY_TYPE_RSA_PUBLIC_KEY, TT_KEY_TYPE_RSA_KEY_PAIR,
		TT_KEY_TYPE_DH_KEY_PAIR(TT_DH_FAMILY_RFC7919), TT_KEY_TYPE_DH_PUBLIC_KEY(TT_DH_FAMILY_RFC7919),
	};
	/* in the order of the protobuf EccFamily enum, SECP_K1 = 1 .. MONTGOMERY = 9 */
	static const tt_ecc_family_t fam[] = {
		0x17, 0x12, 0x1b, 0x27, 0x22, 0x2b, 0x30, 0x33, 0x41,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		expect_attrs_rt(simple[i], 256, TT_USAGE_EXPORT, TT_ALG_NONE);
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		PsaKeyAttributes__KeyAttributes *m = NULL;
		struct tt_key_attrs a = { .type = TT_KEY_TYPE_ECC_KEY_PAIR(fam[i]), .bits = 256 };

		expect_attrs_rt(TT_KEY_TYPE_ECC_KEY_PAIR(fam[i]), 256, TT_USAGE_SIGN_HASH,
				TT_ALG_ECDSA(TT_ALG_SHA_256));
		expect_attrs_rt(TT_KEY_TYPE_ECC_PUBLIC_KEY(fam[i]), 384, TT_USAGE_VERIFY_HASH,
				TT_ALG_ECDSA(TT_ALG_ANY_HASH));
		assert_int_equal(tt_psa_attrs_to_pb(&a, &m), 0);
		assert_int_equal(m->key_type->variant_case, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR);
		assert_int_equal(m->key_type->ecc_key_pair->curve_family, (int)i + 1);
		tt_pb_attrs_free(m);
	}
	tt_pb_attrs_free(NULL);
}

static void
test_usage_flags(void **state)
{
	static const tt_usage_t bits[] = {
		TT_USAGE_EXPORT, TT_USAGE_COPY, TT_USAGE_CACHE, TT_USAGE_ENCRYPT, TT_USAGE_DECRYPT,
		TT_USAGE_SIGN_MESSAGE, TT_USAGE_VERIFY_MESSAGE, TT_USAGE_SIGN_HASH,
		TT_USAGE_VERIFY_HASH, TT_USAGE_DERIVE,
	};
	tt_usage_t all = 0;
	struct tt_key_attrs a = { .type = TT_KEY_TYPE_AES, .bits = 128 };
	PsaKeyAttributes__KeyAttributes *m = (void *)0x1;

	(void)state;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		expect_attrs_rt(TT_KEY_TYPE_AES, 128, bits[i], TT_ALG_GCM);
		all |= bits[i];
	}
	expect_attrs_rt(TT_KEY_TYPE_AES, 128, all, TT_ALG_GCM);
	expect_attrs_rt(TT_KEY_TYPE_AES, 128, 0, TT_ALG_NONE);
	expect_attrs_rt(TT_KEY_TYPE_RSA_KEY_PAIR, 4096, TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH,
			TT_ALG_RSA_PKCS1V15_SIGN(TT_ALG_SHA_256));
	expect_attrs_rt(TT_KEY_TYPE_HMAC, 0, TT_USAGE_SIGN_MESSAGE,
			TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_256), 20));
	/* A usage bit PARSEC cannot carry, an unknown key type, an unknown curve family. */
	a.usage = 0x00010000;
	assert_int_equal(tt_psa_attrs_to_pb(&a, &m), TT_ERR_INVALID_ARGUMENT);
	a.usage = 0;
	a.type = 0x1234;
	assert_int_equal(tt_psa_attrs_to_pb(&a, &m), TT_ERR_INVALID_ARGUMENT);
	a.type = TT_KEY_TYPE_ECC_KEY_PAIR(0x99);
	assert_int_equal(tt_psa_attrs_to_pb(&a, &m), TT_ERR_INVALID_ARGUMENT);
	a.type = TT_KEY_TYPE_DH_KEY_PAIR(0x05);
	assert_int_equal(tt_psa_attrs_to_pb(&a, &m), TT_ERR_INVALID_ARGUMENT);
	a.type = TT_KEY_TYPE_NONE;
	assert_int_equal(tt_psa_attrs_to_pb(&a, &m), TT_ERR_INVALID_ARGUMENT);
	a.type = TT_KEY_TYPE_AES;
	a.alg = TT_ALG_ANY_HASH;             /* policy without a protobuf form */
	assert_int_equal(tt_psa_attrs_to_pb(&a, &m), TT_ERR_INVALID_ARGUMENT);
	assert_ptr_equal(m, (void *)0x1);
	assert_int_equal(tt_psa_attrs_to_pb(NULL, &m), TT_ERR_INVALID_ARGUMENT);
}

/* ---- rejection of malformed protobuf ---- */

static void
expect_alg_reject(const PsaAlgorithm__Algorithm *m, const char *what)
{
	tt_alg_t a = 0x5A5A5A5A;

	if (tt_pb_alg_to_psa(m, &a) != TT_ERR_INVALID_ARGUMENT)
		fail_msg("%s accepted", what);
	assert_true(a == 0x5A5A5A5A);
}

static void
test_reject_algorithms(void **state)
{
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm__Mac mac = PSA_ALGORITHM__ALGORITHM__MAC__INIT;
	PsaAlgorithm__Algorithm__Mac__FullLength fl = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__INIT;
	PsaAlgorithm__Algorithm__Mac__FullLength__Hmac hmac = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__HMAC__INIT;
	PsaAlgorithm__Algorithm__Mac__Truncated tr = PSA_ALGORITHM__ALGORITHM__MAC__TRUNCATED__INIT;
	PsaAlgorithm__Algorithm__Aead aead = PSA_ALGORITHM__ALGORITHM__AEAD__INIT;
	PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag st =
		PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_SHORTENED_TAG__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature sig = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa =
		PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__ECDSA__INIT;
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh =
		PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__INIT;
	PsaAlgorithm__Algorithm__AsymmetricEncryption enc = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__INIT;
	PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaOaep oaep =
		PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__RSA_OAEP__INIT;
	PsaAlgorithm__Algorithm__KeyAgreement ka = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__INIT;
	PsaAlgorithm__Algorithm__KeyAgreement__WithKeyDerivation wk =
		PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__WITH_KEY_DERIVATION__INIT;
	PsaAlgorithm__Algorithm__KeyDerivation kdf = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__INIT;
	PsaAlgorithm__Algorithm__KeyDerivation__Hkdf hkdf = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__HKDF__INIT;
	tt_alg_t a;

	(void)state;
	expect_alg_reject(&alg, "unset Algorithm oneof");
	alg.variant_case = (PsaAlgorithm__Algorithm__VariantCase)99;
	expect_alg_reject(&alg, "Algorithm case 99");

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
	alg.hash = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	expect_alg_reject(&alg, "HASH_NONE");
	alg.hash = (PsaAlgorithm__Algorithm__Hash)99;
	expect_alg_reject(&alg, "hash 99");

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
	alg.cipher = PSA_ALGORITHM__ALGORITHM__CIPHER__CIPHER_NONE;
	expect_alg_reject(&alg, "CIPHER_NONE");
	alg.cipher = (PsaAlgorithm__Algorithm__Cipher)99;
	expect_alg_reject(&alg, "cipher 99");

	/* MAC */
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
	alg.mac = NULL;
	expect_alg_reject(&alg, "mac NULL");
	alg.mac = &mac;
	expect_alg_reject(&alg, "unset Mac oneof");
	mac.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
	expect_alg_reject(&alg, "full_length NULL");
	mac.full_length = &fl;
	expect_alg_reject(&alg, "unset FullLength oneof");
	fl.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC;
	expect_alg_reject(&alg, "hmac NULL");
	fl.hmac = &hmac;
	expect_alg_reject(&alg, "hmac HASH_NONE");
	hmac.hash_alg = (PsaAlgorithm__Algorithm__Hash)99;
	expect_alg_reject(&alg, "hmac hash 99");
	hmac.hash_alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	assert_int_equal(tt_pb_alg_to_psa(&alg, &a), 0);
	assert_true(a == TT_ALG_HMAC(TT_ALG_SHA_256));

	mac.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED;
	mac.truncated = NULL;
	expect_alg_reject(&alg, "truncated NULL");
	mac.truncated = &tr;
	tr.mac_length = 16;
	expect_alg_reject(&alg, "truncated mac_alg NULL");
	tr.mac_alg = &fl;
	tr.mac_length = 0;
	expect_alg_reject(&alg, "truncated length 0");
	tr.mac_length = 64;
	expect_alg_reject(&alg, "truncated length 64");
	tr.mac_length = 33;
	expect_alg_reject(&alg, "truncated HMAC-SHA256 to 33");
	tr.mac_length = UINT32_MAX;
	expect_alg_reject(&alg, "truncated length 2^32-1");
	tr.mac_length = 0x10010;               /* would alias 16 if masked, not range-checked */
	expect_alg_reject(&alg, "truncated length 0x10010");
	tr.mac_length = 16;
	assert_int_equal(tt_pb_alg_to_psa(&alg, &a), 0);
	assert_true(a == TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_256), 16));
	tr.mac_length = 32;
	assert_int_equal(tt_pb_alg_to_psa(&alg, &a), 0);
	assert_true(a == TT_ALG_HMAC(TT_ALG_SHA_256));
	hmac.hash_alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_512;
	tr.mac_length = 63;
	assert_int_equal(tt_pb_alg_to_psa(&alg, &a), 0);
	assert_true(a == TT_ALG_TRUNCATED_MAC(TT_ALG_HMAC(TT_ALG_SHA_512), 63));

	/* AEAD */
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
	alg.aead = NULL;
	expect_alg_reject(&alg, "aead NULL");
	alg.aead = &aead;
	expect_alg_reject(&alg, "unset Aead oneof");
	aead.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
	aead.aead_with_default_length_tag =
		PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__AEAD_WITH_DEFAULT_LENGTH_TAG_NONE;
	expect_alg_reject(&alg, "AEAD NONE");
	aead.aead_with_default_length_tag = (PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag)99;
	expect_alg_reject(&alg, "AEAD 99");
	aead.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG;
	aead.aead_with_shortened_tag = NULL;
	expect_alg_reject(&alg, "shortened NULL");
	aead.aead_with_shortened_tag = &st;
	st.tag_length = 8;
	expect_alg_reject(&alg, "shortened AEAD NONE");
	st.aead_alg = PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CCM;
	st.tag_length = 0;
	expect_alg_reject(&alg, "tag length 0");
	st.tag_length = 17;
	expect_alg_reject(&alg, "tag length 17");
	st.tag_length = 0x100008;
	expect_alg_reject(&alg, "tag length 0x100008");

	/* signature */
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
	alg.asymmetric_signature = NULL;
	expect_alg_reject(&alg, "signature NULL");
	alg.asymmetric_signature = &sig;
	expect_alg_reject(&alg, "unset AsymmetricSignature oneof");
	sig.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
	expect_alg_reject(&alg, "ecdsa NULL");
	sig.ecdsa = &ecdsa;
	expect_alg_reject(&alg, "ecdsa hash_alg NULL");
	ecdsa.hash_alg = &sh;
	expect_alg_reject(&alg, "unset SignHash oneof");
	sh.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	sh.specific = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	expect_alg_reject(&alg, "SignHash specific HASH_NONE");
	sh.specific = (PsaAlgorithm__Algorithm__Hash)99;
	expect_alg_reject(&alg, "SignHash specific 99");
	sig.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS;
	sig.rsa_pss = NULL;
	expect_alg_reject(&alg, "rsa_pss NULL");
	sig.variant_case = (PsaAlgorithm__Algorithm__AsymmetricSignature__VariantCase)42;
	expect_alg_reject(&alg, "signature case 42");

	/* asymmetric encryption */
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION;
	alg.asymmetric_encryption = &enc;
	expect_alg_reject(&alg, "unset AsymmetricEncryption oneof");
	enc.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP;
	expect_alg_reject(&alg, "rsa_oaep NULL");
	enc.rsa_oaep = &oaep;
	expect_alg_reject(&alg, "OAEP HASH_NONE");
	oaep.hash_alg = (PsaAlgorithm__Algorithm__Hash)99;
	expect_alg_reject(&alg, "OAEP hash 99");

	/* key agreement and derivation */
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT;
	alg.key_agreement = &ka;
	expect_alg_reject(&alg, "unset KeyAgreement oneof");
	ka.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
	ka.raw = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__RAW_NONE;
	expect_alg_reject(&alg, "RAW_NONE");
	ka.raw = (PsaAlgorithm__Algorithm__KeyAgreement__Raw)99;
	expect_alg_reject(&alg, "raw 99");
	ka.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION;
	ka.with_key_derivation = NULL;
	expect_alg_reject(&alg, "with_key_derivation NULL");
	ka.with_key_derivation = &wk;
	wk.ka_alg = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
	expect_alg_reject(&alg, "kdf_alg NULL");
	wk.kdf_alg = &kdf;
	expect_alg_reject(&alg, "unset KeyDerivation oneof");
	kdf.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF;
	expect_alg_reject(&alg, "hkdf NULL");
	kdf.hkdf = &hkdf;
	expect_alg_reject(&alg, "hkdf HASH_NONE");
	hkdf.hash_alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	wk.ka_alg = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__RAW_NONE;
	expect_alg_reject(&alg, "with_key_derivation RAW_NONE");
	wk.ka_alg = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
	assert_int_equal(tt_pb_alg_to_psa(&alg, &a), 0);
	assert_true(a == TT_ALG_KEY_AGREEMENT(TT_ALG_ECDH, TT_ALG_HKDF(TT_ALG_SHA_256)));

	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION;
	alg.key_derivation = NULL;
	expect_alg_reject(&alg, "key_derivation NULL");
	alg.key_derivation = &kdf;
	kdf.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF;
	kdf.tls12_prf = NULL;
	expect_alg_reject(&alg, "tls12_prf NULL");

	/* Direct sub-message entry points take NULL as malformed. */
	assert_int_equal(tt_pb_sign_to_psa(NULL, &a), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_asym_enc_to_psa(NULL, &a), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_aead_to_psa(NULL, &a), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_pb_mac_to_psa(NULL, &a), TT_ERR_INVALID_ARGUMENT);
}

/* protobuf-c keeps enum numbers it does not know: decode real bytes carrying 99. */
static void
test_reject_unknown_enum_on_the_wire(void **state)
{
	/* Algorithm { hash = 99 } */
	static const uint8_t hash99[] = { 0x10, 0x63 };
	/* Algorithm { cipher = 99 } */
	static const uint8_t cipher99[] = { 0x20, 0x63 };
	/* Algorithm { aead { aead_with_default_length_tag = 99 } } */
	static const uint8_t aead99[] = { 0x2a, 0x02, 0x08, 0x63 };
	/* Algorithm { mac { truncated { mac_alg { cmac {} } mac_length = 64 } } } */
	static const uint8_t trunc64[] = { 0x1a, 0x08, 0x12, 0x06, 0x0a, 0x02, 0x1a, 0x00, 0x10, 0x40 };
	/* Algorithm { mac { truncated { mac_alg { cmac {} } mac_length = 8 } } } (control) */
	static const uint8_t trunc8[] = { 0x1a, 0x08, 0x12, 0x06, 0x0a, 0x02, 0x1a, 0x00, 0x10, 0x08 };
	/* Algorithm {} : the oneof is unset */
	static const uint8_t empty[] = { 0 };
	static const struct {
		const uint8_t *b;
		size_t n;
		int want;
	} cases[] = {
		{ hash99, sizeof(hash99), TT_ERR_INVALID_ARGUMENT },
		{ cipher99, sizeof(cipher99), TT_ERR_INVALID_ARGUMENT },
		{ aead99, sizeof(aead99), TT_ERR_INVALID_ARGUMENT },
		{ trunc64, sizeof(trunc64), TT_ERR_INVALID_ARGUMENT },
		{ trunc8, sizeof(trunc8), 0 },
		{ empty, 0, TT_ERR_INVALID_ARGUMENT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PsaAlgorithm__Algorithm *u = psa_algorithm__algorithm__unpack(NULL, cases[i].n, cases[i].b);
		tt_alg_t a;

		assert_non_null(u);
		if (tt_pb_alg_to_psa(u, &a) != cases[i].want)
			fail_msg("case %zu: wrong result", i);
		psa_algorithm__algorithm__free_unpacked(u, NULL);
	}
	{
		tt_alg_t a;
		PsaAlgorithm__Algorithm *u = psa_algorithm__algorithm__unpack(NULL, sizeof(trunc8), trunc8);

		assert_int_equal(tt_pb_alg_to_psa(u, &a), 0);
		assert_true(a == TT_ALG_TRUNCATED_MAC(TT_ALG_CMAC, 8));
		psa_algorithm__algorithm__free_unpacked(u, NULL);
	}
}

static void
expect_attrs_reject(const PsaKeyAttributes__KeyAttributes *m, const char *what)
{
	struct tt_key_attrs a, s;

	memset(&a, 0x5A, sizeof(a));
	memset(&s, 0x5A, sizeof(s));
	if (tt_pb_attrs_to_psa(m, &a) != TT_ERR_INVALID_ARGUMENT)
		fail_msg("%s accepted", what);
	assert_memory_equal(&a, &s, sizeof(a));
}

static void
test_reject_attrs(void **state)
{
	PsaKeyAttributes__KeyAttributes ka = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType kt = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__EccKeyPair ecc = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
	PsaKeyAttributes__KeyType__DhPublicKey dh = PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_PUBLIC_KEY__INIT;
	PsaKeyAttributes__KeyPolicy pol = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags uf = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	struct tt_key_attrs a;

	(void)state;
	expect_attrs_reject(NULL, "NULL attributes");
	expect_attrs_reject(&ka, "key_type missing");
	ka.key_type = &kt;
	expect_attrs_reject(&ka, "unset KeyType oneof");
	kt.variant_case = (PsaKeyAttributes__KeyType__VariantCase)99;
	expect_attrs_reject(&ka, "KeyType case 99");
	kt.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR;
	kt.ecc_key_pair = NULL;
	expect_attrs_reject(&ka, "ecc_key_pair NULL");
	kt.ecc_key_pair = &ecc;
	expect_attrs_reject(&ka, "ECC_FAMILY_NONE");
	ecc.curve_family = (PsaKeyAttributes__KeyType__EccFamily)99;
	expect_attrs_reject(&ka, "curve family 99");
	ecc.curve_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1;
	ka.key_bits = 256;

	/* An absent policy is the empty policy. */
	assert_int_equal(tt_pb_attrs_to_psa(&ka, &a), 0);
	assert_int_equal(a.type, 0x7112);
	assert_int_equal(a.bits, 256);
	assert_int_equal(a.usage, 0);
	assert_true(a.alg == TT_ALG_NONE);

	ka.key_policy = &pol;
	pol.key_usage_flags = &uf;
	uf.sign_hash = 1;
	pol.key_algorithm = &alg;
	expect_attrs_reject(&ka, "policy algorithm with unset oneof");
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
	alg.hash = (PsaAlgorithm__Algorithm__Hash)99;
	expect_attrs_reject(&ka, "policy algorithm hash 99");
	pol.key_algorithm = NULL;
	assert_int_equal(tt_pb_attrs_to_psa(&ka, &a), 0);
	assert_int_equal(a.usage, TT_USAGE_SIGN_HASH);
	assert_true(a.alg == TT_ALG_NONE);

	kt.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY;
	kt.dh_public_key = NULL;
	expect_attrs_reject(&ka, "dh_public_key NULL");
	kt.dh_public_key = &dh;
	assert_int_equal(tt_pb_attrs_to_psa(&ka, &a), 0);   /* RFC7919 is enum value 0 */
	assert_int_equal(a.type, 0x4203);
	dh.group_family = (PsaKeyAttributes__KeyType__DhFamily)99;
	expect_attrs_reject(&ka, "DH family 99");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric_values),
		cmocka_unit_test(test_hash_and_none),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_cipher),
		cmocka_unit_test(test_aead),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_asym_enc),
		cmocka_unit_test(test_kdf_and_ka),
		cmocka_unit_test(test_other_categories_rejected),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_usage_flags),
		cmocka_unit_test(test_reject_algorithms),
		cmocka_unit_test(test_reject_unknown_enum_on_the_wire),
		cmocka_unit_test(test_reject_attrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
