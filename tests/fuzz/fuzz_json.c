/*
 * libFuzzer target: src/json against jansson, differentially. For every input the reader
 * must give jansson's verdict (json_loadb with JSON_REJECT_DUPLICATES) and, when both
 * accept, an equal value; the writer must give json_dumps(JSON_COMPACT)'s bytes for both
 * trees; the canonical (RFC 8785) form must be stable. The deliberate differences json.h
 * lists are skipped: our depth bound, numbers longer than our conversion buffer, and
 * jansson skipping a NUL byte after a token. Any other disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "turtle/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_bytes(const json_t *v)
{
	char *ours = NULL, *theirs = json_dumps(v, JSON_COMPACT);

	if (theirs == NULL || tt_json_write(v, &ours, NULL) != 0 || strcmp(ours, theirs) != 0)
		abort();
	free(ours);
	free(theirs);
}

/* RFC 8785 form (tt_json_canonical): what it writes parses, and writing that again gives
 * the same bytes (canonical means idempotent). */
static void
canonical_stable(const json_t *v)
{
	char *a = NULL, *b = NULL;
	size_t an = 0, bn = 0;
	json_t *back = NULL;

	if (tt_json_canonical(v, 1u << 20, &a, &an) != 0)
		return;
	if (strlen(a) != an)
		abort();
	if (tt_json_parse(a, an, 4096, &back, NULL) != 0 ||
	    tt_json_canonical(back, 1u << 20, &b, &bn) != 0 || bn != an || memcmp(a, b, an) != 0)
		abort();
	json_decref(back);
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_json_err e = { 0 };
	json_error_t je;
	json_t *ours = NULL, *theirs;
	int r;

	if (size > 1u << 16)
		return 0;
	r = tt_json_parse((const char *)data, size, 2048, &ours, &e);
	theirs = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (r == TT_ERR_LIMIT || (r != 0 && strcmp(e.what, "number too long") == 0) ||
	    (theirs == NULL && strstr(je.text, "depth") != NULL) ||
	    (r != 0 && theirs != NULL && memchr(data, 0, size) != NULL))
		goto out;
	if ((r == 0) != (theirs != NULL))
		abort();
	if (r == 0) {
		if (!json_equal(ours, theirs))
			abort();
		same_bytes(ours);
		same_bytes(theirs);
		canonical_stable(ours);
	}
out:
	json_decref(ours);
	json_decref(theirs);
	return 0;
}
