/*
 * Authenticators: turn the request's auth bytes (and the connection's peer credentials)
 * into a client identity. An identity is the pair (authenticator, application name), so
 * "1000" via direct auth and uid 1000 via peer credentials are different clients.
 *
 * The caller holds the service's cfg_lock shared while cfg is in use.
 */
#include <stdio.h>
#include <string.h>

#include "service/ops/ops.h"
#include "service/service.h"
#include "turtle/error.h"
#include "util/buf.h"

static int
auth_direct(const uint8_t *auth, size_t len, struct tt_identity *id)
{
	/* The name is the client's whole identity: it must be text a log and a config file
	 * can hold unambiguously. */
	if (len == 0 || len > TT_APP_NAME_MAX)
		return TT_ERR_AUTHENTICATION;
	if (memchr(auth, '\0', len) != NULL || !tt_ops_utf8_valid(auth, len))
		return TT_ERR_AUTHENTICATION;
	memcpy(id->app, auth, len);
	id->app[len] = '\0';
	return 0;
}

static int
auth_unix_peer(const uint8_t *auth, size_t len, const struct tt_peer *peer, struct tt_identity *id)
{
	struct tt_buf b;
	uint32_t uid;
	int n;

	tt_buf_init_ro(&b, auth, len);
	if (tt_buf_get_u32le(&b, &uid) != 0 || tt_buf_expect_end(&b) != 0)
		return TT_ERR_AUTHENTICATION;
	/* The stated uid is only a claim; the kernel's word decides. */
	if (peer == NULL || !peer->valid || peer->uid != uid)
		return TT_ERR_AUTHENTICATION;
	n = snprintf(id->app, sizeof(id->app), "%u", uid);
	if (n < 0 || (size_t)n >= sizeof(id->app))
		return TT_ERR_AUTHENTICATION;
	return 0;
}

int
tt_auth_authenticate(const struct tt_config *cfg, uint8_t auth_type,
    const uint8_t *auth, size_t auth_len, const struct tt_peer *peer, struct tt_identity *id)
{
	struct tt_identity tmp;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	if (auth == NULL)
		auth_len = 0;
	switch (auth_type) {
	case TT_AUTH_DIRECT:
		if (!cfg->auth_direct)
			return TT_ERR_AUTHENTICATOR_NOT_REGISTERED;
		r = auth_direct(auth, auth_len, &tmp);
		break;
	case TT_AUTH_UNIX_PEER:
		if (!cfg->auth_unix_peer)
			return TT_ERR_AUTHENTICATOR_NOT_REGISTERED;
		r = auth_unix_peer(auth, auth_len, peer, &tmp);
		break;
	case TT_AUTH_TOKENS:
	case TT_AUTH_JWT_SVID:
		/* defined by PARSEC, not offered by this service */
		return TT_ERR_AUTHENTICATOR_NOT_REGISTERED;
	default:
		return TT_ERR_AUTHENTICATOR_DOES_NOT_EXIST;
	}
	if (r != 0)
		return r;
	tmp.auth_type = auth_type;
	tmp.admin = tt_config_is_admin(cfg, auth_type, tmp.app);
	*id = tmp;
	return 0;
}
