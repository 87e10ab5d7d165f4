/*
 * Audit records of recent appraisals, in memory: a FIFO under one mutex with a byte
 * budget. A record is JSON text, never a shared jansson value, so no reference count is
 * touched from two threads (DESIGN.md, "What the code has taught us").
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "as.h"
#include "turtle/error.h"

#define MAX_ID 64u

struct rec {
	struct rec *next;
	char id[MAX_ID + 1];
	char *text;
	size_t len;
};

struct tt_as_results {
	pthread_mutex_t mu;
	size_t max_bytes, bytes;
	struct rec *head, *tail;      /* oldest first */
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
	*out = t;
	return 0;
}

static void
rec_free(struct rec *r)
{
	if (r == NULL)
		return;
	free(r->text);
	free(r);
}

void
tt_as_results_free(struct tt_as_results *t)
{
	struct rec *r, *n;

	if (t == NULL)
		return;
	for (r = t->head; r != NULL; r = n) {
		n = r->next;
		rec_free(r);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

int
tt_as_results_put(struct tt_as_results *t, const char *id, char *text, size_t len)
{
	struct rec *r, *old;
	size_t cost = len + sizeof(*r);

	if (t == NULL || t->max_bytes == 0 || cost > t->max_bytes) {
		free(text);
		return 0;
	}
	if (id == NULL || strlen(id) > MAX_ID || (r = calloc(1, sizeof(*r))) == NULL) {
		free(text);
		return id == NULL || strlen(id) > MAX_ID ? TT_ERR_INVALID_ARGUMENT : TT_ERR_NO_MEMORY;
	}
	memcpy(r->id, id, strlen(id) + 1);
	r->text = text;
	r->len = len;
	pthread_mutex_lock(&t->mu);
	while (t->head != NULL && t->bytes + cost > t->max_bytes) {
		old = t->head;
		t->head = old->next;
		if (t->head == NULL)
			t->tail = NULL;
		t->bytes -= old->len + sizeof(*old);
		rec_free(old);
	}
	if (t->tail != NULL)
		t->tail->next = r;
	else
		t->head = r;
	t->tail = r;
	t->bytes += cost;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

int
tt_as_results_get(struct tt_as_results *t, const char *id, char **text, size_t *len)
{
	struct rec *r;
	char *copy = NULL;
	size_t n = 0;
	int ret = TT_ERR_DOES_NOT_EXIST;

	if (t == NULL || id == NULL)
		return TT_ERR_DOES_NOT_EXIST;
	pthread_mutex_lock(&t->mu);
	for (r = t->head; r != NULL; r = r->next) {
		if (strcmp(r->id, id) != 0)
			continue;
		n = r->len;
		ret = (copy = malloc(n + 1)) == NULL ? TT_ERR_NO_MEMORY : 0;
		if (copy != NULL) {
			memcpy(copy, r->text, n);
			copy[n] = '\0';
		}
		break;
	}
	pthread_mutex_unlock(&t->mu);
	if (ret == 0) {
		*text = copy;
		*len = n;
	}
	return ret;
}
