/*
 * The PKCS#11 provider (provider id 2): module loading, CK_RV names and mapping, the
 * session pool with its fault recovery, start-up and the function table. Key life cycle
 * is in p11_keys.c, the cryptographic operations in p11_ops.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/pkcs11/p11_int.h"
#include "turtle/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/num.h"
#include "wire/opcodes.h"

#define P11_DEFAULT_POOL 4
#define P11_PIN_MAX 256

/* ---- CK_RV names and mapping ---- */

struct rv_entry {
	CK_RV rv;
	const char *name;
	int err;
};

/* Errors not listed map to TT_ERR_GENERIC. */
static const struct rv_entry rv_table[] = {
	{ CKR_OK, "CKR_OK", 0 },
	{ CKR_CANCEL, "CKR_CANCEL", TT_ERR_GENERIC },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY", TT_ERR_NO_MEMORY },
	{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", TT_ERR_COMMUNICATION },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", TT_ERR_HARDWARE },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", TT_ERR_GENERIC },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD", TT_ERR_INVALID_ARGUMENT },
	{ CKR_NO_EVENT, "CKR_NO_EVENT", TT_ERR_GENERIC },
	{ CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS", TT_ERR_GENERIC },
	{ CKR_CANT_LOCK, "CKR_CANT_LOCK", TT_ERR_GENERIC },
	{ CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY", TT_ERR_NOT_SUPPORTED },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE", TT_ERR_NOT_PERMITTED },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID", TT_ERR_NOT_SUPPORTED },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID", TT_ERR_INVALID_ARGUMENT },
	{ CKR_DATA_INVALID, "CKR_DATA_INVALID", TT_ERR_INVALID_ARGUMENT },
	{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE", TT_ERR_INVALID_ARGUMENT },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", TT_ERR_HARDWARE },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", TT_ERR_INSUFFICIENT_STORAGE },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", TT_ERR_COMMUNICATION },
	{ CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID", TT_ERR_INVALID_PADDING },
	{ CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE", TT_ERR_INVALID_ARGUMENT },
	{ CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED", TT_ERR_GENERIC },
	{ CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL", TT_ERR_GENERIC },
	{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED", TT_ERR_NOT_SUPPORTED },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", TT_ERR_DOES_NOT_EXIST },
	{ CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE", TT_ERR_NOT_SUPPORTED },
	{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT", TT_ERR_NOT_SUPPORTED },
	{ CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED", TT_ERR_INVALID_ARGUMENT },
	{ CKR_KEY_CHANGED, "CKR_KEY_CHANGED", TT_ERR_BAD_STATE },
	{ CKR_KEY_NEEDED, "CKR_KEY_NEEDED", TT_ERR_INVALID_ARGUMENT },
	{ CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE", TT_ERR_NOT_SUPPORTED },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED", TT_ERR_NOT_PERMITTED },
	{ CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE", TT_ERR_NOT_PERMITTED },
	{ CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE", TT_ERR_NOT_PERMITTED },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID", TT_ERR_NOT_SUPPORTED },
	{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID", TT_ERR_NOT_SUPPORTED },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID", TT_ERR_DOES_NOT_EXIST },
	{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE", TT_ERR_BAD_STATE },
	{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED", TT_ERR_BAD_STATE },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", TT_ERR_NOT_PERMITTED },
	{ CKR_PIN_INVALID, "CKR_PIN_INVALID", TT_ERR_NOT_PERMITTED },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE", TT_ERR_NOT_PERMITTED },
	{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", TT_ERR_NOT_PERMITTED },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED", TT_ERR_NOT_PERMITTED },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED", TT_ERR_COMMUNICATION },
	{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT", TT_ERR_INSUFFICIENT_STORAGE },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", TT_ERR_COMMUNICATION },
	{ CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED", TT_ERR_NOT_SUPPORTED },
	{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY", TT_ERR_NOT_PERMITTED },
	{ CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS", TT_ERR_BAD_STATE },
	{ CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS", TT_ERR_BAD_STATE },
	{ CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS", TT_ERR_BAD_STATE },
	{ CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID", TT_ERR_INVALID_SIGNATURE },
	{ CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE", TT_ERR_INVALID_SIGNATURE },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE", TT_ERR_INVALID_ARGUMENT },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT", TT_ERR_INVALID_ARGUMENT },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", TT_ERR_COMMUNICATION },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED", TT_ERR_HARDWARE },
	{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", TT_ERR_NOT_PERMITTED },
	{ CKR_UNWRAPPING_KEY_HANDLE_INVALID, "CKR_UNWRAPPING_KEY_HANDLE_INVALID", TT_ERR_INVALID_HANDLE },
	{ CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE", TT_ERR_NOT_SUPPORTED },
	{ CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", TT_ERR_NOT_SUPPORTED },
	{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN", TT_ERR_BAD_STATE },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", TT_ERR_COMMUNICATION },
	{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED", TT_ERR_BAD_STATE },
	{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID", TT_ERR_INVALID_ARGUMENT },
	{ CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN", TT_ERR_BAD_STATE },
	{ CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES", TT_ERR_BAD_STATE },
	{ CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID", TT_ERR_INVALID_ARGUMENT },
	{ CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE", TT_ERR_INVALID_ARGUMENT },
	{ CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID", TT_ERR_INVALID_HANDLE },
	{ CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE", TT_ERR_NOT_SUPPORTED },
	{ CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT", TT_ERR_NOT_SUPPORTED },
	{ CKR_RANDOM_SEED_NOT_SUPPORTED, "CKR_RANDOM_SEED_NOT_SUPPORTED", TT_ERR_NOT_SUPPORTED },
	{ CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG", TT_ERR_INSUFFICIENT_ENTROPY },
	{ CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID", TT_ERR_NOT_SUPPORTED },
	{ CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED", TT_ERR_NOT_SUPPORTED },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL", TT_ERR_BUFFER_TOO_SMALL },
	{ CKR_SAVED_STATE_INVALID, "CKR_SAVED_STATE_INVALID", TT_ERR_BAD_STATE },
	{ CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE", TT_ERR_NOT_PERMITTED },
	{ CKR_STATE_UNSAVEABLE, "CKR_STATE_UNSAVEABLE", TT_ERR_BAD_STATE },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED", TT_ERR_COMMUNICATION },
	{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED", TT_ERR_BAD_STATE },
	{ CKR_MUTEX_BAD, "CKR_MUTEX_BAD", TT_ERR_GENERIC },
	{ CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED", TT_ERR_GENERIC },
	{ CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED", TT_ERR_NOT_PERMITTED },
};

static const struct rv_entry *
rv_find(CK_RV rv)
{
	for (size_t i = 0; i < sizeof(rv_table) / sizeof(rv_table[0]); i++)
		if (rv_table[i].rv == rv)
			return &rv_table[i];
	return NULL;
}

const char *
tt_p11_rv_name(CK_RV rv)
{
	const struct rv_entry *e = rv_find(rv);

	if (e != NULL)
		return e->name;
	return (rv & CKR_VENDOR_DEFINED) ? "CKR_VENDOR_DEFINED" : "CKR_(unknown)";
}

int
tt_p11_rv_err(CK_RV rv)
{
	const struct rv_entry *e = rv_find(rv);

	if (rv == CKR_OK)
		return 0;
	return e != NULL ? e->err : TT_ERR_GENERIC;
}

int
tt_p11_rv_is_fault(CK_RV rv)
{
	switch (rv) {
	case CKR_DEVICE_REMOVED:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_SLOT_ID_INVALID:
		return 1;
	default:
		return 0;
	}
}

CK_RV
tt_p11_chk(struct p11_sess *s, CK_RV rv)
{
	if (tt_p11_rv_is_fault(rv))
		s->fault = 1;
	return rv;
}

int
tt_p11_fail(const char *what, CK_RV rv)
{
	if (tt_p11_rv_is_fault(rv))
		tt_err_log("pkcs11: %s: %s (0x%lx): token or session lost; reconnecting on the next request",
		    what, tt_p11_rv_name(rv), (unsigned long)rv);
	else
		tt_debug("pkcs11: %s: %s (0x%lx)", what, tt_p11_rv_name(rv), (unsigned long)rv);
	return tt_p11_rv_err(rv);
}

/* ---- token lookup ---- */

/* Length of a blank-padded PKCS#11 text field without its padding. */
static size_t
padded_len(const CK_UTF8CHAR *p, size_t n)
{
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\0'))
		n--;
	return n;
}

static int
field_eq(const CK_UTF8CHAR *field, size_t n, const char *want)
{
	size_t l = padded_len(field, n);

	return strlen(want) == l && memcmp(field, want, l) == 0;
}

static int
find_slot(struct p11_ctx *c, CK_SLOT_ID *out)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_TOKEN_INFO ti;
	char seen[1024];
	size_t seen_len = 0;
	CK_RV rv;
	int r = TT_ERR_DOES_NOT_EXIST;

	seen[0] = '\0';
	if ((rv = c->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		tt_err_log("pkcs11: C_GetSlotList failed: %s", tt_p11_rv_name(rv));
		return tt_p11_rv_err(rv);
	}
	if (n > 0 && (slots = calloc(n, sizeof(*slots))) == NULL)
		return TT_ERR_NO_MEMORY;
	if (n > 0 && (rv = c->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		tt_err_log("pkcs11: C_GetSlotList failed: %s", tt_p11_rv_name(rv));
		r = tt_p11_rv_err(rv);
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		if (c->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (c->label[0] != '\0' ? field_eq(ti.label, sizeof(ti.label), c->label) :
		    field_eq(ti.serialNumber, sizeof(ti.serialNumber), c->serial)) {
			if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
				tt_err_log("pkcs11: the token in slot %lu is not initialised", (unsigned long)slots[i]);
				r = TT_ERR_BAD_STATE;
				goto out;
			}
			if (ti.flags & CKF_USER_PIN_LOCKED) {
				tt_err_log("pkcs11: the user PIN of token \"%s\" is locked (too many wrong PINs); "
				    "unlock it with the SO PIN", c->label[0] ? c->label : c->serial);
				r = TT_ERR_NOT_PERMITTED;
				goto out;
			}
			*out = slots[i];
			r = 0;
			goto out;
		}
		if (seen_len < sizeof(seen)) {
			int k = snprintf(seen + seen_len, sizeof(seen) - seen_len, "%s\"%.*s\" (serial %.*s)",
			    seen_len ? ", " : "", (int)padded_len(ti.label, sizeof(ti.label)), ti.label,
			    (int)padded_len(ti.serialNumber, sizeof(ti.serialNumber)), ti.serialNumber);
			if (k > 0)
				seen_len += (size_t)k;
		}
	}
	tt_err_log("pkcs11: no token with %s \"%s\" in %s; tokens found: %s",
	    c->label[0] ? "label" : "serial number", c->label[0] ? c->label : c->serial, c->lib,
	    seen[0] ? seen : "none");
out:
	free(slots);
	return r;
}

/* ---- the session pool ---- */

static void
module_finalize(struct p11_ctx *c)
{
	if (c->initialized) {
		(void)c->f->C_Finalize(NULL);
		c->initialized = 0;
	}
	c->n_free = 0;
	c->n_open = 0;
}

static int
module_initialize(struct p11_ctx *c)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = c->f->C_Initialize(&args);
	if (rv == CKR_CANT_LOCK) {
		/* The module cannot use OS locking: let it run unlocked and use it from one
		 * session at a time (the pool then has a single member). */
		tt_warn("pkcs11: %s cannot use OS locking; serialising all requests", c->lib);
		c->no_os_locking = 1;
		rv = c->f->C_Initialize(NULL);
	}
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		rv = CKR_OK;  /* another user of the module in this process initialised it */
	if (rv != CKR_OK) {
		tt_err_log("pkcs11: C_Initialize of %s failed: %s (0x%lx)", c->lib, tt_p11_rv_name(rv),
		    (unsigned long)rv);
		return tt_p11_rv_err(rv);
	}
	c->initialized = 1;
	return 0;
}

/* (Re)initialise the module, find the token, open the sessions and log in.
 * Called with c->mu held and no session borrowed. */
static int
rebuild(struct p11_ctx *c)
{
	unsigned want = c->no_os_locking ? 1 : c->pool_want;
	CK_RV rv;
	int r;

	c->gen++;
	module_finalize(c);
	if ((r = module_initialize(c)) != 0)
		goto out;
	if (c->no_os_locking)
		want = 1;
	if ((r = find_slot(c, &c->slot)) != 0)
		goto out;
	for (unsigned i = 0; i < want; i++) {
		CK_SESSION_HANDLE h;

		rv = c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
		if (rv != CKR_OK) {
			if (i > 0 && rv == CKR_SESSION_COUNT)
				break;   /* a smaller pool still works */
			tt_err_log("pkcs11: C_OpenSession failed: %s", tt_p11_rv_name(rv));
			r = tt_p11_rv_err(rv);
			goto out;
		}
		c->free_s[c->n_free++] = h;
		c->n_open++;
		if (i == 0) {
			/* Login state belongs to the application, so one login covers all sessions. */
			rv = c->f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)c->pin, c->pin_len);
			if (rv == CKR_PIN_INCORRECT) {
				tt_err_log("pkcs11: wrong user PIN for token \"%s\" (CKR_PIN_INCORRECT); "
				    "check user_pin / user_pin_file", c->label[0] ? c->label : c->serial);
				r = TT_ERR_NOT_PERMITTED;
				goto out;
			}
			if (rv == CKR_PIN_LOCKED) {
				tt_err_log("pkcs11: the user PIN of token \"%s\" is locked (CKR_PIN_LOCKED)",
				    c->label[0] ? c->label : c->serial);
				r = TT_ERR_NOT_PERMITTED;
				goto out;
			}
			if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
				tt_err_log("pkcs11: C_Login failed: %s (0x%lx)", tt_p11_rv_name(rv),
				    (unsigned long)rv);
				r = tt_p11_rv_err(rv);
				goto out;
			}
		}
	}
	c->stale = 0;
	r = 0;
out:
	if (r != 0)
		module_finalize(c);
	return r;
}

int
tt_p11_get(struct p11_ctx *c, struct p11_sess *s)
{
	int r = 0;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		if (!c->stale && c->n_free > 0) {
			s->h = c->free_s[--c->n_free];
			s->gen = c->gen;
			s->fault = 0;
			c->outstanding++;
			break;
		}
		if (c->stale && c->outstanding == 0) {
			/* Requests in flight on old sessions fail fast, so this wait is short. */
			if ((r = rebuild(c)) != 0) {
				tt_err_log("pkcs11: token \"%s\" unavailable: %s",
				    c->label[0] ? c->label : c->serial, tt_strerror(r));
				if (r != TT_ERR_NO_MEMORY)
					r = TT_ERR_COMMUNICATION;
				pthread_cond_broadcast(&c->cv);
				break;
			}
			tt_info("pkcs11: connected to token \"%s\" in slot %lu with %u sessions",
			    c->label[0] ? c->label : c->serial, (unsigned long)c->slot, c->n_open);
			pthread_cond_broadcast(&c->cv);
			continue;
		}
		pthread_cond_wait(&c->cv, &c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

void
tt_p11_put(struct p11_ctx *c, struct p11_sess *s)
{
	pthread_mutex_lock(&c->mu);
	c->outstanding--;
	if (s->gen == c->gen) {
		if (s->fault)
			c->stale = 1;
		else if (!c->stale)
			c->free_s[c->n_free++] = s->h;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* ---- start-up ---- */

static int
read_pin_file(const char *path, struct p11_ctx *c)
{
	char buf[P11_PIN_MAX + 2];
	struct stat st;
	size_t n = 0;
	ssize_t k;
	int fd, r = TT_ERR_CONFIG;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		tt_err_log("pkcs11: cannot open user_pin_file %s: %s", path, strerror(errno));
		return TT_ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		tt_err_log("pkcs11: user_pin_file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0)
		tt_warn("pkcs11: user_pin_file %s is readable by group/other (chmod 600 it)", path);
	while (n < sizeof(buf)) {
		k = read(fd, buf + n, sizeof(buf) - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			tt_err_log("pkcs11: cannot read user_pin_file %s: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0 || n > P11_PIN_MAX) {
		tt_err_log("pkcs11: user_pin_file %s: the PIN must be 1..%d bytes", path, P11_PIN_MAX);
		goto out;
	}
	if ((c->pin = malloc(n + 1)) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}
	memcpy(c->pin, buf, n);
	c->pin[n] = '\0';
	c->pin_len = n;
	r = 0;
out:
	tt_wipe(buf, sizeof(buf));
	close(fd);
	return r;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
		*out = 0;
	else
		return TT_ERR_PARSE;
	return 0;
}

static void
p11_fini(void *ctx)
{
	struct p11_ctx *c = ctx;

	if (c == NULL)
		return;
	if (c->f != NULL)
		module_finalize(c);
	if (c->dl != NULL)
		dlclose(c->dl);
	if (c->pin != NULL)
		tt_free_secret(c->pin, c->pin_len);
	free(c->free_s);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->hmu);
	free(c);
}

static int
p11_init(const struct tt_provider_cfg *cfg, void **ctxp)
{
	struct p11_ctx *c;
	CK_C_GetFunctionList gfl;
	const char *v, *lbl, *ser;
	uint32_t pool = P11_DEFAULT_POOL;
	CK_RV rv;
	int r = TT_ERR_CONFIG;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TT_ERR_NO_MEMORY;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->hmu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->sw_public = 1;
	c->stale = 1;

	if ((v = tt_provider_cfg_get(cfg, "library")) == NULL || v[0] == '\0') {
		tt_err_log("pkcs11: [provider.pkcs11] needs library = <path of the PKCS#11 module>");
		goto out;
	}
	if (snprintf(c->lib, sizeof(c->lib), "%s", v) >= (int)sizeof(c->lib)) {
		tt_err_log("pkcs11: library path too long");
		goto out;
	}
	lbl = tt_provider_cfg_get(cfg, "token_label");
	ser = tt_provider_cfg_get(cfg, "serial_number");
	if ((lbl == NULL) == (ser == NULL) || (lbl != NULL && lbl[0] == '\0') || (ser != NULL && ser[0] == '\0')) {
		tt_err_log("pkcs11: set exactly one of token_label and serial_number");
		goto out;
	}
	if (lbl != NULL && snprintf(c->label, sizeof(c->label), "%s", lbl) >= (int)sizeof(c->label)) {
		tt_err_log("pkcs11: token_label longer than 32 bytes: %s", lbl);
		goto out;
	}
	if (ser != NULL && snprintf(c->serial, sizeof(c->serial), "%s", ser) >= (int)sizeof(c->serial)) {
		tt_err_log("pkcs11: serial_number longer than 16 bytes: %s", ser);
		goto out;
	}
	if ((v = tt_provider_cfg_get(cfg, "user_pin")) != NULL) {
		if (tt_provider_cfg_get(cfg, "user_pin_file") != NULL) {
			tt_err_log("pkcs11: set only one of user_pin and user_pin_file");
			goto out;
		}
		c->pin_len = strlen(v);
		if (c->pin_len == 0 || c->pin_len > P11_PIN_MAX || (c->pin = strdup(v)) == NULL) {
			tt_err_log("pkcs11: user_pin must be 1..%d bytes", P11_PIN_MAX);
			c->pin_len = 0;
			goto out;
		}
	} else if ((v = tt_provider_cfg_get(cfg, "user_pin_file")) != NULL) {
		if ((r = read_pin_file(v, c)) != 0)
			goto out;
		r = TT_ERR_CONFIG;
	} else {
		tt_err_log("pkcs11: [provider.pkcs11] needs user_pin or user_pin_file");
		goto out;
	}
	if ((v = tt_provider_cfg_get(cfg, "software_public_operations")) != NULL &&
	    parse_bool(v, &c->sw_public) != 0) {
		tt_err_log("pkcs11: software_public_operations: not a boolean: %s", v);
		goto out;
	}
	if ((v = tt_provider_cfg_get(cfg, "session_pool_size")) != NULL &&
	    tt_parse_u32(v, 1, P11_MAX_POOL, &pool) != 0) {
		tt_err_log("pkcs11: session_pool_size: not a number in [1, %d]: %s", P11_MAX_POOL, v);
		goto out;
	}
	c->pool_want = pool;
	if ((c->free_s = calloc(pool, sizeof(*c->free_s))) == NULL) {
		r = TT_ERR_NO_MEMORY;
		goto out;
	}

	if (access(c->lib, F_OK) != 0) {
		tt_err_log("pkcs11: library %s not found: %s", c->lib, strerror(errno));
		goto out;
	}
	if ((c->dl = dlopen(c->lib, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		tt_err_log("pkcs11: cannot load library %s: %s", c->lib, dlerror());
		goto out;
	}
	*(void **)&gfl = dlsym(c->dl, "C_GetFunctionList");
	if (gfl == NULL) {
		tt_err_log("pkcs11: %s is not a PKCS#11 module (no C_GetFunctionList)", c->lib);
		goto out;
	}
	if ((rv = gfl(&c->f)) != CKR_OK || c->f == NULL) {
		tt_err_log("pkcs11: C_GetFunctionList of %s failed: %s", c->lib, tt_p11_rv_name(rv));
		c->f = NULL;
		goto out;
	}
	if (c->f->version.major != 2) {
		tt_err_log("pkcs11: %s speaks Cryptoki %u.%u; 2.x is required", c->lib,
		    c->f->version.major, c->f->version.minor);
		c->f = NULL;
		goto out;
	}
	/* Connect now so that configuration mistakes stop the start-up with their reason. */
	pthread_mutex_lock(&c->mu);
	r = rebuild(c);
	pthread_mutex_unlock(&c->mu);
	if (r != 0)
		goto out;
	tt_info("pkcs11: token \"%s\" in slot %lu, %u sessions, public-key operations in %s",
	    c->label[0] ? c->label : c->serial, (unsigned long)c->slot, c->n_open,
	    c->sw_public ? "software" : "the token");
	*ctxp = c;
	c = NULL;
	r = 0;
out:
	p11_fini(c);
	return r;
}

static const uint32_t p11_opcodes[] = {
	TT_OP_PSA_GENERATE_KEY,
	TT_OP_PSA_DESTROY_KEY,
	TT_OP_PSA_SIGN_HASH,
	TT_OP_PSA_VERIFY_HASH,
	TT_OP_PSA_IMPORT_KEY,
	TT_OP_PSA_EXPORT_PUBLIC_KEY,
	TT_OP_PSA_ASYMMETRIC_ENCRYPT,
	TT_OP_PSA_ASYMMETRIC_DECRYPT,
	TT_OP_PSA_GENERATE_RANDOM,
	TT_OP_PSA_HASH_COMPUTE,
	TT_OP_PSA_HASH_COMPARE,
	TT_OP_PSA_SIGN_MESSAGE,
	TT_OP_PSA_VERIFY_MESSAGE,
	TT_OP_CAN_DO_CRYPTO,
};

const struct tt_provider_ops tt_pkcs11_provider = {
	.abi = TT_PROVIDER_ABI,
	.name = "pkcs11",
	.id = 2,
	.uuid = "30e39502-eba6-4d60-a4af-c518b7f5e38f",
	.description = "PKCS#11 provider (HSMs and tokens through a Cryptoki module)",
	.vendor = "Turtle",
	.version_maj = 0,
	.version_min = 1,
	.version_rev = 0,
	.opcodes = p11_opcodes,
	.n_opcodes = sizeof(p11_opcodes) / sizeof(p11_opcodes[0]),
	.init = p11_init,
	.fini = p11_fini,
	.can_do = tt_p11_can_do,
	.generate_key = tt_p11_generate_key,
	.import_key = tt_p11_import_key,
	.destroy_key = tt_p11_destroy_key,
	.export_public_key = tt_p11_export_public_key,
	.export_key = NULL,       /* keys are CKA_EXTRACTABLE = FALSE */
	.sign_hash = tt_p11_sign_hash,
	.verify_hash = tt_p11_verify_hash,
	.asymmetric_encrypt = tt_p11_asym_encrypt,
	.asymmetric_decrypt = tt_p11_asym_decrypt,
	.generate_random = tt_p11_generate_random,
	.hash_compute = tt_p11_hash_compute,
};
