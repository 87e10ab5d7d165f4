"""Client isolation: for every opcode that names a key, client B addressing client A's key
gets PsaErrorDoesNotExist (1140) and A's key is unchanged."""

import hashlib
import os

import pytest

import parsec

ST = parsec.ST
MSG = b"isolation"


def make_keys(c, pb, algs):
    """One key per family, each usable for its operations, under the same names that the
    other client will address."""
    KA = pb.psa_algorithm.Algorithm.KeyAgreement
    specs = {
        "ec": parsec.attrs(pb, parsec.ecc_pair(pb), 256,
                           algs.policy(asymmetric_signature=algs.ecdsa("SHA_256")),
                           "sign_hash", "verify_hash", "sign_message", "verify_message",
                           "export"),
        "rsa": parsec.attrs(pb, parsec.rsa_pair(pb), 2048,
                            algs.policy(asymmetric_encryption=algs.rsa_oaep("SHA_256")),
                            "encrypt", "decrypt"),
        "aead": parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                             algs.policy(aead=algs.aead("GCM")), "encrypt", "decrypt"),
        "cbc": parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                            algs.policy(cipher=algs.cipher("CBC_PKCS7")), "encrypt", "decrypt"),
        "mac": parsec.attrs(pb, parsec.simple_type(pb, "hmac"), 256,
                            algs.policy(mac=algs.hmac("SHA_256")), "sign_hash", "verify_hash",
                            "sign_message", "verify_message"),
        "dh": parsec.attrs(pb, parsec.ecc_pair(pb), 256,
                           algs.policy(key_agreement=KA(raw=KA.ECDH)), "derive"),
    }
    for name, a in specs.items():
        assert c.generate_key(name, a) == 0, name
    return specs


def snapshot(c):
    keys = sorted((k.name, k.attributes.SerializeToString()) for k in c.list_keys())
    pubs = {n: c.export_public_key(n) for n in ("ec", "rsa", "dh")}
    return keys, pubs


@pytest.fixture
def ab(daemon, pb, algs):
    a = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"), persistent=True)
    b = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("bob"), persistent=True)
    make_keys(a, pb, algs)
    yield a, b
    a.close()
    b.close()


def key_ops(b, pb, algs, a_point):
    """Every key opcode from B against A's names; each returns a status."""
    d = hashlib.sha256(MSG).digest()
    ecdsa = algs.ecdsa("SHA_256")
    KA = pb.psa_algorithm.Algorithm.KeyAgreement
    return {
        "PsaSignHash": lambda: b.sign_hash("ec", ecdsa, d)[0],
        "PsaVerifyHash": lambda: b.verify_hash("ec", ecdsa, d, b"\x01" * 64),
        "PsaSignMessage": lambda: b.sign_message("ec", ecdsa, MSG)[0],
        "PsaVerifyMessage": lambda: b.verify_message("ec", ecdsa, MSG, b"\x01" * 64),
        "PsaExportPublicKey": lambda: b.export_public_key("ec")[0],
        "PsaExportKey": lambda: b.export_key("ec")[0],
        "PsaAsymmetricEncrypt": lambda: b.asym_encrypt("rsa", algs.rsa_oaep("SHA_256"), MSG)[0],
        "PsaAsymmetricDecrypt": lambda: b.asym_decrypt("rsa", algs.rsa_oaep("SHA_256"),
                                                       b"\x00" * 256)[0],
        "PsaAeadEncrypt": lambda: b.aead_encrypt("aead", algs.aead("GCM"), b"\x00" * 12, b"",
                                                 MSG)[0],
        "PsaAeadDecrypt": lambda: b.aead_decrypt("aead", algs.aead("GCM"), b"\x00" * 12, b"",
                                                 b"\x00" * 32)[0],
        "PsaCipherEncrypt": lambda: b.cipher_encrypt("cbc", algs.cipher("CBC_PKCS7"), MSG)[0],
        "PsaCipherDecrypt": lambda: b.cipher_decrypt("cbc", algs.cipher("CBC_PKCS7"),
                                                     b"\x00" * 32)[0],
        "PsaMacCompute": lambda: b.mac_compute("mac", algs.hmac("SHA_256"), MSG)[0],
        "PsaMacVerify": lambda: b.mac_verify("mac", algs.hmac("SHA_256"), MSG, b"\x00" * 32),
        "PsaRawKeyAgreement": lambda: b.raw_key_agreement("dh", a_point, KA.ECDH)[0],
        "PsaDestroyKey": lambda: (b.destroy_key("ec"), b.destroy_key("rsa"),
                                  b.destroy_key("aead"), b.destroy_key("cbc"),
                                  b.destroy_key("mac"), b.destroy_key("dh")),
    }


OPS = ["PsaSignHash", "PsaVerifyHash", "PsaSignMessage", "PsaVerifyMessage",
       "PsaExportPublicKey", "PsaExportKey", "PsaAsymmetricEncrypt", "PsaAsymmetricDecrypt",
       "PsaAeadEncrypt", "PsaAeadDecrypt", "PsaCipherEncrypt", "PsaCipherDecrypt",
       "PsaMacCompute", "PsaMacVerify", "PsaRawKeyAgreement", "PsaDestroyKey"]


@pytest.mark.parametrize("opname", OPS)
def test_other_clients_key_does_not_exist(ab, pb, algs, opname):
    a, b = ab
    before = snapshot(a)
    st, point = a.export_public_key("dh")
    got = key_ops(b, pb, algs, point)[opname]()
    want = (ST.PSA_DOES_NOT_EXIST,) * 6 if opname == "PsaDestroyKey" else ST.PSA_DOES_NOT_EXIST
    assert got == want, "%s by bob on alice's key returned %r" % (opname, got)
    assert snapshot(a) == before
    # A's keys still work
    d = hashlib.sha256(MSG).digest()
    st, sig = a.sign_hash("ec", algs.ecdsa("SHA_256"), d)
    assert st == 0 and a.verify_hash("ec", algs.ecdsa("SHA_256"), d, sig) == 0


def test_same_name_is_a_different_key(ab, pb, algs):
    """Generate/import by B under A's names create B's own keys and leave A's alone."""
    a, b = ab
    before = snapshot(a)
    assert b.generate_key("ec", parsec.ecc_p256_sign_attrs(pb, "export")) == 0
    key = os.urandom(16)
    aes = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                       algs.policy(aead=algs.aead("GCM")), "encrypt", "decrypt", "export")
    assert b.import_key("aead", aes, key) == 0
    assert snapshot(a) == before
    assert b.export_public_key("ec")[1] != a.export_public_key("ec")[1]
    assert b.export_key("ec")[1] != a.export_key("ec")[1]
    assert b.export_key("aead") == (0, key)
    # B's ciphertext does not decrypt under A's same-named key
    nonce = os.urandom(12)
    st, ct = b.aead_encrypt("aead", algs.aead("GCM"), nonce, b"", MSG)
    assert st == 0
    assert a.aead_decrypt("aead", algs.aead("GCM"), nonce, b"", ct)[0] == \
        ST.PSA_INVALID_SIGNATURE
    assert sorted(k.name for k in b.list_keys()) == ["aead", "ec"]
    assert b.destroy_key("ec") == 0
    assert snapshot(a) == before


def test_list_keys_only_own(ab):
    a, b = ab
    assert sorted(k.name for k in a.list_keys()) == ["aead", "cbc", "dh", "ec", "mac", "rsa"]
    assert list(b.list_keys()) == []


def test_direct_and_unix_are_distinct(daemon, pb):
    """A direct client named like the caller's uid and the unix-peer client of that uid
    are different clients."""
    uid = str(os.getuid())
    direct_uid = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct(uid))
    unix = parsec.Client(daemon.sock, pb, auth=parsec.auth_unix())
    alice = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    assert unix.generate_key("shared", parsec.ecc_p256_sign_attrs(pb)) == 0
    assert direct_uid.export_public_key("shared")[0] == ST.PSA_DOES_NOT_EXIST
    assert alice.export_public_key("shared")[0] == ST.PSA_DOES_NOT_EXIST
    assert direct_uid.generate_key("shared", parsec.ecc_p256_sign_attrs(pb)) == 0
    assert unix.export_public_key("shared")[1] != direct_uid.export_public_key("shared")[1]
    assert direct_uid.destroy_key("shared") == 0
    assert unix.export_public_key("shared")[0] == 0
    assert [k.name for k in unix.list_keys()] == ["shared"]


def test_admin_delete_client_removes_only_that_client(daemon_factory, pb, algs):
    d = daemon_factory("[authenticator]\nadmins = direct:root-admin\n")
    admin = parsec.Client(d.sock, pb, auth=parsec.auth_direct("root-admin"))
    a = parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"))
    b = parsec.Client(d.sock, pb, auth=parsec.auth_direct("bob"))
    assert a.generate_key("k", parsec.ecc_p256_sign_attrs(pb)) == 0
    assert b.generate_key("k", parsec.ecc_p256_sign_attrs(pb)) == 0
    st, res = admin.list_clients()
    assert st == 0 and sorted(res.clients) == ["alice", "bob"]
    assert admin.delete_client("alice")[0] == 0
    assert list(a.list_keys()) == []
    assert [k.name for k in b.list_keys()] == ["k"]
    st, res = admin.list_clients()
    assert st == 0 and list(res.clients) == ["bob"]
    # the admin is a client like any other for its own keys; and a unix-peer admin
    # entry does not make a direct client of that name an admin
    st, _ = parsec.Client(d.sock, pb, auth=parsec.auth_unix()).list_clients()
    assert st == ST.ADMIN_OPERATION
