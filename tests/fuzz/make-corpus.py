#!/usr/bin/env python3
"""Write the seed corpora under tests/fuzz/corpus/<target>/seed-*.

Seeds are valid encodings built from the field numbers in proto/ (a hand-rolled
protobuf writer, so no Python protobuf package is needed). Files named regress-* are
crash regression inputs and are never touched. Run from anywhere:
    python3 tests/fuzz/make-corpus.py
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


# ---- protobuf wire format ----
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def v(num, val):
    return varint(num << 3) + varint(val)


def b(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


# ---- psa_algorithm.Algorithm pieces (enum numbers from proto/psa_algorithm.proto) ----
SHA_256, SHA_384 = 7, 8
CBC_PKCS7, CTR = 8, 2
CCM, GCM, CHACHA = 1, 2, 3
FFDH, ECDH = 1, 2


def sign_hash(h=None):
    return b(1, b"") if h is None else v(2, h)


SIG_ECDSA_SHA256 = b(4, b(1, sign_hash(SHA_256)))
SIG_ECDSA_ANY_HASH = b(4, b(1, sign_hash()))
SIG_DET_ECDSA = b(6, b(1, sign_hash(SHA_384)))
SIG_RSA_PKCS1 = b(1, b(1, sign_hash(SHA_256)))
SIG_RSA_PSS = b(3, b(1, sign_hash(SHA_256)))
SIG_RSA_RAW = b(2, b"")
SIG_ECDSA_ANY = b(5, b"")
ENC_PKCS1 = b(1, b"")
ENC_OAEP = b(2, v(1, SHA_256))
AEAD_GCM = v(1, GCM)
AEAD_CHACHA = v(1, CHACHA)
AEAD_CCM_8 = b(2, v(1, CCM) + v(2, 8))
MAC_HMAC = b(1, b(1, v(1, SHA_256)))
MAC_CMAC = b(1, b(3, b""))
MAC_HMAC_T16 = b(2, b(1, b(1, v(1, SHA_256))) + v(2, 16))
KDF_HKDF = b(1, v(1, SHA_256))
KA_ECDH_HKDF = b(2, v(1, ECDH) + b(2, KDF_HKDF))

ALG_NONE = b(1, b"")
ALG_HASH = v(2, SHA_256)
ALG_ECDSA = b(6, SIG_ECDSA_SHA256)
ALG_ECDSA_ANY_HASH = b(6, SIG_ECDSA_ANY_HASH)
ALG_RSA_PKCS1 = b(6, SIG_RSA_PKCS1)
ALG_OAEP = b(7, ENC_OAEP)
ALG_PKCS1_CRYPT = b(7, ENC_PKCS1)
ALG_GCM = b(5, AEAD_GCM)
ALG_CCM_8 = b(5, AEAD_CCM_8)
ALG_HMAC = b(3, MAC_HMAC)
ALG_HMAC_T16 = b(3, MAC_HMAC_T16)
ALG_CMAC = b(3, MAC_CMAC)
ALG_CBC = v(4, CBC_PKCS7)
ALG_ECDH = b(8, v(1, ECDH))
ALG_ECDH_HKDF = b(8, KA_ECDH_HKDF)
ALG_HKDF = b(9, KDF_HKDF)

# ---- psa_key_attributes ----
USAGE = {"export": 1, "copy": 2, "cache": 3, "encrypt": 4, "decrypt": 5,
         "sign_message": 6, "verify_message": 7, "sign_hash": 8, "verify_hash": 9,
         "derive": 10}
SECP_R1, MONTGOMERY = 2, 9


def usage(*names):
    return b"".join(v(USAGE[n], 1) for n in names)


def attrs(key_type, bits, flags, alg):
    return b(1, key_type) + v(2, bits) + b(3, b(1, flags) + b(2, alg))


KT_RAW, KT_HMAC, KT_DERIVE, KT_AES = b(1, b""), b(2, b""), b(3, b""), b(4, b"")
KT_CHACHA = b(8, b"")
KT_RSA_PUB, KT_RSA_PAIR = b(9, b""), b(10, b"")
KT_ECC_P256 = b(11, v(1, SECP_R1))
KT_ECC_PUB_P256 = b(12, v(1, SECP_R1))
KT_X25519 = b(11, v(1, MONTGOMERY))
KT_DH = b(13, b"")

A_ECC_SIGN = attrs(KT_ECC_P256, 256, usage("sign_hash", "verify_hash", "sign_message",
                                           "verify_message", "export"), ALG_ECDSA)
A_ECC_ANY = attrs(KT_ECC_P256, 256, usage("sign_hash", "verify_hash"), ALG_ECDSA_ANY_HASH)
A_ECC_PUB = attrs(KT_ECC_PUB_P256, 256, usage("verify_hash"), ALG_ECDSA)
A_RSA_SIGN = attrs(KT_RSA_PAIR, 2048, usage("sign_hash", "verify_hash"), ALG_RSA_PKCS1)
A_RSA_OAEP = attrs(KT_RSA_PAIR, 2048, usage("encrypt", "decrypt"), ALG_OAEP)
A_AES_GCM = attrs(KT_AES, 128, usage("encrypt", "decrypt", "export"), ALG_GCM)
A_AES_CBC = attrs(KT_AES, 256, usage("encrypt", "decrypt"), ALG_CBC)
A_AES_CMAC = attrs(KT_AES, 128, usage("sign_message", "verify_message"), ALG_CMAC)
A_HMAC = attrs(KT_HMAC, 256, usage("sign_message", "verify_message"), ALG_HMAC)
A_HMAC_T = attrs(KT_HMAC, 256, usage("sign_message", "verify_message"), ALG_HMAC_T16)
A_X25519 = attrs(KT_X25519, 255, usage("derive"), ALG_ECDH)
A_RAW = attrs(KT_RAW, 64, usage("export"), ALG_NONE)
A_DERIVE = attrs(KT_DERIVE, 256, usage("derive"), ALG_HKDF)
A_CHACHA = attrs(KT_CHACHA, 256, usage("encrypt", "decrypt"), b(5, AEAD_CHACHA))
A_ECDH_HKDF = attrs(KT_ECC_P256, 256, usage("derive"), ALG_ECDH_HKDF)

# fuzz_frontend presents every request as coming from this uid (unix peer auth)
PEER_UID = 1000
H32 = bytes(range(32))
AES128 = bytes(range(0x40, 0x50))
AES256 = bytes(range(0x40, 0x60))
X25519_PEER = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
P256_PUB = bytes.fromhex(
    "04"
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")

# ---- operation bodies (Operation messages; Result messages where they carry data) ----
BODIES = {
    "ping": [b"", v(1, 1) + v(2, 0)],
    "list_providers": [b"", b(1, b(1, "1c1139dc-ad7c-47dc-ad6b-db6fdb466552") + v(7, 1))],
    "list_opcodes": [v(1, 1), v(1, 0), v(1, 1) + v(1, 2) + v(1, 4)],
    "list_authenticators": [b"", b(1, b(1, "direct") + v(5, 1))],
    "list_keys": [b"", b(1, v(1, 1) + b(2, "k1") + b(3, A_ECC_SIGN)),
                  b(1, v(1, 1) + b(2, "k2") + b(3, A_HMAC_T))],
    "list_clients": [b"", b(1, "alice") + b(1, "bob")],
    "delete_client": [b(1, "alice")],
    "can_do_crypto": [v(1, 1) + b(2, A_ECC_SIGN), v(1, 2) + b(2, A_RSA_OAEP),
                      v(1, 3) + b(2, A_AES_GCM)],
    "psa_generate_key": [b(1, "k1") + b(2, a) for a in
                         (A_ECC_SIGN, A_ECC_ANY, A_RSA_SIGN, A_AES_GCM, A_HMAC_T, A_X25519,
                          A_DERIVE, A_CHACHA, A_ECDH_HKDF)],
    "psa_import_key": [b(1, "k1") + b(2, A_AES_GCM) + b(3, AES128),
                       b(1, "k2") + b(2, A_ECC_PUB) + b(3, P256_PUB),
                       b(1, "k3") + b(2, A_RAW) + b(3, b"12345678"),
                       b(1, "k4") + b(2, A_AES_CMAC) + b(3, AES128)],
    "psa_destroy_key": [b(1, "k1")],
    "psa_export_key": [b(1, "k1"), b(1, AES128)],
    "psa_export_public_key": [b(1, "k1"), b(1, P256_PUB)],
    "psa_sign_hash": [b(1, "k1") + b(2, s) + b(3, H32) for s in
                      (SIG_ECDSA_SHA256, SIG_ECDSA_ANY, SIG_DET_ECDSA, SIG_RSA_PKCS1,
                       SIG_RSA_PSS, SIG_RSA_RAW)] + [b(1, bytes(64))],
    "psa_verify_hash": [b(1, "k1") + b(2, SIG_ECDSA_SHA256) + b(3, H32) + b(4, bytes(64))],
    "psa_sign_message": [b(1, "k1") + b(2, SIG_ECDSA_SHA256) + b(3, b"hello"),
                         b(1, "k1") + b(2, SIG_RSA_PSS) + b(3, b"hello")],
    "psa_verify_message": [b(1, "k1") + b(2, SIG_ECDSA_SHA256) + b(3, b"hello") +
                           b(4, bytes(64))],
    "psa_asymmetric_encrypt": [b(1, "k1") + b(2, ENC_OAEP) + b(3, b"secret"),
                               b(1, "k1") + b(2, ENC_PKCS1) + b(3, b"secret") + b(4, b"salt")],
    "psa_asymmetric_decrypt": [b(1, "k1") + b(2, ENC_OAEP) + b(3, bytes(256))],
    "psa_aead_encrypt": [b(1, "k1") + b(2, AEAD_GCM) + b(3, bytes(12)) + b(4, b"ad") +
                         b(5, b"plain"),
                         b(1, "k1") + b(2, AEAD_CCM_8) + b(3, bytes(13)) + b(5, b"plain")],
    "psa_aead_decrypt": [b(1, "k1") + b(2, AEAD_CHACHA) + b(3, bytes(12)) + b(5, bytes(32))],
    "psa_cipher_encrypt": [b(1, "k1") + v(2, CBC_PKCS7) + b(3, b"plaintext")],
    "psa_cipher_decrypt": [b(1, "k1") + v(2, CTR) + b(3, bytes(32))],
    "psa_mac_compute": [b(1, "k1") + b(2, MAC_HMAC) + b(3, b"input"),
                        b(1, "k1") + b(2, MAC_HMAC_T16) + b(3, b"input"),
                        b(1, "k1") + b(2, MAC_CMAC) + b(3, b"input")],
    "psa_mac_verify": [b(1, "k1") + b(2, MAC_HMAC) + b(3, b"input") + b(4, bytes(32))],
    "psa_hash_compute": [v(1, SHA_256) + b(2, b"abc"), v(1, 15) + b(2, b"abc")],
    "psa_hash_compare": [v(1, SHA_256) + b(2, b"abc") + b(3, H32)],
    "psa_raw_key_agreement": [v(1, ECDH) + b(2, "k1") + b(3, X25519_PEER),
                              v(1, ECDH) + b(2, "k1") + b(3, P256_PUB)],
    "psa_generate_random": [v(1, 32), v(1, 0), b(1, H32)],
}

OPCODES = {
    "ping": 1, "psa_generate_key": 2, "psa_destroy_key": 3, "psa_sign_hash": 4,
    "psa_verify_hash": 5, "psa_import_key": 6, "psa_export_public_key": 7,
    "list_providers": 8, "list_opcodes": 9, "psa_asymmetric_encrypt": 10,
    "psa_asymmetric_decrypt": 11, "psa_export_key": 12, "psa_generate_random": 13,
    "list_authenticators": 14, "psa_hash_compute": 15, "psa_hash_compare": 16,
    "psa_aead_encrypt": 17, "psa_aead_decrypt": 18, "psa_raw_key_agreement": 19,
    "psa_cipher_encrypt": 20, "psa_cipher_decrypt": 21, "psa_mac_compute": 22,
    "psa_mac_verify": 23, "psa_sign_message": 24, "psa_verify_message": 25,
    "list_keys": 26, "list_clients": 27, "delete_client": 28, "can_do_crypto": 32,
}
CORE_OPS = {"ping", "list_providers", "list_opcodes", "list_authenticators", "list_keys",
            "list_clients", "delete_client"}


# ---- PARSEC frames ----
def header(opcode, provider=0, auth_type=0, body_len=0, auth_len=0, session=0):
    return struct.pack("<IHBBHBQBBBIHIHH", 0x5EC0A710, 30, 1, 0, 0, provider, session,
                       0, 0, auth_type, body_len, auth_len, opcode, 0, 0)


def frame(op, body=b"", app="fuzz", provider=None, auth_type=1):
    if provider is None:
        provider = 0 if op in CORE_OPS else 1
    auth = app.encode() if auth_type == 1 else (struct.pack("<I", PEER_UID)
                                                 if auth_type == 3 else b"")
    return header(OPCODES[op], provider, auth_type, len(body), len(auth)) + body + auth


def ecc_session(name):
    k = b(1, name)
    return b"".join([
        frame("psa_generate_key", b(1, name) + b(2, A_ECC_SIGN)),
        frame("psa_sign_hash", k + b(2, SIG_ECDSA_SHA256) + b(3, H32)),
        frame("psa_verify_hash", k + b(2, SIG_ECDSA_SHA256) + b(3, H32) + b(4, bytes(64))),
        frame("psa_sign_message", k + b(2, SIG_ECDSA_SHA256) + b(3, b"hello")),
        frame("psa_export_public_key", k),
        frame("psa_export_key", k),
        frame("list_keys"),
        frame("psa_destroy_key", k),
    ])


STREAMS = {
    "ping": frame("ping", auth_type=0),
    "core": b"".join([frame("ping", auth_type=0), frame("list_providers", auth_type=0),
                      frame("list_opcodes", v(1, 1), auth_type=0),
                      frame("list_authenticators", auth_type=0)]),
    "ecc": ecc_session("k1"),
    "ecc-unix-peer": b"".join([
        frame("psa_generate_key", b(1, "u1") + b(2, A_ECC_ANY), auth_type=3),
        frame("psa_sign_hash", b(1, "u1") + b(2, SIG_ECDSA_SHA256) + b(3, H32), auth_type=3),
        frame("psa_destroy_key", b(1, "u1"), auth_type=3)]),
    "aes": b"".join([
        frame("psa_import_key", b(1, "a1") + b(2, A_AES_GCM) + b(3, AES128)),
        frame("psa_aead_encrypt", b(1, "a1") + b(2, AEAD_GCM) + b(3, bytes(12)) +
              b(4, b"ad") + b(5, b"plaintext")),
        frame("psa_aead_decrypt", b(1, "a1") + b(2, AEAD_GCM) + b(3, bytes(12)) +
              b(5, bytes(32))),
        frame("psa_export_key", b(1, "a1")),
        frame("psa_destroy_key", b(1, "a1"))]),
    "cbc": b"".join([
        frame("psa_import_key", b(1, "c1") + b(2, A_AES_CBC) + b(3, AES256)),
        frame("psa_cipher_encrypt", b(1, "c1") + v(2, CBC_PKCS7) + b(3, b"plaintext")),
        frame("psa_cipher_decrypt", b(1, "c1") + v(2, CBC_PKCS7) + b(3, bytes(32))),
        frame("psa_destroy_key", b(1, "c1"))]),
    "mac": b"".join([
        frame("psa_generate_key", b(1, "m1") + b(2, A_HMAC)),
        frame("psa_mac_compute", b(1, "m1") + b(2, MAC_HMAC) + b(3, b"input")),
        frame("psa_mac_verify", b(1, "m1") + b(2, MAC_HMAC) + b(3, b"input") +
              b(4, bytes(32))),
        frame("psa_import_key", b(1, "m2") + b(2, A_AES_CMAC) + b(3, AES128)),
        frame("psa_mac_compute", b(1, "m2") + b(2, MAC_CMAC) + b(3, b"input")),
        frame("psa_destroy_key", b(1, "m1")), frame("psa_destroy_key", b(1, "m2"))]),
    "hash-random": b"".join([
        frame("psa_hash_compute", v(1, SHA_256) + b(2, b"abc")),
        frame("psa_hash_compare", v(1, SHA_256) + b(2, b"abc") + b(3, H32)),
        frame("psa_generate_random", v(1, 32))]),
    "x25519": b"".join([
        frame("psa_generate_key", b(1, "x1") + b(2, A_X25519)),
        frame("psa_raw_key_agreement", v(1, ECDH) + b(2, "x1") + b(3, X25519_PEER)),
        frame("psa_export_public_key", b(1, "x1")),
        frame("psa_destroy_key", b(1, "x1"))]),
    "ecc-import-verify": b"".join([
        frame("psa_import_key", b(1, "p1") + b(2, A_ECC_PUB) + b(3, P256_PUB)),
        frame("psa_verify_hash", b(1, "p1") + b(2, SIG_ECDSA_SHA256) + b(3, H32) +
              b(4, bytes(64))),
        frame("psa_destroy_key", b(1, "p1"))]),
    "rsa": b"".join([
        frame("psa_generate_key", b(1, "r1") + b(2, A_RSA_OAEP)),
        frame("psa_asymmetric_encrypt", b(1, "r1") + b(2, ENC_OAEP) + b(3, b"secret")),
        frame("psa_asymmetric_decrypt", b(1, "r1") + b(2, ENC_OAEP) + b(3, bytes(256))),
        frame("psa_export_public_key", b(1, "r1")),
        frame("psa_destroy_key", b(1, "r1"))]),
    "can-do": b"".join([
        frame("can_do_crypto", v(1, 1) + b(2, A_ECC_SIGN)),
        frame("can_do_crypto", v(1, 2) + b(2, A_RSA_OAEP))]),
    "admin": b"".join([
        frame("list_clients", app="admin"),
        frame("delete_client", b(1, "fuzz"), app="admin"),
        frame("list_clients", app="fuzz")]),
    "bad-magic": b"\x00" * 36,
    "bad-version": header(1)[:6] + b"\x02\x00" + header(1)[8:],
    "too-long": header(2, 1, 1, 0x7FFFFFFF, 4),
    "unknown-opcode": header(0x99, 0, 0),
    "unknown-provider": header(1, 7, 0),
    "garbage-body": frame("psa_generate_key", b"\xff\xff\xff\xff"),
}


# ---- agent role (tt_attest_quote.proto, tt_certify_key.proto) ----
# fuzz_agent's input: records [selector][u16le body length][body]; selector bits 0-2 pick
# TtCertifyKey, TtAttestQuote, TtAgentIdentity, TtAgentActivate, PsaGenerateKey,
# PsaDestroyKey, ListOpcodes, ListKeys; bit 3 = admin (direct auth), bit 4 = soft provider.
AG_CERTIFY, AG_QUOTE, AG_IDENTITY, AG_ACTIVATE, AG_GENERATE, AG_DESTROY, AG_LIST_OPCODES, \
    AG_LIST_KEYS = range(8)
AG_ADMIN, AG_SOFT = 0x08, 0x10
TPM_SHA1, TPM_SHA256, TPM_SHA384 = 0x0004, 0x000B, 0x000C
NONCE32 = bytes(range(32))


def packed(nums):
    return b"".join(varint(n) for n in nums)


def pcr_bank(alg, indices, values=None):
    out = v(1, alg) + b(2, packed(indices))
    for val in values or []:
        out += b(3, val)
    return out


def agent_rec(sel, body=b""):
    return bytes([sel]) + struct.pack("<H", len(body)) + body


AGENT = {
    "quote-default": agent_rec(AG_QUOTE, b(1, NONCE32)),
    "quote-banks": agent_rec(AG_QUOTE, b(1, NONCE32) + b(2, pcr_bank(TPM_SHA256, range(11))) +
                             b(2, pcr_bank(TPM_SHA1, [0, 7])) +
                             b(2, pcr_bank(TPM_SHA384, [23]))),
    "quote-no-nonce": agent_rec(AG_QUOTE),
    "quote-long-nonce": agent_rec(AG_QUOTE, b(1, bytes(65))),
    "quote-bad-index": agent_rec(AG_QUOTE, b(2, pcr_bank(TPM_SHA256, [24]))),
    "quote-values-in-request": agent_rec(AG_QUOTE, b(2, pcr_bank(TPM_SHA256, [0], [bytes(32)]))),
    "quote-soft-provider": agent_rec(AG_QUOTE | AG_SOFT, b(1, NONCE32)),
    "identity": agent_rec(AG_IDENTITY | AG_ADMIN) + agent_rec(AG_IDENTITY),
    "activate": agent_rec(AG_ACTIVATE | AG_ADMIN, b(1, b"\x00\x22" + bytes(34)) +
                          b(2, b"\x01\x00" + bytes(256))) +
                agent_rec(AG_ACTIVATE, b(1, b"x") + b(2, b"y")),
    "certify": b"".join([
        agent_rec(AG_GENERATE, b(1, "ak-user") + b(2, A_ECC_SIGN)),
        agent_rec(AG_CERTIFY, b(1, "ak-user") + b(2, NONCE32)),
        agent_rec(AG_CERTIFY, b(1, "missing") + b(2, NONCE32)),
        agent_rec(AG_LIST_KEYS),
        agent_rec(AG_DESTROY, b(1, "ak-user")),
    ]),
    "list-opcodes": agent_rec(AG_LIST_OPCODES, v(1, 3)),
}


# fuzz_client_attest's input: [mode][status][result body], or [0x80 | mode][raw response];
# mode 0 quote (configured PCRs), 1 identity, 2 activate, 3 quote of two banks.
def quote_result(banks, evlog=b"", ima=b""):
    out = b(1, b"\xffTCG\x80\x18" + bytes(60)) + b(2, b"\x00\x18\x00\x0b" + bytes(68)) + \
        b(3, b"\x00\x58\x00\x23" + bytes(84))
    for bank in banks:
        out += b(4, bank)
    if evlog:
        out += b(5, evlog)
    if ima:
        out += b(6, ima)
    return out


QUOTE_SHA256 = quote_result([pcr_bank(TPM_SHA256, range(11), [bytes([i]) * 32
                                                              for i in range(11)])],
                            evlog=bytes(64), ima=b"10 " + b"0" * 40 + b" ima-ng sha256:x /init\n")
QUOTE_TWO = quote_result([pcr_bank(TPM_SHA256, range(11), [bytes([i]) * 32 for i in range(11)]),
                          pcr_bank(TPM_SHA1, [0, 7], [bytes(20), bytes([7]) * 20])])
IDENTITY = b(1, b"\x01\x3a" + bytes(64)) + b(2, b"\x30\x82\x01\x22" + bytes(60)) + \
    b(3, b"\x30\x82\x03\x00" + bytes(60)) + b(4, b"\x00\x58" + bytes(64)) + \
    b(5, b"\x00\x0b" + bytes(32))


def resp_header(opcode, body_len, status=0):
    return struct.pack("<IHBBHBQBBBIHIHH", 0x5EC0A710, 30, 1, 0, 0, 3, 0,
                       0, 0, 0, body_len, 0, opcode, status, 0)


CLIENT = {
    "quote": bytes([0, 0]) + QUOTE_SHA256,
    "quote-two-banks": bytes([3, 0]) + QUOTE_TWO,
    "quote-duplicate-index": bytes([0, 0]) + quote_result(
        [pcr_bank(TPM_SHA256, [1, 1], [bytes(32), bytes(32)])]),
    "quote-short-digest": bytes([0, 0]) + quote_result([pcr_bank(TPM_SHA256, [1], [bytes(20)])]),
    "quote-status": bytes([0, 7]),
    "identity": bytes([1, 0]) + IDENTITY,
    "activate": bytes([2, 0]) + b(1, b"credential-0123456789abcdef"),
    "raw-quote": bytes([0x80]) + resp_header(0x10002, len(QUOTE_SHA256)) + QUOTE_SHA256,
    "raw-short-body": bytes([0x80]) + resp_header(0x10002, 100) + QUOTE_SHA256[:40],
    "raw-wrong-opcode": bytes([0x81]) + resp_header(0x10002, len(IDENTITY)) + IDENTITY,
}


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def chunked(stream, size):
    """fuzz_frame's input format: [len-1][len bytes] records."""
    out = bytearray()
    for i in range(0, len(stream), size):
        part = stream[i:i + size]
        out += bytes([len(part) - 1]) + part
    return bytes(out)


def main():
    for op, bodies in BODIES.items():
        for i, body in enumerate(bodies):
            write("fuzz_body_" + op, str(i), body)
    for name, s in STREAMS.items():
        write("fuzz_frontend", name, s)
    for name in ("ping", "core", "ecc", "admin"):
        write("fuzz_header", name, STREAMS[name][:36])
    write("fuzz_header", "unix-peer", STREAMS["ecc-unix-peer"][:36])
    for name, size in (("core", 7), ("ecc", 50), ("aes", 256), ("too-long", 36)):
        write("fuzz_frame", "%s-%d" % (name, size), chunked(STREAMS[name], size))
    for name, data in AGENT.items():
        write("fuzz_agent", name, data)
    for name, data in CLIENT.items():
        write("fuzz_client_attest", name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
