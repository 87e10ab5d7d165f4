/*
 * configfs-tsm blobs -> Trustee evidence JSON (src/attest/verify/tsm.c), the SNP report's
 * sev-crate JSON in both directions (snp_json.c) and AMD's certificate table walker
 * (snp.c), with Trustee's real SNP report and VCEK (data/): the real report survives
 * bytes -> JSON -> bytes unchanged and its JSON reads as the bytes say (offsets read here,
 * not through the code under test); reserved bytes the JSON cannot carry are refused; the
 * table gives each known GUID's certificate with its padding cut, in either GUID byte
 * order, and refuses entries out of range, garbage after a certificate, a missing end and
 * too many entries; each tee's JSON shape, and blobs of the wrong shape refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slurp.h"
#include "snp.h"
#include "tsm.h"
#include "turtle/error.h"

#ifndef TT_VERIFY_DATA
#error "TT_VERIFY_DATA must name the test data directory"
#endif

/* VCEK and ARK GUIDs as text bytes (big-endian fields). */
static const uint8_t guid_vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const uint8_t guid_ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };
static const uint8_t guid_other[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

struct fx {
	uint8_t *rep, *vcek;
	size_t rep_len, vcek_len;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->rep = tt_test_slurp(TT_VERIFY_DATA, "test-report.bin", &f->rep_len);
	f->vcek = tt_test_slurp(TT_VERIFY_DATA, "test-vcek.der", &f->vcek_len);
	assert_int_equal(f->rep_len, TT_SNP_REPORT_LEN);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	free(f->rep);
	free(f->vcek);
	free(f);
	return 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A table of n entries {guid[i], cert padded to 16} and its end; *len set. */
static uint8_t *
table(const uint8_t (*guids)[16], size_t n, const uint8_t *der, size_t dl, size_t *len)
{
	size_t pad = (dl + 15) / 16 * 16, head = 24 * (n + 1), total = head + n * pad;
	uint8_t *t = calloc(1, total);

	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		memcpy(t + 24 * i, guids[i], 16);
		put32(t + 24 * i + 16, (uint32_t)(head + i * pad));
		put32(t + 24 * i + 20, (uint32_t)pad);
		memcpy(t + head + i * pad, der, dl);
	}
	*len = total;
	return t;
}

static int
byte_at(const json_t *arr, size_t i)
{
	return (int)json_integer_value(json_array_get(arr, i));
}

static void
test_report_round_trip(void **state)
{
	struct fx *f = *state;
	uint8_t back[TT_SNP_REPORT_LEN];
	json_t *j = NULL;
	const json_t *rd, *tcb;

	assert_int_equal(tt_snp_report_to_json(f->rep, f->rep_len, &j), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "version")),
	    f->rep[0] | f->rep[1] << 8);
	assert_int_equal(json_integer_value(json_object_get(j, "vmpl")), f->rep[0x30]);
	rd = json_object_get(j, "report_data");
	assert_int_equal(json_array_size(rd), 64);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(byte_at(rd, i), f->rep[0x50 + i]);
	assert_int_equal(byte_at(json_object_get(j, "measurement"), 0), f->rep[0x90]);
	assert_int_equal(byte_at(json_object_get(j, "chip_id"), 63), f->rep[0x1A0 + 63]);
	tcb = json_object_get(j, "reported_tcb");
	assert_int_equal(json_integer_value(json_object_get(tcb, "microcode")), f->rep[0x187]);
	assert_int_equal(byte_at(json_object_get(json_object_get(j, "signature"), "r"), 0),
	    f->rep[0x2A0]);
	assert_int_equal(tt_snp_report_from_json(j, back), 0);
	assert_memory_equal(back, f->rep, TT_SNP_REPORT_LEN);
	json_decref(j);
}

static void
test_report_refused(void **state)
{
	struct fx *f = *state;
	uint8_t r[TT_SNP_REPORT_LEN];
	json_t *j = (json_t *)1;

	memcpy(r, f->rep, sizeof(r));
	r[0x4C] = 1;          /* reserved: the JSON has no field for it */
	assert_int_equal(tt_snp_report_to_json(r, sizeof(r), &j), TT_ERR_DATA_INVALID);
	assert_ptr_equal(j, (json_t *)1);
	memcpy(r, f->rep, sizeof(r));
	r[0x0F] = 0x80;       /* policy above 2^63 */
	assert_int_equal(tt_snp_report_to_json(r, sizeof(r), &j), TT_ERR_DATA_INVALID);
	assert_int_equal(tt_snp_report_to_json(f->rep, TT_SNP_REPORT_LEN - 1, &j),
	    TT_ERR_TRUNCATED);
	assert_ptr_equal(j, (json_t *)1);
}

static void
test_cert_table(void **state)
{
	struct fx *f = *state;
	uint8_t g[3][16], efi[16], *t;
	struct tt_snp_cert_entry ents[4];
	size_t len, n;

	memcpy(g[0], guid_other, 16);
	memcpy(g[1], guid_vcek, 16);
	memcpy(g[2], guid_ark, 16);
	t = table((const uint8_t (*)[16])g, 3, f->vcek, f->vcek_len, &len);
	assert_int_equal(tt_snp_cert_table_walk(t, len, ents, 4, &n), 0);
	assert_int_equal(n, 2);                    /* the unknown GUID is skipped */
	assert_int_equal(ents[0].kind, TT_SNP_CERT_VCEK);
	assert_int_equal(ents[1].kind, TT_SNP_CERT_ARK);
	assert_int_equal(ents[0].len, f->vcek_len);   /* padding cut */
	assert_memory_equal(ents[0].der, f->vcek, f->vcek_len);
	/* a full table with room for one entry */
	assert_int_equal(tt_snp_cert_table_walk(t, len, ents, 1, &n), TT_ERR_LIMIT);
	/* an entry past the table's end */
	put32(t + 24 + 16, (uint32_t)len);
	assert_int_equal(tt_snp_cert_table_walk(t, len, ents, 4, &n), TT_ERR_TRUNCATED);
	free(t);
	/* EFI_GUID byte order (first three fields little-endian) names the same entry */
	memcpy(efi, guid_vcek, 16);
	efi[0] = guid_vcek[3]; efi[1] = guid_vcek[2]; efi[2] = guid_vcek[1]; efi[3] = guid_vcek[0];
	efi[4] = guid_vcek[5]; efi[5] = guid_vcek[4]; efi[6] = guid_vcek[7]; efi[7] = guid_vcek[6];
	t = table((const uint8_t (*)[16])&efi, 1, f->vcek, f->vcek_len, &len);
	assert_int_equal(tt_snp_cert_table_walk(t, len, ents, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ents[0].kind, TT_SNP_CERT_VCEK);
	/* something other than zeros after the certificate, inside its entry */
	if (len > 24 * 2 + f->vcek_len) {
		t[24 * 2 + f->vcek_len] = 0xff;
		assert_int_equal(tt_snp_cert_table_walk(t, len, ents, 4, &n), TT_ERR_DATA_INVALID);
	}
	/* no end entry */
	assert_int_equal(tt_snp_cert_table_walk(t, 24, ents, 4, &n), TT_ERR_TRUNCATED);
	free(t);
	/* more entries than any real table has */
	{
		uint8_t many[24 * 40];

		memset(many, 0, sizeof(many));
		for (int i = 0; i < 39; i++) {
			memcpy(many + 24 * i, guid_other, 16);
			put32(many + 24 * i + 16, 0);
			put32(many + 24 * i + 20, 0);
		}
		assert_int_equal(tt_snp_cert_table_walk(many, sizeof(many), ents, 4, &n),
		    TT_ERR_LIMIT);
	}
}

static void
test_evidence_shapes(void **state)
{
	struct fx *f = *state;
	uint8_t g[1][16], *t, blob[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	json_t *j = NULL;
	const json_t *c;
	size_t len;

	memcpy(g[0], guid_vcek, 16);
	t = table((const uint8_t (*)[16])g, 1, f->vcek, f->vcek_len, &len);
	assert_int_equal(tt_tsm_evidence("snp", f->rep, f->rep_len, t, len, NULL, 0, &j), 0);
	assert_non_null(json_object_get(j, "attestation_report"));
	c = json_array_get(json_object_get(j, "cert_chain"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "cert_type")), "VCEK");
	assert_int_equal(json_array_size(json_object_get(c, "data")), f->vcek_len);
	json_decref(j);
	/* no table: cert_chain is null (the verifier then looks in its collateral) */
	assert_int_equal(tt_tsm_evidence("snp", f->rep, f->rep_len, NULL, 0, NULL, 0, &j), 0);
	assert_true(json_is_null(json_object_get(j, "cert_chain")));
	json_decref(j);
	assert_int_equal(tt_tsm_evidence("snp", f->rep, f->rep_len, t, 10, NULL, 0, &j),
	    TT_ERR_TRUNCATED);
	assert_int_equal(tt_tsm_evidence("snp", blob, sizeof(blob), NULL, 0, NULL, 0, &j),
	    TT_ERR_TRUNCATED);
	free(t);

	assert_int_equal(tt_tsm_evidence("tdx", blob, sizeof(blob), NULL, 0, blob, 3, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "quote")), "AQIDBAUGBwg=");
	assert_string_equal(json_string_value(json_object_get(j, "cc_eventlog")), "AQID");
	json_decref(j);
	assert_int_equal(tt_tsm_evidence("tdx", blob, sizeof(blob), NULL, 0, NULL, 0, &j), 0);
	assert_null(json_object_get(j, "cc_eventlog"));
	json_decref(j);
	assert_int_equal(tt_tsm_evidence("tdx", blob, sizeof(blob), blob, 1, NULL, 0, &j),
	    TT_ERR_DATA_INVALID);

	assert_int_equal(tt_tsm_evidence("cca", blob, sizeof(blob), NULL, 0, NULL, 0, &j), 0);
	assert_int_equal(json_array_size(json_object_get(j, "token")), sizeof(blob));
	assert_int_equal(byte_at(json_object_get(j, "token"), 7), 8);
	json_decref(j);
	assert_int_equal(tt_tsm_evidence("cca", blob, sizeof(blob), blob, 1, NULL, 0, &j),
	    TT_ERR_DATA_INVALID);
	assert_int_equal(tt_tsm_evidence("cca", blob, 0, NULL, 0, NULL, 0, &j),
	    TT_ERR_DATA_INVALID);
	assert_int_equal(tt_tsm_evidence("sgx", blob, sizeof(blob), NULL, 0, NULL, 0, &j),
	    TT_ERR_NOT_SUPPORTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_round_trip),
		cmocka_unit_test(test_report_refused),
		cmocka_unit_test(test_cert_table),
		cmocka_unit_test(test_evidence_shapes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
