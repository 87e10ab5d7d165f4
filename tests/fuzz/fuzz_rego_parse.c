/*
 * libFuzzer target: the Rego parser and compile checks (src/policy/rego). Any bytes as
 * one module: compile must succeed or fail with a parse/compile/limit error and a filled
 * error, never crash, leak or recurse past the parse-depth bound. Inputs that compile are
 * evaluated once as `x = data` with small limits, which walks every rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rego.h"
#include "turtle/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[] = { "fuzz.rego" }, *srcs[] = { (const char *)data };
	size_t lens[] = { size };
	struct tt_rego_limits lim;
	struct tt_rego_err e;
	struct tt_rego *r = NULL;

	tt_rego_limits_default(&lim);
	lim.max_steps = 5000;
	lim.max_memory = 8u << 20;
	lim.max_call_depth = 50;
	int rc = tt_rego_compile(1, names, srcs, lens, &lim, &r, &e);
	if (rc != 0) {
		if (rc != TT_ERR_PARSE && rc != TT_ERR_DATA_INVALID && rc != TT_ERR_LIMIT &&
		    rc != TT_ERR_NO_MEMORY)
			abort();
		if (e.code[0] == '\0')
			abort();
		return 0;
	}
	json_t *res = NULL;
	rc = tt_rego_eval(r, "x = data", NULL, NULL, NULL, &res, &e);
	if (rc == 0 && !json_is_array(res))
		abort();
	json_decref(res);
	tt_rego_free(r);
	return 0;
}
