/*
 * libFuzzer target: the KBS secret-release JWE as the attested workload receives it,
 * decrypted with its TEE key by tt_ear_jwe_decrypt (src/attest/ear/jwe.c).
 *
 * Input: the JWE's JSON text (flattened, or general with one recipient), parsed with
 * jansson as a KBS client would, then decrypted with two fixed TEE keys: an EC P-256 key
 * (ECDH-ES+A256KW) and an RSA 2048 key (RSA-OAEP-256); enc is A256GCM. The keys are
 * constants, made for this target only and protecting nothing, so inputs replay
 * deterministically and the committed seeds decrypt.
 *
 * A decryption that succeeds returns a NUL-terminated plaintext of the stated length.
 *
 * Seeds (real JWEs of a short and a longer secret to each key):
 *   TT_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/fuzz_ear_jwe build-fuzz/tests/fuzz/fuzz_ear_jwe
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ear.h"
#include "turtle/error.h"
#include "util/mem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u * 1024u)

static const char ec_jwk_text[] =
    "{\"crv\":\"P-256\",\"d\":\"wvDlA86wuphEtnLe07BblaV2UxhOLrT9SPOQoaSwdcc\",\"kty\":\"EC\","
    "\"x\":\"lcP6QwArr8DuWWzfGcPzDmsO-mqKS6xyAI1VgC6tkkk\","
    "\"y\":\"X_R5x9kBexIgEB95_xQCqsGsweqUHYbcs79U5VrY4Dk\"}";

static const char rsa_jwk_text[] =
    "{\"kty\":\"RSA\",\"e\":\"AQAB\","
    "\"d\":\"JTRyOOaQCZpVkeBsu5IFA5op6zWHmEb0kvD4Br7wq4Czy2ZTi14C7wJ8F77Mtg86kUJHjXq_W10harjnQN"
    "JSFvurG6xC1hLxuGygxOj6LQdKkP3qBTpE5gIVg_l4bZvwCSKPn9_jraFZNZvyUVnIIm_BizMG7iurhHEasyArq0E0"
    "wcE0kak-CqECrsDmw6lvhD5nM5ONZhrGHPl1_jUiSmXRAGqUJG4SSxQm_iKcnNpF-Sky6JtkxcovtUqHNrqWRCgzk6"
    "lDQkPEjYwekTLfy1y7oFNYzq6b0hmEjAwY0VEBwuo-IF4pTUuIUtuRZAc3dNhKeNjG2nlDOLd9x7pxsQ\","
    "\"dp\":\"q19jlzI__tICALwTTlvltDvWN677eSMh6TCJf2BZKY5ZhKjAw2Cqd-8V88u-Rl3MIbP0iEVjYTPYo_Wd"
    "Ehs2Hv_9yaIyax4RA0Ns7aas7AM_k8g-iJKfM5126ICtV8atRmpniIWrk_pQPZiuKUZiUzmiQQ6Nkn6HzWhCLTNeVDs\","
    "\"dq\":\"adibq0UGBCpg4DuqR_RU_Y4Hbr67vqrjzgIkSigFQeplXoZOv9F-1Rmuum5PdTjLuYff10BLMmaoJYiQSI"
    "HKYc_ZMrtuNzRDVClLQUq76e3AsWPM0h9O5ZBzOVDsREifdoriuAUQG9n6UoEtTd0Zll5apWrJsLbkspzuLIhNMxk\","
    "\"n\":\"pdvxiQIE2Aq2ZUdJBBINBNgYwGC66onT1jvZwR5Fu4Sg57W6sBSWnLbCaVWG62YA4RIJksk2oQQs7MxVN9-"
    "XZpSTcsxOrmmg3_tsbXVnu-cgRc2EhXbZ679aDDTx5W7VIOevqQ_bLcx4RrhXTOscpkPPFXsrgMkN2I0bOMREZC-De"
    "bsp86TZMQVyuZSQ-F4sx2oLsLgadbbtG4FbnbzGn2Dw3Yi9BRoJUFM6kIwFSJJkECSN6FjAhUmy0aTY-BoR5s4dKww"
    "jm0NLmyCIk6arUL2-mq9ohoSeHkn3qDnxTK1NP50XhBX6Ft8_1R9mZZPgJ5yC7IJ2tLwgon5YGd6Yhw\","
    "\"p\":\"1LuwGhijbxqXO4LvrPtyeDtwx33KxNTOS4eBz4d6Lao8sbwIzmqyBuwQwKWmZF0hmI2UosJfgfZl-Ov5WIx"
    "Fd40fZSTgYHAqmX2X6vQjLXWtUiAt2wcN2sXly9BLm1_zfrnAyy01CnflY3iJ6dfM4Wrh-8kLjOftKpkoH1ToVw8\","
    "\"q\":\"x5euajw_U1jzRNpA-oviZze-oF7U3lmhj82TWyALYxrbpD-mefcqcGRSUlBJcuMRCiPLG1XtB9u4SZrSRfn"
    "gz2E26qpwHORyw1UFCQIjOnXUIy7ThF9hZ68ohI6ONsOmVjZiS-kqtOBZqR-ew4Wib2LKdLrSHU4-ORjo466L5wk\","
    "\"qi\":\"kqXJvdzuC6D8Ease61suEfi7LOK8kh0ng23eoWsMTZ60aduC0hhjTmofWY4Tq5nVvVs0_wEnay9Kphax"
    "FPjNhuU75GjnyNlJKSPIlMy_FACxphpoBimyutRInP3aOLIihyKkYRTTNjpFXdnMSVP6E9D1t11H5OLMJzH4YsuDd1U\"}";

static json_t *ec_jwk, *rsa_jwk;
/* TT_FUZZ_VERBOSE=1: print each key's verdict (to check what a seed reaches). */
static int verbose;

static void
write_seeds(const char *out)
{
	static const char *secrets[] = { "s3cret", "{\"user\":\"db\",\"password\":\"correct horse "
	    "battery staple\",\"note\":\"a longer secret, several AES blocks long\"}" };
	static const char *priv[] = { "d", "p", "q", "dp", "dq", "qi" };
	json_t *keys[2] = { ec_jwk, rsa_jwk };

	for (size_t k = 0; k < 2; k++) {
		json_t *pub = json_deep_copy(keys[k]);

		if (pub == NULL)
			abort();
		for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
			(void)json_object_del(pub, priv[i]);
		for (size_t s = 0; s < 2; s++) {
			json_t *jwe = NULL;
			char path[1024], *text;
			FILE *f;

			if (tt_ear_jwe_encrypt(pub, secrets[s], strlen(secrets[s]), &jwe) != 0 ||
			    (text = json_dumps(jwe, JSON_COMPACT)) == NULL)
				abort();
			(void)snprintf(path, sizeof(path), "%s/seed-%s-%zu", out,
			    k == 0 ? "ec-p256" : "rsa2048", s);
			if ((f = fopen(path, "wbe")) == NULL) {
				perror(path);
				exit(1);
			}
			fputs(text, f);
			fclose(f);
			free(text);
			json_decref(jwe);
		}
		json_decref(pub);
	}
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *out = getenv("TT_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	verbose = getenv("TT_FUZZ_VERBOSE") != NULL;
	if ((ec_jwk = json_loads(ec_jwk_text, 0, NULL)) == NULL ||
	    (rsa_jwk = json_loads(rsa_jwk_text, 0, NULL)) == NULL)
		abort();
	if (out != NULL)
		write_seeds(out);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *keys[2] = { ec_jwk, rsa_jwk };
	json_t *jwe;

	if (size > MAX_INPUT)
		return 0;
	if ((jwe = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	for (size_t k = 0; k < 2; k++) {
		uint8_t *pt = NULL;
		size_t ptl = 0;
		int r = tt_ear_jwe_decrypt(keys[k], jwe, &pt, &ptl);

		if (verbose)
			fprintf(stderr, "key %zu: %d (%zu bytes)\n", k, r, ptl);
		if (r > 0 || (r == 0) != (pt != NULL))
			abort();
		if (r == 0) {
			if (pt[ptl] != 0)
				abort();
			tt_free_secret(pt, ptl);
		}
	}
	json_decref(jwe);
	return 0;
}
