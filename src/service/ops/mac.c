/*
 * MAC compute/verify (HMAC, CMAC). Usage: SIGN_MESSAGE / VERIFY_MESSAGE, which the
 * SIGN_HASH / VERIFY_HASH flags imply (see tt_ops_policy_check), so keys made with
 * either PSA 1.0 convention work. Verification compares in constant time in the provider.
 */
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "wire/psa_conv.h"

int
tt_op_mac_compute(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaMacCompute__Operation *op;
	PsaMacCompute__Result res = PSA_MAC_COMPUTE__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	struct tt_buf mac;
	tt_alg_t alg;
	int r;

	tt_ops_out_init(ctx, &mac, false);
	if ((op = psa_mac_compute__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->alg == NULL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = tt_pb_mac_to_psa(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_SIGN_MESSAGE, alg, &rec, &key)) != 0)
		goto out;
	if (ctx->prov->ops->mac_compute == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->mac_compute(ctx->prov->ctx, &key, alg, op->input.data, op->input.len,
	    &mac)) != 0)
		goto out;
	res.mac.data = (uint8_t *)tt_buf_ptr(&mac);
	res.mac.len = tt_buf_avail(&mac);
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_buf_free(&mac);
	psa_mac_compute__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_mac_verify(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaMacVerify__Operation *op;
	PsaMacVerify__Result res = PSA_MAC_VERIFY__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	tt_alg_t alg;
	int r;

	if ((op = psa_mac_verify__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->alg == NULL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = tt_pb_mac_to_psa(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_VERIFY_MESSAGE, alg, &rec, &key)) != 0)
		goto out;
	if (ctx->prov->ops->mac_verify == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->mac_verify(ctx->prov->ctx, &key, alg, op->input.data, op->input.len,
	    op->mac.data, op->mac.len)) != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	psa_mac_verify__operation__free_unpacked(op, NULL);
	return r;
}
