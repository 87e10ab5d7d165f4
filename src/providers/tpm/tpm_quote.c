/*
 * The node agent role of the TPM provider: quotes for remote attestation, the node's
 * identity (EK, EK certificate, AK) and activation of the AK's credential.
 *
 * The AK is the primary from tt_tpm_ak_template() in the endorsement hierarchy (the key
 * TtCertifyKey signs with): a primary is derived from the hierarchy seed and the template,
 * so it is the same key on every CreatePrimary, needs no storage, and is the key that
 * turtle-as registered. It is created per request and flushed after, as in tpm_attest.c.
 *
 * The EK is the RSA 2048 EK (TCG EK Credential Profile template L-1) unless the provider
 * config says ek_alg = ecc: then the ECC NIST P-256 EK (template L-2), which many TPMs
 * (and the vTPMs of some clouds) carry the only EK certificate for. Both are primaries
 * from the default templates, so they are the keys the manufacturer's certificates name.
 * turtle-as makes the credential for either (ECDH seed sharing for ECC), and
 * ActivateCredential needs the same PolicySecret(TPM_RH_ENDORSEMENT) session for both.
 *
 * PCRs are read before the quote inside one TPM lock. Another process extending a PCR in
 * between makes the values disagree with the quote's PCR digest; the verifier then refuses
 * the evidence (pcr-digest-mismatch) and the caller asks again. That is safe, and rare.
 */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "providers/tpm/tpm_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

/* TCG EK Credential Profile: EK certificate indices of the RSA 2048 and ECC P-256 EKs. */
#define EK_CERT_NV_RSA 0x01c00002u
#define EK_CERT_NV_ECC 0x01c0000au
#define EK_CERT_MAX 4096u
/* Chunk for NV_Read: below every TPM's MAX_NV_BUFFER_SIZE (swtpm: 1024). */
#define NV_CHUNK 512u

/* PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the authPolicy of the default EKs. */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5,
	0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b,
	0x33, 0x14, 0x69, 0xaa,
};

int
tt_tpm_agent_config(struct tpm_ctx *c, const struct tt_provider_cfg *cfg)
{
	const char *v = tt_provider_cfg_get(cfg, "ek_alg");

	if (v == NULL || strcmp(v, "rsa") == 0) {
		c->ek_ecc = 0;
		return 0;
	}
	if (strcmp(v, "ecc") == 0) {
		c->ek_ecc = 1;
		return 0;
	}
	tt_err_log("tpm: ek_alg must be \"rsa\" or \"ecc\", not \"%s\"", v);
	return TT_ERR_CONFIG;
}

/* TCG EK Credential Profile template L-2: ECC NIST P-256, SHA-256, AES-128-CFB, an
 * all-zero 32-byte x and y as the unique field. */
void
tt_tpm_agent_ek_template(const struct tpm_ctx *c, TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;

	if (!c->ek_ecc) {
		tt_tpm_ek_template(t);
		return;
	}
	memset(t, 0, sizeof(*t));
	p->type = TPM2_ALG_ECC;
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	p->authPolicy.size = sizeof(ek_policy);
	memcpy(p->authPolicy.buffer, ek_policy, sizeof(ek_policy));
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->unique.ecc.x.size = 32;
	p->unique.ecc.y.size = 32;
}

static size_t
digest_size(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1: return 20;
	case TPM2_ALG_SHA256: return 32;
	case TPM2_ALG_SHA384: return 48;
	case TPM2_ALG_SHA512: return 64;
	default: return 0;
	}
}

static void
flush(struct tpm_ctx *c, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE && !c->dead)
		(void)Esys_FlushContext(c->esys, *h);
	*h = ESYS_TR_NONE;
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

/* Name = nameAlg (big-endian) || H_nameAlg(marshalled TPMT_PUBLIC); the AK uses SHA-256. */
static int
put_name(const TPM2B_PUBLIC *pub, struct tt_buf *out)
{
	uint8_t m[sizeof(TPMT_PUBLIC)], d[EVP_MAX_MD_SIZE];
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
to_tpml(const struct tt_pcr_select *sel, TPML_PCR_SELECTION *t)
{
	memset(t, 0, sizeof(*t));
	if (sel->n == 0 || sel->n > TT_PCR_BANKS_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < sel->n; i++) {
		if (digest_size(sel->alg[i]) == 0 || sel->mask[i] == 0 ||
		    (sel->mask[i] >> TT_PCR_COUNT) != 0)
			return TT_ERR_INVALID_ARGUMENT;
		for (size_t j = 0; j < i; j++)
			if (sel->alg[j] == sel->alg[i])
				return TT_ERR_INVALID_ARGUMENT;
		t->pcrSelections[i].hash = sel->alg[i];
		t->pcrSelections[i].sizeofSelect = 3;
		t->pcrSelections[i].pcrSelect[0] = (uint8_t)(sel->mask[i] & 0xff);
		t->pcrSelections[i].pcrSelect[1] = (uint8_t)((sel->mask[i] >> 8) & 0xff);
		t->pcrSelections[i].pcrSelect[2] = (uint8_t)((sel->mask[i] >> 16) & 0xff);
	}
	t->count = (UINT32)sel->n;
	return 0;
}

/*
 * TPM2_PCR_Read returns at most 8 digests per call and says which ones it returned;
 * read until every selected PCR has a value. A bank the TPM does not have comes back
 * empty: that is an error (the quote would be refused anyway).
 */
static int
read_pcrs(struct tpm_ctx *c, const struct tt_pcr_select *sel, struct tt_buf *out)
{
	uint8_t vals[TT_PCR_BANKS_MAX][TT_PCR_COUNT][64];
	uint32_t want[TT_PCR_BANKS_MAX], got[TT_PCR_BANKS_MAX] = { 0 };
	int r = 0;

	for (size_t b = 0; b < sel->n; b++)
		want[b] = sel->mask[b];
	for (int round = 0; round < 32; round++) {
		struct tt_pcr_select rest = { .n = 0 };
		TPML_PCR_SELECTION in, *osel = NULL;
		TPML_DIGEST *dig = NULL;
		UINT32 upd = 0;
		size_t k = 0;
		bool progress = false;
		TSS2_RC rc;

		for (size_t b = 0; b < sel->n; b++) {
			if ((want[b] & ~got[b]) == 0)
				continue;
			rest.alg[rest.n] = sel->alg[b];
			rest.mask[rest.n++] = want[b] & ~got[b];
		}
		if (rest.n == 0)
			goto done;
		if ((r = to_tpml(&rest, &in)) != 0)
			return r;
		TPM_RUN(rc, Esys_PCR_Read(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in,
		    &upd, &osel, &dig));
		if (rc != TSS2_RC_SUCCESS)
			return tt_tpm_fail(c, "PCR_Read", rc);
		/* digests come in selection order: bank by bank, ascending index */
		for (UINT32 s = 0; s < osel->count && r == 0; s++) {
			size_t b, ds = digest_size(osel->pcrSelections[s].hash);

			for (b = 0; b < sel->n; b++)
				if (sel->alg[b] == osel->pcrSelections[s].hash)
					break;
			for (unsigned i = 0; i < TT_PCR_COUNT && b < sel->n; i++) {
				if (i / 8 >= osel->pcrSelections[s].sizeofSelect ||
				    !(osel->pcrSelections[s].pcrSelect[i / 8] & (1u << (i % 8))))
					continue;
				if (k >= dig->count || dig->digests[k].size != ds) {
					r = TT_ERR_DATA_CORRUPT;
					break;
				}
				if (want[b] & (1u << i)) {
					memcpy(vals[b][i], dig->digests[k].buffer, ds);
					got[b] |= 1u << i;
					progress = true;
				}
				k++;
			}
		}
		Esys_Free(osel);
		Esys_Free(dig);
		if (r != 0)
			return r;
		if (!progress) {
			tt_err_log("tpm: PCR_Read returned none of the selected PCRs (bank absent?)");
			return TT_ERR_NOT_SUPPORTED;
		}
	}
	return TT_ERR_GENERIC;
done:
	for (size_t b = 0; b < sel->n; b++)
		for (unsigned i = 0; i < TT_PCR_COUNT; i++)
			if ((sel->mask[b] & (1u << i)) &&
			    (r = tt_buf_put(out, vals[b][i], digest_size(sel->alg[b]))) != 0)
				return r;
	return 0;
}

int
tt_tpm_agent_quote(void *ctx, const struct tt_pcr_select *sel, const uint8_t *nonce,
    size_t nonce_len, struct tt_buf *attest, struct tt_buf *sig, struct tt_buf *ak_pub,
    struct tt_buf *pcrs)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC tmpl, *akp = NULL;
	TPM2B_DATA q = { 0 };
	TPML_PCR_SELECTION tsel;
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *s = NULL;
	uint8_t m[sizeof(TPMT_SIGNATURE)];
	size_t off = 0;
	ESYS_TR ak = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (nonce_len > sizeof(q.buffer))
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = to_tpml(sel, &tsel)) != 0)
		return r;
	q.size = (UINT16)nonce_len;
	if (nonce_len > 0)
		memcpy(q.buffer, nonce, nonce_len);
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	tt_tpm_ak_template(&tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ak, &akp)) != 0)
		goto out;
	if ((r = read_pcrs(c, sel, pcrs)) != 0)
		goto out;
	TPM_RUN(rc, Esys_Quote(c->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &q, &scheme, &tsel, &info, &s));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Quote", rc);
		goto out;
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(s, m, sizeof(m), &off) != TSS2_RC_SUCCESS) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	if ((r = tt_buf_put(attest, info->attestationData, info->size)) != 0 ||
	    (r = tt_buf_put(sig, m, off)) != 0)
		goto out;
	r = put_public(akp, ak_pub);
out:
	flush(c, &ak);
	tt_tpm_leave(c);
	Esys_Free(akp);
	Esys_Free(info);
	Esys_Free(s);
	return r;
}

/* EK certificate from NV (the index of the configured EK's algorithm); 0 with nothing
 * appended when the index is not defined. */
static int
read_ek_cert(struct tpm_ctx *c, struct tt_buf *out)
{
	const TPM2_HANDLE idx = c->ek_ecc ? EK_CERT_NV_ECC : EK_CERT_NV_RSA;
	ESYS_TR nv = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *np = NULL;
	TPM2B_MAX_NV_BUFFER *chunk = NULL;
	uint8_t *cert = NULL;
	uint16_t size, done = 0;
	TSS2_RC rc;
	int r;

	TPM_RUN(rc, Esys_TR_FromTPMPublic(c->esys, idx, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &nv));
	if (rc != TSS2_RC_SUCCESS) {
		/* an undefined index is the common case on TPMs without a certificate */
		tt_debug("tpm: no EK certificate at NV 0x%08x (%s)", idx, Tss2_RC_Decode(rc));
		return 0;
	}
	TPM_RUN(rc, Esys_NV_ReadPublic(c->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    &np, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "NV_ReadPublic", rc);
		goto out;
	}
	size = np->nvPublic.dataSize;
	if (size == 0 || size > EK_CERT_MAX) {
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	if ((r = tt_buf_reserve(out, size, &cert)) != 0)
		goto out;
	while (done < size) {
		uint32_t left = (uint32_t)size - done;
		uint16_t n = (uint16_t)(left > NV_CHUNK ? NV_CHUNK : left);

		/* EK certificate indices are AUTHREAD with an empty auth (TCG EK profile) */
		TPM_RUN(rc, Esys_NV_Read(c->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		    ESYS_TR_NONE, n, done, &chunk));
		if (rc != TSS2_RC_SUCCESS) {
			TPM_RUN(rc, Esys_NV_Read(c->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
			    ESYS_TR_NONE, ESYS_TR_NONE, n, done, &chunk));
		}
		if (rc != TSS2_RC_SUCCESS) {
			r = tt_tpm_fail(c, "NV_Read", rc);
			goto out;
		}
		if (chunk->size != n) {
			r = TT_ERR_DATA_CORRUPT;
			goto out;
		}
		memcpy(cert + done, chunk->buffer, n);
		done = (uint16_t)(done + n);
		Esys_Free(chunk);
		chunk = NULL;
	}
	tt_buf_commit(out, size);
	r = 0;
out:
	if (nv != ESYS_TR_NONE && !c->dead)
		(void)Esys_TR_Close(c->esys, &nv);
	Esys_Free(np);
	Esys_Free(chunk);
	return r;
}

static int
put_spki(const TPM2B_PUBLIC *pub, struct tt_buf *out)
{
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	int n, r;

	if ((r = tt_tpm_pub_to_pkey(&pub->publicArea, &pk)) != 0)
		return r;
	if ((n = i2d_PUBKEY(pk, &der)) <= 0) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	r = tt_buf_put(out, der, (size_t)n);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return r;
}

int
tt_tpm_agent_identity(void *ctx, struct tt_buf *ek_pub, struct tt_buf *ek_der,
    struct tt_buf *ek_cert, struct tt_buf *ak_pub, struct tt_buf *ak_name)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC tmpl, *ekp = NULL, *akp = NULL;
	ESYS_TR ek = ESYS_TR_NONE, ak = ESYS_TR_NONE;
	int r;

	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	tt_tpm_agent_ek_template(c, &tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ek, &ekp)) != 0)
		goto out;
	flush(c, &ek);
	tt_tpm_ak_template(&tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ak, &akp)) != 0)
		goto out;
	flush(c, &ak);
	if ((r = put_public(ekp, ek_pub)) != 0 || (r = put_spki(ekp, ek_der)) != 0 ||
	    (r = put_public(akp, ak_pub)) != 0 || (r = put_name(akp, ak_name)) != 0)
		goto out;
	r = read_ek_cert(c, ek_cert);
out:
	flush(c, &ak);
	flush(c, &ek);
	tt_tpm_leave(c);
	Esys_Free(ekp);
	Esys_Free(akp);
	return r;
}

int
tt_tpm_agent_activate(void *ctx, const uint8_t *blob, size_t blob_len,
    const uint8_t *secret, size_t secret_len, struct tt_buf *out)
{
	struct tpm_ctx *c = ctx;
	TPM2B_PUBLIC tmpl;
	TPM2B_ID_OBJECT id = { 0 };
	TPM2B_ENCRYPTED_SECRET sec = { 0 };
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST *cred = NULL;
	ESYS_TR ek = ESYS_TR_NONE, ak = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc;
	int r;

	/* both are whole marshalled TPM2B structures: trailing bytes are an error */
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob, blob_len, &off, &id) != TSS2_RC_SUCCESS ||
	    off != blob_len || id.size == 0)
		return TT_ERR_INVALID_ARGUMENT;
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(secret, secret_len, &off, &sec) !=
	    TSS2_RC_SUCCESS || off != secret_len || sec.size == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_tpm_enter(c)) != 0)
		return r;
	tt_tpm_agent_ek_template(c, &tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ek, NULL)) != 0)
		goto out;
	tt_tpm_ak_template(&tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_ENDORSEMENT, &tmpl, &ak, NULL)) != 0)
		goto out;
	/* the EK's authPolicy is PolicySecret(TPM_RH_ENDORSEMENT) */
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
	TPM_RUN(rc, Esys_ActivateCredential(c->esys, ak, ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE,
	    &id, &sec, &cred));
	if (rc != TSS2_RC_SUCCESS) {
		/* a credential made for another AK name or another EK fails its HMAC */
		r = tt_tpm_fail(c, "ActivateCredential", rc);
		goto out;
	}
	r = tt_buf_put(out, cred->buffer, cred->size);
out:
	flush(c, &sess);
	flush(c, &ak);
	flush(c, &ek);
	tt_tpm_leave(c);
	if (cred != NULL)
		tt_wipe(cred, sizeof(*cred));
	Esys_Free(cred);
	return r;
}
