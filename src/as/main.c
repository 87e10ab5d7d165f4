/*
 * turtle-as: the attestation service (RATS Verifier + resource broker).
 *
 *   turtle-as --listen ADDR:PORT --data-dir DIR [--config FILE]
 *             [--admin-token-file FILE] [--foreground] [--log-level LEVEL]
 *
 * It never forks (a service manager supervises it; --foreground is accepted for scripts
 * that pass it). SIGTERM/SIGINT stop it: the HTTP daemon finishes its requests, the store
 * is closed, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "http.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/num.h"

#define TOKEN_FILE_MAX 4096u

struct cfg_parse {
	struct tt_as_config *cfg;
	char *admin_token_file;
	char *listen;
	int err;
	char bad[64];
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: turtle-as --listen ADDR:PORT --data-dir DIR [--config FILE]\n"
	    "                 [--admin-token-file FILE] [--foreground] [--log-level LEVEL]\n");
}

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
	if (strcmp(section, "as") != 0)
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
		enum tt_log_level l;

		if ((r = tt_log_level_parse(value, &l)) == 0)
			tt_log_set_level(l);
	} else {
		static const struct { const char *k; size_t off; uint32_t min, max; } nums[] = {
			{ "max_connections", offsetof(struct tt_as_config, max_connections), 1, 65536 },
			{ "threads", offsetof(struct tt_as_config, threads), 1, 64 },
			{ "request_timeout", offsetof(struct tt_as_config, request_timeout), 1, 3600 },
			{ "nonce_ttl", offsetof(struct tt_as_config, nonce_ttl), 1, 86400 },
			{ "token_ttl", offsetof(struct tt_as_config, token_ttl), 1, 31 * 86400 },
			{ "session_ttl", offsetof(struct tt_as_config, session_ttl), 1, 86400 },
			{ "max_challenges", offsetof(struct tt_as_config, max_challenges), 16, 16u << 20 },
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

/* The admin token file must be a regular file not readable by group or others. */
static int
read_token(const char *path, struct tt_as_ctx *ctx)
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
	if (EVP_Digest(buf, n, ctx->admin_digest, &dl, EVP_sha256(), NULL) != 1)
		goto out;
	ctx->admin_enabled = true;
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
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
		{ "help", no_argument, NULL, 'h' },
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
	};
	struct cfg_parse cp = { .cfg = &cfg };
	struct tt_as_ctx ctx = { 0 };
	struct tt_as_http *http = NULL;
	const char *cli_listen = NULL, *cli_dir = NULL, *cli_token = NULL, *conf = NULL;
	enum tt_log_level lvl;
	sigset_t set;
	int o, sig, r = TT_ERR_CONFIG, rc = 1;

	while ((o = getopt_long(argc, argv, "l:d:c:t:fv:h", opts, NULL)) != -1) {
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
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	umask(077);
	if (conf != NULL) {
		int e = ini_parse(conf, cfg_handler, &cp);

		if (e != 0 || cp.err != 0) {
			tt_err_log("as: config %s: %s", conf, cp.err != 0 ? cp.bad :
			    e < 0 ? "cannot read" : "syntax error");
			goto out;
		}
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
	if (cp.admin_token_file != NULL && (r = read_token(cp.admin_token_file, &ctx)) != 0)
		goto out;
	if (!ctx.admin_enabled)
		tt_info("as: no admin token configured: admin endpoints are disabled");

	/* Block the stop signals before any thread exists so that only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ctx.cfg = &cfg;
	ctx.ops = &tt_as_store_sqlite;
	if ((r = tt_as_nonces_new(cfg.max_challenges, &ctx.nonces)) != 0)
		goto out;
	if ((r = ctx.ops->open(cfg.data_dir, &ctx.st)) != 0)
		goto out;
	if ((r = tt_as_issuer_open(cfg.data_dir, ctx.st, ctx.ops, &ctx.issuer)) != 0)
		goto out;
	if ((r = tt_as_http_start(&ctx, &http)) != 0)
		goto out;
	tt_info("as: listening on %s:%u (store %s, data %s)", cfg.listen_host, cfg.port,
	    ctx.ops->name, cfg.data_dir);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP)
			continue;   /* nothing to reload yet: policies live in the store */
		break;
	}
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
	OPENSSL_cleanse(ctx.admin_digest, sizeof(ctx.admin_digest));
	free(cfg.listen_host);
	free(cfg.data_dir);
	free(cp.listen);
	free(cp.admin_token_file);
	return rc;
}
