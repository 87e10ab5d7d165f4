/*
 * libturtle: TtAttestTee, a confidential guest's configfs-tsm report through turtled, and
 * the evidence JSON made from it (turtle/attest.h). turtled relays the kernel's blobs;
 * they are checked here for their shape and turned into Trustee's JSON by the verifier
 * library's own code (src/attest/verify/tsm.c), the code turtle-as reads it back with.
 */
#include <stdlib.h>
#include <string.h>

#include "attest/verify/tsm.h"
#include "client/internal.h"
#include "tt_attest_tee.pb-c.h"
#include "turtle/attest.h"
#include "turtle/error.h"
#include "wire/opcodes.h"

static bool
tee_known(const char *tee)
{
	return strcmp(tee, "snp") == 0 || strcmp(tee, "tdx") == 0 || strcmp(tee, "cca") == 0;
}

void
tt_attest_tee_free(struct tt_attest_tee *t)
{
	if (t == NULL)
		return;
	free(t->outblob);
	free(t->auxblob);
	free(t->cc_eventlog);
	free(t);
}

int
tt_attest_tee(struct tt_client *c, const char *tee, const uint8_t *report_data,
    size_t report_data_len, int privlevel, struct tt_attest_tee **out)
{
	TtAttestTee__Operation op = TT_ATTEST_TEE__OPERATION__INIT;
	TtAttestTee__Result *res = NULL;
	struct tt_attest_tee *t = NULL;
	int r;

	if (out == NULL || (report_data == NULL && report_data_len > 0) ||
	    report_data_len > 64 || (tee != NULL && !tee_known(tee)) ||
	    (privlevel != TT_ATTEST_TEE_NO_PRIVLEVEL && (privlevel < 0 || privlevel > 3)))
		return TT_ERR_INVALID_ARGUMENT;
	op.report_data.data = (uint8_t *)report_data;
	op.report_data.len = report_data_len;
	op.privlevel_set = privlevel != TT_ATTEST_TEE_NO_PRIVLEVEL;
	op.privlevel = op.privlevel_set ? (uint32_t)privlevel : 0;
	op.tee = (char *)(tee != NULL ? tee : "");
	if ((r = tt_client_call(c, TT_OP_TT_ATTEST_TEE, true, false, &op.base,
	    &tt_attest_tee__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	r = TT_ERR_PROTOCOL;
	if (!tee_known(res->tee) || (tee != NULL && strcmp(tee, res->tee) != 0) ||
	    res->outblob.len == 0 || res->outblob.len > TT_TSM_BLOB_MAX ||
	    res->auxblob.len > TT_TSM_BLOB_MAX || res->cc_eventlog.len > TT_TSM_BLOB_MAX ||
	    strlen(res->provider) >= sizeof(t->provider))
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	memcpy(t->provider, res->provider, strlen(res->provider) + 1);
	memcpy(t->tee, res->tee, strlen(res->tee) + 1);
	t->generation = res->generation;
	if ((r = tt_client_dup_bytes(&res->outblob, &t->outblob, &t->outblob_len)) != 0)
		goto out;
	if (res->auxblob.len > 0 &&
	    (r = tt_client_dup_bytes(&res->auxblob, &t->auxblob, &t->auxblob_len)) != 0)
		goto out;
	if (res->cc_eventlog.len > 0 && (r = tt_client_dup_bytes(&res->cc_eventlog,
	    &t->cc_eventlog, &t->cc_eventlog_len)) != 0)
		goto out;
	*out = t;
	t = NULL;
	r = 0;
out:
	tt_attest_tee_free(t);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_attest_tee_evidence(const struct tt_attest_tee *t, char **json)
{
	json_t *ev = NULL;
	char *s;
	int r;

	if (t == NULL || json == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_tsm_evidence(t->tee, t->outblob, t->outblob_len, t->auxblob,
	    t->auxblob_len, t->cc_eventlog, t->cc_eventlog_len, &ev)) != 0)
		return r;
	s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (s == NULL)
		return TT_ERR_NO_MEMORY;
	*json = s;
	return 0;
}
