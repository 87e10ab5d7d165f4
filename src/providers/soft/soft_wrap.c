/*
 * Wrapping of key material under the master key.
 *
 *   ref = version(1) || nonce(12) || AES-256-GCM(mk, PSA-format material) || tag(16)
 *   AAD = version || kid || auth_type || u32le len || app || u32le len || key name ||
 *         u16le type || u32le bits || u32le usage || u32le alg
 *
 * The AAD binds a blob to the exact key record it was made for, so a row copied onto
 * another client's or another key's record does not unwrap (TT_ERR_DATA_CORRUPT) rather
 * than silently handing one client's key to another. Nonces are random: with at most a
 * few million keys per master key the 96-bit collision bound is far away.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "providers/soft/soft_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"


static int
put_str(struct tt_buf *b, const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);
	int r;

	if (n > 1024)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_buf_put_u32le(b, (uint32_t)n)) != 0)
		return r;
	return tt_buf_put(b, s, n);
}

int
tt_soft_aad(const struct tt_key_owner *o, const uint8_t kid[TT_KEY_ID_LEN],
    const struct tt_key_attrs *a, struct tt_buf *aad)
{
	int r;

	if ((r = tt_buf_put_u8(aad, SOFT_WRAP_VERSION)) != 0 ||
	    (r = tt_buf_put(aad, kid, TT_KEY_ID_LEN)) != 0 ||
	    (r = tt_buf_put_u8(aad, o->auth_type)) != 0 ||
	    (r = put_str(aad, o->app)) != 0 ||
	    (r = put_str(aad, o->name)) != 0 ||
	    (r = tt_buf_put_u16le(aad, a->type)) != 0 ||
	    (r = tt_buf_put_u32le(aad, a->bits)) != 0 ||
	    (r = tt_buf_put_u32le(aad, a->usage)) != 0 ||
	    (r = tt_buf_put_u32le(aad, a->alg)) != 0)
		return r;
	return 0;
}

int
tt_soft_wrap(const struct soft_ctx *c, const uint8_t *aad, size_t aad_len,
    const uint8_t *psa, size_t psa_len, struct tt_buf *ref)
{
	EVP_CIPHER_CTX *cc = NULL;
	uint8_t nonce[SOFT_NONCE_LEN];
	uint8_t *dst;
	int n = 0, r;

	if (psa_len == 0 || psa_len > SOFT_MAX_KEY_BYTES || aad_len > INT32_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return TT_ERR_INSUFFICIENT_ENTROPY;
	if ((r = tt_buf_put_u8(ref, SOFT_WRAP_VERSION)) != 0 ||
	    (r = tt_buf_put(ref, nonce, sizeof(nonce))) != 0 ||
	    (r = tt_buf_reserve(ref, psa_len + SOFT_TAG_LEN, &dst)) != 0)
		return r;
	r = TT_ERR_GENERIC;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cc, EVP_aes_256_gcm(), NULL, c->mk, nonce) != 1 ||
	    EVP_EncryptUpdate(cc, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_EncryptUpdate(cc, dst, &n, psa, (int)psa_len) != 1 || (size_t)n != psa_len ||
	    EVP_EncryptFinal_ex(cc, dst + n, &n) != 1 || n != 0 ||
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_GET_TAG, SOFT_TAG_LEN, dst + psa_len) != 1)
		goto out;
	tt_buf_commit(ref, psa_len + SOFT_TAG_LEN);
	r = 0;
out:
	EVP_CIPHER_CTX_free(cc);
	return r;
}

int
tt_soft_unwrap(const struct soft_ctx *c, const uint8_t *aad, size_t aad_len,
    const uint8_t *ref, size_t ref_len, struct tt_buf *psa)
{
	EVP_CIPHER_CTX *cc = NULL;
	struct tt_buf in;
	const uint8_t *nonce, *ct, *tag;
	uint8_t ver, *dst;
	size_t ct_len;
	int n = 0, r = TT_ERR_DATA_CORRUPT;

	tt_buf_init_ro(&in, ref, ref_len);
	if (ref == NULL || tt_buf_get_u8(&in, &ver) != 0 || ver != SOFT_WRAP_VERSION ||
	    tt_buf_get_ref(&in, SOFT_NONCE_LEN, &nonce) != 0 ||
	    tt_buf_avail(&in) <= SOFT_TAG_LEN)
		return TT_ERR_DATA_CORRUPT;
	ct_len = tt_buf_avail(&in) - SOFT_TAG_LEN;
	if (ct_len > SOFT_MAX_KEY_BYTES || aad_len > INT32_MAX ||
	    tt_buf_get_ref(&in, ct_len, &ct) != 0 || tt_buf_get_ref(&in, SOFT_TAG_LEN, &tag) != 0)
		return TT_ERR_DATA_CORRUPT;
	tt_buf_set_secret(psa);
	if ((r = tt_buf_reserve(psa, ct_len, &dst)) != 0)
		return r;
	r = TT_ERR_GENERIC;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(cc, EVP_aes_256_gcm(), NULL, c->mk, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_TAG, SOFT_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptUpdate(cc, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_DecryptUpdate(cc, dst, &n, ct, (int)ct_len) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(cc, dst + n, &n) != 1) {
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	tt_buf_commit(psa, ct_len);
	r = 0;
out:
	if (r != 0)
		tt_wipe(dst, ct_len);  /* unauthenticated plaintext never leaves */
	EVP_CIPHER_CTX_free(cc);
	return r;
}

/* Unwrap with the AAD for attrs `a`; the buffers are the caller's. */
static int
unwrap_as(const struct soft_ctx *c, const struct tt_key *k, const struct tt_key_attrs *a,
    struct tt_buf *psa)
{
	struct tt_buf aad;
	int r;

	tt_buf_init(&aad, SOFT_AAD_MAX);
	if ((r = tt_soft_aad(&k->owner, k->kid, a, &aad)) == 0)
		r = tt_soft_unwrap(c, tt_buf_ptr(&aad), tt_buf_avail(&aad), k->ref, k->ref_len, psa);
	tt_buf_free(&aad);
	return r;
}

int
tt_soft_unwrap_key(const struct soft_ctx *c, const struct tt_key *k, struct tt_buf *psa)
{
	struct tt_key_attrs a0 = k->attrs;
	struct soft_key *sk = NULL;
	int r;

	r = unwrap_as(c, k, &k->attrs, psa);
	if (r != TT_ERR_DATA_CORRUPT || k->attrs.bits == 0)
		return r;
	/*
	 * A key imported with bits = 0 was bound with bits = 0; a key store that later
	 * records the derived size hands us the real value. Accept that only if the material
	 * really has that size.
	 */
	a0.bits = 0;
	tt_buf_reset(psa);
	if ((r = unwrap_as(c, k, &a0, psa)) != 0)
		return r;
	if ((r = tt_soft_key_parse(k->attrs.type, tt_buf_ptr(psa), tt_buf_avail(psa), &sk)) != 0 ||
	    sk->bits != k->attrs.bits) {
		tt_buf_reset(psa);
		r = TT_ERR_DATA_CORRUPT;
	}
	tt_soft_key_put(sk);
	return r;
}

int
tt_soft_load(struct soft_ctx *c, const struct tt_key *k, struct soft_key **out)
{
	struct tt_buf aad, psa;
	struct soft_key *sk = NULL;
	int r;

	tt_buf_init(&aad, SOFT_AAD_MAX);
	tt_buf_init(&psa, SOFT_MAX_KEY_BYTES);
	tt_buf_set_secret(&psa);
	if (k->ref == NULL || k->ref_len == 0) {
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	if ((r = tt_soft_aad(&k->owner, k->kid, &k->attrs, &aad)) != 0)
		goto out;
	if (c->cache != NULL &&
	    (sk = tt_soft_cache_get(c->cache, k->kid, tt_buf_ptr(&aad), tt_buf_avail(&aad),
	    k->ref, k->ref_len)) != NULL) {
		*out = sk;
		goto out;
	}
	if ((r = tt_soft_unwrap_key(c, k, &psa)) != 0)
		goto out;
	if ((r = tt_soft_key_parse(k->attrs.type, tt_buf_ptr(&psa), tt_buf_avail(&psa), &sk)) != 0) {
		tt_err_log("soft: stored key material does not parse (%s)", tt_strerror(r));
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	if (k->attrs.bits != 0 && sk->bits != k->attrs.bits) {
		tt_soft_key_put(sk);
		r = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	if (c->cache != NULL)
		tt_soft_cache_put(c->cache, k->kid, tt_buf_ptr(&aad), tt_buf_avail(&aad),
		    k->ref, k->ref_len, sk);
	*out = sk;
out:
	tt_buf_free(&psa);
	tt_buf_free(&aad);
	return r;
}
