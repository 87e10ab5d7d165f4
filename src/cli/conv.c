/* Conversions between PSA formats and OpenSSL's (see conv.h for the contracts). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/conv.h"
#include "turtle/error.h"
#include "util/mem.h"

int
tt_cli_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int n, ret;

	if (raw == NULL || raw_len == 0 || raw_len % 2 != 0 || raw_len > 2 * 66)
		return TT_ERR_INVALID_ARGUMENT;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)(raw_len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2), NULL)) == NULL) {
		ret = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (ECDSA_SIG_set0(sig, r, s) != 1) {
		ret = TT_ERR_NO_MEMORY;
		goto out;
	}
	r = s = NULL; /* owned by sig */
	if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0 || (p = malloc((size_t)n)) == NULL) {
		ret = TT_ERR_NO_MEMORY;
		goto out;
	}
	{
		unsigned char *q = p;
		if (i2d_ECDSA_SIG(sig, &q) != n) {
			ret = TT_ERR_GENERIC;
			goto out;
		}
	}
	*der = p;
	*der_len = (size_t)n;
	p = NULL;
	ret = 0;
out:
	free(p);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ret;
}

int
tt_cli_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len,
			uint8_t **raw, size_t *raw_len)
{
	const unsigned char *q = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = NULL;
	uint8_t *p = NULL;
	int ret;

	if (der == NULL || der_len == 0 || der_len > 1024 || field_len == 0 || field_len > 66)
		return TT_ERR_INVALID_ARGUMENT;
	if ((sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len)) == NULL ||
	    q != der + der_len) {
		/* Trailing bytes after the SEQUENCE are a malformed signature too. */
		ret = TT_ERR_INVALID_SIGNATURE;
		goto out;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) ||
	    (size_t)BN_num_bytes(r) > field_len || (size_t)BN_num_bytes(s) > field_len) {
		ret = TT_ERR_INVALID_SIGNATURE;
		goto out;
	}
	if ((p = malloc(2 * field_len)) == NULL) {
		ret = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (BN_bn2binpad(r, p, (int)field_len) < 0 ||
	    BN_bn2binpad(s, p + field_len, (int)field_len) < 0) {
		ret = TT_ERR_INVALID_SIGNATURE;
		goto out;
	}
	*raw = p;
	*raw_len = 2 * field_len;
	p = NULL;
	ret = 0;
out:
	free(p);
	ECDSA_SIG_free(sig);
	return ret;
}

const char *
tt_cli_curve_name(uint32_t bits)
{
	switch (bits) {
	case 256: return "prime256v1";
	case 384: return "secp384r1";
	case 521: return "secp521r1";
	default: return NULL;
	}
}

static int
ec_pub_from_point(uint32_t bits, const uint8_t *pt, size_t len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	const char *group;
	int ret;

	/* Uncompressed point: 0x04 || X || Y, coordinates of the field size. */
	if (len < 3 || pt[0] != 0x04 || (len - 1) % 2 != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (bits == 0) {
		size_t flen = (len - 1) / 2;
		bits = flen == 32 ? 256 : flen == 48 ? 384 : flen == 66 ? 521 : 0;
	}
	if ((group = tt_cli_curve_name(bits)) == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if ((len - 1) / 2 != (bits + 7) / 8)
		return TT_ERR_INVALID_ARGUMENT;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) {
		ret = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		/* Points not on the curve are refused here. */
		ret = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*out = pk;
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ret;
}

int
tt_cli_pubkey_from_psa(tt_key_type_t type, uint32_t bits, const uint8_t *data, size_t len,
		       EVP_PKEY **out)
{
	const unsigned char *q = data;
	EVP_PKEY *pk;

	if (data == NULL || len == 0 || out == NULL || len > (size_t)INT32_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if (TT_KEY_TYPE_IS_ECC(type)) {
		if (TT_KEY_TYPE_ECC_GET_FAMILY(type) != TT_ECC_FAMILY_SECP_R1)
			return TT_ERR_NOT_SUPPORTED;
		return ec_pub_from_point(bits, data, len, out);
	}
	if (TT_KEY_TYPE_IS_RSA(type)) {
		/* d2i_PublicKey reads the type-specific form, which for RSA is PKCS#1. */
		if ((pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len)) == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if (q != data + len) {
			EVP_PKEY_free(pk);
			return TT_ERR_INVALID_ARGUMENT;
		}
		*out = pk;
		return 0;
	}
	return TT_ERR_NOT_SUPPORTED;
}

int
tt_cli_pubkey_to_pem(EVP_PKEY *pk, char **pem, size_t *pem_len)
{
	BIO *bio = NULL;
	char *mem, *p = NULL;
	long n;
	int ret;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return TT_ERR_NO_MEMORY;
	if (PEM_write_bio_PUBKEY(bio, pk) != 1) {
		ret = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((n = BIO_get_mem_data(bio, &mem)) <= 0 || (p = malloc((size_t)n + 1)) == NULL) {
		ret = TT_ERR_NO_MEMORY;
		goto out;
	}
	memcpy(p, mem, (size_t)n);
	p[n] = '\0';
	*pem = p;
	*pem_len = (size_t)n;
	ret = 0;
out:
	BIO_free(bio);
	return ret;
}

static int
ec_to_psa(EVP_PKEY *pk, struct tt_key_attrs *a, uint8_t **data, size_t *len)
{
	char group[64];
	BIGNUM *priv = NULL;
	uint8_t *p = NULL;
	size_t n = 0, flen;
	int bits, ret;

	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL) != 1)
		return TT_ERR_NOT_SUPPORTED;
	bits = EVP_PKEY_get_bits(pk);
	if (bits <= 0 || tt_cli_curve_name((uint32_t)bits) == NULL ||
	    strcmp(group, tt_cli_curve_name((uint32_t)bits)) != 0)
		return TT_ERR_NOT_SUPPORTED;
	flen = ((size_t)bits + 7) / 8;
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1) {
		n = flen;
		if ((p = malloc(n)) == NULL) {
			ret = TT_ERR_NO_MEMORY;
			goto out;
		}
		if (BN_bn2binpad(priv, p, (int)n) < 0) {
			ret = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		a->type = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1);
	} else {
		/* Ask for the uncompressed form explicitly: a PEM may carry a compressed
		 * point, which PSA's import format does not allow. */
		n = 1 + 2 * flen;
		if ((p = malloc(n)) == NULL) {
			ret = TT_ERR_NO_MEMORY;
			goto out;
		}
		if (EVP_PKEY_set_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
						   "uncompressed") != 1 ||
		    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, p, n,
						    &n) != 1 || n != 1 + 2 * flen) {
			ret = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		a->type = TT_KEY_TYPE_ECC_PUBLIC_KEY(TT_ECC_FAMILY_SECP_R1);
	}
	a->bits = (uint32_t)bits;
	*data = p;
	*len = n;
	p = NULL;
	ret = 0;
out:
	if (p != NULL)
		tt_free_secret(p, n);
	BN_clear_free(priv);
	return ret;
}

static int
rsa_to_psa(EVP_PKEY *pk, struct tt_key_attrs *a, uint8_t **data, size_t *len)
{
	BIGNUM *d = NULL;
	unsigned char *der = NULL;
	uint8_t *p;
	bool priv;
	int n;

	priv = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &d) == 1;
	BN_clear_free(d);
	/* Type-specific DER for RSA is PKCS#1, PSA's import format. */
	n = priv ? i2d_PrivateKey(pk, &der) : i2d_PublicKey(pk, &der);
	if (n <= 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((p = malloc((size_t)n)) == NULL) {
		OPENSSL_clear_free(der, (size_t)n);
		return TT_ERR_NO_MEMORY;
	}
	memcpy(p, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	a->type = priv ? TT_KEY_TYPE_RSA_KEY_PAIR : TT_KEY_TYPE_RSA_PUBLIC_KEY;
	a->bits = (uint32_t)EVP_PKEY_get_bits(pk);
	*data = p;
	*len = (size_t)n;
	return 0;
}

int
tt_cli_pkey_to_psa(EVP_PKEY *pk, struct tt_key_attrs *attrs, uint8_t **data, size_t *len)
{
	if (pk == NULL || attrs == NULL || data == NULL || len == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (EVP_PKEY_is_a(pk, "EC"))
		return ec_to_psa(pk, attrs, data, len);
	if (EVP_PKEY_is_a(pk, "RSA"))
		return rsa_to_psa(pk, attrs, data, len);
	return TT_ERR_NOT_SUPPORTED;
}

tt_alg_t
tt_cli_sign_hash_for(const struct tt_key_attrs *a)
{
	tt_alg_t h = TT_ALG_GET_HASH(a->alg);

	if (TT_ALG_IS_SIGN(a->alg) && h != TT_ALG_NONE && h != TT_ALG_ANY_HASH)
		return h;
	if (TT_KEY_TYPE_IS_ECC(a->type)) {
		if (a->bits == 384)
			return TT_ALG_SHA_384;
		if (a->bits == 521)
			return TT_ALG_SHA_512;
	}
	return TT_ALG_SHA_256;
}

tt_alg_t
tt_cli_sign_alg_for(const struct tt_key_attrs *a, tt_alg_t hash)
{
	tt_alg_t base;

	if (TT_ALG_IS_SIGN(a->alg)) {
		base = TT_ALG_SIGN_BASE(a->alg);
		/* Raw (hashless) variants cannot make a standard signature over a digest
		 * with an algorithm identifier, so fall through to the defaults. */
		if (a->alg != TT_ALG_RSA_PKCS1V15_SIGN_RAW && a->alg != TT_ALG_ECDSA_ANY)
			return base | (hash & TT_ALG_HASH_MASK);
	}
	if (TT_KEY_TYPE_IS_ECC(a->type))
		return TT_ALG_ECDSA(hash);
	if (TT_KEY_TYPE_IS_RSA(a->type))
		return TT_ALG_RSA_PKCS1V15_SIGN(hash);
	return TT_ALG_NONE;
}
