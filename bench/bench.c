/* Harness shared by the bench/ programs; contracts in bench.h. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "util/num.h"

#ifndef BENCH_TURTLED_PATH
#define BENCH_TURTLED_PATH "turtled"
#endif

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int bench_lat_push(struct bench_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4096;
		uint64_t *nv;

		if (ncap > SIZE_MAX / sizeof(*nv))
			return -1;
		nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = ns;
	return 0;
}

void bench_lat_free(struct bench_lat *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double bench_lat_pct_us(struct bench_lat *l, double p)
{
	size_t idx;

	if (l->n == 0)
		return 0.0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	/* nearest-rank: the smallest sample with at least p of the samples at or below it */
	idx = (size_t)(p * (double)l->n + 0.999999);
	if (idx == 0)
		idx = 1;
	if (idx > l->n)
		idx = l->n;
	return (double)l->v[idx - 1] / 1000.0;
}

/* ---- the runner ---- */

enum { PHASE_WARM = 0, PHASE_MEASURE = 1, PHASE_STOP = 2 };

/* Give up on a thread after this many failures in a row: the daemon is gone. */
#define MAX_CONSECUTIVE_ERRORS 1000

struct run_shared {
	const struct bench_ops *o;
	atomic_int phase;
	pthread_barrier_t start;
};

struct run_thread {
	struct run_shared *sh;
	pthread_t tid;
	unsigned idx;
	int init_rc;
	struct bench_lat lat;
	uint64_t errors;
	int first_error;
};

static void *run_thread_main(void *p)
{
	struct run_thread *t = p;
	const struct bench_ops *o = t->sh->o;
	void *state = o->arg;
	unsigned consecutive = 0;

	if (o->thread_init != NULL)
		t->init_rc = o->thread_init(o->arg, t->idx, &state);
	pthread_barrier_wait(&t->sh->start);
	if (t->init_rc != 0)
		return NULL;
	for (;;) {
		int ph0 = atomic_load_explicit(&t->sh->phase, memory_order_relaxed);
		uint64_t t0, t1;
		int r;

		if (ph0 == PHASE_STOP)
			break;
		t0 = bench_now_ns();
		r = o->op(state);
		t1 = bench_now_ns();
		if (r != 0) {
			if (t->errors++ == 0)
				t->first_error = r;
			if (++consecutive >= MAX_CONSECUTIVE_ERRORS)
				break;
			continue;
		}
		consecutive = 0;
		/* Only operations wholly inside the window count, so the rate is exact. */
		if (ph0 == PHASE_MEASURE &&
		    atomic_load_explicit(&t->sh->phase, memory_order_relaxed) == PHASE_MEASURE)
			(void)bench_lat_push(&t->lat, t1 - t0);
	}
	if (o->thread_fini != NULL)
		o->thread_fini(state);
	return NULL;
}

void bench_result_init(struct bench_result *res, unsigned nthreads, pid_t peer_pid)
{
	memset(res, 0, sizeof(*res));
	res->threads = nthreads;
	res->peer_pid = peer_pid;
}

void bench_result_finish(struct bench_result *res)
{
	res->ops = res->lat.n;
	res->ops_per_s = res->secs > 0 ? (double)res->lat.n / res->secs : 0;
	res->p50_us = bench_lat_pct_us(&res->lat, 0.50);
	res->p99_us = bench_lat_pct_us(&res->lat, 0.99);
	bench_lat_free(&res->lat);
}

int bench_run_more(const struct bench_ops *o, unsigned warm_ms, unsigned run_ms,
    struct bench_result *res)
{
	struct run_shared sh = { .o = o };
	struct run_thread *th = NULL;
	unsigned nthreads = res->threads, started = 0, ok = 0, i;
	uint64_t t0, t1;
	double self0, self1, peer0 = 0, peer1 = 0;

	atomic_init(&sh.phase, PHASE_WARM);
	th = calloc(nthreads, sizeof(*th));
	if (th == NULL || pthread_barrier_init(&sh.start, NULL, nthreads + 1) != 0) {
		free(th);
		return -1;
	}
	for (i = 0; i < nthreads; i++) {
		th[i].sh = &sh;
		th[i].idx = i;
		if (pthread_create(&th[i].tid, NULL, run_thread_main, &th[i]) != 0)
			break;
		started++;
	}
	if (started != nthreads) {
		/* The barrier can never fill; this is unrecoverable in a bench. */
		fprintf(stderr, "bench: could not start %u threads\n", nthreads);
		exit(1);
	}
	pthread_barrier_wait(&sh.start);
	bench_sleep_ms(warm_ms);
	self0 = bench_self_cpu_s();
	if (res->peer_pid > 0)
		peer0 = bench_proc_cpu_s(res->peer_pid);
	t0 = bench_now_ns();
	atomic_store(&sh.phase, PHASE_MEASURE);
	bench_sleep_ms(run_ms);
	atomic_store(&sh.phase, PHASE_STOP);
	t1 = bench_now_ns();
	self1 = bench_self_cpu_s();
	if (res->peer_pid > 0)
		peer1 = bench_proc_cpu_s(res->peer_pid);
	res->self_cpu_s += self1 - self0;
	res->peer_cpu_s += peer1 - peer0;
	for (i = 0; i < nthreads; i++) {
		size_t j;

		pthread_join(th[i].tid, NULL);
		if (th[i].init_rc == 0)
			ok++;
		else if (res->first_error == 0)
			res->first_error = th[i].init_rc;
		res->errors += th[i].errors;
		if (res->first_error == 0)
			res->first_error = th[i].first_error;
		for (j = 0; j < th[i].lat.n; j++)
			(void)bench_lat_push(&res->lat, th[i].lat.v[j]);
		bench_lat_free(&th[i].lat);
	}
	res->secs += (double)(t1 - t0) / 1e9;
	pthread_barrier_destroy(&sh.start);
	free(th);
	return ok > 0 ? 0 : -1;
}

int bench_run(const struct bench_ops *o, unsigned nthreads, unsigned warm_ms, unsigned run_ms,
    struct bench_result *res)
{
	int r;

	bench_result_init(res, nthreads, 0);
	r = bench_run_more(o, warm_ms, run_ms, res);
	bench_result_finish(res);
	return r;
}

/* ---- the daemon ---- */

static int try_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

pid_t bench_peer_pid(const char *sock)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = try_connect(sock);
	pid_t pid = -1;

	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && len == sizeof(cr))
		pid = cr.pid;
	close(fd);
	return pid;
}

static void dump_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", path);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text), off = 0;
	int rc = -1;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* In the child between fork and exec: become nobody, send output to the log, exec. */
static void child_exec(const struct bench_daemon *d, const struct bench_daemon_opts *o,
    const struct passwd *pw, const char *conf)
{
	const char *argv[16];
	const char *wrap = getenv("BENCH_WRAP");
	char datadir[PATH_MAX];
	int n = 0, fd;

	fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
	}
	if (pw != NULL) {
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
			perror("bench: dropping to nobody");
			_exit(127);
		}
	}
	snprintf(datadir, sizeof(datadir), "%s/data", d->dir);
	if (wrap != NULL && wrap[0] != '\0') {
		/* e.g. BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p":
		 * the shell splits the words, then execs the wrapper with turtled's argv. */
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = "exec $BENCH_WRAP \"$@\"";
		argv[n++] = "sh";
	}
	argv[n++] = o->turtled;
	argv[n++] = "--foreground";
	argv[n++] = "--socket";
	argv[n++] = d->sock;
	argv[n++] = "--data-dir";
	argv[n++] = datadir;
	if (conf != NULL) {
		argv[n++] = "--config";
		argv[n++] = conf;
	}
	if (o->allow_root && geteuid() == 0)
		argv[n++] = "--allow-root";
	argv[n] = NULL;
	execv(argv[0], (char *const *)argv);
	perror("bench: exec turtled");
	_exit(127);
}

int bench_daemon_start(struct bench_daemon *d, const struct bench_daemon_opts *o)
{
	const struct passwd *pw = NULL;
	char conf[PATH_MAX], datadir[PATH_MAX];
	const char *confp = NULL;
	uint64_t deadline;
	pid_t pid;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/turtle-bench-XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		perror("bench: mkdtemp");
		return -1;
	}
	d->owned = true;
	snprintf(d->sock, sizeof(d->sock), "%s/turtled.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/turtled.log", d->dir);
	snprintf(datadir, sizeof(datadir), "%s/data", d->dir);
	if (mkdir(datadir, 0700) != 0) {
		perror("bench: mkdir data");
		goto fail;
	}
	if (o->config_body != NULL) {
		snprintf(conf, sizeof(conf), "%s/turtled.conf", d->dir);
		if (write_file(conf, o->config_body) != 0) {
			perror("bench: writing config");
			goto fail;
		}
		confp = conf;
	}
	if (geteuid() == 0 && !o->allow_root) {
		pw = getpwnam("nobody");
		if (pw == NULL) {
			fprintf(stderr, "bench: no user nobody; use --allow-root\n");
			goto fail;
		}
		/* nobody must own the socket directory and the data directory */
		if (chown(d->dir, pw->pw_uid, pw->pw_gid) != 0 ||
		    chown(datadir, pw->pw_uid, pw->pw_gid) != 0) {
			perror("bench: chown");
			goto fail;
		}
	}
	pid = fork();
	if (pid < 0) {
		perror("bench: fork");
		goto fail;
	}
	if (pid == 0)
		child_exec(d, o, pw, confp);
	d->pid = pid;
	/* a daemon under valgrind takes far longer to come up */
	deadline = bench_now_ns() + (getenv("BENCH_WRAP") != NULL ? 120ull : 10ull) * 1000000000u;
	while (bench_now_ns() < deadline) {
		int st, fd;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			d->pid = 0;
			fprintf(stderr, "bench: turtled exited during start-up (status %d)\n", st);
			dump_log(d->log);
			goto fail;
		}
		fd = try_connect(d->sock);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		bench_sleep_ms(20);
	}
	fprintf(stderr, "bench: turtled did not listen on %s in time\n", d->sock);
	dump_log(d->log);
fail:
	bench_daemon_stop(d);
	return -1;
}

int bench_daemon_attach(struct bench_daemon *d, const char *sock)
{
	memset(d, 0, sizeof(*d));
	if (strlen(sock) >= sizeof(d->sock)) {
		fprintf(stderr, "bench: socket path too long\n");
		return -1;
	}
	snprintf(d->sock, sizeof(d->sock), "%s", sock);
	return 0;
}

void bench_daemon_stop(struct bench_daemon *d)
{
	if (!d->owned)
		return;
	if (d->pid > 0) {
		uint64_t wait_s = getenv("BENCH_WRAP") != NULL ? 60 : 5;
		uint64_t deadline = bench_now_ns() + wait_s * 1000000000u;
		int st;

		(void)kill(d->pid, SIGTERM);
		while (waitpid(d->pid, &st, WNOHANG) == 0) {
			if (bench_now_ns() > deadline) {
				fprintf(stderr, "bench: turtled ignored SIGTERM; killing it\n");
				(void)kill(d->pid, SIGKILL);
				(void)waitpid(d->pid, &st, 0);
				break;
			}
			bench_sleep_ms(10);
		}
		d->pid = 0;
	}
	if (getenv("BENCH_KEEP_DIR") != NULL)
		fprintf(stderr, "bench: keeping %s\n", d->dir);
	else if (d->dir[0] != '\0')
		bench_rmtree(d->dir);
	d->owned = false;
}

double bench_self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_proc_cpu_s(pid_t pid)
{
	char path[64], line[1024], *p, *save = NULL, *tok;
	uint64_t ut = 0, st = 0;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	int field;
	double r = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL || tck <= 0)
		goto out;
	/* the command name may hold spaces: fields are counted after its closing ')' */
	p = strrchr(line, ')');
	if (p == NULL)
		goto out;
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok != NULL;
	     field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 14 && tt_parse_u64(tok, 0, UINT64_MAX, &ut) != 0)
			goto out;
		if (field == 15) {
			if (tt_parse_u64(tok, 0, UINT64_MAX, &st) != 0)
				goto out;
			r = (double)(ut + st) / (double)tck;
			break;
		}
	}
out:
	fclose(f);
	return r;
}

long bench_rss_kib(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *end;
		uint64_t v;

		if (strncmp(line, "VmRSS:", 6) != 0)
			continue;
		p = line + 6;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p;
		while (*end >= '0' && *end <= '9')
			end++;
		*end = '\0';
		if (tt_parse_u64(p, 0, (uint64_t)LONG_MAX, &v) == 0)
			kib = (long)v;
		break;
	}
	fclose(f);
	return kib;
}

int bench_raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	return rl.rlim_cur >= want ? 0 : -1;
}

uint8_t *bench_slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	uint8_t *d;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rbe")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fprintf(stderr, "bench: cannot read %s\n", path);
		exit(1);
	}
	rewind(f);
	if ((d = malloc((size_t)n + 1)) == NULL || fread(d, 1, (size_t)n, f) != (size_t)n)
		exit(1);
	fclose(f);
	d[n] = 0;
	*len = (size_t)n;
	return d;
}

unsigned bench_opt_uint(const char *opt, const char *val, unsigned min, unsigned max)
{
	uint32_t v;

	if (val == NULL || tt_parse_u32(val, min, max, &v) != 0) {
		fprintf(stderr, "%s needs a number in [%u, %u]\n", opt, min, max);
		exit(2);
	}
	return v;
}

const char *bench_default_turtled(void)
{
	const char *env = getenv("TURTLED");

	return env != NULL && env[0] != '\0' ? env : BENCH_TURTLED_PATH;
}

/* PSA/PKCS#11 raw r||s converted to DER and verified against the uncompressed point with
 * OpenSSL: every bench checks one signature of the path it measures before timing. */
int
bench_verify_p256(const uint8_t pub[65], const uint8_t *hash, size_t hash_len, const uint8_t *sig,
    size_t sig_len)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *kctx = NULL, *vctx = NULL;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int der_len, rc = -1;

	if (sig_len != 64)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || kctx == NULL || EVP_PKEY_fromdata_init(kctx) <= 0 ||
	    EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;   /* owned by es now */
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len <= 0)
		goto out;
	vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (vctx == NULL || EVP_PKEY_verify_init(vctx) <= 0)
		goto out;
	if (EVP_PKEY_verify(vctx, der, (size_t)der_len, hash, hash_len) == 1)
		rc = 0;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
bench_rmtree(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
