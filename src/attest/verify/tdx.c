/* Intel TDX evidence: a TD quote (v4 or v5) with DCAP collateral, optionally the CC event
 * log (dcap.h, dcap_tee.c; docs/evidence.md). */
#include "dcap_tee.h"

static int tdx_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	return tt_dcap_tee_verify(in, res, true);
}

const struct tt_verifier tt_verifier_tdx = {
	.version = TT_VERIFY_ABI,
	.tee = "tdx",
	.name = "Intel TDX",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN | TT_VERIFY_CAP_CRL |
		TT_VERIFY_CAP_COLLATERAL | TT_VERIFY_CAP_EVENTLOG | TT_VERIFY_CAP_TCB_STATUS,
	.verify = tdx_verify,
};
