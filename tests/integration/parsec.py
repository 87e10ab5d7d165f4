"""A PARSEC 1.0 wire-protocol client written from the specification only.

Nothing here comes from turtled's sources: the header layout, opcode numbers, status
codes and the authentication bytes are those of the PARSEC book (wire protocol 1.0),
and the bodies are the protobuf messages of proto/*.proto compiled at test start by
`protoc --python_out` (see load_protos).

Header (36 bytes, little-endian), struct format '<IHBBHBQBBBIHIHH':
    magic u32 (0x5EC0A710), header size u16 (30 = bytes after this field),
    version major u8 (1), minor u8 (0), flags u16, provider u8, session handle u64,
    content type u8 (0 = protobuf), accept type u8 (0 = protobuf), auth type u8,
    body length u32, auth length u16, opcode u32, status u16, reserved u16 (0).
"""

import importlib
import os
import socket
import struct
import subprocess
import sys
import types
from dataclasses import dataclass

HDR_FMT = "<IHBBHBQBBBIHIHH"
HDR_LEN = 36
MAGIC = 0x5EC0A710
HDR_SIZE = 30
assert struct.calcsize(HDR_FMT) == HDR_LEN

# Authentication types (PARSEC AuthType).
AUTH_NONE = 0
AUTH_DIRECT = 1
AUTH_TOKENS = 2
AUTH_UNIX_PEER = 3
AUTH_JWT_SVID = 4

# turtled's one extension, invisible to PARSEC: bit 15 of the (implementation-defined)
# flags field asks the service to keep the connection open after the response; the
# response carries it back when the service does. Without it turtled closes the
# connection after each response, as PARSEC's service does.
FLAG_KEEP_ALIVE = 0x8000

# Provider ids.
PROVIDER_CORE = 0
PROVIDER_MBED = 1   # turtled's soft provider sits in this slot
PROVIDER_PKCS11 = 2
PROVIDER_TPM = 3

UUID_CORE = "47049873-2a43-4845-9d72-831eab668784"
UUID_MBED = "1c1139dc-ad7c-47dc-ad6b-db6fdb466552"

# Opcodes (PARSEC book, "Operations").
OP = types.SimpleNamespace(
    PING=0x01, PSA_GENERATE_KEY=0x02, PSA_DESTROY_KEY=0x03, PSA_SIGN_HASH=0x04,
    PSA_VERIFY_HASH=0x05, PSA_IMPORT_KEY=0x06, PSA_EXPORT_PUBLIC_KEY=0x07,
    LIST_PROVIDERS=0x08, LIST_OPCODES=0x09, PSA_ASYMMETRIC_ENCRYPT=0x0A,
    PSA_ASYMMETRIC_DECRYPT=0x0B, PSA_EXPORT_KEY=0x0C, PSA_GENERATE_RANDOM=0x0D,
    LIST_AUTHENTICATORS=0x0E, PSA_HASH_COMPUTE=0x0F, PSA_HASH_COMPARE=0x10,
    PSA_AEAD_ENCRYPT=0x11, PSA_AEAD_DECRYPT=0x12, PSA_RAW_KEY_AGREEMENT=0x13,
    PSA_CIPHER_ENCRYPT=0x14, PSA_CIPHER_DECRYPT=0x15, PSA_MAC_COMPUTE=0x16,
    PSA_MAC_VERIFY=0x17, PSA_SIGN_MESSAGE=0x18, PSA_VERIFY_MESSAGE=0x19,
    LIST_KEYS=0x1A, LIST_CLIENTS=0x1B, DELETE_CLIENT=0x1C, CAN_DO_CRYPTO=0x20,
)

# Response status codes (PARSEC ResponseStatus), PSA errors are 1000 + |psa_status|.
ST = types.SimpleNamespace(
    SUCCESS=0, WRONG_PROVIDER_ID=1, CONTENT_TYPE_NOT_SUPPORTED=2,
    ACCEPT_TYPE_NOT_SUPPORTED=3, WIRE_PROTOCOL_VERSION_NOT_SUPPORTED=4,
    PROVIDER_NOT_REGISTERED=5, PROVIDER_DOES_NOT_EXIST=6, DESERIALIZING_BODY_FAILED=7,
    SERIALIZING_BODY_FAILED=8, OPCODE_DOES_NOT_EXIST=9, RESPONSE_TOO_LARGE=10,
    AUTHENTICATION_ERROR=11, AUTHENTICATOR_DOES_NOT_EXIST=12,
    AUTHENTICATOR_NOT_REGISTERED=13, KEY_INFO_MANAGER_ERROR=14, CONNECTION_ERROR=15,
    INVALID_ENCODING=16, INVALID_HEADER=17, WRONG_PROVIDER_UUID=18,
    NOT_AUTHENTICATED=19, BODY_SIZE_EXCEEDS_LIMIT=20, ADMIN_OPERATION=21,
    PSA_GENERIC_ERROR=1132, PSA_NOT_PERMITTED=1133, PSA_NOT_SUPPORTED=1134,
    PSA_INVALID_ARGUMENT=1135, PSA_INVALID_HANDLE=1136, PSA_BAD_STATE=1137,
    PSA_BUFFER_TOO_SMALL=1138, PSA_ALREADY_EXISTS=1139, PSA_DOES_NOT_EXIST=1140,
    PSA_INSUFFICIENT_MEMORY=1141, PSA_INVALID_SIGNATURE=1149, PSA_INVALID_PADDING=1150,
)

PROTO_NAMES = [
    "ping", "list_providers", "list_opcodes", "list_authenticators", "list_keys",
    "list_clients", "delete_client", "can_do_crypto", "psa_algorithm",
    "psa_key_attributes", "psa_generate_key", "psa_import_key", "psa_destroy_key",
    "psa_export_key", "psa_export_public_key", "psa_sign_hash", "psa_verify_hash",
    "psa_sign_message", "psa_verify_message", "psa_asymmetric_encrypt",
    "psa_asymmetric_decrypt", "psa_aead_encrypt", "psa_aead_decrypt",
    "psa_cipher_encrypt", "psa_cipher_decrypt", "psa_mac_compute", "psa_mac_verify",
    "psa_hash_compute", "psa_hash_compare", "psa_raw_key_agreement",
    "psa_generate_random",
]


def load_protos(proto_dir, out_dir):
    """Compile proto/*.proto with protoc into out_dir and import them.

    Returns a namespace whose attributes are the generated *_pb2 modules by proto
    name (pb.ping, pb.psa_sign_hash, ...)."""
    files = sorted(f for f in os.listdir(proto_dir) if f.endswith(".proto"))
    subprocess.run(["protoc", "--python_out=" + out_dir, "-I", proto_dir] + files,
                   check=True, cwd=proto_dir)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)
    ns = types.SimpleNamespace()
    for f in files:
        name = f[:-len(".proto")]
        setattr(ns, name, importlib.import_module(name + "_pb2"))
    return ns


@dataclass
class Header:
    magic: int = MAGIC
    hdr_size: int = HDR_SIZE
    ver_maj: int = 1
    ver_min: int = 0
    flags: int = 0
    provider: int = 0
    session: int = 0
    content_type: int = 0
    accept_type: int = 0
    auth_type: int = 0
    body_len: int = 0
    auth_len: int = 0
    opcode: int = 0
    status: int = 0
    reserved: int = 0

    def pack(self):
        return struct.pack(HDR_FMT, self.magic, self.hdr_size, self.ver_maj, self.ver_min,
                           self.flags, self.provider, self.session, self.content_type,
                           self.accept_type, self.auth_type, self.body_len, self.auth_len,
                           self.opcode, self.status, self.reserved)

    @classmethod
    def unpack(cls, raw):
        return cls(*struct.unpack(HDR_FMT, raw))


@dataclass
class Response:
    header: Header
    body: bytes
    auth: bytes = b""

    @property
    def status(self):
        return self.header.status


def auth_direct(app):
    """Direct authenticator: the auth field is the application name in UTF-8."""
    return (AUTH_DIRECT, app.encode() if isinstance(app, str) else app)


def auth_unix(uid=None):
    """Unix peer credentials authenticator: the auth field is the uid, 4 bytes LE."""
    return (AUTH_UNIX_PEER, struct.pack("<I", os.getuid() if uid is None else uid))


AUTH_NOAUTH = (AUTH_NONE, b"")


def build_request(opcode, body=b"", provider=0, auth=AUTH_NOAUTH, session=0, **hdr):
    auth_type, auth_bytes = auth
    h = Header(provider=provider, session=session, auth_type=auth_type,
               body_len=len(body), auth_len=len(auth_bytes), opcode=opcode)
    for k, v in hdr.items():
        setattr(h, k, v)
    return h.pack() + body + auth_bytes


def recv_exact(sock, n):
    """Read exactly n bytes; returns fewer only if the peer closed the connection."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


class ConnectionClosed(Exception):
    pass


def read_response(sock):
    raw = recv_exact(sock, HDR_LEN)
    if len(raw) < HDR_LEN:
        raise ConnectionClosed("connection closed after %d header bytes" % len(raw))
    h = Header.unpack(raw)
    body = recv_exact(sock, h.body_len)
    if len(body) < h.body_len:
        raise ConnectionClosed("connection closed in the body")
    auth = recv_exact(sock, h.auth_len)
    return Response(h, body, auth)


def connect(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)  # a hang detector, not a performance threshold
    s.connect(path)
    return s


def peer_closed(sock):
    """True when the server has closed its end (recv returns b'' or the reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class PsaError(Exception):
    def __init__(self, status, opcode):
        super().__init__("opcode 0x%x failed with status %d" % (opcode, status))
        self.status = status


class Client:
    """A PARSEC client. persistent=False opens one connection per request, as PARSEC's
    own client does; persistent=True sends every request over one connection and asks
    for that with FLAG_KEEP_ALIVE (and checks that the service agreed)."""

    def __init__(self, path, pb, auth=AUTH_NOAUTH, provider=PROVIDER_MBED,
                 persistent=False, timeout=10.0):
        self.path = path
        self.pb = pb
        self.auth = auth
        self.provider = provider
        self.persistent = persistent
        self.timeout = timeout
        self.sock = None
        self.session = 0

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def raw(self, frame):
        """Send raw bytes, read one response."""
        if self.persistent:
            if self.sock is None:
                self.sock = connect(self.path, self.timeout)
            self.sock.sendall(frame)
            try:
                return read_response(self.sock)
            except Exception:
                self.close()
                raise
        with connect(self.path, self.timeout) as s:
            s.sendall(frame)
            return read_response(s)

    def request(self, opcode, body=b"", provider=None, auth=None, **hdr):
        self.session += 1
        if self.persistent and "flags" not in hdr:
            hdr["flags"] = FLAG_KEEP_ALIVE
        frame = build_request(opcode, body, self.provider if provider is None else provider,
                              self.auth if auth is None else auth, session=self.session, **hdr)
        r = self.raw(frame)
        if self.persistent and not r.header.flags & FLAG_KEEP_ALIVE:
            self.close()   # the service closes it after this response
        assert r.header.magic == MAGIC and r.header.hdr_size == HDR_SIZE
        assert (r.header.ver_maj, r.header.ver_min) == (1, 0)
        assert r.header.opcode == opcode
        assert r.header.session == self.session, "session handle not echoed"
        assert r.header.reserved == 0
        return r

    def call(self, opcode, op, result_cls=None, provider=None, auth=None):
        """Send a protobuf operation; returns (status, decoded result or None)."""
        r = self.request(opcode, op.SerializeToString() if op is not None else b"",
                         provider=provider, auth=auth)
        if r.status != 0 or result_cls is None:
            return r.status, None
        res = result_cls()
        res.ParseFromString(r.body)
        return 0, res

    def ok(self, opcode, op, result_cls=None, provider=None, auth=None):
        st, res = self.call(opcode, op, result_cls, provider, auth)
        if st != 0:
            raise PsaError(st, opcode)
        return res

    # ---- core operations -------------------------------------------------------------
    def ping(self):
        pb = self.pb.ping
        return self.ok(OP.PING, pb.Operation(), pb.Result, provider=0)

    def list_providers(self):
        pb = self.pb.list_providers
        return self.ok(OP.LIST_PROVIDERS, pb.Operation(), pb.Result, provider=0).providers

    def list_opcodes(self, provider_id):
        pb = self.pb.list_opcodes
        return list(self.ok(OP.LIST_OPCODES, pb.Operation(provider_id=provider_id),
                            pb.Result, provider=0).opcodes)

    def list_authenticators(self):
        pb = self.pb.list_authenticators
        return self.ok(OP.LIST_AUTHENTICATORS, pb.Operation(), pb.Result,
                       provider=0).authenticators

    def list_keys(self):
        pb = self.pb.list_keys
        return self.ok(OP.LIST_KEYS, pb.Operation(), pb.Result, provider=0).keys

    def list_clients(self):
        pb = self.pb.list_clients
        return self.call(OP.LIST_CLIENTS, pb.Operation(), pb.Result, provider=0)

    def delete_client(self, name):
        pb = self.pb.delete_client
        return self.call(OP.DELETE_CLIENT, pb.Operation(client=name), pb.Result, provider=0)

    # ---- key management ----------------------------------------------------------------
    def generate_key(self, name, attrs):
        pb = self.pb.psa_generate_key
        return self.call(OP.PSA_GENERATE_KEY, pb.Operation(key_name=name, attributes=attrs))[0]

    def import_key(self, name, attrs, data):
        pb = self.pb.psa_import_key
        return self.call(OP.PSA_IMPORT_KEY,
                         pb.Operation(key_name=name, attributes=attrs, data=data))[0]

    def destroy_key(self, name):
        pb = self.pb.psa_destroy_key
        return self.call(OP.PSA_DESTROY_KEY, pb.Operation(key_name=name))[0]

    def export_public_key(self, name):
        pb = self.pb.psa_export_public_key
        st, res = self.call(OP.PSA_EXPORT_PUBLIC_KEY, pb.Operation(key_name=name), pb.Result)
        return st, (res.data if res else None)

    def export_key(self, name):
        pb = self.pb.psa_export_key
        st, res = self.call(OP.PSA_EXPORT_KEY, pb.Operation(key_name=name), pb.Result)
        return st, (res.data if res else None)

    # ---- crypto ----------------------------------------------------------------------------
    def sign_hash(self, name, alg, digest):
        pb = self.pb.psa_sign_hash
        st, res = self.call(OP.PSA_SIGN_HASH, pb.Operation(key_name=name, alg=alg, hash=digest),
                            pb.Result)
        return st, (res.signature if res else None)

    def verify_hash(self, name, alg, digest, sig):
        pb = self.pb.psa_verify_hash
        return self.call(OP.PSA_VERIFY_HASH,
                         pb.Operation(key_name=name, alg=alg, hash=digest, signature=sig))[0]

    def sign_message(self, name, alg, msg):
        pb = self.pb.psa_sign_message
        st, res = self.call(OP.PSA_SIGN_MESSAGE,
                            pb.Operation(key_name=name, alg=alg, message=msg), pb.Result)
        return st, (res.signature if res else None)

    def verify_message(self, name, alg, msg, sig):
        pb = self.pb.psa_verify_message
        return self.call(OP.PSA_VERIFY_MESSAGE,
                         pb.Operation(key_name=name, alg=alg, message=msg, signature=sig))[0]

    def asym_encrypt(self, name, alg, plaintext, salt=b""):
        pb = self.pb.psa_asymmetric_encrypt
        st, res = self.call(OP.PSA_ASYMMETRIC_ENCRYPT,
                            pb.Operation(key_name=name, alg=alg, plaintext=plaintext, salt=salt),
                            pb.Result)
        return st, (res.ciphertext if res else None)

    def asym_decrypt(self, name, alg, ciphertext, salt=b""):
        pb = self.pb.psa_asymmetric_decrypt
        st, res = self.call(OP.PSA_ASYMMETRIC_DECRYPT,
                            pb.Operation(key_name=name, alg=alg, ciphertext=ciphertext,
                                         salt=salt), pb.Result)
        return st, (res.plaintext if res else None)

    def aead_encrypt(self, name, alg, nonce, aad, plaintext):
        pb = self.pb.psa_aead_encrypt
        st, res = self.call(OP.PSA_AEAD_ENCRYPT,
                            pb.Operation(key_name=name, alg=alg, nonce=nonce,
                                         additional_data=aad, plaintext=plaintext), pb.Result)
        return st, (res.ciphertext if res else None)

    def aead_decrypt(self, name, alg, nonce, aad, ciphertext):
        pb = self.pb.psa_aead_decrypt
        st, res = self.call(OP.PSA_AEAD_DECRYPT,
                            pb.Operation(key_name=name, alg=alg, nonce=nonce,
                                         additional_data=aad, ciphertext=ciphertext), pb.Result)
        return st, (res.plaintext if res else None)

    def cipher_encrypt(self, name, alg, plaintext):
        pb = self.pb.psa_cipher_encrypt
        st, res = self.call(OP.PSA_CIPHER_ENCRYPT,
                            pb.Operation(key_name=name, alg=alg, plaintext=plaintext), pb.Result)
        return st, (res.ciphertext if res else None)

    def cipher_decrypt(self, name, alg, ciphertext):
        pb = self.pb.psa_cipher_decrypt
        st, res = self.call(OP.PSA_CIPHER_DECRYPT,
                            pb.Operation(key_name=name, alg=alg, ciphertext=ciphertext),
                            pb.Result)
        return st, (res.plaintext if res else None)

    def mac_compute(self, name, alg, data):
        pb = self.pb.psa_mac_compute
        st, res = self.call(OP.PSA_MAC_COMPUTE, pb.Operation(key_name=name, alg=alg, input=data),
                            pb.Result)
        return st, (res.mac if res else None)

    def mac_verify(self, name, alg, data, mac):
        pb = self.pb.psa_mac_verify
        return self.call(OP.PSA_MAC_VERIFY,
                         pb.Operation(key_name=name, alg=alg, input=data, mac=mac))[0]

    def hash_compute(self, alg, data):
        pb = self.pb.psa_hash_compute
        st, res = self.call(OP.PSA_HASH_COMPUTE, pb.Operation(alg=alg, input=data), pb.Result)
        return st, (res.hash if res else None)

    def hash_compare(self, alg, data, digest):
        pb = self.pb.psa_hash_compare
        return self.call(OP.PSA_HASH_COMPARE, pb.Operation(alg=alg, input=data, hash=digest))[0]

    def raw_key_agreement(self, name, peer_key, alg=None):
        pb = self.pb.psa_raw_key_agreement
        if alg is None:
            alg = self.pb.psa_algorithm.Algorithm.KeyAgreement.ECDH
        st, res = self.call(OP.PSA_RAW_KEY_AGREEMENT,
                            pb.Operation(alg=alg, private_key_name=name, peer_key=peer_key),
                            pb.Result)
        return st, (res.shared_secret if res else None)

    def generate_random(self, size):
        pb = self.pb.psa_generate_random
        st, res = self.call(OP.PSA_GENERATE_RANDOM, pb.Operation(size=size), pb.Result)
        return st, (res.random_bytes if res else None)

    def can_do_crypto(self, check_type, attrs):
        pb = self.pb.can_do_crypto
        return self.call(OP.CAN_DO_CRYPTO, pb.Operation(check_type=check_type,
                                                        attributes=attrs))[0]


# ---- builders for key attributes and algorithms ---------------------------------------------

class Algs:
    """Shorthands for protobuf Algorithm messages."""

    def __init__(self, pb):
        self.pb = pb
        self.A = pb.psa_algorithm.Algorithm

    def hash(self, name):
        return getattr(self.A, name)   # e.g. "SHA_256" -> enum value

    def _sighash(self, hash_name):
        SH = self.A.AsymmetricSignature.SignHash
        if hash_name == "ANY":
            return SH(any=SH.Any())
        return SH(specific=self.hash(hash_name))

    def ecdsa(self, h="SHA_256"):
        S = self.A.AsymmetricSignature
        return S(ecdsa=S.Ecdsa(hash_alg=self._sighash(h)))

    def rsa_pkcs1v15_sign(self, h="SHA_256"):
        S = self.A.AsymmetricSignature
        return S(rsa_pkcs1v15_sign=S.RsaPkcs1v15Sign(hash_alg=self._sighash(h)))

    def rsa_pss(self, h="SHA_256"):
        S = self.A.AsymmetricSignature
        return S(rsa_pss=S.RsaPss(hash_alg=self._sighash(h)))

    def rsa_oaep(self, h="SHA_256"):
        E = self.A.AsymmetricEncryption
        return E(rsa_oaep=E.RsaOaep(hash_alg=self.hash(h)))

    def rsa_pkcs1v15_crypt(self):
        E = self.A.AsymmetricEncryption
        return E(rsa_pkcs1v15_crypt=E.RsaPkcs1v15Crypt())

    def aead(self, name):   # "GCM", "CCM", "CHACHA20_POLY1305"
        Ae = self.A.Aead
        return Ae(aead_with_default_length_tag=getattr(Ae, name))

    def hmac(self, h="SHA_256"):
        M = self.A.Mac
        F = M.FullLength
        return M(full_length=F(hmac=F.Hmac(hash_alg=self.hash(h))))

    def cmac(self):
        M = self.A.Mac
        F = M.FullLength
        return M(full_length=F(cmac=F.Cmac()))

    def cipher(self, name):   # "CBC_PKCS7", ...
        return getattr(self.A, name)

    # Wrap a specific algorithm into the top-level Algorithm for a key policy.
    def policy(self, **kw):
        return self.A(**kw)


def usage(pb, *flags):
    return pb.psa_key_attributes.UsageFlags(**{f: True for f in flags})


def attrs(pb, key_type, bits, alg, *flags):
    """KeyAttributes from a KeyType message, a bit size, a top-level Algorithm and usage
    flag names."""
    KA = pb.psa_key_attributes
    return KA.KeyAttributes(key_type=key_type, key_bits=bits,
                            key_policy=KA.KeyPolicy(key_usage_flags=usage(pb, *flags),
                                                    key_algorithm=alg))


def ecc_pair(pb, family="SECP_R1"):
    KT = pb.psa_key_attributes.KeyType
    return KT(ecc_key_pair=KT.EccKeyPair(curve_family=getattr(KT, family)))


def rsa_pair(pb):
    KT = pb.psa_key_attributes.KeyType
    return KT(rsa_key_pair=KT.RsaKeyPair())


def simple_type(pb, name):   # "aes", "hmac", "raw_data", "chacha20"
    KT = pb.psa_key_attributes.KeyType
    cls = {"aes": KT.Aes, "hmac": KT.Hmac, "raw_data": KT.RawData,
           "chacha20": KT.Chacha20, "derive": KT.Derive}[name]
    return KT(**{name: cls()})


def ecc_p256_sign_attrs(pb, *extra_flags):
    """The issue's Done-when key: ECC key pair SECP_R1 256 bits, sign_hash + verify_hash,
    ECDSA(SHA-256)."""
    al = Algs(pb)
    return attrs(pb, ecc_pair(pb), 256, al.policy(asymmetric_signature=al.ecdsa("SHA_256")),
                 "sign_hash", "verify_hash", *extra_flags)
