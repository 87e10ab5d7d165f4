/*
 * A minimal protobuf wire walker: tags, varints and length-delimited fields, over the
 * bounded reader. Only what NUL detection needs; everything else is skipped by its
 * wire type, as protobuf-c skips unknown fields.
 */
#include "turtle/error.h"
#include "util/buf.h"
#include "wire/pb_strings.h"

/* Schemas nest a few levels (operation -> attributes -> policy -> algorithm -> ...). */
#define PB_MAX_DEPTH 16

enum {
	WT_VARINT = 0,
	WT_64BIT = 1,
	WT_LEN = 2,
	WT_32BIT = 5,
};

static int
get_varint(struct tt_buf *b, uint64_t *out)
{
	uint64_t v = 0;
	uint8_t c;

	for (unsigned i = 0; i < 10; i++) {
		if (tt_buf_get_u8(b, &c) != 0)
			return TT_ERR_DESERIALIZE;
		v |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			*out = v;
			return 0;
		}
	}
	return TT_ERR_DESERIALIZE;
}

static const ProtobufCFieldDescriptor *
field_by_id(const ProtobufCMessageDescriptor *d, uint64_t id)
{
	if (id == 0 || id > UINT32_MAX)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].id == (uint32_t)id)
			return &d->fields[i];
	return NULL;
}

static int
scan(const ProtobufCMessageDescriptor *d, struct tt_buf *b, unsigned depth)
{
	int r;

	if (depth > PB_MAX_DEPTH)
		return TT_ERR_DESERIALIZE;
	while (tt_buf_avail(b) > 0) {
		const ProtobufCFieldDescriptor *f;
		const uint8_t *p;
		uint64_t tag, n;

		if ((r = get_varint(b, &tag)) != 0)
			return r;
		f = field_by_id(d, tag >> 3);
		switch (tag & 7) {
		case WT_VARINT:
			if ((r = get_varint(b, &n)) != 0)
				return r;
			break;
		case WT_64BIT:
			if (tt_buf_skip(b, 8) != 0)
				return TT_ERR_DESERIALIZE;
			break;
		case WT_32BIT:
			if (tt_buf_skip(b, 4) != 0)
				return TT_ERR_DESERIALIZE;
			break;
		case WT_LEN:
			if ((r = get_varint(b, &n)) != 0)
				return r;
			if (n > tt_buf_avail(b) || tt_buf_get_ref(b, (size_t)n, &p) != 0)
				return TT_ERR_DESERIALIZE;
			if (f == NULL)
				break;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				for (size_t i = 0; i < (size_t)n; i++)
					if (p[i] == '\0')
						return TT_ERR_INVALID_ARGUMENT;
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor != NULL) {
				struct tt_buf sub;

				tt_buf_init_ro(&sub, p, (size_t)n);
				if ((r = scan(f->descriptor, &sub, depth + 1)) != 0)
					return r;
			}
			break;
		default:
			/* groups (3, 4) and the unused 6, 7: protobuf-c refuses them too */
			return TT_ERR_DESERIALIZE;
		}
	}
	return 0;
}

int
tt_wire_pb_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *body, size_t len)
{
	struct tt_buf b;

	if (d == NULL || (body == NULL && len != 0))
		return TT_ERR_DESERIALIZE;
	tt_buf_init_ro(&b, body, len);
	return scan(d, &b, 0);
}
