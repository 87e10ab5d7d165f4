/* libFuzzer target: AMD SEV-SNP verification (src/attest/verify/snp.c). Input layout:
 *   u16le collateral_len, collateral (DER/PEM certificates or AMD's certificate table),
 *   report (the rest; 1184 bytes when well formed)
 * The seed is Trustee's test report with its VCEK. Beyond "no crash": a verification of
 * random bytes never yields claims, and the report parser and the claim writer run on
 * every well-sized input directly, since random reports never carry a valid signature. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "snp.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_verify_trust t = { 0 };
	struct tt_verify_in in = { 0 };
	struct tt_verify_result res;
	struct tt_snp_report rep;
	STACK_OF(X509) *sk;
	struct tt_buf b;
	uint16_t cl;
	const uint8_t *c;
	json_t *claims = NULL;
	int r;

	tt_buf_init_ro(&b, data, size);
	if (tt_buf_get_u16le(&b, &cl) != 0 || tt_buf_get_ref(&b, cl, &c) != 0)
		return 0;
	t.collateral = c;
	t.collateral_len = cl;
	in.evidence = tt_buf_ptr(&b);
	in.evidence_len = tt_buf_avail(&b);
	in.now = 1748736000;
	in.trust = &t;
	in.flags = TT_VERIFY_F_NO_BINDING | TT_VERIFY_F_ANY_VMPL;
	r = tt_verify(tt_verifier_find("snp"), &in, &res);
	if ((r == 0) != (res.claims != NULL))
		__builtin_trap();
	tt_verify_result_clear(&res);

	if (tt_snp_report_parse(in.evidence, in.evidence_len, &rep) == 0) {
		if (tt_snp_claims(&rep, (int)(rep.policy % 4) - 1, &claims) != 0)
			__builtin_trap();
		json_decref(claims);
	}
	if ((sk = sk_X509_new_null()) != NULL) {
		(void)tt_snp_cert_table_parse(c, cl, sk);
		sk_X509_pop_free(sk, X509_free);
	}
	return 0;
}
