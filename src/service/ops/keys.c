/*
 * Key life cycle: generate, import, destroy, export, export public, CanDoCrypto.
 *
 * Creation follows the key store's two-phase protocol (kim.h) with a crash point after
 * each durable step, so the crash tests can kill the daemon between any two of them:
 *   begin_create -> [create:begun] -> provider -> [create:material] -> commit -> [create:committed]
 */
#include <string.h>

#include "can_do_crypto.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "util/crash.h"
#include "util/log.h"
#include "util/mem.h"
#include "wire/psa_conv.h"

/* Provider references are small (a wrapped key, an object handle); this only bounds a
 * misbehaving provider. */
#define REF_MAX (64 * 1024)

static int
decode_attrs(const PsaKeyAttributes__KeyAttributes *m, struct tt_key_attrs *a)
{
	if (m == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return tt_pb_attrs_to_psa(m, a);
}

/* Shared by generate and import: `data` is NULL for generate. */
static int
create_key(const struct tt_op_ctx *ctx, const char *name, const struct tt_key_attrs *a,
    const uint8_t *data, size_t data_len)
{
	struct tt_provider_slot *p = ctx->prov;
	struct tt_kim_client c;
	struct tt_key_owner owner;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_buf ref;
	bool begun = false;
	int r;

	tt_buf_init(&ref, REF_MAX);
	tt_buf_set_secret(&ref);
	if ((r = tt_ops_check_name(name)) != 0)
		goto out;
	if ((r = tt_ops_check_new_attrs(a, data == NULL)) != 0)
		goto out;
	if ((data == NULL && p->ops->generate_key == NULL) ||
	    (data != NULL && p->ops->import_key == NULL) || p->ops->can_do == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = p->ops->can_do(p->ctx, data == NULL ? TT_CHECK_GENERATE : TT_CHECK_IMPORT, a)) != 0)
		goto out;

	tt_ops_client(ctx, &c);
	owner.auth_type = c.auth_type;
	owner.app = c.app;
	owner.name = name;
	if ((r = tt_kim_begin_create(ctx->svc->kim, &c, name, p->ops->id, a, kid)) != 0)
		goto out;
	begun = true;
	tt_crash_point("create:begun");
	if (data == NULL)
		r = p->ops->generate_key(p->ctx, &owner, kid, a, &ref);
	else
		r = p->ops->import_key(p->ctx, &owner, kid, a, data, data_len, &ref);
	if (r != 0)
		goto out;
	tt_crash_point("create:material");
	if ((r = tt_kim_commit_create(ctx->svc->kim, kid, tt_buf_ptr(&ref), tt_buf_avail(&ref))) != 0)
		goto out;
	begun = false;
	tt_crash_point("create:committed");
out:
	if (begun) {
		/* Undo in the order recovery would: material first, then the row. If this
		 * fails too, the CREATING row makes the next start finish the job. */
		int cr = 0;

		if (p->ops->destroy_key != NULL)
			cr = p->ops->destroy_key(p->ctx, kid, NULL, 0);
		/* Only forget the row once the material is gone: otherwise the material
		 * would outlive its last record. */
		if (cr == 0)
			(void)tt_kim_abort_create(ctx->svc->kim, kid);
		else
			tt_warn("create: provider clean-up failed (%s); left for recovery",
			    tt_strerror(cr));
	}
	tt_buf_free(&ref);
	return r == TT_ERR_LIMIT ? TT_ERR_INSUFFICIENT_STORAGE : r;
}

int
tt_op_generate_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaGenerateKey__Operation *op;
	PsaGenerateKey__Result res = PSA_GENERATE_KEY__RESULT__INIT;
	struct tt_key_attrs a;
	int r;

	if ((op = psa_generate_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = decode_attrs(op->attributes, &a)) != 0)
		goto out;
	if ((r = create_key(ctx, op->key_name, &a, NULL, 0)) != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	psa_generate_key__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_import_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaImportKey__Operation *op;
	PsaImportKey__Result res = PSA_IMPORT_KEY__RESULT__INIT;
	struct tt_key_attrs a;
	int r;

	if ((op = psa_import_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = decode_attrs(op->attributes, &a)) != 0)
		goto out;
	if (op->data.len == 0) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* PSA: bits 0 means "as large as the data"; the store records the real size so
	 * that ListKeys and later policy checks see it. */
	if (a.bits == 0 && (r = tt_psa_import_bits(a.type, op->data.data, op->data.len, &a.bits)) != 0)
		goto out;
	if ((r = create_key(ctx, op->key_name, &a, op->data.data, op->data.len)) != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	/* the imported material must not linger in freed heap */
	tt_wipe(op->data.data, op->data.len);
	psa_import_key__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_destroy_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaDestroyKey__Operation *op;
	PsaDestroyKey__Result res = PSA_DESTROY_KEY__RESULT__INIT;
	struct tt_kim_rec rec;
	struct tt_key key;
	struct tt_kim_client c;
	int r;

	if ((op = psa_destroy_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	/* Resolve first so that a key of another provider is DoesNotExist here too;
	 * destroying needs no usage flag. */
	if ((r = tt_ops_key_for_use(ctx, op->key_name, 0, TT_ALG_NONE, &rec, &key)) != 0)
		goto out;
	tt_ops_client(ctx, &c);
	r = tt_ops_destroy_rec(ctx->svc, &c, rec.kid);
	tt_kim_rec_clear(&rec);
	if (r != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	psa_destroy_key__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_export_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaExportKey__Operation *op;
	PsaExportKey__Result res = PSA_EXPORT_KEY__RESULT__INIT;
	struct tt_kim_rec rec;
	struct tt_key key;
	struct tt_buf data;
	int r;

	tt_ops_out_init(ctx, &data, true);
	if ((op = psa_export_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if ((r = tt_ops_key_for_use(ctx, op->key_name, TT_USAGE_EXPORT, TT_ALG_NONE, &rec, &key)) != 0)
		goto out;
	if (ctx->prov->ops->export_key == NULL)
		r = TT_ERR_NOT_SUPPORTED;
	else
		r = ctx->prov->ops->export_key(ctx->prov->ctx, &key, &data);
	tt_kim_rec_clear(&rec);
	if (r != 0)
		goto out;
	res.data.data = (uint8_t *)tt_buf_ptr(&data);
	res.data.len = tt_buf_avail(&data);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&data);
	psa_export_key__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_export_public_key(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	PsaExportPublicKey__Operation *op;
	PsaExportPublicKey__Result res = PSA_EXPORT_PUBLIC_KEY__RESULT__INIT;
	struct tt_kim_rec rec;
	struct tt_key key;
	struct tt_buf data;
	int r;

	tt_ops_out_init(ctx, &data, false);
	if ((op = psa_export_public_key__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	/* The public half is never secret: no usage flag is needed (PSA). */
	if ((r = tt_ops_key_for_use(ctx, op->key_name, 0, TT_ALG_NONE, &rec, &key)) != 0)
		goto out;
	if (!TT_KEY_TYPE_IS_ASYMMETRIC(key.attrs.type))
		r = TT_ERR_INVALID_ARGUMENT;
	else if (ctx->prov->ops->export_public_key == NULL)
		r = TT_ERR_NOT_SUPPORTED;
	else
		r = ctx->prov->ops->export_public_key(ctx->prov->ctx, &key, &data);
	tt_kim_rec_clear(&rec);
	if (r != 0)
		goto out;
	res.data.data = (uint8_t *)tt_buf_ptr(&data);
	res.data.len = tt_buf_avail(&data);
	r = tt_ops_pack(&res.base, out);
out:
	tt_buf_free(&data);
	psa_export_public_key__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_can_do_crypto(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	CanDoCrypto__Operation *op;
	CanDoCrypto__Result res = CAN_DO_CRYPTO__RESULT__INIT;
	struct tt_key_attrs a;
	enum tt_check_type check;
	int r;

	if ((op = can_do_crypto__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	switch (op->check_type) {
	case CAN_DO_CRYPTO__CHECK_TYPE__USE: check = TT_CHECK_USE; break;
	case CAN_DO_CRYPTO__CHECK_TYPE__GENERATE: check = TT_CHECK_GENERATE; break;
	case CAN_DO_CRYPTO__CHECK_TYPE__IMPORT: check = TT_CHECK_IMPORT; break;
	case CAN_DO_CRYPTO__CHECK_TYPE__DERIVE: check = TT_CHECK_DERIVE; break;
	default:
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = decode_attrs(op->attributes, &a)) != 0)
		goto out;
	if ((r = tt_ops_check_new_attrs(&a, check == TT_CHECK_GENERATE)) != 0)
		goto out;
	if (ctx->prov->ops->can_do == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = ctx->prov->ops->can_do(ctx->prov->ctx, check, &a)) != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	can_do_crypto__operation__free_unpacked(op, NULL);
	return r;
}
