/* PsaGenerateRandom, bounded so that the encoded answer always fits the response limit. */
#include "psa_generate_random.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"

/* Room for the protobuf tag and length in front of the bytes. */
#define RANDOM_OVERHEAD 64

int
tt_op_generate_random(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaGenerateRandom__Operation *op;
	PsaGenerateRandom__Result res = PSA_GENERATE_RANDOM__RESULT__INIT;
	size_t max = tt_ops_max_response(ctx);
	struct tt_buf rnd;
	int r;

	tt_ops_out_init(ctx, &rnd, true);
	if ((op = psa_generate_random__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->size == 0) {
		r = tt_ops_pack(&res.base, out);
		goto out;
	}
	if (max <= RANDOM_OVERHEAD || op->size > max - RANDOM_OVERHEAD) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (ctx->prov->ops->generate_random == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->generate_random(ctx->prov->ctx, (size_t)op->size, &rnd)) != 0)
		goto out;
	res.random_bytes.data = (uint8_t *)tt_buf_ptr(&rnd);
	res.random_bytes.len = tt_buf_avail(&rnd);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&rnd);
	psa_generate_random__operation__free_unpacked(op, NULL);
	return r;
}
