/*
 * turtled's request path, from framed bytes to a response frame.
 *
 *   conn.c      reads bytes into a bounded frame reader (frame.h), enforces limits and
 *               timeouts, writes responses; knows nothing about operations.
 *   frontend.c  checks the header fields in PARSEC's order, authenticates, dispatches,
 *               and always produces exactly one response frame with one status.
 *   auth/       authenticators: direct, unix peer credentials.
 *   ops/        one file per operation family: decode body, resolve keys through the key
 *               store, enforce key policy, call the provider, encode the result.
 */
#ifndef TT_SERVICE_H
#define TT_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "providers/provider.h"
#include "service/config.h"
#include "service/kim/kim.h"
#include "util/buf.h"
#include "wire/header.h"

#define TT_MAX_PROVIDERS 8
#define TT_APP_NAME_MAX 256

struct tt_provider_slot {
	const struct tt_provider_ops *ops;
	void *ctx;
};

struct tt_service {
	/* The config is swapped on SIGHUP under cfg_lock (readers take it shared). */
	pthread_rwlock_t cfg_lock;
	struct tt_config *cfg;
	struct tt_kim *kim;
	struct tt_provider_slot providers[TT_MAX_PROVIDERS];   /* config order, [0] is default */
	size_t n_providers;
};

/* Peer credentials read with SO_PEERCRED at accept. */
struct tt_peer {
	bool valid;
	uint32_t uid, gid;
	int32_t pid;
};

/* An authenticated client. */
struct tt_identity {
	uint8_t auth_type;               /* TT_AUTH_DIRECT or TT_AUTH_UNIX_PEER */
	char app[TT_APP_NAME_MAX + 1];   /* application name (unix peer: decimal uid) */
	bool admin;
};

/* Set up the key store and providers from cfg (which the service then owns), and run
 * crash recovery of pending key-store rows. */
int tt_service_init(struct tt_service *svc, struct tt_config *cfg);
void tt_service_fini(struct tt_service *svc);
/* Replace the config for the limits/authenticator/admin settings (providers and
 * paths need a restart; a changed one is logged and ignored). Takes ownership. */
int tt_service_reload(struct tt_service *svc, struct tt_config *cfg);

/* Provider slot by wire id, NULL if not configured. */
struct tt_provider_slot *tt_service_provider(struct tt_service *svc, uint8_t id);

/*
 * Handle one complete request whose header already passed tt_wire_hdr_decode and the
 * body/auth length limits. Appends exactly one complete response frame (36-byte header +
 * body) to `resp`, whose header carries `resp_flags` (TT_WIRE_FLAG_KEEP_ALIVE when the
 * connection stays open). Returns 0, or TT_ERR_NO_MEMORY if not even an error frame
 * could be built (the connection is then closed).
 */
int tt_frontend_handle(struct tt_service *svc, const struct tt_wire_hdr *hdr,
    const uint8_t *body, const uint8_t *auth, const struct tt_peer *peer, uint16_t resp_flags,
    struct tt_buf *resp);

/* The response frame for a request whose header could not be parsed or exceeded a
 * limit: PARSEC's default header (provider 0, opcode Ping, session 0) with `err`'s status. */
int tt_frontend_error_frame(int err, struct tt_buf *resp);

/* Authenticate; 0 fills *id. Errors: TT_ERR_AUTHENTICATOR_NOT_REGISTERED (type disabled),
 * TT_ERR_AUTHENTICATION (bad bytes, uid mismatch). Not called for TT_AUTH_NONE. */
int tt_auth_authenticate(const struct tt_config *cfg, uint8_t auth_type,
    const uint8_t *auth, size_t auth_len, const struct tt_peer *peer, struct tt_identity *id);

/* Operation handler: decode `body`, act, append the encoded result body to `out`.
 * `id` is NULL for an unauthenticated request whose opcode allows it. */
struct tt_op_ctx {
	struct tt_service *svc;
	const struct tt_wire_hdr *hdr;
	const struct tt_identity *id;
	struct tt_provider_slot *prov;   /* NULL for core operations */
};
int tt_ops_dispatch(const struct tt_op_ctx *ctx, const uint8_t *body, size_t body_len,
    struct tt_buf *out);

#endif
