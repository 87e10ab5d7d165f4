/*
 * CBOR checks and COSE_Sign1 verification (RFC 9052 section 4.4) for the token verifiers.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "cose.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/buf.h"

/* One item header: major type and argument. Indefinite lengths, reserved additional
 * information and the break code are refused. */
static int
cbor_head(struct tt_buf *b, uint8_t *major, uint64_t *arg)
{
	uint8_t ib, ai, v8;
	uint16_t v16;
	uint32_t v32;
	int e;

	if ((e = tt_buf_get_u8(b, &ib)) != 0)
		return e;
	*major = ib >> 5;
	ai = ib & 0x1f;
	if (ai < 24) {
		*arg = ai;
		return 0;
	}
	switch (ai) {
	case 24:
		if ((e = tt_buf_get_u8(b, &v8)) != 0)
			return e;
		*arg = v8;
		return 0;
	case 25:
		if ((e = tt_buf_get_u16be(b, &v16)) != 0)
			return e;
		*arg = v16;
		return 0;
	case 26:
		if ((e = tt_buf_get_u32be(b, &v32)) != 0)
			return e;
		*arg = v32;
		return 0;
	case 27: {
		uint32_t hi, lo;

		if ((e = tt_buf_get_u32be(b, &hi)) != 0 || (e = tt_buf_get_u32be(b, &lo)) != 0)
			return e;
		*arg = (uint64_t)hi << 32 | lo;
		return 0;
	}
	default:
		return TT_ERR_DATA_INVALID;
	}
}

int
tt_cbor_check(const uint8_t *p, size_t len)
{
	uint64_t need[TT_CBOR_MAX_DEPTH + 1], arg;
	struct tt_buf b;
	unsigned items = 0;
	uint8_t major;
	int d = 0, e;

	if (p == NULL || len == 0)
		return TT_ERR_TRUNCATED;
	tt_buf_init_ro(&b, p, len);
	need[0] = 1;
	while (d >= 0) {
		if (need[d] == 0) {
			d--;
			continue;
		}
		need[d]--;
		if (++items > TT_CBOR_MAX_ITEMS)
			return TT_ERR_LIMIT;
		if ((e = cbor_head(&b, &major, &arg)) != 0)
			return e;
		switch (major) {
		case 0: case 1:
			break;
		case 2: case 3:
			if (arg > tt_buf_avail(&b))
				return TT_ERR_TRUNCATED;
			tt_buf_skip(&b, (size_t)arg);
			break;
		case 4: case 5:
			/* Each item takes at least one byte: a count beyond the bytes left is a
			 * lie, refused before libcbor sizes an array by it. */
			if (major == 5 && arg > UINT64_MAX / 2)
				return TT_ERR_TRUNCATED;
			if (major == 5)
				arg *= 2;
			if (arg > tt_buf_avail(&b))
				return TT_ERR_TRUNCATED;
			if (arg == 0)
				break;
			if ((unsigned)d + 1 > TT_CBOR_MAX_DEPTH)
				return TT_ERR_LIMIT;
			need[++d] = arg;
			break;
		case 6:
			if ((unsigned)d + 1 > TT_CBOR_MAX_DEPTH)
				return TT_ERR_LIMIT;
			need[++d] = 1;
			break;
		default:   /* 7: simple values and floats, consumed with the header */
			break;
		}
	}
	return tt_buf_expect_end(&b);
}

int
tt_cbor_decode(const uint8_t *p, size_t len, cbor_item_t **out)
{
	struct cbor_load_result lr;
	cbor_item_t *it;
	int e;

	if ((e = tt_cbor_check(p, len)) != 0)
		return e;
	it = cbor_load(p, len, &lr);
	if (it == NULL || lr.error.code != CBOR_ERR_NONE || lr.read != len) {
		if (it != NULL)
			cbor_decref(&it);
		return lr.error.code == CBOR_ERR_MEMERROR ? TT_ERR_NO_MEMORY : TT_ERR_DATA_INVALID;
	}
	*out = it;
	return 0;
}

int
tt_cbor_int(cbor_item_t *it, int64_t *v)
{
	uint64_t x;

	if (it == NULL || (!cbor_isa_uint(it) && !cbor_isa_negint(it)))
		return TT_ERR_DATA_INVALID;
	x = cbor_get_int(it);
	if (x > INT64_MAX)
		return TT_ERR_DATA_INVALID;
	*v = cbor_isa_uint(it) ? (int64_t)x : -1 - (int64_t)x;
	return 0;
}

cbor_item_t *
tt_cbor_map_get(cbor_item_t *map, int64_t key)
{
	struct cbor_pair *h;
	int64_t k;

	if (map == NULL || !cbor_isa_map(map) || !cbor_map_is_definite(map))
		return NULL;
	h = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++)
		if (tt_cbor_int(h[i].key, &k) == 0 && k == key)
			return h[i].value;
	return NULL;
}

int
tt_cbor_map_unique(cbor_item_t *map)
{
	struct cbor_pair *h;
	int64_t a, b;

	if (map == NULL || !cbor_isa_map(map) || !cbor_map_is_definite(map))
		return TT_ERR_DATA_INVALID;
	h = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		if (tt_cbor_int(h[i].key, &a) != 0)
			return TT_ERR_DATA_INVALID;
		for (size_t j = 0; j < i; j++)
			if (tt_cbor_int(h[j].key, &b) == 0 && a == b)
				return TT_ERR_DATA_INVALID;
	}
	return 0;
}

int
tt_cbor_bytes(cbor_item_t *it, size_t want, const uint8_t **p, size_t *n)
{
	if (it == NULL || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return TT_ERR_DATA_INVALID;
	if (want != 0 && cbor_bytestring_length(it) != want)
		return TT_ERR_DATA_INVALID;
	*p = cbor_bytestring_handle(it);
	*n = cbor_bytestring_length(it);
	return 0;
}

int
tt_cbor_text(cbor_item_t *it, size_t max, char **out)
{
	const uint8_t *s;
	size_t n;
	char *c;

	if (it == NULL || !cbor_isa_string(it) || !cbor_string_is_definite(it))
		return TT_ERR_DATA_INVALID;
	s = cbor_string_handle(it);
	n = cbor_string_length(it);
	while (n > 0 && s[n - 1] == '\0')
		n--;
	if (n > max || memchr(s, '\0', n) != NULL)
		return TT_ERR_DATA_INVALID;
	if ((c = malloc(n + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (n > 0)
		memcpy(c, s, n);
	c[n] = '\0';
	*out = c;
	return 0;
}

int
tt_cose_sign1_parse(const uint8_t *p, size_t len, cbor_item_t **item,
    struct tt_cose_sign1 *out)
{
	cbor_item_t *root = NULL, *arr, **h, *hdr = NULL;
	struct tt_cose_sign1 s;
	int e;

	memset(&s, 0, sizeof(s));
	/* Tag 18 in its one-byte form, read here: Debian 12's libcbor 0.8 refuses tags 6 to
	 * 20 as malformed (fixed in libcbor 0.9), so the tagged array goes to libcbor alone. */
	if (p == NULL || len < 2 || p[0] != 0xD2)
		return TT_ERR_DATA_INVALID;
	if ((e = tt_cbor_decode(p + 1, len - 1, &root)) != 0)
		return e;
	e = TT_ERR_DATA_INVALID;
	arr = root;
	if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) || cbor_array_size(arr) != 4)
		goto out;
	h = cbor_array_handle(arr);
	if (!cbor_isa_map(h[1]))
		goto out;
	if (cbor_isa_float_ctrl(h[2])) {
		e = TT_ERR_NOT_SUPPORTED;   /* detached payload */
		goto out;
	}
	if (tt_cbor_bytes(h[0], 0, &s.protected_hdr, &s.protected_len) != 0 ||
	    tt_cbor_bytes(h[2], 0, &s.payload, &s.payload_len) != 0 ||
	    tt_cbor_bytes(h[3], 0, &s.signature, &s.signature_len) != 0 ||
	    s.protected_len == 0)
		goto out;
	/* The algorithm must be protected (RFC 9052 3.1): read it from the signed header. */
	if ((e = tt_cbor_decode(s.protected_hdr, s.protected_len, &hdr)) != 0)
		goto out;
	e = TT_ERR_DATA_INVALID;
	if (tt_cbor_map_unique(hdr) != 0 || tt_cbor_int(tt_cbor_map_get(hdr, 1), &s.alg) != 0) {
		e = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	/* An algorithm in the unprotected header too would be ambiguous. */
	if (tt_cbor_map_get(h[1], 1) != NULL)
		goto out;
	*item = root;
	root = NULL;
	*out = s;
	e = 0;
out:
	if (hdr != NULL)
		cbor_decref(&hdr);
	if (root != NULL)
		cbor_decref(&root);
	return e;
}

static int
put_head(struct tt_buf *b, uint8_t major, uint64_t n)
{
	int e;

	if (n < 24)
		return tt_buf_put_u8(b, (uint8_t)(major << 5 | n));
	if (n <= 0xff) {
		if ((e = tt_buf_put_u8(b, (uint8_t)(major << 5 | 24))) != 0)
			return e;
		return tt_buf_put_u8(b, (uint8_t)n);
	}
	if (n <= 0xffff) {
		if ((e = tt_buf_put_u8(b, (uint8_t)(major << 5 | 25))) != 0)
			return e;
		return tt_buf_put_u16be(b, (uint16_t)n);
	}
	if ((e = tt_buf_put_u8(b, (uint8_t)(major << 5 | 26))) != 0)
		return e;
	return tt_buf_put_u32be(b, (uint32_t)n);
}

/* raw r||s of an ECDSA signature to DER. */
static int
ecdsa_raw_to_der(const uint8_t *sig, size_t n, unsigned char **der, int *dl)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = NULL, *t = NULL;
	int e = TT_ERR_NO_MEMORY;

	if (s == NULL)
		goto out;
	if ((r = BN_bin2bn(sig, (int)(n / 2), NULL)) == NULL ||
	    (t = BN_bin2bn(sig + n / 2, (int)(n / 2), NULL)) == NULL || !ECDSA_SIG_set0(s, r, t))
		goto out;
	r = t = NULL;
	*der = NULL;
	if ((*dl = i2d_ECDSA_SIG(s, der)) <= 0)
		goto out;
	e = 0;
out:
	BN_free(r);
	BN_free(t);
	ECDSA_SIG_free(s);
	return e;
}

int
tt_cose_sign1_verify(const struct tt_cose_sign1 *s, EVP_PKEY *key)
{
	struct tt_buf tbs;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *h;
	unsigned char *der = NULL;
	const unsigned char *sig = s->signature;
	size_t siglen = s->signature_len, coord;
	int dl = 0, bits, e = TT_ERR_INVALID_SIGNATURE;
	bool ec;

	switch (s->alg) {
	case TT_COSE_ES256: h = EVP_sha256(); ec = true; coord = 32; break;
	case TT_COSE_ES384: h = EVP_sha384(); ec = true; coord = 48; break;
	case TT_COSE_ES512: h = EVP_sha512(); ec = true; coord = 66; break;
	case TT_COSE_PS256: h = EVP_sha256(); ec = false; coord = 0; break;
	case TT_COSE_PS384: h = EVP_sha384(); ec = false; coord = 0; break;
	default: return TT_ERR_INVALID_SIGNATURE;
	}
	if (key == NULL || EVP_PKEY_get_base_id(key) != (ec ? EVP_PKEY_EC : EVP_PKEY_RSA))
		return TT_ERR_INVALID_SIGNATURE;
	bits = EVP_PKEY_get_bits(key);
	if (ec) {
		/* The key's curve must be the algorithm's (ES256 is P-256 ...), and the raw
		 * signature exactly two coordinates of it. */
		if ((size_t)(bits + 7) / 8 != coord || siglen != 2 * coord)
			return TT_ERR_INVALID_SIGNATURE;
		if (ecdsa_raw_to_der(s->signature, siglen, &der, &dl) != 0)
			return TT_ERR_NO_MEMORY;
		sig = der;
		siglen = (size_t)dl;
	} else if (bits < 2048 || siglen != (size_t)(bits + 7) / 8) {
		return TT_ERR_INVALID_SIGNATURE;
	}
	tt_buf_init(&tbs, s->protected_len + s->payload_len + 64);
	if (tt_buf_put_u8(&tbs, 0x84) != 0 || put_head(&tbs, 3, 10) != 0 ||
	    tt_buf_put(&tbs, "Signature1", 10) != 0 ||
	    put_head(&tbs, 2, s->protected_len) != 0 ||
	    tt_buf_put(&tbs, s->protected_hdr, s->protected_len) != 0 ||
	    put_head(&tbs, 2, 0) != 0 || put_head(&tbs, 2, s->payload_len) != 0 ||
	    tt_buf_put(&tbs, s->payload, s->payload_len) != 0) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, &pc, h, NULL, key) != 1)
		goto out;
	/* PS256/PS384: salt as long as the hash (RFC 8230 section 2). */
	if (!ec && (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, h) != 1))
		goto out;
	if (EVP_DigestVerify(md, sig, siglen, tbs.d, tbs.len) == 1)
		e = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	tt_buf_free(&tbs);
	return e;
}

static int
ec_pkey(const char *group, const uint8_t *pt, size_t n, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int e = TT_ERR_DATA_INVALID;

	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, n) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	/* fromdata checks that the point is on the curve. */
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	*out = k;
	e = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return e;
}

int
tt_ec_point_pkey(const uint8_t *p, size_t n, EVP_PKEY **out)
{
	const char *g = n == 65 ? "P-256" : n == 97 ? "P-384" : n == 133 ? "P-521" : NULL;

	if (g == NULL || p[0] != 0x04)
		return TT_ERR_DATA_INVALID;
	return ec_pkey(g, p, n, out);
}

int
tt_jwk_ec_pkey(const json_t *jwk, EVP_PKEY **out)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *x = json_string_value(json_object_get(jwk, "x"));
	const char *y = json_string_value(json_object_get(jwk, "y"));
	uint8_t pt[133];
	size_t c, xn, yn;

	if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL || x == NULL || y == NULL)
		return TT_ERR_DATA_INVALID;
	if (strcmp(crv, "P-256") == 0)
		c = 32;
	else if (strcmp(crv, "P-384") == 0)
		c = 48;
	else if (strcmp(crv, "P-521") == 0)
		c = 66;
	else
		return TT_ERR_NOT_SUPPORTED;
	pt[0] = 0x04;
	if (tt_b64_decode(x, strlen(x), TT_B64_URL, pt + 1, c, &xn) != 0 || xn != c ||
	    tt_b64_decode(y, strlen(y), TT_B64_URL, pt + 1 + c, c, &yn) != 0 || yn != c)
		return TT_ERR_DATA_INVALID;
	return ec_pkey(crv, pt, 1 + 2 * c, out);
}
