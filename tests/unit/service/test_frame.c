#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service/frame.h"
#include "turtle/error.h"
#include "wire/header.h"

/* Build a request frame: header + body (filled with 'b') + auth (filled with 'a'). */
static size_t
make_frame(uint8_t *out, uint32_t body_len, uint16_t auth_len, uint32_t opcode)
{
	struct tt_wire_hdr h;

	memset(&h, 0, sizeof(h));
	h.provider = 1;
	h.session = 0x1122334455667788ULL;
	h.auth_type = auth_len > 0 ? TT_AUTH_DIRECT : TT_AUTH_NONE;
	h.body_len = body_len;
	h.auth_len = auth_len;
	h.opcode = opcode;
	tt_wire_hdr_encode(&h, out);
	memset(out + TT_WIRE_HDR_LEN, 'b', body_len);
	memset(out + TT_WIRE_HDR_LEN + body_len, 'a', auth_len);
	return TT_WIRE_HDR_LEN + body_len + auth_len;
}

static void
check_frame(const struct tt_frame *f, uint32_t body_len, uint16_t auth_len, uint32_t opcode)
{
	const struct tt_wire_hdr *h = tt_frame_hdr(f);

	assert_non_null(h);
	assert_int_equal(h->opcode, opcode);
	assert_int_equal(h->provider, 1);
	assert_true(h->session == 0x1122334455667788ULL);
	assert_int_equal(h->body_len, body_len);
	assert_int_equal(h->auth_len, auth_len);
	for (uint32_t i = 0; i < body_len; i++)
		assert_int_equal(tt_frame_body(f)[i], 'b');
	for (uint32_t i = 0; i < auth_len; i++)
		assert_int_equal(tt_frame_auth(f)[i], 'a');
	if (body_len == 0)
		assert_null(tt_frame_body(f));
	if (auth_len == 0)
		assert_null(tt_frame_auth(f));
}

static void
test_one_byte_feeds(void **state)
{
	uint8_t buf[256];
	struct tt_frame f;
	size_t n, used;
	int r = TT_FRAME_MORE;

	(void)state;
	n = make_frame(buf, 20, 5, 42);
	tt_frame_init(&f, 1024, 64);
	assert_false(tt_frame_started(&f));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r, TT_FRAME_MORE);
		r = tt_frame_feed(&f, buf + i, 1, &used);
		assert_int_equal(used, 1);
		assert_true(tt_frame_started(&f));
		if (i < n - 1)
			assert_null(tt_frame_hdr(&f));
	}
	assert_int_equal(r, TT_FRAME_DONE);
	assert_int_equal(f.state, TT_FRAME_COMPLETE);
	check_frame(&f, 20, 5, 42);
	/* A complete frame takes no more bytes until tt_frame_next. */
	assert_int_equal(tt_frame_feed(&f, buf, 1, &used), TT_FRAME_DONE);
	assert_int_equal(used, 0);
	tt_frame_next(&f);
	assert_false(tt_frame_started(&f));
	assert_null(f.payload);
	tt_frame_free(&f);
}

static void
test_pipelined(void **state)
{
	uint8_t buf[512];
	struct tt_frame f;
	size_t n1, n2, n3, used, off = 0;

	(void)state;
	n1 = make_frame(buf, 10, 0, 1);
	n2 = make_frame(buf + n1, 0, 0, 2);   /* header-only frame (Ping) */
	n3 = make_frame(buf + n1 + n2, 7, 3, 3);
	tt_frame_init(&f, 1024, 64);

	assert_int_equal(tt_frame_feed(&f, buf, n1 + n2 + n3, &used), TT_FRAME_DONE);
	assert_int_equal(used, n1);
	check_frame(&f, 10, 0, 1);
	off += used;
	tt_frame_next(&f);

	assert_int_equal(tt_frame_feed(&f, buf + off, n1 + n2 + n3 - off, &used), TT_FRAME_DONE);
	assert_int_equal(used, n2);
	check_frame(&f, 0, 0, 2);
	assert_null(f.payload);   /* nothing allocated for an empty frame */
	off += used;
	tt_frame_next(&f);

	/* The third frame split in two feeds at an odd place inside the body. */
	assert_int_equal(tt_frame_feed(&f, buf + off, 40, &used), TT_FRAME_MORE);
	assert_int_equal(used, 40);
	off += used;
	assert_int_equal(tt_frame_feed(&f, buf + off, n1 + n2 + n3 - off, &used), TT_FRAME_DONE);
	assert_int_equal(off + used, n1 + n2 + n3);
	check_frame(&f, 7, 3, 3);
	tt_frame_free(&f);
}

static void
test_body_over_limit_before_allocation(void **state)
{
	uint8_t buf[TT_WIRE_HDR_LEN + 16];
	struct tt_wire_hdr h;
	struct tt_frame f;
	size_t used;

	(void)state;
	/* A header announcing 4 GiB - 1: refused from the header alone. */
	memset(&h, 0, sizeof(h));
	h.body_len = UINT32_MAX;
	tt_wire_hdr_encode(&h, buf);
	tt_frame_init(&f, 1024 * 1024, 8192);
	assert_int_equal(tt_frame_feed(&f, buf, TT_WIRE_HDR_LEN, &used), TT_ERR_BODY_TOO_LARGE);
	assert_int_equal(used, TT_WIRE_HDR_LEN);
	assert_null(f.payload);
	assert_int_equal(f.state, TT_FRAME_ERROR);
	/* Sticky until reset. */
	assert_int_equal(tt_frame_feed(&f, buf, 1, &used), TT_ERR_BODY_TOO_LARGE);
	assert_int_equal(used, 0);
	tt_frame_free(&f);

	/* Exactly at the limit is fine; one over is not. */
	tt_frame_init(&f, 16, 8192);
	make_frame(buf, 16, 0, 9);
	assert_int_equal(tt_frame_feed(&f, buf, sizeof(buf), &used), TT_FRAME_DONE);
	tt_frame_free(&f);
	tt_frame_init(&f, 15, 8192);
	assert_int_equal(tt_frame_feed(&f, buf, sizeof(buf), &used), TT_ERR_BODY_TOO_LARGE);
	assert_null(f.payload);
	tt_frame_free(&f);
}

static void
test_auth_over_limit(void **state)
{
	uint8_t buf[TT_WIRE_HDR_LEN + 64];
	struct tt_frame f;
	size_t used;

	(void)state;
	make_frame(buf, 0, 33, 5);
	tt_frame_init(&f, 1024, 32);
	assert_int_equal(tt_frame_feed(&f, buf, TT_WIRE_HDR_LEN, &used), TT_ERR_BODY_TOO_LARGE);
	assert_null(f.payload);
	tt_frame_free(&f);

	tt_frame_init(&f, 1024, 33);
	assert_int_equal(tt_frame_feed(&f, buf, TT_WIRE_HDR_LEN + 33, &used), TT_FRAME_DONE);
	check_frame(&f, 0, 33, 5);
	tt_frame_free(&f);

	/* Limits changed between frames apply to the next header. */
	tt_frame_init(&f, 1024, 64);
	tt_frame_set_limits(&f, 1024, 10);
	assert_int_equal(tt_frame_feed(&f, buf, TT_WIRE_HDR_LEN, &used), TT_ERR_BODY_TOO_LARGE);
	tt_frame_free(&f);
}

static void
expect_header_error(const uint8_t *raw, int want)
{
	struct tt_frame f;
	size_t used;

	tt_frame_init(&f, 1024, 64);
	/* The header is checked only once complete: 35 bytes are not enough to judge. */
	assert_int_equal(tt_frame_feed(&f, raw, TT_WIRE_HDR_LEN - 1, &used), TT_FRAME_MORE);
	assert_int_equal(tt_frame_feed(&f, raw + TT_WIRE_HDR_LEN - 1, 1, &used), want);
	assert_int_equal(f.state, TT_FRAME_ERROR);
	assert_null(f.payload);
	tt_frame_free(&f);
}

static void
test_bad_headers(void **state)
{
	uint8_t good[TT_WIRE_HDR_LEN], raw[TT_WIRE_HDR_LEN];

	(void)state;
	make_frame(good, 0, 0, 1);

	memcpy(raw, good, sizeof(raw));
	raw[0] ^= 0xff;                       /* magic */
	expect_header_error(raw, TT_ERR_INVALID_HEADER);

	memcpy(raw, good, sizeof(raw));
	raw[4] = 31;                          /* header size */
	expect_header_error(raw, TT_ERR_INVALID_HEADER);

	memcpy(raw, good, sizeof(raw));
	raw[6] = 2;                           /* version major */
	expect_header_error(raw, TT_ERR_WIRE_VERSION);

	memcpy(raw, good, sizeof(raw));
	raw[7] = 1;                           /* version minor */
	expect_header_error(raw, TT_ERR_WIRE_VERSION);

	memcpy(raw, good, sizeof(raw));
	raw[35] = 1;                          /* reserved */
	expect_header_error(raw, TT_ERR_INVALID_HEADER);

	/* Bad magic wins over an over-limit length: PARSEC checks the header first. */
	memcpy(raw, good, sizeof(raw));
	raw[0] = 0;
	raw[22] = raw[23] = raw[24] = raw[25] = 0xff;
	expect_header_error(raw, TT_ERR_INVALID_HEADER);
}

static void
test_zero_length_feed(void **state)
{
	struct tt_frame f;
	size_t used = 99;

	(void)state;
	tt_frame_init(&f, 1024, 64);
	assert_int_equal(tt_frame_feed(&f, (const uint8_t *)"", 0, &used), TT_FRAME_MORE);
	assert_int_equal(used, 0);
	assert_false(tt_frame_started(&f));
	tt_frame_free(&f);
}

/* A budget that allows `left` bytes and records what is taken and given back. */
struct budget_rec {
	size_t left, taken, given;
	int takes, gives;
};

static int
rec_take(void *arg, size_t n)
{
	struct budget_rec *b = arg;

	b->takes++;
	if (n > b->left)
		return TT_ERR_NO_MEMORY;
	b->left -= n;
	b->taken += n;
	return 0;
}

static void
rec_give(void *arg, size_t n)
{
	struct budget_rec *b = arg;

	b->gives++;
	b->left += n;
	b->given += n;
}

static const struct tt_frame_budget rec_budget = { rec_take, rec_give };

static void
test_budget(void **state)
{
	uint8_t buf[512];
	struct budget_rec b = { .left = 300 };
	struct tt_frame f;
	size_t n, used;

	(void)state;
	tt_frame_init(&f, 1024, 64);
	tt_frame_set_budget(&f, &rec_budget, &b);
	/* a payload within the budget is charged before it is stored, given back after */
	n = make_frame(buf, 200, 10, 0x0f);
	assert_int_equal(tt_frame_feed(&f, buf, n, &used), TT_FRAME_DONE);
	assert_int_equal(b.taken, 210);
	check_frame(&f, 200, 10, 0x0f);
	tt_frame_next(&f);
	assert_int_equal(b.given, 210);
	assert_int_equal(b.left, 300);
	/* no payload, no charge */
	n = make_frame(buf, 0, 0, 0x01);
	assert_int_equal(tt_frame_feed(&f, buf, n, &used), TT_FRAME_DONE);
	assert_int_equal(b.takes, 1);
	tt_frame_next(&f);
	/* refused: the budget's error is the frame's, decided from the header alone */
	n = make_frame(buf, 301, 0, 0x0f);
	assert_int_equal(tt_frame_feed(&f, buf, TT_WIRE_HDR_LEN, &used), TT_ERR_NO_MEMORY);
	assert_int_equal(used, TT_WIRE_HDR_LEN);
	assert_int_equal(tt_frame_feed(&f, buf + used, n - used, &used), TT_ERR_NO_MEMORY);
	assert_int_equal(used, 0);
	tt_frame_free(&f);
	assert_int_equal(b.gives, 1);   /* nothing was taken for the refused one */
	assert_int_equal(b.left, 300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_byte_feeds),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_body_over_limit_before_allocation),
		cmocka_unit_test(test_auth_over_limit),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_zero_length_feed),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
