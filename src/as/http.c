/*
 * HTTP front of turtle-as over libmicrohttpd (epoll, internal thread pool).
 *
 * Limits are enforced before work is done: a Content-Length over max_body is refused with
 * 413 before a byte of the body is read; a chunked body that grows past the limit is
 * discarded as it arrives and answered with 413. Connections are capped and time out
 * after request_timeout seconds of inactivity. Every error leaves as an RFC 7807 problem
 * document (application/problem+json) whose status comes from the one tt_err table.
 * Admin routes check "Authorization: Bearer <token>" by comparing SHA-256 digests with
 * CRYPTO_memcmp, so neither the content nor the length of the token leaks through timing;
 * without a configured token they answer 403 (disabled), never open.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "http.h"
#include "json.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

struct tt_as_http {
	struct MHD_Daemon *d;
};

/* Per-request state kept by MHD between the calls of one request. */
struct conn_state {
	uint8_t *body;
	size_t len;
	size_t cap;
	bool too_large;
};

enum route_auth { PUBLIC, ADMIN };

struct route {
	const char *method;           /* NULL: any method (the handler dispatches) */
	const char *path;             /* exact path, or prefix when `prefix` */
	bool prefix;
	enum route_auth auth;
	tt_as_handler h;
	bool appraisal_input;         /* writes what attestations read: drop the cache */
};

static const struct route routes[] = {
	{ "POST", "/v1/challenge", false, PUBLIC, tt_as_h_challenge, false },
	{ "POST", "/v1/attest", false, PUBLIC, tt_as_h_attest, false },
	{ "GET", "/.well-known/jwks.json", false, PUBLIC, tt_as_h_jwks, false },
	{ "POST", "/v1/activate", false, PUBLIC, tt_as_h_activate, true },
	{ NULL, "/v1/keys", true, ADMIN, tt_as_h_keys, false },
	{ NULL, "/v1/nodes", false, ADMIN, tt_as_h_nodes, true },
	{ NULL, "/v1/nodes/", true, ADMIN, tt_as_h_nodes, true },
	{ NULL, "/v1/reference-values", false, ADMIN, tt_as_h_refvals, true },
	{ NULL, "/v1/reference-values/", true, ADMIN, tt_as_h_refvals, true },
	{ NULL, "/v1/policies", false, ADMIN, tt_as_h_policies, true },
	{ NULL, "/v1/policies/", true, ADMIN, tt_as_h_policies, true },
	{ NULL, "/v1/resource-policy", false, ADMIN, tt_as_h_resource_policy, true },
	{ NULL, "/v1/resources", false, ADMIN, tt_as_h_resources, false },
	{ NULL, "/v1/resources/", true, ADMIN, tt_as_h_resources, false },
	{ "GET", "/v1/results/", true, ADMIN, tt_as_h_results, false },
	{ "POST", "/kbs/v0/auth", false, PUBLIC, tt_as_h_kbs_auth, false },
	{ "POST", "/kbs/v0/attest", false, PUBLIC, tt_as_h_kbs_attest, false },
	{ "GET", "/kbs/v0/resource/", true, PUBLIC, tt_as_h_kbs_resource, false },
};

void
tt_as_detail(struct tt_as_resp *rs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rs->detail_buf, sizeof(rs->detail_buf), fmt, ap);
	va_end(ap);
	rs->detail = rs->detail_buf;
}

int
tt_as_body_json(const struct tt_as_req *rq, struct tt_as_resp *rs, json_t **out)
{
	struct tt_json_err jerr = { 0 };
	json_t *j = NULL;
	int r;

	if (rq->body_len == 0) {
		rs->detail = "request body is empty; a JSON object is expected";
		return TT_ERR_INVALID_ARGUMENT;
	}
	/* Duplicate keys are refused: one name, one value, whoever reads the object. */
	r = tt_json_parse((const char *)rq->body, rq->body_len, TT_JSON_DEPTH_DEFAULT, &j, &jerr);
	if (r == TT_ERR_NO_MEMORY)
		return r;
	if (r != 0) {
		tt_as_detail(rs, "malformed JSON at byte %zu: %s", jerr.offset, jerr.what);
		return TT_ERR_INVALID_ARGUMENT;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		rs->detail = "request body must be a JSON object";
		return TT_ERR_INVALID_ARGUMENT;
	}
	*out = j;
	return 0;
}

int
tt_as_random_b64url(size_t n, char **out)
{
	uint8_t b[64];
	int r;

	if (n > sizeof(b))
		return TT_ERR_INVALID_ARGUMENT;
	if (RAND_bytes(b, (int)n) != 1)
		return TT_ERR_INSUFFICIENT_ENTROPY;
	r = tt_as_b64url_enc(b, n, out);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

static bool
segment_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int
tt_as_resource_path(const char *tail, char **out)
{
	const char *seg[3], *p = tail, *slash;
	size_t len[3];
	char buf[400];
	int i, n;

	for (i = 0; i < 3; i++) {
		slash = strchr(p, '/');
		if (i < 2 && slash == NULL)
			return TT_ERR_INVALID_ARGUMENT;
		if (i == 2 && slash != NULL)
			return TT_ERR_INVALID_ARGUMENT;
		seg[i] = p;
		len[i] = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (!(i == 0 && len[i] == 0) && !segment_ok(seg[i], len[i]))
			return TT_ERR_INVALID_ARGUMENT;
		if (slash != NULL)
			p = slash + 1;
	}
	if (len[0] == 0) {
		seg[0] = "default";
		len[0] = 7;
	}
	n = snprintf(buf, sizeof(buf), "%.*s/%.*s/%.*s", (int)len[0], seg[0], (int)len[1],
	    seg[1], (int)len[2], seg[2]);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return TT_ERR_INVALID_ARGUMENT;
	if ((*out = strdup(buf)) == NULL)
		return TT_ERR_NO_MEMORY;
	return 0;
}

static void
resp_clear(struct tt_as_resp *rs)
{
	json_decref(rs->json);
	tt_free_secret(rs->raw, rs->raw_len);
	free(rs->set_cookie);
}

static enum MHD_Result
send_body(struct MHD_Connection *conn, unsigned status, const char *ctype, void *body,
	size_t len, const char *cookie)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (cookie != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *conn, unsigned status, const char *ctype, const json_t *j,
	const char *cookie)
{
	char *txt = NULL;
	size_t len = 0;
	enum MHD_Result ret;

	if (tt_json_write(j, &txt, &len) != 0)
		return MHD_NO;
	ret = send_body(conn, status, ctype, txt, len, cookie);
	/* The body may carry a token or a JWE; nothing secret in clear, but wipe anyway:
	 * it costs nothing and keeps copies of resources out of freed heap. */
	OPENSSL_cleanse(txt, len);
	free(txt);
	return ret;
}

/* RFC 7807: type, title, status, detail. */
static enum MHD_Result
send_problem(struct MHD_Connection *conn, int err, const char *detail)
{
	unsigned status = tt_err_to_http(err);
	char type[128];
	const char *title = MHD_get_reason_phrase_for(status);
	json_t *j;
	enum MHD_Result ret;

	if (status < 400)
		status = 500;
	snprintf(type, sizeof(type), "urn:turtle:error:%s", tt_err_name(err));
	j = json_pack("{s:s,s:s,s:i,s:s}", "type", type, "title",
	    title != NULL && title[0] != '\0' ? title : "Error", "status", (int)status,
	    "detail", detail != NULL ? detail : tt_strerror(err));
	if (j == NULL)
		return MHD_NO;
	ret = send_json(conn, status, "application/problem+json", j, NULL);
	json_decref(j);
	return ret;
}

static bool
admin_ok(struct tt_as_ctx *c, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t d[32];
	unsigned dl = 0;
	bool ok;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	if (EVP_Digest(h, strlen(h), d, &dl, EVP_sha256(), NULL) != 1 || dl != sizeof(d))
		return false;
	pthread_rwlock_rdlock(&c->admin_lock);   /* SIGHUP may be replacing the digest */
	ok = CRYPTO_memcmp(d, c->admin_digest, sizeof(d)) == 0;
	pthread_rwlock_unlock(&c->admin_lock);
	OPENSSL_cleanse(d, sizeof(d));
	return ok;
}

static const struct route *
route_find(const char *path, const char *method, bool *method_mismatch)
{
	*method_mismatch = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		bool match = rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) == 0 :
		    strcmp(path, rt->path) == 0;

		if (!match)
			continue;
		if (rt->method != NULL && strcmp(rt->method, method) != 0) {
			*method_mismatch = true;
			continue;
		}
		return rt;
	}
	return NULL;
}

static enum MHD_Result
dispatch(struct tt_as_ctx *c, struct MHD_Connection *conn, const char *url,
	const char *method, struct conn_state *cs)
{
	struct tt_as_req rq = { 0 };
	struct tt_as_resp rs = { 0 };
	const struct route *rt;
	bool mm;
	enum MHD_Result ret;
	int r;

	if (cs->too_large)
		return send_problem(conn, TT_ERR_BODY_TOO_LARGE,
		    "request body exceeds the configured limit");
	rt = route_find(url, method, &mm);
	if (rt == NULL)
		return send_problem(conn, mm ? TT_ERR_NOT_SUPPORTED : TT_ERR_DOES_NOT_EXIST,
		    mm ? "method not supported on this resource" : "no such endpoint");
	if (rt->auth == ADMIN) {
		if (!c->admin_enabled)
			return send_problem(conn, TT_ERR_ADMIN_OPERATION,
			    "admin endpoints are disabled: no admin token is configured");
		if (!admin_ok(c, conn))
			return send_problem(conn, TT_ERR_NOT_AUTHENTICATED,
			    "admin endpoint: missing or wrong bearer token");
	}
	rq.method = method;
	rq.path = url;
	rq.tail = url + strlen(rt->path);
	rq.body = cs->body;
	rq.body_len = cs->len;
	rq.cookie_session = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "kbs-session-id");
	rq.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	rs.status = 200;
	r = rt->h(c, &rq, &rs);
	/* After the write. An admin request drops the cache whatever its outcome (a failed
	 * one may have written part); a public one (AK activation) only when it succeeded,
	 * so that nobody can keep the cache empty with requests that are refused. */
	if (rt->appraisal_input && strcmp(method, "GET") != 0 && (r == 0 || rt->auth == ADMIN))
		tt_as_cache_invalidate(c->cache);
	if (r != 0) {
		tt_info("as: %s %s -> %s: %s", method, url, tt_err_name(r),
		    rs.detail != NULL ? rs.detail : tt_strerror(r));
		ret = send_problem(conn, r, rs.detail);
	} else if (rs.json != NULL) {
		ret = send_json(conn, rs.status, "application/json", rs.json, rs.set_cookie);
	} else {
		ret = send_body(conn, rs.status, "application/octet-stream",
		    rs.raw != NULL ? rs.raw : (uint8_t *)"", rs.raw_len, rs.set_cookie);
	}
	resp_clear(&rs);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct tt_as_ctx *c = cls;
	struct conn_state *cs = *con_cls;

	(void)version;
	if (cs == NULL) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n = 0;

		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return MHD_NO;
		*con_cls = cs;
		/* Refuse from the header alone: nothing of an oversized body is read. */
		if (cl != NULL) {
			for (const char *p = cl; *p != '\0'; p++) {
				if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10) {
					n = UINT64_MAX;
					break;
				}
				n = n * 10 + (uint64_t)(*p - '0');
			}
			if (n > c->cfg->max_body)
				return send_problem(conn, TT_ERR_BODY_TOO_LARGE,
				    "request body exceeds the configured limit");
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (cs->too_large || n > c->cfg->max_body - cs->len) {
			cs->too_large = true;
			return MHD_YES;
		}
		if (cs->len + n > cs->cap) {
			size_t ncap = cs->cap == 0 ? 4096 : cs->cap;
			uint8_t *nb;

			while (ncap < cs->len + n)
				ncap *= 2;
			if (ncap > c->cfg->max_body)
				ncap = c->cfg->max_body;
			/* Bodies may hold secrets (resources): never leave a copy in freed memory. */
			if ((nb = tt_malloc(ncap)) == NULL)
				return MHD_NO;
			if (cs->len != 0)
				memcpy(nb, cs->body, cs->len);
			tt_free_secret(cs->body, cs->cap);
			cs->body = nb;
			cs->cap = ncap;
		}
		memcpy(cs->body + cs->len, upload_data, n);
		cs->len += n;
		return MHD_YES;
	}
	return dispatch(c, conn, url, method, cs);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	enum MHD_RequestTerminationCode toe)
{
	struct conn_state *cs = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (cs == NULL)
		return;
	tt_free_secret(cs->body, cs->cap);
	free(cs);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	tt_warn("as: microhttpd: %s", buf);
}

int
tt_as_http_start(struct tt_as_ctx *c, struct tt_as_http **out)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct tt_as_http *h;

	if (inet_pton(AF_INET, c->cfg->listen_host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->cfg->port);
	} else if (inet_pton(AF_INET6, c->cfg->listen_host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c->cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		tt_err_log("as: --listen needs a numeric address, got %s", c->cfg->listen_host);
		return TT_ERR_CONFIG;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return TT_ERR_NO_MEMORY;
	/* The logger goes first: MHD logs option errors with whatever logger is set. */
	h->d = MHD_start_daemon(flags, c->cfg->port, NULL, NULL, on_request, c,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)c->cfg->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)c->cfg->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)c->cfg->request_timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, c,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		tt_err_log("as: cannot listen on %s:%u", c->cfg->listen_host, c->cfg->port);
		free(h);
		return TT_ERR_IO;
	}
	*out = h;
	return 0;
}

void
tt_as_http_stop(struct tt_as_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
