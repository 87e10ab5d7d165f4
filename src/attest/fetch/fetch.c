/*
 * tt_fetch_collateral: which fetcher a tee has, the configuration's defaults, and the
 * cache files (atomic replace, bounded reads). See fetch.h for the trust model.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch_internal.h"
#include "turtle/error.h"

unsigned
tt_fetch_cfg_timeout(const struct tt_fetch_cfg *cfg)
{
	if (cfg->timeout == 0)
		return TT_FETCH_TIMEOUT;
	return cfg->timeout > TT_FETCH_TIMEOUT_MAX ? TT_FETCH_TIMEOUT_MAX : cfg->timeout;
}

size_t
tt_fetch_cfg_max_size(const struct tt_fetch_cfg *cfg)
{
	if (cfg->max_size == 0)
		return TT_FETCH_MAX_SIZE;
	return cfg->max_size > TT_FETCH_MAX_SIZE_MAX ? TT_FETCH_MAX_SIZE_MAX : cfg->max_size;
}

int
tt_fetch_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

int
tt_fetch_collateral(const struct tt_fetch_cfg *cfg, const char *tee,
    const uint8_t *evidence, size_t evidence_len, int64_t now, unsigned flags, char **dir,
    char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cfg == NULL || tee == NULL || evidence == NULL || dir == NULL)
		return tt_fetch_err(err, errlen, TT_ERR_INVALID_ARGUMENT, "bad call");
	*dir = NULL;
	if (!cfg->enabled)
		return tt_fetch_err(err, errlen, TT_ERR_NOT_PERMITTED, "fetching is off");
	if (cfg->cache_dir == NULL || cfg->cache_dir[0] == '\0')
		return tt_fetch_err(err, errlen, TT_ERR_INVALID_ARGUMENT, "no cache directory");
	if (strcmp(tee, "snp") == 0)
		return tt_fetch_kds(cfg, evidence, evidence_len, now, flags, dir, err, errlen);
	if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0)
		return tt_fetch_pcs(cfg, strcmp(tee, "tdx") == 0, evidence, evidence_len, now, dir,
		    err, errlen);
	return tt_fetch_err(err, errlen, TT_ERR_NOT_SUPPORTED, "nothing to fetch for %s", tee);
}

bool
tt_fetch_collateral_failed(const json_t *chain, unsigned flags)
{
	bool crl_only = (flags & TT_FETCH_F_HAVE_CERT) != 0;

	size_t i;
	const json_t *l;

	json_array_foreach(chain, i, l) {
		const char *kind = json_string_value(json_object_get(l, "link"));
		const char *verdict = json_string_value(json_object_get(l, "verdict"));

		if (kind == NULL || verdict == NULL || strcmp(verdict, "failed") != 0)
			continue;
		if (strcmp(kind, "crl") == 0 || (!crl_only && (strcmp(kind, "certificate") == 0 ||
		    strcmp(kind, "collateral") == 0)))
			return true;
	}
	return false;
}

int
tt_fetch_forget(const struct tt_fetch_cfg *cfg, const char *tee, const uint8_t *evidence,
    size_t evidence_len, const char *dir)
{
	if (cfg == NULL || tee == NULL || dir == NULL || cfg->cache_dir == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	/* Only a directory under the cache: a --collateral directory is a person's. */
	if (strncmp(dir, cfg->cache_dir, strlen(cfg->cache_dir)) != 0 ||
	    dir[strlen(cfg->cache_dir)] != '/')
		return TT_ERR_INVALID_ARGUMENT;
	if (strcmp(tee, "snp") == 0)
		return tt_fetch_kds_forget(cfg, dir);
	if ((strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) && evidence != NULL)
		return tt_fetch_pcs_forget(cfg, strcmp(tee, "tdx") == 0, evidence, evidence_len,
		    dir);
	return 0;
}

/* ---- cache files ---- */

int
tt_fetch_unlink_once(const struct tt_fetch_cfg *cfg, const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_LIMIT;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : TT_ERR_IO;
	if (!tt_fetch_guard_forget_once(cfg, path))
		return TT_ERR_LIMIT;
	if (unlink(path) != 0 && errno != ENOENT)
		return TT_ERR_IO;
	return 0;
}

int
tt_fetch_mkdirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return TT_ERR_LIMIT;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return TT_ERR_IO;
		path[i] = i == n ? '\0' : '/';
	}
	return 0;
}

int
tt_fetch_read(const char *dir, const char *name, size_t max, uint8_t **data, size_t *len)
{
	char path[4096];
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd, n = snprintf(path, sizeof(path), "%s/%s", dir, name), r = TT_ERR_IO;

	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_LIMIT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? TT_ERR_DOES_NOT_EXIST : TT_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((uint64_t)st.st_size > max) {
		r = TT_ERR_LIMIT;
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, p + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(p);
			goto out;
		}
		got += (size_t)k;
	}
	p[got] = '\0';
	*data = p;
	*len = got;
	r = 0;
out:
	close(fd);
	return r;
}

int
tt_fetch_write(const char *dir, const char *name, const void *data, size_t len)
{
	char tmp[4096], path[4096];
	const uint8_t *p = data;
	size_t off = 0;
	int fd, r = TT_ERR_IO;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= (int)sizeof(tmp))
		return TT_ERR_LIMIT;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return TT_ERR_IO;
	while (off < len) {
		ssize_t k = write(fd, p + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;
		off += (size_t)k;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r != 0)
		unlink(tmp);
	return r;
}
