/*
 * Shared harness of the bench/ programs: a fixed-duration multi-thread runner that keeps
 * per-operation latencies in per-thread arrays, percentile maths, and the plumbing to
 * start a private turtled on a temporary socket and read its memory use.
 *
 * Everything here measures; nothing asserts. The programs print each daemon figure next
 * to a baseline measured in the same run, because the machine is shared and absolute
 * numbers are noise.
 */
#ifndef TT_BENCH_H
#define TT_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);
void bench_sleep_ms(unsigned ms);

/* A growable array of latencies in nanoseconds. */
struct bench_lat {
	uint64_t *v;
	size_t n, cap;
};
/* Append; -1 when memory runs out (the sample is then dropped, never the run). */
int bench_lat_push(struct bench_lat *l, uint64_t ns);
void bench_lat_free(struct bench_lat *l);
/* Sort in place and return the p-quantile (0 < p <= 1) in microseconds; 0 if empty. */
double bench_lat_pct_us(struct bench_lat *l, double p);

/*
 * One benchmarked operation. thread_init builds the per-thread state (a client, an
 * EVP_PKEY_CTX...) before the clock starts; op does one operation and returns 0 or a
 * negative error; thread_fini releases the state. thread_init may be NULL (state = arg).
 */
struct bench_ops {
	int (*thread_init)(void *arg, unsigned idx, void **state);
	int (*op)(void *state);
	void (*thread_fini)(void *state);
	void *arg;
};

struct bench_result {
	struct bench_lat lat;  /* merged latencies, until bench_result_finish */
	unsigned threads;
	uint64_t ops;          /* operations that started and ended inside the window */
	uint64_t errors;       /* failed operations, any phase */
	int first_error;       /* first failing op's return value, 0 if none */
	double secs;           /* length of the measured window */
	double ops_per_s;
	double p50_us, p99_us;
	/* CPU time (user + system) spent inside the measured window by this process and by
	 * process `peer_pid` (the daemon; 0: not sampled), from getrusage and /proc. */
	pid_t peer_pid;
	double self_cpu_s, peer_cpu_s;
};

/*
 * Run `nthreads` threads doing o->op in a loop: warm_ms of warm-up (not recorded), then
 * run_ms measured. Latencies of all threads are merged for the percentiles. Returns 0,
 * or -1 if threads could not be started or every thread failed to initialise.
 */
int bench_run(const struct bench_ops *o, unsigned nthreads, unsigned warm_ms, unsigned run_ms,
    struct bench_result *res);

/*
 * The same in pieces, so that several modes can be measured in alternating slices and
 * each still gets one figure: bench_result_init, then bench_run_more any number of
 * times (ops, errors, window and latencies add up), then bench_result_finish, which
 * computes the rate and percentiles and frees the latencies.
 */
void bench_result_init(struct bench_result *res, unsigned nthreads, pid_t peer_pid);
int bench_run_more(const struct bench_ops *o, unsigned warm_ms, unsigned run_ms,
    struct bench_result *res);
void bench_result_finish(struct bench_result *res);

/* A turtled the bench started (owned) or was pointed at. */
struct bench_daemon {
	pid_t pid;                  /* 0 when not owned */
	bool owned;
	char dir[64];               /* temporary directory of an owned daemon (/tmp/...) */
	char sock[PATH_MAX];
	char log[PATH_MAX];
};

struct bench_daemon_opts {
	const char *turtled;        /* path of the turtled binary */
	bool allow_root;            /* run turtled as root with --allow-root instead of as nobody */
	const char *config_body;    /* extra INI text for a config file, NULL for none */
};

/*
 * Start turtled on a socket in a fresh temporary directory and wait until it accepts
 * connections (10 s at most). When we are root and allow_root is false, the child drops
 * to user nobody (initgroups + setresgid + setresuid) before exec, and the directory is
 * handed to nobody. Returns 0 or -1 with a message on stderr (and turtled's log).
 */
int bench_daemon_start(struct bench_daemon *d, const struct bench_daemon_opts *o);
/* Use an already running turtled at `sock`. */
int bench_daemon_attach(struct bench_daemon *d, const char *sock);
/* SIGTERM an owned daemon, wait, remove its directory. Safe on an attached one. */
void bench_daemon_stop(struct bench_daemon *d);

/* PID of the process listening on a Unix socket, from SO_PEERCRED; -1 on failure. */
pid_t bench_peer_pid(const char *sock);
/* CPU seconds (user + system, all threads) of this process / of `pid`; < 0 on failure. */
double bench_self_cpu_s(void);
double bench_proc_cpu_s(pid_t pid);
/* VmRSS of `pid` in KiB from /proc/PID/status; -1 on failure. */
long bench_rss_kib(pid_t pid);
/* Raise RLIMIT_NOFILE's soft limit to at least `want` (up to the hard limit). */
int bench_raise_nofile(unsigned long want);

/* Remove a scratch directory tree (best effort). */
void bench_rmtree(const char *dir);

/* The contents of dir/name in a new buffer (freed by the caller) followed by a NUL that
 * *len does not count; exits with a message when the file cannot be read. */
uint8_t *bench_slurp(const char *dir, const char *name, size_t *len);

/* Checked decimal option value in [min, max]; exits with a message otherwise. */
unsigned bench_opt_uint(const char *opt, const char *val, unsigned min, unsigned max);
/* Default turtled path built next to this bench (set by meson), overridable. */
const char *bench_default_turtled(void);

/* 0 if sig (r||s, 64 bytes) is a valid ECDSA P-256 signature of hash by pub (0x04||X||Y). */
int bench_verify_p256(const uint8_t pub[65], const uint8_t *hash, size_t hash_len,
    const uint8_t *sig, size_t sig_len);

#endif
