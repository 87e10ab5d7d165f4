/*
 * bench_sign: ECDSA P-256 SignHash through turtled against in-process OpenSSL signing.
 *
 * For each thread count, three modes measured in alternating slices (so that they see
 * the same machine load):
 *   in-process   EVP_PKEY_sign of a 32-byte hash, one EVP_PKEY_CTX per thread
 *   persistent   tt_sign_hash over one libturtle client (one connection) per thread
 *   per-request  tt_client_open + tt_sign_hash + tt_client_close for every operation
 * and the ratio of each daemon mode's throughput to the in-process one, plus the CPU time
 * per operation in this process and in turtled, which says where a missing share went.
 *
 * The daemon side uses libturtle's public API only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "turtle/turtle.h"
#include "bench.h"

#define MAX_THREAD_COUNTS 8
#define HASH_LEN 32

struct cfg {
	const char *socket;
	const char *turtled;
	bool allow_root;
	unsigned seconds;
	unsigned warm_ms;
	unsigned rounds;
	pid_t daemon_pid;            /* for its CPU time; 0 if unknown */
	unsigned threads[MAX_THREAD_COUNTS];
	unsigned n_threads;
};

/* ---- in-process baseline ---- */

struct inproc_arg {
	EVP_PKEY *pkey;
};

struct inproc_state {
	EVP_PKEY_CTX *ctx;
	uint8_t hash[HASH_LEN];
};

static int inproc_init(void *arg, unsigned idx, void **state)
{
	struct inproc_arg *a = arg;
	struct inproc_state *s = calloc(1, sizeof(*s));

	(void)idx;
	if (s == NULL)
		return -1;
	s->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, a->pkey, NULL);
	if (s->ctx == NULL || EVP_PKEY_sign_init(s->ctx) <= 0 ||
	    RAND_bytes(s->hash, sizeof(s->hash)) != 1) {
		EVP_PKEY_CTX_free(s->ctx);
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int inproc_op(void *state)
{
	struct inproc_state *s = state;
	uint8_t sig[80];
	size_t siglen = sizeof(sig);

	return EVP_PKEY_sign(s->ctx, sig, &siglen, s->hash, sizeof(s->hash)) == 1 ? 0 : -1;
}

static void inproc_fini(void *state)
{
	struct inproc_state *s = state;

	EVP_PKEY_CTX_free(s->ctx);
	free(s);
}

/* ---- through the daemon ---- */

struct daemon_arg {
	const char *socket;
	const char *key;
};

struct daemon_state {
	const struct daemon_arg *a;
	struct tt_client *c;       /* persistent mode only */
	uint8_t hash[HASH_LEN];
};

static int open_client(const char *socket, struct tt_client **out)
{
	struct tt_client_opts o = {
		.socket_path = socket,
		.auth = TT_CLIENT_AUTH_UNIX_PEER,
		.provider = TT_CLIENT_PROVIDER_SOFT,
	};

	return tt_client_open(out, &o);
}

static int daemon_init(void *arg, unsigned idx, void **state, bool persistent)
{
	struct daemon_state *s = calloc(1, sizeof(*s));
	int r;

	(void)idx;
	if (s == NULL)
		return -1;
	s->a = arg;
	if (RAND_bytes(s->hash, sizeof(s->hash)) != 1) {
		free(s);
		return -1;
	}
	if (persistent && (r = open_client(s->a->socket, &s->c)) != 0) {
		free(s);
		return r;
	}
	*state = s;
	return 0;
}

static int persistent_init(void *arg, unsigned idx, void **state)
{
	return daemon_init(arg, idx, state, true);
}

static int per_request_init(void *arg, unsigned idx, void **state)
{
	return daemon_init(arg, idx, state, false);
}

static int sign_on(struct tt_client *c, struct daemon_state *s)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r;

	r = tt_sign_hash(c, s->a->key, TT_ALG_ECDSA(TT_ALG_SHA_256), s->hash, sizeof(s->hash),
	    &sig, &siglen);
	if (r == 0 && siglen != 64)
		r = -1;
	tt_free(sig);
	return r;
}

static int persistent_op(void *state)
{
	struct daemon_state *s = state;

	return sign_on(s->c, s);
}

static int per_request_op(void *state)
{
	struct daemon_state *s = state;
	struct tt_client *c = NULL;
	int r;

	if ((r = open_client(s->a->socket, &c)) != 0)
		return r;
	r = sign_on(c, s);
	tt_client_close(c);
	return r;
}

static void daemon_fini(void *state)
{
	struct daemon_state *s = state;

	tt_client_close(s->c);
	free(s);
}

/* ---- set-up: the key, and one signature checked with OpenSSL ---- */

/* PSA r||s to DER, then verify against the exported uncompressed point. */
static int verify_with_openssl(const uint8_t *pub, size_t pub_len, const uint8_t hash[HASH_LEN],
    const uint8_t *sig, size_t sig_len)
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
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len))
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
	if (EVP_PKEY_verify(vctx, der, (size_t)der_len, hash, HASH_LEN) == 1)
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

static int make_key(const char *socket, const char *name)
{
	const struct tt_key_attrs attrs = {
		.type = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1),
		.bits = 256,
		.usage = TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH,
		.alg = TT_ALG_ECDSA(TT_ALG_SHA_256),
	};
	struct tt_client *c = NULL;
	uint8_t hash[HASH_LEN], *sig = NULL, *pub = NULL;
	size_t sig_len = 0, pub_len = 0;
	int r;

	if ((r = open_client(socket, &c)) != 0) {
		fprintf(stderr, "bench_sign: connect: %s\n", tt_strerror(r));
		goto out;
	}
	(void)tt_destroy_key(c, name);   /* a leftover of an interrupted run on --socket */
	if ((r = tt_generate_key(c, name, &attrs)) != 0) {
		fprintf(stderr, "bench_sign: generate key: %s\n", tt_strerror(r));
		goto out;
	}
	if ((r = tt_export_public_key(c, name, &pub, &pub_len)) != 0) {
		fprintf(stderr, "bench_sign: export public key: %s\n", tt_strerror(r));
		goto out;
	}
	r = -1;
	if (RAND_bytes(hash, sizeof(hash)) != 1)
		goto out;
	if ((r = tt_sign_hash(c, name, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, sizeof(hash), &sig,
	    &sig_len)) != 0) {
		fprintf(stderr, "bench_sign: sign: %s\n", tt_strerror(r));
		goto out;
	}
	if ((r = verify_with_openssl(pub, pub_len, hash, sig, sig_len)) != 0)
		fprintf(stderr, "bench_sign: the daemon's signature does not verify with OpenSSL\n");
out:
	tt_free(sig);
	tt_free(pub);
	tt_client_close(c);
	return r;
}

static void drop_key(const char *socket, const char *name)
{
	struct tt_client *c = NULL;

	if (open_client(socket, &c) == 0)
		(void)tt_destroy_key(c, name);
	tt_client_close(c);
}

/* ---- report ---- */

/* CPU microseconds per operation: how much of the machine one operation costs. */
static double cpu_us_per_op(double cpu_s, const struct bench_result *r)
{
	return r->ops > 0 ? cpu_s * 1e6 / (double)r->ops : 0;
}

static void print_row(const char *mode, const struct bench_result *r)
{
	printf("%7u  %-12s %10.0f %9.1f %9.1f %8.1f %8.1f %7llu", r->threads, mode, r->ops_per_s,
	    r->p50_us, r->p99_us, cpu_us_per_op(r->self_cpu_s, r),
	    cpu_us_per_op(r->peer_cpu_s, r), (unsigned long long)r->errors);
	if (r->errors > 0)
		printf("  (first error: %s)", tt_strerror(r->first_error));
	printf("\n");
	fflush(stdout);
}

static double ratio(const struct bench_result *d, const struct bench_result *base)
{
	return base->ops_per_s > 0 ? d->ops_per_s / base->ops_per_s : 0;
}

/*
 * The three modes at one thread count, in `rounds` alternating slices of seconds/rounds
 * each, so that the load other processes put on this shared machine falls on all three
 * alike; each mode's slices add up to one figure.
 */
static int run_thread_count(const struct cfg *cfg, unsigned n, struct inproc_arg *ia,
    struct daemon_arg *da, struct bench_result res[3])
{
	const struct bench_ops ops[3] = {
		{ inproc_init, inproc_op, inproc_fini, ia },
		{ persistent_init, persistent_op, daemon_fini, da },
		{ per_request_init, per_request_op, daemon_fini, da },
	};
	static const char *const names[3] = { "in-process", "persistent", "per-request" };
	unsigned m, round, slice_ms = cfg->seconds * 1000 / cfg->rounds;
	int rc = 0;

	for (m = 0; m < 3; m++)
		bench_result_init(&res[m], n, cfg->daemon_pid);
	for (round = 0; round < cfg->rounds && rc == 0; round++)
		for (m = 0; m < 3 && rc == 0; m++)
			rc = bench_run_more(&ops[m], cfg->warm_ms, slice_ms, &res[m]);
	for (m = 0; m < 3; m++) {
		bench_result_finish(&res[m]);
		if (rc == 0)
			print_row(names[m], &res[m]);
	}
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_sign [--socket PATH] [--seconds N] [--rounds N] [--warmup-ms N]\n"
	    "                  [--threads 1,2,8,64] [--turtled PATH] [--allow-root]\n"
	    "  Each mode runs --seconds in all per thread count, in --rounds slices that\n"
	    "  alternate between the modes (each slice after its own warm-up).\n"
	    "  Without --socket a private turtled is started on a temporary socket (as user\n"
	    "  nobody when run as root, or as root with --allow-root passed to turtled).\n");
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
	if (c->n_threads == 0) {
		usage(stderr);
		exit(2);
	}
}

static void parse_args(struct cfg *c, int argc, char **argv)
{
	int i;

	c->turtled = bench_default_turtled();
	c->seconds = 3;
	c->warm_ms = 200;
	c->rounds = 3;
	parse_threads(c, "1,2,8,64");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--socket") == 0 && v != NULL) {
			c->socket = v;
			i++;
		} else if (strcmp(a, "--turtled") == 0 && v != NULL) {
			c->turtled = v;
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

int main(int argc, char **argv)
{
	struct cfg cfg = { 0 };
	struct bench_daemon d;
	struct bench_result res[MAX_THREAD_COUNTS][3];
	struct inproc_arg ia = { 0 };
	struct daemon_arg da;
	char key[64];
	unsigned i;
	int rc = 1;

	parse_args(&cfg, argc, argv);
	/* more fds than the 64-thread per-request run can hold at once */
	(void)bench_raise_nofile(4096);
	if (cfg.socket != NULL) {
		if (bench_daemon_attach(&d, cfg.socket) != 0)
			return 1;
	} else {
		struct bench_daemon_opts o = { .turtled = cfg.turtled, .allow_root = cfg.allow_root };

		if (bench_daemon_start(&d, &o) != 0)
			return 1;
	}
	snprintf(key, sizeof(key), "bench-sign-p256-%ld", (long)getpid());
	cfg.daemon_pid = bench_peer_pid(d.sock);
	if (cfg.daemon_pid < 0 || bench_proc_cpu_s(cfg.daemon_pid) < 0)
		cfg.daemon_pid = 0;   /* not ours to read: the daemon column stays 0 */
	da.socket = d.sock;
	da.key = key;
	if (make_key(d.sock, key) != 0)
		goto out;
	ia.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (ia.pkey == NULL) {
		fprintf(stderr, "bench_sign: OpenSSL P-256 keygen failed\n");
		goto out;
	}

	printf("# bench_sign: ECDSA P-256 sign of a 32-byte hash; %u s per mode in %u alternating\n"
	    "# slices, each after %u ms of warm-up\n", cfg.seconds, cfg.rounds, cfg.warm_ms);
	printf("# turtled: %s%s\n", cfg.socket != NULL ? "external at " : "started by the bench, ",
	    cfg.socket != NULL ? cfg.socket :
	    (geteuid() == 0 ? (cfg.allow_root ? "as root (--allow-root)" : "as user nobody") :
	    "as the invoking user"));
	printf("# the daemon's signature was verified with OpenSSL before the runs\n");
	printf("# cpu us/op: CPU time (user+sys) per operation in this process (client) and in\n"
	    "# turtled (daemon), over the measured window\n");
	printf("%7s  %-12s %10s %9s %9s %8s %8s %7s\n", "threads", "mode", "ops/s", "p50 us",
	    "p99 us", "cpu/op", "cpu/op", "errors");
	printf("%7s  %-12s %10s %9s %9s %8s %8s %7s\n", "", "", "", "", "", "client", "daemon", "");
	for (i = 0; i < cfg.n_threads; i++) {
		if (run_thread_count(&cfg, cfg.threads[i], &ia, &da, res[i]) != 0) {
			fprintf(stderr, "bench_sign: no thread of the %u-thread run could start\n",
			    cfg.threads[i]);
			goto out;
		}
	}
	printf("\n# throughput ratio daemon / in-process (target >= 0.60 at 2 and 8 threads)\n");
	printf("%7s  %11s %11s\n", "threads", "persistent", "per-request");
	for (i = 0; i < cfg.n_threads; i++) {
		double rp = ratio(&res[i][1], &res[i][0]), rr = ratio(&res[i][2], &res[i][0]);
		bool target = cfg.threads[i] == 2 || cfg.threads[i] == 8;

		printf("%7u  %11.2f %11.2f%s\n", cfg.threads[i], rp, rr,
		    !target ? "" : rp >= 0.6 ? "  persistent meets target" : "  persistent MISSES target");
	}
	rc = 0;
out:
	drop_key(d.sock, key);
	EVP_PKEY_free(ia.pkey);
	bench_daemon_stop(&d);
	return rc;
}
