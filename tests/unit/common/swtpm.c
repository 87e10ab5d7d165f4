/* Shared swtpm fixture for the unit tests; the contract is in swtpm.h. */
#include "swtpm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
tt_test_have(const char *tool)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* bind (do_connect 0) or connect (1) a loopback TCP socket to port; 1 on success */
static int
port_try(int port, int do_connect)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = do_connect ? connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 :
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int
tt_test_port_free(int port)
{
	return port_try(port, 0);
}

int
tt_test_port_open(int port)
{
	return port_try(port, 1);
}

int
tt_test_free_port_pair(int avoid)
{
	for (int i = 0; i < 200; i++) {
		int p = 20000 + (rand() % 20000) * 2;

		if (p != avoid && tt_test_port_free(p) && tt_test_port_free(p + 1))
			return p;
	}
	return 0;
}

int
tt_swtpm_start(struct tt_swtpm *t, int avoid)
{
	char state[160], server[64], ctrl[64];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	t->pid = -1;
	if (t->port == 0 && (t->port = tt_test_free_port_pair(avoid)) == 0)
		return -1;
	snprintf(t->tcti, sizeof(t->tcti), "swtpm:host=127.0.0.1,port=%d", t->port);
	snprintf(state, sizeof(state), "dir=%s", t->dir);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", t->port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", t->port + 1);
	if ((t->pid = fork()) < 0)
		return -1;
	if (t->pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* swtpm must not outlive a crashed test, nor hold the test's output pipe open
		 * (meson would wait for it) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
		    "--ctrl", ctrl, "--flags",
		    t->no_startup ? "not-need-init" : "not-need-init,startup-clear", (char *)NULL);
		_exit(127);
	}
	/* the control port opens after the TPM is up; probing it does not take the server's
	 * single client connection */
	for (int i = 0; i < 500; i++) {
		if (tt_test_port_open(t->port + 1))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

void
tt_swtpm_stop(struct tt_swtpm *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	t->pid = -1;
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int
tt_test_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
