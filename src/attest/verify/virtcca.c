/* Huawei virtCCA evidence: in progress (see docs/evidence.md). */
#include "turtle/error.h"
#include "verify.h"

static int
virtcca_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	(void)in;
	return tt_verify_fail(res, TT_ERR_NOT_SUPPORTED, "Huawei virtCCA verification is not built yet");
}

const struct tt_verifier tt_verifier_virtcca = {
	.version = TT_VERIFY_ABI,
	.tee = "virtcca",
	.name = "Huawei virtCCA",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN,
	.verify = virtcca_verify,
};
