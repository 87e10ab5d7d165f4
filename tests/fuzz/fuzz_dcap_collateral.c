/* libFuzzer target: DCAP collateral (src/attest/verify/dcap_collateral.c): the container
 * JSON, and the same bytes as a TCB info and as a QE identity body; then the CC event log
 * replay (tdx_ccel.c) over the same bytes with zero RTMRs. Seeds: the shared collateral
 * files and their TCB info / QE identity texts, and a synthetic TDX TCB info with two
 * module identities (TDX_01, TDX_03). Beyond "no crash": counts within the
 * documented bounds, every advisory id a non-empty string, statuses known, an accepted
 * event log's events array the right shape. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_levels(const struct tt_dcap_tcb_level *l, unsigned n)
{
	if (n > TT_DCAP_MAX_LEVELS || (n > 0 && l == NULL))
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (l[i].status < TT_DCAP_TCB_UP_TO_DATE || l[i].status > TT_DCAP_TCB_REVOKED ||
		    l[i].adv.n > TT_DCAP_MAX_ADVISORIES)
			abort();
		for (unsigned j = 0; j < l[i].adv.n; j++)
			if (l[i].adv.id[j] == NULL || l[i].adv.id[j][0] == '\0')
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[4][48];
	struct tt_dcap_collateral *c = NULL;
	struct tt_dcap_tcb_info t;
	struct tt_dcap_qe_identity q;
	json_t *ev = NULL;

	if (tt_dcap_collateral_parse((const char *)data, size, &c) == 0) {
		check_levels(c->tcb_info.levels, c->tcb_info.nlevels);
		check_levels(c->qe_identity.levels, c->qe_identity.nlevels);
		if (c->tcb_info_json == NULL || c->qe_identity_json == NULL)
			abort();
		tt_dcap_collateral_free(c);
	}
	if (tt_dcap_tcb_info_parse((const char *)data, size, &t) == 0) {
		check_levels(t.levels, t.nlevels);
		if (t.nmodule_ids > TT_DCAP_MAX_MODULE_IDS)
			abort();
		for (unsigned i = 0; i < t.nmodule_ids; i++)
			check_levels(t.module_ids[i].levels, t.module_ids[i].nlevels);
		tt_dcap_tcb_info_clear(&t);
	}
	if (tt_dcap_qe_identity_parse((const char *)data, size, &q) == 0) {
		check_levels(q.levels, q.nlevels);
		tt_dcap_qe_identity_clear(&q);
	}
	if (tt_dcap_ccel_replay(data, size, zero, &ev) == 0) {
		if (!json_is_array(ev) || json_array_size(ev) > TT_DCAP_MAX_CCEL_EVENTS)
			abort();
		json_decref(ev);
	}
	return 0;
}
