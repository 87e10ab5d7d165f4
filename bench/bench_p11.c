/*
 * bench_p11: ECDSA P-256 signing on SoftHSM2 three ways, at the same thread counts:
 *   turtled      tt_sign_hash through turtled's pkcs11 provider (id 2), one libturtle
 *                client per thread
 *   in-process   SoftHSM2 dlopen'ed into this process, one session per thread,
 *                C_SignInit(CKM_ECDSA) + C_Sign of a 32-byte hash
 *   p11-kit      the same calls through p11-kit-client.so to a `p11-kit server`
 *                exporting the same token (the remoting a container would otherwise use)
 * The modes alternate in slices (as in bench_sign) so that load from other processes
 * falls on all of them alike; the ratios turtled/p11-kit (target >= 1.5) and
 * turtled/in-process are printed.
 *
 * The bench owns everything it uses: a SoftHSM2 token initialised in a temporary
 * directory (SOFTHSM2_CONF), the p11-kit server and turtled, all stopped at the end.
 * One P-256 key made with OpenSSL is imported into all three paths (a session object in
 * the two direct PKCS#11 paths, a token object through turtled), and one signature of
 * each path is verified with OpenSSL before the runs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#include <p11-kit/pkcs11.h>

#include "turtle/turtle.h"
#include "util/num.h"
#include "bench.h"

#define MAX_THREAD_COUNTS 8
#define HASH_LEN 32
#define NMODES 3

#define DEFAULT_SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#ifdef BENCH_P11KIT_CLIENT
#define DEFAULT_P11KIT_CLIENT BENCH_P11KIT_CLIENT   /* from p11-kit-1.pc's module path */
#else
#define DEFAULT_P11KIT_CLIENT "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
#endif
#define TOKEN_LABEL "turtle-bench"
#define USER_PIN "123456"
#define SO_PIN "12345678"

struct cfg {
	const char *turtled;
	const char *softhsm;
	const char *p11kit_client;
	bool allow_root;
	bool no_turtled;             /* baselines only (no pkcs11 provider to measure) */
	unsigned seconds;
	unsigned warm_ms;
	unsigned rounds;
	pid_t daemon_pid;
	unsigned threads[MAX_THREAD_COUNTS];
	unsigned n_threads;
};

/* The one key every path signs with. */
struct keymat {
	uint8_t priv[32];
	uint8_t pub[65];     /* uncompressed point */
};

/* ---- OpenSSL: the key, and checking a signature ---- */

static int make_keymat(struct keymat *k)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIGNUM *d = NULL;
	size_t publen = 0;
	int rc = -1;

	if (pkey == NULL || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, k->priv, sizeof(k->priv)) != (int)sizeof(k->priv) ||
	    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, k->pub, sizeof(k->pub),
	    &publen) != 1 || publen != sizeof(k->pub))
		goto out;
	rc = 0;
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	return rc;
}


/* ---- a PKCS#11 module loaded into this process ---- */

struct p11mod {
	const char *what;
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	bool initialized;
	CK_SESSION_HANDLE keeper;   /* logged in for the module's life */
	CK_OBJECT_HANDLE key;
	CK_BYTE id[64];             /* the key's CKA_ID, for --find-each */
	CK_ULONG id_len;
};

/* --find-each: look the key up by class and CKA_ID before every signature, as a
 * service that keeps no object handles must (turtled's provider does). */
static bool find_each;

struct p11_state {
	struct p11mod *m;
	CK_SESSION_HANDLE s;
	uint8_t hash[HASH_LEN];
};

static int find_slot(struct p11mod *m, const char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	char want[32];
	size_t len = strlen(label);

	if (len > sizeof(want))
		return -1;
	memset(want, ' ', sizeof(want));   /* labels are blank-padded, not terminated */
	memcpy(want, label, len);
	if (m->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (m->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, want, sizeof(want)) == 0) {
			*out = slots[i];
			return 0;
		}
	}
	return -1;
}

static void p11_unload(struct p11mod *m)
{
	if (m->f != NULL && m->initialized) {
		if (m->keeper != CK_INVALID_HANDLE)
			(void)m->f->C_CloseSession(m->keeper);
		(void)m->f->C_Finalize(NULL);
	}
	if (m->dl != NULL)
		dlclose(m->dl);
	memset(m, 0, sizeof(*m));
}

/* The token's one EC private key: the one turtled imported (or an earlier path made). */
static int find_token_key(struct p11mod *m, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
	};
	CK_ULONG n = 0;

	if (m->f->C_FindObjectsInit(m->keeper, t, 3) != CKR_OK)
		return -1;
	if (m->f->C_FindObjects(m->keeper, h, 1, &n) != CKR_OK)
		n = 0;
	(void)m->f->C_FindObjectsFinal(m->keeper);
	return n == 1 ? 0 : -1;
}

/*
 * Load `path`, find the token, log in, and use the EC private key token object that is
 * already there (turtled's, so that all paths sign with the same object on the same
 * token files), creating it from `k` when there is none (--no-turtled). Only the
 * no-turtled case writes token files from this process.
 */
static int p11_load(struct p11mod *m, const char *what, const char *path,
    const struct keymat *k)
{
	static const CK_BYTE p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList gfl;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE ida = { CKA_ID, NULL, 0 };
	CK_BYTE value[32];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_ID, (void *)"bench", 5 },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid) },
		{ CKA_VALUE, value, sizeof(value) },
	};
	CK_SLOT_ID slot;
	CK_RV rv;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	m->what = what;
	m->keeper = CK_INVALID_HANDLE;
	memcpy(value, k->priv, sizeof(value));
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (m->dl == NULL) {
		fprintf(stderr, "bench_p11: %s: dlopen %s: %s\n", what, path, dlerror());
		goto out;
	}
	*(void **)&gfl = dlsym(m->dl, "C_GetFunctionList");
	if (gfl == NULL || gfl(&m->f) != CKR_OK || m->f == NULL) {
		fprintf(stderr, "bench_p11: %s: no C_GetFunctionList in %s\n", what, path);
		goto out;
	}
	if ((rv = m->f->C_Initialize(&ia)) != CKR_OK) {
		fprintf(stderr, "bench_p11: %s: C_Initialize: 0x%lx\n", what, (unsigned long)rv);
		goto out;
	}
	m->initialized = true;
	if (find_slot(m, TOKEN_LABEL, &slot) != 0) {
		fprintf(stderr, "bench_p11: %s: no token labelled %s\n", what, TOKEN_LABEL);
		goto out;
	}
	if ((rv = m->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &m->keeper)) != CKR_OK ||
	    (rv = m->f->C_Login(m->keeper, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN,
	    strlen(USER_PIN))) != CKR_OK) {
		fprintf(stderr, "bench_p11: %s: session/login: 0x%lx\n", what, (unsigned long)rv);
		goto out;
	}
	if (find_token_key(m, &m->key) != 0 &&
	    (rv = m->f->C_CreateObject(m->keeper, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
	    &m->key)) != CKR_OK) {
		fprintf(stderr, "bench_p11: %s: import: 0x%lx\n", what, (unsigned long)rv);
		goto out;
	}
	ida.pValue = m->id;
	ida.ulValueLen = sizeof(m->id);
	if ((rv = m->f->C_GetAttributeValue(m->keeper, m->key, &ida, 1)) != CKR_OK) {
		fprintf(stderr, "bench_p11: %s: CKA_ID: 0x%lx\n", what, (unsigned long)rv);
		goto out;
	}
	m->id_len = ida.ulValueLen;
	rc = 0;
out:
	OPENSSL_cleanse(value, sizeof(value));
	if (rc != 0)
		p11_unload(m);
	return rc;
}

static CK_SLOT_ID keeper_slot(struct p11mod *m)
{
	CK_SESSION_INFO si;

	return m->f->C_GetSessionInfo(m->keeper, &si) == CKR_OK ? si.slotID : (CK_SLOT_ID)-1;
}

static int p11_sign(struct p11mod *m, CK_SESSION_HANDLE s, const uint8_t hash[HASH_LEN],
    uint8_t sig[64], CK_ULONG *siglen)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_HANDLE key = m->key;

	*siglen = 64;
	if (find_each) {
		CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_ID, m->id, m->id_len },
		};
		CK_ULONG n = 0;
		CK_RV rv;

		if (m->f->C_FindObjectsInit(s, t, 2) != CKR_OK)
			return -1;
		rv = m->f->C_FindObjects(s, &key, 1, &n);
		(void)m->f->C_FindObjectsFinal(s);
		if (rv != CKR_OK || n != 1)
			return -1;
	}
	if (m->f->C_SignInit(s, &mech, key) != CKR_OK)
		return -1;
	if (m->f->C_Sign(s, (CK_BYTE_PTR)hash, HASH_LEN, sig, siglen) != CKR_OK)
		return -1;
	return *siglen == 64 ? 0 : -1;
}

static int p11_thread_init(void *arg, unsigned idx, void **state)
{
	struct p11_state *s = calloc(1, sizeof(*s));

	(void)idx;
	if (s == NULL)
		return -1;
	s->m = arg;
	/* one session per thread: the sessions share the login and the session key */
	if (RAND_bytes(s->hash, sizeof(s->hash)) != 1 ||
	    s->m->f->C_OpenSession(keeper_slot(s->m), CKF_SERIAL_SESSION, NULL, NULL,
	    &s->s) != CKR_OK) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int p11_op(void *state)
{
	struct p11_state *s = state;
	uint8_t sig[64];
	CK_ULONG len;

	return p11_sign(s->m, s->s, s->hash, sig, &len);
}

static void p11_thread_fini(void *state)
{
	struct p11_state *s = state;

	(void)s->m->f->C_CloseSession(s->s);
	free(s);
}

static int p11_check(struct p11mod *m, const struct keymat *k)
{
	uint8_t hash[HASH_LEN], sig[64];
	CK_ULONG len;

	if (RAND_bytes(hash, sizeof(hash)) != 1 || p11_sign(m, m->keeper, hash, sig, &len) != 0) {
		fprintf(stderr, "bench_p11: %s: signing failed\n", m->what);
		return -1;
	}
	if (bench_verify_p256(k->pub, hash, HASH_LEN, sig, len) != 0) {
		fprintf(stderr, "bench_p11: %s: signature does not verify with OpenSSL\n", m->what);
		return -1;
	}
	return 0;
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
		.provider = TT_CLIENT_PROVIDER_PKCS11,
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

/* Import the key (generate when the provider refuses import), sign once, verify. */
static int daemon_key(const char *socket, const char *name, struct keymat *k,
    bool *imported)
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
		fprintf(stderr, "bench_p11: connect: %s\n", tt_strerror(r));
		goto out;
	}
	(void)tt_destroy_key(c, name);
	*imported = true;
	if ((r = tt_import_key(c, name, &attrs, k->priv, sizeof(k->priv))) != 0) {
		fprintf(stderr, "bench_p11: turtled: import refused (%s); generating instead\n",
		    tt_strerror(r));
		*imported = false;
		if ((r = tt_generate_key(c, name, &attrs)) != 0) {
			fprintf(stderr, "bench_p11: turtled: generate key: %s\n", tt_strerror(r));
			goto out;
		}
	}
	if ((r = tt_export_public_key(c, name, &pub, &pub_len)) != 0) {
		fprintf(stderr, "bench_p11: turtled: export public key: %s\n", tt_strerror(r));
		goto out;
	}
	r = -1;
	if (pub_len != sizeof(k->pub) ||
	    (*imported && memcmp(pub, k->pub, sizeof(k->pub)) != 0)) {
		fprintf(stderr, "bench_p11: turtled: exported public key is not the imported one\n");
		goto out;
	}
	/* the direct paths sign with turtled's token object, whichever way it was made */
	memcpy(k->pub, pub, sizeof(k->pub));
	if (RAND_bytes(hash, sizeof(hash)) != 1)
		goto out;
	if ((r = tt_sign_hash(c, name, TT_ALG_ECDSA(TT_ALG_SHA_256), hash, sizeof(hash), &sig,
	    &sig_len)) != 0) {
		fprintf(stderr, "bench_p11: turtled: sign: %s\n", tt_strerror(r));
		goto out;
	}
	if ((r = bench_verify_p256(pub, hash, HASH_LEN, sig, sig_len)) != 0)
		fprintf(stderr, "bench_p11: turtled: signature does not verify with OpenSSL\n");
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

/* ---- SoftHSM2 token and p11-kit server in a temporary directory ---- */

struct world {
	char dir[64];
	char conf[PATH_MAX];
	char srv_sock[PATH_MAX];
	char srv_log[PATH_MAX];
	pid_t srv_pid;
};

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (fputs(text, f) == EOF)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Run argv to completion with output into `log` (appended); 0 if it exited 0. */
static int run_wait(const char *const argv[], const char *log)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

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

/* The token, initialised by softhsm2-util; SOFTHSM2_CONF is set for us and children. */
static int world_token(struct world *w, bool give_to_nobody)
{
	char tokens[PATH_MAX], text[PATH_MAX + 128], log[PATH_MAX];
	const char *const argv[] = { "softhsm2-util", "--init-token", "--free", "--label",
		TOKEN_LABEL, "--so-pin", SO_PIN, "--pin", USER_PIN, NULL };

	snprintf(w->dir, sizeof(w->dir), "/tmp/turtle-bench-p11-XXXXXX");
	if (mkdtemp(w->dir) == NULL) {
		perror("bench_p11: mkdtemp");
		w->dir[0] = '\0';
		return -1;
	}
	snprintf(tokens, sizeof(tokens), "%s/tokens", w->dir);
	snprintf(w->conf, sizeof(w->conf), "%s/softhsm2.conf", w->dir);
	snprintf(log, sizeof(log), "%s/softhsm2-util.log", w->dir);
	snprintf(text, sizeof(text),
	    "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
	if (mkdir(tokens, 0700) != 0 || write_text(w->conf, text) != 0 ||
	    setenv("SOFTHSM2_CONF", w->conf, 1) != 0) {
		perror("bench_p11: token directory");
		return -1;
	}
	if (run_wait(argv, log) != 0) {
		fprintf(stderr, "bench_p11: softhsm2-util --init-token failed\n");
		dump_file(log);
		return -1;
	}
	if (give_to_nobody) {
		/* turtled drops to nobody and must own the token files it writes into */
		const struct passwd *pw = getpwnam("nobody");

		if (pw == NULL)
			return -1;
		chown_uid = pw->pw_uid;
		chown_gid = pw->pw_gid;
		if (nftw(w->dir, chown_entry, 16, FTW_PHYS) != 0) {
			perror("bench_p11: chown token directory");
			return -1;
		}
	}
	return 0;
}

/* `p11-kit server` in the foreground on a socket of ours, exporting only our token. */
static int world_server(struct world *w, const char *module)
{
	char uri[64], addr[PATH_MAX + 16];
	uint64_t deadline;
	pid_t pid;

	snprintf(w->srv_sock, sizeof(w->srv_sock), "%s/p11kit.sock", w->dir);
	snprintf(w->srv_log, sizeof(w->srv_log), "%s/p11kit-server.log", w->dir);
	snprintf(uri, sizeof(uri), "pkcs11:token=%s", TOKEN_LABEL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *const argv[] = { "p11-kit", "server", "--foreground", "--name",
			w->srv_sock, "--provider", module, uri, NULL };
		int fd = open(w->srv_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	w->srv_pid = pid;
	deadline = bench_now_ns() + 10ull * 1000000000u;
	while (access(w->srv_sock, F_OK) != 0) {
		if (bench_now_ns() > deadline || waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "bench_p11: p11-kit server did not come up\n");
			dump_file(w->srv_log);
			return -1;
		}
		bench_sleep_ms(20);
	}
	snprintf(addr, sizeof(addr), "unix:path=%s", w->srv_sock);
	return setenv("P11_KIT_SERVER_ADDRESS", addr, 1);
}

static void world_stop(struct world *w)
{
	if (w->srv_pid > 0) {
		(void)kill(w->srv_pid, SIGTERM);
		(void)waitpid(w->srv_pid, NULL, 0);
		w->srv_pid = 0;
	}
	if (w->dir[0] != '\0') {
		const char *keep = getenv("BENCH_KEEP_DIR");

		if (keep != NULL && keep[0] != '\0')
			fprintf(stderr, "bench_p11: kept %s\n", w->dir);
		else
			bench_rmtree(w->dir);
	}
}

/* ---- report ---- */

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
		printf("  (first error: %d)", r->first_error);
	printf("\n");
	fflush(stdout);
}

static double ratio(const struct bench_result *a, const struct bench_result *b)
{
	return b->ops_per_s > 0 ? a->ops_per_s / b->ops_per_s : 0;
}

enum { M_TURTLED = 0, M_INPROC = 1, M_P11KIT = 2 };
static const char *const mode_names[NMODES] = { "turtled", "in-process", "p11-kit" };

static int run_thread_count(const struct cfg *cfg, unsigned n, const struct bench_ops ops[NMODES],
    struct bench_result res[NMODES], pid_t srv_child)
{
	unsigned m, round, slice_ms = cfg->seconds * 1000 / cfg->rounds;
	int rc = 0;

	/* daemon CPU: turtled's for the turtled mode; p11-kit's server-side process for
	 * the remoted mode (sampled when it could be found) */
	bench_result_init(&res[M_TURTLED], n, cfg->daemon_pid);
	bench_result_init(&res[M_INPROC], n, 0);
	bench_result_init(&res[M_P11KIT], n, srv_child);
	for (round = 0; round < cfg->rounds && rc == 0; round++)
		for (m = cfg->no_turtled ? 1 : 0; m < NMODES && rc == 0; m++)
			rc = bench_run_more(&ops[m], cfg->warm_ms, slice_ms, &res[m]);
	for (m = 0; m < NMODES; m++) {
		bench_result_finish(&res[m]);
		if (rc == 0 && !(m == M_TURTLED && cfg->no_turtled))
			print_row(mode_names[m], &res[m]);
	}
	return rc;
}

/* The process serving our client connection: the youngest child of the p11-kit server. */
static pid_t server_child(pid_t server)
{
	char path[64], buf[256];
	FILE *f;
	pid_t last = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)server, (long)server);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fscanf(f, "%255s", buf) == 1) {
		uint32_t v;

		if (tt_parse_u32(buf, 1, INT32_MAX, &v) == 0)
			last = (pid_t)v;
	}
	fclose(f);
	return last;
}

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_p11 [--seconds N] [--rounds N] [--warmup-ms N] [--threads 1,2,8]\n"
	    "                 [--turtled PATH] [--softhsm PATH] [--p11kit-client PATH]\n"
	    "                 [--allow-root] [--no-turtled] [--find-each]\n"
	    "  Sets up a SoftHSM2 token in a temporary directory, a p11-kit server and a\n"
	    "  turtled with a [provider.pkcs11] section on that token, then measures ECDSA\n"
	    "  P-256 signing through each. Each mode runs --seconds in all per thread count,\n"
	    "  in --rounds slices alternating between the modes. --no-turtled measures the\n"
	    "  two baselines only (for a tree without the pkcs11 provider). --find-each makes\n"
	    "  the two baselines find the key (C_FindObjects by CKA_ID) before each signature,\n"
	    "  as turtled's provider does, instead of once.\n");
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
		c->threads[c->n_threads++] = bench_opt_uint("--threads", tok, 1, 256);
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
	c->softhsm = DEFAULT_SOFTHSM;
	c->p11kit_client = DEFAULT_P11KIT_CLIENT;
	c->seconds = 3;
	c->warm_ms = 200;
	c->rounds = 3;
	parse_threads(c, "1,2,8");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--turtled") == 0 && v != NULL) {
			c->turtled = v;
			i++;
		} else if (strcmp(a, "--softhsm") == 0 && v != NULL) {
			c->softhsm = v;
			i++;
		} else if (strcmp(a, "--p11kit-client") == 0 && v != NULL) {
			c->p11kit_client = v;
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
		} else if (strcmp(a, "--find-each") == 0) {
			find_each = true;
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
	struct world w = { 0 };
	struct bench_daemon d = { 0 };
	struct keymat k;
	struct p11mod inproc = { 0 }, remote = { 0 };
	struct bench_result res[MAX_THREAD_COUNTS][NMODES];
	struct daemon_arg da;
	char key[64], conf[1024];
	bool daemon_up = false, imported = false;
	pid_t srv_child;
	unsigned i;
	int rc = 1;

	parse_args(&cfg, argc, argv);
	(void)signal(SIGPIPE, SIG_IGN);
	if (make_keymat(&k) != 0) {
		fprintf(stderr, "bench_p11: OpenSSL P-256 keygen failed\n");
		return 1;
	}
	if (world_token(&w, geteuid() == 0 && !cfg.allow_root) != 0)
		goto out;

	snprintf(key, sizeof(key), "bench-p11-p256-%ld", (long)getpid());
	da.socket = NULL;
	da.key = key;
	if (cfg.no_turtled)
		goto baselines;
	snprintf(conf, sizeof(conf),
	    "[provider.pkcs11]\nlibrary = %s\ntoken_label = %s\nuser_pin = %s\n",
	    cfg.softhsm, TOKEN_LABEL, USER_PIN);
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
	if (daemon_key(d.sock, key, &k, &imported) != 0)
		goto out;
baselines:
	if (p11_load(&inproc, "in-process SoftHSM2", cfg.softhsm, &k) != 0 ||
	    p11_check(&inproc, &k) != 0)
		goto out;
	if (world_server(&w, cfg.softhsm) != 0 ||
	    p11_load(&remote, "p11-kit client", cfg.p11kit_client, &k) != 0 ||
	    p11_check(&remote, &k) != 0)
		goto out;
	srv_child = server_child(w.srv_pid);
	if (srv_child > 0 && bench_proc_cpu_s(srv_child) < 0)
		srv_child = 0;

	printf("# bench_p11: ECDSA P-256 sign of a 32-byte hash on SoftHSM2 (token in %s);\n"
	    "# %u s per mode in %u alternating slices, each after %u ms of warm-up\n",
	    w.dir, cfg.seconds, cfg.rounds, cfg.warm_ms);
	if (cfg.no_turtled)
		printf("# turtled: not measured (--no-turtled)\n");
	else
		printf("# turtled: pkcs11 provider (id 2), started by the bench %s; one client per "
		    "thread\n", geteuid() == 0 ? (cfg.allow_root ? "as root (--allow-root)" :
		    "as user nobody") : "as the invoking user");
	printf("# in-process: %s dlopen'ed, one session per thread, %sC_SignInit(CKM_ECDSA)+C_Sign\n",
	    cfg.softhsm, find_each ? "C_FindObjects* + " : "");
	printf("# p11-kit: the same calls through %s to `p11-kit server` (one module instance,\n"
	    "# so one connection shared by the threads)\n", cfg.p11kit_client);
	printf("# key: one P-256 token object used by all paths, %s;\n"
	    "# each path's signature verified with OpenSSL\n",
	    cfg.no_turtled ? "imported by the bench" : imported ?
	    "imported through turtled from an OpenSSL-made key" :
	    "generated by turtled (its import was refused)");
	printf("# cpu us/op: this process (client) and the serving process (turtled, or the\n"
	    "# p11-kit server's per-connection child)\n");
	printf("%7s  %-12s %10s %9s %9s %8s %8s %7s\n", "threads", "mode", "ops/s", "p50 us",
	    "p99 us", "cpu/op", "cpu/op", "errors");
	printf("%7s  %-12s %10s %9s %9s %8s %8s %7s\n", "", "", "", "", "", "client", "server", "");
	{
		const struct bench_ops ops[NMODES] = {
			{ daemon_init, daemon_op, daemon_fini, &da },
			{ p11_thread_init, p11_op, p11_thread_fini, &inproc },
			{ p11_thread_init, p11_op, p11_thread_fini, &remote },
		};

		for (i = 0; i < cfg.n_threads; i++) {
			if (run_thread_count(&cfg, cfg.threads[i], ops, res[i], srv_child) != 0) {
				fprintf(stderr, "bench_p11: no thread of the %u-thread run could start\n",
				    cfg.threads[i]);
				goto out;
			}
		}
	}
	printf("\n# throughput ratios (target: turtled / p11-kit >= 1.5 at every thread count)\n");
	printf("%7s  %16s %19s %19s\n", "threads", "turtled/p11-kit", "turtled/in-process",
	    "p11-kit/in-process");
	for (i = 0; i < cfg.n_threads; i++) {
		double rk = ratio(&res[i][M_TURTLED], &res[i][M_P11KIT]);
		double ri = ratio(&res[i][M_TURTLED], &res[i][M_INPROC]);
		double rp = ratio(&res[i][M_P11KIT], &res[i][M_INPROC]);

		if (cfg.no_turtled)
			printf("%7u  %16s %19s %19.2f\n", cfg.threads[i], "-", "-", rp);
		else
			printf("%7u  %16.2f %19.2f %19.2f  %s\n", cfg.threads[i], rk, ri, rp,
			    rk >= 1.5 ? "meets target" : "MISSES target");
	}
	rc = 0;
out:
	p11_unload(&remote);
	p11_unload(&inproc);
	if (daemon_up) {
		drop_key(d.sock, key);
		if (rc != 0)
			dump_file(d.log);
		bench_daemon_stop(&d);
	}
	world_stop(&w);
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}
