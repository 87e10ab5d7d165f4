#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"
#include "turtle/error.h"
#include "util/num.h"

void
tt_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n < 2 || n >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';   /* abstract namespace: length-delimited, no NUL */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	close(fd);
}

int
tt_sd_listen_fds(void)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	uint32_t pid, n;
	int r = 0;

	if (pid_s == NULL || fds_s == NULL)
		goto out;
	if (tt_parse_u32(pid_s, 1, INT32_MAX, &pid) != 0 ||
	    tt_parse_u32(fds_s, 0, 1024, &n) != 0) {
		r = TT_ERR_CONFIG;
		goto out;
	}
	if ((pid_t)pid != getpid())
		goto out;   /* meant for another process (we were exec'ed by a child) */
	for (uint32_t i = 0; i < n; i++) {
		if (fcntl(TT_SD_LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC) != 0) {
			r = TT_ERR_IO;
			goto out;
		}
	}
	r = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

int
tt_sd_is_unix_listener(int fd)
{
	struct sockaddr_un sa;
	socklen_t l = sizeof(sa);
	int v;
	socklen_t vl = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl) != 0 || v != SOCK_STREAM)
		return 0;
	vl = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) != 0 || v == 0)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&sa, &l) != 0 || sa.sun_family != AF_UNIX)
		return 0;
	return 1;
}
