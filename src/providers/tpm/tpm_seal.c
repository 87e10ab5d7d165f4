/*
 * Sealing a small secret to the TPM (see tpm_seal.h for the contract and blob format).
 *
 * This reuses the TPM provider's pieces (SRK template, CreatePrimary with its
 * object-slot handling, return-code mapping, the TPM_RUN retry loop) over a private,
 * short-lived ESYS context. It deliberately does not go through the provider's
 * context_open(): that flushes every transient object it finds, which on a TPM without
 * a resource manager (swtpm, /dev/tpm0) would flush the SRK of a TPM provider that
 * turtled started just before the soft provider.
 */
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "providers/tpm/tpm_int.h"
#include "providers/tpm/tpm_seal.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

/* A connection for one seal/unseal: the SRK and a salted parameter-encryption session. */
struct seal_conn {
	struct tpm_ctx c;             /* only tcti_ctx, esys, srk, dead are used */
	ESYS_TR session;
	ESYS_TR obj;
};

int
tt_tpm_seal_is_sealed(const uint8_t *blob, size_t len)
{
	return blob != NULL && len >= TT_SEAL_MAGIC_LEN &&
	    memcmp(blob, TT_SEAL_MAGIC, TT_SEAL_MAGIC_LEN) == 0;
}

static void
seal_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_KEYEDHASH;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	/* No SENSITIVEDATAORIGIN: the data is ours. No SIGN/DECRYPT: a sealed-data object
	 * can only be unsealed. NODA: an empty user auth cannot be guessed anyway, so
	 * failures must not count towards the TPM's dictionary-attack lockout. */
	t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	t->publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
}

static void
conn_close(struct seal_conn *s)
{
	struct tpm_ctx *c = &s->c;

	if (c->esys != NULL) {
		/* best effort: on a dead transport the TPM forgets them on its own reset */
		if (s->obj != ESYS_TR_NONE)
			(void)Esys_FlushContext(c->esys, s->obj);
		if (s->session != ESYS_TR_NONE)
			(void)Esys_FlushContext(c->esys, s->session);
		if (c->srk != ESYS_TR_NONE)
			(void)Esys_FlushContext(c->esys, c->srk);
		Esys_Finalize(&c->esys);
	}
	if (c->tcti_ctx != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti_ctx);
	tt_wipe(s, sizeof(*s));
}

static int
conn_open(struct seal_conn *s, const struct tt_seal_tpm *t)
{
	struct tpm_ctx *c = &s->c;
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;
	TPM2B_PUBLIC tmpl;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_AUTH auth = { 0 };
	TSS2_RC rc;
	int r;

	memset(s, 0, sizeof(*s));
	c->srk = ESYS_TR_NONE;
	s->session = ESYS_TR_NONE;
	s->obj = ESYS_TR_NONE;
	if (t->owner_auth_len > sizeof(auth.buffer)) {
		tt_err_log("tpm seal: owner authorisation longer than %zu bytes", sizeof(auth.buffer));
		return TT_ERR_CONFIG;
	}
	if ((rc = Tss2_TctiLdr_Initialize(t->tcti, &c->tcti_ctx)) != TSS2_RC_SUCCESS) {
		tt_err_log("tpm seal: cannot open TCTI \"%s\": %s", t->tcti, Tss2_RC_Decode(rc));
		r = TT_ERR_COMMUNICATION;
		goto out;
	}
	if ((rc = Esys_Initialize(&c->esys, c->tcti_ctx, NULL)) != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Esys_Initialize", rc);
		goto out;
	}
	/* A harmless probe first: only a TPM that nobody started gets a Startup (a
	 * resource manager may refuse one otherwise). */
	TPM_RUN(rc, Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more, &cap));
	Esys_Free(cap);
	cap = NULL;
	if (rc == TPM2_RC_INITIALIZE) {
		TPM_RUN(rc, Esys_Startup(c->esys, TPM2_SU_CLEAR));
		if (rc == TPM2_RC_INITIALIZE)
			rc = TSS2_RC_SUCCESS;
	}
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "GetCapability", rc);
		tt_err_log("tpm seal: no usable TPM at TCTI \"%s\": %s", t->tcti, Tss2_RC_Decode(rc));
		goto out;
	}
	if (t->owner_auth_len > 0) {
		auth.size = (UINT16)t->owner_auth_len;
		memcpy(auth.buffer, t->owner_auth, t->owner_auth_len);
	}
	rc = Esys_TR_SetAuth(c->esys, ESYS_TR_RH_OWNER, &auth);
	tt_wipe(&auth, sizeof(auth));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "TR_SetAuth", rc);
		goto out;
	}
	tt_tpm_srk_template(&tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_OWNER, &tmpl, &c->srk, &pub)) != 0) {
		c->srk = ESYS_TR_NONE;
		tt_err_log("tpm seal: cannot create the storage root key under the owner hierarchy "
		    "of \"%s\" (%s; wrong owner_auth?)", t->tcti, tt_strerror(r));
		goto out;
	}
	/* Salted with the SRK, so the session key is unknown to anyone on the bus; the
	 * first parameter of Create (the secret) and of Unseal's answer travel encrypted. */
	TPM_RUN(rc, Esys_StartAuthSession(c->esys, c->srk, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, &s->session));
	if (rc != TSS2_RC_SUCCESS) {
		s->session = ESYS_TR_NONE;
		r = tt_tpm_fail(c, "StartAuthSession", rc);
		tt_err_log("tpm seal: cannot start an encrypted session: %s", Tss2_RC_Decode(rc));
		goto out;
	}
	if ((rc = Esys_TRSess_SetAttributes(c->esys, s->session, TPMA_SESSION_DECRYPT |
	    TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, 0xff)) != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "TRSess_SetAttributes", rc);
		goto out;
	}
	r = 0;
out:
	Esys_Free(pub);
	return r;
}

int
tt_tpm_seal(const struct tt_seal_tpm *t, const uint8_t *secret, size_t len, struct tt_buf *out)
{
	struct seal_conn s;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	uint8_t blob[TT_SEAL_MAGIC_LEN + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t off = TT_SEAL_MAGIC_LEN;
	TSS2_RC rc;
	int r;

	if (len == 0 || len > TT_SEAL_MAX_SECRET)
		return TT_ERR_INVALID_ARGUMENT;
	memset(&sens, 0, sizeof(sens));
	if ((r = conn_open(&s, t)) != 0)
		goto out;
	sens.sensitive.data.size = (UINT16)len;
	memcpy(sens.sensitive.data.buffer, secret, len);
	seal_template(&tmpl);
	TPM_RUN_SLOT(&s.c, rc, Esys_Create(s.c.esys, s.c.srk, s.session, ESYS_TR_NONE, ESYS_TR_NONE,
	    &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(&s.c, "Create (seal)", rc);
		tt_err_log("tpm seal: the TPM refused to seal: %s", Tss2_RC_Decode(rc));
		goto out;
	}
	memcpy(blob, TT_SEAL_MAGIC, TT_SEAL_MAGIC_LEN);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, blob, sizeof(blob), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, blob, sizeof(blob), &off) != TSS2_RC_SUCCESS) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	r = tt_buf_put(out, blob, off);
out:
	tt_wipe(&sens, sizeof(sens));
	Esys_Free(priv);
	Esys_Free(pub);
	conn_close(&s);
	return r;
}

int
tt_tpm_unseal(const struct tt_seal_tpm *t, const uint8_t *blob, size_t blob_len,
    uint8_t *secret, size_t len)
{
	struct seal_conn s;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *data = NULL;
	size_t off = TT_SEAL_MAGIC_LEN;
	TSS2_RC rc;
	int r, opened = 0;

	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	/* Parse before touching the TPM: a corrupt file is not a TPM problem. */
	if (!tt_tpm_seal_is_sealed(blob, blob_len) || blob_len > TT_SEAL_MAX_BLOB ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, blob_len, &off, &pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, blob_len, &off, &priv) != TSS2_RC_SUCCESS ||
	    off != blob_len || pub.publicArea.type != TPM2_ALG_KEYEDHASH) {
		tt_err_log("tpm seal: the sealed blob is malformed");
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	if ((r = conn_open(&s, t)) != 0)
		goto out;
	opened = 1;
	TPM_RUN_SLOT(&s.c, rc, Esys_Load(s.c.esys, s.c.srk, s.session, ESYS_TR_NONE, ESYS_TR_NONE,
	    &priv, &pub, &s.obj));
	if (rc != TSS2_RC_SUCCESS) {
		s.obj = ESYS_TR_NONE;
		r = tt_tpm_fail(&s.c, "Load (sealed)", rc);
		if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && r != TT_ERR_INSUFFICIENT_STORAGE &&
		    r != TT_ERR_HARDWARE && r != TT_ERR_COMMUNICATION) {
			/* The private part is authenticated with a key derived from the parent's
			 * seed (TPM_RC_INTEGRITY here): another TPM, or a cleared owner seed. */
			tt_err_log("tpm seal: the TPM at \"%s\" cannot load the sealed object (%s): "
			    "it was sealed by a different TPM, or this TPM's owner hierarchy was "
			    "cleared since", t->tcti, Tss2_RC_Decode(rc));
			r = TT_ERR_NOT_PERMITTED;
		} else {
			tt_err_log("tpm seal: Load: %s", Tss2_RC_Decode(rc));
		}
		goto out;
	}
	TPM_RUN(rc, Esys_Unseal(s.c.esys, s.obj, s.session, ESYS_TR_NONE, ESYS_TR_NONE, &data));
	if (rc != TSS2_RC_SUCCESS) {
		data = NULL;
		r = tt_tpm_fail(&s.c, "Unseal", rc);
		tt_err_log("tpm seal: Unseal: %s", Tss2_RC_Decode(rc));
		goto out;
	}
	if (data->size != len) {
		tt_err_log("tpm seal: the sealed secret has %u bytes, expected %zu",
		    (unsigned)data->size, len);
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	memcpy(secret, data->buffer, len);
	r = 0;
out:
	if (data != NULL) {
		tt_wipe(data, sizeof(*data));
		Esys_Free(data);
	}
	tt_wipe(&priv, sizeof(priv));
	if (opened)
		conn_close(&s);
	return r;
}
