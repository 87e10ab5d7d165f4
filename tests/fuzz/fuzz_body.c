/*
 * libFuzzer target for one operation's protobuf bodies, built once per operation with
 *   -DTT_FUZZ_PB_H="psa_sign_hash.pb-c.h" -DTT_FUZZ_PKG=psa_sign_hash
 *
 * The input is unpacked as the operation's request (Operation) and, since libturtle
 * decodes what the daemon sends back, also as its Result. Every algorithm, key
 * attributes or enum field that psa_conv translates is then run through it, and what
 * from_pb accepts must survive to_pb -> from_pb unchanged (abort otherwise): both ends
 * must agree on every value either of them can produce. A decoded message is also
 * re-encoded and decoded again. The NUL scanner of string fields walks the same bytes
 * and must agree with protobuf-c about what is well-formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "turtle/error.h"
#include "turtle/psa.h"
#include "wire/pb_strings.h"
#include "wire/psa_conv.h"
#include TT_FUZZ_PB_H

#define CAT3(a, b, c) a##b##c
#define XCAT3(a, b, c) CAT3(a, b, c)
#define OP_DESC XCAT3(, TT_FUZZ_PKG, __operation__descriptor)
#define RES_DESC XCAT3(, TT_FUZZ_PKG, __result__descriptor)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_alg(const PsaAlgorithm__Algorithm *m)
{
	PsaAlgorithm__Algorithm *pb = NULL;
	tt_alg_t a, b;

	if (tt_pb_alg_to_psa(m, &a) != 0)
		return;
	if (tt_psa_alg_to_pb(a, &pb) != 0 || tt_pb_alg_to_psa(pb, &b) != 0 || a != b)
		abort();
	tt_pb_alg_free(pb);
}

static void
check_attrs(const PsaKeyAttributes__KeyAttributes *m)
{
	PsaKeyAttributes__KeyAttributes *pb = NULL;
	struct tt_key_attrs a, b;

	if (tt_pb_attrs_to_psa(m, &a) != 0)
		return;
	if (tt_psa_attrs_to_pb(&a, &pb) != 0 || tt_pb_attrs_to_psa(pb, &b) != 0 ||
	    a.type != b.type || a.bits != b.bits || a.usage != b.usage || a.alg != b.alg)
		abort();
	tt_pb_attrs_free(pb);
}

/* One generator per sub-message type an operation body carries directly. */
#define CHECK_SUB(name, type, from, to, freefn)                     \
	static void name(const type *m)                              \
	{                                                            \
		type *pb = NULL;                                     \
		tt_alg_t a, b;                                       \
		if (from(m, &a) != 0)                                \
			return;                                      \
		if (to(a, &pb) != 0 || from(pb, &b) != 0 || a != b)  \
			abort();                                     \
		freefn(pb);                                          \
	}
CHECK_SUB(check_sign, PsaAlgorithm__Algorithm__AsymmetricSignature, tt_pb_sign_to_psa,
	  tt_psa_sign_to_pb, tt_pb_sign_free)
CHECK_SUB(check_asym_enc, PsaAlgorithm__Algorithm__AsymmetricEncryption, tt_pb_asym_enc_to_psa,
	  tt_psa_asym_enc_to_pb, tt_pb_asym_enc_free)
CHECK_SUB(check_aead, PsaAlgorithm__Algorithm__Aead, tt_pb_aead_to_psa, tt_psa_aead_to_pb,
	  tt_pb_aead_free)
CHECK_SUB(check_mac, PsaAlgorithm__Algorithm__Mac, tt_pb_mac_to_psa, tt_psa_mac_to_pb,
	  tt_pb_mac_free)

#define CHECK_ENUM(name, type, from, to)                            \
	static void name(int v)                                      \
	{                                                            \
		type e;                                              \
		tt_alg_t a, b;                                       \
		if (from((type)v, &a) != 0)                          \
			return;                                      \
		if (to(a, &e) != 0 || from(e, &b) != 0 || a != b)    \
			abort();                                     \
	}
CHECK_ENUM(check_hash, PsaAlgorithm__Algorithm__Hash, tt_pb_hash_to_psa, tt_psa_hash_to_pb)
CHECK_ENUM(check_cipher, PsaAlgorithm__Algorithm__Cipher, tt_pb_cipher_to_psa, tt_psa_cipher_to_pb)
CHECK_ENUM(check_ka_raw, PsaAlgorithm__Algorithm__KeyAgreement__Raw, tt_pb_ka_raw_to_psa,
	   tt_psa_ka_raw_to_pb)

static void walk(const ProtobufCMessage *m);

static void
visit_message(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *sub)
{
	if (sub == NULL)
		return;
	if (d == &psa_algorithm__algorithm__descriptor)
		check_alg((const PsaAlgorithm__Algorithm *)sub);
	else if (d == &psa_key_attributes__key_attributes__descriptor)
		check_attrs((const PsaKeyAttributes__KeyAttributes *)sub);
	else if (d == &psa_algorithm__algorithm__asymmetric_signature__descriptor)
		check_sign((const PsaAlgorithm__Algorithm__AsymmetricSignature *)sub);
	else if (d == &psa_algorithm__algorithm__asymmetric_encryption__descriptor)
		check_asym_enc((const PsaAlgorithm__Algorithm__AsymmetricEncryption *)sub);
	else if (d == &psa_algorithm__algorithm__aead__descriptor)
		check_aead((const PsaAlgorithm__Algorithm__Aead *)sub);
	else if (d == &psa_algorithm__algorithm__mac__descriptor)
		check_mac((const PsaAlgorithm__Algorithm__Mac *)sub);
	else
		walk(sub);
}

static void
visit_enum(const ProtobufCEnumDescriptor *d, int v)
{
	if (d == &psa_algorithm__algorithm__hash__descriptor)
		check_hash(v);
	else if (d == &psa_algorithm__algorithm__cipher__descriptor)
		check_cipher(v);
	else if (d == &psa_algorithm__algorithm__key_agreement__raw__descriptor)
		check_ka_raw(v);
}

/* Follow every message and enum field of a decoded message, repeated ones included;
 * oneof members only when their case is the one set. */
static void
walk(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const uint8_t *base = (const uint8_t *)m;
		const void *member = base + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_ENUM)
			continue;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t qcase;

			memcpy(&qcase, base + f->quantifier_offset, sizeof(qcase));
			if (qcase != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n;

			memcpy(&n, base + f->quantifier_offset, sizeof(n));
			for (size_t j = 0; j < n; j++) {
				if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
					ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)member;
					visit_message(f->descriptor, arr[j]);
				} else {
					const int *arr = *(const int *const *)member;
					visit_enum(f->descriptor, arr[j]);
				}
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			visit_message(f->descriptor, *(ProtobufCMessage *const *)member);
		} else {
			int v;

			memcpy(&v, member, sizeof(v));
			visit_enum(f->descriptor, v);
		}
	}
}

static void
one(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size)
{
	ProtobufCMessage *m, *again;
	uint8_t *buf;
	size_t n;

	/* The NUL scanner (wire/pb_strings.c) runs before every unpack in the daemon: it
	 * must never call a body malformed that protobuf-c accepts. */
	int sr = tt_wire_pb_check_strings(d, data, size);

	if ((m = protobuf_c_message_unpack(d, NULL, size, data)) == NULL)
		return;
	if (sr == TT_ERR_DESERIALIZE)
		abort();
	walk(m);
	n = protobuf_c_message_get_packed_size(m);
	if ((buf = malloc(n ? n : 1)) == NULL)
		abort();
	if (protobuf_c_message_pack(m, buf) != n)
		abort();
	/* Not asserted: protobuf-c accepts an (overlong) field number 0 as an unknown
	 * field and re-emits it in a form it then refuses; harmless to us, so this only
	 * exercises the decoder on re-encoded input. */
	if ((again = protobuf_c_message_unpack(d, NULL, n, buf)) != NULL)
		protobuf_c_message_free_unpacked(again, NULL);
	free(buf);
	protobuf_c_message_free_unpacked(m, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(&OP_DESC, data, size);
	one(&RES_DESC, data, size);
	return 0;
}
