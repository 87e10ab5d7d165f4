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

#include <openssl/crypto.h>
#include <sanitizer/lsan_interface.h>

/*
 * Let LeakSanitizer see into OpenSSL's secure heap. The soft provider starts that heap;
 * OpenSSL then keeps the CTR-DRBG state in it, and that state alone points at the DRBG's
 * cipher contexts (ordinary heap). LeakSanitizer scans stacks, globals and the malloc
 * heap but not an mmap'd arena, so without this every DRBG looks leaked (found by the
 * fuzz smoke as 1,896 bytes "leaked" from EVP_RAND_instantiate). The arena is the
 * mapping that holds a secure allocation; call after the service is set up.
 */
static inline void
fuzz_lsan_scan_secure_heap(void)
{
	unsigned long lo, hi, p;
	char line[512];
	void *probe;
	FILE *f;

	if ((probe = OPENSSL_secure_malloc(1)) == NULL)
		return;
	if (!CRYPTO_secure_allocated(probe) || (f = fopen("/proc/self/maps", "re")) == NULL) {
		OPENSSL_secure_free(probe);
		return;
	}
	p = (unsigned long)probe;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* "start-end perms ...": two hex addresses, checked by strtoul's end pointers */
		char *e1, *e2;

		lo = strtoul(line, &e1, 16);
		if (e1 == line || *e1 != '-')
			continue;
		hi = strtoul(e1 + 1, &e2, 16);
		if (e2 == e1 + 1 || *e2 != ' ')
			continue;
		if (lo <= p && p < hi) {
			__lsan_register_root_region((void *)lo, hi - lo);
			break;
		}
	}
	fclose(f);
	OPENSSL_secure_free(probe);
}

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
