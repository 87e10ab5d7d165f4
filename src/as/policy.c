/*
 * Policy engines. The built-in `default` engine: every measured claim must equal one valid
 * reference value of its name. All claims matching -> affirming; a claim with no reference
 * value of its name -> warning (unknown); a claim whose name has reference values but none
 * equal -> contraindicated. No claims at all -> none. The sample attester proves nothing,
 * so its result is capped at warning unless the policy document sets
 * "sample_affirming": true (a test-only switch, documented as such).
 *
 * Trustworthiness vector values follow AR4SI: 2 = approved, 32 = unrecognized /
 * not verified, 96 = contraindicated; claims are sorted into "executables" (boot
 * components, IMA file digests) and "configuration" (everything else: PCRs, cmdline).
 */
#include <string.h>

#include "as.h"
#include "turtle/error.h"

#define TV_AFFIRMING 2
#define TV_WARNING 32
#define TV_CONTRA 96

const char *
tt_as_tier_name(enum tt_ear_tier t)
{
	switch (t) {
	case TT_TIER_AFFIRMING: return "affirming";
	case TT_TIER_WARNING: return "warning";
	case TT_TIER_CONTRAINDICATED: return "contraindicated";
	default: return "none";
	}
}

static enum tt_ear_tier
worse(enum tt_ear_tier a, enum tt_ear_tier b)
{
	return a > b ? a : b;
}

static int
tv_value(enum tt_ear_tier t)
{
	return t == TT_TIER_AFFIRMING ? TV_AFFIRMING :
	    t == TT_TIER_CONTRAINDICATED ? TV_CONTRA : TV_WARNING;
}

static bool
is_executable(const char *name)
{
	return strncmp(name, "boot.", 5) == 0 || strncmp(name, "ima.", 4) == 0;
}

static int
default_appraise(const json_t *claims, const json_t *refvals, const struct tt_as_policy_ctx *ctx,
	json_t **submod, enum tt_ear_tier *tier)
{
	const json_t *meas = json_object_get(claims, "measurements"), *v;
	enum tt_ear_tier t_exec = TT_TIER_NONE, t_conf = TT_TIER_NONE, t, status;
	json_t *reasons = json_array(), *tv = json_object(), *out = NULL;
	const char *name;
	char msg[512];
	int r = TT_ERR_NO_MEMORY;

	if (reasons == NULL || tv == NULL)
		goto out;
	json_object_foreach((json_t *)meas, name, v) {
		const json_t *refs = json_object_get(refvals, name), *rv;
		const char *why = NULL;
		size_t i;

		t = TT_TIER_CONTRAINDICATED;
		if (json_array_size(refs) == 0) {
			t = TT_TIER_WARNING;
			why = "no reference value";
		} else {
			json_array_foreach(refs, i, rv)
				if (json_equal((json_t *)rv, (json_t *)v))
					t = TT_TIER_AFFIRMING;
			if (t != TT_TIER_AFFIRMING)
				why = "does not match any reference value";
		}
		if (why != NULL) {
			snprintf(msg, sizeof(msg), "%.200s: %s", name, why);
			if (json_array_append_new(reasons, json_string(msg)) != 0)
				goto out;
		}
		if (is_executable(name))
			t_exec = t_exec == TT_TIER_NONE ? t : worse(t_exec, t);
		else
			t_conf = t_conf == TT_TIER_NONE ? t : worse(t_conf, t);
	}
	status = t_exec == TT_TIER_NONE ? t_conf :
	    t_conf == TT_TIER_NONE ? t_exec : worse(t_exec, t_conf);
	if (t_exec != TT_TIER_NONE &&
	    json_object_set_new(tv, "executables", json_integer(tv_value(t_exec))) != 0)
		goto out;
	if (t_conf != TT_TIER_NONE &&
	    json_object_set_new(tv, "configuration", json_integer(tv_value(t_conf))) != 0)
		goto out;
	if (strcmp(ctx->tee, "sample") == 0 &&
	    !json_is_true(json_object_get(ctx->policy, "sample_affirming"))) {
		/* Nothing vouches for sample evidence: say so in the vector. */
		if (json_object_set_new(tv, "hardware", json_integer(TV_WARNING)) != 0 ||
		    json_array_append_new(reasons,
		    json_string("sample attester: claims are not backed by hardware")) != 0)
			goto out;
		if (status == TT_TIER_AFFIRMING)
			status = TT_TIER_WARNING;
	}
	out = json_pack("{s:s,s:O,s:O}", "ear.status", tt_as_tier_name(status),
	    "ear.trustworthiness-vector", tv, "turtle.reasons", reasons);
	if (out == NULL)
		goto out;
	*submod = out;
	*tier = status;
	r = 0;
out:
	json_decref(reasons);
	json_decref(tv);
	return r;
}

const struct tt_as_policy_engine tt_as_policy_default = {
	.name = "default",
	.appraise = default_appraise,
};

static const struct tt_as_policy_engine *const engines[] = {
	&tt_as_policy_default,
};

const struct tt_as_policy_engine *
tt_as_policy_find(const char *name)
{
	if (name == NULL)
		name = "default";
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}
