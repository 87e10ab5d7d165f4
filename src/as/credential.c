/*
 * TPM2_MakeCredential done by the verifier (TPM 2.0 Part 1, "Credential Protection"), so
 * turtle-as can accept an AK only once the node proved, with TPM2_ActivateCredential, that
 * the AK is resident in the same TPM as the registered EK.
 *
 * The seed is shared with the EK by the EK's algorithm (Part 1, "Secret Sharing"):
 *   RSA EK (template L-1): seed random, the size of the name-alg digest (SHA-256: 32 bytes);
 *            encrypted seed = RSA-OAEP(SHA-256, label "IDENTITY\0") with the EK public key
 *   ECC EK (template L-2, NIST P-256): an ephemeral P-256 key pair (d, Q);
 *            Z = x of d * Q_EK;
 *            seed = KDFe(SHA-256, Z, "IDENTITY\0", Q.x, Q_EK.x, 256);
 *            encrypted seed = the TPMS_ECC_POINT Q (TPM2B x || TPM2B y, 32 bytes each)
 * Both default EK templates use name alg SHA-256 and AES-128-CFB, so the rest is shared:
 *   symKey          KDFa(SHA-256, seed, "STORAGE", AK name, "", 128)
 *   encIdentity     AES-128-CFB(symKey, IV 0, TPM2B_DIGEST(secret))
 *   HMACkey         KDFa(SHA-256, seed, "INTEGRITY", "", "", 256)
 *   outerHMAC       HMAC-SHA256(HMACkey, encIdentity || AK name)
 *   credentialBlob  TPM2B_ID_OBJECT(TPM2B_DIGEST(outerHMAC) || encIdentity)
 *   secret          TPM2B_ENCRYPTED_SECRET(encrypted seed)
 *
 * ECC EKs on other curves (the high-range P-384 template uses SHA-384 and AES-256) and
 * other key types give TT_ERR_NOT_SUPPORTED.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "as.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "util/mem.h"

#define TPM_ALG_SHA256 0x000Bu
#define ATTR_FIXED_TPM (1u << 1)
#define ATTR_FIXED_PARENT (1u << 4)
#define ATTR_SENSITIVE_DATA_ORIGIN (1u << 5)
#define ATTR_RESTRICTED (1u << 16)
#define ATTR_DECRYPT (1u << 17)
#define ATTR_SIGN (1u << 18)

/* SP 800-108 counter-mode KDF with HMAC-SHA-256, as the TPM's KDFa. */
static int
kdfa(const uint8_t *key, size_t klen, const char *label, const uint8_t *ctxu, size_t ulen,
	uint32_t bits, uint8_t *out)
{
	size_t need = bits / 8, done = 0, llen = strlen(label) + 1;  /* label with its NUL */
	uint8_t msg[4 + 32 + 2 + 64 + 4], mac[32];
	size_t mlen, maclen;
	uint32_t i = 1;

	if (llen > 32 || ulen > 66)
		return TT_ERR_INVALID_ARGUMENT;
	while (done < need) {
		mlen = 0;
		msg[mlen++] = (uint8_t)(i >> 24);
		msg[mlen++] = (uint8_t)(i >> 16);
		msg[mlen++] = (uint8_t)(i >> 8);
		msg[mlen++] = (uint8_t)i;
		memcpy(msg + mlen, label, llen);
		mlen += llen;
		if (ulen != 0)
			memcpy(msg + mlen, ctxu, ulen);
		mlen += ulen;
		msg[mlen++] = (uint8_t)(bits >> 24);
		msg[mlen++] = (uint8_t)(bits >> 16);
		msg[mlen++] = (uint8_t)(bits >> 8);
		msg[mlen++] = (uint8_t)bits;
		if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, msg, mlen, mac,
		    sizeof(mac), &maclen) == NULL)
			return TT_ERR_GENERIC;
		memcpy(out + done, mac, need - done < 32 ? need - done : 32);
		done += need - done < 32 ? need - done : 32;
		i++;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int
tt_as_ak_name(const uint8_t *pub, size_t len, uint8_t *name, size_t *name_len)
{
	struct tt_buf b;
	uint16_t size, type, alg;
	uint32_t attrs;
	unsigned dl = 0;

	tt_buf_init_ro(&b, pub, len);
	if (tt_buf_get_u16be(&b, &size) != 0 || size != tt_buf_avail(&b) ||
	    tt_buf_get_u16be(&b, &type) != 0 || tt_buf_get_u16be(&b, &alg) != 0 ||
	    tt_buf_get_u32be(&b, &attrs) != 0)
		return TT_ERR_INVALID_ARGUMENT;
	if (alg != TPM_ALG_SHA256)
		return TT_ERR_NOT_SUPPORTED;
	/* An attestation key: restricted signing key that never leaves this TPM. */
	if ((attrs & (ATTR_FIXED_TPM | ATTR_FIXED_PARENT | ATTR_SENSITIVE_DATA_ORIGIN |
	    ATTR_RESTRICTED | ATTR_SIGN)) != (ATTR_FIXED_TPM | ATTR_FIXED_PARENT |
	    ATTR_SENSITIVE_DATA_ORIGIN | ATTR_RESTRICTED | ATTR_SIGN) || (attrs & ATTR_DECRYPT))
		return TT_ERR_NOT_PERMITTED;
	name[0] = (uint8_t)(alg >> 8);
	name[1] = (uint8_t)alg;
	if (EVP_Digest(pub + 2, len - 2, name + 2, &dl, EVP_sha256(), NULL) != 1)
		return TT_ERR_GENERIC;
	*name_len = 2 + dl;
	return 0;
}

static int
put2b(struct tt_buf *b, const uint8_t *d, size_t n)
{
	int r;

	if (n > 0xffff)
		return TT_ERR_LIMIT;
	if ((r = tt_buf_put_u16be(b, (uint16_t)n)) != 0)
		return r;
	return tt_buf_put(b, d, n);
}

/* RSA EK: a random seed, RSA-OAEP encrypted to the EK (label "IDENTITY" with its NUL). */
static int
seed_rsa(EVP_PKEY *ek, uint8_t seed[32], uint8_t *encseed, size_t *encseed_len)
{
	EVP_PKEY_CTX *pc = NULL;
	char *label = NULL;
	int r = TT_ERR_GENERIC;

	if (RAND_bytes(seed, 32) != 1)
		return TT_ERR_INSUFFICIENT_ENTROPY;
	/* OpenSSL takes ownership of the label. */
	if ((label = OPENSSL_malloc(9)) == NULL)
		return TT_ERR_NO_MEMORY;
	memcpy(label, "IDENTITY", 9);
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, ek, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(pc, label, 9) != 1)
		goto out;
	label = NULL;
	if (EVP_PKEY_encrypt(pc, encseed, encseed_len, seed, 32) != 1)
		goto out;
	r = 0;
out:
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(pc);
	return r;
}

/*
 * KDFe of TPM 2.0 Part 1 (the SP 800-56A concatenation KDF) with SHA-256:
 * H(counter || Z || label with its NUL || partyU || partyV), counter from 1, truncated.
 */
static int
kdfe(const uint8_t *z, size_t zlen, const char *label, const uint8_t *u, size_t ulen,
	const uint8_t *v, size_t vlen, uint32_t bits, uint8_t *out)
{
	size_t need = bits / 8, done = 0;
	uint8_t cnt[4], d[32];
	unsigned dl = 0;
	uint32_t i = 1;
	EVP_MD_CTX *mc;
	int r = TT_ERR_GENERIC;

	if ((mc = EVP_MD_CTX_new()) == NULL)
		return TT_ERR_NO_MEMORY;
	while (done < need) {
		size_t n = need - done < sizeof(d) ? need - done : sizeof(d);

		cnt[0] = (uint8_t)(i >> 24);
		cnt[1] = (uint8_t)(i >> 16);
		cnt[2] = (uint8_t)(i >> 8);
		cnt[3] = (uint8_t)i;
		if (EVP_DigestInit_ex(mc, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(mc, cnt, sizeof(cnt)) != 1 ||
		    EVP_DigestUpdate(mc, z, zlen) != 1 ||
		    EVP_DigestUpdate(mc, label, strlen(label) + 1) != 1 ||
		    EVP_DigestUpdate(mc, u, ulen) != 1 ||
		    EVP_DigestUpdate(mc, v, vlen) != 1 ||
		    EVP_DigestFinal_ex(mc, d, &dl) != 1 || dl != sizeof(d))
			goto out;
		memcpy(out + done, d, n);
		done += n;
		i++;
	}
	r = 0;
out:
	OPENSSL_cleanse(d, sizeof(d));
	EVP_MD_CTX_free(mc);
	return r;
}

/* Affine coordinates of an EC public key, left-padded to 32 bytes (P-256). */
static int
ec_xy(const EVP_PKEY *k, uint8_t x[32], uint8_t y[32])
{
	BIGNUM *bx = NULL, *by = NULL;
	int r = TT_ERR_GENERIC;

	if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
	    BN_bn2binpad(bx, x, 32) != 32 || BN_bn2binpad(by, y, 32) != 32)
		goto out;
	r = 0;
out:
	BN_free(bx);
	BN_free(by);
	return r;
}

/*
 * ECC EK (P-256): ECDH between a fresh ephemeral key and the EK; the seed is KDFe of the
 * shared x coordinate, and the "encrypted seed" is the ephemeral public point, from which
 * the TPM redoes the ECDH with the EK's private key. The ephemeral private key is freed
 * (and wiped by OpenSSL) on return.
 */
static int
seed_ecc(EVP_PKEY *ek, uint8_t seed[32], uint8_t *encseed, size_t *encseed_len)
{
	EVP_PKEY *eph = NULL;
	EVP_PKEY_CTX *dc = NULL;
	uint8_t z[32], ex[32], ey[32], kx[32], ky[32];
	size_t zlen = sizeof(z);
	char group[32];
	int r = TT_ERR_GENERIC;

	if (EVP_PKEY_get_utf8_string_param(ek, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	    NULL) != 1 || (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
		return TT_ERR_NOT_SUPPORTED;
	/* TPMS_ECC_POINT: two TPM2B_ECC_PARAMETERs of 32 bytes, in a TPM2B of 68 bytes */
	if (*encseed_len < 2 + 32 + 2 + 32)
		return TT_ERR_LIMIT;
	if ((r = ec_xy(ek, kx, ky)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	if ((eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (dc = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dc) != 1 || EVP_PKEY_derive_set_peer(dc, ek) != 1 ||
	    EVP_PKEY_derive(dc, z, &zlen) != 1 || zlen != sizeof(z))
		goto out;
	if ((r = ec_xy(eph, ex, ey)) != 0 ||
	    (r = kdfe(z, zlen, "IDENTITY", ex, sizeof(ex), kx, sizeof(kx), 256, seed)) != 0)
		goto out;
	encseed[0] = 0;
	encseed[1] = 32;
	memcpy(encseed + 2, ex, 32);
	encseed[34] = 0;
	encseed[35] = 32;
	memcpy(encseed + 36, ey, 32);
	*encseed_len = 2 + 32 + 2 + 32;
	r = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(eph);
	return r;
}

int
tt_as_make_credential(const char *ek_pem, const uint8_t *name, size_t name_len,
	const uint8_t *secret, size_t slen, struct tt_buf *id_object, struct tt_buf *enc_secret)
{
	EVP_PKEY *ek = NULL;
	EVP_CIPHER_CTX *cc = NULL;
	BIO *bio = NULL;
	uint8_t seed[32], symkey[16], hmackey[32], iv[16] = { 0 }, plain[2 + 64], enc[2 + 64];
	uint8_t hm[32], hin[2 + 64 + 66], encseed[1024];
	size_t encseed_len = sizeof(encseed), hl = 0;
	int outl = 0, fl = 0, r = TT_ERR_GENERIC;

	if (slen > 64 || name_len > 66)
		return TT_ERR_INVALID_ARGUMENT;
	if ((bio = BIO_new_mem_buf(ek_pem, -1)) == NULL ||
	    (ek = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		r = TT_ERR_INVALID_ARGUMENT;
		goto out;
	}
	switch (EVP_PKEY_get_base_id(ek)) {
	case EVP_PKEY_RSA:
		r = seed_rsa(ek, seed, encseed, &encseed_len);
		break;
	case EVP_PKEY_EC:
		r = seed_ecc(ek, seed, encseed, &encseed_len);
		break;
	default:
		r = TT_ERR_NOT_SUPPORTED;
		break;
	}
	if (r != 0)
		goto out;
	if ((r = kdfa(seed, sizeof(seed), "STORAGE", name, name_len, 128, symkey)) != 0 ||
	    (r = kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, 256, hmackey)) != 0)
		goto out;
	r = TT_ERR_GENERIC;
	plain[0] = (uint8_t)(slen >> 8);
	plain[1] = (uint8_t)slen;
	memcpy(plain + 2, secret, slen);
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cc, EVP_aes_128_cfb(), NULL, symkey, iv) != 1 ||
	    EVP_EncryptUpdate(cc, enc, &outl, plain, (int)(2 + slen)) != 1 ||
	    EVP_EncryptFinal_ex(cc, enc + outl, &fl) != 1)
		goto out;
	outl += fl;
	memcpy(hin, enc, (size_t)outl);
	memcpy(hin + outl, name, name_len);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hmackey, sizeof(hmackey), hin,
	    (size_t)outl + name_len, hm, sizeof(hm), &hl) == NULL || hl != sizeof(hm))
		goto out;
	if ((r = tt_buf_put_u16be(id_object, (uint16_t)(2 + hl + (size_t)outl))) != 0 ||
	    (r = put2b(id_object, hm, hl)) != 0 ||
	    (r = tt_buf_put(id_object, enc, (size_t)outl)) != 0 ||
	    (r = put2b(enc_secret, encseed, encseed_len)) != 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(symkey, sizeof(symkey));
	OPENSSL_cleanse(hmackey, sizeof(hmackey));
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_CIPHER_CTX_free(cc);
	EVP_PKEY_free(ek);
	BIO_free(bio);
	return r;
}
