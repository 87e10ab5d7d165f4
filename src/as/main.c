/*
 * turtle-as: the attestation service (RATS Verifier + resource broker).
 *
 *   turtle-as --listen ADDR:PORT --data-dir DIR [--config FILE]
 *             [--admin-token-file FILE] [--foreground] [--log-level LEVEL]
 *
 * It never forks (a service manager supervises it; --foreground is accepted for scripts
 * that pass it). SIGTERM/SIGINT stop it: the HTTP daemon finishes its requests, the store
 * is closed, exit 0. SIGHUP re-reads the admin token file and the config file's log_level
 * (reload() says what else it does not do).
 *
 * Under systemd: readiness, reload and stop are reported over $NOTIFY_SOCKET (Type=notify),
 * and without an admin token file the credential "admin-token" in $CREDENTIALS_DIRECTORY
 * (LoadCredential=) is used when present.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "attest/fetch/fetch.h"
#include "http.h"
#include "tt_config.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/num.h"
#include "util/sdnotify.h"

#define TOKEN_FILE_MAX 4096u
#define CREDENTIAL_NAME "admin-token"

struct cfg_parse {
	struct tt_as_config *cfg;
	char *admin_token_file;
	char *listen;
	bool have_level;              /* log_level seen; applied by the caller (CLI wins) */
	enum tt_log_level level;
	/* [collateral]: the optional KDS/PCS fetcher, off unless fetch = true. */
	bool fetch;
	char *cache_dir, *kds_url, *pcs_url, *root_crl_url;
	unsigned fetch_timeout;
	uint64_t fetch_max_size;
	unsigned fetch_negative_ttl;      /* 0: TT_FETCH_NEGATIVE_TTL */
	unsigned fetch_per_minute;        /* 0: TT_FETCH_PER_MINUTE */
	int err;
	char bad[64];
};

static int
set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return TT_ERR_NO_MEMORY;
	free(*dst);
	*dst = s;
	return 0;
}

static void
cfg_parse_free(struct cfg_parse *p)
{
	free(p->listen);
	free(p->admin_token_file);
	free(p->cache_dir);
	free(p->kds_url);
	free(p->pcs_url);
	free(p->root_crl_url);
}

/* A base URL: http:// or https://, no trailing '/', no spaces, bounded. */
static int
set_url(char **dst, const char *v)
{
	size_t n = strlen(v);

	if ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
	    n > TT_FETCH_MAX_URL / 2 || v[n - 1] == '/' || strpbrk(v, " \t\r\n?#") != NULL)
		return TT_ERR_CONFIG;
	return set_str(dst, v);
}

/* [collateral]: fetch, cache_dir, kds_url, pcs_url, root_crl_url, timeout, max_size,
 * negative_ttl, max_fetches_per_minute. */
static int
collateral_key(struct cfg_parse *p, const char *name, const char *value)
{
	uint32_t u;
	uint64_t v;
	int r;

	if (strcmp(name, "fetch") == 0) {
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
			p->fetch = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
			p->fetch = false;
		else
			return TT_ERR_CONFIG;
		return 0;
	}
	if (strcmp(name, "cache_dir") == 0)
		return value[0] == '/' ? set_str(&p->cache_dir, value) : TT_ERR_CONFIG;
	if (strcmp(name, "kds_url") == 0)
		return set_url(&p->kds_url, value);
	if (strcmp(name, "pcs_url") == 0)
		return set_url(&p->pcs_url, value);
	if (strcmp(name, "root_crl_url") == 0)
		return set_url(&p->root_crl_url, value);
	if (strcmp(name, "timeout") == 0) {
		if ((r = tt_parse_u32(value, 1, TT_FETCH_TIMEOUT_MAX, &u)) == 0)
			p->fetch_timeout = u;
		return r;
	}
	if (strcmp(name, "negative_ttl") == 0) {
		if ((r = tt_parse_u32(value, 1, TT_FETCH_NEGATIVE_TTL_MAX, &u)) == 0)
			p->fetch_negative_ttl = u;
		return r;
	}
	if (strcmp(name, "max_fetches_per_minute") == 0) {
		if ((r = tt_parse_u32(value, 1, TT_FETCH_PER_MINUTE_MAX, &u)) == 0)
			p->fetch_per_minute = u;
		return r;
	}
	if (strcmp(name, "max_size") == 0) {
		if ((r = tt_parse_size(value, TT_FETCH_MAX_SIZE_MAX, &v)) != 0 || v < 1024)
			return TT_ERR_CONFIG;
		p->fetch_max_size = v;
		return 0;
	}
	return TT_ERR_CONFIG;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: turtle-as --listen ADDR:PORT --data-dir DIR [OPTIONS]\n"
	    "The Turtle attestation service (RATS Verifier, EAR tokens, KBS resource release).\n"
	    "\n"
	    "  -l, --listen ADDR:PORT      HTTP address, e.g. 127.0.0.1:8080 or [::1]:8080\n"
	    "                              (or [as] listen in the config file)\n"
	    "  -d, --data-dir DIR          store (as.db), resource data key and signing keys;\n"
	    "                              created with mode 0700 (or [as] data_dir)\n"
	    "  -c, --config FILE           INI file with an [as] section (turtle-as.conf(5));\n"
	    "                              options given here win over the file\n"
	    "  -t, --admin-token-file FILE bearer token for the admin API (/v1/nodes,\n"
	    "                              /v1/reference-values, ...); without it, the systemd\n"
	    "                              credential \"admin-token\" is used, else admin calls\n"
	    "                              answer 403\n"
	    "      --tee-anchors DIR       trust anchors for snp/tdx/sgx/cca/virtcca evidence,\n"
	    "                              replacing the built-in ones (docs/trust-anchors.md)\n"
	    "      --tee-collateral DIR    cached collateral: DCAP JSON (tdx-FMSPC.json, ...),\n"
	    "                              SNP vcek.der/crl.der; fetched from AMD KDS/Intel\n"
	    "                              PCS only with [collateral] fetch = true\n"
	    "  -f, --foreground            accepted for scripts; turtle-as never forks\n"
	    "  -v, --log-level LEVEL       error, warn, info or debug\n"
	    "  -V, --version               print the version and exit\n"
	    "  -h, --help                  print this help and exit\n"
	    "\n"
	    "SIGHUP re-reads the admin token file and log_level; SIGTERM stops. See turtle-as(8).\n");
}


static int
cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *p = user;
	struct tt_as_config *c = p->cfg;
	uint64_t v;
	uint32_t u;
	int r = 0;

	if (p->err != 0)
		return 0;
	if (strcmp(section, "collateral") == 0)
		r = collateral_key(p, name, value);
	else if (strcmp(section, "as") != 0)
		r = TT_ERR_CONFIG;
	else if (strcmp(name, "listen") == 0)
		r = set_str(&p->listen, value);
	else if (strcmp(name, "data_dir") == 0)
		r = set_str(&c->data_dir, value);
	else if (strcmp(name, "admin_token_file") == 0)
		r = set_str(&p->admin_token_file, value);
	else if (strcmp(name, "max_body") == 0) {
		if ((r = tt_parse_size(value, 64u << 20, &v)) == 0 && v >= 1024)
			c->max_body = (size_t)v;
		else
			r = TT_ERR_CONFIG;
	} else if (strcmp(name, "log_level") == 0) {
		if ((r = tt_log_level_parse(value, &p->level)) == 0)
			p->have_level = true;
	} else {
		static const struct { const char *k; size_t off; uint32_t min, max; } nums[] = {
			{ "max_connections", offsetof(struct tt_as_config, max_connections), 1, 65536 },
			{ "threads", offsetof(struct tt_as_config, threads), 1, 64 },
			{ "request_timeout", offsetof(struct tt_as_config, request_timeout), 1, 3600 },
			{ "nonce_ttl", offsetof(struct tt_as_config, nonce_ttl), 1, 86400 },
			{ "token_ttl", offsetof(struct tt_as_config, token_ttl), 1, 31 * 86400 },
			{ "session_ttl", offsetof(struct tt_as_config, session_ttl), 1, 86400 },
			{ "max_challenges", offsetof(struct tt_as_config, max_challenges), 16, 16u << 20 },
			{ "cache_ttl_ms", offsetof(struct tt_as_config, cache_ttl_ms), 0, 60000 },
			{ "audit_mib", offsetof(struct tt_as_config, audit_mib), 0, 4096 },
		};
		size_t i;

		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			if (strcmp(name, nums[i].k) == 0)
				break;
		if (i == sizeof(nums) / sizeof(nums[0]))
			r = TT_ERR_CONFIG;
		else if ((r = tt_parse_u32(value, nums[i].min, nums[i].max, &u)) == 0)
			*(unsigned *)(void *)((char *)c + nums[i].off) = u;
	}
	if (r != 0) {
		p->err = TT_ERR_CONFIG;
		snprintf(p->bad, sizeof(p->bad), "%s.%s", section, name);
	}
	return 1;
}

static int
parse_listen(struct tt_as_config *c, const char *s)
{
	const char *colon = strrchr(s, ':');
	uint32_t port;
	char host[128];
	size_t hl;

	if (colon == NULL || tt_parse_u32(colon + 1, 0, 65535, &port) != 0)
		return TT_ERR_CONFIG;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {  /* [::1]:PORT */
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return TT_ERR_CONFIG;
	memcpy(host, s, hl);
	host[hl] = '\0';
	c->port = (uint16_t)port;
	return set_str(&c->listen_host, host);
}

/* The admin token file must be a regular file not readable by group or others. On
 * success `digest` is the SHA-256 of the token (trailing newlines and spaces dropped). */
static int
read_token(const char *path, uint8_t digest[32])
{
	struct stat sb;
	char buf[TOKEN_FILE_MAX + 1];
	size_t off = 0, n;
	ssize_t k;
	unsigned dl = 0;
	int fd, r = TT_ERR_CONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		tt_err_log("as: cannot open admin token file %s: %s", path, strerror(errno));
		return TT_ERR_CONFIG;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		tt_err_log("as: admin token file %s must be a regular file of mode 0600", path);
		goto out;
	}
	while (off < TOKEN_FILE_MAX && (k = read(fd, buf + off, TOKEN_FILE_MAX - off)) > 0)
		off += (size_t)k;
	n = off;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (n < 16) {
		tt_err_log("as: admin token in %s is shorter than 16 characters", path);
		goto out;
	}
	if (EVP_Digest(buf, n, digest, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Replace the admin digest seen by the request threads; the old one is wiped. */
static void
admin_install(struct tt_as_ctx *ctx, const uint8_t digest[32])
{
	pthread_rwlock_wrlock(&ctx->admin_lock);
	OPENSSL_cleanse(ctx->admin_digest, sizeof(ctx->admin_digest));
	memcpy(ctx->admin_digest, digest, sizeof(ctx->admin_digest));
	pthread_rwlock_unlock(&ctx->admin_lock);
}

/*
 * SIGHUP. Re-reads the admin token file given at start (so a token is rotated without a
 * restart: the next request is checked against the new one) and applies the config
 * file's log_level unless --log-level was given. A file that cannot be used leaves the
 * current token (or level) in force and says so: a reload must never lock the operator
 * out. Everything else in the config (listen address, data dir, limits, the token file's
 * path) is read at start only; admin endpoints cannot be switched on or off by a reload.
 */
static void
reload(struct tt_as_ctx *ctx, const char *conf, const char *token_file, bool cli_level)
{
	struct tt_as_config scratch = { 0 };
	struct cfg_parse cp = { .cfg = &scratch };
	uint8_t d[32];
	char ts[64];
	struct timespec now;
	int e;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (snprintf(ts, sizeof(ts), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000u) > 0)
		tt_sd_notify(ts);
	tt_info("as: SIGHUP: reloading");
	if (conf != NULL) {
		e = ini_parse(conf, cfg_handler, &cp);
		if (e != 0 || cp.err != 0)
			tt_err_log("as: reload: config %s: %s; the log level stays as it was", conf,
			    cp.err != 0 ? cp.bad : e < 0 ? "cannot read" : "syntax error");
		else if (cp.have_level && cli_level)
			tt_info("as: reload: log_level in %s ignored: --log-level was given", conf);
		else if (cp.have_level)
			tt_log_set_level(cp.level);
		free(scratch.listen_host);
		free(scratch.data_dir);
		cfg_parse_free(&cp);
	}
	if (token_file != NULL) {
		if (read_token(token_file, d) == 0) {
			admin_install(ctx, d);
			tt_info("as: reload: admin token re-read from %s", token_file);
		} else {
			tt_err_log("as: reload: admin token file %s is unusable; the previous admin"
			    " token stays in force", token_file);
		}
		OPENSSL_cleanse(d, sizeof(d));
	}
	tt_sd_notify("READY=1");
}

/*
 * [collateral] fetch = true hands the fetcher to the TEE verifiers. Its cache is
 * cache_dir, else --tee-collateral, else <data dir>/collateral; libcurl is initialised
 * here, before any thread. With fetch = false (the default) nothing is set up and no
 * verification touches the network.
 */
static int
fetch_setup(struct cfg_parse *cp, const char *data_dir, const char *tee_collateral)
{
	struct tt_fetch_cfg fc = { 0 };
	char *dir = NULL;
	int r;

	if (!cp->fetch) {
		tt_info("as: collateral fetching is off (KDS/PCS are never contacted)");
		return 0;
	}
	if (cp->cache_dir == NULL) {
		if (tee_collateral != NULL)
			r = set_str(&cp->cache_dir, tee_collateral);
		else if (asprintf(&dir, "%s/collateral", data_dir) < 0)
			r = TT_ERR_NO_MEMORY;
		else
			r = set_str(&cp->cache_dir, dir);
		free(dir);
		if (r != 0)
			return r;
	}
	if ((r = tt_fetch_init()) != 0 || (r = tt_fetch_mkdirs(cp->cache_dir)) != 0) {
		tt_err_log("as: [collateral] cannot set up fetching into %s", cp->cache_dir);
		return r;
	}
	fc.enabled = true;
	fc.cache_dir = cp->cache_dir;
	fc.kds_url = cp->kds_url;
	fc.pcs_url = cp->pcs_url;
	fc.root_crl_url = cp->root_crl_url;
	fc.timeout = cp->fetch_timeout;
	fc.max_size = (size_t)cp->fetch_max_size;
	fc.negative_ttl = cp->fetch_negative_ttl;
	fc.max_per_minute = cp->fetch_per_minute;
	tt_as_tee_fetch(&fc);
	tt_info("as: collateral fetching is on: KDS %s, PCS %s, cache %s",
	    fc.kds_url != NULL ? fc.kds_url : TT_FETCH_KDS_URL,
	    fc.pcs_url != NULL ? fc.pcs_url : TT_FETCH_PCS_URL, fc.cache_dir);
	return 0;
}

/* The systemd credential, when the unit passes one and no file was configured. *out is
 * NULL when there is none. */
static int
credential_token(char **out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	struct stat sb;
	int n;

	*out = NULL;
	if (dir == NULL || dir[0] != '/')
		return 0;
	n = snprintf(path, sizeof(path), "%s/" CREDENTIAL_NAME, dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_CONFIG;
	if (lstat(path, &sb) != 0)
		return 0;
	return set_str(out, path);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "admin-token-file", required_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "tee-anchors", required_argument, NULL, 'A' },
		{ "tee-collateral", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct tt_as_config cfg = {
		.max_body = 1u << 20,
		.max_connections = 256,
		.threads = 2,
		.request_timeout = 30,
		.nonce_ttl = 300,
		.token_ttl = 3600,
		.session_ttl = 300,
		.max_challenges = 100000,
		.cache_ttl_ms = 1000,
		.audit_mib = 64,
	};
	struct cfg_parse cp = { .cfg = &cfg };
	struct tt_as_ctx ctx = { 0 };
	struct tt_as_http *http = NULL;
	const char *cli_listen = NULL, *cli_dir = NULL, *cli_token = NULL, *conf = NULL;
	const char *tee_anchors = NULL, *tee_collateral = NULL;
	enum tt_log_level lvl;
	uint8_t digest[32];
	sigset_t set;
	bool cli_level = false;
	int o, sig, r = TT_ERR_CONFIG, rc = 1;

	pthread_rwlock_init(&ctx.admin_lock, NULL);
	while ((o = getopt_long(argc, argv, "l:d:c:t:fv:Vh", opts, NULL)) != -1) {
		switch (o) {
		case 'l': cli_listen = optarg; break;
		case 'd': cli_dir = optarg; break;
		case 'c': conf = optarg; break;
		case 't': cli_token = optarg; break;
		case 'f': cfg.foreground = true; break;
		case 'v':
			if (tt_log_level_parse(optarg, &lvl) != 0) {
				usage(stderr);
				return 2;
			}
			tt_log_set_level(lvl);
			cli_level = true;
			break;
		case 'A': tee_anchors = optarg; break;
		case 'C': tee_collateral = optarg; break;
		case 'V': printf("turtle-as %s\n", TT_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	umask(077);
	tt_as_tee_trust(tee_anchors, tee_collateral);
	if (conf != NULL) {
		int e = ini_parse(conf, cfg_handler, &cp);

		if (e != 0 || cp.err != 0) {
			tt_err_log("as: config %s: %s", conf, cp.err != 0 ? cp.bad :
			    e < 0 ? "cannot read" : "syntax error");
			goto out;
		}
		if (cp.have_level && !cli_level)
			tt_log_set_level(cp.level);
	}
	if ((cli_listen != NULL && set_str(&cp.listen, cli_listen) != 0) ||
	    (cli_dir != NULL && set_str(&cfg.data_dir, cli_dir) != 0) ||
	    (cli_token != NULL && set_str(&cp.admin_token_file, cli_token) != 0))
		goto out;
	if (cp.listen == NULL || cfg.data_dir == NULL) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (parse_listen(&cfg, cp.listen) != 0) {
		tt_err_log("as: --listen must be ADDR:PORT, got %s", cp.listen);
		goto out;
	}
	if (mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		tt_err_log("as: cannot create %s: %s", cfg.data_dir, strerror(errno));
		goto out;
	}
	if ((r = fetch_setup(&cp, cfg.data_dir, tee_collateral)) != 0)
		goto out;
	if (cp.admin_token_file == NULL && (r = credential_token(&cp.admin_token_file)) != 0)
		goto out;
	if (cp.admin_token_file != NULL) {
		r = read_token(cp.admin_token_file, digest);
		if (r == 0)
			admin_install(&ctx, digest);
		OPENSSL_cleanse(digest, sizeof(digest));
		if (r != 0)
			goto out;
		ctx.admin_enabled = true;
	} else {
		tt_info("as: no admin token configured: admin endpoints are disabled");
	}

	/* Block the stop signals before any thread exists so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ctx.cfg = &cfg;
	ctx.ops = &tt_as_store_sqlite;
	if ((r = tt_as_nonces_new(cfg.max_challenges, &ctx.nonces)) != 0 ||
	    (r = tt_as_cache_new(cfg.cache_ttl_ms, &ctx.cache)) != 0 ||
	    (r = tt_as_results_new((size_t)cfg.audit_mib << 20, &ctx.results)) != 0 ||
	    (r = tt_policy_init_all()) != 0)
		goto out;
	if ((r = ctx.ops->open(cfg.data_dir, &ctx.st)) != 0)
		goto out;
	if ((r = tt_as_issuer_open(cfg.data_dir, ctx.st, ctx.ops, &ctx.issuer)) != 0)
		goto out;
	if ((r = tt_as_nodes_index_ak(&ctx)) != 0)
		goto out;
	if ((r = tt_as_http_start(&ctx, &http)) != 0)
		goto out;
	tt_info("as: listening on %s:%u (store %s, data %s)", cfg.listen_host, cfg.port,
	    ctx.ops->name, cfg.data_dir);
	tt_sd_notify("READY=1\nSTATUS=Serving attestation requests");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			/* Policies, reference values and resources live in the store: they
			 * need no reload. */
			reload(&ctx, conf, cp.admin_token_file, cli_level);
			continue;
		}
		break;
	}
	tt_sd_notify("STOPPING=1");
	tt_info("as: stopping");
	rc = 0;
out:
	if (r != 0 && rc != 0 && rc != 2)
		tt_err_log("as: %s", tt_strerror(r));
	tt_as_http_stop(http);
	tt_as_issuer_close(ctx.issuer);
	if (ctx.st != NULL)
		ctx.ops->close(ctx.st);
	tt_as_nonces_free(ctx.nonces);
	tt_as_cache_free(ctx.cache);
	tt_as_results_free(ctx.results);
	tt_policy_fini_all();
	OPENSSL_cleanse(ctx.admin_digest, sizeof(ctx.admin_digest));
	pthread_rwlock_destroy(&ctx.admin_lock);
	free(cfg.listen_host);
	free(cfg.data_dir);
	cfg_parse_free(&cp);
	return rc;
}
