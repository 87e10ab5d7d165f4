#include <stdlib.h>
#include <string.h>

#include "service/frame.h"
#include "turtle/error.h"
#include "util/mem.h"

void
tt_frame_init(struct tt_frame *f, uint32_t max_body, uint32_t max_auth)
{
	memset(f, 0, sizeof(*f));
	f->state = TT_FRAME_HEADER;
	tt_frame_set_limits(f, max_body, max_auth);
}

void
tt_frame_set_limits(struct tt_frame *f, uint32_t max_body, uint32_t max_auth)
{
	f->max_body = max_body;
	f->max_auth = max_auth > UINT16_MAX ? UINT16_MAX : max_auth;
}

void
tt_frame_set_budget(struct tt_frame *f, const struct tt_frame_budget *b, void *arg)
{
	f->budget = b;
	f->budget_arg = arg;
}

bool
tt_frame_started(const struct tt_frame *f)
{
	return f->state != TT_FRAME_HEADER || f->hdr_got > 0;
}

static void
release_payload(struct tt_frame *f)
{
	/* Request bodies carry imported keys and plaintexts: wipe before free. */
	tt_free_secret(f->payload, f->need);
	if (f->payload != NULL && f->budget != NULL)
		f->budget->give(f->budget_arg, f->need);
	f->payload = NULL;
	f->need = 0;
	f->got = 0;
}

/* The header is complete: check it and the limits, then (and only then) allocate. */
static int
accept_header(struct tt_frame *f)
{
	struct tt_wire_hdr h;
	int r;

	if ((r = tt_wire_hdr_decode(f->raw, &h)) != 0)
		return r;
	/* PARSEC has no separate status for an over-long auth field: both limits answer
	 * BodySizeExceedsLimit. */
	if (h.body_len > f->max_body || h.auth_len > f->max_auth)
		return TT_ERR_BODY_TOO_LARGE;
	f->hdr = h;
	f->need = (size_t)h.body_len + h.auth_len;   /* bounded by the checks above */
	f->got = 0;
	if (f->need == 0)
		return 0;
	if (f->budget != NULL && (r = f->budget->take(f->budget_arg, f->need)) != 0) {
		f->need = 0;
		return r;
	}
	if ((f->payload = malloc(f->need)) == NULL) {
		if (f->budget != NULL)
			f->budget->give(f->budget_arg, f->need);
		f->need = 0;
		return TT_ERR_NO_MEMORY;
	}
	return 0;
}

int
tt_frame_feed(struct tt_frame *f, const uint8_t *p, size_t n, size_t *used)
{
	size_t off = 0, k;
	int r;

	*used = 0;
	if (f->state == TT_FRAME_ERROR)
		return f->err;
	if (f->state == TT_FRAME_COMPLETE)
		return TT_FRAME_DONE;
	if (f->state == TT_FRAME_HEADER) {
		k = TT_WIRE_HDR_LEN - f->hdr_got;
		if (k > n)
			k = n;
		memcpy(f->raw + f->hdr_got, p, k);
		f->hdr_got += k;
		off += k;
		if (f->hdr_got < TT_WIRE_HDR_LEN) {
			*used = off;
			return TT_FRAME_MORE;
		}
		if ((r = accept_header(f)) != 0) {
			f->state = TT_FRAME_ERROR;
			f->err = r;
			*used = off;
			return r;
		}
		f->state = TT_FRAME_PAYLOAD;
	}
	/* TT_FRAME_PAYLOAD */
	k = f->need - f->got;
	if (k > n - off)
		k = n - off;
	if (k > 0) {
		memcpy(f->payload + f->got, p + off, k);
		f->got += k;
		off += k;
	}
	*used = off;
	if (f->got < f->need)
		return TT_FRAME_MORE;
	f->state = TT_FRAME_COMPLETE;
	return TT_FRAME_DONE;
}

const struct tt_wire_hdr *
tt_frame_hdr(const struct tt_frame *f)
{
	return f->state == TT_FRAME_COMPLETE ? &f->hdr : NULL;
}

const uint8_t *
tt_frame_body(const struct tt_frame *f)
{
	if (f->state != TT_FRAME_COMPLETE || f->hdr.body_len == 0)
		return NULL;
	return f->payload;
}

const uint8_t *
tt_frame_auth(const struct tt_frame *f)
{
	if (f->state != TT_FRAME_COMPLETE || f->hdr.auth_len == 0)
		return NULL;
	return f->payload + f->hdr.body_len;
}

void
tt_frame_next(struct tt_frame *f)
{
	release_payload(f);
	tt_wipe(f->raw, sizeof(f->raw));
	memset(&f->hdr, 0, sizeof(f->hdr));
	f->hdr_got = 0;
	f->err = 0;
	f->state = TT_FRAME_HEADER;
}

void
tt_frame_free(struct tt_frame *f)
{
	if (f == NULL)
		return;
	tt_frame_next(f);
}
