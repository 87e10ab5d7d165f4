/*
 * Policy engines: the appraisal of verified claims against reference values and a policy
 * document, behind one small function table (as a tpm2-tss TCTI or curl's vtls). Adding
 * an engine is one file and one entry in registry.c.
 *
 * What an engine sees (struct tt_policy_input) is already fail-closed: the claims come
 * only from signed data (docs/evidence.md, "Appraisal model"), and `required` lists every
 * measurement name that must be present (named by a reference value the evidence type
 * owns, or by the policy document's "required_pcrs" / "required_claims"). After eval the
 * caller runs tt_policy_enforce, which an engine cannot opt out of: a required name that
 * is absent makes the result contraindicated, and unsigned (sample) evidence is capped at
 * warning unless the document sets "sample_affirming". So a lenient or buggy engine can
 * make a result worse, never better than the evidence allows.
 *
 * Claims shape (every verifier): {"tee": "...", "measurements": {name: value}, ...} where
 * a value is a string, or an array of strings when the evidence holds a history for one
 * name (IMA: every measurement of one path, in log order). Every element of an array
 * must match a reference value of that name. "contraindications": [reason, ...] (set by a
 * verifier, never taken from evidence) makes the result contraindicated in any engine.
 * Other members are informational.
 *
 * Policy document (JSON, stored per node group) members read here, for every engine:
 *   "engine"           engine name (default "default")
 *   "id"               policy id shown in tokens
 *   "required_pcrs"    {"sha256": [0, 7, ...], "sha1": [...]}: these PCRs must be quoted
 *   "required_claims"  ["kernel_cmdline", "snp.measurement", ...]: must be present
 *   "sample_affirming" true: sample evidence may be affirming (tests only)
 * An engine may define more members for itself.
 *
 * Functions return 0 or a negative enum tt_err. json_t outputs give the caller one
 * reference; inputs are borrowed, and may be shared with other threads (turtle-as caches
 * reference values, documents and required lists): read them, never modify them or take
 * a reference to them (json_incref, "O" in json_pack, json_object_set).
 */
#ifndef TT_POLICY_H
#define TT_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ear.h"   /* enum tt_ear_status: the one status type */

#define TT_POLICY_ABI 1

/* Bounds on what an engine puts in its submodule (so every token stays verifiable). */
#define TT_POLICY_MAX_REASONS 32u      /* reasons listed; the rest are counted */
#define TT_POLICY_MAX_REASON_LEN 300u  /* bytes per reason */
#define TT_POLICY_MAX_REQUIRED 1024u   /* names a document may require */

struct tt_policy_input {
	const char *tee;              /* verifier that produced the claims ("tpm", ...) */
	const char *node_id;          /* may be NULL */
	const char *group;            /* node group the policy was chosen for */
	const json_t *claims;         /* verified claims (shape above) */
	const json_t *refvals;        /* name -> array of valid reference value strings */
	const json_t *required;       /* array of measurement names that must be present */
	const json_t *doc;            /* the policy document, or NULL (built-in default) */
};

/*
 * An engine. compile() turns a policy document into a program (and is how turtle-as
 * validates a document before storing it: *reason names what is wrong); eval() appraises
 * one input with it and returns the submodule
 *   {"ear.status": "...", "ear.trustworthiness-vector": {...}, "turtle.reasons": [...]}
 * (at most TT_POLICY_MAX_REASONS reasons plus one "... N more" line) and its status.
 * release() frees a program. init()/fini() run once per process (either may be NULL).
 * A program is immutable once compiled: eval may run on it from several threads.
 */
struct tt_policy_engine {
	unsigned abi;                 /* TT_POLICY_ABI */
	const char *name;
	int (*init)(void);
	int (*compile)(const json_t *doc, void **prog, const char **reason);
	int (*eval)(const void *prog, const struct tt_policy_input *in, json_t **submod,
		enum tt_ear_status *status);
	void (*release)(void *prog);
	void (*fini)(void);
};

extern const struct tt_policy_engine tt_policy_default;

/* The engine a document names ("engine", default "default"), or NULL. */
const struct tt_policy_engine *tt_policy_find(const char *name);
/* Every engine's init / fini (process start and exit). */
int tt_policy_init_all(void);
void tt_policy_fini_all(void);

/*
 * The sorted, duplicate-free array of names the evidence must carry: each reference value
 * name that starts with one of `owned` (the prefixes of claim names the verifier produces
 * from signed data; NULL-terminated; "" owns every name), then "pcr.<bank>.<n>" for the
 * document's "required_pcrs" and each of its "required_claims". TT_ERR_INVALID_ARGUMENT
 * with *reason for a malformed document (tt_policy_check_doc says the same).
 */
int tt_policy_required(const json_t *refvals, const json_t *doc, const char *const *owned,
	json_t **names, const char **reason);
/* Check the members above of a document; engines call it from compile(). */
int tt_policy_check_doc(const json_t *doc, const char **reason);

/*
 * The rules no engine can override, applied to an engine's result: every required name
 * absent from the measurements -> contraindicated (a reason naming it is added unless the
 * engine gave one); each string of the claims' "contraindications" array (what the
 * verifier found that no policy may accept, e.g. a CCA platform in a debug lifecycle
 * state) -> contraindicated, the string added as a reason, "hardware" 96 in the vector;
 * sample evidence -> at most warning unless doc "sample_affirming".
 * Updates "ear.status" and "turtle.reasons" in submod and *status.
 */
int tt_policy_enforce(const struct tt_policy_input *in, json_t *submod,
	enum tt_ear_status *status);

/* Append a reason to a reasons array, honouring the bounds above (*dropped counts the
 * reasons not listed). */
int tt_policy_reason(json_t *reasons, size_t *dropped, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Close a reasons array: one "... and N more" line when reasons were dropped. */
int tt_policy_reasons_close(json_t *reasons, size_t dropped);

#endif
