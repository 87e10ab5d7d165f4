/*
 * RFC 8785 JSON canonicalisation (JCS), the form Trustee's KBS client and server hash:
 * members sorted by UTF-16 code units, no whitespace, strings with only the mandatory
 * escapes (\b \t \n \f \r as such, other controls as \u00xx in lower case, '"' and
 * '\\'), everything else as UTF-8. jansson's JSON_SORT_KEYS|JSON_COMPACT differs in the
 * control escapes (upper-case hex) and in the key order of non-BMP characters, so the form
 * is written here. The contract is in json.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "turtle/error.h"
#include "util/buf.h"

#define JCS_MAX_DEPTH 32
/* Integers beyond 2^53 have no exact ECMAScript number form (RFC 8785 3.2.2.3). */
#define JCS_MAX_INT 9007199254740992LL

struct u16it {
	const unsigned char *p;
	uint16_t pending;             /* low surrogate still to deliver */
};

/* Next UTF-16 code unit of a (jansson-validated) UTF-8 string; -1 at its end. */
static int
u16_next(struct u16it *it)
{
	const unsigned char *p = it->p;
	uint32_t cp;

	if (it->pending != 0) {
		int u = it->pending;

		it->pending = 0;
		return u;
	}
	if (*p == 0)
		return -1;
	if (*p < 0x80) {
		cp = *p++;
	} else if ((*p & 0xe0) == 0xc0 && p[1] != 0) {
		cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		p += 2;
	} else if ((*p & 0xf0) == 0xe0 && p[1] != 0 && p[2] != 0) {
		cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		p += 3;
	} else if (p[1] != 0 && p[2] != 0 && p[3] != 0) {
		cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		p += 4;
	} else {
		cp = *p++;            /* not reached for valid UTF-8 */
	}
	it->p = p;
	if (cp >= 0x10000) {
		cp -= 0x10000;
		it->pending = (uint16_t)(0xdc00 | (cp & 0x3ff));
		return (int)(0xd800 | (cp >> 10));
	}
	return (int)cp;
}

static int
key_cmp(const void *a, const void *b)
{
	struct u16it x = { *(const unsigned char *const *)a, 0 };
	struct u16it y = { *(const unsigned char *const *)b, 0 };

	/* UTF-8 byte order is code point order, which is UTF-16 order below U+E000: skip
	 * the common prefix, and if the first difference is two ASCII bytes (or an end) it
	 * decides. Only then walk code units (the prefix ends on a character boundary:
	 * the bytes before a difference in lead bytes form whole characters). */
	while (*x.p != 0 && *x.p == *y.p) {
		x.p++;
		y.p++;
	}
	if (*x.p < 0x80 && *y.p < 0x80)
		return *x.p == *y.p ? 0 : *x.p < *y.p ? -1 : 1;
	while ((*x.p & 0xc0) == 0x80) {   /* back to the start of the differing character */
		x.p--;
		y.p--;
	}
	for (;;) {
		int u = u16_next(&x), v = u16_next(&y);

		if (u != v)
			return u < v ? -1 : 1;
		if (u < 0)
			return 0;
	}
}

/* Controls, '"' and '\\': the bytes a JCS string escapes (a branch-free test: strings
 * are most of the work, e.g. the hex digests of a TPM attestation's claims). */
static inline bool
needs_escape(unsigned char ch)
{
	return ch < 0x20 || ch == '"' || ch == '\\';
}

static int
jcs_str(struct tt_buf *o, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	int r = tt_buf_put_u8(o, '"');
	size_t run = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!needs_escape(ch))
			continue;   /* copied with the rest of its run below */
		/* the bytes before this one that need no escape, in one piece */
		if (i > run && (r = tt_buf_put(o, s + run, i - run)) != 0)
			break;
		run = i + 1;
		switch (ch) {
		case '"': r = tt_buf_put(o, "\\\"", 2); break;
		case '\\': r = tt_buf_put(o, "\\\\", 2); break;
		case '\b': r = tt_buf_put(o, "\\b", 2); break;
		case '\t': r = tt_buf_put(o, "\\t", 2); break;
		case '\n': r = tt_buf_put(o, "\\n", 2); break;
		case '\f': r = tt_buf_put(o, "\\f", 2); break;
		case '\r': r = tt_buf_put(o, "\\r", 2); break;
		default: {
			char esc[6] = { '\\', 'u', '0', '0', hx[ch >> 4], hx[ch & 15] };

			r = tt_buf_put(o, esc, sizeof(esc));
		}
		}
	}
	if (r == 0 && n > run)
		r = tt_buf_put(o, s + run, n - run);
	return r != 0 ? r : tt_buf_put_u8(o, '"');
}

static int
jcs_int(struct tt_buf *o, long long v)
{
	char num[32];
	int n;

	if (v > JCS_MAX_INT || v < -JCS_MAX_INT)
		return TT_ERR_NOT_SUPPORTED;
	n = snprintf(num, sizeof(num), "%lld", v);
	return tt_buf_put(o, num, (size_t)n);
}

static int
jcs_value(struct tt_buf *o, const json_t *v, unsigned depth)
{
	const char **keys = NULL;
	const char *k;
	json_t *m;
	size_t n = 0, i;
	double d;
	int r = 0;

	if (depth > JCS_MAX_DEPTH)
		return TT_ERR_LIMIT;
	switch (json_typeof(v)) {
	case JSON_NULL: return tt_buf_put(o, "null", 4);
	case JSON_TRUE: return tt_buf_put(o, "true", 4);
	case JSON_FALSE: return tt_buf_put(o, "false", 5);
	case JSON_STRING: return jcs_str(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: return jcs_int(o, (long long)json_integer_value(v));
	case JSON_REAL:
		/* Only integral reals have a short exact form here ("1.0" is "1"); others would
		 * need ECMAScript's shortest round-trip formatting, which no key material uses. */
		d = json_real_value(v);
		/* Range first: converting an out-of-range double to an integer is undefined. */
		if (!(d >= -(double)JCS_MAX_INT && d <= (double)JCS_MAX_INT) ||
		    d != (double)(long long)d)
			return TT_ERR_NOT_SUPPORTED;
		return jcs_int(o, (long long)d);
	case JSON_ARRAY:
		if ((r = tt_buf_put_u8(o, '[')) != 0)
			return r;
		for (i = 0; r == 0 && i < json_array_size(v); i++) {
			if (i > 0 && (r = tt_buf_put_u8(o, ',')) != 0)
				break;
			r = jcs_value(o, json_array_get(v, i), depth + 1);
		}
		return r != 0 ? r : tt_buf_put_u8(o, ']');
	case JSON_OBJECT:
		if ((keys = calloc(json_object_size(v) + 1, sizeof(*keys))) == NULL)
			return TT_ERR_NO_MEMORY;
		json_object_foreach((json_t *)v, k, m)
			keys[n++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		r = tt_buf_put_u8(o, '{');
		for (i = 0; r == 0 && i < n; i++) {
			if ((i > 0 && (r = tt_buf_put_u8(o, ',')) != 0) ||
			    (r = jcs_str(o, keys[i], strlen(keys[i]))) != 0 ||
			    (r = tt_buf_put_u8(o, ':')) != 0)
				break;
			r = jcs_value(o, json_object_get(v, keys[i]), depth + 1);
		}
		free(keys);
		return r != 0 ? r : tt_buf_put_u8(o, '}');
	}
	return TT_ERR_INVALID_ARGUMENT;
}

int
tt_json_canonical(const json_t *v, size_t max, char **out, size_t *outlen)
{
	struct tt_buf o;
	char *t;
	int r;

	tt_buf_init(&o, max);
	if ((r = jcs_value(&o, v, 0)) == 0) {
		if ((t = malloc(tt_buf_avail(&o) + 1)) == NULL) {
			r = TT_ERR_NO_MEMORY;
		} else {
			memcpy(t, tt_buf_ptr(&o), tt_buf_avail(&o));
			t[tt_buf_avail(&o)] = '\0';
			*out = t;
			if (outlen != NULL)
				*outlen = tt_buf_avail(&o);
		}
	}
	tt_buf_free(&o);
	return r;
}
