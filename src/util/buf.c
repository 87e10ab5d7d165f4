#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "turtle/error.h"
#include "util/buf.h"

void
tt_buf_init_ro(struct tt_buf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->d = (uint8_t *)(uintptr_t)data;
	b->len = b->cap = b->max = len;
	b->ro = true;
}

void
tt_buf_init(struct tt_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
tt_buf_set_secret(struct tt_buf *b)
{
	b->secret = true;
}

void
tt_buf_free(struct tt_buf *b)
{
	if (b == NULL)
		return;
	if (!b->ro && b->d != NULL) {
		if (b->secret)
			OPENSSL_cleanse(b->d, b->cap);
		free(b->d);
	}
	b->d = NULL;
	b->off = b->len = b->cap = 0;
	if (b->ro)
		b->max = 0;
}

void
tt_buf_reset(struct tt_buf *b)
{
	if (b->ro)
		return;
	if (b->secret && b->d != NULL)
		OPENSSL_cleanse(b->d, b->len);
	b->off = b->len = 0;
}

void
tt_buf_truncate(struct tt_buf *b, size_t len)
{
	if (b->ro || len >= b->len)
		return;
	if (b->secret)
		OPENSSL_cleanse(b->d + len, b->len - len);
	b->len = len;
	if (b->off > len)
		b->off = len;
}

size_t
tt_buf_len(const struct tt_buf *b)
{
	return b->len;
}

int
tt_buf_put_at(struct tt_buf *b, size_t at, const void *data, size_t n)
{
	if (b->ro)
		return TT_ERR_BAD_STATE;
	if (at > b->len || n > b->len - at)
		return TT_ERR_LIMIT;
	if (n > 0)
		memcpy(b->d + at, data, n);
	return 0;
}

size_t
tt_buf_avail(const struct tt_buf *b)
{
	return b->len - b->off;
}

const uint8_t *
tt_buf_ptr(const struct tt_buf *b)
{
	return b->d == NULL ? NULL : b->d + b->off;
}

int
tt_buf_expect_end(const struct tt_buf *b)
{
	return b->off == b->len ? 0 : TT_ERR_TRAILING;
}

int
tt_buf_get_ref(struct tt_buf *b, size_t n, const uint8_t **p)
{
	if (n > b->len - b->off)
		return TT_ERR_TRUNCATED;
	if (p != NULL)
		*p = b->d + b->off;
	b->off += n;
	return 0;
}

int
tt_buf_skip(struct tt_buf *b, size_t n)
{
	return tt_buf_get_ref(b, n, NULL);
}

int
tt_buf_get_bytes(struct tt_buf *b, void *out, size_t n)
{
	const uint8_t *p;
	int r;

	if ((r = tt_buf_get_ref(b, n, &p)) != 0)
		return r;
	if (n > 0)
		memcpy(out, p, n);
	return 0;
}

int
tt_buf_get_u8(struct tt_buf *b, uint8_t *v)
{
	return tt_buf_get_bytes(b, v, 1);
}

#define GET_INT(name, type, n, expr)                      \
	int name(struct tt_buf *b, type *v)               \
	{                                                 \
		const uint8_t *p;                         \
		int r;                                    \
		if ((r = tt_buf_get_ref(b, n, &p)) != 0)  \
			return r;                         \
		*v = (expr);                              \
		return 0;                                 \
	}

GET_INT(tt_buf_get_u16le, uint16_t, 2, (uint16_t)(p[0] | (p[1] << 8)))
GET_INT(tt_buf_get_u32le, uint32_t, 4,
	(uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24))
GET_INT(tt_buf_get_u64le, uint64_t, 8,
	(uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
	((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56))
GET_INT(tt_buf_get_u16be, uint16_t, 2, (uint16_t)((p[0] << 8) | p[1]))
GET_INT(tt_buf_get_u32be, uint32_t, 4,
	((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3])

int
tt_buf_reserve(struct tt_buf *b, size_t n, uint8_t **p)
{
	size_t need, ncap;
	uint8_t *nd;

	if (b->ro)
		return TT_ERR_BAD_STATE;
	if (n > b->max - b->len)
		return TT_ERR_LIMIT;
	need = b->len + n;
	if (need > b->cap) {
		ncap = b->cap < 64 ? 64 : b->cap;
		while (ncap < need)
			ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
		if (ncap > b->max)
			ncap = b->max;
		if (b->secret) {
			/* realloc could leave a copy of the secret behind */
			if ((nd = malloc(ncap)) == NULL)
				return TT_ERR_NO_MEMORY;
			if (b->d != NULL) {
				memcpy(nd, b->d, b->len);
				OPENSSL_cleanse(b->d, b->cap);
				free(b->d);
			}
		} else if ((nd = realloc(b->d, ncap)) == NULL) {
			return TT_ERR_NO_MEMORY;
		}
		b->d = nd;
		b->cap = ncap;
	}
	if (p != NULL)
		*p = b->d + b->len;
	return 0;
}

void
tt_buf_commit(struct tt_buf *b, size_t n)
{
	b->len += n;
}

int
tt_buf_put(struct tt_buf *b, const void *data, size_t n)
{
	uint8_t *p;
	int r;

	if ((r = tt_buf_reserve(b, n, &p)) != 0)
		return r;
	if (n > 0)
		memcpy(p, data, n);
	b->len += n;
	return 0;
}

int
tt_buf_put_u8(struct tt_buf *b, uint8_t v)
{
	return tt_buf_put(b, &v, 1);
}

int
tt_buf_put_u16le(struct tt_buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return tt_buf_put(b, p, sizeof(p));
}

int
tt_buf_put_u32le(struct tt_buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	return tt_buf_put(b, p, sizeof(p));
}

int
tt_buf_put_u64le(struct tt_buf *b, uint64_t v)
{
	uint8_t p[8];

	for (size_t i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return tt_buf_put(b, p, sizeof(p));
}

int
tt_buf_put_u16be(struct tt_buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return tt_buf_put(b, p, sizeof(p));
}

int
tt_buf_put_u32be(struct tt_buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return tt_buf_put(b, p, sizeof(p));
}
