/*
 * tt_json_parse / tt_json_write against jansson: the same verdict and an equal value for
 * every input here, the same bytes out, plus the depth bound jansson does not have.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "turtle/error.h"

/* Parse with both; they must agree on accept/reject and on the value. */
static void
agree(const char *text, size_t len, int expect_ok)
{
	json_error_t je;
	json_t *ours = NULL, *theirs = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	int r = tt_json_parse(text, len, 4096, &ours, NULL);

	if ((r == 0) != (theirs != NULL))
		fail_msg("disagree on %.*s: ours %d, jansson %s", (int)len, text, r,
		    theirs != NULL ? "ok" : je.text);
	if (expect_ok >= 0 && (r == 0) != expect_ok)
		fail_msg("%.*s: expected %s", (int)len, text, expect_ok ? "accept" : "reject");
	if (r == 0) {
		char *a = NULL, *b = json_dumps(theirs, JSON_COMPACT);

		assert_true(json_equal(ours, theirs));
		/* the writer reproduces jansson's bytes for both trees */
		assert_int_equal(tt_json_write(ours, &a, NULL), 0);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	json_decref(ours);
	json_decref(theirs);
}

#define AGREE(s, ok) agree((s), sizeof(s) - 1, (ok))

static void
test_accepts(void **state)
{
	(void)state;
	AGREE("{}", 1);
	AGREE("[]", 1);
	AGREE(" \t\r\n{ \"a\" : [ 1 , -2 , 3.5 , -0 , 0.0 , 1e3 , 1E-2 , 2e+2 ] } \n", 1);
	AGREE("{\"s\":\"plain\",\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", 1);
	AGREE("[\"\\u00e9\\u20AC\\ud83d\\ude00\"]", 1);
	AGREE("[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]", 1);
	AGREE("[true,false,null,{\"\":{}}]", 1);
	AGREE("[9223372036854775807,-9223372036854775808]", 1);
	AGREE("[1e-400]", 1);
	AGREE("[\"\x7f\"]", 1);
	AGREE("{\"k\":\"v\",\"K\":\"w\"}", 1);
}

static void
test_rejects(void **state)
{
	(void)state;
	AGREE("", 0);
	AGREE("1", 0);            /* scalars at the top: jansson's default too */
	AGREE("\"s\"", 0);
	AGREE("{", 0);
	AGREE("[1,]", 0);
	AGREE("[,1]", 0);
	AGREE("{\"a\":1,}", 0);
	AGREE("{\"a\" 1}", 0);
	AGREE("{a:1}", 0);
	AGREE("{\"a\":1,\"a\":2}", 0);
	AGREE("[01]", 0);
	AGREE("[1.]", 0);
	AGREE("[.5]", 0);
	AGREE("[1e]", 0);
	AGREE("[-]", 0);
	AGREE("[+1]", 0);
	AGREE("[9223372036854775808]", 0);
	AGREE("[1e400]", 0);
	AGREE("[tru]", 0);
	AGREE("[nul]", 0);
	AGREE("[1 2]", 0);
	AGREE("[\"a\tb\"]", 0);           /* raw control character */
	AGREE("[\"\\x\"]", 0);
	AGREE("[\"\\u12\"]", 0);
	AGREE("[\"\\u0000\"]", 0);
	AGREE("[\"\\ud800\"]", 0);        /* lone high surrogate */
	AGREE("[\"\\udc00\"]", 0);        /* lone low surrogate */
	AGREE("[\"\\ud800\\u0041\"]", 0);
	AGREE("[\"\xc0\xaf\"]", 0);        /* overlong */
	AGREE("[\"\xed\xa0\x80\"]", 0);    /* surrogate in UTF-8 */
	AGREE("[\"\xf4\x90\x80\x80\"]", 0);/* above U+10FFFF */
	AGREE("[\"\xe2\x82\"]", 0);        /* truncated */
	AGREE("[\"abc", 0);
	AGREE("{} x", 0);
	AGREE("{}{}", 0);
	AGREE("[\xef\xbb\xbf]", 0);
	agree("[\"a\0b\"]", 7, 0);         /* NUL byte in a string */
	agree("[1]\0", 4, 0);
}

static void
test_depth_bound(void **state)
{
	char deep[200];
	json_t *v = NULL;
	struct tt_json_err e = { 0 };

	(void)state;
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(tt_json_parse(deep, 200, 100, &v, NULL), 0);
	json_decref(v);
	v = NULL;
	assert_int_equal(tt_json_parse(deep, 200, 99, &v, &e), TT_ERR_LIMIT);
	assert_null(v);
	assert_int_equal(e.offset, 99);
	assert_string_equal(e.what, "nesting too deep");
}

static void
test_error_offset(void **state)
{
	struct tt_json_err e = { 0 };
	json_t *v = NULL;

	(void)state;
	assert_int_equal(tt_json_parse("{\"a\":[1,2,x]}", 13, 8, &v, &e), TT_ERR_PARSE);
	assert_int_equal(e.offset, 10);
}

/* The writer on values built in code: control characters, NULs made by json_stringn,
 * insertion order, nesting, reals. */
static void
test_writer(void **state)
{
	json_t *o = json_object(), *a = json_array();
	char *ours = NULL, *theirs;
	char ctl[33];

	(void)state;
	for (int i = 0; i < 32; i++)
		ctl[i] = (char)(i + 1 == 32 ? 0x7f : i + 1);
	ctl[32] = '\0';
	json_object_set_new(o, "z", json_string(ctl));
	json_object_set_new(o, "a", json_stringn("x\0y", 3));
	json_object_set_new(o, "m", a);
	json_array_append_new(a, json_real(0.1));
	json_array_append_new(a, json_real(1e300));
	json_array_append_new(a, json_real(-2.0));
	json_array_append_new(a, json_integer(-42));
	json_array_append_new(a, json_pack("{s:[]}", "q\"uote\\"));
	json_object_set_new(o, "\xc3\xa9t\xc3\xa9", json_string("\xf0\x9f\x98\x80/"));
	theirs = json_dumps(o, JSON_COMPACT);
	assert_int_equal(tt_json_write(o, &ours, NULL), 0);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
	json_decref(o);
	/* a string that is not UTF-8 (only _nocheck can make one): both refuse it */
	o = json_pack("[o]", json_stringn_nocheck("a\xff\xfe", 3));
	assert_null(json_dumps(o, JSON_COMPACT));
	ours = NULL;
	assert_int_equal(tt_json_write(o, &ours, NULL), TT_ERR_INVALID_ARGUMENT);
	assert_null(ours);
	json_decref(o);
}

/* Random documents made by jansson, dumped by jansson, read back by us. */
static void
test_random_roundtrip(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 300; round++) {
		json_t *o = json_object();
		char *txt;

		for (int i = 0; i < 20; i++) {
			char k[16], v[40];
			int len = rand() % 39;

			snprintf(k, sizeof(k), "k%d", rand() % 30);
			for (int j = 0; j < len; j++)
				v[j] = (char)(1 + rand() % 126);
			v[len] = '\0';
			switch (rand() % 4) {
			case 0: json_object_set_new(o, k, json_string(v)); break;
			case 1: json_object_set_new(o, k, json_integer(rand() - RAND_MAX / 2)); break;
			case 2: json_object_set_new(o, k, json_pack("[s,b,n]", v, rand() % 2)); break;
			default: json_object_set_new(o, k, json_real((double)rand() / 7.0)); break;
			}
		}
		txt = json_dumps(o, JSON_COMPACT);
		agree(txt, strlen(txt), 1);
		free(txt);
		json_decref(o);
	}
}

/* RFC 8785: UTF-16 member order (U+1F600, a surrogate pair, sorts before U+E000),
 * lower-case control escapes, integers; unsupported reals and over-limit output refused. */
static void
test_canonical(void **state)
{
	json_t *v = json_pack("{s:i,s:s,s:{s:s},s:s,s:s,s:[b,n,f]}", "b", 1, "a", "t\x01\n\"",
	    "c", "d", "e", "\xee\x80\x80", "x", "\xf0\x9f\x98\x80", "y", "z", 1, 2.0);
	char *out = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(v);
	assert_int_equal(tt_json_canonical(v, 4096, &out, &n), 0);
	assert_string_equal(out, "{\"a\":\"t\\u0001\\n\\\"\",\"b\":1,\"c\":{\"d\":\"e\"},"
	    "\"z\":[true,null,2],\"\xf0\x9f\x98\x80\":\"y\",\"\xee\x80\x80\":\"x\"}");
	assert_int_equal(n, strlen(out));
	free(out);
	out = NULL;
	assert_int_equal(tt_json_canonical(v, 16, &out, &n), TT_ERR_LIMIT);
	assert_null(out);
	json_decref(v);
	v = json_pack("[f]", 0.5);
	assert_int_equal(tt_json_canonical(v, 4096, &out, &n), TT_ERR_NOT_SUPPORTED);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_error_offset),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
