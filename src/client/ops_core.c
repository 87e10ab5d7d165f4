/* Core-provider operations: ping and the list/admin family. */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "wire/opcodes.h"
#include "wire/psa_conv.h"

/* Protobuf strings are never NULL after unpack, but be defensive: a peer's message is
 * untrusted and protobuf-c leaves defaults pointing at static "". */
static char *
dup_str(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
tt_ping(struct tt_client *c, uint8_t *maj, uint8_t *min)
{
	Ping__Operation op = PING__OPERATION__INIT;
	Ping__Result *res = NULL;
	int r;

	if ((r = tt_client_call(c, TT_OP_PING, true, false, &op.base, &ping__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	if (res->wire_protocol_version_maj > UINT8_MAX || res->wire_protocol_version_min > UINT8_MAX) {
		r = TT_ERR_PROTOCOL;
		goto out;
	}
	if (maj != NULL)
		*maj = (uint8_t)res->wire_protocol_version_maj;
	if (min != NULL)
		*min = (uint8_t)res->wire_protocol_version_min;
out:
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

void
tt_provider_info_free(struct tt_provider_info *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].uuid);
		free(v[i].description);
		free(v[i].vendor);
	}
	free(v);
}

int
tt_list_providers(struct tt_client *c, struct tt_provider_info **out, size_t *n)
{
	ListProviders__Operation op = LIST_PROVIDERS__OPERATION__INIT;
	ListProviders__Result *res = NULL;
	struct tt_provider_info *v = NULL;
	size_t i, cnt = 0;
	int r;

	if (out == NULL || n == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_client_call(c, TT_OP_LIST_PROVIDERS, true, false, &op.base,
				&list_providers__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if ((v = calloc(res->n_providers + 1, sizeof(*v))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < res->n_providers; i++) {
		const ListProviders__ProviderInfo *p = res->providers[i];
		if (p->id > UINT8_MAX) {
			r = TT_ERR_PROTOCOL;
			goto out;
		}
		cnt++;
		v[i].id = (uint8_t)p->id;
		v[i].version_maj = p->version_maj;
		v[i].version_min = p->version_min;
		v[i].version_rev = p->version_rev;
		if ((v[i].uuid = dup_str(p->uuid)) == NULL ||
		    (v[i].description = dup_str(p->description)) == NULL ||
		    (v[i].vendor = dup_str(p->vendor)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	tt_provider_info_free(v, cnt);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_list_opcodes(struct tt_client *c, uint8_t provider, uint32_t **out, size_t *n)
{
	ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
	ListOpcodes__Result *res = NULL;
	uint32_t *v;
	int r;

	if (out == NULL || n == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	op.provider_id = provider;
	if ((r = tt_client_call(c, TT_OP_LIST_OPCODES, true, false, &op.base,
				&list_opcodes__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if ((v = calloc(res->n_opcodes + 1, sizeof(*v))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (res->n_opcodes > 0)
		memcpy(v, res->opcodes, res->n_opcodes * sizeof(*v));
	*out = v;
	*n = res->n_opcodes;
out:
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

void
tt_authenticator_info_free(struct tt_authenticator_info *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].description);
	free(v);
}

int
tt_list_authenticators(struct tt_client *c, struct tt_authenticator_info **out, size_t *n)
{
	ListAuthenticators__Operation op = LIST_AUTHENTICATORS__OPERATION__INIT;
	ListAuthenticators__Result *res = NULL;
	struct tt_authenticator_info *v = NULL;
	size_t i, cnt = 0;
	int r;

	if (out == NULL || n == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_client_call(c, TT_OP_LIST_AUTHENTICATORS, true, false, &op.base,
				&list_authenticators__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	if ((v = calloc(res->n_authenticators + 1, sizeof(*v))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < res->n_authenticators; i++) {
		const ListAuthenticators__AuthenticatorInfo *a = res->authenticators[i];
		if (a->id > UINT8_MAX) {
			r = TT_ERR_PROTOCOL;
			goto out;
		}
		cnt++;
		v[i].id = (uint8_t)a->id;
		v[i].version_maj = a->version_maj;
		v[i].version_min = a->version_min;
		v[i].version_rev = a->version_rev;
		if ((v[i].description = dup_str(a->description)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	tt_authenticator_info_free(v, cnt);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

void
tt_key_info_free(struct tt_key_info *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int
tt_list_keys(struct tt_client *c, struct tt_key_info **out, size_t *n)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	ListKeys__Result *res = NULL;
	struct tt_key_info *v = NULL;
	size_t i, cnt = 0;
	int r;

	if (out == NULL || n == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_client_call(c, TT_OP_LIST_KEYS, true, false, &op.base,
				&list_keys__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if ((v = calloc(res->n_keys + 1, sizeof(*v))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < res->n_keys; i++) {
		const ListKeys__KeyInfo *k = res->keys[i];
		if (k->provider_id > UINT8_MAX) {
			r = TT_ERR_PROTOCOL;
			goto out;
		}
		cnt++;
		v[i].provider = (uint8_t)k->provider_id;
		if ((v[i].name = dup_str(k->name)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		/* Attributes the library cannot translate are reported as zero rather than
		 * failing the whole listing: the names are still useful. */
		if (k->attributes == NULL || tt_pb_attrs_to_psa(k->attributes, &v[i].attrs) != 0)
			memset(&v[i].attrs, 0, sizeof(v[i].attrs));
	}
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	tt_key_info_free(v, cnt);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

void
tt_string_list_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
tt_list_clients(struct tt_client *c, char ***out, size_t *n)
{
	ListClients__Operation op = LIST_CLIENTS__OPERATION__INIT;
	ListClients__Result *res = NULL;
	char **v = NULL;
	size_t i, cnt = 0;
	int r;

	if (out == NULL || n == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_client_call(c, TT_OP_LIST_CLIENTS, true, false, &op.base,
				&list_clients__result__descriptor, (ProtobufCMessage **)&res)) != 0)
		return r;
	if ((v = calloc(res->n_clients + 1, sizeof(*v))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < res->n_clients; i++) {
		if ((v[i] = dup_str(res->clients[i])) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		cnt++;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	tt_string_list_free(v, cnt);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_delete_client(struct tt_client *c, const char *client)
{
	DeleteClient__Operation op = DELETE_CLIENT__OPERATION__INIT;

	if (client == NULL || *client == '\0')
		return TT_ERR_INVALID_ARGUMENT;
	op.client = (char *)client;
	return tt_client_call(c, TT_OP_DELETE_CLIENT, true, false, &op.base,
			      &delete_client__result__descriptor, NULL);
}
