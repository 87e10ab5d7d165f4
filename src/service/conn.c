/*
 * Connections and workers: see listener.h for the threading model.
 *
 * Memory per idle connection is one struct tt_conn (a few hundred bytes): there is no
 * read buffer per connection (each worker has one and drains it through the frame
 * reader before it re-arms), and a payload buffer exists only while a request whose
 * header announced a body is being received.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "service/frame.h"
#include "service/listener.h"
#include "turtle/error.h"
#include "util/log.h"

#define READ_CHUNK        (16 * 1024)   /* per-worker read buffer */
#define READS_PER_TURN    4             /* then re-arm, so one busy client cannot hog a worker */
#define ACCEPTS_PER_TURN  64
#define RESP_KEEP         (64 * 1024)   /* response buffer kept between requests */
#define WORKER_STACK      (512 * 1024)  /* default 8 MiB is far more than a request needs */

struct tt_conn {
	int fd;
	struct tt_peer peer;
	struct tt_frame fr;
	/* Shared with the sweeper, which reads them without owning the connection. */
	_Atomic uint64_t req_start_ms;   /* first byte of the current request; 0: idle */
	_Atomic uint64_t last_ms;        /* end of the last request / accept */
	atomic_bool owned;               /* a worker is processing it right now */
	bool shut;                       /* sweeper already shut it down (under lock) */
	struct tt_conn *prev, *next;     /* under tt_server.lock */
};

struct tt_server {
	struct tt_service *svc;
	int epfd;
	int listen_fd;
	int wake_fd;            /* eventfd: readable once stopping, wakes every worker */
	pthread_t *workers;
	uint32_t n_workers;
	atomic_bool stopping;
	atomic_bool draining;
	atomic_bool accept_paused;   /* fd exhaustion: the sweeper re-arms the listener */
	pthread_mutex_t lock;        /* the connection list and its count */
	struct tt_conn *head;
	size_t n_conns;
	_Atomic uint64_t refuse_log_ms;
	_Atomic uint64_t refused;
	/* Addresses used as epoll tags for the two non-connection fds. */
	char listen_tag, wake_tag;
};

struct limits {
	uint32_t max_body, max_auth, max_response, max_connections;
	uint32_t read_timeout_ms, idle_timeout_ms;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The limits are part of the reloadable config: take a consistent snapshot. */
static void
get_limits(struct tt_server *s, struct limits *l)
{
	const struct tt_config *c;

	pthread_rwlock_rdlock(&s->svc->cfg_lock);
	c = s->svc->cfg;
	l->max_body = c->max_body;
	l->max_auth = c->max_auth;
	l->max_response = c->max_response;
	l->max_connections = c->max_connections;
	l->read_timeout_ms = c->read_timeout_ms;
	l->idle_timeout_ms = c->idle_timeout_ms;
	pthread_rwlock_unlock(&s->svc->cfg_lock);
}

static int
arm(struct tt_server *s, int op, int fd, void *tag, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = tag;
	return epoll_ctl(s->epfd, op, fd, &ev);
}

static void
conn_close(struct tt_server *s, struct tt_conn *c)
{
	/* Unlink first: once off the list the sweeper can no longer reach it. */
	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->n_conns--;
	pthread_mutex_unlock(&s->lock);
	close(c->fd);   /* also removes it from the epoll set */
	tt_frame_free(&c->fr);
	free(c);
}

/* Write all of p[0..n); if the client does not read, wait at most until `deadline`. */
static int
write_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			uint64_t now = now_ms();
			int pr;

			if (now >= deadline)
				return TT_ERR_TIMEOUT;
			pr = poll(&pfd, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
			if (pr < 0 && errno != EINTR)
				return TT_ERR_IO;
			if (pr > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
				return TT_ERR_IO;
			continue;
		}
		return TT_ERR_IO;
	}
	return 0;
}

/* Make sure the worker's response buffer has the current cap; drop a large one. */
static void
resp_prepare(struct tt_buf *resp, const struct limits *l)
{
	size_t want = (size_t)l->max_response + TT_WIRE_HDR_LEN;

	if (resp->max != want || resp->cap > RESP_KEEP) {
		tt_buf_free(resp);
		tt_buf_init(resp, want);
		tt_buf_set_secret(resp);   /* exported keys pass through here */
	} else {
		tt_buf_reset(resp);
	}
}

/* One complete frame: run it and send the response. 0, or an error to close. *keep
 * says whether the connection stays open: only if the request asked for it (PARSEC
 * clients do not, and read until EOF) and the service is not draining. */
static int
serve_frame(struct tt_server *s, struct tt_conn *c, struct tt_buf *resp, const struct limits *l,
    uint64_t start, bool *keep)
{
	static const uint8_t empty[1];
	const struct tt_wire_hdr *hdr = tt_frame_hdr(&c->fr);
	const uint8_t *body = tt_frame_body(&c->fr), *auth = tt_frame_auth(&c->fr);
	int r;

	*keep = (hdr->flags & TT_WIRE_FLAG_KEEP_ALIVE) != 0 &&
	    !atomic_load_explicit(&s->draining, memory_order_relaxed);
	resp_prepare(resp, l);
	r = tt_frontend_handle(s->svc, hdr, body != NULL ? body : empty,
	    auth != NULL ? auth : empty, &c->peer, *keep ? TT_WIRE_FLAG_KEEP_ALIVE : 0, resp);
	if (r != 0)
		return r;
	return write_all(c->fd, tt_buf_ptr(resp), tt_buf_avail(resp),
	    start + l->read_timeout_ms);
}

/* A header that cannot be parsed or breaks a limit: answer once, then close, since the
 * stream cannot be resynchronised. */
static void
serve_error(struct tt_conn *c, int err, struct tt_buf *resp, const struct limits *l)
{
	resp_prepare(resp, l);
	tt_debug("closing connection (pid %d): bad request header: %s", (int)c->peer.pid,
	    tt_err_name(err));
	if (tt_frontend_error_frame(err, resp) == 0)
		(void)write_all(c->fd, tt_buf_ptr(resp), tt_buf_avail(resp),
		    now_ms() + l->read_timeout_ms);
}

/* The worker owns `c` (one-shot wake-up). Returns true if it must be closed. */
static bool
conn_run(struct tt_server *s, struct tt_conn *c, uint8_t *rbuf, struct tt_buf *resp)
{
	struct limits l;

	atomic_store_explicit(&c->owned, true, memory_order_relaxed);
	get_limits(s, &l);
	tt_frame_set_limits(&c->fr, l.max_body, l.max_auth);
	for (int round = 0; round < READS_PER_TURN; round++) {
		ssize_t k = read(c->fd, rbuf, READ_CHUNK);
		uint64_t now;
		size_t off = 0;
		bool keep;

		if (k == 0)
			return true;   /* EOF, also what the sweeper's shutdown looks like */
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno != EAGAIN && errno != EWOULDBLOCK;
		}
		now = now_ms();
		if (atomic_load_explicit(&c->req_start_ms, memory_order_relaxed) == 0)
			atomic_store_explicit(&c->req_start_ms, now, memory_order_relaxed);
		while (off < (size_t)k) {
			size_t used;
			int r = tt_frame_feed(&c->fr, rbuf + off, (size_t)k - off, &used);

			off += used;
			if (r == TT_FRAME_MORE)
				break;
			if (r != TT_FRAME_DONE) {
				serve_error(c, r, resp, &l);
				return true;
			}
			r = serve_frame(s, c, resp, &l,
			    atomic_load_explicit(&c->req_start_ms, memory_order_relaxed), &keep);
			tt_frame_next(&c->fr);
			if (r != 0) {
				tt_debug("closing connection (pid %d): %s", (int)c->peer.pid,
				    tt_strerror(r));
				return true;
			}
			if (!keep)
				return true;   /* one request per connection, as PARSEC does */
			now = now_ms();
			atomic_store_explicit(&c->last_ms, now, memory_order_relaxed);
			/* Pipelined bytes already here start the next request now. */
			atomic_store_explicit(&c->req_start_ms, off < (size_t)k ? now : 0,
			    memory_order_relaxed);
			if (atomic_load_explicit(&s->draining, memory_order_relaxed))
				return true;   /* in-flight request done; no new ones while draining */
		}
		if ((size_t)k < READ_CHUNK)
			break;   /* short read: the socket is drained for now */
	}
	if (resp->cap > RESP_KEEP)
		tt_buf_free(resp);
	return false;
}

static void
conn_event(struct tt_server *s, struct tt_conn *c, uint8_t *rbuf, struct tt_buf *resp)
{
	if (conn_run(s, c, rbuf, resp)) {
		conn_close(s, c);
		return;
	}
	atomic_store_explicit(&c->owned, false, memory_order_release);
	/* Level-triggered re-arm: bytes that arrived meanwhile wake a worker at once. */
	if (arm(s, EPOLL_CTL_MOD, c->fd, c, EPOLLIN | EPOLLONESHOT | EPOLLRDHUP) != 0) {
		tt_warn("epoll re-arm: %s", strerror(errno));
		conn_close(s, c);
	}
}

static void
accept_some(struct tt_server *s)
{
	struct limits l;

	get_limits(s, &l);
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct tt_conn *c;
		struct ucred uc;
		socklen_t ul = sizeof(uc);
		uint64_t now;
		bool full;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* EMFILE/ENFILE/ENOMEM: the listener stays readable, so re-arming now
			 * would spin; let the sweeper re-arm it shortly. */
			tt_warn("accept: %s", strerror(errno));
			atomic_store(&s->accept_paused, true);
			return;
		}
		now = now_ms();
		pthread_mutex_lock(&s->lock);
		full = s->n_conns >= l.max_connections;
		pthread_mutex_unlock(&s->lock);
		if (full) {
			uint64_t last = atomic_load(&s->refuse_log_ms);

			close(fd);
			atomic_fetch_add(&s->refused, 1);
			if (now - last >= 1000 &&
			    atomic_compare_exchange_strong(&s->refuse_log_ms, &last, now))
				tt_debug("max_connections (%u) reached: %llu connection(s) refused",
				    l.max_connections,
				    (unsigned long long)atomic_exchange(&s->refused, 0));
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && ul == sizeof(uc)) {
			c->peer.valid = true;
			c->peer.uid = uc.uid;
			c->peer.gid = uc.gid;
			c->peer.pid = uc.pid;
		}
		tt_frame_init(&c->fr, l.max_body, l.max_auth);
		atomic_init(&c->req_start_ms, 0);
		atomic_init(&c->last_ms, now);
		atomic_init(&c->owned, false);
		pthread_mutex_lock(&s->lock);
		c->next = s->head;
		if (s->head != NULL)
			s->head->prev = c;
		s->head = c;
		s->n_conns++;
		pthread_mutex_unlock(&s->lock);
		/* From here on another worker may own it. */
		if (arm(s, EPOLL_CTL_ADD, fd, c, EPOLLIN | EPOLLONESHOT | EPOLLRDHUP) != 0) {
			tt_warn("epoll add: %s", strerror(errno));
			conn_close(s, c);
		}
	}
	if (!atomic_load(&s->draining) &&
	    arm(s, EPOLL_CTL_MOD, s->listen_fd, &s->listen_tag, EPOLLIN | EPOLLONESHOT) != 0 &&
	    errno != ENOENT)
		tt_warn("epoll re-arm listener: %s", strerror(errno));
}

static void *
worker_main(void *arg)
{
	struct tt_server *s = arg;
	struct tt_buf resp;
	uint8_t *rbuf = malloc(READ_CHUNK);

	tt_buf_init(&resp, 0);
	tt_buf_set_secret(&resp);
	if (rbuf == NULL) {
		tt_err_log("worker: out of memory");
		return NULL;
	}
	while (!atomic_load_explicit(&s->stopping, memory_order_relaxed)) {
		struct epoll_event ev;
		/* One event per wake-up: a worker never sits on ready connections that an
		 * idle worker could serve. */
		int n = epoll_wait(s->epfd, &ev, 1, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			tt_err_log("epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0 || ev.data.ptr == &s->wake_tag)
			continue;
		if (ev.data.ptr == &s->listen_tag)
			accept_some(s);
		else
			conn_event(s, ev.data.ptr, rbuf, &resp);
	}
	tt_buf_free(&resp);
	/* The read buffer held request bytes (possibly key material). */
	explicit_bzero(rbuf, READ_CHUNK);
	free(rbuf);
	return NULL;
}

int
tt_server_start(struct tt_server **out, struct tt_service *svc, int listen_fd, uint32_t threads)
{
	struct tt_server *s;
	pthread_attr_t attr;
	bool attr_ok = false;
	int r = TT_ERR_IO;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TT_ERR_NO_MEMORY;
	s->svc = svc;
	s->listen_fd = listen_fd;
	s->wake_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		tt_err_log("epoll/eventfd: %s", strerror(errno));
		goto out;
	}
	/* Level-triggered and never read: once written, every worker keeps waking up
	 * until it has seen `stopping`. */
	if (arm(s, EPOLL_CTL_ADD, s->wake_fd, &s->wake_tag, EPOLLIN) != 0 ||
	    arm(s, EPOLL_CTL_ADD, listen_fd, &s->listen_tag, EPOLLIN | EPOLLONESHOT) != 0) {
		tt_err_log("epoll_ctl: %s", strerror(errno));
		goto out;
	}
	if ((s->workers = calloc(threads, sizeof(*s->workers))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (pthread_attr_init(&attr) != 0)
		goto out;
	attr_ok = true;
	(void)pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (uint32_t i = 0; i < threads; i++) {
		int e = pthread_create(&s->workers[i], &attr, worker_main, s);

		if (e != 0) {
			tt_err_log("cannot start worker thread: %s", strerror(e));
			goto out;
		}
		s->n_workers++;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	if (attr_ok)
		pthread_attr_destroy(&attr);
	tt_server_stop(s);
	return r;
}

void
tt_server_sweep(struct tt_server *s)
{
	struct limits l;
	uint64_t now = now_ms();
	bool draining = atomic_load(&s->draining);

	get_limits(s, &l);
	pthread_mutex_lock(&s->lock);
	for (struct tt_conn *c = s->head; c != NULL; c = c->next) {
		uint64_t start, last;
		const char *why = NULL;

		/* Times are written by workers after our `now` was taken, so they can be
		 * slightly ahead of it: compare without unsigned wrap-around. */
		if (c->shut || atomic_load_explicit(&c->owned, memory_order_acquire))
			continue;   /* being served: its write has its own deadline */
		start = atomic_load_explicit(&c->req_start_ms, memory_order_relaxed);
		last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);
		if (start != 0 && now > start && now - start >= l.read_timeout_ms)
			why = "read timeout";
		else if (start == 0 && draining)
			why = "shutting down";
		else if (start == 0 && now > last && now - last >= l.idle_timeout_ms)
			why = "idle timeout";
		if (why == NULL)
			continue;
		tt_debug("closing connection (pid %d): %s", (int)c->peer.pid, why);
		/* Only shutdown: the owner (a worker woken by the resulting EOF) closes and
		 * frees, so the fd and the struct cannot be reused under anyone. */
		shutdown(c->fd, SHUT_RDWR);
		c->shut = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (!draining && atomic_exchange(&s->accept_paused, false))
		(void)arm(s, EPOLL_CTL_MOD, s->listen_fd, &s->listen_tag, EPOLLIN | EPOLLONESHOT);
}

void
tt_server_drain(struct tt_server *s, bool refuse_new)
{
	atomic_store(&s->draining, true);
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	/* A shut-down Unix listener refuses connect() (ECONNREFUSED) instead of queueing
	 * clients that would only be reset later. The fd itself stays open until the
	 * workers are joined, so no thread can see its number reused. */
	if (refuse_new)
		(void)shutdown(s->listen_fd, SHUT_RD);
	tt_server_sweep(s);
}

size_t
tt_server_connections(struct tt_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
tt_server_stop(struct tt_server *s)
{
	uint64_t one = 1;
	struct tt_conn *c, *next;

	if (s == NULL)
		return;
	atomic_store(&s->stopping, true);
	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
		tt_warn("eventfd write: %s", strerror(errno));
	for (uint32_t i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	/* No worker left: the remaining connections are ours to close. */
	for (c = s->head; c != NULL; c = next) {
		next = c->next;
		close(c->fd);
		tt_frame_free(&c->fr);
		free(c);
	}
	free(s->workers);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
