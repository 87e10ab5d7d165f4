/* libFuzzer target: IMA ascii log parser (template-hash check and PCR 10 replay). Beyond
 * "no crash": every accepted entry has a bounded algorithm name and digest, and lookups of
 * its path find an entry. Violations are counted apart and are never entries, so a log of
 * violations alone has nviolations > nentries = 0 (crash-violation-only is that case);
 * entries plus violations are bounded by the lines they need. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_ima_claims *c = NULL;

	if (tt_ima_parse((const char *)data, size, NULL, &c) != 0) {
		if (c != NULL)
			__builtin_trap();
		return 0;
	}
	for (uint32_t i = 0; i < c->nentries; i++) {
		const struct tt_ima_entry *e = &c->entries[i];

		if (e->digest_len == 0 || e->digest_len > TT_EV_MAX_DIGEST ||
		    strlen(e->algo) >= sizeof(e->algo) || tt_ima_find(c, e->path) == NULL)
			__builtin_trap();
	}
	/* Violations are counted, never entries; either way each needs a line of its own
	 * (PCR, 40 or 64 hex digits, template, algo:digest, path). */
	if ((uint64_t)c->nentries + c->nviolations > size / 50)
		__builtin_trap();
	tt_ima_claims_free(c);
	return 0;
}
