/*
 * Core provider (id 0): discovery and administration. These never touch key material
 * except DeleteClient, which goes through the same crash-safe destroy protocol as
 * PsaDestroyKey.
 */
#include <stdlib.h>
#include <string.h>

#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "service/ops/ops.h"
#include "turtle/error.h"
#include "util/log.h"
#include "wire/opcodes.h"
#include "wire/psa_conv.h"

#define CORE_UUID "47049873-2a43-4845-9d72-831eab668784"
#define CORE_DESC "Software provider that implements only administrative (i.e. no cryptographic) operations"
#define CORE_VENDOR "Turtle"

int
tt_op_ping(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	Ping__Operation *op;
	Ping__Result res = PING__RESULT__INIT;

	(void)ctx;
	if ((op = ping__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	ping__operation__free_unpacked(op, NULL);
	res.wire_protocol_version_maj = TT_WIRE_VERSION_MAJ;
	res.wire_protocol_version_min = TT_WIRE_VERSION_MIN;
	return tt_ops_pack(&res.base, out);
}

int
tt_op_list_providers(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	ListProviders__Operation *op;
	ListProviders__Result res = LIST_PROVIDERS__RESULT__INIT;
	ListProviders__ProviderInfo info[TT_MAX_PROVIDERS + 1];
	ListProviders__ProviderInfo *ptrs[TT_MAX_PROVIDERS + 1];
	struct tt_service *svc = ctx->svc;
	size_t n = 0;

	if ((op = list_providers__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	list_providers__operation__free_unpacked(op, NULL);

	/* configured providers in config order, then the core provider last, as PARSEC */
	for (size_t i = 0; i < svc->n_providers && n < TT_MAX_PROVIDERS; i++) {
		const struct tt_provider_ops *p = svc->providers[i].ops;

		list_providers__provider_info__init(&info[n]);
		info[n].uuid = (char *)p->uuid;
		info[n].description = (char *)p->description;
		info[n].vendor = (char *)p->vendor;
		info[n].version_maj = p->version_maj;
		info[n].version_min = p->version_min;
		info[n].version_rev = p->version_rev;
		info[n].id = p->id;
		ptrs[n] = &info[n];
		n++;
	}
	list_providers__provider_info__init(&info[n]);
	info[n].uuid = (char *)CORE_UUID;
	info[n].description = (char *)CORE_DESC;
	info[n].vendor = (char *)CORE_VENDOR;
	info[n].version_maj = 0;
	info[n].version_min = 1;
	info[n].version_rev = 0;
	info[n].id = TT_PROVIDER_CORE;
	ptrs[n] = &info[n];
	n++;
	res.n_providers = n;
	res.providers = ptrs;
	return tt_ops_pack(&res.base, out);
}

int
tt_op_list_opcodes(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	ListOpcodes__Operation *op;
	ListOpcodes__Result res = LIST_OPCODES__RESULT__INIT;
	uint32_t core_ops[64];
	size_t n_table, n = 0;
	const struct tt_opcode_info *tab;
	int r;

	if ((op = list_opcodes__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->provider_id == TT_PROVIDER_CORE) {
		tab = tt_opcode_table(&n_table);
		for (size_t i = 0; i < n_table && n < sizeof(core_ops) / sizeof(core_ops[0]); i++)
			if (tab[i].core)
				core_ops[n++] = tab[i].opcode;
		res.n_opcodes = n;
		res.opcodes = core_ops;
	} else {
		struct tt_provider_slot *s = op->provider_id > 0xff ? NULL :
		    tt_service_provider(ctx->svc, (uint8_t)op->provider_id);

		if (s == NULL) {
			r = TT_ERR_PROVIDER_NOT_REGISTERED;
			goto out;
		}
		res.n_opcodes = s->ops->n_opcodes;
		res.opcodes = (uint32_t *)s->ops->opcodes;
	}
	r = tt_ops_pack(&res.base, out);
out:
	list_opcodes__operation__free_unpacked(op, NULL);
	return r;
}

int
tt_op_list_authenticators(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	ListAuthenticators__Operation *op;
	ListAuthenticators__Result res = LIST_AUTHENTICATORS__RESULT__INIT;
	ListAuthenticators__AuthenticatorInfo info[2], *ptrs[2];
	const struct tt_config *cfg = ctx->svc->cfg;
	size_t n = 0;

	if ((op = list_authenticators__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	list_authenticators__operation__free_unpacked(op, NULL);
	if (cfg->auth_direct) {
		list_authenticators__authenticator_info__init(&info[n]);
		info[n].description = (char *)"Direct authentication: the client states its "
		    "application name, which the service trusts as given";
		info[n].version_min = 1;
		info[n].id = TT_AUTH_DIRECT;
		ptrs[n] = &info[n];
		n++;
	}
	if (cfg->auth_unix_peer) {
		list_authenticators__authenticator_info__init(&info[n]);
		info[n].description = (char *)"Unix peer credentials: the UID stated by the "
		    "client must equal the UID the kernel reports for the connection";
		info[n].version_min = 1;
		info[n].id = TT_AUTH_UNIX_PEER;
		ptrs[n] = &info[n];
		n++;
	}
	res.n_authenticators = n;
	res.authenticators = ptrs;
	return tt_ops_pack(&res.base, out);
}

/* ---- ListKeys ---- */

struct key_list {
	ListKeys__KeyInfo **v;
	size_t n, cap;
	int err;
};

static void
key_list_free(struct key_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]->name);
		tt_pb_attrs_free(l->v[i]->attributes);
		free(l->v[i]);
	}
	free(l->v);
}

static int
key_list_cb(const struct tt_kim_rec *rec, void *arg)
{
	struct key_list *l = arg;
	ListKeys__KeyInfo *ki;
	int r;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		ListKeys__KeyInfo **nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return TT_ERR_NO_MEMORY;
		l->v = nv;
		l->cap = ncap;
	}
	if ((ki = calloc(1, sizeof(*ki))) == NULL)
		return TT_ERR_NO_MEMORY;
	list_keys__key_info__init(ki);
	ki->provider_id = rec->provider;
	if ((ki->name = strdup(rec->name)) == NULL) {
		free(ki);
		return TT_ERR_NO_MEMORY;
	}
	if ((r = tt_psa_attrs_to_pb(&rec->attrs, &ki->attributes)) != 0) {
		free(ki->name);
		free(ki);
		return r;
	}
	l->v[l->n++] = ki;
	return 0;
}

int
tt_op_list_keys(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	ListKeys__Operation *op;
	ListKeys__Result res = LIST_KEYS__RESULT__INIT;
	struct key_list l = { 0 };
	struct tt_kim_client c;
	int r;

	if ((op = list_keys__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	list_keys__operation__free_unpacked(op, NULL);
	tt_ops_client(ctx, &c);
	if ((r = tt_kim_list_keys(ctx->svc->kim, &c, key_list_cb, &l)) != 0)
		goto out;
	res.n_keys = l.n;
	res.keys = l.v;
	r = tt_ops_pack(&res.base, out);
out:
	key_list_free(&l);
	return r;
}

/* ---- ListClients / DeleteClient ---- */

struct str_list {
	char **v;
	uint8_t *types;
	size_t n, cap;
	const char *only;     /* when set, collect auth types of this app only */
};

static void
str_list_free(struct str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->types);
}

static int
str_list_add(struct str_list *l, uint8_t type, const char *s)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **nv = realloc(l->v, ncap * sizeof(*nv));
		uint8_t *nt;

		if (nv == NULL)
			return TT_ERR_NO_MEMORY;
		l->v = nv;
		if ((nt = realloc(l->types, ncap)) == NULL)
			return TT_ERR_NO_MEMORY;
		l->types = nt;
		l->cap = ncap;
	}
	if ((l->v[l->n] = strdup(s)) == NULL)
		return TT_ERR_NO_MEMORY;
	l->types[l->n] = type;
	l->n++;
	return 0;
}

static int
client_cb(uint8_t auth_type, const char *app, void *arg)
{
	struct str_list *l = arg;

	if (l->only != NULL) {
		if (strcmp(app, l->only) != 0)
			return 0;
		return str_list_add(l, auth_type, app);
	}
	/* PARSEC lists application names; the same name under two authenticators is
	 * shown once. */
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], app) == 0)
			return 0;
	return str_list_add(l, auth_type, app);
}

/*
 * How many of the listed names fit in one answer of at most `max` bytes. PARSEC's
 * ListClients has no paging, and an admin must always get an answer (a client that can
 * create keys must not be able to blind the admin), so an answer that would be too large
 * is cut to the names that fit, in the key store's order (authenticator, then name),
 * and the cut is logged. max_clients (docs/config.md) keeps this from happening with the
 * default limits: 1024 names of at most 256 bytes take 265 KiB of a 1 MiB answer.
 * Each entry of `repeated string clients = 1` costs a 1-byte tag, a varint length and
 * the name.
 */
static size_t
list_clients_fit(const struct str_list *l, size_t max)
{
	size_t used = 0, i;

	for (i = 0; i < l->n; i++) {
		size_t len = strlen(l->v[i]), cost = 1 + len;

		for (size_t v = len; v >= 0x80; v >>= 7)
			cost++;
		cost++;   /* the varint's last byte */
		if (cost > max - used)
			break;
		used += cost;
	}
	return i;
}

int
tt_op_list_clients(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	ListClients__Operation *op;
	ListClients__Result res = LIST_CLIENTS__RESULT__INIT;
	struct str_list l = { 0 };
	int r;

	if ((op = list_clients__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	list_clients__operation__free_unpacked(op, NULL);
	if ((r = tt_kim_list_clients(ctx->svc->kim, client_cb, &l)) != 0)
		goto out;
	res.n_clients = list_clients_fit(&l, tt_ops_max_response(ctx));
	if (res.n_clients < l.n)
		tt_warn("ListClients: %zu of %zu clients listed; the rest would exceed max_response"
		    " (raise it, or lower max_clients)", res.n_clients, l.n);
	res.clients = l.v;
	r = tt_ops_pack(&res.base, out);
out:
	str_list_free(&l);
	return r;
}

/* Keys to destroy, by the exact row (kid) listed, so that a key destroyed and its name
 * re-created meanwhile is not hit by mistake. */
struct victim_list {
	uint8_t (*kids)[TT_KEY_ID_LEN];
	uint8_t *providers;
	size_t n, cap;
};

static int
victim_cb(const struct tt_kim_rec *rec, void *arg)
{
	struct victim_list *l = arg;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		uint8_t (*nv)[TT_KEY_ID_LEN] = realloc(l->kids, ncap * sizeof(*nv));
		uint8_t *np;

		if (nv == NULL)
			return TT_ERR_NO_MEMORY;
		l->kids = nv;
		if ((np = realloc(l->providers, ncap)) == NULL)
			return TT_ERR_NO_MEMORY;
		l->providers = np;
		l->cap = ncap;
	}
	memcpy(l->kids[l->n], rec->kid, TT_KEY_ID_LEN);
	l->providers[l->n] = rec->provider;
	l->n++;
	return 0;
}

static void
victim_list_free(struct victim_list *l)
{
	free(l->kids);
	free(l->providers);
	memset(l, 0, sizeof(*l));
}

int
tt_op_delete_client(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len, struct tt_buf *out)
{
	DeleteClient__Operation *op;
	DeleteClient__Result res = DELETE_CLIENT__RESULT__INIT;
	struct str_list types = { 0 };
	struct victim_list keys = { 0 };
	size_t destroyed = 0;
	int r, first_err = 0;

	if ((op = delete_client__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	if (op->client == NULL || op->client[0] == '\0' || strlen(op->client) > TT_APP_NAME_MAX) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* Every authenticator under which this application name owns keys. The key lists
	 * are collected first: the key store is not re-entered from its callbacks. */
	types.only = op->client;
	if ((r = tt_kim_list_clients(ctx->svc->kim, client_cb, &types)) != 0)
		goto out;
	for (size_t t = 0; t < types.n; t++) {
		struct tt_kim_client c = { .auth_type = types.types[t], .app = op->client };

		if ((r = tt_kim_list_keys(ctx->svc->kim, &c, victim_cb, &keys)) != 0)
			goto out;
		for (size_t k = 0; k < keys.n; k++) {
			if (tt_service_provider(ctx->svc, keys.providers[k]) == NULL) {
				tt_warn("DeleteClient: key of provider %u not configured, kept",
				    keys.providers[k]);
				if (first_err == 0)
					first_err = TT_ERR_PROVIDER_NOT_REGISTERED;
				continue;
			}
			r = tt_ops_destroy_rec(ctx->svc, &c, keys.kids[k]);
			/* destroyed by a concurrent request meanwhile: nothing left to do */
			if (r == TT_ERR_DOES_NOT_EXIST)
				continue;
			if (r == 0)
				destroyed++;
			else if (first_err == 0)
				first_err = r;
		}
		victim_list_free(&keys);
	}
	if (destroyed == 0 && first_err == 0) {
		r = TT_ERR_DOES_NOT_EXIST;
		goto out;
	}
	tt_info("DeleteClient: %zu key(s) of client \"%s\" destroyed", destroyed, op->client);
	if ((r = first_err) != 0)
		goto out;
	r = tt_ops_pack(&res.base, out);
out:
	victim_list_free(&keys);
	str_list_free(&types);
	delete_client__operation__free_unpacked(op, NULL);
	return r;
}
