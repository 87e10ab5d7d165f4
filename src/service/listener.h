/*
 * The daemon around the request path: the listening socket and the connection server.
 *
 * Threading model. `threads` workers block in epoll_wait (one event at a time) on one
 * epoll set. Connections are registered edge-triggered, once, and never re-armed per
 * request: a worker that gets an event becomes the connection's owner through an atomic
 * state word (conn.c, "sched"), reads non-blocking until the socket is drained, runs each
 * complete frame through tt_frontend_handle and sends the response without waiting. A
 * worker that gets an event for a connection another worker owns only tells the owner
 * to look once more. So a request costs the worker epoll_wait, read and send, and nothing
 * is handed between threads. The listening fd is in the same set; whichever worker is
 * free accepts.
 *
 * Writes never block. What the socket does not take stays with the connection and is
 * written when the client reads (EPOLLOUT is registered only then); meanwhile nothing
 * more is read from that client. A client that never reads costs a connection slot and
 * its queued bytes, never a worker, and is closed after read_timeout_ms.
 *
 * Memory. Request payloads, queued responses and input read behind a queued response
 * count against max_buffered (all clients) and max_buffered_per_uid (per peer uid from
 * SO_PEERCRED), except the first TT_SERVER_CONN_ALLOWANCE bytes each connection holds.
 * A request whose payload does not fit is answered PsaErrorInsufficientMemory and its
 * connection closed (before the payload is read); a response that does not fit closes
 * its connection. Connections are limited to max_connections, and to
 * max_connections_per_uid per peer uid; beyond either, new ones are closed at accept.
 *
 * Timeouts and draining are enforced by tt_server_sweep, called by the main thread a few
 * times a second: it only ever calls shutdown(2) on an expired connection that no worker
 * owns, while holding the connection-list lock; a worker woken by the hang-up then
 * closes it. Closing moves the slot to a new generation, so an event that a worker
 * fetched for the old connection is recognised as stale; slots are reused, never freed
 * while the server runs.
 */
#ifndef TT_SERVICE_LISTENER_H
#define TT_SERVICE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "service/config.h"
#include "service/service.h"

/* mkdir -p: create missing directories of `path` with `mode` (set explicitly, so the
 * umask does not narrow it). Existing directories are left as they are. */
int tt_mkdir_p(const char *path, mode_t mode);

/*
 * The listening socket. With socket activation (systemd passed exactly one fd) that fd
 * is used and *activated is set; otherwise cfg->socket_path is created: its directory
 * made 0755 if missing, a stale socket file removed (only if it is a socket and nobody
 * is listening on it), bound, chmod'ed to cfg->socket_mode, listening. The fd is
 * non-blocking and close-on-exec. Errors are logged; returns 0 or a tt_err.
 */
int tt_listener_open(const struct tt_config *cfg, int *fd, bool *activated);
/* Close the fd; remove the socket file unless it came from socket activation. */
void tt_listener_close(int fd, const char *path, bool activated);

/* Bytes each connection may hold without charging the buffer budget: a header and a
 * typical request or response (Ping, SignHash, an EC key import) fit. */
#define TT_SERVER_CONN_ALLOWANCE (4u * 1024)

struct tt_server;

/* Start `threads` workers serving `listen_fd` (not owned). */
int tt_server_start(struct tt_server **out, struct tt_service *svc, int listen_fd,
    uint32_t threads);
/* Enforce read/write/idle timeouts (and, while draining, close idle connections); pick up
 * the limits of a reloaded config. */
void tt_server_sweep(struct tt_server *s);
/* Stop accepting; in-flight requests finish, idle connections are closed. With
 * refuse_new, new connect()s fail at once; without (a systemd-activated socket, which
 * must survive for the next start) they wait in the backlog. */
void tt_server_drain(struct tt_server *s, bool refuse_new);
/* Open connections right now. */
size_t tt_server_connections(struct tt_server *s);
/* Stop and join the workers, close every connection, free. NULL-safe. */
void tt_server_stop(struct tt_server *s);

#endif
