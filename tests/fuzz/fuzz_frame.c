/*
 * libFuzzer target: the connection's frame reader (src/service/frame.h) fed arbitrary
 * chunks. The input is a sequence of [len byte][len+1 bytes of stream] records, so the
 * fuzzer controls how the stream is split across reads. Checks: a feed never claims
 * more bytes than offered; a complete frame respects the limits and its parts have the
 * lengths its header states; after an error nothing more is consumed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/frame.h"
#include "turtle/error.h"

#define MAX_BODY 4096
#define MAX_AUTH 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_complete(const struct tt_frame *f)
{
	const struct tt_wire_hdr *h = tt_frame_hdr(f);
	const uint8_t *body = tt_frame_body(f), *auth = tt_frame_auth(f);
	volatile uint8_t sink = 0;

	if (h == NULL || h->body_len > MAX_BODY || h->auth_len > MAX_AUTH)
		abort();
	if ((h->body_len > 0 && body == NULL) || (h->auth_len > 0 && auth == NULL))
		abort();
	/* Touch every byte so ASan sees any short allocation. */
	for (uint32_t i = 0; i < h->body_len; i++)
		sink ^= body[i];
	for (uint32_t i = 0; i < h->auth_len; i++)
		sink ^= auth[i];
	(void)sink;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_frame f;
	size_t i = 0;
	int frames = 0;

	tt_frame_init(&f, MAX_BODY, MAX_AUTH);
	while (i < size) {
		size_t chunk = (size_t)data[i++] + 1, off = 0;

		if (chunk > size - i)
			chunk = size - i;
		while (off < chunk) {
			size_t used = (size_t)-1;
			int r = tt_frame_feed(&f, data + i + off, chunk - off, &used);

			if (used > chunk - off)
				abort();
			off += used;
			if (r == TT_FRAME_MORE) {
				if (off != chunk)
					abort();
			} else if (r == TT_FRAME_DONE) {
				check_complete(&f);
				if (++frames % 3 == 0)
					tt_frame_set_limits(&f, MAX_BODY / 2, MAX_AUTH / 2);
				else
					tt_frame_set_limits(&f, MAX_BODY, MAX_AUTH);
				tt_frame_next(&f);
			} else {
				size_t u2 = (size_t)-1;

				if (r >= 0)
					abort();
				/* Sticky: a further feed consumes nothing and repeats the error. */
				if (tt_frame_feed(&f, data + i, chunk, &u2) != r || u2 != 0)
					abort();
				goto out;
			}
		}
		i += chunk;
	}
out:
	tt_frame_free(&f);
	return 0;
}
