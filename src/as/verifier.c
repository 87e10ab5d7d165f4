/*
 * Verifier plugins: one table entry per tee type. `sample` is the software-only attester
 * for machines without a TPM or TEE: its claims are signed by nothing, so only the binding
 * to the challenge is checked, and the policy never lets its result be affirming unless a
 * policy explicitly says so (tests). `tpm` is in verifier_tpm.c; snp, cca, virtcca, tdx
 * and sgx are in verifier_tee.c.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "as.h"
#include "turtle/error.h"

#define SAMPLE_MAX_CLAIMS 1024u
#define SAMPLE_MAX_VALUE 4096u

static const struct tt_as_verifier *const verifiers[] = {
	&tt_as_verifier_sample,
	&tt_as_verifier_tpm,
	&tt_as_verifier_snp,
	&tt_as_verifier_cca,
	&tt_as_verifier_virtcca,
	&tt_as_verifier_tdx,
	&tt_as_verifier_sgx,
};

const struct tt_as_verifier *
tt_as_verifier_find(const char *tee)
{
	if (tee == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(verifiers) / sizeof(verifiers[0]); i++)
		if (strcmp(verifiers[i]->tee, tee) == 0)
			return verifiers[i];
	return NULL;
}

/* report_data equals the binding, or the binding zero-padded to 64 bytes (the report-data
 * size TEEs use, and how Trustee's attesters fill it). */
static bool
binding_eq(const uint8_t *rd, size_t rdlen, const uint8_t *b, size_t blen)
{
	uint8_t z = 0;

	if (rdlen == blen)
		return CRYPTO_memcmp(rd, b, blen) == 0;
	if (rdlen != 64 || blen > 64)
		return false;
	for (size_t i = blen; i < rdlen; i++)
		z |= rd[i];
	return (CRYPTO_memcmp(rd, b, blen) | z) == 0;
}

/*
 * Sample evidence: {"report_data": base64(binding), "claims": {name: string, ...},
 * "svn": any}. report_data must equal the binding (the native nonce, or the KBS runtime
 * data hash) byte for byte.
 */
static int
sample_verify(const struct tt_as_verify_in *in, json_t **claims, const char **reason)
{
	const json_t *ev = in->evidence, *cl, *v;
	const char *rd = json_string_value(json_object_get(ev, "report_data"));
	const char *k;
	json_t *out = NULL, *meas = NULL;
	uint8_t *bin = NULL;
	size_t binlen = 0;
	int r = TT_ERR_INVALID_ARGUMENT;

	*reason = "malformed sample evidence";
	if (!json_is_object(ev) || rd == NULL)
		goto out;
	cl = json_object_get(ev, "claims");
	if (cl != NULL && (!json_is_object(cl) || json_object_size(cl) > SAMPLE_MAX_CLAIMS))
		goto out;
	if (tt_as_b64_dec(rd, &bin, &binlen) != 0)
		goto out;
	if (!binding_eq(bin, binlen, in->binding, in->binding_len)) {
		*reason = "report_data does not match the challenge";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if ((meas = json_object()) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	json_object_foreach((json_t *)cl, k, v) {
		if (!json_is_string(v) || json_string_length(v) > SAMPLE_MAX_VALUE)
			goto out;
		if (json_object_set(meas, k, (json_t *)v) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
	/* Trustee's sample attester sends only {svn, report_data}: its svn is the measurement. */
	if (cl == NULL && json_is_string(json_object_get(ev, "svn")) &&
	    json_string_length(json_object_get(ev, "svn")) <= SAMPLE_MAX_VALUE &&
	    json_object_set(meas, "svn", json_object_get(ev, "svn")) != 0) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	out = json_pack("{s:s,s:O}", "tee", "sample", "measurements", meas);
	if (out == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	/* Informational, and it must have a canonical form (no reals): a string or an
	 * integer, as the attesters send it. */
	if (json_is_string(json_object_get(ev, "svn")) || json_is_integer(json_object_get(ev, "svn")))
		json_object_set(out, "svn", json_object_get(ev, "svn"));
	*claims = out;
	*reason = NULL;
	r = 0;
out:
	free(bin);
	json_decref(meas);
	return r;
}

/* Sample claims are whatever names the attester chose, so every reference value of the
 * group is required of it. */
static const char *const sample_owned[] = { "", NULL };

const struct tt_as_verifier tt_as_verifier_sample = {
	.tee = "sample",
	.verify = sample_verify,
	.owned = sample_owned,
};
