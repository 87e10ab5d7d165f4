/*
 * libturtle internals shared by the transport (client.c) and the operation files.
 * Not installed.
 */
#ifndef TT_CLIENT_INTERNAL_H
#define TT_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "turtle/turtle.h"
#include "wire/header.h"

struct tt_client {
	pthread_mutex_t lock;       /* serialises requests on fd */
	int fd;                     /* -1 when disconnected */
	char *path;
	uint8_t auth_type;          /* wire auth type (enum tt_auth_type) */
	uint8_t *auth;              /* auth bytes sent with every request */
	size_t auth_len;
	uint8_t provider;           /* 0: not resolved yet */
	unsigned timeout_ms;
	size_t max_response;
	int64_t last_used_ms;       /* monotonic time of the last response */
};

/* A connection idle for longer than this is probed (poll + peek) before it is reused;
 * a more recent one is used at once, as a closed one fails the send with EPIPE. */
#define TT_CLIENT_PROBE_AFTER_MS 1000

/*
 * Check a response header against the request it answers: decodes the 36 bytes, then
 * requires magic/size/version (via tt_wire_hdr_decode), protobuf content type, no auth
 * bytes, body_len <= max_body and the same opcode. Any failure is TT_ERR_PROTOCOL.
 * *out is written only on success; the status is not interpreted here.
 */
int tt_client_check_response_hdr(const uint8_t raw[TT_WIRE_HDR_LEN], uint32_t opcode,
				 size_t max_body, struct tt_wire_hdr *out);

/*
 * Read one response from fd with the checks above: header, then exactly body_len bytes.
 * On success *body is a malloc'd copy (NULL when empty) the caller frees with
 * tt_free_secret(*body, *body_len) and *status the wire status. timeout_ms bounds the
 * whole read (0: no bound).
 */
int tt_client_read_response(int fd, uint32_t opcode, size_t max_body, unsigned timeout_ms,
			    uint16_t *status, uint8_t **body, size_t *body_len);

/*
 * One request/response round trip. `req` is packed as the body; the response body is
 * unpacked with `res_desc` into *res (if res is non-NULL), to be freed by the caller
 * with protobuf_c_message_free_unpacked. `core` sends to provider 0, otherwise to the
 * client's provider (resolved on first use). A non-success status is returned as its
 * tt_err. `secret` wipes the packed request and raw response copies.
 */
int tt_client_call(struct tt_client *c, uint32_t opcode, bool core, bool secret,
		   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *res_desc,
		   ProtobufCMessage **res);

/* Copy a protobuf bytes field into a fresh malloc'd buffer (never NULL on success). */
int tt_client_dup_bytes(const ProtobufCBinaryData *b, uint8_t **out, size_t *out_len);

/* Validate a key name argument. */
int tt_client_check_name(const char *name);

#endif
