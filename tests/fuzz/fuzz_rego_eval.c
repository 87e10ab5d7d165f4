/*
 * libFuzzer target: Rego evaluation (src/policy/rego). The input is a module, a query
 * and an input document separated by NUL bytes; the module is compiled and the query
 * evaluated with small limits. Every outcome must be a result array or a classified error
 * (evaluation error, limit, parse error) with its code filled: no crash, leak, hang
 * (the step bound) or unbounded memory (the arena bound).
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
	char *buf = malloc(size + 3);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	const char *module = buf;
	const char *query = module + strlen(module) + 1;
	if (query > buf + size)
		query = buf + size + 1;
	const char *input = query + strlen(query) + 1;
	if (input > buf + size + 1)
		input = buf + size + 2;

	const char *names[] = { "fuzz.rego" }, *srcs[] = { module };
	size_t lens[] = { strlen(module) };
	struct tt_rego_limits lim;
	struct tt_rego_err e;
	struct tt_rego *r = NULL;
	json_t *in = input[0] ? json_loads(input, JSON_DECODE_ANY, NULL) : NULL, *res = NULL;

	tt_rego_limits_default(&lim);
	lim.max_steps = 20000;
	lim.max_memory = 16u << 20;
	lim.max_call_depth = 60;
	lim.max_output = 64u << 10;
	if (tt_rego_compile(1, names, srcs, lens, &lim, &r, &e) == 0) {
		struct tt_rego_eval_opts o = { .strict_builtin_errors = (size & 1) != 0,
			.now_ns = 1700000000000000000LL };
		int rc = tt_rego_eval(r, query[0] ? query : "x = data", in, NULL, &o, &res, &e);
		if (rc == 0 && !json_is_array(res))
			abort();
		if (rc != 0 && (e.code[0] == '\0' || (rc != TT_ERR_DATA_INVALID &&
		    rc != TT_ERR_LIMIT && rc != TT_ERR_PARSE && rc != TT_ERR_NO_MEMORY)))
			abort();
		json_decref(res);
		tt_rego_free(r);
	}
	json_decref(in);
	free(buf);
	return 0;
}
