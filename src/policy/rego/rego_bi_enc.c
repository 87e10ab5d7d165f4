/* Built-ins: base64, hex, JSON, crypto digests and HMAC, regex, glob, units, semver. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <jansson.h>

#include "util/b64.h"
#include "util/hex.h"
#include "rego_eval.h"
#include "rego_bi.h"

#define A (rg_ctx_arena(c))
#define NEED(i, T, w) do { int r_ = bi_need(c, a, (i), (T), (w)); if (r_) return r_; } while (0)

/* ---- base64 and hex ---- */

static int b64enc(struct rctx *c, struct rv **a, struct rv **out, unsigned mode, bool pad)
{
	NEED(0, RV_STR, "string");
	size_t n = tt_b64_enc_len(a[0]->n, mode);
	char *buf = rg_alloc(A, n + 4);
	size_t k = tt_b64_encode((const uint8_t *)a[0]->s, a[0]->n, mode, buf);
	while (pad && k % 4)
		buf[k++] = '=';
	buf[k] = '\0';
	*out = rv_str(A, buf, k);
	return 0;
}

static int bi_b64_encode(struct rctx *c, struct rv **a, struct rv **o) { return b64enc(c, a, o, TT_B64_STD, true); }
static int bi_b64url_encode(struct rctx *c, struct rv **a, struct rv **o) { return b64enc(c, a, o, TT_B64_URL, true); }
static int bi_b64url_encode_np(struct rctx *c, struct rv **a, struct rv **o) { return b64enc(c, a, o, TT_B64_URL, false); }

static int b64dec(struct rctx *c, struct rv *s, unsigned mode, struct rv **out)
{
	size_t max = tt_b64_dec_max(s->n), n;
	uint8_t *buf = rg_alloc(A, max + 1);
	const char *in = s->s;
	size_t il = s->n;
	if (mode == TT_B64_URL) {
		/* base64url.decode takes the padded and the unpadded form */
		while (il && in[il - 1] == '=')
			il--;
	}
	if (tt_b64_decode(in, il, mode, buf, max, &n))
		return -1;
	*out = rv_str(A, (const char *)buf, n);
	return 0;
}

static int bi_b64_decode(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	if (b64dec(c, a[0], TT_B64_STD, out))
		return rg_fail(c, "eval_builtin_error", "base64.decode: illegal base64 data");
	return 0;
}

static int bi_b64_is_valid(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	struct rv *tmp;
	*out = rv_bool(b64dec(c, a[0], TT_B64_STD, &tmp) == 0);
	return 0;
}

static int bi_b64url_decode(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	if (b64dec(c, a[0], TT_B64_URL, out))
		return rg_fail(c, "eval_builtin_error", "base64url.decode: illegal base64 data");
	return 0;
}

static int bi_hex_encode(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	char *buf = rg_alloc(A, 2 * a[0]->n + 1);
	tt_hex_encode((const uint8_t *)a[0]->s, a[0]->n, buf);
	*out = rv_str(A, buf, 2 * a[0]->n);
	return 0;
}

static int bi_hex_decode(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	for (size_t i = 0; i < a[0]->n; i++) {
		unsigned char ch = (unsigned char)a[0]->s[i];
		if (!isxdigit(ch))
			return rg_fail(c, "eval_builtin_error", "hex.decode: invalid byte: U+%04X '%c'",
				ch, ch >= 0x20 && ch < 0x7f ? ch : '?');
	}
	uint8_t *buf = rg_alloc(A, a[0]->n / 2 + 1);
	size_t n;
	if (tt_hex_decode(a[0]->s, a[0]->n, buf, a[0]->n / 2 + 1, &n))
		return rg_fail(c, "eval_builtin_error", "hex.decode: odd length hex string");
	*out = rv_str(A, (const char *)buf, n);
	return 0;
}

/* ---- JSON ---- */

static int bi_json_marshal(struct rctx *c, struct rv **a, struct rv **out)
{
	*out = rv_marshal(A, a[0]);
	if ((*out)->n > rg_ctx_max_output(c))
		return rg_fail(c, "eval_builtin_error", "json.marshal: result too large");
	return 0;
}

static void write_indented(struct sbuf *b, const struct rv *v, const char *prefix,
	const char *indent, int level)
{
	bool coll = v->t == RV_ARR || v->t == RV_SET || v->t == RV_OBJ;
	if (!coll || v->n == 0) {
		rv_write(b, v, true);
		return;
	}
	sb_puts(b, v->t == RV_OBJ ? "{" : "[");
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			sb_puts(b, ",");
		sb_puts(b, "\n");
		sb_puts(b, prefix);
		for (int k = 0; k <= level; k++)
			sb_puts(b, indent);
		if (v->t == RV_OBJ) {
			struct rv *k = v->a[i];
			if (k->t == RV_STR) {
				rv_write(b, k, true);
			} else {
				struct sbuf kb = { .a = b->a };
				rv_write(&kb, k, true);
				struct rv ks = { .t = RV_STR, .s = kb.p, .n = kb.n };
				rv_write(b, &ks, true);
			}
			sb_puts(b, ": ");
			write_indented(b, v->v[i], prefix, indent, level + 1);
		} else {
			write_indented(b, v->a[i], prefix, indent, level + 1);
		}
	}
	sb_puts(b, "\n");
	sb_puts(b, prefix);
	for (int k = 0; k < level; k++)
		sb_puts(b, indent);
	sb_puts(b, v->t == RV_OBJ ? "}" : "]");
}

static int bi_json_marshal_opts(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(1, RV_OBJ, "object");
	const char *prefix = "", *indent = "\t";
	bool pretty = false, pretty_set = false, any = false;
	for (size_t i = 0; i < a[1]->n; i++) {
		struct rv *k = a[1]->a[i], *v = a[1]->v[i];
		if (k->t != RV_STR)
			return rg_type_err(c, 2, "object with string keys", a[1]);
		if (strcmp(k->s, "pretty") == 0) {
			if (v->t != RV_BOOL)
				return rg_fail(c, "eval_type_error", "json.marshal_with_options: pretty must be a boolean");
			pretty = v->b;
			pretty_set = true;
		} else if (strcmp(k->s, "prefix") == 0) {
			if (v->t != RV_STR)
				return rg_fail(c, "eval_type_error", "json.marshal_with_options: prefix must be a string");
			prefix = v->s;
			any = true;
		} else if (strcmp(k->s, "indent") == 0) {
			if (v->t != RV_STR)
				return rg_fail(c, "eval_type_error", "json.marshal_with_options: indent must be a string");
			indent = v->s;
			any = true;
		} else {
			return rg_fail(c, "eval_type_error",
				"json.marshal_with_options: object contained unknown key \"%s\"", k->s);
		}
	}
	if (!pretty_set)
		pretty = any;
	if (!pretty)
		return bi_json_marshal(c, a, out);
	struct sbuf b = { .a = A };
	sb_puts(&b, prefix);
	write_indented(&b, a[0], prefix, indent, 0);
	*out = rv_str(A, b.p, b.n);
	return 0;
}

static json_t *parse_json(const struct rv *s)
{
	return json_loadb(s->s, s->n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static int bi_json_unmarshal(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	json_t *j = parse_json(a[0]);
	if (!j)
		return rg_fail(c, "eval_builtin_error", "json.unmarshal: invalid JSON");
	*out = rv_from_json(A, j);
	json_decref(j);
	return 0;
}

static int bi_json_is_valid(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)c;
	if (a[0]->t != RV_STR) {
		*out = &rv_false_v;
		return 0;
	}
	json_t *j = parse_json(a[0]);
	*out = rv_bool(j != NULL);
	json_decref(j);
	return 0;
}

/* Paths for json.filter / json.remove: "a/b/c" strings or arrays of segments. */
static int json_paths(struct rctx *c, struct rv *p, struct rvec *paths)
{
	if (p->t != RV_SET && p->t != RV_ARR)
		return rg_type_err(c, 2, "one of {set, array}", p);
	for (size_t i = 0; i < p->n; i++) {
		struct rv *x = p->a[i];
		if (x->t == RV_STR) {
			struct rvec seg = { 0 };
			const char *s = x->s;
			size_t n = x->n, st = 0;
			if (n && s[0] == '/')
				st = 1;
			for (size_t j = st; j <= n; j++) {
				if (j == n || s[j] == '/') {
					rvec_push(A, &seg, rv_str(A, s + st, j - st));
					st = j + 1;
				}
			}
			rvec_push(A, paths, rv_arr(A, seg.p, seg.n));
		} else if (x->t == RV_ARR) {
			rvec_push(A, paths, x);
		} else {
			return rg_fail(c, "eval_type_error",
				"%s: operand 2 must be one of {set, array} containing string paths or array of path segments but got %s",
				rg_ctx_builtin(c), rv_type_name(x));
		}
	}
	return 0;
}

static bool seg_match(const struct rv *key, const struct rv *seg, bool is_arr)
{
	if (rv_eq(key, seg))
		return true;
	if (is_arr && seg->t == RV_STR && key->t == RV_NUM && key->isint) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", (long long)key->i);
		return strcmp(buf, seg->s) == 0;
	}
	return false;
}

/* Keep (filter) or drop (remove) the parts of v named by paths, each from depth d. */
static struct rv *jfilter(struct rctx *c, struct rv *v, struct rv **paths, size_t np, size_t d,
	bool keep)
{
	/* a path that ends here selects all of v */
	for (size_t i = 0; i < np; i++)
		if (paths[i]->n == d)
			return keep ? v : NULL;
	if (v->t != RV_OBJ && v->t != RV_ARR && v->t != RV_SET)
		return keep ? NULL : v;
	struct rvec ks = { 0 }, vs = { 0 };
	bool is_arr = v->t == RV_ARR;
	for (size_t i = 0; i < v->n; i++) {
		struct rv *key = v->t == RV_ARR ? rv_int(A, (int64_t)i) : v->a[i];
		struct rv *val = v->t == RV_OBJ ? v->v[i] : v->a[i];
		struct rv **sub = rg_alloc(A, (np ? np : 1) * sizeof(*sub));
		size_t ns = 0;
		for (size_t j = 0; j < np; j++)
			if (seg_match(key, paths[j]->a[d], is_arr))
				sub[ns++] = paths[j];
		struct rv *r;
		if (ns == 0)
			r = keep ? NULL : val;
		else
			r = jfilter(c, val, sub, ns, d + 1, keep);
		if (!r)
			continue;
		rvec_push(A, &ks, key);
		rvec_push(A, &vs, r);
	}
	if (v->t == RV_OBJ)
		return rv_obj(A, ks.p, vs.p, ks.n, NULL);
	if (v->t == RV_SET)
		return rv_set(A, vs.p, vs.n);
	if (keep && ks.n == 0)
		return NULL;
	return rv_arr(A, vs.p, vs.n);
}

static int jfr(struct rctx *c, struct rv **a, struct rv **out, bool keep)
{
	NEED(0, RV_OBJ, "object");
	struct rvec paths = { 0 };
	int r = json_paths(c, a[1], &paths);
	if (r)
		return r;
	struct rv *res = jfilter(c, a[0], paths.p, paths.n, 0, keep);
	*out = res ? res : rv_obj(A, NULL, NULL, 0, NULL);
	return 0;
}

static int bi_json_filter(struct rctx *c, struct rv **a, struct rv **o) { return jfr(c, a, o, true); }
static int bi_json_remove(struct rctx *c, struct rv **a, struct rv **o) { return jfr(c, a, o, false); }

/* ---- crypto ---- */

static int digest(struct rctx *c, struct rv **a, struct rv **out, const char *md)
{
	NEED(0, RV_STR, "string");
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD *m = EVP_MD_fetch(NULL, md, NULL);
	int ok = m && EVP_Digest(a[0]->s, a[0]->n, d, &n, m, NULL);
	EVP_MD_free(m);
	if (!ok)
		return rg_fail(c, "eval_builtin_error", "%s: digest unavailable", rg_ctx_builtin(c));
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	tt_hex_encode(d, n, hex);
	*out = rv_str(A, hex, 2 * n);
	return 0;
}

static int bi_md5(struct rctx *c, struct rv **a, struct rv **o) { return digest(c, a, o, "MD5"); }
static int bi_sha1(struct rctx *c, struct rv **a, struct rv **o) { return digest(c, a, o, "SHA1"); }
static int bi_sha256(struct rctx *c, struct rv **a, struct rv **o) { return digest(c, a, o, "SHA256"); }
static int bi_sha512(struct rctx *c, struct rv **a, struct rv **o) { return digest(c, a, o, "SHA512"); }

static int hmac(struct rctx *c, struct rv **a, struct rv **out, const char *md)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD *m = EVP_MD_fetch(NULL, md, NULL);
	unsigned char *ok = m ? HMAC(m, a[1]->s, (int)a[1]->n, (const unsigned char *)a[0]->s,
		a[0]->n, d, &n) : NULL;
	EVP_MD_free(m);
	if (!ok)
		return rg_fail(c, "eval_builtin_error", "%s: HMAC unavailable", rg_ctx_builtin(c));
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	tt_hex_encode(d, n, hex);
	*out = rv_str(A, hex, 2 * n);
	return 0;
}

static int bi_hmac_md5(struct rctx *c, struct rv **a, struct rv **o) { return hmac(c, a, o, "MD5"); }
static int bi_hmac_sha1(struct rctx *c, struct rv **a, struct rv **o) { return hmac(c, a, o, "SHA1"); }
static int bi_hmac_sha256(struct rctx *c, struct rv **a, struct rv **o) { return hmac(c, a, o, "SHA256"); }
static int bi_hmac_sha512(struct rctx *c, struct rv **a, struct rv **o) { return hmac(c, a, o, "SHA512"); }

static int bi_hmac_equal(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	*out = rv_bool(a[0]->n == a[1]->n && CRYPTO_memcmp(a[0]->s, a[1]->s, a[0]->n) == 0);
	return 0;
}

/* ---- regex: RE2 syntax mapped onto POSIX extended expressions ---- */

static int re_compile(struct rctx *c, const struct rv *pat, regex_t *re)
{
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	/* RE2 (which OPA uses) runs in linear time; glibc's matcher does not once back
	 * references are involved, which RE2 does not have anyway: refuse them, and bound
	 * the pattern */
	if (pat->n > 4096 || memchr(pat->s, '\0', pat->n))
		return -1;
	for (size_t i = 0; i < pat->n; i++) {
		char ch = pat->s[i];
		if (ch == '\\' && i + 1 < pat->n) {
			char n = pat->s[++i];
			if (n >= '1' && n <= '9')
				return -1;
			switch (n) {
			case 'd': sb_puts(&b, "[0-9]"); break;
			case 'D': sb_puts(&b, "[^0-9]"); break;
			case 'w': sb_puts(&b, "[0-9A-Za-z_]"); break;
			case 'W': sb_puts(&b, "[^0-9A-Za-z_]"); break;
			case 's': sb_puts(&b, "[[:space:]]"); break;
			case 'S': sb_puts(&b, "[^[:space:]]"); break;
			default:
				sb_put(&b, "\\", 1);
				sb_put(&b, &n, 1);
			}
			continue;
		}
		sb_put(&b, &ch, 1);
	}
	return regcomp(re, b.p, REG_EXTENDED | REG_NOSUB);
}

static int bi_regex_match(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	regex_t re;
	if (re_compile(c, a[0], &re))
		return rg_fail(c, "eval_builtin_error", "regex.match: invalid regular expression");
	int r = regexec(&re, a[1]->s, 0, NULL, 0);
	regfree(&re);
	*out = rv_bool(r == 0);
	return 0;
}

static int bi_regex_is_valid(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_STR) {
		*out = &rv_false_v;
		return 0;
	}
	regex_t re;
	int r = re_compile(c, a[0], &re);
	if (r == 0)
		regfree(&re);
	*out = rv_bool(r == 0);
	return 0;
}

/* ---- glob.match (gobwas/glob semantics: * stops at delimiters, ** does not) ---- */

struct glob {
	const char *delims;
	size_t nd;
	unsigned steps;
};

static bool is_delim(const struct glob *g, const char *s, size_t len)
{
	for (size_t i = 0; i < g->nd;) {
		size_t l = 1;
		while (i + l < g->nd && ((unsigned char)g->delims[i + l] & 0xC0) == 0x80)
			l++;
		if (l == len && memcmp(g->delims + i, s, len) == 0)
			return true;
		i += l;
	}
	return false;
}

static size_t u8len(const char *s, size_t n)
{
	size_t l = 1;
	while (l < n && ((unsigned char)s[l] & 0xC0) == 0x80)
		l++;
	return l;
}

static bool gmatch(struct glob *g, const char *p, size_t pn, const char *s, size_t sn,
	int depth);

/* Find the end of a {a,b} group starting at p[0] == '{'. */
static size_t brace_end(const char *p, size_t pn)
{
	int d = 0;
	for (size_t i = 0; i < pn; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '{')
			d++;
		else if (p[i] == '}' && --d == 0)
			return i;
	}
	return 0;
}

static bool gmatch(struct glob *g, const char *p, size_t pn, const char *s, size_t sn,
	int depth)
{
	if (depth > 64 || ++g->steps > 100000)
		return false;
	while (pn) {
		char ch = p[0];
		if (ch == '*') {
			bool super = pn > 1 && p[1] == '*';
			size_t skip = 1;
			while (skip < pn && p[skip] == '*')
				skip++;
			const char *rest = p + skip;
			size_t rn = pn - skip;
			for (size_t i = 0;; ) {
				if (gmatch(g, rest, rn, s + i, sn - i, depth + 1))
					return true;
				if (i >= sn)
					return false;
				size_t l = u8len(s + i, sn - i);
				if (!super && is_delim(g, s + i, l))
					return false;
				i += l;
			}
		}
		if (ch == '{') {
			size_t e = brace_end(p, pn);
			if (!e)
				return false;
			const char *rest = p + e + 1;
			size_t rn = pn - e - 1;
			size_t st = 1;
			int d = 0;
			for (size_t i = 1; i <= e; i++) {
				if (p[i] == '\\') {
					i++;
					continue;
				}
				if (p[i] == '{')
					d++;
				else if (p[i] == '}' && d > 0) {
					d--;
					continue;
				}
				if ((p[i] == ',' && d == 0) || i == e) {
					size_t an = i - st;
					/* try alternative + rest */
					char buf[1024];
					if (an + rn >= sizeof(buf))
						return false;
					memcpy(buf, p + st, an);
					memcpy(buf + an, rest, rn);
					if (gmatch(g, buf, an + rn, s, sn, depth + 1))
						return true;
					st = i + 1;
				}
			}
			return false;
		}
		if (sn == 0)
			return false;
		size_t l = u8len(s, sn);
		if (ch == '?') {
			if (is_delim(g, s, l))
				return false;
			p++;
			pn--;
			s += l;
			sn -= l;
			continue;
		}
		if (ch == '[') {
			size_t i = 1;
			bool neg = i < pn && p[i] == '!';
			if (neg)
				i++;
			bool hit = false;
			while (i < pn && p[i] != ']') {
				size_t cl = u8len(p + i, pn - i);
				if (i + cl + 1 < pn && p[i + cl] == '-') {
					size_t hl = u8len(p + i + cl + 1, pn - i - cl - 1);
					/* compare code points by their UTF-8 bytes (order-preserving) */
					if (memcmp(s, p + i, l < cl ? l : cl) >= 0 &&
					    memcmp(s, p + i + cl + 1, l < hl ? l : hl) <= 0)
						hit = true;
					i += cl + 1 + hl;
				} else {
					if (cl == l && memcmp(p + i, s, l) == 0)
						hit = true;
					i += cl;
				}
			}
			if (i >= pn)
				return false;
			if (hit == neg)
				return false;
			p += i + 1;
			pn -= i + 1;
			s += l;
			sn -= l;
			continue;
		}
		if (ch == '\\' && pn > 1) {
			p++;
			pn--;
		}
		size_t pl = u8len(p, pn);
		if (pl != l || memcmp(p, s, l))
			return false;
		p += pl;
		pn -= pl;
		s += l;
		sn -= l;
	}
	return sn == 0;
}

static int bi_glob_match(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(2, RV_STR, "string");
	struct sbuf d = { .a = A };
	sb_put(&d, "", 0);
	if (a[1]->t == RV_NULL) {
		/* null: no delimiters */
	} else if (a[1]->t == RV_ARR) {
		if (a[1]->n == 0)
			sb_put(&d, ".", 1);
		for (size_t i = 0; i < a[1]->n; i++) {
			if (a[1]->a[i]->t != RV_STR)
				return rg_type_err(c, 2, "array of strings", a[1]);
			sb_put(&d, a[1]->a[i]->s, a[1]->a[i]->n);
		}
	} else {
		return rg_type_err(c, 2, "array", a[1]);
	}
	struct glob g = { d.p, d.n, 0 };
	*out = rv_bool(gmatch(&g, a[0]->s, a[0]->n, a[2]->s, a[2]->n, 0));
	return 0;
}

/* ---- units ---- */

static int units(struct rctx *c, struct rv **a, struct rv **out, bool bytes)
{
	NEED(0, RV_STR, "string");
	const char *name = bytes ? "units.parse_bytes" : "units.parse";
	const char *s = a[0]->s;
	size_t n = a[0]->n;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]))
			return rg_fail(c, "eval_builtin_error", "%s: spaces not allowed in resource strings", name);
	/* the number: digits, dots, and an exponent when a digit or sign follows e/E */
	size_t i = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n) {
		char ch = s[i];
		if (isdigit((unsigned char)ch) || ch == '.') {
			i++;
			continue;
		}
		if ((ch == 'e' || ch == 'E') && i + 1 < n &&
		    (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '-' || s[i + 1] == '+')) {
			i += 2;
			continue;
		}
		break;
	}
	size_t nn = i;
	bool has_digit = false;
	for (size_t k = 0; k < nn; k++)
		has_digit |= isdigit((unsigned char)s[k]) != 0;
	if (!has_digit)
		return rg_fail(c, "eval_builtin_error", bytes ? "%s: no byte amount provided" :
			"%s: no amount provided", name);
	/* mantissa and exponent, kept as text so that decimal scaling stays exact */
	char num[128];
	if (nn >= sizeof(num) - 16)
		return rg_fail(c, "eval_builtin_error", bytes ? "%s: could not parse byte amount to a number" :
			"%s: could not parse amount to a number", name);
	memcpy(num, s, nn);
	num[nn] = '\0';
	char *e = strpbrk(num, "eE");
	long long exp10 = 0;
	if (e) {
		char *end;
		errno = 0;
		exp10 = strtoll(e + 1, &end, 10);
		if (*end || errno)
			return rg_fail(c, "eval_builtin_error", "%s: exponent too large", name);
		*e = '\0';
	}
	size_t dots = 0;
	for (char *q = num; *q; q++)
		dots += *q == '.';
	const char *mant = num;
	if (*mant == '+')
		mant++;
	if (dots > 1 || strcmp(mant, ".") == 0 || strcmp(mant, "-.") == 0)
		return rg_fail(c, "eval_builtin_error", bytes ? "%s: could not parse byte amount to a number" :
			"%s: could not parse amount to a number", name);
	char unit[16];
	size_t un = n - nn;
	if (un >= sizeof(unit))
		return rg_fail(c, "eval_builtin_error", "%s: unknown unit", name);
	memcpy(unit, s + nn, un);
	unit[un] = '\0';
	int dec = 0, bin = 0;
	bool milli = !bytes && strcmp(unit, "m") == 0;
	for (char *q = unit; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	if (bytes && un > 0 && unit[un - 1] == 'b') {
		unit[--un] = '\0'; /* kb, kib: the same prefixes as k, ki */
	}
	static const char prefixes[] = "kmgtpe";
	if (milli) {
		dec = -3;
	} else if (un == 0) {
		dec = 0;
	} else {
		const char *pp = strchr(prefixes, unit[0]);
		if (!pp || (un == 2 && unit[1] != 'i') || un > 2)
			return rg_fail(c, "eval_builtin_error", "%s: unknown unit \"%s\"", name, s + nn);
		int k = (int)(pp - prefixes) + 1;
		if (un == 2)
			bin = k;
		else
			dec = 3 * k;
	}
	if (exp10 > 1000 || exp10 < -1000)
		return rg_fail(c, "eval_builtin_error", "%s: exponent too large", name);
	char txt[256];
	char full[160];
	snprintf(full, sizeof(full), "%s%s", mant[0] == '.' ? "0" : "", mant);
	if (full[0] == '-' && full[1] == '.') {
		snprintf(full, sizeof(full), "-0%s", mant + 1);
	}
	size_t fl = strlen(full);
	if (full[fl - 1] == '.')
		full[--fl] = '\0';
	snprintf(txt, sizeof(txt), "%se%lld", full, exp10 + dec);
	struct rv *v = rv_num_text(A, txt, strlen(txt));
	if (!v)
		return rg_fail(c, "eval_builtin_error", bytes ? "%s: could not parse byte amount to a number" :
			"%s: could not parse amount to a number", name);
	if (bin) {
		/* digits x 1024^bin x 10^exp, exactly: the mantissa's digits as an integer */
		char digits[160];
		size_t nd = 0;
		long long e10 = exp10 + dec;
		bool neg = full[0] == '-';
		for (const char *q = full + neg; *q; q++) {
			if (*q == '.') {
				e10 -= (long long)strlen(q + 1);
				continue;
			}
			digits[nd++] = *q;
		}
		digits[nd] = '\0';
		struct rv *d = rv_num_text(A, digits, nd);
		for (int k = 0; d && k < bin; k++)
			if (rv_big_arith(A, '*', d, rv_int(A, 1024), &d))
				return rg_fail(c, "eval_builtin_error", "%s: number too large", name);
		if (!d)
			return rg_fail(c, "eval_builtin_error", "%s: could not parse amount to a number", name);
		const char *dt = rv_int_text(A, d);
		snprintf(txt, sizeof(txt), "%s%se%lld", neg ? "-" : "", dt, e10);
		if (strlen(dt) > 120 || !(v = rv_num_text(A, txt, strlen(txt))))
			return rg_fail(c, "eval_builtin_error", "%s: number too large", name);
	}
	if (bytes && !rv_is_integral(v))
		v = rv_num_d(A, trunc(v->d));
	*out = v;
	return 0;
}

static int bi_units_parse(struct rctx *c, struct rv **a, struct rv **o) { return units(c, a, o, false); }
static int bi_units_parse_bytes(struct rctx *c, struct rv **a, struct rv **o) { return units(c, a, o, true); }

/* ---- semver 2.0.0 ---- */

struct semver {
	const char *pre;
	size_t npre;
	unsigned long long v[3];
};

static bool num_ident(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool ident_ok(const char *s, size_t n, bool pre)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	if (pre && num_ident(s, n) && n > 1 && s[0] == '0')
		return false;
	return true;
}

static bool semver_parse(const struct rv *x, struct semver *sv)
{
	const char *s = x->s;
	size_t n = x->n, i = 0;
	for (int k = 0; k < 3; k++) {
		size_t st = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == st || (i - st > 1 && s[st] == '0') || i - st > 19)
			return false;
		sv->v[k] = strtoull(s + st, NULL, 10);
		if (k < 2) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	sv->pre = NULL;
	sv->npre = 0;
	size_t end = n;
	const char *plus = memchr(s + i, '+', n - i);
	if (plus) {
		end = (size_t)(plus - s);
		size_t st = end + 1;
		for (size_t j = st; j <= n; j++)
			if (j == n || s[j] == '.') {
				if (!ident_ok(s + st, j - st, false))
					return false;
				st = j + 1;
			}
	}
	if (i < end) {
		if (s[i] != '-')
			return false;
		sv->pre = s + i + 1;
		sv->npre = end - i - 1;
		size_t st = i + 1;
		for (size_t j = st; j <= end; j++)
			if (j == end || s[j] == '.') {
				if (!ident_ok(s + st, j - st, true))
					return false;
				st = j + 1;
			}
	}
	return true;
}

static int semver_cmp(const struct semver *a, const struct semver *b)
{
	for (int k = 0; k < 3; k++)
		if (a->v[k] != b->v[k])
			return a->v[k] < b->v[k] ? -1 : 1;
	if (!a->npre || !b->npre)
		return a->npre ? -1 : b->npre ? 1 : 0;
	size_t i = 0, j = 0;
	while (i < a->npre && j < b->npre) {
		size_t ie = i, je = j;
		while (ie < a->npre && a->pre[ie] != '.')
			ie++;
		while (je < b->npre && b->pre[je] != '.')
			je++;
		bool na = num_ident(a->pre + i, ie - i), nb = num_ident(b->pre + j, je - j);
		int c;
		if (na && nb) {
			c = ie - i != je - j ? (ie - i < je - j ? -1 : 1) :
				memcmp(a->pre + i, b->pre + j, ie - i);
		} else if (na || nb) {
			c = na ? -1 : 1;
		} else {
			size_t m = ie - i < je - j ? ie - i : je - j;
			c = memcmp(a->pre + i, b->pre + j, m);
			if (!c)
				c = ie - i < je - j ? -1 : ie - i > je - j;
		}
		if (c)
			return c < 0 ? -1 : 1;
		i = ie + 1;
		j = je + 1;
	}
	bool ma = i < a->npre, mb = j < b->npre;
	return ma ? 1 : mb ? -1 : 0;
}

static int bi_semver_compare(struct rctx *c, struct rv **a, struct rv **out)
{
	NEED(0, RV_STR, "string");
	NEED(1, RV_STR, "string");
	struct semver x, y;
	if (!semver_parse(a[0], &x))
		return rg_fail(c, "eval_builtin_error",
			"semver.compare: operand 1: string \"%s\" is not a valid SemVer", a[0]->s);
	if (!semver_parse(a[1], &y))
		return rg_fail(c, "eval_builtin_error",
			"semver.compare: operand 2: string \"%s\" is not a valid SemVer", a[1]->s);
	*out = rv_int(A, semver_cmp(&x, &y));
	return 0;
}

static int bi_semver_is_valid(struct rctx *c, struct rv **a, struct rv **out)
{
	struct semver x;
	(void)c;
	*out = rv_bool(a[0]->t == RV_STR && semver_parse(a[0], &x));
	return 0;
}

/* Built-ins turtle-as does not offer; they exist so that `with` can replace them. */
/* opa.runtime(): turtle-as has no OPA runtime configuration to report */
static int bi_opa_runtime(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)a;
	*out = rv_obj(A, NULL, NULL, 0, NULL);
	return 0;
}

static int bi_unsupported(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)a;
	(void)out;
	return rg_fail(c, "eval_builtin_error", "%s: not supported in turtle-as", rg_ctx_builtin(c));
}

const struct rg_builtin *rg_builtin_find_time(const char *name);

static const struct rg_builtin enc_tab[] = {
	{ "base64.encode", 1, bi_b64_encode, false },
	{ "base64.decode", 1, bi_b64_decode, false },
	{ "base64.is_valid", 1, bi_b64_is_valid, false },
	{ "base64url.encode", 1, bi_b64url_encode, false },
	{ "base64url.encode_no_pad", 1, bi_b64url_encode_np, false },
	{ "base64url.decode", 1, bi_b64url_decode, false },
	{ "hex.encode", 1, bi_hex_encode, false },
	{ "hex.decode", 1, bi_hex_decode, false },
	{ "json.marshal", 1, bi_json_marshal, false },
	{ "json.marshal_with_options", 2, bi_json_marshal_opts, false },
	{ "json.unmarshal", 1, bi_json_unmarshal, false },
	{ "json.is_valid", 1, bi_json_is_valid, false },
	{ "json.filter", 2, bi_json_filter, false },
	{ "json.remove", 2, bi_json_remove, false },
	{ "crypto.md5", 1, bi_md5, false },
	{ "crypto.sha1", 1, bi_sha1, false },
	{ "crypto.sha256", 1, bi_sha256, false },
	{ "crypto.sha512", 1, bi_sha512, false },
	{ "crypto.hmac.md5", 2, bi_hmac_md5, false },
	{ "crypto.hmac.sha1", 2, bi_hmac_sha1, false },
	{ "crypto.hmac.sha256", 2, bi_hmac_sha256, false },
	{ "crypto.hmac.sha512", 2, bi_hmac_sha512, false },
	{ "crypto.hmac.equal", 2, bi_hmac_equal, false },
	{ "regex.match", 2, bi_regex_match, false },
	{ "regex.is_valid", 1, bi_regex_is_valid, false },
	{ "glob.match", 3, bi_glob_match, false },
	{ "units.parse", 1, bi_units_parse, false },
	{ "units.parse_bytes", 1, bi_units_parse_bytes, false },
	{ "semver.compare", 2, bi_semver_compare, false },
	{ "semver.is_valid", 1, bi_semver_is_valid, false },
	{ "http.send", 1, bi_unsupported, false },
	{ "opa.runtime", 0, bi_opa_runtime, false },
	{ "io.jwt.decode_verify", 2, bi_unsupported, false },
	{ "io.jwt.decode", 1, bi_unsupported, false },
	{ NULL, 0, NULL, false },
};

const struct rg_builtin *rg_builtin_find_enc(const char *name);
const struct rg_builtin *rg_builtin_find_enc(const char *name)
{
	for (const struct rg_builtin *b = enc_tab; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return rg_builtin_find_time(name);
}
