/*
 * tt_buf: the one bounded buffer for untrusted bytes.
 *
 * A reader consumes from [off, len); a writer appends up to a hard cap `max`.
 * Every get either consumes exactly what it returns or fails with TT_ERR_TRUNCATED and
 * leaves the buffer and the out-parameter untouched. Every put either appends or fails
 * with TT_ERR_LIMIT / TT_ERR_NO_MEMORY. Bounds are checked as `n > len - off`, which
 * cannot overflow. Handlers never index raw request bytes themselves.
 *
 * The struct is public only so that it can live on the stack; use the functions.
 */
#ifndef TT_UTIL_BUF_H
#define TT_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tt_buf {
	uint8_t *d;       /* storage; NULL until the first put for a writer */
	size_t off;       /* read position */
	size_t len;       /* bytes written / available */
	size_t cap;       /* allocated bytes */
	size_t max;       /* hard cap on len */
	bool ro;          /* wraps caller memory: no writes, not freed */
	bool secret;      /* wipe on free and on growth */
};

/* Read-only view of caller memory (not copied, not freed). */
void tt_buf_init_ro(struct tt_buf *b, const void *data, size_t len);
/* Empty growable writer that will never hold more than `max` bytes. */
void tt_buf_init(struct tt_buf *b, size_t max);
/* Mark the contents as secret: wiped whenever memory is released. */
void tt_buf_set_secret(struct tt_buf *b);
/* Release storage (wiping it if secret); NULL-safe; the buffer is reusable after. */
void tt_buf_free(struct tt_buf *b);
/* Drop the contents but keep the allocation (wiped if secret). */
void tt_buf_reset(struct tt_buf *b);
/* Drop what was written after the first `len` bytes (wiped if secret); no-op if the
 * buffer holds no more than that. */
void tt_buf_truncate(struct tt_buf *b, size_t len);

size_t tt_buf_avail(const struct tt_buf *b);    /* unread bytes */
size_t tt_buf_len(const struct tt_buf *b);      /* bytes written so far, read or not */
const uint8_t *tt_buf_ptr(const struct tt_buf *b); /* first unread byte */
/* TT_ERR_TRAILING if unread bytes remain. */
int tt_buf_expect_end(const struct tt_buf *b);

int tt_buf_get_u8(struct tt_buf *b, uint8_t *v);
int tt_buf_get_u16le(struct tt_buf *b, uint16_t *v);
int tt_buf_get_u32le(struct tt_buf *b, uint32_t *v);
int tt_buf_get_u64le(struct tt_buf *b, uint64_t *v);
int tt_buf_get_u16be(struct tt_buf *b, uint16_t *v);
int tt_buf_get_u32be(struct tt_buf *b, uint32_t *v);
/* Copy n bytes out. */
int tt_buf_get_bytes(struct tt_buf *b, void *out, size_t n);
/* Borrow n bytes in place (valid while the buffer lives and is not written). */
int tt_buf_get_ref(struct tt_buf *b, size_t n, const uint8_t **p);
int tt_buf_skip(struct tt_buf *b, size_t n);

/* Ensure room for n more bytes (within max) and return where they go; the caller
 * then commits them with tt_buf_commit. */
int tt_buf_reserve(struct tt_buf *b, size_t n, uint8_t **p);
void tt_buf_commit(struct tt_buf *b, size_t n);
int tt_buf_put(struct tt_buf *b, const void *data, size_t n);
/* Overwrite n bytes already written, from offset `at` (a length or header filled in once
 * what follows it is known). TT_ERR_LIMIT unless at + n <= tt_buf_len(b). */
int tt_buf_put_at(struct tt_buf *b, size_t at, const void *data, size_t n);
int tt_buf_put_u8(struct tt_buf *b, uint8_t v);
int tt_buf_put_u16le(struct tt_buf *b, uint16_t v);
int tt_buf_put_u32le(struct tt_buf *b, uint32_t v);
int tt_buf_put_u64le(struct tt_buf *b, uint64_t v);
int tt_buf_put_u16be(struct tt_buf *b, uint16_t v);
int tt_buf_put_u32be(struct tt_buf *b, uint32_t v);

#endif
