/*
 * Text of PCS responses: the exact bytes of a signed member of a JSON answer (Intel signs
 * the bytes of "tcbInfo" / "enclaveIdentity" as sent, so re-serialising would break the
 * signature), and the percent-encoded PEM of the issuer-chain headers.
 *
 * Both read untrusted bytes: every index is checked against the length, the JSON is first
 * validated whole by jansson, and the member scanner only walks text jansson accepted
 * (fuzz_fetch_text feeds it arbitrary bytes anyway).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fetch.h"
#include "turtle/error.h"
#include "util/hex.h"

#define JSON_MAX_DEPTH 64u

static size_t
skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* s[i] is '"': index just past the closing quote, or n when there is none. */
static size_t
skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* One value from s[i]: index just past it, or n when it does not end. */
static size_t
skip_value(const char *s, size_t n, size_t i)
{
	unsigned depth = 0;

	if (i >= n)
		return n;
	if (s[i] == '"')
		return skip_string(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
		    s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			i++;
		return i;
	}
	while (i < n) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i);
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return n;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return n;
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return n;
}

int
tt_fetch_json_member_raw(const char *json, size_t len, const char *key, const char **val,
    size_t *vlen)
{
	json_error_t jerr;
	json_t *doc;
	size_t i, klen, ks, ke, vs, ve;

	if (json == NULL || key == NULL || val == NULL || vlen == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (len > TT_FETCH_MAX_SIZE_MAX)
		return TT_ERR_LIMIT;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return TT_ERR_PARSE;
	}
	if (json_object_get(doc, key) == NULL) {
		json_decref(doc);
		return TT_ERR_DOES_NOT_EXIST;
	}
	json_decref(doc);
	klen = strlen(key);
	i = skip_ws(json, len, 0);
	if (i >= len || json[i] != '{')
		return TT_ERR_PARSE;
	i++;
	for (;;) {
		i = skip_ws(json, len, i);
		if (i >= len || json[i] != '"')
			return TT_ERR_DOES_NOT_EXIST;  /* '}' or an escaped key: not ours */
		ks = i + 1;
		i = skip_string(json, len, i);
		if (i >= len)
			return TT_ERR_PARSE;
		ke = i - 1;
		i = skip_ws(json, len, i);
		if (i >= len || json[i] != ':')
			return TT_ERR_PARSE;
		vs = skip_ws(json, len, i + 1);
		ve = skip_value(json, len, vs);
		if (ve >= len || ve <= vs)
			return TT_ERR_PARSE;  /* the object's '}' must follow */
		if (ke - ks == klen && memcmp(json + ks, key, klen) == 0) {
			*val = json + vs;
			*vlen = ve - vs;
			return 0;
		}
		i = skip_ws(json, len, ve);
		if (i >= len || json[i] != ',')
			return TT_ERR_DOES_NOT_EXIST;
		i++;
	}
}

int
tt_fetch_pct_decode(const char *in, size_t len, char **out)
{
	char *s;
	size_t o = 0;

	if (in == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (len > TT_FETCH_MAX_SIZE_MAX)
		return TT_ERR_LIMIT;
	if ((s = malloc(len + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '%') {
			int h, l;

			if (len - i < 3 ||
			    (h = tt_hex_nibble((unsigned char)in[i + 1])) < 0 ||
			    (l = tt_hex_nibble((unsigned char)in[i + 2])) < 0)
				goto bad;
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (c == '\0')
			goto bad;
		s[o++] = c;
	}
	s[o] = '\0';
	*out = s;
	return 0;
bad:
	free(s);
	return TT_ERR_PARSE;
}
