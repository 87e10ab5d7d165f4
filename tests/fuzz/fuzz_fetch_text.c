/* libFuzzer target: the collateral fetcher's readers of PCS answers (src/attest/fetch):
 * the exact-text extraction of a signed member (tt_fetch_json_member_raw) for the two
 * members PCS signs, and the percent-decoding of issuer-chain headers. Beyond "no crash":
 * an extracted member lies inside the input, is itself JSON that jansson accepts, and
 * equals (as a value) what jansson reads for that key; a decoded header holds no NUL and
 * is never longer than its input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_member(const char *s, size_t n, const char *key)
{
	const char *v = NULL;
	size_t vl = 0;
	json_t *doc, *val;

	if (tt_fetch_json_member_raw(s, n, key, &v, &vl) != 0)
		return;
	if (v < s || vl == 0 || vl > n || (size_t)(v - s) > n - vl)
		abort();
	doc = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
	val = json_loadb(v, vl, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL || val == NULL || !json_equal(json_object_get(doc, key), val))
		abort();
	json_decref(doc);
	json_decref(val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *out = NULL;

	check_member(s, size, "tcbInfo");
	check_member(s, size, "enclaveIdentity");
	if (tt_fetch_pct_decode(s, size, &out) == 0) {
		if (strlen(out) > size || memchr(out, '\0', strlen(out)) != NULL)
			abort();
		free(out);
	}
	return 0;
}
