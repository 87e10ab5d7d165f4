/*
 * The `tpm` verifier. Until the evidence library (src/attest/evidence) is linked in, the
 * tee type is known but refuses evidence with TT_ERR_NOT_SUPPORTED, so a client gets a
 * clear problem instead of an unknown-tee error.
 */
#include "as.h"
#include "turtle/error.h"

static int
tpm_verify(const struct tt_as_verify_in *in, json_t **claims, const char **reason)
{
	(void)in;
	(void)claims;
	*reason = "tpm evidence verification is not built into this turtle-as yet";
	return TT_ERR_NOT_SUPPORTED;
}

const struct tt_as_verifier tt_as_verifier_tpm = {
	.tee = "tpm",
	.verify = tpm_verify,
};
