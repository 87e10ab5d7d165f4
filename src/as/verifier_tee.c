/*
 * turtle-as's verifiers for confidential-computing evidence: one adapter over the verifier
 * library (src/attest/verify), which does every check. This file only turns the evidence
 * JSON a client sends into the library's bytes, and the library's claims into turtle-as's
 * claims shape:
 *
 *   {"tee": "snp", "snp": {Trustee's claims}, "measurements": {"snp.evidence.measurement":
 *    "...", ...}, "chain": [links]}
 *
 * so that Trustee's policies read input.snp.evidence... and the default policy compares
 * "<tee>."-named reference values (every one of them is required of that tee's evidence;
 * virtCCA's measurement names are secGear's "vcca." claims).
 *
 * Evidence JSON, as Trustee's attesters (guest-components) send it over KBS:
 *   snp      {"attestation_report": {the sev crate's report fields}, "cert_chain":
 *            [{"cert_type": "VCEK"|"VLEK"|"ASK"|"ARK", "data": [bytes]}] | null}
 *   cca      {"token": [bytes] | base64}
 *   tdx/sgx  {"quote": base64, "cc_eventlog": base64} (handed to the library as is)
 * and secGear's for virtCCA: {"evidence": [bytes] | base64, "dev_cert": [bytes] | base64}.
 *
 * A challenge tied to a registered node: the node must be registered with this tee and a
 * "tee_identity" that the verified evidence carries (snp: chip_id, cca: platform instance
 * id, virtcca: SHA-256 of the AIK certificate, tdx/sgx: the PCK certificate's PPID, all
 * hex). Without one the evidence cannot
 * speak for the node. A node can be registered from its evidence
 * (tt_as_tee_register_identity): the same verification with no challenge, and the same
 * tee_identity() on its claims, so registration and attestation cannot disagree on what
 * identifies a platform. The identity is also put in the claims ("tee_identity"), by which
 * KBS finds the registered node of anonymous evidence (kbs.c). virtCCA evidence without a platform token is refused here: nothing
 * binds its CVM token to the device key. A (virt)CCA platform outside the secured
 * lifecycle state is listed under the claims' "contraindications", which no policy can
 * accept (tt_policy_enforce).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "as.h"
#include "attest/fetch/fetch.h"
#include "attest/verify/cca.h"
#include "attest/verify/snp.h"
#include "attest/verify/verify.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/hex.h"
#include "util/log.h"

static const char *anchors_dir, *collateral_dir;
static struct tt_fetch_cfg fetch_cfg;   /* [collateral]; fetch off unless configured */

void
tt_as_tee_trust(const char *anchors, const char *collateral)
{
	anchors_dir = anchors;
	collateral_dir = collateral;
}

void
tt_as_tee_fetch(const struct tt_fetch_cfg *cfg)
{
	fetch_cfg = *cfg;
}

/*
 * With [collateral] fetch = true: the collateral this evidence names, fetched into the
 * cache when missing or expired there (src/attest/fetch). The verifier then reads that
 * directory as it reads --tee-collateral: fetched bytes are checked like any others. An
 * SNP report that came with its VCEK needs only the CRL. *dir is NULL when nothing could
 * be fetched for this evidence (the verifier then decides without).
 */
static int
fetch_collateral(const char *tee, const struct tt_verify_in *vi, bool have_cert, char **dir,
    const char **reason)
{
	static __thread char why[320];
	char err[256];
	int r;

	*dir = NULL;
	if (!fetch_cfg.enabled)
		return 0;
	r = tt_fetch_collateral(&fetch_cfg, tee, vi->evidence, vi->evidence_len, vi->now,
	    have_cert ? TT_FETCH_F_HAVE_CERT : 0, dir, err, sizeof(err));
	if (r == 0 || r == TT_ERR_NOT_SUPPORTED)
		return 0;
	snprintf(why, sizeof(why), "collateral fetch failed: %s", err);
	*reason = why;
	tt_warn("%s evidence: %s", tee, why);
	return TT_ERR_COMMUNICATION;  /* 502: an upstream service did not deliver */
}

/*
 * The fetcher judges freshness by an item's own (unverified) dates, so a well-shaped but
 * bad answer would otherwise stay until someone deletes it. Once such an item failed its
 * verification it is removed, and the next request fetches it again; the fetcher does
 * that at most once per negative_ttl per item, and the rate limit bounds the rest.
 */
static void
forget_fetched(const char *tee, const struct tt_verify_in *vi, const char *dir)
{
	int r = tt_fetch_forget(&fetch_cfg, tee, vi->evidence, vi->evidence_len, dir);

	if (r == 0)
		tt_info("%s evidence: collateral fetched into %s failed verification; removed, "
		    "it is fetched again on the next request", tee, dir);
	else if (r != TT_ERR_LIMIT)
		tt_warn("%s evidence: cannot remove the collateral under %s: %s", tee, dir,
		    tt_strerror(r));
}

/* ---- evidence JSON -> bytes ---- */

/* cert_chain entries as PEM text (the library takes PEM certificates as collateral). */
static int
snp_cert_pem(const json_t *chain, char **out, size_t *len)
{
	size_t i, cap = 1, n = 0;
	const json_t *e;
	char *pem = NULL, *t;
	int r = 0;

	if (chain == NULL || json_is_null(chain)) {
		*out = NULL;
		*len = 0;
		return 0;
	}
	if (!json_is_array(chain) || json_array_size(chain) > 8)
		return TT_ERR_DATA_INVALID;
	if ((pem = calloc(1, 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	json_array_foreach(chain, i, e) {
		uint8_t *der = NULL;
		size_t dl = 0, bl;
		char *b64 = NULL;

		if (!json_is_string(json_object_get(e, "cert_type"))) {
			r = TT_ERR_DATA_INVALID;
			break;
		}
		if ((r = tt_snp_json_bytes(json_object_get(e, "data"), 16384, &der, &dl)) != 0)
			break;
		r = tt_b64_encode_dup(der, dl, TT_B64_STD, &b64);
		free(der);
		if (r != 0)
			break;
		bl = strlen(b64);
		/* 64-column lines, header and footer */
		cap += bl + bl / 64 + 80;
		if ((t = realloc(pem, cap)) == NULL) {
			free(b64);
			r = TT_ERR_NO_MEMORY;
			break;
		}
		pem = t;
		n += (size_t)snprintf(pem + n, cap - n, "-----BEGIN CERTIFICATE-----\n");
		for (size_t o = 0; o < bl; o += 64)
			n += (size_t)snprintf(pem + n, cap - n, "%.64s\n", b64 + o);
		n += (size_t)snprintf(pem + n, cap - n, "-----END CERTIFICATE-----\n");
		free(b64);
	}
	if (r != 0) {
		free(pem);
		return r;
	}
	*out = pem;
	*len = n;
	return 0;
}

/* ---- claims ---- */

/*
 * The claims the default policy compares with reference values, named "<tee>.<path>"
 * (virtCCA: secGear's own flat names). For snp they are the ones Trustee's default EAR
 * policy checks (measurement, reported TCB, guest policy and platform flags). A name with
 * no reference value leaves the result at warning, so the set is kept to what an operator
 * is expected to pin; every other claim stays in the "<tee>" object for Rego policies.
 */
static const char *const meas_snp[] = {
	"evidence.measurement", "evidence.host_data",
	"evidence.reported_tcb.bootloader", "evidence.reported_tcb.tee",
	"evidence.reported_tcb.snp", "evidence.reported_tcb.microcode",
	"evidence.reported_tcb.fmc",
	"evidence.policy.debug_allowed", "evidence.policy.migrate_ma_allowed",
	"evidence.policy.abi_major", "evidence.policy.abi_minor",
	"evidence.policy.single_socket_required", "evidence.policy.smt_allowed",
	"evidence.plat_info.smt_enabled", "evidence.plat_info.tsme_enabled", NULL,
};
static const char *const meas_cca[] = {
	"realm.cca-realm-initial-measurement", "realm.cca-realm-personalization-value",
	"realm.cca-realm-extensible-measurements.0", "realm.cca-realm-extensible-measurements.1",
	"realm.cca-realm-extensible-measurements.2", "realm.cca-realm-extensible-measurements.3",
	"platform.cca-platform-implementation-id", "platform.cca-platform-config",
	/* The platform's lifecycle (PSA): a debug or provisioning state signs like a
	 * secured one, so the secured value(s) must be pinned like a measurement. */
	"platform.cca-platform-lifecycle", NULL,
};
static const char *const meas_virtcca[] = {
	"vcca.cvm.rim", "vcca.cvm.rpv", "vcca.cvm.rem.0", "vcca.cvm.rem.1", "vcca.cvm.rem.2",
	"vcca.cvm.rem.3",
	/* The platform token's (AIK-signed): which platform, its configuration, and its
	 * lifecycle, pinned as CCA's are (the secured state is also required below). */
	"vcca.platform.implementation_id", "vcca.platform.config", "vcca.platform.lifecycle",
	NULL,
};
static const char *const meas_tdx[] = {
	"quote.body.mr_td", "quote.body.mr_seam", "quote.body.mr_config_id",
	"quote.body.rtmr_0", "quote.body.rtmr_1", "quote.body.rtmr_2", "quote.body.rtmr_3",
	"quote.body.xfam", "td_attributes.debug", "tcb_status", NULL,
};
static const char *const meas_sgx[] = {
	"body.mr_enclave", "body.mr_signer", "body.isv_prod_id", "body.isv_svn",
	/* ATTRIBUTES (DEBUG is bit 1): a debug enclave has the production MRENCLAVE. */
	"body.attributes.flags", "tcb_status", NULL,
};

/* A member by dotted path; a key that itself holds dots (virtCCA's) is tried whole first. */
static const json_t *
at_path(const json_t *o, const char *path)
{
	char key[128];
	const char *dot;
	const json_t *v;
	size_t n;

	while (o != NULL) {
		if (json_is_object(o) && (v = json_object_get(o, path)) != NULL)
			return v;
		if ((dot = strchr(path, '.')) == NULL)
			break;
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (json_is_array(o)) {
			char *end;
			unsigned long i = strtoul(key, &end, 10);

			o = *end == '\0' ? json_array_get(o, i) : NULL;
		} else {
			o = json_object_get(o, key);
		}
		path = dot + 1;
		if (strchr(path, '.') == NULL && json_is_array(o)) {
			char *end;
			unsigned long i = strtoul(path, &end, 10);

			return *end == '\0' ? json_array_get(o, i) : NULL;
		}
	}
	return NULL;
}

static json_t *
as_text(const json_t *v)
{
	char num[32];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_incref((json_t *)v);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return json_string(num);
	case JSON_TRUE:
		return json_string("true");
	case JSON_FALSE:
		return json_string("false");
	default:
		return NULL;   /* null (a field this report version lacks): no measurement */
	}
}

/* A component name fit to be part of a measurement name. */
static bool
safe_name(const char *n)
{
	size_t l = n != NULL ? strlen(n) : 0;

	if (l == 0 || l > 64)
		return false;
	return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == l;
}

/*
 * A platform's software components, one measurement per component named by its type:
 * "<prefix>.<type><suffix>" ("<prefix>.#<i><suffix>", by position, when the platform gives
 * no usable type), so that a reference value pins each component to its role: a component
 * replaced by another's approved measurement does not match, a pinned one that is missing
 * is required and absent, an unknown one has no reference value. Two components of one
 * type make a history (each entry must match).
 *   virtCCA  vcca.platform.measure_value.<firware_name>           (secGear's spelling)
 *   CCA      cca.platform.cca-platform-sw-components.<measurement-type>.measurement-value
 */
static int
components(const json_t *sw, const char *type_key, const char *value_key, const char *prefix,
    const char *suffix, json_t *meas)
{
	const json_t *e;
	json_t *prev, *s, *arr;
	char name[192];
	size_t i;

	json_array_foreach(sw, i, e) {
		const char *fn = json_string_value(json_object_get(e, type_key));

		if ((s = as_text(json_object_get(e, value_key))) == NULL)
			continue;
		if (safe_name(fn))
			snprintf(name, sizeof(name), "%s.%s%s", prefix, fn, suffix);
		else
			snprintf(name, sizeof(name), "%s.#%zu%s", prefix, i, suffix);
		if ((prev = json_object_get(meas, name)) == NULL) {
			if (json_object_set_new(meas, name, s) != 0)
				return TT_ERR_NO_MEMORY;
			continue;
		}
		if (json_is_array(prev)) {
			if (json_array_append_new(prev, s) != 0)
				return TT_ERR_NO_MEMORY;
			continue;
		}
		if ((arr = json_pack("[O,o]", prev, s)) == NULL ||
		    json_object_set_new(meas, name, arr) != 0)
			return TT_ERR_NO_MEMORY;
	}
	return 0;
}

static int
measurements(const char *tee, const json_t *cl, json_t *meas)
{
	const char *const *list = strcmp(tee, "snp") == 0 ? meas_snp :
	    strcmp(tee, "cca") == 0 ? meas_cca : strcmp(tee, "virtcca") == 0 ? meas_virtcca :
	    strcmp(tee, "tdx") == 0 ? meas_tdx : meas_sgx;
	bool flat = strcmp(tee, "virtcca") == 0;
	json_t *s;
	char name[160];

	for (; *list != NULL; list++) {
		if ((s = as_text(at_path(cl, *list))) == NULL)
			continue;
		snprintf(name, sizeof(name), "%s%s%s", flat ? "" : tee, flat ? "" : ".", *list);
		if (json_object_set_new(meas, name, s) != 0)
			return TT_ERR_NO_MEMORY;
	}
	if (strcmp(tee, "cca") == 0)
		return components(at_path(cl, "platform.cca-platform-sw-components"),
		    "measurement-type", "measurement-value",
		    "cca.platform.cca-platform-sw-components", ".measurement-value", meas);
	if (flat)
		return components(json_object_get(cl, "vcca.platform.measure_value"),
		    "firware_name", "measurement", "vcca.platform.measure_value", "", meas);
	return 0;
}

/*
 * What the verified evidence shows that no policy may accept, as "contraindications"
 * (tt_policy_enforce makes the result contraindicated whatever the engine said). A
 * (virt)CCA platform outside the PSA secured lifecycle state (a debug, provisioning or
 * decommissioned platform) signs its tokens like a secured one; its measurements prove
 * nothing about what runs.
 */
static int
contraindications(const char *tee, const json_t *cl, json_t **out)
{
	const json_t *lcv = NULL;
	const char *name = NULL;
	json_int_t lc;
	char why[200];

	*out = NULL;
	if (strcmp(tee, "cca") == 0) {
		lcv = at_path(cl, "platform.cca-platform-lifecycle");
		name = "cca.platform.cca-platform-lifecycle";
	} else if (strcmp(tee, "virtcca") == 0) {
		lcv = json_object_get(cl, "vcca.platform.lifecycle");
		name = "vcca.platform.lifecycle";
	}
	if (name == NULL)
		return 0;
	/* The verifiers always report it for a platform token; absent is not secured. */
	lc = json_is_integer(lcv) ? json_integer_value(lcv) : -1;
	if (tt_cca_lifecycle_secured(lc))
		return 0;
	snprintf(why, sizeof(why), "%s: 0x%04llx (%s) is not the secured lifecycle state "
	    "(0x3000-0x30ff): the platform's measurements prove nothing", name,
	    (unsigned long long)lc & 0xffffffu, tt_cca_lifecycle_name(lc));
	if ((*out = json_pack("[s]", why)) == NULL)
		return TT_ERR_NO_MEMORY;
	return 0;
}

/* The identity a node is registered with, as the verified claims carry it (hex). */
static int
tee_identity(const char *tee, const json_t *cl, const uint8_t *aik, size_t aik_len,
    char out[129])
{
	const char *s = NULL;
	uint8_t b[64];
	size_t n;

	if (strcmp(tee, "snp") == 0) {
		s = json_string_value(json_object_get(json_object_get(cl, "evidence"), "chip_id"));
		if (s == NULL || strspn(s, "0") == strlen(s))
			return TT_ERR_DOES_NOT_EXIST;   /* masked chip id */
		snprintf(out, 129, "%s", s);
		return 0;
	}
	if (strcmp(tee, "cca") == 0) {
		s = json_string_value(json_object_get(json_object_get(cl, "platform"),
		    "cca-platform-instance-id"));
		if (s == NULL || tt_b64_decode(s, strlen(s), TT_B64_STD, b, sizeof(b), &n) != 0)
			return TT_ERR_DOES_NOT_EXIST;
		tt_hex_encode(b, n, out);
		return 0;
	}
	if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) {
		/* The PPID of the PCK certificate that signed the QE report: one platform. */
		s = json_string_value(json_object_get(cl, "platform_provider_id"));
		if (s == NULL)
			return TT_ERR_DOES_NOT_EXIST;
		snprintf(out, 129, "%s", s);
		return 0;
	}
	if (strcmp(tee, "virtcca") == 0 && aik != NULL) {
		STACK_OF(X509) *sk = NULL;
		int e;

		/* The certificate's DER, not the bytes sent: the same AIK as PEM (or with
		 * text around it) must not hash to another identity and so step out of its
		 * node's group into "default". */
		if (tt_verify_certs_parse(aik, aik_len, &sk) != 0)
			return TT_ERR_DOES_NOT_EXIST;
		e = sk_X509_num(sk) == 1 ? tt_verify_x509_sha256(sk_X509_value(sk, 0), out) :
		    TT_ERR_DOES_NOT_EXIST;
		sk_X509_pop_free(sk, X509_free);
		return e;
	}
	return TT_ERR_DOES_NOT_EXIST;
}

/* The verification of one piece of evidence; flags are the library's TT_VERIFY_F_*. */
static int
tee_check(const struct tt_as_verify_in *in, unsigned flags, json_t **claims,
    const char **reason)
{
	const struct tt_verifier *v = tt_verifier_find(in->tee);
	const json_t *ev = in->evidence;
	struct tt_verify_trust t = { .anchors_dir = anchors_dir, .collateral_dir = collateral_dir };
	struct tt_verify_in vi = { 0 };
	struct tt_verify_result res = { 0 };
	uint8_t *evb = NULL, *coll = NULL, rep[TT_SNP_REPORT_LEN];
	char *evs = NULL, *pem = NULL, *fetched = NULL, id[129];
	size_t evlen = 0, clen = 0;
	json_t *out = NULL, *meas = NULL, *contra = NULL;
	int r;

	*reason = "malformed evidence";
	if (v == NULL)
		return TT_ERR_NOT_SUPPORTED;
	if (!json_is_object(ev))
		return TT_ERR_INVALID_ARGUMENT;
	if (strcmp(in->tee, "snp") == 0) {
		if ((r = tt_snp_report_from_json(json_object_get(ev, "attestation_report"), rep)) != 0 ||
		    (r = snp_cert_pem(json_object_get(ev, "cert_chain"), &pem, &clen)) != 0) {
			*reason = "malformed SNP evidence (attestation_report, cert_chain)";
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		vi.evidence = rep;
		vi.evidence_len = sizeof(rep);
		t.collateral = (const uint8_t *)pem;
		t.collateral_len = clen;
	} else if (strcmp(in->tee, "cca") == 0 || strcmp(in->tee, "virtcca") == 0) {
		bool cca = strcmp(in->tee, "cca") == 0;

		if ((r = tt_snp_json_bytes(json_object_get(ev, cca ? "token" : "evidence"),
		    TT_VERIFY_MAX_EVIDENCE, &evb, &evlen)) != 0 ||
		    (!cca && (r = tt_snp_json_bytes(json_object_get(ev, "dev_cert"), 65536, &coll,
		    &clen)) != 0)) {
			*reason = cca ? "malformed CCA evidence (token)" :
			    "malformed virtCCA evidence (evidence, dev_cert)";
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		vi.evidence = evb;
		vi.evidence_len = evlen;
		t.collateral = coll;
		t.collateral_len = clen;
	} else {
		/* tdx, sgx: the library reads Trustee's JSON itself. */
		if ((evs = json_dumps(ev, JSON_COMPACT)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		vi.evidence = (const uint8_t *)evs;
		vi.evidence_len = strlen(evs);
	}
	vi.binding = in->binding;
	vi.binding_len = in->binding_len;
	vi.flags = flags;
	vi.now = tt_as_now();
	vi.trust = &t;
	if ((r = fetch_collateral(in->tee, &vi, pem != NULL && clen > 0, &fetched, reason)) != 0)
		goto out;
	if (fetched != NULL)
		t.collateral_dir = fetched;
	if ((r = tt_verify(v, &vi, &res)) != 0) {
		/* The first reason names the failed check; it lives in res, so it is copied
		 * to this thread's buffer, which outlives the call as the contract asks. */
		static __thread char why[256];
		const char *first = json_string_value(json_array_get(res.reasons, 0));

		snprintf(why, sizeof(why), "%s", first != NULL ? first : tt_strerror(r));
		*reason = why;
		tt_log(TT_LOG_INFO, "%s evidence refused: %s", in->tee, why);
		if (fetched != NULL && tt_fetch_collateral_failed(res.chain,
		    pem != NULL && clen > 0 ? TT_FETCH_F_HAVE_CERT : 0))
			forget_fetched(in->tee, &vi, fetched);
		goto out;
	}
	if (strcmp(in->tee, "virtcca") == 0 &&
	    json_is_false(json_object_get(res.claims, "vcca.is_platform"))) {
		*reason = "virtCCA token without a platform token: not bound to the device";
		r = TT_ERR_NOT_PERMITTED;
		goto out;
	}
	if (in->node != NULL) {
		const char *nt = json_string_value(json_object_get(in->node, "tee"));
		const char *want = json_string_value(json_object_get(in->node, "tee_identity"));

		if (nt == NULL || strcmp(nt, in->tee) != 0 || want == NULL ||
		    tee_identity(in->tee, res.claims, coll, clen, id) != 0 ||
		    strlen(want) != strlen(id) || strncasecmp(want, id, strlen(id)) != 0) {
			*reason = "the evidence does not carry the registered node's tee_identity";
			r = TT_ERR_NOT_AUTHENTICATED;
			goto out;
		}
	}
	r = TT_ERR_NO_MEMORY;
	if ((meas = json_object()) == NULL || measurements(in->tee, res.claims, meas) != 0 ||
	    contraindications(in->tee, res.claims, &contra) != 0)
		goto out;
	if ((out = json_pack("{s:s,s:O,s:O,s:O}", "tee", in->tee, in->tee, res.claims,
	    "measurements", meas, "chain", res.chain)) == NULL)
		goto out;
	if (contra != NULL && json_object_set(out, "contraindications", contra) != 0) {
		json_decref(out);
		out = NULL;
		goto out;
	}
	/* The platform identity the verified evidence carries (KBS finds the node by it). */
	if (tee_identity(in->tee, res.claims, coll, clen, id) == 0 &&
	    json_object_set_new(out, "tee_identity", json_string(id)) != 0) {
		json_decref(out);
		out = NULL;
		goto out;
	}
	*claims = out;
	*reason = NULL;
	r = 0;
out:
	json_decref(contra);
	json_decref(meas);
	tt_verify_result_clear(&res);
	free(evb);
	free(coll);
	free(evs);
	free(pem);
	free(fetched);
	return r;
}

static int
tee_verify(const struct tt_as_verify_in *in, json_t **claims, const char **reason)
{
	return tee_check(in, 0, claims, reason);
}

int
tt_as_tee_register_identity(const char *tee, const json_t *evidence, char id[129],
    const char **reason)
{
	struct tt_as_verify_in in = { .tee = tee, .evidence = evidence };
	json_t *claims = NULL;
	const char *s;
	int r;

	*reason = "malformed evidence";
	if (tt_as_verifier_find(tee) == NULL || tt_as_verifier_find(tee)->verify != tee_verify) {
		*reason = "evidence registers only snp, tdx, sgx, cca and virtcca nodes";
		return TT_ERR_NOT_SUPPORTED;
	}
	/* No challenge: the report data is not checked, only everything the platform
	 * signed. That proves which platform made the evidence, not that it is live. */
	if ((r = tee_check(&in, TT_VERIFY_F_NO_BINDING, &claims, reason)) != 0) {
		/* Malformed stays 400 and an unreachable collateral service 502; evidence
		 * that does not verify proves no platform: 401. */
		if (r != TT_ERR_INVALID_ARGUMENT && r != TT_ERR_NO_MEMORY &&
		    r != TT_ERR_COMMUNICATION)
			r = TT_ERR_NOT_AUTHENTICATED;
		return r;
	}
	s = json_string_value(json_object_get(claims, "tee_identity"));
	if (s == NULL || strlen(s) == 0 || strlen(s) > 128) {
		*reason = "the verified evidence carries no platform identity (an SNP report "
		    "with a masked chip id, a virtCCA token without its AIK certificate)";
		r = TT_ERR_NOT_PERMITTED;
	} else {
		snprintf(id, 129, "%s", s);
		*reason = NULL;
	}
	json_decref(claims);
	return r;
}

static const char *const owned_snp[] = { "snp.", NULL };
static const char *const owned_cca[] = { "cca.", NULL };
static const char *const owned_virtcca[] = { "vcca.", NULL };
static const char *const owned_tdx[] = { "tdx.", NULL };
static const char *const owned_sgx[] = { "sgx.", NULL };

const struct tt_as_verifier tt_as_verifier_snp = {
	.tee = "snp", .verify = tee_verify, .owned = owned_snp };
const struct tt_as_verifier tt_as_verifier_cca = {
	.tee = "cca", .verify = tee_verify, .owned = owned_cca };
const struct tt_as_verifier tt_as_verifier_virtcca = {
	.tee = "virtcca", .verify = tee_verify, .owned = owned_virtcca };
const struct tt_as_verifier tt_as_verifier_tdx = {
	.tee = "tdx", .verify = tee_verify, .owned = owned_tdx };
const struct tt_as_verifier tt_as_verifier_sgx = {
	.tee = "sgx", .verify = tee_verify, .owned = owned_sgx };
