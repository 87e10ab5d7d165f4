/*
 * turtled configuration file (INI through libinih).
 *
 * libinih gives us the tokenising; everything else is ours: every section and key is
 * known, every number goes through util/num.h with a range, and the first error names
 * its line. libinih's handler is not told the line number (Debian builds it without
 * INI_HANDLER_LINENO) and is not called for a section that has no keys, so we feed it
 * through our own line reader, which counts lines, refuses over-long lines (libinih
 * would silently split them) and sees every section header, empty or not.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "service/config.h"
#include "turtle/error.h"
#include "util/mem.h"
#include "util/num.h"
#include "wire/header.h"

/* Mirrors TT_MAX_PROVIDERS / TT_APP_NAME_MAX in service.h, which this file does not
 * include so that the config parser links without the request path. */
#define CFG_MAX_PROVIDERS 8
#define CFG_NAME_MAX 256
#define CFG_MAX_ADMINS 1024
#define CFG_MAX_PROVIDER_KEYS 64
/* sizeof(struct sockaddr_un.sun_path) - 1 */
#define CFG_SOCKET_PATH_MAX 107
#define CFG_PATH_MAX 4095
#define CFG_LINE_MAX 200   /* libinih's INI_MAX_LINE in Debian's build */

enum cfg_section {
	SEC_NONE,
	SEC_SERVICE,
	SEC_LIMITS,
	SEC_AUTHENTICATOR,
	SEC_AGENT,
	SEC_PROVIDER,
};

struct cfg_parse {
	struct tt_config *c;
	FILE *f;
	const char *path;
	unsigned line;
	unsigned err_line;           /* line of the first error */
	int err;                     /* first error, 0 if none */
	char *errbuf;
	size_t errlen;
	enum cfg_section sec;
	struct tt_provider_conf *prov;   /* current [provider.X] */
	/* Keys seen in the current fixed section, to refuse duplicates. */
	char seen[32][32];
	size_t n_seen;
	bool admins_set;
};

static void
cfg_error(struct cfg_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cfg_error(struct cfg_parse *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->err != 0)
		return;   /* keep the first error: later ones are often consequences */
	p->err = TT_ERR_CONFIG;
	p->err_line = p->line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errbuf != NULL && p->errlen > 0)
		snprintf(p->errbuf, p->errlen, "%s:%u: %s", p->path, p->line, msg);
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

/* Replace *dst with a copy of s; 0 or TT_ERR_NO_MEMORY. */
static int
set_str(char **dst, const char *s)
{
	char *d = xstrdup(s);

	if (d == NULL)
		return TT_ERR_NO_MEMORY;
	free(*dst);
	*dst = d;
	return 0;
}

static void
free_admins(struct tt_admin *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].name);
	free(a);
}

static void
free_provider(struct tt_provider_conf *p)
{
	free(p->type);
	for (size_t i = 0; i < p->n; i++) {
		free(p->keys[i]);
		free(p->values[i]);
	}
	free(p->keys);
	free(p->values);
	memset(p, 0, sizeof(*p));
}

void
tt_config_defaults(struct tt_config *c)
{
	memset(c, 0, sizeof(*c));
	/* A failed strdup leaves NULL, which tt_config_finish fills again (and reports). */
	c->socket_path = xstrdup(TT_CONFIG_DEFAULT_SOCKET);
	c->data_dir = xstrdup(TT_CONFIG_DEFAULT_DATA_DIR);
	c->kim_path = NULL;
	c->socket_mode = 0666;
	c->threads = 4;
	c->log_level = TT_LOG_INFO;
	c->max_connections = 1024;
	c->max_body = 1024 * 1024;
	c->max_auth = 8 * 1024;
	c->max_response = 1024 * 1024;
	c->read_timeout_ms = 5000;
	c->idle_timeout_ms = 60000;
	c->max_keys_per_client = 1000;
	c->max_clients = 1024;
	c->max_buffered = 0;            /* derived in tt_config_finish */
	c->max_buffered_per_uid = 0;
	c->max_connections_per_uid = 256;
	c->auth_direct = true;
	c->auth_unix_peer = true;
	c->tsm_max = TT_CONFIG_TSM_MAX_DEFAULT;
	c->ccel_max = TT_CONFIG_CCEL_MAX_DEFAULT;
}

void
tt_config_free(struct tt_config *c)
{
	if (c == NULL)
		return;
	free(c->socket_path);
	free(c->data_dir);
	free(c->kim_path);
	free(c->tsm_report_dir);
	free(c->ccel_path);
	free_admins(c->admins, c->n_admins);
	for (size_t i = 0; i < c->n_providers; i++)
		free_provider(&c->providers[i]);
	free(c->providers);
	memset(c, 0, sizeof(*c));
}

bool
tt_config_is_admin(const struct tt_config *c, uint8_t auth_type, const char *name)
{
	if (c == NULL || name == NULL)
		return false;
	for (size_t i = 0; i < c->n_admins; i++) {
		if (c->admins[i].auth_type != 0 && c->admins[i].auth_type != auth_type)
			continue;
		/* Names are identities, not secrets: a plain comparison is fine. */
		if (strcmp(c->admins[i].name, name) == 0)
			return true;
	}
	return false;
}

/* --- value parsers ------------------------------------------------------------ */

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return TT_ERR_PARSE;
}

static int
parse_size_range(const char *v, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t x;

	if (tt_parse_size(v, max, &x) != 0 || x < min)
		return TT_ERR_PARSE;
	*out = (uint32_t)x;
	return 0;
}

static bool
is_abs_path(const char *v, size_t max)
{
	return v[0] == '/' && strlen(v) <= max;
}

/* Parse a comma-separated admin list into a fresh array. */
static int
parse_admins(struct cfg_parse *p, const char *v, struct tt_admin **out, size_t *nout)
{
	struct tt_admin *a = NULL, *na;
	size_t n = 0;
	const char *s = v;
	int r = 0;

	while (*s != '\0') {
		const char *e = strchr(s, ',');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
		const char *b = s, *name;
		uint8_t type = 0;
		size_t nlen;
		char *copy;

		while (len > 0 && isspace((unsigned char)*b)) {
			b++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)b[len - 1]))
			len--;
		name = b;
		nlen = len;
		if (nlen >= 7 && strncmp(b, "direct:", 7) == 0) {
			type = TT_AUTH_DIRECT;
			name = b + 7;
			nlen -= 7;
		} else if (nlen >= 5 && strncmp(b, "unix:", 5) == 0) {
			type = TT_AUTH_UNIX_PEER;
			name = b + 5;
			nlen -= 5;
		}
		if (nlen == 0) {
			cfg_error(p, "admins: empty entry");
			r = TT_ERR_CONFIG;
			goto out;
		}
		if (nlen > CFG_NAME_MAX) {
			cfg_error(p, "admins: name longer than %d bytes", CFG_NAME_MAX);
			r = TT_ERR_CONFIG;
			goto out;
		}
		if (n >= CFG_MAX_ADMINS) {
			cfg_error(p, "admins: more than %d entries", CFG_MAX_ADMINS);
			r = TT_ERR_CONFIG;
			goto out;
		}
		if ((copy = tt_strndup_bounded(name, nlen, CFG_NAME_MAX)) == NULL) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		if (type == TT_AUTH_UNIX_PEER) {
			uint32_t uid;

			/* A unix-peer identity is a uid; refuse user names early, since
			 * they would silently never match. */
			if (tt_parse_u32(copy, 0, UINT32_MAX - 1, &uid) != 0) {
				cfg_error(p, "admins: '%s' is not a numeric uid", copy);
				free(copy);
				r = TT_ERR_CONFIG;
				goto out;
			}
		}
		if ((na = realloc(a, (n + 1) * sizeof(*a))) == NULL) {
			free(copy);
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
		a = na;
		a[n].auth_type = type;
		a[n].name = copy;
		n++;
		if (e == NULL)
			break;
		s = e + 1;
		if (*s == '\0') {
			cfg_error(p, "admins: empty entry");
			r = TT_ERR_CONFIG;
			goto out;
		}
	}
	*out = a;
	*nout = n;
	a = NULL;
	n = 0;
out:
	free_admins(a, n);
	return r;
}

/* --- section handlers ------------------------------------------------------------ */

/* Refuse a key given twice in a fixed section (also catches libinih's multi-line
 * continuation, which would otherwise re-set a value behind the reader's back). */
static bool
seen_before(struct cfg_parse *p, const char *name)
{
	for (size_t i = 0; i < p->n_seen; i++) {
		if (strcmp(p->seen[i], name) == 0)
			return true;
	}
	if (p->n_seen < sizeof(p->seen) / sizeof(p->seen[0]) && strlen(name) < sizeof(p->seen[0])) {
		memcpy(p->seen[p->n_seen], name, strlen(name) + 1);
		p->n_seen++;
	}
	return false;
}

static void
on_service(struct cfg_parse *p, const char *name, const char *v)
{
	struct tt_config *c = p->c;

	if (strcmp(name, "socket") == 0) {
		if (!is_abs_path(v, CFG_SOCKET_PATH_MAX))
			cfg_error(p, "socket: must be an absolute path of at most %d bytes",
			    CFG_SOCKET_PATH_MAX);
		else if (set_str(&c->socket_path, v) != 0)
			cfg_error(p, "out of memory");
	} else if (strcmp(name, "data_dir") == 0) {
		if (!is_abs_path(v, CFG_PATH_MAX))
			cfg_error(p, "data_dir: must be an absolute path");
		else if (set_str(&c->data_dir, v) != 0)
			cfg_error(p, "out of memory");
	} else if (strcmp(name, "kim_path") == 0) {
		if (!is_abs_path(v, CFG_PATH_MAX))
			cfg_error(p, "kim_path: must be an absolute path");
		else if (set_str(&c->kim_path, v) != 0)
			cfg_error(p, "out of memory");
	} else if (strcmp(name, "socket_mode") == 0) {
		if (tt_parse_mode(v, &c->socket_mode) != 0)
			cfg_error(p, "socket_mode: '%s' is not an octal mode in 0..0777", v);
	} else if (strcmp(name, "threads") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_THREADS_MIN, TT_CONFIG_THREADS_MAX, &c->threads) != 0)
			cfg_error(p, "threads: '%s' is not a decimal number in %d..%d", v,
			    TT_CONFIG_THREADS_MIN, TT_CONFIG_THREADS_MAX);
	} else if (strcmp(name, "log_level") == 0) {
		if (tt_log_level_parse(v, &c->log_level) != 0)
			cfg_error(p, "log_level: '%s' is not one of error, warn, info, debug", v);
	} else {
		cfg_error(p, "unknown key '%s' in [service]", name);
	}
}

static void
on_limits(struct cfg_parse *p, const char *name, const char *v)
{
	struct tt_config *c = p->c;

	if (strcmp(name, "max_keys_per_client") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_QUOTA_MIN, TT_CONFIG_QUOTA_MAX,
		    &c->max_keys_per_client) != 0)
			cfg_error(p, "max_keys_per_client: '%s' is not a decimal number in %d..%d", v,
			    TT_CONFIG_QUOTA_MIN, TT_CONFIG_QUOTA_MAX);
	} else if (strcmp(name, "max_clients") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_QUOTA_MIN, TT_CONFIG_QUOTA_MAX, &c->max_clients) != 0)
			cfg_error(p, "max_clients: '%s' is not a decimal number in %d..%d", v,
			    TT_CONFIG_QUOTA_MIN, TT_CONFIG_QUOTA_MAX);
	} else if (strcmp(name, "max_connections") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_MAX_CONN_MIN, TT_CONFIG_MAX_CONN_MAX,
		    &c->max_connections) != 0)
			cfg_error(p, "max_connections: '%s' is not a decimal number in %d..%d", v,
			    TT_CONFIG_MAX_CONN_MIN, TT_CONFIG_MAX_CONN_MAX);
	} else if (strcmp(name, "max_body") == 0) {
		if (parse_size_range(v, TT_CONFIG_MAX_BODY_MIN, TT_CONFIG_MAX_BODY_MAX,
		    &c->max_body) != 0)
			cfg_error(p, "max_body: '%s' is not a decimal size in 1K..256M", v);
	} else if (strcmp(name, "max_auth") == 0) {
		if (parse_size_range(v, TT_CONFIG_MAX_AUTH_MIN, TT_CONFIG_MAX_AUTH_MAX,
		    &c->max_auth) != 0)
			cfg_error(p, "max_auth: '%s' is not a decimal size in 16..65535", v);
	} else if (strcmp(name, "max_response") == 0) {
		if (parse_size_range(v, TT_CONFIG_MAX_BODY_MIN, TT_CONFIG_MAX_BODY_MAX,
		    &c->max_response) != 0)
			cfg_error(p, "max_response: '%s' is not a decimal size in 1K..256M", v);
	} else if (strcmp(name, "read_timeout_ms") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_TIMEOUT_MIN, TT_CONFIG_READ_TIMEOUT_MAX,
		    &c->read_timeout_ms) != 0)
			cfg_error(p, "read_timeout_ms: '%s' is not a decimal number in %d..%d", v,
			    TT_CONFIG_TIMEOUT_MIN, TT_CONFIG_READ_TIMEOUT_MAX);
	} else if (strcmp(name, "idle_timeout_ms") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_TIMEOUT_MIN, TT_CONFIG_IDLE_TIMEOUT_MAX,
		    &c->idle_timeout_ms) != 0)
			cfg_error(p, "idle_timeout_ms: '%s' is not a decimal number in %d..%d", v,
			    TT_CONFIG_TIMEOUT_MIN, TT_CONFIG_IDLE_TIMEOUT_MAX);
	} else if (strcmp(name, "max_buffered") == 0) {
		if (parse_size_range(v, TT_CONFIG_BUFFERED_MIN, TT_CONFIG_BUFFERED_MAX,
		    &c->max_buffered) != 0)
			cfg_error(p, "max_buffered: '%s' is not a decimal size in 1M..2G", v);
	} else if (strcmp(name, "max_buffered_per_uid") == 0) {
		if (parse_size_range(v, TT_CONFIG_BUFFERED_MIN, TT_CONFIG_BUFFERED_MAX,
		    &c->max_buffered_per_uid) != 0)
			cfg_error(p, "max_buffered_per_uid: '%s' is not a decimal size in 1M..2G", v);
	} else if (strcmp(name, "max_connections_per_uid") == 0) {
		if (tt_parse_u32(v, TT_CONFIG_MAX_CONN_MIN, TT_CONFIG_MAX_CONN_MAX,
		    &c->max_connections_per_uid) != 0)
			cfg_error(p, "max_connections_per_uid: '%s' is not a decimal number in %d..%d",
			    v, TT_CONFIG_MAX_CONN_MIN, TT_CONFIG_MAX_CONN_MAX);
	} else {
		cfg_error(p, "unknown key '%s' in [limits]", name);
	}
}

static void
on_authenticator(struct cfg_parse *p, const char *name, const char *v)
{
	struct tt_config *c = p->c;

	if (strcmp(name, "direct") == 0) {
		if (parse_bool(v, &c->auth_direct) != 0)
			cfg_error(p, "direct: '%s' is not true or false", v);
	} else if (strcmp(name, "unix_peer") == 0) {
		if (parse_bool(v, &c->auth_unix_peer) != 0)
			cfg_error(p, "unix_peer: '%s' is not true or false", v);
	} else if (strcmp(name, "admins") == 0) {
		struct tt_admin *a = NULL;
		size_t n = 0;
		int r;

		if ((r = parse_admins(p, v, &a, &n)) != 0) {
			if (r == TT_ERR_NO_MEMORY)
				cfg_error(p, "out of memory");
			return;
		}
		/* The file's list replaces whatever was there before. */
		free_admins(c->admins, c->n_admins);
		c->admins = a;
		c->n_admins = n;
	} else {
		cfg_error(p, "unknown key '%s' in [authenticator]", name);
	}
}

static void
on_agent(struct cfg_parse *p, const char *name, const char *v)
{
	struct tt_config *c = p->c;

	if (strcmp(name, "tsm_report_dir") == 0) {
		if (!is_abs_path(v, CFG_PATH_MAX))
			cfg_error(p, "tsm_report_dir: must be an absolute path");
		else if (set_str(&c->tsm_report_dir, v) != 0)
			cfg_error(p, "out of memory");
	} else if (strcmp(name, "ccel") == 0) {
		if (!is_abs_path(v, CFG_PATH_MAX))
			cfg_error(p, "ccel: must be an absolute path");
		else if (set_str(&c->ccel_path, v) != 0)
			cfg_error(p, "out of memory");
	} else if (strcmp(name, "tsm_max") == 0) {
		if (parse_size_range(v, TT_CONFIG_AGENT_MAX_MIN, TT_CONFIG_AGENT_MAX_MAX,
		    &c->tsm_max) != 0)
			cfg_error(p, "tsm_max: '%s' is not a decimal size in 1K..16M", v);
	} else if (strcmp(name, "ccel_max") == 0) {
		if (parse_size_range(v, TT_CONFIG_AGENT_MAX_MIN, TT_CONFIG_AGENT_MAX_MAX,
		    &c->ccel_max) != 0)
			cfg_error(p, "ccel_max: '%s' is not a decimal size in 1K..16M", v);
	} else {
		cfg_error(p, "unknown key '%s' in [agent]", name);
	}
}

static void
on_provider(struct cfg_parse *p, const char *name, const char *v)
{
	struct tt_provider_conf *pc = p->prov;
	char **nk, **nv;

	for (size_t i = 0; i < pc->n; i++) {
		if (strcmp(pc->keys[i], name) == 0) {
			cfg_error(p, "key '%s' given twice in [provider.%s]", name, pc->type);
			return;
		}
	}
	if (pc->n >= CFG_MAX_PROVIDER_KEYS) {
		cfg_error(p, "too many keys in [provider.%s]", pc->type);
		return;
	}
	if ((nk = realloc(pc->keys, (pc->n + 1) * sizeof(*nk))) == NULL)
		goto oom;
	pc->keys = nk;
	if ((nv = realloc(pc->values, (pc->n + 1) * sizeof(*nv))) == NULL)
		goto oom;
	pc->values = nv;
	if ((pc->keys[pc->n] = xstrdup(name)) == NULL)
		goto oom;
	if ((pc->values[pc->n] = xstrdup(v)) == NULL) {
		free(pc->keys[pc->n]);
		goto oom;
	}
	pc->n++;
	return;
oom:
	cfg_error(p, "out of memory");
}

static bool
valid_provider_type(const char *t)
{
	if (*t == '\0' || strlen(t) > 32)
		return false;
	for (; *t != '\0'; t++) {
		if (!islower((unsigned char)*t) && !isdigit((unsigned char)*t) && *t != '_' &&
		    *t != '-')
			return false;
	}
	return true;
}

/* A section header line was read: switch sections (called from the line reader, so it
 * also sees sections that have no keys). */
static void
enter_section(struct cfg_parse *p, const char *name)
{
	struct tt_config *c = p->c;
	struct tt_provider_conf *np;

	p->n_seen = 0;
	p->prov = NULL;
	if (strcmp(name, "service") == 0) {
		p->sec = SEC_SERVICE;
	} else if (strcmp(name, "limits") == 0) {
		p->sec = SEC_LIMITS;
	} else if (strcmp(name, "authenticator") == 0) {
		p->sec = SEC_AUTHENTICATOR;
	} else if (strcmp(name, "agent") == 0) {
		p->sec = SEC_AGENT;
	} else if (strncmp(name, "provider.", 9) == 0) {
		const char *type = name + 9;

		p->sec = SEC_PROVIDER;
		if (!valid_provider_type(type)) {
			cfg_error(p, "bad provider name in [%s] (use [a-z0-9_-])", name);
			return;
		}
		for (size_t i = 0; i < c->n_providers; i++) {
			if (strcmp(c->providers[i].type, type) == 0) {
				cfg_error(p, "section [%s] given twice", name);
				return;
			}
		}
		if (c->n_providers >= CFG_MAX_PROVIDERS) {
			cfg_error(p, "more than %d provider sections", CFG_MAX_PROVIDERS);
			return;
		}
		np = realloc(c->providers, (c->n_providers + 1) * sizeof(*np));
		if (np == NULL) {
			cfg_error(p, "out of memory");
			return;
		}
		c->providers = np;
		memset(&np[c->n_providers], 0, sizeof(*np));
		if ((np[c->n_providers].type = xstrdup(type)) == NULL) {
			cfg_error(p, "out of memory");
			return;
		}
		p->prov = &np[c->n_providers];
		c->n_providers++;
	} else {
		p->sec = SEC_NONE;
		cfg_error(p, "unknown section [%s]", name);
	}
}

static int
cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *p = user;

	(void)section;   /* tracked by the line reader, which also sees empty sections */
	if (p->err != 0)
		return 1;
	if (p->sec != SEC_PROVIDER && seen_before(p, name)) {
		cfg_error(p, "key '%s' given twice", name);
		return 1;
	}
	switch (p->sec) {
	case SEC_NONE:
		cfg_error(p, "key '%s' outside of any section", name);
		break;
	case SEC_SERVICE:
		on_service(p, name, value);
		break;
	case SEC_LIMITS:
		on_limits(p, name, value);
		break;
	case SEC_AUTHENTICATOR:
		on_authenticator(p, name, value);
		break;
	case SEC_AGENT:
		on_agent(p, name, value);
		break;
	case SEC_PROVIDER:
		if (p->prov != NULL)
			on_provider(p, name, value);
		break;
	}
	/* Errors are recorded in p; returning 1 keeps libinih from replacing our message
	 * with a bare line number. */
	return 1;
}

/* libinih line reader: fgets plus line counting and section tracking. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	char *s, *e;
	size_t n;

	if (p->err != 0)
		return NULL;   /* stop parsing at the first error */
	if (fgets(str, num, p->f) == NULL)
		return NULL;
	p->line++;
	n = strlen(str);
	if (n > 0 && str[n - 1] == '\n') {
		str[--n] = '\0';
		if (n > 0 && str[n - 1] == '\r')
			str[--n] = '\0';
	} else if (!feof(p->f)) {
		cfg_error(p, "line too long (more than %d bytes)", CFG_LINE_MAX - 2);
		return NULL;
	}
	/* Section header: the same shape libinih accepts ("[" name "]", name not trimmed),
	 * so that both agree on where sections start. */
	s = str;
	if (p->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
	    (unsigned char)s[2] == 0xBF)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '[') {
		char name[CFG_LINE_MAX];

		if ((e = strchr(s + 1, ']')) == NULL) {
			cfg_error(p, "section header without ']'");
			return NULL;
		}
		n = (size_t)(e - (s + 1));
		memcpy(name, s + 1, n);
		name[n] = '\0';
		enter_section(p, name);
		if (p->err != 0)
			return NULL;
	}
	return str;
}

/* The largest request (max_body + max_auth) or response (max_response + header). */
static uint64_t
largest_frame(const struct tt_config *c)
{
	uint64_t req = (uint64_t)c->max_body + c->max_auth, resp = (uint64_t)c->max_response + 36;

	return req > resp ? req : resp;
}

/* One request or one response must fit in what a single client may have buffered, or
 * it could never be served. Only values given in the file are checked here; the
 * defaults grow with the frame limits (tt_config_finish). */
static void
check_buffer_limits(struct cfg_parse *p)
{
	const struct tt_config *c = p->c;
	uint64_t big = largest_frame(c);

	if (c->max_buffered_per_uid != 0 && c->max_buffered != 0 &&
	    c->max_buffered_per_uid > c->max_buffered)
		cfg_error(p, "max_buffered_per_uid (%u) is above max_buffered (%u)",
		    c->max_buffered_per_uid, c->max_buffered);
	else if ((c->max_buffered_per_uid != 0 && c->max_buffered_per_uid < big) ||
	    (c->max_buffered != 0 && c->max_buffered < big))
		cfg_error(p, "max_buffered and max_buffered_per_uid must hold the largest request "
		    "(max_body + max_auth) or response (max_response + 36): %llu bytes",
		    (unsigned long long)big);
}

int
tt_config_load(const char *path, struct tt_config *c, char *errbuf, size_t errlen)
{
	struct cfg_parse p;
	int r;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.path = path;
	p.errbuf = errbuf;
	p.errlen = errlen;
	p.f = fopen(path, "re");
	if (p.f == NULL) {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return TT_ERR_IO;
	}
	r = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	if (p.err == 0 && ferror(p.f)) {
		cfg_error(&p, "read error");
	} else if (r > 0 && (p.err == 0 || (unsigned)r < p.err_line)) {
		/* libinih could not parse a line (no '=' or ':') before any error of ours;
		 * it only tells us the line number, after the fact. */
		p.err = 0;
		p.line = (unsigned)r;
		cfg_error(&p, "syntax error (expected 'key = value' or '[section]')");
	}
	fclose(p.f);
	if (p.err == 0)
		check_buffer_limits(&p);
	return p.err;
}

int
tt_config_finish(struct tt_config *c)
{
	uint64_t big = largest_frame(c);

	/* Buffer budgets not set: 16 MiB per uid and 64 MiB in all, or the largest frame. */
	if (c->max_buffered_per_uid == 0)
		c->max_buffered_per_uid = (uint32_t)(big > 16u << 20 ? big : 16u << 20);
	if (c->max_buffered == 0)
		c->max_buffered = c->max_buffered_per_uid > 64u << 20 ? c->max_buffered_per_uid :
		    64u << 20;
	if (c->max_buffered_per_uid > c->max_buffered)
		c->max_buffered_per_uid = c->max_buffered;   /* max_buffered given, >= big */
	if (c->socket_path == NULL && (c->socket_path = xstrdup(TT_CONFIG_DEFAULT_SOCKET)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (c->data_dir == NULL && (c->data_dir = xstrdup(TT_CONFIG_DEFAULT_DATA_DIR)) == NULL)
		return TT_ERR_NO_MEMORY;
	if (c->kim_path == NULL) {
		size_t n = strlen(c->data_dir) + sizeof("/keys.sqlite3");

		if ((c->kim_path = malloc(n)) == NULL)
			return TT_ERR_NO_MEMORY;
		snprintf(c->kim_path, n, "%s/keys.sqlite3", c->data_dir);
	}
	if (c->n_providers == 0) {
		if ((c->providers = calloc(1, sizeof(*c->providers))) == NULL)
			return TT_ERR_NO_MEMORY;
		if ((c->providers[0].type = xstrdup("soft")) == NULL)
			return TT_ERR_NO_MEMORY;
		c->n_providers = 1;
	}
	return 0;
}
