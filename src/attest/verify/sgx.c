/* Intel SGX evidence: an enclave quote (v3) with DCAP collateral (dcap.h, dcap_tee.c;
 * docs/evidence.md). */
#include "dcap_tee.h"

static int sgx_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	return tt_dcap_tee_verify(in, res, false);
}

const struct tt_verifier tt_verifier_sgx = {
	.version = TT_VERIFY_ABI,
	.tee = "sgx",
	.name = "Intel SGX",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN | TT_VERIFY_CAP_CRL |
		TT_VERIFY_CAP_COLLATERAL | TT_VERIFY_CAP_TCB_STATUS,
	.verify = sgx_verify,
};
