/*
 * Test helper shared by the unit tests that need a TPM: a `swtpm socket` process on a pair
 * of loopback TCP ports (server `port`, control `port + 1`), plus the small probes those
 * tests use (is a tool installed, is a port free, is something listening).
 *
 * Only for tests: it forks, execs from PATH and sleeps while waiting for swtpm.
 */
#ifndef TT_TEST_SWTPM_H
#define TT_TEST_SWTPM_H

#include <sys/types.h>

struct tt_swtpm {
	/* in: the TPM state directory; the caller creates it and removes it afterwards */
	char dir[128];
	/* in/out: the server port (control port is port + 1). 0 makes tt_swtpm_start pick a
	 * free pair; the chosen port is kept, so a stopped swtpm restarts on the same ports */
	int port;
	/* in: 0 starts swtpm with TPM2_Startup(CLEAR) done; 1 leaves the Startup to the code
	 * under test (a TPM nobody has started yet) */
	int no_startup;
	/* out: "swtpm:host=127.0.0.1,port=<port>", for TSS2 and TPM2TOOLS_TCTI */
	char tcti[80];
	/* out: > 0 while this helper's swtpm runs; 0 or -1 otherwise */
	pid_t pid;
};

/* 1 if `tool` is found on PATH (by the shell's `command -v`), else 0. */
int tt_test_have(const char *tool);

/* 1 if a TCP socket can be bound to 127.0.0.1:port right now, else 0. */
int tt_test_port_free(int port);

/* 1 if something accepts a TCP connection on 127.0.0.1:port, else 0. */
int tt_test_port_open(int port);

/*
 * An even port p in [20000, 60000) with p and p + 1 both free and p != avoid, picked with
 * rand() (seed it in the test if runs must differ); 0 if none was found in 200 tries.
 */
int tt_test_free_port_pair(int avoid);

/*
 * Start swtpm on t->dir and t->port (picking a free pair first, not equal to `avoid`, when
 * t->port is 0), fill t->tcti and t->pid, and wait until the control port accepts a
 * connection (up to 10 s; the probe does not take the server's single client connection).
 * The child gets /dev/null as stdin/stdout/stderr, so it never holds the test runner's
 * output pipe, and is SIGKILLed if the test process dies. 0, or -1 (no free port, fork
 * failed, or swtpm not up in time; the caller's teardown still calls tt_swtpm_stop).
 * t must not be running (stop it first to restart on the same state and ports).
 */
int tt_swtpm_start(struct tt_swtpm *t, int avoid);

/* SIGKILL and reap the swtpm this helper started (by t->pid only); t->pid becomes -1.
 * A no-op when it is not running. The state directory is left in place. */
void tt_swtpm_stop(struct tt_swtpm *t);

/* Remove `dir` and everything under it (no symlinks followed); 0, or -1 on any failure. */
int tt_test_rmtree(const char *dir);

#endif
