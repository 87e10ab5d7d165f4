/*
 * libFuzzer target for the soft provider's PKCS#1 RSAPrivateKey reader (soft_der.c):
 * whatever it accepts must be views inside the input, non-empty, without a sign byte,
 * and a second parse must give the same views.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/soft/soft_der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct soft_rsa_parts a, b;

	if (tt_soft_rsa_der_parse(data, size, &a) != 0)
		return 0;
	if (tt_soft_rsa_der_parse(data, size, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	for (int i = 0; i < SOFT_RSA_NPARTS; i++) {
		if (a.len[i] == 0 || a.v[i] < data || a.len[i] > size ||
		    (size_t)(a.v[i] - data) > size - a.len[i])
			abort();
		if (a.v[i][0] & 0x80 && a.v[i] > data && a.v[i][-1] != 0)
			abort();   /* a magnitude with the top bit set came after its 0x00 */
	}
	return 0;
}
