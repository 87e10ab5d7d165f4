/*
 * A bounded JSON reader and a compact writer over jansson values.
 *
 * Why not jansson's own: its lexer appends strings a byte at a time and its encoder
 * decodes UTF-8 for every character it writes. Attestation requests and EAR tokens are
 * mostly long base64 strings, so those two loops were a third of turtle-as's CPU. These
 * functions produce and consume the same jansson trees, with the same rules:
 *
 *   tt_json_parse accepts what json_loadb(text, len, JSON_REJECT_DUPLICATES) accepts (an
 *   object or array at the top; RFC 8259 grammar; valid UTF-8; no "\u0000"; no duplicate
 *   keys; integers that fit json_int_t; finite reals) and builds an equal value, with
 *   three deliberate differences: nesting is bounded at `max_depth`; a number token
 *   longer than 512 characters is refused; and a raw NUL byte is always an error (jansson
 *   2.14 silently skips one that directly follows a number or literal).
 *   tt_json_write gives the bytes json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) gives.
 *
 * tests/unit/json checks both claims on fixed cases and tests/fuzz/fuzz_json
 * differentially against jansson.
 */
#ifndef TT_JSON_H
#define TT_JSON_H

#include <stddef.h>

#include <jansson.h>

#define TT_JSON_DEPTH_DEFAULT 64u

/* Where and why a parse failed (what is a static string). */
struct tt_json_err {
	size_t offset;
	const char *what;
};

/* Parse len bytes. 0 with *out (one reference), or TT_ERR_PARSE with *e filled (e may be
 * NULL), TT_ERR_LIMIT when nesting exceeds max_depth, TT_ERR_NO_MEMORY. */
int tt_json_parse(const char *text, size_t len, unsigned max_depth, json_t **out,
	struct tt_json_err *e);

/* Serialise v compactly. *out is malloc'd and NUL-terminated; *outlen (may be NULL) is
 * its length. TT_ERR_INVALID_ARGUMENT for a NULL value, a string that is not valid UTF-8
 * (json_dumps refuses those too) or a tree nested deeper than 2048 levels (json_dumps
 * would print it; nothing turtle builds or parses comes near). */
int tt_json_write(const json_t *v, char **out, size_t *outlen);

/*
 * RFC 8785 canonical JSON (JCS) of v, as Trustee's KBS client and server produce it for
 * hashing: members sorted by UTF-16 code units, no whitespace, the mandatory escapes only
 * (controls as lower-case \u00xx), integers up to 2^53 and integral reals as integers.
 * Other reals (which need ECMAScript's shortest round-trip form) get
 * TT_ERR_NOT_SUPPORTED; nesting deeper than 32 TT_ERR_LIMIT; output over max bytes
 * TT_ERR_LIMIT. *out is malloc'd and NUL-terminated, *outlen (may be NULL) its length.
 */
int tt_json_canonical(const json_t *v, size_t max, char **out, size_t *outlen);

#endif
