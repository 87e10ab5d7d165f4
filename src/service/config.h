/*
 * turtled configuration: defaults, the INI config file, and the limits.
 * Reference: docs/config.md. (PARSEC uses TOML; Debian has no C TOML library, so
 * turtled reads INI through libinih with the same settings grouped in sections.)
 */
#ifndef TT_SERVICE_CONFIG_H
#define TT_SERVICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

/* Defaults and accepted ranges (docs/config.md lists them for users). */
#define TT_CONFIG_DEFAULT_SOCKET   "/run/turtle/turtled.sock"
#define TT_CONFIG_DEFAULT_DATA_DIR "/var/lib/turtle"
#define TT_CONFIG_THREADS_MIN      1
#define TT_CONFIG_THREADS_MAX      256
#define TT_CONFIG_MAX_CONN_MIN     1
#define TT_CONFIG_MAX_CONN_MAX     1000000
#define TT_CONFIG_MAX_BODY_MIN     1024                  /* also max_response */
#define TT_CONFIG_MAX_BODY_MAX     (256u * 1024 * 1024)  /* also max_response */
#define TT_CONFIG_MAX_AUTH_MIN     16
#define TT_CONFIG_MAX_AUTH_MAX     65535                 /* auth_len is 16 bits on the wire */
#define TT_CONFIG_QUOTA_MIN        1
#define TT_CONFIG_QUOTA_MAX        1000000               /* max_keys_per_client, max_clients */
#define TT_CONFIG_BUFFERED_MIN     (1024u * 1024)        /* max_buffered[_per_uid] */
#define TT_CONFIG_BUFFERED_MAX     (2048u * 1024 * 1024)
#define TT_CONFIG_TIMEOUT_MIN      10
#define TT_CONFIG_READ_TIMEOUT_MAX 3600000               /* 1 hour */
#define TT_CONFIG_IDLE_TIMEOUT_MAX 86400000              /* 1 day */
/* [agent]: confidential-guest evidence (configfs-tsm, docs/agent.md) */
#define TT_CONFIG_DEFAULT_TSM_DIR  "/sys/kernel/config/tsm/report"
#define TT_CONFIG_DEFAULT_CCEL     "/sys/firmware/acpi/tables/data/CCEL"
#define TT_CONFIG_TSM_MAX_DEFAULT  (128u * 1024)          /* outblob, auxblob */
#define TT_CONFIG_CCEL_MAX_DEFAULT (256u * 1024)
#define TT_CONFIG_AGENT_MAX_MIN    1024
#define TT_CONFIG_AGENT_MAX_MAX    (16u * 1024 * 1024)

struct tt_admin {
	uint8_t auth_type;      /* 0: any authenticator */
	char *name;             /* application name (direct) or uid (unix peer) */
};

struct tt_provider_conf {
	char *type;             /* "soft", ... */
	size_t n;
	char **keys;
	char **values;
};

struct tt_config {
	/* [service] */
	char *socket_path;          /* default /run/turtle/turtled.sock */
	char *data_dir;             /* default /var/lib/turtle */
	char *kim_path;             /* default <data_dir>/keys.sqlite3 */
	uint32_t socket_mode;       /* default 0666: access control is the authenticator's job */
	uint32_t threads;           /* worker threads, default 4 */
	enum tt_log_level log_level;
	/* [limits] */
	uint32_t max_connections;   /* default 1024 */
	uint32_t max_body;          /* default 1 MiB */
	uint32_t max_auth;          /* default 8 KiB */
	uint32_t max_response;      /* default 1 MiB */
	uint32_t read_timeout_ms;   /* a started request must complete within this; default 5000 */
	uint32_t idle_timeout_ms;   /* idle persistent connection lifetime; default 60000 */
	uint32_t max_keys_per_client; /* key store rows per client, default 1000 */
	uint32_t max_clients;       /* clients holding keys, default 1024 (ListClients fits) */
	uint32_t max_buffered;      /* request and response bytes held, all clients; 64 MiB */
	uint32_t max_buffered_per_uid;      /* the same for one peer uid; default 16 MiB */
	uint32_t max_connections_per_uid;   /* default 256 */
	/* [authenticator] */
	bool auth_direct;           /* default true */
	bool auth_unix_peer;        /* default true */
	struct tt_admin *admins;
	size_t n_admins;
	/* [agent] (read per request from the current config, so SIGHUP applies them) */
	char *tsm_report_dir;       /* NULL: TT_CONFIG_DEFAULT_TSM_DIR */
	uint32_t tsm_max;           /* bound on outblob and on auxblob, default 128 KiB */
	char *ccel_path;            /* NULL: TT_CONFIG_DEFAULT_CCEL */
	uint32_t ccel_max;          /* default 256 KiB */
	/* [provider.NAME] sections in file order; the first is the default provider.
	 * With no provider section, one "soft" provider is configured. */
	struct tt_provider_conf *providers;
	size_t n_providers;
};

void tt_config_defaults(struct tt_config *c);
/* Parse `path` over the defaults already in *c. On error, errbuf says which line and why
 * ("FILE:LINE: message"); *c may then be partly updated and should only be freed.
 * Returns 0, TT_ERR_IO (cannot open/read) or TT_ERR_CONFIG. */
int tt_config_load(const char *path, struct tt_config *c, char *errbuf, size_t errlen);
/* Fill derived defaults (kim_path, provider list) after loading and options. */
int tt_config_finish(struct tt_config *c);
void tt_config_free(struct tt_config *c);
bool tt_config_is_admin(const struct tt_config *c, uint8_t auth_type, const char *name);

#endif
