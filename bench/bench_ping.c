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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "turtle/turtle.h"
#include "bench.h"

#define REQ_LEN 36
#define RESP_LEN 38
#define MAX_THREAD_COUNTS 8

struct cfg {
	const char *socket;
	const char *turtled;
	bool allow_root;
	unsigned count;
	unsigned seconds;
	unsigned warm_ms;
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

struct lat_result {
	double p50, p99, mean, ops_per_s;
	int err;
};

static void summarise(struct bench_lat *l, uint64_t total_ns, struct lat_result *out)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < l->n; i++)
		sum += l->v[i];
	out->mean = l->n ? (double)sum / (double)l->n / 1000.0 : 0;
	out->ops_per_s = total_ns ? (double)l->n * 1e9 / (double)total_ns : 0;
	out->p50 = bench_lat_pct_us(l, 0.50);
	out->p99 = bench_lat_pct_us(l, 0.99);
}

static int latency_ping(const char *socket, unsigned count, struct lat_result *out)
{
	struct tt_client *c = NULL;
	struct bench_lat l = { 0 };
	uint64_t start, t0;
	unsigned i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = open_client(socket, &c)) != 0)
		goto out;
	for (i = 0; i < count / 10; i++)       /* warm-up: caches, allocator, scheduler */
		if ((r = ping(c)) != 0)
			goto out;
	start = bench_now_ns();
	for (i = 0; i < count; i++) {
		t0 = bench_now_ns();
		if ((r = ping(c)) != 0)
			goto out;
		(void)bench_lat_push(&l, bench_now_ns() - t0);
	}
	summarise(&l, bench_now_ns() - start, out);
out:
	out->err = r;
	bench_lat_free(&l);
	tt_client_close(c);
	return r;
}

/*
 * same_cpu: pin this thread and the echo thread to one CPU. Then a round trip is two
 * context switches and no cross-CPU wake-up; on a VM whose idle vCPUs sleep, that
 * wake-up can dominate a round trip, and this row shows how much.
 */
static int latency_echo(unsigned count, bool same_cpu, struct lat_result *out)
{
	struct echo e;
	struct bench_lat l = { 0 };
	cpu_set_t saved, one;
	bool pinned = false;
	uint64_t start, t0;
	unsigned i;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (echo_open(&e) != 0)
		return -1;
	if (same_cpu) {
		int cpu = sched_getcpu();

		CPU_ZERO(&one);
		CPU_SET(cpu < 0 ? 0 : cpu, &one);
		if (pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) != 0 ||
		    pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0 ||
		    pthread_setaffinity_np(e.tid, sizeof(one), &one) != 0)
			goto out;
		pinned = true;
	}
	for (i = 0; i < count / 10; i++)
		if (echo_roundtrip(&e) != 0)
			goto out;
	start = bench_now_ns();
	for (i = 0; i < count; i++) {
		t0 = bench_now_ns();
		if (echo_roundtrip(&e) != 0)
			goto out;
		(void)bench_lat_push(&l, bench_now_ns() - t0);
	}
	summarise(&l, bench_now_ns() - start, out);
	r = 0;
out:
	if (pinned)
		(void)pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	out->err = r;
	bench_lat_free(&l);
	echo_close(&e);
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

static int tp_echo_init(void *arg, unsigned idx, void **state)
{
	struct echo *e = malloc(sizeof(*e));

	(void)arg;
	(void)idx;
	if (e == NULL)
		return -1;
	if (echo_open(e) != 0) {
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int tp_echo_op(void *state)
{
	return echo_roundtrip(state);
}

static void tp_echo_fini(void *state)
{
	echo_close(state);
	free(state);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_ping [--socket PATH] [--count N] [--seconds N] [--warmup-ms N]\n"
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
	printf("%7u  %-12s %10.0f %9.1f %9.1f %8llu", r->threads, mode, r->ops_per_s, r->p50_us,
	    r->p99_us, (unsigned long long)r->errors);
	if (r->errors > 0)
		printf("  (first error: %s)", tt_strerror(r->first_error));
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct cfg cfg = { 0 };
	struct bench_daemon d;
	struct lat_result lp, le, le1;
	unsigned i;
	int r, rc = 1;

	parse_args(&cfg, argc, argv);
	if (cfg.socket != NULL) {
		if (bench_daemon_attach(&d, cfg.socket) != 0)
			return 1;
	} else {
		struct bench_daemon_opts o = { .turtled = cfg.turtled, .allow_root = cfg.allow_root };

		if (bench_daemon_start(&d, &o) != 0)
			return 1;
	}
	printf("# bench_ping: round trips of 36-byte requests / 38-byte responses\n");
	printf("# latency: %u sequential round trips on one connection after %u warm-up ones\n",
	    cfg.count, cfg.count / 10);
	printf("%-22s %9s %9s %9s %10s\n", "what", "p50 us", "p99 us", "mean us", "ops/s");
	if ((r = latency_echo(cfg.count, false, &le)) != 0 ||
	    (r = latency_echo(cfg.count, true, &le1)) != 0) {
		fprintf(stderr, "bench_ping: echo baseline failed\n");
		goto out;
	}
	print_lat("unix echo (baseline)", &le);
	print_lat("unix echo, same CPU", &le1);
	if ((r = latency_ping(d.sock, cfg.count, &lp)) != 0) {
		fprintf(stderr, "bench_ping: ping failed: %s\n", tt_strerror(r));
		goto out;
	}
	print_lat("turtled ping", &lp);
	printf("# ping p50 / echo p50 = %.2f; turtled's own overhead at p50 = %.1f us\n",
	    le.p50 > 0 ? lp.p50 / le.p50 : 0, lp.p50 - le.p50);
	printf("# target ping p50 <= 25 us: %s (%.1f us)\n", lp.p50 <= 25.0 ? "met" : "MISSED",
	    lp.p50);

	printf("\n# throughput: one connection per thread, %u s per run after %u ms warm-up\n",
	    cfg.seconds, cfg.warm_ms);
	printf("%7s  %-12s %10s %9s %9s %8s\n", "threads", "mode", "ops/s", "p50 us", "p99 us",
	    "errors");
	for (i = 0; i < cfg.n_threads; i++) {
		const struct bench_ops eo = { tp_echo_init, tp_echo_op, tp_echo_fini, NULL };
		const struct bench_ops po = { tp_ping_init, tp_ping_op, tp_ping_fini, d.sock };
		struct bench_result re, rp;

		if (bench_run(&eo, cfg.threads[i], cfg.warm_ms, cfg.seconds * 1000, &re) != 0 ||
		    bench_run(&po, cfg.threads[i], cfg.warm_ms, cfg.seconds * 1000, &rp) != 0) {
			fprintf(stderr, "bench_ping: %u-thread run could not start\n", cfg.threads[i]);
			goto out;
		}
		print_tp("unix echo", &re);
		print_tp("turtled ping", &rp);
		printf("%7s  ping/echo throughput ratio %.2f\n", "", re.ops_per_s > 0 ?
		    rp.ops_per_s / re.ops_per_s : 0);
	}
	rc = 0;
out:
	bench_daemon_stop(&d);
	return rc;
}
