/*
 * The appraisal pipeline shared by the native API and KBS: verified claims in, a signed
 * EAR token out (docs/turtle-as.md, "Appraisal").
 *
 *   1. the group's reference values and policy (through the cache);
 *   2. the names the evidence must carry: reference values the verifier owns, and the
 *      policy's required PCRs and claims (tt_policy_required);
 *   3. the engine's compile + eval, then tt_policy_enforce (no engine can skip it);
 *   4. the token: verdict, vector, reasons, the measurements used (bounded), a SHA-256
 *      of the RFC 8785 form of the full claims, and the id of the audit record that keeps
 *      the full claims (GET /v1/results/ID, admin).
 *
 * Token size: every token turtle-as issues must be one that libturtle and `turtle token
 * verify` accept (TT_EAR_TOKEN_MAX), so the token is built under TT_AS_TOKEN_MAX, well
 * below it: all claims when they are small, else only the measurements the appraisal
 * compared with a reference value or required, within a budget; if the signed token is
 * still too long the measurements go (the digest and the audit record stay), and a token
 * that cannot be made short enough is not issued at all.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "http.h"
#include "json/json.h"
#include "turtle/error.h"
#include "util/hex.h"
#include "util/log.h"

#define EAR_PROFILE "tag:github.com,2023:veraison/ear"
#define CLAIMS_BUDGET (24u * 1024u)     /* bytes of measurements put in a token */
#define CLAIMS_TEXT_MAX (64u << 20)     /* canonical claims (the evidence is far smaller) */

int
tt_as_cached_read(struct tt_as_ctx *c, int kind, const char *key, int64_t now,
	struct tt_as_cached **out)
{
	uint64_t gen;
	json_t *v = NULL;
	int r;

	if (tt_as_cache_get(c->cache, kind, key, out, &gen) == 0)
		return 0;
	switch (kind) {
	case TT_AS_CACHE_NODE:
		r = c->ops->node_get(c->st, key, &v);
		break;
	case TT_AS_CACHE_REFVALS:
		r = c->ops->refval_valid(c->st, key, now, &v);
		break;
	case TT_AS_CACHE_KBS_POLICY:
		r = c->ops->policy_get(c->st, key, &v);
		break;
	default:   /* the group's policy, else group default's, else none */
		r = c->ops->policy_get(c->st, key, &v);
		if (r == TT_ERR_DOES_NOT_EXIST && strcmp(key, "default") != 0)
			r = c->ops->policy_get(c->st, "default", &v);
		break;
	}
	if (r == TT_ERR_DOES_NOT_EXIST) {
		v = json_null();
		r = 0;
	}
	if (r != 0)
		return r;
	return tt_as_cache_put(c->cache, kind, key, v, gen, out);
}

/* Rough serialized size of one measurement (name and value(s), quotes, separators). */
static size_t
meas_cost(const char *name, const json_t *v)
{
	size_t n = strlen(name) + 4, i;
	const json_t *e;

	if (json_is_string(v))
		return n + json_string_length(v) + 3;
	json_array_foreach(v, i, e)
		n += json_string_length(e) + 3;
	return n + 2;
}

/*
 * The claims as the token shows them: all of them when they fit the budget; otherwise the
 * informational scalars and, within the budget, the measurements the appraisal used (a
 * reference value names them, or they are required). *complete says which.
 */
static int
token_claims(const json_t *claims, size_t canon_len, const json_t *refvals,
	const json_t *required, json_t **out, bool *complete)
{
	const json_t *meas = json_object_get(claims, "measurements"), *v;
	json_t *view = NULL, *sub = NULL;
	const char *k;
	size_t used = 0, i;
	int r = TT_ERR_NO_MEMORY;

	if (canon_len <= CLAIMS_BUDGET) {
		*out = json_incref((json_t *)claims);
		*complete = true;
		return 0;
	}
	if ((view = json_object()) == NULL || (sub = json_object()) == NULL)
		goto out;
	json_object_foreach((json_t *)claims, k, v)
		if (!json_is_object(v) && !json_is_array(v) && json_object_set(view, k, (json_t *)v) != 0)
			goto out;
	json_object_foreach((json_t *)meas, k, v) {
		if (json_array_size(json_object_get(refvals, k)) == 0)
			continue;
		if ((used += meas_cost(k, v)) > CLAIMS_BUDGET)
			break;
		if (json_object_set(sub, k, (json_t *)v) != 0)
			goto out;
	}
	json_array_foreach(required, i, v) {
		const char *name = json_string_value(v);
		const json_t *m = json_object_get(meas, name);

		if (m == NULL || json_object_get(sub, name) != NULL)
			continue;
		if ((used += meas_cost(name, m)) > CLAIMS_BUDGET)
			break;
		if (json_object_set(sub, name, (json_t *)m) != 0)
			goto out;
	}
	if (json_object_set(view, "measurements", sub) != 0)
		goto out;
	*out = view;
	view = NULL;
	*complete = false;
	r = 0;
out:
	json_decref(sub);
	json_decref(view);
	return r;
}

/* An engine other than the default may return anything: hold its reasons to the bounds
 * every token relies on. */
static int
bound_reasons(json_t *submod)
{
	json_t *reasons = json_object_get(submod, "turtle.reasons"), *fixed;
	size_t i, dropped = 0;
	const json_t *v;
	int r;

	if (!json_is_array(reasons) || (json_array_size(reasons) <= TT_POLICY_MAX_REASONS + 1))
		return 0;
	if ((fixed = json_array()) == NULL)
		return TT_ERR_NO_MEMORY;
	json_array_foreach(reasons, i, v)
		if ((r = tt_policy_reason(fixed, &dropped, "%s", json_is_string(v) ?
		    json_string_value(v) : "(not a string)")) != 0)
			goto out;
	if ((r = tt_policy_reasons_close(fixed, dropped)) == 0)
		r = json_object_set(submod, "turtle.reasons", fixed) != 0 ? TT_ERR_NO_MEMORY : 0;
out:
	json_decref(fixed);
	return r;
}

/* The audit record: the appraisal facts, then the required names and the canonical
 * claims spliced in as text (the required list is shared through the cache: it is only
 * read here, never referenced). Copied into the audit ring in pieces. */
static int
audit_record(struct tt_as_results *t, const char *id, const json_t *meta,
	const json_t *required, const char *canon, size_t canon_len)
{
	static const char k1[] = ",\"required\":", k2[] = ",\"claims\":";
	char *head = NULL, *req = NULL;
	size_t hl = 0, rl = 0;
	int r;

	if ((r = tt_json_write(meta, &head, &hl)) != 0 ||
	    (r = tt_json_write(required, &req, &rl)) != 0)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if (hl >= 2 && head[hl - 1] == '}') {
		const char *parts[] = { head, k1, req, k2, canon, "}" };
		const size_t lens[] = { hl - 1, sizeof(k1) - 1, rl, sizeof(k2) - 1, canon_len, 1 };

		r = tt_as_results_put(t, id, parts, lens, sizeof(parts) / sizeof(parts[0]));
	}
out:
	free(head);
	free(req);
	return r;
}

int
tt_as_appraise_and_sign(struct tt_as_ctx *c, const struct tt_as_appraisal *a, char **token,
	enum tt_ear_status *status, struct tt_as_resp *rs)
{
	const char *group = a->group != NULL ? a->group : "default";
	const char *tee = a->vf->tee, *why = NULL;
	struct tt_as_cached *refvals_h = NULL, *policy_h = NULL;
	const json_t *refvals, *policy;
	json_t *submod = NULL, *claims = NULL, *none = NULL, *view = NULL, *meta = NULL;
	struct tt_as_cached *required_h = NULL;
	const json_t *required;
	char req_key[300];
	uint64_t req_gen = 0;
	bool req_hit;
	const struct tt_policy_engine *eng = NULL;
	struct tt_policy_input in = { 0 };
	void *prog = NULL;
	char policy_id[300], digest_txt[8 + 64 + 1], *canon = NULL, *rid = NULL;
	char *tok = NULL;
	uint8_t dig[32];
	unsigned dl = 0;
	size_t canon_len = 0;
	bool complete = false;
	int64_t now = tt_as_now();
	const char *k;
	json_t *v;
	int r;

	/* The required names derive from the reference values and the policy: their cache
	 * generation is taken before those are read, so a list computed from values that an
	 * admin write replaced meanwhile is not kept. */
	snprintf(req_key, sizeof(req_key), "%s/%s", tee, group);
	req_hit = tt_as_cache_get(c->cache, TT_AS_CACHE_REQUIRED, req_key, &required_h,
	    &req_gen) == 0;
	if ((r = tt_as_cached_read(c, TT_AS_CACHE_REFVALS, group, now, &refvals_h)) != 0 ||
	    (r = tt_as_cached_read(c, TT_AS_CACHE_POLICY, group, now, &policy_h)) != 0)
		goto out;
	if ((refvals = tt_as_cached_value(refvals_h)) == NULL) {
		if ((none = json_object()) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		refvals = none;
	}
	policy = tt_as_cached_value(policy_h);   /* NULL: no policy, the built-in default */
	eng = tt_policy_find(json_string_value(json_object_get(policy, "engine")));
	if (eng == NULL || (json_object_get(policy, "engine") != NULL &&
	    !json_is_string(json_object_get(policy, "engine")))) {
		rs->detail = "the node group's policy names an unknown engine";
		r = TT_ERR_CONFIG;
		goto out;
	}
	if (!req_hit) {
		json_t *names = NULL;

		if ((r = tt_policy_required(refvals, policy, a->vf->owned, &names, &why)) != 0 ||
		    (r = tt_as_cache_put(c->cache, TT_AS_CACHE_REQUIRED, req_key, names, req_gen,
		    &required_h)) != 0) {
			if (r == TT_ERR_NO_MEMORY)
				goto out;
			tt_as_detail(rs, "the node group's policy is not usable: %s",
			    why != NULL ? why : tt_strerror(r));
			r = TT_ERR_CONFIG;
			goto out;
		}
	}
	required = tt_as_cached_value(required_h);
	if ((r = eng->compile(policy, &prog, &why)) != 0) {
		tt_as_detail(rs, "the node group's policy is not usable: %s",
		    why != NULL ? why : tt_strerror(r));
		r = TT_ERR_CONFIG;
		goto out;
	}
	in.tee = tee;
	in.node_id = a->node_id;
	in.group = group;
	in.claims = a->claims;
	in.refvals = refvals;
	in.required = required;
	in.doc = policy;
	if ((r = eng->eval(prog, &in, &submod, status)) != 0 ||
	    (r = tt_policy_enforce(&in, submod, status)) != 0 ||
	    (r = bound_reasons(submod)) != 0)
		goto out;
	snprintf(policy_id, sizeof(policy_id), "policy:%s/%.200s", eng->name,
	    policy != NULL && json_is_string(json_object_get(policy, "id")) ?
	    json_string_value(json_object_get(policy, "id")) : "builtin");

	/* What the token says about the claims, and the record that keeps all of them. */
	if ((r = tt_json_canonical(a->claims, CLAIMS_TEXT_MAX, &canon, &canon_len)) != 0) {
		rs->detail = "the claims have no canonical form";
		goto out;
	}
	if (EVP_Digest(canon, canon_len, dig, &dl, EVP_sha256(), NULL) != 1 || dl != 32) {
		r = TT_ERR_GENERIC;
		goto out;
	}
	memcpy(digest_txt, "sha-256:", 8);
	tt_hex_encode(dig, sizeof(dig), digest_txt + 8);
	if ((r = tt_as_random_b64url(16, &rid)) != 0 ||
	    (r = token_claims(a->claims, canon_len, refvals, required, &view, &complete)) != 0)
		goto out;
	r = TT_ERR_NO_MEMORY;
	if (json_object_set_new(submod, "turtle.claims-digest", json_string(digest_txt)) != 0 ||
	    json_object_set_new(submod, "turtle.claims-complete", json_boolean(complete)) != 0)
		goto out;
	/* The record's appraisal is a shallow copy taken now: the token's submodule gets the
	 * token's view of the claims next, which the record carries whole anyway. */
	meta = json_pack("{s:s,s:I,s:s,s:s*,s:s,s:s,s:o}", "result-id", rid,
	    "iat", (json_int_t)now, "tee", tee, "node-id", a->node_id, "node-group", group,
	    "policy-id", policy_id, "appraisal", json_copy(submod));
	if (meta == NULL)
		goto out;
	if (json_object_set(submod, "turtle.claims", view) != 0)
		goto out;
	claims = json_pack("{s:s,s:I,s:I,s:s,s:{s:s,s:s},s:s,s:{s:O},s:s}",
	    "eat_profile", EAR_PROFILE,
	    "iat", (json_int_t)now,
	    "exp", (json_int_t)(now + (int64_t)c->cfg->token_ttl),
	    "eat_nonce", a->nonce,
	    "ear.verifier-id", "developer", "https://turtle.example/turtle-as",
	    "build", "turtle-as " TT_AS_VERSION,
	    "ear.appraisal-policy-id", policy_id,
	    "submods", tee, submod,
	    "turtle.result-id", rid);
	if (claims == NULL)
		goto out;
	if (a->node_id != NULL)
		json_object_set_new(claims, "turtle.node-id", json_string(a->node_id));
	json_object_set_new(claims, "turtle.node-group", json_string(group));
	json_object_foreach((json_t *)a->extra, k, v)
		json_object_set(claims, k, v);
	if ((r = tt_as_issuer_sign(c->issuer, claims, &tok)) != 0)
		goto out;
	if (strlen(tok) > TT_AS_TOKEN_MAX) {
		/* Still too long (long names, a big TEE key): keep the verdict and the digest. */
		json_t *bare = json_pack("{s:O*}", "tee", json_object_get(a->claims, "tee"));

		free(tok);
		tok = NULL;
		r = TT_ERR_NO_MEMORY;
		if (bare == NULL || json_object_set_new(submod, "turtle.claims", bare) != 0 ||
		    json_object_set_new(submod, "turtle.claims-complete", json_false()) != 0)
			goto out;
		if ((r = tt_as_issuer_sign(c->issuer, claims, &tok)) != 0)
			goto out;
		if (strlen(tok) > TT_AS_TOKEN_MAX) {
			rs->detail = "the attestation result would not fit in a token";
			r = TT_ERR_LIMIT;
			goto out;
		}
	}
	if (json_object_set_new(meta, "token-sha256", json_null()) != 0) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (EVP_Digest(tok, strlen(tok), dig, &dl, EVP_sha256(), NULL) == 1 && dl == 32) {
		char th[65];

		tt_hex_encode(dig, sizeof(dig), th);
		json_object_set_new(meta, "token-sha256", json_string(th));
	}
	if (c->results != NULL &&
	    (r = audit_record(c->results, rid, meta, required, canon, canon_len)) != 0)
		goto out;
	*token = tok;
	tok = NULL;
out:
	if (prog != NULL)
		eng->release(prog);
	tt_as_cached_release(refvals_h);
	tt_as_cached_release(policy_h);
	free(tok);
	free(rid);
	free(canon);
	json_decref(meta);
	json_decref(view);
	tt_as_cached_release(required_h);
	json_decref(none);
	json_decref(submod);
	json_decref(claims);
	return r;
}

int
tt_as_h_results(struct tt_as_ctx *c, const struct tt_as_req *rq, struct tt_as_resp *rs)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (strcmp(rq->method, "GET") != 0) {
		rs->detail = "method not supported on this resource";
		return TT_ERR_NOT_SUPPORTED;
	}
	if (rq->tail[0] == '\0' || strlen(rq->tail) > 64) {
		rs->detail = "GET /v1/results/ID with the token's turtle.result-id";
		return TT_ERR_DOES_NOT_EXIST;
	}
	if ((r = tt_as_results_get(c->results, rq->tail, &text, &len)) != 0) {
		if (r == TT_ERR_DOES_NOT_EXIST)
			rs->detail = "no such result (unknown, or older than the audit budget keeps)";
		return r;
	}
	rs->json = json_loadb(text, len, 0, NULL);
	free(text);
	return rs->json != NULL ? 0 : TT_ERR_NO_MEMORY;
}
