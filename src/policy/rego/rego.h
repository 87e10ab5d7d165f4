/*
 * A Rego (Open Policy Agent policy language) interpreter over jansson values.
 *
 * Modules are parsed and checked once (tt_rego_compile) and evaluated any number of
 * times (tt_rego_eval), each evaluation in its own memory arena, so a compiled policy is
 * read-only and may be evaluated from several threads at once.
 *
 * Everything a policy author or a request controls is bounded by struct tt_rego_limits:
 * nesting while parsing, evaluation steps, nested rule/function calls, arena memory and
 * the size of the serialised result. A limit that is hit ends the evaluation with
 * TT_ERR_LIMIT and an error whose code is "eval_limit_error"; nothing is partially
 * returned.
 *
 * Values crossing the boundary are JSON: sets become arrays (in Rego's value order) and
 * object keys that are not strings become their JSON text, as OPA's JSON output does.
 * Numbers that are integral and fit 64 bits become json_integer, others json_real.
 */
#ifndef TT_REGO_H
#define TT_REGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct tt_rego_limits {
	unsigned max_parse_depth; /* nesting of terms, bodies and comprehensions */
	uint64_t max_steps;       /* expressions and iterations per evaluation */
	unsigned max_call_depth;  /* nested rule, function and comprehension evaluations */
	size_t max_memory;        /* bytes of arena per compile and per evaluation */
	size_t max_output;        /* bytes of a single string a built-in may produce */
	size_t max_results;       /* solutions returned by one query */
	size_t max_stack;         /* bytes of C stack one evaluation may use */
};

/* Safe defaults: depth 64, 1e6 steps, call depth 200, 64 MiB, 1 MiB strings,
 * 10000 solutions, 1 MiB of stack (the caller's thread needs that much free). */
void tt_rego_limits_default(struct tt_rego_limits *l);

/* An error with OPA's code ("rego_parse_error", "eval_type_error", "eval_conflict_error",
 * "eval_builtin_error", "rego_unsafe_var_error", "eval_limit_error", ...), the module
 * name, 1-based line and column where known (0 otherwise), and a message. */
struct tt_rego_err {
	char code[40];
	char file[64];
	int line, col;
	char msg[320];
};

/* "file:line: code: msg" (or the parts that are known) into buf. */
void tt_rego_err_format(const struct tt_rego_err *e, char *buf, size_t n);

struct tt_rego;

/*
 * Parse and check n modules (names[i] appears in error messages; srcs[i] is lens[i]
 * bytes of UTF-8). lim may be NULL for the defaults. 0 with *out, or TT_ERR_PARSE
 * (syntax), TT_ERR_DATA_INVALID (compile check), TT_ERR_LIMIT, TT_ERR_NO_MEMORY with *e
 * filled (e may be NULL).
 */
int tt_rego_compile(size_t n, const char *const *names, const char *const *srcs,
	const size_t *lens, const struct tt_rego_limits *lim, struct tt_rego **out,
	struct tt_rego_err *e);
void tt_rego_free(struct tt_rego *r);

struct tt_rego_eval_opts {
	bool strict_builtin_errors; /* a built-in's error aborts instead of undefined */
	const char *input_term;     /* if set, input is this Rego term (may hold sets) */
	int64_t now_ns;             /* time.now_ns(); 0 = the clock at evaluation start */
};

/*
 * Evaluate the query (a Rego body, e.g. "data.app.allow = x" or "x := data.p.q")
 * against input (NULL = undefined) and data (NULL = {}; rules extend it). On success
 * *results is a new JSON array with one object per solution mapping each named query
 * variable to its value; [] means undefined. Errors: TT_ERR_PARSE (query syntax),
 * TT_ERR_DATA_INVALID (evaluation error: type, conflict, built-in, unsafe variable),
 * TT_ERR_LIMIT, TT_ERR_NO_MEMORY, with *e filled.
 */
int tt_rego_eval(const struct tt_rego *r, const char *query, const json_t *input,
	const json_t *data, const struct tt_rego_eval_opts *opts, json_t **results,
	struct tt_rego_err *e);

/*
 * Convenience for policy engines: the value of one reference (e.g. "data.policy.allow")
 * as JSON, or NULL in *out when it is undefined. Same errors as tt_rego_eval.
 */
int tt_rego_eval_ref(const struct tt_rego *r, const char *ref, const json_t *input,
	const json_t *data, json_t **out, struct tt_rego_err *e);

#endif
