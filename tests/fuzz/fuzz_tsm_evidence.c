/* libFuzzer target: configfs-tsm blobs -> Trustee evidence JSON (src/attest/verify/tsm.c),
 * the SNP report's sev-crate JSON (snp_json.c) and AMD's certificate table walker (snp.c).
 * Input layout:
 *   u8 tee (0 snp, 1 tdx, 2 cca, else an unknown tee), u16le auxblob length, auxblob,
 *   u16le CCEL length, CCEL, outblob (the rest)
 * Beyond "no crash": an SNP result's report reads back to exactly the outblob, every
 * table entry lies inside the table, and a report the JSON cannot carry whole is refused
 * rather than changed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snp.h"
#include "tsm.h"
#include "turtle/error.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tees[] = { "snp", "tdx", "cca", "sgx" };
	struct tt_snp_cert_entry ents[8];
	uint8_t back[TT_SNP_REPORT_LEN];
	const uint8_t *aux, *ccel;
	uint16_t al, cl;
	uint8_t t;
	struct tt_buf b;
	json_t *j = NULL;
	size_t n;
	int r;

	tt_buf_init_ro(&b, data, size);
	if (tt_buf_get_u8(&b, &t) != 0 || tt_buf_get_u16le(&b, &al) != 0 ||
	    tt_buf_get_ref(&b, al, &aux) != 0 || tt_buf_get_u16le(&b, &cl) != 0 ||
	    tt_buf_get_ref(&b, cl, &ccel) != 0)
		return 0;
	r = tt_tsm_evidence(tees[t % 4], tt_buf_ptr(&b), tt_buf_avail(&b), aux, al, ccel, cl, &j);
	if (r == 0 && t % 4 == 0) {
		if (tt_snp_report_from_json(json_object_get(j, "attestation_report"), back) != 0 ||
		    tt_buf_avail(&b) != TT_SNP_REPORT_LEN ||
		    memcmp(back, tt_buf_ptr(&b), TT_SNP_REPORT_LEN) != 0)
			__builtin_trap();
	}
	if (r == 0 && t % 4 == 3)
		__builtin_trap();
	json_decref(j);
	if (tt_snp_cert_table_walk(aux, al, ents, 8, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (ents[i].der < aux || ents[i].len > al ||
			    (size_t)(ents[i].der - aux) > al - ents[i].len)
				__builtin_trap();
	return 0;
}
