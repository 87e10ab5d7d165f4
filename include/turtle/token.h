/*
 * libturtle: offline verification of attestation-result tokens (EAR JWTs issued by
 * turtle-as, draft-ietf-rats-ear) against a JWKS, without talking to any service.
 *
 * Return values follow turtle/error.h: 0 or a negative enum tt_err.
 *   TT_ERR_INVALID_SIGNATURE  no key in the JWKS verifies the signature (or none fits)
 *   TT_ERR_NOT_PERMITTED      algorithm not allowed ("none", HMAC, ...), token expired or
 *                             not yet valid, eat_nonce differs from the expected nonce
 *   TT_ERR_PARSE, TT_ERR_DATA_INVALID, TT_ERR_LIMIT  malformed token, claims or JWKS
 *   TT_ERR_INVALID_ARGUMENT, TT_ERR_NO_MEMORY
 */
#ifndef TURTLE_TOKEN_H
#define TURTLE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "turtle/turtle.h"   /* tt_free() */

#ifdef __cplusplus
extern "C" {
#endif

struct tt_token_verify_opts {
	uint64_t now;            /* unix seconds to judge exp/iat/nbf by; 0 = the clock */
	uint32_t leeway;         /* seconds of clock skew tolerated both ways */
	const void *nonce;       /* expected eat_nonce (its text bytes); NULL = not checked */
	size_t nonce_len;
};

/*
 * Verify `token` (compact JWS) against `jwks_json` ({"keys":[...]} or a single JWK).
 * Accepted algorithms: ES256, ES384, RS256, PS256. The eat_profile must be the EAR
 * profile and every submodule must carry a valid ear.status. opts may be NULL (clock
 * time, no leeway, no nonce).
 *
 * Ownership: on success *claims_json_out (if claims_json_out is not NULL) receives the
 * verified claims as pretty-printed JSON text; on failure *reason_out (if not NULL)
 * receives a one-line explanation (it may stay NULL when memory ran out). Both strings
 * are malloc'd: release them with tt_free(). Outputs not named are left untouched.
 */
int tt_token_verify(const char *token, const char *jwks_json,
	const struct tt_token_verify_opts *opts, char **claims_json_out, char **reason_out);

/*
 * Decode a token WITHOUT verifying anything: header and claims as pretty-printed JSON
 * (either out-pointer may be NULL; release with tt_free()). For display and debugging
 * only — nothing in the output is trustworthy.
 */
int tt_token_decode_unverified(const char *token, char **header_json_out,
	char **claims_json_out);

#ifdef __cplusplus
}
#endif
#endif
