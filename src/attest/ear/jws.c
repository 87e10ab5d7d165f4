/*
 * JWT signing and offline verification. Signing is OpenSSL directly (one EVP_DigestSign
 * with a key loaded once: the issuer's hot path); verification uses libjose, and the
 * choices that make JWT verification safe are made here, before libjose sees anything:
 * which algorithms exist at all, which key a header may select, and what the claims
 * must say.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jose/jose.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "ear.h"
#include "internal.h"
#include "json.h"
#include "turtle/error.h"
#include "util/b64.h"

#define PART_MAX   (TT_EAR_TOKEN_MAX)
#define JWKS_MAX   (1024u * 1024u)

/* The allow-list: no "none", no HMAC (a public key must never become an HMAC secret),
 * nothing we do not issue ourselves or see from common verifiers. */
static const struct {
	const char *alg;
	const char *kty;
	const char *crv;   /* NULL for RSA */
} sig_algs[] = {
	{ "ES256", "EC", "P-256" },
	{ "ES384", "EC", "P-384" },
	{ "RS256", "RSA", NULL },
	{ "PS256", "RSA", NULL },
};

#define RSA_MIN_MODULUS_BYTES 256   /* 2048 bits */

static int
alg_index(const char *alg)
{
	size_t i;

	if (alg == NULL)
		return -1;
	for (i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++) {
		if (strcmp(alg, sig_algs[i].alg) == 0)
			return (int)i;
	}
	return -1;
}

bool
tt_ear_sig_alg_allowed(const char *alg)
{
	return alg_index(alg) >= 0;
}

/* JWS signature bytes (RFC 7518 section 3): ECDSA as R || S, each the curve's size. */
static int
ecdsa_der_to_jose(const uint8_t *der, size_t derlen, size_t half, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *sr, *ss;
	int r = TT_ERR_GENERIC;

	if (es == NULL)
		return r;
	ECDSA_SIG_get0(es, &sr, &ss);
	if (BN_bn2binpad(sr, out, (int)half) == (int)half &&
	    BN_bn2binpad(ss, out + half, (int)half) == (int)half)
		r = 0;
	ECDSA_SIG_free(es);
	return r;
}

int
tt_ear_jws_key_check(EVP_PKEY *key, const char *alg)
{
	static const uint8_t probe[] = "turtle key check";
	int ai = alg_index(alg);
	char group[32] = "";
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (key == NULL || ai < 0)
		return r;
	if (strcmp(sig_algs[ai].kty, "EC") == 0) {
		const char *want = strcmp(sig_algs[ai].crv, "P-256") == 0 ? "prime256v1" : "secp384r1";

		if (!EVP_PKEY_is_a(key, "EC") ||
		    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), NULL) != 1 || strcmp(group, want) != 0)
			return r;
	} else if (!EVP_PKEY_is_a(key, "RSA") ||
	    EVP_PKEY_get_size(key) < RSA_MIN_MODULUS_BYTES ||
	    EVP_PKEY_get_size(key) > (int)sizeof(sig)) {
		return r;
	}
	if ((mctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(mctx, &pctx, strcmp(alg, "ES384") == 0 ? EVP_sha384() :
	    EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(mctx, sig, &siglen, probe, sizeof(probe) - 1) == 1)
		r = 0;
	EVP_MD_CTX_free(mctx);
	return r;
}

int
tt_ear_jws_sign(EVP_PKEY *key, const char *alg, const char *kid, const json_t *claims,
	char **token_out)
{
	json_t *hdr = NULL;
	char *htext = NULL, *payload = NULL, *tok = NULL;
	uint8_t der[600], raw[600];
	size_t hl, pl, n, derlen = sizeof(der), rawlen, half = 0;
	const EVP_MD *md;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int ai, r;

	ai = alg_index(alg);
	if (key == NULL || !json_is_object(claims) || ai < 0 || kid == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (strcmp(sig_algs[ai].kty, "EC") == 0) {
		if (!EVP_PKEY_is_a(key, "EC"))
			return TT_ERR_INVALID_ARGUMENT;
		half = strcmp(sig_algs[ai].crv, "P-256") == 0 ? 32 : 48;
		md = half == 32 ? EVP_sha256() : EVP_sha384();
	} else {
		if (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_size(key) > (int)sizeof(der))
			return TT_ERR_INVALID_ARGUMENT;
		md = EVP_sha256();
	}
	/* Insertion order is kept by jansson, so the same claims built the same way give the
	 * same payload bytes without the cost of sorting every object. */
	r = TT_ERR_NO_MEMORY;
	if ((hdr = json_pack("{s:s,s:s,s:s}", "alg", alg, "kid", kid, "typ", "JWT")) == NULL ||
	    (htext = json_dumps(hdr, JSON_COMPACT)) == NULL ||
	    tt_json_write(claims, &payload, NULL) != 0)
		goto out;
	hl = tt_b64_enc_len(strlen(htext), TT_B64_URL);
	pl = tt_b64_enc_len(strlen(payload), TT_B64_URL);
	n = hl + 1 + pl + 1 + tt_b64_enc_len(sizeof(raw), TT_B64_URL) + 1;
	if ((tok = malloc(n)) == NULL)
		goto out;
	tt_b64_encode((const uint8_t *)htext, strlen(htext), TT_B64_URL, tok);
	tok[hl] = '.';
	tt_b64_encode((const uint8_t *)payload, strlen(payload), TT_B64_URL, tok + hl + 1);
	r = TT_ERR_GENERIC;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, &pctx, md, NULL, key) != 1)
		goto out;
	if (strcmp(alg, "PS256") == 0 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	if (half != 0) {
		if (EVP_DigestSign(mctx, der, &derlen, (const uint8_t *)tok, hl + 1 + pl) != 1 ||
		    ecdsa_der_to_jose(der, derlen, half, raw) != 0)
			goto out;
		rawlen = 2 * half;
	} else {
		rawlen = sizeof(raw);
		if (EVP_DigestSign(mctx, raw, &rawlen, (const uint8_t *)tok, hl + 1 + pl) != 1)
			goto out;
	}
	tok[hl + 1 + pl] = '.';
	tt_b64_encode(raw, rawlen, TT_B64_URL, tok + hl + 1 + pl + 1);
	*token_out = tok;
	tok = NULL;
	r = 0;
out:
	EVP_MD_CTX_free(mctx);
	free(tok);
	free(payload);
	free(htext);
	json_decref(hdr);
	return r;
}

/* ---- verification ---- */

static int __attribute__((format(printf, 3, 4)))
fail(char **reason_out, int err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (reason_out != NULL) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		*reason_out = strdup(buf);
	}
	return err;
}

struct parts {
	const char *p[3];
	size_t len[3];
};

static int
split_token(const char *token, struct parts *pt)
{
	const char *s = token, *dot;
	size_t total, i;

	total = strnlen(token, TT_EAR_TOKEN_MAX + 1);
	if (total > TT_EAR_TOKEN_MAX)
		return TT_ERR_LIMIT;
	for (i = 0; i < 3; i++) {
		dot = memchr(s, '.', total - (size_t)(s - token));
		if (i < 2 && dot == NULL)
			return TT_ERR_PARSE;
		if (i == 2 && dot != NULL)
			return TT_ERR_PARSE;   /* a JWE (5 parts) or junk */
		pt->p[i] = s;
		pt->len[i] = (i < 2 ? (size_t)(dot - s) : total - (size_t)(s - token));
		if (i < 2)
			s = dot + 1;
	}
	if (pt->len[0] == 0 || pt->len[1] == 0)
		return TT_ERR_PARSE;
	return 0;
}

int
tt_ear_decode_unverified(const char *token, json_t **header_out, json_t **claims_out)
{
	struct parts pt;
	json_t *h = NULL, *c = NULL;
	int r;

	if (token == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = split_token(token, &pt)) != 0)
		return r;
	if ((r = tt_ear_b64_json(pt.p[0], pt.len[0], PART_MAX, &h)) != 0 ||
	    (r = tt_ear_b64_json(pt.p[1], pt.len[1], PART_MAX, &c)) != 0)
		goto out;
	if (header_out != NULL) {
		*header_out = h;
		h = NULL;
	}
	if (claims_out != NULL) {
		*claims_out = c;
		c = NULL;
	}
out:
	json_decref(h);
	json_decref(c);
	return r;
}

/* May this JWK verify a token signed with sig_algs[ai]? */
static bool
key_fits(const json_t *jwk, int ai)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *kalg = json_string_value(json_object_get(jwk, "alg"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	const json_t *ops = json_object_get(jwk, "key_ops");

	if (kty == NULL || strcmp(kty, sig_algs[ai].kty) != 0)
		return false;
	if (sig_algs[ai].crv != NULL && (crv == NULL || strcmp(crv, sig_algs[ai].crv) != 0))
		return false;
	if (json_object_get(jwk, "alg") != NULL &&
	    (kalg == NULL || strcmp(kalg, sig_algs[ai].alg) != 0))
		return false;
	if (json_object_get(jwk, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0))
		return false;
	if (ops != NULL) {
		size_t i;
		json_t *v;
		bool ok = false;

		if (!json_is_array(ops))
			return false;
		json_array_foreach(ops, i, v) {
			if (json_is_string(v) && strcmp(json_string_value(v), "verify") == 0)
				ok = true;
		}
		if (!ok)
			return false;
	}
	if (sig_algs[ai].crv == NULL) {
		const char *n = json_string_value(json_object_get(jwk, "n"));

		/* base64url length of the modulus: 4 chars per 3 bytes. */
		if (n == NULL || strlen(n) < (RSA_MIN_MODULUS_BYTES * 4 + 2) / 3)
			return false;
	}
	return true;
}

/* Verify with one JWK: a public copy pinned to the header's alg, so libjose can neither
 * infer another algorithm nor use private members that a careless JWKS carried. */
static bool
sig_ok(jose_cfg_t *cfg, const json_t *jws, const json_t *jwk, int ai)
{
	json_t *k = json_deep_copy(jwk);
	bool ok = false;

	if (k == NULL)
		return false;
	if (!jose_jwk_pub(cfg, k))
		goto out;
	json_object_del(k, "key_ops");
	json_object_del(k, "use");
	if (json_object_set_new(k, "alg", json_string(sig_algs[ai].alg)) != 0)
		goto out;
	ok = jose_jws_ver(cfg, jws, NULL, k, false);
out:
	json_decref(k);
	return ok;
}

static int
get_time(const json_t *c, const char *name, bool required, uint64_t *out, char **reason)
{
	const json_t *v = json_object_get(c, name);

	if (v == NULL) {
		if (required)
			return fail(reason, TT_ERR_DATA_INVALID, "claim %s missing", name);
		return 1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(reason, TT_ERR_DATA_INVALID, "claim %s is not a NumericDate", name);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static bool
nonce_eq(const json_t *v, const void *want, size_t wl)
{
	size_t l;

	if (!json_is_string(v))
		return false;
	l = json_string_length(v);
	return l == wl && CRYPTO_memcmp(json_string_value(v), want, wl) == 0;
}

static int
check_claims(const json_t *c, const struct tt_ear_verify_opts *o, char **reason)
{
	uint64_t exp = 0, iat = 0, nbf = 0, now = o->now, lw = o->leeway;
	const char *prof;
	const json_t *subs, *sm, *v;
	const char *name;
	size_t i;
	int r;

	if ((r = get_time(c, "exp", true, &exp, reason)) != 0 ||
	    (r = get_time(c, "iat", true, &iat, reason)) != 0)
		return r;
	if ((r = get_time(c, "nbf", false, &nbf, reason)) < 0)
		return r;
	if (exp < iat)
		return fail(reason, TT_ERR_DATA_INVALID, "exp %llu before iat %llu",
			(unsigned long long)exp, (unsigned long long)iat);
	if (now > exp && now - exp > lw)
		return fail(reason, TT_ERR_NOT_PERMITTED, "token expired at %llu (now %llu)",
			(unsigned long long)exp, (unsigned long long)now);
	if (iat > now && iat - now > lw)
		return fail(reason, TT_ERR_NOT_PERMITTED, "token issued in the future (iat %llu, now %llu)",
			(unsigned long long)iat, (unsigned long long)now);
	if (r == 0 && nbf > now && nbf - now > lw)
		return fail(reason, TT_ERR_NOT_PERMITTED, "token not valid before %llu (now %llu)",
			(unsigned long long)nbf, (unsigned long long)now);

	if (!o->any_profile) {
		prof = json_string_value(json_object_get(c, "eat_profile"));
		if (prof == NULL || strcmp(prof, TT_EAR_PROFILE) != 0)
			return fail(reason, TT_ERR_DATA_INVALID, "eat_profile is not %s",
				TT_EAR_PROFILE);
		subs = json_object_get(c, "submods");
		if (!json_is_object(subs) || json_object_size(subs) == 0)
			return fail(reason, TT_ERR_DATA_INVALID, "submods missing or empty");
		json_object_foreach((json_t *)subs, name, sm) {
			enum tt_ear_status st;

			if (!json_is_object(sm) || tt_ear_status_parse(json_string_value(
			    json_object_get(sm, "ear.status")), &st) != 0)
				return fail(reason, TT_ERR_DATA_INVALID,
					"submod %.64s has no valid ear.status", name);
		}
	}

	if (o->nonce != NULL) {
		bool ok = false;

		v = json_object_get(c, "eat_nonce");
		if (json_is_array(v)) {
			const json_t *e;

			/* No early exit: the time taken does not say which entry matched. */
			json_array_foreach((json_t *)v, i, e) {
				if (nonce_eq(e, o->nonce, o->nonce_len))
					ok = true;
			}
		} else {
			ok = nonce_eq(v, o->nonce, o->nonce_len);
		}
		if (!ok)
			return fail(reason, TT_ERR_NOT_PERMITTED, v == NULL ?
				"eat_nonce missing" : "eat_nonce does not match the expected nonce");
	}
	return 0;
}

int
tt_ear_verify(const char *token, const char *jwks_text,
	const struct tt_ear_verify_opts *opts, json_t **claims_out, char **reason_out)
{
	jose_cfg_t *cfg = NULL;   /* NULL: libjose defaults */
	struct parts pt;
	json_t *hdr = NULL, *claims = NULL, *jwks = NULL, *jws = NULL, *k;
	const json_t *keys;
	const char *alg, *kid;
	char *seg[3] = { NULL, NULL, NULL };
	size_t i;
	int ai, r, tried = 0;
	bool ok = false;

	if (token == NULL || jwks_text == NULL || opts == NULL)
		return fail(reason_out, TT_ERR_INVALID_ARGUMENT, "missing argument");
	if ((r = split_token(token, &pt)) != 0)
		return fail(reason_out, r, "token is not a compact JWS (three base64url parts)");
	if (pt.len[2] == 0)
		return fail(reason_out, TT_ERR_NOT_PERMITTED, "unsigned token refused");
	if (tt_ear_b64_json(pt.p[0], pt.len[0], PART_MAX, &hdr) != 0) {
		r = fail(reason_out, TT_ERR_PARSE, "token header is not base64url JSON");
		goto out;
	}
	alg = json_string_value(json_object_get(hdr, "alg"));
	if ((ai = alg_index(alg)) < 0) {
		r = fail(reason_out, TT_ERR_NOT_PERMITTED, "algorithm %.32s not allowed",
			alg ? alg : "(missing)");
		goto out;
	}
	/* We understand no critical extension, so any "crit" makes the token unusable. */
	if (json_object_get(hdr, "crit") != NULL) {
		r = fail(reason_out, TT_ERR_NOT_SUPPORTED, "critical header extension refused");
		goto out;
	}
	if (tt_ear_b64_json(pt.p[1], pt.len[1], PART_MAX, &claims) != 0) {
		r = fail(reason_out, TT_ERR_PARSE, "token payload is not base64url JSON");
		goto out;
	}
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (json_object_get(hdr, "kid") != NULL && kid == NULL) {
		r = fail(reason_out, TT_ERR_PARSE, "kid is not a string");
		goto out;
	}

	jwks = json_loadb(jwks_text, strnlen(jwks_text, JWKS_MAX + 1), JSON_REJECT_DUPLICATES,
		NULL);
	if (strnlen(jwks_text, JWKS_MAX + 1) > JWKS_MAX || !json_is_object(jwks)) {
		r = fail(reason_out, TT_ERR_DATA_INVALID, "JWKS is not a JSON object");
		goto out;
	}
	keys = json_object_get(jwks, "keys");
	if (keys == NULL && json_object_get(jwks, "kty") != NULL) {
		json_t *one = json_pack("{s:[O]}", "keys", jwks);   /* a single JWK */

		json_decref(jwks);
		jwks = one;
		keys = json_object_get(jwks, "keys");
	}
	if (!json_is_array(keys)) {
		r = fail(reason_out, TT_ERR_DATA_INVALID, "JWKS has no keys array");
		goto out;
	}

	r = TT_ERR_NO_MEMORY;
	for (i = 0; i < 3; i++) {
		if ((seg[i] = strndup(pt.p[i], pt.len[i])) == NULL)
			goto out;
	}
	jws = json_pack("{s:s,s:s,s:s}", "protected", seg[0], "payload", seg[1],
		"signature", seg[2]);
	if (jws == NULL)
		goto out;

	json_array_foreach((json_t *)keys, i, k) {
		const char *kk;

		if (!json_is_object(k))
			continue;
		kk = json_string_value(json_object_get(k, "kid"));
		if (kid != NULL && (kk == NULL || strcmp(kk, kid) != 0))
			continue;
		if (!key_fits(k, ai))
			continue;
		tried++;
		if (sig_ok(cfg, jws, k, ai)) {
			ok = true;
			break;
		}
	}
	if (!ok) {
		if (tried == 0)
			r = fail(reason_out, TT_ERR_INVALID_SIGNATURE,
				"no key in the JWKS for kid %.80s and alg %s",
				kid ? kid : "(none)", sig_algs[ai].alg);
		else
			r = fail(reason_out, TT_ERR_INVALID_SIGNATURE, "signature does not verify");
		goto out;
	}
	if ((r = check_claims(claims, opts, reason_out)) != 0)
		goto out;
	if (claims_out != NULL) {
		*claims_out = claims;
		claims = NULL;
	}
	r = 0;
out:
	for (i = 0; i < 3; i++)
		free(seg[i]);
	json_decref(jws);
	json_decref(jwks);
	json_decref(claims);
	json_decref(hdr);
	return r;
}
