/* The bounded DER reader behind tt_soft_rsa_der_parse: tag, length, value over tt_buf. */
#include "providers/soft/soft_der.h"
#include "turtle/error.h"
#include "util/buf.h"

#define DER_SEQUENCE 0x30
#define DER_INTEGER 0x02

/* One TLV with the expected tag; (*v, *vlen) views its contents. */
static int
get_tlv(struct tt_buf *b, uint8_t tag, const uint8_t **v, size_t *vlen)
{
	uint8_t t, l0, c;
	size_t n = 0;

	if (tt_buf_get_u8(b, &t) != 0 || t != tag || tt_buf_get_u8(b, &l0) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (l0 < 0x80) {
		n = l0;
	} else {
		unsigned nb = l0 & 0x7f;

		/* 0x80 is BER's indefinite form; 4 length bytes already mean 4 GiB */
		if (nb == 0 || nb > 4)
			return TT_ERR_INVALID_ARGUMENT;
		for (unsigned i = 0; i < nb; i++) {
			if (tt_buf_get_u8(b, &c) != 0 || (i == 0 && c == 0))
				return TT_ERR_INVALID_ARGUMENT;   /* truncated, or a leading zero byte */
			n = (n << 8) | c;
		}
		if (n < 0x80)
			return TT_ERR_INVALID_ARGUMENT;   /* the short form was required */
	}
	if (tt_buf_get_ref(b, n, v) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	*vlen = n;
	return 0;
}

/* A non-negative minimal INTEGER; the view drops a sign byte of 0x00. */
static int
get_uint(struct tt_buf *b, const uint8_t **v, size_t *vlen)
{
	const uint8_t *p;
	size_t n;

	if (get_tlv(b, DER_INTEGER, &p, &n) != 0 || n == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (p[0] & 0x80)
		return TT_ERR_INVALID_ARGUMENT;            /* negative */
	if (p[0] == 0 && n > 1) {
		if ((p[1] & 0x80) == 0)
			return TT_ERR_INVALID_ARGUMENT;    /* padding that was not needed */
		p++;
		n--;
	}
	*v = p;
	*vlen = n;
	return 0;
}

int
tt_soft_rsa_der_parse(const uint8_t *d, size_t len, struct soft_rsa_parts *out)
{
	struct soft_rsa_parts parts;
	struct tt_buf b, seq;
	const uint8_t *p;
	size_t n;

	if (d == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	tt_buf_init_ro(&b, d, len);
	if (get_tlv(&b, DER_SEQUENCE, &p, &n) != 0 || tt_buf_expect_end(&b) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	tt_buf_init_ro(&seq, p, n);
	if (get_uint(&seq, &p, &n) != 0 || n != 1 || p[0] != 0)
		return TT_ERR_INVALID_ARGUMENT;            /* version 0: two primes */
	for (int i = 0; i < SOFT_RSA_NPARTS; i++)
		if (get_uint(&seq, &parts.v[i], &parts.len[i]) != 0)
			return TT_ERR_INVALID_ARGUMENT;
	if (tt_buf_expect_end(&seq) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	*out = parts;
	return 0;
}
