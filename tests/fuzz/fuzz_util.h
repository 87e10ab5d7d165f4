/* Helpers shared by the fuzz targets (header-only: each target is one translation unit). */
#ifndef TT_FUZZ_UTIL_H
#define TT_FUZZ_UTIL_H

#include <ftw.h>
#include <stdio.h>

static int
fuzz_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove a target's scratch directory and everything in it (best effort, at exit). */
static inline void
fuzz_rmtree(const char *dir)
{
	(void)nftw(dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#ifdef TT_SERVICE_CONFIG_H
#include <stdlib.h>
#include <string.h>

/*
 * The turtled configuration the front-end targets run on: a fresh data dir made from
 * `tmpl` (mkdtemp), the soft provider by default, limits smaller than the defaults so
 * each input stays cheap, and one admin named "admin" so admin-only operations are
 * reachable. Finished (tt_config_finish); aborts on any failure.
 */
static inline struct tt_config *
fuzz_service_config(char *tmpl)
{
	struct tt_config *cfg;
	const char *dir;

	if ((dir = mkdtemp(tmpl)) == NULL || (cfg = malloc(sizeof(*cfg))) == NULL)
		abort();
	tt_config_defaults(cfg);
	free(cfg->data_dir);
	free(cfg->socket_path);
	cfg->data_dir = strdup(dir);
	cfg->socket_path = NULL;
	cfg->log_level = TT_LOG_ERROR;
	cfg->max_body = 64 * 1024;
	cfg->max_auth = 1024;
	cfg->max_response = 64 * 1024;
	if ((cfg->admins = calloc(1, sizeof(*cfg->admins))) == NULL ||
	    (cfg->admins[0].name = strdup("admin")) == NULL)
		abort();
	cfg->n_admins = 1;
	if (cfg->data_dir == NULL || tt_config_finish(cfg) != 0)
		abort();
	return cfg;
}
#endif

#endif
