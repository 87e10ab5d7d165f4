/*
 * src/as/seal.c: resources sealed at rest (AES-256-GCM, path as AAD, version byte) and
 * the data key file; and the SQLite store's use of it (rows sealed, wrong key refused,
 * schema-1 databases sealed in place).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "as.h"
#include "seal.h"
#include "turtle/error.h"
#include "util/mem.h"

static const uint8_t key1[TT_AS_SEAL_KEY_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
static const uint8_t msg[] = "the disk encryption passphrase";

static void
seal_msg(const char *path, uint8_t **blob, size_t *bl)
{
	assert_int_equal(tt_as_seal(key1, path, msg, sizeof(msg), blob, bl), 0);
	assert_int_equal(*bl, sizeof(msg) + TT_AS_SEAL_OVERHEAD);
}

static void
test_roundtrip(void **state)
{
	uint8_t *blob = NULL, *pt = NULL;
	size_t bl = 0, n = 0;

	(void)state;
	seal_msg("default/key/disk", &blob, &bl);
	assert_int_equal(blob[0], TT_AS_SEAL_V1);
	/* The plaintext appears nowhere in the blob. */
	assert_null(memmem(blob, bl, "passphrase", 10));
	assert_int_equal(tt_as_unseal(key1, "default/key/disk", blob, bl, &pt, &n), 0);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	tt_free_secret(pt, n);
	free(blob);
}

static void
test_empty_and_fresh_nonce(void **state)
{
	uint8_t *a = NULL, *b = NULL, *pt = NULL;
	size_t al = 0, bl = 0, n = 7;

	(void)state;
	assert_int_equal(tt_as_seal(key1, "r/t/empty", NULL, 0, &a, &al), 0);
	assert_int_equal(al, TT_AS_SEAL_OVERHEAD);
	assert_int_equal(tt_as_unseal(key1, "r/t/empty", a, al, &pt, &n), 0);
	assert_int_equal(n, 0);
	assert_non_null(pt);
	tt_free_secret(pt, n);
	/* Same key, path and plaintext: another nonce, another blob. */
	assert_int_equal(tt_as_seal(key1, "r/t/empty", NULL, 0, &b, &bl), 0);
	assert_memory_not_equal(a + 1, b + 1, TT_AS_SEAL_NONCE_LEN);
	free(a);
	free(b);
}

static void
test_wrong_aad(void **state)
{
	uint8_t *blob = NULL, *pt = NULL;
	size_t bl = 0, n = 0;

	(void)state;
	seal_msg("default/key/disk", &blob, &bl);
	assert_int_equal(tt_as_unseal(key1, "default/key/disk2", blob, bl, &pt, &n),
	    TT_ERR_DATA_CORRUPT);
	assert_int_equal(tt_as_unseal(key1, "default/key/dis", blob, bl, &pt, &n),
	    TT_ERR_DATA_CORRUPT);
	assert_int_equal(tt_as_unseal(key1, "", blob, bl, &pt, &n), TT_ERR_DATA_CORRUPT);
	assert_null(pt);
	free(blob);
}

static void
test_tampered_bytes(void **state)
{
	uint8_t *blob = NULL, *pt = NULL;
	size_t bl = 0, n = 0;

	(void)state;
	seal_msg("a/b/c", &blob, &bl);
	/* Every byte after the version byte: nonce, ciphertext and tag. */
	for (size_t i = 1; i < bl; i++) {
		blob[i] ^= 0x01;
		assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, bl, &pt, &n),
		    TT_ERR_DATA_CORRUPT);
		blob[i] ^= 0x01;
	}
	/* Truncated or extended blobs. */
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, bl - 1, &pt, &n), TT_ERR_DATA_CORRUPT);
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, TT_AS_SEAL_OVERHEAD - 1, &pt, &n),
	    TT_ERR_DATA_CORRUPT);
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, 0, &pt, &n), TT_ERR_DATA_CORRUPT);
	assert_null(pt);
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, bl, &pt, &n), 0);
	tt_free_secret(pt, n);
	free(blob);
}

static void
test_wrong_key(void **state)
{
	uint8_t key2[TT_AS_SEAL_KEY_LEN];
	uint8_t *blob = NULL, *pt = NULL;
	size_t bl = 0, n = 0;

	(void)state;
	memcpy(key2, key1, sizeof(key2));
	key2[31] ^= 0x80;
	seal_msg("a/b/c", &blob, &bl);
	assert_int_equal(tt_as_unseal(key2, "a/b/c", blob, bl, &pt, &n), TT_ERR_DATA_CORRUPT);
	assert_null(pt);
	free(blob);
}

static void
test_version_byte(void **state)
{
	uint8_t *blob = NULL, *pt = NULL;
	size_t bl = 0, n = 0;

	(void)state;
	seal_msg("a/b/c", &blob, &bl);
	blob[0] = 0x00;
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, bl, &pt, &n), TT_ERR_DATA_CORRUPT);
	blob[0] = 0x02;
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, bl, &pt, &n), TT_ERR_DATA_CORRUPT);
	blob[0] = TT_AS_SEAL_V1;
	assert_int_equal(tt_as_unseal(key1, "a/b/c", blob, bl, &pt, &n), 0);
	tt_free_secret(pt, n);
	free(blob);
}

/* ---- key file and store ---- */

struct dir {
	char path[64];
	char key[128];
	char db[128];
};

static int
dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "%s", "/tmp/tt-seal-XXXXXX");
	if (mkdtemp(d->path) == NULL)
		return -1;
	snprintf(d->key, sizeof(d->key), "%s/resource.key", d->path);
	snprintf(d->db, sizeof(d->db), "%s/as.db", d->path);
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	struct dir *d = *state;
	char p[160];
	static const char *const names[] = { "resource.key", "resource.key.new", "as.db",
		"as.db-wal", "as.db-shm" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", d->path, names[i]);
		unlink(p);
	}
	rmdir(d->path);
	free(d);
	return 0;
}

static void
test_key_file(void **state)
{
	struct dir *d = *state;
	uint8_t a[TT_AS_SEAL_KEY_LEN], b[TT_AS_SEAL_KEY_LEN];
	struct stat sb;
	int fd;

	assert_int_equal(tt_as_seal_key_load(d->key, a), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_as_seal_key_create(d->key, a), 0);
	assert_int_equal(stat(d->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, TT_AS_SEAL_KEY_LEN);
	/* Never replaced. */
	assert_int_equal(tt_as_seal_key_create(d->key, b), TT_ERR_ALREADY_EXISTS);
	assert_int_equal(tt_as_seal_key_load(d->key, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* Group-readable or a wrong length: refused. */
	assert_int_equal(chmod(d->key, 0640), 0);
	assert_int_equal(tt_as_seal_key_load(d->key, b), TT_ERR_CONFIG);
	assert_int_equal(chmod(d->key, 0600), 0);
	fd = open(d->key, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(tt_as_seal_key_load(d->key, b), TT_ERR_CONFIG);
}

/* Run one SQL statement on as.db behind the store's back. */
static void
raw_sql(const struct dir *d, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(d->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_store_sealed(void **state)
{
	struct dir *d = *state;
	const struct tt_as_store_ops *ops = &tt_as_store_sqlite;
	struct tt_as_store *st = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;

	assert_int_equal(ops->open(d->path, &st), 0);
	assert_int_equal(ops->resource_put(st, "default/key/a", msg, sizeof(msg), 1), 0);
	assert_int_equal(ops->resource_get(st, "default/key/a", &pt, &n), 0);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(pt, msg, n);
	tt_free_secret(pt, n);
	pt = NULL;
	ops->close(st);
	st = NULL;

	/* A sealed row moved to another path does not open there. */
	raw_sql(d, "UPDATE resources SET path = 'default/key/b'");
	assert_int_equal(ops->open(d->path, &st), 0);
	assert_int_equal(ops->resource_get(st, "default/key/b", &pt, &n), TT_ERR_DATA_CORRUPT);
	assert_null(pt);
	ops->close(st);
	st = NULL;

	/* Another key: refused at open while sealed rows exist. */
	assert_int_equal(unlink(d->key), 0);
	assert_int_equal(ops->open(d->path, &st), TT_ERR_CONFIG);
	assert_int_equal(tt_as_seal_key_create(d->key, (uint8_t[TT_AS_SEAL_KEY_LEN]){ 0 }), 0);
	assert_int_equal(ops->open(d->path, &st), TT_ERR_CONFIG);
	assert_null(st);
}

static void
test_store_migrates_plain(void **state)
{
	struct dir *d = *state;
	const struct tt_as_store_ops *ops = &tt_as_store_sqlite;
	struct tt_as_store *st = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	/* A schema-1 database as older builds wrote it: resources as given, no key file. */
	raw_sql(d, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
	    "INSERT INTO schema_version VALUES (1);"
	    "CREATE TABLE resources (path TEXT PRIMARY KEY, data BLOB NOT NULL,"
	    " updated INTEGER NOT NULL);"
	    "INSERT INTO resources VALUES ('default/key/old', 'plain old secret', 1);"
	    "INSERT INTO resources VALUES ('default/key/empty', x'', 1);");
	assert_int_equal(ops->open(d->path, &st), 0);
	assert_int_equal(access(d->key, F_OK), 0);
	assert_int_equal(ops->resource_get(st, "default/key/old", &pt, &n), 0);
	assert_int_equal(n, 16);
	assert_memory_equal(pt, "plain old secret", 16);
	tt_free_secret(pt, n);
	assert_int_equal(ops->resource_get(st, "default/key/empty", &pt, &n), 0);
	assert_int_equal(n, 0);
	tt_free_secret(pt, n);
	ops->close(st);

	assert_int_equal(sqlite3_open(d->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT version FROM schema_version),"
	    " (SELECT count(*) FROM resources WHERE instr(data, 'plain old') > 0)", -1, &q, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 3);   /* sealed (2), then nodes.ak (3) */
	assert_int_equal(sqlite3_column_int(q, 1), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_and_fresh_nonce),
		cmocka_unit_test(test_wrong_aad),
		cmocka_unit_test(test_tampered_bytes),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_version_byte),
		cmocka_unit_test_setup_teardown(test_key_file, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_store_sealed, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_store_migrates_plain, dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
