/*
 * bench_rego: appraisals per second of a Trustee-style TDX EAR policy through the Rego
 * engine, against the built-in default engine making the same decision (affirming) over
 * the same claims and reference values in the same run. Each appraisal is what
 * turtle-as does per request: compile (a cache hit for Rego), eval, release.
 *
 *   bench_rego [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"
#include "policy.h"

static const char policy[] =
	"package policy\n"
	"\n"
	"import rego.v1\n"
	"\n"
	"default executables := 33\n"
	"default hardware := 97\n"
	"default configuration := 36\n"
	"\n"
	"executables := 3 if {\n"
	"\tinput.tdx.measurements[\"tdx.mr_td\"] in query_reference_value(\"tdx.mr_td\")\n"
	"\tinput.tdx.measurements[\"tdx.rtmr1\"] in query_reference_value(\"tdx.rtmr1\")\n"
	"\tinput.tdx.measurements[\"tdx.rtmr2\"] in query_reference_value(\"tdx.rtmr2\")\n"
	"}\n"
	"\n"
	"hardware := 2 if {\n"
	"\tinput.tdx.measurements[\"tdx.mr_seam\"] in query_reference_value(\"tdx.mr_seam\")\n"
	"\tinput.tdx.measurements[\"tdx.tcb_svn\"] in query_reference_value(\"tdx.tcb_svn\")\n"
	"}\n"
	"\n"
	"configuration := 2 if {\n"
	"\tinput.tdx.measurements[\"tdx.rtmr0\"] in query_reference_value(\"tdx.rtmr0\")\n"
	"\tinput.tdx.measurements[\"tdx.xfam\"] in query_reference_value(\"tdx.xfam\")\n"
	"\tcmdline := input.tdx.measurements.kernel_cmdline\n"
	"\tcmdline in query_reference_value(\"kernel_cmdline\")\n"
	"\tnot contains(cmdline, \"debug\")\n"
	"}\n";

static const char *const names[] = { "tdx.mr_td", "tdx.mr_seam", "tdx.rtmr0", "tdx.rtmr1",
	"tdx.rtmr2", "tdx.rtmr3", "tdx.tcb_svn", "tdx.xfam", "tdx.td_attributes",
	"tdx.mr_config_id", "tdx.mr_owner", "kernel_cmdline" };

struct run {
	const struct tt_policy_engine *eng;
	json_t *doc;
	struct tt_policy_input in;
};

static int one(void *arg)
{
	struct run *r = arg;
	void *prog = NULL;
	const char *why = NULL;
	json_t *sm = NULL;
	enum tt_ear_status st;
	int rc = r->eng->compile(r->doc, &prog, &why);
	if (rc == 0)
		rc = r->eng->eval(prog, &r->in, &sm, &st);
	if (rc == 0 && st != TT_EAR_STATUS_AFFIRMING)
		rc = -1;
	json_decref(sm);
	r->eng->release(prog);
	return rc;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	json_t *meas = json_object(), *refs = json_object();
	char hex[97];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int k = 0; k < 96; k++)
			hex[k] = "0123456789abcdef"[(i * 7 + (size_t)k * 13) % 16];
		hex[96] = '\0';
		const char *v = strcmp(names[i], "kernel_cmdline") == 0 ?
			"console=hvc0 root=/dev/vda1 ro quiet" : hex;
		json_object_set_new(meas, names[i], json_string(v));
		/* a few alternatives per name, as a fleet has during a rollout */
		json_t *alts = json_pack("[s,s,s]", "00", v, "11");
		json_object_set_new(refs, names[i], alts);
	}
	json_t *claims = json_pack("{s:s,s:o}", "tee", "tdx", "measurements", meas);
	json_t *required = json_array();
	struct run def = { tt_policy_find("default"), NULL, { .tee = "tdx", .group = "default",
		.claims = claims, .refvals = refs, .required = required } };
	struct run rego = def;
	rego.eng = tt_policy_find("rego");
	rego.doc = json_pack("{s:s,s:s,s:s}", "engine", "rego", "id", "bench", "rego", policy);
	rego.in.doc = rego.doc;
	if (!def.eng || !rego.eng || one(&def) || one(&rego)) {
		fprintf(stderr, "bench_rego: an engine does not affirm the claims\n");
		return 1;
	}
	double rate[2];
	struct run *runs[2] = { &def, &rego };
	for (int i = 0; i < 2; i++) {
		uint64_t n = 0, t0 = bench_now_ns(), end = t0 + (uint64_t)(secs * 1e9);
		while (bench_now_ns() < end) {
			for (int k = 0; k < 100; k++)
				if (one(runs[i]))
					return 1;
			n += 100;
		}
		rate[i] = (double)n / ((double)(bench_now_ns() - t0) / 1e9);
	}
	printf("appraisals/s (1 thread, %zu TDX measurements, compile+eval+release):\n",
		sizeof(names) / sizeof(names[0]));
	printf("  default engine      %10.0f  (%.1f us each)\n", rate[0], 1e6 / rate[0]);
	printf("  rego (Trustee-style) %9.0f  (%.1f us each)\n", rate[1], 1e6 / rate[1]);
	printf("  rego / default time  %9.2fx  (+%.1f us per appraisal)\n", rate[0] / rate[1],
		1e6 / rate[1] - 1e6 / rate[0]);
	json_decref(claims);
	json_decref(refs);
	json_decref(rego.doc);
	json_decref(required);
	tt_policy_fini_all();
	return 0;
}
