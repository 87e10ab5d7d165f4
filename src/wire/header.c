#include <string.h>

#include "turtle/error.h"
#include "util/buf.h"
#include "wire/header.h"

int
tt_wire_hdr_decode(const uint8_t raw[TT_WIRE_HDR_LEN], struct tt_wire_hdr *out)
{
	struct tt_wire_hdr h;
	struct tt_buf b;
	uint32_t magic;
	uint16_t size, reserved;
	uint8_t maj, min;

	memset(&h, 0, sizeof(h));
	tt_buf_init_ro(&b, raw, TT_WIRE_HDR_LEN);
	/* The buffer holds exactly 36 bytes, so none of these gets can fail. */
	(void)tt_buf_get_u32le(&b, &magic);
	if (magic != TT_WIRE_MAGIC)
		return TT_ERR_INVALID_HEADER;
	(void)tt_buf_get_u16le(&b, &size);
	if (size != TT_WIRE_HDR_SIZE)
		return TT_ERR_INVALID_HEADER;
	(void)tt_buf_get_u8(&b, &maj);
	(void)tt_buf_get_u8(&b, &min);
	if (maj != TT_WIRE_VERSION_MAJ || min != TT_WIRE_VERSION_MIN)
		return TT_ERR_WIRE_VERSION;
	(void)tt_buf_get_u16le(&b, &h.flags);
	(void)tt_buf_get_u8(&b, &h.provider);
	(void)tt_buf_get_u64le(&b, &h.session);
	(void)tt_buf_get_u8(&b, &h.content_type);
	(void)tt_buf_get_u8(&b, &h.accept_type);
	(void)tt_buf_get_u8(&b, &h.auth_type);
	(void)tt_buf_get_u32le(&b, &h.body_len);
	(void)tt_buf_get_u16le(&b, &h.auth_len);
	(void)tt_buf_get_u32le(&b, &h.opcode);
	(void)tt_buf_get_u16le(&b, &h.status);
	(void)tt_buf_get_u16le(&b, &reserved);
	if (reserved != 0)
		return TT_ERR_INVALID_HEADER;
	*out = h;
	return 0;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

void
tt_wire_hdr_encode(const struct tt_wire_hdr *h, uint8_t raw[TT_WIRE_HDR_LEN])
{
	put32(raw + 0, TT_WIRE_MAGIC);
	put16(raw + 4, TT_WIRE_HDR_SIZE);
	raw[6] = TT_WIRE_VERSION_MAJ;
	raw[7] = TT_WIRE_VERSION_MIN;
	put16(raw + 8, h->flags);
	raw[10] = h->provider;
	put32(raw + 11, (uint32_t)h->session);
	put32(raw + 15, (uint32_t)(h->session >> 32));
	raw[19] = h->content_type;
	raw[20] = h->accept_type;
	raw[21] = h->auth_type;
	put32(raw + 22, h->body_len);
	put16(raw + 26, h->auth_len);
	put32(raw + 28, h->opcode);
	put16(raw + 32, h->status);
	put16(raw + 34, 0);
}
