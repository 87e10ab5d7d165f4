/*
 * PARSEC wire protocol 1.0 fixed header: 36 bytes, little-endian.
 *
 *   off size field               off size field
 *    0   4  magic 0x5EC0A710      20   1  accept_type
 *    4   2  header size (30)      21   1  auth_type
 *    6   1  version major (1)     22   4  body_len
 *    7   1  version minor (0)     26   2  auth_len
 *    8   2  flags                 28   4  opcode
 *   10   1  provider id           32   2  status
 *   11   8  session handle        34   2  reserved (0)
 *   19   1  content_type
 *
 * The header size counts the bytes after itself. Requests and responses share the
 * layout; a response carries auth_len 0 and its status.
 */
#ifndef TT_WIRE_HEADER_H
#define TT_WIRE_HEADER_H

#include <stdint.h>

#define TT_WIRE_MAGIC        0x5EC0A710u
#define TT_WIRE_HDR_LEN      36
#define TT_WIRE_HDR_SIZE     30        /* value of the header-size field */
#define TT_WIRE_VERSION_MAJ  1
#define TT_WIRE_VERSION_MIN  0
#define TT_WIRE_BODY_PROTOBUF 0

/*
 * Bit 15 of the header's flags field (which PARSEC declares implementation-defined and
 * its clients send as 0; PARSEC's service ignores it). In a request: keep this
 * connection open after the response, for more requests. In a response: the service
 * does keep it open. Without it the service closes the connection right after the
 * response, as PARSEC does, so a PARSEC client that reads until EOF is not kept waiting.
 * libturtle always sets it. The top bit leaves PARSEC the low bits, should it ever
 * define flags of its own. docs/request-path.md, "Connections".
 */
#define TT_WIRE_FLAG_KEEP_ALIVE 0x8000u

enum tt_auth_type {
	TT_AUTH_NONE = 0,
	TT_AUTH_DIRECT = 1,
	TT_AUTH_TOKENS = 2,      /* JWT, reserved by PARSEC */
	TT_AUTH_UNIX_PEER = 3,
	TT_AUTH_JWT_SVID = 4,
	TT_AUTH_TYPE_MAX = 4,
};

enum tt_provider_id {
	TT_PROVIDER_CORE = 0,
	TT_PROVIDER_SOFT = 1,    /* PARSEC's "Mbed Crypto" slot */
	TT_PROVIDER_PKCS11 = 2,
	TT_PROVIDER_TPM = 3,
	TT_PROVIDER_TRUSTED_SERVICE = 4,
	TT_PROVIDER_CRYPTOAUTHLIB = 5,
	TT_PROVIDER_ID_MAX = 5,
};

struct tt_wire_hdr {
	uint16_t flags;
	uint8_t provider;
	uint64_t session;
	uint8_t content_type;
	uint8_t accept_type;
	uint8_t auth_type;
	uint32_t body_len;
	uint16_t auth_len;
	uint32_t opcode;
	uint16_t status;
};

/*
 * Decode and check a request header in PARSEC's order: magic, header size, version,
 * reserved bytes. Returns 0, TT_ERR_INVALID_HEADER or TT_ERR_WIRE_VERSION.
 * Field semantics (provider, opcode, auth type...) are checked later by the front end.
 */
int tt_wire_hdr_decode(const uint8_t raw[TT_WIRE_HDR_LEN], struct tt_wire_hdr *out);

/* Encode magic, size and version plus the given fields into 36 bytes. */
void tt_wire_hdr_encode(const struct tt_wire_hdr *h, uint8_t raw[TT_WIRE_HDR_LEN]);

#endif
