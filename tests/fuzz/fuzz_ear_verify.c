/*
 * libFuzzer target: offline verification of EAR attestation-result tokens from a relying
 * party's point of view, where both the token and the JWKS may be hostile.
 *
 * Input: token bytes, a NUL, JWKS text (without a NUL only the token is used, against an
 * empty key set). Each input goes through
 *   tt_token_verify        libturtle's public face (expected nonce NONCE, clock NOW)
 *   tt_ear_verify          any eat_profile, no nonce, with a reason string
 *   tt_token_decode_unverified
 * and what they return must be consistent: a verified token's claims are JSON text, a
 * refused one yields no claims; the EAR verdict implies the generic one.
 *
 * Seeds: real tokens and JWKS from the EAR library (ES256, ES384, RS256, PS256), made by
 *   TT_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/fuzz_ear_verify build-fuzz/tests/fuzz/fuzz_ear_verify
 * (the token is issued at NOW, so the committed seeds verify on every later run).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ear.h"
#include "turtle/error.h"
#include "turtle/token.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1750000000u
#define NONCE "ZnV6ei1ub25jZS0wMTIzNDU2Nzg5"
#define MAX_INPUT (64u * 1024u)

static char tmpdir[] = "/tmp/turtle-fuzz-ear-XXXXXX";
/* TT_FUZZ_VERBOSE=1: print the three verdicts (to check what a seed reaches). */
static int verbose;

static void
put_seed(const char *dir, const char *name, const char *token, const char *jwks)
{
	char path[1024];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wbe")) == NULL) {
		perror(path);
		exit(1);
	}
	fwrite(token, 1, strlen(token), f);
	if (jwks != NULL) {
		fputc(0, f);
		fwrite(jwks, 1, strlen(jwks), f);
	}
	fclose(f);
}

/* One issued token per algorithm, with its JWKS, the single JWK, and an expired copy. */
static void
write_seeds(const char *out)
{
	static const char *algs[] = { "ES256", "ES384", "RS256", "PS256" };
	struct tt_ear_submod sm = {
		.name = "tpm", .status = TT_EAR_STATUS_AFFIRMING, .policy_id = "default",
	};
	struct tt_ear_result res = { .nonce = NONCE, .n_submods = 1, .submods = &sm };
	json_t *ev = json_pack("{s:{s:s},s:b}", "pcrs", "0",
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "secure-boot", 1);

	if (mkdtemp(tmpdir) == NULL || ev == NULL)
		abort();
	sm.tv[TT_EAR_TV_HARDWARE] = TT_EAR_TV_AFFIRMING;
	sm.tv_set[TT_EAR_TV_HARDWARE] = true;
	sm.tv[TT_EAR_TV_EXECUTABLES] = TT_EAR_TV_WARNING;
	sm.tv_set[TT_EAR_TV_EXECUTABLES] = true;
	sm.annotated_evidence = ev;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct tt_ear_keys_opts ko = { .alg = algs[i] };
		struct tt_ear_keys *k = NULL;
		char dir[512], name[64], *tok = NULL, *jwks = NULL, *one = NULL;
		json_t *set = NULL;

		(void)snprintf(dir, sizeof(dir), "%s/%s", tmpdir, algs[i]);
		if (tt_ear_keys_open(dir, &ko, NOW, &k) != 0 || tt_ear_sign(k, &res, NOW, &tok) != 0 ||
		    tt_ear_keys_jwks(k, NOW, &set) != 0 ||
		    (jwks = json_dumps(set, JSON_COMPACT)) == NULL ||
		    (one = json_dumps(json_array_get(json_object_get(set, "keys"), 0),
		    JSON_COMPACT)) == NULL)
			abort();
		(void)snprintf(name, sizeof(name), "seed-%s", algs[i]);
		put_seed(out, name, tok, jwks);
		(void)snprintf(name, sizeof(name), "seed-%s-single-jwk", algs[i]);
		put_seed(out, name, tok, one);
		if (i == 0) {
			/* the same key, a token issued two days earlier: expired at NOW */
			free(tok);
			tok = NULL;
			if (tt_ear_sign(k, &res, NOW - 2 * 86400u, &tok) != 0)
				abort();
			put_seed(out, "seed-ES256-expired", tok, jwks);
			put_seed(out, "seed-token-only", tok, NULL);
		}
		free(tok);
		free(jwks);
		free(one);
		json_decref(set);
		tt_ear_keys_free(k);
	}
	json_decref(ev);
	fuzz_rmtree(tmpdir);
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *out = getenv("TT_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	verbose = getenv("TT_FUZZ_VERBOSE") != NULL;
	if (out != NULL)
		write_seeds(out);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_token_verify_opts to = {
		.now = NOW + 10, .nonce = NONCE, .nonce_len = sizeof(NONCE) - 1,
	};
	struct tt_ear_verify_opts eo = { .now = NOW + 10, .leeway = 60, .any_profile = true };
	const uint8_t *nul;
	char *buf, *token, *jwks, *claims = NULL, *reason = NULL, *hdr = NULL, *dclaims = NULL;
	json_t *jclaims = NULL;
	int r1, r2, r3;

	if (size > MAX_INPUT)
		return 0;
	if ((buf = malloc(size + 2)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	token = buf;
	if ((nul = memchr(data, 0, size)) != NULL)
		jwks = buf + (nul - data) + 1;
	else
		jwks = (char *)"{\"keys\":[]}";

	r1 = tt_token_verify(token, jwks, &to, &claims, &reason);
	if (r1 > 0 || (r1 == 0) != (claims != NULL) || (r1 == 0 && reason != NULL))
		abort();
	free(claims);
	free(reason);
	reason = NULL;

	r2 = tt_ear_verify(token, jwks, &eo, &jclaims, &reason);
	if (r2 > 0 || (r2 == 0) != (jclaims != NULL) || (r2 == 0 && reason != NULL))
		abort();
	/* Looser checks (leeway, no nonce, any profile) never refuse what the strict
	 * ones accept. */
	if (r1 == 0 && r2 != 0)
		abort();
	json_decref(jclaims);
	free(reason);

	r3 = tt_token_decode_unverified(token, &hdr, &dclaims);
	if (verbose)
		fprintf(stderr, "token_verify %d, ear_verify %d, decode %d\n", r1, r2, r3);
	if (r3 > 0 || (r3 == 0 && (hdr == NULL || dclaims == NULL)))
		abort();
	/* Anything that verifies also decodes. */
	if (r2 == 0 && r3 != 0)
		abort();
	free(hdr);
	free(dclaims);
	free(buf);
	return 0;
}
