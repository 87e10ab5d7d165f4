/*
 * Token issuer of turtle-as: the ES256 signing key, EAR JWT signing, JWKS and the JWE
 * that wraps released resources. JOSE is done by libjose (latchset José), not by hand.
 *
 * The signing key lives in <data-dir>/signing-key.jwk (mode 0600, written once with
 * O_EXCL); its metadata (kid = RFC 7638 thumbprint, alg, created, state) is in the store
 * so a rotation can keep retired keys listed. When src/attest/ear's library offers the
 * same calls this file becomes a thin adapter to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jose/jose.h>

#include "as.h"
#include "ear.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/b64.h"
#include "util/mem.h"

struct tt_as_issuer {
	struct tt_ear_keys *keys;
};

int64_t
tt_as_now(void)
{
	return (int64_t)time(NULL);
}

int
tt_as_b64url_enc(const uint8_t *in, size_t len, char **out)
{
	return tt_b64_encode_dup(in, len, TT_B64_URL, out);
}

int
tt_as_b64_dec(const char *in, uint8_t **out, size_t *outlen)
{
	size_t il = strlen(in), cap = tt_b64_dec_max(il), n = 0;
	uint8_t *o;
	int r;

	/* Evidence comes from attesters written against either alphabet: accept both,
	 * padded or not (but not mixed). tt_malloc: the bytes may be key material. */
	if ((o = tt_malloc(cap)) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((r = tt_b64_decode(in, il, TT_B64_ANY, o, cap, &n)) != 0) {
		free(o);
		return TT_ERR_INVALID_ARGUMENT;
	}
	*out = o;
	*outlen = n;
	return 0;
}

void
tt_as_issuer_close(struct tt_as_issuer *is)
{
	if (is == NULL)
		return;
	tt_ear_keys_free(is->keys);
	free(is);
}

int
tt_as_issuer_open(const char *data_dir, struct tt_as_store *st,
	const struct tt_as_store_ops *ops, struct tt_as_issuer **out)
{
	struct tt_as_issuer *is = NULL;
	char path[4096];
	int n, r;

	n = snprintf(path, sizeof(path), "%s/keys", data_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_CONFIG;
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((r = tt_ear_keys_open(path, NULL, (uint64_t)tt_as_now(), &is->keys)) != 0) {
		tt_err_log("as: signing keys in %s: %s", path, tt_strerror(r));
		goto out;
	}
	if ((r = ops->key_add(st, tt_ear_keys_kid(is->keys), "ES256", tt_as_now())) != 0)
		goto out;   /* start-up: nothing can rotate yet */
	*out = is;
	is = NULL;
out:
	tt_as_issuer_close(is);
	return r;
}

int
tt_as_issuer_rotate(struct tt_as_issuer *is, struct tt_as_store *st,
	const struct tt_as_store_ops *ops)
{
	char kid[128];
	int r;

	if ((r = tt_ear_keys_rotate(is->keys, (uint64_t)tt_as_now(), kid, sizeof(kid))) != 0)
		return r;
	return ops->key_add(st, kid, "ES256", tt_as_now());
}

int
tt_as_issuer_sign(struct tt_as_issuer *is, const json_t *claims, char **token)
{
	return tt_ear_sign_claims(is->keys, claims, token);
}

int
tt_as_issuer_jwks(struct tt_as_issuer *is, json_t **out)
{
	return tt_ear_keys_jwks(is->keys, (uint64_t)tt_as_now(), out);
}

int
tt_as_jwe_encrypt(const json_t *jwk, const uint8_t *data, size_t len, json_t **out)
{
	/* The TEE sends only a public key; one with "d" is refused rather than used. */
	if (json_object_get(jwk, "d") != NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return tt_ear_jwe_encrypt(jwk, data, len, out);
}
