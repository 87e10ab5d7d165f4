/*
 * Rego lexer and recursive-descent parser. Produces the tree in rego_int.h.
 *
 * Nesting (terms inside terms, bodies inside comprehensions) is bounded by max_depth so
 * a hostile module cannot exhaust the stack; every token is read from a length-bounded
 * buffer. Newlines end expressions inside bodies, as in OPA.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <turtle/error.h>

#include "rego_int.h"
#include "util/hex.h"

enum tok {
	K_EOF, K_IDENT, K_NUM, K_STR, K_LBRACK, K_RBRACK, K_LBRACE, K_RBRACE, K_LPAREN,
	K_RPAREN, K_DOT, K_COMMA, K_SEMI, K_COLON, K_ASSIGN, K_UNIFY, K_EQ, K_NEQ, K_LT, K_LTE,
	K_GT, K_GTE, K_PLUS, K_MINUS, K_STAR, K_SLASH, K_PERCENT, K_AMP, K_BAR,
};

struct lx {
	const char *s;
	size_t len, pos;
	int line, col0; /* col0: offset of the current line's first byte */
	/* current token */
	enum tok t;
	const char *tp;
	size_t tn;
	bool nl;        /* a newline precedes this token */
	int tline, tcol;
	struct rv *sval; /* K_STR value, K_NUM value */
	/* context */
	struct rg_arena *a;
	struct tt_rego_err *e;
	const char *file;
	jmp_buf fail;
	int err;
	unsigned depth, max_depth;
	unsigned gensym;
};

static void perr(struct lx *l, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void perr(struct lx *l, const char *fmt, ...)
{
	if (l->e) {
		va_list ap;
		snprintf(l->e->code, sizeof(l->e->code), "rego_parse_error");
		snprintf(l->e->file, sizeof(l->e->file), "%s", l->file ? l->file : "");
		l->e->line = l->tline;
		l->e->col = l->tcol;
		va_start(ap, fmt);
		vsnprintf(l->e->msg, sizeof(l->e->msg), fmt, ap);
		va_end(ap);
	}
	l->err = TT_ERR_PARSE;
	longjmp(l->fail, 1);
}

static void enter(struct lx *l)
{
	if (++l->depth > l->max_depth) {
		if (l->e) {
			snprintf(l->e->code, sizeof(l->e->code), "rego_parse_error");
			snprintf(l->e->msg, sizeof(l->e->msg), "nesting deeper than %u", l->max_depth);
			l->e->line = l->tline;
			l->e->col = l->tcol;
		}
		l->err = TT_ERR_LIMIT;
		longjmp(l->fail, 1);
	}
}

static void leave(struct lx *l)
{
	l->depth--;
}

static void put_utf8(struct sbuf *b, unsigned cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		o[0] = (char)(0xF0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sb_put(b, o, n);
}

static unsigned read_u4(struct lx *l)
{
	if (l->len - l->pos < 4)
		perr(l, "truncated \\u escape");
	uint8_t b[2];
	size_t n;
	if (tt_hex_decode(l->s + l->pos, 4, b, sizeof(b), &n) != 0)
		perr(l, "bad \\u escape");
	l->pos += 4;
	return (unsigned)b[0] << 8 | b[1];
}

static void lex_string(struct lx *l)
{
	struct sbuf b = { .a = l->a };
	l->pos++; /* opening quote */
	for (;;) {
		if (l->pos >= l->len)
			perr(l, "unterminated string");
		unsigned char c = (unsigned char)l->s[l->pos];
		if (c == '"') {
			l->pos++;
			break;
		}
		if (c == '\n' || c < 0x20)
			perr(l, "control character in string");
		if (c != '\\') {
			sb_put(&b, (const char *)&l->s[l->pos], 1);
			l->pos++;
			continue;
		}
		l->pos++;
		if (l->pos >= l->len)
			perr(l, "unterminated string");
		c = (unsigned char)l->s[l->pos++];
		switch (c) {
		case '"': sb_put(&b, "\"", 1); break;
		case '\\': sb_put(&b, "\\", 1); break;
		case '/': sb_put(&b, "/", 1); break;
		case 'b': sb_put(&b, "\b", 1); break;
		case 'f': sb_put(&b, "\f", 1); break;
		case 'n': sb_put(&b, "\n", 1); break;
		case 'r': sb_put(&b, "\r", 1); break;
		case 't': sb_put(&b, "\t", 1); break;
		case 'u': {
			unsigned cp = read_u4(l);
			if (cp >= 0xD800 && cp < 0xDC00 && l->len - l->pos >= 6 && l->s[l->pos] == '\\' &&
			    l->s[l->pos + 1] == 'u') {
				size_t save = l->pos;
				l->pos += 2;
				unsigned lo = read_u4(l);
				if (lo >= 0xDC00 && lo < 0xE000)
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				else
					l->pos = save;
			}
			if (cp >= 0xD800 && cp < 0xE000)
				cp = 0xFFFD;
			put_utf8(&b, cp);
			break;
		}
		default:
			perr(l, "invalid escape \\%c", c);
		}
	}
	l->sval = rv_str(l->a, b.p ? b.p : "", b.n);
}

static void next(struct lx *l)
{
	l->nl = false;
	for (;;) {
		if (l->pos >= l->len)
			break;
		char c = l->s[l->pos];
		if (c == '\n') {
			l->nl = true;
			l->line++;
			l->pos++;
			l->col0 = (int)l->pos;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			l->pos++;
		} else if (c == '#') {
			while (l->pos < l->len && l->s[l->pos] != '\n')
				l->pos++;
		} else {
			break;
		}
	}
	l->tline = l->line;
	l->tcol = (int)l->pos - l->col0 + 1;
	l->tp = l->s + l->pos;
	l->tn = 0;
	if (l->pos >= l->len) {
		l->t = K_EOF;
		return;
	}
	unsigned char c = (unsigned char)l->s[l->pos];
	size_t st = l->pos;
	if (isalpha(c) || c == '_') {
		while (l->pos < l->len && (isalnum((unsigned char)l->s[l->pos]) || l->s[l->pos] == '_'))
			l->pos++;
		l->t = K_IDENT;
		l->tn = l->pos - st;
		return;
	}
	if (isdigit(c)) {
		while (l->pos < l->len && isdigit((unsigned char)l->s[l->pos]))
			l->pos++;
		if (l->pos + 1 < l->len && l->s[l->pos] == '.' && isdigit((unsigned char)l->s[l->pos + 1])) {
			l->pos++;
			while (l->pos < l->len && isdigit((unsigned char)l->s[l->pos]))
				l->pos++;
		}
		if (l->pos < l->len && (l->s[l->pos] == 'e' || l->s[l->pos] == 'E')) {
			size_t save = l->pos;
			l->pos++;
			if (l->pos < l->len && (l->s[l->pos] == '+' || l->s[l->pos] == '-'))
				l->pos++;
			if (l->pos < l->len && isdigit((unsigned char)l->s[l->pos])) {
				while (l->pos < l->len && isdigit((unsigned char)l->s[l->pos]))
					l->pos++;
			} else {
				l->pos = save;
			}
		}
		l->t = K_NUM;
		l->tn = l->pos - st;
		l->sval = rv_num_text(l->a, l->tp, l->tn);
		if (!l->sval)
			perr(l, "invalid number");
		return;
	}
	if (c == '"') {
		lex_string(l);
		l->t = K_STR;
		l->tn = l->pos - st;
		return;
	}
	if (c == '`') {
		l->pos++;
		while (l->pos < l->len && l->s[l->pos] != '`') {
			if (l->s[l->pos] == '\n') {
				l->line++;
				l->col0 = (int)l->pos + 1;
			}
			l->pos++;
		}
		if (l->pos >= l->len)
			perr(l, "unterminated raw string");
		l->sval = rv_str(l->a, l->s + st + 1, l->pos - st - 1);
		l->pos++;
		l->t = K_STR;
		l->tn = l->pos - st;
		return;
	}
	char d = l->pos + 1 < l->len ? l->s[l->pos + 1] : '\0';
	l->pos++;
	switch (c) {
	case '[': l->t = K_LBRACK; break;
	case ']': l->t = K_RBRACK; break;
	case '{': l->t = K_LBRACE; break;
	case '}': l->t = K_RBRACE; break;
	case '(': l->t = K_LPAREN; break;
	case ')': l->t = K_RPAREN; break;
	case '.': l->t = K_DOT; break;
	case ',': l->t = K_COMMA; break;
	case ';': l->t = K_SEMI; break;
	case '+': l->t = K_PLUS; break;
	case '-': l->t = K_MINUS; break;
	case '*': l->t = K_STAR; break;
	case '/': l->t = K_SLASH; break;
	case '%': l->t = K_PERCENT; break;
	case '&': l->t = K_AMP; break;
	case '|': l->t = K_BAR; break;
	case ':':
		if (d == '=') {
			l->pos++;
			l->t = K_ASSIGN;
		} else {
			l->t = K_COLON;
		}
		break;
	case '=':
		if (d == '=') {
			l->pos++;
			l->t = K_EQ;
		} else {
			l->t = K_UNIFY;
		}
		break;
	case '!':
		if (d != '=')
			perr(l, "unexpected '!'");
		l->pos++;
		l->t = K_NEQ;
		break;
	case '<':
		if (d == '=') {
			l->pos++;
			l->t = K_LTE;
		} else {
			l->t = K_LT;
		}
		break;
	case '>':
		if (d == '=') {
			l->pos++;
			l->t = K_GTE;
		} else {
			l->t = K_GT;
		}
		break;
	default:
		perr(l, "unexpected character '%c'", c);
	}
	l->tn = l->pos - st;
}

static bool is_kw(const struct lx *l, const char *kw)
{
	return l->t == K_IDENT && l->tn == strlen(kw) && memcmp(l->tp, kw, l->tn) == 0;
}

static void expect(struct lx *l, enum tok t, const char *what)
{
	if (l->t != t)
		perr(l, "expected %s", what);
	next(l);
}

/* Save and restore the lexer for the few places that need to look ahead. */
struct lxsave {
	size_t pos;
	int line, col0;
	enum tok t;
	const char *tp;
	size_t tn;
	bool nl;
	int tline, tcol;
	struct rv *sval;
};

static void save(const struct lx *l, struct lxsave *s)
{
	s->pos = l->pos; s->line = l->line; s->col0 = l->col0; s->t = l->t; s->tp = l->tp;
	s->tn = l->tn; s->nl = l->nl; s->tline = l->tline; s->tcol = l->tcol; s->sval = l->sval;
}

static void restore(struct lx *l, const struct lxsave *s)
{
	l->pos = s->pos; l->line = s->line; l->col0 = s->col0; l->t = s->t; l->tp = s->tp;
	l->tn = s->tn; l->nl = s->nl; l->tline = s->tline; l->tcol = s->tcol; l->sval = s->sval;
}

/* ---- tree helpers ---- */

struct tvec {
	struct rterm **p;
	size_t n, cap;
};

static void tpush(struct rg_arena *a, struct tvec *v, struct rterm *t)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 4;
		struct rterm **np = rg_alloc(a, nc * sizeof(*np));
		if (v->n)
			memcpy(np, v->p, v->n * sizeof(*np));
		v->p = np;
		v->cap = nc;
	}
	v->p[v->n++] = t;
}

static struct rterm *mkterm(struct lx *l, uint8_t k)
{
	struct rterm *t = rg_alloc(l->a, sizeof(*t));
	t->k = k;
	t->line = l->tline;
	t->col = l->tcol;
	return t;
}

static struct rterm *mkval(struct lx *l, struct rv *v)
{
	struct rterm *t = mkterm(l, T_VAL);
	t->val = v;
	return t;
}

static struct rterm *mkvar(struct lx *l, const char *name, size_t n)
{
	struct rterm *t = mkterm(l, T_VAR);
	if (n == 1 && name[0] == '_') {
		char buf[32];
		int m = snprintf(buf, sizeof(buf), "$_%u", l->gensym++);
		t->name = rg_strndup(l->a, buf, (size_t)m);
	} else {
		t->name = rg_strndup(l->a, name, n);
	}
	return t;
}

static struct rterm *mkcall(struct lx *l, const char *op, struct rterm *x, struct rterm *y)
{
	struct rterm *t = mkterm(l, T_CALL);
	t->name = op;
	t->n = y ? 2 : 1;
	t->a = rg_alloc(l->a, 2 * sizeof(*t->a));
	t->a[0] = x;
	t->a[1] = y;
	if (x) {
		t->line = x->line;
		t->col = x->col;
	}
	return t;
}

/* ---- terms ---- */

static struct rterm *p_expr(struct lx *l, bool no_bar);
static struct rbody *p_body_until(struct lx *l, enum tok end);
static struct rterm *p_term(struct lx *l, bool no_bar);
static struct rterm *p_rel(struct lx *l, bool no_bar);

static struct rterm *p_parens_args(struct lx *l, struct rterm *call)
{
	struct tvec args = { 0 };
	next(l); /* ( */
	while (l->t != K_RPAREN) {
		tpush(l->a, &args, p_expr(l, false));
		if (l->t == K_COMMA)
			next(l);
		else if (l->t != K_RPAREN)
			perr(l, "expected ',' or ')' in call");
	}
	next(l);
	call->a = args.p;
	call->n = args.n;
	return call;
}

/* Dotted name of a reference whose path is all plain identifiers, or NULL. */
static const char *ref_name(struct lx *l, struct rterm *t)
{
	if (t->k == T_VAR)
		return t->name;
	if (t->k != T_REF || t->a[0]->k != T_VAR)
		return NULL;
	struct sbuf b = { .a = l->a };
	sb_puts(&b, t->a[0]->name);
	for (size_t i = 1; i < t->n; i++) {
		if (t->a[i]->k != T_VAL || t->a[i]->val->t != RV_STR)
			return NULL;
		sb_puts(&b, ".");
		sb_puts(&b, t->a[i]->val->s);
	}
	return b.p;
}

/* Postfix: .name, [term], (args) after a primary term. */
static struct rterm *p_postfix(struct lx *l, struct rterm *t)
{
	for (;;) {
		if (l->nl)
			return t;
		if (l->t == K_DOT || l->t == K_LBRACK) {
			if (t->k != T_REF) {
				struct rterm *r = mkterm(l, T_REF);
				r->line = t->line;
				r->col = t->col;
				struct tvec v = { 0 };
				tpush(l->a, &v, t);
				r->a = v.p;
				r->n = v.n;
				r->b = (struct rterm **)(uintptr_t)v.cap; /* capacity, reused below */
				t = r;
			}
			struct tvec v = { .p = t->a, .n = t->n, .cap = (size_t)(uintptr_t)t->b };
			if (l->t == K_DOT) {
				next(l);
				if (l->t != K_IDENT)
					perr(l, "expected name after '.'");
				tpush(l->a, &v, mkval(l, rv_str(l->a, l->tp, l->tn)));
				next(l);
			} else {
				next(l);
				enter(l);
				tpush(l->a, &v, p_expr(l, false));
				leave(l);
				expect(l, K_RBRACK, "']'");
			}
			t->a = v.p;
			t->n = v.n;
			t->b = (struct rterm **)(uintptr_t)v.cap;
			continue;
		}
		if (l->t == K_LPAREN) {
			const char *name = ref_name(l, t);
			if (!name)
				perr(l, "call of something that is not a name");
			if (t->k == T_REF)
				t->b = NULL;
			struct rterm *c = mkterm(l, T_CALL);
			c->line = t->line;
			c->col = t->col;
			c->name = name;
			c->op = t;
			enter(l);
			p_parens_args(l, c);
			leave(l);
			t = c;
			continue;
		}
		break;
	}
	if (t->k == T_REF)
		t->b = NULL;
	return t;
}

static struct rterm *p_braces(struct lx *l)
{
	struct rterm *start = mkterm(l, T_OBJ);
	next(l); /* { */
	if (l->t == K_RBRACE) {
		next(l);
		return start; /* {} */
	}
	struct rterm *first = p_expr(l, true);
	if (l->t == K_COLON) {
		next(l);
		struct rterm *fv = p_expr(l, true);
		if (l->t == K_BAR) {
			next(l);
			struct rterm *c = start;
			c->k = T_OCOMP;
			c->khead = first;
			c->head = fv;
			c->body = p_body_until(l, K_RBRACE);
			return c;
		}
		struct tvec ks = { 0 }, vs = { 0 };
		tpush(l->a, &ks, first);
		tpush(l->a, &vs, fv);
		while (l->t == K_COMMA) {
			next(l);
			if (l->t == K_RBRACE)
				break;
			tpush(l->a, &ks, p_expr(l, false));
			expect(l, K_COLON, "':'");
			tpush(l->a, &vs, p_expr(l, false));
		}
		expect(l, K_RBRACE, "'}'");
		start->a = ks.p;
		start->b = vs.p;
		start->n = ks.n;
		return start;
	}
	if (l->t == K_BAR) {
		next(l);
		start->k = T_SCOMP;
		start->head = first;
		start->body = p_body_until(l, K_RBRACE);
		return start;
	}
	struct tvec it = { 0 };
	tpush(l->a, &it, first);
	while (l->t == K_COMMA) {
		next(l);
		if (l->t == K_RBRACE)
			break;
		tpush(l->a, &it, p_expr(l, false));
	}
	expect(l, K_RBRACE, "'}'");
	start->k = T_SET;
	start->a = it.p;
	start->n = it.n;
	return start;
}

static struct rterm *p_brackets(struct lx *l)
{
	struct rterm *t = mkterm(l, T_ARR);
	next(l);
	if (l->t == K_RBRACK) {
		next(l);
		return t;
	}
	struct rterm *first = p_expr(l, true);
	if (l->t == K_BAR) {
		next(l);
		t->k = T_ACOMP;
		t->head = first;
		t->body = p_body_until(l, K_RBRACK);
		return t;
	}
	struct tvec it = { 0 };
	tpush(l->a, &it, first);
	while (l->t == K_COMMA) {
		next(l);
		if (l->t == K_RBRACK)
			break;
		tpush(l->a, &it, p_expr(l, false));
	}
	expect(l, K_RBRACK, "']'");
	t->a = it.p;
	t->n = it.n;
	return t;
}

static struct rterm *p_primary(struct lx *l, bool no_bar)
{
	(void)no_bar;
	struct rterm *t;
	switch (l->t) {
	case K_NUM:
		t = mkval(l, l->sval);
		next(l);
		return p_postfix(l, t);
	case K_STR:
		t = mkval(l, l->sval);
		next(l);
		return p_postfix(l, t);
	case K_MINUS: {
		int line = l->tline, col = l->tcol;
		next(l);
		if (l->t == K_NUM && !l->nl) {
			struct rv *v = l->sval;
			struct rv *nv;
			if (v->s) {
				size_t n = strlen(v->s);
				char *s = rg_alloc(l->a, n + 2);
				s[0] = '-';
				memcpy(s + 1, v->s, n + 1);
				nv = rv_num_text(l->a, s, n + 1);
			} else if (v->isint && v->i != INT64_MIN) {
				nv = rv_int(l->a, -v->i);
			} else {
				/* keep the literal's extended precision for ordering */
				nv = rg_alloc(l->a, sizeof(*nv));
				*nv = *v;
				nv->d = -v->d;
				nv->ld = -v->ld;
			}
			t = mkval(l, nv);
			t->line = line;
			t->col = col;
			next(l);
			return p_postfix(l, t);
		}
		enter(l);
		struct rterm *x = p_term(l, no_bar);
		leave(l);
		struct rterm *zero = mkval(l, rv_int(l->a, 0));
		t = mkcall(l, "minus", zero, x);
		t->line = line;
		t->col = col;
		return t;
	}
	case K_LPAREN:
		next(l);
		enter(l);
		t = p_expr(l, false);
		if (l->t == K_COMMA) {
			/* (k, v in xs) */
			next(l);
			struct rterm *v = p_rel(l, false);
			if (!is_kw(l, "in"))
				perr(l, "expected 'in'");
			next(l);
			struct rterm *coll = p_rel(l, false);
			struct rterm *m3 = mkcall(l, "internal.member_3", t, v);
			m3->a = rg_alloc(l->a, 3 * sizeof(*m3->a));
			m3->a[0] = t;
			m3->a[1] = v;
			m3->a[2] = coll;
			m3->n = 3;
			t = m3;
		}
		leave(l);
		expect(l, K_RPAREN, "')'");
		return p_postfix(l, t);
	case K_LBRACK:
		enter(l);
		t = p_brackets(l);
		leave(l);
		return p_postfix(l, t);
	case K_LBRACE:
		enter(l);
		t = p_braces(l);
		leave(l);
		return p_postfix(l, t);
	case K_IDENT:
		if (is_kw(l, "true") || is_kw(l, "false")) {
			t = mkval(l, rv_bool(l->tp[0] == 't'));
			next(l);
			return p_postfix(l, t);
		}
		if (is_kw(l, "null")) {
			t = mkval(l, &rv_null_v);
			next(l);
			return p_postfix(l, t);
		}
		if (is_kw(l, "set")) {
			struct lxsave s;
			save(l, &s);
			next(l);
			if (l->t == K_LPAREN && !l->nl) {
				next(l);
				if (l->t == K_RPAREN) {
					t = mkterm(l, T_SET);
					next(l);
					return p_postfix(l, t);
				}
			}
			restore(l, &s);
		}
		t = mkvar(l, l->tp, l->tn);
		next(l);
		return p_postfix(l, t);
	default:
		perr(l, "unexpected token");
	}
}

static struct rterm *p_term(struct lx *l, bool no_bar)
{
	return p_primary(l, no_bar);
}

static struct rterm *p_factor(struct lx *l, bool no_bar)
{
	struct rterm *x = p_term(l, no_bar);
	while (!l->nl && (l->t == K_STAR || l->t == K_SLASH || l->t == K_PERCENT)) {
		const char *op = l->t == K_STAR ? "mul" : l->t == K_SLASH ? "div" : "rem";
		next(l);
		x = mkcall(l, op, x, p_term(l, no_bar));
	}
	return x;
}

static struct rterm *p_arith(struct lx *l, bool no_bar)
{
	struct rterm *x = p_factor(l, no_bar);
	while (!l->nl && (l->t == K_PLUS || l->t == K_MINUS)) {
		const char *op = l->t == K_PLUS ? "plus" : "minus";
		next(l);
		x = mkcall(l, op, x, p_factor(l, no_bar));
	}
	return x;
}

static struct rterm *p_and(struct lx *l, bool no_bar)
{
	struct rterm *x = p_arith(l, no_bar);
	while (!l->nl && l->t == K_AMP) {
		next(l);
		x = mkcall(l, "and", x, p_arith(l, no_bar));
	}
	return x;
}

static struct rterm *p_or(struct lx *l, bool no_bar)
{
	struct rterm *x = p_and(l, no_bar);
	while (!no_bar && !l->nl && l->t == K_BAR) {
		next(l);
		x = mkcall(l, "or", x, p_and(l, no_bar));
	}
	return x;
}

static struct rterm *p_rel(struct lx *l, bool no_bar)
{
	struct rterm *x = p_or(l, no_bar);
	for (;;) {
		const char *op = NULL;
		switch (l->t) {
		case K_EQ: op = "equal"; break;
		case K_NEQ: op = "neq"; break;
		case K_LT: op = "lt"; break;
		case K_LTE: op = "lte"; break;
		case K_GT: op = "gt"; break;
		case K_GTE: op = "gte"; break;
		default: break;
		}
		if (!op || l->nl)
			return x;
		next(l);
		x = mkcall(l, op, x, p_or(l, no_bar));
	}
}

/* `x in xs` and `k, v in xs` (the latter only where a caller handles the comma). */
static struct rterm *p_in(struct lx *l, bool no_bar)
{
	struct rterm *x = p_rel(l, no_bar);
	while (!l->nl && is_kw(l, "in")) {
		next(l);
		x = mkcall(l, "internal.member_2", x, p_rel(l, no_bar));
	}
	return x;
}

static struct rterm *p_expr(struct lx *l, bool no_bar)
{
	enter(l);
	struct rterm *x = p_in(l, no_bar);
	leave(l);
	return x;
}

/* ---- expressions and bodies ---- */

static struct rexpr *mkexpr(struct lx *l, uint8_t k)
{
	struct rexpr *e = rg_alloc(l->a, sizeof(*e));
	e->k = k;
	e->line = l->tline;
	e->col = l->tcol;
	return e;
}

static void p_with(struct lx *l, struct rexpr *e)
{
	struct rwith *w = NULL;
	size_t n = 0, cap = 0;
	while (is_kw(l, "with")) {
		next(l);
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 2;
			struct rwith *nw = rg_alloc(l->a, nc * sizeof(*nw));
			if (n)
				memcpy(nw, w, n * sizeof(*nw));
			w = nw;
			cap = nc;
		}
		w[n].target = p_term(l, false);
		if (!is_kw(l, "as"))
			perr(l, "expected 'as' in with");
		next(l);
		w[n].value = p_expr(l, false);
		n++;
	}
	e->with = w;
	e->nwith = n;
}

static struct rexpr *p_literal(struct lx *l)
{
	struct rexpr *e;
	if (is_kw(l, "some")) {
		next(l);
		struct tvec vs = { 0 };
		tpush(l->a, &vs, p_rel(l, false));
		while (l->t == K_COMMA && !l->nl) {
			next(l);
			tpush(l->a, &vs, p_rel(l, false));
		}
		if (is_kw(l, "in") && !l->nl) {
			next(l);
			e = mkexpr(l, E_SOME_IN);
			if (vs.n > 2)
				perr(l, "too many variables in 'some ... in'");
			e->key = vs.n == 2 ? vs.p[0] : NULL;
			e->val = vs.p[vs.n - 1];
			e->coll = p_rel(l, false);
			e->line = vs.p[0]->line;
			p_with(l, e);
			return e;
		}
		e = mkexpr(l, E_SOME);
		e->vars = rg_alloc(l->a, vs.n * sizeof(*e->vars));
		for (size_t i = 0; i < vs.n; i++) {
			if (vs.p[i]->k != T_VAR)
				perr(l, "expected variable names after 'some'");
			e->vars[i] = vs.p[i]->name;
		}
		e->nvars = vs.n;
		return e;
	}
	if (is_kw(l, "every")) {
		e = mkexpr(l, E_EVERY);
		next(l);
		struct rterm *a = p_rel(l, false), *b = NULL;
		if (l->t == K_COMMA) {
			next(l);
			b = p_rel(l, false);
		}
		if (!is_kw(l, "in"))
			perr(l, "expected 'in' in every");
		next(l);
		e->key = b ? a : NULL;
		e->val = b ? b : a;
		e->coll = p_rel(l, false);
		if (l->t != K_LBRACE)
			perr(l, "expected '{' after every");
		next(l);
		e->body = p_body_until(l, K_RBRACE);
		p_with(l, e);
		return e;
	}
	bool neg = false;
	if (is_kw(l, "not")) {
		neg = true;
		next(l);
		if (l->t == K_LBRACE) {
			/* `not { a; b }` (future.keywords.not / rego.v2): none of the block holds */
			struct lxsave s;
			save(l, &s);
			e = mkexpr(l, E_NOTBLOCK);
			next(l);
			e->body = p_body_until(l, K_RBRACE);
			if (l->nl || l->t == K_RBRACE || l->t == K_SEMI || l->t == K_EOF ||
			    is_kw(l, "with")) {
				e->neg = true;
				p_with(l, e);
				return e;
			}
			restore(l, &s);
		}
	}
	e = mkexpr(l, E_TERM);
	e->neg = neg;
	struct rterm *x = p_expr(l, false);
	if (l->t == K_COMMA && !l->nl && !neg) {
		/* k, v in xs */
		next(l);
		struct rterm *v = p_rel(l, false);
		if (!is_kw(l, "in"))
			perr(l, "expected 'in'");
		next(l);
		struct rterm *c = p_rel(l, false);
		struct rterm *t = mkcall(l, "internal.member_3", x, v);
		struct rterm **a3 = rg_alloc(l->a, 3 * sizeof(*a3));
		a3[0] = x;
		a3[1] = v;
		a3[2] = c;
		t->a = a3;
		t->n = 3;
		x = t;
	}
	if ((l->t == K_ASSIGN || l->t == K_UNIFY) && !l->nl) {
		const char *op = l->t == K_ASSIGN ? "assign" : "eq";
		next(l);
		struct rterm *y = p_expr(l, false);
		x = mkcall(l, op, x, y);
	}
	e->t = x;
	e->line = x->line;
	e->col = x->col;
	p_with(l, e);
	return e;
}

struct evec {
	struct rexpr **p;
	size_t n, cap;
};

static void epush(struct rg_arena *a, struct evec *v, struct rexpr *e)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 4;
		struct rexpr **np = rg_alloc(a, nc * sizeof(*np));
		if (v->n)
			memcpy(np, v->p, v->n * sizeof(*np));
		v->p = np;
		v->cap = nc;
	}
	v->p[v->n++] = e;
}

/* Expressions separated by ';' or newlines up to the end token (consumed). */
static struct rbody *p_body_until(struct lx *l, enum tok end)
{
	enter(l);
	struct evec v = { 0 };
	for (;;) {
		while (l->t == K_SEMI)
			next(l);
		if (l->t == end) {
			next(l);
			break;
		}
		if (l->t == K_EOF)
			perr(l, "unexpected end of input in body");
		epush(l->a, &v, p_literal(l));
		if (l->t != end && l->t != K_SEMI && !l->nl)
			perr(l, "unexpected token after expression");
	}
	leave(l);
	struct rbody *b = rg_alloc(l->a, sizeof(*b));
	b->e = v.p;
	b->n = v.n;
	return b;
}

/* ---- rules ---- */

static void rule_ref(struct lx *l, struct rterm *h, struct rrule *r)
{
	if (h->k == T_VAR) {
		r->ref = rg_alloc(l->a, sizeof(*r->ref));
		r->ref[0] = mkval(l, rv_cstr(l->a, h->name));
		r->nref = 1;
	} else if (h->k == T_REF && h->a[0]->k == T_VAR) {
		r->ref = rg_alloc(l->a, h->n * sizeof(*r->ref));
		r->ref[0] = mkval(l, rv_cstr(l->a, h->a[0]->name));
		for (size_t i = 1; i < h->n; i++)
			r->ref[i] = h->a[i];
		r->nref = h->n;
	} else {
		perr(l, "invalid rule head");
	}
	r->nstatic = 0;
	while (r->nstatic < r->nref && r->ref[r->nstatic]->k == T_VAL &&
	       r->ref[r->nstatic]->val->t == RV_STR)
		r->nstatic++;
}

static struct rbody *p_rule_body(struct lx *l, bool *had)
{
	*had = false;
	if (is_kw(l, "if")) {
		next(l);
		*had = true;
		if (l->t == K_LBRACE) {
			/* a block, or else one expression that starts with an object or set term */
			struct lxsave s;
			jmp_buf outer;
			unsigned depth = l->depth;
			save(l, &s);
			memcpy(&outer, &l->fail, sizeof(outer));
			if (setjmp(l->fail) == 0) {
				next(l);
				struct rbody *b = p_body_until(l, K_RBRACE);
				memcpy(&l->fail, &outer, sizeof(outer));
				return b;
			}
			memcpy(&l->fail, &outer, sizeof(outer));
			if (l->err == TT_ERR_LIMIT)
				longjmp(l->fail, 1);
			restore(l, &s);
			l->depth = depth;
			l->err = 0;
		}
		struct rbody *b = rg_alloc(l->a, sizeof(*b));
		b->e = rg_alloc(l->a, sizeof(*b->e));
		b->e[0] = p_literal(l);
		b->n = 1;
		return b;
	}
	if (l->t == K_LBRACE && !l->nl) {
		*had = true;
		next(l);
		return p_body_until(l, K_RBRACE);
	}
	return NULL;
}

static struct rrule *p_rule(struct lx *l, struct rmodule *m)
{
	struct rrule *r = rg_alloc(l->a, sizeof(*r));
	r->mod = m;
	r->line = l->tline;
	if (is_kw(l, "default")) {
		r->is_default = true;
		next(l);
	}
	if (l->t != K_IDENT)
		perr(l, "expected rule name");
	/* the head: a name with .x / [t] steps and maybe (args) */
	struct rterm *h = p_term(l, false);
	if (h->k == T_CALL) {
		r->kind = R_FUNC;
		struct rterm *op = h->op;
		rule_ref(l, op, r);
		r->args = h->a;
		r->nargs = h->n;
	} else {
		rule_ref(l, h, r);
		r->kind = R_COMPLETE;
	}
	if (is_kw(l, "contains")) {
		if (r->kind == R_FUNC || r->is_default)
			perr(l, "'contains' in a function or default rule");
		next(l);
		r->kind = R_SET;
		r->key = p_expr(l, false);
	} else if (l->t == K_ASSIGN || l->t == K_UNIFY) {
		next(l);
		r->value = p_expr(l, false);
	} else if (r->is_default) {
		perr(l, "default rule needs a value");
	}
	if (r->is_default) {
		if (is_kw(l, "if") || l->t == K_LBRACE)
			perr(l, "default rules have no body");
		return r;
	}
	bool had_main, had;
	r->body = p_rule_body(l, &had_main);
	struct rrule *prev = r;
	while (is_kw(l, "else")) {
		if (r->kind == R_SET)
			perr(l, "'else' on a multi-value rule");
		next(l);
		struct rrule *e = rg_alloc(l->a, sizeof(*e));
		*e = *r;
		e->els = NULL;
		e->value = NULL;
		e->line = l->tline;
		if (l->t == K_ASSIGN || l->t == K_UNIFY) {
			next(l);
			e->value = p_expr(l, false);
		}
		e->body = p_rule_body(l, &had);
		prev->els = e;
		prev = e;
	}
	if (!had_main && !r->value && r->kind != R_SET)
		perr(l, "rule has neither value nor body");
	return r;
}

static void p_name_path(struct lx *l, struct rterm *t, const char ***out, size_t *n)
{
	if (t->k == T_VAR) {
		*out = rg_alloc(l->a, sizeof(**out));
		(*out)[0] = t->name;
		*n = 1;
		return;
	}
	if (t->k != T_REF || t->a[0]->k != T_VAR)
		perr(l, "expected a dotted name");
	*out = rg_alloc(l->a, t->n * sizeof(**out));
	(*out)[0] = t->a[0]->name;
	for (size_t i = 1; i < t->n; i++) {
		if (t->a[i]->k != T_VAL || t->a[i]->val->t != RV_STR)
			perr(l, "expected string path elements");
		(*out)[i] = t->a[i]->val->s;
	}
	*n = t->n;
}

static void lx_init(struct lx *l, struct rg_arena *a, const char *file, const char *src,
	size_t len, unsigned max_depth, struct tt_rego_err *e)
{
	memset(l, 0, sizeof(*l));
	l->s = src;
	l->len = len;
	l->line = 1;
	l->a = a;
	l->e = e;
	l->file = file;
	l->max_depth = max_depth;
}

int rg_parse_module(struct rg_arena *a, const char *name, const char *src, size_t len,
	unsigned max_depth, struct rmodule **out, struct tt_rego_err *e)
{
	struct lx l;
	lx_init(&l, a, name, src, len, max_depth, e);
	if (setjmp(l.fail))
		return l.err;
	struct rmodule *m = rg_alloc(a, sizeof(*m));
	m->name = rg_strndup(a, name, strlen(name));
	next(&l);
	if (!is_kw(&l, "package"))
		perr(&l, "expected 'package'");
	next(&l);
	struct rterm *pt = p_term(&l, false);
	p_name_path(&l, pt, &m->pkg, &m->npkg);
	size_t capi = 0, capr = 0;
	while (l.t != K_EOF) {
		if (!l.nl && l.tline != 1)
			perr(&l, "expected a new line");
		if (is_kw(&l, "import")) {
			next(&l);
			struct rterm *it = p_term(&l, false);
			const char *alias = NULL;
			if (is_kw(&l, "as")) {
				next(&l);
				if (l.t != K_IDENT)
					perr(&l, "expected alias name");
				alias = rg_strndup(a, l.tp, l.tn);
				next(&l);
			}
			const char *root = it->k == T_VAR ? it->name :
				it->k == T_REF && it->a[0]->k == T_VAR ? it->a[0]->name : NULL;
			if (!root)
				perr(&l, "invalid import");
			if (strcmp(root, "future") == 0 || strcmp(root, "rego") == 0)
				continue;
			if (strcmp(root, "data") != 0 && strcmp(root, "input") != 0)
				perr(&l, "import must start with data or input");
			if (!alias) {
				struct rterm *last = it->k == T_VAR ? NULL : it->a[it->n - 1];
				if (last && (last->k != T_VAL || last->val->t != RV_STR))
					perr(&l, "import needs an alias");
				alias = last ? last->val->s : root;
			}
			if (m->nimp == capi) {
				size_t nc = capi ? capi * 2 : 4;
				struct rimport *ni = rg_alloc(a, nc * sizeof(*ni));
				if (m->nimp)
					memcpy(ni, m->imp, m->nimp * sizeof(*ni));
				m->imp = ni;
				capi = nc;
			}
			m->imp[m->nimp].alias = alias;
			m->imp[m->nimp].ref = it;
			m->nimp++;
			continue;
		}
		struct rrule *r = p_rule(&l, m);
		if (m->nrules == capr) {
			size_t nc = capr ? capr * 2 : 8;
			struct rrule **nr = rg_alloc(a, nc * sizeof(*nr));
			if (m->nrules)
				memcpy(nr, m->rules, m->nrules * sizeof(*nr));
			m->rules = nr;
			capr = nc;
		}
		m->rules[m->nrules++] = r;
	}
	*out = m;
	return 0;
}

int rg_parse_query(struct rg_arena *a, const char *src, size_t len, unsigned max_depth,
	struct rbody **out, struct tt_rego_err *e)
{
	struct lx l;
	lx_init(&l, a, "query", src, len, max_depth, e);
	if (setjmp(l.fail))
		return l.err;
	next(&l);
	*out = p_body_until(&l, K_EOF);
	return 0;
}

int rg_parse_term(struct rg_arena *a, const char *src, size_t len, unsigned max_depth,
	struct rterm **out, struct tt_rego_err *e)
{
	struct lx l;
	lx_init(&l, a, "term", src, len, max_depth, e);
	if (setjmp(l.fail))
		return l.err;
	next(&l);
	*out = p_expr(&l, false);
	if (l.t != K_EOF)
		perr(&l, "trailing input after term");
	return 0;
}
