/*
 * The verifiers this build has, one table each (as src/providers/registry.c lists the
 * providers). Adding a TEE: one file with a `const struct tt_verifier`, one line below.
 */
#include <string.h>

#include "turtle/error.h"
#include "verify.h"

extern const struct tt_verifier tt_verifier_snp;
extern const struct tt_verifier tt_verifier_cca;
extern const struct tt_verifier tt_verifier_virtcca;
extern const struct tt_verifier tt_verifier_tdx;
extern const struct tt_verifier tt_verifier_sgx;

const struct tt_verifier *const tt_verifier_registry[] = {
	&tt_verifier_snp,
	&tt_verifier_cca,
	&tt_verifier_virtcca,
	&tt_verifier_tdx,
	&tt_verifier_sgx,
	NULL,
};

const struct tt_verifier *
tt_verifier_find(const char *tee)
{
	if (tee == NULL)
		return NULL;
	for (size_t i = 0; tt_verifier_registry[i] != NULL; i++)
		if (strcmp(tt_verifier_registry[i]->tee, tee) == 0)
			return tt_verifier_registry[i];
	return NULL;
}

void
tt_verify_result_clear(struct tt_verify_result *res)
{
	if (res == NULL)
		return;
	json_decref(res->claims);
	json_decref(res->chain);
	json_decref(res->reasons);
	res->claims = res->chain = res->reasons = NULL;
}

int
tt_verify(const struct tt_verifier *v, const struct tt_verify_in *in,
    struct tt_verify_result *res)
{
	int r;

	if (res == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	res->claims = NULL;
	if ((res->chain = json_array()) == NULL || (res->reasons = json_array()) == NULL) {
		tt_verify_result_clear(res);
		return TT_ERR_NO_MEMORY;
	}
	if (v == NULL || in == NULL || v->version != TT_VERIFY_ABI || v->verify == NULL)
		return tt_verify_fail(res, TT_ERR_INVALID_ARGUMENT, "no usable verifier");
	if (in->evidence == NULL || in->evidence_len == 0)
		return tt_verify_fail(res, TT_ERR_INVALID_ARGUMENT, "no evidence");
	if (in->evidence_len > TT_VERIFY_MAX_EVIDENCE)
		return tt_verify_fail(res, TT_ERR_LIMIT, "evidence larger than %u bytes",
		    TT_VERIFY_MAX_EVIDENCE);
	if (in->trust != NULL && in->trust->collateral_len > TT_VERIFY_MAX_COLLATERAL)
		return tt_verify_fail(res, TT_ERR_LIMIT, "collateral larger than %u bytes",
		    TT_VERIFY_MAX_COLLATERAL);
	if (!(in->flags & TT_VERIFY_F_NO_BINDING) &&
	    (in->binding == NULL || in->binding_len == 0 ||
	    in->binding_len > TT_VERIFY_MAX_BINDING))
		return tt_verify_fail(res, TT_ERR_INVALID_ARGUMENT,
		    "a binding of 1 to %u bytes is required", TT_VERIFY_MAX_BINDING);
	r = v->verify(in, res);
	if (r != 0) {
		/* Claims never leave a failed verification, whatever the verifier did. */
		json_decref(res->claims);
		res->claims = NULL;
		if (json_array_size(res->reasons) == 0)
			tt_verify_fail(res, r, "%s verification failed", v->tee);
	} else if (res->claims == NULL) {
		return tt_verify_fail(res, TT_ERR_GENERIC, "%s verifier produced no claims",
		    v->tee);
	}
	return r;
}
