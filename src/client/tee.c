/*
 * tt_tee_verify: the public face of the verifier library (src/attest/verify) for
 * `turtle verify` and applications; a result in JSON so the API carries no jansson type.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attest/verify/verify.h"
#include "turtle/error.h"
#include "turtle/tee.h"

const char *
tt_tee_list(void)
{
	static char list[128];

	if (list[0] == '\0') {
		size_t off = 0;

		for (size_t i = 0; tt_verifier_registry[i] != NULL; i++) {
			int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? "," : "",
			    tt_verifier_registry[i]->tee);

			if (n < 0 || (size_t)n >= sizeof(list) - off)
				break;
			off += (size_t)n;
		}
	}
	return list;
}

int
tt_tee_verify(const char *tee, const void *evidence, size_t evidence_len,
	const struct tt_tee_verify_opts *opts, char **result_json)
{
	const struct tt_verifier *v = tt_verifier_find(tee);
	struct tt_verify_trust t = { 0 };
	struct tt_verify_in in = { 0 };
	struct tt_verify_result res = { 0 };
	json_t *o = NULL;
	char *s;
	int r;

	if (result_json != NULL)
		*result_json = NULL;
	if (v == NULL)
		return TT_ERR_NOT_SUPPORTED;
	in.evidence = evidence;
	in.evidence_len = evidence_len;
	in.now = (int64_t)time(NULL);
	in.trust = &t;
	if (opts != NULL) {
		if (opts->now != 0)
			in.now = opts->now;
		in.binding = opts->binding;
		in.binding_len = opts->binding_len;
		in.init_data = opts->init_data;
		in.init_data_len = opts->init_data_len;
		t.collateral = opts->collateral;
		t.collateral_len = opts->collateral_len;
		t.collateral_dir = opts->collateral_dir;
		t.anchors_dir = opts->anchors_dir;
		if (opts->flags & TT_TEE_ANY_VMPL)
			in.flags |= TT_VERIFY_F_ANY_VMPL;
		if (opts->flags & TT_TEE_REQUIRE_CRL)
			in.flags |= TT_VERIFY_F_REQUIRE_CRL;
		if (opts->flags & TT_TEE_ANY_TCB_STATUS)
			in.flags |= TT_VERIFY_F_ANY_TCB_STATUS;
	}
	if (in.binding == NULL)
		in.flags |= TT_VERIFY_F_NO_BINDING;
	r = tt_verify(v, &in, &res);
	if (result_json != NULL) {
		o = json_pack("{s:s,s:s,s:b,s:O?,s:O?,s:O?}", "tee", v->tee, "name", v->name,
		    "verified", r == 0, "claims", res.claims, "chain", res.chain,
		    "reasons", res.reasons);
		if (o == NULL || (s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
			r = r != 0 ? r : TT_ERR_NO_MEMORY;
		} else {
			*result_json = s;
		}
	}
	json_decref(o);
	tt_verify_result_clear(&res);
	return r;
}
