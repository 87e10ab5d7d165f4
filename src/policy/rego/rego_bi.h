/* Shared helpers of the built-in files. */
#ifndef TT_REGO_BI_H
#define TT_REGO_BI_H

#include "rego_int.h"

/* rg_type_err unless args[i] has type t. */
int bi_need(struct rctx *c, struct rv **args, int i, uint8_t t, const char *want);
/* The built-ins of rego_bi_str.c (strings, encodings, crypto, time, ...). */
const struct rg_builtin *rg_builtin_find_ext(const char *name);

#endif
