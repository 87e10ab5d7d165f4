/*
 * The one table from tt_err to wire status and message. A client converts statuses
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
};

static const struct err_row err_table[] = {
	{ TT_OK, TT_STATUS_SUCCESS, "Success", "success" },
	{ TT_ERR_WRONG_PROVIDER_ID, TT_STATUS_WRONG_PROVIDER_ID, "WrongProviderId", "request sent to the wrong provider" },
	{ TT_ERR_CONTENT_TYPE, TT_STATUS_CONTENT_TYPE_NOT_SUPPORTED, "ContentTypeNotSupported", "content type not supported" },
	{ TT_ERR_ACCEPT_TYPE, TT_STATUS_ACCEPT_TYPE_NOT_SUPPORTED, "AcceptTypeNotSupported", "accept type not supported" },
	{ TT_ERR_WIRE_VERSION, TT_STATUS_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED, "WireProtocolVersionNotSupported", "wire protocol version not supported" },
	{ TT_ERR_PROVIDER_NOT_REGISTERED, TT_STATUS_PROVIDER_NOT_REGISTERED, "ProviderNotRegistered", "provider not registered in this service" },
	{ TT_ERR_PROVIDER_DOES_NOT_EXIST, TT_STATUS_PROVIDER_DOES_NOT_EXIST, "ProviderDoesNotExist", "provider id does not exist" },
	{ TT_ERR_DESERIALIZE, TT_STATUS_DESERIALIZING_BODY_FAILED, "DeserializingBodyFailed", "request body could not be decoded" },
	{ TT_ERR_SERIALIZE, TT_STATUS_SERIALIZING_BODY_FAILED, "SerializingBodyFailed", "response body could not be encoded" },
	{ TT_ERR_OPCODE_DOES_NOT_EXIST, TT_STATUS_OPCODE_DOES_NOT_EXIST, "OpcodeDoesNotExist", "opcode does not exist" },
	{ TT_ERR_RESPONSE_TOO_LARGE, TT_STATUS_RESPONSE_TOO_LARGE, "ResponseTooLarge", "response exceeds the size limit" },
	{ TT_ERR_AUTHENTICATION, TT_STATUS_AUTHENTICATION_ERROR, "AuthenticationError", "authentication failed" },
	{ TT_ERR_AUTHENTICATOR_DOES_NOT_EXIST, TT_STATUS_AUTHENTICATOR_DOES_NOT_EXIST, "AuthenticatorDoesNotExist", "authenticator type does not exist" },
	{ TT_ERR_AUTHENTICATOR_NOT_REGISTERED, TT_STATUS_AUTHENTICATOR_NOT_REGISTERED, "AuthenticatorNotRegistered", "authenticator not enabled in this service" },
	{ TT_ERR_KIM, TT_STATUS_KEY_INFO_MANAGER_ERROR, "KeyInfoManagerError", "key info manager error" },
	{ TT_ERR_CONNECTION, TT_STATUS_CONNECTION_ERROR, "ConnectionError", "connection error" },
	{ TT_ERR_INVALID_ENCODING, TT_STATUS_INVALID_ENCODING, "InvalidEncoding", "invalid encoding" },
	{ TT_ERR_INVALID_HEADER, TT_STATUS_INVALID_HEADER, "InvalidHeader", "invalid request header" },
	{ TT_ERR_WRONG_PROVIDER_UUID, TT_STATUS_WRONG_PROVIDER_UUID, "WrongProviderUuid", "wrong provider UUID" },
	{ TT_ERR_NOT_AUTHENTICATED, TT_STATUS_NOT_AUTHENTICATED, "NotAuthenticated", "operation requires authentication" },
	{ TT_ERR_BODY_TOO_LARGE, TT_STATUS_BODY_SIZE_EXCEEDS_LIMIT, "BodySizeExceedsLimit", "request body exceeds the size limit" },
	{ TT_ERR_ADMIN_OPERATION, TT_STATUS_ADMIN_OPERATION, "AdminOperation", "operation is reserved to admins" },
	{ TT_ERR_DEPRECATED_PRIMITIVE, TT_STATUS_DEPRECATED_PRIMITIVE, "DeprecatedPrimitive", "deprecated cryptographic primitive" },
	{ TT_ERR_GENERIC, TT_STATUS_PSA_GENERIC_ERROR, "PsaErrorGenericError", "generic error" },
	{ TT_ERR_NOT_PERMITTED, TT_STATUS_PSA_NOT_PERMITTED, "PsaErrorNotPermitted", "not permitted by the key policy" },
	{ TT_ERR_NOT_SUPPORTED, TT_STATUS_PSA_NOT_SUPPORTED, "PsaErrorNotSupported", "not supported" },
	{ TT_ERR_INVALID_ARGUMENT, TT_STATUS_PSA_INVALID_ARGUMENT, "PsaErrorInvalidArgument", "invalid argument" },
	{ TT_ERR_INVALID_HANDLE, TT_STATUS_PSA_INVALID_HANDLE, "PsaErrorInvalidHandle", "invalid handle" },
	{ TT_ERR_BAD_STATE, TT_STATUS_PSA_BAD_STATE, "PsaErrorBadState", "bad state" },
	{ TT_ERR_BUFFER_TOO_SMALL, TT_STATUS_PSA_BUFFER_TOO_SMALL, "PsaErrorBufferTooSmall", "buffer too small" },
	{ TT_ERR_ALREADY_EXISTS, TT_STATUS_PSA_ALREADY_EXISTS, "PsaErrorAlreadyExists", "key already exists" },
	{ TT_ERR_DOES_NOT_EXIST, TT_STATUS_PSA_DOES_NOT_EXIST, "PsaErrorDoesNotExist", "key or client does not exist" },
	{ TT_ERR_NO_MEMORY, TT_STATUS_PSA_INSUFFICIENT_MEMORY, "PsaErrorInsufficientMemory", "out of memory" },
	{ TT_ERR_INSUFFICIENT_STORAGE, TT_STATUS_PSA_INSUFFICIENT_STORAGE, "PsaErrorInsufficientStorage", "insufficient storage" },
	{ TT_ERR_INSUFFICIENT_DATA, TT_STATUS_PSA_INSUFFICIENT_DATA, "PsaErrorInsufficientData", "insufficient data" },
	{ TT_ERR_COMMUNICATION, TT_STATUS_PSA_COMMUNICATION_FAILURE, "PsaErrorCommunicationFailure", "communication failure with the device" },
	{ TT_ERR_STORAGE, TT_STATUS_PSA_STORAGE_FAILURE, "PsaErrorStorageFailure", "storage failure" },
	{ TT_ERR_HARDWARE, TT_STATUS_PSA_HARDWARE_FAILURE, "PsaErrorHardwareFailure", "hardware failure" },
	{ TT_ERR_INSUFFICIENT_ENTROPY, TT_STATUS_PSA_INSUFFICIENT_ENTROPY, "PsaErrorInsufficientEntropy", "insufficient entropy" },
	{ TT_ERR_INVALID_SIGNATURE, TT_STATUS_PSA_INVALID_SIGNATURE, "PsaErrorInvalidSignature", "invalid signature or MAC" },
	{ TT_ERR_INVALID_PADDING, TT_STATUS_PSA_INVALID_PADDING, "PsaErrorInvalidPadding", "invalid padding" },
	{ TT_ERR_CORRUPTION_DETECTED, TT_STATUS_PSA_CORRUPTION_DETECTED, "PsaErrorCorruptionDetected", "corruption detected" },
	{ TT_ERR_DATA_CORRUPT, TT_STATUS_PSA_DATA_CORRUPT, "PsaErrorDataCorrupt", "stored data is corrupt" },
	{ TT_ERR_DATA_INVALID, TT_STATUS_PSA_DATA_INVALID, "PsaErrorDataInvalid", "stored data is invalid" },
	/* Local conditions: if one ever reaches the wire it is reported as a generic
	 * error; the detail stays in the server log. */
	{ TT_ERR_IO, TT_STATUS_CONNECTION_ERROR, "IoError", "I/O error" },
	{ TT_ERR_EOF, TT_STATUS_CONNECTION_ERROR, "EndOfStream", "peer closed the connection" },
	{ TT_ERR_TIMEOUT, TT_STATUS_CONNECTION_ERROR, "Timeout", "timed out" },
	{ TT_ERR_CONFIG, TT_STATUS_PSA_GENERIC_ERROR, "ConfigError", "invalid configuration" },
	{ TT_ERR_PARSE, TT_STATUS_PSA_INVALID_ARGUMENT, "ParseError", "malformed input" },
	{ TT_ERR_TRUNCATED, TT_STATUS_DESERIALIZING_BODY_FAILED, "Truncated", "input truncated" },
	{ TT_ERR_TRAILING, TT_STATUS_DESERIALIZING_BODY_FAILED, "TrailingBytes", "unexpected trailing bytes" },
	{ TT_ERR_LIMIT, TT_STATUS_PSA_INSUFFICIENT_MEMORY, "LimitExceeded", "configured limit exceeded" },
	{ TT_ERR_PROTOCOL, TT_STATUS_INVALID_HEADER, "ProtocolError", "peer violated the wire protocol" },
	{ TT_ERR_UNKNOWN_STATUS, TT_STATUS_PSA_GENERIC_ERROR, "UnknownStatus", "unknown status code from the service" },
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
