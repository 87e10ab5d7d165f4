/*
 * Shared pieces of the operation layer: name rules, key resolution, the one policy
 * check, the crash-safe destroy protocol and result packing. Keeping these in one
 * place is what makes client isolation and policy identical for every opcode.
 */
#include <string.h>

#include "service/ops/ops.h"
#include "turtle/error.h"
#include "util/crash.h"
#include "util/log.h"

bool
tt_ops_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (need > n - i - 1)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates and values past Unicode are all invalid */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

int
tt_ops_check_name(const char *name)
{
	size_t n;

	if (name == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	n = strnlen(name, TT_KEY_NAME_MAX + 1);
	if (n == 0 || n > TT_KEY_NAME_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if (!tt_ops_utf8_valid((const uint8_t *)name, n))
		return TT_ERR_INVALID_ARGUMENT;
	return 0;
}

int
tt_ops_pack(const ProtobufCMessage *m, struct tt_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p;
	int r;

	if (n == 0)
		return 0;
	if ((r = tt_buf_reserve(out, n, &p)) != 0)
		return r == TT_ERR_LIMIT ? TT_ERR_RESPONSE_TOO_LARGE : r;
	if (protobuf_c_message_pack(m, p) != n)
		return TT_ERR_SERIALIZE;
	tt_buf_commit(out, n);
	return 0;
}

void
tt_ops_client(const struct tt_op_ctx *ctx, struct tt_kim_client *c)
{
	c->auth_type = ctx->id->auth_type;
	c->app = ctx->id->app;
}

size_t
tt_ops_max_response(const struct tt_op_ctx *ctx)
{
	return ctx->svc->cfg->max_response;
}

void
tt_ops_out_init(const struct tt_op_ctx *ctx, struct tt_buf *b, bool secret)
{
	tt_buf_init(b, tt_ops_max_response(ctx));
	if (secret)
		tt_buf_set_secret(b);
}

/*
 * PSA usage implications: SIGN_HASH implies SIGN_MESSAGE and VERIFY_HASH implies
 * VERIFY_MESSAGE (never the reverse). MAC handlers ask for the *_MESSAGE flags, so a
 * MAC key created with the PSA 1.0 SIGN_HASH/VERIFY_HASH flags (as PARSEC clients do)
 * works too.
 */
static tt_usage_t
effective_usage(tt_usage_t u)
{
	if (u & TT_USAGE_SIGN_HASH)
		u |= TT_USAGE_SIGN_MESSAGE;
	if (u & TT_USAGE_VERIFY_HASH)
		u |= TT_USAGE_VERIFY_MESSAGE;
	return u;
}

int
tt_ops_policy_check(const struct tt_key_attrs *a, tt_usage_t usage, tt_alg_t alg)
{
	if ((effective_usage(a->usage) & usage) != usage)
		return TT_ERR_NOT_PERMITTED;
	if (alg == TT_ALG_NONE)
		return 0;
	if (tt_psa_alg_permits(a->alg, alg))
		return 0;
	/* A key-agreement-with-KDF policy also permits its raw agreement (as Mbed TLS,
	 * which PARSEC's reference provider uses, decides). */
	if (TT_ALG_CATEGORY(alg) == TT_ALG_CATEGORY_KA && TT_ALG_CATEGORY(a->alg) == TT_ALG_CATEGORY_KA &&
	    TT_ALG_KA_RAW(a->alg) == alg)
		return 0;
	return TT_ERR_NOT_PERMITTED;
}

int
tt_ops_check_new_attrs(const struct tt_key_attrs *a, bool generate)
{
	tt_key_type_t t = a->type;
	bool asym = TT_KEY_TYPE_IS_ASYMMETRIC(t);

	if (t == TT_KEY_TYPE_NONE)
		return TT_ERR_INVALID_ARGUMENT;
	/* PSA cannot generate a lone public key, and generation needs a size. */
	if (generate && (TT_KEY_TYPE_IS_PUBLIC_KEY(t) || a->bits == 0))
		return TT_ERR_INVALID_ARGUMENT;
	if (a->alg == TT_ALG_NONE)
		return 0;
	/* The permitted algorithm must be one the key type can ever be used with. */
	switch (TT_ALG_CATEGORY(a->alg)) {
	case TT_ALG_CATEGORY_SIGN:
		if (!TT_KEY_TYPE_IS_RSA(t) && !TT_KEY_TYPE_IS_ECC(t))
			return TT_ERR_INVALID_ARGUMENT;
		break;
	case TT_ALG_CATEGORY_ASYM_ENC:
		if (!TT_KEY_TYPE_IS_RSA(t))
			return TT_ERR_INVALID_ARGUMENT;
		break;
	case TT_ALG_CATEGORY_KA:
		if (!TT_KEY_TYPE_IS_ECC(t) && !TT_KEY_TYPE_IS_DH(t))
			return TT_ERR_INVALID_ARGUMENT;
		break;
	case TT_ALG_CATEGORY_MAC:
	case TT_ALG_CATEGORY_CIPHER:
	case TT_ALG_CATEGORY_AEAD:
	case TT_ALG_CATEGORY_KDF:
		if (asym)
			return TT_ERR_INVALID_ARGUMENT;
		break;
	default:
		/* a bare hash (or anything else) is no key policy */
		return TT_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

int
tt_ops_key_for_use(const struct tt_op_ctx *ctx, const char *name, tt_usage_t usage,
    tt_alg_t alg, struct tt_kim_rec *rec, struct tt_key *key)
{
	struct tt_kim_client c;
	int r;

	memset(rec, 0, sizeof(*rec));
	if ((r = tt_ops_check_name(name)) != 0)
		return r;
	tt_ops_client(ctx, &c);
	if ((r = tt_kim_get(ctx->svc->kim, &c, name, rec)) != 0)
		goto out;
	/* The key triple includes the provider: through another provider the key is
	 * simply not there. */
	if (rec->provider != ctx->prov->ops->id) {
		r = TT_ERR_DOES_NOT_EXIST;
		goto out;
	}
	if ((r = tt_ops_policy_check(&rec->attrs, usage, alg)) != 0)
		goto out;
	tt_kim_rec_to_key(rec, key);
out:
	if (r != 0)
		tt_kim_rec_clear(rec);
	return r;
}

int
tt_ops_destroy_rec(struct tt_service *svc, const struct tt_kim_client *c,
    const uint8_t kid[TT_KEY_ID_LEN])
{
	struct tt_provider_slot *prov;
	struct tt_kim_rec rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	if ((r = tt_kim_begin_destroy_kid(svc->kim, c, kid, &rec)) != 0)
		goto out;
	tt_crash_point("destroy:begun");
	if ((prov = tt_service_provider(svc, rec.provider)) == NULL) {
		/* The row stays DESTROYING; recovery cleans it once the provider is back. */
		tt_warn("destroy: provider %u of the key is not configured", rec.provider);
		r = TT_ERR_PROVIDER_NOT_REGISTERED;
		goto out;
	}
	if (prov->ops->destroy_key != NULL &&
	    (r = prov->ops->destroy_key(prov->ctx, rec.kid, rec.ref, rec.ref_len)) != 0) {
		/* The row stays DESTROYING (invisible to clients); recovery at the next
		 * start retries the provider clean-up. */
		tt_warn("destroy: provider %s failed to remove key material: %s",
		    prov->ops->name, tt_strerror(r));
		goto out;
	}
	tt_crash_point("destroy:material");
	r = tt_kim_finish_destroy(svc->kim, rec.kid);
out:
	tt_kim_rec_clear(&rec);
	return r;
}
