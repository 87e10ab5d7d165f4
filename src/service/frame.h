/*
 * Frame reader: a socket-free state machine that turns a byte stream into PARSEC
 * request frames.
 *
 * It collects the 36-byte header, decodes it (tt_wire_hdr_decode) and checks body_len
 * against max_body and auth_len against max_auth BEFORE allocating anything; only then
 * does it allocate exactly body_len + auth_len bytes for the rest of the frame. Bytes
 * beyond the end of a frame are not consumed (the caller feeds them again after
 * tt_frame_next), so pipelined requests are never lost or merged.
 *
 * Per-connection cost while idle is this struct only: no buffer is held between
 * frames. The payload may hold secrets (imported keys) and is wiped when released.
 */
#ifndef TT_SERVICE_FRAME_H
#define TT_SERVICE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/header.h"

enum tt_frame_state {
	TT_FRAME_HEADER,     /* collecting the 36 header bytes (possibly none yet) */
	TT_FRAME_PAYLOAD,    /* header accepted, collecting body + auth */
	TT_FRAME_COMPLETE,   /* a whole frame is available */
	TT_FRAME_ERROR,      /* header rejected; the stream cannot be resynchronised */
};

/* Results of tt_frame_feed (errors are negative enum tt_err values). */
#define TT_FRAME_MORE  0   /* all offered bytes consumed, frame not complete yet */
#define TT_FRAME_DONE  1   /* a frame is complete; unconsumed bytes belong to the next */

/*
 * Optional accounting of payload memory (conn.c bounds the bytes buffered across all
 * connections with it). take() is asked before a payload of n bytes is allocated; a
 * non-zero tt_err refuses it and becomes the frame's error. give() is told when that
 * payload is released.
 */
struct tt_frame_budget {
	int (*take)(void *arg, size_t n);
	void (*give)(void *arg, size_t n);
};

struct tt_frame {
	enum tt_frame_state state;
	const struct tt_frame_budget *budget;   /* NULL: no accounting */
	void *budget_arg;
	uint32_t max_body;
	uint32_t max_auth;
	uint8_t raw[TT_WIRE_HDR_LEN];
	size_t hdr_got;
	struct tt_wire_hdr hdr;      /* valid from TT_FRAME_PAYLOAD on */
	uint8_t *payload;            /* body_len + auth_len bytes, NULL when both are 0 */
	size_t need;                 /* body_len + auth_len */
	size_t got;
	int err;                     /* TT_FRAME_ERROR: why */
};

/* Start empty with the given limits (max_auth is capped at 65535 by the wire). */
void tt_frame_init(struct tt_frame *f, uint32_t max_body, uint32_t max_auth);

/* Change the limits; they apply from the next header on. */
void tt_frame_set_limits(struct tt_frame *f, uint32_t max_body, uint32_t max_auth);

/* Account payloads through `b` (which must outlive the frame) with `arg`; from the next
 * header on. NULL turns accounting off. */
void tt_frame_set_budget(struct tt_frame *f, const struct tt_frame_budget *b, void *arg);

/*
 * Consume bytes from p[0..n). *used receives how many were consumed (always, also on
 * error). Returns TT_FRAME_MORE, TT_FRAME_DONE, or an error:
 *   TT_ERR_INVALID_HEADER / TT_ERR_WIRE_VERSION   from tt_wire_hdr_decode
 *   TT_ERR_BODY_TOO_LARGE   body_len > max_body or auth_len > max_auth
 *   TT_ERR_NO_MEMORY        the (checked) payload allocation failed
 *   any error of the budget's take()
 * After an error or DONE, further feeds consume nothing and return the same result
 * until tt_frame_next.
 */
int tt_frame_feed(struct tt_frame *f, const uint8_t *p, size_t n, size_t *used);

/* True once any byte of a frame has arrived (a request is in progress). */
bool tt_frame_started(const struct tt_frame *f);

/* The complete frame's parts (TT_FRAME_COMPLETE only). Pointers are valid until
 * tt_frame_next/tt_frame_free; empty parts may be returned as NULL. */
const struct tt_wire_hdr *tt_frame_hdr(const struct tt_frame *f);
const uint8_t *tt_frame_body(const struct tt_frame *f);
const uint8_t *tt_frame_auth(const struct tt_frame *f);

/* Release the payload (wiped) and start collecting the next frame. */
void tt_frame_next(struct tt_frame *f);
/* Release everything; the struct may be re-initialised after. NULL-safe. */
void tt_frame_free(struct tt_frame *f);

#endif
