/*
 * Arm CCA (Veraison's tokens 01 and 02, Trustee's example token) and Huawei virtCCA
 * (secGear's token with its AIK certificate): verdicts with the shipped and with replaced
 * anchors, claims (expected values read from the token bytes by hand, not through the
 * parser), the chain, and the tamper matrix: every byte of each token and of the AIK
 * certificate flipped, wrong binding, wrong anchors, wrong time, wrong tags and keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cca.h"
#include "memo.h"
#include "slurp.h"
#include "turtle/error.h"
#include "util/hex.h"
#include "verify.h"

#ifndef TT_VERIFY_DATA
#error "TT_VERIFY_DATA must name the test data directory"
#endif

#define NOW 1748736000         /* 2025-06-01 */
#define BEFORE_AIK 1704067200  /* 2024-01-01: before the AIK certificate */

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	size_t got;

	assert_int_equal(tt_hex_decode(h, strlen(h), out, n, &got), 0);
	assert_int_equal(got, n);
}

static int
run(const char *tee, const uint8_t *ev, size_t n, const uint8_t *bind, size_t bl,
    const char *anchors, const uint8_t *coll, size_t cl, int64_t now, json_t **claims,
    json_t **chain)
{
	struct tt_verify_trust t = { .anchors_dir = anchors, .collateral = coll,
		.collateral_len = cl };
	struct tt_verify_in in = { .evidence = ev, .evidence_len = n, .binding = bind,
		.binding_len = bl, .now = now, .trust = &t };
	struct tt_verify_result res;
	int r = tt_verify(tt_verifier_find(tee), &in, &res);

	if (getenv("TT_VERIFY_VERBOSE") != NULL) {
		char *j = json_dumps(res.reasons, 0);

		fprintf(stderr, "%s %d %s\n", tee, r, j);
		free(j);
	}
	if (r != 0)
		assert_true(json_array_size(res.reasons) > 0);
	else
		assert_non_null(res.claims);
	if (claims != NULL && r == 0)
		*claims = json_incref(res.claims);
	if (chain != NULL)
		*chain = json_incref(res.chain);
	tt_verify_result_clear(&res);
	return r;
}

static const char *
jget(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static char tmpdir[64];

/* An anchors directory holding only arm/cca-ta.json copied from a data file. */
static const char *
anchors_with(const char *file)
{
	char path[600];
	uint8_t *d;
	size_t n;
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tt_cca_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/arm", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/arm/cca-ta.json", tmpdir);
	d = tt_test_slurp(TT_VERIFY_DATA, file, &n);
	assert_non_null(f = fopen(path, "we"));
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
	free(d);
	return tmpdir;
}

static void
anchors_done(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/arm/cca-ta.json", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/arm", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
}

static void
test_cca_token01(void **state)
{
	uint8_t ch[64], *tok, *t;
	size_t n;
	json_t *c = NULL, *chain = NULL;
	char rimb64[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

	(void)state;
	memset(ch, 0xab, sizeof(ch));
	tok = tt_test_slurp(TT_VERIFY_DATA, "cca-token-01.cbor", &n);
	assert_int_equal(run("cca", tok, n, ch, 64, NULL, NULL, 0, NOW, &c, &chain), 0);
	assert_string_equal(jget(c, "realm", "cca-realm-initial-measurement"), rimb64);
	/* "The quick brown fox jumps over 13 lazy dogs.The quick brown fox " */
	assert_string_equal(jget(c, "realm", "cca-realm-personalization-value"),
	    "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIDEzIGxhenkgZG9ncy5UaGUgcXVpY2sgYnJvd24gZm94IA==");
	assert_string_equal(jget(c, "realm", "cca-realm-hash-algo-id"), "sha-256");
	assert_string_equal(jget(c, "realm", "cca-realm-public-key-hash-algo-id"), "sha-256");
	assert_int_equal(json_array_size(json_object_get(json_object_get(c, "realm"),
	    "cca-realm-extensible-measurements")), 4);
	assert_string_equal(jget(c, "platform", "cca-platform-instance-id"),
	    "AQcGBQQDAgEADw4NDAsKCQgXFhUUExIREB8eHRwbGhkY");
	assert_string_equal(jget(c, "platform", "cca-platform-implementation-id"),
	    "f0VMRgIBAQAAAAAAAAAAAAMAPgABAAAAUFgAAAAAAAA=");
	assert_string_equal(jget(c, "platform", "cca-platform-profile"),
	    "http://arm.com/CCA-SSD/1.0.0");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "platform"),
	    "cca-platform-lifecycle")), 0x3003);
	assert_int_equal(json_array_size(json_object_get(json_object_get(c, "platform"),
	    "cca-platform-sw-components")), 4);
	assert_string_equal(jget(c, "report_data", NULL),
	    "abababababababababababababababababababababababababababababababab"
	    "abababababababababababababababababababababababababababababababab");
	/* anchor, platform token, RAK, realm token, binding, init data */
	assert_int_equal(json_array_size(chain), 6);
	assert_string_equal(jget(json_array_get(chain, 0), "link", NULL), "anchor");
	assert_string_equal(jget(json_array_get(chain, 2), "name", NULL), "realm attestation key");
	json_decref(c);
	json_decref(chain);

	/* A prefix binding needs a zero tail: this challenge is 0xab throughout. */
	assert_int_equal(run("cca", tok, n, ch, 32, NULL, NULL, 0, NOW, NULL, NULL),
	    TT_ERR_NOT_AUTHENTICATED);
	ch[5] ^= 1;
	assert_int_equal(run("cca", tok, n, ch, 64, NULL, NULL, 0, NOW, NULL, NULL),
	    TT_ERR_NOT_AUTHENTICATED);
	ch[5] ^= 1;

	/* Every byte flipped. */
	assert_non_null(t = malloc(n));
	for (size_t i = 0; i < n; i++) {
		memcpy(t, tok, n);
		t[i] ^= 0x01;
		if (run("cca", t, n, ch, 64, NULL, NULL, 0, NOW, NULL, NULL) == 0)
			fail_msg("token-01 byte %zu flipped still verifies", i);
	}
	free(t);

	/* A bare CPAK (the cpak.json form) as the anchor; ta.json names another instance. */
	assert_int_equal(run("cca", tok, n, ch, 64, anchors_with("cpak.json"), NULL, 0, NOW,
	    NULL, NULL), 0);
	anchors_done();
	assert_int_equal(run("cca", tok, n, ch, 64, anchors_with("ta.json"), NULL, 0, NOW,
	    NULL, NULL), TT_ERR_DOES_NOT_EXIST);
	anchors_done();
	/* token-02's (P-256) key as a bare anchor for token-01's ES384 signature. */
	assert_int_equal(run("cca", tok, n, ch, 64, anchors_with("cca-example-cpak-pub.json"),
	    NULL, 0, NOW, NULL, NULL), 0);
	anchors_done();
	free(tok);
}

static void
test_cca_token02_and_example(void **state)
{
	uint8_t ch[64], *tok;
	size_t n;
	json_t *c = NULL;

	(void)state;
	/* "ABAB..." (0x41 0x42 repeated) */
	for (int i = 0; i < 64; i++)
		ch[i] = i % 2 == 0 ? 0x41 : 0x42;
	tok = tt_test_slurp(TT_VERIFY_DATA, "cca-token-02.cbor", &n);
	assert_int_equal(run("cca", tok, n, ch, 64, NULL, NULL, 0, NOW, &c, NULL), 0);
	/* RIM 64 x 0x43 */
	assert_string_equal(jget(c, "realm", "cca-realm-initial-measurement"),
	    "Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQw==");
	json_decref(c);
	/* Veraison's "bad" anchor for the same instance: its x and y are not even a point
	 * of P-256, so the anchor itself is refused. */
	assert_int_equal(run("cca", tok, n, ch, 64, anchors_with("ta-02-bad.json"), NULL, 0,
	    NOW, NULL, NULL), TT_ERR_DATA_INVALID);
	anchors_done();
	/* token-01's CPAK bound to token-02's instance: the signature fails. */
	assert_int_equal(run("cca", tok, n, ch, 64, anchors_with("cpak.json"), NULL, 0,
	    NOW, NULL, NULL), TT_ERR_INVALID_SIGNATURE);
	anchors_done();
	assert_int_equal(run("cca", tok, n, ch, 64, anchors_with("ta-02-ok.json"), NULL, 0,
	    NOW, NULL, NULL), 0);
	anchors_done();
	free(tok);

	unhex("57e979ae2618de0c1ab73144c440d741cf9236dc9d52ed190053382a4d190252"
	    "f9f0370403c35dcb155fb4362d73c66d5b0494bf939315d3dc52b8cdc8b85a96", ch, 64);
	tok = tt_test_slurp(TT_VERIFY_DATA, "cca-example-token.cbor", &n);
	assert_int_equal(run("cca", tok, n, ch, 64, NULL, NULL, 0, NOW, NULL, NULL), 0);
	assert_int_equal(run("cca", tok, n, ch, 64,
	    anchors_with("cca-example-cpak-pub.json"), NULL, 0, NOW, NULL, NULL), 0);
	anchors_done();
	free(tok);
}

static void
test_cca_claim_sets(void **state)
{
	struct tt_cca_realm r;
	cbor_item_t *m = NULL;
	uint8_t *d, ch[64], inst[33];
	size_t n, chn;
	json_t *p = NULL;

	(void)state;
	d = tt_test_slurp(TT_VERIFY_DATA, "realm-claims.cbor", &n);
	assert_int_equal(tt_cbor_decode(d, n, &m), 0);
	assert_int_equal(tt_cca_realm_claims(m, &r), 0);
	assert_int_equal(r.challenge[0], 0xab);
	cbor_decref(&m);
	free(d);
	d = tt_test_slurp(TT_VERIFY_DATA, "realm-claims-missing-challenge.cbor", &n);
	assert_int_equal(tt_cbor_decode(d, n, &m), 0);
	assert_int_equal(tt_cca_realm_claims(m, &r), TT_ERR_DATA_INVALID);
	cbor_decref(&m);
	free(d);
	d = tt_test_slurp(TT_VERIFY_DATA, "platform-claims.cbor", &n);
	assert_int_equal(tt_cbor_decode(d, n, &m), 0);
	assert_int_equal(tt_cca_platform_claims(m, &p, ch, &chn, inst), 0);
	assert_int_equal(inst[0], 0x01);
	json_decref(p);
	cbor_decref(&m);
	free(d);
	/* Indefinite lengths, deep nesting and lying counts are refused before libcbor. */
	assert_int_equal(tt_cbor_check((const uint8_t *)"\x9f\x01\xff", 3), TT_ERR_DATA_INVALID);
	assert_int_equal(tt_cbor_check((const uint8_t *)"\x81\x81\x81\x81\x81\x81\x81\x81\x81\x01",
	    10), TT_ERR_LIMIT);
	assert_int_equal(tt_cbor_check((const uint8_t *)"\x9a\xff\xff\xff\xff\x01", 6),
	    TT_ERR_TRUNCATED);
	assert_int_equal(tt_cbor_check((const uint8_t *)"\x01\x01", 2), TT_ERR_TRAILING);
}

/* virtCCA: secGear's token (hex text in the file) with its AIK certificate. */
static uint8_t *
virtcca_token(size_t *n)
{
	size_t hl;
	uint8_t *h = tt_test_slurp(TT_VERIFY_DATA, "virtcca.cbor", &hl), *b = malloc(hl / 2);

	assert_int_equal(tt_hex_decode((const char *)h, hl, b, hl / 2, n), 0);
	free(h);
	return b;
}

static void
test_virtcca(void **state)
{
	static const uint8_t prefix[8] = { 0x78, 0x3c, 0x7f, 0x3e, 0x50, 0xbf, 0xff, 0xff };
	uint8_t *tok, *aik, *t, *other;
	size_t n, an, on;
	json_t *c = NULL, *chain = NULL;

	(void)state;
	tok = virtcca_token(&n);
	assert_int_equal(n, 1431);
	aik = tt_test_slurp(TT_VERIFY_DATA, "virtcca_aik_cert.der", &an);
	assert_int_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, NOW, &c, &chain), 0);
	assert_string_equal(jget(c, "vcca.cvm.rim", NULL),
	    "7309ec52e2870938ffa6930793d61e55ab982a756111410829d6073f66c71708");
	for (int i = 0; i < 4; i++) {
		char k[32];

		snprintf(k, sizeof(k), "vcca.cvm.rem.%d", i);
		assert_string_equal(jget(c, k, NULL),
		    "0000000000000000000000000000000000000000000000000000000000000000");
	}
	assert_true(json_is_false(json_object_get(c, "vcca.is_platform")));
	assert_string_equal(jget(c, "tee", NULL), "virtcca");
	assert_int_equal(strncmp(jget(c, "vcca.cvm.challenge", NULL), "783c7f3e50bfffff", 16), 0);
	assert_string_equal(jget(c, "vcca.cvm.rpv", NULL),
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000000000");
	/* The missing platform token is a recorded, unchecked link. */
	{
		bool seen = false;
		size_t i;
		json_t *l;

		json_array_foreach(chain, i, l)
			if (strcmp(jget(l, "name", NULL), "platform token") == 0) {
				assert_string_equal(jget(l, "verdict", NULL), "not checked");
				seen = true;
			}
		assert_true(seen);
	}
	json_decref(c);
	json_decref(chain);

	/* Wrong challenge; before the AIK was issued; no AIK; an AIK from another chain. */
	{
		uint8_t bad[8];

		memcpy(bad, prefix, 8);
		bad[7] ^= 1;
		assert_int_equal(run("virtcca", tok, n, bad, 8, NULL, aik, an, NOW, NULL, NULL),
		    TT_ERR_NOT_AUTHENTICATED);
	}
	assert_int_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, BEFORE_AIK, NULL,
	    NULL), TT_ERR_NOT_PERMITTED);
	assert_int_not_equal(run("virtcca", tok, n, prefix, 8, NULL, NULL, 0, NOW, NULL, NULL), 0);
	other = tt_test_slurp(TT_VERIFY_DATA, "test-vcek.der", &on);
	assert_int_not_equal(run("virtcca", tok, n, prefix, 8, NULL, other, on, NOW, NULL, NULL),
	    0);
	free(other);

	/* Every byte of the token, every byte of the AIK certificate. */
	assert_non_null(t = malloc(n > an ? n : an));
	for (size_t i = 0; i < n; i++) {
		memcpy(t, tok, n);
		t[i] ^= 0x01;
		if (run("virtcca", t, n, prefix, 8, NULL, aik, an, NOW, NULL, NULL) == 0)
			fail_msg("virtcca token byte %zu flipped still verifies", i);
	}
	for (size_t i = 0; i < an; i++) {
		memcpy(t, aik, an);
		t[i] ^= 0x01;
		if (run("virtcca", tok, n, prefix, 8, NULL, t, an, NOW, NULL, NULL) == 0)
			fail_msg("AIK byte %zu flipped still verifies", i);
	}
	/* Wrong outer tag (400), the CVM token under another key (44242). */
	memcpy(t, tok, n);
	assert_int_equal(t[0], 0xd9);
	t[2] = 0x90;
	assert_int_not_equal(run("virtcca", t, n, prefix, 8, NULL, aik, an, NOW, NULL, NULL), 0);
	memcpy(t, tok, n);
	assert_true(t[4] == 0x19 && t[5] == 0xac && t[6] == 0xd1);
	t[6] = 0xd2;
	assert_int_not_equal(run("virtcca", t, n, prefix, 8, NULL, aik, an, NOW, NULL, NULL), 0);
	free(t);
	free(tok);
	free(aik);
}

/* The AIK's chain and the CVM key come from the memo the second time; nothing else does:
 * the window, the anchors and every signature over the token are still judged afresh. */
static const char *
aik_detail(json_t *chain)
{
	size_t i;
	json_t *l;

	json_array_foreach(chain, i, l)
		if (strcmp(jget(l, "name", NULL), "AIK") == 0)
			return jget(l, "detail", NULL);
	fail_msg("no AIK link");
	return NULL;
}

static void
test_virtcca_memo(void **state)
{
	static const uint8_t prefix[8] = { 0x78, 0x3c, 0x7f, 0x3e, 0x50, 0xbf, 0xff, 0xff };
	uint8_t *tok, *aik, *t;
	size_t n, an;
	json_t *c1 = NULL, *c2 = NULL, *ch1 = NULL, *ch2 = NULL;
	char empty[] = "/tmp/tt_vmemo_XXXXXX";

	(void)state;
	tt_verify_memo_flush();
	tok = virtcca_token(&n);
	aik = tt_test_slurp(TT_VERIFY_DATA, "virtcca_aik_cert.der", &an);
	assert_int_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, NOW, &c1, &ch1), 0);
	assert_null(strstr(aik_detail(ch1), "verified before"));
	assert_int_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, NOW, &c2, &ch2), 0);
	assert_non_null(strstr(aik_detail(ch2), "verified before"));
	assert_true(json_equal(c1, c2));
	assert_int_equal(json_array_size(ch1), json_array_size(ch2));
	/* outside the window, with other anchors, with a damaged token: refused */
	assert_int_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, BEFORE_AIK, NULL,
	    NULL), TT_ERR_NOT_PERMITTED);
	assert_non_null(mkdtemp(empty));
	assert_int_not_equal(run("virtcca", tok, n, prefix, 8, empty, aik, an, NOW, NULL, NULL),
	    0);
	rmdir(empty);
	assert_non_null(t = malloc(n));
	memcpy(t, tok, n);
	t[n - 1] ^= 0x01;   /* the CVM token's signature ends the token */
	assert_int_equal(run("virtcca", t, n, prefix, 8, NULL, aik, an, NOW, NULL, NULL),
	    TT_ERR_INVALID_SIGNATURE);
	free(t);
	json_decref(c1);
	json_decref(c2);
	json_decref(ch1);
	json_decref(ch2);
	free(tok);
	free(aik);
}

/* The last second of the memo's window is one a fresh verification refuses: OpenSSL
 * treats a certificate as expired at its notAfter, so a remembered chain must too. */
static void
test_virtcca_memo_window_end(void **state)
{
	static const uint8_t prefix[8] = { 0x78, 0x3c, 0x7f, 0x3e, 0x50, 0xbf, 0xff, 0xff };
	uint8_t *tok, *aik;
	const unsigned char *q;
	size_t n, an;
	struct tm tm;
	int64_t to;
	X509 *x;

	(void)state;
	tok = virtcca_token(&n);
	aik = tt_test_slurp(TT_VERIFY_DATA, "virtcca_aik_cert.der", &an);
	q = aik;
	assert_non_null(x = d2i_X509(NULL, &q, (long)an));
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	to = (int64_t)timegm(&tm);
	X509_free(x);
	/* afresh, at the AIK's notAfter: expired */
	tt_verify_memo_flush();
	assert_int_not_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, to, NULL, NULL),
	    0);
	assert_int_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, to - 1, NULL, NULL),
	    0);
	/* remembered (the chain verified a second earlier): expired all the same */
	assert_int_not_equal(run("virtcca", tok, n, prefix, 8, NULL, aik, an, to, NULL, NULL),
	    0);
	tt_verify_memo_flush();
	free(tok);
	free(aik);
}

/* virtCCA with a platform token: the synthetic device in data/virtcca-syn (gen.py), a
 * test root and sub CA given as the anchors directory. */
#define VSYN TT_VERIFY_DATA "/virtcca-syn"

static json_t *
chain_link(json_t *chain, const char *name)
{
	size_t i;
	json_t *l;

	json_array_foreach(chain, i, l)
		if (strcmp(jget(l, "name", NULL), name) == 0)
			return l;
	fail_msg("no link %s", name);
	return NULL;
}

static void
test_virtcca_platform(void **state)
{
	static const char ch[] = "turtle virtcca challenge";
	static const char *const sw[] = { "bl1", "bl2", "bl31", "rmm", "hw config",
		"soc fw config" };
	struct tt_cca_collection col = { 0 };
	uint8_t *tok, *aik, *t, md[32];
	size_t n, an, off, plen;
	json_t *c = NULL, *chain = NULL, *mv;
	char hex[65];

	(void)state;
	tok = tt_test_slurp(VSYN, "token-secured.cbor", &n);
	aik = tt_test_slurp(VSYN, "aik.der", &an);
	assert_int_equal(run("virtcca", tok, n, (const uint8_t *)ch, strlen(ch), VSYN "/anchors",
	    aik, an, NOW, &c, &chain), 0);
	assert_true(json_is_true(json_object_get(c, "vcca.is_platform")));
	assert_int_equal(json_integer_value(json_object_get(c, "vcca.platform.lifecycle")),
	    0x3003);
	assert_string_equal(jget(c, "vcca.platform.lifecycle_state", NULL), "secured");
	assert_string_equal(jget(c, "vcca.platform.implementation_id", NULL),
	    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	assert_string_equal(jget(c, "vcca.platform.config", NULL), "01020304");
	assert_string_equal(jget(c, "vcca.platform.instance_id", NULL),
	    "01404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f");
	/* Each software component's measurement, computed here from its name. */
	mv = json_object_get(c, "vcca.platform.measure_value");
	assert_int_equal(json_array_size(mv), 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(EVP_Digest(sw[i], strlen(sw[i]), md, NULL, EVP_sha256(), NULL), 1);
		tt_hex_encode(md, 32, hex);
		assert_string_equal(jget(json_array_get(mv, i), "measurement", NULL), hex);
	}
	assert_string_equal(jget(json_array_get(mv, 3), "firware_name", NULL), "RMM");
	assert_string_equal(jget(chain_link(chain, "platform token"), "verdict", NULL),
	    "verified");
	assert_string_equal(jget(chain_link(chain, "CVM key"), "verdict", NULL), "verified");
	assert_string_equal(jget(chain_link(chain, "platform lifecycle"), "verdict", NULL),
	    "verified");
	json_decref(c);
	json_decref(chain);
	c = chain = NULL;

	/* The same device in a debug state: signed all the same, so it verifies; the claim
	 * and the chain say what it is (turtle-as makes it contraindicated). */
	t = tt_test_slurp(VSYN, "token-debug.cbor", &plen);
	assert_int_equal(run("virtcca", t, plen, (const uint8_t *)ch, strlen(ch),
	    VSYN "/anchors", aik, an, NOW, &c, &chain), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "vcca.platform.lifecycle")),
	    0x5000);
	assert_string_equal(jget(c, "vcca.platform.lifecycle_state", NULL),
	    "recoverable-rot-debug");
	assert_string_equal(jget(chain_link(chain, "platform lifecycle"), "verdict", NULL),
	    "not checked");
	json_decref(c);
	json_decref(chain);
	c = chain = NULL;
	free(t);

	/* The platform vouches for another key; the shipped (Huawei) anchors; a wrong
	 * challenge; the AIK missing. */
	t = tt_test_slurp(VSYN, "token-bad-challenge.cbor", &plen);
	assert_int_equal(run("virtcca", t, plen, (const uint8_t *)ch, strlen(ch),
	    VSYN "/anchors", aik, an, NOW, NULL, NULL), TT_ERR_INVALID_SIGNATURE);
	free(t);
	assert_int_not_equal(run("virtcca", tok, n, (const uint8_t *)ch, strlen(ch), NULL,
	    aik, an, NOW, NULL, NULL), 0);
	assert_int_equal(run("virtcca", tok, n, (const uint8_t *)"turtle virtcca challengE",
	    strlen(ch), VSYN "/anchors", aik, an, NOW, NULL, NULL), TT_ERR_NOT_AUTHENTICATED);
	assert_int_not_equal(run("virtcca", tok, n, (const uint8_t *)ch, strlen(ch),
	    VSYN "/anchors", NULL, 0, NOW, NULL, NULL), 0);

	/* The CVM token alone verifies, marked as not bound to the device. */
	t = tt_test_slurp(VSYN, "token-no-platform.cbor", &plen);
	assert_int_equal(run("virtcca", t, plen, (const uint8_t *)ch, strlen(ch),
	    VSYN "/anchors", aik, an, NOW, &c, NULL), 0);
	assert_true(json_is_false(json_object_get(c, "vcca.is_platform")));
	assert_null(json_object_get(c, "vcca.platform.lifecycle"));
	json_decref(c);
	free(t);

	/* Every byte of the platform token (protected header, claims, signature) flipped. */
	assert_int_equal(tt_cca_collection_parse(tok, n, &col), 0);
	assert_non_null(col.platform);
	/* The collection's views point into libcbor's copy: find the bytes in the token. */
	plen = col.platform_len;
	t = memmem(tok, n, col.platform, plen);
	assert_non_null(t);
	off = (size_t)(t - tok);
	tt_cca_collection_clear(&col);
	assert_true(plen > 300 && off + plen <= n);
	assert_non_null(t = malloc(n));
	for (size_t i = off; i < off + plen; i++) {
		memcpy(t, tok, n);
		t[i] ^= 0x01;
		if (run("virtcca", t, n, (const uint8_t *)ch, strlen(ch), VSYN "/anchors", aik,
		    an, NOW, NULL, NULL) == 0)
			fail_msg("platform token byte %zu flipped still verifies", i - off);
	}
	free(t);
	free(tok);
	free(aik);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cca_token01),
		cmocka_unit_test(test_cca_token02_and_example),
		cmocka_unit_test(test_cca_claim_sets),
		cmocka_unit_test(test_virtcca),
		cmocka_unit_test(test_virtcca_memo),
		cmocka_unit_test(test_virtcca_memo_window_end),
		cmocka_unit_test(test_virtcca_platform),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
