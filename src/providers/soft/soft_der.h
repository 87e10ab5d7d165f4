/*
 * PKCS#1 RSAPrivateKey (RFC 8017, A.1.2), two-prime form, read without OpenSSL's
 * decoder. OpenSSL 3.0's decoder copies the DER into buffers it frees without clearing
 * them, so every unwrap of an RSA key would leave its private key in freed heap, where a
 * core dump finds it. This reader only points into the caller's (wiped) buffer.
 */
#ifndef TT_PROVIDERS_SOFT_DER_H
#define TT_PROVIDERS_SOFT_DER_H

#include <stddef.h>
#include <stdint.h>

enum {
	SOFT_RSA_N, SOFT_RSA_E, SOFT_RSA_D, SOFT_RSA_P, SOFT_RSA_Q,
	SOFT_RSA_DP, SOFT_RSA_DQ, SOFT_RSA_QINV,
	SOFT_RSA_NPARTS
};

/* Big-endian magnitudes (no sign byte, at least one byte) inside the parsed buffer. */
struct soft_rsa_parts {
	const uint8_t *v[SOFT_RSA_NPARTS];
	size_t len[SOFT_RSA_NPARTS];
};

/*
 * Parse DER `d` as SEQUENCE { INTEGER 0, 8 positive INTEGERs } with nothing after it.
 * Strict DER: definite minimal lengths (at most 4 length bytes), minimal INTEGERs, no
 * negative values, version 0 only (multi-prime keys are refused). 0 or
 * TT_ERR_INVALID_ARGUMENT; *out is written only on success.
 */
int tt_soft_rsa_der_parse(const uint8_t *d, size_t len, struct soft_rsa_parts *out);

#endif
