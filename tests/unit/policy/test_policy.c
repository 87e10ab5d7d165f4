/* Unit tests of src/policy: the default engine and the rules every engine is held to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "turtle/error.h"

static const char *const tpm_owned[] = { "pcr.", "boot.", "kernel_cmdline", NULL };
static const char *const all_owned[] = { "", NULL };

/* Appraise through the whole pipeline an engine is run in: required names, compile,
 * eval, enforce. *reasons (optional) gets the reasons array. */
static enum tt_ear_status
appraise(const char *tee, const char *claims, const char *refs, const char *doc,
	json_t **reasons)
{
	const struct tt_policy_engine *eng = tt_policy_find(NULL);
	json_t *c = json_loads(claims, 0, NULL), *r = json_loads(refs, 0, NULL);
	json_t *d = doc != NULL ? json_loads(doc, 0, NULL) : NULL, *sm = NULL, *req = NULL;
	struct tt_policy_input in = { 0 };
	enum tt_ear_status st = TT_EAR_STATUS_NONE;
	const char *why = NULL;
	void *prog = NULL;

	assert_non_null(c);
	assert_non_null(r);
	assert_int_equal(tt_policy_required(r, d, strcmp(tee, "tpm") == 0 ? tpm_owned :
	    all_owned, &req, &why), 0);
	assert_int_equal(eng->compile(d, &prog, &why), 0);
	in.tee = tee;
	in.group = "default";
	in.claims = c;
	in.refvals = r;
	in.required = req;
	in.doc = d;
	assert_int_equal(eng->eval(prog, &in, &sm, &st), 0);
	assert_int_equal(tt_policy_enforce(&in, sm, &st), 0);
	assert_string_equal(json_string_value(json_object_get(sm, "ear.status")),
	    tt_ear_status_name(st));
	if (reasons != NULL)
		*reasons = json_incref(json_object_get(sm, "turtle.reasons"));
	eng->release(prog);
	json_decref(sm);
	json_decref(req);
	json_decref(c);
	json_decref(r);
	json_decref(d);
	return st;
}

static bool
has_reason(const json_t *reasons, const char *needle)
{
	const json_t *v;
	size_t i;

	json_array_foreach(reasons, i, v)
		if (strstr(json_string_value(v), needle) != NULL)
			return true;
	return false;
}

static void
test_default_verdicts(void **state)
{
	const char *refs = "{\"pcr.sha256.0\":[\"aa\",\"bb\"],\"boot.app.0\":[\"k\"]}";

	(void)state;
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"bb\","
	    "\"boot.app.0\":\"k\"}}", refs, NULL, NULL), TT_EAR_STATUS_AFFIRMING);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"cc\","
	    "\"boot.app.0\":\"k\"}}", refs, NULL, NULL), TT_EAR_STATUS_CONTRAINDICATED);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"aa\","
	    "\"boot.app.0\":\"k\",\"pcr.sha256.9\":\"zz\"}}", refs, NULL, NULL),
	    TT_EAR_STATUS_WARNING);
	/* contraindicated beats warning */
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"cc\","
	    "\"boot.app.0\":\"k\",\"x\":\"1\"}}", refs, NULL, NULL),
	    TT_EAR_STATUS_CONTRAINDICATED);
	/* nothing measured, nothing required: none */
	assert_int_equal(appraise("tpm", "{\"measurements\":{}}", "{}", NULL, NULL),
	    TT_EAR_STATUS_NONE);
	assert_non_null(tt_policy_find("default"));
	assert_null(tt_policy_find("no-such-engine"));
}

/* Finding 1 of issue 8: a PCR the reference values name but the quote omitted. */
static void
test_required_by_reference_value(void **state)
{
	const char *refs = "{\"pcr.sha256.0\":[\"aa\"],\"pcr.sha256.7\":[\"77\"],"
	    "\"ima./bin/sh\":[\"11\"]}";
	json_t *reasons = NULL;

	(void)state;
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"aa\"}}", refs,
	    NULL, &reasons), TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(reasons, "pcr.sha256.7: required, but the quote does not cover it"));
	/* IMA reference values are an allow-list: a file never run is not required */
	assert_false(has_reason(reasons, "ima./bin/sh"));
	json_decref(reasons);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"aa\","
	    "\"pcr.sha256.7\":\"77\"}}", refs, NULL, NULL), TT_EAR_STATUS_AFFIRMING);
	/* nothing measured but something required: contraindicated, not none */
	assert_int_equal(appraise("tpm", "{\"measurements\":{}}", refs, NULL, NULL),
	    TT_EAR_STATUS_CONTRAINDICATED);
}

static void
test_required_by_policy(void **state)
{
	const char *doc = "{\"required_pcrs\":{\"sha256\":[0,16],\"sha1\":[10]},"
	    "\"required_claims\":[\"kernel_cmdline\"]}";
	const char *refs = "{\"pcr.sha256.0\":[\"aa\"]}";
	json_t *reasons = NULL, *req = NULL, *d = json_loads(doc, 0, NULL);
	json_t *r = json_loads(refs, 0, NULL);
	const char *why = NULL;

	(void)state;
	assert_int_equal(tt_policy_required(r, d, tpm_owned, &req, &why), 0);
	json_decref(r);
	assert_int_equal(json_array_size(req), 4);
	assert_string_equal(json_string_value(json_array_get(req, 0)), "kernel_cmdline");
	assert_string_equal(json_string_value(json_array_get(req, 1)), "pcr.sha1.10");
	assert_string_equal(json_string_value(json_array_get(req, 2)), "pcr.sha256.0");
	assert_string_equal(json_string_value(json_array_get(req, 3)), "pcr.sha256.16");
	json_decref(req);
	json_decref(d);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"aa\","
	    "\"pcr.sha256.16\":\"10\",\"pcr.sha1.10\":\"01\"}}", refs, doc, &reasons),
	    TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(reasons, "kernel_cmdline: required but absent"));
	json_decref(reasons);
	/* present but without a reference value: known to be there, not known good */
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"pcr.sha256.0\":\"aa\","
	    "\"pcr.sha256.16\":\"10\",\"pcr.sha1.10\":\"01\",\"kernel_cmdline\":\"ro\"}}", refs,
	    doc, NULL), TT_EAR_STATUS_WARNING);
}

/* Finding 4: every entry of a history counts, not the last one. */
static void
test_history(void **state)
{
	const char *refs = "{\"ima./usr/bin/x\":[\"good\"]}";
	json_t *reasons = NULL;

	(void)state;
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"ima./usr/bin/x\":"
	    "[\"trojan\",\"good\"]}}", refs, NULL, &reasons), TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(reasons, "ima./usr/bin/x: entry 1 of 2"));
	json_decref(reasons);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"ima./usr/bin/x\":[\"good\"]}}",
	    refs, NULL, NULL), TT_EAR_STATUS_AFFIRMING);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"ima./usr/bin/x\":[]}}",
	    refs, NULL, NULL), TT_EAR_STATUS_CONTRAINDICATED);
	assert_int_equal(appraise("tpm", "{\"measurements\":{\"ima./usr/bin/x\":[\"good\",3]}}",
	    refs, NULL, NULL), TT_EAR_STATUS_CONTRAINDICATED);
}

static void
test_sample_cap(void **state)
{
	const char *refs = "{\"svn\":[\"1\"],\"other\":[\"2\"]}";
	json_t *reasons = NULL;

	(void)state;
	assert_int_equal(appraise("sample", "{\"measurements\":{\"svn\":\"1\",\"other\":\"2\"}}",
	    refs, NULL, NULL), TT_EAR_STATUS_WARNING);
	assert_int_equal(appraise("sample", "{\"measurements\":{\"svn\":\"1\",\"other\":\"2\"}}",
	    refs, "{\"sample_affirming\":false}", NULL), TT_EAR_STATUS_WARNING);
	assert_int_equal(appraise("sample", "{\"measurements\":{\"svn\":\"1\",\"other\":\"2\"}}",
	    refs, "{\"sample_affirming\":true}", NULL), TT_EAR_STATUS_AFFIRMING);
	/* sample owns every name: a reference value it does not show is required */
	assert_int_equal(appraise("sample", "{\"measurements\":{\"svn\":\"1\"}}", refs,
	    "{\"sample_affirming\":true}", &reasons), TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(reasons, "other: required"));
	json_decref(reasons);
}

/* An engine that affirms everything is still held to the rules. */
static void
test_enforce_overrides_engine(void **state)
{
	json_t *claims = json_loads("{\"measurements\":{\"a\":\"1\"}}", 0, NULL);
	json_t *req = json_loads("[\"a\",\"b\"]", 0, NULL);
	json_t *sm = json_pack("{s:s,s:{},s:[]}", "ear.status", "affirming",
	    "ear.trustworthiness-vector", "turtle.reasons");
	struct tt_policy_input in = { .tee = "tpm", .claims = claims, .required = req };
	enum tt_ear_status st = TT_EAR_STATUS_AFFIRMING;

	(void)state;
	assert_int_equal(tt_policy_enforce(&in, sm, &st), 0);
	assert_int_equal(st, TT_EAR_STATUS_CONTRAINDICATED);
	assert_string_equal(json_string_value(json_object_get(sm, "ear.status")),
	    "contraindicated");
	assert_true(has_reason(json_object_get(sm, "turtle.reasons"), "b: required"));
	json_decref(sm);
	json_decref(req);
	json_decref(claims);
}

/* A verifier's contraindication (a debug-state platform) beats every matching value. */
static void
test_contraindications(void **state)
{
	json_t *reasons = NULL;

	(void)state;
	assert_int_equal(appraise("virtcca", "{\"measurements\":{\"vcca.cvm.rim\":\"aa\"},"
	    "\"contraindications\":[\"vcca.platform.lifecycle: 0x5000 is not secured\"]}",
	    "{\"vcca.cvm.rim\":[\"aa\"]}", NULL, &reasons), TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(reasons, "0x5000 is not secured"));
	json_decref(reasons);
	assert_int_equal(appraise("virtcca", "{\"measurements\":{\"vcca.cvm.rim\":\"aa\"},"
	    "\"contraindications\":[]}", "{\"vcca.cvm.rim\":[\"aa\"]}", NULL, NULL),
	    TT_EAR_STATUS_AFFIRMING);
}

static void
test_reasons_bounded(void **state)
{
	json_t *meas = json_object(), *claims, *reasons = NULL;
	char name[32], *text;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "ima./f%d", i);
		json_object_set_new(meas, name, json_string("00"));
	}
	claims = json_pack("{s:o}", "measurements", meas);
	text = json_dumps(claims, JSON_COMPACT);
	assert_int_equal(appraise("tpm", text, "{}", NULL, &reasons), TT_EAR_STATUS_WARNING);
	assert_int_equal(json_array_size(reasons), TT_POLICY_MAX_REASONS + 1);
	assert_true(has_reason(reasons, "and 2968 more reasons"));
	free(text);
	json_decref(reasons);
	json_decref(claims);
}

static void
test_document_checks(void **state)
{
	static const char *const bad[] = {
		"[]", "{\"engine\":1}", "{\"sample_affirming\":\"yes\"}",
		"{\"required_pcrs\":{\"md5\":[0]}}", "{\"required_pcrs\":{\"sha256\":[24]}}",
		"{\"required_pcrs\":{\"sha256\":\"0\"}}", "{\"required_claims\":[\"\"]}",
		"{\"required_claims\":\"kernel_cmdline\"}", "{\"id\":5}",
	};
	const char *why = NULL;
	void *prog = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = json_loads(bad[i], JSON_DECODE_ANY, NULL);

		assert_non_null(d);
		why = NULL;
		assert_int_equal(tt_policy_default.compile(d, &prog, &why), TT_ERR_INVALID_ARGUMENT);
		assert_non_null(why);
		json_decref(d);
	}
	assert_int_equal(tt_policy_check_doc(NULL, &why), 0);
	assert_int_equal(tt_policy_init_all(), 0);
	tt_policy_fini_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_verdicts),
		cmocka_unit_test(test_contraindications),
		cmocka_unit_test(test_required_by_reference_value),
		cmocka_unit_test(test_required_by_policy),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_sample_cap),
		cmocka_unit_test(test_enforce_overrides_engine),
		cmocka_unit_test(test_reasons_bounded),
		cmocka_unit_test(test_document_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
