/* The one error table: every tt_err has one wire status, and every wire status
 * received by a client converts back to the same tt_err. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "turtle/error.h"

/* Every wire-level and PSA tt_err with the PARSEC status it must carry. */
static const struct {
	int err;
	uint16_t status;
} wire_errs[] = {
	{ TT_OK, 0 },
	{ TT_ERR_WRONG_PROVIDER_ID, 1 },
	{ TT_ERR_CONTENT_TYPE, 2 },
	{ TT_ERR_ACCEPT_TYPE, 3 },
	{ TT_ERR_WIRE_VERSION, 4 },
	{ TT_ERR_PROVIDER_NOT_REGISTERED, 5 },
	{ TT_ERR_PROVIDER_DOES_NOT_EXIST, 6 },
	{ TT_ERR_DESERIALIZE, 7 },
	{ TT_ERR_SERIALIZE, 8 },
	{ TT_ERR_OPCODE_DOES_NOT_EXIST, 9 },
	{ TT_ERR_RESPONSE_TOO_LARGE, 10 },
	{ TT_ERR_AUTHENTICATION, 11 },
	{ TT_ERR_AUTHENTICATOR_DOES_NOT_EXIST, 12 },
	{ TT_ERR_AUTHENTICATOR_NOT_REGISTERED, 13 },
	{ TT_ERR_KIM, 14 },
	{ TT_ERR_CONNECTION, 15 },
	{ TT_ERR_INVALID_ENCODING, 16 },
	{ TT_ERR_INVALID_HEADER, 17 },
	{ TT_ERR_WRONG_PROVIDER_UUID, 18 },
	{ TT_ERR_NOT_AUTHENTICATED, 19 },
	{ TT_ERR_BODY_TOO_LARGE, 20 },
	{ TT_ERR_ADMIN_OPERATION, 21 },
	{ TT_ERR_DEPRECATED_PRIMITIVE, 22 },
	/* PSA: 1000 + -psa_status (PSA_ERROR_GENERIC_ERROR = -132, ...) */
	{ TT_ERR_GENERIC, 1132 },
	{ TT_ERR_NOT_PERMITTED, 1133 },
	{ TT_ERR_NOT_SUPPORTED, 1134 },
	{ TT_ERR_INVALID_ARGUMENT, 1135 },
	{ TT_ERR_INVALID_HANDLE, 1136 },
	{ TT_ERR_BAD_STATE, 1137 },
	{ TT_ERR_BUFFER_TOO_SMALL, 1138 },
	{ TT_ERR_ALREADY_EXISTS, 1139 },
	{ TT_ERR_DOES_NOT_EXIST, 1140 },
	{ TT_ERR_NO_MEMORY, 1141 },
	{ TT_ERR_INSUFFICIENT_STORAGE, 1142 },
	{ TT_ERR_INSUFFICIENT_DATA, 1143 },
	{ TT_ERR_COMMUNICATION, 1145 },
	{ TT_ERR_STORAGE, 1146 },
	{ TT_ERR_HARDWARE, 1147 },
	{ TT_ERR_INSUFFICIENT_ENTROPY, 1148 },
	{ TT_ERR_INVALID_SIGNATURE, 1149 },
	{ TT_ERR_INVALID_PADDING, 1150 },
	{ TT_ERR_CORRUPTION_DETECTED, 1151 },
	{ TT_ERR_DATA_CORRUPT, 1152 },
	{ TT_ERR_DATA_INVALID, 1153 },
};

static const int local_errs[] = {
	TT_ERR_IO, TT_ERR_EOF, TT_ERR_TIMEOUT, TT_ERR_CONFIG, TT_ERR_PARSE, TT_ERR_TRUNCATED,
	TT_ERR_TRAILING, TT_ERR_LIMIT, TT_ERR_PROTOCOL, TT_ERR_UNKNOWN_STATUS,
};

static void
test_wire_errors_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wire_errs) / sizeof(wire_errs[0]); i++) {
		uint16_t st = tt_err_to_status(wire_errs[i].err);

		if (st != wire_errs[i].status)
			fail_msg("err %d -> status %u, want %u", wire_errs[i].err, st, wire_errs[i].status);
		if (tt_err_from_status(st) != wire_errs[i].err)
			fail_msg("status %u -> err %d, want %d", st, tt_err_from_status(st), wire_errs[i].err);
	}
}

/* Local conditions get some existing wire status, and that status converts back to a
 * wire error (never to a local one, which a client could not have been sent). */
static void
test_local_errors_map_to_wire(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(local_errs) / sizeof(local_errs[0]); i++) {
		uint16_t st = tt_err_to_status(local_errs[i]);
		int back = tt_err_from_status(st);

		assert_int_not_equal(st, 0);
		assert_int_not_equal(back, TT_ERR_UNKNOWN_STATUS);
		assert_true(back > TT_ERR_IO);
	}
}

static void
test_names_and_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wire_errs) / sizeof(wire_errs[0]); i++) {
		assert_non_null(tt_strerror(wire_errs[i].err));
		assert_string_not_equal(tt_strerror(wire_errs[i].err), "unknown error");
		assert_string_not_equal(tt_err_name(wire_errs[i].err), "Unknown");
	}
	for (size_t i = 0; i < sizeof(local_errs) / sizeof(local_errs[0]); i++)
		assert_string_not_equal(tt_strerror(local_errs[i]), "unknown error");
	assert_string_equal(tt_err_name(TT_ERR_INVALID_HEADER), "InvalidHeader");
	assert_string_equal(tt_err_name(TT_ERR_DOES_NOT_EXIST), "PsaErrorDoesNotExist");
	/* Unknown values never yield NULL. */
	assert_non_null(tt_strerror(-9999));
	assert_non_null(tt_err_name(12345));
	assert_int_equal(tt_err_to_status(-9999), TT_STATUS_PSA_GENERIC_ERROR);
}

static void
test_unknown_status(void **state)
{
	static const uint16_t unknown[] = { 23, 100, 999, 1000, 1131, 1144, 1154, 65535 };

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(tt_err_from_status(unknown[i]), TT_ERR_UNKNOWN_STATUS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_errors_round_trip),
		cmocka_unit_test(test_local_errors_map_to_wire),
		cmocka_unit_test(test_names_and_messages),
		cmocka_unit_test(test_unknown_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
