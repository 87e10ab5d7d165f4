/* Cryptographic operations. Each one translates the PSA algorithm number through the
 * shared codec (src/wire/psa_conv.c), so client and service cannot disagree on it. */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "util/mem.h"
#include "wire/opcodes.h"
#include "wire/psa_conv.h"

static ProtobufCBinaryData
bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b;

	b.data = (uint8_t *)p;
	b.len = p != NULL ? n : 0;
	return b;
}

/* Input checks common to the keyed operations: a name, and data pointers that are
 * non-NULL whenever their length is not zero. */
static int
check_in(const char *name, const uint8_t *in, size_t in_len)
{
	int r;

	if (name != NULL && (r = tt_client_check_name(name)) != 0)
		return r;
	if (in == NULL && in_len != 0)
		return TT_ERR_INVALID_ARGUMENT;
	return 0;
}

/* Move a result bytes field to the caller; wipe the protobuf copy if secret. */
static int
take(ProtobufCMessage *res, ProtobufCBinaryData *field, bool secret, uint8_t **out,
     size_t *out_len)
{
	int r = tt_client_dup_bytes(field, out, out_len);

	if (secret)
		tt_wipe(field->data, field->len);
	protobuf_c_message_free_unpacked(res, NULL);
	return r;
}

int
tt_sign_hash(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *hash,
	     size_t hash_len, uint8_t **sig, size_t *sig_len)
{
	PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
	PsaSignHash__Result *res = NULL;
	int r;

	if ((r = check_in(name, hash, hash_len)) != 0 || name == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if (sig == NULL || sig_len == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_sign_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.hash = bin(hash, hash_len);
	r = tt_client_call(c, TT_OP_PSA_SIGN_HASH, false, false, &op.base,
			   &psa_sign_hash__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_sign_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->signature, false, sig, sig_len);
}

int
tt_verify_hash(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *hash,
	       size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
	int r;

	if ((r = check_in(name, hash, hash_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, sig, sig_len)) != 0)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_sign_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.hash = bin(hash, hash_len);
	op.signature = bin(sig, sig_len);
	r = tt_client_call(c, TT_OP_PSA_VERIFY_HASH, false, false, &op.base,
			   &psa_verify_hash__result__descriptor, NULL);
	tt_pb_sign_free(op.alg);
	return r;
}

int
tt_sign_message(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *msg,
		size_t msg_len, uint8_t **sig, size_t *sig_len)
{
	PsaSignMessage__Operation op = PSA_SIGN_MESSAGE__OPERATION__INIT;
	PsaSignMessage__Result *res = NULL;
	int r;

	if ((r = check_in(name, msg, msg_len)) != 0 || name == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if (sig == NULL || sig_len == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_sign_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.message = bin(msg, msg_len);
	r = tt_client_call(c, TT_OP_PSA_SIGN_MESSAGE, false, false, &op.base,
			   &psa_sign_message__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_sign_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->signature, false, sig, sig_len);
}

int
tt_verify_message(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *msg,
		  size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	PsaVerifyMessage__Operation op = PSA_VERIFY_MESSAGE__OPERATION__INIT;
	int r;

	if ((r = check_in(name, msg, msg_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, sig, sig_len)) != 0)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_sign_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.message = bin(msg, msg_len);
	op.signature = bin(sig, sig_len);
	r = tt_client_call(c, TT_OP_PSA_VERIFY_MESSAGE, false, false, &op.base,
			   &psa_verify_message__result__descriptor, NULL);
	tt_pb_sign_free(op.alg);
	return r;
}

int
tt_asymmetric_encrypt(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *in,
		      size_t in_len, const uint8_t *salt, size_t salt_len, uint8_t **out,
		      size_t *out_len)
{
	PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;
	PsaAsymmetricEncrypt__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, salt, salt_len)) != 0 || out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_asym_enc_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.plaintext = bin(in, in_len);
	op.salt = bin(salt, salt_len);
	r = tt_client_call(c, TT_OP_PSA_ASYMMETRIC_ENCRYPT, false, true, &op.base,
			   &psa_asymmetric_encrypt__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_asym_enc_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->ciphertext, false, out, out_len);
}

int
tt_asymmetric_decrypt(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *in,
		      size_t in_len, const uint8_t *salt, size_t salt_len, uint8_t **out,
		      size_t *out_len)
{
	PsaAsymmetricDecrypt__Operation op = PSA_ASYMMETRIC_DECRYPT__OPERATION__INIT;
	PsaAsymmetricDecrypt__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, salt, salt_len)) != 0 || out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_asym_enc_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.ciphertext = bin(in, in_len);
	op.salt = bin(salt, salt_len);
	r = tt_client_call(c, TT_OP_PSA_ASYMMETRIC_DECRYPT, false, true, &op.base,
			   &psa_asymmetric_decrypt__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_asym_enc_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->plaintext, true, out, out_len);
}

int
tt_aead_encrypt(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *nonce,
		size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *in,
		size_t in_len, uint8_t **out, size_t *out_len)
{
	PsaAeadEncrypt__Operation op = PSA_AEAD_ENCRYPT__OPERATION__INIT;
	PsaAeadEncrypt__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, nonce, nonce_len)) != 0 || (r = check_in(NULL, ad, ad_len)) != 0 ||
	    out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_aead_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.nonce = bin(nonce, nonce_len);
	op.additional_data = bin(ad, ad_len);
	op.plaintext = bin(in, in_len);
	r = tt_client_call(c, TT_OP_PSA_AEAD_ENCRYPT, false, true, &op.base,
			   &psa_aead_encrypt__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_aead_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->ciphertext, false, out, out_len);
}

int
tt_aead_decrypt(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *nonce,
		size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *in,
		size_t in_len, uint8_t **out, size_t *out_len)
{
	PsaAeadDecrypt__Operation op = PSA_AEAD_DECRYPT__OPERATION__INIT;
	PsaAeadDecrypt__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, nonce, nonce_len)) != 0 || (r = check_in(NULL, ad, ad_len)) != 0 ||
	    out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_aead_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.nonce = bin(nonce, nonce_len);
	op.additional_data = bin(ad, ad_len);
	op.ciphertext = bin(in, in_len);
	r = tt_client_call(c, TT_OP_PSA_AEAD_DECRYPT, false, true, &op.base,
			   &psa_aead_decrypt__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_aead_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->plaintext, true, out, out_len);
}

int
tt_cipher_encrypt(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *in,
		  size_t in_len, uint8_t **out, size_t *out_len)
{
	PsaCipherEncrypt__Operation op = PSA_CIPHER_ENCRYPT__OPERATION__INIT;
	PsaCipherEncrypt__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL || out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_cipher_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.plaintext = bin(in, in_len);
	if ((r = tt_client_call(c, TT_OP_PSA_CIPHER_ENCRYPT, false, true, &op.base,
				&psa_cipher_encrypt__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	return take(&res->base, &res->ciphertext, false, out, out_len);
}

int
tt_cipher_decrypt(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *in,
		  size_t in_len, uint8_t **out, size_t *out_len)
{
	PsaCipherDecrypt__Operation op = PSA_CIPHER_DECRYPT__OPERATION__INIT;
	PsaCipherDecrypt__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL || out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_cipher_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.ciphertext = bin(in, in_len);
	if ((r = tt_client_call(c, TT_OP_PSA_CIPHER_DECRYPT, false, true, &op.base,
				&psa_cipher_decrypt__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	return take(&res->base, &res->plaintext, true, out, out_len);
}

int
tt_mac_compute(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *in,
	       size_t in_len, uint8_t **mac, size_t *mac_len)
{
	PsaMacCompute__Operation op = PSA_MAC_COMPUTE__OPERATION__INIT;
	PsaMacCompute__Result *res = NULL;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL || mac == NULL || mac_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_mac_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.input = bin(in, in_len);
	r = tt_client_call(c, TT_OP_PSA_MAC_COMPUTE, false, false, &op.base,
			   &psa_mac_compute__result__descriptor, (ProtobufCMessage **)&res);
	tt_pb_mac_free(op.alg);
	if (r != 0)
		return r;
	return take(&res->base, &res->mac, false, mac, mac_len);
}

int
tt_mac_verify(struct tt_client *c, const char *name, tt_alg_t alg, const uint8_t *in,
	      size_t in_len, const uint8_t *mac, size_t mac_len)
{
	PsaMacVerify__Operation op = PSA_MAC_VERIFY__OPERATION__INIT;
	int r;

	if ((r = check_in(name, in, in_len)) != 0 || name == NULL ||
	    (r = check_in(NULL, mac, mac_len)) != 0)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_mac_to_pb(alg, &op.alg)) != 0)
		return r;
	op.key_name = (char *)name;
	op.input = bin(in, in_len);
	op.mac = bin(mac, mac_len);
	r = tt_client_call(c, TT_OP_PSA_MAC_VERIFY, false, false, &op.base,
			   &psa_mac_verify__result__descriptor, NULL);
	tt_pb_mac_free(op.alg);
	return r;
}

int
tt_hash_compute(struct tt_client *c, tt_alg_t alg, const uint8_t *in, size_t in_len,
		uint8_t **hash, size_t *hash_len)
{
	PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;
	PsaHashCompute__Result *res = NULL;
	int r;

	if ((r = check_in(NULL, in, in_len)) != 0 || hash == NULL || hash_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_hash_to_pb(alg, &op.alg)) != 0)
		return r;
	op.input = bin(in, in_len);
	if ((r = tt_client_call(c, TT_OP_PSA_HASH_COMPUTE, false, false, &op.base,
				&psa_hash_compute__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	return take(&res->base, &res->hash, false, hash, hash_len);
}

int
tt_hash_compare(struct tt_client *c, tt_alg_t alg, const uint8_t *in, size_t in_len,
		const uint8_t *hash, size_t hash_len)
{
	PsaHashCompare__Operation op = PSA_HASH_COMPARE__OPERATION__INIT;
	int r;

	if ((r = check_in(NULL, in, in_len)) != 0 || (r = check_in(NULL, hash, hash_len)) != 0)
		return r;
	if ((r = tt_psa_hash_to_pb(alg, &op.alg)) != 0)
		return r;
	op.input = bin(in, in_len);
	op.hash = bin(hash, hash_len);
	return tt_client_call(c, TT_OP_PSA_HASH_COMPARE, false, false, &op.base,
			      &psa_hash_compare__result__descriptor, NULL);
}

int
tt_raw_key_agreement(struct tt_client *c, tt_alg_t alg, const char *private_key_name,
		     const uint8_t *peer, size_t peer_len, uint8_t **out, size_t *out_len)
{
	PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;
	PsaRawKeyAgreement__Result *res = NULL;
	int r;

	if ((r = check_in(private_key_name, peer, peer_len)) != 0 || private_key_name == NULL ||
	    out == NULL || out_len == NULL)
		return r != 0 ? r : TT_ERR_INVALID_ARGUMENT;
	if ((r = tt_psa_ka_raw_to_pb(alg, &op.alg)) != 0)
		return r;
	op.private_key_name = (char *)private_key_name;
	op.peer_key = bin(peer, peer_len);
	if ((r = tt_client_call(c, TT_OP_PSA_RAW_KEY_AGREEMENT, false, false, &op.base,
				&psa_raw_key_agreement__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	return take(&res->base, &res->shared_secret, true, out, out_len);
}

int
tt_generate_random(struct tt_client *c, size_t n, uint8_t **out)
{
	PsaGenerateRandom__Operation op = PSA_GENERATE_RANDOM__OPERATION__INIT;
	PsaGenerateRandom__Result *res = NULL;
	size_t got;
	uint8_t *p = NULL;
	int r;

	if (out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	op.size = n;
	if ((r = tt_client_call(c, TT_OP_PSA_GENERATE_RANDOM, false, false, &op.base,
				&psa_generate_random__result__descriptor,
				(ProtobufCMessage **)&res)) != 0)
		return r;
	/* Callers size buffers from n; a service that returns another length is broken. */
	if (res->random_bytes.len != n) {
		tt_wipe(res->random_bytes.data, res->random_bytes.len);
		protobuf_c_message_free_unpacked(&res->base, NULL);
		return TT_ERR_PROTOCOL;
	}
	if ((r = take(&res->base, &res->random_bytes, true, &p, &got)) != 0)
		return r;
	*out = p;
	return 0;
}
