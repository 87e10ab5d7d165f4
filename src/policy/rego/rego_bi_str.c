/* Built-ins: strings, sprintf, encodings, JSON. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rego_eval.h"
#include "rego_bi.h"

#define A (rg_ctx_arena(c))
#define NEED(i, T, w) do { int r_ = bi_need(c, a, (i), (T), (w)); if (r_) return r_; } while (0)

/* UTF-8: the byte offset of each code point. */
static size_t u8_points(struct rctx *c, const char *s, size_t n, size_t **offs)
{
	size_t k = 0;
	size_t *o = rg_alloc(A, (n + 1) * sizeof(*o));
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			o[k++] = i;
	o[k] = n;
	*offs = o;
	return k;
}

static struct rv *cut(struct rctx *c, const char *s, size_t from, size_t to)
{
	return rv_str(A, s + from, to - from);
}

static int bi_concat(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	if (a[1]->t != RV_ARR && a[1]->t != RV_SET)
		return rg_type_err(c, 2, "one of {array, set}", a[1]);
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	for (size_t i = 0; i < a[1]->n; i++) {
		if (a[1]->a[i]->t != RV_STR)
			return rg_type_err(c, 2, "array of strings", a[1]);
		if (i)
			sb_put(&b, a[0]->s, a[0]->n);
		sb_put(&b, a[1]->a[i]->s, a[1]->a[i]->n);
		if (b.n > rg_ctx_max_output(c))
			return rg_fail(c, "eval_builtin_error", "concat: result too large");
	}
	*out = rv_str(A, b.p, b.n);
	return 0;
}

static const char *memmem_s(const char *h, size_t hn, const char *nd, size_t nn)
{
	if (nn == 0)
		return h;
	return memmem(h, hn, nd, nn);
}

static int bi_contains(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = rv_bool(memmem_s(a[0]->s, a[0]->n, a[1]->s, a[1]->n) != NULL);
	return 0;
}

static int bi_startswith(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = rv_bool(a[1]->n <= a[0]->n && memcmp(a[0]->s, a[1]->s, a[1]->n) == 0);
	return 0;
}

static int bi_endswith(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = rv_bool(a[1]->n <= a[0]->n &&
		memcmp(a[0]->s + a[0]->n - a[1]->n, a[1]->s, a[1]->n) == 0);
	return 0;
}

static int any_match(struct rctx *c, struct rv **a, struct rv **out, bool prefix)
{
	struct rv *xs[2];
	for (int i = 0; i < 2; i++) {
		struct rv *x = a[i];
		if (x->t == RV_STR) {
			xs[i] = rv_arr(A, &a[i], 1);
		} else if (x->t == RV_ARR || x->t == RV_SET) {
			for (size_t j = 0; j < x->n; j++)
				if (x->a[j]->t != RV_STR)
					return rg_fail(c, "eval_type_error",
						"%s: operand %d must be array of strings but got array containing %s",
						rg_ctx_builtin(c), i + 1, rv_type_name(x->a[j]));
			xs[i] = x;
		} else {
			return rg_type_err(c, i + 1, "one of {string, set, array}", x);
		}
	}
	for (size_t i = 0; i < xs[0]->n; i++)
		for (size_t j = 0; j < xs[1]->n; j++) {
			struct rv *s = xs[0]->a[i], *p = xs[1]->a[j];
			if (p->n > s->n)
				continue;
			const char *at = prefix ? s->s : s->s + s->n - p->n;
			if (memcmp(at, p->s, p->n) == 0) {
				*out = &rv_true_v;
				return 0;
			}
		}
	*out = &rv_false_v;
	return 0;
}

static int bi_any_prefix(struct rctx *c, struct rv **a, struct rv **o) { return any_match(c, a, o, true); }
static int bi_any_suffix(struct rctx *c, struct rv **a, struct rv **o) { return any_match(c, a, o, false); }

static int bi_lower(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	struct rv *r = rv_str(A, a[0]->s, a[0]->n);
	char *p = (char *)r->s;
	for (size_t i = 0; i < r->n; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	*out = r;
	return 0;
}

static int bi_upper(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	struct rv *r = rv_str(A, a[0]->s, a[0]->n);
	char *p = (char *)r->s;
	for (size_t i = 0; i < r->n; i++)
		p[i] = (char)toupper((unsigned char)p[i]);
	*out = r;
	return 0;
}

static int split_n(struct rctx *c, struct rv *s, struct rv *d, int64_t max, struct rv **out)
{
	struct rvec v = { 0 };
	if (max == 0) {
		*out = rv_arr(A, NULL, 0);
		return 0;
	}
	if (d->n == 0) {
		size_t *o;
		size_t k = u8_points(c, s->s, s->n, &o);
		for (size_t i = 0; i < k; i++) {
			if (max > 0 && (int64_t)v.n == max - 1) {
				rvec_push(A, &v, cut(c, s->s, o[i], s->n));
				break;
			}
			rvec_push(A, &v, cut(c, s->s, o[i], o[i + 1]));
		}
		*out = rv_arr(A, v.p, v.n);
		return 0;
	}
	size_t st = 0;
	for (;;) {
		const char *f = (max < 0 || (int64_t)v.n < max - 1) ?
			memmem(s->s + st, s->n - st, d->s, d->n) : NULL;
		if (!f) {
			rvec_push(A, &v, cut(c, s->s, st, s->n));
			break;
		}
		size_t at = (size_t)(f - s->s);
		rvec_push(A, &v, cut(c, s->s, st, at));
		st = at + d->n;
	}
	*out = rv_arr(A, v.p, v.n);
	return 0;
}

static int bi_split(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	return split_n(c, a[0], a[1], -1, out);
}

static int bi_split_n(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	NEED(2, RV_NUM, "number");
	int64_t n = a[2]->isint ? a[2]->i : (int64_t)a[2]->d;
	if (n >= 0)
		return split_n(c, a[0], a[1], n, out);
	/* a negative limit keeps the last -n parts (OPA's conformance cases) */
	int r = split_n(c, a[0], a[1], -1, out);
	if (r == 0 && (uint64_t)(-(n + 1)) + 1 < (*out)->n) {
		size_t keep = (size_t)(-(n + 1)) + 1;
		*out = rv_arr(A, (*out)->a + (*out)->n - keep, keep);
	}
	return r;
}

static struct rv *replace_all(struct rctx *c, struct rv *s, struct rv *old, struct rv *nw,
	int64_t max)
{
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	if (old->n == 0) {
		/* Go: insert nw before every code point and at the end */
		size_t *o;
		size_t k = u8_points(c, s->s, s->n, &o);
		int64_t done = 0;
		for (size_t i = 0; i <= k; i++) {
			if (max < 0 || done < max) {
				sb_put(&b, nw->s, nw->n);
				done++;
			}
			if (i < k)
				sb_put(&b, s->s + o[i], o[i + 1] - o[i]);
		}
		return rv_str(A, b.p, b.n);
	}
	size_t st = 0;
	int64_t done = 0;
	for (;;) {
		const char *f = (max < 0 || done < max) ? memmem(s->s + st, s->n - st, old->s, old->n) : NULL;
		if (!f) {
			sb_put(&b, s->s + st, s->n - st);
			break;
		}
		size_t at = (size_t)(f - s->s);
		sb_put(&b, s->s + st, at - st);
		sb_put(&b, nw->s, nw->n);
		st = at + old->n;
		done++;
		if (b.n > rg_ctx_max_output(c))
			return NULL;
	}
	return rv_str(A, b.p, b.n);
}

static int bi_replace(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	NEED(2, RV_STR, "string");
	*out = replace_all(c, a[0], a[1], a[2], -1);
	if (!*out)
		return rg_fail(c, "eval_builtin_error", "replace: result too large");
	return 0;
}

static int bi_replace_n(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_OBJ, "object");
	NEED(1, RV_STR, "string");
	for (size_t i = 0; i < a[0]->n; i++) {
		if (a[0]->a[i]->t != RV_STR)
			return rg_fail(c, "eval_type_error", "strings.replace_n: operand 1 non-string key found in pattern object");
		if (a[0]->v[i]->t != RV_STR)
			return rg_fail(c, "eval_type_error", "strings.replace_n: operand 1 non-string value found in pattern object");
	}
	/* Go's strings.NewReplacer: at each position the first matching pattern in argument
	 * order wins; OPA passes the patterns in key order */
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	const char *s = a[1]->s;
	size_t n = a[1]->n, i = 0;
	while (i <= n) {
		bool hit = false;
		for (size_t k = 0; k < a[0]->n; k++) {
			struct rv *p = a[0]->a[k];
			if (p->n == 0 || p->n > n - i || memcmp(s + i, p->s, p->n))
				continue;
			sb_put(&b, a[0]->v[k]->s, a[0]->v[k]->n);
			i += p->n;
			hit = true;
			break;
		}
		if (!hit) {
			if (i < n)
				sb_put(&b, s + i, 1);
			i++;
		}
	}
	*out = rv_str(A, b.p, b.n);
	return 0;
}

static bool in_cutset(const char *cs, size_t cn, const char *s, size_t len)
{
	/* code point s[0..len) is in the cutset */
	for (size_t i = 0; i < cn;) {
		size_t l = 1;
		while (i + l < cn && ((unsigned char)cs[i + l] & 0xC0) == 0x80)
			l++;
		if (l == len && memcmp(cs + i, s, len) == 0)
			return true;
		i += l;
	}
	return false;
}

static struct rv *trim_set(struct rctx *c, struct rv *s, const char *cs, size_t cn, bool left,
	bool right)
{
	size_t *o;
	size_t k = u8_points(c, s->s, s->n, &o);
	size_t lo = 0, hi = k;
	if (left)
		while (lo < hi && in_cutset(cs, cn, s->s + o[lo], o[lo + 1] - o[lo]))
			lo++;
	if (right)
		while (hi > lo && in_cutset(cs, cn, s->s + o[hi - 1], o[hi] - o[hi - 1]))
			hi--;
	return cut(c, s->s, o[lo], o[hi]);
}

static int bi_trim(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = trim_set(c, a[0], a[1]->s, a[1]->n, true, true);
	return 0;
}

static int bi_trim_left(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = trim_set(c, a[0], a[1]->s, a[1]->n, true, false);
	return 0;
}

static int bi_trim_right(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = trim_set(c, a[0], a[1]->s, a[1]->n, false, true);
	return 0;
}

static int bi_trim_space(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	static const char ws[] = " \t\n\v\f\r\xc2\x85\xc2\xa0";
	*out = trim_set(c, a[0], ws, sizeof(ws) - 1, true, true);
	return 0;
}

static int bi_trim_prefix(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	if (a[1]->n <= a[0]->n && memcmp(a[0]->s, a[1]->s, a[1]->n) == 0)
		*out = cut(c, a[0]->s, a[1]->n, a[0]->n);
	else
		*out = a[0];
	return 0;
}

static int bi_trim_suffix(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	if (a[1]->n <= a[0]->n && memcmp(a[0]->s + a[0]->n - a[1]->n, a[1]->s, a[1]->n) == 0)
		*out = cut(c, a[0]->s, 0, a[0]->n - a[1]->n);
	else
		*out = a[0];
	return 0;
}

static int bi_substring(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_NUM, "number");
	NEED(2, RV_NUM, "number");
	if (!a[1]->isint)
		return rg_type_err(c, 2, "integer", a[1]);
	if (!a[2]->isint)
		return rg_type_err(c, 3, "integer", a[2]);
	int64_t st = a[1]->i, len = a[2]->i;
	if (st < 0)
		return rg_fail(c, "eval_builtin_error", "substring: negative offset");
	size_t *o;
	size_t k = u8_points(c, a[0]->s, a[0]->n, &o);
	if ((uint64_t)st >= k) {
		*out = rv_str(A, "", 0);
		return 0;
	}
	size_t end = len < 0 || (uint64_t)(st + len) > k ? k : (size_t)(st + len);
	*out = cut(c, a[0]->s, o[st], o[end]);
	return 0;
}

static int bi_indexof(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	if (a[1]->n == 0)
		return rg_fail(c, "eval_builtin_error", "indexof: empty search character");
	const char *f = memmem(a[0]->s, a[0]->n, a[1]->s, a[1]->n);
	if (!f) {
		*out = rv_int(A, -1);
		return 0;
	}
	size_t bytes = (size_t)(f - a[0]->s), k = 0;
	for (size_t i = 0; i < bytes; i++)
		if (((unsigned char)a[0]->s[i] & 0xC0) != 0x80)
			k++;
	*out = rv_int(A, (int64_t)k);
	return 0;
}

static int bi_indexof_n(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	if (a[1]->n == 0)
		return rg_fail(c, "eval_builtin_error", "indexof_n: empty search character");
	struct rvec v = { 0 };
	size_t *o;
	size_t k = u8_points(c, a[0]->s, a[0]->n, &o), i = 0;
	/* memmem from each match on: linear, not one comparison per code point */
	for (const char *f = a[0]->s; (f = memmem(f, a[0]->n - (size_t)(f - a[0]->s), a[1]->s,
	    a[1]->n)) != NULL; f++) {
		size_t at = (size_t)(f - a[0]->s);
		while (i < k && o[i] < at)
			i++;
		if (i < k && o[i] == at)
			rvec_push(A, &v, rv_int(A, (int64_t)i));
	}
	*out = rv_arr(A, v.p, v.n);
	return 0;
}

static int bi_reverse(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	size_t *o;
	size_t k = u8_points(c, a[0]->s, a[0]->n, &o);
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	for (size_t i = k; i-- > 0;)
		sb_put(&b, a[0]->s + o[i], o[i + 1] - o[i]);
	*out = rv_str(A, b.p, b.n);
	return 0;
}

static int bi_strings_count(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	if (a[1]->n == 0) {
		size_t *o;
		*out = rv_int(A, (int64_t)u8_points(c, a[0]->s, a[0]->n, &o) + 1);
		return 0;
	}
	int64_t n = 0;
	size_t st = 0;
	const char *f;
	while ((f = memmem(a[0]->s + st, a[0]->n - st, a[1]->s, a[1]->n))) {
		n++;
		st = (size_t)(f - a[0]->s) + a[1]->n;
	}
	*out = rv_int(A, n);
	return 0;
}

static int bi_format_int(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_NUM, "number");
	NEED(1, RV_NUM, "number");
	int64_t base = a[1]->isint ? a[1]->i : 0;
	if (base != 2 && base != 8 && base != 10 && base != 16)
		return rg_fail(c, "eval_builtin_error", "format_int: operand 2 must be one of {2, 8, 10, 16}");
	double d = a[0]->isint ? (double)a[0]->i : a[0]->d;
	int64_t v = a[0]->isint ? a[0]->i : (int64_t)trunc(d);
	bool neg = v < 0;
	uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char buf[80];
	size_t p = sizeof(buf);
	buf[--p] = '\0';
	do {
		buf[--p] = "0123456789abcdef"[u % (uint64_t)base];
		u /= (uint64_t)base;
	} while (u);
	if (neg)
		buf[--p] = '-';
	*out = rv_cstr(A, buf + p);
	return 0;
}

/* sprintf with Go's verbs for the value types Rego has */
static void fmt_value(struct rctx *c, struct sbuf *b, struct rv *v, char verb)
{
	char num[64];
	if (verb == 'v' || verb == 's') {
		if (v->t == RV_STR) {
			sb_put(b, v->s, v->n);
			return;
		}
		rv_write(b, v, false);
		return;
	}
	if (verb == 'q' && v->t == RV_STR) {
		rv_write(b, v, true);
		return;
	}
	if (v->t == RV_NUM) {
		if (verb == 'd') {
			if (v->isint) {
				snprintf(num, sizeof(num), "%lld", (long long)v->i);
			} else if (v->s) {
				snprintf(num, sizeof(num), "%s", v->s);
			} else {
				snprintf(num, sizeof(num), "%%!d(float64=");
				sb_puts(b, num);
				rv_num_fmt(v, num, sizeof(num));
				sb_puts(b, num);
				sb_puts(b, ")");
				return;
			}
			sb_puts(b, num);
			return;
		}
		if (verb == 'x' || verb == 'X' || verb == 'o' || verb == 'b') {
			if (v->isint) {
				const char *f = verb == 'x' ? "%llx" : verb == 'X' ? "%llX" : "%llo";
				if (verb == 'b') {
					char bb[80];
					size_t p = sizeof(bb);
					bb[--p] = 0;
					uint64_t u = v->i < 0 ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
					do {
						bb[--p] = (char)('0' + (u & 1));
						u >>= 1;
					} while (u);
					if (v->i < 0)
						bb[--p] = '-';
					sb_puts(b, bb + p);
					return;
				}
				if (v->i < 0) {
					sb_puts(b, "-");
					snprintf(num, sizeof(num), f, (unsigned long long)(0 - (uint64_t)v->i));
				} else {
					snprintf(num, sizeof(num), f, (unsigned long long)v->i);
				}
				sb_puts(b, num);
				return;
			}
		}
		double d = v->isint ? (double)v->i : v->d;
		if (verb == 'f' || verb == 'F') {
			snprintf(num, sizeof(num), "%f", d);
			sb_puts(b, num);
			return;
		}
		if (verb == 'e' || verb == 'E' || verb == 'g' || verb == 'G') {
			char f[4] = { '%', verb, 0 };
			snprintf(num, sizeof(num), f, d);
			sb_puts(b, num);
			return;
		}
	}
	rv_write(b, v, false);
	(void)c;
}

static int bi_sprintf(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_ARR, "array");
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	const char *f = a[0]->s;
	size_t n = a[0]->n, ai = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i] != '%') {
			sb_put(&b, f + i, 1);
			continue;
		}
		if (i + 1 < n && f[i + 1] == '%') {
			sb_put(&b, "%", 1);
			i++;
			continue;
		}
		/* flags, width and precision: pass them to printf for numbers */
		size_t j = i + 1;
		while (j < n && strchr("+-# 0123456789.", f[j]))
			j++;
		if (j >= n) {
			sb_puts(&b, "%!(NOVERB)");
			break;
		}
		char verb = f[j];
		if (ai >= a[1]->n) {
			sb_printf(&b, "%%!%c(MISSING)", verb);
			i = j;
			continue;
		}
		struct rv *v = a[1]->a[ai++];
		if (j > i + 1 && v->t == RV_NUM && strchr("dfeEgGxXo", verb)) {
			char spec[32];
			size_t sl = j - i + 1;
			if (sl < sizeof(spec) - 3) {
				char num[128];
				if (verb == 'd' || verb == 'x' || verb == 'X' || verb == 'o') {
					memcpy(spec, f + i, sl - 1);
					spec[sl - 1] = 'l';
					spec[sl] = 'l';
					spec[sl + 1] = verb;
					spec[sl + 2] = 0;
					snprintf(num, sizeof(num), spec, (long long)(v->isint ? v->i : (int64_t)v->d));
				} else {
					memcpy(spec, f + i, sl);
					spec[sl] = 0;
					snprintf(num, sizeof(num), spec, v->isint ? (double)v->i : v->d);
				}
				sb_puts(&b, num);
				i = j;
				continue;
			}
		}
		fmt_value(c, &b, v, verb);
		i = j;
		if (b.n > rg_ctx_max_output(c))
			return rg_fail(c, "eval_builtin_error", "sprintf: result too large");
	}
	if (ai < a[1]->n) {
		sb_puts(&b, "%!(EXTRA ");
		for (size_t k = ai; k < a[1]->n; k++) {
			if (k > ai)
				sb_puts(&b, ", ");
			struct rv *v = a[1]->a[k];
			sb_puts(&b, v->t == RV_STR ? "string=" : v->t == RV_NUM ? "int=" : "");
			fmt_value(c, &b, v, 'v');
		}
		sb_puts(&b, ")");
	}
	*out = rv_str(A, b.p, b.n);
	return 0;
}

static const struct rg_builtin str_tab[] = {
	{ "concat", 2, bi_concat, false },
	{ "contains", 2, bi_contains, false },
	{ "startswith", 2, bi_startswith, false },
	{ "endswith", 2, bi_endswith, false },
	{ "strings.any_prefix_match", 2, bi_any_prefix, false },
	{ "strings.any_suffix_match", 2, bi_any_suffix, false },
	{ "lower", 1, bi_lower, false },
	{ "upper", 1, bi_upper, false },
	{ "split", 2, bi_split, false },
	{ "strings.split_n", 3, bi_split_n, false },
	{ "replace", 3, bi_replace, false },
	{ "strings.replace_n", 2, bi_replace_n, false },
	{ "trim", 2, bi_trim, false },
	{ "trim_left", 2, bi_trim_left, false },
	{ "trim_right", 2, bi_trim_right, false },
	{ "trim_space", 1, bi_trim_space, false },
	{ "trim_prefix", 2, bi_trim_prefix, false },
	{ "trim_suffix", 2, bi_trim_suffix, false },
	{ "substring", 3, bi_substring, false },
	{ "indexof", 2, bi_indexof, false },
	{ "indexof_n", 2, bi_indexof_n, false },
	{ "strings.reverse", 1, bi_reverse, false },
	{ "strings.count", 2, bi_strings_count, false },
	{ "format_int", 2, bi_format_int, false },
	{ "sprintf", 2, bi_sprintf, false },
	{ NULL, 0, NULL, false },
};

const struct rg_builtin *rg_builtin_find_enc(const char *name);

const struct rg_builtin *rg_builtin_find_ext(const char *name)
{
	for (const struct rg_builtin *b = str_tab; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return rg_builtin_find_enc(name);
}
