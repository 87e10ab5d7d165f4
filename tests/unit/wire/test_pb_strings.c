/* NUL bytes in protobuf string fields are found from the wire bytes, at any depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "delete_client.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "turtle/error.h"
#include "wire/pb_strings.h"

/* Hand-encoded: field 1 (key_name), length-delimited. */
static void
test_top_level(void **state)
{
	static const uint8_t ok[] = { 0x0a, 0x01, 'k' };
	static const uint8_t nul[] = { 0x0a, 0x03, 'k', 0x00, 'x' };
	static const uint8_t nul_end[] = { 0x0a, 0x02, 'k', 0x00 };
	/* the last occurrence of a field wins in protobuf, so every one is checked */
	static const uint8_t twice[] = { 0x0a, 0x02, 'k', 0x00, 0x0a, 0x01, 'k' };
	const ProtobufCMessageDescriptor *d = &psa_generate_key__operation__descriptor;

	(void)state;
	assert_int_equal(tt_wire_pb_check_strings(d, ok, sizeof(ok)), 0);
	assert_int_equal(tt_wire_pb_check_strings(d, NULL, 0), 0);
	assert_int_equal(tt_wire_pb_check_strings(d, nul, sizeof(nul)), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_wire_pb_check_strings(d, nul_end, sizeof(nul_end)),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_wire_pb_check_strings(d, twice, sizeof(twice)),
	    TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_wire_pb_check_strings(&delete_client__operation__descriptor, nul,
	    sizeof(nul)), TT_ERR_INVALID_ARGUMENT);
}

/* Bytes fields and unknown fields may hold NUL; only declared strings may not. */
static void
test_bytes_and_unknown_fields(void **state)
{
	/* field 7 (unknown to GenerateKey) with a NUL */
	static const uint8_t unknown[] = { 0x3a, 0x02, 0x00, 0x00, 0x0a, 0x01, 'k' };
	/* field 1 as a varint: a wire type protobuf-c will refuse; not a string here */
	static const uint8_t varint[] = { 0x08, 0x00 };

	(void)state;
	assert_int_equal(tt_wire_pb_check_strings(&psa_generate_key__operation__descriptor,
	    unknown, sizeof(unknown)), 0);
	assert_int_equal(tt_wire_pb_check_strings(&psa_generate_key__operation__descriptor,
	    varint, sizeof(varint)), 0);
}

static void
test_nested(void **state)
{
	PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential ac =
	    PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__ACTIVATE_CREDENTIAL__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationParams params =
	    PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__INIT;
	PrepareKeyAttestation__Operation op = PREPARE_KEY_ATTESTATION__OPERATION__INIT;
	const ProtobufCMessageDescriptor *d = &prepare_key_attestation__operation__descriptor;
	uint8_t buf[64];
	size_t n;
	char *p;

	(void)state;
	ac.attested_key_name = "abc";
	ac.attesting_key_name = "xyz";
	params.mechanism_case =
	    PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
	params.activate_credential = &ac;
	op.parameters = &params;
	n = prepare_key_attestation__operation__pack(&op, buf);
	assert_true(n < sizeof(buf));
	assert_int_equal(tt_wire_pb_check_strings(d, buf, n), 0);
	/* Replace the 'b' of "abc" on the wire by a NUL: protobuf-c itself would then
	 * unpack the name as "a". */
	p = memchr(buf, 'b', n);
	assert_non_null(p);
	*p = '\0';
	assert_int_equal(tt_wire_pb_check_strings(d, buf, n), TT_ERR_INVALID_ARGUMENT);
}

static void
test_malformed(void **state)
{
	static const uint8_t *bad[] = {
		(const uint8_t *)"\x0a\x05" "ab",                  /* length past the end */
		(const uint8_t *)"\x0a",                            /* length missing */
		(const uint8_t *)"\x0b\x00",                        /* group start */
		(const uint8_t *)"\x0c",                            /* group end */
		(const uint8_t *)"\x0e\x00",                        /* wire type 6 */
		(const uint8_t *)"\x09\x00\x00",                    /* fixed64 truncated */
		(const uint8_t *)"\x0d\x00",                        /* fixed32 truncated */
		(const uint8_t *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", /* 11-byte varint */
	};
	static const size_t len[] = { 4, 1, 2, 1, 2, 3, 2, 12 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tt_wire_pb_check_strings(&psa_generate_key__operation__descriptor, bad[i],
		    len[i]) != TT_ERR_DESERIALIZE)
			fail_msg("accepted malformed input %zu", i);
		/* and protobuf-c refuses the same input */
		assert_null(protobuf_c_message_unpack(&psa_generate_key__operation__descriptor,
		    NULL, len[i], bad[i]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_bytes_and_unknown_fields),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
