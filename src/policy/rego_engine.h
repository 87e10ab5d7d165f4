/*
 * The Rego policy engine (rego_engine.c): appraisal policies through the policy.h table,
 * and resource-release decisions for the KBS.
 *
 * Appraisal document: {"engine": "rego", "rego": "<module>" | ["<module>", ...],
 * "package": "policy" (default), "id": ...}. The package's rules named after the AR4SI
 * trustworthiness claims (executables, hardware, configuration, file_system,
 * instance_identity, runtime_opaque, storage_opaque, sourced_data; Trustee's names)
 * become the trustworthiness vector; the status is the worst tier among them. An optional
 * rule `reasons` (a set or array of strings) adds reasons.
 *
 *   input = the verified claims, plus input.turtle = {node_id, group}; input[<tee>] is
 *           where Trustee's policies read a TEE's claims: the TEE verifiers nest theirs
 *           there already (input.tdx.quote...), flat claims (tpm, sample) are copied there
 *   data  = {"reference": {name: [values]}} (Trustee's RVPS layout); the built-in
 *           query_reference_value(name) returns data.reference[name]
 */
#ifndef TT_POLICY_REGO_ENGINE_H
#define TT_POLICY_REGO_ENGINE_H

#include <stdbool.h>

#include <jansson.h>

extern const struct tt_policy_engine tt_policy_rego;

/*
 * A KBS resource-release decision: the document {"rego": ..., "package": "policy"}
 * is evaluated with input = the EAR claims of the requester's token and, as Trustee's
 * KBS lays it out, data = {"plugin": "resource", "resource-path": [the path's sections],
 * "query": {}}, plus "node-group": group and "reference": the document's "reference"
 * member. The release is allowed only when data.<package>.allow is true. *why explains a
 * refusal or an error. 0 with *allow, or a negative tt_err.
 */
int tt_policy_rego_release(const json_t *doc, const json_t *ear_claims, const char *path,
	const char *group, bool *allow, const char **why);

#endif
