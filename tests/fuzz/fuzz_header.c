/*
 * libFuzzer target: tt_wire_hdr_decode on the first 36 bytes.
 * An accepted header must re-encode to exactly the bytes it came from (the codec
 * loses nothing and invents nothing), and decode again to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t raw[TT_WIRE_HDR_LEN], again[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h, h2;

	if (size < TT_WIRE_HDR_LEN)
		return 0;
	memcpy(raw, data, sizeof(raw));
	if (tt_wire_hdr_decode(raw, &h) != 0)
		return 0;
	tt_wire_hdr_encode(&h, again);
	if (memcmp(raw, again, sizeof(raw)) != 0)
		abort();
	if (tt_wire_hdr_decode(again, &h2) != 0)
		abort();
	if (h.flags != h2.flags || h.provider != h2.provider || h.session != h2.session ||
	    h.content_type != h2.content_type || h.accept_type != h2.accept_type ||
	    h.auth_type != h2.auth_type || h.body_len != h2.body_len ||
	    h.auth_len != h2.auth_len || h.opcode != h2.opcode || h.status != h2.status)
		abort();
	return 0;
}
