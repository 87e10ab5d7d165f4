/* libFuzzer target: Arm CCA and virtCCA tokens (src/attest/verify/cca.c, virtcca.c, the
 * CBOR checker and COSE_Sign1 parser of cose.c). Input layout:
 *   u8 which (even: cca, odd: virtcca), u16le collateral_len, collateral (virtCCA's AIK
 *   certificate), token (the rest)
 * Seeds: Veraison's CCA tokens, secGear's virtCCA token with its AIK, and the synthetic
 * virtCCA device's token with a platform token (tests/unit/verify/data/virtcca-syn).
 * Beyond "no crash": claims exactly when verification succeeds; the collection, COSE and
 * claim parsers also run directly on every input, since random tokens never verify. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cca.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse_token(const uint8_t *p, size_t n, bool realm)
{
	struct tt_cose_sign1 s;
	struct tt_cca_realm r;
	cbor_item_t *it = NULL, *m = NULL;
	json_t *j = NULL;
	uint8_t ch[64], inst[33];
	size_t chn;

	if (tt_cose_sign1_parse(p, n, &it, &s) != 0)
		return;
	if (tt_cbor_decode(s.payload, s.payload_len, &m) == 0) {
		if (realm)
			(void)tt_cca_realm_claims(m, &r);
		else if (tt_cca_platform_claims(m, &j, ch, &chn, inst) == 0)
			json_decref(j);
		cbor_decref(&m);
	}
	cbor_decref(&it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_verify_trust t = { 0 };
	struct tt_verify_in in = { 0 };
	struct tt_verify_result res;
	struct tt_cca_collection col;
	struct tt_buf b;
	uint8_t which;
	uint16_t cl;
	const uint8_t *c;
	int r;

	tt_buf_init_ro(&b, data, size);
	if (tt_buf_get_u8(&b, &which) != 0 || tt_buf_get_u16le(&b, &cl) != 0 ||
	    tt_buf_get_ref(&b, cl, &c) != 0)
		return 0;
	t.collateral = c;
	t.collateral_len = cl;
	in.evidence = tt_buf_ptr(&b);
	in.evidence_len = tt_buf_avail(&b);
	in.now = 1748736000;
	in.trust = &t;
	in.flags = TT_VERIFY_F_NO_BINDING;
	r = tt_verify(tt_verifier_find(which % 2 ? "virtcca" : "cca"), &in, &res);
	if ((r == 0) != (res.claims != NULL))
		__builtin_trap();
	tt_verify_result_clear(&res);

	if (tt_cca_collection_parse(in.evidence, in.evidence_len, &col) == 0) {
		if (col.platform != NULL)
			parse_token(col.platform, col.platform_len, false);
		if (col.realm != NULL)
			parse_token(col.realm, col.realm_len, true);
		tt_cca_collection_clear(&col);
	}
	return 0;
}
