#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/mem.h"

void
tt_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
tt_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	tt_wipe(p, n);
	free(p);
}

bool
tt_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void *
tt_malloc(size_t n)
{
	return malloc(n == 0 ? 1 : n);
}

void *
tt_calloc(size_t nmemb, size_t size)
{
	return calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);
}

char *
tt_strndup_bounded(const char *s, size_t len, size_t max)
{
	char *d;

	if (len > max)
		return NULL;
	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}
