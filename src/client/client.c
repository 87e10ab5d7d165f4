/*
 * libturtle transport: connection management, request framing, bounded response reads.
 *
 * The response path applies the same discipline as the daemon's request path: the
 * 36-byte header is checked field by field before any body byte is read, and a body
 * length above the configured limit is refused from the header alone, so a hostile or
 * broken peer can never make us allocate an unchecked amount.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"
#include "list_providers.pb-c.h"
#include "util/mem.h"
#include "wire/opcodes.h"

void
tt_free(void *p)
{
	free(p);
}

int
tt_client_socket_path(const char *explicit_path, char *out, size_t outsz)
{
	struct sockaddr_un sun;
	const char *p = explicit_path;
	const char *env;
	size_t len;

	if (out == NULL || outsz == 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (p == NULL || *p == '\0') {
		p = NULL;
		env = getenv("TURTLE_SOCKET");
		if (env != NULL && *env != '\0')
			p = env;
	}
	if (p == NULL) {
		env = getenv("PARSEC_SERVICE_ENDPOINT");
		if (env != NULL && *env != '\0') {
			/* PARSEC clients only define the unix: scheme; anything else is a
			 * misconfiguration we should report rather than silently ignore. */
			if (strncmp(env, "unix:", 5) != 0 || env[5] == '\0')
				return TT_ERR_CONFIG;
			p = env + 5;
		}
	}
	if (p == NULL)
		p = TT_CLIENT_DEFAULT_SOCKET;
	len = strlen(p);
	if (len >= sizeof(sun.sun_path))
		return TT_ERR_CONFIG;
	if (len >= outsz)
		return TT_ERR_LIMIT;
	memcpy(out, p, len + 1);
	return 0;
}

/* Milliseconds left until deadline (monotonic ms), or -1 for "no deadline". */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int timeout, r;

	for (;;) {
		if (deadline < 0) {
			timeout = -1;
		} else {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return TT_ERR_TIMEOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return TT_ERR_IO;
		}
		if (r == 0)
			continue; /* re-evaluates the deadline */
		return 0;
	}
}

static int
read_full(int fd, uint8_t *p, size_t n, int64_t deadline, bool *any)
{
	size_t got = 0;
	ssize_t r;
	int e;

	while (got < n) {
		if ((e = wait_fd(fd, POLLIN, deadline)) != 0)
			return e;
		r = recv(fd, p + got, n - got, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return TT_ERR_IO;
		}
		if (r == 0)
			return TT_ERR_EOF;
		got += (size_t)r;
		if (any != NULL)
			*any = true;
	}
	return 0;
}

static int
write_full(int fd, const uint8_t *p, size_t n, int64_t deadline, bool *any)
{
	size_t put = 0;
	ssize_t r;
	int e;

	while (put < n) {
		/* MSG_NOSIGNAL: a closed peer must become an error, not a SIGPIPE that kills
		 * the application embedding us. The socket nearly always has room: try
		 * first, wait only when it is full. */
		r = send(fd, p + put, n - put, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if ((e = wait_fd(fd, POLLOUT, deadline)) != 0)
					return e;
				continue;
			}
			return TT_ERR_IO;
		}
		put += (size_t)r;
		if (any != NULL)
			*any = true;
	}
	return 0;
}

int
tt_client_check_response_hdr(const uint8_t raw[TT_WIRE_HDR_LEN], uint32_t opcode,
			     size_t max_body, struct tt_wire_hdr *out)
{
	struct tt_wire_hdr h;

	if (tt_wire_hdr_decode(raw, &h) != 0)
		return TT_ERR_PROTOCOL;
	if (h.content_type != TT_WIRE_BODY_PROTOBUF || h.auth_len != 0)
		return TT_ERR_PROTOCOL;
	if (h.body_len > max_body)
		return TT_ERR_PROTOCOL;
	if (h.opcode != opcode)
		return TT_ERR_PROTOCOL;
	*out = h;
	return 0;
}

static int
read_response_deadline(int fd, uint32_t opcode, size_t max_body, int64_t deadline,
		       uint16_t *status, uint8_t **body, size_t *body_len)
{
	uint8_t raw[TT_WIRE_HDR_LEN];
	struct tt_wire_hdr h;
	uint8_t *b = NULL;
	int r;

	if ((r = read_full(fd, raw, sizeof(raw), deadline, NULL)) != 0)
		goto out;
	if ((r = tt_client_check_response_hdr(raw, opcode, max_body, &h)) != 0)
		goto out;
	if (h.body_len > 0) {
		if ((b = malloc(h.body_len)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		if ((r = read_full(fd, b, h.body_len, deadline, NULL)) != 0) {
			/* A short body is a broken frame, not a clean close. */
			if (r == TT_ERR_EOF)
				r = TT_ERR_PROTOCOL;
			goto out;
		}
	}
	*status = h.status;
	*body = b;
	*body_len = h.body_len;
	b = NULL;
	r = 0;
out:
	if (b != NULL)
		tt_free_secret(b, h.body_len);
	return r;
}

/*
 * The response to a request just sent, in one system call when it is small: a blocking
 * recv (bounded by SO_RCVTIMEO, set to the request timeout at connect) takes the header
 * and, nearly always, the whole body; only a response larger than the first buffer is
 * read on with read_full and the exact deadline. The service sends nothing but the one
 * response, so bytes beyond it are a protocol error.
 */
static int
recv_response(int fd, uint32_t opcode, size_t max_body, int64_t deadline, uint16_t *status,
	      uint16_t *flags, uint8_t **body, size_t *body_len)
{
	uint8_t first[2048];
	struct tt_wire_hdr h;
	uint8_t *b = NULL;
	size_t have = 0, extra;
	ssize_t k;
	int r;

	do
		k = recv(fd, first, sizeof(first), 0);
	while (k < 0 && errno == EINTR);
	if (k <= 0) {
		if (k == 0)
			return TT_ERR_EOF;
		return errno == EAGAIN || errno == EWOULDBLOCK ? TT_ERR_TIMEOUT : TT_ERR_IO;
	}
	have = (size_t)k;
	if (have < TT_WIRE_HDR_LEN &&
	    (r = read_full(fd, first + have, TT_WIRE_HDR_LEN - have, deadline, NULL)) != 0)
		goto out;
	if (have < TT_WIRE_HDR_LEN)
		have = TT_WIRE_HDR_LEN;
	if ((r = tt_client_check_response_hdr(first, opcode, max_body, &h)) != 0)
		goto out;
	extra = have - TT_WIRE_HDR_LEN;
	if (extra > h.body_len) {
		r = TT_ERR_PROTOCOL;
		goto out;
	}
	if (h.body_len > 0) {
		if ((b = malloc(h.body_len)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		memcpy(b, first + TT_WIRE_HDR_LEN, extra);
		if (extra < h.body_len &&
		    (r = read_full(fd, b + extra, h.body_len - extra, deadline, NULL)) != 0) {
			/* A short body is a broken frame, not a clean close. */
			if (r == TT_ERR_EOF)
				r = TT_ERR_PROTOCOL;
			goto out;
		}
	}
	*status = h.status;
	*flags = h.flags;
	*body = b;
	*body_len = h.body_len;
	b = NULL;
	r = 0;
out:
	/* responses carry exported keys and plaintexts */
	tt_wipe(first, have);
	if (b != NULL)
		tt_free_secret(b, h.body_len);
	return r;
}

int
tt_client_read_response(int fd, uint32_t opcode, size_t max_body, unsigned timeout_ms,
			uint16_t *status, uint8_t **body, size_t *body_len)
{
	int64_t deadline = timeout_ms == 0 ? -1 : now_ms() + timeout_ms;

	return read_response_deadline(fd, opcode, max_body, deadline, status, body, body_len);
}

static void
disconnect(struct tt_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
do_connect(struct tt_client *c)
{
	struct sockaddr_un sun;
	struct timeval tv;
	size_t len = strlen(c->path);
	int fd;

	disconnect(c);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (len >= sizeof(sun.sun_path))
		return TT_ERR_CONFIG;
	memcpy(sun.sun_path, c->path, len + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return TT_ERR_IO;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == EINTR)
			continue;
		int saved = errno;
		close(fd);
		errno = saved;
		return TT_ERR_CONNECTION;
	}
	/* The first read of each response blocks in recv (recv_response); this bounds it. */
	tv.tv_sec = (time_t)(c->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(c->timeout_ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		close(fd);
		return TT_ERR_IO;
	}
	c->fd = fd;
	return 0;
}

/*
 * Is the idle connection still usable? A service may close connections it considers
 * idle (PARSEC's closes after every response); that shows up as readable-with-EOF.
 * Stray unread bytes would desynchronise framing, so they also count as unusable.
 */
static bool
conn_alive(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN, .revents = 0 };
	uint8_t b;
	ssize_t r;

	if (poll(&pfd, 1, 0) <= 0)
		return true;
	if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
		return true;
	r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
	return false;
}

static int
call_locked(struct tt_client *c, uint32_t opcode, uint8_t provider, bool secret,
	    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *res_desc,
	    ProtobufCMessage **res)
{
	static const uint8_t empty[1];
	struct tt_wire_hdr h;
	uint8_t small[512], *frame = NULL, *body = NULL;
	size_t req_len, frame_len = 0, body_len = 0;
	ProtobufCMessage *m;
	int64_t deadline;
	uint16_t status, rflags = 0;
	bool sent_any;
	int attempt, r;

	req_len = protobuf_c_message_get_packed_size(req);
	if (req_len > UINT32_MAX - TT_WIRE_HDR_LEN - c->auth_len) {
		r = TT_ERR_BODY_TOO_LARGE;
		goto out;
	}
	frame_len = TT_WIRE_HDR_LEN + c->auth_len + req_len;
	if (frame_len <= sizeof(small))
		frame = small;   /* most requests: no allocation */
	else if ((frame = malloc(frame_len)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	memset(&h, 0, sizeof(h));
	/* Ask turtled to keep the connection for the next request; a PARSEC service
	 * ignores the flag and closes after the response, which the reply tells us. */
	h.flags = TT_WIRE_FLAG_KEEP_ALIVE;
	h.provider = provider;
	h.content_type = TT_WIRE_BODY_PROTOBUF;
	h.accept_type = TT_WIRE_BODY_PROTOBUF;
	h.auth_type = c->auth_type;
	h.body_len = (uint32_t)req_len;
	h.auth_len = (uint16_t)c->auth_len;
	h.opcode = opcode;
	tt_wire_hdr_encode(&h, frame);
	/* PARSEC's request layout is header, body, then auth. */
	protobuf_c_message_pack(req, frame + TT_WIRE_HDR_LEN);
	if (c->auth_len > 0)
		memcpy(frame + TT_WIRE_HDR_LEN + req_len, c->auth, c->auth_len);

	deadline = now_ms() + c->timeout_ms;
	for (attempt = 0;; attempt++) {
		/* A connection the service closed after its last response was dropped then
		 * (no keep-alive flag in it). One it closed while idle since is found dead
		 * before anything is sent (EPIPE below) when the last use is recent; after a
		 * longer pause it is probed first, which also catches stray bytes. */
		if (c->fd >= 0 && now_ms() - c->last_used_ms > TT_CLIENT_PROBE_AFTER_MS &&
		    !conn_alive(c->fd))
			disconnect(c);
		if (c->fd < 0 && (r = do_connect(c)) != 0)
			goto out;
		sent_any = false;
		r = write_full(c->fd, frame, frame_len, deadline, &sent_any);
		if (r == 0)
			break;
		/* Only a request that never left us may be retried: the service closed the
		 * connection between our liveness check and the send. */
		if (r == TT_ERR_IO && !sent_any && attempt == 0 &&
		    (errno == EPIPE || errno == ECONNRESET)) {
			disconnect(c);
			continue;
		}
		goto out;
	}
	if ((r = recv_response(c->fd, opcode, c->max_response, deadline, &status, &rflags,
				&body, &body_len)) != 0)
		goto out;
	c->last_used_ms = now_ms();
	/* The service closes the connection after this response (a PARSEC service, or
	 * turtled shutting down): do not try to reuse it. */
	if ((rflags & TT_WIRE_FLAG_KEEP_ALIVE) == 0)
		disconnect(c);
	if (status != TT_STATUS_SUCCESS) {
		r = tt_err_from_status(status);
		goto out;
	}
	if (res != NULL) {
		m = protobuf_c_message_unpack(res_desc, NULL, body_len,
					      body != NULL ? body : empty);
		if (m == NULL) {
			r = TT_ERR_PROTOCOL;
			goto out;
		}
		*res = m;
	}
	r = 0;
out:
	/* After a transport or framing failure the stream position is unknown. */
	if (r == TT_ERR_IO || r == TT_ERR_EOF || r == TT_ERR_TIMEOUT || r == TT_ERR_PROTOCOL)
		disconnect(c);
	if (frame != NULL) {
		if (secret)
			tt_wipe(frame, frame_len);
		if (frame != small)
			free(frame);
	}
	tt_free_secret(body, body_len);
	return r;
}

/* First non-core provider the service lists, as PARSEC clients choose their default. */
static int
resolve_provider(struct tt_client *c)
{
	ListProviders__Operation op = LIST_PROVIDERS__OPERATION__INIT;
	ListProviders__Result *res = NULL;
	size_t i;
	int r;

	if ((r = call_locked(c, TT_OP_LIST_PROVIDERS, 0, false, &op.base,
			     &list_providers__result__descriptor,
			     (ProtobufCMessage **)&res)) != 0)
		return r;
	r = TT_ERR_PROVIDER_DOES_NOT_EXIST;
	for (i = 0; i < res->n_providers; i++) {
		uint32_t id = res->providers[i]->id;
		if (id != 0 && id <= UINT8_MAX) {
			c->provider = (uint8_t)id;
			r = 0;
			break;
		}
	}
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return r;
}

int
tt_client_call(struct tt_client *c, uint32_t opcode, bool core, bool secret,
	       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *res_desc,
	       ProtobufCMessage **res)
{
	int r;

	if (c == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&c->lock);
	if (!core && c->provider == 0 && (r = resolve_provider(c)) != 0)
		goto out;
	r = call_locked(c, opcode, core ? 0 : c->provider, secret, req, res_desc, res);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int
tt_client_provider(struct tt_client *c, uint8_t *id)
{
	int r = 0;

	if (c == NULL || id == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&c->lock);
	if (c->provider == 0)
		r = resolve_provider(c);
	if (r == 0)
		*id = c->provider;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void
tt_client_set_provider(struct tt_client *c, uint8_t id)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->provider = id;
	pthread_mutex_unlock(&c->lock);
}

const char *
tt_client_socket(const struct tt_client *c)
{
	return c != NULL ? c->path : NULL;
}

int
tt_client_open(struct tt_client **out, const struct tt_client_opts *opts)
{
	static const struct tt_client_opts defaults;
	struct sockaddr_un sun;
	struct tt_client *c = NULL;
	char path[sizeof(sun.sun_path)];
	uint32_t uid;
	size_t n;
	int r;

	if (out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (opts == NULL)
		opts = &defaults;
	if ((r = tt_client_socket_path(opts->socket_path, path, sizeof(path))) != 0)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TT_ERR_NO_MEMORY;
	c->fd = -1;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return TT_ERR_NO_MEMORY;
	}
	if ((c->path = strdup(path)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	switch (opts->auth) {
	case TT_CLIENT_AUTH_UNIX_PEER:
		/* The service trusts SO_PEERCRED, not these bytes; PARSEC still expects the
		 * uid in the body of the auth field, so send it. */
		uid = (uint32_t)geteuid();
		if ((c->auth = malloc(4)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		c->auth[0] = (uint8_t)uid;
		c->auth[1] = (uint8_t)(uid >> 8);
		c->auth[2] = (uint8_t)(uid >> 16);
		c->auth[3] = (uint8_t)(uid >> 24);
		c->auth_len = 4;
		c->auth_type = TT_AUTH_UNIX_PEER;
		break;
	case TT_CLIENT_AUTH_DIRECT:
		if (opts->app_name == NULL || (n = strlen(opts->app_name)) == 0 || n > UINT16_MAX) {
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		if ((c->auth = malloc(n)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		memcpy(c->auth, opts->app_name, n);
		c->auth_len = n;
		c->auth_type = TT_AUTH_DIRECT;
		break;
	case TT_CLIENT_AUTH_NONE:
		c->auth_type = TT_AUTH_NONE;
		break;
	default:
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	c->provider = opts->provider;
	c->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : TT_CLIENT_DEFAULT_TIMEOUT_MS;
	c->max_response = opts->max_response != 0 ? opts->max_response
						   : TT_CLIENT_DEFAULT_MAX_RESPONSE;
	if ((r = do_connect(c)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	tt_client_close(c);
	return r;
}

void
tt_client_close(struct tt_client *c)
{
	if (c == NULL)
		return;
	disconnect(c);
	pthread_mutex_destroy(&c->lock);
	tt_free_secret(c->auth, c->auth_len);
	free(c->path);
	free(c);
}

int
tt_client_dup_bytes(const ProtobufCBinaryData *b, uint8_t **out, size_t *out_len)
{
	uint8_t *p;

	if ((p = tt_malloc(b->len)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	*out = p;
	*out_len = b->len;
	return 0;
}

int
tt_client_check_name(const char *name)
{
	if (name == NULL || *name == '\0')
		return TT_ERR_INVALID_ARGUMENT;
	return 0;
}
