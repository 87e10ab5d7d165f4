/*
 * bench_mem: turtled's resident memory when idle and with many idle connections.
 *
 *   idle       VmRSS after start-up and one Ping
 *   +N conns   N libturtle clients open, each has done one Ping and then waits
 *   closed     after the N clients closed (does the daemon give the memory back?)
 *
 * The daemon started by the bench gets a config with [limits] max_connections = 2048 so
 * that 1000 connections fit; the file-descriptor limit is raised before it is started
 * (the child inherits it). RSS comes from /proc/PID/status of the process on the other
 * end of the socket (SO_PEERCRED), so --socket works with any local turtled we may read.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turtle/turtle.h"
#include "bench.h"

/* Let the daemon's threads settle (and free lists drain) before sampling. */
#define SETTLE_MS 300

struct cfg {
	const char *socket;
	const char *turtled;
	bool allow_root;
	unsigned conns;
};

static const char config_body[] =
	"# written by bench_mem\n"
	"[limits]\n"
	"max_connections = 2048\n";

static int open_client(const char *socket, struct tt_client **out)
{
	struct tt_client_opts o = {
		.socket_path = socket,
		.auth = TT_CLIENT_AUTH_UNIX_PEER,
		.provider = TT_CLIENT_PROVIDER_SOFT,
	};

	return tt_client_open(out, &o);
}

static int ping(struct tt_client *c)
{
	uint8_t maj, min;

	return tt_ping(c, &maj, &min);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_mem [--socket PATH] [--connections N] [--turtled PATH] [--allow-root]\n");
}

static void parse_args(struct cfg *c, int argc, char **argv)
{
	int i;

	c->turtled = bench_default_turtled();
	c->conns = 1000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--socket") == 0 && v != NULL) {
			c->socket = v;
			i++;
		} else if (strcmp(a, "--turtled") == 0 && v != NULL) {
			c->turtled = v;
			i++;
		} else if (strcmp(a, "--connections") == 0) {
			c->conns = bench_opt_uint(a, v, 1, 16000);
			i++;
		} else if (strcmp(a, "--allow-root") == 0) {
			c->allow_root = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else {
			usage(stderr);
			exit(2);
		}
	}
}

/* Open descriptors of the daemon: proof that the idle connections are held open there. */
static long count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static double mib(long kib)
{
	return (double)kib / 1024.0;
}

int main(int argc, char **argv)
{
	struct cfg cfg = { 0 };
	struct bench_daemon d;
	struct tt_client *first = NULL, **cl = NULL;
	long idle, busy, after, fds_idle, fds_busy;
	unsigned i, opened = 0;
	pid_t pid;
	int r, rc = 1;

	parse_args(&cfg, argc, argv);
	if (bench_raise_nofile(cfg.conns + 256) != 0) {
		fprintf(stderr, "bench_mem: cannot raise RLIMIT_NOFILE to %u\n", cfg.conns + 256);
		return 1;
	}
	if (cfg.socket != NULL) {
		if (bench_daemon_attach(&d, cfg.socket) != 0)
			return 1;
	} else {
		struct bench_daemon_opts o = {
			.turtled = cfg.turtled,
			.allow_root = cfg.allow_root,
			.config_body = config_body,
		};

		if (bench_daemon_start(&d, &o) != 0)
			return 1;
	}
	cl = calloc(cfg.conns, sizeof(*cl));
	if (cl == NULL)
		goto out;
	pid = bench_peer_pid(d.sock);
	if (pid <= 0) {
		fprintf(stderr, "bench_mem: cannot find the daemon's pid (SO_PEERCRED)\n");
		goto out;
	}
	if ((r = open_client(d.sock, &first)) != 0 || (r = ping(first)) != 0) {
		fprintf(stderr, "bench_mem: first ping: %s\n", tt_strerror(r));
		goto out;
	}
	bench_sleep_ms(SETTLE_MS);
	idle = bench_rss_kib(pid);
	fds_idle = count_fds(pid);
	for (i = 0; i < cfg.conns; i++) {
		if ((r = open_client(d.sock, &cl[i])) != 0 || (r = ping(cl[i])) != 0) {
			fprintf(stderr, "bench_mem: connection %u: %s\n", i + 1, tt_strerror(r));
			break;
		}
		opened++;
	}
	bench_sleep_ms(SETTLE_MS);
	busy = bench_rss_kib(pid);
	fds_busy = count_fds(pid);
	/* the daemon must still answer with all of them open */
	if ((r = ping(first)) != 0)
		fprintf(stderr, "bench_mem: ping with %u connections open: %s\n", opened,
		    tt_strerror(r));
	for (i = 0; i < opened; i++) {
		tt_client_close(cl[i]);
		cl[i] = NULL;
	}
	bench_sleep_ms(SETTLE_MS);
	after = bench_rss_kib(pid);
	if (idle < 0 || busy < 0 || after < 0) {
		fprintf(stderr, "bench_mem: cannot read /proc/%ld/status\n", (long)pid);
		goto out;
	}

	printf("# bench_mem: turtled (pid %ld) VmRSS; %u idle connections, one Ping each\n",
	    (long)pid, cfg.conns);
	printf("%-34s %10s %9s\n", "state", "VmRSS KiB", "MiB");
	printf("%-34s %10ld %9.2f\n", "idle (after start-up + 1 ping)", idle, mib(idle));
	printf("%-34s %10ld %9.2f\n", "with connections open", busy, mib(busy));
	printf("%-34s %10ld %9.2f\n", "after they closed", after, mib(after));
	printf("# connections opened and pinged: %u of %u; daemon's open fds %ld -> %ld\n",
	    opened, cfg.conns, fds_idle, fds_busy);
	printf("# increase with connections: %.2f MiB (%.1f KiB per connection)\n",
	    mib(busy - idle), opened ? (double)(busy - idle) / opened : 0);
	printf("# target idle RSS <= 8 MiB: %s\n", mib(idle) <= 8.0 ? "met" : "MISSED");
	printf("# target %u connections add <= 16 MiB: %s\n", cfg.conns,
	    opened == cfg.conns && mib(busy - idle) <= 16.0 ? "met" :
	    opened == cfg.conns ? "MISSED" : "NOT MEASURED (connections refused)");
	rc = opened == cfg.conns ? 0 : 1;
out:
	if (cl != NULL)
		for (i = 0; i < cfg.conns; i++)
			tt_client_close(cl[i]);
	free(cl);
	tt_client_close(first);
	bench_daemon_stop(&d);
	return rc;
}
