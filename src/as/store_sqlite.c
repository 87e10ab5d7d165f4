/*
 * The SQLite store of turtle-as (the embedded default; one file, as.db, in the data dir).
 *
 * Durability: WAL with synchronous=FULL, so a committed transaction survives a crash or a
 * power cut. Each operation is one BEGIN IMMEDIATE ... COMMIT; the connection is shared by
 * the HTTP thread pool under one mutex. Challenges are not here: they live in memory
 * (nonce.c says why).
 *
 * Resources are sealed (seal.h) under the data key in <data-dir>/resource.key before they
 * reach SQLite, so neither as.db nor its WAL ever holds a secret in the clear. Schema
 * version 2 means "every resources row is sealed"; a version-1 database is sealed in
 * place, in one transaction, when it is first opened by this build.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <openssl/crypto.h>

#include "as.h"
#include "seal.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

#define SCHEMA_VERSION 3          /* 2: resources sealed under resource.key; 3: nodes.ak */
#define RESOURCE_KEY_FILE "resource.key"

_Static_assert(TT_AS_SEAL_OVERHEAD == 29, "resource_list's SQL subtracts the seal overhead");

struct tt_as_store {
	sqlite3 *db;
	pthread_mutex_t mu;
	uint8_t rkey[TT_AS_SEAL_KEY_LEN];   /* resource data key; never logged */
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
	/* Challenges moved to memory (nonce.c); the table of older databases goes. */
	"DROP TABLE IF EXISTS nonces;"
	/* ak: the trusted AK's fingerprint (doc.ak_sha256), unique: one AK, one node. */
	"CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, grp TEXT NOT NULL,"
	" doc TEXT NOT NULL, ak TEXT);"
	"CREATE TABLE IF NOT EXISTS refvals (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL, value TEXT NOT NULL, version TEXT, expires_at INTEGER,"
	" scope TEXT NOT NULL, created INTEGER NOT NULL, revoked_at INTEGER);"
	"CREATE INDEX IF NOT EXISTS refvals_name ON refvals(name);"
	"CREATE TABLE IF NOT EXISTS policies (grp TEXT PRIMARY KEY, doc TEXT NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS resources (path TEXT PRIMARY KEY, data BLOB NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, tee TEXT NOT NULL,"
	" nonce TEXT, expires_at INTEGER NOT NULL, attested INTEGER NOT NULL DEFAULT 0,"
	" tee_pubkey TEXT);"
	"CREATE TABLE IF NOT EXISTS signing_keys (kid TEXT PRIMARY KEY, alg TEXT NOT NULL,"
	" created INTEGER NOT NULL, state TEXT NOT NULL);"
	/* The identifier (not the key) of the resource data key the rows are sealed with. */
	"CREATE TABLE IF NOT EXISTS resource_key (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" kid BLOB NOT NULL);";

static int
db_err(struct tt_as_store *s, const char *what)
{
	tt_err_log("as store: %s: %s", what, sqlite3_errmsg(s->db));
	return TT_ERR_STORAGE;
}

static int
exec(struct tt_as_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		tt_err_log("as store: %s: %s", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		return TT_ERR_STORAGE;
	}
	return 0;
}

/* Lock and begin; on failure nothing is held. */
static int
tx_begin(struct tt_as_store *s)
{
	int r;

	pthread_mutex_lock(&s->mu);
	if ((r = exec(s, "BEGIN IMMEDIATE")) != 0)
		pthread_mutex_unlock(&s->mu);
	return r;
}

/* Commit when r == 0, else roll back; always unlocks. Returns r or the commit error. */
static int
tx_end(struct tt_as_store *s, int r)
{
	if (r == 0)
		r = exec(s, "COMMIT");
	if (r != 0)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int
prep(struct tt_as_store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(s, "prepare");
	return 0;
}

/* Step a statement that returns no rows. */
static int
step_done(struct tt_as_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_CONSTRAINT)
		return TT_ERR_ALREADY_EXISTS;
	if (rc != SQLITE_DONE)
		return db_err(s, "step");
	return 0;
}

static char *
col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? strdup((const char *)t) : NULL;
}

static json_t *
col_json(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? json_loads((const char *)t, 0, NULL) : NULL;
}

static void
sq_close(struct tt_as_store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	OPENSSL_cleanse(s->rkey, sizeof(s->rkey));
	free(s);
}

/* One integer from a one-row query (count(*), version); absent row -> 0. */
static int
select_int(struct tt_as_store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*v = 0;
	if ((r = prep(s, sql, &st)) != 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		r = db_err(s, "select");
	sqlite3_finalize(st);
	return r;
}

/* Record the identifier of s->rkey as the key of this database. */
static int
key_id_store(struct tt_as_store *s, const uint8_t id[32])
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = prep(s, "INSERT OR REPLACE INTO resource_key (id, kid) VALUES (1, ?)", &st)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	r = step_done(s, st);
	sqlite3_finalize(st);
	return r;
}

/* Load (or, when nothing is sealed yet, create) the resource data key and check that it
 * is the key the database's rows were sealed with. Called inside sq_open's transaction,
 * which also keeps a second turtle-as on the same data dir from racing us. `ver` is the
 * schema version found (0: new database); `rows` the number of resources rows. */
static int
key_setup(struct tt_as_store *s, const char *data_dir, int ver, int64_t rows)
{
	char path[4096];
	uint8_t id[32];
	sqlite3_stmt *st = NULL;
	bool sealed_rows = ver >= 2 && rows > 0, have_id = false, same = false;
	int r, n;

	n = snprintf(path, sizeof(path), "%s/" RESOURCE_KEY_FILE, data_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_CONFIG;
	r = tt_as_seal_key_load(path, s->rkey);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		/* A new key would open none of the sealed rows: refuse rather than start with
		 * resources that can never be released. */
		if (sealed_rows) {
			tt_err_log("as store: %s is missing but as.db holds %lld sealed resources;"
			    " restore the key file from the backup taken with as.db (a new key"
			    " cannot open them)", path, (long long)rows);
			return TT_ERR_CONFIG;
		}
		r = tt_as_seal_key_create(path, s->rkey);
		if (r == TT_ERR_ALREADY_EXISTS)
			r = tt_as_seal_key_load(path, s->rkey);
		else if (r == 0)
			tt_info("as store: created resource data key %s", path);
	}
	if (r != 0)
		return r;
	if ((r = tt_as_seal_key_id(s->rkey, id)) != 0)
		return r;
	if ((r = prep(s, "SELECT kid FROM resource_key WHERE id = 1", &st)) != 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW) {
		have_id = true;
		same = sqlite3_column_bytes(st, 0) == 32 &&
		    CRYPTO_memcmp(sqlite3_column_blob(st, 0), id, 32) == 0;
	}
	sqlite3_finalize(st);
	if (have_id && !same && sealed_rows) {
		tt_err_log("as store: %s is not the key as.db's %lld resources were sealed with;"
		    " restore the key file that belongs to this database", path, (long long)rows);
		return TT_ERR_CONFIG;
	}
	if (!have_id || !same)
		r = key_id_store(s, id);
	return r;
}

/* Seal every row of a version-1 database (resources stored as given) in place. The
 * caller's transaction makes it all or nothing. secure_delete zeroes the cells and pages
 * the plaintext leaves behind, and the checkpoint after the commit (sq_open) moves the
 * sealed pages into as.db itself. */
static int
migrate_plain(struct tt_as_store *s, int64_t *count)
{
	json_t *paths = json_array();
	sqlite3_stmt *sel = NULL, *upd = NULL;
	uint8_t *blob = NULL;
	size_t bl = 0, i;
	int r, rc;

	*count = 0;
	if (paths == NULL)
		return TT_ERR_NO_MEMORY;
	/* Paths first: rows are then rewritten one by one, not under a running SELECT. */
	if ((r = prep(s, "SELECT path FROM resources ORDER BY path", &sel)) != 0)
		goto out;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(sel, 0);

		if (p == NULL || json_array_append_new(paths, json_string(p)) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		r = db_err(s, "resource select");
		goto out;
	}
	sqlite3_finalize(sel);
	sel = NULL;
	if ((r = exec(s, "PRAGMA secure_delete=ON")) != 0)
		goto out;
	if ((r = prep(s, "SELECT data FROM resources WHERE path = ?", &sel)) != 0 ||
	    (r = prep(s, "UPDATE resources SET data = ? WHERE path = ?", &upd)) != 0)
		goto out;
	for (i = 0; i < json_array_size(paths); i++) {
		const char *p = json_string_value(json_array_get(paths, i));

		sqlite3_reset(sel);
		sqlite3_bind_text(sel, 1, p, -1, SQLITE_STATIC);
		if (sqlite3_step(sel) != SQLITE_ROW) {
			r = db_err(s, "resource select");
			goto out;
		}
		r = tt_as_seal(s->rkey, p, sqlite3_column_blob(sel, 0),
		    (size_t)sqlite3_column_bytes(sel, 0), &blob, &bl);
		sqlite3_reset(sel);
		if (r != 0)
			goto out;
		sqlite3_reset(upd);
		sqlite3_bind_blob(upd, 1, blob, (int)bl, SQLITE_STATIC);
		sqlite3_bind_text(upd, 2, p, -1, SQLITE_STATIC);
		r = step_done(s, upd);
		free(blob);
		blob = NULL;
		if (r != 0)
			goto out;
		(*count)++;
	}
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	free(blob);
	json_decref(paths);
	return r;
}

static int
sq_open(const char *data_dir, struct tt_as_store **out)
{
	struct tt_as_store *s = NULL;
	char path[4096];
	int64_t ver = 0, rows = 0, migrated = 0, has_ak = 0, has_rin = 0;
	int r = TT_ERR_STORAGE, n;

	n = snprintf(path, sizeof(path), "%s/as.db", data_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_CONFIG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TT_ERR_NO_MEMORY;
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		tt_err_log("as store: open %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if ((r = exec(s, "PRAGMA journal_mode=WAL")) != 0 ||
	    (r = exec(s, "PRAGMA synchronous=FULL")) != 0 ||
	    (r = exec(s, "PRAGMA foreign_keys=ON")) != 0)
		goto out;
	if ((r = tx_begin(s)) != 0)
		goto out;
	r = exec(s, schema_sql);
	if (r == 0)
		r = select_int(s, "SELECT version FROM schema_version", &ver);
	if (r == 0 && ver > SCHEMA_VERSION) {
		tt_err_log("as store: schema version %lld is newer than this build (%d)",
		    (long long)ver, SCHEMA_VERSION);
		r = TT_ERR_STORAGE;
	}
	if (r == 0)
		r = select_int(s, "SELECT count(*) FROM resources", &rows);
	if (r == 0)
		r = key_setup(s, data_dir, (int)ver, rows);
	if (r == 0 && ver == 1)
		r = migrate_plain(s, &migrated);
	/* Schema 3: existing nodes get an empty ak column; turtle-as fills it at start
	 * (tt_as_nodes_index_ak), since the fingerprint needs the AK parsed. */
	if (r == 0)
		r = select_int(s, "SELECT count(*) FROM pragma_table_info('nodes') WHERE name = 'ak'",
		    &has_ak);
	if (r == 0 && has_ak == 0)
		r = exec(s, "ALTER TABLE nodes ADD COLUMN ak TEXT");
	if (r == 0)
		r = exec(s, "CREATE UNIQUE INDEX IF NOT EXISTS nodes_ak ON nodes(ak)");
	/* Sessions of older builds lack the release input; they are short-lived, and one
	 * without it is simply refused by a resource policy. */
	if (r == 0)
		r = select_int(s, "SELECT count(*) FROM pragma_table_info('sessions')"
		    " WHERE name = 'release_input'", &has_rin);
	if (r == 0 && has_rin == 0)
		r = exec(s, "ALTER TABLE sessions ADD COLUMN release_input TEXT");
	if (r == 0 && ver == 0)
		r = exec(s, "INSERT INTO schema_version VALUES (3)");
	else if (r == 0 && ver < SCHEMA_VERSION)
		r = exec(s, "UPDATE schema_version SET version = 3");
	if ((r = tx_end(s, r)) != 0)
		goto out;
	if (ver == 1) {
		/* Move the sealed pages into as.db now, over the plaintext ones. */
		(void)exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
		(void)exec(s, "PRAGMA secure_delete=OFF");
		tt_info("as store: sealed %lld resources of a schema-1 database under %s/"
		    RESOURCE_KEY_FILE, (long long)migrated, data_dir);
	}
	*out = s;
	s = NULL;
out:
	sq_close(s);
	return r;
}

/* ---- nodes ---- */

static int
sq_node_put(struct tt_as_store *s, const json_t *node)
{
	sqlite3_stmt *st = NULL;
	char *doc = NULL;
	const char *id = json_string_value(json_object_get(node, "id"));
	const char *grp = json_string_value(json_object_get(node, "group"));
	const char *ak = json_string_value(json_object_get(node, "ak_sha256"));
	int r;

	if (id == NULL || grp == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((doc = json_dumps(node, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return TT_ERR_NO_MEMORY;
	if ((r = tx_begin(s)) != 0)
		goto out_free;
	/* An upsert on id, not INSERT OR REPLACE: a conflict on the unique ak must fail
	 * (TT_ERR_ALREADY_EXISTS), never delete the other node that holds the AK. */
	if ((r = prep(s, "INSERT INTO nodes (id, grp, doc, ak) VALUES (?,?,?,?) ON CONFLICT(id)"
	    " DO UPDATE SET grp = excluded.grp, doc = excluded.doc, ak = excluded.ak", &st)) == 0) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, doc, -1, SQLITE_STATIC);
		if (ak != NULL)
			sqlite3_bind_text(st, 4, ak, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
		r = step_done(s, st);
	}
	sqlite3_finalize(st);
	r = tx_end(s, r);
out_free:
	free(doc);
	return r;
}

/* Run a one-column SELECT of JSON docs (optionally bound to one text parameter) and
 * collect them into an array. */
static int
select_docs_n(struct tt_as_store *s, const char *sql, const char *const *param, int n,
	json_t **out);

static int
select_docs(struct tt_as_store *s, const char *sql, const char *param, json_t **out)
{
	return select_docs_n(s, sql, &param, param != NULL ? 1 : 0, out);
}

/* Every doc a SELECT with n text parameters returns, as a JSON array. */
static int
select_docs_n(struct tt_as_store *s, const char *sql, const char *const *param, int n,
	json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int r, rc;

	if (arr == NULL)
		return TT_ERR_NO_MEMORY;
	pthread_mutex_lock(&s->mu);
	if ((r = prep(s, sql, &st)) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, param[i], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *d = col_json(st, 0);

		if (d == NULL || json_array_append_new(arr, d) != 0) {
			r = TT_ERR_DATA_CORRUPT;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_err(s, "select");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	if (r != 0) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return 0;
}

static int
node_where(struct tt_as_store *s, const char *sql, const char *param, json_t **out)
{
	json_t *arr = NULL;
	int r;

	if ((r = select_docs(s, sql, param, &arr)) != 0)
		return r;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return TT_ERR_DOES_NOT_EXIST;
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

static int
sq_node_get(struct tt_as_store *s, const char *id, json_t **out)
{
	return node_where(s, "SELECT doc FROM nodes WHERE id = ?", id, out);
}

static int
sq_node_by_ak(struct tt_as_store *s, const char *ak_sha256, json_t **out)
{
	return node_where(s, "SELECT doc FROM nodes WHERE ak = ?", ak_sha256, out);
}

static int
sq_node_by_tee_identity(struct tt_as_store *s, const char *tee, const char *identity,
	json_t **out)
{
	const char *p[2] = { tee, identity };

	/* No column of its own (no schema change): SQLite's JSON functions read the doc. */
	return select_docs_n(s, "SELECT doc FROM nodes WHERE json_extract(doc, '$.tee') = ?1 "
	    "AND lower(json_extract(doc, '$.tee_identity')) = lower(?2) ORDER BY id", p, 2,
	    out);
}

static int
sq_node_list(struct tt_as_store *s, json_t **out)
{
	return select_docs(s, "SELECT doc FROM nodes ORDER BY id", NULL, out);
}

/* DELETE with one text parameter; TT_ERR_DOES_NOT_EXIST when no row went. */
static int
delete_one(struct tt_as_store *s, const char *sql, const char *key)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = tx_begin(s)) != 0)
		return r;
	if ((r = prep(s, sql, &st)) == 0) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		r = step_done(s, st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = TT_ERR_DOES_NOT_EXIST;
	}
	sqlite3_finalize(st);
	return tx_end(s, r);
}

static int
sq_node_delete(struct tt_as_store *s, const char *id)
{
	return delete_one(s, "DELETE FROM nodes WHERE id = ?", id);
}

/* ---- reference values ---- */

static int
sq_refval_import(struct tt_as_store *s, const json_t *arr, int64_t now, json_t **ids)
{
	sqlite3_stmt *st = NULL;
	json_t *out = json_array();
	size_t i;
	int r;

	if (out == NULL)
		return TT_ERR_NO_MEMORY;
	if ((r = tx_begin(s)) != 0) {
		json_decref(out);
		return r;
	}
	if ((r = prep(s, "INSERT INTO refvals (name, value, version, expires_at, scope, created)"
	    " VALUES (?,?,?,?,?,?)", &st)) != 0)
		goto out;
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *e = json_array_get(arr, i);
		const json_t *exp = json_object_get(e, "expires_at");
		const char *scope = json_string_value(json_object_get(e, "scope"));

		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_text(st, 1, json_string_value(json_object_get(e, "name")), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 2, json_string_value(json_object_get(e, "value")), -1,
		    SQLITE_STATIC);
		if (json_is_string(json_object_get(e, "version")))
			sqlite3_bind_text(st, 3, json_string_value(json_object_get(e, "version")),
			    -1, SQLITE_STATIC);
		if (json_is_integer(exp))
			sqlite3_bind_int64(st, 4, json_integer_value(exp));
		sqlite3_bind_text(st, 5, scope != NULL ? scope : "all", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, now);
		if ((r = step_done(s, st)) != 0)
			goto out;
		if (json_array_append_new(out, json_integer(sqlite3_last_insert_rowid(s->db))) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
out:
	sqlite3_finalize(st);
	r = tx_end(s, r);
	if (r != 0) {
		json_decref(out);
		return r;
	}
	*ids = out;
	return 0;
}

static int
sq_refval_list(struct tt_as_store *s, json_t **out)
{
	return select_docs(s, "SELECT json_object('id', id, 'name', name, 'value', value,"
	    " 'version', version, 'expires_at', expires_at, 'scope', scope, 'created', created,"
	    " 'revoked_at', revoked_at) FROM refvals ORDER BY id", NULL, out);
}

static int
sq_refval_revoke(struct tt_as_store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = tx_begin(s)) != 0)
		return r;
	if ((r = prep(s, "UPDATE refvals SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
	    &st)) == 0) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, id);
		r = step_done(s, st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = TT_ERR_DOES_NOT_EXIST;
	}
	sqlite3_finalize(st);
	return tx_end(s, r);
}

static int
sq_refval_valid(struct tt_as_store *s, const char *group, int64_t now, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *obj = json_object();
	char scope[300];
	int r, rc, n;

	if (obj == NULL)
		return TT_ERR_NO_MEMORY;
	n = snprintf(scope, sizeof(scope), "group:%s", group != NULL ? group : "");
	if (n < 0 || (size_t)n >= sizeof(scope)) {
		json_decref(obj);
		return TT_ERR_INVALID_ARGUMENT;
	}
	pthread_mutex_lock(&s->mu);
	if ((r = prep(s, "SELECT name, value FROM refvals WHERE revoked_at IS NULL"
	    " AND (expires_at IS NULL OR expires_at > ?) AND (scope = 'all' OR scope = ?)", &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *val = (const char *)sqlite3_column_text(st, 1);
		json_t *a = json_object_get(obj, name);

		if (a == NULL) {
			a = json_array();
			if (a == NULL || json_object_set_new(obj, name, a) != 0) {
				r = TT_ERR_NO_MEMORY;
				goto out;
			}
		}
		if (json_array_append_new(a, json_string(val)) != 0) {
			r = TT_ERR_NO_MEMORY;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		r = db_err(s, "refval select");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	if (r != 0) {
		json_decref(obj);
		return r;
	}
	*out = obj;
	return 0;
}

/* ---- policies ---- */

static int
sq_policy_put(struct tt_as_store *s, const char *group, const json_t *doc, int64_t now)
{
	sqlite3_stmt *st = NULL;
	char *txt = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int r;

	if (txt == NULL)
		return TT_ERR_NO_MEMORY;
	if ((r = tx_begin(s)) == 0) {
		if ((r = prep(s, "INSERT OR REPLACE INTO policies (grp, doc, updated) VALUES (?,?,?)",
		    &st)) == 0) {
			sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, txt, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, now);
			r = step_done(s, st);
		}
		sqlite3_finalize(st);
		r = tx_end(s, r);
	}
	free(txt);
	return r;
}

static int
sq_policy_get(struct tt_as_store *s, const char *group, json_t **out)
{
	json_t *arr = NULL;
	int r;

	if ((r = select_docs(s, "SELECT doc FROM policies WHERE grp = ?", group, &arr)) != 0)
		return r;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return TT_ERR_DOES_NOT_EXIST;
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

static int
sq_policy_delete(struct tt_as_store *s, const char *group)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = tx_begin(s)) != 0)
		return r;
	if ((r = prep(s, "DELETE FROM policies WHERE grp = ?", &st)) == 0) {
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		r = step_done(s, st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = TT_ERR_DOES_NOT_EXIST;
	}
	sqlite3_finalize(st);
	return tx_end(s, r);
}

static int
sq_policy_list(struct tt_as_store *s, json_t **out)
{
	return select_docs(s, "SELECT json_object('group', grp, 'policy', json(doc),"
	    " 'updated', updated) FROM policies WHERE instr(grp, '/') = 0 ORDER BY grp",
	    NULL, out);
}

/* ---- resources ---- */

static int
sq_resource_put(struct tt_as_store *s, const char *path, const uint8_t *data, size_t len,
	int64_t now)
{
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t bl = 0;
	int r;

	/* Sealed before the lock: the AEAD needs no database state. */
	if ((r = tt_as_seal(s->rkey, path, data, len, &blob, &bl)) != 0)
		return r;
	if ((r = tx_begin(s)) != 0)
		goto out;
	if ((r = prep(s, "INSERT OR REPLACE INTO resources (path, data, updated) VALUES (?,?,?)",
	    &st)) == 0) {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, blob, (int)bl, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		r = step_done(s, st);
	}
	sqlite3_finalize(st);
	r = tx_end(s, r);
out:
	free(blob);
	return r;
}

static int
sq_resource_get(struct tt_as_store *s, const char *path, uint8_t **data, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&s->mu);
	if ((r = prep(s, "SELECT data FROM resources WHERE path = ?", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = TT_ERR_DOES_NOT_EXIST;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = db_err(s, "resource select");
		goto out;
	}
	r = tt_as_unseal(s->rkey, path, sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), data, len);
	if (r == TT_ERR_DATA_CORRUPT)
		tt_err_log("as store: resource %s does not open with the data key"
		    " (changed, copied from another path, or sealed under another key)", path);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int
sq_resource_list(struct tt_as_store *s, json_t **out)
{
	/* size is the plaintext's: the sealed blob less the version byte, nonce and tag. */
	return select_docs(s, "SELECT json_object('path', path, 'size', max(length(data) - 29, 0),"
	    " 'updated', updated) FROM resources ORDER BY path", NULL, out);
}

static int
sq_resource_delete(struct tt_as_store *s, const char *path)
{
	return delete_one(s, "DELETE FROM resources WHERE path = ?", path);
}

/* ---- KBS sessions ---- */

void
tt_as_session_clear(struct tt_as_session *x)
{
	if (x == NULL)
		return;
	free(x->id);
	free(x->tee);
	free(x->nonce);
	json_decref(x->tee_pubkey);
	json_decref(x->release_input);
	memset(x, 0, sizeof(*x));
}

static int
sq_session_put(struct tt_as_store *s, const struct tt_as_session *x)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = tx_begin(s)) != 0)
		return r;
	if ((r = prep(s, "DELETE FROM sessions WHERE expires_at < ?", &st)) == 0) {
		sqlite3_bind_int64(st, 1, tt_as_now() - 60);
		r = step_done(s, st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (r == 0 && (r = prep(s, "INSERT INTO sessions (id, tee, nonce, expires_at, attested)"
	    " VALUES (?,?,?,?,0)", &st)) == 0) {
		sqlite3_bind_text(st, 1, x->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, x->tee, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, x->nonce, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, x->expires_at);
		r = step_done(s, st);
	}
	sqlite3_finalize(st);
	return tx_end(s, r);
}

static int
sq_session_get(struct tt_as_store *s, const char *id, int64_t now, struct tt_as_session *out)
{
	sqlite3_stmt *st = NULL;
	struct tt_as_session x = { 0 };
	int r, rc;

	pthread_mutex_lock(&s->mu);
	if ((r = prep(s, "SELECT tee, nonce, expires_at, attested, tee_pubkey, release_input"
	    " FROM sessions"
	    " WHERE id = ?", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = TT_ERR_DOES_NOT_EXIST;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = db_err(s, "session select");
		goto out;
	}
	x.expires_at = sqlite3_column_int64(st, 2);
	if (now > x.expires_at) {
		r = TT_ERR_TIMEOUT;
		goto out;
	}
	x.id = strdup(id);
	x.tee = col_strdup(st, 0);
	x.nonce = col_strdup(st, 1);
	x.attested = sqlite3_column_int(st, 3) != 0;
	x.tee_pubkey = col_json(st, 4);
	x.release_input = col_json(st, 5);
	if (x.id == NULL || x.tee == NULL)
		r = TT_ERR_NO_MEMORY;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	if (r != 0) {
		tt_as_session_clear(&x);
		return r;
	}
	*out = x;
	return 0;
}

static int
sq_session_attest(struct tt_as_store *s, const char *id, const char *nonce, bool affirming,
	const json_t *tee_pubkey, const json_t *release_input)
{
	sqlite3_stmt *st = NULL;
	char *jwk = NULL, *rin = NULL;
	int r;

	if ((tee_pubkey != NULL &&
	    (jwk = json_dumps(tee_pubkey, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) ||
	    (release_input != NULL &&
	    (rin = json_dumps(release_input, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)) {
		free(jwk);
		return TT_ERR_NO_MEMORY;
	}
	if ((r = tx_begin(s)) != 0)
		goto out_free;
	/* Matching on the nonce makes the update the single use of this challenge. */
	if ((r = prep(s, "UPDATE sessions SET attested = ?, tee_pubkey = ?, release_input = ?,"
	    " nonce = NULL WHERE id = ? AND nonce = ?", &st)) == 0) {
		sqlite3_bind_int(st, 1, affirming ? 1 : 0);
		if (jwk != NULL)
			sqlite3_bind_text(st, 2, jwk, -1, SQLITE_STATIC);
		if (rin != NULL)
			sqlite3_bind_text(st, 3, rin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, nonce, -1, SQLITE_STATIC);
		r = step_done(s, st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = TT_ERR_DOES_NOT_EXIST;
	}
	sqlite3_finalize(st);
	r = tx_end(s, r);
out_free:
	free(jwk);
	free(rin);
	return r;
}

/* ---- signing keys ---- */

static int
sq_key_add(struct tt_as_store *s, const char *kid, const char *alg, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = tx_begin(s)) != 0)
		return r;
	if ((r = prep(s, "INSERT OR IGNORE INTO signing_keys (kid, alg, created, state)"
	    " VALUES (?,?,?,'active')", &st)) == 0) {
		sqlite3_bind_text(st, 1, kid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, alg, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		r = step_done(s, st);
	}
	sqlite3_finalize(st);
	return tx_end(s, r);
}

static int
sq_key_list(struct tt_as_store *s, json_t **out)
{
	return select_docs(s, "SELECT json_object('kid', kid, 'alg', alg, 'created', created,"
	    " 'state', state) FROM signing_keys ORDER BY created", NULL, out);
}

const struct tt_as_store_ops tt_as_store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.node_put = sq_node_put,
	.node_get = sq_node_get,
	.node_by_ak = sq_node_by_ak,
	.node_by_tee_identity = sq_node_by_tee_identity,
	.node_list = sq_node_list,
	.node_delete = sq_node_delete,
	.refval_import = sq_refval_import,
	.refval_list = sq_refval_list,
	.refval_revoke = sq_refval_revoke,
	.refval_valid = sq_refval_valid,
	.policy_put = sq_policy_put,
	.policy_get = sq_policy_get,
	.policy_list = sq_policy_list,
	.policy_delete = sq_policy_delete,
	.resource_put = sq_resource_put,
	.resource_get = sq_resource_get,
	.resource_list = sq_resource_list,
	.resource_delete = sq_resource_delete,
	.session_put = sq_session_put,
	.session_get = sq_session_get,
	.session_attest = sq_session_attest,
	.key_add = sq_key_add,
	.key_list = sq_key_list,
};
