/* Key management operations (sent to the client's provider). */
#include <stdlib.h>
#include <string.h>

#include "can_do_crypto.pb-c.h"
#include "client/internal.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "util/mem.h"
#include "wire/opcodes.h"
#include "wire/psa_conv.h"

int
tt_generate_key(struct tt_client *c, const char *name, const struct tt_key_attrs *attrs)
{
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	int r;

	if ((r = tt_client_check_name(name)) != 0 || attrs == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_attrs_to_pb(attrs, &op.attributes)) != 0)
		return r;
	op.key_name = (char *)name;
	r = tt_client_call(c, TT_OP_PSA_GENERATE_KEY, false, false, &op.base,
			   &psa_generate_key__result__descriptor, NULL);
	tt_pb_attrs_free(op.attributes);
	return r;
}

int
tt_import_key(struct tt_client *c, const char *name, const struct tt_key_attrs *attrs,
	      const uint8_t *data, size_t data_len)
{
	PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;
	int r;

	if ((r = tt_client_check_name(name)) != 0)
		return r;
	if (attrs == NULL || data == NULL || data_len == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_attrs_to_pb(attrs, &op.attributes)) != 0)
		return r;
	op.key_name = (char *)name;
	op.data.data = (uint8_t *)data;
	op.data.len = data_len;
	/* The packed request holds key material: wipe it. */
	r = tt_client_call(c, TT_OP_PSA_IMPORT_KEY, false, true, &op.base,
			   &psa_import_key__result__descriptor, NULL);
	tt_pb_attrs_free(op.attributes);
	return r;
}

int
tt_export_key(struct tt_client *c, const char *name, uint8_t **out, size_t *out_len)
{
	PsaExportKey__Operation op = PSA_EXPORT_KEY__OPERATION__INIT;
	PsaExportKey__Result *res = NULL;
	int r;

	if ((r = tt_client_check_name(name)) != 0)
		return r;
	if (out == NULL || out_len == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	op.key_name = (char *)name;
	if ((r = tt_client_call(c, TT_OP_PSA_EXPORT_KEY, false, true, &op.base,
				&psa_export_key__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	r = tt_client_dup_bytes(&res->data, out, out_len);
	tt_wipe(res->data.data, res->data.len);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_export_public_key(struct tt_client *c, const char *name, uint8_t **out, size_t *out_len)
{
	PsaExportPublicKey__Operation op = PSA_EXPORT_PUBLIC_KEY__OPERATION__INIT;
	PsaExportPublicKey__Result *res = NULL;
	int r;

	if ((r = tt_client_check_name(name)) != 0)
		return r;
	if (out == NULL || out_len == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	op.key_name = (char *)name;
	if ((r = tt_client_call(c, TT_OP_PSA_EXPORT_PUBLIC_KEY, false, false, &op.base,
				&psa_export_public_key__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	r = tt_client_dup_bytes(&res->data, out, out_len);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_destroy_key(struct tt_client *c, const char *name)
{
	PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
	int r;

	if ((r = tt_client_check_name(name)) != 0)
		return r;
	op.key_name = (char *)name;
	return tt_client_call(c, TT_OP_PSA_DESTROY_KEY, false, false, &op.base,
			      &psa_destroy_key__result__descriptor, NULL);
}

int
tt_can_do_crypto(struct tt_client *c, enum tt_check_type check, const struct tt_key_attrs *attrs)
{
	CanDoCrypto__Operation op = CAN_DO_CRYPTO__OPERATION__INIT;
	int r;

	if (attrs == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	switch (check) {
	case TT_CHECK_USE: op.check_type = CAN_DO_CRYPTO__CHECK_TYPE__USE; break;
	case TT_CHECK_GENERATE: op.check_type = CAN_DO_CRYPTO__CHECK_TYPE__GENERATE; break;
	case TT_CHECK_IMPORT: op.check_type = CAN_DO_CRYPTO__CHECK_TYPE__IMPORT; break;
	case TT_CHECK_DERIVE: op.check_type = CAN_DO_CRYPTO__CHECK_TYPE__DERIVE; break;
	default: return TT_ERR_INVALID_ARGUMENT;
	}
	if ((r = tt_psa_attrs_to_pb(attrs, &op.attributes)) != 0)
		return r;
	r = tt_client_call(c, TT_OP_CAN_DO_CRYPTO, false, false, &op.base,
			   &can_do_crypto__result__descriptor, NULL);
	tt_pb_attrs_free(op.attributes);
	return r;
}
