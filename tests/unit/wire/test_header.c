/* PARSEC 1.0 fixed header: encode/decode, PARSEC's check order, recorded requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "turtle/error.h"
#include "wire/header.h"

static void
hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(hex);

	assert_int_equal(len % 2, 0);
	assert_true(len / 2 <= cap);
	for (size_t i = 0; i < len / 2; i++) {
		unsigned hi, lo;
		char c;

		c = hex[2 * i];
		hi = (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
		c = hex[2 * i + 1];
		lo = (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
}

static void
test_round_trip(void **state)
{
	struct tt_wire_hdr h = {
		.flags = 0xA55A, .provider = 3, .session = 0x0102030405060708ULL,
		.content_type = 0, .accept_type = 0, .auth_type = TT_AUTH_UNIX_PEER,
		.body_len = 0x00C0FFEE, .auth_len = 4, .opcode = 0x20, .status = 1135,
	};
	struct tt_wire_hdr d;
	uint8_t raw[TT_WIRE_HDR_LEN];
	static const uint8_t want[TT_WIRE_HDR_LEN] = {
		0x10, 0xa7, 0xc0, 0x5e, 0x1e, 0x00, 0x01, 0x00, 0x5a, 0xa5, 0x03,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x03,
		0xee, 0xff, 0xc0, 0x00, 0x04, 0x00, 0x20, 0x00, 0x00, 0x00, 0x6f, 0x04, 0x00, 0x00,
	};

	(void)state;
	memset(raw, 0xEE, sizeof(raw));
	tt_wire_hdr_encode(&h, raw);
	assert_memory_equal(raw, want, sizeof(want));
	memset(&d, 0, sizeof(d));
	assert_int_equal(tt_wire_hdr_decode(raw, &d), 0);
	assert_int_equal(d.flags, h.flags);
	assert_int_equal(d.provider, h.provider);
	assert_true(d.session == h.session);
	assert_int_equal(d.content_type, h.content_type);
	assert_int_equal(d.accept_type, h.accept_type);
	assert_int_equal(d.auth_type, h.auth_type);
	assert_int_equal(d.body_len, h.body_len);
	assert_int_equal(d.auth_len, h.auth_len);
	assert_int_equal(d.opcode, h.opcode);
	assert_int_equal(d.status, h.status);

	/* Extreme values survive too. */
	memset(&h, 0xFF, sizeof(h));
	tt_wire_hdr_encode(&h, raw);
	assert_int_equal(tt_wire_hdr_decode(raw, &d), 0);
	assert_true(d.session == UINT64_MAX);
	assert_int_equal(d.body_len, UINT32_MAX);
	assert_int_equal(d.opcode, UINT32_MAX);
}

static void
good_header(uint8_t raw[TT_WIRE_HDR_LEN])
{
	struct tt_wire_hdr h = { .opcode = 1 };

	tt_wire_hdr_encode(&h, raw);
}

/* PARSEC checks magic, then header size, then version, then reserved bytes; the first
 * failure decides the status. The out-parameter is untouched on failure. */
static void
test_check_order(void **state)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr d;

	(void)state;
	memset(&d, 0x77, sizeof(d));

	good_header(raw);
	raw[0] ^= 1;                         /* bad magic */
	raw[4] = 31;                         /* bad size */
	raw[6] = 2;                          /* bad version */
	raw[34] = 1;                         /* bad reserved */
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_INVALID_HEADER);

	good_header(raw);
	raw[6] = 2;                          /* bad version, then bad magic wins */
	raw[3] = 0;
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_INVALID_HEADER);

	good_header(raw);
	raw[4] = 29;                         /* bad size beats bad version */
	raw[7] = 1;
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_INVALID_HEADER);

	good_header(raw);
	raw[7] = 1;                          /* version 1.1, reserved bad: version wins */
	raw[35] = 0x80;
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_WIRE_VERSION);

	good_header(raw);
	raw[6] = 0;                          /* version 0.0 */
	raw[7] = 0;
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_WIRE_VERSION);

	good_header(raw);
	raw[5] = 1;                          /* size 0x011e */
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_INVALID_HEADER);

	good_header(raw);
	raw[34] = 1;                         /* reserved != 0 */
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_INVALID_HEADER);
	good_header(raw);
	raw[35] = 1;
	assert_int_equal(tt_wire_hdr_decode(raw, &d), TT_ERR_INVALID_HEADER);

	/* Nothing above touched the out-parameter. */
	{
		struct tt_wire_hdr s;
		memset(&s, 0x77, sizeof(s));
		assert_memory_equal(&d, &s, sizeof(d));
	}

	/* Field semantics are the front end's job: odd values decode. */
	good_header(raw);
	raw[19] = 9;                         /* content type */
	raw[21] = 200;                       /* auth type */
	raw[10] = 250;                       /* provider */
	assert_int_equal(tt_wire_hdr_decode(raw, &d), 0);
	assert_int_equal(d.content_type, 9);
	assert_int_equal(d.auth_type, 200);
	assert_int_equal(d.provider, 250);
}

/* Request headers from ../shared/testdata/parsec-wire (request_hex), each with the
 * header fields its YAML states. */
static const struct {
	const char *name;
	const char *hex;
	uint8_t provider, auth_type;
	uint16_t auth_len;
	uint32_t opcode;
} recorded[] = {
	{ "ping", "10a7c05e1e00010000000000000000000000000000000000000000000100000000000000",
	  0, 0, 0, 1 },
	{ "list_providers", "10a7c05e1e00010000000000000000000000000000000000000000000800000000000000",
	  0, 0, 0, 8 },
	{ "list_authenticators",
	  "10a7c05e1e00010000000000000000000000000000000000000000000e00000000000000", 0, 0, 0, 14 },
	{ "list_opcodes_directauth",
	  "10a7c05e1e0001000000000000000000000000000000020000000600090000000000000008016a696d626f62",
	  0, 0, 6, 9 },
	{ "list_clients",
	  "10a7c05e1e0001000000000000000000000000000001000000000a001b0000000000000061646d696e5f70726976",
	  0, 1, 10, 27 },
	{ "delete_client",
	  "10a7c05e1e0001000000000000000000000000000001110000000a001c000000000000000a0f6578697374696e6720636c69656e7461646d696e5f70726976",
	  0, 1, 10, 28 },
	{ "delete_client_admin_err",
	  "10a7c05e1e00010000000000000000000000000000010f00000008001c000000000000000a0d636c69656e74206578697374736e6f5f61646d696e",
	  0, 1, 8, 28 },
};

static void
test_recorded_requests(void **state)
{
	uint8_t raw[256];
	struct tt_wire_hdr d;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(recorded) / sizeof(recorded[0]); i++) {
		hex_decode(recorded[i].hex, raw, sizeof(raw), &n);
		assert_true(n >= TT_WIRE_HDR_LEN);
		if (tt_wire_hdr_decode(raw, &d) != 0)
			fail_msg("%s: header rejected", recorded[i].name);
		assert_int_equal(d.flags, 0);
		assert_int_equal(d.provider, recorded[i].provider);
		assert_true(d.session == 0);
		assert_int_equal(d.content_type, 0);
		assert_int_equal(d.accept_type, 0);
		assert_int_equal(d.auth_type, recorded[i].auth_type);
		assert_int_equal(d.auth_len, recorded[i].auth_len);
		assert_int_equal(d.opcode, recorded[i].opcode);
		assert_int_equal(d.status, 0);
		/* "content_length: auto": body + auth fill the rest of the recording */
		assert_int_equal((size_t)d.body_len + d.auth_len, n - TT_WIRE_HDR_LEN);

		/* Re-encoding the decoded fields reproduces the recorded bytes. */
		{
			uint8_t again[TT_WIRE_HDR_LEN];
			tt_wire_hdr_encode(&d, again);
			assert_memory_equal(again, raw, TT_WIRE_HDR_LEN);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_recorded_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
