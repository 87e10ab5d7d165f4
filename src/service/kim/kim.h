/*
 * Key info manager: the persistent map
 *     (authenticator, application name, key name) -> provider, key id, attributes, reference
 * on SQLite (WAL, versioned schema, synchronous=FULL).
 *
 * A key name is unique per client across all providers.
 *
 * Crash safety is a two-phase protocol with the state stored in the row:
 *   create:  tt_kim_begin_create  (row inserted as CREATING with a fresh random kid)
 *            provider creates material for kid
 *            tt_kim_commit_create (row becomes ACTIVE with the provider reference)
 *   destroy: tt_kim_begin_destroy (row becomes DESTROYING)
 *            provider destroys material for kid
 *            tt_kim_finish_destroy (row deleted)
 * Each step is one durable transaction. After a crash, tt_kim_list_pending returns the
 * rows still CREATING or DESTROYING; recovery destroys their provider material
 * (idempotently) and deletes them, so no orphan material and no dangling mapping
 * survive a restart. Only ACTIVE rows are visible to lookups and listings.
 *
 * All functions are thread-safe (one connection behind a mutex) and return 0 or a
 * negative tt_err: TT_ERR_DOES_NOT_EXIST, TT_ERR_ALREADY_EXISTS, TT_ERR_STORAGE for an
 * SQLite failure, TT_ERR_DATA_CORRUPT for a row that does not decode.
 *
 * Further rules of the contract:
 *  - Application and key names are 1..256 bytes; anything else (NULL, empty, longer)
 *    is TT_ERR_INVALID_ARGUMENT before the database is touched.
 *  - A name stays reserved while its row is CREATING or DESTROYING: begin_create on it
 *    is TT_ERR_ALREADY_EXISTS even though get/list do not show it.
 *  - commit_create / abort_create act only on a CREATING row, finish_destroy only on a
 *    DESTROYING row, forget on either; no such row is TT_ERR_DOES_NOT_EXIST.
 *  - One live owner per store: tt_kim_open holds an exclusive flock on the file for the
 *    handle's life and a second open (any process) is TT_ERR_STORAGE. Recovery relies on
 *    this: every pending row it sees belongs to a dead process.
 *  - Call tt_kim_list_pending for recovery only before serving requests: while serving,
 *    CREATING/DESTROYING rows are in-flight operations, not crash leftovers.
 *  - Walk callbacks run after the lock is released, on a snapshot taken under it; the
 *    record is valid only during the call, and the callback may call back into the store
 *    (recovery calls tt_kim_forget, DeleteClient destroys the keys it lists).
 *  - A handle must not be used across fork(); a child opens its own after the parent
 *    closed its handle.
 */
#ifndef TT_KIM_H
#define TT_KIM_H

#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "turtle/psa.h"

struct tt_kim;

enum tt_kim_state {
	TT_KIM_CREATING = 1,
	TT_KIM_ACTIVE = 2,
	TT_KIM_DESTROYING = 3,
};

/* A client identity as the key store keys it. */
struct tt_kim_client {
	uint8_t auth_type;
	const char *app;
};

struct tt_kim_rec {
	uint8_t auth_type;
	char *app;
	char *name;
	uint8_t provider;
	uint8_t kid[TT_KEY_ID_LEN];
	struct tt_key_attrs attrs;
	uint8_t *ref;            /* provider reference; wiped on free */
	size_t ref_len;
	enum tt_kim_state state;
};

/* Open or create the store at `path` (file created 0600). Upgrades older schema
 * versions; refuses a newer one with TT_ERR_STORAGE. */
int tt_kim_open(const char *path, struct tt_kim **out);
void tt_kim_close(struct tt_kim *kim);
/* Release the fields of a record (wiping the reference); NULL-safe, record reusable. */
void tt_kim_rec_clear(struct tt_kim_rec *r);

/* Fill a struct tt_key view of an ACTIVE record (borrows the record's memory). */
void tt_kim_rec_to_key(const struct tt_kim_rec *r, struct tt_key *k);

/* Active key of a client by name. */
int tt_kim_get(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    struct tt_kim_rec *out);

/*
 * Quotas for tt_kim_begin_create (0 = no limit, the default of a fresh handle): a client
 * holds at most max_keys rows in any state, and at most max_clients clients hold rows.
 * Over either, begin_create is TT_ERR_INSUFFICIENT_STORAGE (a duplicate name is still
 * TT_ERR_ALREADY_EXISTS). Lowering a quota never touches existing keys.
 */
void tt_kim_set_quota(struct tt_kim *kim, uint32_t max_keys, uint32_t max_clients);

int tt_kim_begin_create(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    uint8_t provider, const struct tt_key_attrs *a, uint8_t kid_out[TT_KEY_ID_LEN]);
int tt_kim_commit_create(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN],
    const uint8_t *ref, size_t ref_len);
int tt_kim_abort_create(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN]);

/* Marks the active key DESTROYING and returns its record (for the provider call). */
int tt_kim_begin_destroy(struct tt_kim *kim, const struct tt_kim_client *c, const char *name,
    struct tt_kim_rec *out);
/* The same for exactly the row `kid` of client `c`, as resolved earlier by tt_kim_get:
 * TT_ERR_DOES_NOT_EXIST if that row is no longer ACTIVE (destroyed, and perhaps its name
 * re-created, meanwhile). Use it when the caller already checked the record (its
 * provider, its policy) so that the row marked is the row checked. */
int tt_kim_begin_destroy_kid(struct tt_kim *kim, const struct tt_kim_client *c,
    const uint8_t kid[TT_KEY_ID_LEN], struct tt_kim_rec *out);
int tt_kim_finish_destroy(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN]);

/* Callback iteration; a non-zero return from cb stops the walk and is returned. */
typedef int (*tt_kim_rec_cb)(const struct tt_kim_rec *r, void *arg);
/* Active keys of one client, ordered by name. */
int tt_kim_list_keys(struct tt_kim *kim, const struct tt_kim_client *c, tt_kim_rec_cb cb, void *arg);
/* Rows left CREATING or DESTROYING by a crash. */
int tt_kim_list_pending(struct tt_kim *kim, tt_kim_rec_cb cb, void *arg);
/* Delete a pending row after its material was cleaned up. */
int tt_kim_forget(struct tt_kim *kim, const uint8_t kid[TT_KEY_ID_LEN]);

/* Distinct application names that own at least one active key (ListClients). */
typedef int (*tt_kim_client_cb)(uint8_t auth_type, const char *app, void *arg);
int tt_kim_list_clients(struct tt_kim *kim, tt_kim_client_cb cb, void *arg);

#endif
