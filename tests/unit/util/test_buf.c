/* tt_buf: the bounded reader/writer every untrusted byte goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "turtle/error.h"
#include "util/buf.h"

static const uint8_t seq[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

static void
test_get_le_be_values(void **state)
{
	struct tt_buf b;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	uint8_t v8;

	(void)state;
	tt_buf_init_ro(&b, seq, sizeof(seq));
	assert_int_equal(tt_buf_get_u64le(&b, &v64), 0);
	assert_true(v64 == 0x0807060504030201ULL);
	assert_int_equal(tt_buf_avail(&b), 0);
	assert_int_equal(tt_buf_expect_end(&b), 0);

	tt_buf_init_ro(&b, seq, sizeof(seq));
	assert_int_equal(tt_buf_get_u8(&b, &v8), 0);
	assert_int_equal(v8, 0x01);
	assert_int_equal(tt_buf_get_u16le(&b, &v16), 0);
	assert_int_equal(v16, 0x0302);
	assert_int_equal(tt_buf_get_u16be(&b, &v16), 0);
	assert_int_equal(v16, 0x0405);
	assert_int_equal(tt_buf_expect_end(&b), TT_ERR_TRAILING);
	tt_buf_init_ro(&b, seq, sizeof(seq));
	assert_int_equal(tt_buf_get_u32le(&b, &v32), 0);
	assert_int_equal(v32, 0x04030201);
	assert_int_equal(tt_buf_get_u32be(&b, &v32), 0);
	assert_int_equal(v32, 0x05060708);
}

/* For each get of width w: a buffer of exactly w bytes succeeds and empties it; a
 * buffer of w-1 bytes fails with TRUNCATED, consumes nothing, and leaves the
 * out-parameter as it was. */
static void
test_get_exact_boundaries(void **state)
{
	struct tt_buf b;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	uint8_t out[8];

	(void)state;
#define BOUNDARY(w, fn, var, sentinel)                                            \
	do {                                                                      \
		tt_buf_init_ro(&b, seq, (w));                                      \
		assert_int_equal(fn(&b, &var), 0);                                 \
		assert_int_equal(tt_buf_avail(&b), 0);                             \
		assert_int_equal(fn(&b, &var), TT_ERR_TRUNCATED);                  \
		tt_buf_init_ro(&b, seq, (w) - 1);                                  \
		var = (sentinel);                                                  \
		assert_int_equal(fn(&b, &var), TT_ERR_TRUNCATED);                  \
		assert_true(var == (sentinel));                                    \
		assert_int_equal(tt_buf_avail(&b), (w) - 1);                       \
	} while (0)
	BOUNDARY(1, tt_buf_get_u8, v8, 0xAA);
	BOUNDARY(2, tt_buf_get_u16le, v16, 0xAAAA);
	BOUNDARY(2, tt_buf_get_u16be, v16, 0xAAAA);
	BOUNDARY(4, tt_buf_get_u32le, v32, 0xAAAAAAAAu);
	BOUNDARY(4, tt_buf_get_u32be, v32, 0xAAAAAAAAu);
	BOUNDARY(8, tt_buf_get_u64le, v64, 0xAAAAAAAAAAAAAAAAull);
#undef BOUNDARY

	/* Bytes: exact length, one past it, out untouched. */
	tt_buf_init_ro(&b, seq, sizeof(seq));
	assert_int_equal(tt_buf_skip(&b, 3), 0);
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(tt_buf_get_bytes(&b, out, 6), TT_ERR_TRUNCATED);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xAA);
	assert_int_equal(tt_buf_avail(&b), 5);
	assert_int_equal(tt_buf_get_bytes(&b, out, 5), 0);
	assert_memory_equal(out, seq + 3, 5);
	assert_int_equal(tt_buf_get_bytes(&b, out, 0), 0);
	assert_int_equal(tt_buf_get_bytes(&b, out, 1), TT_ERR_TRUNCATED);

	/* A failed get after a partial read still leaves the position alone. */
	tt_buf_init_ro(&b, seq, 5);
	assert_int_equal(tt_buf_get_u32le(&b, &v32), 0);
	v32 = 7;
	assert_int_equal(tt_buf_get_u32le(&b, &v32), TT_ERR_TRUNCATED);
	assert_int_equal(v32, 7);
	assert_int_equal(tt_buf_avail(&b), 1);
}

/* Lengths near SIZE_MAX must not wrap the bounds check (off + n > len). */
static void
test_huge_lengths(void **state)
{
	struct tt_buf b;
	const uint8_t *p = (const uint8_t *)"untouched";
	uint8_t out[4];

	(void)state;
	tt_buf_init_ro(&b, seq, sizeof(seq));
	assert_int_equal(tt_buf_skip(&b, 2), 0);
	assert_int_equal(tt_buf_get_ref(&b, SIZE_MAX, &p), TT_ERR_TRUNCATED);
	assert_string_equal((const char *)p, "untouched");
	assert_int_equal(tt_buf_get_ref(&b, SIZE_MAX - 1, &p), TT_ERR_TRUNCATED);
	assert_int_equal(tt_buf_skip(&b, SIZE_MAX), TT_ERR_TRUNCATED);
	assert_int_equal(tt_buf_get_bytes(&b, out, SIZE_MAX), TT_ERR_TRUNCATED);
	assert_int_equal(tt_buf_skip(&b, SIZE_MAX - 1), TT_ERR_TRUNCATED);
	assert_int_equal(tt_buf_avail(&b), 6);
	assert_int_equal(tt_buf_get_ref(&b, 6, &p), 0);
	assert_ptr_equal(p, seq + 2);

	/* Writers: a SIZE_MAX append can never pass the max check. */
	tt_buf_init(&b, 16);
	assert_int_equal(tt_buf_put_u8(&b, 1), 0);
	assert_int_equal(tt_buf_reserve(&b, SIZE_MAX, NULL), TT_ERR_LIMIT);
	assert_int_equal(tt_buf_put(&b, seq, SIZE_MAX), TT_ERR_LIMIT);
	assert_int_equal(b.len, 1);
	tt_buf_free(&b);

	tt_buf_init(&b, SIZE_MAX);
	assert_int_equal(tt_buf_put_u8(&b, 1), 0);
	assert_int_equal(tt_buf_reserve(&b, SIZE_MAX, NULL), TT_ERR_LIMIT);
	tt_buf_free(&b);
}

static void
test_writer_max(void **state)
{
	struct tt_buf b;
	uint8_t big[100];

	(void)state;
	memset(big, 0x5A, sizeof(big));
	tt_buf_init(&b, 10);
	assert_int_equal(tt_buf_put(&b, big, 8), 0);
	assert_int_equal(tt_buf_put_u32le(&b, 1), TT_ERR_LIMIT);
	assert_int_equal(b.len, 8);
	assert_int_equal(tt_buf_put_u16le(&b, 0xBEEF), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(tt_buf_put_u8(&b, 0), TT_ERR_LIMIT);
	assert_int_equal(tt_buf_put(&b, big, 0), 0);
	assert_true(b.cap <= 10);
	assert_int_equal(b.d[8], 0xEF);
	assert_int_equal(b.d[9], 0xBE);
	tt_buf_free(&b);
	assert_null(b.d);
	assert_int_equal(b.len, 0);

	/* Growth past the initial allocation keeps every byte. */
	tt_buf_init(&b, 4096);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tt_buf_put_u32be(&b, (uint32_t)i), 0);
	assert_int_equal(b.len, 4000);
	for (int i = 0; i < 1000; i++) {
		uint32_t v;
		assert_int_equal(tt_buf_get_u32be(&b, &v), 0);
		assert_int_equal(v, (uint32_t)i);
	}
	assert_int_equal(tt_buf_expect_end(&b), 0);
	tt_buf_free(&b);

	/* Every put width, read back. */
	tt_buf_init(&b, 64);
	assert_int_equal(tt_buf_put_u64le(&b, 0x0102030405060708ULL), 0);
	assert_int_equal(tt_buf_put_u32le(&b, 0x0A0B0C0D), 0);
	assert_int_equal(tt_buf_put_u16be(&b, 0x1122), 0);
	{
		const uint8_t want[] = { 8, 7, 6, 5, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A, 0x11, 0x22 };
		assert_int_equal(b.len, sizeof(want));
		assert_memory_equal(b.d, want, sizeof(want));
	}
	tt_buf_free(&b);
	tt_buf_free(NULL);
}

static void
test_ro_is_not_writable(void **state)
{
	struct tt_buf b;
	uint8_t data[4] = { 1, 2, 3, 4 };

	(void)state;
	tt_buf_init_ro(&b, data, sizeof(data));
	assert_int_equal(tt_buf_put_u8(&b, 9), TT_ERR_BAD_STATE);
	tt_buf_reset(&b);
	tt_buf_free(&b);   /* must not free caller memory */
	assert_int_equal(data[0], 1);
}

/* Secret buffers: reset wipes the bytes that stay allocated; growth moves the data
 * intact (the old copy is wiped before release); free leaves an empty buffer. */
static void
test_secret_wipe(void **state)
{
	struct tt_buf b;
	uint8_t key[48];

	(void)state;
	memset(key, 0xC3, sizeof(key));
	tt_buf_init(&b, 1 << 16);
	tt_buf_set_secret(&b);
	assert_int_equal(tt_buf_put(&b, key, sizeof(key)), 0);
	assert_int_equal(tt_buf_put(&b, key, sizeof(key)), 0);   /* forces a grow past 64 */
	assert_true(b.cap >= 96);
	assert_memory_equal(b.d, key, sizeof(key));
	assert_memory_equal(b.d + sizeof(key), key, sizeof(key));
	{
		uint8_t *d = b.d;
		tt_buf_reset(&b);
		assert_ptr_equal(b.d, d);
		for (size_t i = 0; i < 96; i++)
			assert_int_equal(d[i], 0);
	}
	assert_int_equal(b.len, 0);
	assert_int_equal(tt_buf_put_u8(&b, 7), 0);
	tt_buf_free(&b);
	assert_null(b.d);
	assert_int_equal(b.cap, 0);
}

static void
test_put_at_and_truncate(void **state)
{
	struct tt_buf b;
	static const uint8_t hdr[4] = { 0xaa, 0xbb, 0xcc, 0xdd };

	(void)state;
	tt_buf_init(&b, 64);
	tt_buf_set_secret(&b);
	assert_int_equal(tt_buf_put(&b, "\0\0\0\0body", 8), 0);
	assert_int_equal(tt_buf_len(&b), 8);
	/* a header filled in after what follows it */
	assert_int_equal(tt_buf_put_at(&b, 0, hdr, 4), 0);
	assert_memory_equal(tt_buf_ptr(&b), "\xaa\xbb\xcc\xdd" "body", 8);
	/* only inside what was written */
	assert_int_equal(tt_buf_put_at(&b, 5, hdr, 4), TT_ERR_LIMIT);
	assert_int_equal(tt_buf_put_at(&b, SIZE_MAX, hdr, 4), TT_ERR_LIMIT);
	assert_int_equal(tt_buf_put_at(&b, 8, hdr, 0), 0);
	/* truncate drops the tail, a longer length changes nothing */
	assert_int_equal(tt_buf_skip(&b, 6), 0);
	tt_buf_truncate(&b, 4);
	assert_int_equal(tt_buf_len(&b), 4);
	assert_int_equal(tt_buf_avail(&b), 0);
	tt_buf_truncate(&b, 100);
	assert_int_equal(tt_buf_len(&b), 4);
	assert_int_equal(tt_buf_put(&b, "x", 1), 0);
	assert_int_equal(tt_buf_len(&b), 5);
	tt_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_le_be_values),
		cmocka_unit_test(test_get_exact_boundaries),
		cmocka_unit_test(test_huge_lengths),
		cmocka_unit_test(test_writer_max),
		cmocka_unit_test(test_ro_is_not_writable),
		cmocka_unit_test(test_secret_wipe),
		cmocka_unit_test(test_put_at_and_truncate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
