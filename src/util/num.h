/* The one checked parser for numbers from text (config, CLI, environment). */
#ifndef TT_UTIL_NUM_H
#define TT_UTIL_NUM_H

#include <stdint.h>

/* Unsigned integer in [min, max]: decimal, 0x-prefixed hex, or 0-prefixed octal (file
 * modes rely on the octal form); the whole string must be
 * consumed; no sign, no whitespace. 0 or TT_ERR_PARSE; *out written only on success. */
int tt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int tt_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Size with optional K/M/G suffix (powers of 1024), e.g. "1M". */
int tt_parse_size(const char *s, uint64_t max, uint64_t *out);

#endif
