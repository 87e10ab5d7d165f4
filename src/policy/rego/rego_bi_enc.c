/* Built-ins: encodings, JSON, crypto, regex, time, units, semver, glob. */
#include <string.h>

#include "rego_eval.h"
#include "rego_bi.h"

static const struct rg_builtin enc_tab[] = {
	{ NULL, 0, NULL, false },
};

const struct rg_builtin *rg_builtin_find_enc(const char *name);
const struct rg_builtin *rg_builtin_find_enc(const char *name)
{
	for (const struct rg_builtin *b = enc_tab; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}
