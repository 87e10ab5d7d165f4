/*
 * create-csr: a PKCS#10 request whose private key never leaves turtled.
 *
 * OpenSSL builds the CertificationRequestInfo (subject + SubjectPublicKeyInfo from the
 * exported public key); we DER-encode it, hash it, have the service sign the digest, and
 * attach the signature and its AlgorithmIdentifier. The info's cached encoding is what
 * was signed, so the PEM written afterwards verifies with `openssl req -verify`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "cli/conv.h"

/* "/CN=a/O=b" -> X509_NAME. A '/' inside a value is written "\/". */
static int
parse_subject(const char *s, X509_NAME **out)
{
	X509_NAME *nm = NULL;
	char *buf = NULL, *w, *field, *val;
	const char *p;
	int r = TT_ERR_PARSE;

	if (s == NULL || s[0] != '/' || (nm = X509_NAME_new()) == NULL ||
	    (buf = malloc(strlen(s) + 1)) == NULL)
		goto out;
	p = s + 1;
	while (*p != '\0') {
		/* Unescape one RDN into buf. */
		w = buf;
		while (*p != '\0' && *p != '/') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*w++ = *p++;
		}
		*w = '\0';
		if (*p == '/')
			p++;
		field = buf;
		if ((val = strchr(buf, '=')) == NULL || val == field)
			goto out;
		*val++ = '\0';
		if (*val == '\0')
			goto out;
		if (X509_NAME_add_entry_by_txt(nm, field, MBSTRING_UTF8, (unsigned char *)val,
					       -1, -1, 0) != 1)
			goto out;
	}
	if (X509_NAME_entry_count(nm) == 0)
		goto out;
	*out = nm;
	nm = NULL;
	r = 0;
out:
	free(buf);
	X509_NAME_free(nm);
	return r;
}

/* The X.509 signature algorithm identifier for a PSA signature algorithm. */
static int
sig_nid(tt_alg_t alg)
{
	tt_alg_t h = TT_ALG_GET_HASH(alg);

	if (TT_ALG_IS_ECDSA(alg)) {
		switch (h) {
		case TT_ALG_SHA_256: return NID_ecdsa_with_SHA256;
		case TT_ALG_SHA_384: return NID_ecdsa_with_SHA384;
		case TT_ALG_SHA_512: return NID_ecdsa_with_SHA512;
		default: return NID_undef;
		}
	}
	if (TT_ALG_IS_RSA_PKCS1V15_SIGN(alg)) {
		switch (h) {
		case TT_ALG_SHA_256: return NID_sha256WithRSAEncryption;
		case TT_ALG_SHA_384: return NID_sha384WithRSAEncryption;
		case TT_ALG_SHA_512: return NID_sha512WithRSAEncryption;
		default: return NID_undef;
		}
	}
	return NID_undef;
}

static const EVP_MD *
md_for(tt_alg_t h)
{
	switch (h) {
	case TT_ALG_SHA_256: return EVP_sha256();
	case TT_ALG_SHA_384: return EVP_sha384();
	case TT_ALG_SHA_512: return EVP_sha512();
	default: return NULL;
	}
}

int
cmd_create_csr(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	const char *subject = NULL, *out = NULL, *name;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	uint8_t *pub = NULL, *sig = NULL, *der = NULL;
	size_t pub_len = 0, sig_len = 0, der_len = 0;
	unsigned char *tbs = NULL;
	int tbs_len, nid, c, r;
	struct tt_key_attrs a;
	X509_NAME *nm = NULL;
	X509_REQ *req = NULL;
	X509_ALGOR *algor = NULL;
	ASN1_BIT_STRING *bits = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	const EVP_MD *evp;
	tt_alg_t alg, hash;
	char *mem;
	long mem_len;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			subject = optarg;
		else if (c == 'o')
			out = optarg;
		else if ((r = cli_common_opt(cli, c, optarg)) >= 0)
			return r;
	}
	if (argc - optind != 1 || subject == NULL)
		return cli_usage(cli, "expects NAME --subject \"/CN=...\"");
	name = argv[optind];
	if (parse_subject(subject, &nm) != 0)
		return cli_usage(cli, "bad --subject '%s' (expected /CN=value[/O=value...])", subject);
	if ((r = cli_connect(cli)) != 0)
		goto out;
	if ((r = cli_key_attrs(cli, name, &a)) != 0 ||
	    (r = tt_export_public_key(cli->client, name, &pub, &pub_len)) != 0) {
		r = cli_fail(cli, r, name);
		goto out;
	}
	hash = tt_cli_sign_hash_for(&a);
	alg = tt_cli_sign_alg_for(&a, hash);
	if ((nid = sig_nid(alg)) == NID_undef || (evp = md_for(hash)) == NULL) {
		r = cli_fail(cli, TT_ERR_NOT_SUPPORTED, "signature algorithm for a CSR");
		goto out;
	}
	if ((r = tt_cli_pubkey_from_psa(a.type, a.bits, pub, pub_len, &pk)) != 0) {
		r = cli_fail(cli, r, "public key");
		goto out;
	}
	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, nm) != 1 || X509_REQ_set_pubkey(req, pk) != 1) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "build request");
		goto out;
	}
	/* i2d_re_X509_REQ_tbs re-encodes and caches the info; that cache is what the
	 * PEM writer emits, so the signed bytes and the written bytes are the same. */
	if ((tbs_len = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0 ||
	    EVP_Digest(tbs, (size_t)tbs_len, md, &md_len, evp, NULL) != 1) {
		r = cli_fail(cli, TT_ERR_GENERIC, "encode request info");
		goto out;
	}
	if ((r = tt_sign_hash(cli->client, name, alg, md, md_len, &sig, &sig_len)) != 0) {
		r = cli_fail(cli, r, name);
		goto out;
	}
	if (TT_ALG_IS_ECDSA(alg)) {
		if ((r = tt_cli_ecdsa_raw_to_der(sig, sig_len, &der, &der_len)) != 0) {
			r = cli_fail(cli, r, "signature");
			goto out;
		}
	} else {
		if ((der = malloc(sig_len)) == NULL) {
			r = cli_fail(cli, TT_ERR_NO_MEMORY, "signature");
			goto out;
		}
		memcpy(der, sig, sig_len);
		der_len = sig_len;
	}
	if ((algor = X509_ALGOR_new()) == NULL || (bits = ASN1_BIT_STRING_new()) == NULL ||
	    der_len > INT32_MAX || ASN1_BIT_STRING_set(bits, der, (int)der_len) != 1) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "signature");
		goto out;
	}
	/* A signature is whole bytes: say "0 unused bits" instead of letting the encoder
	 * infer unused bits from trailing zero bits of the last byte. */
	bits->flags &= ~(long)(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	/* RSA PKCS#1 identifiers carry an explicit NULL parameter, ECDSA ones none. */
	if (X509_ALGOR_set0(algor, OBJ_nid2obj(nid), TT_ALG_IS_ECDSA(alg) ? V_ASN1_UNDEF : V_ASN1_NULL,
			    NULL) != 1 || X509_REQ_set1_signature_algo(req, algor) != 1) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "signature algorithm");
		goto out;
	}
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    (mem_len = BIO_get_mem_data(bio, &mem)) <= 0) {
		r = cli_fail(cli, TT_ERR_GENERIC, "write request");
		goto out;
	}
	if (cli->json && out == NULL) {
		char *pem = strndup(mem, (size_t)mem_len);
		if (pem == NULL) {
			r = cli_fail(cli, TT_ERR_NO_MEMORY, "output");
			goto out;
		}
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"subject\":");
		cli_json_str(stdout, subject);
		printf(",\"pem\":");
		cli_json_str(stdout, pem);
		printf("}\n");
		free(pem);
	} else if ((r = cli_write_file(out, (const uint8_t *)mem, (size_t)mem_len, false)) != 0) {
		r = cli_fail(cli, r, out != NULL ? out : "stdout");
		goto out;
	} else if (cli->json) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"out\":");
		cli_json_str(stdout, out);
		printf("}\n");
	}
	r = CLI_OK;
out:
	BIO_free(bio);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(algor);
	X509_REQ_free(req);
	X509_NAME_free(nm);
	EVP_PKEY_free(pk);
	OPENSSL_free(tbs);
	free(der);
	tt_free(sig);
	tt_free(pub);
	return r;
}
