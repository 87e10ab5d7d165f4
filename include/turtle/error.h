/*
 * Turtle error space.
 *
 * Every function in libturtle and in the daemon returns 0 on success or a negative
 * enum tt_err value. Each tt_err maps to exactly one PARSEC wire status (and, for the
 * attestation service, one HTTP status) through the single table in src/util/err.c.
 * Wire status codes are numerically identical to PARSEC 1.0's ResponseStatus.
 */
#ifndef TURTLE_ERROR_H
#define TURTLE_ERROR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PARSEC 1.0 response status codes, numerically exact. PSA errors are 1000 + -psa_status. */
enum tt_status {
	TT_STATUS_SUCCESS = 0,
	TT_STATUS_WRONG_PROVIDER_ID = 1,
	TT_STATUS_CONTENT_TYPE_NOT_SUPPORTED = 2,
	TT_STATUS_ACCEPT_TYPE_NOT_SUPPORTED = 3,
	TT_STATUS_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED = 4,
	TT_STATUS_PROVIDER_NOT_REGISTERED = 5,
	TT_STATUS_PROVIDER_DOES_NOT_EXIST = 6,
	TT_STATUS_DESERIALIZING_BODY_FAILED = 7,
	TT_STATUS_SERIALIZING_BODY_FAILED = 8,
	TT_STATUS_OPCODE_DOES_NOT_EXIST = 9,
	TT_STATUS_RESPONSE_TOO_LARGE = 10,
	TT_STATUS_AUTHENTICATION_ERROR = 11,
	TT_STATUS_AUTHENTICATOR_DOES_NOT_EXIST = 12,
	TT_STATUS_AUTHENTICATOR_NOT_REGISTERED = 13,
	TT_STATUS_KEY_INFO_MANAGER_ERROR = 14,
	TT_STATUS_CONNECTION_ERROR = 15,
	TT_STATUS_INVALID_ENCODING = 16,
	TT_STATUS_INVALID_HEADER = 17,
	TT_STATUS_WRONG_PROVIDER_UUID = 18,
	TT_STATUS_NOT_AUTHENTICATED = 19,
	TT_STATUS_BODY_SIZE_EXCEEDS_LIMIT = 20,
	TT_STATUS_ADMIN_OPERATION = 21,
	TT_STATUS_DEPRECATED_PRIMITIVE = 22,
	TT_STATUS_PSA_GENERIC_ERROR = 1132,
	TT_STATUS_PSA_NOT_PERMITTED = 1133,
	TT_STATUS_PSA_NOT_SUPPORTED = 1134,
	TT_STATUS_PSA_INVALID_ARGUMENT = 1135,
	TT_STATUS_PSA_INVALID_HANDLE = 1136,
	TT_STATUS_PSA_BAD_STATE = 1137,
	TT_STATUS_PSA_BUFFER_TOO_SMALL = 1138,
	TT_STATUS_PSA_ALREADY_EXISTS = 1139,
	TT_STATUS_PSA_DOES_NOT_EXIST = 1140,
	TT_STATUS_PSA_INSUFFICIENT_MEMORY = 1141,
	TT_STATUS_PSA_INSUFFICIENT_STORAGE = 1142,
	TT_STATUS_PSA_INSUFFICIENT_DATA = 1143,
	TT_STATUS_PSA_COMMUNICATION_FAILURE = 1145,
	TT_STATUS_PSA_STORAGE_FAILURE = 1146,
	TT_STATUS_PSA_HARDWARE_FAILURE = 1147,
	TT_STATUS_PSA_INSUFFICIENT_ENTROPY = 1148,
	TT_STATUS_PSA_INVALID_SIGNATURE = 1149,
	TT_STATUS_PSA_INVALID_PADDING = 1150,
	TT_STATUS_PSA_CORRUPTION_DETECTED = 1151,
	TT_STATUS_PSA_DATA_CORRUPT = 1152,
	TT_STATUS_PSA_DATA_INVALID = 1153,
};

/*
 * Internal and client-visible errors. The first block mirrors the wire statuses one to
 * one so that a status received by a client converts back without loss; the second block
 * is local conditions (I/O, configuration) that map to a generic wire status if they ever
 * reach the wire.
 */
enum tt_err {
	TT_OK = 0,
	/* wire-level */
	TT_ERR_WRONG_PROVIDER_ID = -1,
	TT_ERR_CONTENT_TYPE = -2,
	TT_ERR_ACCEPT_TYPE = -3,
	TT_ERR_WIRE_VERSION = -4,
	TT_ERR_PROVIDER_NOT_REGISTERED = -5,
	TT_ERR_PROVIDER_DOES_NOT_EXIST = -6,
	TT_ERR_DESERIALIZE = -7,
	TT_ERR_SERIALIZE = -8,
	TT_ERR_OPCODE_DOES_NOT_EXIST = -9,
	TT_ERR_RESPONSE_TOO_LARGE = -10,
	TT_ERR_AUTHENTICATION = -11,
	TT_ERR_AUTHENTICATOR_DOES_NOT_EXIST = -12,
	TT_ERR_AUTHENTICATOR_NOT_REGISTERED = -13,
	TT_ERR_KIM = -14,
	TT_ERR_CONNECTION = -15,
	TT_ERR_INVALID_ENCODING = -16,
	TT_ERR_INVALID_HEADER = -17,
	TT_ERR_WRONG_PROVIDER_UUID = -18,
	TT_ERR_NOT_AUTHENTICATED = -19,
	TT_ERR_BODY_TOO_LARGE = -20,
	TT_ERR_ADMIN_OPERATION = -21,
	TT_ERR_DEPRECATED_PRIMITIVE = -22,
	/* PSA */
	TT_ERR_GENERIC = -30,
	TT_ERR_NOT_PERMITTED = -31,
	TT_ERR_NOT_SUPPORTED = -32,
	TT_ERR_INVALID_ARGUMENT = -33,
	TT_ERR_INVALID_HANDLE = -34,
	TT_ERR_BAD_STATE = -35,
	TT_ERR_BUFFER_TOO_SMALL = -36,
	TT_ERR_ALREADY_EXISTS = -37,
	TT_ERR_DOES_NOT_EXIST = -38,
	TT_ERR_NO_MEMORY = -39,
	TT_ERR_INSUFFICIENT_STORAGE = -40,
	TT_ERR_INSUFFICIENT_DATA = -41,
	TT_ERR_COMMUNICATION = -42,
	TT_ERR_STORAGE = -43,
	TT_ERR_HARDWARE = -44,
	TT_ERR_INSUFFICIENT_ENTROPY = -45,
	TT_ERR_INVALID_SIGNATURE = -46,
	TT_ERR_INVALID_PADDING = -47,
	TT_ERR_CORRUPTION_DETECTED = -48,
	TT_ERR_DATA_CORRUPT = -49,
	TT_ERR_DATA_INVALID = -50,
	/* local conditions */
	TT_ERR_IO = -60,          /* read/write/socket failure; errno is preserved */
	TT_ERR_EOF = -61,         /* peer closed the connection */
	TT_ERR_TIMEOUT = -62,
	TT_ERR_CONFIG = -63,      /* bad configuration value */
	TT_ERR_PARSE = -64,       /* malformed text input (numbers, files, arguments) */
	TT_ERR_TRUNCATED = -65,   /* bounded reader ran out of bytes */
	TT_ERR_TRAILING = -66,    /* bounded reader has bytes left over */
	TT_ERR_LIMIT = -67,       /* a configured limit was hit */
	TT_ERR_PROTOCOL = -68,    /* peer broke the protocol (e.g. bad response header) */
	TT_ERR_UNKNOWN_STATUS = -69, /* wire status this build does not know */
};

/* Human-readable message for a tt_err or any negative value; never NULL. */
const char *tt_strerror(int err);

/* Short symbolic name ("PsaErrorDoesNotExist", "InvalidHeader", ...); never NULL. */
const char *tt_err_name(int err);

/* Wire status for an error (0 for TT_OK). Errors without a wire twin map to
 * TT_STATUS_PSA_GENERIC_ERROR (local conditions) as documented in err.c. */
uint16_t tt_err_to_status(int err);

/* HTTP status for an error (200 for TT_OK, 500 for an unknown value): the status of
 * turtle-as's RFC 7807 problem responses, from the same table as the wire status. */
uint16_t tt_err_to_http(int err);

/* Inverse of tt_err_to_status for statuses received from a peer; TT_ERR_UNKNOWN_STATUS
 * for an unknown code. */
int tt_err_from_status(uint16_t status);

#ifdef __cplusplus
}
#endif
#endif
