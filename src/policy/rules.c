/*
 * What every policy engine is held to (policy.h): the document members all engines share,
 * the list of required measurement names, and the checks run after any engine's eval.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "turtle/error.h"

#define TV_WARNING 32
#define TV_CONTRA 96
#define MAX_NAME 256u

static const char *const bank_names[] = { "sha1", "sha256", "sha384", "sha512" };

static bool
known_bank(const char *b)
{
	for (size_t i = 0; i < sizeof(bank_names) / sizeof(bank_names[0]); i++)
		if (strcmp(bank_names[i], b) == 0)
			return true;
	return false;
}

int
tt_policy_check_doc(const json_t *doc, const char **reason)
{
	const json_t *v, *pcrs, *idx, *names;
	const char *bank;
	size_t i, total = 0;

	if (doc == NULL)
		return 0;
	*reason = "a policy must be a JSON object";
	if (!json_is_object(doc))
		return TT_ERR_INVALID_ARGUMENT;
	v = json_object_get(doc, "engine");
	*reason = "\"engine\" must be a string";
	if (v != NULL && !json_is_string(v))
		return TT_ERR_INVALID_ARGUMENT;
	v = json_object_get(doc, "id");
	*reason = "\"id\" must be a string of at most 128 bytes";
	if (v != NULL && (!json_is_string(v) || json_string_length(v) > 128))
		return TT_ERR_INVALID_ARGUMENT;
	v = json_object_get(doc, "sample_affirming");
	*reason = "\"sample_affirming\" must be a boolean";
	if (v != NULL && !json_is_boolean(v))
		return TT_ERR_INVALID_ARGUMENT;
	pcrs = json_object_get(doc, "required_pcrs");
	*reason = "\"required_pcrs\" must be {\"sha1\"|\"sha256\"|\"sha384\"|\"sha512\": "
	    "[PCR index 0..23, ...]}";
	if (pcrs != NULL && !json_is_object(pcrs))
		return TT_ERR_INVALID_ARGUMENT;
	json_object_foreach((json_t *)pcrs, bank, v) {
		if (!known_bank(bank) || !json_is_array(v))
			return TT_ERR_INVALID_ARGUMENT;
		json_array_foreach(v, i, idx) {
			if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
			    json_integer_value(idx) > 23)
				return TT_ERR_INVALID_ARGUMENT;
			total++;
		}
	}
	names = json_object_get(doc, "required_claims");
	*reason = "\"required_claims\" must be an array of names (strings of 1..256 bytes)";
	if (names != NULL && !json_is_array(names))
		return TT_ERR_INVALID_ARGUMENT;
	json_array_foreach(names, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > MAX_NAME)
			return TT_ERR_INVALID_ARGUMENT;
		total++;
	}
	*reason = "a policy may require at most 1024 names";
	if (total > TT_POLICY_MAX_REQUIRED)
		return TT_ERR_INVALID_ARGUMENT;
	*reason = NULL;
	return 0;
}

static bool
owned_name(const char *name, const char *const *owned)
{
	for (size_t i = 0; owned != NULL && owned[i] != NULL; i++)
		if (strncmp(name, owned[i], strlen(owned[i])) == 0)
			return true;
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
tt_policy_required(const json_t *refvals, const json_t *doc, const char *const *owned,
	json_t **names_out, const char **reason)
{
	json_t *set = NULL, *arr = NULL, *v, *idx;
	const char *name, **keys = NULL;
	char pcr[64];
	size_t i, n = 0;
	int r;

	if ((r = tt_policy_check_doc(doc, reason)) != 0)
		return r;
	r = TT_ERR_NO_MEMORY;
	if ((set = json_object()) == NULL || (arr = json_array()) == NULL)
		goto out;
	/* A reference value names what the node must show, not only what it may show. */
	json_object_foreach((json_t *)refvals, name, v)
		if (json_array_size(v) > 0 && owned_name(name, owned) &&
		    json_object_set_new(set, name, json_true()) != 0)
			goto out;
	json_object_foreach(json_object_get(doc, "required_pcrs"), name, v) {
		json_array_foreach(v, i, idx) {
			snprintf(pcr, sizeof(pcr), "pcr.%s.%d", name, (int)json_integer_value(idx));
			if (json_object_set_new(set, pcr, json_true()) != 0)
				goto out;
		}
	}
	json_array_foreach(json_object_get(doc, "required_claims"), i, v)
		if (json_object_set_new(set, json_string_value(v), json_true()) != 0)
			goto out;
	if (json_object_size(set) > 0 &&
	    (keys = calloc(json_object_size(set), sizeof(*keys))) == NULL)
		goto out;
	json_object_foreach(set, name, v)
		keys[n++] = name;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(keys[i])) != 0)
			goto out;
	*names_out = arr;
	arr = NULL;
	r = 0;
out:
	free(keys);
	json_decref(set);
	json_decref(arr);
	return r;
}

/* Names come from evidence and a bound may cut one inside a UTF-8 sequence: drop a
 * trailing incomplete sequence so the reason stays a valid JSON string. */
static void
utf8_trim(char *s)
{
	size_t n = strlen(s), k = n, need;
	unsigned char lead;

	while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80 && n - k < 3)
		k--;
	if (k == 0)
		return;
	lead = (unsigned char)s[k - 1];
	if (lead < 0x80)
		return;
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	if (n - (k - 1) < need)
		s[k - 1] = '\0';
}

int
tt_policy_reason(json_t *reasons, size_t *dropped, const char *fmt, ...)
{
	char msg[TT_POLICY_MAX_REASON_LEN];
	va_list ap;

	if (json_array_size(reasons) >= TT_POLICY_MAX_REASONS) {
		(*dropped)++;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_trim(msg);
	return json_array_append_new(reasons, json_string(msg)) != 0 ? TT_ERR_NO_MEMORY : 0;
}

int
tt_policy_reasons_close(json_t *reasons, size_t dropped)
{
	char msg[96];

	if (dropped == 0)
		return 0;
	snprintf(msg, sizeof(msg), "... and %zu more reasons (full claims: the audit record)",
	    dropped);
	return json_array_append_new(reasons, json_string(msg)) != 0 ? TT_ERR_NO_MEMORY : 0;
}

/* Does a reason already speak of `name` ("<name>: ...")? */
static bool
named_in(const json_t *reasons, const char *name)
{
	size_t i, n = strlen(name);
	const json_t *v;

	json_array_foreach(reasons, i, v) {
		const char *s = json_string_value(v);

		if (s != NULL && strncmp(s, name, n) == 0 && s[n] == ':')
			return true;
	}
	return false;
}

int
tt_policy_enforce(const struct tt_policy_input *in, json_t *submod, enum tt_ear_status *status)
{
	const json_t *meas = json_object_get(in->claims, "measurements"), *v;
	json_t *reasons = json_object_get(submod, "turtle.reasons");
	json_t *tv = json_object_get(submod, "ear.trustworthiness-vector");
	enum tt_ear_status st = *status;
	size_t i, missing = 0, dropped = 0;

	if (!json_is_object(submod))
		return TT_ERR_INVALID_ARGUMENT;
	if (!json_is_array(reasons)) {
		if ((reasons = json_array()) == NULL ||
		    json_object_set_new(submod, "turtle.reasons", reasons) != 0)
			return TT_ERR_NO_MEMORY;
	}
	if (!json_is_object(tv)) {
		if ((tv = json_object()) == NULL ||
		    json_object_set_new(submod, "ear.trustworthiness-vector", tv) != 0)
			return TT_ERR_NO_MEMORY;
	}
	json_array_foreach(in->required, i, v) {
		const char *name = json_string_value(v);

		if (name == NULL || json_object_get(meas, name) != NULL)
			continue;
		missing++;
		if (!named_in(reasons, name) && json_array_size(reasons) < TT_POLICY_MAX_REASONS &&
		    tt_policy_reason(reasons, &dropped, "%.256s: required but absent from the "
		    "evidence (not quoted, not signed, or not verifiable)", name) != 0)
			return TT_ERR_NO_MEMORY;
	}
	if (missing > 0)
		st = TT_EAR_STATUS_CONTRAINDICATED;
	/* What the verifier found that no policy may accept (a debug-state platform...). */
	json_array_foreach(json_object_get(in->claims, "contraindications"), i, v) {
		const char *why = json_string_value(v);

		st = TT_EAR_STATUS_CONTRAINDICATED;
		/* An engine's own contraindicated hardware value (96..127) stays. */
		if (json_integer_value(json_object_get(tv, "hardware")) < TV_CONTRA &&
		    json_object_set_new(tv, "hardware", json_integer(TV_CONTRA)) != 0)
			return TT_ERR_NO_MEMORY;
		if (why != NULL && tt_policy_reason(reasons, &dropped, "%s", why) != 0)
			return TT_ERR_NO_MEMORY;
	}
	if (in->tee != NULL && strcmp(in->tee, "sample") == 0 &&
	    !json_is_true(json_object_get(in->doc, "sample_affirming"))) {
		/* Nothing vouches for sample evidence: say so in the vector. */
		if (json_object_set_new(tv, "hardware", json_integer(TV_WARNING)) != 0 ||
		    json_array_append_new(reasons,
		    json_string("sample attester: claims are not backed by hardware")) != 0)
			return TT_ERR_NO_MEMORY;
		if (st == TT_EAR_STATUS_AFFIRMING)
			st = TT_EAR_STATUS_WARNING;
	}
	if (json_object_set_new(submod, "ear.status", json_string(tt_ear_status_name(st))) != 0)
		return TT_ERR_NO_MEMORY;
	*status = st;
	return 0;
}
