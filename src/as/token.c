/*
 * Token issuer of turtle-as: the ES256 signing key, EAR JWT signing, JWKS and the JWE
 * that wraps released resources. JOSE is done by libjose (latchset José), not by hand.
 *
 * The signing key lives in <data-dir>/signing-key.jwk (mode 0600, written once with
 * O_EXCL); its metadata (kid = RFC 7638 thumbprint, alg, created, state) is in the store
 * so a rotation can keep retired keys listed. When src/attest/ear's library offers the
 * same calls this file becomes a thin adapter to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jose/jose.h>
#include <openssl/crypto.h>

#include "as.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

#define KEY_FILE_MAX (64u * 1024u)

struct tt_as_issuer {
	json_t *jwk;                  /* private signing JWK with "kid" */
	json_t *jwks;                 /* public JWKS */
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

static int
read_key_file(const char *path, json_t **out)
{
	json_error_t jerr;
	json_t *jwk = NULL;
	struct stat sb;
	char *buf = NULL;
	ssize_t n;
	size_t off = 0;
	int fd, r = TT_ERR_CONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? TT_ERR_DOES_NOT_EXIST : TT_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0 ||
	    sb.st_size <= 0 || (size_t)sb.st_size > KEY_FILE_MAX) {
		tt_err_log("as: %s must be a regular file of mode 0600", path);
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n <= 0) {
			r = TT_ERR_IO;
			goto out;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	if ((jwk = json_loads(buf, 0, &jerr)) == NULL || !jose_jwk_prm(NULL, jwk, true, "sign")) {
		tt_err_log("as: %s is not a signing JWK", path);
		goto out;
	}
	*out = jwk;
	jwk = NULL;
	r = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, off);
		free(buf);
	}
	json_decref(jwk);
	close(fd);
	return r;
}

static int
write_key_file(const char *path, const json_t *jwk)
{
	char *txt = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	size_t len, off = 0;
	ssize_t n;
	int fd = -1, r = TT_ERR_IO;

	if (txt == NULL)
		return TT_ERR_NO_MEMORY;
	len = strlen(txt);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		goto out;
	while (off < len) {
		if ((n = write(fd, txt + off, len - off)) <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r != 0 && fd >= 0)
		unlink(path);
	OPENSSL_cleanse(txt, len);
	free(txt);
	return r;
}

void
tt_as_issuer_close(struct tt_as_issuer *is)
{
	if (is == NULL)
		return;
	json_decref(is->jwk);
	json_decref(is->jwks);
	free(is);
}

int
tt_as_issuer_open(const char *data_dir, struct tt_as_store *st,
	const struct tt_as_store_ops *ops, struct tt_as_issuer **out)
{
	struct tt_as_issuer *is = NULL;
	json_t *jwk = NULL, *pub = NULL, *thp = NULL;
	char path[4096];
	int n, r;

	n = snprintf(path, sizeof(path), "%s/signing-key.jwk", data_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_CONFIG;
	r = read_key_file(path, &jwk);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		jwk = json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-256");
		if (jwk == NULL || !jose_jwk_gen(NULL, jwk)) {
			r = TT_ERR_GENERIC;
			goto out;
		}
		if ((thp = jose_jwk_thp(NULL, jwk, "S256")) == NULL ||
		    json_object_set(jwk, "kid", thp) != 0 ||
		    json_object_set_new(jwk, "alg", json_string("ES256")) != 0 ||
		    json_object_set_new(jwk, "use", json_string("sig")) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		if ((r = write_key_file(path, jwk)) != 0) {
			tt_err_log("as: cannot write %s", path);
			goto out;
		}
		tt_info("as: created signing key %s", json_string_value(thp));
	} else if (r != 0) {
		goto out;
	}
	if (!json_is_string(json_object_get(jwk, "kid"))) {
		r = TT_ERR_CONFIG;
		goto out;
	}
	if ((r = ops->key_add(st, json_string_value(json_object_get(jwk, "kid")), "ES256",
	    tt_as_now())) != 0)
		goto out;
	if ((pub = json_deep_copy(jwk)) == NULL || !jose_jwk_pub(NULL, pub)) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((is = calloc(1, sizeof(*is))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((is->jwks = json_pack("{s:[O]}", "keys", pub)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	is->jwk = jwk;
	jwk = NULL;
	*out = is;
	is = NULL;
	r = 0;
out:
	tt_as_issuer_close(is);
	json_decref(jwk);
	json_decref(pub);
	json_decref(thp);
	return r;
}

int
tt_as_issuer_sign(struct tt_as_issuer *is, const json_t *claims, char **token)
{
	json_t *jws = NULL, *sig = NULL;
	char *payload = NULL, *tok = NULL;
	const char *p, *pl, *s;
	size_t n;
	int r = TT_ERR_GENERIC;

	if ((payload = json_dumps(claims, JSON_COMPACT)) == NULL)
		return TT_ERR_NO_MEMORY;
	jws = json_pack("{s:o}", "payload", jose_b64_enc(payload, strlen(payload)));
	sig = json_pack("{s:{s:s,s:s,s:O}}", "protected", "alg", "ES256", "typ", "JWT",
	    "kid", json_object_get(is->jwk, "kid"));
	if (jws == NULL || sig == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (!jose_jws_sig(NULL, jws, sig, is->jwk))
		goto out;
	p = json_string_value(json_object_get(jws, "protected"));
	pl = json_string_value(json_object_get(jws, "payload"));
	s = json_string_value(json_object_get(jws, "signature"));
	if (p == NULL || pl == NULL || s == NULL)
		goto out;
	n = strlen(p) + strlen(pl) + strlen(s) + 3;
	if ((tok = malloc(n)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (snprintf(tok, n, "%s.%s.%s", p, pl, s) != (int)(n - 1)) {
		free(tok);
		goto out;
	}
	*token = tok;
	r = 0;
out:
	free(payload);
	json_decref(jws);
	json_decref(sig);
	return r;
}

int
tt_as_issuer_jwks(struct tt_as_issuer *is, json_t **out)
{
	*out = json_incref(is->jwks);
	return 0;
}

int
tt_as_jwe_encrypt(const json_t *jwk_in, const uint8_t *data, size_t len, json_t **out)
{
	json_t *jwk = NULL, *jwe = NULL, *rcp = NULL;
	const char *kty = json_string_value(json_object_get(jwk_in, "kty"));
	const char *alg = json_string_value(json_object_get(jwk_in, "alg"));
	const char *walg;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (kty == NULL)
		goto out;
	if (strcmp(kty, "RSA") == 0)
		walg = alg != NULL && (strcmp(alg, "RSA1_5") == 0 || strcmp(alg, "RSA-OAEP") == 0) ?
		    alg : "RSA-OAEP-256";
	else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0)
		walg = "ECDH-ES+A256KW";
	else
		goto out;
	/* Only the public members are used; a key with "d" is refused outright: the TEE
	 * never sends its private key, and if it did we would not use it. */
	if (json_object_get(jwk_in, "d") != NULL || (jwk = json_deep_copy(jwk_in)) == NULL)
		goto out;
	/* The KBS key format names the wrapping alg in "alg"; drop it so that libjose
	 * checks the key against the alg we chose, and drop key_ops/use for the same reason. */
	json_object_del(jwk, "alg");
	json_object_del(jwk, "key_ops");
	json_object_del(jwk, "use");
	jwe = json_pack("{s:{s:s,s:s}}", "protected", "alg", walg, "enc", "A256GCM");
	rcp = json_object();
	if (jwe == NULL || rcp == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (!jose_jwe_enc(NULL, jwe, rcp, jwk, data, len)) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	*out = jwe;
	jwe = NULL;
	r = 0;
out:
	json_decref(jwk);
	json_decref(jwe);
	json_decref(rcp);
	return r;
}
