/* Base64 codec; the contract is in b64.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turtle/error.h"
#include "util/b64.h"

static const char enc_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char enc_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decode table: the 6-bit value, V for "in an alphabet" (characters left out of the
 * initialiser are 0: not base64), and a flag for the two characters each alphabet has of
 * its own, so a mode can refuse the other alphabet and mixed input with one table. */
#define V 0x100u
#define STD_ONLY 0x200u
#define URL_ONLY 0x400u

static const uint16_t dec[256] = {
	['A'] = V | 0, ['B'] = V | 1, ['C'] = V | 2, ['D'] = V | 3, ['E'] = V | 4,
	['F'] = V | 5, ['G'] = V | 6, ['H'] = V | 7, ['I'] = V | 8, ['J'] = V | 9,
	['K'] = V | 10, ['L'] = V | 11, ['M'] = V | 12, ['N'] = V | 13, ['O'] = V | 14,
	['P'] = V | 15, ['Q'] = V | 16, ['R'] = V | 17, ['S'] = V | 18, ['T'] = V | 19,
	['U'] = V | 20, ['V'] = V | 21, ['W'] = V | 22, ['X'] = V | 23, ['Y'] = V | 24,
	['Z'] = V | 25, ['a'] = V | 26, ['b'] = V | 27, ['c'] = V | 28, ['d'] = V | 29,
	['e'] = V | 30, ['f'] = V | 31, ['g'] = V | 32, ['h'] = V | 33, ['i'] = V | 34,
	['j'] = V | 35, ['k'] = V | 36, ['l'] = V | 37, ['m'] = V | 38, ['n'] = V | 39,
	['o'] = V | 40, ['p'] = V | 41, ['q'] = V | 42, ['r'] = V | 43, ['s'] = V | 44,
	['t'] = V | 45, ['u'] = V | 46, ['v'] = V | 47, ['w'] = V | 48, ['x'] = V | 49,
	['y'] = V | 50, ['z'] = V | 51, ['0'] = V | 52, ['1'] = V | 53, ['2'] = V | 54,
	['3'] = V | 55, ['4'] = V | 56, ['5'] = V | 57, ['6'] = V | 58, ['7'] = V | 59,
	['8'] = V | 60, ['9'] = V | 61, ['+'] = V | STD_ONLY | 62,
	['/'] = V | STD_ONLY | 63, ['-'] = V | URL_ONLY | 62, ['_'] = V | URL_ONLY | 63,
};

size_t
tt_b64_enc_len(size_t n, unsigned mode)
{
	if (mode == TT_B64_URL)
		return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
	return (n + 2) / 3 * 4;
}

size_t
tt_b64_encode(const uint8_t *in, size_t n, unsigned mode, char *out)
{
	const char *a = mode == TT_B64_URL ? enc_url : enc_std;
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (mode != TT_B64_URL) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		if (mode != TT_B64_URL)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

int
tt_b64_encode_dup(const uint8_t *in, size_t n, unsigned mode, char **out)
{
	char *s;

	if (n > SIZE_MAX / 2 || (s = malloc(tt_b64_enc_len(n, mode) + 1)) == NULL)
		return TT_ERR_NO_MEMORY;
	tt_b64_encode(in, n, mode, s);
	*out = s;
	return 0;
}

size_t
tt_b64_dec_max(size_t il)
{
	return il / 4 * 3 + 3;
}

int
tt_b64_decode(const char *in, size_t il, unsigned mode, uint8_t *out, size_t outmax,
	size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned seen = 0;      /* STD_ONLY | URL_ONLY flags met so far */
	size_t i, o = 0, n = il, full;
	uint32_t v;

	/* Padding: only at the end, at most two, only with the standard-alphabet modes. */
	while (n > 0 && s[n - 1] == '=' && il - n < 2)
		n--;
	if (n != il && (mode == TT_B64_URL || il % 4 != 0))
		return TT_ERR_PARSE;
	/* The standard form is canonical only with its padding (RFC 4648 section 4). */
	if (mode == TT_B64_STD && il % 4 != 0)
		return TT_ERR_PARSE;
	if (n % 4 == 1)
		return TT_ERR_PARSE;
	if (n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1) > outmax)
		return TT_ERR_BUFFER_TOO_SMALL;
	full = n - n % 4;
	for (i = 0; i < full; i += 4) {
		uint16_t a = dec[s[i]], b = dec[s[i + 1]], c = dec[s[i + 2]], d = dec[s[i + 3]];

		if ((a & b & c & d & V) == 0)
			return TT_ERR_PARSE;
		seen |= (a | b | c | d) & (STD_ONLY | URL_ONLY);
		v = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 | (uint32_t)(c & 63) << 6 |
		    (d & 63);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	if (n % 4 != 0) {
		size_t rest = n % 4;

		v = 0;
		for (size_t k = 0; k < rest; k++) {
			if ((dec[s[full + k]] & V) == 0)
				return TT_ERR_PARSE;
			seen |= dec[s[full + k]] & (STD_ONLY | URL_ONLY);
			v |= (uint32_t)(dec[s[full + k]] & 63) << (18 - 6 * k);
		}
		/* Bits below the last whole byte must be zero: one encoding per byte string. */
		if ((rest == 2 && (v & 0xFFFFu) != 0) || (rest == 3 && (v & 0xFFu) != 0))
			return TT_ERR_PARSE;
		out[o++] = (uint8_t)(v >> 16);
		if (rest == 3)
			out[o++] = (uint8_t)(v >> 8);
	}
	if (seen == (STD_ONLY | URL_ONLY) ||
	    (mode == TT_B64_URL && (seen & STD_ONLY)) ||
	    (mode == TT_B64_STD && (seen & URL_ONLY)))
		return TT_ERR_PARSE;
	*outlen = o;
	return 0;
}
