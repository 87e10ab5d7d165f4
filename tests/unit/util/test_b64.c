/* Base64 codec: RFC 4648 vectors, agreement with OpenSSL's encoder, strictness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "turtle/error.h"
#include "util/b64.h"

static void
test_rfc4648_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
		"Zm9vYmFy" };
	static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
		"Zm9vYmFy" };
	char out[16];
	uint8_t bin[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		size_t pl = strlen(plain[i]);

		assert_int_equal(tt_b64_enc_len(pl, TT_B64_STD), strlen(std[i]));
		assert_int_equal(tt_b64_encode((const uint8_t *)plain[i], pl, TT_B64_STD, out),
		    strlen(std[i]));
		assert_string_equal(out, std[i]);
		assert_int_equal(tt_b64_enc_len(pl, TT_B64_URL), strlen(url[i]));
		tt_b64_encode((const uint8_t *)plain[i], pl, TT_B64_URL, out);
		assert_string_equal(out, url[i]);
		assert_int_equal(tt_b64_decode(std[i], strlen(std[i]), TT_B64_STD, bin, sizeof(bin),
		    &n), 0);
		assert_int_equal(n, pl);
		assert_memory_equal(bin, plain[i], pl);
		assert_int_equal(tt_b64_decode(url[i], strlen(url[i]), TT_B64_URL, bin, sizeof(bin),
		    &n), 0);
		assert_int_equal(n, pl);
		assert_memory_equal(bin, plain[i], pl);
		/* ANY takes both forms */
		assert_int_equal(tt_b64_decode(std[i], strlen(std[i]), TT_B64_ANY, bin, sizeof(bin),
		    &n), 0);
		assert_int_equal(tt_b64_decode(url[i], strlen(url[i]), TT_B64_ANY, bin, sizeof(bin),
		    &n), 0);
		assert_int_equal(n, pl);
	}
}

/* Random inputs: our standard encoding equals OpenSSL's, and decodes back. */
static void
test_matches_openssl(void **state)
{
	uint8_t in[300], back[300];
	char ours[410], theirs[410], url[410];
	size_t n;

	(void)state;
	for (size_t len = 0; len < sizeof(in); len++) {
		assert_int_equal(RAND_bytes(in, sizeof(in)), 1);
		tt_b64_encode(in, len, TT_B64_STD, ours);
		EVP_EncodeBlock((unsigned char *)theirs, in, (int)len);
		assert_string_equal(ours, theirs);
		assert_int_equal(tt_b64_decode(ours, strlen(ours), TT_B64_ANY, back, sizeof(back),
		    &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
		tt_b64_encode(in, len, TT_B64_URL, url);
		assert_null(strchr(url, '='));
		assert_int_equal(tt_b64_decode(url, strlen(url), TT_B64_URL, back, sizeof(back),
		    &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
}

static void
test_rejects(void **state)
{
	static const struct { const char *s; unsigned mode; } bad[] = {
		{ "Zm9v!", TT_B64_ANY },      /* not an alphabet character */
		{ "Zm 9v", TT_B64_ANY },      /* whitespace */
		{ "Z", TT_B64_ANY },          /* one character cannot encode a byte */
		{ "Zm9vY", TT_B64_ANY },
		{ "Zg==", TT_B64_URL },       /* padding in JOSE form */
		{ "Zm8=", TT_B64_URL },
		{ "Zg=", TT_B64_ANY },        /* padding that does not complete a quantum */
		{ "Z===", TT_B64_ANY },
		{ "Zg==Zg==", TT_B64_ANY },   /* padding in the middle */
		{ "=Zg=", TT_B64_ANY },
		{ "ab+/", TT_B64_URL },       /* standard alphabet in url mode */
		{ "ab-_", TT_B64_STD },       /* url alphabet in std mode */
		{ "a+b_", TT_B64_ANY },       /* mixed alphabets */
		{ "Zh", TT_B64_ANY },         /* non-zero bits after the last byte */
		{ "Zm9=", TT_B64_ANY },
		{ "Zm8", TT_B64_STD },        /* the standard form needs its padding */
	};
	uint8_t out[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 12345;
		assert_int_equal(tt_b64_decode(bad[i].s, strlen(bad[i].s), bad[i].mode, out,
		    sizeof(out), &n), TT_ERR_PARSE);
		assert_int_equal(n, 12345);
	}
	/* a NUL inside the counted length is not base64 either */
	assert_int_equal(tt_b64_decode("Zm\0v", 4, TT_B64_ANY, out, sizeof(out), &n),
	    TT_ERR_PARSE);
}

static void
test_bounds(void **state)
{
	uint8_t out[3];
	size_t n;

	(void)state;
	assert_int_equal(tt_b64_decode("Zm9vYg", 6, TT_B64_URL, out, sizeof(out), &n),
	    TT_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(tt_b64_decode("Zm9v", 4, TT_B64_URL, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_true(tt_b64_dec_max(8) >= 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_matches_openssl),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
