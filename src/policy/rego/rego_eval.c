/*
 * The Rego evaluator: top-down search with backtracking, written in continuation-passing
 * style. Every evaluation function takes a continuation that it calls once per solution
 * with the solution's bindings on the trail; the continuation's closure lives on the C
 * stack of its creator (continuations only run inside their creator's extent).
 *
 * Return values: 0 = keep searching, 1 = stop (a caller found what it needed), negative
 * = error (RG_ERR with the error in the context, RG_UNSAFE when an expression needs a
 * variable that is not bound yet: the body evaluator then tries the expression later,
 * which is how OPA's compile-time reordering behaves).
 *
 * Semantics follow OPA: undefined is the absence of solutions; a complete rule or
 * function producing two different values is eval_conflict_error; built-in errors make
 * the expression undefined unless strict built-in errors are requested.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <turtle/error.h>

#include "rego_eval.h"

#define RG_UNSAFE (-2)
#define RG_UNSAFE_DEEP (-3)

typedef int (*vk)(struct rctx *c, struct rv *v, void *env);
typedef int (*bk)(struct rctx *c, void *env);

static int eval_term(struct rctx *c, struct rterm *t, vk k, void *env);
static int eval_body(struct rctx *c, struct rbody *b, bk k, void *env);
static int unify(struct rctx *c, struct rterm *t, struct rv *v, bk k, void *env);
static int node_value(struct rctx *c, struct rnode *n, struct rv **out);
static int materialize(struct rctx *c, struct rnode *n, struct rv **cur, size_t ncur,
	struct rv **out);

/* ---- errors ---- */

int rg_fail(struct rctx *c, const char *code, const char *fmt, ...)
{
	if (c->has_err)
		return RG_ERR;
	c->has_err = true;
	snprintf(c->err.code, sizeof(c->err.code), "%s", code);
	snprintf(c->err.file, sizeof(c->err.file), "%s", c->cur_file ? c->cur_file : "");
	c->err.line = c->cur_line;
	c->err.col = c->cur_col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	return RG_ERR;
}

int rg_type_err(struct rctx *c, int i, const char *want, const struct rv *got)
{
	return rg_fail(c, "eval_type_error", "%s: operand %d must be %s but got %s",
		c->cur_builtin ? c->cur_builtin : "?", i, want, rv_type_name(got));
}

struct rg_arena *rg_ctx_arena(struct rctx *c) { return c->a; }
int64_t rg_ctx_now(struct rctx *c) { return c->now; }
size_t rg_ctx_max_output(struct rctx *c) { return c->r->lim.max_output; }
const char *rg_ctx_builtin(struct rctx *c) { return c->cur_builtin; }

static int step(struct rctx *c)
{
	if (++c->steps > c->r->lim.max_steps) {
		c->limit_hit = true;
		return rg_fail(c, "eval_limit_error", "evaluation step limit (%llu) exceeded",
			(unsigned long long)c->r->lim.max_steps);
	}
	return 0;
}

/* The evaluator recurses once per expression of a body and per element of a term, so
 * long bodies and large literals use C stack in proportion: bound it directly. */
static int stack_check(struct rctx *c)
{
	char here;
	const char *p = &here;
	size_t used = p < c->stack_base ? (size_t)(c->stack_base - p) : (size_t)(p - c->stack_base);
	if (used > c->r->lim.max_stack) {
		c->limit_hit = true;
		return rg_fail(c, "eval_limit_error", "evaluation used more than %zu bytes of stack",
			c->r->lim.max_stack);
	}
	return 0;
}

static int depth_in(struct rctx *c)
{
	if (++c->depth > c->r->lim.max_call_depth) {
		c->limit_hit = true;
		return rg_fail(c, "eval_limit_error", "evaluation nested deeper than %u",
			c->r->lim.max_call_depth);
	}
	return 0;
}

/* ---- bindings ---- */

static struct bind *lookup(struct rctx *c, const char *name)
{
	for (size_t i = c->ntrail; i-- > c->base;)
		if (c->trail[i].name == name || strcmp(c->trail[i].name, name) == 0)
			return &c->trail[i];
	return NULL;
}

static void bind(struct rctx *c, const char *name, struct rv *v)
{
	if (c->ntrail == c->captrail) {
		size_t nc = c->captrail ? c->captrail * 2 : 64;
		struct bind *nt = rg_alloc(c->a, nc * sizeof(*nt));
		if (c->ntrail)
			memcpy(nt, c->trail, c->ntrail * sizeof(*nt));
		c->trail = nt;
		c->captrail = nc;
	}
	c->trail[c->ntrail].name = name;
	c->trail[c->ntrail].v = v;
	c->ntrail++;
}

struct rnode *rg_node_kid(const struct rnode *n, const char *name, size_t len)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->nkids; i++)
		if (strlen(n->kids[i]->name) == len && memcmp(n->kids[i]->name, name, len) == 0)
			return n->kids[i];
	return NULL;
}

enum vstate { V_UNBOUND, V_BOUND, V_GLOBAL };

/* What a variable name means here: a binding, a global (input, data, a rule of the
 * current package, an import), or an unbound local. */
static enum vstate var_state(struct rctx *c, const char *name, struct rv **val)
{
	struct bind *b = lookup(c, name);
	if (b) {
		*val = b->v;
		return b->v ? V_BOUND : V_UNBOUND;
	}
	if (name[0] == '$')
		return V_UNBOUND;
	if (strcmp(name, "input") == 0 || strcmp(name, "data") == 0)
		return V_GLOBAL;
	if (c->mod) {
		if (rg_node_kid(c->mod->pkgnode, name, strlen(name)))
			return V_GLOBAL;
		for (size_t i = 0; i < c->mod->nimp; i++)
			if (strcmp(c->mod->imp[i].alias, name) == 0)
				return V_GLOBAL;
	}
	return V_UNBOUND;
}

static int unsafe(struct rctx *c, const char *name)
{
	c->unsafe_name = name;
	return RG_UNSAFE;
}

/* ---- reference walking over plain values ---- */

static int walk_val(struct rctx *c, struct rv *v, struct rterm **ts, size_t i, size_t n,
	vk k, void *env);

struct iter_env {
	struct rctx *c;
	struct rv *coll;
	struct rterm **ts;
	size_t i, n;
	vk k;
	void *env;
	struct rv *elem;
};

static int iter_k(struct rctx *c, void *env)
{
	struct iter_env *e = env;
	return walk_val(c, e->elem, e->ts, e->i + 1, e->n, e->k, e->env);
}

/* Iterate v's keys, unifying each with ts[i] and walking on with the element. */
static int iterate(struct rctx *c, struct rv *v, struct rterm **ts, size_t i, size_t n,
	vk k, void *env)
{
	struct iter_env e = { c, v, ts, i, n, k, env, NULL };
	int r;
	for (size_t j = 0; j < v->n; j++) {
		if ((r = step(c)))
			return r;
		struct rv *key;
		if (v->t == RV_ARR) {
			key = rv_int(c->a, (int64_t)j);
			e.elem = v->a[j];
		} else if (v->t == RV_OBJ) {
			key = v->a[j];
			e.elem = v->v[j];
		} else if (v->t == RV_SET) {
			key = v->a[j];
			e.elem = v->a[j];
		} else {
			return 0;
		}
		r = unify(c, ts[i], key, iter_k, &e);
		if (r)
			return r;
	}
	return 0;
}

struct idx_env {
	struct rv *v;
	struct rterm **ts;
	size_t i, n;
	vk k;
	void *env;
};

static int idx_k(struct rctx *c, struct rv *key, void *env)
{
	struct idx_env *e = env;
	struct rv *x = rv_index(e->v, key);
	if (!x)
		return 0;
	return walk_val(c, x, e->ts, e->i + 1, e->n, e->k, e->env);
}

static bool is_scalar_coll(const struct rv *v)
{
	return v->t != RV_ARR && v->t != RV_OBJ && v->t != RV_SET;
}

static int walk_val(struct rctx *c, struct rv *v, struct rterm **ts, size_t i, size_t n,
	vk k, void *env)
{
	if (i == n)
		return k(c, v, env);
	if (is_scalar_coll(v))
		return 0;
	struct rterm *pt = ts[i];
	if (pt->k == T_VAL) {
		struct rv *x = rv_index(v, pt->val);
		return x ? walk_val(c, x, ts, i + 1, n, k, env) : 0;
	}
	if (pt->k == T_VAR) {
		struct rv *b = NULL;
		enum vstate s = var_state(c, pt->name, &b);
		if (s == V_BOUND) {
			struct rv *x = rv_index(v, b);
			return x ? walk_val(c, x, ts, i + 1, n, k, env) : 0;
		}
		if (s == V_UNBOUND)
			return iterate(c, v, ts, i, n, k, env);
	}
	struct idx_env e = { v, ts, i, n, k, env };
	size_t mark = c->ntrail;
	int r = eval_term(c, pt, idx_k, &e);
	if (r == RG_UNSAFE) {
		c->ntrail = mark;
		return iterate(c, v, ts, i, n, k, env);
	}
	return r;
}

/* ---- data: the base document with rules and `with` overrides on top ---- */

static struct rv *base_at(struct rctx *c, struct rv **path, size_t n)
{
	struct rv *v = c->data;
	for (size_t i = 0; v && i < n; i++)
		v = v->t == RV_OBJ ? rv_obj_get(v, path[i]) : NULL;
	return v;
}

static bool path_eq(struct rv **a, size_t na, struct rv **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!rv_eq(a[i], b[i]))
			return false;
	return true;
}

static bool path_prefix(struct rv **p, size_t np, struct rv **of, size_t nof)
{
	if (np > nof)
		return false;
	for (size_t i = 0; i < np; i++)
		if (!rv_eq(p[i], of[i]))
			return false;
	return true;
}

/* Object v with path p[0..n) set to x (intermediate objects created). */
static struct rv *patch(struct rg_arena *a, struct rv *v, struct rv **p, size_t n, struct rv *x)
{
	if (n == 0)
		return x;
	if (!v || v->t != RV_OBJ)
		v = rv_obj(a, NULL, NULL, 0, NULL);
	struct rv *old = rv_obj_get(v, p[0]);
	struct rv *nv = patch(a, old, p + 1, n - 1, x);
	size_t m = v->n + 1, j = 0;
	struct rv **ks = rg_alloc(a, m * sizeof(*ks)), **vs = rg_alloc(a, m * sizeof(*vs));
	for (size_t i = 0; i < v->n; i++) {
		if (rv_eq(v->a[i], p[0]))
			continue;
		ks[j] = v->a[i];
		vs[j++] = v->v[i];
	}
	ks[j] = p[0];
	vs[j++] = nv;
	return rv_obj(a, ks, vs, j, NULL);
}

static struct rv *apply_overrides_below(struct rctx *c, struct rv *v, struct rv **cur, size_t ncur)
{
	for (size_t i = 0; i < c->ndover; i++) {
		struct dover *o = &c->dover[i];
		if (o->n > ncur && path_prefix(cur, ncur, o->path, o->n))
			v = patch(c->a, v, o->path + ncur, o->n - ncur, o->v);
	}
	return v;
}

static struct rv *override_at(struct rctx *c, struct rv **cur, size_t ncur)
{
	for (size_t i = c->ndover; i-- > 0;)
		if (path_eq(c->dover[i].path, c->dover[i].n, cur, ncur))
			return c->dover[i].v;
	return NULL;
}

static bool override_above(struct rctx *c, struct rv **cur, size_t ncur, struct rv **v,
	size_t *used)
{
	for (size_t i = c->ndover; i-- > 0;) {
		if (c->dover[i].n <= ncur && path_prefix(c->dover[i].path, c->dover[i].n, cur, ncur)) {
			*v = c->dover[i].v;
			*used = c->dover[i].n;
			return true;
		}
	}
	return false;
}

static bool node_has_rules(const struct rnode *n)
{
	return n->nrules || n->dflt;
}

static int materialize(struct rctx *c, struct rnode *n, struct rv **cur, size_t ncur,
	struct rv **out)
{
	struct rv *ov = override_at(c, cur, ncur);
	if (ov) {
		*out = ov;
		return 0;
	}
	if (!n) {
		struct rv *b = base_at(c, cur, ncur);
		*out = b ? apply_overrides_below(c, b, cur, ncur) : NULL;
		if (!b && c->ndover) {
			struct rv *e = rv_obj(c->a, NULL, NULL, 0, NULL);
			struct rv *p = apply_overrides_below(c, e, cur, ncur);
			if (p != e)
				*out = p;
		}
		return 0;
	}
	if (n->has_func && !n->has_value) {
		*out = NULL;
		return 0;
	}
	int r = node_value(c, n, out);
	if (r == RG_UNDEF) {
		*out = NULL;
		r = 0;
	}
	if (r)
		return r;
	if (*out)
		*out = apply_overrides_below(c, *out, cur, ncur);
	return 0;
}

struct dwalk {
	struct rterm **ts;
	size_t n;
	vk k;
	void *env;
};

static int data_walk(struct rctx *c, struct rnode *node, struct rv **cur, size_t ncur,
	size_t i, struct dwalk *w);

struct dkey_env {
	struct rnode *node;
	struct rv **cur;
	size_t ncur, i;
	struct dwalk *w;
};

static int dkey_k(struct rctx *c, struct rv *key, void *env)
{
	struct dkey_env *e = env;
	struct rv **np = rg_alloc(c->a, (e->ncur + 1) * sizeof(*np));
	if (e->ncur)
		memcpy(np, e->cur, e->ncur * sizeof(*np));
	np[e->ncur] = key;
	struct rnode *kid = key->t == RV_STR ? rg_node_kid(e->node, key->s, key->n) : NULL;
	if (!kid && key->t == RV_STR && e->node && !node_has_rules(e->node)) {
		/* not defined by rules: the base document (or an override) decides */
		return data_walk(c, NULL, np, e->ncur + 1, e->i + 1, e->w);
	}
	return data_walk(c, kid, np, e->ncur + 1, e->i + 1, e->w);
}

static int data_walk(struct rctx *c, struct rnode *node, struct rv **cur, size_t ncur,
	size_t i, struct dwalk *w)
{
	struct rv *ov;
	size_t used;
	if (override_above(c, cur, ncur, &ov, &used)) {
		struct rv *v = ov;
		for (size_t j = used; v && j < ncur; j++)
			v = rv_index(v, cur[j]);
		return v ? walk_val(c, v, w->ts, i, w->n, w->k, w->env) : 0;
	}
	if (!node || node_has_rules(node) || (node->has_func) || i == w->n) {
		struct rv *v;
		int r = materialize(c, node, cur, ncur, &v);
		if (r)
			return r;
		if (!v)
			return 0;
		return walk_val(c, v, w->ts, i, w->n, w->k, w->env);
	}
	/* a namespace node: descend by key */
	struct rterm *pt = w->ts[i];
	struct dkey_env e = { node, cur, ncur, i, w };
	if (pt->k == T_VAL)
		return dkey_k(c, pt->val, &e);
	struct rv *b = NULL;
	if (pt->k == T_VAR && var_state(c, pt->name, &b) == V_BOUND)
		return dkey_k(c, b, &e);
	if (pt->k == T_VAR && var_state(c, pt->name, &b) == V_UNBOUND) {
		struct rv *v;
		int r = materialize(c, node, cur, ncur, &v);
		if (r || !v)
			return r;
		return walk_val(c, v, w->ts, i, w->n, w->k, w->env);
	}
	size_t mark = c->ntrail;
	int r = eval_term(c, pt, dkey_k, &e);
	if (r == RG_UNSAFE) {
		c->ntrail = mark;
		struct rv *v;
		r = materialize(c, node, cur, ncur, &v);
		if (r || !v)
			return r;
		return walk_val(c, v, w->ts, i, w->n, w->k, w->env);
	}
	return r;
}

/* Walk data from node (whose path is node->pathv) along ts[i..n). */
static int eval_data(struct rctx *c, struct rnode *node, struct rterm **ts, size_t i,
	size_t n, vk k, void *env)
{
	struct dwalk w = { ts, n, k, env };
	return data_walk(c, node, node->pathv, node->npath, i, &w);
}

/* ---- rules ---- */

struct cache_ent {
	unsigned epoch;
	uint8_t state; /* 0 none, 1 busy, 2 defined, 3 undefined */
	struct rv *v;
};

struct frame {
	size_t base;
	struct rmodule *mod;
	const char *file;
};

static void frame_push(struct rctx *c, struct frame *f, struct rmodule *m)
{
	f->base = c->base;
	f->mod = c->mod;
	f->file = c->cur_file;
	c->base = c->ntrail;
	c->mod = m;
	c->cur_file = m ? m->name : NULL;
}

static void frame_pop(struct rctx *c, struct frame *f, size_t mark)
{
	c->ntrail = mark;
	c->base = f->base;
	c->mod = f->mod;
	c->cur_file = f->file;
}

/* collecting values of one rule body */
struct collect {
	struct rrule *rule;
	struct rv *val; /* complete: the value so far */
	struct rvec vals; /* set members */
	/* dynamic heads: key paths and values */
	struct rvec paths, dvals;
	int kind; /* 0 complete, 1 set, 2 dynamic */
	const char *what;
};

static int complete_k(struct rctx *c, struct rv *v, void *env)
{
	struct collect *co = env;
	if (co->val && !rv_eq(co->val, v))
		return rg_fail(c, "eval_conflict_error", "rule %s produced conflicting values",
			co->rule->node ? co->rule->node->path : "?");
	co->val = v;
	return 0;
}

static int complete_body_k(struct rctx *c, void *env)
{
	struct collect *co = env;
	if (!co->rule->value)
		return complete_k(c, &rv_true_v, env);
	c->cur_line = co->rule->value->line;
	c->cur_col = co->rule->value->col;
	return eval_term(c, co->rule->value, complete_k, env);
}

static int set_k(struct rctx *c, struct rv *v, void *env)
{
	struct collect *co = env;
	rvec_push(c->a, &co->vals, v);
	return 0;
}

static int set_body_k(struct rctx *c, void *env)
{
	struct collect *co = env;
	return eval_term(c, co->rule->key, set_k, env);
}

/* dynamic heads: evaluate the ref terms after the static prefix, then the value */
struct dyn_env {
	struct collect *co;
	struct rv **keys;
	size_t i;
};

static int dyn_next(struct rctx *c, struct dyn_env *d);

static int dyn_key_k(struct rctx *c, struct rv *v, void *env)
{
	struct dyn_env *d = env;
	d->keys[d->i] = v;
	struct dyn_env nd = { d->co, d->keys, d->i + 1 };
	return dyn_next(c, &nd);
}

static int dyn_val_k(struct rctx *c, struct rv *v, void *env)
{
	struct dyn_env *d = env;
	struct rrule *r = d->co->rule;
	size_t nk = r->nref - r->nstatic;
	struct rv *path = rv_arr(c->a, d->keys, nk);
	rvec_push(c->a, &d->co->paths, path);
	rvec_push(c->a, &d->co->dvals, v);
	return 0;
}

static int dyn_next(struct rctx *c, struct dyn_env *d)
{
	struct rrule *r = d->co->rule;
	size_t nk = r->nref - r->nstatic;
	if (d->i < nk)
		return eval_term(c, r->ref[r->nstatic + d->i], dyn_key_k, d);
	if (r->kind == R_SET) {
		/* a.b[x] contains y: the member becomes a key path step with value true marker */
		return eval_term(c, r->key, dyn_val_k, d);
	}
	if (!r->value)
		return dyn_val_k(c, &rv_true_v, d);
	return eval_term(c, r->value, dyn_val_k, d);
}

static int dyn_body_k(struct rctx *c, void *env)
{
	struct collect *co = env;
	struct rrule *r = co->rule;
	size_t nk = r->nref - r->nstatic;
	struct rv **keys = rg_alloc(c->a, (nk ? nk : 1) * sizeof(*keys));
	struct dyn_env d = { co, keys, 0 };
	return dyn_next(c, &d);
}

/* Evaluate one rule (and its else chain for complete rules) into co. */
static int eval_rule(struct rctx *c, struct rrule *r, struct collect *co)
{
	int ret = depth_in(c);
	if (ret)
		return ret;
	for (struct rrule *x = r; x; x = x->els) {
		struct frame f;
		size_t mark = c->ntrail;
		frame_push(c, &f, x->mod);
		co->rule = x;
		bk k = co->kind == 0 ? complete_body_k : co->kind == 1 ? set_body_k : dyn_body_k;
		if (x->body) {
			ret = eval_body(c, x->body, k, co);
		} else {
			ret = k(c, co);
		}
		frame_pop(c, &f, mark);
		if (ret)
			break;
		if (co->kind != 0 || co->val)
			break;
	}
	c->depth--;
	if (ret == RG_UNSAFE || ret == RG_UNSAFE_DEEP)
		return rg_fail(c, "rego_unsafe_var_error", "var %s is unsafe",
			c->unsafe_name ? c->unsafe_name : "?");
	return ret;
}

/* A mutable tree used to build the object of rules with dynamic heads. */
struct mtree {
	struct rv *leaf;      /* a value at this path */
	struct rvec keys;
	struct mtree **kids;
	size_t cap;
	bool is_set;
	struct rvec members;
};

static struct mtree *mt_kid(struct rctx *c, struct mtree *m, struct rv *k)
{
	for (size_t i = 0; i < m->keys.n; i++)
		if (rv_eq(m->keys.p[i], k))
			return m->kids[i];
	if (m->keys.n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 4;
		struct mtree **nk = rg_alloc(c->a, nc * sizeof(*nk));
		if (m->keys.n)
			memcpy(nk, m->kids, m->keys.n * sizeof(*nk));
		m->kids = nk;
		m->cap = nc;
	}
	struct mtree *n = rg_alloc(c->a, sizeof(*n));
	m->kids[m->keys.n] = n;
	rvec_push(c->a, &m->keys, k);
	return n;
}

static struct rv *mt_freeze(struct rctx *c, struct mtree *m)
{
	if (m->leaf)
		return m->leaf;
	if (m->is_set)
		return rv_set(c->a, m->members.p, m->members.n);
	struct rv **vs = rg_alloc(c->a, (m->keys.n ? m->keys.n : 1) * sizeof(*vs));
	for (size_t i = 0; i < m->keys.n; i++)
		vs[i] = mt_freeze(c, m->kids[i]);
	return rv_obj(c->a, m->keys.p, vs, m->keys.n, NULL);
}

/* Merge value v into m: objects merge key by key, sets unite, equal leaves agree. */
static int mt_merge(struct rctx *c, struct mtree *m, struct rv *v)
{
	if (v->t == RV_OBJ && !m->leaf && !m->is_set) {
		for (size_t i = 0; i < v->n; i++) {
			int r = mt_merge(c, mt_kid(c, m, v->a[i]), v->v[i]);
			if (r)
				return r;
		}
		if (v->n == 0 && m->keys.n == 0)
			m->leaf = v;
		return 0;
	}
	if (v->t == RV_SET && !m->leaf && !m->keys.n) {
		m->is_set = true;
		for (size_t i = 0; i < v->n; i++)
			rvec_push(c->a, &m->members, v->a[i]);
		return 0;
	}
	if (!m->leaf && !m->keys.n && !m->is_set) {
		m->leaf = v;
		return 0;
	}
	if (m->leaf && rv_eq(m->leaf, v))
		return 0;
	return rg_fail(c, "eval_conflict_error", "object keys must be unique");
}

static int mt_insert(struct rctx *c, struct mtree *m, struct rv *path, struct rv *v,
	bool set_member, const char *npath)
{
	for (size_t i = 0; i < path->n; i++) {
		if (m->leaf || m->is_set)
			return rg_fail(c, "eval_conflict_error", "object keys must be unique");
		m = mt_kid(c, m, path->a[i]);
	}
	if (set_member) {
		if (m->leaf || m->keys.n)
			return rg_fail(c, "eval_conflict_error", "object keys must be unique");
		m->is_set = true;
		rvec_push(c->a, &m->members, v);
		return 0;
	}
	if (m->leaf && !rv_eq(m->leaf, v) && path->n == 0)
		return rg_fail(c, "eval_conflict_error", "rule %s produced conflicting values", npath);
	/* a rule's value is a leaf: no other rule may add to it from below */
	if (!m->leaf && !m->keys.n && !m->is_set) {
		m->leaf = v;
		return 0;
	}
	if (m->leaf && rv_eq(m->leaf, v))
		return 0;
	return rg_fail(c, "eval_conflict_error", "object keys must be unique");
}

static int first_k(struct rctx *c, struct rv *v, void *env);

/* The value of a default rule: a constant, or a term without variables of its own
 * (comprehensions), evaluated in the rule's module. */
static int default_value(struct rctx *c, struct rrule *d, struct rv **out)
{
	if (!d->value) {
		*out = &rv_true_v;
		return 0;
	}
	if (d->value->k == T_VAL) {
		*out = d->value->val;
		return 0;
	}
	struct frame f;
	size_t mark = c->ntrail;
	struct rv *v = NULL;
	frame_push(c, &f, d->mod);
	int r = eval_term(c, d->value, first_k, &v);
	frame_pop(c, &f, mark);
	if (r < 0)
		return r;
	if (!v)
		return RG_UNDEF;
	*out = v;
	return 0;
}

static int compute_node(struct rctx *c, struct rnode *n, struct rv **out)
{
	int r;
	bool exact_complete = false, exact_set = false, dynamic = false;
	for (size_t i = 0; i < n->nrules; i++) {
		struct rrule *x = n->rules[i];
		if (x->kind == R_FUNC)
			continue;
		if (x->nstatic < x->nref)
			dynamic = true;
		else if (x->kind == R_SET)
			exact_set = true;
		else
			exact_complete = true;
	}
	if (!exact_complete && !exact_set && !dynamic && n->dflt && !n->has_func)
		return default_value(c, n->dflt, out);
	if (exact_complete && !dynamic) {
		struct rv *val = NULL;
		for (size_t i = 0; i < n->nrules; i++) {
			struct rrule *x = n->rules[i];
			if (x->kind != R_COMPLETE)
				continue;
			struct collect co = { .kind = 0 };
			if ((r = eval_rule(c, x, &co)))
				return r;
			if (co.val) {
				if (val && !rv_eq(val, co.val))
					return rg_fail(c, "eval_conflict_error",
						"rule %s produced conflicting values", n->path);
				val = co.val;
			}
		}
		if (!val && n->dflt && (r = default_value(c, n->dflt, &val)))
			return r;
		if (!val)
			return RG_UNDEF;
		*out = val;
		return 0;
	}
	if (exact_set && !dynamic) {
		struct collect co = { .kind = 1 };
		for (size_t i = 0; i < n->nrules; i++) {
			if (n->rules[i]->kind != R_SET)
				continue;
			if ((r = eval_rule(c, n->rules[i], &co)))
				return r;
		}
		*out = rv_set(c->a, co.vals.p, co.vals.n);
		return 0;
	}
	if (!dynamic && !node_has_rules(n)) {
		/* namespace: handled by materialize below */
	}
	struct mtree root = { 0 };
	bool any = false;
	for (size_t i = 0; i < n->nrules; i++) {
		struct rrule *x = n->rules[i];
		if (x->kind == R_FUNC)
			continue;
		struct collect co = { .kind = 2 };
		if ((r = eval_rule(c, x, &co)))
			return r;
		for (size_t j = 0; j < co.paths.n; j++) {
			if ((r = mt_insert(c, &root, co.paths.p[j], co.dvals.p[j], x->kind == R_SET, n->path)))
				return r;
			any = true;
		}
	}
	if (exact_complete && dynamic && !any && n->dflt)
		return default_value(c, n->dflt, out);
	/* children defined by rules deeper in the tree, and the base document */
	for (size_t i = 0; i < n->nkids; i++) {
		struct rnode *kid = n->kids[i];
		struct rv *kv;
		if ((r = materialize(c, kid, kid->pathv, kid->npath, &kv)))
			return r;
		if (!kv)
			continue;
		struct rv *key = kid->pathv[kid->npath - 1];
		if ((r = mt_merge(c, mt_kid(c, &root, key), kv)))
			return r;
	}
	struct rv *b = base_at(c, n->pathv, n->npath);
	if (b && b->t == RV_OBJ) {
		for (size_t i = 0; i < b->n; i++) {
			struct mtree *m = mt_kid(c, &root, b->a[i]);
			if (!m->leaf && !m->keys.n && !m->is_set) {
				m->leaf = b->v[i];
			} else if (b->v[i]->t != RV_OBJ || m->leaf) {
				/* the base document wins over a rule with the same path */
				memset(m, 0, sizeof(*m));
				m->leaf = b->v[i];
			} else if ((r = mt_merge(c, m, b->v[i]))) {
				return r;
			}
		}
	} else if (b && !n->nrules && !n->nkids) {
		*out = b;
		return 0;
	}
	*out = mt_freeze(c, &root);
	return 0;
}

static int node_value(struct rctx *c, struct rnode *n, struct rv **out)
{
	struct cache_ent *ce = &c->cache[n->id];
	if (ce->epoch == c->epoch && ce->state) {
		if (ce->state == 1)
			return rg_fail(c, "rego_recursion_error", "rule %s is recursive", n->path);
		if (ce->state == 2) {
			*out = ce->v;
			return 0;
		}
		return RG_UNDEF;
	}
	unsigned ep = c->epoch;
	ce->epoch = ep;
	ce->state = 1;
	struct rv *v = NULL;
	int r = compute_node(c, n, &v);
	ce = &c->cache[n->id];
	if (r < 0) {
		ce->state = 0;
		return r;
	}
	if (c->epoch == ep) {
		ce->state = r == RG_UNDEF ? 3 : 2;
		ce->v = v;
	}
	if (r == RG_UNDEF)
		return RG_UNDEF;
	*out = v;
	return 0;
}

/* ---- function calls ---- */

struct fcall {
	struct rrule *rule;
	struct rv **args;
	size_t nargs;
	struct rv *val;
	size_t i;
	bool declared;
};

static void declare(struct rctx *c, struct rterm *t);

static int fval_k(struct rctx *c, struct rv *v, void *env)
{
	struct fcall *f = env;
	if (f->val && !rv_eq(f->val, v))
		return rg_fail(c, "eval_conflict_error",
			"functions must not produce multiple outputs for same inputs");
	f->val = v;
	return 0;
}

static int fbody_k(struct rctx *c, void *env)
{
	struct fcall *f = env;
	if (!f->rule->value)
		return fval_k(c, &rv_true_v, env);
	c->cur_line = f->rule->value->line;
	c->cur_col = f->rule->value->col;
	return eval_term(c, f->rule->value, fval_k, env);
}

static int fargs_k(struct rctx *c, void *env)
{
	struct fcall *f = env;
	if (f->i == 0 && !f->declared) {
		f->declared = true;
		for (size_t j = 0; j < f->nargs; j++)
			declare(c, f->rule->args[j]);
	}
	if (f->i == f->nargs) {
		if (f->rule->body)
			return eval_body(c, f->rule->body, fbody_k, f);
		return fbody_k(c, f);
	}
	size_t i = f->i++;
	int r = unify(c, f->rule->args[i], f->args[i], fargs_k, f);
	f->i = i;
	return r;
}

static int call_user(struct rctx *c, struct rnode *n, struct rv **args, size_t nargs,
	struct rv **out)
{
	int r = depth_in(c);
	if (r)
		return r;
	struct rv *val = NULL;
	for (size_t i = 0; i < n->nrules; i++) {
		struct rrule *def = n->rules[i];
		if (def->kind != R_FUNC || def->nargs != nargs)
			continue;
		for (struct rrule *x = def; x; x = x->els) {
			struct frame f;
			size_t mark = c->ntrail;
			frame_push(c, &f, x->mod);
			struct fcall fc = { x, args, nargs, NULL, 0, false };
			r = fargs_k(c, &fc);
			frame_pop(c, &f, mark);
			if (r == RG_UNSAFE || r == RG_UNSAFE_DEEP)
				r = rg_fail(c, "rego_unsafe_var_error", "var %s is unsafe",
					c->unsafe_name ? c->unsafe_name : "?");
			if (r) {
				c->depth--;
				return r;
			}
			if (fc.val) {
				if (val && !rv_eq(val, fc.val)) {
					c->depth--;
					return rg_fail(c, "eval_conflict_error",
						"functions must not produce multiple outputs for same inputs");
				}
				val = fc.val;
				break;
			}
		}
	}
	c->depth--;
	if (!val && n->dflt && n->dflt->nargs == nargs && (r = default_value(c, n->dflt, &val)))
		return r;
	if (!val)
		return RG_UNDEF;
	*out = val;
	return 0;
}

/* Resolve a call's operator: user functions (package, data.*, imports) or built-ins. */
void rg_resolve_call(struct rnode *root, struct rmodule *m, struct rterm *t)
{
	t->resolved = true;
	const char *name = t->name;
	const char *dot = strchr(name, '.');
	size_t l0 = dot ? (size_t)(dot - name) : strlen(name);
	struct rnode *n = NULL;
	const char *rest = dot ? dot + 1 : NULL;
	if (l0 == 4 && memcmp(name, "data", 4) == 0) {
		n = root;
	} else if (m && rg_node_kid(m->pkgnode, name, l0)) {
		n = rg_node_kid(m->pkgnode, name, l0);
	} else if (m) {
		for (size_t i = 0; i < m->nimp; i++) {
			if (strlen(m->imp[i].alias) != l0 || memcmp(m->imp[i].alias, name, l0) != 0)
				continue;
			struct rterm *ir = m->imp[i].ref;
			if (ir->k != T_REF || ir->a[0]->k != T_VAR || strcmp(ir->a[0]->name, "data"))
				break;
			n = root;
			for (size_t j = 1; n && j < ir->n; j++) {
				if (ir->a[j]->k != T_VAL || ir->a[j]->val->t != RV_STR) {
					n = NULL;
					break;
				}
				n = rg_node_kid(n, ir->a[j]->val->s, ir->a[j]->val->n);
			}
			break;
		}
	}
	while (n && rest) {
		const char *d = strchr(rest, '.');
		size_t l = d ? (size_t)(d - rest) : strlen(rest);
		n = rg_node_kid(n, rest, l);
		rest = d ? d + 1 : NULL;
	}
	if (n && n->has_func) {
		t->fnode = n;
		return;
	}
	t->bi = rg_builtin_find(name);
}

struct call_env {
	struct rterm *t;
	size_t nin;     /* input arguments */
	struct rterm *outarg;
	vk k;
	void *env;
	struct rv **vals;
	size_t i;
};

static int find_mock(struct rctx *c, const struct rterm *t, struct mock **out)
{
	for (size_t i = c->nmocks; i-- > 0;) {
		struct mock *m = &c->mocks[i];
		if (m->off)
			continue;
		if ((m->node && m->node == t->fnode) || (m->bi && m->bi == t->bi && !t->fnode)) {
			*out = m;
			return 1;
		}
	}
	return 0;
}

static int deliver(struct rctx *c, struct call_env *e, struct rv *res);

static int out_k(struct rctx *c, void *env)
{
	struct call_env *e = env;
	return e->k(c, &rv_true_v, e->env);
}

static int deliver(struct rctx *c, struct call_env *e, struct rv *res)
{
	if (e->outarg)
		return unify(c, e->outarg, res, out_k, e);
	return e->k(c, res, e->env);
}

static int invoke(struct rctx *c, struct call_env *e, const struct rg_builtin *bi,
	struct rnode *fnode, struct rv **args, size_t nargs, int mockdepth);

static int invoke_mock(struct rctx *c, struct call_env *e, struct mock *m, struct rv **args,
	size_t nargs, int mockdepth)
{
	if (m->value)
		return deliver(c, e, m->value);
	(void)mockdepth;
	if (m->rnode) {
		/* inside the replacement, the name it replaces means the original again */
		struct rv *res = NULL;
		struct mock *saved = c->mocks;
		size_t nsaved = c->nmocks;
		unsigned ep = c->epoch;
		/* no mock applies inside a replacement (OPA: a mock never calls another) */
		c->mocks = NULL;
		c->nmocks = 0;
		c->epoch = ++c->epoch_counter;
		int r = call_user(c, m->rnode, args, nargs, &res);
		c->mocks = saved;
		c->nmocks = nsaved;
		c->epoch = ep;
		if (r == RG_UNDEF)
			return 0;
		if (r)
			return r;
		return deliver(c, e, res);
	}
	return invoke(c, e, m->rbi, NULL, args, nargs, 1);
}

static int invoke(struct rctx *c, struct call_env *e, const struct rg_builtin *bi,
	struct rnode *fnode, struct rv **args, size_t nargs, int mockdepth)
{
	int r;
	if (mockdepth == 0) {
		struct rterm probe = { .bi = bi, .fnode = fnode };
		struct mock *m;
		if (find_mock(c, &probe, &m))
			return invoke_mock(c, e, m, args, nargs, 1);
	}
	if (fnode) {
		struct rv *res = NULL;
		r = call_user(c, fnode, args, nargs, &res);
		if (r == RG_UNDEF)
			return 0;
		if (r)
			return r;
		return deliver(c, e, res);
	}
	if (!bi)
		return rg_fail(c, "rego_type_error", "undefined function %s", e->t->name);
	if (bi->arity >= 0 && (size_t)bi->arity != nargs)
		return rg_fail(c, "rego_type_error", "%s: arity mismatch", bi->name);
	const char *save = c->cur_builtin;
	c->cur_builtin = bi->name;
	struct rv *res = NULL;
	r = bi->fn(c, args, &res);
	c->cur_builtin = save;
	if (r == RG_UNDEF)
		return 0;
	if (r < 0) {
		if (c->strict || !c->has_err || c->limit_hit ||
		    (strcmp(c->err.code, "eval_type_error") && strcmp(c->err.code, "eval_builtin_error")))
			return r;
		/* a built-in error makes the expression undefined (OPA's non-strict mode) */
		c->has_err = false;
		return 0;
	}
	if (bi->multi) {
		for (size_t i = 0; i < res->n; i++) {
			if ((r = deliver(c, e, res->a[i])))
				return r;
		}
		return 0;
	}
	return deliver(c, e, res);
}

static int call_arg_k(struct rctx *c, struct rv *v, void *env);

static int call_step(struct rctx *c, struct call_env *e)
{
	if (e->i == e->nin)
		return invoke(c, e, e->t->bi, e->t->fnode, e->vals, e->nin, 0);
	size_t i = e->i;
	int r = eval_term(c, e->t->a[i], call_arg_k, e);
	e->i = i;
	return r;
}

static int call_arg_k(struct rctx *c, struct rv *v, void *env)
{
	struct call_env *e = env;
	e->vals[e->i] = v;
	e->i++;
	int r = call_step(c, e);
	e->i--;
	return r;
}

static size_t func_arity(const struct rterm *t)
{
	if (t->fnode) {
		for (size_t i = 0; i < t->fnode->nrules; i++)
			if (t->fnode->rules[i]->kind == R_FUNC)
				return t->fnode->rules[i]->nargs;
		if (t->fnode->dflt)
			return t->fnode->dflt->nargs;
		return t->n;
	}
	if (t->bi && t->bi->arity >= 0)
		return (size_t)t->bi->arity;
	return t->n;
}

static int eval_call(struct rctx *c, struct rterm *t, vk k, void *env, bool allow_out)
{
	if (!t->resolved)
		rg_resolve_call(c->r->root, c->mod, t);
	if (!t->fnode && !t->bi) {
		/* a mocked name that is not a function of its own cannot be called */
		return rg_fail(c, "rego_type_error", "undefined function %s", t->name);
	}
	size_t ar = func_arity(t);
	struct call_env e = { t, t->n, NULL, k, env, NULL, 0 };
	if (allow_out && t->n == ar + 1) {
		e.nin = ar;
		e.outarg = t->a[ar];
	} else if (t->n != ar) {
		return rg_fail(c, "rego_type_error", "%s: wrong number of arguments", t->name);
	}
	e.vals = rg_alloc(c->a, (e.nin ? e.nin : 1) * sizeof(*e.vals));
	return call_step(c, &e);
}

/* ---- terms ---- */

struct list_env {
	struct rterm **ts;
	size_t n;
	struct rv **vals;
	int (*fin)(struct rctx *c, struct rv **vals, void *env);
	void *env;
	size_t i;
};

static int list_step(struct rctx *c, struct list_env *l);

static int list_k(struct rctx *c, struct rv *v, void *env)
{
	struct list_env *l = env;
	l->vals[l->i] = v;
	l->i++;
	int r = list_step(c, l);
	l->i--;
	return r;
}

static int list_step(struct rctx *c, struct list_env *l)
{
	if (l->i == l->n)
		return l->fin(c, l->vals, l->env);
	return eval_term(c, l->ts[l->i], list_k, l);
}

struct coll_env {
	struct rterm *t;
	vk k;
	void *env;
};

static int arr_fin(struct rctx *c, struct rv **vals, void *env)
{
	struct coll_env *e = env;
	return e->k(c, rv_arr(c->a, vals, e->t->n), e->env);
}

static int set_fin(struct rctx *c, struct rv **vals, void *env)
{
	struct coll_env *e = env;
	struct rv **cp = rg_alloc(c->a, (e->t->n ? e->t->n : 1) * sizeof(*cp));
	memcpy(cp, vals, e->t->n * sizeof(*cp));
	return e->k(c, rv_set(c->a, cp, e->t->n), e->env);
}

static int obj_fin(struct rctx *c, struct rv **vals, void *env)
{
	struct coll_env *e = env;
	size_t n = e->t->n;
	bool conf;
	struct rv *o = rv_obj(c->a, vals, vals + n, n, &conf);
	if (!o)
		return rg_fail(c, "eval_conflict_error", "object keys must be unique");
	return e->k(c, o, e->env);
}

static int eval_list(struct rctx *c, struct rterm **ts, size_t n,
	int (*fin)(struct rctx *, struct rv **, void *), void *env)
{
	struct list_env l = { ts, n, rg_alloc(c->a, (n ? n : 1) * sizeof(struct rv *)), fin, env, 0 };
	return list_step(c, &l);
}

struct comp_env {
	struct rterm *t;
	struct rvec keys, vals;
	struct rv *curkey;
};

static int comp_val_k(struct rctx *c, struct rv *v, void *env)
{
	struct comp_env *e = env;
	if (e->t->k == T_OCOMP) {
		for (size_t i = 0; i < e->keys.n; i++)
			if (rv_eq(e->keys.p[i], e->curkey)) {
				if (!rv_eq(e->vals.p[i], v))
					return rg_fail(c, "eval_conflict_error", "object keys must be unique");
				return 0;
			}
		rvec_push(c->a, &e->keys, e->curkey);
	}
	rvec_push(c->a, &e->vals, v);
	return 0;
}

static int comp_key_k(struct rctx *c, struct rv *v, void *env)
{
	struct comp_env *e = env;
	e->curkey = v;
	return eval_term(c, e->t->head, comp_val_k, env);
}

static int comp_body_k(struct rctx *c, void *env)
{
	struct comp_env *e = env;
	if (e->t->k == T_OCOMP)
		return eval_term(c, e->t->khead, comp_key_k, env);
	return eval_term(c, e->t->head, comp_val_k, env);
}

static int eval_comp(struct rctx *c, struct rterm *t, vk k, void *env)
{
	struct comp_env e = { .t = t };
	size_t mark = c->ntrail;
	int r = depth_in(c);
	if (r)
		return r;
	r = eval_body(c, t->body, comp_body_k, &e);
	c->depth--;
	c->ntrail = mark;
	if (r == RG_UNSAFE_DEEP)
		r = RG_UNSAFE;
	if (r)
		return r;
	struct rv *v;
	if (t->k == T_ACOMP)
		v = rv_arr(c->a, e.vals.p, e.vals.n);
	else if (t->k == T_SCOMP)
		v = rv_set(c->a, e.vals.p, e.vals.n);
	else
		v = rv_obj(c->a, e.keys.p, e.vals.p, e.keys.n, NULL);
	return k(c, v, env);
}

struct refhead_env {
	struct rterm *t;
	vk k;
	void *env;
};

static int refhead_k(struct rctx *c, struct rv *v, void *env)
{
	struct refhead_env *e = env;
	return walk_val(c, v, e->t->a, 1, e->t->n, e->k, e->env);
}

/* A reference a.b[c]... whose head is a variable naming input, data, a rule, an import. */
static int eval_global_ref(struct rctx *c, const char *name, struct rterm **ts, size_t n,
	vk k, void *env)
{
	if (strcmp(name, "input") == 0) {
		if (!c->input)
			return 0;
		return walk_val(c, c->input, ts, 1, n, k, env);
	}
	if (strcmp(name, "data") == 0)
		return eval_data(c, c->r->root, ts, 1, n, k, env);
	if (c->mod) {
		struct rnode *kid = rg_node_kid(c->mod->pkgnode, name, strlen(name));
		if (kid)
			return eval_data(c, kid, ts, 1, n, k, env);
		for (size_t i = 0; i < c->mod->nimp; i++) {
			if (strcmp(c->mod->imp[i].alias, name) != 0)
				continue;
			struct rterm *ir = c->mod->imp[i].ref;
			/* splice: the import's reference followed by our path */
			size_t in = ir->k == T_REF ? ir->n : 1;
			struct rterm **all = rg_alloc(c->a, (in + n) * sizeof(*all));
			if (ir->k == T_REF)
				memcpy(all, ir->a, in * sizeof(*all));
			else
				all[0] = ir;
			if (n > 1)
				memcpy(all + in, ts + 1, (n - 1) * sizeof(*all));
			return eval_global_ref(c, all[0]->name, all, in + n - 1, k, env);
		}
	}
	return unsafe(c, name);
}

static int eval_ref(struct rctx *c, struct rterm *t, vk k, void *env)
{
	struct rterm *h = t->a[0];
	if (h->k == T_VAR) {
		struct rv *b = NULL;
		enum vstate s = var_state(c, h->name, &b);
		if (s == V_BOUND)
			return walk_val(c, b, t->a, 1, t->n, k, env);
		if (s == V_UNBOUND)
			return unsafe(c, h->name);
		return eval_global_ref(c, h->name, t->a, t->n, k, env);
	}
	struct refhead_env e = { t, k, env };
	return eval_term(c, h, refhead_k, &e);
}

static int eval_term(struct rctx *c, struct rterm *t, vk k, void *env)
{
	int sr = stack_check(c);
	if (sr)
		return sr;
	switch (t->k) {
	case T_VAL:
		return k(c, t->val, env);
	case T_VAR: {
		struct rv *b = NULL;
		enum vstate s = var_state(c, t->name, &b);
		if (s == V_BOUND)
			return k(c, b, env);
		if (s == V_UNBOUND)
			return unsafe(c, t->name);
		struct rterm *one[1] = { t };
		return eval_global_ref(c, t->name, one, 1, k, env);
	}
	case T_REF:
		return eval_ref(c, t, k, env);
	case T_ARR: {
		struct coll_env e = { t, k, env };
		return eval_list(c, t->a, t->n, arr_fin, &e);
	}
	case T_SET: {
		struct coll_env e = { t, k, env };
		return eval_list(c, t->a, t->n, set_fin, &e);
	}
	case T_OBJ: {
		struct coll_env e = { t, k, env };
		size_t n = t->n;
		struct rterm **both = rg_alloc(c->a, (n ? 2 * n : 1) * sizeof(*both));
		if (n) {
			memcpy(both, t->a, n * sizeof(*both));
			memcpy(both + n, t->b, n * sizeof(*both));
		}
		return eval_list(c, both, 2 * n, obj_fin, &e);
	}
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP:
		return eval_comp(c, t, k, env);
	case T_CALL:
		return eval_call(c, t, k, env, false);
	}
	return 0;
}

/* ---- unification ---- */

struct uni_env {
	struct rterm *t;
	struct rv *v;
	bk k;
	void *env;
	size_t i;
};

static int unify_arr_step(struct rctx *c, void *env)
{
	struct uni_env *u = env;
	if (u->i == u->t->n)
		return u->k(c, u->env);
	size_t i = u->i++;
	int r = unify(c, u->t->a[i], u->v->a[i], unify_arr_step, u);
	u->i = i;
	return r;
}

struct uobj_env {
	struct uni_env *u;
	size_t i;
};

static int unify_obj_step(struct rctx *c, void *env);

static int uobj_key_k(struct rctx *c, struct rv *key, void *env)
{
	struct uni_env *u = env;
	struct rv *x = rv_obj_get(u->v, key);
	if (!x)
		return 0;
	size_t i = u->i++;
	int r = unify(c, u->t->b[i], x, unify_obj_step, u);
	u->i = i;
	return r;
}

static int unify_obj_step(struct rctx *c, void *env)
{
	struct uni_env *u = env;
	if (u->i == u->t->n)
		return u->k(c, u->env);
	return eval_term(c, u->t->a[u->i], uobj_key_k, u);
}

static int eq_k(struct rctx *c, struct rv *x, void *env)
{
	struct uni_env *u = env;
	if (!rv_eq(x, u->v))
		return 0;
	return u->k(c, u->env);
}

/* Unify term t (which may hold unbound variables) with the ground value v. */
static int unify(struct rctx *c, struct rterm *t, struct rv *v, bk k, void *env)
{
	int sr = stack_check(c);
	if (sr)
		return sr;
	switch (t->k) {
	case T_VAL:
		return rv_eq(t->val, v) ? k(c, env) : 0;
	case T_VAR: {
		struct rv *b = NULL;
		enum vstate s = var_state(c, t->name, &b);
		if (s == V_BOUND)
			return rv_eq(b, v) ? k(c, env) : 0;
		if (s == V_UNBOUND) {
			size_t mark = c->ntrail;
			bind(c, t->name, v);
			int r = k(c, env);
			c->ntrail = mark;
			return r;
		}
		break;
	}
	case T_ARR: {
		if (v->t != RV_ARR || v->n != t->n)
			return 0;
		struct uni_env u = { t, v, k, env, 0 };
		return unify_arr_step(c, &u);
	}
	case T_OBJ: {
		if (v->t != RV_OBJ || v->n != t->n)
			return 0;
		struct uni_env u = { t, v, k, env, 0 };
		return unify_obj_step(c, &u);
	}
	default:
		break;
	}
	struct uni_env u = { t, v, k, env, 0 };
	return eval_term(c, t, eq_k, &u);
}

struct uni2_env {
	struct rterm *other;
	bk k;
	void *env;
};

static int uni2_k(struct rctx *c, struct rv *v, void *env)
{
	struct uni2_env *e = env;
	return unify(c, e->other, v, e->k, e->env);
}

struct uni2_arr {
	struct rterm *a, *b;
	bk k;
	void *env;
	size_t i;
};

static int unify2(struct rctx *c, struct rterm *a, struct rterm *b, bk k, void *env);

static int uni2_arr_step(struct rctx *c, void *env)
{
	struct uni2_arr *e = env;
	if (e->i == e->a->n)
		return e->k(c, e->env);
	size_t i = e->i++;
	int r = unify2(c, e->a->a[i], e->b->a[i], uni2_arr_step, e);
	e->i = i;
	return r;
}

static bool is_unbound_var(struct rctx *c, struct rterm *t)
{
	struct rv *b;
	return t->k == T_VAR && var_state(c, t->name, &b) == V_UNBOUND;
}

/* Unify two terms either of which may hold unbound variables. */
static int unify2(struct rctx *c, struct rterm *a, struct rterm *b, bk k, void *env)
{
	if (a->k == T_ARR && b->k == T_ARR) {
		if (a->n != b->n)
			return 0;
		struct uni2_arr e = { a, b, k, env, 0 };
		return uni2_arr_step(c, &e);
	}
	if (a->k == T_OBJ && b->k == T_OBJ) {
		if (a->n != b->n)
			return 0;
		bool ground_keys = true;
		for (size_t i = 0; i < a->n && ground_keys; i++)
			ground_keys = a->a[i]->k == T_VAL && b->a[i]->k == T_VAL;
		if (ground_keys) {
			/* pair the values by key, then unify them as two arrays */
			struct rterm *xa = rg_alloc(c->a, sizeof(*xa)), *xb = rg_alloc(c->a, sizeof(*xb));
			xa->k = xb->k = T_ARR;
			xa->n = xb->n = a->n;
			xa->a = rg_alloc(c->a, a->n * sizeof(*xa->a));
			xb->a = rg_alloc(c->a, a->n * sizeof(*xb->a));
			for (size_t i = 0; i < a->n; i++) {
				size_t j = 0;
				while (j < b->n && !rv_eq(a->a[i]->val, b->a[j]->val))
					j++;
				if (j == b->n)
					return 0;
				xa->a[i] = a->b[i];
				xb->a[i] = b->b[j];
			}
			struct uni2_arr e = { xa, xb, k, env, 0 };
			return uni2_arr_step(c, &e);
		}
	}
	struct uni2_env e;
	size_t mark = c->ntrail;
	int r;
	if (is_unbound_var(c, b) && !is_unbound_var(c, a)) {
		e = (struct uni2_env){ b, k, env };
		return eval_term(c, a, uni2_k, &e);
	}
	e = (struct uni2_env){ a, k, env };
	r = eval_term(c, b, uni2_k, &e);
	if (r == RG_UNSAFE) {
		c->ntrail = mark;
		e = (struct uni2_env){ b, k, env };
		r = eval_term(c, a, uni2_k, &e);
	}
	return r;
}

/* ---- expressions ---- */

static void declare(struct rctx *c, struct rterm *t)
{
	if (!t)
		return;
	switch (t->k) {
	case T_VAR:
		bind(c, t->name, NULL);
		return;
	case T_ARR:
	case T_SET:
		for (size_t i = 0; i < t->n; i++)
			declare(c, t->a[i]);
		return;
	case T_OBJ:
		for (size_t i = 0; i < t->n; i++)
			declare(c, t->b[i]);
		return;
	default:
		return;
	}
}

struct truthy_env {
	bk k;
	void *env;
};

static int truthy_k(struct rctx *c, struct rv *v, void *env)
{
	struct truthy_env *e = env;
	if (rv_truthy_false(v))
		return 0;
	return e->k(c, e->env);
}

static int stop_k(struct rctx *c, void *env)
{
	(void)c;
	(void)env;
	return 1;
}

static int eval_expr_inner(struct rctx *c, struct rexpr *e, bk k, void *env);

struct somein_env {
	struct rexpr *e;
	bk k;
	void *env;
	struct rv *elem;
};

static int somein_val_k(struct rctx *c, void *env)
{
	struct somein_env *s = env;
	return unify(c, s->e->val, s->elem, s->k, s->env);
}

static int somein_coll_k(struct rctx *c, struct rv *coll, void *env)
{
	struct somein_env *s = env;
	int r;
	if (is_scalar_coll(coll))
		return 0;
	for (size_t i = 0; i < coll->n; i++) {
		if ((r = step(c)))
			return r;
		struct rv *key, *val;
		if (coll->t == RV_ARR) {
			key = rv_int(c->a, (int64_t)i);
			val = coll->a[i];
		} else if (coll->t == RV_OBJ) {
			key = coll->a[i];
			val = coll->v[i];
		} else {
			key = coll->a[i];
			val = coll->a[i];
		}
		s->elem = val;
		if (s->e->key)
			r = unify(c, s->e->key, key, somein_val_k, s);
		else
			r = somein_val_k(c, s);
		if (r)
			return r;
	}
	return 0;
}

struct every_env {
	struct rexpr *e;
	bool ok, seen;
};

static int every_coll_k(struct rctx *c, struct rv *coll, void *env)
{
	struct every_env *ev = env;
	int r;
	ev->seen = true;
	if (is_scalar_coll(coll)) {
		ev->ok = false;
		return 0;
	}
	for (size_t i = 0; i < coll->n && ev->ok; i++) {
		if ((r = step(c)))
			return r;
		struct rv *key, *val;
		if (coll->t == RV_ARR) {
			key = rv_int(c->a, (int64_t)i);
			val = coll->a[i];
		} else if (coll->t == RV_OBJ) {
			key = coll->a[i];
			val = coll->v[i];
		} else {
			key = coll->a[i];
			val = coll->a[i];
		}
		size_t mark = c->ntrail;
		if (ev->e->key)
			bind(c, ev->e->key->name, key);
		bind(c, ev->e->val->name, val);
		r = eval_body(c, ev->e->body, stop_k, NULL);
		c->ntrail = mark;
		if (r == RG_UNSAFE_DEEP)
			r = RG_UNSAFE;
		if (r < 0)
			return r;
		if (r == 0)
			ev->ok = false;
	}
	return 0;
}

/* A named variable in t that nothing has bound yet (`not` must not bind any). */
static bool has_unbound(struct rctx *c, struct rterm *t)
{
	struct rv *b;
	if (!t)
		return false;
	switch (t->k) {
	case T_VAR:
		if (t->name[0] != '$' && var_state(c, t->name, &b) == V_UNBOUND &&
		    !lookup(c, t->name)) {
			c->unsafe_name = t->name;
			return true;
		}
		return false;
	case T_REF:
	case T_ARR:
	case T_SET:
	case T_CALL:
		for (size_t i = 0; i < t->n; i++)
			if (has_unbound(c, t->a[i]))
				return true;
		return false;
	case T_OBJ:
		for (size_t i = 0; i < t->n; i++)
			if (has_unbound(c, t->a[i]) || has_unbound(c, t->b[i]))
				return true;
		return false;
	default:
		return false;
	}
}

static int eval_expr_inner(struct rctx *c, struct rexpr *e, bk k, void *env)
{
	int r;
	size_t mark = c->ntrail;
	switch (e->k) {
	case E_SOME:
		for (size_t i = 0; i < e->nvars; i++)
			bind(c, e->vars[i], NULL);
		r = k(c, env);
		c->ntrail = mark;
		return r;
	case E_SOME_IN: {
		declare(c, e->key);
		declare(c, e->val);
		struct somein_env s = { e, k, env, NULL };
		r = eval_term(c, e->coll, somein_coll_k, &s);
		c->ntrail = mark;
		return r;
	}
	case E_EVERY: {
		if ((e->key && e->key->k != T_VAR) || e->val->k != T_VAR)
			return rg_fail(c, "rego_parse_error", "every needs variables");
		struct every_env ev = { e, true, false };
		r = eval_term(c, e->coll, every_coll_k, &ev);
		c->ntrail = mark;
		if (r)
			return r;
		/* every over an undefined collection is undefined; over any collection whose
		 * elements all satisfy the body (or an empty one) it is true */
		if (!ev.ok || !ev.seen)
			return 0;
		return k(c, env);
	}
	case E_NOTBLOCK:
		r = eval_body(c, e->body, stop_k, NULL);
		c->ntrail = mark;
		if (r == RG_UNSAFE_DEEP)
			r = RG_UNSAFE;
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
		return k(c, env);
	case E_TERM:
		break;
	}
	struct rterm *t = e->t;
	if (e->neg && has_unbound(c, t))
		return RG_UNSAFE;
	if (e->neg) {
		struct rexpr pos = *e;
		pos.neg = false;
		pos.nwith = 0;
		r = eval_expr_inner(c, &pos, stop_k, NULL);
		c->ntrail = mark;
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
		return k(c, env);
	}
	if (t->k == T_CALL && !t->op) {
		if (strcmp(t->name, "eq") == 0)
			return unify2(c, t->a[0], t->a[1], k, env);
		if (strcmp(t->name, "assign") == 0) {
			declare(c, t->a[0]);
			r = unify2(c, t->a[0], t->a[1], k, env);
			c->ntrail = mark;
			return r;
		}
	}
	struct truthy_env te = { k, env };
	if (t->k == T_CALL)
		return eval_call(c, t, truthy_k, &te, true);
	return eval_term(c, t, truthy_k, &te);
}

/* ---- with ---- */

struct wstate {
	struct rv *input;
	struct dover *dover;
	size_t ndover;
	struct mock *mocks;
	size_t nmocks;
	unsigned epoch;
};

static void wsave(struct rctx *c, struct wstate *s)
{
	s->input = c->input;
	s->dover = c->dover;
	s->ndover = c->ndover;
	s->mocks = c->mocks;
	s->nmocks = c->nmocks;
	s->epoch = c->epoch;
}

static void wload(struct rctx *c, const struct wstate *s)
{
	c->input = s->input;
	c->dover = s->dover;
	c->ndover = s->ndover;
	c->mocks = s->mocks;
	c->nmocks = s->nmocks;
	c->epoch = s->epoch;
}

struct with_env {
	struct wstate outer, inner;
	bk k;
	void *env;
};

static int with_k(struct rctx *c, void *env)
{
	struct with_env *w = env;
	wload(c, &w->outer);
	int r = w->k(c, w->env);
	wload(c, &w->inner);
	return r;
}

struct first_env {
	struct rv *v;
};

static int first_k(struct rctx *c, struct rv *v, void *env)
{
	(void)c;
	((struct first_env *)env)->v = v;
	return 1;
}

/* The function a `with` target or replacement names, if it names one. */
static bool as_function(struct rctx *c, struct rterm *t, struct rnode **node,
	const struct rg_builtin **bi)
{
	const char *name = NULL;
	if (t->k == T_VAR)
		name = t->name;
	else if (t->k == T_REF && t->a[0]->k == T_VAR) {
		struct sbuf b = { .a = c->a };
		sb_puts(&b, t->a[0]->name);
		for (size_t i = 1; i < t->n; i++) {
			if (t->a[i]->k != T_VAL || t->a[i]->val->t != RV_STR)
				return false;
			sb_puts(&b, ".");
			sb_puts(&b, t->a[i]->val->s);
		}
		name = b.p;
	}
	if (!name)
		return false;
	struct rv *bv;
	if (t->k == T_VAR && var_state(c, name, &bv) == V_BOUND)
		return false;
	struct rterm probe = { .k = T_CALL, .name = name };
	rg_resolve_call(c->r->root, c->mod, &probe);
	*node = probe.fnode;
	*bi = probe.bi;
	return probe.fnode || probe.bi;
}

static int eval_with(struct rctx *c, struct rexpr *e, bk k, void *env)
{
	struct with_env w = { .k = k, .env = env };
	wsave(c, &w.outer);
	struct rv *input = c->input;
	struct dover *dov = c->dover;
	size_t ndov = c->ndover;
	struct mock *mocks = c->mocks;
	size_t nmocks = c->nmocks;
	for (size_t i = 0; i < e->nwith; i++) {
		struct rwith *wi = &e->with[i];
		struct rterm *tg = wi->target;
		struct rnode *fnode = NULL, *rnode = NULL;
		const struct rg_builtin *fbi = NULL, *rbi = NULL;
		const char *root = tg->k == T_VAR ? tg->name :
			(tg->k == T_REF && tg->a[0]->k == T_VAR) ? tg->a[0]->name : NULL;
		bool is_fn = as_function(c, tg, &fnode, &fbi);
		if (is_fn && root && strcmp(root, "input") && (fbi || fnode)) {
			struct mock *nm = rg_alloc(c->a, (nmocks + 1) * sizeof(*nm));
			if (nmocks)
				memcpy(nm, mocks, nmocks * sizeof(*nm));
			struct mock *m = &nm[nmocks];
			m->node = fnode;
			m->bi = fnode ? NULL : fbi;
			if (as_function(c, wi->value, &rnode, &rbi)) {
				m->rnode = rnode;
				m->rbi = rnode ? NULL : rbi;
			} else {
				struct first_env fe = { NULL };
				wload(c, &w.outer);
				int r = eval_term(c, wi->value, first_k, &fe);
				if (r < 0)
					return r;
				if (!fe.v)
					return 0;
				m->value = fe.v;
			}
			mocks = nm;
			nmocks++;
			continue;
		}
		struct first_env fe = { NULL };
		struct wstate cur;
		wsave(c, &cur);
		wload(c, &w.outer);
		int r = eval_term(c, wi->value, first_k, &fe);
		wload(c, &cur);
		if (r < 0)
			return r;
		if (!fe.v)
			return 0;
		if (!root)
			return rg_fail(c, "rego_type_error", "with target must be input, data or a function");
		size_t pn = tg->k == T_REF ? tg->n - 1 : 0;
		struct rv **path = rg_alloc(c->a, (pn ? pn : 1) * sizeof(*path));
		for (size_t j = 0; j < pn; j++) {
			struct rterm *pt = tg->a[j + 1];
			if (pt->k != T_VAL)
				return rg_fail(c, "rego_type_error", "with target path must be constant");
			path[j] = pt->val;
		}
		if (strcmp(root, "input") == 0) {
			input = patch(c->a, input, path, pn, fe.v);
		} else if (strcmp(root, "data") == 0) {
			struct dover *nd = rg_alloc(c->a, (ndov + 1) * sizeof(*nd));
			if (ndov)
				memcpy(nd, dov, ndov * sizeof(*nd));
			nd[ndov].path = path;
			nd[ndov].n = pn;
			nd[ndov].v = fe.v;
			dov = nd;
			ndov++;
		} else {
			return rg_fail(c, "rego_type_error", "with target must be input, data or a function");
		}
		c->input = input;
		c->dover = dov;
		c->ndover = ndov;
	}
	c->input = input;
	c->dover = dov;
	c->ndover = ndov;
	c->mocks = mocks;
	c->nmocks = nmocks;
	c->epoch = ++c->epoch_counter;
	wsave(c, &w.inner);
	struct rexpr plain = *e;
	plain.nwith = 0;
	int r = eval_expr_inner(c, &plain, with_k, &w);
	wload(c, &w.outer);
	return r;
}

static int eval_expr(struct rctx *c, struct rexpr *e, bk k, void *env)
{
	int r = step(c);
	if (r || (r = stack_check(c)))
		return r;
	int line = c->cur_line, col = c->cur_col;
	c->cur_line = e->line;
	c->cur_col = e->col;
	if (e->nwith)
		r = eval_with(c, e, k, env);
	else
		r = eval_expr_inner(c, e, k, env);
	c->cur_line = line;
	c->cur_col = col;
	return r;
}

/* ---- bodies ---- */

struct body_env {
	struct rbody *b;
	size_t *order;
	bk k;
	void *env;
};

struct bstep {
	struct body_env *st;
	size_t i;
};

static int body_step(struct rctx *c, struct body_env *st, size_t i, size_t deferred);

static int body_next(struct rctx *c, void *env)
{
	struct bstep *s = env;
	int r = body_step(c, s->st, s->i + 1, 0);
	if (r == RG_UNSAFE)
		r = RG_UNSAFE_DEEP;
	return r;
}

static int body_step(struct rctx *c, struct body_env *st, size_t i, size_t deferred)
{
	size_t n = st->b->n;
	if (i == n) {
		int r = st->k(c, st->env);
		return r;
	}
	struct bstep s = { st, i };
	size_t mark = c->ntrail;
	int r = eval_expr(c, st->b->e[st->order[i]], body_next, &s);
	if (r == RG_UNSAFE && i + 1 < n && deferred < n - i - 1) {
		c->ntrail = mark;
		struct body_env st2 = *st;
		st2.order = rg_alloc(c->a, n * sizeof(*st2.order));
		memcpy(st2.order, st->order, n * sizeof(*st2.order));
		size_t first = st2.order[i];
		memmove(&st2.order[i], &st2.order[i + 1], (n - i - 1) * sizeof(*st2.order));
		st2.order[n - 1] = first;
		return body_step(c, &st2, i, deferred + 1);
	}
	return r;
}

static int eval_body(struct rctx *c, struct rbody *b, bk k, void *env)
{
	struct body_env st = { b, NULL, k, env };
	st.order = rg_alloc(c->a, (b->n ? b->n : 1) * sizeof(*st.order));
	for (size_t i = 0; i < b->n; i++)
		st.order[i] = i;
	int r = depth_in(c);
	if (r)
		return r;
	r = body_step(c, &st, 0, 0);
	c->depth--;
	return r;
}

/* ---- entry ---- */

struct query_env {
	struct rvec results;
	size_t max;
};

static int query_k(struct rctx *c, void *env)
{
	struct query_env *q = env;
	struct rvec ks = { 0 }, vs = { 0 };
	for (size_t i = c->base; i < c->ntrail; i++) {
		struct bind *b = &c->trail[i];
		if (!b->v || b->name[0] == '$')
			continue;
		struct rv *k = rv_cstr(c->a, b->name);
		bool dup = false;
		for (size_t j = 0; j < ks.n; j++)
			if (rv_eq(ks.p[j], k)) {
				vs.p[j] = b->v;
				dup = true;
			}
		if (dup)
			continue;
		rvec_push(c->a, &ks, k);
		rvec_push(c->a, &vs, b->v);
	}
	struct rv *o = rv_obj(c->a, ks.p, vs.p, ks.n, NULL);
	for (size_t i = 0; i < q->results.n; i++)
		if (rv_eq(q->results.p[i], o))
			return 0;
	if (q->results.n >= q->max) {
		c->limit_hit = true;
		return rg_fail(c, "eval_limit_error", "more than %zu solutions", q->max);
	}
	rvec_push(c->a, &q->results, o);
	return 0;
}

int rg_eval_body(struct rctx *c, struct rbody *b, struct rv **results)
{
	c->cache = rg_alloc(c->a, (c->r->nnodes + 1) * sizeof(*c->cache));
	c->epoch = 1;
	c->epoch_counter = 1;
	struct query_env q = { .max = c->r->lim.max_results };
	int r = eval_body(c, b, query_k, &q);
	if (r == RG_UNSAFE || r == RG_UNSAFE_DEEP)
		r = rg_fail(c, "rego_unsafe_var_error", "var %s is unsafe",
			c->unsafe_name ? c->unsafe_name : "?");
	if (r < 0)
		return r;
	*results = rv_arr(c->a, q.results.p, q.results.n);
	return 0;
}
