/* Hex codec; the contract is in hex.h. */
#include "turtle/error.h"
#include "util/hex.h"

int
tt_hex_nibble(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
tt_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
tt_hex_decode(const char *in, size_t il, uint8_t *out, size_t cap, size_t *outn)
{
	const unsigned char *s = (const unsigned char *)in;

	if (il % 2 != 0)
		return TT_ERR_PARSE;
	for (size_t i = 0; i < il; i++)
		if (tt_hex_nibble(s[i]) < 0)
			return TT_ERR_PARSE;
	if (il / 2 > cap)
		return TT_ERR_LIMIT;
	for (size_t i = 0; i < il / 2; i++)
		out[i] = (uint8_t)(tt_hex_nibble(s[2 * i]) << 4 | tt_hex_nibble(s[2 * i + 1]));
	*outn = il / 2;
	return 0;
}
