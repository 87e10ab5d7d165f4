/* libFuzzer target: TCG2 crypto-agile UEFI event log parser and replay. Beyond "no crash":
 * an accepted log's claims stay inside the bounds the contract promises. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_evidence_limits lim;
	struct tt_evlog_claims *c = NULL;

	tt_evidence_limits_default(&lim);
	lim.max_events = 4096;   /* keep one input's work small */
	if (tt_evlog_parse(data, size, &lim, &c) != 0) {
		if (c != NULL)
			__builtin_trap();   /* out-param written on failure */
		return 0;
	}
	if (c->pcrs.nbanks == 0 || c->pcrs.nbanks > TT_EV_MAX_BANKS ||
	    c->nevents > lim.max_events || c->nboot_apps > lim.max_boot_apps ||
	    (c->kernel_cmdline != NULL && strlen(c->kernel_cmdline) > lim.max_cmdline))
		__builtin_trap();
	for (unsigned i = 0; i < c->pcrs.nbanks; i++)
		if (c->pcrs.bank[i].size != tt_evidence_alg_size(c->pcrs.bank[i].alg))
			__builtin_trap();
	tt_evlog_claims_free(c);
	return 0;
}
