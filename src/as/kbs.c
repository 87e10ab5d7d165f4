/*
 * KBS protocol (Confidential Containers Trustee) on top of the same verifiers, policy and
 * issuer as the native API. The wire shapes follow Trustee's own code, not only its
 * protocol document: kbs-types 0.18 (Request, Challenge, Attestation, RuntimeData,
 * CompositeEvidence, Response, ErrorInformation), guest-components kbs_protocol's
 * rcar_client.rs (what the client sends and hashes) and trustee kbs/src/attestation/
 * backend.rs (what the server binds). docs/turtle-as.md lists the commits checked.
 *
 *   POST /kbs/v0/auth    {version, tee, extra-params} -> {nonce, "extra-params": ""} and
 *                        the cookie kbs-session-id. Trustee answers extra-params "" for
 *                        every tee but IBM SE, which makes the client hash with SHA-384.
 *   POST /kbs/v0/attest  {"init-data": null, "runtime-data": {nonce, tee-pubkey},
 *                        "tee-evidence": {"primary_evidence": ..., "additional_evidence":
 *                        ""}} (kbs-types CompositeEvidence). The primary evidence is bound
 *                        to SHA-384 over the RFC 8785 (JCS) serialisation of
 *                        {"additional-evidence", "nonce", "tee-pubkey"}. Two older forms
 *                        stay accepted: tee-evidence as the evidence itself (object, or a
 *                        string holding it) bound to JCS {"nonce", "tee-pubkey"}, and
 *                        tee-pubkey at the top level instead of in runtime-data.
 *                        -> {token}
 *   GET  /kbs/v0/resource/<repo>/<type>/<tag>  -> flattened JWE (kbs-types Response) of
 *                        the resource encrypted to the session's tee-pubkey. Without a
 *                        resource policy, only after an affirming attestation in this
 *                        session (else 401; unknown 404). With one (POST
 *                        /v1/resource-policy), the Rego policy decides over the claims of
 *                        the token this session was issued and the path, as Trustee's KBS
 *                        does; no token 401, refused or failed 403.
 *
 * For tee "tpm" the node is found by its AK: the evidence's "ak_public" (Trustee's TPM
 * attester sends its AK as base64 DER SubjectPublicKeyInfo) must equal a registered node's
 * AK, and the quote is then verified with the registered key, never with the one in the
 * evidence. The KBS client cannot name a node any other way (its /auth extra-params carry
 * only the supported hash algorithms).
 *
 * The session's nonce is cleared by the attestation that uses it (matched in the UPDATE),
 * so one challenge backs at most one attestation.
 */
#include <string.h>

#include <openssl/evp.h>

#include "evidence.h"
#include "http.h"
#include "json.h"
#include "rego_engine.h"
#include "turtle/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

#define KBS_COOKIE "kbs-session-id"
#define JCS_MAX (1u << 20)   /* bound on the canonical runtime data */

/* SHA-384 of the JCS form of v (the runtime-data binding). */
static int
jcs_sha384(const json_t *v, uint8_t h[48])
{
	char *txt = NULL;
	size_t n = 0;
	unsigned hl = 0;
	int r;

	if ((r = tt_json_canonical(v, JCS_MAX, &txt, &n)) == 0 &&
	    EVP_Digest(txt, n, h, &hl, EVP_sha384(), NULL) != 1)
		r = TT_ERR_GENERIC;
	free(txt);
	return r;
}

/* ---- finding the node of a KBS tpm attestation ---------------------------------------- */

/*
 * The registered node whose trusted AK is the evidence's "ak_public" (base64 DER
 * SubjectPublicKeyInfo): one indexed store lookup by the AK's fingerprint. Only a lookup:
 * the verifier then checks the quote with the node's own registered key.
 */
static int
node_by_ak(struct tt_as_ctx *c, const json_t *ev, struct tt_as_resp *rs, json_t **node_out)
{
	const char *akb64 = json_string_value(json_object_get(ev, "ak_public"));
	uint8_t *der = NULL, fpr[32];
	size_t derlen = 0;
	char hex[65];
	int r = TT_ERR_INVALID_ARGUMENT;

	if (akb64 == NULL || tt_as_b64_dec(akb64, &der, &derlen) != 0 || derlen > 16384) {
		rs->detail = "tpm evidence over KBS must carry \"ak_public\" (base64 DER "
		    "SubjectPublicKeyInfo) naming a registered node's AK";
		goto out;
	}
	if (tt_ak_fingerprint(der, derlen, TT_AK_SPKI_DER, fpr) != 0) {
		rs->detail = "\"ak_public\" is not a DER SubjectPublicKeyInfo";
		goto out;
	}
	tt_hex_encode(fpr, sizeof(fpr), hex);
	r = c->ops->node_by_ak(c->st, hex, node_out);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		rs->detail = "evidence rejected: no registered node has this AK";
		r = TT_ERR_NOT_AUTHENTICATED;
	}
out:
	free(der);
	return r;
}

/*
 * KBS guests are anonymous: their evidence names no node. A TEE platform's identity is in
 * its verified claims ("tee_identity": SNP chip id, CCA instance id, TDX/SGX PPID, virtCCA
 * AIK certificate hash), so a node registered with that "tee" and "tee_identity" is the
 * one the evidence speaks for, and its group's reference values and policy judge it.
 * None: *node_out stays NULL (the "default" group). Several (one platform registered
 * twice): refused, since which group's values apply would be a guess.
 */
static int
node_by_tee_identity(struct tt_as_ctx *c, const char *tee, const json_t *claims,
	struct tt_as_resp *rs, json_t **node_out)
{
	const char *id = json_string_value(json_object_get(claims, "tee_identity"));
	json_t *arr = NULL;
	int r;

	if (id == NULL || strcmp(tee, "sample") == 0 || strcmp(tee, "tpm") == 0)
		return 0;
	if ((r = c->ops->node_by_tee_identity(c->st, tee, id, &arr)) != 0)
		return r;
	if (json_array_size(arr) > 1) {
		rs->detail = "evidence rejected: several registered nodes carry this platform's "
		    "tee_identity";
		r = TT_ERR_NOT_AUTHENTICATED;
	} else if (json_array_size(arr) == 1) {
		*node_out = json_incref(json_array_get(arr, 0));
	}
	json_decref(arr);
	return r;
}

int
tt_as_h_kbs_auth(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	struct tt_as_session s = { 0 };
	json_t *body = NULL;
	const char *tee;
	char cookie[256];
	int r;

	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		return r;
	tee = json_string_value(json_object_get(body, "tee"));
	r = TT_ERR_INVALID_ARGUMENT;
	if (!json_is_string(json_object_get(body, "version"))) {
		rs->detail = "\"version\" (string) is required";
		goto out;
	}
	if (tee == NULL || tt_as_verifier_find(tee) == NULL) {
		rs->detail = "\"tee\" must be a tee type this service verifies (\"sample\", \"tpm\", "
		    "\"snp\", \"tdx\", \"sgx\", \"cca\", \"virtcca\")";
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = tt_as_random_b64url(32, &s.id)) != 0 ||
	    (r = tt_as_random_b64url(TT_AS_NONCE_BYTES, &s.nonce)) != 0)
		goto out;
	if ((s.tee = strdup(tee)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	s.expires_at = tt_as_now() + (int64_t)c->cfg->session_ttl;
	if ((r = c->ops->session_put(c->st, &s)) != 0)
		goto out;
	snprintf(cookie, sizeof(cookie), KBS_COOKIE "=%s; Path=/kbs; Max-Age=%u; HttpOnly",
	    s.id, c->cfg->session_ttl);
	if ((rs->set_cookie = strdup(cookie)) == NULL ||
	    (rs->json = json_pack("{s:s,s:s}", "nonce", s.nonce, "extra-params", "")) == NULL)
		r = TT_ERR_NO_MEMORY;
out:
	tt_as_session_clear(&s);
	json_decref(body);
	return r;
}

static int
session_from_cookie(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs,
	struct tt_as_session *s)
{
	int r;

	if (rq->cookie_session == NULL) {
		rs->detail = "no kbs-session-id cookie: POST /kbs/v0/auth first";
		return TT_ERR_NOT_AUTHENTICATED;
	}
	r = c->ops->session_get(c->st, rq->cookie_session, tt_as_now(), s);
	if (r == TT_ERR_DOES_NOT_EXIST || r == TT_ERR_TIMEOUT) {
		rs->detail = r == TT_ERR_TIMEOUT ? "KBS session expired" : "unknown KBS session";
		return TT_ERR_NOT_AUTHENTICATED;
	}
	return r;
}

/*
 * The evidence and the runtime data it must be bound to, from the three accepted body
 * shapes (see the top of this file). *ev is a new reference; *rd a new object.
 */
static int
attest_parts(const json_t *body, const char *nonce, struct tt_as_resp *rs, json_t **ev,
	json_t **rd)
{
	const json_t *rdin = json_object_get(body, "runtime-data");
	const json_t *te = json_object_get(body, "tee-evidence"), *pe, *ae, *init;
	const json_t *pk = rdin != NULL ? json_object_get(rdin, "tee-pubkey") :
	    json_object_get(body, "tee-pubkey");
	const char *rd_nonce;
	json_t *e = NULL, *d = NULL;

	if (!json_is_object(pk) || !json_is_string(json_object_get(pk, "kty"))) {
		rs->detail = "\"tee-pubkey\" must be a JWK object";
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (rdin != NULL) {
		rd_nonce = json_string_value(json_object_get(rdin, "nonce"));
		if (rd_nonce == NULL || strcmp(rd_nonce, nonce) != 0) {
			rs->detail = "runtime-data nonce differs from the session's challenge";
			return TT_ERR_NOT_AUTHENTICATED;
		}
	}
	/* Init-data (a TOML document Trustee binds into PCR 8 / HOSTDATA / MRCONFIGID) is
	 * not appraised here; accepting it unchecked would let a client believe it was. */
	init = json_object_get(body, "init-data");
	if (init != NULL && !json_is_null(init)) {
		rs->detail = "\"init-data\" is not supported by this KBS";
		return TT_ERR_NOT_SUPPORTED;
	}
	pe = json_object_get(te, "primary_evidence");
	ae = json_object_get(te, "additional_evidence");
	if (json_is_object(te) && pe != NULL) {
		/* kbs-types CompositeEvidence. Device evidence is bound into the primary
		 * report data but would need its own verifier; none is offered, so a client
		 * sending some is refused rather than released secrets on half an appraisal. */
		if (!json_is_string(ae)) {
			rs->detail = "\"tee-evidence\".\"additional_evidence\" must be a string";
			return TT_ERR_INVALID_ARGUMENT;
		}
		if (json_string_length(ae) != 0) {
			rs->detail = "additional (device) evidence is not supported by this KBS";
			return TT_ERR_NOT_SUPPORTED;
		}
		te = pe;
		d = json_pack("{s:O,s:s,s:O}", "additional-evidence", ae, "nonce", nonce,
		    "tee-pubkey", pk);
	} else {
		d = json_pack("{s:s,s:O}", "nonce", nonce, "tee-pubkey", pk);
	}
	if (d == NULL)
		return TT_ERR_NO_MEMORY;
	if (json_is_string(te))
		e = json_loadb(json_string_value(te), json_string_length(te),
		    JSON_REJECT_DUPLICATES, NULL);
	else
		e = json_incref((json_t *)te);
	if (!json_is_object(e)) {
		json_decref(e);
		json_decref(d);
		rs->detail = "the tee evidence must be a JSON object (or a string holding one)";
		return TT_ERR_INVALID_ARGUMENT;
	}
	*ev = e;
	*rd = d;
	return 0;
}

/*
 * What a resource policy decides on later in this session: the claims of the token just
 * signed here (its payload, so the policy sees exactly what the client was given) and
 * the node group. The token is ours, so its payload is not verified again.
 */
static int
release_input(const char *token, const char *group, json_t **out)
{
	const char *p = strchr(token, '.'), *e;
	char *mid = NULL;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	json_t *ear = NULL;
	int r = TT_ERR_GENERIC;

	if (p == NULL || (e = strchr(p + 1, '.')) == NULL)
		return r;
	if ((mid = strndup(p + 1, (size_t)(e - p - 1))) == NULL)
		return TT_ERR_NO_MEMORY;
	if (tt_as_b64_dec(mid, &raw, &rawlen) == 0 &&
	    (ear = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL)) != NULL &&
	    json_is_object(ear))
		r = (*out = json_pack("{s:O,s:s?}", "ear", ear, "group", group)) != NULL ? 0 :
		    TT_ERR_NO_MEMORY;
	json_decref(ear);
	free(raw);
	free(mid);
	return r;
}

/*
 * The resource policy's verdict on releasing `path` to this session. Fail closed: no
 * token, an evaluation error or anything but allow == true refuses.
 */
static int
release_allowed(const json_t *pol, const struct tt_as_session *s, const char *path,
	struct tt_as_resp *rs)
{
	const json_t *ear = json_object_get(s->release_input, "ear");
	const char *group = json_string_value(json_object_get(s->release_input, "group"));
	const char *why = NULL;
	bool allow = false;
	int r;

	if (!json_is_object(ear)) {
		rs->detail = "no attestation token in this session for the resource policy";
		return TT_ERR_NOT_AUTHENTICATED;
	}
	r = tt_policy_rego_release(pol, ear, path, group, &allow, &why);
	if (r == TT_ERR_NO_MEMORY)
		return r;
	if (r != 0) {
		tt_warn("kbs: resource policy failed on %s: %s", path,
		    why != NULL ? why : tt_strerror(r));
		tt_as_detail(rs, "resource policy failed: %s", why != NULL ? why : tt_strerror(r));
		return TT_ERR_NOT_PERMITTED;
	}
	if (!allow) {
		rs->detail = "the resource policy does not allow this release";
		return TT_ERR_NOT_PERMITTED;
	}
	return 0;
}

int
tt_as_h_kbs_attest(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	struct tt_as_session s = { 0 };
	json_t *body = NULL, *rd = NULL, *ev = NULL, *claims = NULL, *extra = NULL, *node = NULL;
	json_t *rin = NULL;
	const json_t *pk;
	const struct tt_as_verifier *vf;
	struct tt_as_verify_in vin = { 0 };
	struct tt_as_appraisal ap = { 0 };
	const char *reason = NULL;
	char *token = NULL;
	uint8_t h[48];
	enum tt_ear_status status = TT_EAR_STATUS_NONE;
	int r;

	if ((r = session_from_cookie(c, rq, rs, &s)) != 0)
		return r;
	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		goto out;
	if (s.nonce == NULL) {
		rs->detail = "this session's challenge was already answered: POST /kbs/v0/auth again";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if ((r = attest_parts(body, s.nonce, rs, &ev, &rd)) != 0)
		goto out;
	pk = json_object_get(rd, "tee-pubkey");
	if ((r = jcs_sha384(rd, h)) != 0) {
		if (r == TT_ERR_NOT_SUPPORTED || r == TT_ERR_LIMIT) {
			rs->detail = "runtime-data has no RFC 8785 form here (non-integral numbers "
			    "or too deep)";
			r = TT_ERR_INVALID_ARGUMENT;
		}
		goto out;
	}
	if ((vf = tt_as_verifier_find(s.tee)) == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (strcmp(s.tee, "tpm") == 0 && (r = node_by_ak(c, ev, rs, &node)) != 0) {
		if (r == TT_ERR_NOT_AUTHENTICATED)
			(void)c->ops->session_attest(c->st, s.id, s.nonce, false, NULL, NULL);
		goto out;
	}
	vin.tee = s.tee;
	vin.evidence = ev;
	vin.binding = h;
	vin.binding_len = sizeof(h);
	vin.node = node;
	r = vf->verify(&vin, &claims, &reason);
	if (r != 0) {
		/* The challenge is spent even when the evidence is refused. */
		(void)c->ops->session_attest(c->st, s.id, s.nonce, false, NULL, NULL);
		tt_as_detail(rs, "evidence rejected: %s", reason != NULL ? reason : tt_strerror(r));
		goto out;
	}
	if (node == NULL && (r = node_by_tee_identity(c, s.tee, claims, rs, &node)) != 0) {
		(void)c->ops->session_attest(c->st, s.id, s.nonce, false, NULL, NULL);
		goto out;
	}
	if ((extra = json_pack("{s:O}", "tee-pubkey", pk)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	ap.vf = vf;
	ap.node_id = json_string_value(json_object_get(node, "id"));
	ap.group = node != NULL ? json_string_value(json_object_get(node, "group")) : "default";
	ap.nonce = s.nonce;
	ap.claims = claims;
	ap.extra = extra;
	if ((r = tt_as_appraise_and_sign(c, &ap, &token, &status, rs)) != 0)
		goto out;
	if ((r = release_input(token, ap.group, &rin)) != 0)
		goto out;
	r = c->ops->session_attest(c->st, s.id, s.nonce, status == TT_EAR_STATUS_AFFIRMING, pk,
	    rin);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		rs->detail = "this session's challenge was already answered";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if (r != 0)
		goto out;
	if ((rs->json = json_pack("{s:s}", "token", token)) == NULL)
		r = TT_ERR_NO_MEMORY;
out:
	free(token);
	json_decref(rin);
	json_decref(rd);
	json_decref(ev);
	json_decref(claims);
	json_decref(extra);
	json_decref(node);
	json_decref(body);
	tt_as_session_clear(&s);
	return r;
}

int
tt_as_h_kbs_resource(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	struct tt_as_session s = { 0 };
	struct tt_as_cached *pol_h = NULL;
	const json_t *pol;
	char *path = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = session_from_cookie(c, rq, rs, &s)) != 0)
		return r;
	if (s.tee_pubkey == NULL) {
		rs->detail = "no attestation in this session";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if (tt_as_resource_path(rq->tail, &path) != 0) {
		rs->detail = "resource path must be <repository>/<type>/<tag> of [A-Za-z0-9._-]";
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = tt_as_cached_read(c, TT_AS_CACHE_KBS_POLICY, TT_AS_KBS_POLICY, tt_as_now(),
	    &pol_h)) != 0)
		goto out;
	if ((pol = tt_as_cached_value(pol_h)) != NULL) {
		if ((r = release_allowed(pol, &s, path, rs)) != 0)
			goto out;
	} else if (!s.attested) {
		rs->detail = "no affirming attestation in this session";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	r = c->ops->resource_get(c->st, path, &data, &len);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		rs->detail = "no such resource";
		goto out;
	}
	if (r != 0)
		goto out;
	if ((r = tt_as_jwe_encrypt(s.tee_pubkey, data, len, &rs->json)) != 0)
		rs->detail = "cannot encrypt to the session's tee-pubkey";
out:
	tt_as_cached_release(pol_h);
	tt_free_secret(data, len);
	free(path);
	tt_as_session_clear(&s);
	return r;
}
