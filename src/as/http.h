/*
 * The HTTP front of turtle-as: request/response shapes shared by the route handlers
 * (api.c: native API and admin; kbs.c: KBS protocol). A handler fills `resp` and returns
 * 0, or returns a negative tt_err and may set resp->detail (static or snprintf'd into
 * resp->detail_buf); the front turns an error into an RFC 7807 problem document whose
 * status comes from tt_err_to_http.
 */
#ifndef TT_AS_HTTP_H
#define TT_AS_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "as.h"
#include "policy.h"

struct tt_as_ctx {
	const struct tt_as_config *cfg;
	const struct tt_as_store_ops *ops;
	struct tt_as_store *st;
	struct tt_as_issuer *issuer;
	struct tt_as_nonces *nonces;  /* outstanding challenges */
	struct tt_as_cache *cache;    /* nodes, reference values, policies (may be NULL) */
	struct tt_as_results *results; /* audit records of recent appraisals (may be NULL) */
	uint8_t admin_digest[32];     /* SHA-256 of the admin token; under admin_lock */
	bool admin_enabled;           /* fixed before the HTTP front starts */
	/* SIGHUP replaces admin_digest (main.c, write lock) while request threads compare
	 * against it (admin_ok, read lock). Initialised by whoever sets admin_enabled. */
	pthread_rwlock_t admin_lock;
};

struct tt_as_req {
	const char *method;
	const char *path;             /* decoded URL path */
	const char *tail;             /* the part of path after the route's prefix */
	const uint8_t *body;
	size_t body_len;
	const char *cookie_session;   /* kbs-session-id cookie, or NULL */
	const char *content_type;
};

struct tt_as_resp {
	unsigned status;              /* 200 unless set */
	json_t *json;                 /* JSON body (owned), or */
	uint8_t *raw;                 /* raw body (owned, wiped on free) */
	size_t raw_len;
	char *set_cookie;             /* Set-Cookie value (owned), or NULL */
	const char *detail;           /* problem detail on error */
	char detail_buf[256];
};

typedef int (*tt_as_handler)(struct tt_as_ctx *c, const struct tt_as_req *rq,
	struct tt_as_resp *rs);

/* Parse the request body as a JSON object; TT_ERR_INVALID_ARGUMENT with a detail. */
int tt_as_body_json(const struct tt_as_req *rq, struct tt_as_resp *rs, json_t **out);
/* Printf a detail into rs->detail_buf and point rs->detail at it. */
void tt_as_detail(struct tt_as_resp *rs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Fresh random bytes as base64url (n bytes of entropy). */
int tt_as_random_b64url(size_t n, char **out);
/* A resource path "repo/type/tag" checked segment by segment ([A-Za-z0-9._-], 1..128,
 * not "." or ".."); an empty repo becomes "default". *out malloc'd. */
int tt_as_resource_path(const char *tail, char **out);

/* Appraise verified claims and issue an EAR token: shared by /v1/attest and KBS
 * (appraise.c). */
struct tt_as_appraisal {
	const struct tt_as_verifier *vf; /* the verifier that produced the claims */
	const char *node_id;          /* may be NULL */
	const char *group;            /* may be NULL ("default") */
	const char *nonce;            /* base64url, goes into eat_nonce */
	const json_t *claims;
	const json_t *extra;          /* extra top-level claims (KBS tee-pubkey), may be NULL */
};
/*
 * The pipeline: reference values and policy of the group (through the cache), the names
 * the evidence must carry (tt_policy_required), the engine's eval, tt_policy_enforce,
 * then the token. The token holds the verdict, the vector, the reasons, the measurements
 * the appraisal used (bounded, see appraise.c), a digest of the full claims and the id of
 * the audit record that keeps them (GET /v1/results/ID). A token that would exceed
 * TT_AS_TOKEN_MAX is never issued (TT_ERR_LIMIT).
 */
#define TT_AS_TOKEN_MAX (64u * 1024u)
int tt_as_appraise_and_sign(struct tt_as_ctx *c, const struct tt_as_appraisal *a,
	char **token, enum tt_ear_status *status, struct tt_as_resp *rs);

/* Read a node (TT_AS_CACHE_NODE), a group's valid reference values or policy through the
 * cache; the handle's value is NULL for "there is none". Release the handle. */
int tt_as_cached_read(struct tt_as_ctx *c, int kind, const char *key, int64_t now,
	struct tt_as_cached **out);

/* Set the node's "ak_sha256" (the fingerprint the store indexes) from its trusted AK, or
 * remove it when no AK is trusted yet. TT_ERR_INVALID_ARGUMENT: the AK does not parse. */
int tt_as_node_index_ak(json_t *node);
/* At start: index the AKs of nodes stored by builds without the index. */
int tt_as_nodes_index_ak(struct tt_as_ctx *c);

/* Handlers. */
int tt_as_h_challenge(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_attest(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_jwks(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_activate(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_keys(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_nodes(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_refvals(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_policies(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_resource_policy(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_resources(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_results(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_kbs_auth(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_kbs_attest(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);
int tt_as_h_kbs_resource(struct tt_as_ctx *, const struct tt_as_req *, struct tt_as_resp *);

/* Start/stop the HTTP daemon. */
struct tt_as_http;
int tt_as_http_start(struct tt_as_ctx *c, struct tt_as_http **out);
void tt_as_http_stop(struct tt_as_http *h);

#endif
