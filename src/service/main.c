/*
 * turtled: start-up, signals, reload and shutdown around the connection server.
 *
 * Signals are blocked in every thread and read from a signalfd by the main thread, which
 * also runs the timeout sweeper between signals; no work happens in signal context.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tt_config.h"

#include "service/config.h"
#include "service/listener.h"
#include "util/sdnotify.h"
#include "service/service.h"
#include "turtle/error.h"
#include "util/crash.h"
#include "util/log.h"
#include "util/num.h"

#define SWEEP_INTERVAL_MS 200

/* Command-line settings; they override the config file, also on reload. */
struct opts {
	char *config;
	char *socket;
	char *data_dir;
	bool have_log_level;
	enum tt_log_level log_level;
	bool foreground;
	bool allow_root;
};

/* Settings that only a restart can change, remembered to warn on reload. */
struct startup {
	char *socket_path;
	uint32_t socket_mode;
	uint32_t threads;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: turtled [OPTIONS]\n"
	    "The Turtle node key service (PARSEC wire protocol 1.0).\n"
	    "\n"
	    "  -c, --config FILE     read settings from FILE (INI; see docs/config.md)\n"
	    "  -s, --socket PATH     listen on the Unix socket PATH\n"
	    "                        (default " TT_CONFIG_DEFAULT_SOCKET ")\n"
	    "  -d, --data-dir DIR    key store and provider data (default "
	    TT_CONFIG_DEFAULT_DATA_DIR ")\n"
	    "  -f, --foreground      do not daemonise (use this under systemd)\n"
	    "      --allow-root      run even with effective uid 0 (not recommended)\n"
	    "  -l, --log-level L     error, warn, info or debug\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            print this help and exit\n"
	    "\n"
	    "Without --config, turtled runs the software provider with a SQLite key store\n"
	    "in the data directory. SIGHUP reloads the config file; SIGTERM drains and exits.\n");
}

/* Paths given on the command line are made absolute before daemonising (chdir /). */
static char *
absolute(const char *p)
{
	char cwd[PATH_MAX];
	size_t n;
	char *r;

	if (p[0] == '/')
		return strdup(p);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	n = strlen(cwd) + 1 + strlen(p) + 1;
	if ((r = malloc(n)) != NULL)
		snprintf(r, n, "%s/%s", cwd, p);
	return r;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_ALLOW_ROOT = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char **dst;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:s:d:fl:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
		case 's':
		case 'd':
			dst = ch == 'c' ? &o->config : ch == 's' ? &o->socket : &o->data_dir;
			free(*dst);
			if ((*dst = absolute(optarg)) == NULL) {
				fprintf(stderr, "turtled: cannot resolve %s\n", optarg);
				return 1;
			}
			break;
		case 'f':
			o->foreground = true;
			break;
		case OPT_ALLOW_ROOT:
			o->allow_root = true;
			break;
		case 'l':
			if (tt_log_level_parse(optarg, &o->log_level) != 0) {
				fprintf(stderr, "turtled: --log-level: '%s' is not one of error, warn, "
				    "info, debug\n", optarg);
				return 1;
			}
			o->have_log_level = true;
			break;
		case 'V':
			printf("turtled %s\n", TT_VERSION);
			return -1;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "turtled: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	if (o->socket != NULL && strlen(o->socket) > 107) {
		fprintf(stderr, "turtled: --socket: path longer than 107 bytes\n");
		return 1;
	}
	return 0;
}

static int
replace(char **dst, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		return TT_ERR_NO_MEMORY;
	free(*dst);
	*dst = d;
	return 0;
}

/* Defaults, then the file, then the command line, then derived values. */
static int
build_config(const struct opts *o, struct tt_config **out)
{
	struct tt_config *c = calloc(1, sizeof(*c));
	char err[512];
	int r;

	if (c == NULL)
		return TT_ERR_NO_MEMORY;
	tt_config_defaults(c);
	if (o->config != NULL && (r = tt_config_load(o->config, c, err, sizeof(err))) != 0) {
		tt_err_log("config: %s", err);
		goto out;
	}
	if (o->socket != NULL && (r = replace(&c->socket_path, o->socket)) != 0)
		goto out;
	if (o->data_dir != NULL) {
		if ((r = replace(&c->data_dir, o->data_dir)) != 0)
			goto out;
	}
	if (o->have_log_level)
		c->log_level = o->log_level;
	if ((r = tt_config_finish(c)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	if (c != NULL) {
		tt_config_free(c);
		free(c);
	}
	return r;
}

static void
provider_list(const struct tt_config *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->n_providers && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i > 0 ? "," : "",
		    c->providers[i].type);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int
remember_startup(const struct tt_config *c, struct startup *st)
{
	st->socket_path = strdup(c->socket_path);
	st->socket_mode = c->socket_mode;
	st->threads = c->threads;
	if (st->socket_path == NULL)
		return TT_ERR_NO_MEMORY;
	return 0;
}

static void
log_summary(const struct tt_config *c, bool activated)
{
	char prov[256];

	provider_list(c, prov, sizeof(prov));
	tt_info("turtled %s starting: socket %s%s (mode %04o), data dir %s, key store %s",
	    TT_VERSION, activated ? "(systemd-activated) " : "", c->socket_path,
	    (unsigned)c->socket_mode, c->data_dir, c->kim_path);
	tt_info("providers: %s; authenticators: direct=%s unix_peer=%s; %zu admin(s); "
	    "%u worker thread(s)", prov, c->auth_direct ? "on" : "off",
	    c->auth_unix_peer ? "on" : "off", c->n_admins, c->threads);
	tt_info("limits: max_connections %u, max_body %u, max_auth %u, max_response %u, "
	    "read_timeout %u ms, idle_timeout %u ms", c->max_connections, c->max_body,
	    c->max_auth, c->max_response, c->read_timeout_ms, c->idle_timeout_ms);
}

static void
notify(const char *state)
{
	tt_sd_notify(state);
}

/* SIGHUP: re-read and apply what can change at run time; warn about the rest. */
static void
reload(struct tt_service *svc, const struct opts *o, const struct startup *st)
{
	struct tt_config *c = NULL;
	int r;

	notify("RELOADING=1");
	tt_info("SIGHUP: reloading %s", o->config != NULL ? o->config : "(no config file)");
	if ((r = build_config(o, &c)) != 0) {
		tt_err_log("reload failed, keeping the running configuration: %s", tt_strerror(r));
		goto out;
	}
	/* tt_service_reload warns about paths and providers; these two are ours. */
	if (c->socket_mode != st->socket_mode)
		tt_warn("reload: socket_mode changed; it takes effect after a restart");
	if (c->threads != st->threads)
		tt_warn("reload: threads changed; it takes effect after a restart (still %u)",
		    st->threads);
	tt_log_set_level(c->log_level);
	if ((r = tt_service_reload(svc, c)) != 0) {
		/* tt_service_reload owns c in every case */
		tt_err_log("reload failed: %s", tt_strerror(r));
		goto out;
	}
	tt_info("reload: limits, authenticators, admins, [agent] and log level applied");
out:
	notify("READY=1");
}

/*
 * Daemonise with a readiness pipe: the original process waits until the daemon says it
 * is listening (exit 0) or dies (exit 1), so `turtled && client` works and start-up
 * errors still reach the terminal, which the daemon keeps as stderr until it is ready.
 */
static int
daemon_begin(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char b;

	/* Nothing of ours is open yet: drop whatever the caller leaked to us, except
	 * sockets passed by a service manager. */
	if (getenv("LISTEN_FDS") == NULL)
		(void)close_range(3, ~0U, 0);
	if (pipe2(p, O_CLOEXEC) != 0)
		return TT_ERR_IO;
	if ((pid = fork()) < 0)
		return TT_ERR_IO;
	if (pid > 0) {
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &b, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && b == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	if ((pid = fork()) < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);   /* the grandchild is not a session leader: no controlling tty ever */
	if (chdir("/") != 0)
		_exit(1);
	*ready_fd = p[1];
	return 0;
}

/* stderr is kept if it is the journal's stream (systemd sets JOURNAL_STREAM). */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	char dev_s[32];
	const char *colon;
	uint64_t dev, ino;
	struct stat st;

	/* "DEV:INO", both decimal */
	if (js == NULL || (colon = strchr(js, ':')) == NULL ||
	    (size_t)(colon - js) >= sizeof(dev_s))
		return false;
	memcpy(dev_s, js, (size_t)(colon - js));
	dev_s[colon - js] = '\0';
	if (tt_parse_u64(dev_s, 0, UINT64_MAX, &dev) != 0 ||
	    tt_parse_u64(colon + 1, 0, UINT64_MAX, &ino) != 0)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (uint64_t)st.st_dev == dev &&
	    (uint64_t)st.st_ino == ino;
}

static void
daemon_ready(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (!stderr_is_journal())
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (write(ready_fd, "R", 1) != 1)
		tt_warn("cannot signal readiness to the parent");
	close(ready_fd);
}

/* Each connection is an fd: lift the soft limit (often 1024) towards max_connections
 * plus room for the key store and providers, within the hard limit. */
static void
raise_nofile(uint32_t max_connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		tt_warn("open-file limit %llu is below max_connections + 64; raise LimitNOFILE",
		    (unsigned long long)rl.rlim_cur);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct startup st;
	struct tt_config *cfg = NULL;
	struct tt_service svc;
	struct tt_server *srv = NULL;
	sigset_t mask;
	bool svc_up = false, activated = false;
	int sfd = -1, lfd = -1, ready_fd = -1, rc = 1, r;
	uint32_t drain_ms;

	tt_crash_init();
	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	if ((r = parse_args(argc, argv, &o)) != 0) {
		rc = r < 0 ? 0 : 1;
		goto out;
	}
	if (geteuid() == 0 && !o.allow_root) {
		fprintf(stderr,
		    "turtled: refusing to run as root. A key service should run as its own "
		    "unprivileged user, so that a bug in it cannot take over the machine and only "
		    "that user can read the key store (see packaging/turtled.service, User=turtle). "
		    "Use --allow-root to override.\n");
		goto out;
	}
	/* Key store, master key and socket are created private; the socket mode is then
	 * set explicitly. */
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* Request and response buffers above 128 KiB get their own mapping and go back to
	 * the system when freed. Without a fixed threshold glibc raises it after the first
	 * such free and keeps later ones in per-thread arenas, so the memory bound
	 * (max_buffered) would not bound the RSS. */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (build_config(&o, &cfg) != 0)
		goto out;
	tt_log_set_level(cfg->log_level);
	raise_nofile(cfg->max_connections);
	if (tt_mkdir_p(cfg->data_dir, 0700) != 0)
		goto out;
	if (remember_startup(cfg, &st) != 0)
		goto out;

	if (!o.foreground && daemon_begin(&ready_fd) != 0) {
		tt_err_log("cannot daemonise: %s", strerror(errno));
		goto out;
	}

	/* Block the signals before any thread exists so that every thread inherits it. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		tt_err_log("signalfd: %s", strerror(errno));
		goto out;
	}

	log_summary(cfg, false);
	if (tt_service_init(&svc, cfg) != 0) {
		cfg = NULL;   /* the service owns it even on failure */
		tt_err_log("service start-up failed");
		goto out;
	}
	cfg = NULL;
	svc_up = true;
	if (tt_listener_open(svc.cfg, &lfd, &activated) != 0)
		goto out;
	if (tt_server_start(&srv, &svc, lfd, st.threads) != 0)
		goto out;
	tt_info("ready: listening on %s", activated ? "the systemd socket" : st.socket_path);
	notify("READY=1\nSTATUS=Serving PARSEC requests");
	if (ready_fd >= 0) {
		daemon_ready(ready_fd);
		ready_fd = -1;
	}

	for (;;) {
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		struct signalfd_siginfo si;
		bool stop = false;

		if (poll(&pfd, 1, SWEEP_INTERVAL_MS) < 0 && errno != EINTR) {
			tt_err_log("poll: %s", strerror(errno));
			break;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				reload(&svc, &o, &st);
			else
				stop = true;
		}
		if (stop)
			break;
		tt_server_sweep(srv);
	}

	/* Drain: no new connections; requests in flight get their read timeout. */
	notify("STOPPING=1");
	pthread_rwlock_rdlock(&svc.cfg_lock);
	drain_ms = svc.cfg->read_timeout_ms;
	pthread_rwlock_unlock(&svc.cfg_lock);
	tt_info("shutting down: draining %zu connection(s) (at most %u ms)",
	    tt_server_connections(srv), drain_ms);
	/* Clients looking for the socket now find none rather than a dying service. */
	if (!activated && unlink(st.socket_path) != 0)
		tt_warn("cannot remove %s: %s", st.socket_path, strerror(errno));
	tt_server_drain(srv, !activated);
	for (uint64_t end = mono_ms() + drain_ms + SWEEP_INTERVAL_MS;
	    tt_server_connections(srv) > 0 && mono_ms() < end;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		tt_server_sweep(srv);
	}
	rc = 0;
out:
	tt_server_stop(srv);
	if (lfd >= 0)
		tt_listener_close(lfd, st.socket_path, activated);
	if (svc_up)
		tt_service_fini(&svc);
	if (cfg != NULL) {
		tt_config_free(cfg);
		free(cfg);
	}
	if (sfd >= 0)
		close(sfd);
	if (rc == 0 && svc_up)
		tt_info("stopped");
	free(st.socket_path);
	free(o.config);
	free(o.socket);
	free(o.data_dir);
	return rc;
}
