/* Keyless hashing through the request's provider. */
#include <openssl/crypto.h>

#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "wire/psa_conv.h"

static int
compute(const struct tt_op_ctx *ctx, PsaAlgorithm__Algorithm__Hash h, ProtobufCBinaryData in,
    struct tt_buf *digest)
{
	tt_alg_t alg;
	int r;

	if ((r = tt_pb_hash_to_psa(h, &alg)) != 0)
		return r;
	if (ctx->prov->ops->hash_compute == NULL)
		return TT_ERR_NOT_SUPPORTED;
	return ctx->prov->ops->hash_compute(ctx->prov->ctx, alg, in.data, in.len, digest);
}

int
tt_op_hash_compute(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaHashCompute__Operation *op;
	PsaHashCompute__Result res = PSA_HASH_COMPUTE__RESULT__INIT;
	struct tt_buf digest;
	int r;

	tt_ops_out_init(ctx, &digest, false);
	if ((op = psa_hash_compute__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = compute(ctx, op->alg, op->input, &digest)) != 0)
		goto out;
	res.hash.data = (uint8_t *)tt_buf_ptr(&digest);
	res.hash.len = tt_buf_avail(&digest);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&digest);
	psa_hash_compute__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_hash_compare(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaHashCompare__Operation *op;
	PsaHashCompare__Result res = PSA_HASH_COMPARE__RESULT__INIT;
	struct tt_buf digest;
	int r;

	tt_ops_out_init(ctx, &digest, false);
	if ((op = psa_hash_compare__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = compute(ctx, op->alg, op->input, &digest)) != 0)
		goto out;
	/* The reference hash may be a secret-derived value: compare in constant time. */
	if (op->hash.len != tt_buf_avail(&digest) ||
	    CRYPTO_memcmp(op->hash.data, tt_buf_ptr(&digest), op->hash.len) != 0) {
		r = TT_ERR_INVALID_SIGNATURE;
		goto out;
	}
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&digest);
	psa_hash_compare__operation__free_unpacked(op, NULL);
	return r;
}
