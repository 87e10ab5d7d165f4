/* The evaluation context shared by the evaluator and the built-ins. */
#ifndef TT_REGO_EVAL_H
#define TT_REGO_EVAL_H

#include "rego_int.h"

struct bind {
	const char *name;
	struct rv *v; /* NULL: declared (some, :=) but not bound yet */
};

/* `with data.a.b as v`: the value that replaces that path. */
struct dover {
	struct rv **path;
	size_t n;
	struct rv *v;
};

/* `with f as g`: calls of node/bi go to rnode/rbi, or yield value. */
struct mock {
	struct rnode *node;
	const struct rg_builtin *bi;
	struct rnode *rnode;
	const struct rg_builtin *rbi;
	struct rv *value;
	bool off; /* while its own replacement runs */
};

struct cache_ent;

struct rctx {
	const struct tt_rego *r;
	struct rg_arena *a;
	struct bind *trail;
	size_t ntrail, captrail, base;
	struct rmodule *mod;
	struct rv *input, *data;
	struct dover *dover;
	size_t ndover;
	struct mock *mocks;
	size_t nmocks;
	struct cache_ent *cache;
	unsigned epoch, epoch_counter;
	uint64_t steps;
	unsigned depth;
	bool strict;
	int64_t now;
	const char *cur_builtin;
	const char *cur_file;
	int cur_line, cur_col;
	const char *unsafe_name;
	bool has_err, limit_hit;
	const char *stack_base; /* an address in the evaluation's entry frame */
	struct tt_rego_err err;
};

struct rnode *rg_node_kid(const struct rnode *n, const char *name, size_t len);
void rg_resolve_call(struct rnode *root, struct rmodule *m, struct rterm *t);
/* Evaluate a query body; *results is an array of objects (variable -> value). */
int rg_eval_body(struct rctx *c, struct rbody *b, struct rv **results);

#endif
