/* Test vector reader; the contract is in slurp.h. */
#include "slurp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

uint8_t *
tt_test_slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	uint8_t *d;
	long n;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
	assert_non_null(f = fopen(path, "rbe"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	assert_non_null(d = malloc((size_t)n + 1));
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	d[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return d;
}
