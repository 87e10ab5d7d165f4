/*
 * Key life cycle on the token: CanDoCrypto, generate, import, destroy, public export.
 *
 * Every key is a pair of token objects (private and public) sharing CKA_ID = kid; a
 * public-key import is a public object alone. The private object is CKA_SENSITIVE and
 * not extractable, so nothing secret ever leaves the token after creation.
 *
 * CKA_LABEL is "turtle-" and the kid in hex, never the key name: public objects can be
 * listed without logging in, and a name ("payments-prod-signing") says more than the
 * random kid, which CKA_ID shows anyway. The key store maps a kid back to its client and
 * name for whoever may read it (docs/providers-pkcs11.md).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "providers/pkcs11/p11_int.h"
#include "providers/rsa_check.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/hex.h"
#include "util/mem.h"

/* DER OIDs of the NIST curves, as CKA_EC_PARAMS carries them. */
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };

struct curve {
	uint32_t bits;
	const uint8_t *oid;
	size_t oid_len;
	const char *ossl_name;
	int nid;
};

static const struct curve curves[] = {
	{ 256, oid_p256, sizeof(oid_p256), "prime256v1", NID_X9_62_prime256v1 },
	{ 384, oid_p384, sizeof(oid_p384), "secp384r1", NID_secp384r1 },
	{ 521, oid_p521, sizeof(oid_p521), "secp521r1", NID_secp521r1 },
};

static const struct curve *
curve_of(uint32_t bits)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].bits == bits)
			return &curves[i];
	return NULL;
}

size_t
tt_p11_ecc_bytes(uint32_t bits)
{
	return curve_of(bits) != NULL ? (bits + 7) / 8 : 0;
}

/* ---- capability checks ---- */

int
tt_p11_hash_ok(tt_alg_t h)
{
	return h == TT_ALG_SHA_1 || h == TT_ALG_SHA_224 || h == TT_ALG_SHA_256 ||
	    h == TT_ALG_SHA_384 || h == TT_ALG_SHA_512;
}

static int
is_ecc_r1(tt_key_type_t t)
{
	return TT_KEY_TYPE_IS_ECC(t) && TT_KEY_TYPE_ECC_GET_FAMILY(t) == TT_ECC_FAMILY_SECP_R1;
}

static int
type_ok(tt_key_type_t type, uint32_t bits, int import)
{
	if (bits == 0 && import && (TT_KEY_TYPE_IS_RSA(type) || is_ecc_r1(type)))
		return 0;
	if (TT_KEY_TYPE_IS_RSA(type)) {
		if (bits == 2048 || bits == 3072 || bits == 4096)
			return 0;
		/* public keys of other common sizes can still be verified with */
		return import && type == TT_KEY_TYPE_RSA_PUBLIC_KEY && bits >= 1024 && bits <= 8192 &&
		    bits % 8 == 0 ? 0 : TT_ERR_NOT_SUPPORTED;
	}
	if (is_ecc_r1(type))
		return curve_of(bits) != NULL ? 0 : TT_ERR_NOT_SUPPORTED;
	return TT_ERR_NOT_SUPPORTED;
}

int
tt_p11_sign_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);
	int hash_ok = h == TT_ALG_ANY_HASH || tt_p11_hash_ok(h);

	if (TT_KEY_TYPE_IS_RSA(type)) {
		if (TT_ALG_IS_RSA_PKCS1V15_SIGN(alg))
			return h == TT_ALG_NONE || hash_ok ? 0 : TT_ERR_NOT_SUPPORTED;
		if (TT_ALG_IS_RSA_PSS(alg))
			return hash_ok ? 0 : TT_ERR_NOT_SUPPORTED;
		return TT_ERR_NOT_SUPPORTED;
	}
	if (is_ecc_r1(type) && TT_ALG_SIGN_BASE(alg) == TT_ALG_ECDSA_BASE)
		return h == TT_ALG_NONE || hash_ok ? 0 : TT_ERR_NOT_SUPPORTED;
	return TT_ERR_NOT_SUPPORTED;
}

int
tt_p11_asym_alg_ok(tt_key_type_t type, tt_alg_t alg)
{
	if (!TT_KEY_TYPE_IS_RSA(type))
		return TT_ERR_NOT_SUPPORTED;
	if (alg == TT_ALG_RSA_PKCS1V15_CRYPT)
		return 0;
	if (TT_ALG_IS_RSA_OAEP(alg) && tt_p11_hash_ok(TT_ALG_GET_HASH(alg)))
		return 0;
	return TT_ERR_NOT_SUPPORTED;
}

int
tt_p11_can_do(void *ctx, enum tt_check_type check, const struct tt_key_attrs *a)
{
	(void)ctx;
	switch (check) {
	case TT_CHECK_GENERATE:
		return TT_KEY_TYPE_IS_KEY_PAIR(a->type) ? type_ok(a->type, a->bits, 0) : TT_ERR_NOT_SUPPORTED;
	case TT_CHECK_IMPORT:
		return type_ok(a->type, a->bits, 1);
	case TT_CHECK_USE:
		if (type_ok(a->type, a->bits, 1) != 0)
			return TT_ERR_NOT_SUPPORTED;
		if (TT_ALG_IS_SIGN(a->alg))
			return tt_p11_sign_alg_ok(a->type, a->alg);
		if (TT_ALG_CATEGORY(a->alg) == TT_ALG_CATEGORY_ASYM_ENC)
			return tt_p11_asym_alg_ok(a->type, a->alg);
		return TT_ERR_NOT_SUPPORTED;
	default:
		return TT_ERR_NOT_SUPPORTED;
	}
}

/* ---- object helpers ---- */

static int
put_ref(const uint8_t kid[TT_KEY_ID_LEN], const struct tt_key_attrs *a, uint32_t bits, struct tt_buf *ref)
{
	int r;

	if ((r = tt_buf_put_u8(ref, P11_REF_VERSION)) != 0 ||
	    (r = tt_buf_put(ref, kid, TT_KEY_ID_LEN)) != 0 ||
	    (r = tt_buf_put_u16le(ref, a->type)) != 0 ||
	    (r = tt_buf_put_u32le(ref, bits)) != 0)
		return r;
	return 0;
}

static struct p11_hslot *
hslot(struct p11_ctx *c, const uint8_t kid[TT_KEY_ID_LEN], CK_OBJECT_CLASS cls)
{
	/* kids are random: their first bytes are a fine index */
	return &c->hcache[(kid[0] ^ (kid[1] << 1) ^ (unsigned)cls) % P11_HCACHE];
}

#define P11_LABEL_PREFIX "turtle-"
#define P11_LABEL_LEN (sizeof(P11_LABEL_PREFIX) - 1 + 2 * TT_KEY_ID_LEN)

static void
opaque_label(const uint8_t kid[TT_KEY_ID_LEN], char out[P11_LABEL_LEN + 1])
{
	memcpy(out, P11_LABEL_PREFIX, sizeof(P11_LABEL_PREFIX) - 1);
	tt_hex_encode(kid, TT_KEY_ID_LEN, out + sizeof(P11_LABEL_PREFIX) - 1);
	out[P11_LABEL_LEN] = '\0';
}

/*
 * Objects made before labels became opaque carry the key name. Each is relabelled the
 * first time it is looked up (best effort: a token that refuses leaves the old label,
 * with a warning), so a store's names disappear from the token as its keys are used.
 */
static void
relabel_legacy(struct p11_ctx *c, struct p11_sess *s, CK_OBJECT_HANDLE h,
    const uint8_t kid[TT_KEY_ID_LEN])
{
	char want[P11_LABEL_LEN + 1], have[P11_LABEL_LEN + 1];
	CK_ATTRIBUTE a = { CKA_LABEL, have, sizeof(have) };
	CK_RV rv;

	opaque_label(kid, want);
	rv = tt_p11_chk(s, c->f->C_GetAttributeValue(s->h, h, &a, 1));
	if (rv == CKR_OK && a.ulValueLen == P11_LABEL_LEN && memcmp(have, want, P11_LABEL_LEN) == 0)
		return;
	/* CKR_BUFFER_TOO_SMALL: a longer label, i.e. an old one */
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		return;
	a.pValue = want;
	a.ulValueLen = P11_LABEL_LEN;
	rv = tt_p11_chk(s, c->f->C_SetAttributeValue(s->h, h, &a, 1));
	if (rv == CKR_OK)
		tt_info("pkcs11: object %s relabelled (its label was a key name)", want);
	else
		tt_warn("pkcs11: object %s keeps its old label (C_SetAttributeValue: 0x%lx)", want,
		    (unsigned long)rv);
}

void
tt_p11_hcache_drop(struct p11_ctx *c, const uint8_t kid[TT_KEY_ID_LEN])
{
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };

	pthread_mutex_lock(&c->hmu);
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		struct p11_hslot *e = hslot(c, kid, classes[i]);

		if (memcmp(e->kid, kid, TT_KEY_ID_LEN) == 0)
			e->gen = 0;
	}
	pthread_mutex_unlock(&c->hmu);
}

int
tt_p11_find(struct p11_ctx *c, struct p11_sess *s, const uint8_t kid[TT_KEY_ID_LEN],
    CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *h)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)kid, TT_KEY_ID_LEN },
	};
	struct p11_hslot *e = hslot(c, kid, cls);
	CK_ULONG n = 0;
	CK_RV rv;
	int hit;

	/* kid is a public identifier, not a secret: plain memcmp */
	pthread_mutex_lock(&c->hmu);
	hit = e->gen != 0 && e->gen == s->gen && e->cls == cls &&
	    memcmp(e->kid, kid, TT_KEY_ID_LEN) == 0;
	if (hit)
		*h = e->h;
	pthread_mutex_unlock(&c->hmu);
	if (hit)
		return 0;

	if ((rv = tt_p11_chk(s, c->f->C_FindObjectsInit(s->h, t, 2))) != CKR_OK)
		return tt_p11_fail("C_FindObjectsInit", rv);
	rv = tt_p11_chk(s, c->f->C_FindObjects(s->h, h, 1, &n));
	(void)tt_p11_chk(s, c->f->C_FindObjectsFinal(s->h));
	if (rv != CKR_OK)
		return tt_p11_fail("C_FindObjects", rv);
	if (n != 1)
		return TT_ERR_DOES_NOT_EXIST;
	relabel_legacy(c, s, *h, kid);
	pthread_mutex_lock(&c->hmu);
	memcpy(e->kid, kid, TT_KEY_ID_LEN);
	e->cls = cls;
	e->h = *h;
	e->gen = s->gen;
	pthread_mutex_unlock(&c->hmu);
	return 0;
}

/* Read one attribute into a new allocation. */
static int
get_attr(struct p11_ctx *c, struct p11_sess *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
    uint8_t **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	if ((rv = tt_p11_chk(s, c->f->C_GetAttributeValue(s->h, h, &a, 1))) != CKR_OK)
		return tt_p11_fail("C_GetAttributeValue", rv);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 || a.ulValueLen > P11_MAX_ATTR)
		return TT_ERR_DATA_CORRUPT;
	if ((a.pValue = malloc(a.ulValueLen)) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((rv = tt_p11_chk(s, c->f->C_GetAttributeValue(s->h, h, &a, 1))) != CKR_OK) {
		free(a.pValue);
		return tt_p11_fail("C_GetAttributeValue", rv);
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

/* Destroy every object with CKA_ID = kid. */
static int
destroy_all(struct p11_ctx *c, struct p11_sess *s, const uint8_t kid[TT_KEY_ID_LEN])
{
	CK_ATTRIBUTE t[] = { { CKA_ID, (void *)kid, TT_KEY_ID_LEN } };
	CK_OBJECT_HANDLE hs[8];
	CK_ULONG n = 0;
	CK_RV rv;

	for (int round = 0; round < 16; round++) {
		if ((rv = tt_p11_chk(s, c->f->C_FindObjectsInit(s->h, t, 1))) != CKR_OK)
			return tt_p11_fail("C_FindObjectsInit", rv);
		rv = tt_p11_chk(s, c->f->C_FindObjects(s->h, hs, 8, &n));
		(void)tt_p11_chk(s, c->f->C_FindObjectsFinal(s->h));
		if (rv != CKR_OK)
			return tt_p11_fail("C_FindObjects", rv);
		if (n == 0)
			return 0;
		for (CK_ULONG i = 0; i < n; i++) {
			rv = tt_p11_chk(s, c->f->C_DestroyObject(s->h, hs[i]));
			if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID)
				return tt_p11_fail("C_DestroyObject", rv);
		}
	}
	return TT_ERR_GENERIC;
}

/* CKA_EC_POINT value: the uncompressed point inside a DER OCTET STRING. */
static int
wrap_point(const uint8_t *pt, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t hl = len < 128 ? 2 : 3;

	if (len > 255 || hl + len > cap)
		return TT_ERR_INVALID_ARGUMENT;
	out[0] = 0x04;
	if (len < 128) {
		out[1] = (uint8_t)len;
	} else {
		out[1] = 0x81;
		out[2] = (uint8_t)len;
	}
	memcpy(out + hl, pt, len);
	*out_len = hl + len;
	return 0;
}

/* The uncompressed point from a CKA_EC_POINT value (DER OCTET STRING, or raw from
 * modules that skip the wrapping). */
static int
unwrap_point(const uint8_t *v, size_t len, size_t clen, const uint8_t **pt)
{
	struct tt_buf b;
	const uint8_t *p;
	uint8_t tag, l8;
	size_t want = 2 * clen + 1;

	if (len == want && v[0] == 0x04) {
		*pt = v;
		return 0;
	}
	tt_buf_init_ro(&b, v, len);
	if (tt_buf_get_u8(&b, &tag) != 0 || tag != 0x04 || tt_buf_get_u8(&b, &l8) != 0)
		return TT_ERR_DATA_CORRUPT;
	if (l8 == 0x81 && tt_buf_get_u8(&b, &l8) != 0)
		return TT_ERR_DATA_CORRUPT;
	if (l8 != want || tt_buf_get_ref(&b, want, &p) != 0 || tt_buf_expect_end(&b) != 0 || p[0] != 0x04)
		return TT_ERR_DATA_CORRUPT;
	*pt = p;
	return 0;
}

/* ---- generate ---- */

int
tt_p11_generate_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *ref)
{
	struct p11_ctx *c = ctx;
	struct p11_sess s;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG mod_bits = a->bits;
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	const struct curve *cv = NULL;
	char label[P11_LABEL_LEN + 1];
	CK_ULONG label_len = P11_LABEL_LEN;
	CK_OBJECT_HANDLE hpub, hpriv;
	CK_ATTRIBUTE pub[8], priv[10];
	CK_ULONG np = 0, nk = 0;
	int is_rsa = TT_KEY_TYPE_IS_RSA(a->type);
	CK_RV rv;
	int r;

	(void)o;   /* the owner never reaches the token (see the top of this file) */
	if (!TT_KEY_TYPE_IS_KEY_PAIR(a->type) || (r = type_ok(a->type, a->bits, 0)) != 0)
		return TT_ERR_NOT_SUPPORTED;
	opaque_label(kid, label);
	pub[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &no, sizeof(no) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_ID, (void *)kid, TT_KEY_ID_LEN };
	pub[np++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, label_len };
	pub[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	if (is_rsa) {
		pub[np++] = (CK_ATTRIBUTE){ CKA_ENCRYPT, &yes, sizeof(yes) };
		pub[np++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &mod_bits, sizeof(mod_bits) };
		pub[np++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)e65537, sizeof(e65537) };
	} else {
		cv = curve_of(a->bits);
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		pub[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)cv->oid, cv->oid_len };
	}
	priv[nk++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	priv[nk++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	priv[nk++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
	priv[nk++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
	priv[nk++] = (CK_ATTRIBUTE){ CKA_ID, (void *)kid, TT_KEY_ID_LEN };
	priv[nk++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, label_len };
	priv[nk++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
	if (is_rsa)
		priv[nk++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &yes, sizeof(yes) };

	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	rv = tt_p11_chk(&s, c->f->C_GenerateKeyPair(s.h, &mech, pub, np, priv, nk, &hpub, &hpriv));
	if (rv != CKR_OK) {
		r = tt_p11_fail("C_GenerateKeyPair", rv);
		goto out;
	}
	if ((r = put_ref(kid, a, a->bits, ref)) != 0)
		(void)destroy_all(c, &s, kid);
out:
	tt_p11_put(c, &s);
	return r;
}

/* ---- import ---- */

/* Big-endian bytes of an RSA component into a new secret allocation. */
static int
bn_param(const EVP_PKEY *pk, const char *name, uint8_t **out, size_t *len)
{
	BIGNUM *bn = NULL;
	int n, r = TT_ERR_INVALID_ARGUMENT;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return r;
	n = BN_num_bytes(bn);
	if (n <= 0 || (*out = malloc((size_t)n)) == NULL) {
		r = n <= 0 ? TT_ERR_INVALID_ARGUMENT : TT_ERR_NO_MEMORY;
		goto out;
	}
	BN_bn2bin(bn, *out);
	*len = (size_t)n;
	r = 0;
out:
	BN_clear_free(bn);
	return r;
}

/* Create objects from templates: the public one first, then (if any) the private
 * one; on failure nothing is left behind. */
static int
create_objects(struct p11_ctx *c, const uint8_t kid[TT_KEY_ID_LEN], CK_ATTRIBUTE *pub, CK_ULONG np,
    CK_ATTRIBUTE *priv, CK_ULONG nk)
{
	struct p11_sess s;
	CK_OBJECT_HANDLE h;
	CK_RV rv;
	int r;

	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	if ((rv = tt_p11_chk(&s, c->f->C_CreateObject(s.h, pub, np, &h))) != CKR_OK) {
		r = tt_p11_fail("C_CreateObject (public key)", rv);
		goto out;
	}
	if (priv != NULL && (rv = tt_p11_chk(&s, c->f->C_CreateObject(s.h, priv, nk, &h))) != CKR_OK) {
		r = tt_p11_fail("C_CreateObject (private key)", rv);
		(void)destroy_all(c, &s, kid);
		goto out;
	}
	r = 0;
out:
	tt_p11_put(c, &s);
	return r;
}

static int
import_rsa(struct p11_ctx *c, const char *label, size_t label_len, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, uint32_t *bits)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	static const CK_ATTRIBUTE_TYPE types[8] = {
		CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
		CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
	};
	uint8_t *v[8] = { 0 };
	size_t vl[8] = { 0 };
	int is_pair = TT_KEY_TYPE_IS_KEY_PAIR(a->type);
	int nv = is_pair ? 8 : 2;
	CK_OBJECT_CLASS cpub = CKO_PUBLIC_KEY, cpriv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[9], priv[18];
	CK_ULONG np = 0, nk = 0;
	const unsigned char *p = data;
	EVP_PKEY *pk = NULL;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (len > 8192)
		return r;
	pk = is_pair ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len) :
	    d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	if (pk == NULL || p != data + len)
		goto out;
	*bits = (uint32_t)EVP_PKEY_get_bits(pk);
	if ((a->bits != 0 && *bits != a->bits) || type_ok(a->type, *bits, 1) != 0) {
		r = a->bits != 0 && *bits != a->bits ? TT_ERR_INVALID_ARGUMENT : TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = tt_prov_rsa_check(pk, is_pair)) != 0)
		goto out;
	for (int i = 0; i < nv; i++)
		if ((r = bn_param(pk, names[i], &v[i], &vl[i])) != 0)
			goto out;
	pub[np++] = (CK_ATTRIBUTE){ CKA_CLASS, &cpub, sizeof(cpub) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_ID, (void *)kid, TT_KEY_ID_LEN };
	pub[np++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, label_len };
	pub[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_ENCRYPT, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_MODULUS, v[0], vl[0] };
	pub[np++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, v[1], vl[1] };
	if (is_pair) {
		priv[nk++] = (CK_ATTRIBUTE){ CKA_CLASS, &cpriv, sizeof(cpriv) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_ID, (void *)kid, TT_KEY_ID_LEN };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, label_len };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &yes, sizeof(yes) };
		for (int i = 0; i < 8; i++)
			priv[nk++] = (CK_ATTRIBUTE){ types[i], v[i], vl[i] };
	}
	r = create_objects(c, kid, pub, np, is_pair ? priv : NULL, nk);
out:
	for (int i = 0; i < 8; i++)
		if (v[i] != NULL)
			tt_free_secret(v[i], vl[i]);
	EVP_PKEY_free(pk);
	return r;
}

/* Public point (uncompressed) of a private scalar; checks 0 < d < n. */
static int
ec_public_of(const struct curve *cv, const uint8_t *d, size_t dlen, uint8_t *pt, size_t cap, size_t *pt_len)
{
	EC_GROUP *g = NULL;
	EC_POINT *q = NULL;
	BIGNUM *bd = NULL;
	BN_CTX *bc = NULL;
	int r = TT_ERR_INVALID_ARGUMENT;

	if ((g = EC_GROUP_new_by_curve_name(cv->nid)) == NULL || (bc = BN_CTX_new()) == NULL ||
	    (q = EC_POINT_new(g)) == NULL || (bd = BN_bin2bn(d, (int)dlen, NULL)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	BN_set_flags(bd, BN_FLG_CONSTTIME);
	if (BN_is_zero(bd) || BN_cmp(bd, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	if (EC_POINT_mul(g, q, bd, NULL, NULL, bc) != 1)
		goto out;
	*pt_len = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, cap, bc);
	r = *pt_len == 0 ? TT_ERR_GENERIC : 0;
out:
	BN_clear_free(bd);
	EC_POINT_free(q);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return r;
}

static int
import_ecc(struct p11_ctx *c, const char *label, size_t label_len, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, uint32_t *bits)
{
	const struct curve *cv = NULL;
	int is_pair = TT_KEY_TYPE_IS_KEY_PAIR(a->type);
	uint8_t pt[133], ptw[136];
	size_t pt_len = 0, ptw_len = 0, clen;
	CK_OBJECT_CLASS cpub = CKO_PUBLIC_KEY, cpriv = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[8], priv[12];
	CK_ULONG np = 0, nk = 0;
	int r;

	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		clen = (curves[i].bits + 7) / 8;
		if ((a->bits == 0 || a->bits == curves[i].bits) &&
		    len == (is_pair ? clen : 2 * clen + 1))
			cv = &curves[i];
	}
	if (cv == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	*bits = cv->bits;
	if (is_pair) {
		if ((r = ec_public_of(cv, data, len, pt, sizeof(pt), &pt_len)) != 0)
			return r;
	} else {
		EC_GROUP *g = EC_GROUP_new_by_curve_name(cv->nid);
		EC_POINT *q = g != NULL ? EC_POINT_new(g) : NULL;
		int ok = q != NULL && data[0] == 0x04 && EC_POINT_oct2point(g, q, data, len, NULL) == 1;

		EC_POINT_free(q);
		EC_GROUP_free(g);
		if (!ok)
			return TT_ERR_INVALID_ARGUMENT;
		memcpy(pt, data, len);
		pt_len = len;
	}
	if ((r = wrap_point(pt, pt_len, ptw, sizeof(ptw), &ptw_len)) != 0)
		return r;
	pub[np++] = (CK_ATTRIBUTE){ CKA_CLASS, &cpub, sizeof(cpub) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_ID, (void *)kid, TT_KEY_ID_LEN };
	pub[np++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, label_len };
	pub[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	pub[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)cv->oid, cv->oid_len };
	pub[np++] = (CK_ATTRIBUTE){ CKA_EC_POINT, ptw, ptw_len };
	if (is_pair) {
		priv[nk++] = (CK_ATTRIBUTE){ CKA_CLASS, &cpriv, sizeof(cpriv) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_ID, (void *)kid, TT_KEY_ID_LEN };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, label_len };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)cv->oid, cv->oid_len };
		priv[nk++] = (CK_ATTRIBUTE){ CKA_VALUE, (void *)data, len };
	}
	return create_objects(c, kid, pub, np, is_pair ? priv : NULL, nk);
}

int
tt_p11_import_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, struct tt_buf *ref)
{
	struct p11_ctx *c = ctx;
	char label[P11_LABEL_LEN + 1];
	size_t label_len = P11_LABEL_LEN;
	uint32_t bits = 0;
	int r;

	(void)o;   /* the owner never reaches the token (see the top of this file) */
	opaque_label(kid, label);

	if ((r = type_ok(a->type, a->bits, 1)) != 0)
		return r;
	if (data == NULL || len == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (TT_KEY_TYPE_IS_RSA(a->type))
		r = import_rsa(c, label, label_len, kid, a, data, len, &bits);
	else
		r = import_ecc(c, label, label_len, kid, a, data, len, &bits);
	if (r != 0)
		return r;
	if ((r = put_ref(kid, a, bits, ref)) != 0)
		(void)tt_p11_destroy_key(ctx, kid, NULL, 0);
	return r;
}

/* ---- destroy ---- */

int
tt_p11_destroy_key(void *ctx, const uint8_t kid[TT_KEY_ID_LEN], const uint8_t *ref, size_t ref_len)
{
	struct p11_ctx *c = ctx;
	struct p11_sess s;
	int r;

	(void)ref;
	(void)ref_len;
	tt_p11_hcache_drop(c, kid);
	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	r = destroy_all(c, &s, kid);
	tt_p11_put(c, &s);
	return r;
}

/* ---- public key ---- */

/* Read the public material of k: RSA modulus/exponent or the EC point. */
static int
read_public(struct p11_ctx *c, const struct tt_key *k, uint8_t **v1, size_t *l1, uint8_t **v2, size_t *l2)
{
	struct p11_sess s;
	CK_OBJECT_HANDLE h;
	int r;

	*v1 = *v2 = NULL;
	if ((r = tt_p11_get(c, &s)) != 0)
		return r;
	if ((r = tt_p11_find(c, &s, k->kid, CKO_PUBLIC_KEY, &h)) != 0) {
		if (r == TT_ERR_DOES_NOT_EXIST)
			tt_err_log("pkcs11: the token has no public key object for a stored key");
		goto out;
	}
	if (TT_KEY_TYPE_IS_RSA(k->attrs.type)) {
		if ((r = get_attr(c, &s, h, CKA_MODULUS, v1, l1)) != 0 ||
		    (r = get_attr(c, &s, h, CKA_PUBLIC_EXPONENT, v2, l2)) != 0)
			goto out;
	} else if ((r = get_attr(c, &s, h, CKA_EC_POINT, v1, l1)) != 0) {
		goto out;
	}
out:
	tt_p11_put(c, &s);
	if (r != 0) {
		free(*v1);
		free(*v2);
		*v1 = *v2 = NULL;
	}
	return r;
}

static int
build_pkey(const struct tt_key *k, const uint8_t *v1, size_t l1, const uint8_t *v2, size_t l2, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const struct curve *cv;
	const uint8_t *pt;
	int r = TT_ERR_DATA_CORRUPT;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return TT_ERR_NO_MEMORY;
	if (TT_KEY_TYPE_IS_RSA(k->attrs.type)) {
		if ((n = BN_bin2bn(v1, (int)l1, NULL)) == NULL || (e = BN_bin2bn(v2, (int)l2, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		if ((cv = curve_of(k->attrs.bits)) == NULL)
			goto out;
		if (unwrap_point(v1, l1, (cv->bits + 7) / 8, &pt) != 0)
			goto out;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->ossl_name, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 2 * ((cv->bits + 7) / 8) + 1))
			goto out;
		pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL || pc == NULL ||
	    EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

int
tt_p11_public_pkey(struct p11_ctx *c, const struct tt_key *k, EVP_PKEY **pkey)
{
	uint8_t *v1 = NULL, *v2 = NULL;
	size_t l1 = 0, l2 = 0;
	EVP_PKEY *pk = NULL;
	int r;

	if ((r = read_public(c, k, &v1, &l1, &v2, &l2)) != 0)
		return r;
	if ((r = build_pkey(k, v1, l1, v2, l2, &pk)) == 0)
		*pkey = pk;
	free(v1);
	free(v2);
	return r;
}

int
tt_p11_export_public_key(void *ctx, const struct tt_key *k, struct tt_buf *out)
{
	struct p11_ctx *c = ctx;
	uint8_t *v1 = NULL, *v2 = NULL, *der = NULL;
	size_t l1 = 0, l2 = 0;
	const uint8_t *pt;
	const struct curve *cv;
	EVP_PKEY *pk = NULL;
	int n, r;

	if (!TT_KEY_TYPE_IS_RSA(k->attrs.type) && !is_ecc_r1(k->attrs.type))
		return TT_ERR_NOT_SUPPORTED;
	if ((r = read_public(c, k, &v1, &l1, &v2, &l2)) != 0)
		return r;
	if (TT_KEY_TYPE_IS_RSA(k->attrs.type)) {
		/* PSA's format is PKCS#1 RSAPublicKey, which i2d_PublicKey writes for RSA. */
		if ((r = build_pkey(k, v1, l1, v2, l2, &pk)) != 0)
			goto out;
		r = TT_ERR_GENERIC;
		if ((n = i2d_PublicKey(pk, &der)) <= 0)
			goto out;
		r = tt_buf_put(out, der, (size_t)n);
	} else {
		r = TT_ERR_DATA_CORRUPT;
		if ((cv = curve_of(k->attrs.bits)) == NULL ||
		    unwrap_point(v1, l1, (cv->bits + 7) / 8, &pt) != 0)
			goto out;
		r = tt_buf_put(out, pt, 2 * ((cv->bits + 7) / 8) + 1);
	}
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	free(v1);
	free(v2);
	return r;
}
