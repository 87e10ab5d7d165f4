/* Rego values: arena, constructors, Rego's total order, JSON conversion and text. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "rego_int.h"

struct rg_chunk {
	struct rg_chunk *next;
	size_t size, off;
	max_align_t data[];
};

#define RG_CHUNK 65536u

void rg_arena_init(struct rg_arena *a, size_t max, jmp_buf *oom)
{
	a->head = NULL;
	a->used = 0;
	a->max = max;
	a->oom = oom;
}

void rg_arena_free(struct rg_arena *a)
{
	struct rg_chunk *c = a->head;
	while (c) {
		struct rg_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->used = 0;
}

void *rg_alloc(struct rg_arena *a, size_t n)
{
	n = (n + 15u) & ~(size_t)15u;
	if (n == 0)
		n = 16;
	struct rg_chunk *c = a->head;
	if (!c || c->size - c->off < n) {
		size_t sz = n > RG_CHUNK ? n : RG_CHUNK;
		if (sz > a->max || a->used > a->max - sz)
			longjmp(*a->oom, 1);
		c = malloc(sizeof(*c) + sz);
		if (!c)
			longjmp(*a->oom, 2);
		c->size = sz;
		c->off = 0;
		c->next = a->head;
		a->head = c;
		a->used += sz;
	}
	void *p = (char *)c->data + c->off;
	c->off += n;
	memset(p, 0, n);
	return p;
}

char *rg_strndup(struct rg_arena *a, const char *s, size_t n)
{
	char *p = rg_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

struct rv rv_null_v = { .t = RV_NULL };
struct rv rv_true_v = { .t = RV_BOOL, .b = 1 };
struct rv rv_false_v = { .t = RV_BOOL, .b = 0 };

struct rv *rv_bool(bool b)
{
	return b ? &rv_true_v : &rv_false_v;
}

struct rv *rv_int(struct rg_arena *a, int64_t i)
{
	struct rv *v = rg_alloc(a, sizeof(*v));
	v->t = RV_NUM;
	v->isint = 1;
	v->i = i;
	v->d = (double)i;
	v->ld = (long double)i;
	return v;
}

struct rv *rv_num_d(struct rg_arena *a, double d)
{
	if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
		return rv_int(a, (int64_t)d);
	struct rv *v = rg_alloc(a, sizeof(*v));
	v->t = RV_NUM;
	v->d = d;
	v->ld = d;
	return v;
}

struct rv *rv_num_text(struct rg_arena *a, const char *s, size_t n)
{
	char buf[512];
	if (n == 0 || n >= sizeof(buf))
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* -?digits(.digits)?([eE][+-]?digits)? */
	size_t i = 0;
	bool neg = false;
	if (buf[i] == '-' || buf[i] == '+')
		neg = buf[i++] == '-';
	char dig[512];
	size_t nd = 0;
	long long exp10 = 0;
	if (!isdigit((unsigned char)buf[i]))
		return NULL;
	while (isdigit((unsigned char)buf[i])) {
		dig[nd++] = buf[i++];
	}
	if (buf[i] == '.') {
		i++;
		if (!isdigit((unsigned char)buf[i]))
			return NULL;
		while (isdigit((unsigned char)buf[i])) {
			dig[nd++] = buf[i++];
			exp10--;
		}
	}
	if (buf[i] == 'e' || buf[i] == 'E') {
		i++;
		char *end;
		errno = 0;
		long long e = strtoll(buf + i, &end, 10);
		if (end == buf + i || errno || e > 100000 || e < -100000)
			return NULL; /* far beyond any number a policy means */
		i = (size_t)(end - buf);
		exp10 += e;
	}
	if (buf[i] != '\0')
		return NULL;
	/* strip leading zeros, then trailing zeros into the exponent */
	size_t lead = 0;
	while (lead < nd && dig[lead] == '0')
		lead++;
	size_t m = nd - lead;
	while (m > 0 && dig[lead + m - 1] == '0') {
		m--;
		exp10++;
	}
	struct rv *v = rg_alloc(a, sizeof(*v));
	v->t = RV_NUM;
	if (m == 0) {
		v->isint = 1;
		return v; /* zero */
	}
	if (exp10 >= 0 && (long long)m + exp10 <= 400) {
		char *t = rg_alloc(a, m + (size_t)exp10 + 2);
		size_t k = 0;
		if (neg)
			t[k++] = '-';
		memcpy(t + k, dig + lead, m);
		k += m;
		memset(t + k, '0', (size_t)exp10);
		k += (size_t)exp10;
		t[k] = '\0';
		char *end;
		errno = 0;
		long long ll = strtoll(t, &end, 10);
		if (errno == 0 && *end == '\0')
			return rv_int(a, ll);
		v->s = t;
		v->d = strtod(t, NULL);
		v->ld = strtold(t, NULL);
		return v;
	}
	v->d = strtod(buf, NULL);
	v->ld = strtold(buf, NULL);
	if (!isfinite(v->ld))
		return NULL;
	return v;
}

bool rv_is_integral(const struct rv *v)
{
	return v->t == RV_NUM && (v->isint || v->s);
}

const char *rv_int_text(struct rg_arena *a, const struct rv *v)
{
	if (v->s)
		return v->s;
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
	return rg_strndup(a, buf, strlen(buf));
}

int rv_big_arith(struct rg_arena *a, char op, const struct rv *x, const struct rv *y,
	struct rv **out)
{
	BIGNUM *p = NULL, *q = NULL, *r = BN_new(), *rem = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	char *txt = NULL;
	int ret = -2;
	if (!r || !rem || !ctx || !BN_dec2bn(&p, rv_int_text(a, x)) || !BN_dec2bn(&q, rv_int_text(a, y)))
		goto out;
	switch (op) {
	case '+': if (!BN_add(r, p, q)) goto out; break;
	case '-': if (!BN_sub(r, p, q)) goto out; break;
	case '*': if (!BN_mul(r, p, q, ctx)) goto out; break;
	case '/':
	case '%':
		if (BN_is_zero(q)) {
			ret = -1;
			goto out;
		}
		/* BN_div truncates toward zero; the remainder takes the dividend's sign (Go's
		 * big.Int.Quo/Rem, which OPA uses) */
		if (!BN_div(r, rem, p, q, ctx))
			goto out;
		if (op == '%') {
			BIGNUM *t = r;
			r = rem;
			rem = t;
		} else if (!BN_is_zero(rem)) {
			ret = 1;
			goto out;
		}
		break;
	default:
		goto out;
	}
	txt = BN_bn2dec(r);
	if (!txt)
		goto out;
	if (strlen(txt) > 400) {
		ret = -3;
		goto out;
	}
	*out = rv_num_text(a, txt, strlen(txt));
	ret = *out ? 0 : -2;
out:
	OPENSSL_free(txt);
	BN_free(p);
	BN_free(q);
	BN_free(r);
	BN_free(rem);
	BN_CTX_free(ctx);
	if (ret == -2)
		longjmp(*a->oom, 2);
	return ret;
}

struct rv *rv_str(struct rg_arena *a, const char *s, size_t n)
{
	struct rv *v = rg_alloc(a, sizeof(*v));
	v->t = RV_STR;
	v->s = rg_strndup(a, s, n);
	v->n = n;
	return v;
}

struct rv *rv_cstr(struct rg_arena *a, const char *s)
{
	return rv_str(a, s, strlen(s));
}

struct rv *rv_arr(struct rg_arena *a, struct rv **items, size_t n)
{
	struct rv *v = rg_alloc(a, sizeof(*v));
	v->t = RV_ARR;
	v->n = n;
	v->a = rg_alloc(a, (n ? n : 1) * sizeof(*v->a));
	if (n)
		memcpy(v->a, items, n * sizeof(*items));
	return v;
}

static int cmp_pp(const void *x, const void *y)
{
	return rv_cmp(*(struct rv *const *)x, *(struct rv *const *)y);
}

struct rv *rv_set(struct rg_arena *a, struct rv **items, size_t n)
{
	struct rv *v = rg_alloc(a, sizeof(*v));
	v->t = RV_SET;
	v->a = rg_alloc(a, (n ? n : 1) * sizeof(*v->a));
	if (n)
		memcpy(v->a, items, n * sizeof(*items));
	qsort(v->a, n, sizeof(*v->a), cmp_pp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || rv_cmp(v->a[m - 1], v->a[i]) != 0)
			v->a[m++] = v->a[i];
	v->n = m;
	return v;
}

struct kvp {
	struct rv *k, *v;
};

static int cmp_kv(const void *x, const void *y)
{
	return rv_cmp(((const struct kvp *)x)->k, ((const struct kvp *)y)->k);
}

struct rv *rv_obj(struct rg_arena *a, struct rv **keys, struct rv **vals, size_t n,
	bool *conflict)
{
	struct kvp *p = rg_alloc(a, (n ? n : 1) * sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		p[i].k = keys[i];
		p[i].v = vals[i];
	}
	/* a stable order keeps the first of equal keys first (merge sort via qsort is not
	 * stable, but equal keys must carry equal values anyway) */
	qsort(p, n, sizeof(*p), cmp_kv);
	struct rv *o = rg_alloc(a, sizeof(*o));
	o->t = RV_OBJ;
	o->a = rg_alloc(a, (n ? n : 1) * sizeof(*o->a));
	o->v = rg_alloc(a, (n ? n : 1) * sizeof(*o->v));
	size_t m = 0;
	if (conflict)
		*conflict = false;
	for (size_t i = 0; i < n; i++) {
		if (m && rv_cmp(o->a[m - 1], p[i].k) == 0) {
			if (rv_cmp(o->v[m - 1], p[i].v) != 0) {
				if (conflict)
					*conflict = true;
				return NULL;
			}
			continue;
		}
		o->a[m] = p[i].k;
		o->v[m] = p[i].v;
		m++;
	}
	o->n = m;
	return o;
}

static int dec_cmp(const char *x, const char *y)
{
	bool nx = x[0] == '-', ny = y[0] == '-';
	if (nx != ny)
		return nx ? -1 : 1;
	size_t lx = strlen(x), ly = strlen(y);
	int c = lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
	if (c > 0)
		c = 1;
	else if (c < 0)
		c = -1;
	return nx ? -c : c;
}

static int num_cmp(const struct rv *x, const struct rv *y)
{
	if (x->isint && y->isint)
		return x->i < y->i ? -1 : x->i > y->i;
	if (rv_is_integral(x) && rv_is_integral(y)) {
		char bx[32], by[32];
		const char *sx = x->s, *sy = y->s;
		if (!sx) {
			snprintf(bx, sizeof(bx), "%lld", (long long)x->i);
			sx = bx;
		}
		if (!sy) {
			snprintf(by, sizeof(by), "%lld", (long long)y->i);
			sy = by;
		}
		return dec_cmp(sx, sy);
	}
	long double a = x->ld, b = y->ld;
	return a < b ? -1 : a > b;
}

static int type_order(uint8_t t)
{
	return t; /* enum order is Rego's: null, boolean, number, string, array, object, set */
}

int rv_cmp(const struct rv *x, const struct rv *y)
{
	if (x == y)
		return 0;
	if (x->t != y->t)
		return type_order(x->t) < type_order(y->t) ? -1 : 1;
	switch (x->t) {
	case RV_NULL:
		return 0;
	case RV_BOOL:
		return (int)x->b - (int)y->b;
	case RV_NUM:
		return num_cmp(x, y);
	case RV_STR: {
		size_t m = x->n < y->n ? x->n : y->n;
		int c = memcmp(x->s, y->s, m);
		if (c)
			return c < 0 ? -1 : 1;
		return x->n < y->n ? -1 : x->n > y->n;
	}
	case RV_ARR:
	case RV_SET:
		for (size_t i = 0; i < x->n && i < y->n; i++) {
			int c = rv_cmp(x->a[i], y->a[i]);
			if (c)
				return c;
		}
		return x->n < y->n ? -1 : x->n > y->n;
	case RV_OBJ:
		for (size_t i = 0; i < x->n && i < y->n; i++) {
			int c = rv_cmp(x->a[i], y->a[i]);
			if (c)
				return c;
			c = rv_cmp(x->v[i], y->v[i]);
			if (c)
				return c;
		}
		return x->n < y->n ? -1 : x->n > y->n;
	}
	return 0;
}

static ssize_t bsearch_idx(struct rv *const *arr, size_t n, const struct rv *k)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = rv_cmp(arr[mid], k);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct rv *rv_obj_get(const struct rv *o, const struct rv *k)
{
	if (o->t != RV_OBJ)
		return NULL;
	ssize_t i = bsearch_idx(o->a, o->n, k);
	return i < 0 ? NULL : o->v[i];
}

bool rv_set_has(const struct rv *s, const struct rv *k)
{
	return s->t == RV_SET && bsearch_idx(s->a, s->n, k) >= 0;
}

struct rv *rv_index(const struct rv *o, const struct rv *k)
{
	switch (o->t) {
	case RV_OBJ:
		return rv_obj_get(o, k);
	case RV_SET: {
		ssize_t i = bsearch_idx(o->a, o->n, k);
		return i < 0 ? NULL : o->a[i];
	}
	case RV_ARR:
		if (k->t == RV_NUM && k->isint && k->i >= 0 && (uint64_t)k->i < o->n)
			return o->a[k->i];
		return NULL;
	default:
		return NULL;
	}
}

const char *rv_type_name(const struct rv *v)
{
	static const char *const names[] = { "null", "boolean", "number", "string", "array",
		"object", "set" };
	return names[v->t];
}

bool rv_truthy_false(const struct rv *v)
{
	return v->t == RV_BOOL && !v->b;
}

void rvec_push(struct rg_arena *a, struct rvec *v, struct rv *x)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 8;
		struct rv **np = rg_alloc(a, nc * sizeof(*np));
		if (v->n)
			memcpy(np, v->p, v->n * sizeof(*np));
		v->p = np;
		v->cap = nc;
	}
	v->p[v->n++] = x;
}

/* ---- JSON ---- */

struct rv *rv_from_json(struct rg_arena *a, const json_t *j)
{
	if (!j)
		return NULL;
	switch (json_typeof(j)) {
	case JSON_NULL:
		return &rv_null_v;
	case JSON_TRUE:
		return &rv_true_v;
	case JSON_FALSE:
		return &rv_false_v;
	case JSON_INTEGER:
		return rv_int(a, json_integer_value(j));
	case JSON_REAL:
		return rv_num_d(a, json_real_value(j));
	case JSON_STRING:
		return rv_str(a, json_string_value(j), json_string_length(j));
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		struct rv **it = rg_alloc(a, (n ? n : 1) * sizeof(*it));
		for (size_t i = 0; i < n; i++)
			it[i] = rv_from_json(a, json_array_get(j, i));
		return rv_arr(a, it, n);
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(j), i = 0;
		struct rv **k = rg_alloc(a, (n ? n : 1) * sizeof(*k));
		struct rv **v = rg_alloc(a, (n ? n : 1) * sizeof(*v));
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)j, key, val) {
			k[i] = rv_cstr(a, key);
			v[i] = rv_from_json(a, val);
			i++;
		}
		return rv_obj(a, k, v, i, NULL);
	}
	}
	return &rv_null_v;
}

json_t *rv_to_json(const struct rv *v)
{
	switch (v->t) {
	case RV_NULL:
		return json_null();
	case RV_BOOL:
		return json_boolean(v->b);
	case RV_NUM:
		if (v->isint)
			return json_integer(v->i);
		return json_real(v->d);
	case RV_STR:
		return json_stringn(v->s, v->n);
	case RV_ARR:
	case RV_SET: {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < v->n; i++) {
			json_t *x = rv_to_json(v->a[i]);
			if (!x || json_array_append_new(arr, x)) {
				json_decref(arr);
				return NULL;
			}
		}
		return arr;
	}
	case RV_OBJ: {
		json_t *o = json_object();
		for (size_t i = 0; o && i < v->n; i++) {
			json_t *x = rv_to_json(v->v[i]);
			char *kfree = NULL;
			const char *k;
			if (v->a[i]->t == RV_STR) {
				k = v->a[i]->s;
			} else {
				struct rg_arena tmp;
				jmp_buf jb;
				rg_arena_init(&tmp, 1u << 20, &jb);
				if (setjmp(jb)) {
					rg_arena_free(&tmp);
					json_decref(x);
					json_decref(o);
					return NULL;
				}
				struct rv *s = rv_marshal(&tmp, v->a[i]);
				kfree = strdup(s->s);
				rg_arena_free(&tmp);
				k = kfree;
			}
			if (!x || !k || json_object_set_new(o, k, x)) {
				free(kfree);
				json_decref(o);
				return NULL;
			}
			free(kfree);
		}
		return o;
	}
	}
	return NULL;
}

/* ---- text ---- */

void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		while (nc < b->n + n + 1)
			nc *= 2;
		char *np = rg_alloc(b->a, nc);
		if (b->n)
			memcpy(np, b->p, b->n);
		b->p = np;
		b->cap = nc;
	}
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		sb_put(b, tmp, (size_t)n);
		return;
	}
	char *big = rg_alloc(b->a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_put(b, big, (size_t)n);
}

void rv_num_fmt(const struct rv *v, char *buf, size_t n)
{
	if (v->s) {
		snprintf(buf, n, "%s", v->s);
		return;
	}
	if (v->isint) {
		snprintf(buf, n, "%lld", (long long)v->i);
		return;
	}
	/* the shortest text that reads back to the same double */
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, v->d);
		if (strtod(buf, NULL) == v->d)
			break;
	}
	/* Go prints exponents as e+21 and avoids them below 1e21 */
	char *e = strchr(buf, 'e');
	if (e && fabs(v->d) < 1e21 && fabs(v->d) >= 1e-6) {
		snprintf(buf, n, "%.17g", v->d);
		for (int p = 1; p <= 17; p++) {
			snprintf(buf, n, "%.*f", p, v->d);
			if (strtod(buf, NULL) == v->d)
				break;
		}
	}
}

static void write_str(struct sbuf *b, const char *s, size_t n)
{
	sb_put(b, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *esc = NULL;
		char u[8];
		if (ch == '"')
			esc = "\\\"";
		else if (ch == '\\')
			esc = "\\\\";
		else if (ch == '\n')
			esc = "\\n";
		else if (ch == '\r')
			esc = "\\r";
		else if (ch == '\t')
			esc = "\\t";
		else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
			snprintf(u, sizeof(u), "\\u%04x", ch);
			esc = u;
		}
		if (esc) {
			sb_put(b, s + start, i - start);
			sb_puts(b, esc);
			start = i + 1;
		}
	}
	sb_put(b, s + start, n - start);
	sb_put(b, "\"", 1);
}

void rv_write(struct sbuf *b, const struct rv *v, bool json)
{
	char num[64];
	switch (v->t) {
	case RV_NULL:
		sb_puts(b, "null");
		return;
	case RV_BOOL:
		sb_puts(b, v->b ? "true" : "false");
		return;
	case RV_NUM:
		rv_num_fmt(v, num, sizeof(num));
		sb_puts(b, num);
		return;
	case RV_STR:
		write_str(b, v->s, v->n);
		return;
	case RV_SET:
		if (!json && v->n == 0) {
			sb_puts(b, "set()");
			return;
		}
		/* fall through */
	case RV_ARR:
		sb_puts(b, v->t == RV_SET && !json ? "{" : "[");
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				sb_puts(b, json ? "," : ", ");
			rv_write(b, v->a[i], json);
		}
		sb_puts(b, v->t == RV_SET && !json ? "}" : "]");
		return;
	case RV_OBJ:
		sb_puts(b, "{");
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				sb_puts(b, json ? "," : ", ");
			if (json && v->a[i]->t != RV_STR) {
				struct sbuf kb = { .a = b->a };
				rv_write(&kb, v->a[i], true);
				write_str(b, kb.p, kb.n);
			} else {
				rv_write(b, v->a[i], json);
			}
			sb_puts(b, json ? ":" : ": ");
			rv_write(b, v->v[i], json);
		}
		sb_puts(b, "}");
		return;
	}
}

struct rv *rv_marshal(struct rg_arena *a, const struct rv *v)
{
	struct sbuf b = { .a = a };
	rv_write(&b, v, true);
	return rv_str(a, b.p ? b.p : "", b.n);
}
