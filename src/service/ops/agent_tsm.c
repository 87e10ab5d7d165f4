/*
 * TtAttestTee: the report of the confidential guest turtled runs in, taken through Linux
 * configfs-tsm (Documentation/ABI/testing/configfs-tsm, drivers/virt/coco/tsm.c). One
 * interface serves the three guest drivers:
 *
 *   provider       tee   outblob                     auxblob
 *   sev_guest      snp   the 1184-byte report        AMD's certificate table (may be empty)
 *   tdx_guest      tdx   the quote (from the QGS)    -
 *   arm_cca_guest  cca   the CCA attestation token   -
 *
 * The kernel's rules, and how this file keeps them:
 *   - A report is taken in an entry of the caller's making: mkdir <report dir>/<name>. The
 *     name is unique per request (pid, a counter, random bytes), so two requests never
 *     share an entry, and the entry is removed (rmdir) on every path out.
 *   - Each write of inblob or privlevel bumps the entry's `generation`; reading outblob
 *     makes the report from what was written. Another writer in the same entry between
 *     our write and our read would make the blobs describe its data, not ours, so the
 *     generation read after the blobs must be the one before plus our own writes.
 *     Otherwise the blobs are dropped and the whole take is repeated in a new entry, a
 *     bounded number of times; then the request fails (TT_ERR_BAD_STATE). Mismatched
 *     blobs are never returned.
 *   - inblob takes at most 64 bytes and tdx_guest takes exactly 64: the report data is
 *     zero-padded to 64, which is also how turtle-as compares it (prefix, then zeros).
 *   - privlevel (SNP's VMPL) must be at least privlevel_floor and at most 3; a provider
 *     without privlevel has no such attribute and the request is NotSupported.
 *   - Blob reads are bounded ([agent] tsm_max) and the CCEL log too (ccel_max).
 *
 * It is a core operation (provider 0): the guest's TEE is the platform, not a key store,
 * and it answers the same whichever key providers are configured. Like TtAttestQuote any
 * authenticated client may ask: a report holds platform measurements bound to the
 * caller's report data, no key and no secret.
 *
 * Permissions (turtled may run unprivileged): creating an entry needs write access to the
 * report directory (configfs: root, or a chown of /sys/kernel/config/tsm/report at boot),
 * and reading the CCEL table needs read access to it (root by default). See docs/agent.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service/config.h"
#include "service/ops/ops.h"
#include "tt_attest_tee.pb-c.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/num.h"

#define TSM_INBLOB_LEN 64
#define TSM_PRIVLEVEL_MAX 3
#define TSM_ATTEMPTS 3
#define TSM_TEXT_MAX 64          /* provider, generation, privlevel_floor */

static const struct {
	const char *provider, *tee;
} tsm_providers[] = {
	{ "sev_guest", "snp" },
	{ "tdx_guest", "tdx" },
	{ "arm_cca_guest", "cca" },
};

static const char *
tsm_tee(const char *provider)
{
	for (size_t i = 0; i < sizeof(tsm_providers) / sizeof(tsm_providers[0]); i++)
		if (strcmp(tsm_providers[i].provider, provider) == 0)
			return tsm_providers[i].tee;
	return "";
}

static int
errno_err(int e)
{
	switch (e) {
	case ENOENT: return TT_ERR_DOES_NOT_EXIST;
	case EACCES: case EPERM: return TT_ERR_NOT_PERMITTED;
	case EINVAL: return TT_ERR_INVALID_ARGUMENT;
	case ENOMEM: return TT_ERR_NO_MEMORY;
	case EBUSY: case EAGAIN: return TT_ERR_BAD_STATE;
	default: return TT_ERR_HARDWARE;   /* the guest driver or its firmware failed */
	}
}

/*
 * The whole of attribute `name` in dfd, at most `max` bytes, into *out (malloc'd; NULL
 * with *len 0 for an empty attribute). configfs reports no size, so read to EOF with a
 * buffer of at most max + 1 bytes. TT_ERR_LIMIT when it is longer.
 */
static int
attr_read_flags(int dfd, const char *name, int flags, size_t max, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL, *np;
	size_t cap = 0, n = 0;
	int fd, r;

	*out = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | flags)) < 0)
		return errno_err(errno);
	for (;;) {
		ssize_t got;

		if (n == cap) {
			if (cap > max) {
				r = TT_ERR_LIMIT;
				goto fail;
			}
			cap = cap == 0 ? (max < 4096 ? max + 1 : 4096) : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((np = realloc(p, cap)) == NULL) {
				r = TT_ERR_NO_MEMORY;
				goto fail;
			}
			p = np;
		}
		got = read(fd, p + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = errno_err(errno);
			tt_debug("agent: tsm: reading %s: %s", name, strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (n > max) {
		free(p);
		return TT_ERR_LIMIT;
	}
	if (n == 0) {
		free(p);
		p = NULL;
	}
	*out = p;
	*len = n;
	return 0;
fail:
	close(fd);
	free(p);
	return r;
}

/* An attribute of an entry: never through a symbolic link. */
static int
attr_read(int dfd, const char *name, size_t max, uint8_t **out, size_t *len)
{
	return attr_read_flags(dfd, name, O_NOFOLLOW, max, out, len);
}

/* A short text attribute without its trailing newline, NUL-terminated. */
static int
attr_text(int dfd, const char *name, char out[TSM_TEXT_MAX + 1])
{
	uint8_t *p;
	size_t n;
	int r;

	if ((r = attr_read(dfd, name, TSM_TEXT_MAX, &p, &n)) != 0)
		return r;
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n == 0 || memchr(p, '\0', n) != NULL) {
		free(p);
		return TT_ERR_DATA_INVALID;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	free(p);
	return 0;
}

static int
attr_u64(int dfd, const char *name, uint64_t *v)
{
	char t[TSM_TEXT_MAX + 1];
	int r;

	if ((r = attr_text(dfd, name, t)) != 0)
		return r;
	return tt_parse_u64(t, 0, UINT64_MAX, v) == 0 ? 0 : TT_ERR_DATA_INVALID;
}

/* One write of the whole value; configfs commits a binary attribute when it is closed,
 * so close's result counts too. */
static int
attr_write(int dfd, const char *name, const void *data, size_t len)
{
	ssize_t w;
	int fd, r = 0;

	if ((fd = openat(dfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return errno_err(errno);
	do
		w = write(fd, data, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		r = errno_err(errno);
	else if ((size_t)w != len)
		r = TT_ERR_HARDWARE;
	if (close(fd) != 0 && r == 0 && errno != EINTR)
		r = errno_err(errno);
	return r;
}

struct tsm_req {
	uint8_t inblob[TSM_INBLOB_LEN];
	bool privlevel_set;
	uint32_t privlevel;
	const char *tee;            /* "" any */
	size_t max;
};

struct tsm_report {
	char provider[TSM_TEXT_MAX + 1];
	const char *tee;
	uint8_t *outblob, *auxblob;
	size_t outblob_len, auxblob_len;
	uint64_t generation;
};

static void
tsm_report_clear(struct tsm_report *rep)
{
	free(rep->outblob);
	free(rep->auxblob);
	memset(rep, 0, sizeof(*rep));
}

static atomic_ulong tsm_seq;

/*
 * One take in a fresh entry of `dir` (an open directory). *raced (with TT_ERR_BAD_STATE)
 * means another writer changed the entry meanwhile, and the caller may try again; a busy
 * driver's EBUSY is BAD_STATE too, but not a race. The entry is gone on return.
 */
static int
tsm_take(int dir, const char *dir_path, const struct tsm_req *req, struct tsm_report *rep,
    bool *raced)
{
	char name[96], num[16];
	uint8_t rnd[8];
	uint64_t g0, g1, writes = 0;
	int ent = -1, r;

	memset(rep, 0, sizeof(*rep));
	*raced = false;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		tt_err_log("agent: tsm: no random bytes for an entry name");
		return TT_ERR_INSUFFICIENT_ENTROPY;
	}
	snprintf(name, sizeof(name), "turtled-%ld-%lu-%02x%02x%02x%02x%02x%02x%02x%02x",
	    (long)getpid(), atomic_fetch_add(&tsm_seq, 1), rnd[0], rnd[1], rnd[2], rnd[3],
	    rnd[4], rnd[5], rnd[6], rnd[7]);
	if (mkdirat(dir, name, 0700) != 0) {
		r = errno_err(errno);
		tt_err_log("agent: tsm: cannot create an entry in %s: %s%s", dir_path,
		    strerror(errno), errno == EACCES || errno == EPERM ?
		    " (turtled needs write access to the report directory, docs/agent.md)" : "");
		return r;
	}
	if ((ent = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = errno_err(errno);
		tt_err_log("agent: tsm: cannot open entry %s/%s: %s", dir_path, name,
		    strerror(errno));
		goto out;
	}
	if ((r = attr_text(ent, "provider", rep->provider)) != 0) {
		tt_err_log("agent: tsm: %s/%s/provider unreadable: %s", dir_path, name,
		    tt_strerror(r));
		goto out;
	}
	rep->tee = tsm_tee(rep->provider);
	if (req->tee[0] != '\0' && strcmp(req->tee, rep->tee) != 0) {
		tt_err_log("agent: tsm: the caller asked for %s evidence, but the guest's TSM "
		    "provider is \"%s\"", req->tee, rep->provider);
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = attr_u64(ent, "generation", &g0)) != 0) {
		tt_err_log("agent: tsm: %s/%s/generation unreadable: %s", dir_path, name,
		    tt_strerror(r));
		goto out;
	}
	if (req->privlevel_set) {
		uint64_t floor;

		if ((r = attr_u64(ent, "privlevel_floor", &floor)) != 0) {
			tt_err_log("agent: tsm: provider \"%s\" takes no privlevel (%s)",
			    rep->provider, tt_strerror(r));
			r = r == TT_ERR_DOES_NOT_EXIST ? TT_ERR_NOT_SUPPORTED : r;
			goto out;
		}
		if (req->privlevel < floor || req->privlevel > TSM_PRIVLEVEL_MAX) {
			tt_err_log("agent: tsm: privlevel %u is outside %" PRIu64 "..%d",
			    req->privlevel, floor, TSM_PRIVLEVEL_MAX);
			r = TT_ERR_INVALID_ARGUMENT;
			goto out;
		}
		snprintf(num, sizeof(num), "%u\n", req->privlevel);
		if ((r = attr_write(ent, "privlevel", num, strlen(num))) != 0) {
			tt_err_log("agent: tsm: writing privlevel: %s", tt_strerror(r));
			goto out;
		}
		writes++;
	}
	if ((r = attr_write(ent, "inblob", req->inblob, sizeof(req->inblob))) != 0) {
		tt_err_log("agent: tsm: writing inblob: %s", tt_strerror(r));
		goto out;
	}
	writes++;
	if ((r = attr_read(ent, "outblob", req->max, &rep->outblob, &rep->outblob_len)) != 0 ||
	    rep->outblob_len == 0) {
		r = r != 0 ? r : TT_ERR_HARDWARE;
		tt_err_log("agent: tsm: no report from provider \"%s\": %s%s", rep->provider,
		    rep->outblob_len == 0 && r == TT_ERR_HARDWARE ? "outblob is empty" :
		    tt_strerror(r), r == TT_ERR_LIMIT ? " (over [agent] tsm_max)" : "");
		goto out;
	}
	r = attr_read(ent, "auxblob", req->max, &rep->auxblob, &rep->auxblob_len);
	if (r == TT_ERR_DOES_NOT_EXIST) {
		r = 0;   /* providers other than sev_guest have none */
	} else if (r != 0) {
		tt_err_log("agent: tsm: reading auxblob of \"%s\": %s%s", rep->provider,
		    tt_strerror(r), r == TT_ERR_LIMIT ? " (over [agent] tsm_max)" : "");
		goto out;
	}
	if ((r = attr_u64(ent, "generation", &g1)) != 0) {
		tt_err_log("agent: tsm: generation unreadable after the report: %s",
		    tt_strerror(r));
		goto out;
	}
	if (g1 != g0 + writes) {
		tt_warn("agent: tsm: entry %s changed while it was read (generation %" PRIu64
		    ", expected %" PRIu64 "): another writer; report dropped", name, g1,
		    g0 + writes);
		*raced = true;
		r = TT_ERR_BAD_STATE;
		goto out;
	}
	rep->generation = g1;
out:
	if (ent >= 0)
		close(ent);
	if (unlinkat(dir, name, AT_REMOVEDIR) != 0)
		tt_warn("agent: tsm: cannot remove entry %s/%s: %s", dir_path, name,
		    strerror(errno));
	if (r != 0)
		tsm_report_clear(rep);
	return r;
}

/* The CCEL table's log (TDX): absent, unreadable or over `max` leaves it out, as the TPM
 * logs are; turtle-as then appraises the quote without RTMR event claims. */
static void
read_ccel(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int r = attr_read_flags(AT_FDCWD, path, 0, max, out, len);

	if (r == TT_ERR_LIMIT)
		tt_warn("agent: tsm: CCEL %s is over ccel_max (%zu bytes); left out", path, max);
	else if (r != 0)
		tt_debug("agent: tsm: CCEL %s: %s; left out", path, tt_strerror(r));
}

int
tt_op_tt_attest_tee(const struct tt_op_ctx *ctx, const uint8_t *body, size_t len,
    struct tt_buf *out)
{
	const struct tt_config *cfg = ctx->svc->cfg;
	const char *dir_path = cfg->tsm_report_dir != NULL ? cfg->tsm_report_dir :
	    TT_CONFIG_DEFAULT_TSM_DIR;
	TtAttestTee__Operation *op;
	TtAttestTee__Result res = TT_ATTEST_TEE__RESULT__INIT;
	struct tsm_req req;
	struct tsm_report rep = { 0 };
	uint8_t *ccel = NULL;
	size_t ccel_len = 0;
	int dir = -1, r;

	if ((op = tt_attest_tee__operation__unpack(NULL, len, tt_ops_body(body))) == NULL)
		return TT_ERR_DESERIALIZE;
	r = TT_ERR_INVALID_ARGUMENT;
	if (op->report_data.len > TSM_INBLOB_LEN ||
	    (op->tee[0] != '\0' && strcmp(op->tee, "snp") != 0 && strcmp(op->tee, "tdx") != 0 &&
	    strcmp(op->tee, "cca") != 0) || (!op->privlevel_set && op->privlevel != 0) ||
	    op->privlevel > TSM_PRIVLEVEL_MAX)
		goto out;
	memset(&req, 0, sizeof(req));
	if (op->report_data.len > 0)
		memcpy(req.inblob, op->report_data.data, op->report_data.len);
	req.privlevel_set = op->privlevel_set;
	req.privlevel = op->privlevel;
	req.tee = op->tee;
	req.max = cfg->tsm_max;
	if ((dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			tt_log(TT_LOG_INFO, "agent: tsm: %s does not exist: not a confidential guest "
			    "with configfs-tsm (CONFIG_TSM_REPORTS, configfs mounted at "
			    "/sys/kernel/config, a guest driver loaded)", dir_path);
			r = TT_ERR_NOT_SUPPORTED;
		} else {
			r = errno_err(errno);
			tt_err_log("agent: tsm: cannot open %s: %s", dir_path, strerror(errno));
		}
		goto out;
	}
	for (int attempt = 1;; attempt++) {
		bool raced;

		if ((r = tsm_take(dir, dir_path, &req, &rep, &raced)) == 0 || !raced)
			break;
		if (attempt == TSM_ATTEMPTS) {
			tt_err_log("agent: tsm: every one of %d reports was changed by another "
			    "writer while it was read; giving up", TSM_ATTEMPTS);
			break;
		}
	}
	/* A blob over tsm_max: the configured buffer is too small for this platform's report
	 * (TT_ERR_LIMIT would read as a response over the wire limit). */
	if (r == TT_ERR_LIMIT)
		r = TT_ERR_BUFFER_TOO_SMALL;
	if (r != 0)
		goto out;
	if (strcmp(rep.tee, "tdx") == 0)
		read_ccel(cfg->ccel_path != NULL ? cfg->ccel_path : TT_CONFIG_DEFAULT_CCEL,
		    cfg->ccel_max, &ccel, &ccel_len);
	res.provider = rep.provider;
	res.tee = (char *)rep.tee;
	res.outblob.data = rep.outblob;
	res.outblob.len = rep.outblob_len;
	res.auxblob.data = rep.auxblob;
	res.auxblob.len = rep.auxblob_len;
	res.generation = rep.generation;
	res.cc_eventlog.data = ccel;
	res.cc_eventlog.len = ccel_len;
	r = tt_ops_pack(&res.base, out);
out:
	if (dir >= 0)
		close(dir);
	free(ccel);
	tsm_report_clear(&rep);
	tt_attest_tee__operation__free_unpacked(op, NULL);
	return r;
}
