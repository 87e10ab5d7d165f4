/*
 * bench_tpm: ECDSA P-256 signing on one swtpm, two ways, at the same thread counts:
 *   turtled   tt_sign_hash through turtled's tpm provider (id 3), one libturtle client
 *             per thread
 *   esys      Esys_Sign in this process on the same swtpm, with a key created under an
 *             ECC primary in the owner hierarchy and loaded once; each thread has its
 *             own ESYS context and TCTI connection and reaches the one loaded key
 *             through Esys_TR_FromTPMPublic
 * The TPM executes one command at a time, so more threads only queue; 1 and 2 threads
 * are the default. The modes alternate in slices (as in bench_sign) and the ratio
 * turtled/esys is printed (target >= 0.9).
 *
 * The bench starts swtpm itself (temporary state directory, free loopback ports) and a
 * private turtled with [provider.tpm] tcti=swtpm:host=127.0.0.1,port=P, and stops both.
 * One signature of each path is verified with OpenSSL before the runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "turtle/turtle.h"
#include "bench.h"

#define MAX_THREAD_COUNTS 8
#define HASH_LEN 32
#define NMODES 2

struct cfg {
	const char *turtled;
	const char *swtpm;
	bool allow_root;
	bool no_turtled;             /* baseline only (no tpm provider to measure) */
	unsigned seconds;
	unsigned warm_ms;
	unsigned rounds;
	pid_t daemon_pid;
	unsigned threads[MAX_THREAD_COUNTS];
	unsigned n_threads;
};


/* ---- swtpm ---- */

struct swtpm {
	char dir[64];
	char log[PATH_MAX];
	char tcti[96];
	unsigned port;
	pid_t pid;
};

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) == 0 ? 0 : -1;
}

static void dump_file(const char *path)
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

static int bind_lo(unsigned port, int *fd_out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	/* The swtpm: TCTI connects once per command, so earlier runs leave thousands of
	 * loopback ports in TIME_WAIT; swtpm listens with SO_REUSEADDR, so may the probe. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	return ntohs(sa.sin_port);
}

/* A port P with P+1 also free (swtpm's TCTI takes the control channel at P+1). There is
 * a window between closing the probes and swtpm binding; the start check catches it. */
static int free_port_pair(unsigned *out)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		int fd1 = -1, fd2 = -1, p = bind_lo(0, &fd1);

		if (p <= 0)
			continue;
		if (p < 65535 && bind_lo((unsigned)p + 1, &fd2) == p + 1) {
			close(fd1);
			close(fd2);
			*out = (unsigned)p;
			return 0;
		}
		close(fd1);
	}
	return -1;
}

static bool port_open(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int swtpm_start(struct swtpm *t, const char *swtpm_bin, bool as_nobody)
{
	char state[PATH_MAX], srv[96], ctrl[96], dirarg[PATH_MAX + 8];
	const struct passwd *pw = NULL;
	uint64_t deadline;
	pid_t pid;

	snprintf(t->dir, sizeof(t->dir), "/tmp/turtle-bench-tpm-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		perror("bench_tpm: mkdtemp");
		t->dir[0] = '\0';
		return -1;
	}
	snprintf(state, sizeof(state), "%s/state", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/swtpm.log", t->dir);
	if (mkdir(state, 0700) != 0 || free_port_pair(&t->port) != 0) {
		fprintf(stderr, "bench_tpm: state directory or free ports: %s\n", strerror(errno));
		return -1;
	}
	if (as_nobody) {
		/* an unprivileged TPM, as in the integration tests */
		pw = getpwnam("nobody");
		if (pw == NULL)
			return -1;
		chown_uid = pw->pw_uid;
		chown_gid = pw->pw_gid;
		if (nftw(t->dir, chown_entry, 16, FTW_PHYS) != 0)
			return -1;
	}
	snprintf(dirarg, sizeof(dirarg), "dir=%s", state);
	snprintf(srv, sizeof(srv), "type=tcp,port=%u,bindaddr=127.0.0.1", t->port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%u,bindaddr=127.0.0.1", t->port + 1);
	snprintf(t->tcti, sizeof(t->tcti), "swtpm:host=127.0.0.1,port=%u", t->port);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *const argv[] = { swtpm_bin, "socket", "--tpm2", "--tpmstate", dirarg,
			"--server", srv, "--ctrl", ctrl, "--flags", "not-need-init,startup-clear",
			NULL };
		int fd = open(t->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		if (pw != NULL && (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0))
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	t->pid = pid;
	deadline = bench_now_ns() + 20ull * 1000000000u;
	while (!port_open(t->port + 1) || !port_open(t->port)) {
		if (bench_now_ns() > deadline || waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "bench_tpm: swtpm did not listen on %u\n", t->port);
			if (waitpid(pid, NULL, WNOHANG) == pid)
				t->pid = 0;
			dump_file(t->log);
			return -1;
		}
		bench_sleep_ms(20);
	}
	return 0;
}

static void swtpm_stop(struct swtpm *t)
{
	if (t->pid > 0) {
		(void)kill(t->pid, SIGTERM);
		(void)waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->dir[0] != '\0') {
		const char *keep = getenv("BENCH_KEEP_DIR");

		if (keep != NULL && keep[0] != '\0')
			fprintf(stderr, "bench_tpm: kept %s\n", t->dir);
		else
			bench_rmtree(t->dir);
	}
}

/* ---- raw ESAPI ---- */

struct esys_conn {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
};

static int esys_open(const char *tcti_conf, struct esys_conn *c)
{
	TSS2_RC rc;

	memset(c, 0, sizeof(*c));
	if ((rc = Tss2_TctiLdr_Initialize(tcti_conf, &c->tcti)) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: TCTI %s: 0x%x\n", tcti_conf, rc);
		return -1;
	}
	if ((rc = Esys_Initialize(&c->ctx, c->tcti, NULL)) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: Esys_Initialize: 0x%x\n", rc);
		Tss2_TctiLdr_Finalize(&c->tcti);
		return -1;
	}
	return 0;
}

static void esys_close(struct esys_conn *c)
{
	if (c->ctx != NULL)
		Esys_Finalize(&c->ctx);
	if (c->tcti != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti);
}

struct esys_key {
	struct esys_conn main;      /* owns the loaded key */
	TPMS_CONTEXT *saved;        /* the key between creation and loading */
	ESYS_TR key;
	TPM2_HANDLE tpm_handle;
	uint8_t pub[65];
	const char *tcti;
};

static int esys_sign(ESYS_CONTEXT *ctx, ESYS_TR key, const uint8_t hash[HASH_LEN],
    uint8_t sig[64])
{
	TPM2B_DIGEST digest = { .size = HASH_LEN };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA,
		.details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
	TPMT_TK_HASHCHECK validation = { .tag = TPM2_ST_HASHCHECK,
		.hierarchy = TPM2_RH_NULL };
	TPMT_SIGNATURE *s = NULL;
	const TPMS_SIGNATURE_ECC *e;
	int rc = -1;

	memcpy(digest.buffer, hash, HASH_LEN);
	if (Esys_Sign(ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
	    &validation, &s) != TSS2_RC_SUCCESS)
		return -1;
	e = &s->signature.ecdsa;
	if (sig != NULL) {
		if (s->sigAlg != TPM2_ALG_ECDSA || e->signatureR.size > 32 || e->signatureS.size > 32)
			goto out;
		/* left-pad each half to the curve size */
		memset(sig, 0, 64);
		memcpy(sig + 32 - e->signatureR.size, e->signatureR.buffer, e->signatureR.size);
		memcpy(sig + 64 - e->signatureS.size, e->signatureS.buffer, e->signatureS.size);
	}
	rc = 0;
out:
	Esys_Free(s);
	return rc;
}

/*
 * Primary (ECC P-256 restricted decryption key, the usual storage template) in the
 * owner hierarchy, an ECDSA P-256 signing key created under it, loaded, saved with
 * ContextSave and flushed together with the primary.
 *
 * The TPM has three object slots (libtpms) and no resource manager is in between:
 * turtled keeps its SRK and its key loaded, and creating a key needs the parent plus a
 * free slot. So this runs before turtled starts (turtled flushes leftover transient
 * objects when it opens the TPM, and nothing of ours is loaded then), and afterwards
 * esys_load_key brings the key back with ContextLoad into the one free slot, without
 * its parent.
 */
static int esys_make_key(struct esys_key *k, const char *tcti)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC prim_tmpl = { .publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
		    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
		    TPMA_OBJECT_NODA,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				.mode.aes = TPM2_ALG_CFB },
			.scheme = { .scheme = TPM2_ALG_NULL },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL },
		},
	} };
	TPM2B_PUBLIC key_tmpl = { .publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
		    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_NULL },
			.scheme = { .scheme = TPM2_ALG_ECDSA,
				.details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL },
		},
	} };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR primary = ESYS_TR_NONE;
	const TPMS_ECC_POINT *pt;
	TSS2_RC r;
	int rc = -1;

	k->tcti = tcti;
	k->key = ESYS_TR_NONE;
	if (esys_open(tcti, &k->main) != 0)
		return -1;
	if ((r = Esys_CreatePrimary(k->main.ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &prim_tmpl, &outside, &pcrs, &primary, NULL, NULL, NULL,
	    NULL)) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: Esys_CreatePrimary: 0x%x\n", r);
		goto out;
	}
	if ((r = Esys_Create(k->main.ctx, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &sens, &key_tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL)) !=
	    TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: Esys_Create: 0x%x\n", r);
		goto out;
	}
	if ((r = Esys_Load(k->main.ctx, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    priv, pub, &k->key)) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: Esys_Load: 0x%x\n", r);
		goto out;
	}
	pt = &pub->publicArea.unique.ecc;
	if (pt->x.size > 32 || pt->y.size > 32)
		goto out;
	memset(k->pub, 0, sizeof(k->pub));
	k->pub[0] = 0x04;
	memcpy(k->pub + 1 + 32 - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(k->pub + 33 + 32 - pt->y.size, pt->y.buffer, pt->y.size);
	if ((r = Esys_ContextSave(k->main.ctx, k->key, &k->saved)) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: Esys_ContextSave: 0x%x\n", r);
		goto out;
	}
	if ((r = Esys_FlushContext(k->main.ctx, k->key)) != TSS2_RC_SUCCESS)
		goto out;
	k->key = ESYS_TR_NONE;
	rc = 0;
out:
	if (primary != ESYS_TR_NONE)
		(void)Esys_FlushContext(k->main.ctx, primary);
	Esys_Free(priv);
	Esys_Free(pub);
	return rc;
}

static int esys_load_key(struct esys_key *k)
{
	TSS2_RC r;

	if ((r = Esys_ContextLoad(k->main.ctx, k->saved, &k->key)) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench_tpm: Esys_ContextLoad: 0x%x\n", r);
		k->key = ESYS_TR_NONE;
		return -1;
	}
	if ((r = Esys_TR_GetTpmHandle(k->main.ctx, k->key, &k->tpm_handle)) != TSS2_RC_SUCCESS)
		return -1;
	return 0;
}

static void esys_drop_key(struct esys_key *k)
{
	Esys_Free(k->saved);
	k->saved = NULL;
	if (k->main.ctx != NULL && k->key != ESYS_TR_NONE)
		(void)Esys_FlushContext(k->main.ctx, k->key);
	k->key = ESYS_TR_NONE;
	esys_close(&k->main);
}

struct esys_state {
	struct esys_conn c;
	ESYS_TR key;
	struct esys_key *shared;    /* --esys-shared: sign on the main context under a lock */
	uint8_t hash[HASH_LEN];
};

/*
 * --esys-shared: every thread signs on the one main context, serialised by a mutex, as a
 * process must on /dev/tpm0 (one open at a time) and as turtled's provider does (one
 * ESYS context). Without it, each thread has its own context, which only works because
 * the swtpm: TCTI connects per command and there is no resource manager in between.
 */
static bool esys_shared;
static pthread_mutex_t esys_lock = PTHREAD_MUTEX_INITIALIZER;

static int esys_thread_init(void *arg, unsigned idx, void **state)
{
	struct esys_key *k = arg;
	struct esys_state *s = calloc(1, sizeof(*s));

	(void)idx;
	if (s == NULL)
		return -1;
	if (RAND_bytes(s->hash, sizeof(s->hash)) != 1)
		goto fail;
	if (esys_shared) {
		s->shared = k;
		*state = s;
		return 0;
	}
	if (esys_open(k->tcti, &s->c) != 0)
		goto fail;
	/* the same loaded object, seen from this thread's context */
	if (Esys_TR_FromTPMPublic(s->c.ctx, k->tpm_handle, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &s->key) != TSS2_RC_SUCCESS)
		goto fail;
	*state = s;
	return 0;
fail:
	esys_close(&s->c);
	free(s);
	return -1;
}

static int esys_op(void *state)
{
	struct esys_state *s = state;
	int r;

	if (s->shared == NULL)
		return esys_sign(s->c.ctx, s->key, s->hash, NULL);
	pthread_mutex_lock(&esys_lock);
	r = esys_sign(s->shared->main.ctx, s->shared->key, s->hash, NULL);
	pthread_mutex_unlock(&esys_lock);
	return r;
}

static void esys_thread_fini(void *state)
{
	struct esys_state *s = state;

	/* Esys_TR_Close forgets the handle in this context only; the object stays loaded */
	if (s->shared == NULL)
		(void)Esys_TR_Close(s->c.ctx, &s->key);
	esys_close(&s->c);
	free(s);
}

/* ---- through turtled ---- */

struct daemon_arg {
	const char *socket;
	const char *key;
};

struct daemon_state {
	const struct daemon_arg *a;
	struct tt_client *c;
	uint8_t hash[HASH_LEN];
};

static int open_client(const char *socket, struct tt_client **out)
{
	struct tt_client_opts o = {
		.socket_path = socket,
		.auth = TT_CLIENT_AUTH_UNIX_PEER,
		.provider = TT_CLIENT_PROVIDER_TPM,
		.timeout_ms = 60000,   /* the TPM queues: a request may wait behind others */
	};

	return tt_client_open(out, &o);
}

static int daemon_init(void *arg, unsigned idx, void **state)
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
	if ((r = open_client(s->a->socket, &s->c)) != 0) {
		free(s);
		return r;
	}
	*state = s;
	return 0;
}

static int daemon_op(void *state)
{
	struct daemon_state *s = state;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r;

	r = tt_sign_hash(s->c, s->a->key, TT_ALG_ECDSA(TT_ALG_SHA_256), s->hash, sizeof(s->hash),
	    &sig, &siglen);
	if (r == 0 && siglen != 64)
		r = -1;
	tt_free(sig);
	return r;
}

static void daemon_fini(void *state)
{
	struct daemon_state *s = state;

	tt_client_close(s->c);
	free(s);
}

static int daemon_key(const char *socket, const char *name)
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
		fprintf(stderr, "bench_tpm: connect: %s\n", tt_strerror(r));
		goto out;
	}
	(void)tt_destroy_key(c, name);
	if ((r = tt_generate_key(c, name, &attrs)) != 0) {
		fprintf(stderr, "bench_tpm: turtled: generate key: %s\n", tt_strerror(r));
		goto out;
	}
	if ((r = tt_export_public_key(c, name, &pub, &pub_len)) != 0) {
		fprintf(stderr, "bench_tpm: turtled: export public key: %s\n", tt_strerror(r));
		goto out;
	}
	r = -1;
	if (pub_len != 65 || RAND_bytes(hash, sizeof(hash)) != 1)
		goto out;
	if ((r = tt_sign_hash(c, name, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, sizeof(hash), &sig,
	    &sig_len)) != 0) {
		fprintf(stderr, "bench_tpm: turtled: sign: %s\n", tt_strerror(r));
		goto out;
	}
	if ((r = bench_verify_p256(pub, hash, HASH_LEN, sig, sig_len)) != 0)
		fprintf(stderr, "bench_tpm: turtled: signature does not verify with OpenSSL\n");
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

static double cpu_us_per_op(double cpu_s, const struct bench_result *r)
{
	return r->ops > 0 ? cpu_s * 1e6 / (double)r->ops : 0;
}

static void print_row(const char *mode, const struct bench_result *r, double swtpm_cpu_s)
{
	printf("%7u  %-10s %9.0f %9.1f %9.1f %8.1f %8.1f %8.1f %7llu", r->threads, mode,
	    r->ops_per_s, r->p50_us, r->p99_us, cpu_us_per_op(r->self_cpu_s, r),
	    cpu_us_per_op(r->peer_cpu_s, r), cpu_us_per_op(swtpm_cpu_s, r),
	    (unsigned long long)r->errors);
	if (r->errors > 0)
		printf("  (first error: %d)", r->first_error);
	printf("\n");
	fflush(stdout);
}

enum { M_TURTLED = 0, M_ESYS = 1 };
static const char *const mode_names[NMODES] = { "turtled", "esys" };

/*
 * swtpm's CPU is sampled around each whole slice (warm-up included, which bench_run_more
 * does not report), then scaled to the measured window: an estimate, labelled as such.
 */
static int run_thread_count(const struct cfg *cfg, unsigned n, const struct bench_ops ops[NMODES],
    struct bench_result res[NMODES], pid_t swtpm_pid)
{
	unsigned m, round, slice_ms = cfg->seconds * 1000 / cfg->rounds;
	double swtpm_cpu[NMODES] = { 0 };
	double scale = (double)slice_ms / (double)(slice_ms + cfg->warm_ms);
	int rc = 0;

	bench_result_init(&res[M_TURTLED], n, cfg->daemon_pid);
	bench_result_init(&res[M_ESYS], n, 0);
	for (round = 0; round < cfg->rounds && rc == 0; round++)
		for (m = cfg->no_turtled ? 1 : 0; m < NMODES && rc == 0; m++) {
			double c0 = bench_proc_cpu_s(swtpm_pid), c1;

			rc = bench_run_more(&ops[m], cfg->warm_ms, slice_ms, &res[m]);
			c1 = bench_proc_cpu_s(swtpm_pid);
			if (c0 >= 0 && c1 >= c0)
				swtpm_cpu[m] += (c1 - c0) * scale;
		}
	for (m = 0; m < NMODES; m++) {
		bench_result_finish(&res[m]);
		if (rc == 0 && !(m == M_TURTLED && cfg->no_turtled))
			print_row(mode_names[m], &res[m], swtpm_cpu[m]);
	}
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_tpm [--seconds N] [--rounds N] [--warmup-ms N] [--threads 1,2]\n"
	    "                 [--turtled PATH] [--swtpm PATH] [--allow-root] [--no-turtled]\n"
	    "                 [--esys-shared]\n"
	    "  Starts swtpm (temporary state, free loopback ports) and a turtled with a\n"
	    "  [provider.tpm] section on it, then measures ECDSA P-256 signing through\n"
	    "  turtled and with Esys_Sign in this process. Each mode runs --seconds in all\n"
	    "  per thread count, in --rounds slices alternating between the modes.\n"
	    "  --no-turtled measures the Esys baseline only (a tree without the tpm provider).\n"
	    "  --esys-shared: the Esys threads share one context under a lock (as on /dev/tpm0)\n"
	    "  instead of one context and swtpm connection each.\n");
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
		c->threads[c->n_threads++] = bench_opt_uint("--threads", tok, 1, 64);
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
	c->swtpm = "swtpm";
	c->seconds = 3;
	c->warm_ms = 200;
	c->rounds = 3;
	parse_threads(c, "1,2");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--turtled") == 0 && v != NULL) {
			c->turtled = v;
			i++;
		} else if (strcmp(a, "--swtpm") == 0 && v != NULL) {
			c->swtpm = v;
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
		} else if (strcmp(a, "--no-turtled") == 0) {
			c->no_turtled = true;
		} else if (strcmp(a, "--esys-shared") == 0) {
			esys_shared = true;
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
	struct swtpm t = { 0 };
	struct bench_daemon d = { 0 };
	struct esys_key ek = { .key = ESYS_TR_NONE };
	struct bench_result res[MAX_THREAD_COUNTS][NMODES];
	struct daemon_arg da;
	char key[64], conf[256];
	uint8_t hash[HASH_LEN], sig[64];
	bool daemon_up = false;
	unsigned i;
	int rc = 1;

	parse_args(&cfg, argc, argv);
	(void)signal(SIGPIPE, SIG_IGN);
	if (swtpm_start(&t, cfg.swtpm, geteuid() == 0 && !cfg.allow_root) != 0)
		goto out;
	/* before turtled: see esys_make_key */
	if (esys_make_key(&ek, t.tcti) != 0)
		goto out;

	snprintf(key, sizeof(key), "bench-tpm-p256-%ld", (long)getpid());
	da.socket = NULL;
	da.key = key;
	if (cfg.no_turtled)
		goto baseline;
	snprintf(conf, sizeof(conf), "[provider.tpm]\ntcti = %s\n", t.tcti);
	{
		struct bench_daemon_opts o = {
			.turtled = cfg.turtled, .allow_root = cfg.allow_root, .config_body = conf,
		};

		if (bench_daemon_start(&d, &o) != 0)
			goto out;
		daemon_up = true;
	}
	cfg.daemon_pid = bench_peer_pid(d.sock);
	if (cfg.daemon_pid < 0 || bench_proc_cpu_s(cfg.daemon_pid) < 0)
		cfg.daemon_pid = 0;
	da.socket = d.sock;
	if (daemon_key(d.sock, key) != 0)
		goto out;

baseline:
	/* after turtled, so that what it does to the TPM at start-up is done */
	if (esys_load_key(&ek) != 0)
		goto out;
	if (RAND_bytes(hash, sizeof(hash)) != 1 || esys_sign(ek.main.ctx, ek.key, hash, sig) != 0 ||
	    bench_verify_p256(ek.pub, hash, HASH_LEN, sig, sizeof(sig)) != 0) {
		fprintf(stderr, "bench_tpm: esys: signing or its OpenSSL check failed\n");
		goto out;
	}

	printf("# bench_tpm: ECDSA P-256 sign of a 32-byte hash on swtpm (%s);\n"
	    "# %u s per mode in %u alternating slices, each after %u ms of warm-up\n",
	    t.tcti, cfg.seconds, cfg.rounds, cfg.warm_ms);
	if (cfg.no_turtled)
		printf("# turtled: not measured (--no-turtled)\n");
	else
		printf("# turtled: tpm provider (id 3), started by the bench %s; one client per "
		    "thread\n", geteuid() == 0 ? (cfg.allow_root ? "as root (--allow-root)" :
		    "as user nobody") : "as the invoking user");
	printf("# esys: Esys_Sign in this process, %s, one\n"
	    "# loaded key; each path's signature verified with OpenSSL\n",
	    esys_shared ? "one ESYS context shared by the threads under a lock" :
	    "one ESYS context (own TCTI) per thread");
	printf("# cpu us/op: this process, turtled, and swtpm (swtpm: estimated, its CPU over\n"
	    "# each slice scaled to the measured window)\n");
	printf("%7s  %-10s %9s %9s %9s %8s %8s %8s %7s\n", "threads", "mode", "ops/s", "p50 us",
	    "p99 us", "cpu/op", "cpu/op", "cpu/op", "errors");
	printf("%7s  %-10s %9s %9s %9s %8s %8s %8s %7s\n", "", "", "", "", "", "client", "turtled",
	    "swtpm", "");
	{
		const struct bench_ops ops[NMODES] = {
			{ daemon_init, daemon_op, daemon_fini, &da },
			{ esys_thread_init, esys_op, esys_thread_fini, &ek },
		};

		for (i = 0; i < cfg.n_threads; i++) {
			if (run_thread_count(&cfg, cfg.threads[i], ops, res[i], t.pid) != 0) {
				fprintf(stderr, "bench_tpm: no thread of the %u-thread run could start\n",
				    cfg.threads[i]);
				goto out;
			}
		}
	}
	printf("\n# throughput ratio turtled / esys (target >= 0.9)\n");
	printf("%7s  %13s\n", "threads", "turtled/esys");
	for (i = 0; i < cfg.n_threads; i++) {
		const struct bench_result *a = &res[i][M_TURTLED], *b = &res[i][M_ESYS];
		double r = b->ops_per_s > 0 ? a->ops_per_s / b->ops_per_s : 0;

		if (cfg.no_turtled)
			printf("%7u  %13s\n", cfg.threads[i], "-");
		else
			printf("%7u  %13.2f  %s\n", cfg.threads[i], r,
			    r >= 0.9 ? "meets target" : "MISSES target");
	}
	rc = 0;
out:
	esys_drop_key(&ek);
	if (daemon_up) {
		drop_key(d.sock, key);
		if (rc != 0)
			dump_file(d.log);
		bench_daemon_stop(&d);
	}
	if (rc != 0 && t.log[0] != '\0')
		dump_file(t.log);
	swtpm_stop(&t);
	return rc;
}
