/*
 * What every verifier shares: the chain/reason record, the binding check and the trust
 * source (anchors built in or from a directory, collateral from a cache directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "turtle/error.h"
#include "util/hex.h"
#include "verify.h"

static int
link_add(struct tt_verify_result *res, const char *link, const char *name,
    const char *verdict, const char *detail)
{
	json_t *o;

	if (res->chain == NULL && (res->chain = json_array()) == NULL)
		return TT_ERR_NO_MEMORY;
	o = json_pack("{s:s,s:s,s:s}", "link", link, "name", name, "verdict", verdict);
	if (o == NULL)
		return TT_ERR_NO_MEMORY;
	if (detail != NULL && json_object_set_new(o, "detail", json_string(detail)) != 0) {
		json_decref(o);
		return TT_ERR_NO_MEMORY;
	}
	if (json_array_append_new(res->chain, o) != 0)
		return TT_ERR_NO_MEMORY;
	return 0;
}

int
tt_verify_link(struct tt_verify_result *res, const char *link, const char *name, bool ok,
    const char *detail)
{
	return link_add(res, link, name, ok ? "verified" : "failed", detail);
}

int
tt_verify_link_skipped(struct tt_verify_result *res, const char *link, const char *name,
    const char *detail)
{
	return link_add(res, link, name, "not checked", detail);
}

int
tt_verify_fail(struct tt_verify_result *res, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (res->reasons == NULL && (res->reasons = json_array()) == NULL)
		return TT_ERR_NO_MEMORY;
	if (json_array_append_new(res->reasons, json_string(msg)) != 0)
		return TT_ERR_NO_MEMORY;
	return err;
}

int
tt_verify_check_binding(const struct tt_verify_in *in, struct tt_verify_result *res,
    const uint8_t *rd, size_t rd_len)
{
	uint8_t z = 0;
	bool ok;
	int r;

	if (in->flags & TT_VERIFY_F_NO_BINDING)
		return tt_verify_link_skipped(res, "binding", "report data",
		    "no challenge given by the caller");
	if (in->binding == NULL || in->binding_len == 0 || in->binding_len > rd_len) {
		ok = false;
	} else {
		for (size_t i = in->binding_len; i < rd_len; i++)
			z |= rd[i];
		ok = (CRYPTO_memcmp(rd, in->binding, in->binding_len) | z) == 0;
	}
	if ((r = tt_verify_link(res, "binding", "report data", ok,
	    ok ? "equals the expected binding" : "differs from the expected binding")) != 0)
		return r;
	if (!ok)
		return tt_verify_fail(res, TT_ERR_NOT_AUTHENTICATED,
		    "report data does not match the expected binding");
	return 0;
}

int
tt_verify_check_init_data(const struct tt_verify_in *in, struct tt_verify_result *res,
    const uint8_t *field, size_t len)
{
	uint8_t z = 0;
	bool ok;
	int r;

	if (in->init_data == NULL)
		return tt_verify_link_skipped(res, "binding", "init data",
		    "no expected init data given; reported as a claim");
	ok = in->init_data_len > 0 && in->init_data_len <= len;
	if (ok) {
		for (size_t i = in->init_data_len; i < len; i++)
			z |= field[i];
		ok = (CRYPTO_memcmp(field, in->init_data, in->init_data_len) | z) == 0;
	}
	if ((r = tt_verify_link(res, "binding", "init data", ok, NULL)) != 0)
		return r;
	if (!ok)
		return tt_verify_fail(res, TT_ERR_NOT_AUTHENTICATED,
		    "init data does not match the expected value");
	return 0;
}

/* Read a whole regular file of at most TT_VERIFY_MAX_COLLATERAL bytes, NUL-terminated. */
static int
read_file(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t n = 0;
	ssize_t k;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT || errno == ENOTDIR ? TT_ERR_DOES_NOT_EXIST : TT_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = TT_ERR_IO;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > TT_VERIFY_MAX_COLLATERAL) {
		r = TT_ERR_LIMIT;
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	/* Read what stat promised, and no more: a file that grows meanwhile is cut there. */
	while (n < (size_t)st.st_size) {
		k = read(fd, p + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = TT_ERR_IO;
			goto out;
		}
		n += (size_t)k;
	}
	p[n] = '\0';
	*data = p;
	*len = n;
	p = NULL;
	r = 0;
out:
	free(p);
	close(fd);
	return r;
}

/* A name below a directory: relative, no "..", no empty component. */
static bool
safe_name(const char *name, bool allow_slash)
{
	const char *c = name;

	if (name[0] == '\0' || name[0] == '/')
		return false;
	while (*c != '\0') {
		const char *e = strchr(c, '/');
		size_t n = e != NULL ? (size_t)(e - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (e == NULL)
			break;
		if (!allow_slash)
			return false;
		c = e + 1;
	}
	return true;
}

static int
read_in_dir(const char *dir, const char *name, uint8_t **data, size_t *len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return TT_ERR_LIMIT;
	return read_file(path, data, len);
}

int
tt_verify_anchor(const struct tt_verify_trust *trust, const char *name, uint8_t **data,
    size_t *len)
{
	uint8_t *p;

	if (name == NULL || data == NULL || len == NULL || !safe_name(name, true))
		return TT_ERR_INVALID_ARGUMENT;
	if (trust != NULL && trust->anchors_dir != NULL)
		return read_in_dir(trust->anchors_dir, name, data, len);
	for (size_t i = 0; i < tt_verify_builtins_count; i++) {
		if (strcmp(tt_verify_builtins[i].name, name) != 0)
			continue;
		if ((p = malloc(tt_verify_builtins[i].len + 1)) == NULL)
			return TT_ERR_NO_MEMORY;
		memcpy(p, tt_verify_builtins[i].data, tt_verify_builtins[i].len);
		p[tt_verify_builtins[i].len] = '\0';
		*data = p;
		*len = tt_verify_builtins[i].len;
		return 0;
	}
	return TT_ERR_DOES_NOT_EXIST;
}

int
tt_verify_collateral_file(const struct tt_verify_trust *trust, const char *name,
    uint8_t **data, size_t *len)
{
	if (name == NULL || data == NULL || len == NULL || !safe_name(name, false))
		return TT_ERR_INVALID_ARGUMENT;
	if (trust == NULL || trust->collateral_dir == NULL)
		return TT_ERR_DOES_NOT_EXIST;
	return read_in_dir(trust->collateral_dir, name, data, len);
}

json_t *
tt_verify_hex(const uint8_t *p, size_t n)
{
	char *s;
	json_t *j;

	if (n > (SIZE_MAX - 1) / 2 || (s = malloc(2 * n + 1)) == NULL)
		return NULL;
	tt_hex_encode(p, n, s);
	j = json_stringn(s, 2 * n);
	free(s);
	return j;
}
