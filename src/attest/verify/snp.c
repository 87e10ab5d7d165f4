/* AMD SEV-SNP evidence: in progress (see docs/evidence.md). */
#include "turtle/error.h"
#include "verify.h"

static int
snp_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	(void)in;
	return tt_verify_fail(res, TT_ERR_NOT_SUPPORTED, "AMD SEV-SNP verification is not built yet");
}

const struct tt_verifier tt_verifier_snp = {
	.version = TT_VERIFY_ABI,
	.tee = "snp",
	.name = "AMD SEV-SNP",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN,
	.verify = snp_verify,
};
