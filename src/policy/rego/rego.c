/* Compiling modules into the rule tree, and the public entry points of rego.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <turtle/error.h>

#include "rego_eval.h"

void tt_rego_limits_default(struct tt_rego_limits *l)
{
	l->max_parse_depth = 64;
	l->max_steps = 1000000;
	l->max_call_depth = 200;
	l->max_memory = 64u << 20;
	l->max_output = 1u << 20;
	l->max_results = 10000;
	l->max_stack = 1u << 20;
}

void tt_rego_err_format(const struct tt_rego_err *e, char *buf, size_t n)
{
	if (e->file[0] && e->line)
		snprintf(buf, n, "%s:%d: %s: %s", e->file, e->line, e->code, e->msg);
	else
		snprintf(buf, n, "%s: %s", e->code, e->msg);
}

static void set_err(struct tt_rego_err *e, const char *code, const char *file, int line,
	int col, const char *msg)
{
	if (!e)
		return;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	e->col = col;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

/* ---- the rule tree ---- */

static struct rnode *node_kid_make(struct tt_rego *r, struct rnode *n, const char *name)
{
	struct rnode *k = rg_node_kid(n, name, strlen(name));
	if (k)
		return k;
	k = rg_alloc(&r->ar, sizeof(*k));
	k->name = rg_strndup(&r->ar, name, strlen(name));
	k->parent = n;
	k->id = ++r->nnodes;
	size_t pl = strlen(n->path) + strlen(name) + 2;
	k->path = rg_alloc(&r->ar, pl);
	snprintf(k->path, pl, "%s.%s", n->path, name);
	k->npath = n->npath + 1;
	k->pathv = rg_alloc(&r->ar, k->npath * sizeof(*k->pathv));
	if (n->npath)
		memcpy(k->pathv, n->pathv, n->npath * sizeof(*k->pathv));
	k->pathv[n->npath] = rv_cstr(&r->ar, name);
	if (n->nkids == n->capk) {
		size_t nc = n->capk ? n->capk * 2 : 4;
		struct rnode **nk = rg_alloc(&r->ar, nc * sizeof(*nk));
		if (n->nkids)
			memcpy(nk, n->kids, n->nkids * sizeof(*nk));
		n->kids = nk;
		n->capk = nc;
	}
	n->kids[n->nkids++] = k;
	return k;
}

static void node_add_rule(struct tt_rego *r, struct rnode *n, struct rrule *x)
{
	if (n->nrules == n->capr) {
		size_t nc = n->capr ? n->capr * 2 : 4;
		struct rrule **nr = rg_alloc(&r->ar, nc * sizeof(*nr));
		if (n->nrules)
			memcpy(nr, n->rules, n->nrules * sizeof(*nr));
		n->rules = nr;
		n->capr = nc;
	}
	n->rules[n->nrules++] = x;
}

/* ---- constant folding and call resolution ---- */

static struct rterm *fold(struct tt_rego *r, struct rmodule *m, struct rterm *t);

static void fold_body(struct tt_rego *r, struct rmodule *m, struct rbody *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		struct rexpr *e = b->e[i];
		if (e->t)
			e->t = fold(r, m, e->t);
		if (e->key)
			e->key = fold(r, m, e->key);
		if (e->val)
			e->val = fold(r, m, e->val);
		if (e->coll)
			e->coll = fold(r, m, e->coll);
		fold_body(r, m, e->body);
		for (size_t j = 0; j < e->nwith; j++)
			e->with[j].value = fold(r, m, e->with[j].value);
	}
}

static struct rterm *fold(struct tt_rego *r, struct rmodule *m, struct rterm *t)
{
	if (!t)
		return t;
	bool ground = true;
	switch (t->k) {
	case T_VAL:
	case T_VAR:
		return t;
	case T_REF:
		for (size_t i = 0; i < t->n; i++)
			if (i > 0 || t->a[i]->k != T_VAR)
				t->a[i] = fold(r, m, t->a[i]);
		return t;
	case T_CALL:
		for (size_t i = 0; i < t->n; i++)
			t->a[i] = fold(r, m, t->a[i]);
		/* every call, operators included: evaluation never writes to the shared tree */
		rg_resolve_call(r->root, m, t);
		return t;
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP:
		t->head = fold(r, m, t->head);
		t->khead = fold(r, m, t->khead);
		fold_body(r, m, t->body);
		return t;
	case T_ARR:
	case T_SET:
		for (size_t i = 0; i < t->n; i++) {
			t->a[i] = fold(r, m, t->a[i]);
			ground = ground && t->a[i]->k == T_VAL;
		}
		break;
	case T_OBJ:
		for (size_t i = 0; i < t->n; i++) {
			t->a[i] = fold(r, m, t->a[i]);
			t->b[i] = fold(r, m, t->b[i]);
			ground = ground && t->a[i]->k == T_VAL && t->b[i]->k == T_VAL;
		}
		break;
	}
	if (!ground)
		return t;
	struct rv **vs = rg_alloc(&r->ar, (2 * t->n + 1) * sizeof(*vs));
	struct rv *v;
	if (t->k == T_OBJ) {
		for (size_t i = 0; i < t->n; i++) {
			vs[i] = t->a[i]->val;
			vs[t->n + i] = t->b[i]->val;
		}
		bool conf;
		v = rv_obj(&r->ar, vs, vs + t->n, t->n, &conf);
		if (!v)
			return t; /* the conflict is reported when evaluated */
	} else {
		for (size_t i = 0; i < t->n; i++)
			vs[i] = t->a[i]->val;
		v = t->k == T_ARR ? rv_arr(&r->ar, vs, t->n) : rv_set(&r->ar, vs, t->n);
	}
	struct rterm *f = rg_alloc(&r->ar, sizeof(*f));
	f->k = T_VAL;
	f->line = t->line;
	f->col = t->col;
	f->val = v;
	return f;
}

static int compile_rule(struct tt_rego *r, struct rmodule *m, struct rrule *x,
	struct tt_rego_err *e)
{
	struct rnode *n = m->pkgnode;
	if (x->kind == R_FUNC && x->nstatic < x->nref) {
		set_err(e, "rego_parse_error", m->name, x->line, 0, "function names must be plain");
		return TT_ERR_PARSE;
	}
	for (size_t i = 0; i < x->nstatic; i++)
		n = node_kid_make(r, n, x->ref[i]->val->s);
	for (struct rrule *y = x; y; y = y->els) {
		y->node = n;
		for (size_t i = 0; i < y->nref; i++)
			y->ref[i] = fold(r, m, y->ref[i]);
		for (size_t i = 0; i < y->nargs; i++)
			y->args[i] = fold(r, m, y->args[i]);
		y->key = fold(r, m, y->key);
		y->value = fold(r, m, y->value);
	}
	if (x->kind == R_FUNC)
		n->has_func = true;
	else
		n->has_value = true;
	if (x->is_default) {
		if (n->dflt) {
			set_err(e, "rego_type_error", m->name, x->line, 0,
				"multiple default rules");
			return TT_ERR_DATA_INVALID;
		}
		n->dflt = x;
		return 0;
	}
	node_add_rule(r, n, x);
	return 0;
}

/* ---- compile checks: every call names a function that exists, with its arity ---- */

struct check {
	struct rmodule *m;
	struct tt_rego_err *e;
};

static int check_term(struct check *k, const struct rterm *t);

static int check_body(struct check *k, const struct rbody *b)
{
	int r;
	if (!b)
		return 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct rexpr *x = b->e[i];
		if ((r = check_term(k, x->t)) || (r = check_term(k, x->key)) ||
		    (r = check_term(k, x->val)) || (r = check_term(k, x->coll)) ||
		    (r = check_body(k, x->body)))
			return r;
		for (size_t j = 0; j < x->nwith; j++)
			if ((r = check_term(k, x->with[j].value)))
				return r;
	}
	return 0;
}

static int call_arity(const struct rterm *t, size_t *ar)
{
	if (t->fnode) {
		for (size_t i = 0; i < t->fnode->nrules; i++)
			if (t->fnode->rules[i]->kind == R_FUNC) {
				*ar = t->fnode->rules[i]->nargs;
				return 0;
			}
		if (t->fnode->dflt) {
			*ar = t->fnode->dflt->nargs;
			return 0;
		}
		return -1;
	}
	if (t->bi && t->bi->arity >= 0) {
		*ar = (size_t)t->bi->arity;
		return 0;
	}
	return -1;
}

static int check_term(struct check *k, const struct rterm *t)
{
	int r;
	if (!t)
		return 0;
	if (t->k == T_CALL && t->op) {
		char msg[200];
		size_t ar;
		if (!t->fnode && !t->bi) {
			snprintf(msg, sizeof(msg), "undefined function %.150s", t->name);
			set_err(k->e, "rego_type_error", k->m->name, t->line, t->col, msg);
			return TT_ERR_DATA_INVALID;
		}
		if (call_arity(t, &ar) == 0 && t->n != ar && t->n != ar + 1) {
			snprintf(msg, sizeof(msg), "%.150s: wrong number of arguments (%zu, want %zu)",
				t->name, t->n, ar);
			set_err(k->e, "rego_type_error", k->m->name, t->line, t->col, msg);
			return TT_ERR_DATA_INVALID;
		}
	}
	switch (t->k) {
	case T_REF:
	case T_ARR:
	case T_SET:
	case T_CALL:
		for (size_t i = 0; i < t->n; i++)
			if ((r = check_term(k, t->a[i])))
				return r;
		return 0;
	case T_OBJ:
		for (size_t i = 0; i < t->n; i++)
			if ((r = check_term(k, t->a[i])) || (r = check_term(k, t->b[i])))
				return r;
		return 0;
	case T_ACOMP:
	case T_SCOMP:
	case T_OCOMP:
		if ((r = check_term(k, t->head)) || (r = check_term(k, t->khead)))
			return r;
		return check_body(k, t->body);
	default:
		return 0;
	}
}

static int check_module(struct rmodule *m, struct tt_rego_err *e)
{
	struct check k = { m, e };
	int r;
	for (size_t i = 0; i < m->nrules; i++) {
		for (const struct rrule *y = m->rules[i]; y; y = y->els) {
			for (size_t j = 0; j < y->nref; j++)
				if ((r = check_term(&k, y->ref[j])))
					return r;
			for (size_t j = 0; j < y->nargs; j++)
				if ((r = check_term(&k, y->args[j])))
					return r;
			if ((r = check_term(&k, y->key)) || (r = check_term(&k, y->value)) ||
			    (r = check_body(&k, y->body)))
				return r;
		}
	}
	return 0;
}

int tt_rego_compile(size_t n, const char *const *names, const char *const *srcs,
	const size_t *lens, const struct tt_rego_limits *lim, struct tt_rego **out,
	struct tt_rego_err *e)
{
	struct tt_rego *r = calloc(1, sizeof(*r));
	if (!r) {
		set_err(e, "rego_compile_error", NULL, 0, 0, "out of memory");
		return TT_ERR_NO_MEMORY;
	}
	if (lim)
		r->lim = *lim;
	else
		tt_rego_limits_default(&r->lim);
	rg_arena_init(&r->ar, r->lim.max_memory, &r->oom);
	if (setjmp(r->oom)) {
		set_err(e, "rego_compile_error", NULL, 0, 0, "policy too large");
		tt_rego_free(r);
		return TT_ERR_LIMIT;
	}
	int ret = 0;
	r->root = rg_alloc(&r->ar, sizeof(*r->root));
	r->root->name = "data";
	r->root->path = rg_strndup(&r->ar, "data", 4);
	r->mods = rg_alloc(&r->ar, (n ? n : 1) * sizeof(*r->mods));
	for (size_t i = 0; i < n; i++) {
		ret = rg_parse_module(&r->ar, names[i], srcs[i], lens[i], r->lim.max_parse_depth,
			&r->mods[i], e);
		if (ret)
			goto fail;
		r->nmods++;
	}
	/* packages first, so that calls resolve regardless of module order */
	for (size_t i = 0; i < r->nmods; i++) {
		struct rmodule *m = r->mods[i];
		struct rnode *pn = r->root;
		for (size_t j = 0; j < m->npkg; j++)
			pn = node_kid_make(r, pn, m->pkg[j]);
		m->pkgnode = pn;
		for (size_t j = 0; j < m->nrules; j++) {
			struct rrule *x = m->rules[j];
			struct rnode *nn = pn;
			for (size_t k = 0; k < x->nstatic; k++)
				nn = node_kid_make(r, nn, x->ref[k]->val->s);
			if (x->kind == R_FUNC)
				nn->has_func = true;
		}
	}
	for (size_t i = 0; i < r->nmods; i++) {
		struct rmodule *m = r->mods[i];
		for (size_t j = 0; j < m->nrules; j++)
			if ((ret = compile_rule(r, m, m->rules[j], e)))
				goto fail;
	}
	for (size_t i = 0; i < r->nmods; i++) {
		struct rmodule *m = r->mods[i];
		for (size_t j = 0; j < m->nrules; j++) {
			for (struct rrule *y = m->rules[j]; y; y = y->els) {
				fold_body(r, m, y->body);
				y->value = fold(r, m, y->value);
				y->key = fold(r, m, y->key);
			}
		}
	}
	for (size_t i = 0; i < r->nmods; i++)
		if ((ret = check_module(r->mods[i], e)))
			goto fail;
	for (size_t i = 0; i < r->nmods; i++) {
		struct rmodule *m = r->mods[i];
		for (size_t j = 0; j < m->nrules; j++) {
			struct rnode *nn = m->rules[j]->node;
			if (nn->has_func && nn->has_value) {
				set_err(e, "rego_type_error", m->name, m->rules[j]->line, 0,
					"rules and functions share a name");
				ret = TT_ERR_DATA_INVALID;
				goto fail;
			}
		}
	}
	*out = r;
	return 0;
fail:
	tt_rego_free(r);
	return ret;
}

void tt_rego_free(struct tt_rego *r)
{
	if (!r)
		return;
	rg_arena_free(&r->ar);
	free(r);
}

/* ---- evaluation ---- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int tt_rego_eval(const struct tt_rego *r, const char *query, const json_t *input,
	const json_t *data, const struct tt_rego_eval_opts *opts, json_t **results,
	struct tt_rego_err *e)
{
	struct rg_arena ar;
	jmp_buf oom;
	struct rctx *c = NULL;
	int ret;
	*results = NULL;
	rg_arena_init(&ar, r->lim.max_memory, &oom);
	if (setjmp(oom)) {
		set_err(e, "eval_limit_error", NULL, 0, 0, "evaluation memory limit exceeded");
		rg_arena_free(&ar);
		return TT_ERR_LIMIT;
	}
	c = rg_alloc(&ar, sizeof(*c));
	c->stack_base = (const char *)&ar;
	c->r = r;
	c->a = &ar;
	c->strict = opts && opts->strict_builtin_errors;
	c->now = opts && opts->now_ns ? opts->now_ns : now_ns();
	struct rbody *b;
	ret = rg_parse_query(&ar, query, strlen(query), r->lim.max_parse_depth, &b, e);
	if (ret)
		goto out;
	if (opts && opts->input_term) {
		struct rterm *t;
		ret = rg_parse_term(&ar, opts->input_term, strlen(opts->input_term),
			r->lim.max_parse_depth, &t, e);
		if (ret)
			goto out;
		struct tt_rego tmp = *r;
		tmp.ar = ar;
		t = fold(&tmp, NULL, t);
		ar = tmp.ar;
		if (t->k != T_VAL) {
			set_err(e, "rego_parse_error", "input", 0, 0, "input term is not a constant");
			ret = TT_ERR_PARSE;
			goto out;
		}
		c->input = t->val;
	} else {
		c->input = rv_from_json(&ar, input);
	}
	c->data = data ? rv_from_json(&ar, data) : rv_obj(&ar, NULL, NULL, 0, NULL);
	struct rv *res;
	ret = rg_eval_body(c, b, &res);
	if (ret) {
		if (e)
			*e = c->err;
		ret = c->limit_hit ? TT_ERR_LIMIT : TT_ERR_DATA_INVALID;
		goto out;
	}
	*results = rv_to_json(res);
	if (!*results) {
		set_err(e, "eval_internal_error", NULL, 0, 0, "out of memory");
		ret = TT_ERR_NO_MEMORY;
	}
out:
	rg_arena_free(&ar);
	return ret;
}

int tt_rego_eval_ref(const struct tt_rego *r, const char *ref, const json_t *input,
	const json_t *data, json_t **out, struct tt_rego_err *e)
{
	char *q;
	json_t *res;
	*out = NULL;
	if (asprintf(&q, "tt__result = %s", ref) < 0) {
		set_err(e, "eval_internal_error", NULL, 0, 0, "out of memory");
		return TT_ERR_NO_MEMORY;
	}
	int ret = tt_rego_eval(r, q, input, data, NULL, &res, e);
	free(q);
	if (ret)
		return ret;
	if (json_array_size(res) == 1)
		*out = json_incref(json_object_get(json_array_get(res, 0), "tt__result"));
	json_decref(res);
	return 0;
}
