/* Built-ins: operators, aggregates, numbers, types, sets, objects, arrays. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rego_eval.h"
#include "rego_bi.h"

#define A (rg_ctx_arena(c))

int bi_need(struct rctx *c, struct rv **args, int i, uint8_t t, const char *want)
{
	if (args[i]->t != t)
		return rg_type_err(c, i + 1, want, args[i]);
	return 0;
}

/* ---- comparison ---- */

#define CMP_BI(fname, expr) \
	static int fname(struct rctx *c, struct rv **a, struct rv **out) \
	{ \
		int r = rv_cmp(a[0], a[1]); \
		*out = rv_bool(expr); \
		(void)c; \
		return 0; \
	}
CMP_BI(bi_equal, r == 0)
CMP_BI(bi_neq, r != 0)
CMP_BI(bi_lt, r < 0)
CMP_BI(bi_lte, r <= 0)
CMP_BI(bi_gt, r > 0)
CMP_BI(bi_gte, r >= 0)

/* ---- arithmetic ---- */

static int arith(struct rctx *c, struct rv **a, struct rv **out, char op)
{
	if (op == '-' && a[0]->t == RV_SET) {
		if (a[1]->t != RV_SET)
			return rg_type_err(c, 2, "set", a[1]);
		struct rvec v = { 0 };
		for (size_t i = 0; i < a[0]->n; i++)
			if (!rv_set_has(a[1], a[0]->a[i]))
				rvec_push(A, &v, a[0]->a[i]);
		*out = rv_set(A, v.p, v.n);
		return 0;
	}
	if (a[0]->t != RV_NUM)
		return rg_type_err(c, 1, "number", a[0]);
	if (a[1]->t != RV_NUM)
		return rg_type_err(c, 2, "number", a[1]);
	const struct rv *x = a[0], *y = a[1];
	if (x->isint && y->isint) {
		int64_t r;
		bool ok = false;
		switch (op) {
		case '+': ok = !__builtin_add_overflow(x->i, y->i, &r); break;
		case '-': ok = !__builtin_sub_overflow(x->i, y->i, &r); break;
		case '*': ok = !__builtin_mul_overflow(x->i, y->i, &r); break;
		case '%':
			if (y->i == 0)
				return rg_fail(c, "eval_builtin_error", "rem: modulo by zero");
			r = y->i == -1 ? 0 : x->i % y->i;
			ok = true;
			break;
		case '/':
			if (y->i == 0)
				return rg_fail(c, "eval_builtin_error", "div: divide by zero");
			if (x->i % y->i == 0 && !(x->i == INT64_MIN && y->i == -1)) {
				r = x->i / y->i;
				ok = true;
			}
			break;
		}
		if (ok) {
			*out = rv_int(A, r);
			return 0;
		}
	}
	if (rv_is_integral(x) && rv_is_integral(y)) {
		int r = rv_big_arith(A, op, x, y, out);
		if (r == 0)
			return 0;
		if (r == -1)
			return rg_fail(c, "eval_builtin_error", op == '%' ? "rem: modulo by zero" :
				"div: divide by zero");
		if (r == -3)
			return rg_fail(c, "eval_builtin_error", "%s: number too large", rg_ctx_builtin(c));
	}
	double p = x->isint ? (double)x->i : x->d, q = y->isint ? (double)y->i : y->d;
	switch (op) {
	case '+': *out = rv_num_d(A, p + q); break;
	case '-': *out = rv_num_d(A, p - q); break;
	case '*': *out = rv_num_d(A, p * q); break;
	case '/':
		if (q == 0)
			return rg_fail(c, "eval_builtin_error", "div: divide by zero");
		*out = rv_num_d(A, p / q);
		break;
	case '%':
		if (!x->isint || !y->isint)
			return rg_fail(c, "eval_builtin_error", "rem: modulo on floating-point number");
		return rg_fail(c, "eval_builtin_error", "rem: modulo by zero");
	}
	if (!isfinite((*out)->d))
		return rg_fail(c, "eval_builtin_error", "%s: number too large", rg_ctx_builtin(c));
	return 0;
}

static int bi_plus(struct rctx *c, struct rv **a, struct rv **o) { return arith(c, a, o, '+'); }
static int bi_minus(struct rctx *c, struct rv **a, struct rv **o) { return arith(c, a, o, '-'); }
static int bi_mul(struct rctx *c, struct rv **a, struct rv **o) { return arith(c, a, o, '*'); }
static int bi_div(struct rctx *c, struct rv **a, struct rv **o) { return arith(c, a, o, '/'); }
static int bi_rem(struct rctx *c, struct rv **a, struct rv **o) { return arith(c, a, o, '%'); }

static int bi_and(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_SET)
		return rg_type_err(c, 1, "set", a[0]);
	if (a[1]->t != RV_SET)
		return rg_type_err(c, 2, "set", a[1]);
	struct rvec v = { 0 };
	for (size_t i = 0; i < a[0]->n; i++)
		if (rv_set_has(a[1], a[0]->a[i]))
			rvec_push(A, &v, a[0]->a[i]);
	*out = rv_set(A, v.p, v.n);
	return 0;
}

static int bi_or(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_SET)
		return rg_type_err(c, 1, "set", a[0]);
	if (a[1]->t != RV_SET)
		return rg_type_err(c, 2, "set", a[1]);
	struct rvec v = { 0 };
	for (size_t i = 0; i < a[0]->n; i++)
		rvec_push(A, &v, a[0]->a[i]);
	for (size_t i = 0; i < a[1]->n; i++)
		rvec_push(A, &v, a[1]->a[i]);
	*out = rv_set(A, v.p, v.n);
	return 0;
}

static int bi_intersection(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_SET)
		return rg_type_err(c, 1, "set", a[0]);
	if (a[0]->n == 0) {
		*out = rv_set(A, NULL, 0);
		return 0;
	}
	for (size_t i = 0; i < a[0]->n; i++)
		if (a[0]->a[i]->t != RV_SET)
			return rg_type_err(c, 1, "set of sets", a[0]);
	struct rv *acc = a[0]->a[0];
	for (size_t i = 1; i < a[0]->n; i++) {
		struct rv *args[2] = { acc, a[0]->a[i] };
		bi_and(c, args, &acc);
	}
	*out = acc;
	return 0;
}

static int bi_union(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_SET)
		return rg_type_err(c, 1, "set", a[0]);
	struct rvec v = { 0 };
	for (size_t i = 0; i < a[0]->n; i++) {
		if (a[0]->a[i]->t != RV_SET)
			return rg_type_err(c, 1, "set of sets", a[0]);
		for (size_t j = 0; j < a[0]->a[i]->n; j++)
			rvec_push(A, &v, a[0]->a[i]->a[j]);
	}
	*out = rv_set(A, v.p, v.n);
	return 0;
}

static int bi_member2(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)c;
	struct rv *coll = a[1];
	bool found = false;
	if (coll->t == RV_SET) {
		found = rv_set_has(coll, a[0]);
	} else if (coll->t == RV_ARR || coll->t == RV_OBJ) {
		for (size_t i = 0; i < coll->n && !found; i++)
			found = rv_eq(coll->t == RV_ARR ? coll->a[i] : coll->v[i], a[0]);
	}
	*out = rv_bool(found);
	return 0;
}

static int bi_member3(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)c;
	struct rv *coll = a[2];
	struct rv *x = NULL;
	if (coll->t == RV_ARR) {
		x = rv_index(coll, a[0]);
	} else if (coll->t == RV_OBJ) {
		x = rv_obj_get(coll, a[0]);
	}
	*out = rv_bool(x && rv_eq(x, a[1]));
	return 0;
}

/* ---- aggregates ---- */

/* Code points as Go counts them: each byte of an invalid sequence counts as one. */
static size_t utf8_len(const char *s, size_t n)
{
	size_t k = 0;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; k++) {
		unsigned char c = p[i];
		size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool ok = l > 0 && i + l <= n;
		for (size_t j = 1; ok && j < l; j++)
			ok = (p[i + j] & 0xC0) == 0x80;
		if (ok && l == 2 && c < 0xC2)
			ok = false;
		if (ok && l == 3 && ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] >= 0xA0)))
			ok = false;
		if (ok && l == 4 && ((c == 0xF0 && p[i + 1] < 0x90) || c > 0xF4 || (c == 0xF4 && p[i + 1] >= 0x90)))
			ok = false;
		i += ok ? l : 1;
	}
	return k;
}

static int bi_count(struct rctx *c, struct rv **a, struct rv **out)
{
	struct rv *x = a[0];
	if (x->t == RV_STR)
		*out = rv_int(A, (int64_t)utf8_len(x->s, x->n));
	else if (x->t == RV_ARR || x->t == RV_OBJ || x->t == RV_SET)
		*out = rv_int(A, (int64_t)x->n);
	else
		return rg_type_err(c, 1, "one of {array, object, set, string}", x);
	return 0;
}

static int sum_prod(struct rctx *c, struct rv **a, struct rv **out, bool prod)
{
	struct rv *x = a[0];
	if (x->t != RV_ARR && x->t != RV_SET)
		return rg_type_err(c, 1, "one of {array, set}", x);
	struct rv *acc = rv_int(A, prod ? 1 : 0);
	for (size_t i = 0; i < x->n; i++) {
		if (x->a[i]->t != RV_NUM)
			return rg_type_err(c, 1, prod ? "array of numbers" : "array of numbers", x);
		struct rv *args[2] = { acc, x->a[i] };
		int r = arith(c, args, &acc, prod ? '*' : '+');
		if (r)
			return r;
	}
	*out = acc;
	return 0;
}

static int bi_sum(struct rctx *c, struct rv **a, struct rv **o) { return sum_prod(c, a, o, false); }
static int bi_product(struct rctx *c, struct rv **a, struct rv **o) { return sum_prod(c, a, o, true); }

static int minmax(struct rctx *c, struct rv **a, struct rv **out, int sign)
{
	struct rv *x = a[0];
	if (x->t != RV_ARR && x->t != RV_SET)
		return rg_type_err(c, 1, "one of {array, set}", x);
	if (x->n == 0)
		return RG_UNDEF;
	struct rv *m = x->a[0];
	for (size_t i = 1; i < x->n; i++)
		if (rv_cmp(x->a[i], m) * sign > 0)
			m = x->a[i];
	*out = m;
	return 0;
}

static int bi_max(struct rctx *c, struct rv **a, struct rv **o) { return minmax(c, a, o, 1); }
static int bi_min(struct rctx *c, struct rv **a, struct rv **o) { return minmax(c, a, o, -1); }

static int cmp_pp(const void *x, const void *y)
{
	return rv_cmp(*(struct rv *const *)x, *(struct rv *const *)y);
}

static int bi_sort(struct rctx *c, struct rv **a, struct rv **out)
{
	struct rv *x = a[0];
	if (x->t != RV_ARR && x->t != RV_SET)
		return rg_type_err(c, 1, "one of {array, set}", x);
	struct rv *r = rv_arr(A, x->a, x->n);
	qsort(r->a, r->n, sizeof(*r->a), cmp_pp);
	*out = r;
	return 0;
}

/* ---- numbers ---- */

static int num1(struct rctx *c, struct rv **a, struct rv **out, int op)
{
	if (a[0]->t != RV_NUM)
		return rg_type_err(c, 1, "number", a[0]);
	struct rv *x = a[0];
	if (x->isint) {
		if (op == 0 && x->i == INT64_MIN)
			*out = rv_num_text(A, "9223372036854775808", 19);
		else
			*out = op == 0 ? rv_int(A, x->i < 0 ? -x->i : x->i) : x;
		return 0;
	}
	if (x->s) {
		*out = op == 0 && x->s[0] == '-' ? rv_num_text(A, x->s + 1, strlen(x->s + 1)) : x;
		return 0;
	}
	double d = x->d;
	switch (op) {
	case 0: d = fabs(d); break;
	case 1: d = round(d); break;
	case 2: d = ceil(d); break;
	case 3: d = floor(d); break;
	}
	*out = rv_num_d(A, d);
	return 0;
}

static int bi_abs(struct rctx *c, struct rv **a, struct rv **o) { return num1(c, a, o, 0); }
static int bi_round(struct rctx *c, struct rv **a, struct rv **o) { return num1(c, a, o, 1); }
static int bi_ceil(struct rctx *c, struct rv **a, struct rv **o) { return num1(c, a, o, 2); }
static int bi_floor(struct rctx *c, struct rv **a, struct rv **o) { return num1(c, a, o, 3); }

static int bi_numbers_range(struct rctx *c, struct rv **a, struct rv **out)
{
	for (int i = 0; i < 2; i++) {
		if (a[i]->t != RV_NUM)
			return rg_type_err(c, i + 1, "number", a[i]);
		if (!a[i]->isint)
			return rg_fail(c, "eval_type_error",
				"numbers.range: operand %d must be integer number but got floating-point number",
				i + 1);
	}
	int64_t x = a[0]->i, y = a[1]->i;
	uint64_t n = (x <= y ? (uint64_t)(y - x) : (uint64_t)(x - y)) + 1;
	if (n > rg_ctx_max_output(c) / 8)
		return rg_fail(c, "eval_builtin_error", "numbers.range: range too large");
	struct rv **it = rg_alloc(A, n * sizeof(*it));
	for (uint64_t i = 0; i < n; i++)
		it[i] = rv_int(A, x <= y ? x + (int64_t)i : x - (int64_t)i);
	*out = rv_arr(A, it, n);
	return 0;
}

static int bi_numbers_range_step(struct rctx *c, struct rv **a, struct rv **out)
{
	for (int i = 0; i < 3; i++) {
		if (a[i]->t != RV_NUM)
			return rg_type_err(c, i + 1, "number", a[i]);
		if (!a[i]->isint)
			return rg_fail(c, "eval_type_error",
				"numbers.range_step: operand %d must be integer number but got floating-point number",
				i + 1);
	}
	int64_t x = a[0]->i, y = a[1]->i, s = a[2]->i;
	if (s <= 0)
		return rg_fail(c, "eval_builtin_error", "numbers.range_step: step must be a positive number above zero");
	struct rvec v = { 0 };
	if (x <= y) {
		for (int64_t i = x; i <= y; i += s) {
			rvec_push(A, &v, rv_int(A, i));
			if (v.n > rg_ctx_max_output(c) / 8 || i > INT64_MAX - s)
				break;
		}
	} else {
		for (int64_t i = x; i >= y; i -= s) {
			rvec_push(A, &v, rv_int(A, i));
			if (v.n > rg_ctx_max_output(c) / 8 || i < INT64_MIN + s)
				break;
		}
	}
	*out = rv_arr(A, v.p, v.n);
	return 0;
}

static int bi_to_number(struct rctx *c, struct rv **a, struct rv **out)
{
	struct rv *x = a[0];
	switch (x->t) {
	case RV_NULL:
		*out = rv_int(A, 0);
		return 0;
	case RV_BOOL:
		*out = rv_int(A, x->b);
		return 0;
	case RV_NUM:
		*out = x;
		return 0;
	case RV_STR: {
		const char *s = x->s;
		size_t n = x->n;
		/* Go's ParseFloat accepts these words; OPA refuses them */
		char low[16];
		size_t k = 0;
		for (size_t i = 0; i < n && k < sizeof(low) - 1; i++)
			low[k++] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
		low[k] = '\0';
		const char *w = low[0] == '+' || low[0] == '-' ? low + 1 : low;
		if (strcmp(w, "nan") == 0 || strcmp(w, "inf") == 0 || strcmp(w, "infinity") == 0)
			return rg_fail(c, "eval_type_error", "to_number: invalid syntax");
		const char *p = s;
		if (n && (*p == '+' || *p == '-'))
			p++;
		struct rv *v = NULL;
		if (n && s[0] != '+')
			v = rv_num_text(A, s, n);
		if (!v && n && s[0] == '+')
			v = rv_num_text(A, s + 1, n - 1);
		(void)p;
		if (!v) {
			char buf[128];
			if (n >= sizeof(buf))
				return rg_fail(c, "eval_builtin_error", "to_number: invalid syntax");
			memcpy(buf, s, n);
			buf[n] = '\0';
			char *end;
			double d = strtod(buf, &end);
			if (*end || n == 0 || !isfinite(d) || strpbrk(buf, "xXpP"))
				return rg_fail(c, "eval_builtin_error", "to_number: invalid syntax");
			v = rv_num_d(A, d);
		}
		*out = v;
		return 0;
	}
	default:
		return rg_type_err(c, 1, "one of {boolean, null, number, string}", x);
	}
}

/* ---- types ---- */

#define IS_BI(fname, T) \
	static int fname(struct rctx *c, struct rv **a, struct rv **out) \
	{ \
		(void)c; \
		*out = rv_bool(a[0]->t == (T)); \
		return 0; \
	}
IS_BI(bi_is_number, RV_NUM)
IS_BI(bi_is_string, RV_STR)
IS_BI(bi_is_boolean, RV_BOOL)
IS_BI(bi_is_array, RV_ARR)
IS_BI(bi_is_set, RV_SET)
IS_BI(bi_is_object, RV_OBJ)
IS_BI(bi_is_null, RV_NULL)

static int bi_type_name(struct rctx *c, struct rv **a, struct rv **out)
{
	*out = rv_cstr(A, rv_type_name(a[0]));
	return 0;
}

/* ---- objects ---- */

static int bi_object_get(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_OBJ)
		return rg_type_err(c, 1, "object", a[0]);
	struct rv *v = a[0];
	if (a[1]->t == RV_ARR) {
		for (size_t i = 0; i < a[1]->n && v; i++)
			v = (v->t == RV_OBJ || v->t == RV_ARR || v->t == RV_SET) ? rv_index(v, a[1]->a[i]) : NULL;
	} else {
		v = rv_obj_get(v, a[1]);
	}
	*out = v ? v : a[2];
	return 0;
}

static int bi_object_keys(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_OBJ)
		return rg_type_err(c, 1, "object", a[0]);
	*out = rv_set(A, a[0]->a, a[0]->n);
	return 0;
}

static struct rv *obj_union(struct rctx *c, struct rv *x, struct rv *y)
{
	if (x->t != RV_OBJ || y->t != RV_OBJ)
		return y;
	struct rvec ks = { 0 }, vs = { 0 };
	for (size_t i = 0; i < x->n; i++) {
		struct rv *yv = rv_obj_get(y, x->a[i]);
		rvec_push(A, &ks, x->a[i]);
		rvec_push(A, &vs, yv ? obj_union(c, x->v[i], yv) : x->v[i]);
	}
	for (size_t i = 0; i < y->n; i++) {
		if (rv_obj_get(x, y->a[i]))
			continue;
		rvec_push(A, &ks, y->a[i]);
		rvec_push(A, &vs, y->v[i]);
	}
	return rv_obj(A, ks.p, vs.p, ks.n, NULL);
}

static int bi_object_union(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_OBJ)
		return rg_type_err(c, 1, "object", a[0]);
	if (a[1]->t != RV_OBJ)
		return rg_type_err(c, 2, "object", a[1]);
	*out = obj_union(c, a[0], a[1]);
	return 0;
}

static int bi_object_union_n(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_ARR)
		return rg_type_err(c, 1, "array", a[0]);
	struct rv *acc = rv_obj(A, NULL, NULL, 0, NULL);
	for (size_t i = 0; i < a[0]->n; i++) {
		if (a[0]->a[i]->t != RV_OBJ)
			return rg_fail(c, "eval_type_error",
				"object.union_n: operand 1 must be array of objects but got array containing %s",
				rv_type_name(a[0]->a[i]));
		acc = obj_union(c, acc, a[0]->a[i]);
	}
	*out = acc;
	return 0;
}

/* keys named by a set, array or object's keys */
static int key_coll(struct rctx *c, struct rv *k, int idx, struct rv **set)
{
	if (k->t == RV_SET) {
		*set = k;
	} else if (k->t == RV_ARR) {
		*set = rv_set(A, rv_arr(A, k->a, k->n)->a, k->n);
	} else if (k->t == RV_OBJ) {
		*set = rv_set(A, rv_arr(A, k->a, k->n)->a, k->n);
	} else {
		return rg_type_err(c, idx, "one of {object, set, array}", k);
	}
	return 0;
}

static int obj_keep(struct rctx *c, struct rv **a, struct rv **out, bool keep)
{
	if (a[0]->t != RV_OBJ)
		return rg_type_err(c, 1, "object", a[0]);
	struct rv *ks = NULL;
	int r = key_coll(c, a[1], 2, &ks);
	if (r)
		return r;
	struct rvec k = { 0 }, v = { 0 };
	for (size_t i = 0; i < a[0]->n; i++) {
		if (rv_set_has(ks, a[0]->a[i]) != keep)
			continue;
		rvec_push(A, &k, a[0]->a[i]);
		rvec_push(A, &v, a[0]->v[i]);
	}
	*out = rv_obj(A, k.p, v.p, k.n, NULL);
	return 0;
}

static int bi_object_remove(struct rctx *c, struct rv **a, struct rv **o) { return obj_keep(c, a, o, false); }
static int bi_object_filter(struct rctx *c, struct rv **a, struct rv **o) { return obj_keep(c, a, o, true); }

static int bi_object_subset(struct rctx *c, struct rv **a, struct rv **out);

static bool subset(struct rv *sup, struct rv *sub)
{
	if (sup->t == RV_OBJ && sub->t == RV_OBJ) {
		for (size_t i = 0; i < sub->n; i++) {
			struct rv *x = rv_obj_get(sup, sub->a[i]);
			if (!x || !subset(x, sub->v[i]))
				return false;
		}
		return true;
	}
	if (sup->t == RV_SET && sub->t == RV_SET) {
		for (size_t i = 0; i < sub->n; i++)
			if (!rv_set_has(sup, sub->a[i]))
				return false;
		return true;
	}
	if (sup->t == RV_ARR && sub->t == RV_ARR) {
		if (sub->n == 0)
			return true;
		for (size_t i = 0; i + sub->n <= sup->n; i++) {
			bool ok = true;
			for (size_t j = 0; j < sub->n && ok; j++)
				ok = rv_eq(sup->a[i + j], sub->a[j]);
			if (ok)
				return true;
		}
		return false;
	}
	if (sup->t == RV_ARR && sub->t == RV_SET) {
		for (size_t i = 0; i < sub->n; i++) {
			bool f = false;
			for (size_t j = 0; j < sup->n && !f; j++)
				f = rv_eq(sup->a[j], sub->a[i]);
			if (!f)
				return false;
		}
		return true;
	}
	return rv_eq(sup, sub);
}

static int bi_object_subset(struct rctx *c, struct rv **a, struct rv **out)
{
	static const uint8_t ok[] = { RV_OBJ, RV_SET, RV_ARR };
	bool t0 = false, t1 = false;
	for (size_t i = 0; i < 3; i++) {
		t0 |= a[0]->t == ok[i];
		t1 |= a[1]->t == ok[i];
	}
	if (!t0)
		return rg_type_err(c, 1, "one of {object, set, array}", a[0]);
	if (!t1)
		return rg_type_err(c, 2, "one of {object, set, array}", a[1]);
	*out = rv_bool(subset(a[0], a[1]));
	return 0;
}

/* ---- arrays ---- */

static int bi_array_concat(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_ARR)
		return rg_type_err(c, 1, "array", a[0]);
	if (a[1]->t != RV_ARR)
		return rg_type_err(c, 2, "array", a[1]);
	size_t n = a[0]->n + a[1]->n;
	struct rv **it = rg_alloc(A, (n ? n : 1) * sizeof(*it));
	memcpy(it, a[0]->a, a[0]->n * sizeof(*it));
	memcpy(it + a[0]->n, a[1]->a, a[1]->n * sizeof(*it));
	*out = rv_arr(A, it, n);
	return 0;
}

static int bi_array_slice(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_ARR)
		return rg_type_err(c, 1, "array", a[0]);
	if (a[1]->t != RV_NUM)
		return rg_type_err(c, 2, "number", a[1]);
	if (a[2]->t != RV_NUM)
		return rg_type_err(c, 3, "number", a[2]);
	int64_t n = (int64_t)a[0]->n;
	int64_t s = a[1]->isint ? a[1]->i : (int64_t)a[1]->d;
	int64_t e = a[2]->isint ? a[2]->i : (int64_t)a[2]->d;
	if (s < 0)
		s = 0;
	if (e > n)
		e = n;
	if (s > e)
		s = e;
	*out = rv_arr(A, a[0]->a + s, (size_t)(e - s));
	return 0;
}

static int bi_array_reverse(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_ARR)
		return rg_type_err(c, 1, "array", a[0]);
	struct rv *r = rv_arr(A, a[0]->a, a[0]->n);
	for (size_t i = 0; i < r->n / 2; i++) {
		struct rv *t = r->a[i];
		r->a[i] = r->a[r->n - 1 - i];
		r->a[r->n - 1 - i] = t;
	}
	*out = r;
	return 0;
}

static void flatten(struct rctx *c, struct rv *x, struct rvec *v)
{
	for (size_t i = 0; i < x->n; i++) {
		if (x->a[i]->t == RV_ARR) {
			for (size_t j = 0; j < x->a[i]->n; j++)
				rvec_push(A, v, x->a[i]->a[j]);
		} else {
			rvec_push(A, v, x->a[i]);
		}
	}
}

static int bi_array_flatten(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_ARR)
		return rg_type_err(c, 1, "array", a[0]);
	struct rvec v = { 0 };
	flatten(c, a[0], &v);
	*out = rv_arr(A, v.p, v.n);
	return 0;
}

/* ---- walk: every [path, value] pair, as alternatives ---- */

static void walk_rec(struct rctx *c, struct rv *v, struct rvec *path, struct rvec *outv)
{
	struct rv *pair[2] = { rv_arr(A, path->p, path->n), v };
	rvec_push(A, outv, rv_arr(A, pair, 2));
	if (v->t != RV_ARR && v->t != RV_OBJ && v->t != RV_SET)
		return;
	for (size_t i = 0; i < v->n; i++) {
		struct rv *k = v->t == RV_ARR ? rv_int(A, (int64_t)i) : v->a[i];
		struct rv *x = v->t == RV_OBJ ? v->v[i] : v->a[i];
		rvec_push(A, path, k);
		walk_rec(c, x, path, outv);
		path->n--;
	}
}

static int bi_walk(struct rctx *c, struct rv **a, struct rv **out)
{
	struct rvec path = { 0 }, v = { 0 };
	walk_rec(c, a[0], &path, &v);
	*out = rv_arr(A, v.p, v.n);
	return 0;
}

/* Trustee's helper: the reference values registered under a name, i.e.
 * data.reference[name]; undefined when there are none (so a policy fails closed). */
static int bi_query_reference_value(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_STR)
		return rg_type_err(c, 1, "string", a[0]);
	struct rv *ref = c->data ? rv_obj_get(c->data, &(struct rv){ .t = RV_STR, .s = "reference",
		.n = 9 }) : NULL;
	struct rv *v = ref ? rv_obj_get(ref, a[0]) : NULL;
	if (!v)
		return RG_UNDEF;
	*out = v;
	return 0;
}

static int bi_print(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)c;
	(void)a;
	*out = &rv_true_v;
	return 0;
}

static const struct rg_builtin core[] = {
	{ "equal", 2, bi_equal, false },
	{ "neq", 2, bi_neq, false },
	{ "lt", 2, bi_lt, false },
	{ "lte", 2, bi_lte, false },
	{ "gt", 2, bi_gt, false },
	{ "gte", 2, bi_gte, false },
	{ "plus", 2, bi_plus, false },
	{ "minus", 2, bi_minus, false },
	{ "mul", 2, bi_mul, false },
	{ "div", 2, bi_div, false },
	{ "rem", 2, bi_rem, false },
	{ "and", 2, bi_and, false },
	{ "or", 2, bi_or, false },
	{ "intersection", 1, bi_intersection, false },
	{ "union", 1, bi_union, false },
	{ "internal.member_2", 2, bi_member2, false },
	{ "internal.member_3", 3, bi_member3, false },
	{ "count", 1, bi_count, false },
	{ "sum", 1, bi_sum, false },
	{ "product", 1, bi_product, false },
	{ "max", 1, bi_max, false },
	{ "min", 1, bi_min, false },
	{ "sort", 1, bi_sort, false },
	{ "abs", 1, bi_abs, false },
	{ "round", 1, bi_round, false },
	{ "ceil", 1, bi_ceil, false },
	{ "floor", 1, bi_floor, false },
	{ "numbers.range", 2, bi_numbers_range, false },
	{ "numbers.range_step", 3, bi_numbers_range_step, false },
	{ "to_number", 1, bi_to_number, false },
	{ "is_number", 1, bi_is_number, false },
	{ "is_string", 1, bi_is_string, false },
	{ "is_boolean", 1, bi_is_boolean, false },
	{ "is_array", 1, bi_is_array, false },
	{ "is_set", 1, bi_is_set, false },
	{ "is_object", 1, bi_is_object, false },
	{ "is_null", 1, bi_is_null, false },
	{ "type_name", 1, bi_type_name, false },
	{ "object.get", 3, bi_object_get, false },
	{ "object.keys", 1, bi_object_keys, false },
	{ "object.union", 2, bi_object_union, false },
	{ "object.union_n", 1, bi_object_union_n, false },
	{ "object.remove", 2, bi_object_remove, false },
	{ "object.filter", 2, bi_object_filter, false },
	{ "object.subset", 2, bi_object_subset, false },
	{ "array.concat", 2, bi_array_concat, false },
	{ "array.slice", 3, bi_array_slice, false },
	{ "array.reverse", 1, bi_array_reverse, false },
	{ "array.flatten", 1, bi_array_flatten, false },
	{ "walk", 1, bi_walk, true },
	{ "print", -1, bi_print, false },
	{ "query_reference_value", 1, bi_query_reference_value, false },
	{ NULL, 0, NULL, false },
};

const struct rg_builtin *rg_builtin_find(const char *name)
{
	for (const struct rg_builtin *b = core; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return rg_builtin_find_ext(name);
}
