/*
 * The daemon around the request path: the listening socket and the connection server.
 *
 * Threading model. `threads` workers block in epoll_wait on one epoll fd. Connection fds
 * are registered EPOLLIN|EPOLLONESHOT|EPOLLRDHUP, so exactly one worker owns a
 * connection between a wake-up and the re-arm: it reads non-blocking into the
 * connection's frame reader, runs each complete frame through tt_frontend_handle,
 * writes the response and re-arms. The listening fd is in the same epoll set (also
 * one-shot), so whichever worker is free accepts. Nothing is handed between threads per
 * request.
 *
 * Timeouts and draining are enforced by tt_server_sweep, called by the main thread a few
 * times a second: it only ever calls shutdown(2) on an expired connection while holding
 * the connection-list lock; the owning worker then sees EOF and closes and frees it.
 * The sweeper never closes or frees, which keeps EPOLLONESHOT ownership race-free.
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

struct tt_server;

/* Start `threads` workers serving `listen_fd` (not owned). */
int tt_server_start(struct tt_server **out, struct tt_service *svc, int listen_fd,
    uint32_t threads);
/* Enforce read/idle timeouts (and, while draining, close idle connections). */
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
