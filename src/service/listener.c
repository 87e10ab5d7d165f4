/*
 * The listening Unix socket: created at the configured path, or handed over by systemd
 * socket activation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "service/listener.h"
#include "util/sdnotify.h"
#include "turtle/error.h"
#include "util/log.h"

int
tt_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return TT_ERR_CONFIG;
	memcpy(buf, path, n + 1);
	/* Walk the components left to right, creating what is missing. */
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue;   /* "//" */
		buf[i] = '\0';
		if (mkdir(buf, mode) == 0) {
			/* mkdir's mode is narrowed by the umask (077 in turtled): say it. */
			if (chmod(buf, mode) != 0) {
				tt_err_log("chmod %s: %s", buf, strerror(errno));
				return TT_ERR_IO;
			}
		} else if (errno != EEXIST) {
			tt_err_log("mkdir %s: %s", buf, strerror(errno));
			return TT_ERR_IO;
		}
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* Is something listening on `path` right now? Used to refuse stealing a live socket. */
static bool
socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return alive;
}

/* 1: got an activated fd, 0: none passed, <0: error. */
static int
activated_fd(int *fd)
{
	int n = tt_sd_listen_fds();
	int fl;

	if (n <= 0)
		return 0;
	if (n > 1) {
		tt_err_log("socket activation passed %d fds; turtled uses exactly one", n);
		return TT_ERR_CONFIG;
	}
	if (!tt_sd_is_unix_listener(TT_SD_LISTEN_FDS_START)) {
		tt_err_log("socket activation fd is not a listening Unix stream socket");
		return TT_ERR_CONFIG;
	}
	if ((fl = fcntl(TT_SD_LISTEN_FDS_START, F_GETFL)) < 0 ||
	    fcntl(TT_SD_LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK) < 0) {
		tt_err_log("socket activation fd: %s", strerror(errno));
		return TT_ERR_IO;
	}
	*fd = TT_SD_LISTEN_FDS_START;
	return 1;
}

int
tt_listener_open(const struct tt_config *cfg, int *fd_out, bool *activated)
{
	struct sockaddr_un sa;
	struct stat st;
	char dir[sizeof(sa.sun_path)];
	char *slash;
	int fd = -1, r;

	*activated = false;
	if ((r = activated_fd(&fd)) < 0)
		return r;
	if (r == 1) {
		*activated = true;
		*fd_out = fd;
		tt_info("listening on the socket passed by systemd");
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (cfg->socket_path == NULL || cfg->socket_path[0] != '/' ||
	    strlen(cfg->socket_path) >= sizeof(sa.sun_path)) {
		tt_err_log("socket path must be absolute and shorter than %zu bytes",
		    sizeof(sa.sun_path));
		return TT_ERR_CONFIG;
	}
	memcpy(sa.sun_path, cfg->socket_path, strlen(cfg->socket_path) + 1);

	/* The socket's directory: readable by everyone so that clients can reach the
	 * socket; access control is the socket mode and the authenticators. */
	memcpy(dir, sa.sun_path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if ((r = tt_mkdir_p(dir, 0755)) != 0)
			return r;
	}

	if (lstat(sa.sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			tt_err_log("%s exists and is not a socket; not touching it", sa.sun_path);
			return TT_ERR_CONFIG;
		}
		if (socket_alive(&sa)) {
			tt_err_log("%s: another service is listening there", sa.sun_path);
			return TT_ERR_CONFIG;
		}
		if (unlink(sa.sun_path) != 0) {
			tt_err_log("cannot remove stale socket %s: %s", sa.sun_path, strerror(errno));
			return TT_ERR_IO;
		}
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		tt_err_log("socket: %s", strerror(errno));
		return TT_ERR_IO;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		tt_err_log("bind %s: %s", sa.sun_path, strerror(errno));
		r = TT_ERR_IO;
		goto out;
	}
	/* Until here the umask (077) kept the socket private; now open it up as configured. */
	if (chmod(sa.sun_path, (mode_t)cfg->socket_mode) != 0) {
		tt_err_log("chmod %s: %s", sa.sun_path, strerror(errno));
		r = TT_ERR_IO;
		goto out;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		tt_err_log("listen %s: %s", sa.sun_path, strerror(errno));
		r = TT_ERR_IO;
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(sa.sun_path);
	}
	return r;
}

void
tt_listener_close(int fd, const char *path, bool activated)
{
	if (fd >= 0)
		close(fd);
	/* An activated socket belongs to systemd, which keeps it for the next start. */
	if (!activated && path != NULL && unlink(path) != 0 && errno != ENOENT)
		tt_warn("cannot remove %s: %s", path, strerror(errno));
}
