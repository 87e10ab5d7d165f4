#include <string.h>

#include "providers/provider.h"

extern const struct tt_provider_ops tt_soft_provider;
#ifdef TT_HAVE_PKCS11
extern const struct tt_provider_ops tt_pkcs11_provider;
#endif
#ifdef TT_HAVE_TPM
extern const struct tt_provider_ops tt_tpm_provider;
#endif

const struct tt_provider_ops *const tt_provider_registry[] = {
	&tt_soft_provider,
#ifdef TT_HAVE_PKCS11
	&tt_pkcs11_provider,
#endif
#ifdef TT_HAVE_TPM
	&tt_tpm_provider,
#endif
	NULL,
};

const struct tt_provider_ops *
tt_provider_find_name(const char *name)
{
	for (size_t i = 0; tt_provider_registry[i] != NULL; i++)
		if (strcmp(tt_provider_registry[i]->name, name) == 0)
			return tt_provider_registry[i];
	return NULL;
}

const struct tt_provider_ops *
tt_provider_find_id(uint8_t id)
{
	for (size_t i = 0; tt_provider_registry[i] != NULL; i++)
		if (tt_provider_registry[i]->id == id)
			return tt_provider_registry[i];
	return NULL;
}

const char *
tt_provider_cfg_get(const struct tt_provider_cfg *cfg, const char *key)
{
	for (size_t i = 0; cfg != NULL && i < cfg->n; i++)
		if (strcmp(cfg->keys[i], key) == 0)
			return cfg->values[i];
	return NULL;
}
