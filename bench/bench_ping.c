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
	struct lat_result lat[N_SER];
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
	printf("\n# throughput: one connection per thread, %u s per mode in 2 alternating slices,\n"
	    "# each after %u ms of warm-up\n", cfg.seconds, cfg.warm_ms);
	printf("%7s  %-12s %10s %9s %9s %8s\n", "threads", "mode", "ops/s", "p50 us", "p99 us",
	    "errors");
	for (i = 0; i < cfg.n_threads; i++) {
		const struct bench_ops eo = { tp_echo_init, tp_echo_op, tp_echo_fini, NULL };
		const struct bench_ops po = { tp_ping_init, tp_ping_op, tp_ping_fini, d.sock };
		struct bench_result re, rp;
		unsigned round;

		/* two alternating slices per mode, so load bursts fall on both alike */
		bench_result_init(&re, cfg.threads[i], 0);
		bench_result_init(&rp, cfg.threads[i], 0);
		for (round = 0; round < 2; round++) {
			if (bench_run_more(&eo, cfg.warm_ms, cfg.seconds * 500, &re) != 0 ||
			    bench_run_more(&po, cfg.warm_ms, cfg.seconds * 500, &rp) != 0) {
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
		printf("%7s  ping/echo throughput ratio %.2f\n", "", re.ops_per_s > 0 ?
		    rp.ops_per_s / re.ops_per_s : 0);
	}
	rc = 0;
out:
	bench_daemon_stop(&d);
	return rc;
}
