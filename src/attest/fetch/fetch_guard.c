/*
 * What keeps the fetcher from being turned against KDS/PCS: evidence is attacker-chosen
 * (KBS hands out challenges to anyone), and each made-up chip id or FMSPC names a new URL.
 *   - a negative cache: a URL whose answer was refused (an HTTP status other than 200, an
 *     answer too large or of the wrong shape) is not asked again for negative_ttl seconds;
 *   - a token bucket over every request of the process: max_per_minute tokens, refilled
 *     continuously; an empty bucket refuses the request without contacting anyone;
 *   - the record of forgotten cache items (tt_fetch_forget): each at most once per
 *     negative_ttl, so a bad answer that keeps coming back is not refetched in a loop.
 * One table of TT_FETCH_GUARD_MAX entries keyed by SHA-256 (no URL text kept); when full,
 * the entry closest to expiry gives way. Times are CLOCK_MONOTONIC seconds, not the
 * verification's "now" (which a caller may set to any instant). One mutex guards it all.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fetch_internal.h"
#include "turtle/error.h"

struct guard_entry {
	uint8_t key[SHA256_DIGEST_LENGTH];
	double expires;          /* monotonic seconds; 0: free */
	int code;                /* the remembered failure (negative entries) */
};

static pthread_mutex_t guard_mu = PTHREAD_MUTEX_INITIALIZER;
static struct guard_entry guard[TT_FETCH_GUARD_MAX];
static double bucket_tokens = -1;    /* < 0: not yet filled */
static double bucket_at;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned
tt_fetch_cfg_negative_ttl(const struct tt_fetch_cfg *cfg)
{
	if (cfg->negative_ttl == 0)
		return TT_FETCH_NEGATIVE_TTL;
	return cfg->negative_ttl > TT_FETCH_NEGATIVE_TTL_MAX ? TT_FETCH_NEGATIVE_TTL_MAX :
	    cfg->negative_ttl;
}

unsigned
tt_fetch_cfg_per_minute(const struct tt_fetch_cfg *cfg)
{
	if (cfg->max_per_minute == 0)
		return TT_FETCH_PER_MINUTE;
	return cfg->max_per_minute > TT_FETCH_PER_MINUTE_MAX ? TT_FETCH_PER_MINUTE_MAX :
	    cfg->max_per_minute;
}

static void
key_of(const char *kind, const char *text, uint8_t key[SHA256_DIGEST_LENGTH])
{
	char buf[16 + 4096];
	int n = snprintf(buf, sizeof(buf), "%s %s", kind, text);

	/* Names longer than the buffer do not occur (URLs and cache paths are bounded
	 * below it); were one cut, two names would share an entry, which only errs on the
	 * side of asking less. A digest failure leaves a key of zeros, the same. */
	memset(key, 0, SHA256_DIGEST_LENGTH);
	if (n > 0)
		(void)EVP_Digest(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, key,
		    NULL, EVP_sha256(), NULL);
}

/* The live entry for key, or NULL. Caller holds guard_mu. */
static struct guard_entry *
find(const uint8_t *key, double now)
{
	for (size_t i = 0; i < TT_FETCH_GUARD_MAX; i++)
		if (guard[i].expires > now && memcmp(guard[i].key, key, sizeof(guard[i].key)) == 0)
			return &guard[i];
	return NULL;
}

/* Store key until expires (replacing its live entry, else a free or expired one, else
 * the one that expires first). Caller holds guard_mu. */
static void
put(const uint8_t *key, double now, double expires, int code)
{
	struct guard_entry *g = find(key, now), *victim = &guard[0];

	for (size_t i = 0; g == NULL && i < TT_FETCH_GUARD_MAX; i++) {
		if (guard[i].expires <= now) {
			g = &guard[i];
			break;
		}
		if (guard[i].expires < victim->expires)
			victim = &guard[i];
	}
	if (g == NULL)
		g = victim;
	memcpy(g->key, key, sizeof(g->key));
	g->expires = expires;
	g->code = code;
}

int
tt_fetch_guard_ask(const struct tt_fetch_cfg *cfg, const char *url, char *err, size_t errlen)
{
	uint8_t key[SHA256_DIGEST_LENGTH];
	double now = mono(), rate = (double)tt_fetch_cfg_per_minute(cfg);
	const struct guard_entry *g;
	int r = 0;

	key_of("get", url, key);
	pthread_mutex_lock(&guard_mu);
	if ((g = find(key, now)) != NULL) {
		/* The reason first: a caller may cut the line, and URLs are long. */
		r = tt_fetch_err(err, errlen, g->code, "refused %.0f s ago, not asked again for "
		    "%.0f s: %s", (double)tt_fetch_cfg_negative_ttl(cfg) - (g->expires - now),
		    g->expires - now, url);
		goto out;
	}
	if (bucket_tokens < 0 || bucket_tokens > rate) {
		bucket_tokens = rate;
	} else {
		bucket_tokens += (now - bucket_at) * rate / 60.0;
		if (bucket_tokens > rate)
			bucket_tokens = rate;
	}
	bucket_at = now;
	if (bucket_tokens < 1.0) {
		r = tt_fetch_err(err, errlen, TT_ERR_LIMIT, "fetch rate limit reached (%.0f per "
		    "minute): %s not asked", rate, url);
		goto out;
	}
	bucket_tokens -= 1.0;
out:
	pthread_mutex_unlock(&guard_mu);
	return r;
}

void
tt_fetch_guard_fail(const struct tt_fetch_cfg *cfg, const char *url, int code)
{
	uint8_t key[SHA256_DIGEST_LENGTH];
	double now = mono();

	key_of("get", url, key);
	pthread_mutex_lock(&guard_mu);
	put(key, now, now + tt_fetch_cfg_negative_ttl(cfg), code);
	pthread_mutex_unlock(&guard_mu);
}

bool
tt_fetch_guard_forget_once(const struct tt_fetch_cfg *cfg, const char *path)
{
	uint8_t key[SHA256_DIGEST_LENGTH];
	double now = mono();
	bool first;

	key_of("forget", path, key);
	pthread_mutex_lock(&guard_mu);
	if ((first = find(key, now) == NULL))
		put(key, now, now + tt_fetch_cfg_negative_ttl(cfg), 0);
	pthread_mutex_unlock(&guard_mu);
	return first;
}

void
tt_fetch_guard_reset(void)
{
	pthread_mutex_lock(&guard_mu);
	memset(guard, 0, sizeof(guard));
	bucket_tokens = -1;
	pthread_mutex_unlock(&guard_mu);
}
