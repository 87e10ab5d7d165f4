/*
 * The TPM 2.0 provider (provider id 3): configuration, the ESYS context and its fault
 * recovery, TPM return codes, the loaded-key cache, and the function table. Key life
 * cycle and templates are in tpm_keys.c, cryptographic operations in tpm_ops.c, key
 * attestation in tpm_attest.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "providers/tpm/tpm_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/num.h"
#include "wire/opcodes.h"

#define TPM_DEFAULT_MAX_LOADED 3
#define TPM_MAX_LOADED_LIMIT 64
/* TPM2_TRANSIENT_FIRST shifts a signed int into the sign bit (UBSan objects). */
#define TPM_TRANSIENT_FIRST ((TPM2_HANDLE)0x80000000u)

/* ---- return codes ---- */

int
tt_tpm_rc_retry(TSS2_RC rc)
{
	return rc == TPM2_RC_RETRY || rc == TPM2_RC_YIELDED || rc == TPM2_RC_TESTING;
}

/* A return code that means the transport or the TPM's state is gone: the context is
 * rebuilt on the next request. */
static int
rc_is_fault(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
	TSS2_RC base = rc & 0xffff;

	if (layer == TSS2_TCTI_RC_LAYER)
		return 1;
	if (layer == TSS2_TPM_RC_LAYER)
		return rc == TPM2_RC_INITIALIZE;
	if (layer == TSS2_ESAPI_RC_LAYER || layer == TSS2_SYS_RC_LAYER)
		return base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
		    base == TSS2_BASE_RC_MALFORMED_RESPONSE ||
		    base == TSS2_BASE_RC_INSUFFICIENT_RESPONSE ||
		    base == TSS2_BASE_RC_BAD_SEQUENCE || base == TSS2_BASE_RC_TRY_AGAIN ||
		    base == TSS2_BASE_RC_GENERAL_FAILURE;
	return 0;
}

static int
rc_to_err(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (rc_is_fault(rc))
		return TT_ERR_COMMUNICATION;
	if (layer == TSS2_TPM_RC_LAYER) {
		if (rc & TPM2_RC_FMT1) {
			switch (rc & (TPM2_RC_FMT1 | 0x3f)) {
			case TPM2_RC_SIGNATURE:
				return TT_ERR_INVALID_SIGNATURE;
			case TPM2_RC_VALUE:
			case TPM2_RC_SIZE:
			case TPM2_RC_KEY_SIZE:
			case TPM2_RC_ECC_POINT:
			case TPM2_RC_INSUFFICIENT:
				return TT_ERR_INVALID_ARGUMENT;
			case TPM2_RC_AUTH_FAIL:
			case TPM2_RC_BAD_AUTH:
			case TPM2_RC_POLICY_FAIL:
			case TPM2_RC_ATTRIBUTES:
				return TT_ERR_NOT_PERMITTED;
			case TPM2_RC_INTEGRITY:
				return TT_ERR_DATA_CORRUPT;
			case TPM2_RC_HANDLE:
				return TT_ERR_INVALID_HANDLE;
			case TPM2_RC_SCHEME:
			case TPM2_RC_HASH:
			case TPM2_RC_CURVE:
			case TPM2_RC_ASYMMETRIC:
			case TPM2_RC_SYMMETRIC:
			case TPM2_RC_KEY:
			case TPM2_RC_KDF:
			case TPM2_RC_MODE:
			case TPM2_RC_TYPE:
				return TT_ERR_NOT_SUPPORTED;
			default:
				return TT_ERR_GENERIC;
			}
		}
		switch (rc) {
		case TPM2_RC_FAILURE:
			/* failure mode needs a TPM reset; reconnecting would not help */
			return TT_ERR_HARDWARE;
		case TPM2_RC_OBJECT_MEMORY:
		case TPM2_RC_SESSION_MEMORY:
		case TPM2_RC_MEMORY:
		case TPM2_RC_OBJECT_HANDLES:
		case TPM2_RC_SESSION_HANDLES:
			return TT_ERR_INSUFFICIENT_STORAGE;
		case TPM2_RC_LOCKOUT:
			return TT_ERR_NOT_PERMITTED;
		case TPM2_RC_RETRY:
		case TPM2_RC_YIELDED:
		case TPM2_RC_TESTING:
			return TT_ERR_HARDWARE;
		default:
			return TT_ERR_GENERIC;
		}
	}
	switch (rc & 0xffff) {
	case TSS2_BASE_RC_BAD_VALUE:
	case TSS2_BASE_RC_BAD_REFERENCE:
	case TSS2_BASE_RC_BAD_SIZE:
	case TSS2_BASE_RC_INSUFFICIENT_BUFFER:
		return TT_ERR_INVALID_ARGUMENT;
	case TSS2_BASE_RC_MEMORY:
		return TT_ERR_NO_MEMORY;
	default:
		return TT_ERR_GENERIC;
	}
}

int
tt_tpm_fail(struct tpm_ctx *c, const char *what, TSS2_RC rc)
{
	if (rc_is_fault(rc)) {
		c->dead = 1;
		tt_err_log("tpm: %s: %s (0x%x): TPM connection lost; reconnecting on the next request",
		    what, Tss2_RC_Decode(rc), (unsigned)rc);
	} else {
		tt_debug("tpm: %s: %s (0x%x)", what, Tss2_RC_Decode(rc), (unsigned)rc);
	}
	return rc_to_err(rc);
}

/* ---- loaded-key cache ---- */

static struct tpm_slot *
slot_find(struct tpm_ctx *c, const uint8_t kid[TT_KEY_ID_LEN])
{
	for (size_t i = 0; i < c->max_loaded; i++)
		if (c->slots[i].used != 0 && memcmp(c->slots[i].kid, kid, TT_KEY_ID_LEN) == 0)
			return &c->slots[i];
	return NULL;
}

static void
slot_release(struct tpm_ctx *c, struct tpm_slot *s)
{
	if (s->used == 0)
		return;
	if (c->esys != NULL && !c->dead && s->h != ESYS_TR_NONE) {
		TSS2_RC rc;

		TPM_RUN(rc, Esys_FlushContext(c->esys, s->h));
		if (rc != TSS2_RC_SUCCESS)
			(void)tt_tpm_fail(c, "FlushContext", rc);
	}
	s->h = ESYS_TR_NONE;
	s->used = 0;
}

int
tt_tpm_evict_one(struct tpm_ctx *c)
{
	struct tpm_slot *lru = NULL;

	for (size_t i = 0; i < c->max_loaded; i++)
		if (c->slots[i].used != 0 && (lru == NULL || c->slots[i].used < lru->used))
			lru = &c->slots[i];
	if (lru == NULL)
		return TT_ERR_INSUFFICIENT_STORAGE;
	slot_release(c, lru);
	return 0;
}

void
tt_tpm_cache_drop(struct tpm_ctx *c, const uint8_t kid[TT_KEY_ID_LEN])
{
	struct tpm_slot *s = slot_find(c, kid);

	if (s != NULL)
		slot_release(c, s);
}

/* Forget every cached handle without flushing (the ESYS context they belong to is gone). */
static void
cache_forget(struct tpm_ctx *c)
{
	for (size_t i = 0; i < c->max_loaded; i++) {
		c->slots[i].used = 0;
		c->slots[i].h = ESYS_TR_NONE;
	}
}

int
tt_tpm_key_handle(struct tpm_ctx *c, const struct tt_key *k, ESYS_TR *h)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	struct tpm_slot *s;
	ESYS_TR nh = ESYS_TR_NONE;
	TSS2_RC rc;
	int pair, r;

	if ((s = slot_find(c, k->kid)) != NULL) {
		s->used = ++c->clock;
		*h = s->h;
		return 0;
	}
	if ((r = tt_tpm_ref_parse(k->ref, k->ref_len, &pub, &priv, &pair)) != 0)
		goto out;
	if (!pair) {
		r = TT_ERR_NOT_SUPPORTED;
		goto out;
	}
	/* The TPM has few object slots (three in the reference implementation) and no
	 * resource manager may be swapping for us: make room from our own cache. */
	TPM_RUN_SLOT(c, rc, Esys_Load(c->esys, c->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
	    &priv, &pub, &nh));
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Load", rc);
		goto out;
	}
	/* take the LRU slot (free slots have used == 0 and are chosen first) */
	s = &c->slots[0];
	for (size_t i = 1; i < c->max_loaded; i++)
		if (c->slots[i].used < s->used)
			s = &c->slots[i];
	slot_release(c, s);
	memcpy(s->kid, k->kid, TT_KEY_ID_LEN);
	s->h = nh;
	s->used = ++c->clock;
	*h = nh;
	r = 0;
out:
	tt_wipe(&priv, sizeof(priv));
	return r;
}

int
tt_tpm_create_primary(struct tpm_ctx *c, ESYS_TR hierarchy, const TPM2B_PUBLIC *tmpl,
    ESYS_TR *h, TPM2B_PUBLIC **pub)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TSS2_RC rc;

	TPM_RUN_SLOT(c, rc, Esys_CreatePrimary(c->esys, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, tmpl, &outside, &pcrs, h, pub, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tt_tpm_fail(c, "CreatePrimary", rc);
	return 0;
}

/* ---- context life cycle ---- */

static void
context_close(struct tpm_ctx *c)
{
	if (c->esys != NULL) {
		for (size_t i = 0; i < c->max_loaded; i++)
			slot_release(c, &c->slots[i]);
		if (c->srk != ESYS_TR_NONE && !c->dead)
			(void)Esys_FlushContext(c->esys, c->srk);
		Esys_Finalize(&c->esys);
	}
	cache_forget(c);
	c->srk = ESYS_TR_NONE;
	if (c->tcti_ctx != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti_ctx);
	c->esys = NULL;
	c->tcti_ctx = NULL;
}

/*
 * Flush transient objects that an earlier owner of the TPM left behind (a previous
 * turtled that crashed, or a connection that broke mid-request). Without a resource
 * manager they would hold the TPM's few object slots forever; under one, we only see
 * our own, so this is safe in both set-ups.
 */
static TSS2_RC
flush_leftovers(struct tpm_ctx *c)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;
	TSS2_RC rc;

	TPM_RUN(rc, Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    TPM2_CAP_HANDLES, TPM_TRANSIENT_FIRST, TPM2_MAX_CAP_HANDLES, &more, &cap));
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	for (UINT32 i = 0; i < cap->data.handles.count; i++) {
		ESYS_TR t;

		if (Esys_TR_FromTPMPublic(c->esys, cap->data.handles.handle[i], ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &t) == TSS2_RC_SUCCESS)
			(void)Esys_FlushContext(c->esys, t);
	}
	Esys_Free(cap);
	return TSS2_RC_SUCCESS;
}

static int
context_open(struct tpm_ctx *c)
{
	TPM2B_PUBLIC tmpl;
	TPM2B_PUBLIC *pub = NULL;
	TSS2_RC rc;
	int r;

	context_close(c);
	c->dead = 0;
	if ((rc = Tss2_TctiLdr_Initialize(c->tcti, &c->tcti_ctx)) != TSS2_RC_SUCCESS) {
		c->dead = 1;
		tt_err_log("tpm: cannot open TCTI \"%s\": %s", c->tcti, Tss2_RC_Decode(rc));
		r = TT_ERR_COMMUNICATION;
		goto out;
	}
	if ((rc = Esys_Initialize(&c->esys, c->tcti_ctx, NULL)) != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "Esys_Initialize", rc);
		c->dead = 1;
		goto out;
	}
	rc = flush_leftovers(c);
	if (rc == TPM2_RC_INITIALIZE) {
		/* a TPM (or swtpm) that was just powered on and nobody started */
		TPM_RUN(rc, Esys_Startup(c->esys, TPM2_SU_CLEAR));
		if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
			r = tt_tpm_fail(c, "Startup", rc);
			c->dead = 1;
			goto out;
		}
		rc = flush_leftovers(c);
	}
	if (rc != TSS2_RC_SUCCESS) {
		r = tt_tpm_fail(c, "GetCapability", rc);
		c->dead = 1;
		goto out;
	}
	if (Esys_TR_SetAuth(c->esys, ESYS_TR_RH_OWNER, &c->owner_auth) != TSS2_RC_SUCCESS ||
	    Esys_TR_SetAuth(c->esys, ESYS_TR_RH_ENDORSEMENT, &c->endorsement_auth) != TSS2_RC_SUCCESS) {
		r = TT_ERR_GENERIC;
		c->dead = 1;
		goto out;
	}
	tt_tpm_srk_template(&tmpl);
	if ((r = tt_tpm_create_primary(c, ESYS_TR_RH_OWNER, &tmpl, &c->srk, &pub)) != 0) {
		c->srk = ESYS_TR_NONE;
		c->dead = 1;
		goto out;
	}
	r = 0;
out:
	Esys_Free(pub);
	return r;
}

int
tt_tpm_enter(struct tpm_ctx *c)
{
	int r;

	pthread_mutex_lock(&c->lock);
	if (!c->dead && c->esys != NULL)
		return 0;
	if ((r = context_open(c)) != 0) {
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	tt_info("tpm: connected to \"%s\"", c->tcti);
	return 0;
}

void
tt_tpm_leave(struct tpm_ctx *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* ---- configuration ---- */

static int
set_auth(TPM2B_AUTH *a, const char *v)
{
	size_t n = strlen(v);

	if (n > sizeof(a->buffer))
		return TT_ERR_CONFIG;
	a->size = (UINT16)n;
	memcpy(a->buffer, v, n);
	return 0;
}

/* Secret from a file: the first line, without its newline. */
static int
read_auth_file(const char *path, TPM2B_AUTH *a)
{
	char buf[sizeof(a->buffer) + 2];
	ssize_t n;
	size_t len;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		tt_err_log("tpm: cannot open %s: %s", path, strerror(errno));
		return TT_ERR_CONFIG;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		r = TT_ERR_CONFIG;
		goto out;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len > sizeof(a->buffer)) {
		tt_err_log("tpm: %s: authorisation value too long", path);
		r = TT_ERR_CONFIG;
		goto out;
	}
	a->size = (UINT16)len;
	memcpy(a->buffer, buf, len);
	r = 0;
out:
	tt_wipe(buf, sizeof(buf));
	return r;
}

static void
tpm_fini(void *ctx)
{
	struct tpm_ctx *c = ctx;

	if (c == NULL)
		return;
	context_close(c);
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c->tcti);
	tt_wipe(c, sizeof(*c));
	free(c);
}

static int
tpm_init(const struct tt_provider_cfg *cfg, void **ctxp)
{
	struct tpm_ctx *c;
	const char *v;
	uint32_t n = TPM_DEFAULT_MAX_LOADED;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TT_ERR_NO_MEMORY;
	pthread_mutex_init(&c->lock, NULL);
	c->srk = ESYS_TR_NONE;
	v = tt_provider_cfg_get(cfg, "tcti");
	if ((c->tcti = strdup(v != NULL ? v : "device:/dev/tpmrm0")) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((v = tt_provider_cfg_get(cfg, "max_loaded_keys")) != NULL &&
	    tt_parse_u32(v, 1, TPM_MAX_LOADED_LIMIT, &n) != 0) {
		tt_err_log("tpm: max_loaded_keys must be 1..%d", TPM_MAX_LOADED_LIMIT);
		r = TT_ERR_CONFIG;
		goto out;
	}
	c->max_loaded = n;
	if ((c->slots = calloc(n, sizeof(*c->slots))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	if ((v = tt_provider_cfg_get(cfg, "owner_auth")) != NULL && (r = set_auth(&c->owner_auth, v)) != 0)
		goto out;
	if ((v = tt_provider_cfg_get(cfg, "owner_auth_file")) != NULL &&
	    (r = read_auth_file(v, &c->owner_auth)) != 0)
		goto out;
	if ((v = tt_provider_cfg_get(cfg, "endorsement_auth")) != NULL &&
	    (r = set_auth(&c->endorsement_auth, v)) != 0)
		goto out;
	if ((r = tt_tpm_agent_config(c, cfg)) != 0)   /* ek_alg (tpm_quote.c) */
		goto out;
	/* Fail start-up on a TPM that is not there: a wrong TCTI is a configuration error,
	 * unlike a TPM that goes away later, which requests survive. */
	if ((r = context_open(c)) != 0)
		goto out;
	*ctxp = c;
	c = NULL;
	r = 0;
out:
	tpm_fini(c);
	return r;
}

static const uint32_t tpm_opcodes[] = {
	TT_OP_PSA_GENERATE_KEY,
	TT_OP_PSA_DESTROY_KEY,
	TT_OP_PSA_IMPORT_KEY,
	TT_OP_PSA_EXPORT_PUBLIC_KEY,
	TT_OP_PSA_SIGN_HASH,
	TT_OP_PSA_VERIFY_HASH,
	TT_OP_PSA_SIGN_MESSAGE,
	TT_OP_PSA_VERIFY_MESSAGE,
	TT_OP_PSA_ASYMMETRIC_ENCRYPT,
	TT_OP_PSA_ASYMMETRIC_DECRYPT,
	TT_OP_PSA_GENERATE_RANDOM,
	TT_OP_PSA_HASH_COMPUTE,
	TT_OP_PSA_HASH_COMPARE,
	TT_OP_CAN_DO_CRYPTO,
	TT_OP_PREPARE_KEY_ATTESTATION,
	TT_OP_ATTEST_KEY,
	TT_OP_TT_CERTIFY_KEY,
	TT_OP_TT_ATTEST_QUOTE,
	TT_OP_TT_AGENT_IDENTITY,
	TT_OP_TT_AGENT_ACTIVATE,
};

const struct tt_provider_ops tt_tpm_provider = {
	.abi = TT_PROVIDER_ABI,
	.name = "tpm",
	.id = 3,
	.uuid = "1e4954a4-ff21-46d3-ab0c-661eeb667e1d",
	.description = "TPM 2.0 provider (tpm2-tss ESAPI)",
	.vendor = "Trusted Computing Group (TCG)",
	.version_maj = 0,
	.version_min = 1,
	.version_rev = 0,
	.opcodes = tpm_opcodes,
	.n_opcodes = sizeof(tpm_opcodes) / sizeof(tpm_opcodes[0]),
	.init = tpm_init,
	.fini = tpm_fini,
	.can_do = tt_tpm_can_do,
	.generate_key = tt_tpm_generate_key,
	.import_key = tt_tpm_import_key,
	.destroy_key = tt_tpm_destroy_key,
	.export_public_key = tt_tpm_export_public_key,
	.sign_hash = tt_tpm_sign_hash,
	.verify_hash = tt_tpm_verify_hash,
	.asymmetric_encrypt = tt_tpm_asym_encrypt,
	.asymmetric_decrypt = tt_tpm_asym_decrypt,
	.generate_random = tt_tpm_generate_random,
	.hash_compute = tt_tpm_hash_compute,
	.prepare_activate_credential = tt_tpm_prepare_activate_credential,
	.attest_activate_credential = tt_tpm_attest_activate_credential,
	.certify_key = tt_tpm_certify_key,
	.agent_quote = tt_tpm_agent_quote,
	.agent_identity = tt_tpm_agent_identity,
	.agent_activate = tt_tpm_agent_activate,
};
