/*
 * Asymmetric signatures. Requests name a concrete algorithm; the key's policy may hold
 * a wildcard hash (tt_psa_alg_permits decides). SignHash checks the hash length against
 * the algorithm so a provider never signs a truncated or padded digest.
 */
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "wire/psa_conv.h"

static int
request_alg(const PsaAlgorithm__Algorithm__AsymmetricSignature *m, tt_alg_t *alg)
{
	int r;

	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_pb_sign_to_psa(m, alg)) != 0)
		return r;
	/* a wildcard belongs in a policy, never in a request */
	if ((*alg & TT_ALG_HASH_MASK) == (TT_ALG_ANY_HASH & TT_ALG_HASH_MASK))
		return TT_ERR_INVALID_ARGUMENT;
	return 0;
}

static int
check_hash_len(tt_alg_t alg, size_t len)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);

	if (h != TT_ALG_NONE && tt_psa_hash_size(h) != len)
		return TT_ERR_INVALID_ARGUMENT;
	if (len == 0)
		return TT_ERR_INVALID_ARGUMENT;
	return 0;
}

int
tt_op_sign_hash(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaSignHash__Operation *op;
	PsaSignHash__Result res = PSA_SIGN_HASH__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	struct tt_buf sig;
	tt_alg_t alg;
	int r;

	tt_ops_out_init(ctx, &sig, false);
	if ((op = psa_sign_hash__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = request_alg(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_SIGN_HASH, alg, &rec, &key)) != 0)
		goto out;
	if ((r = check_hash_len(alg, op->hash.len)) != 0)
		goto out;
	if (ctx->prov->ops->sign_hash == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->sign_hash(ctx->prov->ctx, &key, alg, op->hash.data, op->hash.len, &sig)) != 0)
		goto out;
	res.signature.data = (uint8_t *)tt_buf_ptr(&sig);
	res.signature.len = tt_buf_avail(&sig);
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_buf_free(&sig);
	psa_sign_hash__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_verify_hash(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaVerifyHash__Operation *op;
	PsaVerifyHash__Result res = PSA_VERIFY_HASH__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	tt_alg_t alg;
	int r;

	if ((op = psa_verify_hash__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = request_alg(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_VERIFY_HASH, alg, &rec, &key)) != 0)
		goto out;
	if ((r = check_hash_len(alg, op->hash.len)) != 0)
		goto out;
	if (ctx->prov->ops->verify_hash == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->verify_hash(ctx->prov->ctx, &key, alg, op->hash.data, op->hash.len,
	    op->signature.data, op->signature.len)) != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	psa_verify_hash__operation__free_unpacked(op, NULL);
	return r;
}

/* For providers without message signing: hash here with the provider's own hash. */
static int
hash_message(const struct tt_op_ctx *ctx, tt_alg_t alg, const uint8_t *msg, size_t len,
    struct tt_buf *digest)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);

	if (h == TT_ALG_NONE)
		return TT_ERR_INVALID_ARGUMENT;   /* e.g. ECDSA_ANY: no hash to apply */
	if (ctx->prov->ops->hash_compute == NULL)
		return TT_ERR_NOT_SUPPORTED;
	return ctx->prov->ops->hash_compute(ctx->prov->ctx, h, msg, len, digest);
}

int
tt_op_sign_message(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaSignMessage__Operation *op;
	PsaSignMessage__Result res = PSA_SIGN_MESSAGE__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	struct tt_buf sig, digest;
	const struct tt_provider_ops *p = ctx->prov->ops;
	tt_alg_t alg;
	int r;

	tt_ops_out_init(ctx, &sig, false);
	tt_buf_init(&digest, 64);
	if ((op = psa_sign_message__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = request_alg(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_SIGN_MESSAGE, alg, &rec, &key)) != 0)
		goto out;
	if (p->sign_message != NULL) {
		r = p->sign_message(ctx->prov->ctx, &key, alg, op->message.data, op->message.len, &sig);
	} else if (p->sign_hash == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
	} else if ((r = hash_message(ctx, alg, op->message.data, op->message.len, &digest)) == 0) {
		r = p->sign_hash(ctx->prov->ctx, &key, alg, tt_buf_ptr(&digest), tt_buf_avail(&digest), &sig);
	}
	if (r != 0)
		goto out;
	res.signature.data = (uint8_t *)tt_buf_ptr(&sig);
	res.signature.len = tt_buf_avail(&sig);
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_buf_free(&sig);
	tt_buf_free(&digest);
	psa_sign_message__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_verify_message(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaVerifyMessage__Operation *op;
	PsaVerifyMessage__Result res = PSA_VERIFY_MESSAGE__RESULT__INIT;
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	struct tt_buf digest;
	const struct tt_provider_ops *p = ctx->prov->ops;
	tt_alg_t alg;
	int r;

	tt_buf_init(&digest, 64);
	if ((op = psa_verify_message__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = request_alg(op->alg, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_VERIFY_MESSAGE, alg, &rec, &key)) != 0)
		goto out;
	if (p->verify_message != NULL) {
		r = p->verify_message(ctx->prov->ctx, &key, alg, op->message.data, op->message.len,
		    op->signature.data, op->signature.len);
	} else if (p->verify_hash == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
	} else if ((r = hash_message(ctx, alg, op->message.data, op->message.len, &digest)) == 0) {
		r = p->verify_hash(ctx->prov->ctx, &key, alg, tt_buf_ptr(&digest), tt_buf_avail(&digest),
		    op->signature.data, op->signature.len);
	}
	if (r != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	tt_kim_rec_clear(&rec);
	tt_buf_free(&digest);
	psa_verify_message__operation__free_unpacked(op, NULL);
	return r;
}
