/* Shared inside src/attest/fetch: the HTTP GET, the cache files and error lines. */
#ifndef TT_ATTEST_FETCH_INTERNAL_H
#define TT_ATTEST_FETCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch.h"

struct tt_fetch_resp {
	uint8_t *body;          /* len bytes, at most the configured max_size */
	size_t len;
	char *header;           /* the asked-for header's value (raw), or NULL */
	size_t header_len;
};

/* GET url; status 200 only. header: a response header that must be present once (its
 * value kept), or NULL. Errors as tt_fetch_collateral lists them, with a line in err. */
int tt_fetch_get(const struct tt_fetch_cfg *cfg, const char *url, const char *header,
    struct tt_fetch_resp *out, char *err, size_t errlen);
void tt_fetch_resp_clear(struct tt_fetch_resp *r);   /* NULL ok */

unsigned tt_fetch_cfg_timeout(const struct tt_fetch_cfg *cfg);
size_t tt_fetch_cfg_max_size(const struct tt_fetch_cfg *cfg);

unsigned tt_fetch_cfg_negative_ttl(const struct tt_fetch_cfg *cfg);
unsigned tt_fetch_cfg_per_minute(const struct tt_fetch_cfg *cfg);

/* Before a request: 0, or the remembered refusal of url (its code), or TT_ERR_LIMIT when
 * the token bucket is empty (one token taken otherwise); a line in err. */
int tt_fetch_guard_ask(const struct tt_fetch_cfg *cfg, const char *url, char *err,
    size_t errlen);
/* url's answer was refused with code: not asked again for negative_ttl. */
void tt_fetch_guard_fail(const struct tt_fetch_cfg *cfg, const char *url, int code);
/* true the first time path is named within negative_ttl (then remembered). */
bool tt_fetch_guard_forget_once(const struct tt_fetch_cfg *cfg, const char *path);

/* Write "fmt" into err (when given) and return e. */
int tt_fetch_err(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The whole of dir/name, at most max bytes: 0, TT_ERR_DOES_NOT_EXIST, TT_ERR_LIMIT,
 * TT_ERR_IO. *data is NUL-terminated (not counted in *len); the caller frees it. */
int tt_fetch_read(const char *dir, const char *name, size_t max, uint8_t **data,
    size_t *len);
/* dir/name replaced atomically: written to a temporary file in dir, fsync'd, renamed. */
int tt_fetch_write(const char *dir, const char *name, const void *data, size_t len);

/* A DER CRL (the whole input) current at now: lastUpdate <= now <= nextUpdate; one
 * without nextUpdate is never current. *parses: the bytes are one DER CRL. */
bool tt_fetch_crl_current(const uint8_t *d, size_t n, int64_t now, bool *parses);

/* The two halves of tt_fetch_collateral. */
int tt_fetch_kds(const struct tt_fetch_cfg *cfg, const uint8_t *report, size_t len,
    int64_t now, unsigned flags, char **dir, char *err, size_t errlen);
int tt_fetch_pcs(const struct tt_fetch_cfg *cfg, bool tdx, const uint8_t *evidence,
    size_t len, int64_t now, char **dir, char *err, size_t errlen);
/* tt_fetch_forget's halves: the files under dir that evidence's collateral came from. */
int tt_fetch_kds_forget(const struct tt_fetch_cfg *cfg, const char *dir);
int tt_fetch_pcs_forget(const struct tt_fetch_cfg *cfg, bool tdx, const uint8_t *evidence,
    size_t len, const char *dir);
/* dir/name removed when present, at most once per negative_ttl: 0, TT_ERR_LIMIT, IO. */
int tt_fetch_unlink_once(const struct tt_fetch_cfg *cfg, const char *dir, const char *name);

#endif
