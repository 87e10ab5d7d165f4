/*
 * The default policy engine. Every measurement is compared with the valid reference
 * values of its name: every value matching -> affirming; a name with no reference value
 * -> warning ("unknown"); a name whose reference values do not include a value ->
 * contraindicated. For a history (an array value, e.g. every IMA measurement of one path)
 * each entry must match: a trojan measured once and later replaced is still seen. Every
 * required name absent from the evidence -> contraindicated. Nothing measured and nothing
 * required -> none.
 *
 * Trustworthiness vector values follow AR4SI: 2 = approved, 32 = unrecognized / not
 * verified, 96 = contraindicated; measurements are sorted into "executables" (boot
 * components, IMA file digests) and "configuration" (everything else: PCRs, cmdline).
 */
#include <string.h>

#include "policy.h"
#include "turtle/error.h"

#define TV_AFFIRMING 2
#define TV_WARNING 32
#define TV_CONTRA 96

static enum tt_ear_status
worse(enum tt_ear_status a, enum tt_ear_status b)
{
	if (a == TT_EAR_STATUS_NONE)
		return b;
	return a > b ? a : b;
}

static int
tv_value(enum tt_ear_status t)
{
	return t == TT_EAR_STATUS_AFFIRMING ? TV_AFFIRMING :
	    t == TT_EAR_STATUS_CONTRAINDICATED ? TV_CONTRA : TV_WARNING;
}

static bool
is_executable(const char *name)
{
	return strncmp(name, "boot.", 5) == 0 || strncmp(name, "ima.", 4) == 0;
}

static bool
in_refs(const json_t *refs, const json_t *v)
{
	const json_t *rv;
	size_t i;

	json_array_foreach(refs, i, rv)
		if (json_equal((json_t *)rv, (json_t *)v))
			return true;
	return false;
}

static int
default_compile(const json_t *doc, void **prog, const char **reason)
{
	int r;

	if ((r = tt_policy_check_doc(doc, reason)) != 0)
		return r;
	/* Nothing to compile: the program is the document itself. */
	*prog = doc != NULL ? json_incref((json_t *)doc) : NULL;
	return 0;
}

static void
default_release(void *prog)
{
	json_decref(prog);
}

/* Appraise one measurement (a string or a history) against its reference values. */
static int
appraise_one(const char *name, const json_t *v, const json_t *refs, json_t *reasons,
	size_t *dropped, enum tt_ear_status *t)
{
	const json_t *e;
	size_t i, n;

	if (json_array_size(refs) == 0) {
		*t = TT_EAR_STATUS_WARNING;
		return tt_policy_reason(reasons, dropped, "%.256s: no reference value", name);
	}
	if (json_is_string(v)) {
		*t = in_refs(refs, v) ? TT_EAR_STATUS_AFFIRMING : TT_EAR_STATUS_CONTRAINDICATED;
		if (*t == TT_EAR_STATUS_AFFIRMING)
			return 0;
		return tt_policy_reason(reasons, dropped,
		    "%.256s: does not match any reference value", name);
	}
	*t = TT_EAR_STATUS_CONTRAINDICATED;
	if (!json_is_array(v) || (n = json_array_size(v)) == 0)
		return tt_policy_reason(reasons, dropped, "%.256s: malformed measurement", name);
	*t = TT_EAR_STATUS_AFFIRMING;
	json_array_foreach(v, i, e) {
		if (json_is_string(e) && in_refs(refs, e))
			continue;
		*t = TT_EAR_STATUS_CONTRAINDICATED;
		/* One reason per name: the first entry that failed tells where to look. */
		return tt_policy_reason(reasons, dropped, "%.256s: entry %zu of %zu does not "
		    "match any reference value", name, i + 1, n);
	}
	return 0;
}

static int
default_eval(const void *prog, const struct tt_policy_input *in, json_t **submod,
	enum tt_ear_status *status)
{
	const json_t *meas = json_object_get(in->claims, "measurements"), *v;
	enum tt_ear_status t_exec = TT_EAR_STATUS_NONE, t_conf = TT_EAR_STATUS_NONE, t, st;
	json_t *reasons = json_array(), *tv = json_object(), *out = NULL;
	const char *name;
	size_t i, dropped = 0;
	int r = TT_ERR_NO_MEMORY;

	(void)prog;
	if (reasons == NULL || tv == NULL)
		goto out;
	json_object_foreach((json_t *)meas, name, v) {
		if ((r = appraise_one(name, v, json_object_get(in->refvals, name), reasons,
		    &dropped, &t)) != 0)
			goto out;
		if (is_executable(name))
			t_exec = worse(t_exec, t);
		else
			t_conf = worse(t_conf, t);
	}
	/* The absence of evidence is never a pass. */
	json_array_foreach(in->required, i, v) {
		name = json_string_value(v);
		if (name == NULL || json_object_get(meas, name) != NULL)
			continue;
		if ((r = tt_policy_reason(reasons, &dropped, strncmp(name, "pcr.", 4) == 0 ?
		    "%.256s: required, but the quote does not cover it" :
		    "%.256s: required but absent from the evidence", name)) != 0)
			goto out;
		if (is_executable(name))
			t_exec = worse(t_exec, TT_EAR_STATUS_CONTRAINDICATED);
		else
			t_conf = worse(t_conf, TT_EAR_STATUS_CONTRAINDICATED);
	}
	r = TT_ERR_NO_MEMORY;
	if (tt_policy_reasons_close(reasons, dropped) != 0)
		goto out;
	st = worse(t_exec, t_conf);
	if (t_exec != TT_EAR_STATUS_NONE &&
	    json_object_set_new(tv, "executables", json_integer(tv_value(t_exec))) != 0)
		goto out;
	if (t_conf != TT_EAR_STATUS_NONE &&
	    json_object_set_new(tv, "configuration", json_integer(tv_value(t_conf))) != 0)
		goto out;
	out = json_pack("{s:s,s:O,s:O}", "ear.status", tt_ear_status_name(st),
	    "ear.trustworthiness-vector", tv, "turtle.reasons", reasons);
	if (out == NULL)
		goto out;
	*submod = out;
	*status = st;
	r = 0;
out:
	json_decref(reasons);
	json_decref(tv);
	return r;
}

const struct tt_policy_engine tt_policy_default = {
	.abi = TT_POLICY_ABI,
	.name = "default",
	.compile = default_compile,
	.eval = default_eval,
	.release = default_release,
};
