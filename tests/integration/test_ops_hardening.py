"""Regression tests for the crypto/ops findings of issue 9, each against the real daemon:
decimal-only config numbers, NUL bytes in names, key and client quotas, AEAD nonce and
tag lengths, RSA import sizes and degenerate RSA keys."""

import pytest

import parsec

OP, ST = parsec.OP, parsec.ST


# ---- item 9: numbers in the config are decimal, nothing else ----

@pytest.mark.parametrize("section,key,value", [
    ("service", "threads", "010"),
    ("service", "threads", "0x4"),
    ("limits", "max_connections", "0x10"),
    ("limits", "max_connections", "010"),
    ("limits", "max_body", "01M"),
    ("limits", "read_timeout_ms", "0100"),
])
def test_config_numbers_not_decimal_refused(daemon_factory, section, key, value):
    d = daemon_factory("[%s]\n%s = %s\n" % (section, key, value), start=False)
    d.start(wait=False)
    rc = d.wait()
    assert rc != 0, "turtled started with %s = %s" % (key, value)
    log = d.logtext()
    assert key in log and value in log and "decimal" in log, log


def test_config_decimal_and_octal_mode_accepted(daemon_factory, pb):
    d = daemon_factory("[service]\nthreads = 10\nsocket_mode = 0660\n"
                       "[limits]\nmax_connections = 100\n")
    parsec.Client(d.sock, pb).ping()


# ---- item 4: the wire length of a name is honoured; a NUL inside it is refused ----

def _exportable_aes(pb):
    al = parsec.Algs(pb)
    return parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                        al.policy(aead=al.aead("GCM")), "encrypt", "decrypt", "export")


def test_names_with_nul_refused(daemon_factory, pb):
    d = daemon_factory("[authenticator]\nadmins = root_admin\n")
    c = parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"))
    a = _exportable_aes(pb)
    assert c.generate_key("k", a) == 0
    st, k = c.export_key("k")
    assert st == 0 and len(k) == 16

    # A second key whose name only starts like "k" must not collide with it ...
    assert c.generate_key("k\0other", a) == ST.PSA_INVALID_ARGUMENT
    # ... nor reach it through any key operation.
    assert c.export_key("k\0zzz") == (ST.PSA_INVALID_ARGUMENT, None)
    assert c.export_public_key("k\0zzz")[0] == ST.PSA_INVALID_ARGUMENT
    assert c.destroy_key("k\0") == ST.PSA_INVALID_ARGUMENT
    al = parsec.Algs(pb)
    assert c.aead_encrypt("k\0x", al.aead("GCM"), b"n" * 12, b"", b"p")[0] == \
        ST.PSA_INVALID_ARGUMENT
    assert [k.name for k in c.list_keys()] == ["k"]
    assert c.export_key("k") == (0, k)

    # DeleteClient names the client by the wire bytes too: "alice\0x" is not "alice".
    admin = parsec.Client(d.sock, pb, auth=parsec.auth_direct("root_admin"))
    st, _ = admin.delete_client("alice\0x")
    assert st == ST.PSA_INVALID_ARGUMENT
    assert c.export_key("k") == (0, k)
    st, _ = admin.delete_client("alice")
    assert st == 0
    assert c.export_key("k")[0] == ST.PSA_DOES_NOT_EXIST



# ---- AEAD: GCM with any nonce length >= 1 (PSA), CCM of an empty plaintext (item 5) ----

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM  # noqa: E402

AES_KEY = bytes(range(16))


def _ecb(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def _gf_mul(x, y):
    r, R = 0, 0xE1 << 120
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            r ^= y
        y = (y >> 1) ^ R if y & 1 else y >> 1
    return r


def _ghash(h, data):
    y = 0
    for i in range(0, len(data), 16):
        y = _gf_mul(y ^ int.from_bytes(data[i:i + 16].ljust(16, b"\0"), "big"), h)
    return y


def gcm_encrypt(key, nonce, aad, pt, tag_len=16):
    """AES-GCM after NIST SP 800-38D, for any nonce length (the cryptography module
    only takes 8..128-byte nonces). Independent of turtled and of OpenSSL's GCM."""
    h = int.from_bytes(_ecb(key, b"\0" * 16), "big")
    if len(nonce) == 12:
        j0 = nonce + b"\0\0\0\1"
    else:
        pad = (-len(nonce)) % 16
        j0 = _ghash(h, nonce + b"\0" * (pad + 8) + (8 * len(nonce)).to_bytes(8, "big"))
        j0 = j0.to_bytes(16, "big")
    ctr = int.from_bytes(j0, "big")
    ct = b""
    for i in range(0, len(pt), 16):
        ctr = (ctr & ~0xFFFFFFFF) | ((ctr + 1) & 0xFFFFFFFF)
        ks = _ecb(key, ctr.to_bytes(16, "big"))
        ct += bytes(a ^ b for a, b in zip(pt[i:i + 16], ks))
    pa, pc = (-len(aad)) % 16, (-len(ct)) % 16
    s = _ghash(h, aad + b"\0" * pa + ct + b"\0" * pc +
               (8 * len(aad)).to_bytes(8, "big") + (8 * len(ct)).to_bytes(8, "big"))
    tag = (s ^ int.from_bytes(_ecb(key, j0), "big")).to_bytes(16, "big")
    return ct + tag[:tag_len]


def test_reference_gcm_matches_cryptography():
    # the test's own GCM agrees with the cryptography module where both work
    for n in (8, 12, 13, 16, 60):
        nonce = bytes(range(n))
        assert gcm_encrypt(AES_KEY, nonce, b"ad", b"x" * 37) == \
            AESGCM(AES_KEY).encrypt(nonce, b"x" * 37, b"ad")


def _aead_alg(pb, name, tag_len=None):
    Ae = pb.psa_algorithm.Algorithm.Aead
    if tag_len is None:
        return Ae(aead_with_default_length_tag=getattr(Ae, name))
    return Ae(aead_with_shortened_tag=Ae.AeadWithShortenedTag(
        aead_alg=getattr(Ae, name), tag_length=tag_len))


def _import_aes(c, pb, name, alg):
    al = parsec.Algs(pb)
    a = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128, al.policy(aead=alg),
                     "encrypt", "decrypt")
    assert c.import_key(name, a, AES_KEY) == 0


@pytest.mark.parametrize("nonce_len", [1, 5, 8, 12, 13, 16, 64, 128])
def test_gcm_any_nonce_length(client, pb, nonce_len):
    alg = _aead_alg(pb, "GCM")
    _import_aes(client, pb, "gcm", alg)
    nonce = bytes((7 * i + 1) & 0xFF for i in range(nonce_len))
    for pt in (b"", b"p", b"parsec go client end-to-end" * 3):
        st, ct = client.aead_encrypt("gcm", alg, nonce, b"aad", pt)
        assert st == 0
        assert ct == gcm_encrypt(AES_KEY, nonce, b"aad", pt)
        assert client.aead_decrypt("gcm", alg, nonce, b"aad", ct) == (0, pt)
        bad = ct[:-1] + bytes([ct[-1] ^ 1])
        assert client.aead_decrypt("gcm", alg, nonce, b"aad", bad)[0] == \
            ST.PSA_INVALID_SIGNATURE


def test_gcm_nonce_lengths_refused(client, pb):
    alg = _aead_alg(pb, "GCM")
    _import_aes(client, pb, "gcm", alg)
    # no nonce is not GCM at all; a defined length this build cannot do is NotSupported
    assert client.aead_encrypt("gcm", alg, b"", b"", b"p")[0] == ST.PSA_INVALID_ARGUMENT
    assert client.aead_encrypt("gcm", alg, b"n" * 129, b"", b"p")[0] == \
        ST.PSA_NOT_SUPPORTED


@pytest.mark.parametrize("tag_len", [None, 4, 8, 16])
@pytest.mark.parametrize("nonce_len", [7, 12, 13])
def test_ccm_empty_and_short_plaintext(client, pb, nonce_len, tag_len):
    alg = _aead_alg(pb, "CCM", tag_len)
    _import_aes(client, pb, "ccm", alg)
    nonce = bytes(range(nonce_len))
    ref = AESCCM(AES_KEY, tag_length=tag_len or 16)
    for pt, aad in ((b"", b""), (b"", b"header"), (b"x", b""), (b"m" * 40, b"h")):
        st, ct = client.aead_encrypt("ccm", alg, nonce, aad, pt)
        assert st == 0, (pt, aad)
        assert ct == ref.encrypt(nonce, pt, aad or None)
        assert client.aead_decrypt("ccm", alg, nonce, aad, ct) == (0, pt)
        # a tampered tag of an empty message must fail: the tag is really checked
        bad = ct[:-1] + bytes([ct[-1] ^ 0x80])
        assert client.aead_decrypt("ccm", alg, nonce, aad, bad)[0] == \
            ST.PSA_INVALID_SIGNATURE


def test_ccm_nonce_lengths_refused(client, pb):
    alg = _aead_alg(pb, "CCM")
    _import_aes(client, pb, "ccm", alg)
    for n in (0, 6, 14, 16):
        assert client.aead_encrypt("ccm", alg, b"n" * n, b"", b"")[0] == \
            ST.PSA_INVALID_ARGUMENT, n


# ---- item 6: RSA key pairs up to 8192 bits import (docs/providers-soft.md) ----

@pytest.fixture(scope="module")
def rsa8192():
    # A fixed key made once with `openssl genpkey -algorithm RSA -pkeyopt
    # rsa_keygen_bits:8192`: generating one takes up to a minute on a shared machine.
    # It protects nothing.
    from cryptography.hazmat.primitives import serialization
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                        "rsa8192-test-only.der")
    with open(path, "rb") as f:
        return serialization.load_der_private_key(f.read(), None)


def test_import_rsa8192_pair_and_sign(daemon, pb, rsa8192):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    der = rsa8192.private_bytes(serialization.Encoding.DER,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    assert len(der) > 4096   # the old wrap limit cut here, at about 7000 bits
    al = parsec.Algs(pb)
    alg = al.rsa_pkcs1v15_sign("SHA_256")
    a = parsec.attrs(pb, parsec.rsa_pair(pb), 0, al.policy(asymmetric_signature=alg),
                     "sign_hash", "verify_hash")
    # the pair check tests two 4096-bit primes: seconds, more under the sanitizers
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"), timeout=300)
    assert c.import_key("big", a, der) == 0
    assert [(k.name, k.attributes.key_bits) for k in c.list_keys()] == [("big", 8192)]
    digest = __import__("hashlib").sha256(b"eight kilobits").digest()
    st, sig = c.sign_hash("big", alg, digest)
    assert st == 0 and len(sig) == 1024
    rsa8192.public_key().verify(sig, b"eight kilobits", padding.PKCS1v15(), hashes.SHA256())
    st, pub = c.export_public_key("big")
    assert st == 0 and pub == rsa8192.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    # and it survives a restart (the wrapped row is read back and unwrapped)
    daemon.restart()
    st, sig2 = c.sign_hash("big", alg, digest)
    assert st == 0 and sig2 == sig


# ---- item 3: key quota per client, a bounded number of clients, ListClients always answers

INSUFFICIENT_STORAGE = 1142


def _raw(pb):
    return _exportable_aes(pb)


def test_key_quota_per_client(daemon_factory, pb):
    d = daemon_factory("[limits]\nmax_keys_per_client = 3\n")
    alice = parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"))
    bob = parsec.Client(d.sock, pb, auth=parsec.auth_direct("bob"))
    for i in range(3):
        assert alice.import_key("k%d" % i, _raw(pb), b"x" * 16) == 0
    assert alice.import_key("k3", _raw(pb), b"x" * 16) == INSUFFICIENT_STORAGE
    assert alice.generate_key("k3", _exportable_aes(pb)) == INSUFFICIENT_STORAGE
    # a duplicate name is still a duplicate
    assert alice.import_key("k0", _raw(pb), b"x" * 16) == ST.PSA_ALREADY_EXISTS
    # the quota is per client
    assert bob.import_key("k0", _raw(pb), b"y" * 16) == 0
    # destroying frees quota
    assert alice.destroy_key("k1") == 0
    assert alice.import_key("k3", _raw(pb), b"x" * 16) == 0
    assert sorted(k.name for k in alice.list_keys()) == ["k0", "k2", "k3"]
    # the quota is reloaded with SIGHUP, and lowering it leaves existing keys alone
    import signal, time
    d.write_config("[limits]\nmax_keys_per_client = 5\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while alice.import_key("k4", _raw(pb), b"x" * 16) != 0:
        assert time.monotonic() < deadline, "reload not applied"
        time.sleep(0.05)
    assert alice.import_key("k5", _raw(pb), b"x" * 16) == 0
    assert alice.import_key("k6", _raw(pb), b"x" * 16) == INSUFFICIENT_STORAGE


def test_list_clients_truncated_never_fails(daemon_factory, pb):
    # A 1 KiB answer holds 4 of 5 names of 250 bytes: the admin still gets an answer.
    d = daemon_factory("[limits]\nmax_response = 1K\nmax_clients = 5\n"
                       "[authenticator]\nadmins = root\n")
    names = [chr(ord("a") + i) * 250 for i in range(5)]
    for n in names:
        assert parsec.Client(d.sock, pb, auth=parsec.auth_direct(n)).import_key(
            "k", _raw(pb), b"x" * 16) == 0
    # a sixth client may not start; existing ones may still add keys
    assert parsec.Client(d.sock, pb, auth=parsec.auth_direct("f")).import_key(
        "k", _raw(pb), b"x" * 16) == INSUFFICIENT_STORAGE
    assert parsec.Client(d.sock, pb, auth=parsec.auth_direct(names[0])).import_key(
        "k2", _raw(pb), b"x" * 16) == 0
    admin = parsec.Client(d.sock, pb, auth=parsec.auth_direct("root"))
    st, res = admin.list_clients()
    assert st == 0
    assert list(res.clients) == names[:4]
    assert "ListClients: 4 of 5 clients listed" in d.logtext()
    # deleting listed clients shows the rest
    assert admin.delete_client(names[0])[0] == 0
    st, res = admin.list_clients()
    assert st == 0 and list(res.clients) == names[1:]


def test_default_client_limit_keeps_list_clients_answering(daemon_factory, pb):
    # The attack with the default limits: many direct-auth names with one key
    # each. Past max_clients (1024) new names are refused, and ListClients, whose answer
    # then holds at most 1024 names of 256 bytes, fits the default 1 MiB.
    d = daemon_factory("[authenticator]\nadmins = root\n")
    created = 0
    for i in range(1030):
        n = ("%04d" % i) * 64
        st = parsec.Client(d.sock, pb, auth=parsec.auth_direct(n)).import_key(
            "k", _raw(pb), b"x" * 16)
        if st == INSUFFICIENT_STORAGE:
            break
        assert st == 0
        created += 1
    assert created == 1024
    st, res = parsec.Client(d.sock, pb, auth=parsec.auth_direct("root")).list_clients()
    assert st == 0 and len(res.clients) == 1024
    assert "clients listed" not in d.logtext()


# ---- item 11: keys held by the soft provider stay out of core dumps ----

def _dumpable_memory(pid):
    """What a core dump of `pid` would hold: every readable mapping without the
    VM_DONTDUMP flag ("dd" in smaps' VmFlags)."""
    maps = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for ln in f:
            head = ln.split()
            if head and "-" in head[0] and len(head) >= 2 and len(head[1]) == 4:
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                cur = [lo, hi, head[1], head[5] if len(head) > 5 else "", False]
                maps.append(cur)
            elif ln.startswith("VmFlags:") and cur is not None:
                cur[4] = "dd" in ln.split()[1:]
    out = []
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for lo, hi, perms, path, dd in maps:
            if dd or perms[0] != "r" or path in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(lo)
                out.append(mem.read(hi - lo))
            except OSError:
                pass
    return b"".join(out)


def test_cached_keys_not_in_core_dump(daemon, pb):
    import os
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    al = parsec.Algs(pb)
    aes = os.urandom(32)
    a = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 256,
                     al.policy(aead=al.aead("GCM")), "encrypt", "decrypt")
    assert c.import_key("aes", a, aes) == 0
    scalar = bytes.fromhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
    assert c.import_key("ec", parsec.ecc_p256_sign_attrs(pb), scalar) == 0
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    rk = rsa.generate_private_key(65537, 2048)
    rder = rk.private_bytes(serialization.Encoding.DER,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    ra = parsec.attrs(pb, parsec.rsa_pair(pb), 2048,
                      al.policy(asymmetric_signature=al.rsa_pkcs1v15_sign("SHA_256")),
                      "sign_hash", "verify_hash")
    assert c.import_key("rsa", ra, rder) == 0
    rn = rk.private_numbers()
    # A fresh process: the keys reach memory only by being unwrapped from the store
    # into the cache, not through request buffers.
    daemon.restart()
    for _ in range(3):
        assert c.aead_encrypt("aes", al.aead("GCM"), b"n" * 12, b"", b"hello")[0] == 0
        assert c.sign_hash("ec", al.ecdsa("SHA_256"), b"\1" * 32)[0] == 0
        assert c.sign_hash("rsa", al.rsa_pkcs1v15_sign("SHA_256"), b"\1" * 32)[0] == 0
    img = _dumpable_memory(daemon.proc.pid)
    assert len(img) > 1 << 20
    # the AES key as bytes, the scalar as bytes and as OpenSSL's BIGNUM limbs
    # (little-endian 64-bit words: the whole big-endian number reversed)
    for what, needle in (("AES key", aes), ("EC scalar", scalar),
                         ("EC scalar as BIGNUM", scalar[::-1]),
                         ("RSA d", rn.d.to_bytes(256, "big")),
                         ("RSA d as BIGNUM", rn.d.to_bytes(256, "little")),
                         ("RSA p as BIGNUM", rn.p.to_bytes(128, "little")),
                         ("RSA p", rn.p.to_bytes(128, "big"))):
        assert needle not in img, "%s found in dumpable memory" % what
    # and the memory that does hold them is marked: the secure heap is DONTDUMP
    with open("/proc/%d/smaps" % daemon.proc.pid) as f:
        assert " dd" in f.read()


def test_cache_rsa_key_pairs_option(daemon_factory, pb):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    bad = daemon_factory("[provider.soft]\ncache_rsa_key_pairs = maybe\n", start=False)
    bad.start(wait=False)
    assert bad.wait() != 0 and "cache_rsa_key_pairs" in bad.logtext()
    d = daemon_factory("[provider.soft]\ncache_rsa_key_pairs = yes\n")
    assert "RSA key pairs are cached" in d.logtext()
    rk = rsa.generate_private_key(65537, 2048)
    der = rk.private_bytes(serialization.Encoding.DER,
                           serialization.PrivateFormat.TraditionalOpenSSL,
                           serialization.NoEncryption())
    al = parsec.Algs(pb)
    alg = al.rsa_pkcs1v15_sign("SHA_256")
    a = parsec.attrs(pb, parsec.rsa_pair(pb), 2048, al.policy(asymmetric_signature=alg),
                     "sign_hash")
    c = parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"))
    assert c.import_key("r", a, der) == 0
    digest = __import__("hashlib").sha256(b"m").digest()
    for _ in range(2):   # the second one from the cache
        st, sig = c.sign_hash("r", alg, digest)
        assert st == 0
        rk.public_key().verify(sig, b"m", padding.PKCS1v15(), hashes.SHA256())


def test_exported_key_not_left_in_dumpable_memory(daemon, pb):
    """Review of issue 9: the worker keeps its response buffer between requests, and an
    exported key must not stay in it (in memory a core dump would hold) until that
    worker happens to serve another request."""
    import os
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    al = parsec.Algs(pb)
    alg = al.hmac("SHA_256")
    a = parsec.attrs(pb, parsec.simple_type(pb, "hmac"), 256, al.policy(mac=alg),
                     "sign_hash", "export")
    key = os.urandom(32)
    assert c.import_key("exp", a, key) == 0
    # A fresh process: the key reaches memory only through the export below.
    daemon.restart()
    assert c.export_key("exp") == (0, key)
    img = _dumpable_memory(daemon.proc.pid)
    assert len(img) > 1 << 20
    assert key not in img, "an exported key stays in dumpable memory after its response"
