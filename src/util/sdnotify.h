/*
 * systemd's readiness notification and socket activation, spoken directly.
 *
 * Both are stable, documented interfaces (sd_notify(3): a datagram to $NOTIFY_SOCKET;
 * sd_listen_fds(3): $LISTEN_PID/$LISTEN_FDS, fds from 3). turtled speaks them itself
 * (turtled and turtle-as) instead of linking libsystemd because libsystemd pulls in libgcrypt, liblz4, libzstd,
 * liblzma and libcap, about 1 MiB of resident memory, which alone would break the idle
 * RSS budget (8 MiB) for two functions of a few lines each.
 */
#ifndef TT_UTIL_SDNOTIFY_H
#define TT_UTIL_SDNOTIFY_H

/* Send `state` ("READY=1", ...) to the service manager; a no-op without
 * $NOTIFY_SOCKET. Failures are ignored: notification is advisory. */
void tt_sd_notify(const char *state);

/* Socket activation: number of fds passed (starting at fd 3), 0 if none or not for
 * this process, negative tt_err on malformed variables. Unsets the variables and marks
 * the fds close-on-exec, so that children do not inherit them. */
int tt_sd_listen_fds(void);

/* 1 if fd is a listening Unix stream socket, else 0. */
int tt_sd_is_unix_listener(int fd);

#define TT_SD_LISTEN_FDS_START 3

#endif
