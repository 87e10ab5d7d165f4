/* Unit tests for the key info manager (src/service/kim). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "service/kim/kim.h"
#include "turtle/error.h"

struct fx {
	char dir[64];
	char path[128];
	struct tt_kim *kim;
};

static const struct tt_key_attrs ecc_attrs = {
	.type = TT_KEY_TYPE_ECC_KEY_PAIR(TT_ECC_FAMILY_SECP_R1),
	.bits = 256,
	.usage = TT_USAGE_SIGN_HASH | TT_USAGE_VERIFY_HASH,
	.alg = TT_ALG_ECDSA(TT_ALG_SHA_256),
};

static const struct tt_kim_client alice = { .auth_type = 1, .app = "alice" };
static const struct tt_kim_client bob = { .auth_type = 1, .app = "bob" };
static const struct tt_kim_client carol = { .auth_type = 3, .app = "carol" };

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tt-kim-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/keys.sqlite3", f->dir);
	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[160];

	tt_kim_close(f->kim);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
reopen(struct fx *f)
{
	tt_kim_close(f->kim);
	f->kim = NULL;
	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
}

/* Create a committed key with a reference "ref:<name>". */
static void
make_key(struct tt_kim *kim, const struct tt_kim_client *c, const char *name, uint8_t prov,
    uint8_t kid[TT_KEY_ID_LEN])
{
	char ref[300];
	int n = snprintf(ref, sizeof(ref), "ref:%s", name);

	assert_int_equal(tt_kim_begin_create(kim, c, name, prov, &ecc_attrs, kid), 0);
	assert_int_equal(tt_kim_commit_create(kim, kid, (const uint8_t *)ref, (size_t)n), 0);
}

struct names {
	size_t n;
	char v[16][64];
	int state[16];
};

static int
collect_cb(const struct tt_kim_rec *r, void *arg)
{
	struct names *ns = arg;

	assert_true(ns->n < 16);
	snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%s/%s", r->app, r->name);
	ns->state[ns->n] = (int)r->state;
	ns->n++;
	return 0;
}

static int
collect_client_cb(uint8_t auth_type, const char *app, void *arg)
{
	struct names *ns = arg;

	assert_true(ns->n < 16);
	snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%u:%s", auth_type, app);
	ns->n++;
	return 0;
}

static void
test_lifecycle(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN], kid2[TT_KEY_ID_LEN], zero[TT_KEY_ID_LEN] = { 0 };
	struct tt_kim_rec r = { 0 };
	struct tt_key k;
	struct names ns = { 0 };

	make_key(f->kim, &alice, "k1", 1, kid);
	assert_memory_not_equal(kid, zero, TT_KEY_ID_LEN);
	make_key(f->kim, &alice, "a0", 1, kid2);
	assert_memory_not_equal(kid, kid2, TT_KEY_ID_LEN);

	assert_int_equal(tt_kim_get(f->kim, &alice, "k1", &r), 0);
	assert_int_equal(r.auth_type, 1);
	assert_string_equal(r.app, "alice");
	assert_string_equal(r.name, "k1");
	assert_int_equal(r.provider, 1);
	assert_memory_equal(r.kid, kid, TT_KEY_ID_LEN);
	assert_int_equal(r.attrs.type, ecc_attrs.type);
	assert_int_equal(r.attrs.bits, 256);
	assert_int_equal(r.attrs.usage, ecc_attrs.usage);
	assert_int_equal(r.attrs.alg, ecc_attrs.alg);
	assert_int_equal(r.ref_len, 6);
	assert_memory_equal(r.ref, "ref:k1", 6);
	assert_int_equal(r.state, TT_KIM_ACTIVE);

	tt_kim_rec_to_key(&r, &k);
	assert_ptr_equal(k.ref, r.ref);
	assert_int_equal(k.ref_len, 6);
	assert_string_equal(k.owner.name, "k1");
	assert_memory_equal(k.kid, kid, TT_KEY_ID_LEN);
	tt_kim_rec_clear(&r);
	assert_null(r.ref);
	tt_kim_rec_clear(&r);   /* reusable, idempotent */
	tt_kim_rec_clear(NULL);

	/* ordered by name */
	assert_int_equal(tt_kim_list_keys(f->kim, &alice, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.v[0], "alice/a0");
	assert_string_equal(ns.v[1], "alice/k1");

	assert_int_equal(tt_kim_get(f->kim, &alice, "nope", &r), TT_ERR_DOES_NOT_EXIST);

	/* destroy */
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, "k1", &r), 0);
	assert_int_equal(r.state, TT_KIM_DESTROYING);
	assert_memory_equal(r.kid, kid, TT_KEY_ID_LEN);
	assert_memory_equal(r.ref, "ref:k1", 6);
	assert_int_equal(tt_kim_finish_destroy(f->kim, r.kid), 0);
	assert_int_equal(tt_kim_finish_destroy(f->kim, r.kid), TT_ERR_DOES_NOT_EXIST);
	tt_kim_rec_clear(&r);
	assert_int_equal(tt_kim_get(f->kim, &alice, "k1", &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, "k1", &r), TT_ERR_DOES_NOT_EXIST);

	/* the name is free again */
	make_key(f->kim, &alice, "k1", 1, kid);

	/* wrong-state transitions */
	assert_int_equal(tt_kim_commit_create(f->kim, kid, (const uint8_t *)"x", 1), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_abort_create(f->kim, kid), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_forget(f->kim, kid), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_finish_destroy(f->kim, zero), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_get(f->kim, &alice, "k1", &r), 0);
	assert_memory_equal(r.ref, "ref:k1", 6);
	tt_kim_rec_clear(&r);
}

static void
test_empty_ref(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };

	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "e", 2, &ecc_attrs, kid), 0);
	assert_int_equal(tt_kim_commit_create(f->kim, kid, NULL, 0), 0);
	assert_int_equal(tt_kim_get(f->kim, &alice, "e", &r), 0);
	assert_int_equal(r.ref_len, 0);
	assert_int_equal(r.provider, 2);
	tt_kim_rec_clear(&r);
}

static void
test_same_name_two_clients(void **state)
{
	struct fx *f = *state;
	uint8_t ka[TT_KEY_ID_LEN], kb[TT_KEY_ID_LEN];
	struct tt_kim_client alice_other_auth = { .auth_type = 2, .app = "alice" };
	struct tt_kim_rec r = { 0 };

	make_key(f->kim, &alice, "shared", 1, ka);
	make_key(f->kim, &bob, "shared", 1, kb);
	assert_memory_not_equal(ka, kb, TT_KEY_ID_LEN);
	/* the authenticator is part of the identity */
	assert_int_equal(tt_kim_get(f->kim, &alice_other_auth, "shared", &r), TT_ERR_DOES_NOT_EXIST);

	assert_int_equal(tt_kim_get(f->kim, &bob, "shared", &r), 0);
	assert_memory_equal(r.kid, kb, TT_KEY_ID_LEN);
	tt_kim_rec_clear(&r);
	/* destroying bob's leaves alice's */
	assert_int_equal(tt_kim_begin_destroy(f->kim, &bob, "shared", &r), 0);
	assert_int_equal(tt_kim_finish_destroy(f->kim, r.kid), 0);
	tt_kim_rec_clear(&r);
	assert_int_equal(tt_kim_get(f->kim, &alice, "shared", &r), 0);
	assert_memory_equal(r.kid, ka, TT_KEY_ID_LEN);
	tt_kim_rec_clear(&r);
}

static void
test_same_name_two_providers_refused(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN], kid2[TT_KEY_ID_LEN];
	struct names ns = { 0 };

	make_key(f->kim, &alice, "dup", 1, kid);
	memset(kid2, 0xaa, sizeof(kid2));
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "dup", 2, &ecc_attrs, kid2),
	    TT_ERR_ALREADY_EXISTS);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "dup", 1, &ecc_attrs, kid2),
	    TT_ERR_ALREADY_EXISTS);
	assert_int_equal(tt_kim_list_keys(f->kim, &alice, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 1);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct names ns = { 0 };

	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "tmp", 1, &ecc_attrs, kid), 0);
	assert_int_equal(tt_kim_abort_create(f->kim, kid), 0);
	assert_int_equal(tt_kim_abort_create(f->kim, kid), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_commit_create(f->kim, kid, (const uint8_t *)"r", 1), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_get(f->kim, &alice, "tmp", &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
	/* and the name can be used */
	make_key(f->kim, &alice, "tmp", 1, kid);
}

static void
test_pending_visibility(void **state)
{
	struct fx *f = *state;
	uint8_t kc[TT_KEY_ID_LEN], kd[TT_KEY_ID_LEN], tmp[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct names ns = { 0 };

	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "creating", 1, &ecc_attrs, kc), 0);
	make_key(f->kim, &bob, "dying", 1, kd);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &bob, "dying", &r), 0);
	tt_kim_rec_clear(&r);

	/* invisible to lookups and listings */
	assert_int_equal(tt_kim_get(f->kim, &alice, "creating", &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_get(f->kim, &bob, "dying", &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, "creating", &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &bob, "dying", &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_list_keys(f->kim, &alice, collect_cb, &ns), 0);
	assert_int_equal(tt_kim_list_keys(f->kim, &bob, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
	assert_int_equal(tt_kim_list_clients(f->kim, collect_client_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
	/* but still reserve their names */
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "creating", 1, &ecc_attrs, tmp),
	    TT_ERR_ALREADY_EXISTS);
	assert_int_equal(tt_kim_begin_create(f->kim, &bob, "dying", 1, &ecc_attrs, tmp),
	    TT_ERR_ALREADY_EXISTS);

	/* visible to list_pending with their state */
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 2);
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(ns.v[i], "alice/creating") == 0)
			assert_int_equal(ns.state[i], TT_KIM_CREATING);
		else if (strcmp(ns.v[i], "bob/dying") == 0)
			assert_int_equal(ns.state[i], TT_KIM_DESTROYING);
		else
			fail_msg("unexpected pending row %s", ns.v[i]);
	}
	/* forget only acts on pending rows */
	assert_int_equal(tt_kim_forget(f->kim, kc), 0);
	assert_int_equal(tt_kim_forget(f->kim, kd), 0);
	assert_int_equal(tt_kim_forget(f->kim, kd), TT_ERR_DOES_NOT_EXIST);
	ns.n = 0;
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
}

/* Recovery as the service runs it: forget each pending row from inside the walk. */
struct recover_ctx {
	struct tt_kim *kim;
	int seen, ref_null;
};

static int
recover_cb(const struct tt_kim_rec *r, void *arg)
{
	struct recover_ctx *rc = arg;

	rc->seen++;
	if (r->state == TT_KIM_CREATING && r->ref == NULL)
		rc->ref_null++;
	return tt_kim_forget(rc->kim, r->kid);
}

static int
stop_cb(const struct tt_kim_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 42;
}

static void
test_recovery_walk(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct recover_ctx rc = { .kim = f->kim };
	int calls = 0;

	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "p1", 1, &ecc_attrs, kid), 0);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "p2", 1, &ecc_attrs, kid), 0);
	make_key(f->kim, &alice, "p3", 1, kid);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, "p3", &r), 0);
	tt_kim_rec_clear(&r);

	/* a non-zero callback return stops the walk and is returned */
	assert_int_equal(tt_kim_list_pending(f->kim, stop_cb, &calls), 42);
	assert_int_equal(calls, 1);

	assert_int_equal(tt_kim_list_pending(f->kim, recover_cb, &rc), 0);
	assert_int_equal(rc.seen, 3);
	assert_int_equal(rc.ref_null, 2);
	rc.seen = 0;
	assert_int_equal(tt_kim_list_pending(f->kim, recover_cb, &rc), 0);
	assert_int_equal(rc.seen, 0);
}

static void
test_persistence(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN], kp[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct names ns = { 0 };

	make_key(f->kim, &alice, "keep", 1, kid);
	assert_int_equal(tt_kim_begin_create(f->kim, &bob, "half", 1, &ecc_attrs, kp), 0);
	reopen(f);
	assert_int_equal(tt_kim_get(f->kim, &alice, "keep", &r), 0);
	assert_memory_equal(r.kid, kid, TT_KEY_ID_LEN);
	assert_memory_equal(r.ref, "ref:keep", 8);
	tt_kim_rec_clear(&r);
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 1);
	assert_string_equal(ns.v[0], "bob/half");
	assert_int_equal(ns.state[0], TT_KIM_CREATING);
	/* a reservation survives a restart and can still be committed */
	assert_int_equal(tt_kim_commit_create(f->kim, kp, (const uint8_t *)"late", 4), 0);
	reopen(f);
	assert_int_equal(tt_kim_get(f->kim, &bob, "half", &r), 0);
	assert_memory_equal(r.ref, "late", 4);
	tt_kim_rec_clear(&r);
}

static void
test_fork_crash(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	struct names ns = { 0 };
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	tt_kim_close(f->kim);
	f->kim = NULL;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tt_kim *k = NULL;

		close(fds[0]);
		if (tt_kim_open(f->path, &k) != 0 ||
		    tt_kim_begin_create(k, &carol, "crashy", 1, &ecc_attrs, kid) != 0)
			_exit(1);
		if (write(fds[1], kid, sizeof(kid)) != (ssize_t)sizeof(kid))
			_exit(2);
		/* the provider would run now; the process dies without commit or close */
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	n = read(fds[0], kid, sizeof(kid));
	close(fds[0]);
	assert_int_equal(n, (ssize_t)sizeof(kid));

	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 1);
	assert_string_equal(ns.v[0], "carol/crashy");
	assert_int_equal(ns.state[0], TT_KIM_CREATING);
	ns.n = 0;
	assert_int_equal(tt_kim_list_keys(f->kim, &carol, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
	assert_int_equal(tt_kim_forget(f->kim, kid), 0);
}

static void
test_second_open_refused(void **state)
{
	struct fx *f = *state;
	struct tt_kim *k2 = NULL;

	/* one live owner per store: recovery must not race another process's creations */
	assert_int_equal(tt_kim_open(f->path, &k2), TT_ERR_STORAGE);
	assert_null(k2);
}

static void
test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	struct tt_kim *k2 = NULL;
	sqlite3 *db;

	tt_kim_close(f->kim);
	f->kim = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(tt_kim_open(f->path, &k2), TT_ERR_STORAGE);
	assert_null(k2);
	/* and an untouched file is still refused on the next try (nothing was rewritten) */
	assert_int_equal(tt_kim_open(f->path, &k2), TT_ERR_STORAGE);
	/* restore so teardown and later opens work */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
}

/* Quotas: keys per client (rows in any state) and clients holding keys. */
static void
test_quota(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN], k3[TT_KEY_ID_LEN];
	struct tt_kim_rec rec = { 0 };

	tt_kim_set_quota(f->kim, 3, 2);
	make_key(f->kim, &alice, "a1", 1, kid);
	make_key(f->kim, &alice, "a2", 1, kid);
	/* a CREATING row counts: it may already hold material */
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "a3", 1, &ecc_attrs, k3), 0);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "a4", 1, &ecc_attrs, kid),
	    TT_ERR_INSUFFICIENT_STORAGE);
	/* a duplicate stays a duplicate at the quota */
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "a1", 1, &ecc_attrs, kid),
	    TT_ERR_ALREADY_EXISTS);
	/* the second client may start, a third may not */
	make_key(f->kim, &bob, "b1", 1, kid);
	assert_int_equal(tt_kim_begin_create(f->kim, &carol, "c1", 1, &ecc_attrs, kid),
	    TT_ERR_INSUFFICIENT_STORAGE);
	/* freeing a row frees quota; a client whose last key goes frees its client slot */
	assert_int_equal(tt_kim_abort_create(f->kim, k3), 0);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "a4", 1, &ecc_attrs, k3), 0);
	assert_int_equal(tt_kim_commit_create(f->kim, k3, (const uint8_t *)"r", 1), 0);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &bob, "b1", &rec), 0);
	assert_int_equal(tt_kim_finish_destroy(f->kim, rec.kid), 0);
	tt_kim_rec_clear(&rec);
	make_key(f->kim, &carol, "c1", 1, kid);
	/* the counts survive a reopen (they live in the store) */
	reopen(f);
	tt_kim_set_quota(f->kim, 3, 2);
	assert_int_equal(tt_kim_begin_create(f->kim, &bob, "b2", 1, &ecc_attrs, kid),
	    TT_ERR_INSUFFICIENT_STORAGE);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "a5", 1, &ecc_attrs, kid),
	    TT_ERR_INSUFFICIENT_STORAGE);
	/* 0 lifts a limit */
	tt_kim_set_quota(f->kim, 0, 0);
	make_key(f->kim, &bob, "b2", 1, kid);
	make_key(f->kim, &alice, "a5", 1, kid);
}

/* A version-1 store gets its client counts from the rows it already holds. */
static void
test_migration_v1_counts(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	sqlite3 *db;

	make_key(f->kim, &alice, "a1", 1, kid);
	make_key(f->kim, &alice, "a2", 1, kid);
	make_key(f->kim, &bob, "b1", 1, kid);
	tt_kim_close(f->kim);
	f->kim = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER keys_count_ins; DROP TRIGGER keys_count_del;"
	    "DROP TABLE clients; PRAGMA user_version=1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
	tt_kim_set_quota(f->kim, 2, 2);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "a3", 1, &ecc_attrs, kid),
	    TT_ERR_INSUFFICIENT_STORAGE);
	assert_int_equal(tt_kim_begin_create(f->kim, &carol, "c1", 1, &ecc_attrs, kid),
	    TT_ERR_INSUFFICIENT_STORAGE);
	make_key(f->kim, &bob, "b2", 1, kid);
}

static void
test_not_a_database(void **state)
{
	struct fx *f = *state;
	char path[160];
	struct tt_kim *k = NULL;
	FILE *fp;
	int r;

	snprintf(path, sizeof(path), "%s/junk.sqlite3", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	for (int i = 0; i < 64; i++)
		fputs("this is not an SQLite database, just junk bytes. ", fp);
	fclose(fp);
	r = tt_kim_open(path, &k);
	assert_true(r == TT_ERR_DATA_CORRUPT || r == TT_ERR_STORAGE);
	assert_null(k);
	unlink(path);
}

static void
test_schema_version(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	sqlite3_stmt *s;

	tt_kim_close(f->kim);
	f->kim = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 2);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
}

static void
test_file_mode(void **state)
{
	struct fx *f = *state;
	char path[160], wal[170];
	struct tt_kim *k = NULL;
	uint8_t kid[TT_KEY_ID_LEN];
	struct stat st;
	mode_t old;

	/* even with a permissive umask the store is private */
	old = umask(0);
	snprintf(path, sizeof(path), "%s/mode.sqlite3", f->dir);
	assert_int_equal(tt_kim_open(path, &k), 0);
	make_key(k, &alice, "m", 1, kid);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tt_kim_close(k);

	/* an existing store with a loose mode is tightened */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(tt_kim_open(path, &k), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tt_kim_close(k);
	unlink(path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
}

static void
test_name_bounds(void **state)
{
	struct fx *f = *state;
	char n256[257], n257[258];
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct tt_kim_client longapp = { .auth_type = 1, .app = n257 };
	struct tt_kim_client okapp = { .auth_type = 1, .app = n256 };
	struct tt_kim_client emptyapp = { .auth_type = 1, .app = "" };
	struct tt_kim_client nullapp = { .auth_type = 1, .app = NULL };
	struct names ns = { 0 };

	memset(n256, 'n', 256);
	n256[256] = '\0';
	memset(n257, 'n', 257);
	n257[257] = '\0';

	make_key(f->kim, &okapp, n256, 1, kid);
	assert_int_equal(tt_kim_get(f->kim, &okapp, n256, &r), 0);
	assert_int_equal(strlen(r.name), 256);
	assert_int_equal(strlen(r.app), 256);
	tt_kim_rec_clear(&r);

	assert_int_equal(tt_kim_begin_create(f->kim, &alice, n257, 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_create(f->kim, &longapp, "k", 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, "", 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_create(f->kim, &emptyapp, "k", 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_create(f->kim, &nullapp, "k", 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_create(f->kim, &alice, NULL, 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_create(f->kim, NULL, "k", 1, &ecc_attrs, kid), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_get(f->kim, &alice, n257, &r), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_get(f->kim, &longapp, "k", &r), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, n257, &r), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_list_keys(f->kim, &longapp, collect_cb, &ns), TT_ERR_INVALID_ARGUMENT);
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
}

static void
test_list_clients(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct names ns = { 0 };

	make_key(f->kim, &alice, "a1", 1, kid);
	make_key(f->kim, &alice, "a2", 1, kid);
	make_key(f->kim, &carol, "c1", 1, kid);
	/* bob only has a pending creation: not a client with keys */
	assert_int_equal(tt_kim_begin_create(f->kim, &bob, "b1", 1, &ecc_attrs, kid), 0);
	/* a destroyed client disappears */
	struct tt_kim_client dave = { .auth_type = 1, .app = "dave" };
	make_key(f->kim, &dave, "d1", 1, kid);
	assert_int_equal(tt_kim_begin_destroy(f->kim, &dave, "d1", &r), 0);
	tt_kim_rec_clear(&r);

	assert_int_equal(tt_kim_list_clients(f->kim, collect_client_cb, &ns), 0);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.v[0], "1:alice");
	assert_string_equal(ns.v[1], "3:carol");
}

static void
test_corrupt_row(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };
	struct names ns = { 0 };
	sqlite3 *db;

	make_key(f->kim, &alice, "bad", 1, kid);
	make_key(f->kim, &alice, "big", 1, kid);
	tt_kim_close(f->kim);
	f->kim = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE keys SET bits = -1 WHERE name = 'bad';"
	    "UPDATE keys SET key_type = 70000 WHERE name = 'big';", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(tt_kim_open(f->path, &f->kim), 0);
	assert_int_equal(tt_kim_get(f->kim, &alice, "bad", &r), TT_ERR_DATA_CORRUPT);
	assert_null(r.app);
	assert_int_equal(tt_kim_get(f->kim, &alice, "big", &r), TT_ERR_DATA_CORRUPT);
	assert_int_equal(tt_kim_list_keys(f->kim, &alice, collect_cb, &ns), TT_ERR_DATA_CORRUPT);
	assert_int_equal(ns.n, 0);
	/* a row that does not decode is not marked for destruction */
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, "bad", &r), TT_ERR_DATA_CORRUPT);
	assert_int_equal(tt_kim_list_pending(f->kim, collect_cb, &ns), 0);
	assert_int_equal(ns.n, 0);
}

static void
test_begin_destroy_kid(void **state)
{
	struct fx *f = *state;
	uint8_t old[TT_KEY_ID_LEN], cur[TT_KEY_ID_LEN];
	struct tt_kim_rec r = { 0 };

	make_key(f->kim, &alice, "k", 1, old);
	/* destroyed and re-created (on another provider) after a lookup of `old` */
	assert_int_equal(tt_kim_begin_destroy(f->kim, &alice, "k", &r), 0);
	assert_int_equal(tt_kim_finish_destroy(f->kim, r.kid), 0);
	tt_kim_rec_clear(&r);
	make_key(f->kim, &alice, "k", 2, cur);

	assert_int_equal(tt_kim_begin_destroy_kid(f->kim, &alice, old, &r), TT_ERR_DOES_NOT_EXIST);
	/* another client cannot mark it even knowing the kid */
	assert_int_equal(tt_kim_begin_destroy_kid(f->kim, &bob, cur, &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_get(f->kim, &alice, "k", &r), 0);
	assert_int_equal(r.provider, 2);
	tt_kim_rec_clear(&r);

	assert_int_equal(tt_kim_begin_destroy_kid(f->kim, &alice, cur, &r), 0);
	assert_int_equal(r.state, TT_KIM_DESTROYING);
	assert_int_equal(r.provider, 2);
	assert_string_equal(r.name, "k");
	assert_memory_equal(r.ref, "ref:k", 5);
	assert_int_equal(tt_kim_begin_destroy_kid(f->kim, &alice, cur, &r), TT_ERR_DOES_NOT_EXIST);
	assert_int_equal(tt_kim_finish_destroy(f->kim, cur), 0);
	tt_kim_rec_clear(&r);
	assert_int_equal(tt_kim_begin_destroy_kid(f->kim, &alice, NULL, &r), TT_ERR_INVALID_ARGUMENT);
}

struct thr {
	struct tt_kim *kim;
	int fails;
};

static void *
getter(void *arg)
{
	struct thr *t = arg;
	struct tt_kim_rec r = { 0 };

	for (int i = 0; i < 500; i++) {
		if (tt_kim_get(t->kim, &alice, "hot", &r) != 0 || r.ref_len != 7 ||
		    memcmp(r.ref, "ref:hot", 7) != 0)
			t->fails++;
		tt_kim_rec_clear(&r);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	uint8_t kid[TT_KEY_ID_LEN];
	pthread_t th[4];
	struct thr t[4];

	make_key(f->kim, &alice, "hot", 1, kid);
	for (int i = 0; i < 4; i++) {
		t[i].kim = f->kim;
		t[i].fails = 0;
		assert_int_equal(pthread_create(&th[i], NULL, getter, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%d", i);
		make_key(f->kim, &bob, name, 1, kid);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].fails, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_name_two_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_name_two_providers_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_visibility, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v1_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_begin_destroy_kid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
