/*
 * Embedded NUL bytes in protobuf string fields.
 *
 * protobuf-c hands a string field to the handlers as a NUL-terminated char *, so the
 * length the client sent is lost: "k\0other" would reach the key store as "k". This
 * scanner reads the raw body once, before it is unpacked, and finds every string field
 * the message descriptor declares (in nested messages too, following the descriptors)
 * whose bytes contain a NUL. The handlers then never see a name cut short.
 */
#ifndef TT_WIRE_PB_STRINGS_H
#define TT_WIRE_PB_STRINGS_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Check `body` (len bytes, NULL allowed when len is 0) as an encoding of message `d`.
 * Returns 0 if no declared string field holds a NUL byte, TT_ERR_INVALID_ARGUMENT if
 * one does, TT_ERR_DESERIALIZE if the body is not well-formed protobuf (a field running
 * past the end, a varint longer than 10 bytes, a group wire type, nesting deeper than
 * the schemas ever are). It is never stricter than protobuf-c's unpacker for input
 * that unpacker accepts (the body fuzz targets assert this).
 */
int tt_wire_pb_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *body, size_t len);

#endif
