/*
 * Unit tests of src/policy/rego (the interpreter's API, errors and limits) and of the
 * Rego policy engine (src/policy/rego_engine.c): a Trustee-style EAR appraisal policy and
 * a KBS resource policy, each with expected outputs worked out by hand from OPA's
 * documented semantics. OPA's own cases run in tests/rego (turtle-rego-conformance).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "rego_engine.h"
#include "rego/rego.h"
#include "turtle/error.h"

/* Compile one module; evaluate a query; return the results as compact JSON text (caller
 * frees) or NULL with *rc and *e on an error. */
static char *run(const char *src, const char *query, const char *input,
	const struct tt_rego_limits *lim, int *rc, struct tt_rego_err *e)
{
	const char *names[] = { "t.rego" }, *srcs[] = { src };
	size_t lens[] = { strlen(src) };
	struct tt_rego *r = NULL;
	json_t *in = input ? json_loads(input, JSON_DECODE_ANY, NULL) : NULL, *res = NULL;
	char *out = NULL;
	*rc = tt_rego_compile(1, names, srcs, lens, lim, &r, e);
	if (*rc == 0) {
		*rc = tt_rego_eval(r, query, in, NULL, NULL, &res, e);
		if (*rc == 0)
			out = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
	}
	json_decref(res);
	json_decref(in);
	tt_rego_free(r);
	return out;
}

static void expect(const char *src, const char *query, const char *input, const char *want)
{
	int rc;
	struct tt_rego_err e = { 0 };
	char *got = run(src, query, input, NULL, &rc, &e);
	if (rc)
		fail_msg("%s: %s: %s (line %d)", query, e.code, e.msg, e.line);
	assert_string_equal(got, want);
	free(got);
}

static void expect_err(const char *src, const char *query, const char *input,
	const struct tt_rego_limits *lim, int want_rc, const char *want_code)
{
	int rc;
	struct tt_rego_err e = { 0 };
	char *got = run(src, query, input, lim, &rc, &e);
	if (rc == 0)
		fail_msg("%s: expected %s, got %s", query, want_code, got);
	assert_int_equal(rc, want_rc);
	assert_string_equal(e.code, want_code);
	free(got);
}

/* Undefined, false and defaults: the three outcomes a policy author must tell apart. */
static void test_undefined_false_default(void **state)
{
	(void)state;
	const char *m =
		"package p\n"
		"import rego.v1\n"
		"default allow := false\n"
		"allow if input.user == \"alice\"\n"
		"deny if input.user == \"mallory\"\n"
		"f(x) := x * 2 if x > 0\n";
	expect(m, "x = data.p.allow", "{\"user\": \"alice\"}", "[{\"x\":true}]");
	expect(m, "x = data.p.allow", "{\"user\": \"bob\"}", "[{\"x\":false}]");
	/* no default: undefined, which is no solution at all (not false) */
	expect(m, "x = data.p.deny", "{\"user\": \"bob\"}", "[]");
	expect(m, "not data.p.deny", "{\"user\": \"bob\"}", "[{}]");
	/* input itself undefined: references into it are undefined too */
	expect(m, "x = data.p.allow", NULL, "[{\"x\":false}]");
	expect(m, "x = data.p.f(3)", NULL, "[{\"x\":6}]");
	expect(m, "x = data.p.f(-3)", NULL, "[]");
}

static void test_language(void **state)
{
	(void)state;
	const char *m =
		"package p\n"
		"import rego.v1\n"
		"xs := [3, 1, 2]\n"
		"s contains x if {\n\tsome x in xs\n\tx > 1\n}\n"
		"o[k] := v if some k, v in {\"a\": 1, \"b\": 2}\n"
		"a.b[c] := 1 if some c in [\"x\", \"y\"]\n"
		"all_pos if every x in xs { x > 0 }\n"
		"comp := {x: y | some x in xs; y := x * x}\n"
		"grade := \"high\" if input.n > 10 else := \"mid\" if input.n > 5 else := \"low\"\n"
		"w := y if y := input.n with input.n as 7\n";
	expect(m, "x = data.p.s", NULL, "[{\"x\":[2,3]}]");
	expect(m, "x = data.p.o", NULL, "[{\"x\":{\"a\":1,\"b\":2}}]");
	expect(m, "x = data.p.a", NULL, "[{\"x\":{\"b\":{\"x\":1,\"y\":1}}}]");
	expect(m, "x = data.p.all_pos", NULL, "[{\"x\":true}]");
	expect(m, "x = data.p.comp", NULL, "[{\"x\":{\"1\":1,\"2\":4,\"3\":9}}]");
	expect(m, "x = data.p.grade", "{\"n\": 11}", "[{\"x\":\"high\"}]");
	expect(m, "x = data.p.grade", "{\"n\": 6}", "[{\"x\":\"mid\"}]");
	expect(m, "x = data.p.grade", "{\"n\": 1}", "[{\"x\":\"low\"}]");
	expect(m, "x = data.p.w", "{\"n\": 1}", "[{\"x\":7}]");
	/* iteration in the query yields one solution per element */
	expect(m, "data.p.xs[i] = x; x >= 2", NULL, "[{\"i\":0,\"x\":3},{\"i\":2,\"x\":2}]");
	/* \u escapes in strings, either case of hex digit */
	expect("package p\ns := \"\\u0041\\u00e9\\u20AC\"\n", "x = data.p.s", NULL,
		"[{\"x\":\"A\xc3\xa9\xe2\x82\xac\"}]");
}

static void test_errors(void **state)
{
	(void)state;
	/* syntax: refused with the position */
	int rc;
	struct tt_rego_err e = { 0 };
	char *got = run("package p\n\nallow if {\n\tinput.x ==\n}\n", "x = data.p.allow", NULL,
		NULL, &rc, &e);
	assert_null(got);
	assert_int_equal(rc, TT_ERR_PARSE);
	assert_string_equal(e.code, "rego_parse_error");
	assert_string_equal(e.file, "t.rego");
	assert_int_equal(e.line, 5);
	assert_true(e.col > 0);
	/* a \u escape that is not four hex digits */
	expect_err("package p\ns := \"\\u00g1\"\n", "x = data.p.s", NULL, NULL, TT_ERR_PARSE,
		"rego_parse_error");
	expect_err("package p\ns := \"\\u00\"\n", "x = data.p.s", NULL, NULL, TT_ERR_PARSE,
		"rego_parse_error");
	/* two values for one complete rule */
	expect_err("package p\nx := 1\nx := 2 if true\n", "y = data.p.x", NULL, NULL,
		TT_ERR_DATA_INVALID, "eval_conflict_error");
	/* a function with two outputs for one input */
	expect_err("package p\nf(_) := 1\nf(_) := 2\n", "y = data.p.f(0)", NULL, NULL,
		TT_ERR_DATA_INVALID, "eval_conflict_error");
	/* a variable nothing binds */
	expect_err("package p\nx if { y > 1 }\n", "z = data.p.x", NULL, NULL,
		TT_ERR_DATA_INVALID, "rego_unsafe_var_error");
	/* built-in errors: undefined by default ... */
	expect("package p\nx := 1 / 0\n", "y = data.p.x", NULL, "[]");
	/* ... and an error with strict built-in errors */
	const char *names[] = { "t.rego" }, *srcs[] = { "package p\nx := 1 / 0\n" };
	size_t lens[] = { strlen(srcs[0]) };
	struct tt_rego *r;
	json_t *res = NULL;
	struct tt_rego_eval_opts o = { .strict_builtin_errors = true };
	assert_int_equal(tt_rego_compile(1, names, srcs, lens, NULL, &r, &e), 0);
	assert_int_equal(tt_rego_eval(r, "y = data.p.x", NULL, NULL, &o, &res, &e), TT_ERR_DATA_INVALID);
	assert_string_equal(e.code, "eval_builtin_error");
	assert_non_null(strstr(e.msg, "divide by zero"));
	assert_int_equal(e.line, 2);
	tt_rego_free(r);
}

/* Every bound holds against a policy written to exceed it. */
static void test_limits(void **state)
{
	(void)state;
	struct tt_rego_limits lim;
	tt_rego_limits_default(&lim);
	lim.max_steps = 20000;
	expect_err("package p\nn := count([1 | some i in numbers.range(1, 1000); "
		"some j in numbers.range(1, 1000)])\n", "x = data.p.n", NULL, &lim, TT_ERR_LIMIT,
		"eval_limit_error");
	tt_rego_limits_default(&lim);
	expect_err("package p\nf(x) := f(x + 1)\n", "x = data.p.f(1)", NULL, &lim, TT_ERR_LIMIT,
		"eval_limit_error");
	tt_rego_limits_default(&lim);
	lim.max_memory = 1u << 20;
	expect_err("package p\ns := concat(\",\", [sprintf(\"%d-%s\", [i, \"padding padding\"]) | "
		"some i in numbers.range(1, 100000)])\n", "x = data.p.s", NULL, &lim, TT_ERR_LIMIT,
		"eval_limit_error");
	/* nesting while parsing */
	size_t n = 5000;
	char *deep = malloc(2 * n + 64);
	assert_non_null(deep);
	int k = sprintf(deep, "package p\nx := ");
	memset(deep + k, '[', n);
	memset(deep + k + n, ']', n);
	deep[k + 2 * n] = '\0';
	int rc;
	struct tt_rego_err e = { 0 };
	char *got = run(deep, "y = data.p.x", NULL, NULL, &rc, &e);
	assert_null(got);
	assert_int_equal(rc, TT_ERR_LIMIT);
	free(deep);
	/* a body so long that recursing through it would exhaust a thread's stack */
	size_t nexpr = 50000;
	char *longb = malloc(nexpr * 8 + 64);
	assert_non_null(longb);
	int m = sprintf(longb, "package p\nx if {\n");
	for (size_t i = 0; i < nexpr; i++)
		m += sprintf(longb + m, "\ttrue\n");
	sprintf(longb + m, "}\n");
	expect_err(longb, "y = data.p.x", NULL, NULL, TT_ERR_LIMIT, "eval_limit_error");
	free(longb);
	/* the same policies finish within the defaults when they are reasonable */
	expect("package p\nn := count([1 | some i in numbers.range(1, 100); "
		"some j in numbers.range(1, 100)])\n", "x = data.p.n", NULL, "[{\"x\":10000}]");
}

/* ---- the engine: a Trustee-style EAR policy ---- */

static const char ear_policy[] =
	"package policy\n"
	"\n"
	"import rego.v1\n"
	"\n"
	"# AR4SI: 33 unrecognised executables, 97 unrecognised hardware, 36 unapproved config\n"
	"default executables := 33\n"
	"default hardware := 97\n"
	"default configuration := 36\n"
	"\n"
	"executables := 3 if {\n"
	"\tinput.tpm.measurements[\"boot.kernel\"] in query_reference_value(\"boot.kernel\")\n"
	"\tevery m in input.tpm.measurements[\"ima./usr/bin/app\"] {\n"
	"\t\tm in query_reference_value(\"ima./usr/bin/app\")\n"
	"\t}\n"
	"}\n"
	"\n"
	"hardware := 2 if {\n"
	"\tinput.tee == \"tpm\"\n"
	"\tinput.tpm.measurements[\"pcr.sha256.0\"] in query_reference_value(\"pcr.sha256.0\")\n"
	"}\n"
	"\n"
	"configuration := 2 if {\n"
	"\tsome cmdline in query_reference_value(\"kernel_cmdline\")\n"
	"\tinput.tpm.measurements.kernel_cmdline == cmdline\n"
	"\tnot contains(cmdline, \"debug\")\n"
	"}\n"
	"\n"
	"reasons contains \"kernel command line enables debugging\" if {\n"
	"\tcontains(input.tpm.measurements.kernel_cmdline, \"debug\")\n"
	"}\n";

static const char good_claims[] =
	"{\"tee\": \"tpm\", \"measurements\": {\"boot.kernel\": \"aa11\", \"pcr.sha256.0\": \"0000\","
	" \"kernel_cmdline\": \"ro quiet\", \"ima./usr/bin/app\": [\"h1\", \"h2\"]}}";
static const char refvals[] =
	"{\"boot.kernel\": [\"aa11\"], \"pcr.sha256.0\": [\"0000\"], \"kernel_cmdline\": [\"ro quiet\"],"
	" \"ima./usr/bin/app\": [\"h1\", \"h2\", \"h3\"]}";

static json_t *ear_doc(void)
{
	json_t *d = json_pack("{s:s,s:s,s:s}", "engine", "rego", "id", "trustee-style", "rego",
		ear_policy);
	assert_non_null(d);
	return d;
}

static enum tt_ear_status appraise(const char *tee, const char *claims, const char *refs,
	json_t **submod)
{
	const struct tt_policy_engine *eng = tt_policy_find("rego");
	assert_non_null(eng);
	json_t *doc = ear_doc(), *c = json_loads(claims, 0, NULL), *r = json_loads(refs, 0, NULL);
	assert_non_null(c);
	assert_non_null(r);
	void *prog = NULL;
	const char *why = NULL;
	assert_int_equal(eng->compile(doc, &prog, &why), 0);
	struct tt_policy_input in = { .tee = tee, .group = "default", .claims = c, .refvals = r,
		.required = NULL, .doc = doc };
	enum tt_ear_status st = TT_EAR_STATUS_NONE;
	assert_int_equal(eng->eval(prog, &in, submod, &st), 0);
	assert_string_equal(json_string_value(json_object_get(*submod, "ear.status")),
		tt_ear_status_name(st));
	eng->release(prog);
	json_decref(doc);
	json_decref(c);
	json_decref(r);
	return st;
}

static int tv(const json_t *submod, const char *name)
{
	const json_t *v = json_object_get(json_object_get(submod, "ear.trustworthiness-vector"), name);
	assert_true(json_is_integer(v));
	return (int)json_integer_value(v);
}

static bool has_reason(const json_t *submod, const char *text)
{
	size_t i;
	const json_t *x;
	json_array_foreach(json_object_get(submod, "turtle.reasons"), i, x)
		if (strstr(json_string_value(x), text))
			return true;
	return false;
}

static void test_engine_ear(void **state)
{
	(void)state;
	json_t *sm = NULL;
	/* everything matches: 3 / 2 / 2, all in the affirming tier */
	assert_int_equal(appraise("tpm", good_claims, refvals, &sm), TT_EAR_STATUS_AFFIRMING);
	assert_int_equal(tv(sm, "executables"), 3);
	assert_int_equal(tv(sm, "hardware"), 2);
	assert_int_equal(tv(sm, "configuration"), 2);
	assert_int_equal(json_array_size(json_object_get(sm, "turtle.reasons")), 0);
	json_decref(sm);

	/* a kernel that is not a reference value: executables falls to its default 33 */
	char *bad = strdup(good_claims);
	memcpy(strstr(bad, "aa11"), "bb22", 4);
	assert_int_equal(appraise("tpm", bad, refvals, &sm), TT_EAR_STATUS_WARNING);
	assert_int_equal(tv(sm, "executables"), 33);
	assert_int_equal(tv(sm, "hardware"), 2);
	assert_true(has_reason(sm, "executables = 33 (warning)"));
	json_decref(sm);
	free(bad);

	/* one IMA entry of the history unknown: every fails, so executables is 33 */
	bad = strdup(good_claims);
	memcpy(strstr(bad, "\"h2\""), "\"h9\"", 4);
	assert_int_equal(appraise("tpm", bad, refvals, &sm), TT_EAR_STATUS_WARNING);
	assert_int_equal(tv(sm, "executables"), 33);
	json_decref(sm);
	free(bad);

	/* a debug command line: configuration 36 and the policy's own reason */
	const char *dbg = "{\"tee\": \"tpm\", \"measurements\": {\"boot.kernel\": \"aa11\","
		" \"pcr.sha256.0\": \"0000\", \"kernel_cmdline\": \"ro quiet debug\","
		" \"ima./usr/bin/app\": [\"h1\"]}}";
	assert_int_equal(appraise("tpm", dbg, refvals, &sm), TT_EAR_STATUS_WARNING);
	assert_int_equal(tv(sm, "configuration"), 36);
	assert_int_equal(tv(sm, "executables"), 3);
	assert_true(has_reason(sm, "kernel command line enables debugging"));
	json_decref(sm);

	/* no reference values at all: every rule falls to its default; 97 contraindicates */
	assert_int_equal(appraise("tpm", good_claims, "{}", &sm), TT_EAR_STATUS_CONTRAINDICATED);
	assert_int_equal(tv(sm, "executables"), 33);
	assert_int_equal(tv(sm, "hardware"), 97);
	assert_int_equal(tv(sm, "configuration"), 36);
	json_decref(sm);

	/* claims of another TEE do not satisfy input.tpm rules */
	const char *snp = "{\"tee\": \"snp\", \"measurements\": {\"boot.kernel\": \"aa11\"}}";
	assert_int_equal(appraise("snp", snp, refvals, &sm), TT_EAR_STATUS_CONTRAINDICATED);
	assert_int_equal(tv(sm, "hardware"), 97);
	json_decref(sm);
}

static void test_engine_refusals(void **state)
{
	(void)state;
	const struct tt_policy_engine *eng = tt_policy_find("rego");
	void *prog = NULL, *prog2 = NULL;
	const char *why = NULL;
	/* a syntax error is refused at upload, with module, line and column */
	json_t *d = json_pack("{s:s,s:s}", "engine", "rego", "rego",
		"package policy\n\nhardware := 2 if {\n\tinput.x = = 1\n}\n");
	assert_int_not_equal(eng->compile(d, &prog, &why), 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "policy-0.rego:4:"));
	assert_non_null(strstr(why, "rego_parse_error"));
	json_decref(d);
	/* an undefined function and a wrong arity are refused at upload too */
	d = json_pack("{s:s,s:s}", "engine", "rego", "rego",
		"package policy\n\nhardware := 2 if {\n\tinput.x\n\tcrypto.sha999(input.y)\n}\n");
	assert_int_not_equal(eng->compile(d, &prog, &why), 0);
	assert_non_null(strstr(why, "policy-0.rego:5:2: rego_type_error: undefined function crypto.sha999"));
	json_decref(d);
	d = json_pack("{s:s,s:s}", "engine", "rego", "rego",
		"package policy\nf(x) := x\nhardware := f(1, 2, 3)\n");
	assert_int_not_equal(eng->compile(d, &prog, &why), 0);
	assert_non_null(strstr(why, "policy-0.rego:3:13: rego_type_error: f: wrong number of arguments"));
	json_decref(d);
	/* a document may lower the limits for its policy, never raise them */
	d = json_pack("{s:s,s:s,s:{s:i}}", "engine", "rego", "rego",
		"package policy\nhardware := 2 if count([1 | some i in numbers.range(1, 5000)]) > 0\n",
		"limits", "max_steps", 100);
	assert_int_equal(eng->compile(d, &prog, &why), 0);
	{
		json_t *c0 = json_loads(good_claims, 0, NULL), *r0 = json_object(), *sm0 = NULL;
		struct tt_policy_input in0 = { .tee = "tpm", .claims = c0, .refvals = r0, .doc = d };
		enum tt_ear_status st0;
		assert_int_equal(eng->eval(prog, &in0, &sm0, &st0), 0);
		assert_int_equal(st0, TT_EAR_STATUS_CONTRAINDICATED);
		assert_true(has_reason(sm0, "eval_limit_error"));
		json_decref(sm0);
		json_decref(c0);
		json_decref(r0);
	}
	eng->release(prog);
	json_decref(d);
	d = json_pack("{s:s,s:s,s:{s:I}}", "engine", "rego", "rego", "package policy\n",
		"limits", "max_steps", (json_int_t)1 << 40);
	assert_int_equal(eng->compile(d, &prog, &why), TT_ERR_INVALID_ARGUMENT);
	json_decref(d);
	/* no module */
	d = json_pack("{s:s}", "engine", "rego");
	assert_int_equal(eng->compile(d, &prog, &why), TT_ERR_INVALID_ARGUMENT);
	json_decref(d);
	/* compiled once: the same document gives the same cached program */
	d = ear_doc();
	assert_int_equal(eng->compile(d, &prog, &why), 0);
	assert_int_equal(eng->compile(d, &prog2, &why), 0);
	assert_ptr_equal(prog, prog2);
	eng->release(prog);
	eng->release(prog2);
	json_decref(d);
	/* a value outside AR4SI's range is a contraindication, not a pass */
	d = json_pack("{s:s,s:s}", "engine", "rego", "rego",
		"package policy\nexecutables := 300\nhardware := 2\n");
	assert_int_equal(eng->compile(d, &prog, &why), 0);
	json_t *c = json_loads(good_claims, 0, NULL), *r = json_object(), *sm = NULL;
	struct tt_policy_input in = { .tee = "tpm", .claims = c, .refvals = r, .doc = d };
	enum tt_ear_status st;
	assert_int_equal(eng->eval(prog, &in, &sm, &st), 0);
	assert_int_equal(st, TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(sm, "not an AR4SI value"));
	json_decref(sm);
	eng->release(prog);
	json_decref(d);
	/* an evaluation error (conflict) is a contraindication with the error as reason */
	d = json_pack("{s:s,s:s}", "engine", "rego", "rego",
		"package policy\nhardware := 2\nhardware := 3 if true\n");
	assert_int_equal(eng->compile(d, &prog, &why), 0);
	assert_int_equal(eng->eval(prog, &in, &sm, &st), 0);
	assert_int_equal(st, TT_EAR_STATUS_CONTRAINDICATED);
	assert_true(has_reason(sm, "eval_conflict_error"));
	json_decref(sm);
	eng->release(prog);
	json_decref(d);
	json_decref(c);
	json_decref(r);
}

/* ---- a KBS resource policy (Trustee's layout: data.plugin, data["resource-path"]) ---- */

static const char kbs_policy[] =
	"package policy\n"
	"\n"
	"import rego.v1\n"
	"\n"
	"default allow := false\n"
	"\n"
	"path := data[\"resource-path\"]\n"
	"\n"
	"# shared keys: any affirming attester\n"
	"allow if {\n"
	"\tdata.plugin == \"resource\"\n"
	"\tpath[0] == \"default\"\n"
	"\tsome sub in input.submods\n"
	"\tsub[\"ear.status\"] == \"affirming\"\n"
	"}\n"
	"\n"
	"# per-group keys: only that group, and only with approved executables\n"
	"allow if {\n"
	"\tpath[0] == data[\"node-group\"]\n"
	"\tpath[1] == \"keys\"\n"
	"\tsome sub in input.submods\n"
	"\tsub[\"ear.status\"] == \"affirming\"\n"
	"\tsub[\"ear.trustworthiness-vector\"].executables <= 3\n"
	"}\n";

static bool release(const char *status, int exec, const char *path, const char *group)
{
	json_t *doc = json_pack("{s:s}", "rego", kbs_policy);
	json_t *ear = json_pack("{s:{s:{s:s,s:{s:i}}}}", "submods", "tpm", "ear.status", status,
		"ear.trustworthiness-vector", "executables", exec);
	bool allow = true;
	const char *why = NULL;
	assert_int_equal(tt_policy_rego_release(doc, ear, path, group, &allow, &why), 0);
	if (!allow)
		assert_non_null(why);
	json_decref(doc);
	json_decref(ear);
	return allow;
}

static void test_engine_release(void **state)
{
	(void)state;
	assert_true(release("affirming", 3, "default/key/1", "prod"));
	assert_false(release("warning", 3, "default/key/1", "prod"));
	assert_true(release("affirming", 3, "prod/keys/db", "prod"));
	/* another group's keys, or the right group with unapproved executables */
	assert_false(release("affirming", 3, "prod/keys/db", "dev"));
	assert_false(release("affirming", 33, "prod/keys/db", "prod"));
	assert_false(release("affirming", 3, "prod/secrets/db", "prod"));
	/* a broken policy never releases */
	json_t *doc = json_pack("{s:s}", "rego", "package policy\nallow if {\n");
	json_t *ear = json_object();
	bool allow = true;
	const char *why = NULL;
	assert_int_not_equal(tt_policy_rego_release(doc, ear, "default/k", "g", &allow, &why), 0);
	assert_false(allow);
	json_decref(doc);
	json_decref(ear);
}

/* One compiled program evaluated from several threads at once (turtle-as does this). */
struct thr {
	const struct tt_rego *r;
	int ok;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	json_t *in = json_pack("{s:i}", "n", 7);
	for (int i = 0; i < 200; i++) {
		json_t *res = NULL;
		struct tt_rego_err e;
		if (tt_rego_eval(t->r, "x = data.p.out", in, NULL, NULL, &res, &e) == 0) {
			json_t *x = json_object_get(json_array_get(res, 0), "x");
			if (json_integer_value(json_object_get(x, "sq")) == 49 &&
			    json_array_size(json_object_get(x, "odd")) == 4)
				t->ok++;
		}
		json_decref(res);
	}
	json_decref(in);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	const char *src = "package p\nimport rego.v1\nsq := input.n * input.n\n"
		"odd contains x if { some x in numbers.range(1, input.n); x % 2 == 1 }\n"
		"out := {\"sq\": sq, \"odd\": odd}\n";
	const char *names[] = { "t.rego" }, *srcs[] = { src };
	size_t lens[] = { strlen(src) };
	struct tt_rego *r;
	struct tt_rego_err e;
	assert_int_equal(tt_rego_compile(1, names, srcs, lens, NULL, &r, &e), 0);
	pthread_t th[4];
	struct thr t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ r, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].ok, 200);
	}
	tt_rego_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_undefined_false_default),
		cmocka_unit_test(test_language),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_engine_ear),
		cmocka_unit_test(test_engine_refusals),
		cmocka_unit_test(test_engine_release),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	tt_policy_fini_all();
	return r;
}
