/*
 * TPM cryptographic operations: signing and RSA decryption in the TPM; verification,
 * RSA encryption and hashing in software from the public area (public operations gain
 * nothing from the TPM and would cost a slot and a round trip); randomness from the TPM.
 */
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "providers/tpm/tpm_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

#define RANDOM_CHUNK 32

TPM2_ALG_ID
tt_tpm_hash_alg(tt_alg_t h)
{
	switch (h) {
	case TT_ALG_SHA_1:
		return TPM2_ALG_SHA1;
	case TT_ALG_SHA_256:
		return TPM2_ALG_SHA256;
	case TT_ALG_SHA_384:
		return TPM2_ALG_SHA384;
	case TT_ALG_SHA_512:
		return TPM2_ALG_SHA512;
	default:
		return TPM2_ALG_ERROR;
	}
}

static const EVP_MD *
evp_md(tt_alg_t h)
{
	switch (h) {
	case TT_ALG_SHA_1:
		return EVP_sha1();
	case TT_ALG_SHA_224:
		return EVP_sha224();
	case TT_ALG_SHA_256:
		return EVP_sha256();
	case TT_ALG_SHA_384:
		return EVP_sha384();
	case TT_ALG_SHA_512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* Signature scheme for a PSA algorithm on a key of this type. */
static int
sig_scheme(const TPMT_PUBLIC *p, tt_alg_t alg, TPMT_SIG_SCHEME *s)
{
	TPM2_ALG_ID h = tt_tpm_hash_alg(TT_ALG_GET_HASH(alg));

	if (h == TPM2_ALG_ERROR)
		return TT_ERR_NOT_SUPPORTED;
	if (p->type == TPM2_ALG_ECC && TT_ALG_SIGN_BASE(alg) == TT_ALG_ECDSA_BASE)
		s->scheme = TPM2_ALG_ECDSA;
	else if (p->type == TPM2_ALG_RSA && TT_ALG_IS_RSA_PKCS1V15_SIGN(alg))
		s->scheme = TPM2_ALG_RSASSA;
	else if (p->type == TPM2_ALG_RSA && TT_ALG_IS_RSA_PSS(alg))
		s->scheme = TPM2_ALG_RSAPSS;
	else
		return TT_ERR_NOT_SUPPORTED;
	s->details.any.hashAlg = h;
	return 0;
}

int
tt_tpm_sign_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, struct tt_buf *sig)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC pub;
	TPMT_SIG_SCHEME scheme;
	TPM2B_DIGEST dig = { 0 };
	TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	TPMT_SIGNATURE *s = NULL;
	ESYS_TR h;
	TSS2_RC rc;
	size_t n;
	uint8_t rs[2 * TPM2_MAX_ECC_KEY_BYTES];
	int pair, r;

	if ((r = tt_tpm_ref_parse(k->ref, k->ref_len, &pub, NULL, &pair)) != 0)
		return r;
	if (!pair)
		return TT_ERR_NOT_SUPPORTED;
	if ((r = sig_scheme(&pub.publicArea, alg, &scheme)) != 0)
		return r;
	if (hash_len > sizeof(dig.buffer) || hash_len != tt_psa_hash_size(TT_ALG_GET_HASH(alg)))
		return TT_ERR_INVALID_ARGUMENT;
	dig.size = (UINT16)hash_len;
	memcpy(dig.buffer, hash, hash_len);
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	if ((r = tt_tpm_key_handle(c, k, &h)) != 0)
		goto out;
	TPM_RUN(rc, Esys_Sign(c->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &dig, &scheme, &ticket, &s));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Sign", rc);
		goto out;
	}
	if (s->sigAlg == TPM2_ALG_ECDSA) {
		/* PSA: r || s, each left-padded to the curve size */
		n = pub.publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
		if (s->signature.ecdsa.signatureR.size > n || s->signature.ecdsa.signatureS.size > n) {
			r = TT_ERR_HARDWARE;
			goto out;
		}
		memset(rs, 0, sizeof(rs));
		memcpy(rs + n - s->signature.ecdsa.signatureR.size, s->signature.ecdsa.signatureR.buffer,
		    s->signature.ecdsa.signatureR.size);
		memcpy(rs + 2 * n - s->signature.ecdsa.signatureS.size, s->signature.ecdsa.signatureS.buffer,
		    s->signature.ecdsa.signatureS.size);
		r = tt_buf_put(sig, rs, 2 * n);
	} else {
		/* RSASSA and RSAPSS share the layout */
		r = tt_buf_put(sig, s->signature.rsassa.sig.buffer, s->signature.rsassa.sig.size);
	}
out:
	tt_tpm_leave(c);
	Esys_Free(s);
	return r;
}

/* PSA r||s -> DER ECDSA-Sig-Value for OpenSSL. */
static int
ecdsa_der(const uint8_t *sig, size_t len, unsigned char **der, int *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	int r = TT_ERR_INVALID_SIGNATURE;

	*der = NULL;
	if ((br = BN_bin2bn(sig, (int)(len / 2), NULL)) == NULL ||
	    (bs = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL)) == NULL || (es = ECDSA_SIG_new()) == NULL)
		goto out;
	if (!ECDSA_SIG_set0(es, br, bs))
		goto out;
	br = bs = NULL;
	if ((*der_len = i2d_ECDSA_SIG(es, der)) <= 0)
		goto out;
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

int
tt_tpm_verify_hash(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	TPM2B_PUBLIC pub;
	TPMT_SIG_SCHEME scheme;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *md = evp_md(TT_ALG_GET_HASH(alg));
	unsigned char *der = NULL;
	int der_len = 0, pair, r;
	size_t n;

	(void)ctx;
	if ((r = tt_tpm_ref_parse(k->ref, k->ref_len, &pub, NULL, &pair)) != 0)
		return r;
	if ((r = sig_scheme(&pub.publicArea, alg, &scheme)) != 0 || md == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if ((r = tt_tpm_pub_to_pkey(&pub.publicArea, &pk)) != 0)
		return r;
	if (scheme.scheme == TPM2_ALG_ECDSA) {
		n = pub.publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
		if (sig_len != 2 * n) {
			r = TT_ERR_INVALID_SIGNATURE;
			goto out;
		}
		if ((r = ecdsa_der(sig, sig_len, &der, &der_len)) != 0)
			goto out;
		sig = der;
		sig_len = (size_t)der_len;
	}
	r = TT_ERR_GENERIC;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL || EVP_PKEY_verify_init(pc) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(pc, md) <= 0)
		goto out;
	if (scheme.scheme == TPM2_ALG_RSASSA && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0)
		goto out;
	/* PSA's PSS: salt as long as the hash; the TPM signs that way too */
	if (scheme.scheme == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_AUTO) <= 0))
		goto out;
	r = EVP_PKEY_verify(pc, sig, sig_len, hash, hash_len) == 1 ? 0 : TT_ERR_INVALID_SIGNATURE;
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	return r;
}

int
tt_tpm_asym_encrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	TPM2B_PUBLIC pub;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *pc = NULL;
	const EVP_MD *md = NULL;
	uint8_t *lbl = NULL, *p;
	size_t olen;
	int pair, r;

	(void)ctx;
	if ((r = tt_tpm_ref_parse(k->ref, k->ref_len, &pub, NULL, &pair)) != 0)
		return r;
	if (pub.publicArea.type != TPM2_ALG_RSA)
		return TT_ERR_NOT_SUPPORTED;
	if (TT_ALG_IS_RSA_OAEP(alg) && (md = evp_md(TT_ALG_GET_HASH(alg))) == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if (!TT_ALG_IS_RSA_OAEP(alg) && alg != TT_ALG_RSA_PKCS1V15_CRYPT)
		return TT_ERR_NOT_SUPPORTED;
	if (md == NULL && salt_len != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_tpm_pub_to_pkey(&pub.publicArea, &pk)) != 0)
		return r;
	r = TT_ERR_GENERIC;
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL || EVP_PKEY_encrypt_init(pc) <= 0)
		goto out;
	if (md != NULL) {
		if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) <= 0)
			goto out;
		if (salt_len > 0) {
			/* the context takes ownership of the label */
			if ((lbl = OPENSSL_memdup(salt, salt_len)) == NULL)
				goto out;
			if (EVP_PKEY_CTX_set0_rsa_oaep_label(pc, lbl, (int)salt_len) <= 0) {
				OPENSSL_free(lbl);
				goto out;
			}
		}
	} else if (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0) {
		goto out;
	}
	if (EVP_PKEY_encrypt(pc, NULL, &olen, in, in_len) <= 0)
		goto out;
	if ((r = tt_buf_reserve(out, olen, &p)) != 0)
		goto out;
	if (EVP_PKEY_encrypt(pc, p, &olen, in, in_len) <= 0) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	tt_buf_commit(out, olen);
	r = 0;
out:
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
	return r;
}

int
tt_tpm_asym_decrypt(void *ctx, const struct tt_key *k, tt_alg_t alg,
    const uint8_t *in, size_t in_len, const uint8_t *salt, size_t salt_len, struct tt_buf *out)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC pub;
	TPMT_RSA_DECRYPT scheme = { 0 };
	TPM2B_PUBLIC_KEY_RSA ct = { 0 };
	TPM2B_DATA label = { 0 };
	TPM2B_PUBLIC_KEY_RSA *pt = NULL;
	ESYS_TR h;
	TSS2_RC rc;
	int pair, r;

	if ((r = tt_tpm_ref_parse(k->ref, k->ref_len, &pub, NULL, &pair)) != 0)
		return r;
	if (!pair || pub.publicArea.type != TPM2_ALG_RSA)
		return TT_ERR_NOT_SUPPORTED;
	if (TT_ALG_IS_RSA_OAEP(alg)) {
		scheme.scheme = TPM2_ALG_OAEP;
		if ((scheme.details.oaep.hashAlg = tt_tpm_hash_alg(TT_ALG_GET_HASH(alg))) == TPM2_ALG_ERROR)
			return TT_ERR_NOT_SUPPORTED;
	} else if (alg == TT_ALG_RSA_PKCS1V15_CRYPT) {
		scheme.scheme = TPM2_ALG_RSAES;
		if (salt_len != 0)
			return TT_ERR_INVALID_ARGUMENT;
	} else {
		return TT_ERR_NOT_SUPPORTED;
	}
	if (in_len != pub.publicArea.unique.rsa.size || in_len > sizeof(ct.buffer))
		return TT_ERR_INVALID_ARGUMENT;
	/* The TPM treats the label as a C string: it must be empty or end in one zero octet. */
	if (salt_len > sizeof(label.buffer) ||
	    (salt_len > 0 && (salt[salt_len - 1] != 0 || memchr(salt, 0, salt_len - 1) != NULL)))
		return TT_ERR_NOT_SUPPORTED;
	ct.size = (UINT16)in_len;
	memcpy(ct.buffer, in, in_len);
	label.size = (UINT16)salt_len;
	if (salt_len > 0)
		memcpy(label.buffer, salt, salt_len);
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	if ((r = tt_tpm_key_handle(c, k, &h)) != 0)
		goto out;
	TPM_RUN(rc, Esys_RSA_Decrypt(c->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &ct, &scheme, &label, &pt));
	if (rc != TSS2_RC_SUCCESS) {
		/* A padding check failing in the TPM comes back as a bad value; libtpms (swtpm)
		 * answers TPM_RC_FAILURE for it without entering failure mode. A TPM that
		 * really failed shows it on the next command. */
		if ((rc & TPM2_RC_FMT1) ? (rc & (TPM2_RC_FMT1 | 0x3f)) == TPM2_RC_VALUE :
		    rc == TPM2_RC_FAILURE) {
			tt_debug("tpm: RSA_Decrypt: 0x%x: treated as a padding error", (unsigned)rc);
			r = TT_ERR_INVALID_PADDING;
		} else {
			r = tt_tpm_fail(c, "RSA_Decrypt", rc);
		}
		goto out;
	}
	r = tt_buf_put(out, pt->buffer, pt->size);
out:
	tt_tpm_leave(c);
	if (pt != NULL)
		tt_wipe(pt, sizeof(*pt));
	Esys_Free(pt);
	return r;
}

int
tt_tpm_generate_random(void *ctx, size_t n, struct tt_buf *out)
{
	struct tpm_ctx *c = ctx;
	TPM2B_DIGEST *rnd = NULL;
	TSS2_RC rc;
	int r = 0;

	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	while (n > 0) {
		UINT16 want = (UINT16)(n < RANDOM_CHUNK ? n : RANDOM_CHUNK);

		TPM_RUN(rc, Esys_GetRandom(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, want, &rnd));
		if (rc != TSS2_RC_SUCCESS) {
			r = tt_tpm_fail(c, "GetRandom", rc);
			break;
		}
		/* the TPM may return fewer bytes than asked; loop for the rest */
		if (rnd->size == 0 || rnd->size > want) {
			r = TT_ERR_HARDWARE;
			break;
		}
		if ((r = tt_buf_put(out, rnd->buffer, rnd->size)) != 0)
			break;
		n -= rnd->size;
		Esys_Free(rnd);
		rnd = NULL;
	}
	tt_tpm_leave(c);
	Esys_Free(rnd);
	return r;
}

int
tt_tpm_hash_compute(void *ctx, tt_alg_t alg, const uint8_t *in, size_t in_len, struct tt_buf *out)
{
	const EVP_MD *md = evp_md(alg);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	(void)ctx;
	if (md == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if (EVP_Digest(in, in_len, d, &dl, md, NULL) != 1)
		return TT_ERR_GENERIC;
	return tt_buf_put(out, d, dl);
}
