/*
 * Test helper: read a whole test vector file into memory. Only for tests: it fails the
 * running cmocka test instead of returning an error.
 */
#ifndef TT_TEST_SLURP_H
#define TT_TEST_SLURP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The contents of dir/name in a new buffer the caller frees, followed by a NUL that *len
 * does not count (so text files can be used as C strings). Fails the test when the file
 * cannot be read or is empty.
 */
uint8_t *tt_test_slurp(const char *dir, const char *name, size_t *len);

#endif
