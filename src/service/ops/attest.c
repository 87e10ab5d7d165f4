/*
 * Key attestation: PARSEC's PrepareKeyAttestation / AttestKey (ActivateCredential
 * mechanism) and Turtle's vendor TtCertifyKey. The keys are the caller's own, resolved
 * like any other use (isolation, provider match); attesting a key needs no usage flag,
 * since it reveals only public facts about the key and proves where it lives.
 * An empty attesting key name means the provider's default attesting key.
 */
#include "attest_key.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "service/ops/ops.h"
#include "tt_certify_key.pb-c.h"
#include "turtle/error.h"

/* Resolve the optional attesting key; *have says whether one was named. */
static int
attesting_key(const struct tt_op_ctx *ctx, const char *name, struct tt_kim_rec *rec,
    struct tt_key *key, bool *have)
{
	*have = name != NULL && name[0] != '\0';
	if (!*have)
		return 0;
	return tt_ops_key_for_use(ctx, name, 0, TT_ALG_NONE, rec, key);
}

int
tt_op_prepare_key_attestation(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len,
    struct tt_buf *out)
{
	PrepareKeyAttestation__Operation *op;
	PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential *ac;
	PrepareKeyAttestation__Result res = PREPARE_KEY_ATTESTATION__RESULT__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationOutput o =
	    PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationOutput__ActivateCredential oac =
	    PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__ACTIVATE_CREDENTIAL__INIT;
	struct tt_kim_rec rec = { 0 }, arec = { 0 };
	struct tt_key key, akey;
	struct tt_buf name, pub, apub;
	bool have_attesting;
	int r;

	tt_ops_out_init(ctx, &name, false);
	tt_ops_out_init(ctx, &pub, false);
	tt_ops_out_init(ctx, &apub, false);
	if ((op = prepare_key_attestation__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->parameters == NULL || op->parameters->mechanism_case !=
	    PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	ac = op->parameters->activate_credential;
	if ((r = tt_ops_key_for_use(ctx, ac->attested_key_name, 0, TT_ALG_NONE, &rec, &key)) != 0)
		goto out;
	if ((r = attesting_key(ctx, ac->attesting_key_name, &arec, &akey, &have_attesting)) != 0)
		goto out;
	if (ctx->prov->ops->prepare_activate_credential == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->prepare_activate_credential(ctx->prov->ctx, &key,
	    have_attesting ? &akey : NULL, &name, &pub, &apub)) != 0)
		goto out;
	oac.name.data = (uint8_t *)tt_buf_ptr(&name);
	oac.name.len = tt_buf_avail(&name);
	oac.public_.data = (uint8_t *)tt_buf_ptr(&pub);
	oac.public_.len = tt_buf_avail(&pub);
	oac.attesting_key_pub.data = (uint8_t *)tt_buf_ptr(&apub);
	oac.attesting_key_pub.len = tt_buf_avail(&apub);
	o.mechanism_case = PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL;
	o.activate_credential = &oac;
	res.output = &o;
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_kim_rec_clear(&arec);
	tt_buf_free(&name);
	tt_buf_free(&pub);
	tt_buf_free(&apub);
	prepare_key_attestation__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_attest_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	AttestKey__Operation *op;
	AttestKey__AttestationMechanismParams__ActivateCredential *ac;
	AttestKey__Result res = ATTEST_KEY__RESULT__INIT;
	AttestKey__AttestationOutput o = ATTEST_KEY__ATTESTATION_OUTPUT__INIT;
	AttestKey__AttestationOutput__ActivateCredential oac =
	    ATTEST_KEY__ATTESTATION_OUTPUT__ACTIVATE_CREDENTIAL__INIT;
	struct tt_kim_rec rec = { 0 }, arec = { 0 };
	struct tt_key key, akey;
	struct tt_buf cred;
	bool have_attesting;
	int r;

	/* the recovered credential is the verifier's secret */
	tt_ops_out_init(ctx, &cred, true);
	if ((op = attest_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->parameters == NULL || op->parameters->mechanism_case !=
	    ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	ac = op->parameters->activate_credential;
	if ((r = tt_ops_key_for_use(ctx, op->attested_key_name, 0, TT_ALG_NONE, &rec, &key)) != 0)
		goto out;
	if ((r = attesting_key(ctx, op->attesting_key_name, &arec, &akey, &have_attesting)) != 0)
		goto out;
	if (ctx->prov->ops->attest_activate_credential == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->attest_activate_credential(ctx->prov->ctx, &key,
	    have_attesting ? &akey : NULL, ac->credential_blob.data, ac->credential_blob.len,
	    ac->secret.data, ac->secret.len, &cred)) != 0)
		goto out;
	oac.credential.data = (uint8_t *)tt_buf_ptr(&cred);
	oac.credential.len = tt_buf_avail(&cred);
	o.mechanism_case = ATTEST_KEY__ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL;
	o.activate_credential = &oac;
	res.output = &o;
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_kim_rec_clear(&arec);
	tt_buf_free(&cred);
	attest_key__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_tt_certify_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	TtCertifyKey__Operation *op;
	TtCertifyKey__Result res = TT_CERTIFY_KEY__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	struct tt_buf attest, sig;
	int r;

	tt_ops_out_init(ctx, &attest, false);
	tt_ops_out_init(ctx, &sig, false);
	if ((op = tt_certify_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, 0, TT_ALG_NONE, &rec, &key)) != 0)
		goto out;
	if (ctx->prov->ops->certify_key == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->certify_key(ctx->prov->ctx, &key, op->nonce.data, op->nonce.len,
	    &attest, &sig)) != 0)
		goto out;
	res.attest.data = (uint8_t *)tt_buf_ptr(&attest);
	res.attest.len = tt_buf_avail(&attest);
	res.signature.data = (uint8_t *)tt_buf_ptr(&sig);
	res.signature.len = tt_buf_avail(&sig);
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_buf_free(&attest);
	tt_buf_free(&sig);
	tt_certify_key__operation__free_unpacked(op, NULL);
	return r;
}
