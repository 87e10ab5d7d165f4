/*
 * Base64 (RFC 4648) for the bytes turtle exchanges with JSON peers: JOSE objects
 * (base64url without padding, section 5) and evidence from attesters (either alphabet,
 * padding optional). Table driven: the attestation path decodes tens of kilobytes per
 * request, and this is several times faster than the byte-at-a-time decoders it replaced.
 */
#ifndef TT_UTIL_B64_H
#define TT_UTIL_B64_H

#include <stddef.h>
#include <stdint.h>

enum {
	TT_B64_STD = 0,   /* +/ with = padding (required when decoding) */
	TT_B64_URL = 1,   /* encode: -_ without padding; decode: only that form */
	TT_B64_ANY = 2,   /* decode only: either alphabet (not mixed), padding optional */
};

/* Characters tt_b64_encode writes for n bytes (without the NUL). */
size_t tt_b64_enc_len(size_t n, unsigned mode);
/* Encode n bytes into out (tt_b64_enc_len + 1 bytes, NUL-terminated); returns the length. */
size_t tt_b64_encode(const uint8_t *in, size_t n, unsigned mode, char *out);
/* The same into a malloc'd string; TT_ERR_NO_MEMORY. */
int tt_b64_encode_dup(const uint8_t *in, size_t n, unsigned mode, char **out);
/* Upper bound of the decoded size of il characters. */
size_t tt_b64_dec_max(size_t il);
/*
 * Decode il characters. Rejected (TT_ERR_PARSE): characters outside the mode's alphabet,
 * padding in TT_B64_URL mode or anywhere but the end, a length that cannot be base64 (one
 * character left over), non-zero bits after the last byte (so every byte string has one
 * encoding). TT_ERR_BUFFER_TOO_SMALL when the result does not fit outmax.
 */
int tt_b64_decode(const char *in, size_t il, unsigned mode, uint8_t *out, size_t outmax,
	size_t *outlen);

#endif
