/* Secret hygiene helpers. */
#ifndef TT_UTIL_MEM_H
#define TT_UTIL_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Wipe n bytes; never optimised away. NULL-safe. */
void tt_wipe(void *p, size_t n);
/* Wipe then free. NULL-safe. */
void tt_free_secret(void *p, size_t n);
/* Constant-time equality of two equal-length byte strings (MACs, tokens, PINs). */
bool tt_ct_eq(const void *a, const void *b, size_t n);
/* malloc that wipes nothing but never returns NULL for n == 0 ambiguity: returns a
 * valid pointer for n == 0. */
void *tt_malloc(size_t n);
void *tt_calloc(size_t nmemb, size_t size);
/* strdup of at most max bytes; NULL on failure or if s is longer than max. */
char *tt_strndup_bounded(const char *s, size_t len, size_t max);

#endif
