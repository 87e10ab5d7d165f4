/*
 * Key material: which (type, bits) the soft provider takes, and conversion between the
 * PSA export formats and OpenSSL objects. The PSA format is what gets wrapped, so these
 * functions are the only place that knows both encodings.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "providers/soft/soft_der.h"
#include "providers/soft/soft_int.h"
#include "turtle/error.h"
#include "util/mem.h"

static int
is_secp_r1(tt_key_type_t type)
{
	return TT_KEY_TYPE_IS_ECC(type) && TT_KEY_TYPE_ECC_GET_FAMILY(type) == TT_ECC_FAMILY_SECP_R1;
}

static int
is_x25519(tt_key_type_t type)
{
	return TT_KEY_TYPE_IS_ECC(type) && TT_KEY_TYPE_ECC_GET_FAMILY(type) == TT_ECC_FAMILY_MONTGOMERY;
}

static const char *
r1_group(uint32_t bits)
{
	switch (bits) {
	case 256: return "P-256";
	case 384: return "P-384";
	case 521: return "P-521";
	default: return NULL;
	}
}

size_t
tt_soft_ecc_bytes(uint32_t bits)
{
	return (bits + 7) / 8;
}

int
tt_soft_type_ok(tt_key_type_t type, uint32_t bits, int import)
{
	if (bits == 0 && import)
		return tt_soft_type_ok(type, type == TT_KEY_TYPE_AES ? 128 :
		    type == TT_KEY_TYPE_CHACHA20 ? 256 : is_x25519(type) ? 255 :
		    is_secp_r1(type) ? 256 : TT_KEY_TYPE_IS_RSA(type) ? 2048 : 8, import);
	switch (type) {
	case TT_KEY_TYPE_RSA_KEY_PAIR:
		if (import)
			return bits >= 1024 && bits <= 8192 && bits % 8 == 0 ? 0 : TT_ERR_NOT_SUPPORTED;
		return bits == 2048 || bits == 3072 || bits == 4096 ? 0 : TT_ERR_NOT_SUPPORTED;
	case TT_KEY_TYPE_RSA_PUBLIC_KEY:
		return import && bits >= 1024 && bits <= 8192 && bits % 8 == 0 ? 0 : TT_ERR_NOT_SUPPORTED;
	case TT_KEY_TYPE_AES:
		return bits == 128 || bits == 192 || bits == 256 ? 0 : TT_ERR_NOT_SUPPORTED;
	case TT_KEY_TYPE_CHACHA20:
		return bits == 256 ? 0 : TT_ERR_NOT_SUPPORTED;
	case TT_KEY_TYPE_HMAC:
	case TT_KEY_TYPE_RAW_DATA:
		return bits >= 8 && bits <= SOFT_MAX_SYM_BYTES * 8 && bits % 8 == 0 ? 0 : TT_ERR_NOT_SUPPORTED;
	default:
		break;
	}
	if (is_secp_r1(type) && r1_group(bits) != NULL)
		return TT_KEY_TYPE_IS_KEY_PAIR(type) || import ? 0 : TT_ERR_NOT_SUPPORTED;
	if (is_x25519(type) && bits == 255)
		return TT_KEY_TYPE_IS_KEY_PAIR(type) || import ? 0 : TT_ERR_NOT_SUPPORTED;
	return TT_ERR_NOT_SUPPORTED;
}

const char *
tt_soft_md_name(tt_alg_t hash)
{
	switch (hash) {
	case TT_ALG_MD5: return "MD5";
	case TT_ALG_RIPEMD160: return "RIPEMD160";
	case TT_ALG_SHA_1: return "SHA1";
	case TT_ALG_SHA_224: return "SHA224";
	case TT_ALG_SHA_256: return "SHA256";
	case TT_ALG_SHA_384: return "SHA384";
	case TT_ALG_SHA_512: return "SHA512";
	case TT_ALG_SHA_512_224: return "SHA512-224";
	case TT_ALG_SHA_512_256: return "SHA512-256";
	case TT_ALG_SHA3_224: return "SHA3-224";
	case TT_ALG_SHA3_256: return "SHA3-256";
	case TT_ALG_SHA3_384: return "SHA3-384";
	case TT_ALG_SHA3_512: return "SHA3-512";
	default: return NULL;
	}
}

const EVP_MD *
tt_soft_md(tt_alg_t hash)
{
	const char *n = tt_soft_md_name(hash);

	return n == NULL ? NULL : EVP_get_digestbyname(n);
}

/* Hash part of a policy algorithm: wildcard or a hash OpenSSL has. */
static int
hash_ok(tt_alg_t alg, int allow_none)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);

	if (h == TT_ALG_NONE)
		return allow_none;
	if (h == TT_ALG_ANY_HASH)
		return 1;
	return tt_soft_md(h) != NULL;
}

int
tt_soft_sign_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	if (TT_ALG_SIGN_BASE(alg) == TT_ALG_DETERMINISTIC_ECDSA_BASE)
		return TT_ERR_NOT_SUPPORTED;  /* OpenSSL 3.0 has no RFC 6979 */
	if (TT_ALG_SIGN_BASE(alg) == TT_ALG_ECDSA_BASE)
		return is_secp_r1(type) && hash_ok(alg, 1) ? 0 : TT_ERR_NOT_SUPPORTED;
	if (TT_ALG_IS_RSA_PKCS1V15_SIGN(alg))
		return TT_KEY_TYPE_IS_RSA(type) && hash_ok(alg, 1) ? 0 : TT_ERR_NOT_SUPPORTED;
	if (TT_ALG_IS_RSA_PSS(alg))
		return TT_KEY_TYPE_IS_RSA(type) && hash_ok(alg, 0) ? 0 : TT_ERR_NOT_SUPPORTED;
	return TT_ERR_NOT_SUPPORTED;
}

int
tt_soft_asym_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	if (!TT_KEY_TYPE_IS_RSA(type))
		return TT_ERR_NOT_SUPPORTED;
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT)
		return 0;
	if (TT_ALG_IS_RSA_OAEP(alg) && TT_ALG_GET_HASH(alg) != TT_ALG_ANY_HASH && hash_ok(alg, 0))
		return 0;
	return TT_ERR_NOT_SUPPORTED;
}

int
tt_soft_ka_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	if (alg != TT_ALG_ECDH)
		return TT_ERR_NOT_SUPPORTED;
	return TT_KEY_TYPE_IS_KEY_PAIR(type) && (is_secp_r1(type) || is_x25519(type)) ?
	    0 : TT_ERR_NOT_SUPPORTED;
}

int
tt_soft_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	size_t n;

	switch (TT_ALG_CATEGORY(alg)) {
	case TT_ALG_CATEGORY_SIGN: return tt_soft_sign_alg_ok(type, alg);
	case TT_ALG_CATEGORY_ASYM_ENC: return tt_soft_asym_alg_ok(type, alg);
	case TT_ALG_CATEGORY_AEAD: return tt_soft_aead_alg_ok(type, alg);
	case TT_ALG_CATEGORY_CIPHER: return tt_soft_cipher_alg_ok(type, alg);
	case TT_ALG_CATEGORY_MAC: return tt_soft_mac_alg_ok(type, 0, alg, &n);
	case TT_ALG_CATEGORY_KA: return tt_soft_ka_alg_ok(type, alg);
	default: return TT_ERR_NOT_SUPPORTED;
	}
}

static struct soft_key *
key_new(tt_key_type_t type, uint32_t bits)
{
	struct soft_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	atomic_init(&k->refs, 1);
	k->type = type;
	k->bits = bits;
	return k;
}

struct soft_key *
tt_soft_key_get(struct soft_key *k)
{
	atomic_fetch_add(&k->refs, 1);
	return k;
}

void
tt_soft_key_put(struct soft_key *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	EVP_PKEY_free(k->pkey);
	/* from the secure heap (soft.c: secure_heap_init), or the heap without one */
	if (k->raw != NULL)
		OPENSSL_secure_clear_free(k->raw, k->raw_len);
	free(k);
}

/* Build an EC key from group name and (optionally) private scalar + public point. */
static int
ec_fromdata(const char *group, const BIGNUM *priv, const uint8_t *pub, size_t pub_len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pk = NULL;
	int r = TT_ERR_NO_MEMORY;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) ||
	    (priv != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		goto out;
	r = TT_ERR_INVALID_ARGUMENT;  /* fromdata rejects points off the curve */
	if (EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	*out = pk;
	pk = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static uint32_t
r1_bits_from_len(size_t n)
{
	return n == 32 ? 256 : n == 48 ? 384 : n == 66 ? 521 : 0;
}

int
tt_soft_ecc_public_from_psa(tt_key_type_t type, uint32_t bits, const uint8_t *d, size_t len,
    EVP_PKEY **out)
{
	const char *g;

	if (is_x25519(type)) {
		if (len != 32)
			return TT_ERR_INVALID_ARGUMENT;
		*out = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, d, len);
		return *out == NULL ? TT_ERR_INVALID_ARGUMENT : 0;
	}
	if (!is_secp_r1(type))
		return TT_ERR_NOT_SUPPORTED;
	if (bits == 0 && len % 2 == 1)
		bits = r1_bits_from_len(len / 2);
	if ((g = r1_group(bits)) == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	/* Only the uncompressed form is a PSA public key. */
	if (len != 1 + 2 * tt_soft_ecc_bytes(bits) || d[0] != 0x04)
		return TT_ERR_INVALID_ARGUMENT;
	return ec_fromdata(g, NULL, d, len, out);
}

static int
parse_ec_pair(const uint8_t *d, size_t len, EVP_PKEY **out, uint32_t *bits)
{
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *priv = NULL;
	BN_CTX *bn = NULL;
	uint8_t pub[1 + 2 * 66];
	size_t pub_len;
	const char *g;
	int r = TT_ERR_INVALID_ARGUMENT;

	if ((*bits = r1_bits_from_len(len)) == 0 || (g = r1_group(*bits)) == NULL)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if ((grp = EC_GROUP_new_by_curve_name(*bits == 256 ? NID_X9_62_prime256v1 :
	    *bits == 384 ? NID_secp384r1 : NID_secp521r1)) == NULL ||
	    (priv = BN_secure_new()) == NULL || (bn = BN_CTX_secure_new()) == NULL ||
	    (pt = EC_POINT_new(grp)) == NULL)
		goto out;
	if (BN_bin2bn(d, (int)len, priv) == NULL)
		goto out;
	/* PSA: the scalar must be in [1, n-1]. */
	r = TT_ERR_INVALID_ARGUMENT;
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(grp)) >= 0)
		goto out;
	/* OpenSSL 3.0 does not derive the public point from fromdata; do it here. */
	r = TT_ERR_GENERIC;
	if (!EC_POINT_mul(grp, pt, priv, NULL, NULL, bn) ||
	    (pub_len = EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), bn)) == 0)
		goto out;
	r = ec_fromdata(g, priv, pub, pub_len, out);
out:
	BN_clear_free(priv);
	BN_CTX_free(bn);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	return r;
}

/*
 * An RSA key pair from its PKCS#1 DER through our own reader (soft_der.h says why not
 * OpenSSL's decoder) and EVP_PKEY_fromdata. The private values pass through secure-heap
 * BIGNUMs and the parameter builder's secure block, both cleared when freed; the key
 * OpenSSL builds from them clears its copies when it is freed (RSA pairs are parsed per
 * operation, never cached: soft_cache.c).
 */
static int
parse_rsa_pair(const uint8_t *d, size_t len, EVP_PKEY **out)
{
	static const char *const names[SOFT_RSA_NPARTS] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	struct soft_rsa_parts rp;
	BIGNUM *bn[SOFT_RSA_NPARTS] = { 0 };
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	int r;

	if ((r = tt_soft_rsa_der_parse(d, len, &rp)) != 0)
		return r;
	r = TT_ERR_NO_MEMORY;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	for (int i = 0; i < SOFT_RSA_NPARTS; i++) {
		/* n and e are public; the builder keeps secure BIGNUMs in its secure block */
		bn[i] = i <= SOFT_RSA_E ? BN_new() : BN_secure_new();
		if (bn[i] == NULL || BN_bin2bn(rp.v[i], (int)rp.len[i], bn[i]) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]))
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL)
		goto out;
	r = TT_ERR_INVALID_ARGUMENT;
	if (EVP_PKEY_fromdata_init(pc) <= 0 || EVP_PKEY_fromdata(pc, out, EVP_PKEY_KEYPAIR, params) <= 0)
		goto out;
	r = 0;
out:
	for (int i = 0; i < SOFT_RSA_NPARTS; i++)
		BN_clear_free(bn[i]);
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int
tt_soft_key_parse(tt_key_type_t type, const uint8_t *d, size_t len, struct soft_key **out)
{
	struct soft_key *k = NULL;
	const unsigned char *p = d;
	uint32_t bits = 0;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (len == 0 || len > SOFT_MAX_KEY_BYTES)
		return TT_ERR_INVALID_ARGUMENT;
	if ((k = key_new(type, 0)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (type == TT_KEY_TYPE_RSA_KEY_PAIR || type == TT_KEY_TYPE_RSA_PUBLIC_KEY) {
		if (type == TT_KEY_TYPE_RSA_KEY_PAIR) {
			if ((r = parse_rsa_pair(d, len, &k->pkey)) != 0)
				goto out;
			r = TT_ERR_INVALID_ARGUMENT;
		} else {
			k->pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
			if (k->pkey == NULL || p != d + len)  /* trailing bytes are an error */
				goto out;
		}
		bits = (uint32_t)EVP_PKEY_get_bits(k->pkey);
		if (tt_soft_type_ok(type, bits, 1) != 0)
			goto out;
	} else if (is_secp_r1(type) && TT_KEY_TYPE_IS_KEY_PAIR(type)) {
		if ((r = parse_ec_pair(d, len, &k->pkey, &bits)) != 0)
			goto out;
	} else if (is_secp_r1(type)) {
		if (len % 2 != 1 || (bits = r1_bits_from_len(len / 2)) == 0)
			goto out;
		if ((r = tt_soft_ecc_public_from_psa(type, bits, d, len, &k->pkey)) != 0)
			goto out;
	} else if (is_x25519(type)) {
		if (len != 32)
			goto out;
		/* RFC 7748 clamping happens inside X25519, so every 32-byte string is a key. */
		k->pkey = TT_KEY_TYPE_IS_KEY_PAIR(type) ?
		    EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, d, len) :
		    EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, d, len);
		if (k->pkey == NULL)
			goto out;
		bits = 255;
	} else if (type == TT_KEY_TYPE_AES || type == TT_KEY_TYPE_CHACHA20 ||
	    type == TT_KEY_TYPE_HMAC || type == TT_KEY_TYPE_RAW_DATA) {
		if (len > SOFT_MAX_SYM_BYTES || tt_soft_type_ok(type, (uint32_t)len * 8, 1) != 0)
			goto out;
		r = TT_ERR_NO_MEMORY;
		if ((k->raw = OPENSSL_secure_malloc(len)) == NULL)
			goto out;
		memcpy(k->raw, d, len);
		k->raw_len = len;
		bits = (uint32_t)len * 8;
	} else {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	k->bits = bits;
	*out = k;
	k = NULL;
	r = 0;
out:
	tt_soft_key_put(k);
	return r;
}

/* Append an i2d encoding of pk (private or public) to b. */
static int
put_i2d(struct tt_buf *b, EVP_PKEY *pk, int priv)
{
	uint8_t *dst;
	unsigned char *p;
	int n;
	int r;

	n = priv ? i2d_PrivateKey(pk, NULL) : i2d_PublicKey(pk, NULL);
	if (n <= 0)
		return TT_ERR_GENERIC;
	if ((r = tt_buf_reserve(b, (size_t)n, &dst)) != 0)
		return r;
	p = dst;
	if ((priv ? i2d_PrivateKey(pk, &p) : i2d_PublicKey(pk, &p)) != n)
		return TT_ERR_GENERIC;
	tt_buf_commit(b, (size_t)n);
	return 0;
}

int
tt_soft_key_generate(tt_key_type_t type, uint32_t bits, struct tt_buf *psa)
{
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *priv = NULL;
	uint8_t *dst;
	size_t n;
	int r;

	if ((r = tt_soft_type_ok(type, bits, 0)) != 0)
		return r;
	if (type == TT_KEY_TYPE_RSA_KEY_PAIR) {
		r = TT_ERR_GENERIC;
		if ((pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
		    EVP_PKEY_keygen_init(pc) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(pc, (int)bits) <= 0 ||
		    EVP_PKEY_keygen(pc, &pk) <= 0)
			goto out;
		r = put_i2d(psa, pk, 1);
	} else if (is_secp_r1(type)) {
		n = tt_soft_ecc_bytes(bits);
		r = TT_ERR_GENERIC;
		if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", r1_group(bits))) == NULL ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &priv))
			goto out;
		if ((r = tt_buf_reserve(psa, n, &dst)) != 0)
			goto out;
		if (BN_bn2binpad(priv, dst, (int)n) != (int)n) {
			r = TT_ERR_GENERIC;
			goto out;
		}
		tt_buf_commit(psa, n);
	} else if (is_x25519(type)) {
		n = 32;
		r = TT_ERR_GENERIC;
		if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
			goto out;
		if ((r = tt_buf_reserve(psa, n, &dst)) != 0)
			goto out;
		if (EVP_PKEY_get_raw_private_key(pk, dst, &n) != 1 || n != 32) {
			r = TT_ERR_GENERIC;
			goto out;
		}
		tt_buf_commit(psa, n);
	} else {
		n = bits / 8;
		if ((r = tt_buf_reserve(psa, n, &dst)) != 0)
			goto out;
		if (RAND_priv_bytes(dst, (int)n) != 1) {
			r = TT_ERR_INSUFFICIENT_ENTROPY;
			goto out;
		}
		tt_buf_commit(psa, n);
	}
out:
	BN_clear_free(priv);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pc);
	return r;
}

int
tt_soft_key_export_public(const struct soft_key *k, struct tt_buf *out)
{
	uint8_t tmp[1 + 2 * 66];
	size_t n = sizeof(tmp);

	if (k->pkey == NULL)
		return TT_ERR_INVALID_ARGUMENT;  /* symmetric keys have no public part */
	if (TT_KEY_TYPE_IS_RSA(k->type))
		return put_i2d(out, k->pkey, 0);
	if (is_x25519(k->type)) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, tmp, &n) != 1)
			return TT_ERR_GENERIC;
		return tt_buf_put(out, tmp, n);
	}
	if (!EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, tmp, sizeof(tmp), &n) ||
	    n == 0 || tmp[0] != 0x04)
		return TT_ERR_GENERIC;
	return tt_buf_put(out, tmp, n);
}
