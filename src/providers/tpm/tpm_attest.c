/*
 * Key attestation with the TPM.
 *
 * ActivateCredential (PARSEC's PrepareKeyAttestation / AttestKey): the verifier learns
 * the attested key's name and public area and the endorsement key's public area,
 * runs MakeCredential(EK public, name, secret) and sends the blob back; only the TPM
 * holding both the EK and a key of exactly that name can recover the secret. The
 * default attesting key is the EK from the TCG template (RSA 2048, L-1, or ECC P-256,
 * L-2, with ek_alg = ecc), recreated with CreatePrimary in the endorsement hierarchy, so
 * it matches the EK certificate.
 *
 * Certify (Turtle vendor opcode): a restricted ECDSA P-256 attestation key, a primary
 * from a fixed template in the endorsement hierarchy, signs a TPMS_ATTEST naming the
 * key, with the caller's nonce as qualifying data.
 *
 * Primaries are created per request and flushed after: they cost a slot, and requests
 * are rare.
 */
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "providers/tpm/tpm_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

/* Name of an object: nameAlg (big-endian) || H_nameAlg(marshalled TPMT_PUBLIC). */
static int
object_name(const TPM2B_PUBLIC *pub, struct tt_buf *out)
{
	uint8_t m[sizeof(TPMT_PUBLIC)];
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	size_t off = 0;
	int r;

	if (pub->publicArea.nameAlg != TPM2_ALG_SHA256)
		return TT_ERR_NOT_SUPPORTED;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, m, sizeof(m), &off) != TSS2_RC_SUCCESS)
		return TT_ERR_DATA_CORRUPT;
	if (EVP_Digest(m, off, d, &dl, EVP_sha256(), NULL) != 1)
		return TT_ERR_GENERIC;
	if ((r = tt_buf_put_u16be(out, TPM2_ALG_SHA256)) != 0)
		return r;
	return tt_buf_put(out, d, dl);
}

static int
put_public(const TPM2B_PUBLIC *pub, struct tt_buf *out)
{
	uint8_t m[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, m, sizeof(m), &off) != TSS2_RC_SUCCESS)
		return TT_ERR_DATA_CORRUPT;
	return tt_buf_put(out, m, off);
}

static void
flush(struct tpm_ctx *c, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE && !c->dead)
		(void)Esys_FlushContext(c->esys, *h);
	*h = ESYS_TR_NONE;
}

int
tt_tpm_prepare_activate_credential(void *ctx, const struct tt_key *attested,
    const struct tt_key *attesting, struct tt_buf *name, struct tt_buf *pub,
    struct tt_buf *attesting_pub)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC kp, tmpl;
	TPM2B_PUBLIC *ekp = NULL;
	ESYS_TR ek = ESYS_TR_NONE;
	int pair, r;

	if (attesting != NULL)
		return TT_ERR_NOT_SUPPORTED;   /* only the endorsement key attests */
	if ((r = tt_tpm_ref_parse(attested->ref, attested->ref_len, &kp, NULL, &pair)) != 0)
		return r;
	if (!pair)
		return TT_ERR_NOT_SUPPORTED;
	if ((r = object_name(&kp, name)) != 0 || (r = put_public(&kp, pub)) != 0)
		return r;
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	tt_tpm_agent_ek_template(c, &tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ek, &ekp)) != 0)
		goto out;
	r = put_public(ekp, attesting_pub);
out:
	flush(c, &ek);
	tt_tpm_leave(c);
	Esys_Free(ekp);
	return r;
}

int
tt_tpm_attest_activate_credential(void *ctx, const struct tt_key *attested,
    const struct tt_key *attesting, const uint8_t *credential_blob, size_t blob_len,
    const uint8_t *secret, size_t secret_len, struct tt_buf *credential)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC tmpl;
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET sec = { 0 };
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST *cred = NULL;
	ESYS_TR ek = ESYS_TR_NONE, sess = ESYS_TR_NONE, kh;
	TSS2_RC rc;
	int r;

	if (attesting != NULL)
		return TT_ERR_NOT_SUPPORTED;
	/* blob and secret are the contents of TPM2B_ID_OBJECT / TPM2B_ENCRYPTED_SECRET */
	if (blob_len == 0 || blob_len > sizeof(blob.credential) ||
	    secret_len == 0 || secret_len > sizeof(sec.secret))
		return TT_ERR_INVALID_ARGUMENT;
	blob.size = (UINT16)blob_len;
	memcpy(blob.credential, credential_blob, blob_len);
	sec.size = (UINT16)secret_len;
	memcpy(sec.secret, secret, secret_len);
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	/* EK first: loading the key may evict cached keys, but never the EK */
	tt_tpm_agent_ek_template(c, &tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ek, NULL)) != 0)
		goto out;
	if ((r = tt_tpm_key_handle(c, attested, &kh)) != 0)
		goto out;
	/* The EK's authPolicy is PolicySecret(TPM_RH_ENDORSEMENT). */
	TPM_RUN(rc, Esys_StartAuthSession(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &sess));
	if (rc != TSS2_RC_SUCCESS) {
		sess = ESYS_TR_NONE;
		r = tt_tpm_fail(c, "StartAuthSession", rc);
		goto out;
	}
	TPM_RUN(rc, Esys_PolicySecret(c->esys, ESYS_TR_RH_ENDORSEMENT, sess, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "PolicySecret", rc);
		goto out;
	}
	TPM_RUN(rc, Esys_ActivateCredential(c->esys, kh, ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE,
	    &blob, &sec, &cred));
	if (rc != TSS2_RC_SUCCESS) {
		/* a blob made for another key or TPM fails its integrity check */
		r = tt_tpm_fail(c, "ActivateCredential", rc);
		goto out;
	}
	r = tt_buf_put(credential, cred->buffer, cred->size);
out:
	/* a policy session is flushed by the TPM after a successful use only when
	 * continueSession is clear; flush it explicitly either way */
	flush(c, &sess);
	flush(c, &ek);
	tt_tpm_leave(c);
	if (cred != NULL)
		tt_wipe(cred, sizeof(*cred));
	Esys_Free(cred);
	return r;
}

int
tt_tpm_certify_key(void *ctx, const struct tt_key *key, const uint8_t *nonce,
    size_t nonce_len, struct tt_buf *attest, struct tt_buf *sig)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA q = { 0 };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *s = NULL;
	uint8_t m[sizeof(TPMT_SIGNATURE)];
	size_t off = 0;
	ESYS_TR ak = ESYS_TR_NONE, kh;
	TSS2_RC rc;
	int r;

	if (nonce_len > sizeof(q.buffer))
		return TT_ERR_INVALID_ARGUMENT;
	q.size = (UINT16)nonce_len;
	if (nonce_len > 0)
		memcpy(q.buffer, nonce, nonce_len);
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	tt_tpm_ak_template(&tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ak, NULL)) != 0)
		goto out;
	if ((r = tt_tpm_key_handle(c, key, &kh)) != 0)
		goto out;
	TPM_RUN(rc, Esys_Certify(c->esys, kh, ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    &q, &scheme, &info, &s));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Certify", rc);
		goto out;
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(s, m, sizeof(m), &off) != TSS2_RC_SUCCESS) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	if ((r = tt_buf_put(attest, info->attestationData, info->size)) != 0)
		goto out;
	r = tt_buf_put(sig, m, off);
out:
	flush(c, &ak);
	tt_tpm_leave(c);
	Esys_Free(info);
	Esys_Free(s);
	return r;
}
