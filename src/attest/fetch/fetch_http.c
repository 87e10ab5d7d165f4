/*
 * One bounded HTTP GET through libcurl: a hard cap on the body (checked against
 * Content-Length before anything is buffered, and again on every chunk), one timeout for
 * the whole transfer, no redirects, only http and https, TLS peer and host name checked
 * (libcurl's defaults, set explicitly so no environment can turn them off), no
 * credentials (KDS and PCS v4 serve this collateral to anyone).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fetch_internal.h"
#include "turtle/error.h"

#define HEADER_MAX (64u * 1024u)   /* an issuer chain: two URL-encoded certificates */

struct sink {
	uint8_t *p;
	size_t n, cap;
	bool over;
};

struct hsink {
	const char *want;       /* header name, or NULL */
	char *val;
	size_t n;
	bool over;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void
do_init(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
tt_fetch_init(void)
{
	pthread_once(&init_once, do_init);
	return init_rc == CURLE_OK ? 0 : TT_ERR_NO_MEMORY;
}

static size_t
body_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct sink *s = user;
	size_t n = size * nmemb;

	if (n > s->cap - s->n) {
		s->over = true;
		return 0;  /* aborts the transfer */
	}
	memcpy(s->p + s->n, ptr, n);
	s->n += n;
	return n;
}

/* Keeps the value of the one header asked for (Intel's issuer chains); every other
 * header line passes. A header sent twice or longer than HEADER_MAX is refused. */
static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct hsink *h = user;
	size_t n = size * nmemb, wl, i, e;

	if (h->want == NULL)
		return n;
	wl = strlen(h->want);
	if (n <= wl || ptr[wl] != ':' || strncasecmp(ptr, h->want, wl) != 0)
		return n;
	for (i = wl + 1; i < n && (ptr[i] == ' ' || ptr[i] == '\t'); i++)
		;
	for (e = n; e > i && (ptr[e - 1] == '\r' || ptr[e - 1] == '\n' || ptr[e - 1] == ' '); e--)
		;
	if (h->val != NULL || e - i > HEADER_MAX || (h->val = malloc(e - i + 1)) == NULL) {
		h->over = true;
		return n;
	}
	memcpy(h->val, ptr + i, e - i);
	h->val[e - i] = '\0';
	h->n = e - i;
	return n;
}

void
tt_fetch_resp_clear(struct tt_fetch_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->header);
	memset(r, 0, sizeof(*r));
}

int
tt_fetch_get(const struct tt_fetch_cfg *cfg, const char *url, const char *header,
    struct tt_fetch_resp *out, char *err, size_t errlen)
{
	struct sink s = { 0 };
	struct hsink h = { .want = header };
	CURL *c = NULL;
	CURLcode cr;
	long status = 0;
	size_t cap = tt_fetch_cfg_max_size(cfg);
	unsigned tmo = tt_fetch_cfg_timeout(cfg);
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = tt_fetch_init()) != 0)
		return tt_fetch_err(err, errlen, r, "cannot initialise libcurl");
	if ((r = tt_fetch_guard_ask(cfg, url, err, errlen)) != 0)
		return r;
	if ((s.p = malloc(cap)) == NULL || (c = curl_easy_init()) == NULL) {
		r = tt_fetch_err(err, errlen, TT_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	s.cap = cap;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)tmo);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)tmo);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "turtle-fetch/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (s.over || cr == CURLE_FILESIZE_EXCEEDED) {
		r = tt_fetch_err(err, errlen, TT_ERR_LIMIT, "response larger than %zu bytes from %s",
		    cap, url);
		goto out;
	}
	if (cr == CURLE_OPERATION_TIMEDOUT) {
		r = tt_fetch_err(err, errlen, TT_ERR_TIMEOUT, "timed out after %u s fetching %s",
		    tmo, url);
		goto out;
	}
	if (cr != CURLE_OK && status == 0) {
		r = tt_fetch_err(err, errlen, TT_ERR_COMMUNICATION, "cannot fetch %s: %s", url,
		    curl_easy_strerror(cr));
		goto out;
	}
	if (status == 404) {
		r = tt_fetch_err(err, errlen, TT_ERR_DOES_NOT_EXIST, "HTTP 404 from %s", url);
		goto out;
	}
	if (status != 200 || cr != CURLE_OK) {
		r = tt_fetch_err(err, errlen, TT_ERR_COMMUNICATION, "HTTP %ld from %s%s%s", status,
		    url, cr != CURLE_OK ? ": " : "", cr != CURLE_OK ? curl_easy_strerror(cr) : "");
		goto out;
	}
	if (h.over || (header != NULL && h.val == NULL)) {
		r = tt_fetch_err(err, errlen, TT_ERR_DATA_INVALID,
		    "%s: header %s missing, repeated or too long", url, header);
		goto out;
	}
	out->body = s.p;
	out->len = s.n;
	out->header = h.val;
	out->header_len = h.n;
	s.p = NULL;
	h.val = NULL;
	r = 0;
out:
	/* A server's refusal is remembered; a connection failure or timeout is not (the
	 * rate limit bounds those, and they say nothing about this URL). */
	if (r != 0 && r != TT_ERR_NO_MEMORY && r != TT_ERR_TIMEOUT && status != 0)
		tt_fetch_guard_fail(cfg, url, r);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(s.p);
	free(h.val);
	return r;
}
