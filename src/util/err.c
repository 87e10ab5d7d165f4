/*
 * The one table from tt_err to wire status, message and HTTP status. A client converts statuses
 * back through the same table, so both ends agree on every code.
 */
#include <stddef.h>
#include <stdint.h>

#include "turtle/error.h"

struct err_row {
	int err;
	uint16_t status;
	const char *name;
	const char *msg;
	uint16_t http;    /* HTTP status for turtle-as problem responses (RFC 7807) */
};

static const struct err_row err_table[] = {
	{ TT_OK, TT_STATUS_SUCCESS, "Success", "success", 200 },
	{ TT_ERR_WRONG_PROVIDER_ID, TT_STATUS_WRONG_PROVIDER_ID, "WrongProviderId", "request sent to the wrong provider", 400 },
	{ TT_ERR_CONTENT_TYPE, TT_STATUS_CONTENT_TYPE_NOT_SUPPORTED, "ContentTypeNotSupported", "content type not supported", 415 },
	{ TT_ERR_ACCEPT_TYPE, TT_STATUS_ACCEPT_TYPE_NOT_SUPPORTED, "AcceptTypeNotSupported", "accept type not supported", 406 },
	{ TT_ERR_WIRE_VERSION, TT_STATUS_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED, "WireProtocolVersionNotSupported", "wire protocol version not supported", 400 },
	{ TT_ERR_PROVIDER_NOT_REGISTERED, TT_STATUS_PROVIDER_NOT_REGISTERED, "ProviderNotRegistered", "provider not registered in this service", 404 },
	{ TT_ERR_PROVIDER_DOES_NOT_EXIST, TT_STATUS_PROVIDER_DOES_NOT_EXIST, "ProviderDoesNotExist", "provider id does not exist", 404 },
	{ TT_ERR_DESERIALIZE, TT_STATUS_DESERIALIZING_BODY_FAILED, "DeserializingBodyFailed", "request body could not be decoded", 400 },
	{ TT_ERR_SERIALIZE, TT_STATUS_SERIALIZING_BODY_FAILED, "SerializingBodyFailed", "response body could not be encoded", 500 },
	{ TT_ERR_OPCODE_DOES_NOT_EXIST, TT_STATUS_OPCODE_DOES_NOT_EXIST, "OpcodeDoesNotExist", "opcode does not exist", 404 },
	{ TT_ERR_RESPONSE_TOO_LARGE, TT_STATUS_RESPONSE_TOO_LARGE, "ResponseTooLarge", "response exceeds the size limit", 500 },
	{ TT_ERR_AUTHENTICATION, TT_STATUS_AUTHENTICATION_ERROR, "AuthenticationError", "authentication failed", 401 },
	{ TT_ERR_AUTHENTICATOR_DOES_NOT_EXIST, TT_STATUS_AUTHENTICATOR_DOES_NOT_EXIST, "AuthenticatorDoesNotExist", "authenticator type does not exist", 401 },
	{ TT_ERR_AUTHENTICATOR_NOT_REGISTERED, TT_STATUS_AUTHENTICATOR_NOT_REGISTERED, "AuthenticatorNotRegistered", "authenticator not enabled in this service", 401 },
	{ TT_ERR_KIM, TT_STATUS_KEY_INFO_MANAGER_ERROR, "KeyInfoManagerError", "key info manager error", 500 },
	{ TT_ERR_CONNECTION, TT_STATUS_CONNECTION_ERROR, "ConnectionError", "connection error", 500 },
	{ TT_ERR_INVALID_ENCODING, TT_STATUS_INVALID_ENCODING, "InvalidEncoding", "invalid encoding", 400 },
	{ TT_ERR_INVALID_HEADER, TT_STATUS_INVALID_HEADER, "InvalidHeader", "invalid request header", 400 },
	{ TT_ERR_WRONG_PROVIDER_UUID, TT_STATUS_WRONG_PROVIDER_UUID, "WrongProviderUuid", "wrong provider UUID", 400 },
	{ TT_ERR_NOT_AUTHENTICATED, TT_STATUS_NOT_AUTHENTICATED, "NotAuthenticated", "operation requires authentication", 401 },
	{ TT_ERR_BODY_TOO_LARGE, TT_STATUS_BODY_SIZE_EXCEEDS_LIMIT, "BodySizeExceedsLimit", "request body exceeds the size limit", 413 },
	{ TT_ERR_ADMIN_OPERATION, TT_STATUS_ADMIN_OPERATION, "AdminOperation", "operation is reserved to admins", 403 },
	{ TT_ERR_DEPRECATED_PRIMITIVE, TT_STATUS_DEPRECATED_PRIMITIVE, "DeprecatedPrimitive", "deprecated cryptographic primitive", 400 },
	{ TT_ERR_GENERIC, TT_STATUS_PSA_GENERIC_ERROR, "PsaErrorGenericError", "generic error", 500 },
	{ TT_ERR_NOT_PERMITTED, TT_STATUS_PSA_NOT_PERMITTED, "PsaErrorNotPermitted", "not permitted by the key policy", 403 },
	{ TT_ERR_NOT_SUPPORTED, TT_STATUS_PSA_NOT_SUPPORTED, "PsaErrorNotSupported", "not supported", 501 },
	{ TT_ERR_INVALID_ARGUMENT, TT_STATUS_PSA_INVALID_ARGUMENT, "PsaErrorInvalidArgument", "invalid argument", 400 },
	{ TT_ERR_INVALID_HANDLE, TT_STATUS_PSA_INVALID_HANDLE, "PsaErrorInvalidHandle", "invalid handle", 400 },
	{ TT_ERR_BAD_STATE, TT_STATUS_PSA_BAD_STATE, "PsaErrorBadState", "bad state", 409 },
	{ TT_ERR_BUFFER_TOO_SMALL, TT_STATUS_PSA_BUFFER_TOO_SMALL, "PsaErrorBufferTooSmall", "buffer too small", 500 },
	{ TT_ERR_ALREADY_EXISTS, TT_STATUS_PSA_ALREADY_EXISTS, "PsaErrorAlreadyExists", "key already exists", 409 },
	{ TT_ERR_DOES_NOT_EXIST, TT_STATUS_PSA_DOES_NOT_EXIST, "PsaErrorDoesNotExist", "key or client does not exist", 404 },
	{ TT_ERR_NO_MEMORY, TT_STATUS_PSA_INSUFFICIENT_MEMORY, "PsaErrorInsufficientMemory", "out of memory", 503 },
	{ TT_ERR_INSUFFICIENT_STORAGE, TT_STATUS_PSA_INSUFFICIENT_STORAGE, "PsaErrorInsufficientStorage", "insufficient storage", 507 },
	{ TT_ERR_INSUFFICIENT_DATA, TT_STATUS_PSA_INSUFFICIENT_DATA, "PsaErrorInsufficientData", "insufficient data", 400 },
	{ TT_ERR_COMMUNICATION, TT_STATUS_PSA_COMMUNICATION_FAILURE, "PsaErrorCommunicationFailure", "communication failure with the device", 502 },
	{ TT_ERR_STORAGE, TT_STATUS_PSA_STORAGE_FAILURE, "PsaErrorStorageFailure", "storage failure", 500 },
	{ TT_ERR_HARDWARE, TT_STATUS_PSA_HARDWARE_FAILURE, "PsaErrorHardwareFailure", "hardware failure", 500 },
	{ TT_ERR_INSUFFICIENT_ENTROPY, TT_STATUS_PSA_INSUFFICIENT_ENTROPY, "PsaErrorInsufficientEntropy", "insufficient entropy", 503 },
	{ TT_ERR_INVALID_SIGNATURE, TT_STATUS_PSA_INVALID_SIGNATURE, "PsaErrorInvalidSignature", "invalid signature or MAC", 401 },
	{ TT_ERR_INVALID_PADDING, TT_STATUS_PSA_INVALID_PADDING, "PsaErrorInvalidPadding", "invalid padding", 400 },
	{ TT_ERR_CORRUPTION_DETECTED, TT_STATUS_PSA_CORRUPTION_DETECTED, "PsaErrorCorruptionDetected", "corruption detected", 500 },
	{ TT_ERR_DATA_CORRUPT, TT_STATUS_PSA_DATA_CORRUPT, "PsaErrorDataCorrupt", "stored data is corrupt", 500 },
	{ TT_ERR_DATA_INVALID, TT_STATUS_PSA_DATA_INVALID, "PsaErrorDataInvalid", "stored data is invalid", 400 },
	/* Local conditions: if one ever reaches the wire it is reported as a generic
	 * error; the detail stays in the server log. */
	{ TT_ERR_IO, TT_STATUS_CONNECTION_ERROR, "IoError", "I/O error", 500 },
	{ TT_ERR_EOF, TT_STATUS_CONNECTION_ERROR, "EndOfStream", "peer closed the connection", 400 },
	{ TT_ERR_TIMEOUT, TT_STATUS_CONNECTION_ERROR, "Timeout", "timed out", 408 },
	{ TT_ERR_CONFIG, TT_STATUS_PSA_GENERIC_ERROR, "ConfigError", "invalid configuration", 500 },
	{ TT_ERR_PARSE, TT_STATUS_PSA_INVALID_ARGUMENT, "ParseError", "malformed input", 400 },
	{ TT_ERR_TRUNCATED, TT_STATUS_DESERIALIZING_BODY_FAILED, "Truncated", "input truncated", 400 },
	{ TT_ERR_TRAILING, TT_STATUS_DESERIALIZING_BODY_FAILED, "TrailingBytes", "unexpected trailing bytes", 400 },
	{ TT_ERR_LIMIT, TT_STATUS_PSA_INSUFFICIENT_MEMORY, "LimitExceeded", "configured limit exceeded", 503 },
	{ TT_ERR_PROTOCOL, TT_STATUS_INVALID_HEADER, "ProtocolError", "peer violated the wire protocol", 400 },
	{ TT_ERR_UNKNOWN_STATUS, TT_STATUS_PSA_GENERIC_ERROR, "UnknownStatus", "unknown status code from the service", 502 },
};

static const struct err_row *
err_find(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return &err_table[i];
	return NULL;
}

const char *
tt_strerror(int err)
{
	const struct err_row *r = err_find(err);

	return r != NULL ? r->msg : "unknown error";
}

const char *
tt_err_name(int err)
{
	const struct err_row *r = err_find(err);

	return r != NULL ? r->name : "Unknown";
}

uint16_t
tt_err_to_status(int err)
{
	const struct err_row *r = err_find(err);

	return r != NULL ? r->status : TT_STATUS_PSA_GENERIC_ERROR;
}

uint16_t
tt_err_to_http(int err)
{
	const struct err_row *r = err_find(err);

	return r != NULL ? r->http : 500;
}

int
tt_err_from_status(uint16_t status)
{
	/* The first row carrying a status is its canonical error: the table lists
	 * wire errors before local conditions that share a status. */
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].status == status)
			return err_table[i].err;
	return TT_ERR_UNKNOWN_STATUS;
}
