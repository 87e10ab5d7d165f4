/*
 * The Rego engine behind policy.h (see rego_engine.h for the document, input and data
 * layouts). Compiled programs are cached by the SHA-256 of the document's modules and
 * package, so a document stored once is parsed once however many appraisals use it;
 * every program is immutable and shared by reference count.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy.h"
#include "rego_engine.h"
#include "rego/rego.h"
#include "turtle/error.h"

#define CACHE_SLOTS 32u
#define MAX_MODULES 16u
#define MAX_MODULE_BYTES (256u * 1024u)

struct prog {
	uint8_t key[32];
	unsigned refs;
	uint64_t used;
	struct tt_rego *rego;
	char package[128];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct prog *cache[CACHE_SLOTS];
static uint64_t cache_clock;

static const char *const tv_names[][2] = {
	{ "instance_identity", "instance-identity" },
	{ "configuration", "configuration" },
	{ "executables", "executables" },
	{ "file_system", "file-system" },
	{ "hardware", "hardware" },
	{ "runtime_opaque", "runtime-opaque" },
	{ "storage_opaque", "storage-opaque" },
	{ "sourced_data", "sourced-data" },
};

/* Drop one reference (the cache holds one of its own while the program is cached). */
static void prog_put_locked(struct prog *p)
{
	if (--p->refs > 0)
		return;
	tt_rego_free(p->rego);
	free(p);
}

/* The modules of a document and its package; *why on a malformed document. */
static int doc_modules(const json_t *doc, const char **mods, size_t *lens, size_t *n,
	const char **pkg, const char **why)
{
	const json_t *r = json_object_get(doc, "rego"), *p = json_object_get(doc, "package");
	*n = 0;
	if (json_is_string(r)) {
		mods[0] = json_string_value(r);
		lens[0] = json_string_length(r);
		*n = 1;
	} else if (json_is_array(r) && json_array_size(r) > 0 && json_array_size(r) <= MAX_MODULES) {
		size_t i;
		const json_t *m;
		json_array_foreach(r, i, m) {
			if (!json_is_string(m)) {
				*why = "\"rego\" must be a string or an array of strings";
				return TT_ERR_INVALID_ARGUMENT;
			}
			mods[i] = json_string_value(m);
			lens[i] = json_string_length(m);
		}
		*n = json_array_size(r);
	} else {
		*why = "a rego policy needs \"rego\": a module or an array of at most 16 modules";
		return TT_ERR_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < *n; i++)
		if (lens[i] > MAX_MODULE_BYTES) {
			*why = "a rego module is larger than 256 KiB";
			return TT_ERR_LIMIT;
		}
	*pkg = "policy";
	if (p != NULL) {
		const char *s = json_string_value(p);
		if (!s || !*s || strlen(s) >= 120 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(s)) {
			*why = "\"package\" must be a dotted name";
			return TT_ERR_INVALID_ARGUMENT;
		}
		*pkg = s;
	}
	return 0;
}

/* The document's "limits": {"max_steps", "max_memory", "max_call_depth"} may lower the
 * interpreter's defaults for this policy, never raise them. */
static int doc_limits(const json_t *doc, struct tt_rego_limits *lim, const char **why)
{
	static const char *const names[] = { "max_steps", "max_memory", "max_call_depth" };
	const json_t *l = json_object_get(doc, "limits");
	tt_rego_limits_default(lim);
	if (l == NULL)
		return 0;
	if (!json_is_object(l)) {
		*why = "\"limits\" must be an object";
		return TT_ERR_INVALID_ARGUMENT;
	}
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)l, k, v) {
		size_t i = 0;
		while (i < 3 && strcmp(k, names[i]) != 0)
			i++;
		if (i == 3) {
			*why = "\"limits\" knows max_steps, max_memory and max_call_depth";
			return TT_ERR_INVALID_ARGUMENT;
		}
		json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
		uint64_t cur = i == 0 ? lim->max_steps : i == 1 ? lim->max_memory : lim->max_call_depth;
		if (x <= 0 || (uint64_t)x > cur) {
			*why = "a limit must be a positive integer no larger than the default";
			return TT_ERR_INVALID_ARGUMENT;
		}
		if (i == 0)
			lim->max_steps = (uint64_t)x;
		else if (i == 1)
			lim->max_memory = (size_t)x;
		else
			lim->max_call_depth = (unsigned)x;
	}
	return 0;
}

/* Compile (or find in the cache) the program of a document. */
static int prog_get(const json_t *doc, struct prog **out, const char **why)
{
	const char *mods[MAX_MODULES], *pkg;
	size_t lens[MAX_MODULES], n;
	struct tt_rego_limits lim;
	int r = doc_modules(doc, mods, lens, &n, &pkg, why);
	if (r || (r = doc_limits(doc, &lim, why)))
		return r;
	uint8_t key[32];
	unsigned kl = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; ok && i < n; i++) {
		uint64_t l = lens[i];
		ok = EVP_DigestUpdate(md, &l, sizeof(l)) && EVP_DigestUpdate(md, mods[i], lens[i]);
	}
	uint64_t lv[3] = { lim.max_steps, lim.max_memory, lim.max_call_depth };
	ok = ok && EVP_DigestUpdate(md, pkg, strlen(pkg) + 1) &&
		EVP_DigestUpdate(md, lv, sizeof(lv)) && EVP_DigestFinal_ex(md, key, &kl);
	EVP_MD_CTX_free(md);
	if (!ok)
		return TT_ERR_GENERIC;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (cache[i] && memcmp(cache[i]->key, key, 32) == 0) {
			cache[i]->refs++;
			cache[i]->used = ++cache_clock;
			*out = cache[i];
			pthread_mutex_unlock(&cache_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&cache_lock);

	char names[MAX_MODULES][40];
	const char *np[MAX_MODULES];
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "policy-%u.rego", (unsigned)i);
		np[i] = names[i];
	}
	struct tt_rego_err e;
	static __thread char msg[512];
	struct prog *p = calloc(1, sizeof(*p));
	if (!p)
		return TT_ERR_NO_MEMORY;
	r = tt_rego_compile(n, np, mods, lens, &lim, &p->rego, &e);
	if (r) {
		/* line and column for the administrator who uploaded it */
		snprintf(msg, sizeof(msg), "%.60s:%d:%d: %.40s: %.300s", e.file, e.line, e.col,
			e.code, e.msg);
		*why = msg;
		free(p);
		return r == TT_ERR_NO_MEMORY ? r : TT_ERR_INVALID_ARGUMENT;
	}
	memcpy(p->key, key, 32);
	snprintf(p->package, sizeof(p->package), "%s", pkg);
	p->refs = 1;
	pthread_mutex_lock(&cache_lock);
	size_t slot = CACHE_SLOTS;
	for (size_t i = 0; i < CACHE_SLOTS && slot == CACHE_SLOTS; i++)
		if (!cache[i])
			slot = i;
	if (slot == CACHE_SLOTS) {
		/* evict the least recently used program; users keep their reference */
		slot = 0;
		for (size_t i = 1; i < CACHE_SLOTS; i++)
			if (cache[i]->used < cache[slot]->used)
				slot = i;
		struct prog *old = cache[slot];
		cache[slot] = NULL;
		prog_put_locked(old);
	}
	cache[slot] = p;
	p->used = ++cache_clock;
	p->refs++; /* the cache's own reference */
	pthread_mutex_unlock(&cache_lock);
	*out = p;
	return 0;
}

static void prog_put(struct prog *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&cache_lock);
	prog_put_locked(p);
	pthread_mutex_unlock(&cache_lock);
}

static int rego_compile(const json_t *doc, void **prog, const char **reason)
{
	int r = tt_policy_check_doc(doc, reason);
	if (r)
		return r;
	struct prog *p;
	if ((r = prog_get(doc, &p, reason)))
		return r;
	*prog = p;
	return 0;
}

static void rego_release(void *prog)
{
	prog_put(prog);
}

static void rego_fini(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct prog *p = cache[i];
		if (!p)
			continue;
		cache[i] = NULL;
		prog_put_locked(p);
	}
	pthread_mutex_unlock(&cache_lock);
}

/* The value of data.<package> (an object), or NULL when undefined. */
static int eval_package(const struct prog *p, const json_t *input, const json_t *data,
	json_t **out, const char **why)
{
	char ref[160];
	struct tt_rego_err e;
	static __thread char msg[512];
	snprintf(ref, sizeof(ref), "data.%s", p->package);
	int r = tt_rego_eval_ref(p->rego, ref, input, data, out, &e);
	if (r) {
		snprintf(msg, sizeof(msg), "%.60s:%d: %.40s: %.300s", e.file, e.line, e.code, e.msg);
		*why = msg;
	}
	return r;
}

static int rego_eval(const void *prog, const struct tt_policy_input *in, json_t **submod,
	enum tt_ear_status *status)
{
	const struct prog *p = prog;
	json_t *input = NULL, *data = NULL, *pkg = NULL, *tv = NULL, *reasons = NULL, *out = NULL;
	const char *why = NULL;
	size_t dropped = 0;
	enum tt_ear_status st = TT_EAR_STATUS_NONE;
	int r = TT_ERR_NO_MEMORY;

	if (!p)
		return TT_ERR_INVALID_ARGUMENT;
	input = json_is_object(in->claims) ? json_copy((json_t *)in->claims) : json_object();
	data = json_pack("{s:o}", "reference", in->refvals ? json_incref((json_t *)in->refvals) :
		json_object());
	tv = json_object();
	reasons = json_array();
	if (!input || !data || !tv || !reasons)
		goto out;
	/* Flat claims (tpm, sample) are also offered as input.<tee>; TEE verifiers already
	 * nest theirs under the tee's name (input.tdx.quote..., input.snp.evidence...), which
	 * is where Trustee's policies read them, so that member is left as it is. */
	if (in->tee && !json_is_object(json_object_get(input, in->tee)) &&
	    json_object_set(input, in->tee, (json_t *)in->claims))
		goto out;
	if (json_object_set_new(input, "turtle", json_pack("{s:s?,s:s?}", "node_id", in->node_id,
	    "group", in->group)))
		goto out;
	r = eval_package(p, input, data, &pkg, &why);
	if (r) {
		/* an evaluation error is a contraindication, never a pass */
		if (tt_policy_reason(reasons, &dropped, "rego: %.250s", why ? why : "evaluation failed"))
			goto nomem;
		st = TT_EAR_STATUS_CONTRAINDICATED;
		json_decref(pkg);
		pkg = NULL;
	}
	for (size_t i = 0; pkg && i < sizeof(tv_names) / sizeof(tv_names[0]); i++) {
		const json_t *v = json_object_get(pkg, tv_names[i][0]);
		if (!v)
			v = json_object_get(pkg, tv_names[i][1]);
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < -128 || json_integer_value(v) > 127) {
			if (tt_policy_reason(reasons, &dropped, "rego: %s is not an AR4SI value (-128..127)",
			    tv_names[i][0]))
				goto nomem;
			st = TT_EAR_STATUS_CONTRAINDICATED;
			continue;
		}
		int8_t val = (int8_t)json_integer_value(v);
		if (json_object_set_new(tv, tv_names[i][1], json_integer(val)))
			goto nomem;
		enum tt_ear_status t = tt_ear_tier_of(val);
		if (t > st)
			st = t;
		if (t != TT_EAR_STATUS_AFFIRMING && t != TT_EAR_STATUS_NONE &&
		    tt_policy_reason(reasons, &dropped, "rego: %s = %d (%s)", tv_names[i][1], val,
		    tt_ear_status_name(t)))
			goto nomem;
	}
	const json_t *pr = pkg ? json_object_get(pkg, "reasons") : NULL, *x;
	size_t i;
	json_array_foreach(pr, i, x)
		if (json_is_string(x) && tt_policy_reason(reasons, &dropped, "%.280s", json_string_value(x)))
			goto nomem;
	if (tt_policy_reasons_close(reasons, dropped))
		goto nomem;
	out = json_pack("{s:s,s:O,s:O}", "ear.status", tt_ear_status_name(st),
		"ear.trustworthiness-vector", tv, "turtle.reasons", reasons);
	if (!out)
		goto nomem;
	*submod = out;
	*status = st;
	r = 0;
	goto out;
nomem:
	r = TT_ERR_NO_MEMORY;
out:
	json_decref(input);
	json_decref(data);
	json_decref(pkg);
	json_decref(tv);
	json_decref(reasons);
	return r;
}

int tt_policy_rego_release(const json_t *doc, const json_t *ear_claims, const char *path,
	const char *group, bool *allow, const char **why)
{
	struct prog *p = NULL;
	json_t *data = NULL, *pkg = NULL;
	int r;

	*allow = false;
	*why = NULL;
	if (!path)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = prog_get(doc, &p, why)))
		return r;
	/* Trustee's KBS layout: the plugin, the path's sections, the query (none here) */
	json_t *sections = json_array();
	for (const char *s = path; sections;) {
		const char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (json_array_append_new(sections, json_stringn(s, l))) {
			json_decref(sections);
			sections = NULL;
			break;
		}
		if (!e)
			break;
		s = e + 1;
	}
	data = sections ? json_pack("{s:s,s:o,s:{},s:s?,s:o}", "plugin", "resource",
		"resource-path", sections, "query", "node-group", group, "reference",
		json_object_get(doc, "reference") ? json_incref(json_object_get(doc, "reference")) :
		json_object()) : NULL;
	if (!data) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((r = eval_package(p, ear_claims, data, &pkg, why)))
		goto out;
	*allow = json_is_true(json_object_get(pkg, "allow"));
	if (!*allow)
		*why = "the resource policy does not allow this release";
out:
	json_decref(data);
	json_decref(pkg);
	prog_put(p);
	return r;
}

const struct tt_policy_engine tt_policy_rego = {
	.abi = TT_POLICY_ABI,
	.name = "rego",
	.init = NULL,
	.compile = rego_compile,
	.eval = rego_eval,
	.release = rego_release,
	.fini = rego_fini,
};
