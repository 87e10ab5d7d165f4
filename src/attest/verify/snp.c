/*
 * AMD SEV-SNP attestation reports (SEV Secure Nested Paging Firmware ABI, report versions
 * 2 to 5), verified offline:
 *   ARK (built-in anchor, self-signed) -> ASK (VCEK) or ASVK (VLEK) -> VCEK/VLEK
 *   -> ECDSA P-384/SHA-384 signature over the report's first 0x2A0 bytes
 *   -> the VCEK/VLEK's TCB extensions equal reported_tcb, a VCEK's hwID equals chip_id
 *   -> report_data carries the binding, host_data the expected init data.
 * The processor generation (Milan, Genoa, Turin) comes from the report's CPUID fields
 * (version 3 on) and must agree with the chain that verifies; a version 2 report takes the
 * generation of the chain. Turin lays TCB_VERSION out differently and adds an FMC SPL.
 *
 * Evidence: the report's 1184 bytes. The VCEK/VLEK comes from trust->collateral (one DER
 * certificate, PEM certificates, or the GUID certificate table of an extended report or of
 * configfs-tsm's auxblob) or from trust->collateral_dir ("vcek.der", "vlek.der"); a CRL
 * from AMD's KDS may be given there as "crl.der" or "crl.pem".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "memo.h"
#include "snp.h"
#include "turtle/error.h"
#include "util/buf.h"
#include "verify.h"

#define SNP_SIGNED_LEN 0x2A0u
#define SNP_KEY_VCEK 0u
#define SNP_KEY_VLEK 1u
#define SNP_KEY_NONE 7u
#define SNP_MAX_TABLE 32u

enum snp_gen { GEN_UNKNOWN = -1, GEN_MILAN, GEN_GENOA, GEN_TURIN, GEN_COUNT };

static const char *const gen_name[GEN_COUNT] = { "milan", "genoa", "turin" };
static const char *const gen_anchor[GEN_COUNT] = {
	"amd/milan.pem", "amd/genoa.pem", "amd/turin.pem",
};

/* AMD's OIDs on VCEK/VLEK certificates (Versioned Chip Endorsement Key specification). */
#define OID_BL_SPL "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID "1.3.6.1.4.1.3704.1.4"

/* ---- parsing ---- */

static void
tcb_split(uint64_t raw, bool turin, struct tt_snp_tcb *t)
{
	memset(t, 0, sizeof(*t));
	t->raw = raw;
	if (turin) {
		t->has_fmc = true;
		t->fmc = (uint8_t)raw;
		t->bootloader = (uint8_t)(raw >> 8);
		t->tee = (uint8_t)(raw >> 16);
		t->snp = (uint8_t)(raw >> 24);
	} else {
		t->bootloader = (uint8_t)raw;
		t->tee = (uint8_t)(raw >> 8);
		t->snp = (uint8_t)(raw >> 48);
	}
	t->microcode = (uint8_t)(raw >> 56);
}

int
tt_snp_report_parse(const uint8_t *p, size_t len, struct tt_snp_report *out)
{
	struct tt_snp_report r;
	struct tt_buf b;
	uint8_t res0[4], b3[3];
	int e;

	memset(&r, 0, sizeof(r));
	if (p == NULL || out == NULL)
		return TT_ERR_INVALID_ARGUMENT;
	if (len != TT_SNP_REPORT_LEN)
		return len < TT_SNP_REPORT_LEN ? TT_ERR_TRUNCATED : TT_ERR_TRAILING;
	tt_buf_init_ro(&b, p, len);
	if ((e = tt_buf_get_u32le(&b, &r.version)) != 0 ||
	    (e = tt_buf_get_u32le(&b, &r.guest_svn)) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.policy)) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.family_id, sizeof(r.family_id))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.image_id, sizeof(r.image_id))) != 0 ||
	    (e = tt_buf_get_u32le(&b, &r.vmpl)) != 0 ||
	    (e = tt_buf_get_u32le(&b, &r.sig_algo)) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.current_tcb_raw)) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.plat_info)) != 0 ||
	    (e = tt_buf_get_u32le(&b, &r.flags)) != 0 ||
	    (e = tt_buf_get_bytes(&b, res0, sizeof(res0))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.report_data, sizeof(r.report_data))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.measurement, sizeof(r.measurement))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.host_data, sizeof(r.host_data))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.id_key_digest, sizeof(r.id_key_digest))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.author_key_digest, sizeof(r.author_key_digest))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.report_id, sizeof(r.report_id))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.report_id_ma, sizeof(r.report_id_ma))) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.reported_tcb_raw)) != 0 ||
	    (e = tt_buf_get_bytes(&b, b3, sizeof(b3))) != 0 ||
	    (e = tt_buf_skip(&b, 0x1A0 - 0x18B)) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.chip_id, sizeof(r.chip_id))) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.committed_tcb_raw)) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.current_ver, sizeof(r.current_ver))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.committed_ver, sizeof(r.committed_ver))) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.launch_tcb_raw)) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.launch_mit_vector)) != 0 ||
	    (e = tt_buf_get_u64le(&b, &r.current_mit_vector)) != 0 ||
	    (e = tt_buf_skip(&b, SNP_SIGNED_LEN - 0x208)) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.sig_r, sizeof(r.sig_r))) != 0 ||
	    (e = tt_buf_get_bytes(&b, r.sig_s, sizeof(r.sig_s))) != 0 ||
	    (e = tt_buf_skip(&b, tt_buf_avail(&b))) != 0)
		return e;
	if (r.version < 2 || r.version > 5)
		return TT_ERR_NOT_SUPPORTED;
	/* CPUID fields exist from version 3, mitigation vectors from version 5: in older
	 * reports those bytes are reserved and yield no claim. */
	r.has_cpuid = r.version >= 3;
	if (r.has_cpuid) {
		r.cpuid_fam = b3[0];
		r.cpuid_mod = b3[1];
		r.cpuid_step = b3[2];
	}
	r.has_mit = r.version >= 5;
	if (!r.has_mit)
		r.launch_mit_vector = r.current_mit_vector = 0;
	*out = r;
	return 0;
}

/* Generation from CPUID family/model (AMD's published model ranges). */
static enum snp_gen
gen_from_cpuid(const struct tt_snp_report *r)
{
	if (!r->has_cpuid)
		return GEN_UNKNOWN;
	if (r->cpuid_fam == 0x19) {
		if (r->cpuid_mod <= 0x0F)
			return GEN_MILAN;
		if ((r->cpuid_mod >= 0x10 && r->cpuid_mod <= 0x1F) ||
		    (r->cpuid_mod >= 0xA0 && r->cpuid_mod <= 0xAF))
			return GEN_GENOA;
	} else if (r->cpuid_fam == 0x1A && r->cpuid_mod <= 0x11) {
		return GEN_TURIN;
	}
	return GEN_UNKNOWN;
}

int
tt_snp_generation(const struct tt_snp_report *r)
{
	return r != NULL ? (int)gen_from_cpuid(r) : -1;
}

/* ---- certificates ---- */

/* The GUIDs of AMD's certificate table (GHCB specification, extended guest request). */
static const struct {
	enum tt_snp_cert_kind kind;
	uint8_t guid[16];
} snp_guids[] = {
	{ TT_SNP_CERT_VCEK, { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd } },
	{ TT_SNP_CERT_VLEK, { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	    0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 } },
	{ TT_SNP_CERT_ASK, { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	    0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 } },
	{ TT_SNP_CERT_ARK, { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	    0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae } },
};

/* A GUID as text (big-endian fields) or as EFI_GUID (first three fields little-endian). */
static bool
guid_eq(const uint8_t *g, const uint8_t want[16])
{
	static const uint8_t le[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	bool be = memcmp(g, want, 16) == 0, efi = true;

	for (int i = 0; i < 16; i++)
		efi = efi && g[i] == want[le[i]];
	return be || efi;
}

/*
 * The length of the DER SEQUENCE (a certificate) at p, from its header alone, within n
 * bytes; only zeros may follow it (the table's length may round a certificate up). The
 * certificate itself is parsed by whoever uses it (push_der remembers parsed VCEKs, so
 * walking the table must not parse them again).
 */
static int
der_cert_len(const uint8_t *p, size_t n, size_t *len)
{
	struct tt_buf b;
	uint8_t tag, l0, x;
	size_t body = 0, hdr;
	int e;

	tt_buf_init_ro(&b, p, n);
	if ((e = tt_buf_get_u8(&b, &tag)) != 0 || (e = tt_buf_get_u8(&b, &l0)) != 0)
		return e;
	if (tag != 0x30 || l0 == 0x80 || l0 > 0x83)
		return TT_ERR_DATA_INVALID;   /* not a SEQUENCE, indefinite, or over 16 MiB */
	if (l0 < 0x80) {
		body = l0;
	} else {
		for (unsigned i = 0; i < (unsigned)(l0 & 0x7f); i++) {
			if ((e = tt_buf_get_u8(&b, &x)) != 0)
				return e;
			body = body << 8 | x;
		}
	}
	hdr = n - tt_buf_avail(&b);
	if (body > tt_buf_avail(&b))
		return TT_ERR_TRUNCATED;
	for (size_t i = hdr + body; i < n; i++)
		if (p[i] != 0)
			return TT_ERR_DATA_INVALID;
	*len = hdr + body;
	return 0;
}

static int
push_der(STACK_OF(X509) *sk, const uint8_t *p, size_t n)
{
	X509 *c;
	int e;

	/* The table's length may round up the certificate; nothing else may follow it. A
	 * VCEK seen before is not parsed again: parsing costs a sixth of its report's
	 * signature. */
	if ((e = tt_verify_memo_x509(p, n, true, &c)) != 0)
		return e == TT_ERR_LIMIT ? TT_ERR_DATA_INVALID : e;
	if (!sk_X509_push(sk, c)) {
		X509_free(c);
		return TT_ERR_NO_MEMORY;
	}
	return 0;
}

/*
 * AMD's certificate table: entries {GUID, offset u32le, length u32le} ended by an all-zero
 * entry, offsets from the table's start. Every entry must lie inside the table; entries
 * of the four known GUIDs must hold one DER SEQUENCE each (trailing zero padding cut).
 */
int
tt_snp_cert_table_walk(const uint8_t *p, size_t len, struct tt_snp_cert_entry *ents,
    size_t max, size_t *n_out)
{
	struct tt_buf b;
	size_t k = 0;
	int e;

	tt_buf_init_ro(&b, p, len);
	for (unsigned n = 0;; n++) {
		enum tt_snp_cert_kind kind = TT_SNP_CERT_OTHER;
		const uint8_t *g;
		uint32_t off, l;
		size_t dl;
		bool zero = true;

		if (n > SNP_MAX_TABLE)
			return TT_ERR_LIMIT;
		if ((e = tt_buf_get_ref(&b, 16, &g)) != 0 || (e = tt_buf_get_u32le(&b, &off)) != 0 ||
		    (e = tt_buf_get_u32le(&b, &l)) != 0)
			return e;
		for (int i = 0; i < 16; i++)
			zero = zero && g[i] == 0;
		if (zero && off == 0 && l == 0)
			break;
		if (off > len || l > len - off)
			return TT_ERR_TRUNCATED;
		for (size_t i = 0; i < sizeof(snp_guids) / sizeof(snp_guids[0]); i++)
			if (guid_eq(g, snp_guids[i].guid))
				kind = snp_guids[i].kind;
		if (kind == TT_SNP_CERT_OTHER)
			continue;
		if ((e = der_cert_len(p + off, l, &dl)) != 0)
			return e;
		if (k == max)
			return TT_ERR_LIMIT;
		ents[k].kind = kind;
		ents[k].der = p + off;
		ents[k].len = dl;
		k++;
	}
	*n_out = k;
	return 0;
}

/* The VCEK, VLEK and ASK of the table (an ARK in it is never trusted: the anchor is
 * built in). */
int
tt_snp_cert_table_parse(const uint8_t *p, size_t len, STACK_OF(X509) *out)
{
	struct tt_snp_cert_entry ents[SNP_MAX_TABLE + 1];
	size_t n;
	int e;

	if ((e = tt_snp_cert_table_walk(p, len, ents, sizeof(ents) / sizeof(ents[0]), &n)) != 0)
		return e;
	for (size_t i = 0; i < n; i++)
		if (ents[i].kind != TT_SNP_CERT_ARK && (e = push_der(out, ents[i].der,
		    ents[i].len)) != 0)
			return e;
	return 0;
}

/* Certificates handed in with the evidence or found in the collateral directory. */
static int
collect_certs(const struct tt_verify_trust *t, STACK_OF(X509) **out)
{
	static const char *const files[] = { "vcek.der", "vlek.der", "vcek.pem", "vlek.pem" };
	STACK_OF(X509) *sk = sk_X509_new_null(), *more = NULL;
	uint8_t *d = NULL;
	size_t n;
	int e = TT_ERR_NO_MEMORY;

	if (sk == NULL)
		goto out;
	if (t != NULL && t->collateral != NULL && t->collateral_len > 0) {
		const uint8_t *c = t->collateral;
		size_t cl = t->collateral_len;

		if (cl >= 2 && c[0] == 0x30) {
			if ((e = push_der(sk, c, cl)) != 0)
				goto out;
		} else if (tt_verify_certs_parse(c, cl, &more) == 0) {
			while (sk_X509_num(more) > 0)
				if (!sk_X509_push(sk, sk_X509_shift(more)))
					goto out;
		} else if ((e = tt_snp_cert_table_parse(c, cl, sk)) != 0) {
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		e = tt_verify_collateral_file(t, files[i], &d, &n);
		if (e == TT_ERR_DOES_NOT_EXIST)
			continue;
		if (e != 0)
			goto out;
		sk_X509_pop_free(more, X509_free);
		more = NULL;
		if ((e = tt_verify_certs_parse(d, n, &more)) != 0)
			goto out;
		while (sk_X509_num(more) > 0)
			if (!sk_X509_push(sk, sk_X509_shift(more))) {
				e = TT_ERR_NO_MEMORY;
				goto out;
			}
		free(d);
		d = NULL;
	}
	*out = sk;
	sk = NULL;
	e = 0;
out:
	free(d);
	sk_X509_pop_free(more, X509_free);
	sk_X509_pop_free(sk, X509_free);
	return e;
}

static bool
cn_is(X509 *c, const char *want)
{
	char cn[64];

	tt_verify_x509_cn(c, cn, sizeof(cn));
	return strcmp(cn, want) == 0;
}

/* The ARK, ASK and ASVK of one generation's anchor file, each identified by its name. */
struct vendor {
	STACK_OF(X509) *all;
	X509 *ark, *ask, *asvk;
	bool borrowed;            /* the built-in set, parsed once: not freed */
};

static void
vendor_free(struct vendor *v)
{
	if (!v->borrowed)
		sk_X509_pop_free(v->all, X509_free);
	memset(v, 0, sizeof(*v));
}

static int
vendor_parse(const struct tt_verify_trust *t, enum snp_gen g, struct vendor *v)
{
	static const char *const ark[] = { "ARK-Milan", "ARK-Genoa", "ARK-Turin" };
	static const char *const ask[] = { "SEV-Milan", "SEV-Genoa", "SEV-Turin" };
	static const char *const asvk[] = { "SEV-VLEK-Milan", "SEV-VLEK-Genoa", "SEV-VLEK-Turin" };
	uint8_t *d = NULL;
	size_t n;
	int e;

	memset(v, 0, sizeof(*v));
	if ((e = tt_verify_anchor(t, gen_anchor[g], &d, &n)) != 0)
		return e;
	e = tt_verify_certs_parse(d, n, &v->all);
	free(d);
	if (e != 0)
		return e;
	for (int i = 0; i < sk_X509_num(v->all); i++) {
		X509 *c = sk_X509_value(v->all, i);

		if (cn_is(c, ark[g]))
			v->ark = c;
		else if (cn_is(c, ask[g]))
			v->ask = c;
		else if (cn_is(c, asvk[g]))
			v->asvk = c;
	}
	if (v->ark == NULL) {
		vendor_free(v);
		return TT_ERR_DOES_NOT_EXIST;
	}
	/* The ARK is trusted as given, but only whole: its own signature must hold (OpenSSL
	 * does not check a trust anchor's self-signature in a partial chain). */
	if (X509_verify(v->ark, X509_get0_pubkey(v->ark)) != 1) {
		ERR_clear_error();
		vendor_free(v);
		return TT_ERR_INVALID_SIGNATURE;
	}
	return 0;
}

/* The built-in anchors are parsed (and the ARKs' self-signatures checked) once per
 * process; an anchors directory is read on every call, so a replaced file takes effect. */
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static struct vendor builtin[GEN_COUNT];
static int builtin_err[GEN_COUNT];

static void
builtin_init(void)
{
	for (int i = 0; i < GEN_COUNT; i++)
		if ((builtin_err[i] = vendor_parse(NULL, (enum snp_gen)i, &builtin[i])) == 0)
			builtin[i].borrowed = true;
}

static int
vendor_load(const struct tt_verify_trust *t, enum snp_gen g, struct vendor *v)
{
	if (t != NULL && t->anchors_dir != NULL)
		return vendor_parse(t, g, v);
	pthread_once(&builtin_once, builtin_init);
	if (builtin_err[g] != 0)
		return builtin_err[g];
	*v = builtin[g];
	return 0;
}

/*
 * Chains that verified are remembered (memo.h) by the SHA-256 of ARK, intermediate and key
 * certificate, with the window in which all three are valid: a report signed by a VCEK
 * seen before costs its own signature, not the three RSA-4096 verifications of its chain
 * again. A time outside the window verifies afresh.
 */
static int
chain_key(int gen, X509 *ark, X509 *mid, X509 *vek, uint8_t key[32], int64_t *from,
    int64_t *to)
{
	static const char *const tag[] = { "snp-chain-milan", "snp-chain-genoa",
		"snp-chain-turin" };
	X509 *c[3] = { ark, mid, vek };

	if (gen < 0 || (size_t)gen >= sizeof(tag) / sizeof(tag[0]))
		return TT_ERR_INVALID_ARGUMENT;
	return tt_verify_memo_certs_key(tag[gen], c, 3, key, from, to);
}

/* A CRL from AMD's KDS: signed by the ARK, current at `now`; refuses listed certificates. */
static int
check_crl(const struct tt_verify_in *in, struct tt_verify_result *res, X509 *ark,
    X509 *inter, X509 *vek)
{
	STACK_OF(X509_CRL) *crls = NULL;
	uint8_t *d = NULL;
	size_t n;
	time_t now = (time_t)in->now;
	int e;

	e = tt_verify_collateral_file(in->trust, "crl.der", &d, &n);
	if (e == TT_ERR_DOES_NOT_EXIST)
		e = tt_verify_collateral_file(in->trust, "crl.pem", &d, &n);
	if (e == TT_ERR_DOES_NOT_EXIST) {
		if (in->flags & TT_VERIFY_F_REQUIRE_CRL)
			return tt_verify_fail(res, TT_ERR_NOT_PERMITTED,
			    "a CRL is required and none was supplied");
		return tt_verify_link_skipped(res, "crl", "AMD KDS CRL", "none supplied");
	}
	if (e != 0)
		return tt_verify_fail(res, e, "cannot read the CRL");
	e = tt_verify_crls_parse(d, n, &crls);
	free(d);
	if (e != 0)
		return tt_verify_fail(res, e, "malformed CRL");
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(crls, i);
		X509_REVOKED *rv = NULL;
		EVP_PKEY *k = X509_get0_pubkey(ark);

		if (k == NULL || X509_CRL_verify(c, k) != 1 ||
		    X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(ark)) != 0) {
			e = tt_verify_link(res, "crl", "AMD KDS CRL", false, "not signed by the ARK");
			e = e != 0 ? e : tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
			    "CRL is not signed by the ARK");
			goto out;
		}
		if (X509_cmp_time(X509_CRL_get0_lastUpdate(c), &now) > 0 ||
		    X509_CRL_get0_nextUpdate(c) == NULL ||
		    X509_cmp_time(X509_CRL_get0_nextUpdate(c), &now) < 0) {
			e = tt_verify_link(res, "crl", "AMD KDS CRL", false, "not current");
			e = e != 0 ? e : tt_verify_fail(res, TT_ERR_NOT_PERMITTED,
			    "CRL is not current at the given time");
			goto out;
		}
		if (X509_CRL_get0_by_cert(c, &rv, inter) == 1 ||
		    X509_CRL_get0_by_cert(c, &rv, vek) == 1) {
			e = tt_verify_link(res, "crl", "AMD KDS CRL", false, "certificate revoked");
			e = e != 0 ? e : tt_verify_fail(res, TT_ERR_NOT_PERMITTED,
			    "a certificate of the chain is revoked");
			goto out;
		}
	}
	e = tt_verify_link(res, "crl", "AMD KDS CRL", true, "no certificate of the chain listed");
out:
	ERR_clear_error();
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return e;
}

/* AMD's OIDs as objects, made once (OBJ_txt2obj is a parse per call otherwise). */
static const char *const oid_text[] = { OID_BL_SPL, OID_TEE_SPL, OID_SNP_SPL, OID_UCODE_SPL,
	OID_FMC_SPL, OID_HWID };
static ASN1_OBJECT *oid_obj[6];
static pthread_once_t oid_once = PTHREAD_ONCE_INIT;

static void
oid_init(void)
{
	for (size_t i = 0; i < 6; i++)
		oid_obj[i] = OBJ_txt2obj(oid_text[i], 1);
}

/* A borrowed object for one of oid_text, or NULL. */
static ASN1_OBJECT *
oid_get(const char *oid)
{
	pthread_once(&oid_once, oid_init);
	for (size_t i = 0; i < 6; i++)
		if (strcmp(oid_text[i], oid) == 0)
			return oid_obj[i];
	return NULL;
}

/* The value of the AMD extension oid, which c must carry exactly once. */
static int
ext_once(X509 *c, const char *oid, const ASN1_OCTET_STRING **out)
{
	ASN1_OBJECT *o = oid_get(oid);
	int at;

	if (o == NULL)
		return TT_ERR_NO_MEMORY;
	at = X509_get_ext_by_OBJ(c, o, -1);
	if (at < 0 || X509_get_ext_by_OBJ(c, o, at) >= 0)
		return TT_ERR_DATA_INVALID;
	*out = X509_EXTENSION_get_data(X509_get_ext(c, at));
	return 0;
}

/* An AMD extension holding a DER INTEGER 0..255, present exactly once. */
static int
ext_int(X509 *c, const char *oid, uint8_t *out)
{
	const unsigned char *p;
	ASN1_INTEGER *i = NULL;
	const ASN1_OCTET_STRING *v;
	int64_t x;
	int e;

	if ((e = ext_once(c, oid, &v)) != 0)
		return e;
	e = TT_ERR_DATA_INVALID;
	p = ASN1_STRING_get0_data(v);
	if ((i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(v))) == NULL ||
	    p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
	    ASN1_INTEGER_get_int64(&x, i) != 1 || x < 0 || x > 255)
		goto out;
	*out = (uint8_t)x;
	e = 0;
out:
	ERR_clear_error();
	ASN1_INTEGER_free(i);
	return e;
}

/* hwID: 64 bytes, as a DER OCTET STRING or (older VCEKs) the raw bytes. */
static int
ext_hwid(X509 *c, uint8_t out[64])
{
	const ASN1_OCTET_STRING *v;
	ASN1_OCTET_STRING *s = NULL;
	const unsigned char *p;
	int e;

	if ((e = ext_once(c, OID_HWID, &v)) != 0)
		return e;
	e = TT_ERR_DATA_INVALID;
	if (ASN1_STRING_length(v) == 64) {
		memcpy(out, ASN1_STRING_get0_data(v), 64);
		e = 0;
		goto out;
	}
	p = ASN1_STRING_get0_data(v);
	if ((s = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(v))) == NULL ||
	    p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
	    ASN1_STRING_length(s) != 64)
		goto out;
	memcpy(out, ASN1_STRING_get0_data(s), 64);
	e = 0;
out:
	ERR_clear_error();
	ASN1_OCTET_STRING_free(s);
	return e;
}

/* The VCEK/VLEK's TCB (and a VCEK's hwID) must be the report's: a key derived for other
 * firmware or another chip did not sign for this one. */
static int
check_vek_ext(struct tt_verify_result *res, X509 *vek, bool vcek,
    const struct tt_snp_report *r, const struct tt_snp_tcb *tcb)
{
	static const char *const oids[] = { OID_BL_SPL, OID_TEE_SPL, OID_SNP_SPL, OID_UCODE_SPL,
		OID_FMC_SPL };
	static const char *const names[] = { "bootloader", "tee", "snp", "microcode", "fmc" };
	const uint8_t want[] = { tcb->bootloader, tcb->tee, tcb->snp, tcb->microcode, tcb->fmc };
	uint8_t hw[64], v;
	size_t n = tcb->has_fmc ? 5 : 4;
	int e;

	for (size_t i = 0; i < n; i++) {
		if (ext_int(vek, oids[i], &v) != 0)
			return tt_verify_fail(res, TT_ERR_DATA_INVALID,
			    "endorsement key has no usable %s SPL extension", names[i]);
		if (v != want[i]) {
			if ((e = tt_verify_link(res, "key", "endorsement key TCB", false,
			    names[i])) != 0)
				return e;
			return tt_verify_fail(res, TT_ERR_NOT_PERMITTED,
			    "reported_tcb.%s %u differs from the endorsement key's %u",
			    names[i], want[i], v);
		}
	}
	if ((e = tt_verify_link(res, "key", "endorsement key TCB", true,
	    "SPLs equal reported_tcb")) != 0)
		return e;
	if (!vcek)
		return 0;
	if (ext_hwid(vek, hw) != 0)
		return tt_verify_fail(res, TT_ERR_DATA_INVALID, "VCEK has no usable hwID extension");
	if (CRYPTO_memcmp(hw, r->chip_id, 64) != 0) {
		if ((e = tt_verify_link(res, "key", "VCEK hwID", false, "differs from chip_id")) != 0)
			return e;
		return tt_verify_fail(res, TT_ERR_NOT_PERMITTED, "VCEK hwID differs from chip_id");
	}
	return tt_verify_link(res, "key", "VCEK hwID", true, "equals chip_id");
}

/* ECDSA P-384 over SHA-384 of the signed part; r and s are 72-byte little-endian. */
static int
check_signature(const uint8_t *rep, const struct tt_snp_report *r, X509 *vek)
{
	EVP_PKEY *k = X509_get0_pubkey(vek);
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	char group[32];
	int dl, e = TT_ERR_INVALID_SIGNATURE;

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), NULL) || strcmp(group, "secp384r1") != 0)
		goto out;
	if ((br = BN_lebin2bn(r->sig_r, sizeof(r->sig_r), NULL)) == NULL ||
	    (bs = BN_lebin2bn(r->sig_s, sizeof(r->sig_s), NULL)) == NULL ||
	    (sig = ECDSA_SIG_new()) == NULL) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (!ECDSA_SIG_set0(sig, br, bs)) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	br = bs = NULL;
	if ((dl = i2d_ECDSA_SIG(sig, &der)) <= 0 || (md = EVP_MD_CTX_new()) == NULL) {
		e = TT_ERR_NO_MEMORY;
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, k) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)dl, rep, SNP_SIGNED_LEN) == 1)
		e = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	BN_free(br);
	BN_free(bs);
	return e;
}

/* ---- claims ---- */

static json_t *
tcb_json(const struct tt_snp_tcb *t)
{
	return json_pack("{s:o,s:i,s:i,s:i,s:i}",
	    "fmc", t->has_fmc ? json_integer(t->fmc) : json_null(),
	    "bootloader", t->bootloader, "tee", t->tee, "snp", t->snp,
	    "microcode", t->microcode);
}

#define BIT(x, n) (((x) >> (n)) & 1u)

static json_t *
opt_int(bool has, json_int_t v)
{
	return has ? json_integer(v) : json_null();
}

/* Trustee's SNP claims (deps/verifier/src/snp: flat names kept for its older policies, the
 * report under "evidence" nested as its attestation-service docs/tcb_claims.md lists). */
int
tt_snp_claims(const struct tt_snp_report *r, int gen, json_t **out)
{
	struct tt_snp_tcb cur, rep, com, lau;
	bool turin = gen == GEN_TURIN;
	json_t *ev = NULL, *c = NULL;
	uint64_t p = r->policy, pi = r->plat_info;

	tcb_split(r->current_tcb_raw, turin, &cur);
	tcb_split(r->reported_tcb_raw, turin, &rep);
	tcb_split(r->committed_tcb_raw, turin, &com);
	tcb_split(r->launch_tcb_raw, turin, &lau);
	ev = json_pack("{s:I,s:I,s:{s:I,s:I,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b},"
	    "s:o,s:o,s:I,s:I,s:o,"
	    "s:{s:b,s:b,s:b,s:b,s:b,s:b,s:b},s:{s:b,s:b,s:I},"
	    "s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "version", (json_int_t)r->version, "guest_svn", (json_int_t)r->guest_svn,
	    "policy",
	    "abi_major", (json_int_t)((p >> 8) & 0xff), "abi_minor", (json_int_t)(p & 0xff),
	    "smt_allowed", BIT(p, 16), "migrate_ma_allowed", BIT(p, 18),
	    "debug_allowed", BIT(p, 19), "single_socket_required", BIT(p, 20),
	    "cxl_allowed", BIT(p, 21), "mem_aes_256_xts", BIT(p, 22), "rapl_dis", BIT(p, 23),
	    "ciphertext_hiding", BIT(p, 24), "page_swap_disabled", BIT(p, 25),
	    "family_id", tt_verify_hex(r->family_id, sizeof(r->family_id)),
	    "image_id", tt_verify_hex(r->image_id, sizeof(r->image_id)),
	    "vmpl", (json_int_t)r->vmpl, "sig_algo", (json_int_t)r->sig_algo,
	    "current_tcb", tcb_json(&cur),
	    "plat_info",
	    "smt_enabled", BIT(pi, 0), "tsme_enabled", BIT(pi, 1), "ecc_enabled", BIT(pi, 2),
	    "rapl_disabled", BIT(pi, 3), "ciphertext_hiding_enabled", BIT(pi, 4),
	    "alias_check_complete", BIT(pi, 5), "tio_enabled", BIT(pi, 7),
	    "key_info",
	    "author_key_en", BIT(r->flags, 0), "mask_chip_key", BIT(r->flags, 1),
	    "signing_key", (json_int_t)((r->flags >> 2) & 7),
	    "measurement", tt_verify_hex(r->measurement, sizeof(r->measurement)),
	    "report_data", tt_verify_hex(r->report_data, sizeof(r->report_data)),
	    "host_data", tt_verify_hex(r->host_data, sizeof(r->host_data)),
	    "id_key_digest", tt_verify_hex(r->id_key_digest, sizeof(r->id_key_digest)),
	    "author_key_digest", tt_verify_hex(r->author_key_digest,
	    sizeof(r->author_key_digest)),
	    "report_id", tt_verify_hex(r->report_id, sizeof(r->report_id)),
	    "report_id_ma", tt_verify_hex(r->report_id_ma, sizeof(r->report_id_ma)),
	    "reported_tcb", tcb_json(&rep));
	if (ev == NULL)
		goto nomem;
	if (json_object_set_new(ev, "cpu_id_fam_id", opt_int(r->has_cpuid, r->cpuid_fam)) ||
	    json_object_set_new(ev, "cpu_id_mod_id", opt_int(r->has_cpuid, r->cpuid_mod)) ||
	    json_object_set_new(ev, "cpu_id_step", opt_int(r->has_cpuid, r->cpuid_step)) ||
	    json_object_set_new(ev, "chip_id", tt_verify_hex(r->chip_id, sizeof(r->chip_id))) ||
	    json_object_set_new(ev, "committed_tcb", tcb_json(&com)) ||
	    json_object_set_new(ev, "current", json_pack("{s:i,s:i,s:i}",
	    "major", r->current_ver[2], "minor", r->current_ver[1],
	    "build", r->current_ver[0])) ||
	    json_object_set_new(ev, "committed", json_pack("{s:i,s:i,s:i}",
	    "major", r->committed_ver[2], "minor", r->committed_ver[1],
	    "build", r->committed_ver[0])) ||
	    json_object_set_new(ev, "launch_tcb", tcb_json(&lau)) ||
	    /* 64-bit vectors: as JSON integers they would lose their top bit; as Trustee's
	     * serde does, the value, but only when it fits. */
	    json_object_set_new(ev, "launch_mit_vector", r->has_mit &&
	    r->launch_mit_vector <= INT64_MAX ? json_integer((json_int_t)r->launch_mit_vector) :
	    json_null()) ||
	    json_object_set_new(ev, "current_mit_vector", r->has_mit &&
	    r->current_mit_vector <= INT64_MAX ?
	    json_integer((json_int_t)r->current_mit_vector) : json_null()))
		goto nomem;
	c = json_pack("{s:o,s:o,s:o,s:I,s:I,s:b,s:b,s:b,s:b,s:i,s:i,s:i,s:i,s:b,s:b,s:s,s:O}",
	    "init_data", tt_verify_hex(r->host_data, sizeof(r->host_data)),
	    "report_data", tt_verify_hex(r->report_data, sizeof(r->report_data)),
	    "measurement", tt_verify_hex(r->measurement, sizeof(r->measurement)),
	    "policy_abi_major", (json_int_t)((p >> 8) & 0xff),
	    "policy_abi_minor", (json_int_t)(p & 0xff),
	    "policy_smt_allowed", BIT(p, 16), "policy_migrate_ma", BIT(p, 18),
	    "policy_debug_allowed", BIT(p, 19), "policy_single_socket", BIT(p, 20),
	    "reported_tcb_bootloader", rep.bootloader, "reported_tcb_tee", rep.tee,
	    "reported_tcb_snp", rep.snp, "reported_tcb_microcode", rep.microcode,
	    "platform_tsme_enabled", BIT(pi, 1), "platform_smt_enabled", BIT(pi, 0),
	    "generation", gen >= 0 && gen < GEN_COUNT ? gen_name[gen] : "unknown",
	    "evidence", ev);
	if (c == NULL)
		goto nomem;
	json_decref(ev);
	*out = c;
	return 0;
nomem:
	json_decref(ev);
	return TT_ERR_NO_MEMORY;
}

/* ---- the verifier ---- */

static int
snp_verify(const struct tt_verify_in *in, struct tt_verify_result *res)
{
	struct tt_snp_report r;
	struct tt_snp_tcb tcb;
	struct vendor v = { 0 };
	STACK_OF(X509) *certs = NULL, *anchors = NULL, *inter = NULL;
	X509 *vek = NULL, *mid = NULL;
	enum snp_gen want, g = GEN_UNKNOWN;
	uint8_t mkey[32];
	int64_t mfrom, mto;
	unsigned key;
	bool vcek, cached = false;
	const char *why = NULL, *vek_cn;
	char fp[65], detail[160];
	int e;

	if ((e = tt_snp_report_parse(in->evidence, in->evidence_len, &r)) != 0)
		return tt_verify_fail(res, e, e == TT_ERR_NOT_SUPPORTED ?
		    "SNP report version not supported (2 to 5 are)" :
		    "SNP report is not %u bytes", TT_SNP_REPORT_LEN);
	key = (r.flags >> 2) & 7;
	if (r.sig_algo != 1)
		return tt_verify_fail(res, TT_ERR_NOT_SUPPORTED,
		    "signature algorithm %u is not ECDSA P-384 with SHA-384", r.sig_algo);
	if (key == SNP_KEY_NONE || BIT(r.flags, 1))
		return tt_verify_fail(res, TT_ERR_INVALID_SIGNATURE,
		    "the report is not signed (no signing key / masked chip key)");
	if (key != SNP_KEY_VCEK && key != SNP_KEY_VLEK)
		return tt_verify_fail(res, TT_ERR_NOT_SUPPORTED, "signing key %u unknown", key);
	vcek = key == SNP_KEY_VCEK;
	vek_cn = vcek ? "SEV-VCEK" : "SEV-VLEK";

	if ((e = collect_certs(in->trust, &certs)) != 0)
		return tt_verify_fail(res, e, "malformed certificates in the collateral");
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (cn_is(sk_X509_value(certs, i), vek_cn)) {
			vek = sk_X509_value(certs, i);
			break;
		}
	if (vek == NULL) {
		e = tt_verify_fail(res, TT_ERR_DOES_NOT_EXIST, "no %s certificate supplied",
		    vcek ? "VCEK" : "VLEK");
		goto out;
	}

	/* Which ARK: the report's CPUID names the generation (v3+); a v2 report takes the
	 * first generation whose chain verifies the key. */
	want = gen_from_cpuid(&r);
	if (r.has_cpuid && want == GEN_UNKNOWN) {
		e = tt_verify_fail(res, TT_ERR_NOT_SUPPORTED,
		    "processor family 0x%02x model 0x%02x is not Milan, Genoa or Turin",
		    r.cpuid_fam, r.cpuid_mod);
		goto out;
	}
	e = TT_ERR_INVALID_SIGNATURE;
	for (int i = 0; i < GEN_COUNT; i++) {
		if (want != GEN_UNKNOWN && i != (int)want)
			continue;
		vendor_free(&v);
		sk_X509_free(anchors);
		sk_X509_free(inter);
		anchors = inter = NULL;
		if ((e = vendor_load(in->trust, (enum snp_gen)i, &v)) != 0) {
			if (e == TT_ERR_DOES_NOT_EXIST)
				continue;
			e = tt_verify_fail(res, e, "cannot load the %s anchors%s", gen_name[i],
			    e == TT_ERR_INVALID_SIGNATURE ? ": ARK self-signature fails" : "");
			goto out;
		}
		mid = vcek ? v.ask : v.asvk;
		if (mid == NULL)
			continue;
		if ((anchors = sk_X509_new_null()) == NULL || !sk_X509_push(anchors, v.ark) ||
		    (inter = sk_X509_new_null()) == NULL || !sk_X509_push(inter, mid)) {
			e = tt_verify_fail(res, TT_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
		if (chain_key(i, v.ark, mid, vek, mkey, &mfrom, &mto) == 0 &&
		    tt_verify_memo_get(TT_VERIFY_MEMO_CHAIN, mkey, in->now, NULL)) {
			g = (enum snp_gen)i;
			cached = true;
			break;
		}
		/* The intermediate first, alone under the ARK: a chain of two is all AMD
		 * issues, and the VEK must hang from exactly this intermediate. */
		if ((e = tt_verify_x509_chain(mid, NULL, anchors, NULL, in->now, &why)) != 0)
			break;
		if ((e = tt_verify_x509_chain(vek, inter, anchors, NULL, in->now, &why)) == 0 &&
		    X509_check_issued(mid, vek) == X509_V_OK) {
			g = (enum snp_gen)i;
			if (chain_key(i, v.ark, mid, vek, mkey, &mfrom, &mto) == 0)
				tt_verify_memo_put(TT_VERIFY_MEMO_CHAIN, mkey, mfrom, mto, NULL);
			break;
		}
		if (e == TT_ERR_NOT_PERMITTED)
			break;
		e = TT_ERR_INVALID_SIGNATURE;
	}
	if (g == GEN_UNKNOWN) {
		if (v.ark == NULL && e == TT_ERR_DOES_NOT_EXIST) {
			e = tt_verify_fail(res, TT_ERR_DOES_NOT_EXIST, "no AMD ARK anchor available");
			goto out;
		}
		tt_verify_link(res, "certificate", vcek ? "VCEK" : "VLEK", false, why);
		e = tt_verify_fail(res, e == 0 ? TT_ERR_INVALID_SIGNATURE : e,
		    "%s does not chain to an AMD ARK at the given time%s%s",
		    vcek ? "VCEK" : "VLEK", why != NULL ? ": " : "", why != NULL ? why : "");
		goto out;
	}
	if (tt_verify_x509_sha256(v.ark, fp) != 0)
		snprintf(fp, sizeof(fp), "?");
	snprintf(detail, sizeof(detail), "ARK-%s sha256 %s", gen_name[g], fp);
	if ((e = tt_verify_link(res, "anchor", "AMD ARK", true, detail)) != 0 ||
	    (e = tt_verify_link(res, "certificate", vcek ? "ASK" : "ASVK", true, cached ?
	    "signed by the ARK, valid at the given time (verified before)" :
	    "signed by the ARK, valid at the given time")) != 0 ||
	    (e = tt_verify_link(res, "certificate", vcek ? "VCEK" : "VLEK", true,
	    vcek ? "signed by the ASK, valid at the given time" :
	    "signed by the ASVK, valid at the given time")) != 0)
		goto out;
	if ((e = check_crl(in, res, v.ark, mid, vek)) != 0)
		goto out;

	if ((e = check_signature(in->evidence, &r, vek)) != 0) {
		tt_verify_link(res, "evidence", "attestation report", false, "signature");
		e = tt_verify_fail(res, e, "report signature does not verify with the %s",
		    vcek ? "VCEK" : "VLEK");
		goto out;
	}
	snprintf(detail, sizeof(detail), "version %u, ECDSA P-384 by the %s", r.version,
	    vcek ? "VCEK" : "VLEK");
	if ((e = tt_verify_link(res, "evidence", "attestation report", true, detail)) != 0)
		goto out;
	tcb_split(r.reported_tcb_raw, g == GEN_TURIN, &tcb);
	if ((e = check_vek_ext(res, vek, vcek, &r, &tcb)) != 0)
		goto out;
	if (r.vmpl != 0 && !(in->flags & TT_VERIFY_F_ANY_VMPL)) {
		e = tt_verify_fail(res, TT_ERR_NOT_PERMITTED,
		    "report requested at VMPL %u, not 0", r.vmpl);
		goto out;
	}
	/* Bit 17 of the policy is reserved and must be one (firmware refuses a launch
	 * otherwise): a zero means this is not a policy the firmware enforced. */
	if (!BIT(r.policy, 17)) {
		e = tt_verify_fail(res, TT_ERR_DATA_INVALID, "guest policy reserved bit 17 is 0");
		goto out;
	}
	if ((e = tt_verify_check_binding(in, res, r.report_data, sizeof(r.report_data))) != 0 ||
	    (e = tt_verify_check_init_data(in, res, r.host_data, sizeof(r.host_data))) != 0)
		goto out;
	if ((e = tt_snp_claims(&r, g, &res->claims)) != 0)
		e = tt_verify_fail(res, e, "out of memory");
out:
	vendor_free(&v);
	sk_X509_free(anchors);
	sk_X509_free(inter);
	sk_X509_pop_free(certs, X509_free);
	return e;
}

const struct tt_verifier tt_verifier_snp = {
	.version = TT_VERIFY_ABI,
	.tee = "snp",
	.name = "AMD SEV-SNP",
	.caps = TT_VERIFY_CAP_BINDING | TT_VERIFY_CAP_CHAIN | TT_VERIFY_CAP_CRL |
	    TT_VERIFY_CAP_COLLATERAL,
	.verify = snp_verify,
};
