/*
 * Audit records of recent appraisals, in memory: one byte ring of `max_bytes`, written
 * in order and wrapping, and a FIFO index of the records still whole in it. A record is
 * JSON text, never a shared jansson value, so no reference count is touched from two
 * threads (DESIGN.md, "What the code has taught us").
 *
 * Why a ring and not a malloc per record: records are kilobytes each (the claims of one
 * attestation) and one is written per attestation; a malloc'd block per record, freed
 * by whichever thread evicts it, cost a fifth of an attestation's CPU in glibc's
 * allocator and in first-touch page faults (docs/performance.md). The ring is allocated
 * once, its pages touched once, and a record costs one copy under the lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "as.h"
#include "turtle/error.h"

#define MAX_ID 64u
#define MIN_RECORD 256u          /* sizes the index: at most max_bytes / this records */

struct ent {
	char id[MAX_ID + 1];
	size_t off, len;
};

struct tt_as_results {
	pthread_mutex_t mu;
	char *ring;                   /* max_bytes, allocated at the first record */
	size_t max_bytes, woff;       /* next write offset */
	struct ent *ix;               /* FIFO of whole records, oldest at `head` */
	size_t ix_cap, head, count;
};

int
tt_as_results_new(size_t max_bytes, struct tt_as_results **out)
{
	struct tt_as_results *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return TT_ERR_NO_MEMORY;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return TT_ERR_GENERIC;
	}
	t->max_bytes = max_bytes;
	t->ix_cap = max_bytes / MIN_RECORD;
	*out = t;
	return 0;
}

void
tt_as_results_free(struct tt_as_results *t)
{
	if (t == NULL)
		return;
	free(t->ring);
	free(t->ix);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void
drop_oldest(struct tt_as_results *t)
{
	t->head = (t->head + 1) % t->ix_cap;
	t->count--;
}

/* Make room for `len` bytes at the write offset: wrap when they do not fit before the
 * end, and drop every record the new one will overwrite (always the oldest ones). */
static void
make_room(struct tt_as_results *t, size_t len)
{
	if (len > t->max_bytes - t->woff) {
		/* the tail end is abandoned: the records there are the oldest */
		while (t->count > 0 && t->ix[t->head].off >= t->woff)
			drop_oldest(t);
		t->woff = 0;
	}
	while (t->count > 0 && t->ix[t->head].off >= t->woff &&
	    t->ix[t->head].off < t->woff + len)
		drop_oldest(t);
	if (t->count == t->ix_cap)
		drop_oldest(t);
}

int
tt_as_results_put(struct tt_as_results *t, const char *id, const char *const *parts,
	const size_t *lens, size_t nparts)
{
	size_t len = 0, idl = id != NULL ? strlen(id) : 0;
	struct ent *e;
	int r = 0;

	if (id == NULL || idl == 0 || idl > MAX_ID)
		return TT_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < nparts; i++) {
		if (lens[i] > SIZE_MAX - len)
			return TT_ERR_INVALID_ARGUMENT;
		len += lens[i];
	}
	if (t == NULL || t->ix_cap == 0 || len == 0 || len > t->max_bytes)
		return 0;   /* kept nowhere: no budget, or larger than all of it */
	pthread_mutex_lock(&t->mu);
	if (t->ring == NULL &&
	    ((t->ring = malloc(t->max_bytes)) == NULL ||
	    (t->ix = calloc(t->ix_cap, sizeof(*t->ix))) == NULL)) {
		free(t->ring);
		t->ring = NULL;
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	make_room(t, len);
	e = &t->ix[(t->head + t->count) % t->ix_cap];
	memcpy(e->id, id, idl + 1);
	e->off = t->woff;
	e->len = len;
	for (size_t i = 0, o = t->woff; i < nparts; o += lens[i], i++)
		memcpy(t->ring + o, parts[i], lens[i]);
	t->woff += len;
	t->count++;
out:
	pthread_mutex_unlock(&t->mu);
	return r;
}

int
tt_as_results_get(struct tt_as_results *t, const char *id, char **text, size_t *len)
{
	char *copy = NULL;
	size_t n = 0;
	int ret = TT_ERR_DOES_NOT_EXIST;

	if (t == NULL || id == NULL)
		return TT_ERR_DOES_NOT_EXIST;
	pthread_mutex_lock(&t->mu);
	for (size_t k = 0; k < t->count; k++) {
		const struct ent *e = &t->ix[(t->head + k) % t->ix_cap];

		if (strcmp(e->id, id) != 0)
			continue;
		n = e->len;
		if ((copy = malloc(n + 1)) == NULL) {
			ret = TT_ERR_NO_MEMORY;
			break;
		}
		memcpy(copy, t->ring + e->off, n);
		copy[n] = '\0';
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&t->mu);
	if (ret == 0) {
		*text = copy;
		*len = n;
	}
	return ret;
}
