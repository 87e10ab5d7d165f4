/*
 * EAR claims: status names, the AR4SI tiers and the claims set of one result.
 */
#include <string.h>

#include <stdint.h>
#include <stdlib.h>

#include "ear.h"
#include "internal.h"
#include "json.h"
#include "tt_config.h"
#include "turtle/error.h"
#include "util/b64.h"
#include "util/mem.h"

static const char *const status_names[] = {
	[TT_EAR_STATUS_NONE] = "none",
	[TT_EAR_STATUS_AFFIRMING] = "affirming",
	[TT_EAR_STATUS_WARNING] = "warning",
	[TT_EAR_STATUS_CONTRAINDICATED] = "contraindicated",
};

static const char *const tv_names[TT_EAR_TV_COUNT] = {
	"instance-identity", "configuration", "executables", "file-system",
	"hardware", "runtime-opaque", "storage-opaque", "sourced-data",
};

const char *
tt_ear_status_name(enum tt_ear_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return NULL;
	return status_names[s];
}

int
tt_ear_status_parse(const char *name, enum tt_ear_status *out)
{
	size_t i;

	if (name == NULL)
		return TT_ERR_PARSE;
	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum tt_ear_status)i;
			return 0;
		}
	}
	return TT_ERR_PARSE;
}

const char *
tt_ear_tv_claim_name(enum tt_ear_tv_claim c)
{
	if ((unsigned)c >= TT_EAR_TV_COUNT)
		return NULL;
	return tv_names[c];
}

enum tt_ear_status
tt_ear_tier_of(int8_t v)
{
	/* AR4SI gives each tier a positive band and a mirrored negative band for
	 * implementation-specific values of the same tier. */
	if (v >= -1 && v <= 1)
		return TT_EAR_STATUS_NONE;
	if ((v >= 2 && v <= 31) || (v >= -32 && v <= -2))
		return TT_EAR_STATUS_AFFIRMING;
	if ((v >= 32 && v <= 95) || (v >= -96 && v <= -33))
		return TT_EAR_STATUS_WARNING;
	return TT_EAR_STATUS_CONTRAINDICATED;
}

enum tt_ear_status
tt_ear_status_from_vector(const int8_t tv[TT_EAR_TV_COUNT], const bool set[TT_EAR_TV_COUNT])
{
	enum tt_ear_status worst = TT_EAR_STATUS_NONE;
	size_t i;

	/* The numeric order of the enum from affirming upwards is the order of badness;
	 * "none" claims do not lower an otherwise affirming vector. */
	for (i = 0; i < TT_EAR_TV_COUNT; i++) {
		enum tt_ear_status t;

		if (!set[i])
			continue;
		t = tt_ear_tier_of(tv[i]);
		if (t > worst)
			worst = t;
	}
	return worst;
}

static int
build_submod(const struct tt_ear_submod *sm, json_t **out)
{
	json_t *o = NULL, *tv = NULL;
	const char *st = tt_ear_status_name(sm->status);
	size_t i;
	int r = TT_ERR_NO_MEMORY;

	if (st == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((sm->extra != NULL && !json_is_object(sm->extra)) ||
	    (sm->annotated_evidence != NULL && !json_is_object(sm->annotated_evidence)))
		return TT_ERR_INVALID_ARGUMENT;
	if ((o = json_object()) == NULL || (tv = json_object()) == NULL)
		goto out;
	/* extra first, so the standard members written below always win. */
	if (sm->extra != NULL && json_object_update(o, (json_t *)sm->extra) != 0)
		goto out;
	for (i = 0; i < TT_EAR_TV_COUNT; i++) {
		if (sm->tv_set[i] &&
		    json_object_set_new(tv, tv_names[i], json_integer(sm->tv[i])) != 0)
			goto out;
	}
	if (json_object_set_new(o, "ear.status", json_string(st)) != 0)
		goto out;
	if (json_object_size(tv) > 0) {
		if (json_object_set(o, "ear.trustworthiness-vector", tv) != 0)
			goto out;
	}
	if (sm->policy_id != NULL &&
	    json_object_set_new(o, "ear.appraisal-policy-id", json_string(sm->policy_id)) != 0)
		goto out;
	if (sm->annotated_evidence != NULL &&
	    json_object_set_new(o, TT_EAR_ANNOTATED_EVIDENCE,
		json_deep_copy(sm->annotated_evidence)) != 0)
		goto out;
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(tv);
	json_decref(o);
	return r;
}

int
tt_ear_build(const struct tt_ear_result *res, uint64_t now, json_t **claims_out)
{
	json_t *c = NULL, *subs = NULL, *sm = NULL;
	uint32_t life = res->lifetime ? res->lifetime : TT_EAR_DEFAULT_LIFETIME;
	size_t i;
	int r;

	if (res->n_submods == 0 || res->submods == NULL || life > TT_EAR_MAX_LIFETIME ||
	    now > (uint64_t)INT64_MAX - life)
		return TT_ERR_INVALID_ARGUMENT;
	/* EAT bounds a nonce to 8..64 bytes; as text (base64) that is up to 88 characters. */
	if (res->nonce != NULL && (strlen(res->nonce) < 8 || strlen(res->nonce) > 88))
		return TT_ERR_INVALID_ARGUMENT;

	r = TT_ERR_NO_MEMORY;
	if ((c = json_object()) == NULL || (subs = json_object()) == NULL)
		goto out;
	for (i = 0; i < res->n_submods; i++) {
		const char *name = res->submods[i].name;

		if (name == NULL || *name == '\0' || json_object_get(subs, name) != NULL) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if ((r = build_submod(&res->submods[i], &sm)) != 0)
			goto out;
		r = TT_ERR_NO_MEMORY;
		if (json_object_set_new(subs, name, sm) != 0) {
			sm = NULL;
			goto out;
		}
		sm = NULL;
	}
	if (json_object_set_new(c, "eat_profile", json_string(TT_EAR_PROFILE)) != 0 ||
	    json_object_set_new(c, "iat", json_integer((json_int_t)now)) != 0 ||
	    json_object_set_new(c, "exp", json_integer((json_int_t)(now + life))) != 0 ||
	    json_object_set_new(c, "ear.verifier-id", json_pack("{s:s,s:s}",
		"developer", res->verifier_developer ? res->verifier_developer : "turtle",
		"build", res->verifier_build ? res->verifier_build : "turtle " TT_VERSION)) != 0 ||
	    json_object_set(c, "submods", subs) != 0)
		goto out;
	if (res->nonce != NULL &&
	    json_object_set_new(c, "eat_nonce", json_string(res->nonce)) != 0)
		goto out;
	*claims_out = c;
	c = NULL;
	r = 0;
out:
	json_decref(subs);
	json_decref(c);
	return r;
}

/* ---- helpers shared with jws.c, keys.c and jwe.c ---- */

int
tt_ear_b64_enc(const void *in, size_t len, char **out)
{
	return tt_b64_encode_dup(in, len, TT_B64_URL, out);
}

int
tt_ear_b64_dec(const char *in, size_t il, size_t max, uint8_t **out, size_t *outlen)
{
	size_t cap = tt_b64_dec_max(il), n = 0;
	uint8_t *b;

	if (il / 4 * 3 > max + 3)
		return TT_ERR_PARSE;
	if (cap > max)
		cap = max;
	if ((b = malloc(cap + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (tt_b64_decode(in, il, TT_B64_URL, b, cap, &n) != 0) {
		free(b);
		return TT_ERR_PARSE;
	}
	b[n] = 0;
	*out = b;
	*outlen = n;
	return 0;
}

int
tt_ear_b64_json(const char *in, size_t il, size_t max, json_t **out)
{
	uint8_t *b = NULL;
	size_t n = 0;
	json_t *j;
	int r;

	if ((r = tt_ear_b64_dec(in, il, max, &b, &n)) != 0)
		return r;
	j = NULL;
	r = tt_json_parse((const char *)b, n, TT_JSON_DEPTH_DEFAULT, &j, NULL);
	free(b);
	if (r != 0 || !json_is_object(j)) {
		json_decref(j);
		return TT_ERR_PARSE;
	}
	*out = j;
	return 0;
}

void
tt_ear_jwk_free(json_t *jwk)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
	size_t i;

	if (jwk == NULL)
		return;
	/* jansson frees strings without wiping; scrub the private members first when this
	 * is the last reference. */
	if (jwk->refcount == 1 && json_is_object(jwk)) {
		for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
			json_t *v = json_object_get(jwk, priv[i]);

			if (json_is_string(v))
				tt_wipe((char *)json_string_value(v), json_string_length(v));
		}
	}
	json_decref(jwk);
}
