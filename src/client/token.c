/*
 * libturtle's token verification: a thin, JSON-text face over the EAR library so that
 * applications need neither jansson nor libjose headers.
 */
#include <stdlib.h>
#include <time.h>

#include "ear.h"
#include "turtle/token.h"

static int
dump(const json_t *j, char **out)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s == NULL)
		return TT_ERR_NO_MEMORY;
	*out = s;
	return 0;
}

int
tt_token_verify(const char *token, const char *jwks_json,
	const struct tt_token_verify_opts *opts, char **claims_json_out, char **reason_out)
{
	struct tt_ear_verify_opts o = { 0 };
	json_t *claims = NULL;
	char *text = NULL;
	int r;

	if (token == NULL || jwks_json == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (opts != NULL) {
		o.now = opts->now;
		o.leeway = opts->leeway;
		o.nonce = opts->nonce;
		o.nonce_len = opts->nonce_len;
	}
	if (o.now == 0)
		o.now = (uint64_t)time(NULL);
	r = tt_ear_verify(token, jwks_json, &o, claims_json_out ? &claims : NULL, reason_out);
	if (r != 0)
		return r;
	if (claims_json_out != NULL) {
		r = dump(claims, &text);
		json_decref(claims);
		if (r != 0)
			return r;
		*claims_json_out = text;
	}
	return 0;
}

int
tt_token_decode_unverified(const char *token, char **header_json_out, char **claims_json_out)
{
	json_t *h = NULL, *c = NULL;
	char *hs = NULL, *cs = NULL;
	int r;

	if (token == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_ear_decode_unverified(token, &h, &c)) != 0)
		return r;
	if ((header_json_out != NULL && (r = dump(h, &hs)) != 0) ||
	    (claims_json_out != NULL && (r = dump(c, &cs)) != 0))
		goto out;
	if (header_json_out != NULL)
		*header_json_out = hs;
	if (claims_json_out != NULL)
		*claims_json_out = cs;
	hs = cs = NULL;
out:
	free(hs);
	free(cs);
	json_decref(h);
	json_decref(c);
	return r;
}
