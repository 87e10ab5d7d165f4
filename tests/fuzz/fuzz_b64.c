/*
 * libFuzzer target: util/b64. The first byte picks the decode mode. Whatever decodes must
 * fit the bound the header promises and re-encode to the input (strict modes have one
 * encoding per byte string); whatever is encoded must decode back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turtle/error.h"
#include "util/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;
	const char *in;
	size_t il, n = 0, cap, n2 = 0;
	uint8_t *out, *back;
	char *enc;
	int r;

	if (size < 1 || size > 1u << 16)
		return 0;
	mode = data[0] % 3;
	in = (const char *)data + 1;
	il = size - 1;
	cap = tt_b64_dec_max(il);
	if ((out = malloc(cap + 1)) == NULL || (enc = malloc(il * 2 + 8)) == NULL ||
	    (back = malloc(il + 1)) == NULL)
		abort();
	r = tt_b64_decode(in, il, mode, out, cap, &n);
	if (r == 0) {
		unsigned em = mode == TT_B64_URL ? TT_B64_URL : TT_B64_STD;
		size_t el;

		if (n > cap)
			abort();
		el = tt_b64_encode(out, n, em, enc);
		if (el != tt_b64_enc_len(n, em))
			abort();
		/* Canonical: a strict-mode input equals its re-encoding. */
		if (mode != TT_B64_ANY && (el != il || memcmp(enc, in, il) != 0))
			abort();
		/* A smaller buffer than the result is refused, not overrun. */
		if (n > 0 && tt_b64_decode(in, il, mode, out, n - 1, &n2) != TT_ERR_BUFFER_TOO_SMALL)
			abort();
	} else if (r != TT_ERR_PARSE) {
		abort();
	}
	/* The input as bytes: encode, decode back. */
	tt_b64_encode((const uint8_t *)in, il, TT_B64_URL, enc);
	if (tt_b64_decode(enc, strlen(enc), TT_B64_URL, back, il, &n2) != 0 || n2 != il ||
	    memcmp(back, in, il) != 0)
		abort();
	free(out);
	free(enc);
	free(back);
	return 0;
}
