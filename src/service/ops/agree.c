/* Raw key agreement (ECDH, X25519): the shared secret is returned to the caller, so the
 * private key needs DERIVE and the result buffer is wiped. */
#include "psa_raw_key_agreement.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "wire/psa_conv.h"

int
tt_op_raw_key_agreement(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaRawKeyAgreement__Operation *op;
	PsaRawKeyAgreement__Result res = PSA_RAW_KEY_AGREEMENT__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	struct tt_buf secret;
	tt_alg_t alg;
	int r;

	tt_ops_out_init(ctx, &secret, true);
	if ((op = psa_raw_key_agreement__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = tt_pb_ka_raw_to_psa(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->private_key_name, TT_USAGE_DERIVE, alg, &rec, &key)) != 0)
		goto out;
	if (ctx->prov->ops->raw_key_agreement == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->raw_key_agreement(ctx->prov->ctx, &key, alg, op->peer_key.data,
	    op->peer_key.len, &secret)) != 0)
		goto out;
	res.shared_secret.data = (uint8_t *)tt_buf_ptr(&secret);
	res.shared_secret.len = tt_buf_avail(&secret);
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_buf_free(&secret);
	psa_raw_key_agreement__operation__free_unpacked(op, NULL);
	return r;
}
