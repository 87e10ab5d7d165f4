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
	size_t n = jose_b64_enc_buf(NULL, len, NULL, 0);
	char *s;

	if (n == SIZE_MAX || (s = malloc(n + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (jose_b64_enc_buf(in, len, s, n) != n) {
		free(s);
		return TT_ERR_GENERIC;
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

int
tt_as_b64_dec(const char *in, uint8_t **out, size_t *outlen)
{
	size_t il = strlen(in), i, n;
	char *t = NULL;
	uint8_t *o = NULL;
	int r = TT_ERR_INVALID_ARGUMENT;

	/* libjose speaks base64url without padding: map the standard alphabet and drop
	 * padding so both forms are accepted. */
	if ((t = malloc(il + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	for (i = 0; i < il; i++)
		t[i] = in[i] == '+' ? '-' : in[i] == '/' ? '_' : in[i];
	while (il > 0 && t[il - 1] == '=')
		il--;
	t[il] = '\0';
	n = jose_b64_dec_buf(t, il, NULL, 0);
	if (n == SIZE_MAX)
		goto out;
	if ((o = tt_malloc(n)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (jose_b64_dec_buf(t, il, o, n) != n)
		goto out;
	*out = o;
	*outlen = n;
	o = NULL;
	r = 0;
out:
	free(t);
	free(o);
	return r;
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
		goto out;
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
	int r;

	if ((r = tt_ear_keys_rotate(is->keys, (uint64_t)tt_as_now())) != 0)
		return r;
	return ops->key_add(st, tt_ear_keys_kid(is->keys), "ES256", tt_as_now());
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
