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
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* RSASSA-PSS parameters for a PSA PSS signature: the hash, MGF1 with the same hash, and a
 * salt as long as the hash (PSA_ALG_RSA_PSS's salt length). */
static int
pss_algor(X509_ALGOR *algor, const EVP_MD *md)
{
	RSA_PSS_PARAMS *pp = NULL;
	X509_ALGOR *mgf_md = NULL;
	ASN1_STRING *mgf_param = NULL, *params = NULL;
	int r = TT_ERR_NO_MEMORY;

	if ((pp = RSA_PSS_PARAMS_new()) == NULL || (pp->hashAlgorithm = X509_ALGOR_new()) == NULL ||
	    (pp->maskGenAlgorithm = X509_ALGOR_new()) == NULL || (mgf_md = X509_ALGOR_new()) == NULL ||
	    (pp->saltLength = ASN1_INTEGER_new()) == NULL)
		goto out;
	X509_ALGOR_set_md(pp->hashAlgorithm, md);
	X509_ALGOR_set_md(mgf_md, md);
	if (ASN1_INTEGER_set(pp->saltLength, EVP_MD_get_size(md)) != 1 ||
	    ASN1_item_pack(mgf_md, ASN1_ITEM_rptr(X509_ALGOR), &mgf_param) == NULL ||
	    X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE,
			    mgf_param) != 1)
		goto out;
	mgf_param = NULL;
	if (ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), &params) == NULL ||
	    X509_ALGOR_set0(algor, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params) != 1)
		goto out;
	params = NULL;
	r = 0;
out:
	ASN1_STRING_free(mgf_param);
	ASN1_STRING_free(params);
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pp);
	return r;
}

/* subjectAltName DNS names as an extension request. */
static int
add_sans(X509_REQ *req, char *const *sans, size_t nsans)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	int r = TT_ERR_NO_MEMORY;

	if (nsans == 0)
		return 0;
	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto out;
	for (size_t i = 0; i < nsans; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

		if (g == NULL || ia5 == NULL || ASN1_STRING_set(ia5, sans[i], -1) != 1) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(ia5);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1)
		goto out;
	r = 0;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return r;
}

int
cli_csr_pem(struct cli *cli, const char *name, const X509_NAME *nm, char *const *sans,
	    size_t nsans, char **pem_out, size_t *pem_len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	uint8_t *pub = NULL, *sig = NULL, *der = NULL;
	size_t pub_len = 0, sig_len = 0, der_len = 0;
	unsigned char *tbs = NULL;
	int tbs_len, nid = NID_undef, r;
	struct tt_key_attrs a;
	X509_REQ *req = NULL;
	X509_ALGOR *algor = NULL;
	ASN1_BIT_STRING *bits = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	const EVP_MD *evp;
	tt_alg_t alg, hash;
	char *mem, *pem;
	long mem_len;

	if ((r = cli_key_attrs(cli, name, &a)) != 0 ||
	    (r = tt_export_public_key(cli->client, name, &pub, &pub_len)) != 0) {
		r = cli_fail(cli, r, name);
		goto out;
	}
	hash = tt_cli_sign_hash_for(&a);
	alg = tt_cli_sign_alg_for(&a, hash);
	if ((evp = md_for(hash)) == NULL ||
	    (!TT_ALG_IS_RSA_PSS(alg) && (nid = sig_nid(alg)) == NID_undef)) {
		r = cli_fail(cli, TT_ERR_NOT_SUPPORTED, "signature algorithm for a CSR");
		goto out;
	}
	if ((r = tt_cli_pubkey_from_psa(a.type, a.bits, pub, pub_len, &pk)) != 0) {
		r = cli_fail(cli, r, "public key");
		goto out;
	}
	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, nm) != 1 || X509_REQ_set_pubkey(req, pk) != 1 ||
	    add_sans(req, sans, nsans) != 0) {
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
	/* RSA PKCS#1 identifiers carry an explicit NULL parameter, ECDSA ones none, PSS its
	 * RSASSA-PSS-params. */
	if (TT_ALG_IS_RSA_PSS(alg))
		r = pss_algor(algor, evp);
	else
		r = X509_ALGOR_set0(algor, OBJ_nid2obj(nid), TT_ALG_IS_ECDSA(alg) ? V_ASN1_UNDEF :
				    V_ASN1_NULL, NULL) == 1 ? 0 : TT_ERR_NO_MEMORY;
	if (r != 0 || X509_REQ_set1_signature_algo(req, algor) != 1) {
		r = cli_fail(cli, TT_ERR_NO_MEMORY, "signature algorithm");
		goto out;
	}
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	/* The BIO's memory is not NUL-terminated: copy exactly its length. */
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_REQ(bio, req) != 1 ||
	    (mem_len = BIO_get_mem_data(bio, &mem)) <= 0 ||
	    (pem = malloc((size_t)mem_len + 1)) == NULL) {
		r = cli_fail(cli, TT_ERR_GENERIC, "write request");
		goto out;
	}
	memcpy(pem, mem, (size_t)mem_len);
	pem[mem_len] = '\0';
	*pem_out = pem;
	*pem_len = (size_t)mem_len;
	r = 0;
out:
	BIO_free(bio);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(algor);
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	OPENSSL_free(tbs);
	free(der);
	tt_free(sig);
	tt_free(pub);
	return r;
}

int
cmd_create_csr(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "san", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 },
	};
	const char *subject = NULL, *out = NULL, *name;
	char *sans[CLI_MAX_SANS], *pem = NULL;
	size_t nsans = 0, pem_len = 0;
	X509_NAME *nm = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			subject = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'a' && nsans < CLI_MAX_SANS)
			sans[nsans++] = optarg;
		else if (c == 'a')
			return cli_usage(cli, "at most %d --san", CLI_MAX_SANS);
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
	if ((r = cli_csr_pem(cli, name, nm, sans, nsans, &pem, &pem_len)) != 0)
		goto out;
	if (cli->json && out == NULL) {
		printf("{\"name\":");
		cli_json_str(stdout, name);
		printf(",\"subject\":");
		cli_json_str(stdout, subject);
		printf(",\"pem\":");
		cli_json_str(stdout, pem);
		printf("}\n");
	} else if ((r = cli_write_file(out, (const uint8_t *)pem, pem_len, false)) != 0) {
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
	X509_NAME_free(nm);
	free(pem);
	return r;
}
