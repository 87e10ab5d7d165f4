/*
 * Key info manager on SQLite. See kim.h for the contract and docs/kim.md for the design.
 *
 * One connection, opened in SQLite's multi-thread mode (no SQLite-internal mutex) and
 * serialised by our own mutex: every public function holds it for its whole
 * transaction, so the prepared statements below can be shared without further care.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "service/kim/kim.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

/* Longest application or key name accepted, in bytes (without the NUL). */
#define KIM_NAME_MAX 256
/* How long a statement waits for a lock held by another connection (an operator's
 * sqlite3 shell, a checkpoint) before failing with TT_ERR_STORAGE. */
#define KIM_BUSY_TIMEOUT_MS 5000

/* ---- schema and migrations ---- */

/*
 * migrations[i] brings a database from user_version i to i + 1, inside one
 * transaction together with the user_version bump. Version 2 is one more entry.
 */
static int
mig_v1(sqlite3 *db)
{
	/* CHECK constraints mirror what row decoding enforces, so a bad value is refused
	 * when written instead of found when read. */
	static const char sql[] =
	    "CREATE TABLE keys ("
	    " auth_type INTEGER NOT NULL CHECK (auth_type BETWEEN 0 AND 255),"
	    " app TEXT NOT NULL,"
	    " name TEXT NOT NULL,"
	    " provider INTEGER NOT NULL CHECK (provider BETWEEN 0 AND 255),"
	    " kid BLOB NOT NULL UNIQUE CHECK (length(kid) = 16),"
	    " key_type INTEGER NOT NULL,"
	    " bits INTEGER NOT NULL,"
	    " usage INTEGER NOT NULL,"
	    " alg INTEGER NOT NULL,"
	    " ref BLOB,"
	    " state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),"
	    " created INTEGER NOT NULL,"
	    " UNIQUE (auth_type, app, name)"
	    ");"
	    /* Recovery scans only the few non-active rows. */
	    "CREATE INDEX keys_pending ON keys(state) WHERE state <> 2;";

	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/*
 * v2: one row per client that owns rows in any state, with its row count, kept by
 * triggers in the same statement as the change to `keys`. Quotas read it instead of
 * scanning `keys`: the number of clients is COUNT(*) over at most max_clients rows and a
 * client's key count is one lookup. Rows of `keys` never change owner (updates touch only
 * ref and state), so insert and delete triggers are enough.
 */
static int
mig_v2(sqlite3 *db)
{
	static const char sql[] =
	    "CREATE TABLE clients ("
	    " auth_type INTEGER NOT NULL,"
	    " app TEXT NOT NULL,"
	    " nkeys INTEGER NOT NULL CHECK (nkeys > 0),"
	    " PRIMARY KEY (auth_type, app)"
	    ") WITHOUT ROWID;"
	    "INSERT INTO clients SELECT auth_type, app, COUNT(*) FROM keys GROUP BY auth_type, app;"
	    "CREATE TRIGGER keys_count_ins AFTER INSERT ON keys BEGIN"
	    " INSERT INTO clients VALUES (NEW.auth_type, NEW.app, 1)"
	    "  ON CONFLICT (auth_type, app) DO UPDATE SET nkeys = nkeys + 1;"
	    " END;"
	    "CREATE TRIGGER keys_count_del AFTER DELETE ON keys BEGIN"
	    " DELETE FROM clients WHERE auth_type = OLD.auth_type AND app = OLD.app AND nkeys = 1;"
	    " UPDATE clients SET nkeys = nkeys - 1"
	    "  WHERE auth_type = OLD.auth_type AND app = OLD.app AND nkeys > 1;"
	    " END;";

	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int (*const migrations[])(sqlite3 *db) = {
	mig_v1,
	mig_v2,
};
#define KIM_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- prepared statements ---- */

#define REC_COLS "auth_type, app, name, provider, kid, key_type, bits, usage, alg, ref, state"

enum kim_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_GET,
	ST_GET_KID,
	ST_EXISTS,
	ST_INSERT,
	ST_COMMIT_CREATE,
	ST_ABORT_CREATE,
	ST_MARK_DESTROY,
	ST_FINISH_DESTROY,
	ST_FORGET,
	ST_LIST_KEYS,
	ST_LIST_PENDING,
	ST_LIST_CLIENTS,
	ST_CLIENT_KEYS,
	ST_CLIENTS,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_GET] = "SELECT " REC_COLS " FROM keys"
	    " WHERE auth_type = ?1 AND app = ?2 AND name = ?3 AND state = 2",
	[ST_GET_KID] = "SELECT " REC_COLS " FROM keys"
	    " WHERE auth_type = ?1 AND app = ?2 AND kid = ?3 AND state = 2",
	[ST_EXISTS] = "SELECT 1 FROM keys WHERE auth_type = ?1 AND app = ?2 AND name = ?3",
	[ST_INSERT] = "INSERT INTO keys (auth_type, app, name, provider, kid, key_type, bits,"
	    " usage, alg, ref, state, created)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, 1, ?10)",
	[ST_COMMIT_CREATE] = "UPDATE keys SET ref = ?2, state = 2 WHERE kid = ?1 AND state = 1",
	[ST_ABORT_CREATE] = "DELETE FROM keys WHERE kid = ?1 AND state = 1",
	[ST_MARK_DESTROY] = "UPDATE keys SET state = 3 WHERE kid = ?1 AND state = 2",
	[ST_FINISH_DESTROY] = "DELETE FROM keys WHERE kid = ?1 AND state = 3",
	[ST_FORGET] = "DELETE FROM keys WHERE kid = ?1 AND state IN (1, 3)",
	[ST_LIST_KEYS] = "SELECT " REC_COLS " FROM keys"
	    " WHERE auth_type = ?1 AND app = ?2 AND state = 2 ORDER BY name",
	[ST_LIST_PENDING] = "SELECT " REC_COLS " FROM keys WHERE state <> 2 ORDER BY created, kid",
	[ST_LIST_CLIENTS] = "SELECT DISTINCT auth_type, app FROM keys WHERE state = 2"
	    " ORDER BY auth_type, app",
	[ST_CLIENT_KEYS] = "SELECT nkeys FROM clients WHERE auth_type = ?1 AND app = ?2",
	[ST_CLIENTS] = "SELECT COUNT(*) FROM clients",
};

struct tt_kim {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int lock_fd;          /* flock'ed for the handle's life: one owner per store */
	char *path;           /* for log messages */
	uint32_t max_keys;    /* per client, rows in any state; 0: no limit */
	uint32_t max_clients; /* clients owning rows; 0: no limit */
};

/* ---- helpers ---- */

/* Map an SQLite result to a tt_err, logging the detail (never row contents). */
static int
db_err(struct tt_kim *kim, int rc, const char *what)
{
	tt_err_log("key store %s: %s: %s (%d)", kim->path, what, sqlite3_errmsg(kim->db), rc);
	if ((rc & 0xff) == SQLITE_FULL)
		return TT_ERR_INSUFFICIENT_STORAGE;
	if ((rc & 0xff) == SQLITE_NOMEM)
		return TT_ERR_NO_MEMORY;
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		return TT_ERR_DATA_CORRUPT;
	return TT_ERR_STORAGE;
}

/* Return a statement to its pristine state so the next user starts clean. */
static void
st_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows, to completion. */
static int
st_exec(struct tt_kim *kim, enum kim_stmt id, const char *what)
{
	sqlite3_stmt *s = kim->st[id];
	int rc = sqlite3_step(s);

	st_done(s);
	if (rc != SQLITE_DONE)
		return db_err(kim, rc, what);
	return 0;
}

static int
tx_begin(struct tt_kim *kim)
{
	return st_exec(kim, ST_BEGIN, "begin");
}

static int
tx_commit(struct tt_kim *kim)
{
	return st_exec(kim, ST_COMMIT, "commit");
}

static void
tx_rollback(struct tt_kim *kim)
{
	/* A failed statement may already have rolled the transaction back. */
	if (!sqlite3_get_autocommit(kim->db))
		(void)st_exec(kim, ST_ROLLBACK, "rollback");
}

/* Names are 1..KIM_NAME_MAX bytes; *len gets the length, else TT_ERR_INVALID_ARGUMENT. */
static int
check_name(const char *s, size_t *len)
{
	size_t n;

	if (s == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	n = strnlen(s, KIM_NAME_MAX + 1);
	if (n == 0 || n > KIM_NAME_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	*len = n;
	return 0;
}

static int
check_client(const struct tt_kim_client *c, size_t *app_len)
{
	if (c == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return check_name(c->app, app_len);
}

/* Bind ?1 auth_type, ?2 app (borrowed: the caller outlives the statement use). */
static int
bind_client(sqlite3_stmt *s, const struct tt_kim_client *c, size_t app_len)
{
	if (sqlite3_bind_int(s, 1, c->auth_type) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, c->app, (int)app_len, SQLITE_STATIC) != SQLITE_OK)
		return TT_ERR_STORAGE;
	return 0;
}

static int
bind_kid(sqlite3_stmt *s, int idx, const uint8_t kid[TT_KEY_ID_LEN])
{
	if (sqlite3_bind_blob(s, idx, kid, TT_KEY_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
		return TT_ERR_STORAGE;
	return 0;
}

static int
col_uint(sqlite3_stmt *s, int col, uint64_t max, uint64_t *out)
{
	sqlite3_int64 v;

	if (sqlite3_column_type(s, col) != SQLITE_INTEGER)
		return TT_ERR_DATA_CORRUPT;
	v = sqlite3_column_int64(s, col);
	if (v < 0 || (uint64_t)v > max)
		return TT_ERR_DATA_CORRUPT;
	*out = (uint64_t)v;
	return 0;
}

/* Copy a TEXT column that must be a valid name (no embedded NUL, bounded). */
static int
col_name(sqlite3_stmt *s, int col, char **out)
{
	const unsigned char *t;
	int n;
	char *d;

	if (sqlite3_column_type(s, col) != SQLITE_TEXT)
		return TT_ERR_DATA_CORRUPT;
	t = sqlite3_column_text(s, col);
	n = sqlite3_column_bytes(s, col);
	if (t == NULL || n <= 0 || n > KIM_NAME_MAX || memchr(t, '\0', (size_t)n) != NULL)
		return TT_ERR_DATA_CORRUPT;
	if ((d = tt_strndup_bounded((const char *)t, (size_t)n, KIM_NAME_MAX)) == NULL)
		return TT_ERR_NO_MEMORY;
	*out = d;
	return 0;
}

/*
 * Decode the REC_COLS of the current row into `r` (which must be clear). Every value is
 * range-checked: the file is outside our address space and may have been edited or
 * damaged, and a wrong provider id or state must never reach a provider.
 */
static int
decode_rec(sqlite3_stmt *s, struct tt_kim_rec *r)
{
	uint64_t v;
	const void *p;
	int n, ret;

	memset(r, 0, sizeof(*r));
	if ((ret = col_uint(s, 0, UINT8_MAX, &v)) != 0)
		goto out;
	r->auth_type = (uint8_t)v;
	if ((ret = col_name(s, 1, &r->app)) != 0 || (ret = col_name(s, 2, &r->name)) != 0)
		goto out;
	if ((ret = col_uint(s, 3, UINT8_MAX, &v)) != 0)
		goto out;
	r->provider = (uint8_t)v;
	if (sqlite3_column_type(s, 4) != SQLITE_BLOB ||
	    sqlite3_column_bytes(s, 4) != TT_KEY_ID_LEN ||
	    (p = sqlite3_column_blob(s, 4)) == NULL) {
		ret = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	memcpy(r->kid, p, TT_KEY_ID_LEN);
	if ((ret = col_uint(s, 5, UINT16_MAX, &v)) != 0)
		goto out;
	r->attrs.type = (tt_key_type_t)v;
	if ((ret = col_uint(s, 6, UINT32_MAX, &v)) != 0)
		goto out;
	r->attrs.bits = (uint32_t)v;
	if ((ret = col_uint(s, 7, UINT32_MAX, &v)) != 0)
		goto out;
	r->attrs.usage = (tt_usage_t)v;
	if ((ret = col_uint(s, 8, UINT32_MAX, &v)) != 0)
		goto out;
	r->attrs.alg = (tt_alg_t)v;
	if ((ret = col_uint(s, 10, TT_KIM_DESTROYING, &v)) != 0)
		goto out;
	if (v < TT_KIM_CREATING) {
		ret = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	r->state = (enum tt_kim_state)v;
	switch (sqlite3_column_type(s, 9)) {
	case SQLITE_NULL:
		/* Only a creation that never committed has no reference. */
		if (r->state == TT_KIM_ACTIVE) {
			ret = TT_ERR_DATA_CORRUPT;
			goto out;
		}
		break;
	case SQLITE_BLOB:
		n = sqlite3_column_bytes(s, 9);
		p = sqlite3_column_blob(s, 9);
		if (n < 0 || (n > 0 && p == NULL)) {
			ret = TT_ERR_DATA_CORRUPT;
			goto out;
		}
		if ((r->ref = tt_malloc((size_t)n)) == NULL) {
			ret = TT_ERR_NO_MEMORY;
			goto out;
		}
		if (n > 0)
			memcpy(r->ref, p, (size_t)n);
		r->ref_len = (size_t)n;
		break;
	default:
		ret = TT_ERR_DATA_CORRUPT;
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		tt_kim_rec_clear(r);
	return ret;
}

static int
decode_fail(struct tt_kim *kim, int ret)
{
	if (ret == TT_ERR_DATA_CORRUPT)
		tt_err_log("key store %s: a row does not decode (out-of-range value)", kim->path);
	return ret;
}

/* ---- open / close ---- */

/*
 * Create the file ourselves so that it is 0600 whatever the umask (SQLite gives the
 * -wal and -shm files the database file's mode), and take an exclusive flock on it for
 * the handle's life: crash recovery deletes every pending row, which is only safe when
 * no other live process can be in the middle of a creation on the same store.
 */
static int
open_lock_file(const char *path, int *fd_out)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		tt_err_log("key store %s: open: %s", path, strerror(errno));
		return TT_ERR_STORAGE;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		tt_err_log("key store %s: not a regular file", path);
		ret = TT_ERR_STORAGE;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		tt_warn("key store %s: mode %o is too open; setting 0600", path,
		    (unsigned)(st.st_mode & 0777));
		if (fchmod(fd, 0600) != 0) {
			tt_err_log("key store %s: fchmod: %s", path, strerror(errno));
			ret = TT_ERR_STORAGE;
			goto out;
		}
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		tt_err_log("key store %s: in use by another process (%s)", path, strerror(errno));
		ret = TT_ERR_STORAGE;
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int
pragma_exec(struct tt_kim *kim, const char *sql)
{
	int rc = sqlite3_exec(kim->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_err(kim, rc, sql);
	return 0;
}

static int
configure_db(struct tt_kim *kim)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc, ret;

	/* A store file is data, not code: no triggers/views from the file run with our
	 * privileges, and writes that could corrupt the file from SQL are refused. */
	sqlite3_db_config(kim->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(kim->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_extended_result_codes(kim->db, 1);
	if ((rc = sqlite3_busy_timeout(kim->db, KIM_BUSY_TIMEOUT_MS)) != SQLITE_OK)
		return db_err(kim, rc, "busy_timeout");

	/* The store has exactly one user, enforced by the flock taken at open, so SQLite's
	 * own per-transaction POSIX locks (and the WAL's shared-memory index) only cost
	 * system calls on every key lookup: hold the lock for the life of the connection.
	 * Set before the first WAL access so the WAL index lives in heap memory. */
	if ((ret = pragma_exec(kim, "PRAGMA locking_mode=EXCLUSIVE")) != 0)
		goto out;
	/* journal_mode answers with the mode in force; anything but "wal" means the
	 * durability argument in docs/kim.md does not hold. */
	rc = sqlite3_prepare_v2(kim->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = db_err(kim, rc, "journal_mode");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = db_err(kim, rc, "journal_mode");
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		tt_err_log("key store %s: cannot enable WAL journal", kim->path);
		ret = TT_ERR_STORAGE;
		goto out;
	}
	/* FULL: every commit is fsynced, so each protocol step is durable on return.
	 * secure_delete: freed pages holding (wrapped) key references are zeroed. */
	if ((ret = pragma_exec(kim, "PRAGMA synchronous=FULL")) != 0 ||
	    (ret = pragma_exec(kim, "PRAGMA foreign_keys=ON")) != 0 ||
	    (ret = pragma_exec(kim, "PRAGMA secure_delete=ON")) != 0)
		goto out;
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

static int
read_user_version(struct tt_kim *kim, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc, ret;

	rc = sqlite3_prepare_v2(kim->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		ret = db_err(kim, rc, "user_version");
		goto out;
	}
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		ret = db_err(kim, rc, "user_version");
		goto out;
	}
	*out = sqlite3_column_int(s, 0);
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

/* Bring the schema to KIM_SCHEMA_VERSION, one transaction per step, so an interrupted
 * upgrade resumes at the last completed version. */
static int
migrate(struct tt_kim *kim)
{
	char sql[64];
	int ver = 0, rc, ret;

	for (;;) {
		if ((ret = pragma_exec(kim, "BEGIN IMMEDIATE")) != 0)
			return ret;
		/* Read inside the write transaction: nobody can migrate concurrently. */
		if ((ret = read_user_version(kim, &ver)) != 0)
			goto fail;
		if (ver < 0 || ver > KIM_SCHEMA_VERSION) {
			tt_err_log("key store %s: schema version %d is not one this build (version %d)"
			    " understands; refusing to open it", kim->path, ver, KIM_SCHEMA_VERSION);
			ret = TT_ERR_STORAGE;
			goto fail;
		}
		if (ver == KIM_SCHEMA_VERSION)
			return pragma_exec(kim, "COMMIT");
		if ((rc = migrations[ver](kim->db)) != SQLITE_OK) {
			ret = db_err(kim, rc, "schema migration");
			goto fail;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", ver + 1);
		if ((ret = pragma_exec(kim, sql)) != 0 || (ret = pragma_exec(kim, "COMMIT")) != 0)
			goto fail;
		tt_info("key store %s: schema upgraded to version %d", kim->path, ver + 1);
	}
fail:
	if (!sqlite3_get_autocommit(kim->db))
		(void)sqlite3_exec(kim->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int
tt_kim_open(const char *path, struct tt_kim **out)
{
	struct tt_kim *kim = NULL;
	int rc, ret;
	size_t plen;

	if (path == NULL || out == NULL || *path == '\0')
		return TT_ERR_INVALID_ARGUMENT;
	if ((kim = tt_calloc(1, sizeof(*kim))) == NULL)
		return TT_ERR_NO_MEMORY;
	kim->lock_fd = -1;
	plen = strlen(path);
	if ((kim->path = tt_strndup_bounded(path, plen, plen)) == NULL) {
		free(kim);
		return TT_ERR_NO_MEMORY;
	}
	if ((rc = pthread_mutex_init(&kim->lock, NULL)) != 0) {
		free(kim->path);
		free(kim);
		return TT_ERR_NO_MEMORY;
	}
	if ((ret = open_lock_file(path, &kim->lock_fd)) != 0)
		goto out;
	/* NOMUTEX: we serialise with kim->lock; SQLite's own mutex would be a second,
	 * redundant lock on the hot path. */
	rc = sqlite3_open_v2(path, &kim->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (kim->db == NULL) {
			ret = TT_ERR_NO_MEMORY;
			goto out;
		}
		ret = db_err(kim, rc, "open");
		goto out;
	}
	if ((ret = configure_db(kim)) != 0 || (ret = migrate(kim)) != 0)
		goto out;
	/* Prepared once: tt_kim_get runs for every request and must not re-parse SQL. */
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(kim->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &kim->st[i], NULL);
		if (rc != SQLITE_OK) {
			ret = db_err(kim, rc, "prepare");
			goto out;
		}
	}
	*out = kim;
	kim = NULL;
	ret = 0;
out:
	tt_kim_close(kim);
	return ret;
}

void
tt_kim_close(struct tt_kim *kim)
{
	if (kim == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(kim->st[i]);
	if (kim->db != NULL && sqlite3_close(kim->db) != SQLITE_OK)
		tt_err_log("key store %s: close failed", kim->path);
	/* Only after SQLite let go of the file: closing any fd of a file drops the
	 * process's POSIX locks on it, and SQLite's may still be held until then. */
	if (kim->lock_fd >= 0)
		close(kim->lock_fd);
	pthread_mutex_destroy(&kim->lock);
	free(kim->path);
	free(kim);
}

/* ---- records ---- */

void
tt_kim_rec_clear(struct tt_kim_rec *r)
{
	if (r == NULL)
		return;
	free(r->app);
	free(r->name);
	/* The reference is wrapped key material (or a handle to it): wipe, then free. */
	tt_free_secret(r->ref, r->ref_len);
	memset(r, 0, sizeof(*r));
}

void
tt_kim_rec_to_key(const struct tt_kim_rec *r, struct tt_key *k)
{
	memset(k, 0, sizeof(*k));
	k->owner.auth_type = r->auth_type;
	k->owner.app = r->app;
	k->owner.name = r->name;
	memcpy(k->kid, r->kid, TT_KEY_ID_LEN);
	k->attrs = r->attrs;
	k->ref = r->ref;
	k->ref_len = r->ref_len;
}

/* Lookup of the client's ACTIVE row by name (kid == NULL) or by kid, lock held. */
static int
get_locked(struct tt_kim *kim, const struct tt_kim_client *c, size_t app_len,
    const char *name, size_t name_len, const uint8_t *kid, struct tt_kim_rec *out)
{
	sqlite3_stmt *s = kim->st[kid == NULL ? ST_GET : ST_GET_KID];
	int rc, ret;

	if ((ret = bind_client(s, c, app_len)) != 0)
		goto out;
	if (kid != NULL)
		ret = bind_kid(s, 3, kid);
	else if (sqlite3_bind_text(s, 3, name, (int)name_len, SQLITE_STATIC) != SQLITE_OK)
		ret = TT_ERR_STORAGE;
	if (ret != 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = TT_ERR_DOES_NOT_EXIST;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = db_err(kim, rc, "get");
		goto out;
	}
	ret = decode_fail(kim, decode_rec(s, out));
out:
	st_done(s);
	return ret;
}

int
tt_kim_get(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    struct tt_kim_rec *out)
{
	size_t app_len, name_len;
	int ret;

	if (kim == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((ret = check_client(c, &app_len)) != 0 || (ret = check_name(name, &name_len)) != 0)
		return ret;
	pthread_mutex_lock(&kim->lock);
	ret = get_locked(kim, c, app_len, name, name_len, NULL, out);
	pthread_mutex_unlock(&kim->lock);
	return ret;
}

/* ---- create ---- */

/* Whether (client, name) is taken in any state; 1 yes, 0 no, or a tt_err. */
static int
name_taken(struct tt_kim *kim, const struct tt_kim_client *c, size_t app_len,
    const char *name, size_t name_len)
{
	sqlite3_stmt *s = kim->st[ST_EXISTS];
	int rc, ret;

	if ((ret = bind_client(s, c, app_len)) != 0 ||
	    sqlite3_bind_text(s, 3, name, (int)name_len, SQLITE_STATIC) != SQLITE_OK) {
		ret = ret != 0 ? ret : TT_ERR_STORAGE;
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = 1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else
		ret = db_err(kim, rc, "exists");
out:
	st_done(s);
	return ret;
}

/* One integer from a statement that yields at most one row; no row is 0. */
static int
count_query(struct tt_kim *kim, sqlite3_stmt *s, uint64_t *out, const char *what)
{
	int rc, ret;

	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = col_uint(s, 0, UINT32_MAX, out) == 0 ? 0 : decode_fail(kim, TT_ERR_DATA_CORRUPT);
	else if (rc == SQLITE_DONE) {
		*out = 0;
		ret = 0;
	} else
		ret = db_err(kim, rc, what);
	st_done(s);
	return ret;
}

/*
 * The quotas, checked under the lock right before the insert (one process owns the
 * store, so nothing can slip in between): a client may hold max_keys rows in any state
 * (CREATING and DESTROYING rows still hold material), and a client that holds none yet
 * may only start if fewer than max_clients clients hold rows. TT_ERR_INSUFFICIENT_STORAGE
 * when over; an existing name stays TT_ERR_ALREADY_EXISTS.
 */
static int
quota_locked(struct tt_kim *kim, const struct tt_kim_client *c, size_t app_len,
    const char *name, size_t name_len)
{
	sqlite3_stmt *s = kim->st[ST_CLIENT_KEYS];
	uint64_t n;
	int ret;

	if (kim->max_keys == 0 && kim->max_clients == 0)
		return 0;
	if ((ret = bind_client(s, c, app_len)) != 0) {
		st_done(s);
		return ret;
	}
	if ((ret = count_query(kim, s, &n, "client_keys")) != 0)
		return ret;
	if (n == 0 && kim->max_clients != 0) {
		uint64_t nc;

		if ((ret = count_query(kim, kim->st[ST_CLIENTS], &nc, "clients")) != 0)
			return ret;
		if (nc >= kim->max_clients) {
			tt_warn("key store: %" PRIu64 " clients hold keys (max_clients); a new client "
			    "is refused", nc);
			return TT_ERR_INSUFFICIENT_STORAGE;
		}
		return 0;
	}
	if (kim->max_keys != 0 && n >= kim->max_keys) {
		if ((ret = name_taken(kim, c, app_len, name, name_len)) != 0)
			return ret == 1 ? TT_ERR_ALREADY_EXISTS : ret;
		return TT_ERR_INSUFFICIENT_STORAGE;
	}
	return 0;
}

void
tt_kim_set_quota(struct tt_kim *kim, uint32_t max_keys, uint32_t max_clients)
{
	pthread_mutex_lock(&kim->lock);
	kim->max_keys = max_keys;
	kim->max_clients = max_clients;
	pthread_mutex_unlock(&kim->lock);
}

int
tt_kim_begin_create(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    uint8_t provider, const struct tt_key_attrs *a, uint8_t kid_out[TT_KEY_ID_LEN])
{
	sqlite3_stmt *s;
	uint8_t kid[TT_KEY_ID_LEN];
	size_t app_len, name_len;
	int rc, ret, locked = 0;

	if (kim == NULL || a == NULL || kid_out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((ret = check_client(c, &app_len)) != 0 || (ret = check_name(name, &name_len)) != 0)
		return ret;
	pthread_mutex_lock(&kim->lock);
	locked = 1;
	if ((ret = quota_locked(kim, c, app_len, name, name_len)) != 0)
		goto out;
	s = kim->st[ST_INSERT];
	/* A second attempt covers a kid collision, which at 128 random bits means a broken
	 * RNG rather than bad luck; the name check tells the two constraints apart. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (RAND_bytes(kid, sizeof(kid)) != 1) {
			ret = TT_ERR_INSUFFICIENT_ENTROPY;
			goto out;
		}
		if ((ret = bind_client(s, c, app_len)) != 0)
			goto out;
		if (sqlite3_bind_text(s, 3, name, (int)name_len, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int(s, 4, provider) != SQLITE_OK ||
		    bind_kid(s, 5, kid) != 0 ||
		    sqlite3_bind_int64(s, 6, a->type) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 7, a->bits) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 8, a->usage) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 9, a->alg) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 10, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
			st_done(s);
			ret = TT_ERR_STORAGE;
			goto out;
		}
		/* One autocommit statement: the reservation is durable when step returns. */
		rc = sqlite3_step(s);
		st_done(s);
		if (rc == SQLITE_DONE) {
			memcpy(kid_out, kid, TT_KEY_ID_LEN);
			ret = 0;
			goto out;
		}
		if (rc != SQLITE_CONSTRAINT_UNIQUE) {
			ret = db_err(kim, rc, "begin_create");
			goto out;
		}
		if ((ret = name_taken(kim, c, app_len, name, name_len)) != 0) {
			if (ret == 1)
				ret = TT_ERR_ALREADY_EXISTS;
			goto out;
		}
	}
	tt_err_log("key store %s: key id collided twice; the random generator is suspect", kim->path);
	ret = TT_ERR_INSUFFICIENT_ENTROPY;
out:
	if (locked)
		pthread_mutex_unlock(&kim->lock);
	tt_wipe(kid, sizeof(kid));
	return ret;
}

/* Run a kid-keyed write; TT_ERR_DOES_NOT_EXIST if it matched no row. */
static int
kid_write(struct tt_kim *kim, enum kim_stmt id, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *ref, size_t ref_len, const char *what)
{
	sqlite3_stmt *s = kim->st[id];
	int rc, ret;

	if ((ret = bind_kid(s, 1, kid)) != 0)
		goto out;
	if (id == ST_COMMIT_CREATE) {
		/* An empty reference is stored as x'' (not NULL): NULL marks "never
		 * committed" for recovery. */
		rc = ref_len == 0 ? sqlite3_bind_zeroblob(s, 2, 0) :
		    sqlite3_bind_blob(s, 2, ref, (int)ref_len, SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			ret = TT_ERR_STORAGE;
			goto out;
		}
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		ret = db_err(kim, rc, what);
		goto out;
	}
	ret = sqlite3_changes(kim->db) == 1 ? 0 : TT_ERR_DOES_NOT_EXIST;
out:
	st_done(s);
	return ret;
}

int
tt_kim_commit_create(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *ref, size_t ref_len)
{
	int ret;

	if (kim == NULL || kid == NULL || (ref == NULL && ref_len != 0) || ref_len > INT32_MAX)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&kim->lock);
	ret = kid_write(kim, ST_COMMIT_CREATE, kid, ref, ref_len, "commit_create");
	pthread_mutex_unlock(&kim->lock);
	return ret;
}

int
tt_kim_abort_create(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN])
{
	int ret;

	if (kim == NULL || kid == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&kim->lock);
	ret = kid_write(kim, ST_ABORT_CREATE, kid, NULL, 0, "abort_create");
	pthread_mutex_unlock(&kim->lock);
	return ret;
}

/* ---- destroy ---- */

/* Read and mark in one write transaction so the record handed back is exactly the row
 * that became DESTROYING, and a row that does not decode is left untouched. */
static int
begin_destroy(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    const uint8_t *kid, struct tt_kim_rec *out)
{
	struct tt_kim_rec r = { 0 };
	size_t app_len, name_len = 0;
	int ret;

	if (kim == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((ret = check_client(c, &app_len)) != 0)
		return ret;
	if (kid == NULL && (ret = check_name(name, &name_len)) != 0)
		return ret;
	pthread_mutex_lock(&kim->lock);
	if ((ret = tx_begin(kim)) != 0)
		goto out;
	if ((ret = get_locked(kim, c, app_len, name, name_len, kid, &r)) != 0 ||
	    (ret = kid_write(kim, ST_MARK_DESTROY, r.kid, NULL, 0, "begin_destroy")) != 0 ||
	    (ret = tx_commit(kim)) != 0) {
		tx_rollback(kim);
		goto out;
	}
	r.state = TT_KIM_DESTROYING;
	*out = r;
	memset(&r, 0, sizeof(r));
out:
	pthread_mutex_unlock(&kim->lock);
	tt_kim_rec_clear(&r);
	return ret;
}

int
tt_kim_begin_destroy(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    struct tt_kim_rec *out)
{
	return begin_destroy(kim, c, name, NULL, out);
}

int
tt_kim_begin_destroy_kid(struct tt_kim *kim, const struct tt_kim_client *c,
    const uint8_t kid[TT_KEY_ID_LEN], struct tt_kim_rec *out)
{
	if (kid == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	return begin_destroy(kim, c, NULL, kid, out);
}

int
tt_kim_finish_destroy(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN])
{
	int ret;

	if (kim == NULL || kid == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&kim->lock);
	ret = kid_write(kim, ST_FINISH_DESTROY, kid, NULL, 0, "finish_destroy");
	pthread_mutex_unlock(&kim->lock);
	return ret;
}

int
tt_kim_forget(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN])
{
	int ret;

	if (kim == NULL || kid == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&kim->lock);
	ret = kid_write(kim, ST_FORGET, kid, NULL, 0, "forget");
	pthread_mutex_unlock(&kim->lock);
	return ret;
}

/* ---- listings ---- */

struct rec_vec {
	struct tt_kim_rec *v;
	size_t n, cap;
};

static void
rec_vec_free(struct rec_vec *rv)
{
	for (size_t i = 0; i < rv->n; i++)
		tt_kim_rec_clear(&rv->v[i]);
	free(rv->v);
	memset(rv, 0, sizeof(*rv));
}

static int
rec_vec_slot(struct rec_vec *rv, struct tt_kim_rec **slot)
{
	struct tt_kim_rec *nv;
	size_t ncap;

	if (rv->n == rv->cap) {
		ncap = rv->cap == 0 ? 8 : rv->cap * 2;
		if (ncap > SIZE_MAX / sizeof(*nv))
			return TT_ERR_NO_MEMORY;
		if ((nv = realloc(rv->v, ncap * sizeof(*nv))) == NULL)
			return TT_ERR_NO_MEMORY;
		rv->v = nv;
		rv->cap = ncap;
	}
	*slot = &rv->v[rv->n];
	return 0;
}

/*
 * Collect every row of a bound statement under the lock, then call back without it:
 * a callback may then call into the store (recovery forgets the rows it walks,
 * DeleteClient destroys the keys it lists) without deadlocking or mutating a table
 * under a live cursor.
 */
static int
collect_and_walk(struct tt_kim *kim, sqlite3_stmt *s, tt_kim_rec_cb cb, void *arg)
{
	struct rec_vec rv = { 0 };
	struct tt_kim_rec *slot;
	int rc, ret;

	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			ret = db_err(kim, rc, "list");
			goto out_locked;
		}
		if ((ret = rec_vec_slot(&rv, &slot)) != 0)
			goto out_locked;
		if ((ret = decode_fail(kim, decode_rec(s, slot))) != 0)
			goto out_locked;
		rv.n++;
	}
	st_done(s);
	pthread_mutex_unlock(&kim->lock);
	ret = 0;
	for (size_t i = 0; i < rv.n && ret == 0; i++)
		ret = cb(&rv.v[i], arg);
	rec_vec_free(&rv);
	return ret;
out_locked:
	st_done(s);
	pthread_mutex_unlock(&kim->lock);
	rec_vec_free(&rv);
	return ret;
}

int
tt_kim_list_keys(struct tt_kim *kim, const struct tt_kim_client *c, tt_kim_rec_cb cb, void *arg)
{
	sqlite3_stmt *s;
	size_t app_len;
	int ret;

	if (kim == NULL || cb == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((ret = check_client(c, &app_len)) != 0)
		return ret;
	pthread_mutex_lock(&kim->lock);
	s = kim->st[ST_LIST_KEYS];
	if ((ret = bind_client(s, c, app_len)) != 0) {
		st_done(s);
		pthread_mutex_unlock(&kim->lock);
		return ret;
	}
	return collect_and_walk(kim, s, cb, arg);
}

int
tt_kim_list_pending(struct tt_kim *kim, tt_kim_rec_cb cb, void *arg)
{
	if (kim == NULL || cb == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&kim->lock);
	return collect_and_walk(kim, kim->st[ST_LIST_PENDING], cb, arg);
}

struct client_ent {
	uint8_t auth_type;
	char *app;
};

int
tt_kim_list_clients(struct tt_kim *kim, tt_kim_client_cb cb, void *arg)
{
	struct client_ent *v = NULL, *nv;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s;
	uint64_t at;
	int rc, ret;

	if (kim == NULL || cb == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	pthread_mutex_lock(&kim->lock);
	s = kim->st[ST_LIST_CLIENTS];
	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			ret = db_err(kim, rc, "list_clients");
			goto out_locked;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if (cap > SIZE_MAX / sizeof(*v) || (nv = realloc(v, cap * sizeof(*v))) == NULL) {
				ret = TT_ERR_NO_MEMORY;
				goto out_locked;
			}
			v = nv;
		}
		if ((ret = col_uint(s, 0, UINT8_MAX, &at)) != 0 ||
		    (ret = col_name(s, 1, &v[n].app)) != 0) {
			ret = decode_fail(kim, ret);
			goto out_locked;
		}
		v[n++].auth_type = (uint8_t)at;
	}
	st_done(s);
	pthread_mutex_unlock(&kim->lock);
	ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = cb(v[i].auth_type, v[i].app, arg);
	goto out;
out_locked:
	st_done(s);
	pthread_mutex_unlock(&kim->lock);
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].app);
	free(v);
	return ret;
}
