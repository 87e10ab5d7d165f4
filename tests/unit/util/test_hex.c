/* Hex codec: round trip, either case, and what is refused before anything is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "turtle/error.h"
#include "util/hex.h"

static void
test_roundtrip(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	uint8_t out[8];
	char hex[2 * sizeof(in) + 1];
	size_t n = 0;

	(void)state;
	tt_hex_encode(in, sizeof(in), hex);
	assert_string_equal(hex, "00017f80abff");
	assert_int_equal(tt_hex_decode("00017F80ABff", 12, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(tt_hex_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
}

static void
test_refused(void **state)
{
	uint8_t out[2] = { 0x55, 0x55 };
	size_t n = 77;

	(void)state;
	assert_int_equal(tt_hex_decode("abc", 3, out, sizeof(out), &n), TT_ERR_PARSE);
	assert_int_equal(tt_hex_decode("ag", 2, out, sizeof(out), &n), TT_ERR_PARSE);
	assert_int_equal(tt_hex_decode("0 ", 2, out, sizeof(out), &n), TT_ERR_PARSE);
	assert_int_equal(tt_hex_decode("000000", 6, out, sizeof(out), &n), TT_ERR_LIMIT);
	/* nothing written, nothing reported */
	assert_int_equal(out[0], 0x55);
	assert_int_equal(n, 77);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
