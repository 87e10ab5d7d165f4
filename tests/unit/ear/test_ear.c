/*
 * EAR library tests: token round trip, every way a token must be refused, key rotation
 * and the JWKS, JWE round trips checked against a second implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <jose/jose.h>
#include <jose/openssl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rsa.h>

#include "ear.h"
#include "turtle/error.h"

#define NOW 1700000000u
#define NONCE "bm9uY2Utb2YtdGhlLXRlc3Q"

struct fx {
	char dir[64];
	struct tt_ear_keys *keys;
	char *jwks;
};

static void
rm_dir(const char *dir)
{
	static const char *const names[] = { "active.jwk", "retired.jwks" };
	char p[128];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/tt-ear-XXXXXX";

	assert_non_null(f);
	assert_non_null(mkdtemp(tmpl));
	/* The library creates the key directory itself. */
	snprintf(f->dir, sizeof(f->dir), "%s/keys", tmpl);
	assert_int_equal(tt_ear_keys_open(f->dir, NULL, NOW, &f->keys), 0);
	assert_int_equal(tt_ear_keys_jwks_text(f->keys, NOW, &f->jwks), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char parent[64];

	tt_ear_keys_free(f->keys);
	free(f->jwks);
	rm_dir(f->dir);
	snprintf(parent, sizeof(parent), "%s", f->dir);
	*strrchr(parent, '/') = '\0';
	rmdir(parent);
	free(f);
	return 0;
}

static void
one_result(struct tt_ear_submod *sm, struct tt_ear_result *r, json_t *ev)
{
	memset(sm, 0, sizeof(*sm));
	memset(r, 0, sizeof(*r));
	sm->name = "tpm";
	sm->status = TT_EAR_STATUS_AFFIRMING;
	sm->tv[TT_EAR_TV_INSTANCE_IDENTITY] = 2;
	sm->tv_set[TT_EAR_TV_INSTANCE_IDENTITY] = true;
	sm->tv[TT_EAR_TV_EXECUTABLES] = 2;
	sm->tv_set[TT_EAR_TV_EXECUTABLES] = true;
	sm->tv[TT_EAR_TV_HARDWARE] = 2;
	sm->tv_set[TT_EAR_TV_HARDWARE] = true;
	sm->policy_id = "policy:turtle/default";
	sm->annotated_evidence = ev;
	r->nonce = NONCE;
	r->lifetime = 600;
	r->n_submods = 1;
	r->submods = sm;
}

static char *
make_token(struct fx *f, uint64_t now)
{
	struct tt_ear_submod sm;
	struct tt_ear_result r;
	json_t *ev = json_pack("{s:s,s:b}", "pcr0", "00ff", "secure-boot", 1);
	char *tok = NULL;

	one_result(&sm, &r, ev);
	assert_int_equal(tt_ear_sign(f->keys, &r, now, &tok), 0);
	json_decref(ev);
	return tok;
}

static struct tt_ear_verify_opts
vopts(uint64_t now)
{
	struct tt_ear_verify_opts o = { .now = now, .leeway = 30 };

	return o;
}

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	struct tt_ear_verify_opts o = vopts(NOW + 10);
	char *tok = make_token(f, NOW), *reason = NULL;
	json_t *c = NULL, *h = NULL, *sm;

	o.nonce = NONCE;
	o.nonce_len = strlen(NONCE);
	assert_int_equal(tt_ear_verify(tok, f->jwks, &o, &c, &reason), 0);
	assert_null(reason);
	assert_string_equal(json_string_value(json_object_get(c, "eat_profile")), TT_EAR_PROFILE);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), NOW);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW + 600);
	assert_string_equal(json_string_value(json_object_get(c, "eat_nonce")), NONCE);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c,
		"ear.verifier-id"), "developer")), "turtle");
	sm = json_object_get(json_object_get(c, "submods"), "tpm");
	assert_string_equal(json_string_value(json_object_get(sm, "ear.status")), "affirming");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sm,
		"ear.trustworthiness-vector"), "hardware")), 2);
	assert_null(json_object_get(json_object_get(sm, "ear.trustworthiness-vector"),
		"configuration"));
	assert_string_equal(json_string_value(json_object_get(sm, "ear.appraisal-policy-id")),
		"policy:turtle/default");
	assert_string_equal(json_string_value(json_object_get(json_object_get(sm,
		TT_EAR_ANNOTATED_EVIDENCE), "pcr0")), "00ff");

	/* header names the active key and ES256 */
	assert_int_equal(tt_ear_decode_unverified(tok, &h, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), tt_ear_keys_kid(f->keys));
	json_decref(h);
	json_decref(c);
	free(tok);
}

/* The ES256 signature checked with OpenSSL directly (raw r||s -> DER). */
static void
test_signature_openssl(void **state)
{
	struct fx *f = *state;
	char *tok = make_token(f, NOW);
	json_t *jwks = json_loads(f->jwks, 0, NULL), *jwk;
	EVP_PKEY *pk;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[64], der[80], *p = der;
	const char *s = strrchr(tok, '.') + 1;
	ECDSA_SIG *es = ECDSA_SIG_new();
	int dl;

	jwk = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_non_null((pk = jose_openssl_jwk_to_EVP_PKEY(NULL, jwk)));
	assert_int_equal(jose_b64_dec_buf(s, strlen(s), sig, sizeof(sig)), 64);
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
	dl = i2d_ECDSA_SIG(es, &p);
	assert_true(dl > 0);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(md, der, (size_t)dl, (const uint8_t *)tok,
		(size_t)(s - 1 - tok)), 1);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	json_decref(jwks);
	free(tok);
}

static void
expect_fail(struct fx *f, const char *tok, const struct tt_ear_verify_opts *o, int err,
	const char *reason_part)
{
	char *reason = NULL;
	json_t *c = NULL;

	assert_int_equal(tt_ear_verify(tok, f->jwks, o, &c, &reason), err);
	assert_null(c);
	assert_non_null(reason);
	if (strstr(reason, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", reason, reason_part);
	free(reason);
}

/* Replace part i (0 header, 1 payload, 2 signature) of a token. */
static char *
with_part(const char *tok, int i, const char *text, bool encode)
{
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	char enc[4096], *out = malloc(8192);
	size_t n;

	if (encode) {
		n = jose_b64_enc_buf(text, strlen(text), enc, sizeof(enc));
		enc[n] = '\0';
	} else {
		snprintf(enc, sizeof(enc), "%s", text);
	}
	if (i == 0)
		snprintf(out, 8192, "%s%s", enc, d1);
	else if (i == 1)
		snprintf(out, 8192, "%.*s.%s%s", (int)(d1 - tok), tok, enc, d2);
	else
		snprintf(out, 8192, "%.*s.%s", (int)(d2 - tok), tok, enc);
	return out;
}

static void
test_tampered(void **state)
{
	struct fx *f = *state;
	struct tt_ear_verify_opts o = vopts(NOW);
	char *tok = make_token(f, NOW), *t, *pl;
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	uint8_t raw[4096];
	size_t n;

	/* payload: one claim changed, signature kept */
	n = jose_b64_dec_buf(d1 + 1, (size_t)(d2 - d1 - 1), raw, sizeof(raw));
	raw[n] = 0;
	pl = strdup((char *)raw);
	*strstr(pl, "affirming") = 'A';
	t = with_part(tok, 1, pl, true);
	expect_fail(f, t, &o, TT_ERR_INVALID_SIGNATURE, "signature");
	free(t);
	free(pl);

	/* signature: one bit flipped (first char changes its top bits) */
	t = strdup(tok);
	t[d2 - tok + 1] = t[d2 - tok + 1] == 'A' ? 'B' : 'A';
	expect_fail(f, t, &o, TT_ERR_INVALID_SIGNATURE, "signature");
	free(t);

	/* header: kid changed -> no key */
	t = with_part(tok, 0, "{\"alg\":\"ES256\",\"kid\":\"nope\",\"typ\":\"JWT\"}", true);
	expect_fail(f, t, &o, TT_ERR_INVALID_SIGNATURE, "no key");
	free(t);

	/* header: a different but allowed alg, same key -> key does not fit */
	t = with_part(tok, 0, "{\"alg\":\"ES384\"}", true);
	expect_fail(f, t, &o, TT_ERR_INVALID_SIGNATURE, "no key");
	free(t);

	/* header with crit */
	t = with_part(tok, 0, "{\"alg\":\"ES256\",\"crit\":[\"x\"],\"x\":1}", true);
	expect_fail(f, t, &o, TT_ERR_NOT_SUPPORTED, "critical");
	free(t);

	/* malformed shapes */
	expect_fail(f, "abc", &o, TT_ERR_PARSE, "compact");
	expect_fail(f, "a.b.c.d.e", &o, TT_ERR_PARSE, "compact");
	t = with_part(tok, 0, "!!!", false);
	expect_fail(f, t, &o, TT_ERR_PARSE, "header");
	free(t);
	free(tok);
}

static void
test_alg_none_and_confusion(void **state)
{
	struct fx *f = *state;
	struct tt_ear_verify_opts o = vopts(NOW);
	char *tok = make_token(f, NOW), *t, *t2;
	jose_cfg_auto_t *cfg = jose_cfg();
	json_t *jwks = json_loads(f->jwks, 0, NULL), *pub, *hk, *jws, *sig;
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	char *pubtext, *pl, *compact;
	size_t n;

	/* alg none, empty signature */
	t = with_part(tok, 0, "{\"alg\":\"none\"}", true);
	t2 = with_part(t, 2, "", false);
	expect_fail(f, t2, &o, TT_ERR_NOT_PERMITTED, "unsigned");
	free(t2);
	/* alg none with a signature kept */
	expect_fail(f, t, &o, TT_ERR_NOT_PERMITTED, "none");
	free(t);
	/* "None" and missing alg */
	t = with_part(tok, 0, "{\"alg\":\"None\"}", true);
	expect_fail(f, t, &o, TT_ERR_NOT_PERMITTED, "not allowed");
	free(t);
	t = with_part(tok, 0, "{\"typ\":\"JWT\"}", true);
	expect_fail(f, t, &o, TT_ERR_NOT_PERMITTED, "missing");
	free(t);

	/* HS256 keyed with the public JWK text as the secret: a real, valid HMAC */
	pub = json_array_get(json_object_get(jwks, "keys"), 0);
	pubtext = json_dumps(pub, JSON_COMPACT);
	hk = json_pack("{s:s,s:o}", "kty", "oct", "k", jose_b64_enc(pubtext, strlen(pubtext)));
	pl = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	jws = json_pack("{s:s}", "payload", pl);
	sig = json_pack("{s:{s:s,s:s}}", "protected", "alg", "HS256", "kid",
		tt_ear_keys_kid(f->keys));
	assert_true(jose_jws_sig(cfg, jws, sig, hk));
	n = strlen(pl) + 512;
	compact = malloc(n);
	snprintf(compact, n, "%s.%s.%s", json_string_value(json_object_get(jws, "protected")), pl,
		json_string_value(json_object_get(jws, "signature")));
	expect_fail(f, compact, &o, TT_ERR_NOT_PERMITTED, "HS256");
	free(compact);
	free(pl);
	free(pubtext);
	json_decref(sig);
	json_decref(jws);
	json_decref(hk);
	json_decref(jwks);
	free(tok);
}

static void
test_times(void **state)
{
	struct fx *f = *state;
	char *tok = make_token(f, NOW);
	struct tt_ear_verify_opts o;

	/* exp = NOW + 600, leeway 30 */
	o = vopts(NOW + 630);
	assert_int_equal(tt_ear_verify(tok, f->jwks, &o, NULL, NULL), 0);
	o = vopts(NOW + 631);
	expect_fail(f, tok, &o, TT_ERR_NOT_PERMITTED, "expired");
	o = vopts(NOW - 30);
	assert_int_equal(tt_ear_verify(tok, f->jwks, &o, NULL, NULL), 0);
	o = vopts(NOW - 31);
	expect_fail(f, tok, &o, TT_ERR_NOT_PERMITTED, "future");
	o = vopts(NOW + 601);
	o.leeway = 0;
	expect_fail(f, tok, &o, TT_ERR_NOT_PERMITTED, "expired");
	free(tok);
}

static void
test_nonce(void **state)
{
	struct fx *f = *state;
	char *tok = make_token(f, NOW);
	struct tt_ear_verify_opts o = vopts(NOW);

	o.nonce = "bm9uY2Utb2YtdGhlLXRlc3R";   /* one byte longer */
	o.nonce_len = strlen(o.nonce);
	expect_fail(f, tok, &o, TT_ERR_NOT_PERMITTED, "eat_nonce");
	o.nonce = "bm9uY2Utb2YtdGhlLXRlc3X";   /* same length, last byte differs */
	o.nonce_len = strlen(NONCE);
	expect_fail(f, tok, &o, TT_ERR_NOT_PERMITTED, "eat_nonce");
	o.nonce = NONCE;
	assert_int_equal(tt_ear_verify(tok, f->jwks, &o, NULL, NULL), 0);
	free(tok);
}

/* Rotations racing each other and signers in one process (the HTTP thread pool's case).
 * Under ASan this catches a key freed under a signer or a rotator; without it, every
 * token must verify against the final JWKS and every rotation must have made its own key
 * (a lost key would be missing from the JWKS). */
struct race {
	struct fx *f;
	int rotate;
	char kids[10][128];
	char *toks[40];
};

static void *
race_thread(void *arg)
{
	struct race *rc = arg;

	if (rc->rotate) {
		for (int i = 0; i < 10; i++)
			if (tt_ear_keys_rotate(rc->f->keys, NOW + 1, rc->kids[i],
			    sizeof(rc->kids[i])) != 0)
				rc->kids[i][0] = '\0';
	} else {
		for (int i = 0; i < 40; i++)
			rc->toks[i] = make_token(rc->f, NOW + 2);
	}
	return NULL;
}

static void
test_rotation_race(void **state)
{
	struct fx *f = *state;
	struct race rc[4];
	pthread_t t[4];
	char *jwks = NULL;
	struct tt_ear_verify_opts o = vopts(NOW + 10);

	memset(rc, 0, sizeof(rc));
	for (int i = 0; i < 4; i++) {
		rc[i].f = f;
		rc[i].rotate = i < 2;
		assert_int_equal(pthread_create(&t[i], NULL, race_thread, &rc[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(tt_ear_keys_jwks_text(f->keys, NOW + 10, &jwks), 0);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 10; k++) {
			assert_true(rc[i].kids[k][0] != '\0');
			assert_non_null(strstr(jwks, rc[i].kids[k]));
		}
	}
	/* 20 rotations, 20 distinct kids */
	for (int a = 0; a < 20; a++)
		for (int b = a + 1; b < 20; b++)
			assert_string_not_equal(rc[a / 10].kids[a % 10], rc[b / 10].kids[b % 10]);
	for (int i = 2; i < 4; i++) {
		for (int k = 0; k < 40; k++) {
			assert_int_equal(tt_ear_verify(rc[i].toks[k], jwks, &o, NULL, NULL), 0);
			free(rc[i].toks[k]);
		}
	}
	free(jwks);
}

static void
test_rotation(void **state)
{
	struct fx *f = *state;
	char *old_tok = make_token(f, NOW), *new_tok, *jwks = NULL, *old_kid, *new_kid;
	struct tt_ear_verify_opts o = vopts(NOW + 100);
	json_t *j, *h = NULL;
	struct tt_ear_keys *again = NULL;
	struct stat st;
	char p[128];

	old_kid = strdup(tt_ear_keys_kid(f->keys));
	{
		char kid[128];

		assert_int_equal(tt_ear_keys_rotate(f->keys, NOW + 50, kid, sizeof(kid)), 0);
		new_kid = strdup(tt_ear_keys_kid(f->keys));
		assert_string_equal(kid, new_kid);   /* the kid the rotation made */
	}
	assert_string_not_equal(old_kid, new_kid);
	new_tok = make_token(f, NOW + 60);
	assert_int_equal(tt_ear_decode_unverified(new_tok, &h, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(h, "kid")), new_kid);
	json_decref(h);

	/* the JWKS now lists both keys, public halves only, no bookkeeping members */
	assert_int_equal(tt_ear_keys_jwks_text(f->keys, NOW + 100, &jwks), 0);
	j = json_loads(jwks, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(j, "keys"), 0), "kid")), new_kid);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(j, "keys"), 1), "kid")), old_kid);
	assert_null(strstr(jwks, "\"d\""));
	assert_null(strstr(jwks, "turtle.retired"));
	json_decref(j);
	assert_int_equal(tt_ear_verify(old_tok, jwks, &o, NULL, NULL), 0);
	assert_int_equal(tt_ear_verify(new_tok, jwks, &o, NULL, NULL), 0);
	/* the JWKS from before the rotation does not know the new key */
	expect_fail(f, new_tok, &o, TT_ERR_INVALID_SIGNATURE, "no key");
	free(jwks);

	/* a second opener sees the same state from disk */
	assert_int_equal(tt_ear_keys_open(f->dir, NULL, NOW + 100, &again), 0);
	assert_string_equal(tt_ear_keys_kid(again), new_kid);
	snprintf(p, sizeof(p), "%s/active.jwk", f->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* after retired + max lifetime (24 h default) the old key leaves the JWKS */
	assert_int_equal(tt_ear_keys_jwks_text(again, NOW + 50 + TT_EAR_MAX_LIFETIME + 1, &jwks), 0);
	j = json_loads(jwks, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
	json_decref(j);
	free(jwks);
	tt_ear_keys_free(again);
	free(old_kid);
	free(new_kid);
	free(new_tok);
	free(old_tok);
}

static void
test_loose_dir_refused(void **state)
{
	struct fx *f = *state;
	struct tt_ear_keys *k = NULL;

	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(tt_ear_keys_open(f->dir, NULL, NOW, &k), TT_ERR_CONFIG);
	assert_null(k);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

static void
test_build_and_tiers(void **state)
{
	struct tt_ear_submod sm[2];
	struct tt_ear_result r;
	json_t *c = NULL;
	bool set[TT_EAR_TV_COUNT] = { true, true };
	int8_t tv[TT_EAR_TV_COUNT] = { 2, 32 };

	(void)state;
	assert_int_equal(tt_ear_tier_of(0), TT_EAR_STATUS_NONE);
	assert_int_equal(tt_ear_tier_of(1), TT_EAR_STATUS_NONE);
	assert_int_equal(tt_ear_tier_of(-1), TT_EAR_STATUS_NONE);
	assert_int_equal(tt_ear_tier_of(2), TT_EAR_STATUS_AFFIRMING);
	assert_int_equal(tt_ear_tier_of(31), TT_EAR_STATUS_AFFIRMING);
	assert_int_equal(tt_ear_tier_of(-32), TT_EAR_STATUS_AFFIRMING);
	assert_int_equal(tt_ear_tier_of(32), TT_EAR_STATUS_WARNING);
	assert_int_equal(tt_ear_tier_of(-33), TT_EAR_STATUS_WARNING);
	assert_int_equal(tt_ear_tier_of(96), TT_EAR_STATUS_CONTRAINDICATED);
	assert_int_equal(tt_ear_tier_of(-128), TT_EAR_STATUS_CONTRAINDICATED);
	assert_int_equal(tt_ear_status_from_vector(tv, set), TT_EAR_STATUS_WARNING);

	one_result(&sm[0], &r, NULL);
	sm[1] = sm[0];
	r.submods = sm;
	r.n_submods = 2;
	assert_int_equal(tt_ear_build(&r, NOW, &c), TT_ERR_INVALID_ARGUMENT);   /* dup name */
	sm[1].name = "snp";
	sm[1].status = TT_EAR_STATUS_CONTRAINDICATED;
	r.nonce = "short";
	assert_int_equal(tt_ear_build(&r, NOW, &c), TT_ERR_INVALID_ARGUMENT);
	r.nonce = NULL;
	r.lifetime = TT_EAR_MAX_LIFETIME + 1;
	assert_int_equal(tt_ear_build(&r, NOW, &c), TT_ERR_INVALID_ARGUMENT);
	r.lifetime = 0;
	assert_int_equal(tt_ear_build(&r, NOW, &c), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW + TT_EAR_DEFAULT_LIFETIME);
	assert_null(json_object_get(c, "eat_nonce"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(c,
		"submods"), "snp"), "ear.status")), "contraindicated");
	json_decref(c);
}

/* ---- JWE ---- */

static json_t *
jwk_of(EVP_PKEY *pk)
{
	json_t *j = jose_openssl_jwk_from_EVP_PKEY(NULL, pk);

	assert_non_null(j);
	return j;
}

static json_t *
pub_of(const json_t *priv)
{
	json_t *p = json_deep_copy(priv);

	assert_true(jose_jwk_pub(NULL, p));
	return p;
}

static uint8_t *
b64d(const json_t *jwe, const char *name, size_t *n)
{
	const char *s = json_string_value(json_object_get(jwe, name));
	uint8_t *b;

	assert_non_null(s);
	*n = jose_b64_dec_buf(s, strlen(s), NULL, 0);
	b = malloc(*n + 1);
	assert_int_equal(jose_b64_dec_buf(s, strlen(s), b, *n), *n);
	return b;
}

/* Decrypt A256GCM content with OpenSSL only. */
static void
gcm_open_check(const json_t *jwe, const uint8_t *cek, const char *want)
{
	size_t ivl, ctl, tl;
	uint8_t *iv = b64d(jwe, "iv", &ivl), *ct = b64d(jwe, "ciphertext", &ctl),
		*tag = b64d(jwe, "tag", &tl), out[256];
	const char *prot = json_string_value(json_object_get(jwe, "protected"));
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, l2 = 0;

	assert_int_equal(ivl, 12);
	assert_int_equal(tl, 16);
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, cek, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(c, NULL, &l, (const uint8_t *)prot, (int)strlen(prot)), 1);
	assert_int_equal(EVP_DecryptUpdate(c, out, &l, ct, (int)ctl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, out + l, &l2), 1);
	assert_int_equal((size_t)(l + l2), strlen(want));
	assert_memory_equal(out, want, strlen(want));
	EVP_CIPHER_CTX_free(c);
	free(iv);
	free(ct);
	free(tag);
}

static json_t *
protected_hdr(const json_t *jwe)
{
	size_t n;
	uint8_t *b = b64d(jwe, "protected", &n);
	json_t *h = json_loadb((char *)b, n, 0, NULL);

	free(b);
	assert_non_null(h);
	return h;
}

static const char SECRET[] = "the resource: s3cr3t value";

static void
test_jwe_rsa(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	json_t *priv = jwk_of(pk), *pub = pub_of(priv), *jwe = NULL, *h;
	EVP_PKEY_CTX *ctx;
	uint8_t *ek, cek[512], *pt = NULL;
	size_t ekl, cekl = sizeof(cek), ptl = 0;

	(void)state;
	json_object_set_new(pub, "alg", json_string("RSA-OAEP-256"));
	assert_int_equal(tt_ear_jwe_encrypt(pub, SECRET, strlen(SECRET), &jwe), 0);
	/* KBS shape: flattened, all parameters protected */
	assert_null(json_object_get(jwe, "header"));
	assert_null(json_object_get(jwe, "recipients"));
	h = protected_hdr(jwe);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "RSA-OAEP-256");
	assert_string_equal(json_string_value(json_object_get(h, "enc")), "A256GCM");
	json_decref(h);

	/* our decrypt (libjose) */
	assert_int_equal(tt_ear_jwe_decrypt(priv, jwe, &pt, &ptl), 0);
	assert_int_equal(ptl, strlen(SECRET));
	assert_memory_equal(pt, SECRET, ptl);
	free(pt);

	/* OpenSSL only: OAEP-SHA256 unwrap, then GCM */
	ek = b64d(jwe, "encrypted_key", &ekl);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, cek, &cekl, ek, ekl), 1);
	assert_int_equal(cekl, 32);
	gcm_open_check(jwe, cek, SECRET);
	EVP_PKEY_CTX_free(ctx);
	free(ek);

	/* a tampered ciphertext does not decrypt */
	json_object_set_new(jwe, "iv", json_string("AAAAAAAAAAAAAAAA"));
	assert_int_not_equal(tt_ear_jwe_decrypt(priv, jwe, &pt, &ptl), 0);

	/* RSA1_5 is refused */
	json_decref(jwe);
	jwe = NULL;
	json_object_set_new(pub, "alg", json_string("RSA1_5"));
	assert_int_equal(tt_ear_jwe_encrypt(pub, SECRET, strlen(SECRET), &jwe), TT_ERR_NOT_SUPPORTED);
	json_decref(pub);
	json_decref(priv);
	EVP_PKEY_free(pk);
}

static void
test_jwe_ec(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *epk;
	json_t *priv = jwk_of(pk), *pub = pub_of(priv), *jwe = NULL, *h, *wrong;
	EVP_PKEY_CTX *dctx;
	EVP_CIPHER_CTX *c;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM p[4];
	uint8_t z[32], kek[32], cek[48], *ek, *pt = NULL;
	uint8_t info[] = { 0, 0, 0, 14, 'E', 'C', 'D', 'H', '-', 'E', 'S', '+', 'A', '2', '5', '6',
		'K', 'W', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	size_t zl = sizeof(z), ekl, ptl = 0;
	int l = 0, l2 = 0;

	(void)state;
	assert_int_equal(tt_ear_jwe_encrypt(pub, SECRET, strlen(SECRET), &jwe), 0);
	assert_null(json_object_get(jwe, "header"));
	h = protected_hdr(jwe);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "ECDH-ES+A256KW");
	assert_string_equal(json_string_value(json_object_get(h, "enc")), "A256GCM");
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "epk"), "crv")),
		"P-256");
	assert_null(json_object_get(json_object_get(h, "epk"), "d"));

	assert_int_equal(tt_ear_jwe_decrypt(priv, jwe, &pt, &ptl), 0);
	assert_int_equal(ptl, strlen(SECRET));
	assert_memory_equal(pt, SECRET, ptl);
	free(pt);

	/* OpenSSL only: ECDH with the epk, Concat KDF (SSKDF), AES key unwrap, GCM */
	epk = jose_openssl_jwk_to_EVP_PKEY(NULL, json_object_get(h, "epk"));
	assert_non_null(epk);
	dctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_int_equal(EVP_PKEY_derive_init(dctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(dctx, epk), 1);
	assert_int_equal(EVP_PKEY_derive(dctx, z, &zl), 1);
	kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
	kctx = EVP_KDF_CTX_new(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zl);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	p[3] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kctx, kek, sizeof(kek), p), 1);
	ek = b64d(jwe, "encrypted_key", &ekl);
	assert_int_equal(ekl, 40);
	c = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(c, cek, &l, ek, (int)ekl), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, cek + l, &l2), 1);
	assert_int_equal(l + l2, 32);
	gcm_open_check(jwe, cek, SECRET);

	/* another key cannot decrypt */
	{
		EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		wrong = jwk_of(other);
		assert_int_not_equal(tt_ear_jwe_decrypt(wrong, jwe, &pt, &ptl), 0);
		json_decref(wrong);
		EVP_PKEY_free(other);
	}
	/* an unprotected alg is refused by decrypt */
	json_object_set_new(jwe, "header", json_pack("{s:s}", "alg", "dir"));
	assert_int_equal(tt_ear_jwe_decrypt(priv, jwe, &pt, &ptl), TT_ERR_DATA_INVALID);

	EVP_CIPHER_CTX_free(c);
	free(ek);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(epk);
	json_decref(h);
	json_decref(jwe);
	json_decref(pub);
	json_decref(priv);
	EVP_PKEY_free(pk);
}

/*
 * Trustee's KBS client (guest-components kbs_protocol keypair.rs with kbs-types 0.18)
 * does not use the received "protected" string as the AAD: it decodes it into
 * ProtectedHeader {alg, enc, other members} and serialises that again with serde_json
 * (alg, enc, then the other members in sorted order, compact). Decryption only works if
 * that re-serialisation is byte for byte what was sent, so the header must be exactly
 * {"alg":..,"enc":..,"epk":{"crv","kty","x","y"}} with the coordinates at full width.
 * The TEE key is the JWK that client sends: {"kty","crv","alg":"ECDH-ES+A256KW","x","y"}.
 */
static void
test_jwe_trustee_header(void **state)
{
	static const struct { const char *group, *crv; size_t xlen; } c[] = {
		{ "P-256", "P-256", 43 }, { "P-521", "P-521", 88 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c[i].group);
		json_t *priv = jwk_of(pk), *pub = pub_of(priv), *jwe = NULL, *h, *epk;
		char want[512];
		size_t n, ptl = 0;
		uint8_t *raw, *pt = NULL;
		const char *x, *y;

		json_object_del(pub, "key_ops");
		json_object_set_new(pub, "alg", json_string("ECDH-ES+A256KW"));
		assert_int_equal(tt_ear_jwe_encrypt(pub, SECRET, strlen(SECRET), &jwe), 0);
		assert_null(json_object_get(jwe, "aad"));
		h = protected_hdr(jwe);
		epk = json_object_get(h, "epk");
		x = json_string_value(json_object_get(epk, "x"));
		y = json_string_value(json_object_get(epk, "y"));
		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(strlen(x), c[i].xlen);
		assert_int_equal(strlen(y), c[i].xlen);
		snprintf(want, sizeof(want), "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\","
		    "\"epk\":{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}",
		    c[i].crv, x, y);
		raw = b64d(jwe, "protected", &n);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(raw, want, n);
		assert_int_equal(tt_ear_jwe_decrypt(priv, jwe, &pt, &ptl), 0);
		assert_int_equal(ptl, strlen(SECRET));
		assert_memory_equal(pt, SECRET, ptl);
		free(pt);
		free(raw);
		json_decref(h);
		json_decref(jwe);
		json_decref(pub);
		json_decref(priv);
		EVP_PKEY_free(pk);
	}
}

static void
test_jwe_bad_keys(void **state)
{
	json_t *jwe = NULL, *k;

	(void)state;
	k = json_pack("{s:s,s:s}", "kty", "oct", "k", "AAAA");
	assert_int_equal(tt_ear_jwe_encrypt(k, "x", 1, &jwe), TT_ERR_NOT_SUPPORTED);
	json_decref(k);
	/* a point that is not on P-256 */
	k = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
		"x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE",
		"y", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE");
	assert_int_not_equal(tt_ear_jwe_encrypt(k, "x", 1, &jwe), 0);
	assert_null(jwe);
	json_decref(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_openssl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alg_none_and_confusion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loose_dir_refused, setup, teardown),
		cmocka_unit_test(test_build_and_tiers),
		cmocka_unit_test(test_jwe_rsa),
		cmocka_unit_test(test_jwe_ec),
		cmocka_unit_test(test_jwe_bad_keys),
		cmocka_unit_test(test_jwe_trustee_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
