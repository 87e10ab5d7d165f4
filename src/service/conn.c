/*
 * Connections and workers: see listener.h for the threading model.
 *
 * Memory per idle connection is one slot (struct tt_conn, a few hundred bytes): the read
 * buffer belongs to the worker and is drained through the frame reader (and wiped)
 * before the worker lets go of the connection; a payload buffer exists only while a
 * request whose header announced a body is being received, an output buffer only while
 * the client has not taken its whole response.
 */
#include <errno.h>
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
#include "util/mem.h"

#define READ_CHUNK        (16 * 1024)   /* per-worker read buffer */
#define READS_PER_TURN    4             /* then requeue, so one busy client cannot hog a worker */
#define ACCEPTS_PER_TURN  64
#define WORKER_STACK      (512 * 1024)  /* default 8 MiB is far more than a request needs */
#define CHUNK_SLOTS       256           /* connection slots are allocated this many at a time */
#define MAX_CHUNKS        ((TT_CONFIG_MAX_CONN_MAX + CHUNK_SLOTS - 1) / CHUNK_SLOTS)
#define UID_BUCKETS       64

/* epoll tags of the two fds that are not connections (a connection's tag is
 * generation << 32 | slot, with generations below 2^31). */
#define TAG_LISTEN        UINT64_MAX
#define TAG_WAKE          (UINT64_MAX - 1)

/*
 * Who runs a connection: sched = generation << 2 | state. A worker that gets an event
 * moves IDLE to RUNNING and serves; one that finds it RUNNING moves it to AGAIN and
 * leaves, and the runner then serves it once more before going back to IDLE. Closing
 * bumps the generation, so an event fetched for the closed connection (by a worker that
 * raced with the close) no longer matches and is dropped; slots are reused, never
 * freed while the server runs, so such a late event still reads valid memory.
 */
enum { ST_IDLE = 0, ST_RUNNING = 1, ST_AGAIN = 2, ST_MASK = 3 };
#define GEN_MASK          0x7fffffffu

/* Buffered bytes and connections of one peer uid (under tt_server.lock). */
struct uid_acct {
	uint32_t uid;
	uint32_t conns;
	uint64_t bytes;
	struct uid_acct *next;
};

struct tt_conn {
	/* Set when the slot is created; constant after. */
	struct tt_server *srv;
	uint32_t slot;
	_Atomic uint64_t sched;
	/* Owner's (the worker in RUNNING) state. */
	int fd;
	struct tt_peer peer;
	struct tt_frame fr;
	struct tt_buf out;          /* response bytes the client has not taken yet */
	uint8_t *stash;             /* bytes read behind a response that is still queued */
	size_t stash_len, stash_off;
	size_t held;                /* payload + out + stash: what the budget knows of */
	bool close_after_out;       /* the last response ends the connection */
	bool want_out;              /* EPOLLOUT is registered */
	/* Shared with the sweeper and with workers that only look. */
	atomic_bool shut;           /* the sweeper shut it down: close, serve nothing more */
	atomic_bool hup;            /* the peer hung up: read to EOF, a short read proves nothing */
	_Atomic uint64_t req_start_ms;   /* first byte of the current request; 0: none */
	_Atomic uint64_t last_ms;        /* end of the last response / accept */
	_Atomic uint64_t out_since_ms;   /* a response has been waiting since; 0: none */
	/* Under tt_server.lock. */
	struct uid_acct *acct;
	struct tt_conn *prev, *next;     /* live connections */
	struct tt_conn *free_next;       /* free slots */
};

/* The limits, copied from the reloadable config by the sweeper so that the request path
 * reads them without taking the config lock. */
struct limits {
	_Atomic uint32_t max_body, max_auth, max_response, max_connections, max_conns_per_uid;
	_Atomic uint32_t read_timeout_ms, idle_timeout_ms;
	_Atomic uint64_t max_buffered, max_buffered_per_uid;
};

struct worker {
	struct tt_server *srv;
	uint8_t *rbuf;
	struct tt_buf resp;
	pthread_t th;
};

struct tt_server {
	struct tt_service *svc;
	int epfd;
	int listen_fd;
	int wake_fd;            /* eventfd: readable once stopping, wakes every worker */
	struct worker *workers;
	uint32_t n_workers;
	atomic_bool stopping;
	atomic_bool draining;
	atomic_bool accept_paused;   /* fd exhaustion: the sweeper re-arms the listener */
	struct limits lim;
	pthread_mutex_t lock;        /* everything below */
	struct tt_conn *head;
	size_t n_conns;
	struct tt_conn *free_slots;
	uint32_t n_slots;
	struct tt_conn *_Atomic chunks[MAX_CHUNKS];
	struct uid_acct *uids[UID_BUCKETS];
	uint64_t buffered;
	uint64_t refuse_log_ms;
	uint64_t refused;
};

static const struct tt_frame_budget payload_budget;

/* Timeouts are checked every 200 ms and are at least 10 ms: the coarse clock (a few ms,
 * and no system call) is precise enough. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#define LIM(s, f) atomic_load_explicit(&(s)->lim.f, memory_order_relaxed)

static void
load_limits(struct tt_server *s)
{
	const struct tt_config *c;

	pthread_rwlock_rdlock(&s->svc->cfg_lock);
	c = s->svc->cfg;
	atomic_store(&s->lim.max_body, c->max_body);
	atomic_store(&s->lim.max_auth, c->max_auth);
	atomic_store(&s->lim.max_response, c->max_response);
	atomic_store(&s->lim.max_connections, c->max_connections);
	atomic_store(&s->lim.max_conns_per_uid, c->max_connections_per_uid);
	atomic_store(&s->lim.read_timeout_ms, c->read_timeout_ms);
	atomic_store(&s->lim.idle_timeout_ms, c->idle_timeout_ms);
	atomic_store(&s->lim.max_buffered, c->max_buffered);
	atomic_store(&s->lim.max_buffered_per_uid, c->max_buffered_per_uid);
	pthread_rwlock_unlock(&s->svc->cfg_lock);
}

/* ---- per-uid accounting (under s->lock) ---- */

static struct uid_acct **
acct_bucket(struct tt_server *s, uint32_t uid)
{
	return &s->uids[(uid * 2654435761u) >> 26];   /* 64 buckets */
}

static struct uid_acct *
acct_get(struct tt_server *s, uint32_t uid)
{
	struct uid_acct **b = acct_bucket(s, uid), *a;

	for (a = *b; a != NULL; a = a->next)
		if (a->uid == uid)
			return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->uid = uid;
	a->next = *b;
	*b = a;
	return a;
}

static void
acct_put(struct tt_server *s, struct uid_acct *a)
{
	struct uid_acct **p;

	if (a->conns > 0 || a->bytes > 0)
		return;
	for (p = acct_bucket(s, a->uid); *p != NULL; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			free(a);
			return;
		}
	}
}

/* ---- the buffer budget ----
 *
 * Every byte a connection holds (a request payload, a queued response, stashed input)
 * counts against max_buffered and its uid's max_buffered_per_uid, except the first
 * TT_SERVER_CONN_ALLOWANCE bytes of each connection: small requests, which are nearly
 * all, never take the lock, and a hostile client that has used up the budget cannot
 * keep other clients from pinging or signing. Only the owner changes c->held.
 */
static uint64_t
charged(size_t held)
{
	return held > TT_SERVER_CONN_ALLOWANCE ? held - TT_SERVER_CONN_ALLOWANCE : 0;
}

static int
budget_take(struct tt_conn *c, size_t n)
{
	struct tt_server *s = c->srv;
	uint64_t extra;
	int r = 0;

	if (n > SIZE_MAX - c->held)
		return TT_ERR_NO_MEMORY;
	extra = charged(c->held + n) - charged(c->held);
	if (extra > 0) {
		pthread_mutex_lock(&s->lock);
		if (s->buffered + extra > LIM(s, max_buffered) ||
		    c->acct->bytes + extra > LIM(s, max_buffered_per_uid)) {
			r = TT_ERR_NO_MEMORY;
		} else {
			s->buffered += extra;
			c->acct->bytes += extra;
		}
		pthread_mutex_unlock(&s->lock);
		if (r != 0) {
			tt_debug("connection (pid %d, uid %u): %zu more bytes would exceed "
			    "max_buffered or max_buffered_per_uid", (int)c->peer.pid,
			    c->acct->uid, n);
			return r;
		}
	}
	c->held += n;
	return 0;
}

static void
budget_give(struct tt_conn *c, size_t n)
{
	struct tt_server *s = c->srv;
	uint64_t less;

	if (n > c->held)
		n = c->held;   /* cannot happen; never let the count wrap */
	less = charged(c->held) - charged(c->held - n);
	c->held -= n;
	if (less > 0) {
		pthread_mutex_lock(&s->lock);
		s->buffered -= less;
		c->acct->bytes -= less;
		pthread_mutex_unlock(&s->lock);
	}
}

static int
payload_take(void *arg, size_t n)
{
	return budget_take(arg, n);
}

static void
payload_give(void *arg, size_t n)
{
	budget_give(arg, n);
}

static const struct tt_frame_budget payload_budget = { payload_take, payload_give };

/* ---- slots ---- */

static struct tt_conn *
slot_get(struct tt_server *s, uint32_t slot)
{
	struct tt_conn *chunk;

	if (slot / CHUNK_SLOTS >= MAX_CHUNKS)
		return NULL;
	chunk = atomic_load_explicit(&s->chunks[slot / CHUNK_SLOTS], memory_order_acquire);
	return chunk != NULL ? &chunk[slot % CHUNK_SLOTS] : NULL;
}

/* A free slot (under s->lock), or NULL. */
static struct tt_conn *
slot_alloc(struct tt_server *s)
{
	struct tt_conn *c = s->free_slots, *chunk;

	if (c != NULL) {
		s->free_slots = c->free_next;
		return c;
	}
	if (s->n_slots / CHUNK_SLOTS >= MAX_CHUNKS ||
	    (chunk = calloc(CHUNK_SLOTS, sizeof(*chunk))) == NULL)
		return NULL;
	for (uint32_t i = 0; i < CHUNK_SLOTS; i++) {
		chunk[i].srv = s;
		chunk[i].slot = s->n_slots + i;
		chunk[i].fd = -1;
		atomic_init(&chunk[i].sched, 0);
		if (i > 0) {
			chunk[i].free_next = s->free_slots;
			s->free_slots = &chunk[i];
		}
	}
	atomic_store_explicit(&s->chunks[s->n_slots / CHUNK_SLOTS], chunk, memory_order_release);
	s->n_slots += CHUNK_SLOTS;
	return &chunk[0];
}

static uint64_t
conn_tag(const struct tt_conn *c)
{
	uint64_t gen = atomic_load_explicit(&c->sched, memory_order_relaxed) >> 2;

	return gen << 32 | c->slot;
}

static int
conn_arm(struct tt_server *s, struct tt_conn *c, int op, bool want_out)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	/* Edge-triggered: no re-arm per request. EPOLLOUT only while a response waits,
	 * since every byte the client reads would otherwise wake a worker. */
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (want_out ? EPOLLOUT : 0);
	ev.data.u64 = conn_tag(c);
	if (epoll_ctl(s->epfd, op, c->fd, &ev) != 0)
		return -1;
	c->want_out = want_out;
	return 0;
}

static void
stash_drop(struct tt_conn *c)
{
	if (c->stash == NULL)
		return;
	tt_free_secret(c->stash, c->stash_len);
	budget_give(c, c->stash_len);
	c->stash = NULL;
	c->stash_len = c->stash_off = 0;
}

static void
out_drop(struct tt_conn *c)
{
	size_t cap = c->out.cap;

	tt_buf_free(&c->out);   /* wipes: exported keys pass through here */
	if (cap > 0)
		budget_give(c, cap);
	atomic_store_explicit(&c->out_since_ms, 0, memory_order_relaxed);
}

/* Release what the owner holds; the slot goes back to the free list. Only the owner (or
 * tt_server_stop, when no worker is left) calls this. */
static void
conn_close(struct tt_server *s, struct tt_conn *c)
{
	uint64_t gen = atomic_load_explicit(&c->sched, memory_order_relaxed) >> 2;

	/* Events fetched for this connection from now on are stale. */
	atomic_store_explicit(&c->sched, (uint64_t)((gen + 1) & GEN_MASK) << 2,
	    memory_order_release);
	tt_frame_free(&c->fr);
	out_drop(c);
	stash_drop(c);
	/* Unlink before close: once off the list the sweeper can no longer shutdown() the
	 * fd, so the number cannot be hit after it is reused. */
	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->n_conns--;
	c->acct->conns--;
	acct_put(s, c->acct);
	c->acct = NULL;
	close(c->fd);   /* also removes it from the epoll set */
	c->fd = -1;
	c->free_next = s->free_slots;
	s->free_slots = c;
	pthread_mutex_unlock(&s->lock);
}

/* ---- output ---- */

enum { FEED_MORE, FEED_BLOCKED, FEED_CLOSE };

/*
 * Make sure the worker's response buffer has the current cap. It is kept between
 * requests whatever its size (up to max_response, within the memory bound of
 * docs/config.md): a fresh large buffer costs a page fault per page on every request.
 */
static void
resp_prepare(struct tt_server *s, struct tt_buf *resp)
{
	size_t want = (size_t)LIM(s, max_response) + TT_WIRE_HDR_LEN;

	if (resp->max != want) {
		tt_buf_free(resp);
		tt_buf_init(resp, want);
		tt_buf_set_secret(resp);   /* exported keys pass through here */
	} else {
		tt_buf_reset(resp);
	}
}

/*
 * Send the response in w->resp without waiting. What the socket does not take now stays
 * with the connection (the worker's buffer is handed over, not copied) and is written
 * when the client reads: a client that does not read costs a connection slot and its
 * share of the buffer budget, never a worker.
 */
static int
respond(struct tt_server *s, struct tt_conn *c, struct worker *w, bool keep)
{
	size_t n = tt_buf_avail(&w->resp);
	ssize_t k = send(c->fd, tt_buf_ptr(&w->resp), n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (k < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			tt_buf_reset(&w->resp);
			return FEED_CLOSE;
		}
		k = 0;
	}
	if ((size_t)k == n) {
		/* Wipe now: the buffer is kept, and an exported key must not wait in it for
		 * whenever this worker serves its next request. */
		tt_buf_reset(&w->resp);
		atomic_store_explicit(&c->last_ms, now_ms(), memory_order_relaxed);
		return keep ? FEED_MORE : FEED_CLOSE;
	}
	(void)tt_buf_skip(&w->resp, (size_t)k);
	if (budget_take(c, w->resp.cap) != 0) {
		tt_debug("closing connection (pid %d): its unread response exceeds the buffer "
		    "budget", (int)c->peer.pid);
		tt_buf_reset(&w->resp);
		return FEED_CLOSE;
	}
	c->out = w->resp;
	tt_buf_init(&w->resp, 0);
	c->close_after_out = !keep;
	atomic_store_explicit(&c->out_since_ms, now_ms(), memory_order_relaxed);
	if (conn_arm(s, c, EPOLL_CTL_MOD, true) != 0) {
		tt_warn("epoll: %s", strerror(errno));
		return FEED_CLOSE;
	}
	return FEED_BLOCKED;
}

/* Write queued output. FEED_MORE once it is all gone. */
static int
flush_out(struct tt_server *s, struct tt_conn *c)
{
	while (tt_buf_avail(&c->out) > 0) {
		ssize_t k = send(c->fd, tt_buf_ptr(&c->out), tt_buf_avail(&c->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? FEED_BLOCKED : FEED_CLOSE;
		}
		(void)tt_buf_skip(&c->out, (size_t)k);
	}
	out_drop(c);
	atomic_store_explicit(&c->last_ms, now_ms(), memory_order_relaxed);
	if (c->close_after_out)
		return FEED_CLOSE;
	if (conn_arm(s, c, EPOLL_CTL_MOD, false) != 0) {
		tt_warn("epoll: %s", strerror(errno));
		return FEED_CLOSE;
	}
	return FEED_MORE;
}

/* ---- input ---- */

/* One complete frame: run it and send the response. The connection stays open only if
 * the request asked for it (PARSEC clients do not, and read until EOF) and the service
 * is not draining. */
static int
serve_frame(struct tt_server *s, struct tt_conn *c, struct worker *w)
{
	static const uint8_t empty[1];
	const struct tt_wire_hdr *hdr = tt_frame_hdr(&c->fr);
	const uint8_t *body = tt_frame_body(&c->fr), *auth = tt_frame_auth(&c->fr);
	bool keep = (hdr->flags & TT_WIRE_FLAG_KEEP_ALIVE) != 0 &&
	    !atomic_load_explicit(&s->draining, memory_order_relaxed);
	int r;

	resp_prepare(s, &w->resp);
	r = tt_frontend_handle(s->svc, hdr, body != NULL ? body : empty,
	    auth != NULL ? auth : empty, &c->peer, keep ? TT_WIRE_FLAG_KEEP_ALIVE : 0, &w->resp);
	tt_frame_next(&c->fr);
	if (r != 0) {
		tt_debug("closing connection (pid %d): %s", (int)c->peer.pid, tt_strerror(r));
		return FEED_CLOSE;
	}
	return respond(s, c, w, keep);
}

/* A header that cannot be parsed, breaks a limit or finds the budget spent: answer
 * once, then close, since the stream cannot be resynchronised. */
static int
serve_error(struct tt_server *s, struct tt_conn *c, struct worker *w, int err)
{
	tt_debug("closing connection (pid %d): bad request header: %s", (int)c->peer.pid,
	    tt_err_name(err));
	resp_prepare(s, &w->resp);
	if (tt_frontend_error_frame(err, &w->resp) != 0)
		return FEED_CLOSE;
	return respond(s, c, w, false);
}

/* Run the frames in p[0..n). *used: bytes consumed (all, unless output blocked). */
static int
feed(struct tt_server *s, struct tt_conn *c, struct worker *w, const uint8_t *p, size_t n,
    size_t *used)
{
	size_t off = 0;
	int r = FEED_MORE;

	if (n > 0 && atomic_load_explicit(&c->req_start_ms, memory_order_relaxed) == 0)
		atomic_store_explicit(&c->req_start_ms, now_ms(), memory_order_relaxed);
	while (off < n) {
		size_t u;
		int fr = tt_frame_feed(&c->fr, p + off, n - off, &u);

		off += u;
		if (fr == TT_FRAME_MORE)
			break;
		if (atomic_load_explicit(&c->shut, memory_order_relaxed)) {
			r = FEED_CLOSE;   /* timed out meanwhile: serve nothing more */
			break;
		}
		if (fr != TT_FRAME_DONE) {
			r = serve_error(s, c, w, fr);
			if (r == FEED_MORE)
				r = FEED_CLOSE;
			break;
		}
		r = serve_frame(s, c, w);
		/* Pipelined bytes already here start the next request now. */
		atomic_store_explicit(&c->req_start_ms, off < n ? now_ms() : 0,
		    memory_order_relaxed);
		if (r != FEED_MORE)
			break;
		if (atomic_load_explicit(&s->draining, memory_order_relaxed)) {
			r = FEED_CLOSE;   /* in-flight request done; no new ones while draining */
			break;
		}
	}
	*used = off;
	return r;
}

/* Keep bytes read behind a response that could not be written yet. */
static int
stash_save(struct tt_conn *c, const uint8_t *p, size_t n)
{
	if (budget_take(c, n) != 0)
		return -1;
	if ((c->stash = malloc(n)) == NULL) {
		budget_give(c, n);
		return -1;
	}
	memcpy(c->stash, p, n);
	c->stash_len = n;
	c->stash_off = 0;
	return 0;
}

/* The worker owns `c`. Returns true if it must be closed. */
static bool
conn_run(struct tt_server *s, struct tt_conn *c, struct worker *w)
{
	bool to_eof;
	int r;

	if (atomic_load_explicit(&c->shut, memory_order_relaxed))
		return true;
	if (tt_buf_avail(&c->out) > 0 && (r = flush_out(s, c)) != FEED_MORE)
		return r == FEED_CLOSE;
	tt_frame_set_limits(&c->fr, LIM(s, max_body), LIM(s, max_auth));
	if (c->stash != NULL) {
		size_t used;

		r = feed(s, c, w, c->stash + c->stash_off, c->stash_len - c->stash_off, &used);
		c->stash_off += used;
		if (c->stash_off == c->stash_len)
			stash_drop(c);
		if (r != FEED_MORE)
			return r == FEED_CLOSE;
	}
	/* After a hang-up the data and the EOF may have come in one edge: read to the end
	 * (a hang-up is for good, so the flag is never cleared). */
	to_eof = atomic_load_explicit(&c->hup, memory_order_relaxed);
	for (int round = 0; round < READS_PER_TURN; round++) {
		ssize_t k = read(c->fd, w->rbuf, READ_CHUNK);
		size_t used;

		if (k == 0)
			return true;   /* EOF, also what the sweeper's shutdown looks like */
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno != EAGAIN && errno != EWOULDBLOCK;
		}
		r = feed(s, c, w, w->rbuf, (size_t)k, &used);
		if (r == FEED_BLOCKED && used < (size_t)k &&
		    stash_save(c, w->rbuf + used, (size_t)k - used) != 0)
			r = FEED_CLOSE;
		/* Request bytes (imported keys, plaintexts) must not outlive the request. */
		explicit_bzero(w->rbuf, (size_t)k);
		if (r != FEED_MORE)
			return r == FEED_CLOSE;
		if ((size_t)k < READ_CHUNK && !to_eof)
			return false;   /* a short read drained the socket; new bytes bring a new edge */
	}
	/* There may be more, and edge-triggered epoll will not say so again: requeue. */
	if (conn_arm(s, c, EPOLL_CTL_MOD, c->want_out) != 0) {
		tt_warn("epoll re-arm: %s", strerror(errno));
		return true;
	}
	return false;
}

static void
conn_event(struct tt_server *s, uint64_t tag, uint32_t events, struct worker *w)
{
	struct tt_conn *c = slot_get(s, (uint32_t)tag);
	uint64_t mine = (tag >> 32) << 2, cur, next;

	if (c == NULL)
		return;
	cur = atomic_load_explicit(&c->sched, memory_order_acquire);
	if ((cur & ~(uint64_t)ST_MASK) == mine &&
	    (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0)
		atomic_store_explicit(&c->hup, true, memory_order_relaxed);
	for (;;) {
		if ((cur & ~(uint64_t)ST_MASK) != mine || (cur & ST_MASK) == ST_AGAIN)
			return;   /* closed (stale event), or its runner already owes a turn */
		next = mine | ((cur & ST_MASK) == ST_IDLE ? ST_RUNNING : ST_AGAIN);
		if (atomic_compare_exchange_weak_explicit(&c->sched, &cur, next,
		    memory_order_acq_rel, memory_order_acquire))
			break;
	}
	if ((cur & ST_MASK) != ST_IDLE)
		return;   /* RUNNING -> AGAIN: the runner serves it again */
	for (;;) {
		if (conn_run(s, c, w)) {
			conn_close(s, c);
			return;
		}
		cur = mine | ST_RUNNING;
		if (atomic_compare_exchange_strong_explicit(&c->sched, &cur, mine | ST_IDLE,
		    memory_order_acq_rel, memory_order_acquire))
			return;
		/* AGAIN: an event came in while we ran */
		atomic_store_explicit(&c->sched, mine | ST_RUNNING, memory_order_relaxed);
	}
}

/* ---- accepting ---- */

static void
log_refused(struct tt_server *s, uint64_t now, const char *why)
{
	/* under s->lock */
	s->refused++;
	if (now - s->refuse_log_ms >= 1000) {
		tt_debug("%s reached: %llu connection(s) refused", why,
		    (unsigned long long)s->refused);
		s->refuse_log_ms = now;
		s->refused = 0;
	}
}

static void
accept_one(struct tt_server *s, int fd)
{
	struct tt_conn *c = NULL;
	struct uid_acct *a;
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	struct tt_peer peer;
	uint64_t now = now_ms();

	memset(&peer, 0, sizeof(peer));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && ul == sizeof(uc)) {
		peer.valid = true;
		peer.uid = uc.uid;
		peer.gid = uc.gid;
		peer.pid = uc.pid;
	} else {
		peer.uid = UINT32_MAX;   /* counted together, as one unknown uid */
	}
	pthread_mutex_lock(&s->lock);
	if (s->n_conns >= LIM(s, max_connections)) {
		log_refused(s, now, "max_connections");
	} else if ((a = acct_get(s, peer.uid)) == NULL) {
		/* out of memory: refuse */
	} else if (a->conns >= LIM(s, max_conns_per_uid)) {
		log_refused(s, now, "max_connections_per_uid");
		acct_put(s, a);
	} else if ((c = slot_alloc(s)) == NULL) {
		acct_put(s, a);
	} else {
		a->conns++;
		c->acct = a;
		c->fd = fd;
		c->peer = peer;
		c->held = 0;
		c->close_after_out = false;
		c->want_out = false;
		tt_frame_init(&c->fr, LIM(s, max_body), LIM(s, max_auth));
		tt_frame_set_budget(&c->fr, &payload_budget, c);
		tt_buf_init(&c->out, 0);
		atomic_store_explicit(&c->shut, false, memory_order_relaxed);
		atomic_store_explicit(&c->hup, false, memory_order_relaxed);
		atomic_store_explicit(&c->req_start_ms, 0, memory_order_relaxed);
		atomic_store_explicit(&c->last_ms, now, memory_order_relaxed);
		atomic_store_explicit(&c->out_since_ms, 0, memory_order_relaxed);
		c->prev = NULL;
		c->next = s->head;
		if (s->head != NULL)
			s->head->prev = c;
		s->head = c;
		s->n_conns++;
	}
	pthread_mutex_unlock(&s->lock);
	if (c == NULL) {
		close(fd);
		return;
	}
	/* The slot is IDLE: the first event makes a worker its owner. Registering it is
	 * the last touch of this thread, which owns nothing here. */
	if (conn_arm(s, c, EPOLL_CTL_ADD, false) != 0) {
		tt_warn("epoll add: %s", strerror(errno));
		/* Nobody else can have an event for it: take ownership to close it. */
		atomic_store_explicit(&c->sched,
		    atomic_load_explicit(&c->sched, memory_order_relaxed) | ST_RUNNING,
		    memory_order_relaxed);
		conn_close(s, c);
	}
}

static void
accept_some(struct tt_server *s)
{
	struct epoll_event ev;

	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;   /* the next connection brings the next edge */
			/* EMFILE/ENFILE/ENOMEM: the backlog stays, and so would the problem if we
			 * retried at once; let the sweeper re-arm the listener shortly. */
			tt_warn("accept: %s", strerror(errno));
			atomic_store(&s->accept_paused, true);
			return;
		}
		accept_one(s, fd);
	}
	/* More may be waiting in the backlog: have epoll report the listener again. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = TAG_LISTEN;
	if (!atomic_load(&s->draining) &&
	    epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) != 0 && errno != ENOENT)
		tt_warn("epoll re-arm listener: %s", strerror(errno));
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct tt_server *s = w->srv;

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
		if (n == 0 || ev.data.u64 == TAG_WAKE)
			continue;
		if (ev.data.u64 == TAG_LISTEN)
			accept_some(s);
		else
			conn_event(s, ev.data.u64, ev.events, w);
	}
	return NULL;
}

static int
listen_arm(struct tt_server *s, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = TAG_LISTEN;
	return epoll_ctl(s->epfd, op, s->listen_fd, &ev);
}

int
tt_server_start(struct tt_server **out, struct tt_service *svc, int listen_fd, uint32_t threads)
{
	struct tt_server *s;
	struct epoll_event ev;
	pthread_attr_t attr;
	bool attr_ok = false;
	int r = TT_ERR_IO;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TT_ERR_NO_MEMORY;
	s->svc = svc;
	s->listen_fd = listen_fd;
	s->wake_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	load_limits(s);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		tt_err_log("epoll/eventfd: %s", strerror(errno));
		goto out;
	}
	/* Level-triggered and never read: once written, every worker keeps waking up
	 * until it has seen `stopping`. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_WAKE;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &ev) != 0 ||
	    listen_arm(s, EPOLL_CTL_ADD) != 0) {
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
		struct worker *w = &s->workers[i];
		int e;

		w->srv = s;
		tt_buf_init(&w->resp, 0);
		if ((w->rbuf = malloc(READ_CHUNK)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		if ((e = pthread_create(&w->th, &attr, worker_main, w)) != 0) {
			tt_err_log("cannot start worker thread: %s", strerror(e));
			free(w->rbuf);
			w->rbuf = NULL;
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
	uint64_t now = now_ms();
	bool draining = atomic_load(&s->draining);
	uint32_t read_to, idle_to;

	/* A reload has swapped the config: pick up its limits. */
	load_limits(s);
	read_to = LIM(s, read_timeout_ms);
	idle_to = LIM(s, idle_timeout_ms);
	pthread_mutex_lock(&s->lock);
	for (struct tt_conn *c = s->head; c != NULL; c = c->next) {
		uint64_t start, last, out_since;
		const char *why = NULL;

		if (atomic_load_explicit(&c->shut, memory_order_relaxed) ||
		    (atomic_load_explicit(&c->sched, memory_order_acquire) & ST_MASK) !=
		    ST_IDLE)
			continue;   /* already shut, or a worker is serving it right now */
		/* Times are written by workers after our `now` was taken, so they can be
		 * slightly ahead of it: compare without unsigned wrap-around. */
		start = atomic_load_explicit(&c->req_start_ms, memory_order_relaxed);
		last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);
		out_since = atomic_load_explicit(&c->out_since_ms, memory_order_relaxed);
		if (out_since != 0 && now > out_since && now - out_since >= read_to)
			why = "the client does not read its response";
		else if (start != 0 && now > start && now - start >= read_to)
			why = "read timeout";
		else if (start == 0 && out_since == 0 && draining)
			why = "shutting down";
		else if (start == 0 && out_since == 0 && now > last && now - last >= idle_to)
			why = "idle timeout";
		if (why == NULL)
			continue;
		tt_debug("closing connection (pid %d): %s", (int)c->peer.pid, why);
		/* Only shutdown: its owner (a worker woken by the hang-up) closes and frees,
		 * so the fd and the slot cannot be reused under anyone. */
		atomic_store_explicit(&c->shut, true, memory_order_relaxed);
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&s->lock);
	if (!draining && atomic_exchange(&s->accept_paused, false))
		(void)listen_arm(s, EPOLL_CTL_MOD);
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

	if (s == NULL)
		return;
	atomic_store(&s->stopping, true);
	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
		tt_warn("eventfd write: %s", strerror(errno));
	for (uint32_t i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i].th, NULL);
	/* No worker left: the remaining connections are ours to close. */
	while (s->head != NULL)
		conn_close(s, s->head);
	for (uint32_t i = 0; s->workers != NULL && i < s->n_workers; i++) {
		tt_buf_free(&s->workers[i].resp);
		if (s->workers[i].rbuf != NULL) {
			explicit_bzero(s->workers[i].rbuf, READ_CHUNK);
			free(s->workers[i].rbuf);
		}
	}
	free(s->workers);
	for (uint32_t i = 0; i < MAX_CHUNKS; i++)
		free(atomic_load(&s->chunks[i]));
	for (uint32_t i = 0; i < UID_BUCKETS; i++) {
		while (s->uids[i] != NULL) {
			struct uid_acct *a = s->uids[i];

			s->uids[i] = a->next;
			free(a);
		}
	}
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
