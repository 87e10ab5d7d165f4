/*
 * Internals shared by the files of the Rego room: arena, values, syntax tree,
 * evaluation context. Nothing here is visible outside src/policy/rego.
 */
#ifndef TT_REGO_INT_H
#define TT_REGO_INT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rego.h"

/* ---- arena: every value and tree node lives in one; freed all at once ---- */

struct rg_chunk;
struct rg_arena {
	struct rg_chunk *head;
	size_t used, max;
	jmp_buf *oom; /* where to unwind when max is reached or malloc fails */
};
void rg_arena_init(struct rg_arena *a, size_t max, jmp_buf *oom);
void rg_arena_free(struct rg_arena *a);
void *rg_alloc(struct rg_arena *a, size_t n); /* zeroed; never returns NULL */
char *rg_strndup(struct rg_arena *a, const char *s, size_t n);

/* ---- values (immutable once built) ---- */

enum rv_type { RV_NULL, RV_BOOL, RV_NUM, RV_STR, RV_ARR, RV_OBJ, RV_SET };

struct rv {
	uint8_t t;
	uint8_t isint; /* RV_NUM: i holds the value exactly */
	uint8_t b;     /* RV_BOOL */
	size_t n;      /* length: bytes of a string, items, members, keys */
	int64_t i;
	double d;      /* RV_NUM: always set (approximate unless a float) */
	long double ld; /* RV_NUM: the same with more range and digits, for ordering */
	const char *s; /* RV_STR bytes (NUL-terminated); RV_NUM: text of a big integer */
	struct rv **a; /* RV_ARR items; RV_SET members and RV_OBJ keys, sorted */
	struct rv **v; /* RV_OBJ values, parallel to a */
};

extern struct rv rv_null_v, rv_true_v, rv_false_v;
struct rv *rv_int(struct rg_arena *a, int64_t i);
struct rv *rv_num_d(struct rg_arena *a, double d); /* integral and in range -> isint */
/* A number from JSON/Rego number text. Integral values (1e3, 10.00 included) are exact:
 * int64 when they fit, else decimal text (up to 400 digits). NULL if malformed. */
struct rv *rv_num_text(struct rg_arena *a, const char *s, size_t n);
bool rv_is_integral(const struct rv *v); /* an exact integer (int64 or big) */
/* Integer arithmetic beyond int64 (op one of + - * / %): 0 with *out, 1 when a
 * division is not exact (the caller uses floating point), -1 on division by zero. */
int rv_big_arith(struct rg_arena *a, char op, const struct rv *x, const struct rv *y,
	struct rv **out);
/* Decimal text of an integral number into the arena. */
const char *rv_int_text(struct rg_arena *a, const struct rv *v);
struct rv *rv_str(struct rg_arena *a, const char *s, size_t n);
struct rv *rv_cstr(struct rg_arena *a, const char *s);
struct rv *rv_bool(bool b);
struct rv *rv_arr(struct rg_arena *a, struct rv **items, size_t n); /* copies items */
/* Sorts and removes duplicates (items may be reordered in place). */
struct rv *rv_set(struct rg_arena *a, struct rv **items, size_t n);
/* Sorts by key; *dup set (and NULL returned) when a key repeats with another value;
 * equal duplicates collapse. */
struct rv *rv_obj(struct rg_arena *a, struct rv **keys, struct rv **vals, size_t n,
	bool *conflict);

int rv_cmp(const struct rv *x, const struct rv *y);
static inline bool rv_eq(const struct rv *x, const struct rv *y) { return rv_cmp(x, y) == 0; }
struct rv *rv_obj_get(const struct rv *o, const struct rv *k);
bool rv_set_has(const struct rv *s, const struct rv *k);
/* Index o by k as a reference step does: object key, array position, set member. */
struct rv *rv_index(const struct rv *o, const struct rv *k);
const char *rv_type_name(const struct rv *v);
bool rv_truthy_false(const struct rv *v); /* v is the boolean false */

/* A growable pointer vector in the arena. */
struct rvec {
	struct rv **p;
	size_t n, cap;
};
void rvec_push(struct rg_arena *a, struct rvec *v, struct rv *x);

/* JSON conversion. rv_from_json: NULL json -> NULL. rv_to_json: sets as arrays,
 * non-string keys as their JSON text; NULL on allocation failure. */
struct rv *rv_from_json(struct rg_arena *a, const json_t *j);
json_t *rv_to_json(const struct rv *v);
/* Compact JSON text of v (as OPA's json.marshal): a string in the arena. */
struct rv *rv_marshal(struct rg_arena *a, const struct rv *v);
/* Rego-ish display of a number into buf. */
void rv_num_fmt(const struct rv *v, char *buf, size_t n);

/* A string builder in the arena. */
struct sbuf {
	struct rg_arena *a;
	char *p;
	size_t n, cap;
};
void sb_put(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rv_write(struct sbuf *b, const struct rv *v, bool json); /* json: sets as arrays */

/* ---- syntax tree ---- */

struct rg_builtin;
struct rnode;

enum rt_kind { T_VAL, T_VAR, T_REF, T_ARR, T_OBJ, T_SET, T_ACOMP, T_SCOMP, T_OCOMP, T_CALL };

struct rbody;
struct rterm {
	uint8_t k;
	int line, col;
	struct rv *val;        /* T_VAL */
	const char *name;      /* T_VAR: name; T_CALL: operator as dotted name */
	struct rterm **a;      /* T_REF: a[0] head then path; T_ARR/T_SET items; T_OBJ keys;
	                          T_CALL args */
	struct rterm **b;      /* T_OBJ values */
	size_t n;
	struct rterm *head, *khead; /* comprehension value (and key for objects) */
	struct rbody *body;    /* comprehension body */
	struct rterm *op;      /* T_CALL: the operator term when it is a reference */
	/* T_CALL, filled by rg_resolve: a built-in or a node holding user functions */
	const struct rg_builtin *bi;
	struct rnode *fnode;
	bool resolved;
};

enum re_kind { E_TERM, E_SOME, E_SOME_IN, E_EVERY, E_NOTBLOCK };

struct rwith {
	struct rterm *target; /* a reference (input..., data..., or a function name) */
	struct rterm *value;
};

struct rexpr {
	uint8_t k;
	bool neg;
	int line, col;
	struct rterm *t;                 /* E_TERM */
	const char **vars; size_t nvars; /* E_SOME */
	struct rterm *key, *val, *coll;  /* E_SOME_IN, E_EVERY (key may be NULL) */
	struct rbody *body;              /* E_EVERY, E_NOTBLOCK */
	struct rwith *with; size_t nwith;
};

struct rbody {
	struct rexpr **e;
	size_t n;
};

enum rr_kind { R_COMPLETE, R_SET, R_FUNC };

struct rmodule;
struct rrule {
	uint8_t kind;
	bool is_default;
	int line;
	struct rterm **ref; size_t nref;   /* head reference after the package path */
	size_t nstatic;                    /* leading ref terms that are plain strings */
	struct rterm **args; size_t nargs; /* functions */
	struct rterm *key;                 /* R_SET: the member term */
	struct rterm *value;               /* NULL means true */
	struct rbody *body;                /* NULL means no conditions */
	struct rrule *els;
	struct rmodule *mod;
	struct rnode *node;
};

struct rimport {
	const char *alias;
	struct rterm *ref;
};

struct rmodule {
	const char *name;
	const char **pkg; size_t npkg;
	struct rimport *imp; size_t nimp;
	struct rrule **rules; size_t nrules;
	struct rnode *pkgnode;
};

/* The tree of data paths that rules define. */
struct rnode {
	const char *name;
	struct rnode *parent;
	struct rnode **kids; size_t nkids, capk;
	struct rrule **rules; size_t nrules, capr; /* non-default rules placed here */
	struct rrule *dflt;
	bool has_func, has_value;
	char *path; /* "data.a.b" for messages */
	struct rv **pathv; size_t npath; /* the same as string values, after data */
	unsigned id;
};

struct tt_rego {
	struct rg_arena ar;
	jmp_buf oom;
	struct tt_rego_limits lim;
	struct rmodule **mods; size_t nmods;
	struct rnode *root;
	unsigned nnodes;
};

/* Parse one module or a query body into arena a. 0 or TT_ERR_PARSE/TT_ERR_LIMIT with e. */
int rg_parse_module(struct rg_arena *a, const char *name, const char *src, size_t len,
	unsigned max_depth, struct rmodule **out, struct tt_rego_err *e);
int rg_parse_query(struct rg_arena *a, const char *src, size_t len, unsigned max_depth,
	struct rbody **out, struct tt_rego_err *e);
int rg_parse_term(struct rg_arena *a, const char *src, size_t len, unsigned max_depth,
	struct rterm **out, struct tt_rego_err *e);

/* ---- evaluation ---- */

struct rctx;
/* A built-in: 0 with *out, RG_UNDEF when undefined, or RG_ERR after rg_fail(). */
typedef int (*rg_builtin_fn)(struct rctx *c, struct rv **args, struct rv **out);
struct rg_builtin {
	const char *name;
	int arity;
	rg_builtin_fn fn;
	bool multi; /* *out is an array of alternative results (walk) */
};
const struct rg_builtin *rg_builtin_find(const char *name);

#define RG_UNDEF 1
#define RG_ERR (-1)

/* Record an error in the context ("eval_type_error", ...); returns RG_ERR. */
int rg_fail(struct rctx *c, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Type error for operand i (1-based) of the current built-in. */
int rg_type_err(struct rctx *c, int i, const char *want, const struct rv *got);
struct rg_arena *rg_ctx_arena(struct rctx *c);
int64_t rg_ctx_now(struct rctx *c);
size_t rg_ctx_max_output(struct rctx *c);
const char *rg_ctx_builtin(struct rctx *c);
/* Call a function value (user function or built-in by name) from a built-in (walk,
 * etc. do not need it; reserved). */

#endif
