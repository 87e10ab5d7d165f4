/* Bounded JSON reader and compact writer over jansson values; the contract is in json.h. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "turtle/error.h"

/* ---- reader ---- */

struct rd {
	const unsigned char *p, *end, *start;
	unsigned depth, max_depth;
	struct tt_json_err *e;
	int err;
};

#define NUM_MAX 512u   /* longest number token we convert (jansson has no limit) */

static int
fail(struct rd *r, const unsigned char *at, const char *what, int err)
{
	if (r->err == 0) {
		r->err = err;
		if (r->e != NULL) {
			r->e->offset = (size_t)(at - r->start);
			r->e->what = what;
		}
	}
	return r->err;
}

static void
skip_ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
hex4(const unsigned char *p, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0: no overlongs, no surrogates,
 * nothing above U+10FFFF. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t v;

	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0Fu;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07u;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0u) != 0x80u)
			return 0;
		v = v << 6 | (p[i] & 0x3Fu);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return n;
}

static size_t
put_utf8(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * A string at r->p (just after the opening quote). The common case, no escapes, is one
 * scan and one copy; with escapes the decoded text (never longer than the source) is
 * built in a scratch buffer. *s is malloc'd (NUL-terminated), *n its length.
 */
static int
read_string(struct rd *r, char **s, size_t *n)
{
	const unsigned char *q = r->p, *open = r->p - 1, *span;
	char *buf = NULL, *o;
	size_t u;

	for (;;) {
		while (q < r->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
			q++;
		if (q == r->end)
			return fail(r, open, "unterminated string", TT_ERR_PARSE);
		if (*q == '"' || *q == '\\')
			break;
		if (*q < 0x20)
			return fail(r, q, "control character in string", TT_ERR_PARSE);
		if ((u = utf8_len(q, r->end)) == 0)
			return fail(r, q, "invalid UTF-8 in string", TT_ERR_PARSE);
		q += u;
	}
	if (*q == '"') {
		*n = (size_t)(q - r->p);
		if ((buf = malloc(*n + 1)) == NULL)
			return fail(r, q, "out of memory", TT_ERR_NO_MEMORY);
		memcpy(buf, r->p, *n);
		buf[*n] = '\0';
		*s = buf;
		r->p = q + 1;
		return 0;
	}
	/* Escapes: find where the string ends (a quote not escaped) to size the buffer by
	 * this string, not by the rest of the input (a body of many short escaped strings
	 * would otherwise allocate the whole remaining body for each), then decode into it. */
	for (span = q; span < r->end && *span != '"'; span++) {
		if (*span == '\\' && r->end - span >= 2)
			span++;
	}
	/* The decoder below stops at the same quote (escapes are consumed in the same
	 * pairs; a \u's hex digits are never a quote) and never writes more than it
	 * consumes, so span - r->p bytes (+ NUL) always suffice. */
	if ((buf = malloc((size_t)(span - r->p) + 1)) == NULL)
		return fail(r, q, "out of memory", TT_ERR_NO_MEMORY);
	o = buf;
	q = r->p;
	for (;;) {
		const unsigned char *run = q;

		while (q < r->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
			q++;
		memcpy(o, run, (size_t)(q - run));
		o += q - run;
		if (q == r->end) {
			fail(r, open, "unterminated string", TT_ERR_PARSE);
			goto bad;
		}
		if (*q == '"')
			break;
		if (*q < 0x20) {
			fail(r, q, "control character in string", TT_ERR_PARSE);
			goto bad;
		}
		if (*q >= 0x80) {
			if ((u = utf8_len(q, r->end)) == 0) {
				fail(r, q, "invalid UTF-8 in string", TT_ERR_PARSE);
				goto bad;
			}
			memcpy(o, q, u);
			o += u;
			q += u;
			continue;
		}
		/* backslash */
		if (r->end - q < 2) {
			fail(r, open, "unterminated string", TT_ERR_PARSE);
			goto bad;
		}
		switch (q[1]) {
		case '"': *o++ = '"'; q += 2; continue;
		case '\\': *o++ = '\\'; q += 2; continue;
		case '/': *o++ = '/'; q += 2; continue;
		case 'b': *o++ = '\b'; q += 2; continue;
		case 'f': *o++ = '\f'; q += 2; continue;
		case 'n': *o++ = '\n'; q += 2; continue;
		case 'r': *o++ = '\r'; q += 2; continue;
		case 't': *o++ = '\t'; q += 2; continue;
		case 'u': break;
		default:
			fail(r, q, "invalid escape", TT_ERR_PARSE);
			goto bad;
		}
		{
			uint32_t cp, lo;

			if (r->end - q < 6 || hex4(q + 2, &cp) != 0) {
				fail(r, q, "invalid \\u escape", TT_ERR_PARSE);
				goto bad;
			}
			q += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (r->end - q < 6 || q[0] != '\\' || q[1] != 'u' ||
				    hex4(q + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
					fail(r, q, "unpaired surrogate", TT_ERR_PARSE);
					goto bad;
				}
				q += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				fail(r, q, "unpaired surrogate", TT_ERR_PARSE);
				goto bad;
			} else if (cp == 0) {
				fail(r, q, "\\u0000 is not allowed", TT_ERR_PARSE);
				goto bad;
			}
			/* Six source bytes make at most four: the buffer cannot overflow. */
			o += put_utf8(cp, o);
		}
	}
	*o = '\0';
	*n = (size_t)(o - buf);
	*s = buf;
	r->p = q + 1;
	return 0;
bad:
	free(buf);
	return r->err;
}

static int read_value(struct rd *r, json_t **out);

static int
read_number(struct rd *r, json_t **out)
{
	const unsigned char *s = r->p, *q = r->p;
	char tmp[NUM_MAX + 1];
	int real = 0;
	size_t n;

	if (q < r->end && *q == '-')
		q++;
	if (q == r->end || !(*q >= '0' && *q <= '9'))
		return fail(r, s, "invalid number", TT_ERR_PARSE);
	if (*q == '0') {
		q++;
		if (q < r->end && *q >= '0' && *q <= '9')
			return fail(r, s, "leading zero in number", TT_ERR_PARSE);
	} else {
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && *q == '.') {
		real = 1;
		q++;
		if (q == r->end || !(*q >= '0' && *q <= '9'))
			return fail(r, s, "invalid number", TT_ERR_PARSE);
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		real = 1;
		q++;
		if (q < r->end && (*q == '+' || *q == '-'))
			q++;
		if (q == r->end || !(*q >= '0' && *q <= '9'))
			return fail(r, s, "invalid number", TT_ERR_PARSE);
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
	}
	n = (size_t)(q - s);
	if (n > NUM_MAX)
		return fail(r, s, "number too long", TT_ERR_PARSE);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	if (!real) {
		long long v = strtoll(tmp, NULL, 10);

		if (errno == ERANGE)
			return fail(r, s, "integer out of range", TT_ERR_PARSE);
		*out = json_integer((json_int_t)v);
	} else {
		double d = strtod(tmp, NULL);

		if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
			return fail(r, s, "real number overflow", TT_ERR_PARSE);
		*out = json_real(d);
	}
	if (*out == NULL)
		return fail(r, s, "out of memory", TT_ERR_NO_MEMORY);
	r->p = q;
	return 0;
}

static int
read_literal(struct rd *r, const char *word, json_t *v, json_t **out)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, r->p, "invalid token", TT_ERR_PARSE);
	r->p += n;
	*out = v;
	return 0;
}

static int
read_object(struct rd *r, json_t **out)
{
	json_t *obj = json_object(), *v = NULL;
	char *key = NULL;
	size_t klen;

	if (obj == NULL)
		return fail(r, r->p, "out of memory", TT_ERR_NO_MEMORY);
	r->p++;   /* '{' */
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		*out = obj;
		return 0;
	}
	for (;;) {
		skip_ws(r);
		if (r->p == r->end || *r->p != '"') {
			fail(r, r->p, "string key expected", TT_ERR_PARSE);
			goto bad;
		}
		r->p++;
		if (read_string(r, &key, &klen) != 0)
			goto bad;
		if (json_object_getn(obj, key, klen) != NULL) {
			fail(r, r->p, "duplicate object key", TT_ERR_PARSE);
			goto bad;
		}
		skip_ws(r);
		if (r->p == r->end || *r->p != ':') {
			fail(r, r->p, "':' expected", TT_ERR_PARSE);
			goto bad;
		}
		r->p++;
		if (read_value(r, &v) != 0)
			goto bad;
		if (json_object_setn_new_nocheck(obj, key, klen, v) != 0) {
			v = NULL;
			fail(r, r->p, "out of memory", TT_ERR_NO_MEMORY);
			goto bad;
		}
		v = NULL;
		free(key);
		key = NULL;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			*out = obj;
			return 0;
		}
		fail(r, r->p, "',' or '}' expected", TT_ERR_PARSE);
		goto bad;
	}
bad:
	free(key);
	json_decref(v);
	json_decref(obj);
	return r->err;
}

static int
read_array(struct rd *r, json_t **out)
{
	json_t *arr = json_array(), *v = NULL;

	if (arr == NULL)
		return fail(r, r->p, "out of memory", TT_ERR_NO_MEMORY);
	r->p++;   /* '[' */
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		*out = arr;
		return 0;
	}
	for (;;) {
		if (read_value(r, &v) != 0)
			goto bad;
		if (json_array_append_new(arr, v) != 0) {
			fail(r, r->p, "out of memory", TT_ERR_NO_MEMORY);
			goto bad;
		}
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			*out = arr;
			return 0;
		}
		fail(r, r->p, "',' or ']' expected", TT_ERR_PARSE);
		goto bad;
	}
bad:
	json_decref(arr);
	return r->err;
}

static int
read_value(struct rd *r, json_t **out)
{
	char *s = NULL;
	size_t n;
	int rc;

	skip_ws(r);
	if (r->p == r->end)
		return fail(r, r->p, "unexpected end of input", TT_ERR_PARSE);
	switch (*r->p) {
	case '{':
	case '[':
		if (r->depth >= r->max_depth)
			return fail(r, r->p, "nesting too deep", TT_ERR_LIMIT);
		r->depth++;
		rc = *r->p == '{' ? read_object(r, out) : read_array(r, out);
		r->depth--;
		return rc;
	case '"':
		r->p++;
		if ((rc = read_string(r, &s, &n)) != 0)
			return rc;
		*out = json_stringn_nocheck(s, n);
		free(s);
		return *out != NULL ? 0 : fail(r, r->p, "out of memory", TT_ERR_NO_MEMORY);
	case 't':
		return read_literal(r, "true", json_true(), out);
	case 'f':
		return read_literal(r, "false", json_false(), out);
	case 'n':
		return read_literal(r, "null", json_null(), out);
	default:
		return read_number(r, out);
	}
}

int
tt_json_parse(const char *text, size_t len, unsigned max_depth, json_t **out,
	struct tt_json_err *e)
{
	struct rd r = { .p = (const unsigned char *)text, .end = (const unsigned char *)text + len,
		.start = (const unsigned char *)text, .max_depth = max_depth, .e = e };
	json_t *v = NULL;

	skip_ws(&r);
	if (r.p == r.end || (*r.p != '{' && *r.p != '['))
		return fail(&r, r.p, "'[' or '{' expected", TT_ERR_PARSE);
	if (read_value(&r, &v) != 0)
		return r.err;
	skip_ws(&r);
	if (r.p != r.end) {
		json_decref(v);
		return fail(&r, r.p, "end of input expected", TT_ERR_PARSE);
	}
	*out = v;
	return 0;
}

/* ---- writer ---- */

struct wr {
	char *b;
	size_t len, cap;
	int err;
};

static int
grow(struct wr *w, size_t add)
{
	size_t nc;
	char *nb;

	if (w->err != 0)
		return -1;
	if (w->cap - w->len > add)
		return 0;
	nc = w->cap != 0 ? w->cap : 256;
	while (nc - w->len <= add) {
		if (nc > SIZE_MAX / 2) {
			w->err = TT_ERR_NO_MEMORY;
			return -1;
		}
		nc *= 2;
	}
	if ((nb = realloc(w->b, nc)) == NULL) {
		w->err = TT_ERR_NO_MEMORY;
		return -1;
	}
	w->b = nb;
	w->cap = nc;
	return 0;
}

static void
put(struct wr *w, const char *s, size_t n)
{
	if (grow(w, n) != 0)
		return;
	memcpy(w->b + w->len, s, n);
	w->len += n;
}

/* Everything at or above 0x20 except '"' and '\\' is copied as is, as json_dumps does;
 * bytes >= 0x80 must form valid UTF-8 (a string made with json_stringn_nocheck may not),
 * else the value is refused as json_dumps refuses it. */
static void
put_string(struct wr *w, const char *s, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, ul;

	/* Worst case every byte becomes \u00XX. */
	if (n > SIZE_MAX / 6 - 3 || grow(w, n * 6 + 2) != 0) {
		w->err = TT_ERR_NO_MEMORY;
		return;
	}
	w->b[w->len++] = '"';
	while (i < n) {
		run = i;
		while (i < n && u[i] >= 0x20 && s[i] != '"' && s[i] != '\\') {
			if (u[i] < 0x80) {
				i++;
				continue;
			}
			if ((ul = utf8_len(u + i, u + n)) == 0) {
				w->err = TT_ERR_INVALID_ARGUMENT;
				return;
			}
			i += ul;
		}
		memcpy(w->b + w->len, s + run, i - run);
		w->len += i - run;
		if (i == n)
			break;
		w->b[w->len++] = '\\';
		switch (s[i]) {
		case '"': w->b[w->len++] = '"'; break;
		case '\\': w->b[w->len++] = '\\'; break;
		case '\b': w->b[w->len++] = 'b'; break;
		case '\f': w->b[w->len++] = 'f'; break;
		case '\n': w->b[w->len++] = 'n'; break;
		case '\r': w->b[w->len++] = 'r'; break;
		case '\t': w->b[w->len++] = 't'; break;
		default:
			w->b[w->len++] = 'u';
			w->b[w->len++] = '0';
			w->b[w->len++] = '0';
			w->b[w->len++] = hx[(unsigned char)s[i] >> 4];
			w->b[w->len++] = hx[(unsigned char)s[i] & 15];
			break;
		}
		i++;
	}
	w->b[w->len++] = '"';
}

static void
write_value(struct wr *w, const json_t *v, unsigned depth)
{
	char num[64];
	int k;

	if (w->err != 0)
		return;
	if (depth > 2048) {   /* jansson's own limit for what it can have built */
		w->err = TT_ERR_INVALID_ARGUMENT;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		size_t klen;
		json_t *m;
		int first = 1;

		put(w, "{", 1);
		json_object_keylen_foreach((json_t *)v, key, klen, m) {
			if (!first)
				put(w, ",", 1);
			first = 0;
			put_string(w, key, klen);
			put(w, ":", 1);
			write_value(w, m, depth + 1);
		}
		put(w, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *m;

		put(w, "[", 1);
		json_array_foreach(v, i, m) {
			if (i != 0)
				put(w, ",", 1);
			write_value(w, m, depth + 1);
		}
		put(w, "]", 1);
		break;
	}
	case JSON_STRING:
		put_string(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		k = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(w, num, (size_t)k);
		break;
	case JSON_REAL: {
		/* Rare here, and jansson's real formatting has its own rules: use it. */
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		if (t == NULL) {
			w->err = TT_ERR_INVALID_ARGUMENT;
			return;
		}
		put(w, t, strlen(t));
		free(t);
		break;
	}
	case JSON_TRUE:
		put(w, "true", 4);
		break;
	case JSON_FALSE:
		put(w, "false", 5);
		break;
	case JSON_NULL:
		put(w, "null", 4);
		break;
	default:
		w->err = TT_ERR_INVALID_ARGUMENT;
	}
}

int
tt_json_write(const json_t *v, char **out, size_t *outlen)
{
	struct wr w = { 0 };

	if (v == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	write_value(&w, v, 0);
	if (w.err == 0 && grow(&w, 1) == 0)
		w.b[w.len] = '\0';
	if (w.err != 0) {
		free(w.b);
		return w.err;
	}
	*out = w.b;
	if (outlen != NULL)
		*outlen = w.len;
	return 0;
}
