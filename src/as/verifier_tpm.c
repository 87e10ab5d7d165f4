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
 * Claims: measurements "pcr.<bank>.<n>" (hex) for every quoted PCR, "boot.app.<i>"
 * (sha256 hex of each EV_EFI_BOOT_SERVICES_APPLICATION), "kernel_cmdline",
 * "ima.<path>" (file digest hex, last entry per path); informational "secure_boot",
 * "ima_entries", "events".
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
	json_t *meas = NULL, *out = NULL;
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
		switch (qr.status) {
		case TT_QUOTE_NONCE_MISMATCH: *reason = "quote: nonce-mismatch"; break;
		case TT_QUOTE_BAD_SIGNATURE: *reason = "quote: bad-signature (not signed by the registered AK)"; break;
		case TT_QUOTE_PCR_DIGEST_MISMATCH: *reason = "quote: pcr-digest-mismatch"; break;
		case TT_QUOTE_PCR_MISSING: *reason = "quote: pcr-missing"; break;
		case TT_QUOTE_BAD_KEY: *reason = "quote: bad-key (registered AK unusable)"; break;
		case TT_QUOTE_UNSUPPORTED_ALG: *reason = "quote: unsupported-alg"; break;
		default: *reason = "quote: malformed"; break;
		}
		r = qr.status == TT_QUOTE_NONCE_MISMATCH ? TT_ERR_NOT_AUTHENTICATED :
		    qr.status == TT_QUOTE_BAD_SIGNATURE ? TT_ERR_INVALID_SIGNATURE :
		    TT_ERR_INVALID_ARGUMENT;
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
	if (json_is_string(json_object_get(ev, "eventlog"))) {
		uint16_t bad_alg = 0;
		unsigned bad_pcr = 0;

		*reason = "malformed event log";
		if ((r = b64_member(ev, "eventlog", &log, &log_len)) != 0 || log_len > MAX_EVENTLOG ||
		    (r = tt_evlog_parse(log, log_len, &lim, &el)) != 0) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if (tt_evidence_check_pcrs(&el->pcrs, quoted, &qr.selection, NULL, &bad_alg,
		    &bad_pcr) != 0) {
			*reason = "event log replay does not match the quoted PCRs";
			r = TT_ERR_DATA_INVALID;
			goto out;
		}
		for (uint32_t i = 0; i < el->nboot_apps; i++) {
			for (unsigned d = 0; d < el->boot_apps[i].count; d++) {
				if (el->boot_apps[i].dig[d].alg != TT_EV_ALG_SHA256)
					continue;
				snprintf(key, sizeof(key), "boot.app.%u", i);
				if ((r = set_hex(meas, key, el->boot_apps[i].dig[d].d,
				    el->boot_apps[i].dig[d].size)) != 0)
					goto out;
			}
		}
		if (el->kernel_cmdline != NULL &&
		    json_object_set_new(meas, "kernel_cmdline", json_string(el->kernel_cmdline)) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (json_is_string(json_object_get(ev, "ima"))) {
		const char *txt = json_string_value(json_object_get(ev, "ima"));
		uint16_t bad_alg = 0;
		unsigned bad_pcr = 0;

		if (tt_ima_parse(txt, json_string_length(json_object_get(ev, "ima")), &lim, &ima) != 0) {
			*reason = "malformed IMA log (or a template hash does not match its line)";
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if (tt_evidence_check_pcrs(&ima->pcrs, quoted, &qr.selection, NULL, &bad_alg,
		    &bad_pcr) != 0) {
			*reason = "IMA log replay does not match quoted PCR 10";
			r = TT_ERR_DATA_INVALID;
			goto out;
		}
		for (uint32_t i = 0; i < ima->nentries; i++) {
			snprintf(key, sizeof(key), "ima.%.280s", ima->entries[i].path);
			if ((r = set_hex(meas, key, ima->entries[i].digest,
			    ima->entries[i].digest_len)) != 0)
				goto out;
		}
	}
	out = json_pack("{s:s,s:O}", "tee", "tpm", "measurements", meas);
	if (out == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (el != NULL) {
		json_object_set_new(out, "secure_boot", json_string(
		    el->secure_boot == TT_SECURE_BOOT_ON ? "on" :
		    el->secure_boot == TT_SECURE_BOOT_OFF ? "off" : "unknown"));
		json_object_set_new(out, "events", json_integer(el->nevents));
	}
	if (ima != NULL)
		json_object_set_new(out, "ima_entries", json_integer(ima->nentries));
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
	return r;
}

const struct tt_as_verifier tt_as_verifier_tpm = {
	.tee = "tpm",
	.verify = tpm_verify,
};
