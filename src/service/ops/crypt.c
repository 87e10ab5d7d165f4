/*
 * Encryption families: asymmetric (RSA PKCS#1 v1.5 / OAEP), AEAD and unauthenticated
 * ciphers. Plaintext results are held in wiped buffers.
 */
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "util/mem.h"
#include "wire/psa_conv.h"

/* Asymmetric encrypt and decrypt share everything but direction and usage. The name is
 * checked by tt_ops_key_for_use. */
static int
asym_run(const struct tt_op_ctx *ctx, bool enc, const char *name,
    const PsaAlgorithm__Algorithm__AsymmetricEncryption *m, ProtobufCBinaryData in,
    ProtobufCBinaryData salt, struct tt_buf *res_buf)
{
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	tt_alg_t alg;
	int r;

	if (m == NULL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = tt_pb_asym_enc_to_psa(m, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, name, enc ? TT_USAGE_ENCRYPT : TT_USAGE_DECRYPT, alg,
	    &rec, &key)) != 0)
		goto out;
	if (enc ? ctx->prov->ops->asymmetric_encrypt == NULL :
	    ctx->prov->ops->asymmetric_decrypt == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (enc)
		r = ctx->prov->ops->asymmetric_encrypt(ctx->prov->ctx, &key, alg, in.data, in.len,
		    salt.data, salt.len, res_buf);
	else
		r = ctx->prov->ops->asymmetric_decrypt(ctx->prov->ctx, &key, alg, in.data, in.len,
		    salt.data, salt.len, res_buf);
out:
	tt_kim_rec_clear(&rec);
	return r;
}

int
tt_op_asym_encrypt(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaAsymmetricEncrypt__Operation *op;
	PsaAsymmetricEncrypt__Result res = PSA_ASYMMETRIC_ENCRYPT__RESULT__INIT;
	struct tt_buf ct;
	int r;

	tt_ops_out_init(ctx, &ct, false);
	if ((op = psa_asymmetric_encrypt__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = asym_run(ctx, true, op->key_name, op->alg, op->plaintext, op->salt, &ct)) != 0)
		goto out;
	res.ciphertext.data = (uint8_t *)tt_buf_ptr(&ct);
	res.ciphertext.len = tt_buf_avail(&ct);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&ct);
	tt_wipe(op->plaintext.data, op->plaintext.len);
	psa_asymmetric_encrypt__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_asym_decrypt(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaAsymmetricDecrypt__Operation *op;
	PsaAsymmetricDecrypt__Result res = PSA_ASYMMETRIC_DECRYPT__RESULT__INIT;
	struct tt_buf pt;
	int r;

	tt_ops_out_init(ctx, &pt, true);
	if ((op = psa_asymmetric_decrypt__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = asym_run(ctx, false, op->key_name, op->alg, op->ciphertext, op->salt, &pt)) != 0)
		goto out;
	res.plaintext.data = (uint8_t *)tt_buf_ptr(&pt);
	res.plaintext.len = tt_buf_avail(&pt);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&pt);
	psa_asymmetric_decrypt__operation__free_unpacked(op, NULL);
	return r;
}

/* AEAD encrypt and decrypt share everything but direction and usage. */
static int
aead_run(const struct tt_op_ctx *ctx, bool enc, const char *name,
    const PsaAlgorithm__Algorithm__Aead *m, ProtobufCBinaryData nonce, ProtobufCBinaryData aad,
    ProtobufCBinaryData in, struct tt_buf *res_buf)
{
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	tt_alg_t alg;
	int r;

	if (m == NULL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = tt_pb_aead_to_psa(m, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, name, enc ? TT_USAGE_ENCRYPT : TT_USAGE_DECRYPT, alg,
	    &rec, &key)) != 0)
		goto out;
	if (enc ? ctx->prov->ops->aead_encrypt == NULL : ctx->prov->ops->aead_decrypt == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (enc)
		r = ctx->prov->ops->aead_encrypt(ctx->prov->ctx, &key, alg, nonce.data, nonce.len,
		    aad.data, aad.len, in.data, in.len, res_buf);
	else
		r = ctx->prov->ops->aead_decrypt(ctx->prov->ctx, &key, alg, nonce.data, nonce.len,
		    aad.data, aad.len, in.data, in.len, res_buf);
out:
	tt_kim_rec_clear(&rec);
	return r;
}

int
tt_op_aead_encrypt(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaAeadEncrypt__Operation *op;
	PsaAeadEncrypt__Result res = PSA_AEAD_ENCRYPT__RESULT__INIT;
	struct tt_buf ct;
	int r;

	tt_ops_out_init(ctx, &ct, false);
	if ((op = psa_aead_encrypt__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = aead_run(ctx, true, op->key_name, op->alg, op->nonce, op->additional_data,
	    op->plaintext, &ct)) != 0)
		goto out;
	res.ciphertext.data = (uint8_t *)tt_buf_ptr(&ct);
	res.ciphertext.len = tt_buf_avail(&ct);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&ct);
	tt_wipe(op->plaintext.data, op->plaintext.len);
	psa_aead_encrypt__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_aead_decrypt(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaAeadDecrypt__Operation *op;
	PsaAeadDecrypt__Result res = PSA_AEAD_DECRYPT__RESULT__INIT;
	struct tt_buf pt;
	int r;

	tt_ops_out_init(ctx, &pt, true);
	if ((op = psa_aead_decrypt__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = aead_run(ctx, false, op->key_name, op->alg, op->nonce, op->additional_data,
	    op->ciphertext, &pt)) != 0)
		goto out;
	res.plaintext.data = (uint8_t *)tt_buf_ptr(&pt);
	res.plaintext.len = tt_buf_avail(&pt);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&pt);
	psa_aead_decrypt__operation__free_unpacked(op, NULL);
	return r;
}

static int
cipher_run(const struct tt_op_ctx *ctx, bool enc, const char *name, PsaAlgorithm__Algorithm__Cipher c,
    ProtobufCBinaryData in, struct tt_buf *res_buf)
{
	struct tt_kim_rec rec = { 0 };
	struct tt_key key;
	tt_alg_t alg;
	int r;

	if ((r = tt_pb_cipher_to_psa(c, &alg)) != 0)
		goto out;
	if ((r = tt_ops_key_for_use(ctx, name, enc ? TT_USAGE_ENCRYPT : TT_USAGE_DECRYPT, alg,
	    &rec, &key)) != 0)
		goto out;
	if (enc ? ctx->prov->ops->cipher_encrypt == NULL : ctx->prov->ops->cipher_decrypt == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (enc)
		r = ctx->prov->ops->cipher_encrypt(ctx->prov->ctx, &key, alg, in.data, in.len, res_buf);
	else
		r = ctx->prov->ops->cipher_decrypt(ctx->prov->ctx, &key, alg, in.data, in.len, res_buf);
out:
	tt_kim_rec_clear(&rec);
	return r;
}

int
tt_op_cipher_encrypt(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaCipherEncrypt__Operation *op;
	PsaCipherEncrypt__Result res = PSA_CIPHER_ENCRYPT__RESULT__INIT;
	struct tt_buf ct;
	int r;

	tt_ops_out_init(ctx, &ct, false);
	if ((op = psa_cipher_encrypt__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = cipher_run(ctx, true, op->key_name, op->alg, op->plaintext, &ct)) != 0)
		goto out;
	res.ciphertext.data = (uint8_t *)tt_buf_ptr(&ct);
	res.ciphertext.len = tt_buf_avail(&ct);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&ct);
	tt_wipe(op->plaintext.data, op->plaintext.len);
	psa_cipher_encrypt__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_cipher_decrypt(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaCipherDecrypt__Operation *op;
	PsaCipherDecrypt__Result res = PSA_CIPHER_DECRYPT__RESULT__INIT;
	struct tt_buf pt;
	int r;

	tt_ops_out_init(ctx, &pt, true);
	if ((op = psa_cipher_decrypt__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = cipher_run(ctx, false, op->key_name, op->alg, op->ciphertext, &pt)) != 0)
		goto out;
	res.plaintext.data = (uint8_t *)tt_buf_ptr(&pt);
	res.plaintext.len = tt_buf_avail(&pt);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&pt);
	psa_cipher_decrypt__operation__free_unpacked(op, NULL);
	return r;
}
