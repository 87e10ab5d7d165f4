/* Unit tests of turtle-as internals: store, audit records, helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "as.h"
#include "http.h"
#include "turtle/error.h"

static const struct tt_as_store_ops *ops = &tt_as_store_sqlite;

struct fx {
	char dir[64];
	struct tt_as_store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tt-as-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(ops->open(f->dir, &f->st), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ops->close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Decode a base64url nonce as the attest handler does. */
static void
raw_nonce(const char *b64, uint8_t **bin, size_t *len)
{
	assert_int_equal(tt_as_b64_dec(b64, bin, len), 0);
	assert_int_equal(*len, TT_AS_NONCE_BYTES);
}

static void
test_nonce_single_use(void **state)
{
	struct tt_as_nonces *t = NULL;
	struct tt_as_nonce n = { 0 };
	char *a = NULL, *b = NULL;
	uint8_t *bin = NULL, other[TT_AS_NONCE_BYTES] = { 0 };
	size_t len = 0;

	(void)state;
	assert_int_equal(tt_as_nonces_new(16, &t), 0);
	assert_int_equal(tt_as_nonce_issue(t, "sample", "node", 10, 1000, &a), 0);
	assert_int_equal(tt_as_nonce_issue(t, "tpm", NULL, 10, 1000, &b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(tt_as_nonces_count(t), 2);
	raw_nonce(a, &bin, &len);
	assert_int_equal(tt_as_nonce_take(t, bin, len, 999, &n), 0);
	assert_string_equal(n.tee, "sample");
	assert_string_equal(n.node_id, "node");
	assert_int_equal(n.expires_at, 1000);
	tt_as_nonce_clear(&n);
	/* single use */
	assert_int_equal(tt_as_nonce_take(t, bin, len, 999, &n), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_as_nonce_take(t, other, sizeof(other), 999, &n), TT_ERR_DOES_NOT_EXIST);
	/* a prefix of a nonce is not the nonce */
	assert_int_equal(tt_as_nonce_take(t, bin, len - 1, 999, &n), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_as_nonces_count(t), 1);
	free(bin);
	free(a);
	free(b);
	tt_as_nonces_free(t);
}

static void
test_nonce_expiry(void **state)
{
	struct tt_as_nonces *t = NULL;
	struct tt_as_nonce n = { 0 };
	char *a = NULL;
	uint8_t *bin = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(tt_as_nonces_new(16, &t), 0);
	assert_int_equal(tt_as_nonce_issue(t, "tpm", NULL, 10, 1000, &a), 0);
	raw_nonce(a, &bin, &len);
	assert_int_equal(tt_as_nonce_take(t, bin, len, 1001, &n), TT_ERR_TIMEOUT);
	assert_null(n.tee);
	/* an expired nonce is gone for good */
	assert_int_equal(tt_as_nonce_take(t, bin, len, 500, &n), TT_ERR_DOES_NOT_EXIST);
	free(bin);
	free(a);
	tt_as_nonces_free(t);
}

static void
test_nonce_bounded(void **state)
{
	struct tt_as_nonces *t = NULL;
	char *a[17] = { 0 };

	(void)state;
	assert_int_equal(tt_as_nonces_new(16, &t), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(tt_as_nonce_issue(t, "tpm", NULL, 10, 100, &a[i]), 0);
	/* full of live challenges: refused, nothing grows */
	assert_int_equal(tt_as_nonce_issue(t, "tpm", NULL, 50, 150, &a[16]), TT_ERR_LIMIT);
	assert_null(a[16]);
	assert_int_equal(tt_as_nonces_count(t), 16);
	/* once they expired, issuing sweeps (some of) them and succeeds; still bounded */
	assert_int_equal(tt_as_nonce_issue(t, "tpm", NULL, 101, 400, &a[16]), 0);
	assert_true(tt_as_nonces_count(t) <= 16);
	for (int i = 0; i < 17; i++)
		free(a[i]);
	tt_as_nonces_free(t);
}

static void
test_cache(void **state)
{
	struct tt_as_cache *c = NULL, *off = NULL;
	struct tt_as_cached *h = NULL, *got = NULL;
	json_t *v = json_pack("{s:s}", "group", "g");
	uint64_t gen, stale;

	(void)state;
	assert_int_equal(tt_as_cache_new(60000, &c), 0);
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_NODE, "n1", &got, &gen),
	    TT_ERR_DOES_NOT_EXIST);
	assert_null(got);
	/* the cache and the caller share v through handles; v's own count is never touched */
	assert_int_equal(tt_as_cache_put(c, TT_AS_CACHE_NODE, "n1", json_incref(v), gen, &h), 0);
	assert_ptr_equal(tt_as_cached_value(h), v);
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_NODE, "n1", &got, &gen), 0);
	assert_ptr_equal(got, h);
	assert_int_equal(v->refcount, 2);
	tt_as_cached_release(got);
	tt_as_cached_release(h);
	/* kinds are separate namespaces */
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_POLICY, "n1", &got, &gen),
	    TT_ERR_DOES_NOT_EXIST);
	/* "there is none" is a value too */
	assert_int_equal(tt_as_cache_put(c, TT_AS_CACHE_POLICY, "g", json_null(), gen, &h), 0);
	assert_null(tt_as_cached_value(h));
	tt_as_cached_release(h);
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_POLICY, "g", &got, &gen), 0);
	assert_null(tt_as_cached_value(got));
	tt_as_cached_release(got);
	/* invalidation forgets, and a load begun before it is not stored after it */
	stale = gen;
	tt_as_cache_invalidate(c);
	assert_int_equal(v->refcount, 1);
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_NODE, "n1", &got, &gen),
	    TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_as_cache_put(c, TT_AS_CACHE_NODE, "n1", json_incref(v), stale, &h), 0);
	assert_ptr_equal(tt_as_cached_value(h), v);   /* the caller still gets its value */
	tt_as_cached_release(h);
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_NODE, "n1", &got, &gen),
	    TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_as_cache_put(c, TT_AS_CACHE_NODE, "n1", json_incref(v), gen, &h), 0);
	tt_as_cached_release(h);
	assert_int_equal(tt_as_cache_get(c, TT_AS_CACHE_NODE, "n1", &got, &gen), 0);
	tt_as_cached_release(got);
	/* ttl 0 (and no cache at all): handles work, nothing is held */
	assert_int_equal(tt_as_cache_new(0, &off), 0);
	assert_int_equal(tt_as_cache_put(off, TT_AS_CACHE_NODE, "n1", json_incref(v), 0, &h), 0);
	tt_as_cached_release(h);
	assert_int_equal(tt_as_cache_get(off, TT_AS_CACHE_NODE, "n1", &got, &gen),
	    TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_as_cache_put(NULL, TT_AS_CACHE_NODE, "n1", json_incref(v), 0, &h), 0);
	tt_as_cached_release(h);
	tt_as_cache_free(off);
	tt_as_cache_free(c);
	/* everything released: ours is the last reference */
	assert_int_equal(v->refcount, 1);
	json_decref(v);
}

static void
test_refvals(void **state)
{
	struct fx *f = *state;
	json_t *in = json_loads("[{\"name\":\"a\",\"value\":\"1\"},"
	    "{\"name\":\"a\",\"value\":\"2\",\"expires_at\":100},"
	    "{\"name\":\"b\",\"value\":\"3\",\"scope\":\"group:web\"},"
	    "{\"name\":\"c\",\"value\":\"4\"}]", 0, NULL);
	json_t *ids = NULL, *v = NULL;

	assert_non_null(in);
	assert_int_equal(ops->refval_import(f->st, in, 10, &ids), 0);
	assert_int_equal(json_array_size(ids), 4);
	assert_int_equal(ops->refval_revoke(f->st, json_integer_value(json_array_get(ids, 3)), 20), 0);
	assert_int_equal(ops->refval_revoke(f->st, json_integer_value(json_array_get(ids, 3)), 20),
	    TT_ERR_DOES_NOT_EXIST);

	assert_int_equal(ops->refval_valid(f->st, "default", 50, &v), 0);
	assert_int_equal(json_array_size(json_object_get(v, "a")), 2);
	assert_null(json_object_get(v, "b"));      /* other group */
	assert_null(json_object_get(v, "c"));      /* revoked */
	json_decref(v);

	assert_int_equal(ops->refval_valid(f->st, "web", 200, &v), 0);
	assert_int_equal(json_array_size(json_object_get(v, "a")), 1);  /* one expired */
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "b"), 0)), "3");
	json_decref(v);
	json_decref(ids);
	json_decref(in);
}

static void
test_sessions(void **state)
{
	struct fx *f = *state;
	struct tt_as_session s = { .id = "sid", .tee = "sample", .nonce = "nn",
		.expires_at = tt_as_now() + 100 };
	struct tt_as_session g = { 0 };
	json_t *jwk = json_pack("{s:s}", "kty", "RSA");

	assert_int_equal(ops->session_put(f->st, &s), 0);
	assert_int_equal(ops->session_get(f->st, "sid", tt_as_now(), &g), 0);
	assert_false(g.attested);
	assert_string_equal(g.nonce, "nn");
	tt_as_session_clear(&g);
	assert_int_equal(ops->session_attest(f->st, "sid", "wrong", true, jwk, NULL), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(ops->session_attest(f->st, "sid", "nn", true, jwk, NULL), 0);
	assert_int_equal(ops->session_attest(f->st, "sid", "nn", true, jwk, NULL), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(ops->session_get(f->st, "sid", tt_as_now(), &g), 0);
	assert_true(g.attested);
	assert_null(g.nonce);
	assert_true(json_equal(g.tee_pubkey, jwk));
	tt_as_session_clear(&g);
	assert_int_equal(ops->session_get(f->st, "sid", tt_as_now() + 1000, &g), TT_ERR_TIMEOUT);
	json_decref(jwk);
}

static void
test_resource_path(void **state)
{
	char *p = NULL;

	(void)state;
	assert_int_equal(tt_as_resource_path("repo/key/tag", &p), 0);
	assert_string_equal(p, "repo/key/tag");
	free(p);
	assert_int_equal(tt_as_resource_path("/key/tag", &p), 0);
	assert_string_equal(p, "default/key/tag");
	free(p);
	assert_int_equal(tt_as_resource_path("a/../b", &p), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_as_resource_path("a/b", &p), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_as_resource_path("a/b/c/d", &p), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_as_resource_path("a/b/", &p), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_as_resource_path("a/b c/d", &p), TT_ERR_INVALID_ARGUMENT);
}

static void
test_b64(void **state)
{
	uint8_t *o = NULL;
	size_t n = 0;
	char *s = NULL;

	(void)state;
	assert_int_equal(tt_as_b64_dec("+/8=", &o, &n), 0);   /* standard, padded */
	assert_int_equal(n, 2);
	assert_int_equal(o[0], 0xfb);
	assert_int_equal(o[1], 0xff);
	free(o);
	assert_int_equal(tt_as_b64_dec("-_8", &o, &n), 0);    /* url, unpadded */
	assert_int_equal(n, 2);
	free(o);
	assert_int_equal(tt_as_b64_dec("**", &o, &n), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_as_b64url_enc((const uint8_t *)"\xfb\xff", 2, &s), 0);
	assert_string_equal(s, "-_8");
	free(s);
}

static void
test_ak_name(void **state)
{
	/* TPM2B_PUBLIC header of an ECC AK: type ECC, nameAlg SHA-256, attributes
	 * fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign. */
	uint8_t pub[] = { 0x00, 0x08, 0x00, 0x23, 0x00, 0x0b, 0x00, 0x05, 0x00, 0x72, 0, 0 };
	uint8_t name[80];
	size_t nl = 0;

	(void)state;
	assert_int_equal(tt_as_ak_name(pub, 10, name, &nl), 0);
	assert_int_equal(nl, 34);
	assert_int_equal(name[0], 0x00);
	assert_int_equal(name[1], 0x0b);
	pub[7] = 0x07;  /* + decrypt */
	assert_int_equal(tt_as_ak_name(pub, 10, name, &nl), TT_ERR_NOT_PERMITTED);
	pub[7] = 0x05;
	pub[1] = 0x09;  /* size does not match */
	assert_int_equal(tt_as_ak_name(pub, 10, name, &nl), TT_ERR_INVALID_ARGUMENT);
}

/* The audit ring: records come back whole until newer ones overwrite them, oldest
 * first, across wrap-arounds; one larger than the budget is kept nowhere. */
static void
test_results_ring(void **state)
{
	struct tt_as_results *t = NULL;
	char id[16], body[700], *text = NULL;
	size_t len = 0, n = 700;
	const char *parts[2];
	size_t lens[2];

	(void)state;
	assert_int_equal(tt_as_results_new(4096, &t), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		memset(body, 'a' + i % 26, sizeof(body));
		parts[0] = "{";
		parts[1] = body;
		lens[0] = 1;
		lens[1] = n - 1 - (size_t)(i % 7) * 50;   /* sizes vary: wraps land anywhere */
		assert_int_equal(tt_as_results_put(t, id, parts, lens, 2), 0);
		/* the newest is always there, whole */
		assert_int_equal(tt_as_results_get(t, id, &text, &len), 0);
		assert_int_equal(len, lens[0] + lens[1]);
		assert_int_equal(text[0], '{');
		assert_int_equal(text[len - 1], 'a' + i % 26);
		assert_int_equal(text[len], '\0');
		free(text);
		/* eight records ago is gone: more than 4 KiB have been written since */
		if (i >= 8) {
			snprintf(id, sizeof(id), "r%d", i - 8);
			assert_int_equal(tt_as_results_get(t, id, &text, &len), TT_ERR_DOES_NOT_EXIST);
		}
	}
	/* the previous record survives the latest one (4 KiB hold several) */
	assert_int_equal(tt_as_results_get(t, "r38", &text, &len), 0);
	for (size_t i = 1; i < len; i++)
		assert_int_equal(text[i], 'a' + 38 % 26);
	free(text);
	/* too big for the whole budget: not kept, not an error; bad ids refused */
	lens[1] = 5000;
	assert_int_equal(tt_as_results_put(t, "big", parts, lens, 2), 0);
	assert_int_equal(tt_as_results_get(t, "big", &text, &len), TT_ERR_DOES_NOT_EXIST);
	lens[1] = 10;
	assert_int_equal(tt_as_results_put(t, "", parts, lens, 2), TT_ERR_INVALID_ARGUMENT);
	tt_as_results_free(t);
	/* no budget: nothing kept */
	assert_int_equal(tt_as_results_new(0, &t), 0);
	assert_int_equal(tt_as_results_put(t, "x", parts, lens, 2), 0);
	assert_int_equal(tt_as_results_get(t, "x", &text, &len), TT_ERR_DOES_NOT_EXIST);
	tt_as_results_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nonce_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonce_expiry, setup, teardown),
		cmocka_unit_test(test_nonce_bounded),
		cmocka_unit_test(test_results_ring),
		cmocka_unit_test(test_cache),
		cmocka_unit_test_setup_teardown(test_refvals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test(test_resource_path),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_ak_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
