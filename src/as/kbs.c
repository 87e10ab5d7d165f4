/*
 * KBS protocol (Confidential Containers Trustee, kbs_attestation_protocol.md) on top of the
 * same verifiers, policy and issuer as the native API.
 *
 *   POST /kbs/v0/auth    {version, tee, extra-params} -> {nonce, extra-params} and the
 *                        cookie kbs-session-id (a fresh 256-bit id; the session row holds
 *                        the nonce).
 *   POST /kbs/v0/attest  {"runtime-data": {nonce, tee-pubkey}, tee-evidence} (current
 *                        Trustee) or {tee-pubkey, tee-evidence} (the older form). The
 *                        evidence must be bound to SHA-384 over the runtime data
 *                        serialised as compact JSON with sorted keys:
 *                        {"nonce":"<nonce>","tee-pubkey":{...}}. -> {token}
 *   GET  /kbs/v0/resource/<repo>/<type>/<tag>  -> flattened JWE of the resource encrypted
 *                        to the session's tee-pubkey, only after an affirming attestation
 *                        in this session (else 401; unknown resource 404).
 *
 * The session's nonce is cleared by the attestation that uses it (matched in the UPDATE),
 * so one challenge backs at most one attestation.
 */
#include <string.h>

#include <openssl/evp.h>

#include "http.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

#define KBS_COOKIE "kbs-session-id"

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
		rs->detail = "\"tee\" must be a tee type this service verifies (\"sample\", \"tpm\")";
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
	    (rs->json = json_pack("{s:s,s:{}}", "nonce", s.nonce, "extra-params")) == NULL)
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

int
tt_as_h_kbs_attest(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	struct tt_as_session s = { 0 };
	json_t *body = NULL, *rd = NULL, *ev = NULL, *claims = NULL, *extra = NULL;
	const json_t *pk, *rdin;
	const struct tt_as_verifier *vf;
	struct tt_as_verify_in vin = { 0 };
	struct tt_as_appraisal ap = { 0 };
	const char *reason = NULL, *rd_nonce;
	char *rdtxt = NULL, *token = NULL;
	uint8_t h[48];
	unsigned hl = 0;
	enum tt_ear_tier tier = TT_TIER_NONE;
	int r;

	if ((r = session_from_cookie(c, rq, rs, &s)) != 0)
		return r;
	if ((r = tt_as_body_json(rq, rs, &body)) != 0)
		goto out;
	r = TT_ERR_INVALID_ARGUMENT;
	if (s.nonce == NULL) {
		rs->detail = "this session's challenge was already answered: POST /kbs/v0/auth again";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	rdin = json_object_get(body, "runtime-data");
	pk = rdin != NULL ? json_object_get(rdin, "tee-pubkey") : json_object_get(body, "tee-pubkey");
	if (!json_is_object(pk) || !json_is_string(json_object_get(pk, "kty"))) {
		rs->detail = "\"tee-pubkey\" must be a JWK object";
		goto out;
	}
	if (rdin != NULL) {
		rd_nonce = json_string_value(json_object_get(rdin, "nonce"));
		if (rd_nonce == NULL || strcmp(rd_nonce, s.nonce) != 0) {
			rs->detail = "runtime-data nonce differs from the session's challenge";
			r = TT_ERR_NOT_AUTHENTICATED;
			goto out;
		}
	}
	ev = json_object_get(body, "tee-evidence");
	if (json_is_string(ev)) {
		/* Trustee clients send the evidence as a JSON document in a string. */
		ev = json_loads(json_string_value(ev), JSON_REJECT_DUPLICATES, NULL);
	} else {
		json_incref(ev);
	}
	if (!json_is_object(ev)) {
		rs->detail = "\"tee-evidence\" must be a JSON object (or a string holding one)";
		goto out;
	}
	if ((rd = json_pack("{s:s,s:O}", "nonce", s.nonce, "tee-pubkey", pk)) == NULL ||
	    (rdtxt = json_dumps(rd, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (EVP_Digest(rdtxt, strlen(rdtxt), h, &hl, EVP_sha384(), NULL) != 1) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	if ((vf = tt_as_verifier_find(s.tee)) == NULL) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	vin.tee = s.tee;
	vin.evidence = ev;
	vin.binding = h;
	vin.binding_len = hl;
	r = vf->verify(&vin, &claims, &reason);
	if (r != 0) {
		/* The challenge is spent even when the evidence is refused. */
		(void)c->ops->session_attest(c->st, s.id, s.nonce, false, NULL);
		tt_as_detail(rs, "evidence rejected: %s", reason != NULL ? reason : tt_strerror(r));
		goto out;
	}
	if ((extra = json_pack("{s:O}", "tee-pubkey", pk)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	ap.tee = s.tee;
	ap.group = "default";
	ap.nonce = s.nonce;
	ap.claims = claims;
	ap.extra = extra;
	if ((r = tt_as_appraise_and_sign(c, &ap, &token, &tier, rs)) != 0)
		goto out;
	r = c->ops->session_attest(c->st, s.id, s.nonce, tier == TT_TIER_AFFIRMING, pk);
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
	free(rdtxt);
	free(token);
	json_decref(rd);
	json_decref(ev);
	json_decref(claims);
	json_decref(extra);
	json_decref(body);
	tt_as_session_clear(&s);
	return r;
}

int
tt_as_h_kbs_resource(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	struct tt_as_session s = { 0 };
	char *path = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = session_from_cookie(c, rq, rs, &s)) != 0)
		return r;
	if (!s.attested || s.tee_pubkey == NULL) {
		rs->detail = "no affirming attestation in this session";
		r = TT_ERR_NOT_AUTHENTICATED;
		goto out;
	}
	if (tt_as_resource_path(rq->tail, &path) != 0) {
		rs->detail = "resource path must be <repository>/<type>/<tag> of [A-Za-z0-9._-]";
		r = TT_ERR_INVALID_ARGUMENT;
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
	tt_free_secret(data, len);
	free(path);
	tt_as_session_clear(&s);
	return r;
}
