/*
 * Service set-up: key store, providers in config order, and crash recovery.
 *
 * Recovery runs before the first request: every key-store row left CREATING or
 * DESTROYING by a crash has its provider material removed (destroy_key is idempotent
 * and accepts a missing reference) and is then forgotten, so neither orphan material
 * nor a dangling name survives a restart.
 */
#include <stdlib.h>
#include <string.h>

#include "service/service.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"

struct pending {
	uint8_t kid[TT_KEY_ID_LEN];
	uint8_t provider;
	uint8_t *ref;
	size_t ref_len;
};

struct pending_list {
	struct pending *v;
	size_t n, cap;
};

static void
pending_free(struct pending_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].ref != NULL) {
			tt_wipe(l->v[i].ref, l->v[i].ref_len);
			free(l->v[i].ref);
		}
	}
	free(l->v);
}

/* Collected first: the key store must not be re-entered from its own callback. */
static int
pending_cb(const struct tt_kim_rec *rec, void *arg)
{
	struct pending_list *l = arg;
	struct pending *p;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct pending *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return TT_ERR_NO_MEMORY;
		l->v = nv;
		l->cap = ncap;
	}
	p = &l->v[l->n];
	memset(p, 0, sizeof(*p));
	memcpy(p->kid, rec->kid, TT_KEY_ID_LEN);
	p->provider = rec->provider;
	if (rec->ref != NULL && rec->ref_len > 0) {
		if ((p->ref = malloc(rec->ref_len)) == NULL)
			return TT_ERR_NO_MEMORY;
		memcpy(p->ref, rec->ref, rec->ref_len);
		p->ref_len = rec->ref_len;
	}
	l->n++;
	return 0;
}

static int
recover(struct tt_service *svc)
{
	struct pending_list l = { 0 };
	size_t done = 0, kept = 0;
	int r;

	if ((r = tt_kim_list_pending(svc->kim, pending_cb, &l)) != 0) {
		tt_err_log("recovery: cannot list pending keys: %s", tt_strerror(r));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct tt_provider_slot *s = tt_service_provider(svc, l.v[i].provider);

		if (s == NULL) {
			/* Without its provider the material cannot be removed; keep the row so
			 * that a later start with the provider configured finishes the job. */
			tt_warn("recovery: pending key of provider %u, which is not configured; kept",
			    l.v[i].provider);
			kept++;
			continue;
		}
		if (s->ops->destroy_key != NULL &&
		    (r = s->ops->destroy_key(s->ctx, l.v[i].kid, l.v[i].ref, l.v[i].ref_len)) != 0) {
			tt_warn("recovery: provider %s could not remove material: %s",
			    s->ops->name, tt_strerror(r));
			kept++;
			continue;
		}
		if ((r = tt_kim_forget(svc->kim, l.v[i].kid)) != 0) {
			tt_err_log("recovery: cannot forget pending key: %s", tt_strerror(r));
			goto out;
		}
		done++;
	}
	if (done > 0 || kept > 0)
		tt_info("recovery: %zu interrupted key operation(s) cleaned up, %zu kept", done, kept);
	r = 0;
out:
	pending_free(&l);
	return r;
}

static int
init_providers(struct tt_service *svc, const struct tt_config *cfg)
{
	int r;

	if (cfg->n_providers == 0) {
		tt_err_log("no provider configured");
		return TT_ERR_CONFIG;
	}
	if (cfg->n_providers > TT_MAX_PROVIDERS) {
		tt_err_log("too many providers configured (%zu, at most %d)", cfg->n_providers,
		    TT_MAX_PROVIDERS);
		return TT_ERR_CONFIG;
	}
	for (size_t i = 0; i < cfg->n_providers; i++) {
		const struct tt_provider_conf *pc = &cfg->providers[i];
		const struct tt_provider_ops *ops = tt_provider_find_name(pc->type);
		struct tt_provider_cfg pcfg;
		void *pctx = NULL;

		if (ops == NULL) {
			tt_err_log("provider type \"%s\" is not compiled into this turtled", pc->type);
			return TT_ERR_CONFIG;
		}
		if (ops->abi != TT_PROVIDER_ABI) {
			tt_err_log("provider %s has ABI %u, expected %u", ops->name, ops->abi,
			    TT_PROVIDER_ABI);
			return TT_ERR_CONFIG;
		}
		if (tt_service_provider(svc, ops->id) != NULL) {
			tt_err_log("provider %s configured twice (id %u)", ops->name, ops->id);
			return TT_ERR_CONFIG;
		}
		pcfg.data_dir = cfg->data_dir;
		pcfg.n = pc->n;
		pcfg.keys = (const char *const *)pc->keys;
		pcfg.values = (const char *const *)pc->values;
		if ((r = ops->init(&pcfg, &pctx)) != 0) {
			tt_err_log("provider %s failed to start: %s", ops->name, tt_strerror(r));
			return r;
		}
		svc->providers[svc->n_providers].ops = ops;
		svc->providers[svc->n_providers].ctx = pctx;
		svc->n_providers++;
		tt_info("provider %s (id %u) ready", ops->name, ops->id);
	}
	return 0;
}

int
tt_service_init(struct tt_service *svc, struct tt_config *cfg)
{
	int r;

	pthread_rwlockattr_t la;
	int lr;

	memset(svc, 0, sizeof(*svc));
	/* Requests hold the lock shared for their whole run; prefer the writer so that a
	 * steady stream of requests cannot starve a SIGHUP reload. Safe because nobody
	 * takes the read lock recursively. */
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	lr = pthread_rwlock_init(&svc->cfg_lock, &la);
	pthread_rwlockattr_destroy(&la);
	if (lr != 0) {
		tt_config_free(cfg);
		free(cfg);
		return TT_ERR_NO_MEMORY;
	}
	svc->cfg = cfg;
	if (cfg->kim_path == NULL) {
		tt_err_log("no key store path configured");
		r = TT_ERR_CONFIG;
		goto out;
	}
	if ((r = tt_kim_open(cfg->kim_path, &svc->kim)) != 0) {
		tt_err_log("cannot open key store %s: %s", cfg->kim_path, tt_strerror(r));
		goto out;
	}
	tt_kim_set_quota(svc->kim, cfg->max_keys_per_client, cfg->max_clients);
	if ((r = init_providers(svc, cfg)) != 0)
		goto out;
	r = recover(svc);
out:
	if (r != 0)
		tt_service_fini(svc);
	return r;
}

void
tt_service_fini(struct tt_service *svc)
{
	for (size_t i = svc->n_providers; i > 0; i--) {
		struct tt_provider_slot *s = &svc->providers[i - 1];

		if (s->ops->fini != NULL)
			s->ops->fini(s->ctx);
	}
	svc->n_providers = 0;
	tt_kim_close(svc->kim);
	svc->kim = NULL;
	if (svc->cfg != NULL) {
		tt_config_free(svc->cfg);
		free(svc->cfg);
		svc->cfg = NULL;
	}
	pthread_rwlock_destroy(&svc->cfg_lock);
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool
providers_differ(const struct tt_config *a, const struct tt_config *b)
{
	if (a->n_providers != b->n_providers)
		return true;
	for (size_t i = 0; i < a->n_providers; i++) {
		const struct tt_provider_conf *x = &a->providers[i], *y = &b->providers[i];

		if (str_differs(x->type, y->type) || x->n != y->n)
			return true;
		for (size_t k = 0; k < x->n; k++)
			if (str_differs(x->keys[k], y->keys[k]) || str_differs(x->values[k], y->values[k]))
				return true;
	}
	return false;
}

int
tt_service_reload(struct tt_service *svc, struct tt_config *cfg)
{
	struct tt_config *old;

	/* Providers, paths and the socket live as long as the process; only limits,
	 * authenticators and admins take effect on reload. */
	if (providers_differ(svc->cfg, cfg))
		tt_warn("reload: provider settings changed; they take effect after a restart");
	if (str_differs(svc->cfg->kim_path, cfg->kim_path) ||
	    str_differs(svc->cfg->data_dir, cfg->data_dir) ||
	    str_differs(svc->cfg->socket_path, cfg->socket_path))
		tt_warn("reload: socket or data paths changed; they take effect after a restart");
	pthread_rwlock_wrlock(&svc->cfg_lock);
	old = svc->cfg;
	svc->cfg = cfg;
	tt_kim_set_quota(svc->kim, cfg->max_keys_per_client, cfg->max_clients);
	pthread_rwlock_unlock(&svc->cfg_lock);
	tt_config_free(old);
	free(old);
	tt_info("configuration reloaded");
	return 0;
}

struct tt_provider_slot *
tt_service_provider(struct tt_service *svc, uint8_t id)
{
	for (size_t i = 0; i < svc->n_providers; i++)
		if (svc->providers[i].ops->id == id)
			return &svc->providers[i];
	return NULL;
}
