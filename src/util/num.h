/* The one checked parser for numbers from text (config, CLI, environment). */
#ifndef TT_UTIL_NUM_H
#define TT_UTIL_NUM_H

#include <stdint.h>

/*
 * Unsigned decimal integer in [min, max]. Only the digits 0-9 are accepted and the whole
 * string must be consumed: no sign, no whitespace, no "0x" prefix and no leading zero
 * ("0" itself is fine, "010" is refused rather than read as octal 8 or as 10, so a value
 * never means something other than what it looks like). 0 or TT_ERR_PARSE; *out is
 * written only on success.
 */
int tt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int tt_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Size: a decimal number as above with an optional K/M/G suffix (powers of 1024,
 * "K", "Ki", "KB" and "KiB" alike), e.g. "1M", in [0, max]. */
int tt_parse_size(const char *s, uint64_t max, uint64_t *out);
/* File permission bits: 1 to 4 octal digits ("660", "0660"), at most 0777. This is the
 * only octal reading in the tree and it is explicit at the call site. */
int tt_parse_mode(const char *s, uint32_t *out);

#endif
