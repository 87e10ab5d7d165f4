"""Every PSA operation the soft provider serves, through the wire, each result checked
independently (OpenSSL command, hashlib, hmac) rather than by turtled itself."""

import hashlib
import hmac
import os

import pytest

import ossl
import parsec

ST = parsec.ST

MSG = b"turtles all the way down\n"


def P(pb):
    return pb.psa_key_attributes


# ---- asymmetric signatures ------------------------------------------------------------

@pytest.mark.parametrize("curve,bits,hname,md", [
    ("P-256", 256, "SHA_256", "sha256"),
    ("P-384", 384, "SHA_384", "sha384"),
    ("P-521", 521, "SHA_512", "sha512"),
])
def test_ecdsa_curves(client, pb, algs, wd, curve, bits, hname, md):
    alg = algs.ecdsa(hname)
    a = parsec.attrs(pb, parsec.ecc_pair(pb), bits,
                     algs.policy(asymmetric_signature=alg), "sign_hash", "verify_hash",
                     "sign_message", "verify_message")
    assert client.generate_key("ec", a) == 0
    st, point = client.export_public_key("ec")
    assert st == 0
    pem = ossl.pubkey_pem_from_point(wd, curve, point)
    digest = hashlib.new(md, MSG).digest()
    st, sig = client.sign_hash("ec", alg, digest)
    assert st == 0 and len(sig) == 2 * ((bits + 7) // 8)
    assert ossl.dgst_verify(wd, pem, MSG, ossl.ecdsa_raw_to_der(sig), md=md)
    assert client.verify_hash("ec", alg, digest, sig) == 0
    bad = bytes([sig[0] ^ 1]) + sig[1:]
    assert client.verify_hash("ec", alg, digest, bad) == ST.PSA_INVALID_SIGNATURE
    # message variants hash inside the service
    st, sig2 = client.sign_message("ec", alg, MSG)
    assert st == 0
    assert ossl.dgst_verify(wd, pem, MSG, ossl.ecdsa_raw_to_der(sig2), md=md)
    assert client.verify_message("ec", alg, MSG, sig2) == 0
    assert client.verify_message("ec", alg, MSG + b"x", sig2) == ST.PSA_INVALID_SIGNATURE


def test_ecdsa_verify_openssl_signature(client, pb, algs, wd):
    """Import an OpenSSL-generated P-256 private key (PSA format: the scalar), then check
    that the service's public key matches OpenSSL's and it verifies OpenSSL signatures."""
    key = ossl.genpkey(wd, "p256.pem", "-algorithm", "EC", "-pkeyopt",
                       "ec_paramgen_curve:P-256")
    spki = ossl.pub_der(wd, key)
    point = spki[-65:]
    text = ossl.run(["openssl", "pkey", "-in", key, "-text", "-noout"]).stdout.decode()
    priv_hex = text.split("priv:")[1].split("pub:")[0]
    scalar = bytes.fromhex("".join(priv_hex.split()).replace(":", ""))
    scalar = scalar[-32:].rjust(32, b"\x00")
    alg = algs.ecdsa("SHA_256")
    a = parsec.attrs(pb, parsec.ecc_pair(pb), 256, algs.policy(asymmetric_signature=alg),
                     "sign_hash", "verify_hash")
    assert client.import_key("imp", a, scalar) == 0
    st, got = client.export_public_key("imp")
    assert st == 0 and got == point
    sig_der = ossl.dgst_sign(wd, key, MSG)
    sig = ossl.ecdsa_der_to_raw(sig_der, 32)
    assert client.verify_hash("imp", alg, hashlib.sha256(MSG).digest(), sig) == 0


def rsa_key(client, pb, algs, name, alg_kw, *flags):
    a = parsec.attrs(pb, parsec.rsa_pair(pb), 2048, algs.policy(**alg_kw), *flags)
    assert client.generate_key(name, a) == 0
    st, der = client.export_public_key(name)
    assert st == 0
    return der


def test_rsa_pkcs1v15_sign(client, pb, algs, wd):
    alg = algs.rsa_pkcs1v15_sign("SHA_256")
    der = rsa_key(client, pb, algs, "rsa-sign", dict(asymmetric_signature=alg),
                  "sign_hash", "verify_hash")
    pem = ossl.pubkey_pem_from_rsa(wd, der)
    digest = hashlib.sha256(MSG).digest()
    st, sig = client.sign_hash("rsa-sign", alg, digest)
    assert st == 0 and len(sig) == 256
    assert ossl.dgst_verify(wd, pem, MSG, sig)
    assert client.verify_hash("rsa-sign", alg, digest, sig) == 0
    # PKCS#1 v1.5 is deterministic: a second signature is identical
    assert client.sign_hash("rsa-sign", alg, digest)[1] == sig


def test_rsa_pss_sign(client, pb, algs, wd):
    alg = algs.rsa_pss("SHA_256")
    der = rsa_key(client, pb, algs, "rsa-pss", dict(asymmetric_signature=alg),
                  "sign_hash", "verify_hash")
    pem = ossl.pubkey_pem_from_rsa(wd, der)
    digest = hashlib.sha256(MSG).digest()
    st, sig = client.sign_hash("rsa-pss", alg, digest)
    assert st == 0 and len(sig) == 256
    assert ossl.dgst_verify(wd, pem, MSG, sig, sigopts=("rsa_padding_mode:pss",
                                                        "rsa_pss_saltlen:auto"))
    assert client.verify_hash("rsa-pss", alg, digest, sig) == 0
    bad = sig[:-1] + bytes([sig[-1] ^ 0x55])
    assert client.verify_hash("rsa-pss", alg, digest, bad) == ST.PSA_INVALID_SIGNATURE


@pytest.mark.parametrize("mode", ["oaep", "pkcs1v15"])
def test_rsa_decrypt_openssl_ciphertext(client, pb, algs, wd, mode):
    alg = algs.rsa_oaep("SHA_256") if mode == "oaep" else algs.rsa_pkcs1v15_crypt()
    der = rsa_key(client, pb, algs, "rsa-enc", dict(asymmetric_encryption=alg),
                  "encrypt", "decrypt")
    pem = ossl.pubkey_pem_from_rsa(wd, der)
    secret = b"a 32-byte secret for the turtle!"
    pt = wd.file("pt.bin", secret)
    ct = wd.file("ct.bin")
    opts = []
    if mode == "oaep":
        opts = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                "-pkeyopt", "rsa_mgf1_md:sha256"]
    else:
        opts = ["-pkeyopt", "rsa_padding_mode:pkcs1"]
    ossl.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in", pt,
              "-out", ct] + opts)
    st, plain = client.asym_decrypt("rsa-enc", alg, wd.read("ct.bin"))
    assert st == 0 and plain == secret
    # and the service's own encryption round-trips
    st, c2 = client.asym_encrypt("rsa-enc", alg, secret)
    assert st == 0 and len(c2) == 256
    st, plain2 = client.asym_decrypt("rsa-enc", alg, c2)
    assert st == 0 and plain2 == secret
    tampered = bytes([c2[0] ^ 1]) + c2[1:]
    assert client.asym_decrypt("rsa-enc", alg, tampered)[0] != 0


# ---- symmetric ------------------------------------------------------------------------------

@pytest.mark.parametrize("aead,ktype,bits,nonce_len", [
    ("GCM", "aes", 256, 12),
    ("GCM", "aes", 128, 12),
    ("CCM", "aes", 128, 13),
    ("CHACHA20_POLY1305", "chacha20", 256, 12),
])
def test_aead_roundtrip_and_tamper(client, pb, algs, aead, ktype, bits, nonce_len):
    alg = algs.aead(aead)
    a = parsec.attrs(pb, parsec.simple_type(pb, ktype), bits, algs.policy(aead=alg),
                     "encrypt", "decrypt")
    assert client.generate_key("aead", a) == 0
    nonce = os.urandom(nonce_len)
    aad = b"header"
    st, ct = client.aead_encrypt("aead", alg, nonce, aad, MSG)
    assert st == 0 and len(ct) == len(MSG) + 16
    st, pt = client.aead_decrypt("aead", alg, nonce, aad, ct)
    assert st == 0 and pt == MSG
    for bad_ct, bad_aad in ((ct[:-1] + bytes([ct[-1] ^ 1]), aad),
                            (bytes([ct[0] ^ 1]) + ct[1:], aad),
                            (ct, b"Header")):
        assert client.aead_decrypt("aead", alg, nonce, bad_aad, bad_ct)[0] == \
            ST.PSA_INVALID_SIGNATURE


def test_aes_gcm_known_answer(client, pb, algs):
    """NIST GCM test case 3 (AES-128, 96-bit IV, no AAD) through an imported key."""
    key = bytes.fromhex("feffe9928665731c6d6a8f9467308308")
    iv = bytes.fromhex("cafebabefacedbaddecaf888")
    pt = bytes.fromhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                       "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
    want = bytes.fromhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                         "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
                         "4d5c2af327cd64a62cf35abd2ba6fab4")
    alg = algs.aead("GCM")
    a = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128, algs.policy(aead=alg),
                     "encrypt", "decrypt")
    assert client.import_key("kat", a, key) == 0
    st, ct = client.aead_encrypt("kat", alg, iv, b"", pt)
    assert st == 0 and ct == want


def test_cipher_cbc_pkcs7_vs_openssl(client, pb, algs, wd):
    key = os.urandom(16)
    alg = algs.cipher("CBC_PKCS7")
    a = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128, algs.policy(cipher=alg),
                     "encrypt", "decrypt")
    assert client.import_key("cbc", a, key) == 0
    st, out = client.cipher_encrypt("cbc", alg, MSG)
    assert st == 0
    # PSA's cipher_encrypt output is IV || ciphertext
    iv, ct = out[:16], out[16:]
    assert len(ct) == (len(MSG) // 16 + 1) * 16
    p = ossl.run(["openssl", "enc", "-d", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex(),
                  "-in", wd.file("ct.bin", ct)])
    assert p.stdout == MSG
    st, back = client.cipher_decrypt("cbc", alg, out)
    assert st == 0 and back == MSG
    # OpenSSL-made ciphertext decrypts in the service
    iv2 = os.urandom(16)
    p = ossl.run(["openssl", "enc", "-aes-128-cbc", "-K", key.hex(), "-iv", iv2.hex(),
                  "-in", wd.file("pt.bin", MSG * 3)])
    st, back = client.cipher_decrypt("cbc", alg, iv2 + p.stdout)
    assert st == 0 and back == MSG * 3


def test_hmac_sha256_vs_python(client, pb, algs):
    key = os.urandom(32)
    alg = algs.hmac("SHA_256")
    a = parsec.attrs(pb, parsec.simple_type(pb, "hmac"), 256, algs.policy(mac=alg),
                     "sign_hash", "verify_hash", "sign_message", "verify_message")
    assert client.import_key("hmac", a, key) == 0
    st, mac = client.mac_compute("hmac", alg, MSG)
    assert st == 0 and mac == hmac.new(key, MSG, hashlib.sha256).digest()
    assert client.mac_verify("hmac", alg, MSG, mac) == 0
    assert client.mac_verify("hmac", alg, MSG + b".", mac) == ST.PSA_INVALID_SIGNATURE
    assert client.mac_verify("hmac", alg, MSG, mac[:-1] + bytes([mac[-1] ^ 1])) == \
        ST.PSA_INVALID_SIGNATURE


def test_cmac_vs_openssl(client, pb, algs, wd):
    key = os.urandom(16)
    alg = algs.cmac()
    a = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128, algs.policy(mac=alg),
                     "sign_hash", "verify_hash", "sign_message", "verify_message")
    assert client.import_key("cmac", a, key) == 0
    st, mac = client.mac_compute("cmac", alg, MSG)
    assert st == 0 and len(mac) == 16
    p = ossl.run(["openssl", "mac", "-cipher", "AES-128-CBC", "-macopt", "hexkey:" + key.hex(),
                  "-in", wd.file("m.bin", MSG), "CMAC"])
    assert bytes.fromhex(p.stdout.decode().strip()) == mac
    assert client.mac_verify("cmac", alg, MSG, mac) == 0
    assert client.mac_verify("cmac", alg, b"other", mac) == ST.PSA_INVALID_SIGNATURE


@pytest.mark.parametrize("hname,py", [("SHA_256", "sha256"), ("SHA_384", "sha384"),
                                      ("SHA_512", "sha512"), ("SHA_224", "sha224")])
def test_hash_compute_compare(client, algs, hname, py):
    alg = algs.hash(hname)
    want = hashlib.new(py, MSG).digest()
    st, got = client.hash_compute(alg, MSG)
    assert st == 0 and got == want
    assert client.hash_compare(alg, MSG, want) == 0
    assert client.hash_compare(alg, MSG + b"!", want) == ST.PSA_INVALID_SIGNATURE


# ---- key agreement --------------------------------------------------------------------------

def test_ecdh_p256_vs_openssl(client, pb, algs, wd):
    KA = pb.psa_algorithm.Algorithm.KeyAgreement
    a = parsec.attrs(pb, parsec.ecc_pair(pb), 256, algs.policy(key_agreement=KA(raw=KA.ECDH)),
                     "derive")
    assert client.generate_key("ecdh", a) == 0
    st, ours = client.export_public_key("ecdh")
    assert st == 0
    peer = ossl.genpkey(wd, "peer.pem", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256")
    peer_point = ossl.pub_der(wd, peer)[-65:]
    st, secret = client.raw_key_agreement("ecdh", peer_point, KA.ECDH)
    assert st == 0 and len(secret) == 32
    ours_pem = ossl.pubkey_pem_from_point(wd, "P-256", ours, "ours.pem")
    out = wd.file("ss.bin")
    ossl.run(["openssl", "pkeyutl", "-derive", "-inkey", peer, "-peerkey", ours_pem,
              "-out", out])
    assert wd.read("ss.bin") == secret
    # a point not on the curve is refused
    bad = b"\x04" + b"\x01" * 64
    assert client.raw_key_agreement("ecdh", bad, KA.ECDH)[0] != 0


def test_x25519_vs_openssl(client, pb, algs, wd):
    KA = pb.psa_algorithm.Algorithm.KeyAgreement
    a = parsec.attrs(pb, parsec.ecc_pair(pb, "MONTGOMERY"), 255,
                     algs.policy(key_agreement=KA(raw=KA.ECDH)), "derive")
    assert client.generate_key("x25519", a) == 0
    st, ours = client.export_public_key("x25519")
    assert st == 0 and len(ours) == 32
    peer = ossl.genpkey(wd, "peer.pem", "-algorithm", "X25519")
    peer_raw = ossl.pub_der(wd, peer)[-32:]
    st, secret = client.raw_key_agreement("x25519", peer_raw, KA.ECDH)
    assert st == 0 and len(secret) == 32
    ours_pem = ossl.pubkey_pem_from_point(wd, "X25519", ours, "ours.pem")
    out = wd.file("ss.bin")
    ossl.run(["openssl", "pkeyutl", "-derive", "-inkey", peer, "-peerkey", ours_pem,
              "-out", out])
    assert wd.read("ss.bin") == secret


# ---- random, export, policy, can-do --------------------------------------------------------

@pytest.mark.parametrize("size", [1, 32, 1000])
def test_generate_random(client, size):
    st, a = client.generate_random(size)
    assert st == 0 and len(a) == size
    if size >= 32:
        st, b = client.generate_random(size)
        assert st == 0 and a != b


def test_export_policy(client, pb, algs):
    key = os.urandom(32)
    alg = algs.hmac("SHA_256")
    exp = parsec.attrs(pb, parsec.simple_type(pb, "hmac"), 256, algs.policy(mac=alg),
                       "sign_hash", "export")
    noexp = parsec.attrs(pb, parsec.simple_type(pb, "hmac"), 256, algs.policy(mac=alg),
                         "sign_hash")
    assert client.import_key("exp", exp, key) == 0
    assert client.import_key("noexp", noexp, key) == 0
    assert client.export_key("exp") == (0, key)
    assert client.export_key("noexp")[0] == ST.PSA_NOT_PERMITTED
    # ECC: exportable private key exports the scalar, whose public point matches
    assert client.generate_key("ec-exp", parsec.ecc_p256_sign_attrs(pb, "export")) == 0
    st, scalar = client.export_key("ec-exp")
    assert st == 0 and len(scalar) == 32
    assert client.generate_key("ec-noexp", parsec.ecc_p256_sign_attrs(pb)) == 0
    assert client.export_key("ec-noexp")[0] == ST.PSA_NOT_PERMITTED
    # the public part is always exportable
    assert client.export_public_key("ec-noexp")[0] == 0


def test_import_duplicate_name(client, pb):
    assert client.generate_key("dup", parsec.ecc_p256_sign_attrs(pb)) == 0
    assert client.generate_key("dup", parsec.ecc_p256_sign_attrs(pb)) == ST.PSA_ALREADY_EXISTS


def test_policy_wrong_algorithm_or_usage(client, pb, algs):
    assert client.generate_key("pol", parsec.ecc_p256_sign_attrs(pb)) == 0
    d384 = hashlib.sha384(MSG).digest()
    # ECDSA(SHA-384) is not the key's permitted algorithm
    assert client.sign_hash("pol", algs.ecdsa("SHA_384"), d384)[0] == ST.PSA_NOT_PERMITTED
    # RSA PKCS#1 on an ECC key
    d256 = hashlib.sha256(MSG).digest()
    assert client.sign_hash("pol", algs.rsa_pkcs1v15_sign("SHA_256"), d256)[0] in \
        (ST.PSA_NOT_PERMITTED, ST.PSA_INVALID_ARGUMENT)
    # verify-only key cannot sign
    a = parsec.attrs(pb, parsec.ecc_pair(pb), 256,
                     algs.policy(asymmetric_signature=algs.ecdsa("SHA_256")), "verify_hash")
    assert client.generate_key("verify-only", a) == 0
    assert client.sign_hash("verify-only", algs.ecdsa("SHA_256"), d256)[0] == \
        ST.PSA_NOT_PERMITTED
    # AES key with GCM policy used for CCM
    g = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                     algs.policy(aead=algs.aead("GCM")), "encrypt", "decrypt")
    assert client.generate_key("gcm", g) == 0
    assert client.aead_encrypt("gcm", algs.aead("CCM"), os.urandom(13), b"", MSG)[0] == \
        ST.PSA_NOT_PERMITTED
    # encrypt-only key cannot decrypt
    e = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 128,
                     algs.policy(aead=algs.aead("GCM")), "encrypt")
    assert client.generate_key("enc-only", e) == 0
    nonce = os.urandom(12)
    st, ct = client.aead_encrypt("enc-only", algs.aead("GCM"), nonce, b"", MSG)
    assert st == 0
    assert client.aead_decrypt("enc-only", algs.aead("GCM"), nonce, b"", ct)[0] == \
        ST.PSA_NOT_PERMITTED


def test_can_do_crypto(client, pb, algs):
    CT = pb.can_do_crypto
    assert client.can_do_crypto(CT.GENERATE, parsec.ecc_p256_sign_attrs(pb)) == 0
    assert client.can_do_crypto(CT.USE, parsec.ecc_p256_sign_attrs(pb)) == 0
    # binary curves are not offered
    sect = parsec.attrs(pb, parsec.ecc_pair(pb, "SECT_K1"), 233,
                        algs.policy(asymmetric_signature=algs.ecdsa("SHA_256")), "sign_hash")
    assert client.can_do_crypto(CT.GENERATE, sect) == ST.PSA_NOT_SUPPORTED
    # RSA 1024 is below the supported range
    rsa1k = parsec.attrs(pb, parsec.rsa_pair(pb), 1024,
                         algs.policy(asymmetric_signature=algs.rsa_pss("SHA_256")),
                         "sign_hash")
    assert client.can_do_crypto(CT.GENERATE, rsa1k) == ST.PSA_NOT_SUPPORTED


def test_generate_unsupported(client, pb, algs):
    sect = parsec.attrs(pb, parsec.ecc_pair(pb, "SECT_K1"), 233,
                        algs.policy(asymmetric_signature=algs.ecdsa("SHA_256")), "sign_hash")
    assert client.generate_key("sect", sect) == ST.PSA_NOT_SUPPORTED
    assert [k.name for k in client.list_keys()] == []


def test_rsa_3072_import_export_roundtrip(client, pb, algs, wd):
    alg = algs.rsa_pkcs1v15_sign("SHA_256")
    key = ossl.genpkey(wd, "rsa.pem", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072")
    der = wd.file("rsa.der")
    ossl.run(["openssl", "rsa", "-in", key, "-outform", "DER", "-traditional", "-out", der])
    pkcs1 = wd.read("rsa.der")
    a = parsec.attrs(pb, parsec.rsa_pair(pb), 3072, algs.policy(asymmetric_signature=alg),
                     "sign_hash", "verify_hash", "export")
    assert client.import_key("rsa-imp", a, pkcs1) == 0
    st, out = client.export_key("rsa-imp")
    assert st == 0 and out == pkcs1
    st, pub = client.export_public_key("rsa-imp")
    assert st == 0
    pubder = wd.file("pub1.der")
    ossl.run(["openssl", "rsa", "-in", key, "-RSAPublicKey_out", "-outform", "DER",
              "-out", pubder])
    assert pub == wd.read("pub1.der")


def test_import_with_bits_zero_records_real_size(client, pb, algs, wd):
    """PSA: an import with bits = 0 takes the size from the data; ListKeys must show it."""
    key = ossl.genpkey(wd, "rsa0.pem", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072")
    der = wd.file("rsa0.der")
    ossl.run(["openssl", "rsa", "-in", key, "-outform", "DER", "-traditional", "-out", der])
    alg = algs.rsa_pkcs1v15_sign("SHA_256")
    a = parsec.attrs(pb, parsec.rsa_pair(pb), 0, algs.policy(asymmetric_signature=alg),
                     "sign_hash", "verify_hash")
    assert client.import_key("rsa-bits0", a, wd.read("rsa0.der")) == 0
    aes = parsec.attrs(pb, parsec.simple_type(pb, "aes"), 0, algs.policy(aead=algs.aead("GCM")),
                       "encrypt", "decrypt")
    assert client.import_key("aes-bits0", aes, bytes(range(24))) == 0
    sizes = {k.name: k.attributes.key_bits for k in client.list_keys()}
    assert sizes == {"rsa-bits0": 3072, "aes-bits0": 192}
    # a malformed RSA key with bits 0 is refused, not stored with a guessed size
    assert client.import_key("rsa-bad", a, b"\x30\x03\x02\x01\x01") == parsec.ST.PSA_INVALID_ARGUMENT
