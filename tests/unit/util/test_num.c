/* The one checked parser for numbers from text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "turtle/error.h"
#include "util/num.h"

#define SENT 0x5151515151515151ULL

static void
test_u64_valid(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(tt_parse_u64("0", 0, UINT64_MAX, &v), 0);
	assert_true(v == 0);
	assert_int_equal(tt_parse_u64("42", 0, UINT64_MAX, &v), 0);
	assert_true(v == 42);
	assert_int_equal(tt_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

/* Numbers are decimal only: a leading zero or a 0x prefix is refused instead of being
 * read as octal or hex ("threads = 010" must never silently mean 8). */
static void
test_u64_strictly_decimal(void **state)
{
	static const char *bad[] = { "010", "00", "0660", "08", "0x10", "0XfF", "0b1", "0o7" };
	uint64_t v = SENT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tt_parse_u64(bad[i], 0, UINT64_MAX, &v) != TT_ERR_PARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(v == SENT);
	}
	assert_int_equal(tt_parse_size("01K", UINT64_MAX, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_size("0x400", UINT64_MAX, &v), TT_ERR_PARSE);
	assert_true(v == SENT);
	assert_int_equal(tt_parse_u64("10", 0, UINT64_MAX, &v), 0);
	assert_true(v == 10);
}

/* Modes are the one octal reading, explicit at the call site. */
static void
test_mode(void **state)
{
	static const char *bad[] = { "", "8", "0778", "00777", "1000", "-1", "0x1ff", " 660", "66 " };
	uint32_t m = 0x5151;

	(void)state;
	assert_int_equal(tt_parse_mode("660", &m), 0);
	assert_true(m == 0660);
	assert_int_equal(tt_parse_mode("0660", &m), 0);
	assert_true(m == 0660);
	assert_int_equal(tt_parse_mode("0", &m), 0);
	assert_true(m == 0);
	assert_int_equal(tt_parse_mode("777", &m), 0);
	assert_true(m == 0777);
	m = 0x5151;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tt_parse_mode(bad[i], &m) != TT_ERR_PARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(m == 0x5151);
	}
	assert_int_equal(tt_parse_mode(NULL, &m), TT_ERR_PARSE);
}

static void
test_u64_ranges(void **state)
{
	uint64_t v = SENT;

	(void)state;
	assert_int_equal(tt_parse_u64("10", 10, 20, &v), 0);
	assert_true(v == 10);
	assert_int_equal(tt_parse_u64("20", 10, 20, &v), 0);
	assert_true(v == 20);
	v = SENT;
	assert_int_equal(tt_parse_u64("9", 10, 20, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_u64("21", 10, 20, &v), TT_ERR_PARSE);
	assert_true(v == SENT);
}

static void
test_u64_garbage_and_overflow(void **state)
{
	static const char *bad[] = {
		"", " 1", "1 ", "-1", "+1", "1a", "a1", "0x", "0xg", "1.5", "1e3",
		"18446744073709551616", "99999999999999999999999", "0x10000000000000000",
		"\t5", "5\n", "--1", "1,000",
	};
	uint64_t v = SENT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tt_parse_u64(bad[i], 0, UINT64_MAX, &v) != TT_ERR_PARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(v == SENT);
	}
	assert_int_equal(tt_parse_u64(NULL, 0, UINT64_MAX, &v), TT_ERR_PARSE);
	assert_true(v == SENT);
}

static void
test_u32(void **state)
{
	uint32_t v = 0x51515151;

	(void)state;
	assert_int_equal(tt_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_true(v == UINT32_MAX);
	v = 0x51515151;
	assert_int_equal(tt_parse_u32("4294967296", 0, UINT32_MAX, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_u32("18446744073709551616", 0, UINT32_MAX, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_u32("0", 1, 65535, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_u32("65536", 1, 65535, &v), TT_ERR_PARSE);
	assert_true(v == 0x51515151);
	assert_int_equal(tt_parse_u32("65535", 1, 65535, &v), 0);
	assert_true(v == 65535);
}

static void
test_size_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(tt_parse_size("0", UINT64_MAX, &v), 0);
	assert_true(v == 0);
	assert_int_equal(tt_parse_size("512", UINT64_MAX, &v), 0);
	assert_true(v == 512);
	assert_int_equal(tt_parse_size("1k", UINT64_MAX, &v), 0);
	assert_true(v == 1024);
	assert_int_equal(tt_parse_size("2K", UINT64_MAX, &v), 0);
	assert_true(v == 2048);
	assert_int_equal(tt_parse_size("1M", UINT64_MAX, &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(tt_parse_size("3m", UINT64_MAX, &v), 0);
	assert_true(v == 3ULL * 1048576);
	assert_int_equal(tt_parse_size("1G", UINT64_MAX, &v), 0);
	assert_true(v == 1073741824ULL);
	assert_int_equal(tt_parse_size("1MiB", UINT64_MAX, &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(tt_parse_size("1Mi", UINT64_MAX, &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(tt_parse_size("1MB", UINT64_MAX, &v), 0);
	assert_true(v == 1048576);
	/* at the max, and one unit past it */
	assert_int_equal(tt_parse_size("1M", 1048576, &v), 0);
	assert_true(v == 1048576);
}

static void
test_size_bad(void **state)
{
	static const char *bad[] = {
		"", "K", "1T", "1KK", "1Kb", "1kiB ", "1 K", "-1K", "1.5M", "1Mx", "1MiBx",
		"17179869184G",            /* 2^34 GiB = 2^64: overflows */
		"18014398509481984K",      /* 2^54 KiB = 2^64 */
		"18446744073709551616",
	};
	uint64_t v = SENT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tt_parse_size(bad[i], UINT64_MAX, &v) != TT_ERR_PARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(v == SENT);
	}
	assert_int_equal(tt_parse_size("1025", 1024, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_size("2M", 1048576, &v), TT_ERR_PARSE);
	assert_int_equal(tt_parse_size(NULL, 1024, &v), TT_ERR_PARSE);
	assert_true(v == SENT);
	/* The largest representable suffixed value still parses. */
	assert_int_equal(tt_parse_size("17179869183G", UINT64_MAX, &v), 0);
	assert_true(v == 17179869183ULL << 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_valid),
		cmocka_unit_test(test_u64_strictly_decimal),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_u64_ranges),
		cmocka_unit_test(test_u64_garbage_and_overflow),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
