/*
 * bench_ping: Ping latency and throughput through turtled against a raw Unix-socket echo.
 *
 * A PARSEC Ping is a 36-byte request (header, empty body) answered by a 38-byte response
 * (header + the 2-byte protobuf body carrying version 1.0). The baseline moves exactly
 * those sizes over a Unix stream socket to a thread that reads 36 bytes and writes 38
 * back: the kernel's round trip and two thread wake-ups, with no protocol work. The
 * difference between the two is turtled's own overhead plus libturtle's.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "turtle/turtle.h"
#include "bench.h"

#define REQ_LEN 36
#define RESP_LEN 38
#define TT_STALLED_FRAME 40
#define MAX_THREAD_COUNTS 8

struct cfg {
	const char *socket;
	const char *turtled;
	bool allow_root;
	unsigned count;
	unsigned seconds;
	unsigned warm_ms;
	unsigned rounds;
	unsigned threads[MAX_THREAD_COUNTS];
	unsigned n_threads;
};

/* ---- raw echo baseline ---- */

static int read_full(int fd, uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = read(fd, p + off, n - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static void *echo_main(void *p)
{
	int fd = *(int *)p;
	uint8_t buf[RESP_LEN] = { 0 };

	buf[REQ_LEN] = 0x08;    /* what a Ping result body looks like: field 1 = 1 */
	buf[REQ_LEN + 1] = 0x01;
	while (read_full(fd, buf, REQ_LEN) == 0 && write_full(fd, buf, RESP_LEN) == 0)
		;
	return NULL;
}

struct echo {
	int fds[2];           /* [0] client end, [1] echo thread's end */
	pthread_t tid;
	uint8_t req[REQ_LEN];
};

static int echo_open(struct echo *e)
{
	memset(e, 0, sizeof(*e));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, e->fds) != 0)
		return -1;
	/* a request-shaped header: the PARSEC magic, little-endian */
	e->req[0] = 0x10; e->req[1] = 0xa7; e->req[2] = 0xc0; e->req[3] = 0x5e;
	if (pthread_create(&e->tid, NULL, echo_main, &e->fds[1]) != 0) {
		close(e->fds[0]);
		close(e->fds[1]);
		return -1;
	}
	return 0;
}

static void echo_close(struct echo *e)
{
	shutdown(e->fds[0], SHUT_RDWR);   /* the echo thread sees EOF and returns */
	pthread_join(e->tid, NULL);
	close(e->fds[0]);
	close(e->fds[1]);
}

static int echo_roundtrip(struct echo *e)
{
	uint8_t resp[RESP_LEN];

	if (write_full(e->fds[0], e->req, REQ_LEN) != 0 || read_full(e->fds[0], resp, RESP_LEN) != 0)
		return -1;
	return 0;
}

/*
 * The echo server of the throughput runs: a process of its own (forked before any thread
 * exists) listening on a Unix socket, one blocking thread per connection. Being a
 * separate process, like turtled, its CPU time is read from /proc the same way, so the
 * two CPU-per-round-trip figures compare like with like.
 */
struct echo_srv {
	pid_t pid;
	char dir[64];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void *echo_conn_main(void *p)
{
	int fd = (int)(intptr_t)p;

	echo_main(&fd);
	close(fd);
	return NULL;
}

static int echo_srv_start(struct echo_srv *e)
{
	struct sockaddr_un sa;
	int lfd;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/bench-echo-XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	snprintf(e->path, sizeof(e->path), "%s/echo.sock", e->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, e->path, strlen(e->path) + 1);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 128) != 0) {
		if (lfd >= 0)
			close(lfd);
		rmdir(e->dir);
		return -1;
	}
	if ((e->pid = fork()) < 0) {
		close(lfd);
		return -1;
	}
	if (e->pid == 0) {
		for (;;) {
			pthread_t t;
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				_exit(1);
			}
			if (pthread_create(&t, NULL, echo_conn_main, (void *)(intptr_t)fd) != 0)
				close(fd);
			else
				pthread_detach(t);
		}
	}
	close(lfd);
	return 0;
}

static void echo_srv_stop(struct echo_srv *e)
{
	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		waitpid(e->pid, NULL, 0);
	}
	unlink(e->path);
	rmdir(e->dir);
}

static int tp_echo_init(void *arg, unsigned idx, void **state)
{
	const struct echo_srv *srv = arg;
	struct sockaddr_un sa;
	struct echo *e = calloc(1, sizeof(*e));

	(void)idx;
	if (e == NULL)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, srv->path, strlen(srv->path) + 1);
	e->fds[1] = -1;
	if ((e->fds[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(e->fds[0], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (e->fds[0] >= 0)
			close(e->fds[0]);
		free(e);
		return -1;
	}
	e->req[0] = 0x10; e->req[1] = 0xa7; e->req[2] = 0xc0; e->req[3] = 0x5e;
	*state = e;
	return 0;
}

static int tp_echo_op(void *state)
{
	return echo_roundtrip(state);
}

static void tp_echo_fini(void *state)
{
	struct echo *e = state;

	close(e->fds[0]);   /* the server's thread sees EOF and ends */
	free(e);
}

/* ---- stalled clients: they ask for a large response and never read it ---- */

#define STALLED 64

/* PsaGenerateRandom{size: 1000000} to provider 1, no authentication (PARSEC allows it):
 * the 36-byte header and the 4-byte body 08 c0 84 3d. */
static void stalled_frame(uint8_t f[TT_STALLED_FRAME])
{
	memset(f, 0, TT_STALLED_FRAME);
	f[0] = 0x10; f[1] = 0xa7; f[2] = 0xc0; f[3] = 0x5e;   /* magic */
	f[4] = 30;                                            /* header size */
	f[6] = 1;                                             /* version 1.0 */
	f[10] = 1;                                            /* provider */
	f[22] = 4;                                            /* body length */
	f[28] = 0x0d;                                         /* opcode */
	f[36] = 0x08; f[37] = 0xc0; f[38] = 0x84; f[39] = 0x3d;
}

static int stalled_open(const char *sock, int fds[STALLED])
{
	struct sockaddr_un sa;
	uint8_t f[TT_STALLED_FRAME];
	int small = 4096, i;

	stalled_frame(f);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	for (i = 0; i < STALLED; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) != 0 ||
		    write_full(fds[i], f, sizeof(f)) != 0)
			return -1;
	}
	return 0;
}

static void stalled_close(int fds[STALLED])
{
	for (int i = 0; i < STALLED; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* ---- turtled ping ---- */

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
	uint8_t maj = 0, min = 0;
	int r = tt_ping(c, &maj, &min);

	if (r == 0 && (maj != 1 || min != 0))
		r = -1;
	return r;
}

/* ---- latency: sequential round trips on one connection ---- */

/*
 * The three series are measured in alternating blocks rather than one after another,
 * so that a burst of load from other processes on this shared machine hits all of them
 * alike instead of skewing one.
 */
#define LAT_BLOCK 500

enum { SER_ECHO, SER_ECHO_PINNED, SER_PING, N_SER };

struct lat_result {
	double p50, p99, mean, ops_per_s;
};

struct lat_series {
	struct bench_lat l;
	uint64_t busy_ns;     /* time spent inside this series' blocks */
};

static void summarise(struct lat_series *s, struct lat_result *out)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < s->l.n; i++)
		sum += s->l.v[i];
	out->mean = s->l.n ? (double)sum / (double)s->l.n / 1000.0 : 0;
	out->ops_per_s = s->busy_ns ? (double)s->l.n * 1e9 / (double)s->busy_ns : 0;
	out->p50 = bench_lat_pct_us(&s->l, 0.50);
	out->p99 = bench_lat_pct_us(&s->l, 0.99);
}

/* One block of one series; `record` false for the warm-up. */
static int lat_block(int ser, struct tt_client *c, struct echo *e, struct echo *ep,
    unsigned n, bool record, struct lat_series *out)
{
	uint64_t start = bench_now_ns(), t0;
	unsigned i;
	int r = 0;

	for (i = 0; i < n; i++) {
		t0 = bench_now_ns();
		r = ser == SER_PING ? ping(c) : echo_roundtrip(ser == SER_ECHO ? e : ep);
		if (r != 0)
			return r;
		if (record)
			(void)bench_lat_push(&out->l, bench_now_ns() - t0);
	}
	if (record)
		out->busy_ns += bench_now_ns() - start;
	return 0;
}

/*
 * SER_ECHO_PINNED pins this thread and its echo thread to one CPU. A round trip is then
 * two context switches and no cross-CPU wake-up; on a VM whose idle vCPUs sleep, that
 * wake-up can dominate a round trip, and the two echo rows show how much.
 */
static int latency(const char *socket, unsigned count, struct lat_result res[N_SER])
{
	struct lat_series ser[N_SER];
	struct tt_client *c = NULL;
	struct echo e, ep;
	bool e_ok = false, ep_ok = false;
	cpu_set_t all, one;
	unsigned done, warm = count / 10;
	int cpu, s, r = -1;

	memset(ser, 0, sizeof(ser));
	if ((r = open_client(socket, &c)) != 0)
		goto out;
	r = -1;
	if (echo_open(&e) != 0)
		goto out;
	e_ok = true;
	if (echo_open(&ep) != 0)
		goto out;
	ep_ok = true;
	cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	if (pthread_getaffinity_np(pthread_self(), sizeof(all), &all) != 0 ||
	    pthread_setaffinity_np(ep.tid, sizeof(one), &one) != 0)
		goto out;
	for (done = 0; done < warm + count; done += LAT_BLOCK) {
		unsigned n = warm + count - done < LAT_BLOCK ? warm + count - done : LAT_BLOCK;
		bool record = done >= warm;

		for (s = 0; s < N_SER; s++) {
			if (s == SER_ECHO_PINNED &&
			    pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0)
				goto out;
			r = lat_block(s, c, &e, &ep, n, record, &ser[s]);
			if (s == SER_ECHO_PINNED)
				(void)pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
			if (r != 0)
				goto out;
		}
	}
	for (s = 0; s < N_SER; s++)
		summarise(&ser[s], &res[s]);
	r = 0;
out:
	for (s = 0; s < N_SER; s++)
		bench_lat_free(&ser[s].l);
	if (ep_ok)
		echo_close(&ep);
	if (e_ok)
		echo_close(&e);
	tt_client_close(c);
	return r;
}

/* ---- throughput: N threads, one connection each ---- */

static int tp_ping_init(void *arg, unsigned idx, void **state)
{
	struct tt_client *c = NULL;
	int r;

	(void)idx;
	if ((r = open_client(arg, &c)) != 0)
		return r;
	*state = c;
	return 0;
}

static int tp_ping_op(void *state)
{
	return ping(state);
}

static void tp_ping_fini(void *state)
{
	tt_client_close(state);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_ping [--socket PATH] [--count N] [--seconds N] [--rounds N] [--warmup-ms N]\n"
	    "                  [--threads 1,2,8] [--turtled PATH] [--allow-root]\n");
}

static void parse_threads(struct cfg *c, const char *arg)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf)) {
		usage(stderr);
		exit(2);
	}
	memcpy(buf, arg, strlen(arg) + 1);
	c->n_threads = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (c->n_threads == MAX_THREAD_COUNTS) {
			fprintf(stderr, "at most %d thread counts\n", MAX_THREAD_COUNTS);
			exit(2);
		}
		c->threads[c->n_threads++] = bench_opt_uint("--threads", tok, 1, 1024);
	}
}

static void parse_args(struct cfg *c, int argc, char **argv)
{
	int i;

	c->turtled = bench_default_turtled();
	c->count = 20000;
	c->seconds = 2;
	c->warm_ms = 300;
	c->rounds = 4;
	parse_threads(c, "1,2,8");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--socket") == 0 && v != NULL) {
			c->socket = v;
			i++;
		} else if (strcmp(a, "--turtled") == 0 && v != NULL) {
			c->turtled = v;
			i++;
		} else if (strcmp(a, "--count") == 0) {
			c->count = bench_opt_uint(a, v, 100, 10000000);
			i++;
		} else if (strcmp(a, "--seconds") == 0) {
			c->seconds = bench_opt_uint(a, v, 1, 600);
			i++;
		} else if (strcmp(a, "--rounds") == 0) {
			c->rounds = bench_opt_uint(a, v, 1, 100);
			i++;
		} else if (strcmp(a, "--warmup-ms") == 0) {
			c->warm_ms = bench_opt_uint(a, v, 0, 60000);
			i++;
		} else if (strcmp(a, "--threads") == 0 && v != NULL) {
			parse_threads(c, v);
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

static void print_lat(const char *what, const struct lat_result *r)
{
	printf("%-22s %9.1f %9.1f %9.1f %10.0f\n", what, r->p50, r->p99, r->mean, r->ops_per_s);
}

static void print_tp(const char *mode, const struct bench_result *r)
{
	double per = r->ops > 0 ? 1e6 / (double)r->ops : 0;

	printf("%7u  %-12s %10.0f %9.1f %9.1f %10.2f %10.2f %8llu", r->threads, mode,
	    r->ops_per_s, r->p50_us, r->p99_us, r->peer_cpu_s * per, r->self_cpu_s * per,
	    (unsigned long long)r->errors);
	if (r->errors > 0)
		printf("  (first error: %s)", tt_strerror(r->first_error));
	printf("\n");
	fflush(stdout);
}

/*
 * Honest Pings (one thread, one persistent connection) in alternating slices without and
 * with STALLED clients that each asked for 1,000,000 random bytes and never read them.
 * The stalled set is opened anew for each slice (turtled drops such connections after
 * read_timeout_ms or when the buffer budget is spent).
 */
static int stalled_run(const struct cfg *cfg, const char *sock, pid_t pid)
{
	const struct bench_ops po = { tp_ping_init, tp_ping_op, tp_ping_fini, (void *)sock };
	struct bench_result quiet, loaded;
	int fds[STALLED], r = -1;

	bench_result_init(&quiet, 1, pid);
	bench_result_init(&loaded, 1, pid);
	/* Two slices of each, long enough to hold the time turtled needs to produce the 64
	 * responses on a busy machine. */
	for (unsigned round = 0; round < 2; round++) {
		if (bench_run_more(&po, cfg->warm_ms, cfg->seconds * 500, &quiet) != 0)
			goto out;
		memset(fds, -1, sizeof(fds));
		if (stalled_open(sock, fds) != 0) {
			fprintf(stderr, "bench_ping: cannot open the stalled clients: %s\n",
			    strerror(errno));
			stalled_close(fds);
			goto out;
		}
		/* no warm-up: the time turtled spends producing the 64 responses is measured */
		r = bench_run_more(&po, 0, cfg->seconds * 500, &loaded);
		stalled_close(fds);
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	bench_result_finish(&quiet);
	bench_result_finish(&loaded);
	if (r == 0) {
		printf("\n# honest client (1 thread, persistent connection) without and with %d\n"
		    "# clients that asked for 1,000,000 random bytes each and never read; %u s\n"
		    "# each, in 2 alternating slices; a loaded slice starts as the stalled clients\n"
		    "# have sent their requests (no warm-up)\n", STALLED, cfg->seconds);
		printf("%-28s %10s %9s %9s %8s\n", "honest pings", "ops/s", "p50 us", "p99 us",
		    "errors");
		printf("%-28s %10.0f %9.1f %9.1f %8llu\n", "without stalled clients",
		    quiet.ops_per_s, quiet.p50_us, quiet.p99_us, (unsigned long long)quiet.errors);
		printf("%-28s %10.0f %9.1f %9.1f %8llu\n", "with 64 stalled clients",
		    loaded.ops_per_s, loaded.p50_us, loaded.p99_us, (unsigned long long)loaded.errors);
	}
	return r;
}

int main(int argc, char **argv)
{
	struct cfg cfg = { 0 };
	struct bench_daemon d;
	struct echo_srv es;
	struct lat_result lat[N_SER];
	pid_t dpid;
	unsigned i;
	int r, rc = 1;

	parse_args(&cfg, argc, argv);
	/* before any thread exists: the echo server is a forked copy of this process */
	if (echo_srv_start(&es) != 0) {
		fprintf(stderr, "bench_ping: cannot start the echo server: %s\n", strerror(errno));
		return 1;
	}
	if (cfg.socket != NULL) {
		if (bench_daemon_attach(&d, cfg.socket) != 0)
			goto out_echo;
	} else {
		struct bench_daemon_opts o = { .turtled = cfg.turtled, .allow_root = cfg.allow_root };

		if (bench_daemon_start(&d, &o) != 0)
			goto out_echo;
	}
	dpid = bench_peer_pid(d.sock);
	printf("# bench_ping: round trips of 36-byte requests / 38-byte responses\n");
	printf("# latency: %u sequential round trips per series on one connection, after %u\n"
	    "# warm-up ones; the series alternate in blocks of %d\n", cfg.count, cfg.count / 10,
	    LAT_BLOCK);
	printf("%-22s %9s %9s %9s %10s\n", "what", "p50 us", "p99 us", "mean us", "ops/s");
	if ((r = latency(d.sock, cfg.count, lat)) != 0) {
		fprintf(stderr, "bench_ping: latency run failed: %s\n", tt_strerror(r));
		goto out;
	}
	print_lat("unix echo (baseline)", &lat[SER_ECHO]);
	print_lat("unix echo, same CPU", &lat[SER_ECHO_PINNED]);
	print_lat("turtled ping", &lat[SER_PING]);
	printf("# p50 ping - echo = %.1f us; ping - same-CPU echo = %.1f us\n",
	    lat[SER_PING].p50 - lat[SER_ECHO].p50, lat[SER_PING].p50 - lat[SER_ECHO_PINNED].p50);
	printf("# target ping p50 <= 25 us: %s (%.1f us)\n",
	    lat[SER_PING].p50 <= 25.0 ? "met" : "MISSED", lat[SER_PING].p50);
	printf("\n# throughput: one connection per thread, %u s per mode in %u alternating slices,\n"
	    "# each after %u ms of warm-up. The echo server is a process of its own, one thread\n"
	    "# per connection; server cpu/op is its CPU time (or turtled's) per round trip,\n"
	    "# client cpu/op the bench's (the client threads).\n",
	    cfg.seconds, cfg.rounds, cfg.warm_ms);
	printf("%7s  %-12s %10s %9s %9s %10s %10s %8s\n", "threads", "mode", "ops/s", "p50 us",
	    "p99 us", "server cpu", "client cpu", "errors");
	printf("%7s  %-12s %10s %9s %9s %10s %10s\n", "", "", "", "", "", "us/op", "us/op");
	for (i = 0; i < cfg.n_threads; i++) {
		const struct bench_ops eo = { tp_echo_init, tp_echo_op, tp_echo_fini, &es };
		const struct bench_ops po = { tp_ping_init, tp_ping_op, tp_ping_fini, d.sock };
		struct bench_result re, rp;
		double tr, cr;
		unsigned round;

		/* alternating slices per mode, so load bursts fall on both alike */
		bench_result_init(&re, cfg.threads[i], es.pid);
		bench_result_init(&rp, cfg.threads[i], dpid > 0 ? dpid : 0);
		for (round = 0; round < cfg.rounds; round++) {
			if (bench_run_more(&eo, cfg.warm_ms, cfg.seconds * 1000 / cfg.rounds, &re) != 0 ||
			    bench_run_more(&po, cfg.warm_ms, cfg.seconds * 1000 / cfg.rounds, &rp) != 0) {
				fprintf(stderr, "bench_ping: %u-thread run could not start\n",
				    cfg.threads[i]);
				bench_result_finish(&re);
				bench_result_finish(&rp);
				goto out;
			}
		}
		bench_result_finish(&re);
		bench_result_finish(&rp);
		print_tp("unix echo", &re);
		print_tp("turtled ping", &rp);
		tr = re.ops_per_s > 0 ? rp.ops_per_s / re.ops_per_s : 0;
		printf("%7s  ping/echo throughput ratio %.2f (target >= 0.70: %s)\n", "", tr,
		    tr >= 0.70 ? "met" : "MISSED");
		if (dpid > 0 && re.ops > 0 && rp.ops > 0 && re.peer_cpu_s > 0) {
			cr = (rp.peer_cpu_s / (double)rp.ops) / (re.peer_cpu_s / (double)re.ops);
			printf("%7s  daemon CPU per ping / echo server CPU per round trip %.2f "
			    "(target <= 2.0: %s)\n", "", cr, cr <= 2.0 ? "met" : "MISSED");
		}
	}
	if (stalled_run(&cfg, d.sock, dpid > 0 ? dpid : 0) != 0) {
		fprintf(stderr, "bench_ping: stalled-client run failed\n");
		goto out;
	}
	rc = 0;
out:
	bench_daemon_stop(&d);
out_echo:
	echo_srv_stop(&es);
	return rc;
}
