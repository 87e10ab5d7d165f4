/*
 * The `tpm` verifier, over src/attest/evidence.
 *
 * Evidence (JSON; binary fields base64 or base64url), turtle's own form:
 *   {"quote": {"attest": TPMS_ATTEST, "signature": TPMT_SIGNATURE},
 *    "pcrs": {"sha256": {"0": hex, "7": hex, ...}, "sha1": {...}},
 *    "eventlog": binary_bios_measurements (optional),
 *    "ima": ascii_runtime_measurements text (optional)}
 *
 * or the form of Trustee's TPM attester (guest-components attester/src/tpm, read by trustee
 * deps/verifier/src/tpm):
 *   {"ak_public": base64 DER SubjectPublicKeyInfo,
 *    "tpm_quote": {"message": base64 TPMS_ATTEST, "signature": base64 TPMT_SIGNATURE,
 *                  "pcrs": [hex sha256 PCR 0, ..., hex PCR 23]}}
 * whose report data is the binding cut or zero-padded to exactly 32 bytes (the attester's
 * report_data.resize(32, 0), so a SHA-384 runtime-data hash keeps its first 32 bytes).
 *
 * Checks, in order: the node is registered and has an AK (the AK in the evidence, if any,
 * is ignored: only the registered one counts); the quote's signature by that AK, its
 * extraData equal to the binding (turtle's form: the challenge nonce or the KBS runtime-
 * data hash, also accepted zero-padded to 64 bytes; Trustee's form: the 32-byte cut
 * above), its PCR digest equal to the hash of the claimed PCR values; the event log
 * replayed and compared with the quoted PCRs; the IMA log replayed and compared with
 * quoted PCR 10 (Trustee's form carries neither log).
 *
 * Claims come only from what the AK signed (docs/evidence.md, "Appraisal model"):
 *   "pcr.<bank>.<n>"  (hex) for every PCR in the quote's selection;
 *   from the UEFI log, only when the log's replay equals the quote in a bank the quote
 *   covers (a log with no bank in common with the quote is refused; a PCR the log
 *   extends but the quote does not cover is compared nowhere, so nothing is read from
 *   its events): "boot.app.<i>" (SHA-256 of each EV_EFI_BOOT_SERVICES_APPLICATION, PCR
 *   verified in the SHA-256 bank), "kernel_cmdline" (PCR 8), "secure_boot" (PCR 7);
 *   from the IMA log, only when PCR 10 is quoted in the SHA-1 or SHA-256 bank (else the
 *   log is refused): "ima.<path>" for every measurement of the path, a string for one
 *   digest, else the array of its distinct digests in log order (a history: each must
 *   match); violations yield no claim, only the count "ima_violations".
 * Informational: "events", "ima_entries", "reset_count", "eventlog_unverified_pcrs".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as.h"
#include "evidence.h"
#include "turtle/error.h"
#include "util/hex.h"
#include "util/mem.h"

#define MAX_EVENTLOG (16u << 20)

static const struct {
	const char *name;
	uint16_t alg;
} banks[] = {
	{ "sha1", TT_EV_ALG_SHA1 },
	{ "sha256", TT_EV_ALG_SHA256 },
	{ "sha384", TT_EV_ALG_SHA384 },
	{ "sha512", TT_EV_ALG_SHA512 },
};

static const char *
bank_name(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++)
		if (banks[i].alg == alg)
			return banks[i].name;
	return "unknown";
}

static int
set_hex(json_t *obj, const char *key, const uint8_t *d, size_t n)
{
	char hex[2 * TT_EV_MAX_DIGEST + 1];

	tt_hex_encode(d, n, hex);
	return json_object_set_new(obj, key, json_string(hex)) != 0 ? TT_ERR_NO_MEMORY : 0;
}

/* "pcrs" object -> struct tt_pcrs. */
static int
parse_pcrs(const json_t *j, struct tt_pcrs *p, const char **reason)
{
	const char *bname, *idx;
	const json_t *bank, *v;

	*reason = "\"pcrs\" must be {bank: {index: hex}}";
	if (!json_is_object(j))
		return TT_ERR_INVALID_ARGUMENT;
	json_object_foreach((json_t *)j, bname, bank) {
		uint16_t alg = 0;

		for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++)
			if (strcmp(banks[i].name, bname) == 0)
				alg = banks[i].alg;
		if (alg == 0 || !json_is_object(bank))
			return TT_ERR_INVALID_ARGUMENT;
		json_object_foreach((json_t *)bank, idx, v) {
			uint8_t d[TT_EV_MAX_DIGEST];
			size_t dl = 0;
			char *end = NULL;
			long n = strtol(idx, &end, 10);

			if (end == idx || *end != '\0' || n < 0 || n >= (long)TT_EV_NUM_PCRS ||
			    !json_is_string(v) || tt_hex_decode(json_string_value(v),
			    json_string_length(v), d, sizeof(d), &dl) != 0)
				return TT_ERR_INVALID_ARGUMENT;
			if (tt_pcrs_set(p, alg, (unsigned)n, d, dl) != 0)
				return TT_ERR_INVALID_ARGUMENT;
		}
	}
	return 0;
}

/* Trustee's "pcrs": the SHA-256 bank as an array of hex values, index = position. */
static int
parse_pcr_array(const json_t *j, struct tt_pcrs *p, const char **reason)
{
	const json_t *v;
	size_t i;

	*reason = "\"tpm_quote\".\"pcrs\" must be an array of at most 24 hex SHA-256 values";
	if (!json_is_array(j) || json_array_size(j) > TT_EV_NUM_PCRS)
		return TT_ERR_INVALID_ARGUMENT;
	json_array_foreach(j, i, v) {
		uint8_t d[TT_EV_MAX_DIGEST];
		size_t dl = 0;

		if (!json_is_string(v) || tt_hex_decode(json_string_value(v),
		    json_string_length(v), d, sizeof(d), &dl) != 0 || dl != 32 ||
		    tt_pcrs_set(p, TT_EV_ALG_SHA256, (unsigned)i, d, dl) != 0)
			return TT_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

static int
b64_member(const json_t *o, const char *k, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return tt_as_b64_dec(s, out, len);
}

/* Why a quote was refused, naming the structure: the reasons are static strings. */
static const char *
quote_reason(const struct tt_quote_result *qr)
{
	switch (qr->status) {
	case TT_QUOTE_NONCE_MISMATCH: return "quote: nonce-mismatch";
	case TT_QUOTE_BAD_SIGNATURE: return "quote: bad-signature (not signed by the registered AK)";
	case TT_QUOTE_PCR_DIGEST_MISMATCH: return "quote: pcr-digest-mismatch";
	case TT_QUOTE_PCR_MISSING: return "quote: pcr-missing (a quoted PCR has no value in \"pcrs\")";
	case TT_QUOTE_BAD_KEY: return "quote: bad-key (registered AK unusable)";
	case TT_QUOTE_UNSUPPORTED_ALG: return "quote: unsupported-alg";
	case TT_QUOTE_BAD_MAGIC: return "quote: the signed TPMS_ATTEST is not TPM-generated (magic)";
	case TT_QUOTE_BAD_TYPE:
		switch (qr->attest_type) {
		case 0x8017: return "quote: attest type is certify, not quote";
		case 0x8019: return "quote: attest type is time (GetTime), not quote";
		case 0x8014: return "quote: attest type is nv (NV_Certify), not quote";
		case 0x801C: return "quote: attest type is nv-digest (NV_Certify), not quote";
		case 0x8015: return "quote: attest type is command-audit, not quote";
		case 0x8016: return "quote: attest type is session-audit, not quote";
		case 0x801A: return "quote: attest type is creation (CertifyCreation), not quote";
		default: return "quote: attest type is unknown, not quote";
		}
	default: return "quote: malformed (attest or signature bytes do not parse)";
	}
}

/* Was PCR `pcr` of bank `alg` compared equal with the quote? (checked[] as filled by
 * tt_evidence_check_pcrs, one mask per selection entry.) */
static bool
verified(const struct tt_pcr_selection *sel, const uint32_t checked[TT_EV_MAX_BANKS],
	uint16_t alg, unsigned pcr)
{
	for (unsigned s = 0; s < sel->count && s < TT_EV_MAX_BANKS; s++)
		if ((alg == 0 || sel->sel[s].alg == alg) && (checked[s] & (UINT32_C(1) << pcr)))
			return true;
	return false;
}

/* PCRs 0-7 are the firmware's, 8-9 the boot loader's (through the firmware's TCG2
 * protocol): all of their extends are in the UEFI event log. */
#define FIRMWARE_LAST_PCR 9u

static bool
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Is every PCR value the attester sent inside the quote's selection? */
static bool
values_quoted(const struct tt_pcrs *p, const struct tt_pcr_selection *sel)
{
	for (unsigned b = 0; b < p->nbanks && b < TT_EV_MAX_BANKS; b++) {
		uint32_t mask = 0;

		for (unsigned s = 0; s < sel->count && s < TT_EV_MAX_BANKS; s++)
			if (sel->sel[s].alg == p->bank[b].alg)
				mask |= sel->sel[s].mask;
		if ((p->bank[b].mask & ~mask) != 0)
			return false;
	}
	return true;
}

/* Event log claims: only from events in PCRs whose replay the quote confirmed. */
static int
eventlog_claims(const struct tt_evlog_claims *el, const struct tt_pcrs *quoted,
	const struct tt_pcr_selection *sel, json_t *meas, json_t *info, const char **reason)
{
	uint32_t checked[TT_EV_MAX_BANKS] = { 0 }, unverified, extended = 0;
	uint16_t bad_alg = 0;
	unsigned bad_pcr = 0, napps = 0;
	char key[64];
	json_t *list;
	int r;

	if (tt_evidence_check_pcrs(&el->pcrs, quoted, sel, checked, &bad_alg, &bad_pcr) != 0) {
		*reason = "event log replay does not match the quoted PCRs";
		return TT_ERR_DATA_INVALID;
	}
	/* PCRs the log extends that no quoted bank confirmed: their events are unverified. */
	for (unsigned b = 0; b < el->pcrs.nbanks; b++)
		extended |= el->pcrs.bank[b].mask;
	unverified = extended;
	for (unsigned i = 0; i < TT_EV_NUM_PCRS; i++)
		if (verified(sel, checked, 0, i))
			unverified &= ~(UINT32_C(1) << i);
	/* Everything extended into PCRs 0-9 before the OS runs goes through the firmware's
	 * log: a quoted one away from its reset value with no event in the log means events
	 * were left out (its replay would otherwise not be compared at all). */
	for (unsigned q = 0; q < sel->count && q < TT_EV_MAX_BANKS; q++) {
		const struct tt_pcr_bank *lb = tt_pcrs_bank(&el->pcrs, sel->sel[q].alg);
		const struct tt_pcr_bank *qb = tt_pcrs_bank(quoted, sel->sel[q].alg);

		for (unsigned i = 0; lb != NULL && qb != NULL && i <= FIRMWARE_LAST_PCR; i++) {
			uint32_t bit = UINT32_C(1) << i;

			if ((sel->sel[q].mask & bit) && !(lb->mask & bit) && (qb->mask & bit) &&
			    !all_zero(qb->pcr[i], qb->size)) {
				*reason = "event log: a quoted PCR in 0-9 has been extended but the log "
				    "has no event for it (events were left out)";
				return TT_ERR_DATA_INVALID;
			}
		}
	}
	/* Firmware logs every active bank: a log that leaves out a bank the quote covers
	 * for its PCRs was cut down, and what was cut is not for the attester to choose. */
	for (unsigned q = 0; q < sel->count && q < TT_EV_MAX_BANKS; q++) {
		if ((sel->sel[q].mask & extended) != 0 &&
		    tt_pcrs_bank(&el->pcrs, sel->sel[q].alg) == NULL &&
		    tt_evidence_alg_size(sel->sel[q].alg) != 0) {
			*reason = "event log: it lacks a PCR bank the quote covers for the PCRs "
			    "it extends";
			return TT_ERR_DATA_INVALID;
		}
	}
	if (extended != 0 && unverified == extended) {
		/* Another machine's log next to an empty or disjoint quote, or a log in a bank
		 * the quote does not cover: believed nowhere, so refused. */
		*reason = "event log: the quote covers none of the PCRs it extends in a bank it "
		    "replays";
		return TT_ERR_DATA_INVALID;
	}
	for (uint32_t i = 0; i < el->nboot_apps; i++) {
		const struct tt_evlog_digests *d = &el->boot_apps[i];

		if (!verified(sel, checked, TT_EV_ALG_SHA256, d->pcr))
			continue;
		for (unsigned k = 0; k < d->count; k++) {
			if (d->dig[k].alg != TT_EV_ALG_SHA256)
				continue;
			snprintf(key, sizeof(key), "boot.app.%u", napps++);
			if ((r = set_hex(meas, key, d->dig[k].d, d->dig[k].size)) != 0)
				return r;
		}
	}
	if (el->kernel_cmdline != NULL && verified(sel, checked, 0, 8) &&
	    json_object_set_new(meas, "kernel_cmdline", json_string(el->kernel_cmdline)) != 0)
		return TT_ERR_NO_MEMORY;
	if (verified(sel, checked, 0, 7) && json_object_set_new(info, "secure_boot", json_string(
	    el->secure_boot == TT_SECURE_BOOT_ON ? "on" :
	    el->secure_boot == TT_SECURE_BOOT_OFF ? "off" : "unknown")) != 0)
		return TT_ERR_NO_MEMORY;
	if ((list = json_array()) == NULL ||
	    json_object_set_new(info, "eventlog_unverified_pcrs", list) != 0)
		return TT_ERR_NO_MEMORY;
	for (unsigned i = 0; i < TT_EV_NUM_PCRS; i++)
		if ((unverified & (UINT32_C(1) << i)) &&
		    json_array_append_new(list, json_integer(i)) != 0)
			return TT_ERR_NO_MEMORY;
	return json_object_set_new(info, "events", json_integer(el->nevents)) != 0 ?
	    TT_ERR_NO_MEMORY : 0;
}

/* IMA claims: the whole history, from a log whose PCR 10 replay the quote confirmed. */
static int
ima_claims(const struct tt_ima_claims *ima, const struct tt_pcrs *quoted,
	const struct tt_pcr_selection *sel, json_t *meas, json_t *info, const char **reason)
{
	uint32_t checked[TT_EV_MAX_BANKS] = { 0 };
	char hex[2 * TT_EV_MAX_DIGEST + 1];
	uint16_t bad_alg = 0;
	unsigned bad_pcr = 0;
	char *key = NULL;
	int r = TT_ERR_NO_MEMORY;

	if (tt_evidence_check_pcrs(&ima->pcrs, quoted, sel, checked, &bad_alg, &bad_pcr) != 0) {
		*reason = "IMA log replay does not match quoted PCR 10";
		return TT_ERR_DATA_INVALID;
	}
	if (!verified(sel, checked, TT_EV_ALG_SHA1, 10) &&
	    !verified(sel, checked, TT_EV_ALG_SHA256, 10)) {
		*reason = "IMA log: PCR 10 is not quoted in the sha1 or sha256 bank, so nothing "
		    "vouches for the log";
		return TT_ERR_DATA_INVALID;
	}
	for (uint32_t i = 0; i < ima->nentries; i++) {
		const struct tt_ima_entry *e = &ima->entries[i];
		size_t plen = strlen(e->path);
		json_t *cur, *val;

		free(key);
		if ((key = malloc(plen + 5)) == NULL)
			goto out;
		memcpy(key, "ima.", 4);
		memcpy(key + 4, e->path, plen + 1);
		tt_hex_encode(e->digest, e->digest_len, hex);
		if ((val = json_string(hex)) == NULL)
			goto out;
		cur = json_object_get(meas, key);
		if (cur == NULL) {
			if (json_object_set_new(meas, key, val) != 0) {
				/* jansson refuses a key that is not UTF-8: a path it cannot name */
				*reason = "IMA log: a path is not valid UTF-8";
				r = TT_ERR_DATA_INVALID;
				goto out;
			}
			continue;
		}
		/* The path was measured before: keep every distinct digest, in log order. */
		if (json_is_string(cur)) {
			json_t *arr;

			if (json_equal(cur, val)) {
				json_decref(val);
				continue;
			}
			if ((arr = json_pack("[O]", cur)) == NULL ||
			    json_object_set_new(meas, key, arr) != 0) {
				json_decref(val);
				goto out;
			}
			cur = arr;
		} else {
			size_t k;
			json_t *v;
			bool seen = false;

			json_array_foreach(cur, k, v)
				seen = seen || json_equal(v, val);
			if (seen) {
				json_decref(val);
				continue;
			}
		}
		if (json_array_append_new(cur, val) != 0)
			goto out;
	}
	if (json_object_set_new(info, "ima_entries", json_integer(ima->nentries)) != 0 ||
	    json_object_set_new(info, "ima_violations", json_integer(ima->nviolations)) != 0)
		goto out;
	r = 0;
out:
	free(key);
	return r;
}

static int
tpm_verify(const struct tt_as_verify_in *in, json_t **claims, const char **reason)
{
	const json_t *ev = in->evidence, *q = json_object_get(ev, "quote");
	const char *ak = json_string_value(json_object_get(in->node, "ak_public"));
	struct tt_evidence_limits lim;
	struct tt_quote_input qi = { 0 };
	struct tt_quote_result qr = { 0 };
	struct tt_evlog_claims *el = NULL;
	struct tt_ima_claims *ima = NULL;
	struct tt_pcrs *quoted = NULL;
	uint8_t *attest = NULL, *sig = NULL, *log = NULL, *akbin = NULL, padded[64];
	size_t attest_len = 0, sig_len = 0, log_len = 0, akbin_len = 0;
	json_t *meas = NULL, *out = NULL, *info = NULL;
	char key[300];
	bool trustee;
	int r = TT_ERR_INVALID_ARGUMENT;

	tt_evidence_limits_default(&lim);
	if (json_is_string(json_object_get(in->node, "ak_tpm2b"))) {
		/* An AK registered with its EK counts only once activated. */
		const char *st = json_string_value(json_object_get(in->node, "ak_state"));

		if (st == NULL || strcmp(st, "active") != 0 ||
		    tt_as_b64_dec(json_string_value(json_object_get(in->node, "ak_tpm2b")),
		    &akbin, &akbin_len) != 0) {
			*reason = "the node's AK has not been activated (MakeCredential/ActivateCredential)";
			return TT_ERR_NOT_AUTHENTICATED;
		}
		qi.ak = akbin;
		qi.ak_len = akbin_len;
		qi.ak_format = TT_AK_TPM2B_PUBLIC;
	} else if (in->node != NULL && ak != NULL) {
		qi.ak = (const uint8_t *)ak;
		qi.ak_len = strlen(ak);
		qi.ak_format = TT_AK_PEM;
	} else {
		*reason = "no registered node with an attestation key (AK) for this challenge";
		return TT_ERR_NOT_AUTHENTICATED;
	}
	trustee = q == NULL && json_is_object(json_object_get(ev, "tpm_quote"));
	if (trustee)
		q = json_object_get(ev, "tpm_quote");
	*reason = trustee ?
	    "malformed tpm evidence: tpm_quote.message and tpm_quote.signature are required" :
	    "malformed tpm evidence: quote.attest and quote.signature are required";
	r = TT_ERR_INVALID_ARGUMENT;
	if (!json_is_object(q) || b64_member(q, trustee ? "message" : "attest", &attest,
	    &attest_len) != 0 || b64_member(q, "signature", &sig, &sig_len) != 0)
		goto out;
	if ((quoted = calloc(1, sizeof(*quoted))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	r = trustee ? parse_pcr_array(json_object_get(q, "pcrs"), quoted, reason) :
	    parse_pcrs(json_object_get(ev, "pcrs"), quoted, reason);
	if (r != 0)
		goto out;
	qi.attest = attest;
	qi.attest_len = attest_len;
	qi.sig = sig;
	qi.sig_len = sig_len;
	qi.nonce = in->binding;
	qi.nonce_len = in->binding_len;
	qi.pcrs = quoted;
	if (trustee) {
		/* Exactly what Trustee's attester quotes and its verifier expects. */
		memset(padded, 0, sizeof(padded));
		memcpy(padded, in->binding, in->binding_len < 32 ? in->binding_len : 32);
		qi.nonce = padded;
		qi.nonce_len = 32;
	}
	r = tt_quote_verify(&qi, &qr);
	if (!trustee && qr.status == TT_QUOTE_NONCE_MISMATCH && in->binding_len < sizeof(padded)) {
		memset(padded, 0, sizeof(padded));
		memcpy(padded, in->binding, in->binding_len);
		qi.nonce = padded;
		qi.nonce_len = sizeof(padded);
		r = tt_quote_verify(&qi, &qr);
	}
	if (r != 0) {
		*reason = quote_reason(&qr);
		r = qr.status == TT_QUOTE_NONCE_MISMATCH ? TT_ERR_NOT_AUTHENTICATED :
		    qr.status == TT_QUOTE_BAD_SIGNATURE ? TT_ERR_INVALID_SIGNATURE :
		    TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (!values_quoted(quoted, &qr.selection)) {
		/* Values the AK did not sign: refused rather than silently dropped, so that
		 * nothing the attester sends goes unexamined. */
		*reason = "\"pcrs\" has a value for a PCR or bank the quote does not cover";
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((meas = json_object()) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	/* Every quoted PCR becomes a measurement. */
	for (unsigned s = 0; s < qr.selection.count; s++) {
		const struct tt_pcr_bank *b = tt_pcrs_bank(quoted, qr.selection.sel[s].alg);

		for (unsigned i = 0; b != NULL && i < TT_EV_NUM_PCRS; i++) {
			if (!(qr.selection.sel[s].mask & (1u << i)))
				continue;
			snprintf(key, sizeof(key), "pcr.%s.%u", bank_name(b->alg), i);
			if ((r = set_hex(meas, key, b->pcr[i], b->size)) != 0)
				goto out;
		}
	}
	if ((info = json_object()) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (json_object_get(ev, "eventlog") != NULL) {
		*reason = "malformed event log";
		r = TT_ERR_INVALID_ARGUMENT;
		if (!json_is_string(json_object_get(ev, "eventlog")) ||
		    b64_member(ev, "eventlog", &log, &log_len) != 0 || log_len > MAX_EVENTLOG ||
		    tt_evlog_parse(log, log_len, &lim, &el) != 0)
			goto out;
		if ((r = eventlog_claims(el, quoted, &qr.selection, meas, info, reason)) != 0)
			goto out;
	}
	if (json_object_get(ev, "ima") != NULL) {
		const json_t *txt = json_object_get(ev, "ima");

		*reason = "malformed IMA log (a line does not parse, a template hash does not "
		    "match its line, or a violation names a file digest)";
		r = TT_ERR_INVALID_ARGUMENT;
		if (!json_is_string(txt) || tt_ima_parse(json_string_value(txt),
		    json_string_length(txt), &lim, &ima) != 0)
			goto out;
		if ((r = ima_claims(ima, quoted, &qr.selection, meas, info, reason)) != 0)
			goto out;
	}
	out = json_pack("{s:s,s:O}", "tee", "tpm", "measurements", meas);
	if (out == NULL || json_object_update(out, info) != 0) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	json_object_set_new(out, "reset_count", json_integer(qr.reset_count));
	if (trustee)
		json_object_set_new(out, "evidence_format", json_string("trustee"));
	*claims = out;
	*reason = NULL;
	r = 0;
out:
	free(akbin);
	free(attest);
	free(sig);
	free(log);
	free(quoted);
	tt_evlog_claims_free(el);
	tt_ima_claims_free(ima);
	json_decref(meas);
	json_decref(info);
	if (r != 0)
		json_decref(out);
	return r;
}

/* Names this verifier makes from signed data: a reference value of one of these names is
 * required. "ima." is not among them: IMA reference values are an allow-list of file
 * digests, and a file that was never run has no entry (docs/evidence.md). */
static const char *const tpm_owned[] = { "pcr.", "boot.", "kernel_cmdline", NULL };

const struct tt_as_verifier tt_as_verifier_tpm = {
	.tee = "tpm",
	.verify = tpm_verify,
	.owned = tpm_owned,
};
