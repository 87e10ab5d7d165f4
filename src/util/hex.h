/* Hexadecimal text for digests and fingerprints (claims, config, test vectors). */
#ifndef TT_UTIL_HEX_H
#define TT_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value 0..15 of one hex digit (either case), or -1. */
int tt_hex_nibble(unsigned char c);
/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void tt_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode il characters of hex (either case). TT_ERR_PARSE for an odd length or a
 * character that is not hex (checked before anything is written), TT_ERR_LIMIT when the
 * result would exceed cap bytes. Empty text decodes to 0 bytes. */
int tt_hex_decode(const char *in, size_t il, uint8_t *out, size_t cap, size_t *outn);

#endif
