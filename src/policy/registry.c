/* The policy engines this build has: one table entry each (a Rego engine adds one). */
#include <string.h>

#include "policy.h"
#include "rego_engine.h"
#include "turtle/error.h"

static const struct tt_policy_engine *const engines[] = {
	&tt_policy_default,
	&tt_policy_rego,
};

#define N_ENGINES (sizeof(engines) / sizeof(engines[0]))

const struct tt_policy_engine *
tt_policy_find(const char *name)
{
	if (name == NULL)
		name = "default";
	for (size_t i = 0; i < N_ENGINES; i++)
		if (engines[i]->abi == TT_POLICY_ABI && strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

int
tt_policy_init_all(void)
{
	int r;

	for (size_t i = 0; i < N_ENGINES; i++) {
		if (engines[i]->init == NULL || (r = engines[i]->init()) == 0)
			continue;
		/* Undo the engines already set up: a half-initialised set is not used. */
		while (i-- > 0)
			if (engines[i]->fini != NULL)
				engines[i]->fini();
		return r;
	}
	return 0;
}

void
tt_policy_fini_all(void)
{
	for (size_t i = N_ENGINES; i > 0; i--)
		if (engines[i - 1]->fini != NULL)
			engines[i - 1]->fini();
}
