/*
 * TPM key life cycle: the fixed primary templates, key blobs, generate/import/destroy
 * and the public half in PSA format.
 *
 * Key reference (stored by the key store, opaque to everyone else):
 *   u8 version = 1 | TPM2B_PUBLIC | TPM2B_PRIVATE      (key pair, loaded under the SRK)
 *   u8 version = 2 | TPM2B_PUBLIC                      (imported public key, software only)
 * both marshalled with Tss2_MU (big-endian, size-prefixed). The private part is wrapped
 * by the TPM under the SRK, whose seed never leaves the TPM: the blob is useless
 * elsewhere, and the same SRK is recreated from its template after every restart.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "providers/rsa_check.h"
#include "providers/tpm/tpm_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- templates ---- */

/* TCG TPM v2.0 Provisioning Guidance: ECC P-256 storage root key. */
void
tt_tpm_srk_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	t->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	t->publicArea.unique.ecc.x.size = 32;
	t->publicArea.unique.ecc.y.size = 32;
}

/* PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256, the EK's authPolicy. */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
	0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* TCG EK Credential Profile, template L-1: RSA 2048 endorsement key. It matches the EK
 * certificate the manufacturer (or swtpm_setup) issued. */
void
tt_tpm_ek_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_RSA;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	t->publicArea.authPolicy.size = sizeof(ek_policy);
	memcpy(t->publicArea.authPolicy.buffer, ek_policy, sizeof(ek_policy));
	t->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	t->publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.rsaDetail.keyBits = 2048;
	t->publicArea.parameters.rsaDetail.exponent = 0;
	t->publicArea.unique.rsa.size = 256;
}

/* Turtle's attestation key: restricted ECDSA P-256/SHA-256 signing primary in the
 * endorsement hierarchy, so it is as stable as the EK (same seed, fixed template). */
void
tt_tpm_ak_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	t->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	t->publicArea.unique.ecc.x.size = 32;
	t->publicArea.unique.ecc.y.size = 32;
}

/* ---- key references ---- */

int
tt_tpm_ref_parse(const uint8_t *ref, size_t len, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, int *is_pair)
{
	size_t off = 1;
	TPM2B_PRIVATE tmp;

	if (ref == NULL || len < 1)
		return TT_ERR_DATA_CORRUPT;
	memset(pub, 0, sizeof(*pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(ref, len, &off, pub) != TSS2_RC_SUCCESS)
		return TT_ERR_DATA_CORRUPT;
	if (ref[0] == TPM_REF_VERSION) {
		memset(&tmp, 0, sizeof(tmp));
		if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(ref, len, &off, &tmp) != TSS2_RC_SUCCESS)
			return TT_ERR_DATA_CORRUPT;
		if (priv != NULL)
			*priv = tmp;
		*is_pair = 1;
	} else if (ref[0] == TPM_REF_VERSION_PUBLIC) {
		*is_pair = 0;
	} else {
		return TT_ERR_DATA_CORRUPT;
	}
	return off == len ? 0 : TT_ERR_DATA_CORRUPT;
}

static int
ref_write(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, struct tt_buf *ref)
{
	uint8_t blob[1 + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t off = 1;
	int r;

	blob[0] = priv != NULL ? TPM_REF_VERSION : TPM_REF_VERSION_PUBLIC;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, blob, sizeof(blob), &off) != TSS2_RC_SUCCESS ||
	    (priv != NULL && Tss2_MU_TPM2B_PRIVATE_Marshal(priv, blob, sizeof(blob), &off) != TSS2_RC_SUCCESS))
		return TT_ERR_GENERIC;
	r = tt_buf_put(ref, blob, off);
	return r;
}

/* ---- OpenSSL view of a public area ---- */

static const char *
curve_name(TPMI_ECC_CURVE c, size_t *bytes)
{
	switch (c) {
	case TPM2_ECC_NIST_P256:
		*bytes = 32;
		return "P-256";
	case TPM2_ECC_NIST_P384:
		*bytes = 48;
		return "P-384";
	default:
		return NULL;
	}
}

/* Uncompressed point 04 || x || y with coordinates padded to the curve size. */
static int
ecc_point(const TPMT_PUBLIC *p, uint8_t *pt, size_t *len)
{
	size_t n;
	const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;

	if (curve_name(p->parameters.eccDetail.curveID, &n) == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if (x->size > n || y->size > n)
		return TT_ERR_DATA_CORRUPT;
	memset(pt, 0, 1 + 2 * n);
	pt[0] = 0x04;
	memcpy(pt + 1 + n - x->size, x->buffer, x->size);
	memcpy(pt + 1 + 2 * n - y->size, y->buffer, y->size);
	*len = 1 + 2 * n;
	return 0;
}

int
tt_tpm_pub_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
	size_t ptlen, cb;
	const char *curve;
	int r = TT_ERR_GENERIC;

	*out = NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (p->type == TPM2_ALG_RSA) {
		if ((n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL)) == NULL ||
		    (e = BN_new()) == NULL ||
		    !BN_set_word(e, p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else if (p->type == TPM2_ALG_ECC) {
		if ((curve = curve_name(p->parameters.eccDetail.curveID, &cb)) == NULL) {
			r = TT_ERR_NOT_SUPPORTED;
			goto out;
		}
		if ((r = ecc_point(p, pt, &ptlen)) != 0)
			goto out;
		r = TT_ERR_GENERIC;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen))
			goto out;
		pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (pc == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

/* ---- capability ---- */

static int
ecc_curve(const struct tt_key_attrs *a, TPMI_ECC_CURVE *c)
{
	if (!TT_KEY_TYPE_IS_ECC(a->type) ||
	    TT_KEY_TYPE_ECC_GET_FAMILY(a->type) != TT_ECC_FAMILY_SECP_R1)
		return TT_ERR_NOT_SUPPORTED;
	if (a->bits == 256)
		*c = TPM2_ECC_NIST_P256;
	else if (a->bits == 384)
		*c = TPM2_ECC_NIST_P384;
	else
		return TT_ERR_NOT_SUPPORTED;
	return 0;
}

static int
alg_ok(const struct tt_key_attrs *a)
{
	tt_alg_t alg = a->alg, h = TT_ALG_GET_HASH(alg);

	if (alg == TT_ALG_NONE)
		return 1;
	if (h != TT_ALG_NONE && (alg & TT_ALG_HASH_MASK) != (TT_ALG_ANY_HASH & TT_ALG_HASH_MASK) &&
	    tt_tpm_hash_alg(h) == TPM2_ALG_ERROR)
		return 0;
	if (TT_KEY_TYPE_IS_RSA(a->type))
		return TT_ALG_IS_RSA_PKCS1V15_SIGN(alg) && h != TT_ALG_NONE ? 1 :
		    TT_ALG_IS_RSA_PSS(alg) ? 1 :
		    TT_ALG_IS_RSA_OAEP(alg) ? 1 : alg == TT_ALG_RSA_PKCS1V15_CRYPT;
	/* ECC: ECDSA with a hash (the TPM signs digests; randomised ECDSA only) */
	return TT_ALG_SIGN_BASE(alg) == TT_ALG_ECDSA_BASE && h != TT_ALG_NONE;
}

int
tt_tpm_can_do(void *ctx, enum tt_check_type check, const struct tt_key_attrs *a)
{
	TPMI_ECC_CURVE c;

	(void)ctx;
	if (check == TT_CHECK_DERIVE)
		return TT_ERR_NOT_SUPPORTED;
	if (TT_KEY_TYPE_IS_RSA(a->type)) {
		if (a->bits != 2048 && !(check == TT_CHECK_USE && a->bits == 0) &&
		    !(check == TT_CHECK_IMPORT && a->bits == 0))
			return TT_ERR_NOT_SUPPORTED;
	} else if (ecc_curve(a, &c) != 0) {
		if (!(TT_KEY_TYPE_IS_ECC(a->type) && a->bits == 0 && check != TT_CHECK_GENERATE &&
		    TT_KEY_TYPE_ECC_GET_FAMILY(a->type) == TT_ECC_FAMILY_SECP_R1))
			return TT_ERR_NOT_SUPPORTED;
	}
	if (check == TT_CHECK_GENERATE && !TT_KEY_TYPE_IS_KEY_PAIR(a->type))
		return TT_ERR_NOT_SUPPORTED;
	return alg_ok(a) ? 0 : TT_ERR_NOT_SUPPORTED;
}

/* Public template of a new key: unrestricted, scheme NULL so that each call chooses
 * the padding/scheme its algorithm names. */
static int
key_template(const struct tt_key_attrs *a, TPM2B_PUBLIC *t, int imported)
{
	TPMA_OBJECT attrs = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	tt_usage_t sign = TT_USAGE_SIGN_HASH | TT_USAGE_SIGN_MESSAGE | TT_USAGE_VERIFY_HASH |
	    TT_USAGE_VERIFY_MESSAGE;
	tt_usage_t crypt = TT_USAGE_ENCRYPT | TT_USAGE_DECRYPT;
	TPMI_ECC_CURVE curve;

	if (!imported)
		attrs |= TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
	if (a->usage & sign)
		attrs |= TPMA_OBJECT_SIGN_ENCRYPT;
	if (a->usage & crypt)
		attrs |= TPMA_OBJECT_DECRYPT;
	if (!(a->usage & (sign | crypt)))
		attrs |= TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT;
	memset(t, 0, sizeof(*t));
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = attrs;
	if (TT_KEY_TYPE_IS_RSA(a->type)) {
		if (a->bits != 2048)
			return TT_ERR_NOT_SUPPORTED;
		t->publicArea.type = TPM2_ALG_RSA;
		t->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		t->publicArea.parameters.rsaDetail.keyBits = 2048;
		t->publicArea.parameters.rsaDetail.exponent = 0;
		return 0;
	}
	if (ecc_curve(a, &curve) != 0)
		return TT_ERR_NOT_SUPPORTED;
	/* ECC keys only sign here (no ECDH through this provider). */
	t->publicArea.objectAttributes = (attrs & ~TPMA_OBJECT_DECRYPT) | TPMA_OBJECT_SIGN_ENCRYPT;
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.curveID = curve;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	return 0;
}

/* ---- generate / import / destroy ---- */

int
tt_tpm_generate_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *ref)
{
	struct tpm_ctx *c = ctx;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PUBLIC tmpl;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TSS2_RC rc;
	int r;

	(void)o;
	(void)kid;
	if (!TT_KEY_TYPE_IS_KEY_PAIR(a->type) || !alg_ok(a))
		return TT_ERR_NOT_SUPPORTED;
	if ((r = key_template(a, &tmpl, 0)) != 0)
		return r;
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	TPM_RUN_SLOT(c, rc, Esys_Create(c->esys, c->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Create", rc);
		goto out;
	}
	r = ref_write(pub, priv, ref);
out:
	tt_tpm_leave(c);
	if (priv != NULL)
		tt_wipe(priv, sizeof(*priv));
	Esys_Free(priv);
	Esys_Free(pub);
	return r;
}

/* Fill the public unique field and the sensitive part of an imported key pair. */
static int
import_material(const struct tt_key_attrs *a, const uint8_t *data, size_t len,
    TPM2B_PUBLIC *pub, TPMT_SENSITIVE *s)
{
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *p = NULL, *d = NULL;
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	BN_CTX *bc = NULL;
	uint8_t oct[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
	size_t cb;
	const unsigned char *q = data;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (TT_KEY_TYPE_IS_RSA(a->type)) {
		if ((pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &q, (long)len)) == NULL || q != data + len)
			goto out;
		/* Degenerate material is InvalidArgument before any "this TPM cannot" answer;
		 * the costlier pair check (primality) waits for the size checks below. */
		if ((r = tt_prov_rsa_check(pk, false)) != 0)
			goto out;
		r = TT_ERR_INVALID_ARGUMENT;
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &p))
			goto out;
		if (BN_num_bytes(n) != 256 || BN_num_bytes(p) > (int)sizeof(s->sensitive.rsa.buffer)) {
			r = TT_ERR_NOT_SUPPORTED;
			goto out;
		}
		{
			BIGNUM *e = NULL;
			int ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) && BN_is_word(e, 65537);

			BN_free(e);
			if (!ok) {
				r = TT_ERR_NOT_SUPPORTED;
				goto out;
			}
		}
		/* after the cheap size checks: the pair check tests p and q for primality */
		if ((r = tt_prov_rsa_check(pk, true)) != 0)
			goto out;
		r = TT_ERR_INVALID_ARGUMENT;
		pub->publicArea.unique.rsa.size = 256;
		BN_bn2binpad(n, pub->publicArea.unique.rsa.buffer, 256);
		s->sensitiveType = TPM2_ALG_RSA;
		s->sensitive.rsa.size = (UINT16)BN_num_bytes(p);
		BN_bn2bin(p, s->sensitive.rsa.buffer);
	} else {
		const char *name = pub->publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ?
		    "prime256v1" : "secp384r1";

		cb = pub->publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
		if (len != cb)
			goto out;
		if ((g = EC_GROUP_new_by_curve_name(OBJ_sn2nid(name))) == NULL ||
		    (d = BN_bin2bn(data, (int)len, NULL)) == NULL || (bc = BN_CTX_new()) == NULL ||
		    (pt = EC_POINT_new(g)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0 ||
		    !EC_POINT_mul(g, pt, d, NULL, NULL, bc) ||
		    EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof(oct), bc) != 1 + 2 * cb)
			goto out;
		pub->publicArea.unique.ecc.x.size = (UINT16)cb;
		memcpy(pub->publicArea.unique.ecc.x.buffer, oct + 1, cb);
		pub->publicArea.unique.ecc.y.size = (UINT16)cb;
		memcpy(pub->publicArea.unique.ecc.y.buffer, oct + 1 + cb, cb);
		s->sensitiveType = TPM2_ALG_ECC;
		s->sensitive.ecc.size = (UINT16)cb;
		memcpy(s->sensitive.ecc.buffer, data, cb);
	}
	r = 0;
out:
	EVP_PKEY_free(pk);
	BN_free(n);
	BN_clear_free(p);
	BN_clear_free(d);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	BN_CTX_free(bc);
	tt_wipe(oct, sizeof(oct));
	return r;
}

/* Public key from its PSA export format (RSAPublicKey DER or uncompressed point). */
static int
import_public(const struct tt_key_attrs *a, const uint8_t *data, size_t len, TPM2B_PUBLIC *pub)
{
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const unsigned char *q = data;
	size_t cb;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (TT_KEY_TYPE_IS_RSA(a->type)) {
		if ((pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len)) == NULL || q != data + len)
			goto out;
		if ((r = tt_prov_rsa_check(pk, false)) != 0)
			goto out;
		r = TT_ERR_INVALID_ARGUMENT;
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e))
			goto out;
		if (BN_num_bytes(n) != 256 || !BN_is_word(e, 65537)) {
			r = TT_ERR_NOT_SUPPORTED;
			goto out;
		}
		pub->publicArea.unique.rsa.size = 256;
		BN_bn2binpad(n, pub->publicArea.unique.rsa.buffer, 256);
	} else {
		cb = pub->publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
		if (len != 1 + 2 * cb || data[0] != 0x04)
			goto out;
		pub->publicArea.unique.ecc.x.size = (UINT16)cb;
		memcpy(pub->publicArea.unique.ecc.x.buffer, data + 1, cb);
		pub->publicArea.unique.ecc.y.size = (UINT16)cb;
		memcpy(pub->publicArea.unique.ecc.y.buffer, data + 1 + cb, cb);
		/* reject points not on the curve */
		EVP_PKEY *chk = NULL;

		if (tt_tpm_pub_to_pkey(&pub->publicArea, &chk) != 0)
			goto out;
		EVP_PKEY_free(chk);
	}
	r = 0;
out:
	EVP_PKEY_free(pk);
	BN_free(n);
	BN_free(e);
	return r;
}

int
tt_tpm_import_key(void *ctx, const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, const uint8_t *data, size_t len, struct tt_buf *ref)
{
	struct tpm_ctx *c = ctx;
	struct tt_key_attrs pa = *a;
	TPM2B_PUBLIC pub;
	TPMT_SENSITIVE sens;
	TPM2B_PRIVATE dup = { 0 };
	TPM2B_DATA nokey = { 0 };
	TPM2B_ENCRYPTED_SECRET noseed = { 0 };
	TPMT_SYM_DEF_OBJECT nosym = { .algorithm = TPM2_ALG_NULL };
	TPM2B_PRIVATE *priv = NULL;
	uint8_t sbuf[sizeof(TPMT_SENSITIVE)];
	size_t soff = 0;
	TSS2_RC rc;
	int r, entered = 0;

	(void)o;
	(void)kid;
	memset(&sens, 0, sizeof(sens));
	if (!alg_ok(a))
		return TT_ERR_NOT_SUPPORTED;
	if (pa.bits == 0) {
		if (TT_KEY_TYPE_IS_RSA(a->type))
			pa.bits = 2048;
		else if (TT_KEY_TYPE_IS_ECC(a->type))
			pa.bits = TT_KEY_TYPE_IS_KEY_PAIR(a->type) ? (uint32_t)len * 8 : (uint32_t)(len - 1) * 4;
	}
	if ((r = key_template(&pa, &pub, 1)) != 0)
		return r;
	if (TT_KEY_TYPE_IS_PUBLIC_KEY(a->type)) {
		if ((r = import_public(&pa, data, len, &pub)) != 0)
			return r;
		return ref_write(&pub, NULL, ref);
	}
	if ((r = import_material(&pa, data, len, &pub, &sens)) != 0)
		goto out;
	/* No inner or outer wrapper: the duplicate is the plain TPM2B_SENSITIVE, which the
	 * TPM accepts for a parent-less-bound object (fixedTPM/fixedParent clear). */
	if (Tss2_MU_TPMT_SENSITIVE_Marshal(&sens, sbuf, sizeof(sbuf), &soff) != TSS2_RC_SUCCESS ||
	    soff + 2 > sizeof(dup.buffer)) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	dup.size = (UINT16)(soff + 2);
	dup.buffer[0] = (uint8_t)(soff >> 8);
	dup.buffer[1] = (uint8_t)soff;
	memcpy(dup.buffer + 2, sbuf, soff);
	if ((r = tt_tpm_enter(c)) != 0)
		goto out;
	entered = 1;
	TPM_RUN_SLOT(c, rc, Esys_Import(c->esys, c->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &nokey, &pub, &dup, &noseed, &nosym, &priv));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Import", rc);
		goto out;
	}
	r = ref_write(&pub, priv, ref);
out:
	if (entered)
		tt_tpm_leave(c);
	tt_wipe(&sens, sizeof(sens));
	tt_wipe(sbuf, sizeof(sbuf));
	tt_wipe(&dup, sizeof(dup));
	if (priv != NULL)
		tt_wipe(priv, sizeof(*priv));
	Esys_Free(priv);
	return r;
}

int
tt_tpm_destroy_key(void *ctx, const uint8_t kid[TT_KEY_ID_LEN], const uint8_t *ref, size_t ref_len)
{
	struct tpm_ctx *c = ctx;

	(void)ref;
	(void)ref_len;
	/* Nothing persists in the TPM: dropping the cached handle is all. A dead TPM must
	 * not block deleting the key store row, so no reconnect here. */
	pthread_mutex_lock(&c->lock);
	tt_tpm_cache_drop(c, kid);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int
tt_tpm_export_public_key(void *ctx, const struct tt_key *k, struct tt_buf *out)
{
	TPM2B_PUBLIC pub;
	EVP_PKEY *pk = NULL;
	uint8_t pt[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
	unsigned char *der = NULL;
	size_t len;
	int pair, r, n;

	(void)ctx;
	if ((r = tt_tpm_ref_parse(k->ref, k->ref_len, &pub, NULL, &pair)) != 0)
		return r;
	if (pub.publicArea.type == TPM2_ALG_ECC) {
		if ((r = ecc_point(&pub.publicArea, pt, &len)) != 0)
			return r;
		return tt_buf_put(out, pt, len);
	}
	if ((r = tt_tpm_pub_to_pkey(&pub.publicArea, &pk)) != 0)
		return r;
	/* i2d_PublicKey of an RSA key is the PKCS#1 RSAPublicKey PSA exports */
	if ((n = i2d_PublicKey(pk, &der)) <= 0)
		r = TT_ERR_GENERIC;
	else
		r = tt_buf_put(out, der, (size_t)n);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return r;
}
