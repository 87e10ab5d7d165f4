/*
 * The front end: one request in, exactly one response frame out.
 *
 * Order of checks (each failure is one PARSEC status, and the first failing check
 * decides): framing (done by the frame reader) -> content type -> accept type -> auth
 * type known -> opcode known -> provider id known -> authentication -> provider
 * configured -> opcode/provider kind -> admin -> authentication required -> opcode
 * offered by the provider -> body decoding and the operation itself -> response size.
 * docs/request-path.md has the table.
 */
#include <stdio.h>
#include <string.h>

#include "service/service.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "wire/opcodes.h"

/* Append header + body in one reservation so that a failure never leaves half a frame
 * in `resp` (which may already hold earlier responses of a pipelined connection). */
static int
put_frame(struct tt_buf *resp, const struct tt_wire_hdr *hdr, const uint8_t *body, size_t len)
{
	struct tt_wire_hdr h = *hdr;
	uint8_t *p;
	int r;

	if (len > UINT32_MAX || len > SIZE_MAX - TT_WIRE_HDR_LEN)
		return TT_ERR_RESPONSE_TOO_LARGE;
	if ((r = tt_buf_reserve(resp, TT_WIRE_HDR_LEN + len, &p)) != 0)
		return r;
	h.body_len = (uint32_t)len;
	h.auth_len = 0;
	tt_wire_hdr_encode(&h, p);
	if (len > 0)
		memcpy(p + TT_WIRE_HDR_LEN, body, len);
	tt_buf_commit(resp, TT_WIRE_HDR_LEN + len);
	return 0;
}

int
tt_frontend_error_frame(int err, struct tt_buf *resp)
{
	struct tt_wire_hdr h;

	/* PARSEC's default response header: nothing of the request is trusted enough to
	 * be echoed. */
	memset(&h, 0, sizeof(h));
	h.opcode = TT_OP_PING;
	h.status = tt_err_to_status(err);
	return put_frame(resp, &h, NULL, 0) == 0 ? 0 : TT_ERR_NO_MEMORY;
}

static bool
opcode_offered(const struct tt_provider_ops *p, uint32_t opcode)
{
	for (size_t i = 0; i < p->n_opcodes; i++)
		if (p->opcodes[i] == opcode)
			return true;
	return false;
}

/* Header fields the frame reader does not judge, in PARSEC's order. */
static int
check_fields(const struct tt_wire_hdr *hdr)
{
	if (hdr->content_type != TT_WIRE_BODY_PROTOBUF)
		return TT_ERR_CONTENT_TYPE;
	if (hdr->accept_type != TT_WIRE_BODY_PROTOBUF)
		return TT_ERR_ACCEPT_TYPE;
	if (hdr->auth_type > TT_AUTH_TYPE_MAX)
		return TT_ERR_AUTHENTICATOR_DOES_NOT_EXIST;
	if (tt_opcode_info(hdr->opcode) == NULL)
		return TT_ERR_OPCODE_DOES_NOT_EXIST;
	if (hdr->provider > TT_PROVIDER_ID_MAX)
		return TT_ERR_PROVIDER_DOES_NOT_EXIST;
	return 0;
}

/* Who may run what, after authentication. *prov is NULL for a core operation. */
static int
check_access(struct tt_service *svc, const struct tt_wire_hdr *hdr, const struct tt_identity *id,
    struct tt_provider_slot **prov)
{
	const struct tt_opcode_info *info = tt_opcode_info(hdr->opcode);
	struct tt_provider_slot *s = NULL;

	if (hdr->provider != TT_PROVIDER_CORE &&
	    (s = tt_service_provider(svc, hdr->provider)) == NULL)
		return TT_ERR_PROVIDER_NOT_REGISTERED;
	if (info->core != (hdr->provider == TT_PROVIDER_CORE))
		return TT_ERR_NOT_SUPPORTED;
	if (info->admin) {
		if (id == NULL)
			return TT_ERR_NOT_AUTHENTICATED;
		if (!id->admin)
			return TT_ERR_ADMIN_OPERATION;
	}
	if (info->needs_auth && id == NULL)
		return TT_ERR_NOT_AUTHENTICATED;
	if (s != NULL && !opcode_offered(s->ops, hdr->opcode))
		return TT_ERR_NOT_SUPPORTED;
	*prov = s;
	return 0;
}

static void
log_failure(const struct tt_wire_hdr *hdr, const struct tt_identity *id, int err)
{
	const struct tt_opcode_info *info = tt_opcode_info(hdr->opcode);
	char opbuf[16], who[TT_APP_NAME_MAX + 32];
	const char *opname = info != NULL ? info->name : opbuf;
	enum tt_log_level lvl = TT_LOG_DEBUG;

	if (info == NULL)
		(void)snprintf(opbuf, sizeof(opbuf), "0x%x", hdr->opcode);
	/* Never the auth bytes: for a failed authentication they are an unverified claim
	 * (and for future token authenticators, a secret). */
	if (id != NULL)
		(void)snprintf(who, sizeof(who), "client \"%s\" (auth type %u)", id->app, id->auth_type);
	else if (hdr->auth_type != TT_AUTH_NONE)
		(void)snprintf(who, sizeof(who), "an unauthenticated client (auth type %u)", hdr->auth_type);
	else
		(void)snprintf(who, sizeof(who), "an anonymous client");
	if (err == TT_ERR_AUTHENTICATION || err == TT_ERR_AUTHENTICATOR_NOT_REGISTERED ||
	    err == TT_ERR_ADMIN_OPERATION)
		lvl = TT_LOG_INFO;
	tt_log(lvl, "%s (provider %u) from %s: %s", opname, hdr->provider, who, tt_err_name(err));
}

int
tt_frontend_handle(struct tt_service *svc, const struct tt_wire_hdr *hdr,
    const uint8_t *body, const uint8_t *auth, const struct tt_peer *peer, uint16_t resp_flags,
    struct tt_buf *resp)
{
	struct tt_identity ident, *id = NULL;
	struct tt_provider_slot *prov = NULL;
	struct tt_op_ctx ctx;
	struct tt_wire_hdr rh;
	uint8_t raw[TT_WIRE_HDR_LEN];
	size_t start = tt_buf_len(resp), body_len = 0;
	uint32_t max_response = 0;
	bool locked = false;
	int r;

	memset(&ident, 0, sizeof(ident));
	/* The operation writes its result body in place, behind room for the header that
	 * is filled in last: no second buffer, no copy. An error truncates back to the
	 * header. */
	memset(raw, 0, sizeof(raw));
	if (tt_buf_put(resp, raw, sizeof(raw)) != 0)
		return TT_ERR_NO_MEMORY;
	if ((r = check_fields(hdr)) != 0)
		goto out;
	pthread_rwlock_rdlock(&svc->cfg_lock);
	locked = true;
	max_response = svc->cfg->max_response;
	if (hdr->auth_type != TT_AUTH_NONE) {
		if ((r = tt_auth_authenticate(svc->cfg, hdr->auth_type, auth, hdr->auth_len,
		    peer, &ident)) != 0)
			goto out;
		id = &ident;
	}
	if ((r = check_access(svc, hdr, id, &prov)) != 0)
		goto out;
	ctx.svc = svc;
	ctx.hdr = hdr;
	ctx.id = id;
	ctx.prov = prov;
	r = tt_ops_dispatch(&ctx, body, hdr->body_len, resp);
	body_len = tt_buf_len(resp) - start - TT_WIRE_HDR_LEN;
	/* a provider writing past the response limit is the response being too large */
	if (r == TT_ERR_LIMIT || (r == 0 && (body_len > max_response || body_len > UINT32_MAX)))
		r = TT_ERR_RESPONSE_TOO_LARGE;
out:
	if (locked)
		pthread_rwlock_unlock(&svc->cfg_lock);
	if (r != 0) {
		log_failure(hdr, id, r);
		/* an error carries no body (wiped: it may be half an exported key) */
		tt_buf_truncate(resp, start + TT_WIRE_HDR_LEN);
		body_len = 0;
	}
	memset(&rh, 0, sizeof(rh));
	rh.flags = resp_flags;
	rh.provider = hdr->provider;
	rh.session = hdr->session;
	rh.opcode = hdr->opcode;
	rh.status = tt_err_to_status(r);
	rh.body_len = (uint32_t)body_len;
	tt_wire_hdr_encode(&rh, raw);
	memset(&ident, 0, sizeof(ident));
	return tt_buf_put_at(resp, start, raw, sizeof(raw)) == 0 ? 0 : TT_ERR_NO_MEMORY;
}
