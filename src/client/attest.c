/*
 * libturtle: the agent role's vendor operations (turtle/attest.h).
 *
 * Results from the service are checked before they are handed on: PCR banks must be
 * known hash algorithms with one digest of the right size per index, so a caller can
 * index banks[b].value[i] without further checks.
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "tt_attest_quote.pb-c.h"
#include "turtle/attest.h"
#include "turtle/error.h"
#include "util/mem.h"
#include "wire/opcodes.h"

static size_t
digest_size(uint32_t alg)
{
	switch (alg) {
	case TT_TPM_ALG_SHA1: return 20;
	case TT_TPM_ALG_SHA256: return 32;
	case TT_TPM_ALG_SHA384: return 48;
	case TT_TPM_ALG_SHA512: return 64;
	default: return 0;
	}
}

void
tt_attest_quote_free(struct tt_attest_quote *q)
{
	if (q == NULL)
		return;
	free(q->attest);
	free(q->signature);
	free(q->ak_public);
	free(q->event_log);
	free(q->ima_log);
	free(q);
}

static int
copy_banks(const TtAttestQuote__Result *res, struct tt_attest_quote *q)
{
	if (res->n_pcrs == 0 || res->n_pcrs > TT_ATTEST_MAX_BANKS)
		return TT_ERR_PROTOCOL;
	for (size_t b = 0; b < res->n_pcrs; b++) {
		const TtAttestQuote__PcrBank *pb = res->pcrs[b];
		struct tt_pcr_bank_values *v = &q->banks[b];
		size_t ds = digest_size(pb->hash_alg);

		if (ds == 0 || pb->n_indices != pb->n_values || pb->n_indices == 0)
			return TT_ERR_PROTOCOL;
		v->hash_alg = (uint16_t)pb->hash_alg;
		v->digest_size = ds;
		for (size_t i = 0; i < pb->n_indices; i++) {
			uint32_t ix = pb->indices[i];

			if (ix >= TT_ATTEST_NUM_PCRS || (v->mask & (1u << ix)) ||
			    pb->values[i].len != ds)
				return TT_ERR_PROTOCOL;
			v->mask |= 1u << ix;
			memcpy(v->value[ix], pb->values[i].data, ds);
		}
	}
	q->n_banks = res->n_pcrs;
	return 0;
}

int
tt_attest_quote(struct tt_client *c, const uint8_t *nonce, size_t nonce_len,
    const struct tt_pcr_bank_sel *sel, size_t n_sel, struct tt_attest_quote **out)
{
	TtAttestQuote__Operation op = TT_ATTEST_QUOTE__OPERATION__INIT;
	TtAttestQuote__PcrBank banks[TT_ATTEST_MAX_BANKS], *bankp[TT_ATTEST_MAX_BANKS];
	uint32_t idx[TT_ATTEST_MAX_BANKS][TT_ATTEST_NUM_PCRS];
	TtAttestQuote__Result *res = NULL;
	struct tt_attest_quote *q = NULL;
	int r;

	if (out == NULL || (nonce == NULL && nonce_len > 0) || nonce_len > 64 ||
	    n_sel > TT_ATTEST_MAX_BANKS || (sel == NULL && n_sel > 0))
		return TT_ERR_INVALID_ARGUMENT;
	for (size_t b = 0; b < n_sel; b++) {
		size_t k = 0;

		if (digest_size(sel[b].hash_alg) == 0 || sel[b].mask == 0 ||
		    (sel[b].mask >> TT_ATTEST_NUM_PCRS) != 0)
			return TT_ERR_INVALID_ARGUMENT;
		tt_attest_quote__pcr_bank__init(&banks[b]);
		banks[b].hash_alg = sel[b].hash_alg;
		for (uint32_t i = 0; i < TT_ATTEST_NUM_PCRS; i++)
			if (sel[b].mask & (1u << i))
				idx[b][k++] = i;
		banks[b].n_indices = k;
		banks[b].indices = idx[b];
		bankp[b] = &banks[b];
	}
	op.nonce.data = (uint8_t *)nonce;
	op.nonce.len = nonce_len;
	op.n_pcrs = n_sel;
	op.pcrs = n_sel > 0 ? bankp : NULL;
	if ((r = tt_client_call(c, TT_OP_TT_ATTEST_QUOTE, false, false, &op.base,
	    &tt_attest_quote__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (res->attest.len == 0 || res->signature.len == 0 || res->ak_public.len == 0) {
		r = TT_ERR_PROTOCOL;
		goto out;
	}
	if ((r = copy_banks(res, q)) != 0 ||
	    (r = tt_client_dup_bytes(&res->attest, &q->attest, &q->attest_len)) != 0 ||
	    (r = tt_client_dup_bytes(&res->signature, &q->signature, &q->signature_len)) != 0 ||
	    (r = tt_client_dup_bytes(&res->ak_public, &q->ak_public, &q->ak_public_len)) != 0)
		goto out;
	if (res->event_log.len > 0 &&
	    (r = tt_client_dup_bytes(&res->event_log, &q->event_log, &q->event_log_len)) != 0)
		goto out;
	if (res->ima_log.len > 0 &&
	    (r = tt_client_dup_bytes(&res->ima_log, &q->ima_log, &q->ima_log_len)) != 0)
		goto out;
	*out = q;
	q = NULL;
out:
	tt_attest_quote_free(q);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

void
tt_agent_identity_free(struct tt_agent_identity *id)
{
	if (id == NULL)
		return;
	free(id->ek_public);
	free(id->ek_public_der);
	free(id->ek_cert);
	free(id->ak_public);
	free(id->ak_name);
	free(id);
}

int
tt_agent_identity(struct tt_client *c, struct tt_agent_identity **out)
{
	TtAttestQuote__IdentityOperation op = TT_ATTEST_QUOTE__IDENTITY_OPERATION__INIT;
	TtAttestQuote__IdentityResult *res = NULL;
	struct tt_agent_identity *id = NULL;
	int r;

	if (out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_client_call(c, TT_OP_TT_AGENT_IDENTITY, false, false, &op.base,
	    &tt_attest_quote__identity_result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	/* The EK's DER is required too: turtled always sends it, and an empty one would
	 * only turn into an empty PEM that node registration sends to turtle-as. */
	if (res->ek_public.len == 0 || res->ek_public_der.len == 0 || res->ak_public.len == 0 ||
	    res->ak_name.len == 0) {
		r = TT_ERR_PROTOCOL;
		goto out;
	}
	if ((r = tt_client_dup_bytes(&res->ek_public, &id->ek_public, &id->ek_public_len)) != 0 ||
	    (r = tt_client_dup_bytes(&res->ek_public_der, &id->ek_public_der,
	    &id->ek_public_der_len)) != 0 ||
	    (r = tt_client_dup_bytes(&res->ak_public, &id->ak_public, &id->ak_public_len)) != 0 ||
	    (r = tt_client_dup_bytes(&res->ak_name, &id->ak_name, &id->ak_name_len)) != 0)
		goto out;
	if (res->ek_cert.len > 0 &&
	    (r = tt_client_dup_bytes(&res->ek_cert, &id->ek_cert, &id->ek_cert_len)) != 0)
		goto out;
	*out = id;
	id = NULL;
out:
	tt_agent_identity_free(id);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_agent_activate(struct tt_client *c, const uint8_t *credential_blob, size_t blob_len,
    const uint8_t *encrypted_secret, size_t secret_len, uint8_t **secret, size_t *secret_len_out)
{
	TtAttestQuote__ActivateOperation op = TT_ATTEST_QUOTE__ACTIVATE_OPERATION__INIT;
	TtAttestQuote__ActivateResult *res = NULL;
	int r;

	if (credential_blob == NULL || blob_len == 0 || encrypted_secret == NULL ||
	    secret_len == 0 || secret == NULL || secret_len_out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	op.credential_blob.data = (uint8_t *)credential_blob;
	op.credential_blob.len = blob_len;
	op.encrypted_secret.data = (uint8_t *)encrypted_secret;
	op.encrypted_secret.len = secret_len;
	/* the response carries the recovered secret: wipe the raw copies */
	if ((r = tt_client_call(c, TT_OP_TT_AGENT_ACTIVATE, false, true, &op.base,
	    &tt_attest_quote__activate_result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if (res->secret.len == 0)
		r = TT_ERR_PROTOCOL;
	else
		r = tt_client_dup_bytes(&res->secret, secret, secret_len_out);
	if (res->secret.len > 0)
		tt_wipe(res->secret.data, res->secret.len);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}
