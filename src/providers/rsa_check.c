#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "providers/rsa_check.h"
#include "turtle/error.h"
#include "util/log.h"

int
tt_prov_rsa_check(EVP_PKEY *pk, bool pair)
{
	EVP_PKEY_CTX *pc = NULL;
	BIGNUM *e = NULL;
	const char *why = NULL;
	int r = TT_ERR_INVALID_ARGUMENT;

	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		why = "not an RSA key";
		goto out;
	}
	/* The exponent is checked here as well, with a reason of its own: e = 1 makes
	 * "encryption" the identity, and OpenSSL's own rule differs in FIPS builds. */
	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e)) {
		why = "no public exponent";
		goto out;
	}
	if (BN_is_zero(e) || BN_is_one(e) || !BN_is_odd(e)) {
		why = "public exponent is 0, 1 or even";
		goto out;
	}
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((pair ? EVP_PKEY_check(pc) : EVP_PKEY_public_check(pc)) != 1) {
		why = pair ? "private parts do not form a valid key pair" :
		    "modulus or exponent fails the public key check";
		goto out;
	}
	r = 0;
out:
	if (why != NULL)
		tt_info("RSA import refused: %s", why);
	ERR_clear_error();
	BN_free(e);
	EVP_PKEY_CTX_free(pc);
	return r;
}
