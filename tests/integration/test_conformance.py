"""The provider conformance suite: the same cases against every provider.

Each test runs once per provider (soft; pkcs11 on a SoftHSM2 token; tpm on swtpm), each
against a turtled configured with that provider alone (one daemon per provider per module;
every test uses its own client name, so tests never see each other's keys). Results are
checked outside turtled: signatures and ciphertexts with the openssl command, digests with
hashlib. A case a provider does not support must be refused consistently: CanDoCrypto says
no and the operation answers NotSupported (or InvalidArgument); the capability table in
conformance.py says which cases each provider must support. See docs/conformance.md.
"""

import hashlib
import os

import pytest

import conformance
import ossl
import parsec
from conformance import PROVIDERS, REQUIRED, REQUIRED_OPCODES, ST

OP = parsec.OP
MSG = b"the bottom turtle signs this\n"
REFUSED = (ST.PSA_NOT_SUPPORTED, ST.PSA_INVALID_ARGUMENT)


@pytest.fixture(scope="module", params=PROVIDERS)
def prov(request, pb, turtled_bin):
    yield from conformance.provider_env(request, pb, turtled_bin)


@pytest.fixture
def c(prov):
    with prov.client() as cl:
        yield cl


@pytest.fixture(scope="module")
def opcodes(prov):
    with prov.client() as cl:
        return set(cl.list_opcodes(prov.id))


def CT(prov):
    return prov.pb.can_do_crypto


# ---- the case table ------------------------------------------------------------------------

# id, key kind, bits, signature algorithm (Algs method), PSA hash, openssl digest, curve
SIGN_CASES = [
    ("ecc-p256-ecdsa-sha256", "ecc", 256, "ecdsa", "SHA_256", "sha256", "P-256"),
    ("ecc-p384-ecdsa-sha384", "ecc", 384, "ecdsa", "SHA_384", "sha384", "P-384"),
    ("ecc-p521-ecdsa-sha512", "ecc", 521, "ecdsa", "SHA_512", "sha512", "P-521"),
    ("rsa2048-pkcs1v15-sha256", "rsa", 2048, "rsa_pkcs1v15_sign", "SHA_256", "sha256", None),
    ("rsa2048-pss-sha256", "rsa", 2048, "rsa_pss", "SHA_256", "sha256", None),
]
# id, encryption algorithm, openssl pkeyutl options
CRYPT_CASES = [
    ("rsa2048-oaep-sha256", "oaep", ["-pkeyopt", "rsa_padding_mode:oaep",
                                     "-pkeyopt", "rsa_oaep_md:sha256",
                                     "-pkeyopt", "rsa_mgf1_md:sha256"]),
    ("rsa2048-pkcs1v15-crypt", "pkcs1", ["-pkeyopt", "rsa_padding_mode:pkcs1"]),
]
SIGN_FLAGS = ("sign_hash", "verify_hash", "sign_message", "verify_message")


def key_type(pb, kind):
    return parsec.ecc_pair(pb) if kind == "ecc" else parsec.rsa_pair(pb)


def sign_attrs(pb, algs, kind, bits, method, h, *flags):
    alg = getattr(algs, method)(h)
    return alg, parsec.attrs(pb, key_type(pb, kind), bits,
                             algs.policy(asymmetric_signature=alg), *(flags or SIGN_FLAGS))


def crypt_alg(algs, mode):
    return algs.rsa_oaep("SHA_256") if mode == "oaep" else algs.rsa_pkcs1v15_crypt()


def crypt_attrs(pb, algs, mode, *flags):
    alg = crypt_alg(algs, mode)
    return alg, parsec.attrs(pb, parsec.rsa_pair(pb), 2048,
                             algs.policy(asymmetric_encryption=alg),
                             *(flags or ("encrypt", "decrypt")))


def create_checked(prov, c, case_id, name, a, data=None):
    """Create a key (generate, or import `data`) after asking CanDoCrypto, and hold the
    two answers to each other: CanDoCrypto yes -> created; no -> refused with NotSupported
    or InvalidArgument, and the test ends as a skip naming the agreed refusal. A case in
    the provider's REQUIRED set must be supported. Returns CanDoCrypto(USE)."""
    check = CT(prov).GENERATE if data is None else CT(prov).IMPORT
    what = "GenerateKey" if data is None else "ImportKey"
    cd = c.can_do_crypto(check, a)
    cu = c.can_do_crypto(CT(prov).USE, a)
    if case_id in REQUIRED[prov.name]:
        assert cd == 0, "%s: CanDoCrypto(%s) for required case %s -> %d" % (
            prov.name, what, case_id, cd)
        assert cu == 0, "%s: CanDoCrypto(USE) for required case %s -> %d" % (
            prov.name, case_id, cu)
    st = c.generate_key(name, a) if data is None else c.import_key(name, a, data)
    if cd != 0:
        assert cd in REFUSED, "%s: CanDoCrypto(%s) %s -> %d" % (prov.name, what, case_id, cd)
        assert st in REFUSED, "%s: CanDoCrypto(%s) said %d for %s but %s returned %d" % (
            prov.name, what, cd, case_id, what, st)
        assert [k.name for k in c.list_keys()] == [], "refused key left in ListKeys"
        pytest.skip("%s does not support %s (CanDoCrypto and %s agree: %d)" % (
            prov.name, case_id, what, st))
    assert st == 0, "%s: %s %s -> %d although CanDoCrypto said yes" % (
        prov.name, what, case_id, st)
    return cu


def use_refused(prov, case_id, cu, st):
    """When CanDoCrypto(USE) said no, the operation must be refused the same way."""
    assert cu in REFUSED, "%s: CanDoCrypto(USE) %s -> %d" % (prov.name, case_id, cu)
    assert st in REFUSED, "%s: CanDoCrypto(USE) said %d for %s but the operation gave %d" % (
        prov.name, cu, case_id, st)
    pytest.skip("%s cannot use %s (CanDoCrypto and the operation agree: %d)" % (
        prov.name, case_id, st))


def public_pem(wd, kind, curve, pub):
    if kind == "ecc":
        return ossl.pubkey_pem_from_point(wd, curve, pub)
    pem = ossl.pubkey_pem_from_rsa(wd, pub)
    text = ossl.run(["openssl", "pkey", "-pubin", "-in", pem, "-text", "-noout"]).stdout
    assert b"2048 bit" in text
    return pem


def sig_to_der(kind, sig):
    return ossl.ecdsa_raw_to_der(sig) if kind == "ecc" else sig


PSS_OPTS = ("rsa_padding_mode:pss", "rsa_pss_saltlen:digest")


# ---- signatures ---------------------------------------------------------------------------

@pytest.mark.parametrize("case_id,kind,bits,method,h,md,curve", SIGN_CASES,
                         ids=[s[0] for s in SIGN_CASES])
def test_sign(prov, c, algs, wd, opcodes, case_id, kind, bits, method, h, md, curve):
    alg, a = sign_attrs(prov.pb, algs, kind, bits, method, h)
    cu = create_checked(prov, c, case_id, "sig", a)
    st, pub = c.export_public_key("sig")
    assert st == 0, "ExportPublicKey -> %d" % st
    pem = public_pem(wd, kind, curve, pub)
    digest = hashlib.new(md, MSG).digest()
    st, sig = c.sign_hash("sig", alg, digest)
    if cu != 0:
        use_refused(prov, case_id, cu, st)
    assert st == 0, "SignHash -> %d" % st
    want_len = 2 * ((bits + 7) // 8) if kind == "ecc" else bits // 8
    assert len(sig) == want_len
    sigopts = PSS_OPTS if method == "rsa_pss" else ()
    assert ossl.dgst_verify(wd, pem, MSG, sig_to_der(kind, sig), md=md, sigopts=sigopts), \
        "openssl rejects the %s signature" % case_id
    assert c.verify_hash("sig", alg, digest, sig) == 0
    bad = sig[:-1] + bytes([sig[-1] ^ 1])
    assert c.verify_hash("sig", alg, digest, bad) == ST.PSA_INVALID_SIGNATURE
    other = hashlib.new(md, MSG + b"!").digest()
    assert c.verify_hash("sig", alg, other, sig) == ST.PSA_INVALID_SIGNATURE
    # a digest of the wrong length for the algorithm's hash
    assert c.sign_hash("sig", alg, digest[:-1])[0] == ST.PSA_INVALID_ARGUMENT
    if OP.PSA_SIGN_MESSAGE in opcodes:
        st, msig = c.sign_message("sig", alg, MSG)
        assert st == 0, "SignMessage -> %d" % st
        assert ossl.dgst_verify(wd, pem, MSG, sig_to_der(kind, msig), md=md, sigopts=sigopts)
    if OP.PSA_VERIFY_MESSAGE in opcodes:
        assert c.verify_message("sig", alg, MSG, sig) == 0
        assert c.verify_message("sig", alg, MSG + b"x", sig) == ST.PSA_INVALID_SIGNATURE


# ---- asymmetric encryption ------------------------------------------------------------------

@pytest.mark.parametrize("case_id,mode,opts", CRYPT_CASES, ids=[x[0] for x in CRYPT_CASES])
def test_encrypt(prov, c, algs, wd, case_id, mode, opts):
    alg, a = crypt_attrs(prov.pb, algs, mode)
    cu = create_checked(prov, c, case_id, "enc", a)
    st, pub = c.export_public_key("enc")
    assert st == 0
    pem = public_pem(wd, "rsa", None, pub)
    secret = os.urandom(32)
    ossl.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem,
              "-in", wd.file("pt.bin", secret), "-out", wd.file("ct.bin")] + opts)
    st, plain = c.asym_decrypt("enc", alg, wd.read("ct.bin"))
    if cu != 0:
        use_refused(prov, case_id, cu, st)
    assert st == 0 and plain == secret, "AsymmetricDecrypt of openssl's ciphertext -> %d" % st
    st, ct1 = c.asym_encrypt("enc", alg, secret)
    assert st == 0 and len(ct1) == 256, "AsymmetricEncrypt -> %d" % st
    st, ct2 = c.asym_encrypt("enc", alg, secret)
    assert st == 0 and ct1 != ct2, "RSA encryption padding must be randomised"
    st, back = c.asym_decrypt("enc", alg, ct1)
    assert st == 0 and back == secret
    tampered = bytes([ct1[0] ^ 0x40]) + ct1[1:]
    st, back = c.asym_decrypt("enc", alg, tampered)
    assert st != 0 or back != secret
    # OAEP: too long a message for the modulus
    if mode == "oaep":
        assert c.asym_encrypt("enc", alg, os.urandom(200))[0] == ST.PSA_INVALID_ARGUMENT


# ---- import ----------------------------------------------------------------------------------

def _openssl_ec_p256(wd):
    key = ossl.genpkey(wd, "p256.pem", "-algorithm", "EC", "-pkeyopt",
                       "ec_paramgen_curve:P-256")
    point = ossl.pub_der(wd, key)[-65:]
    text = ossl.run(["openssl", "pkey", "-in", key, "-text", "-noout"]).stdout.decode()
    priv_hex = text.split("priv:")[1].split("pub:")[0]
    scalar = bytes.fromhex("".join(priv_hex.split()).replace(":", ""))
    return key, point, scalar[-32:].rjust(32, b"\x00")


def _openssl_rsa2048(wd):
    key = ossl.genpkey(wd, "rsa.pem", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
    priv = wd.file("rsa.der")
    ossl.run(["openssl", "rsa", "-in", key, "-outform", "DER", "-traditional", "-out", priv])
    pub = wd.file("rsapub.der")
    ossl.run(["openssl", "rsa", "-in", key, "-RSAPublicKey_out", "-outform", "DER",
              "-out", pub])
    return key, wd.read("rsa.der"), wd.read("rsapub.der")


def test_import_ecc_p256(prov, c, algs, wd):
    key, point, scalar = _openssl_ec_p256(wd)
    alg, a = sign_attrs(prov.pb, algs, "ecc", 256, "ecdsa", "SHA_256")
    cu = create_checked(prov, c, "import-ecc-p256", "imp", a, data=scalar)
    st, got = c.export_public_key("imp")
    assert st == 0 and got == point, "public key of the imported scalar differs from openssl's"
    digest = hashlib.sha256(MSG).digest()
    st, sig = c.sign_hash("imp", alg, digest)
    if cu != 0:
        use_refused(prov, "import-ecc-p256", cu, st)
    assert st == 0
    pem = wd.file("p256pub.pem")
    ossl.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pem])
    assert ossl.dgst_verify(wd, pem, MSG, ossl.ecdsa_raw_to_der(sig))
    osig = ossl.ecdsa_der_to_raw(ossl.dgst_sign(wd, key, MSG), 32)
    assert c.verify_hash("imp", alg, digest, osig) == 0


def test_import_rsa2048(prov, c, algs, wd):
    key, priv, pub = _openssl_rsa2048(wd)
    alg, a = sign_attrs(prov.pb, algs, "rsa", 2048, "rsa_pkcs1v15_sign", "SHA_256")
    cu = create_checked(prov, c, "import-rsa2048", "imp", a, data=priv)
    st, got = c.export_public_key("imp")
    assert st == 0 and got == pub, "exported RSAPublicKey differs from openssl's"
    digest = hashlib.sha256(MSG).digest()
    st, sig = c.sign_hash("imp", alg, digest)
    if cu != 0:
        use_refused(prov, "import-rsa2048", cu, st)
    assert st == 0
    # PKCS#1 v1.5 is deterministic: the same bytes as openssl's own signature
    assert sig == ossl.dgst_sign(wd, key, MSG)


def test_import_ecc_p256_public(prov, c, algs, wd):
    key, point, _ = _openssl_ec_p256(wd)
    alg = algs.ecdsa("SHA_256")
    KT = prov.pb.psa_key_attributes.KeyType
    kt = KT(ecc_public_key=KT.EccPublicKey(curve_family=KT.SECP_R1))
    a = parsec.attrs(prov.pb, kt, 256, algs.policy(asymmetric_signature=alg),
                     "verify_hash", "verify_message")
    cu = create_checked(prov, c, "import-ecc-p256-public", "pub", a, data=point)
    assert c.export_public_key("pub") == (0, point)
    digest = hashlib.sha256(MSG).digest()
    osig = ossl.ecdsa_der_to_raw(ossl.dgst_sign(wd, key, MSG), 32)
    st = c.verify_hash("pub", alg, digest, osig)
    if cu != 0:
        use_refused(prov, "import-ecc-p256-public", cu, st)
    assert st == 0
    assert c.verify_hash("pub", alg, digest, osig[:-1] + bytes([osig[-1] ^ 1])) == \
        ST.PSA_INVALID_SIGNATURE
    # a public key cannot sign (no sign flag, and no private part)
    assert c.sign_hash("pub", alg, digest)[0] in (ST.PSA_NOT_PERMITTED, ST.PSA_INVALID_ARGUMENT)


def test_import_rsa2048_public(prov, c, algs, wd):
    key, _, pub = _openssl_rsa2048(wd)
    alg = algs.rsa_oaep("SHA_256")
    KT = prov.pb.psa_key_attributes.KeyType
    a = parsec.attrs(prov.pb, KT(rsa_public_key=KT.RsaPublicKey()), 2048,
                     algs.policy(asymmetric_encryption=alg), "encrypt")
    cu = create_checked(prov, c, "import-rsa2048-public", "pub", a, data=pub)
    assert c.export_public_key("pub") == (0, pub)
    secret = os.urandom(24)
    st, ct = c.asym_encrypt("pub", alg, secret)
    if cu != 0:
        use_refused(prov, "import-rsa2048-public", cu, st)
    assert st == 0
    p = ossl.run(["openssl", "pkeyutl", "-decrypt", "-inkey", key,
                  "-in", wd.file("ct.bin", ct), "-pkeyopt", "rsa_padding_mode:oaep",
                  "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"])
    assert p.stdout == secret


# ---- keyless operations -----------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 32, 1000])
def test_generate_random(prov, c, opcodes, size):
    if OP.PSA_GENERATE_RANDOM not in opcodes:
        assert c.generate_random(size)[0] == ST.PSA_NOT_SUPPORTED
        pytest.skip("%s does not list GenerateRandom (and refuses it)" % prov.name)
    st, a = c.generate_random(size)
    assert st == 0 and len(a) == size
    if size >= 32:
        st, b = c.generate_random(size)
        assert st == 0 and a != b


@pytest.mark.parametrize("hname,py", [("SHA_256", "sha256"), ("SHA_384", "sha384"),
                                      ("SHA_512", "sha512")])
def test_hash(prov, c, algs, opcodes, hname, py):
    alg = algs.hash(hname)
    want = hashlib.new(py, MSG).digest()
    if OP.PSA_HASH_COMPUTE not in opcodes:
        assert c.hash_compute(alg, MSG)[0] == ST.PSA_NOT_SUPPORTED
    else:
        assert c.hash_compute(alg, MSG) == (0, want)
    if OP.PSA_HASH_COMPARE not in opcodes:
        assert c.hash_compare(alg, MSG, want) == ST.PSA_NOT_SUPPORTED
    else:
        assert c.hash_compare(alg, MSG, want) == 0
        assert c.hash_compare(alg, MSG + b".", want) == ST.PSA_INVALID_SIGNATURE


# ---- a key every provider can make, for the policy/error/isolation/restart cases -------------

def basic_sign_key(prov, c, algs, name, *flags):
    """An ECC P-256 ECDSA(SHA-256) key, or RSA-2048 PKCS#1 v1.5 when P-256 is not offered.
    Returns (kind, alg, attrs)."""
    for kind, bits, method, h in (("ecc", 256, "ecdsa", "SHA_256"),
                                  ("rsa", 2048, "rsa_pkcs1v15_sign", "SHA_256")):
        alg, a = sign_attrs(prov.pb, algs, kind, bits, method, h, *flags)
        if c.can_do_crypto(CT(prov).GENERATE, a) == 0:
            assert c.generate_key(name, a) == 0
            return kind, alg, a
    pytest.fail("%s can generate neither ECC P-256 nor RSA-2048 signing keys" % prov.name)


def basic_crypt_key(prov, c, algs, name, mode="oaep", *flags):
    alg, a = crypt_attrs(prov.pb, algs, mode, *flags)
    if c.can_do_crypto(CT(prov).GENERATE, a) != 0:
        return None, None
    assert c.generate_key(name, a) == 0
    return alg, a


# ---- policy enforcement -----------------------------------------------------------------------

def test_policy_usage_flags(prov, c, algs):
    d = hashlib.sha256(MSG).digest()
    kind, alg, _ = basic_sign_key(prov, c, algs, "verify-only", "verify_hash")
    assert c.sign_hash("verify-only", alg, d)[0] == ST.PSA_NOT_PERMITTED
    basic_sign_key(prov, c, algs, "sign-only", "sign_hash")
    st, sig = c.sign_hash("sign-only", alg, d)
    assert st == 0
    assert c.verify_hash("sign-only", alg, d, sig) == ST.PSA_NOT_PERMITTED
    alg_e, _ = basic_crypt_key(prov, c, algs, "enc-only", "oaep", "encrypt")
    if alg_e is not None:
        st, ct = c.asym_encrypt("enc-only", alg_e, b"x" * 16)
        assert st == 0
        assert c.asym_decrypt("enc-only", alg_e, ct)[0] == ST.PSA_NOT_PERMITTED
        basic_crypt_key(prov, c, algs, "dec-only", "oaep", "decrypt")
        assert c.asym_encrypt("dec-only", alg_e, b"x" * 16)[0] == ST.PSA_NOT_PERMITTED


def test_policy_wrong_algorithm(prov, c, algs):
    kind, alg, _ = basic_sign_key(prov, c, algs, "pol")
    d384 = hashlib.sha384(MSG).digest()
    d256 = hashlib.sha256(MSG).digest()
    other = algs.ecdsa("SHA_384") if kind == "ecc" else algs.rsa_pkcs1v15_sign("SHA_384")
    assert c.sign_hash("pol", other, d384)[0] == ST.PSA_NOT_PERMITTED
    wrong_family = algs.rsa_pss("SHA_256") if kind == "ecc" else algs.ecdsa("SHA_256")
    assert c.sign_hash("pol", wrong_family, d256)[0] in (ST.PSA_NOT_PERMITTED,
                                                         ST.PSA_INVALID_ARGUMENT)
    alg_e, _ = basic_crypt_key(prov, c, algs, "oaep-key", "oaep")
    if alg_e is not None:
        assert c.asym_encrypt("oaep-key", algs.rsa_pkcs1v15_crypt(), b"x")[0] == \
            ST.PSA_NOT_PERMITTED
        # a signing algorithm is no encryption algorithm
        assert c.sign_hash("oaep-key", algs.rsa_pkcs1v15_sign("SHA_256"), d256)[0] in \
            (ST.PSA_NOT_PERMITTED, ST.PSA_INVALID_ARGUMENT)


def test_policy_export(prov, c, algs, opcodes):
    basic_sign_key(prov, c, algs, "noexp")
    st = c.export_key("noexp")[0]
    if OP.PSA_EXPORT_KEY in opcodes:
        assert st == ST.PSA_NOT_PERMITTED
    else:
        assert st == ST.PSA_NOT_SUPPORTED
    # the public part is always exportable
    assert c.export_public_key("noexp")[0] == 0


# ---- error statuses ---------------------------------------------------------------------------

def key_requests(c, algs, name):
    """One request per key opcode, naming `name`: (opcode, status)."""
    d = hashlib.sha256(MSG).digest()
    e = algs.ecdsa("SHA_256")
    oaep = algs.rsa_oaep("SHA_256")
    return [
        (OP.PSA_SIGN_HASH, lambda: c.sign_hash(name, e, d)[0]),
        (OP.PSA_VERIFY_HASH, lambda: c.verify_hash(name, e, d, b"\x01" * 64)),
        (OP.PSA_SIGN_MESSAGE, lambda: c.sign_message(name, e, MSG)[0]),
        (OP.PSA_VERIFY_MESSAGE, lambda: c.verify_message(name, e, MSG, b"\x01" * 64)),
        (OP.PSA_EXPORT_PUBLIC_KEY, lambda: c.export_public_key(name)[0]),
        (OP.PSA_EXPORT_KEY, lambda: c.export_key(name)[0]),
        (OP.PSA_ASYMMETRIC_ENCRYPT, lambda: c.asym_encrypt(name, oaep, b"x")[0]),
        (OP.PSA_ASYMMETRIC_DECRYPT, lambda: c.asym_decrypt(name, oaep, b"\x01" * 256)[0]),
        (OP.PSA_AEAD_ENCRYPT, lambda: c.aead_encrypt(name, algs.aead("GCM"), b"\0" * 12, b"",
                                                     b"x")[0]),
        (OP.PSA_AEAD_DECRYPT, lambda: c.aead_decrypt(name, algs.aead("GCM"), b"\0" * 12, b"",
                                                     b"x" * 17)[0]),
        (OP.PSA_CIPHER_ENCRYPT, lambda: c.cipher_encrypt(name, algs.cipher("CBC_PKCS7"),
                                                         b"x")[0]),
        (OP.PSA_CIPHER_DECRYPT, lambda: c.cipher_decrypt(name, algs.cipher("CBC_PKCS7"),
                                                         b"x" * 32)[0]),
        (OP.PSA_MAC_COMPUTE, lambda: c.mac_compute(name, algs.hmac("SHA_256"), b"x")[0]),
        (OP.PSA_MAC_VERIFY, lambda: c.mac_verify(name, algs.hmac("SHA_256"), b"x",
                                                 b"\0" * 32)),
        (OP.PSA_RAW_KEY_AGREEMENT, lambda: c.raw_key_agreement(name, b"\x04" + b"\x01" * 64)[0]),
        (OP.PSA_DESTROY_KEY, lambda: c.destroy_key(name)),
    ]


def test_missing_key(prov, c, algs, opcodes):
    bad = []
    for op, req in key_requests(c, algs, "no-such-key"):
        want = ST.PSA_DOES_NOT_EXIST if op in opcodes else ST.PSA_NOT_SUPPORTED
        got = req()
        if got != want:
            bad.append("opcode 0x%02x: got %d, expected %d" % (op, got, want))
    assert not bad, "%s, missing key: %s" % (prov.name, "; ".join(bad))


def test_duplicate_name(prov, c, algs, wd, opcodes):
    kind, alg, a = basic_sign_key(prov, c, algs, "dup")
    st, pub = c.export_public_key("dup")
    assert c.generate_key("dup", a) == ST.PSA_ALREADY_EXISTS
    if OP.PSA_IMPORT_KEY in opcodes and kind == "ecc":
        _, _, scalar = _openssl_ec_p256(wd)
        assert c.import_key("dup", a, scalar) == ST.PSA_ALREADY_EXISTS
    # the first key is untouched, and after a destroy the name is free again
    assert c.export_public_key("dup") == (0, pub)
    assert c.destroy_key("dup") == 0
    assert c.export_public_key("dup")[0] == ST.PSA_DOES_NOT_EXIST
    assert c.generate_key("dup", a) == 0
    assert c.export_public_key("dup")[1] != pub


def test_bad_attributes(prov, c, algs, opcodes):
    # ECC key pair of a size that is not the curve's (SECP_R1 has no 255-bit curve)
    alg, a = sign_attrs(prov.pb, algs, "ecc", 255, "ecdsa", "SHA_256")
    st = c.generate_key("bad", a)
    assert st in REFUSED, "generate ECC 255 bits -> %d" % st
    assert c.can_do_crypto(CT(prov).GENERATE, a) in REFUSED
    # key bits 0 on generate: PSA needs a size to generate
    alg, a = sign_attrs(prov.pb, algs, "ecc", 0, "ecdsa", "SHA_256")
    assert c.generate_key("bad", a) == ST.PSA_INVALID_ARGUMENT
    # empty key name
    kind, alg, a = basic_sign_key(prov, c, algs, "good")
    assert c.generate_key("", a) == ST.PSA_INVALID_ARGUMENT
    if OP.PSA_IMPORT_KEY in opcodes:
        _, ai = sign_attrs(prov.pb, algs, "ecc", 256, "ecdsa", "SHA_256")
        if c.can_do_crypto(CT(prov).IMPORT, ai) == 0:
            assert c.import_key("bad", ai, os.urandom(31)) == ST.PSA_INVALID_ARGUMENT
            assert c.import_key("bad", ai, b"") == ST.PSA_INVALID_ARGUMENT
    assert [k.name for k in c.list_keys()] == ["good"]


# ---- cross-client isolation -----------------------------------------------------------------

def test_cross_client_isolation(prov, algs, opcodes):
    with prov.client() as a, prov.client() as b:
        kind, alg, attrs = basic_sign_key(prov, a, algs, "mine")
        st, pub = a.export_public_key("mine")
        assert st == 0
        bad = []
        for op, req in key_requests(b, algs, "mine"):
            want = ST.PSA_DOES_NOT_EXIST if op in opcodes else ST.PSA_NOT_SUPPORTED
            got = req()
            if got != want:
                bad.append("opcode 0x%02x: got %d, expected %d" % (op, got, want))
        assert not bad, "%s, other client's key: %s" % (prov.name, "; ".join(bad))
        assert [k.name for k in b.list_keys()] == []
        # the same name is another key in b's namespace
        assert b.generate_key("mine", attrs) == 0
        assert b.export_public_key("mine")[1] != pub
        assert a.export_public_key("mine") == (0, pub)
        d = hashlib.sha256(MSG).digest()
        st, sig = a.sign_hash("mine", alg, d)
        assert st == 0 and a.verify_hash("mine", alg, d, sig) == 0
        assert b.verify_hash("mine", alg, d, sig) == ST.PSA_INVALID_SIGNATURE


# ---- restart persistence ----------------------------------------------------------------------

def test_restart_persistence(prov, algs, wd):
    """Keys survive a turtled restart, and for the TPM a TPM restart (swtpm stopped and
    started again: a TPM reset, volatile objects and handles gone)."""
    with prov.client(app="conf-restart") as c:
        kind, alg, _ = basic_sign_key(prov, c, algs, "persist")
        st, pub = c.export_public_key("persist")
        assert st == 0
        alg_e, _ = basic_crypt_key(prov, c, algs, "persist-enc")
        if alg_e is not None:
            st, epub = c.export_public_key("persist-enc")
            assert st == 0
        prov.restart(backend=True)
        assert sorted(k.name for k in c.list_keys()) == sorted(
            ["persist"] + (["persist-enc"] if alg_e is not None else []))
        assert c.export_public_key("persist") == (0, pub)
        d = hashlib.sha256(MSG).digest()
        st, sig = c.sign_hash("persist", alg, d)
        assert st == 0, "SignHash after restart -> %d" % st
        pem = public_pem(wd, kind, "P-256", pub)
        assert ossl.dgst_verify(wd, pem, MSG, sig_to_der(kind, sig))
        if alg_e is not None:
            pem = public_pem(wd, "rsa", None, epub)
            secret = os.urandom(16)
            ossl.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem,
                      "-in", wd.file("pt.bin", secret), "-out", wd.file("ct.bin"),
                      "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                      "-pkeyopt", "rsa_mgf1_md:sha256"])
            assert c.asym_decrypt("persist-enc", alg_e, wd.read("ct.bin")) == (0, secret)
        # a second restart of turtled alone, then destroy works and the key is gone
        prov.restart(backend=False)
        assert c.sign_hash("persist", alg, d)[0] == 0
        assert c.destroy_key("persist") == 0
        assert c.sign_hash("persist", alg, d)[0] == ST.PSA_DOES_NOT_EXIST


# ---- truthfulness: ListOpcodes and CanDoCrypto --------------------------------------------------

PSA_OPCODES = [OP.PSA_GENERATE_KEY, OP.PSA_DESTROY_KEY, OP.PSA_SIGN_HASH, OP.PSA_VERIFY_HASH,
               OP.PSA_IMPORT_KEY, OP.PSA_EXPORT_PUBLIC_KEY, OP.PSA_ASYMMETRIC_ENCRYPT,
               OP.PSA_ASYMMETRIC_DECRYPT, OP.PSA_EXPORT_KEY, OP.PSA_GENERATE_RANDOM,
               OP.PSA_HASH_COMPUTE, OP.PSA_HASH_COMPARE, OP.PSA_AEAD_ENCRYPT,
               OP.PSA_AEAD_DECRYPT, OP.PSA_RAW_KEY_AGREEMENT, OP.PSA_CIPHER_ENCRYPT,
               OP.PSA_CIPHER_DECRYPT, OP.PSA_MAC_COMPUTE, OP.PSA_MAC_VERIFY,
               OP.PSA_SIGN_MESSAGE, OP.PSA_VERIFY_MESSAGE, OP.CAN_DO_CRYPTO]
VENDOR_BASE = 0x00010000   # TT_OPCODE_VENDOR_BASE (src/wire/opcodes.h)
CORE_OPCODES = [OP.PING, OP.LIST_PROVIDERS, OP.LIST_OPCODES, OP.LIST_AUTHENTICATORS,
                OP.LIST_KEYS, OP.LIST_CLIENTS, OP.DELETE_CLIENT]


def test_list_opcodes(prov, opcodes):
    missing = REQUIRED_OPCODES[prov.name] - opcodes
    assert not missing, "%s does not list required opcodes %s" % (
        prov.name, sorted(hex(o) for o in missing))
    assert not (opcodes & set(CORE_OPCODES)), "a crypto provider lists core opcodes"
    # PSA opcodes, PARSEC's attestation opcodes (0x1D-0x1F) and Turtle vendor opcodes
    unknown = {o for o in opcodes - set(PSA_OPCODES) if o not in (0x1D, 0x1E, 0x1F)
               and o < VENDOR_BASE}
    assert not unknown, "unknown opcodes listed: %s" % sorted(hex(o) for o in unknown)


def test_unlisted_opcodes_not_supported(prov, c, algs, opcodes):
    """Every PSA opcode the provider does not list answers NotSupported, with a well-formed
    body naming a key that exists."""
    basic_sign_key(prov, c, algs, "k")
    reqs = dict(key_requests(c, algs, "k"))
    A = algs
    KT = prov.pb
    reqs[OP.PSA_GENERATE_KEY] = lambda: c.generate_key(
        "new", sign_attrs(KT, A, "ecc", 256, "ecdsa", "SHA_256")[1])
    reqs[OP.PSA_IMPORT_KEY] = lambda: c.import_key(
        "new", sign_attrs(KT, A, "ecc", 256, "ecdsa", "SHA_256")[1], os.urandom(32))
    reqs[OP.PSA_GENERATE_RANDOM] = lambda: c.generate_random(16)[0]
    reqs[OP.PSA_HASH_COMPUTE] = lambda: c.hash_compute(A.hash("SHA_256"), MSG)[0]
    reqs[OP.PSA_HASH_COMPARE] = lambda: c.hash_compare(A.hash("SHA_256"), MSG,
                                                       hashlib.sha256(MSG).digest())
    reqs[OP.CAN_DO_CRYPTO] = lambda: c.can_do_crypto(
        CT(prov).GENERATE, sign_attrs(KT, A, "ecc", 256, "ecdsa", "SHA_256")[1])
    bad = []
    for op in PSA_OPCODES:
        if op in opcodes:
            continue
        got = reqs[op]()
        if got != ST.PSA_NOT_SUPPORTED:
            bad.append("opcode 0x%02x (not listed): got %d, expected 1134" % (op, got))
    assert not bad, "%s: %s" % (prov.name, "; ".join(bad))


def _probe_keys(pb, algs):
    """Per opcode: candidate keys (attrs) and a function(c, name, alg) -> status that uses
    the key once successfully. The first candidate CanDoCrypto accepts is used."""
    P = parsec
    KA = pb.psa_algorithm.Algorithm.KeyAgreement
    sig = [sign_attrs(pb, algs, "ecc", 256, "ecdsa", "SHA_256"),
           sign_attrs(pb, algs, "rsa", 2048, "rsa_pkcs1v15_sign", "SHA_256")]
    sig_exp = [sign_attrs(pb, algs, "ecc", 256, "ecdsa", "SHA_256", "sign_hash", "export"),
               sign_attrs(pb, algs, "rsa", 2048, "rsa_pkcs1v15_sign", "SHA_256", "sign_hash",
                          "export")]
    enc = [crypt_attrs(pb, algs, "oaep"), crypt_attrs(pb, algs, "pkcs1")]
    aead = [(algs.aead(n), P.attrs(pb, P.simple_type(pb, t), b, algs.policy(aead=algs.aead(n)),
                                   "encrypt", "decrypt"))
            for n, t, b in (("GCM", "aes", 128), ("CHACHA20_POLY1305", "chacha20", 256))]
    ciph = [(algs.cipher("CBC_PKCS7"), P.attrs(pb, P.simple_type(pb, "aes"), 128,
                                                algs.policy(cipher=algs.cipher("CBC_PKCS7")),
                                                "encrypt", "decrypt"))]
    mac = [(algs.hmac("SHA_256"), P.attrs(pb, P.simple_type(pb, "hmac"), 256,
                                          algs.policy(mac=algs.hmac("SHA_256")),
                                          "sign_hash", "verify_hash", "sign_message",
                                          "verify_message")),
           (algs.cmac(), P.attrs(pb, P.simple_type(pb, "aes"), 128, algs.policy(mac=algs.cmac()),
                                 "sign_hash", "verify_hash", "sign_message", "verify_message"))]
    agree = [(KA.ECDH, P.attrs(pb, P.ecc_pair(pb), 256,
                               algs.policy(key_agreement=KA(raw=KA.ECDH)), "derive"))]
    d = hashlib.sha256(MSG).digest()

    def sign(c, n, alg):
        return c.sign_hash(n, alg, d)[0]

    def verify(c, n, alg):
        st, s = c.sign_hash(n, alg, d)
        return st or c.verify_hash(n, alg, d, s)

    def sign_msg(c, n, alg):
        return c.sign_message(n, alg, MSG)[0]

    def verify_msg(c, n, alg):
        st, s = c.sign_hash(n, alg, d)
        return st or c.verify_message(n, alg, MSG, s)

    def aead_dec(c, n, alg):
        st, ct = c.aead_encrypt(n, alg, b"\1" * 12, b"", MSG)
        return st or c.aead_decrypt(n, alg, b"\1" * 12, b"", ct)[0]

    def ciph_dec(c, n, alg):
        st, ct = c.cipher_encrypt(n, alg, MSG)
        return st or c.cipher_decrypt(n, alg, ct)[0]

    def mac_ver(c, n, alg):
        st, m = c.mac_compute(n, alg, MSG)
        return st or c.mac_verify(n, alg, MSG, m)

    def dec(c, n, alg):
        st, ct = c.asym_encrypt(n, alg, b"x" * 16)
        return st or c.asym_decrypt(n, alg, ct)[0]

    def agree_fn(c, n, alg):
        st, pub = c.export_public_key(n)   # agreement with itself is a valid peer key
        return st or c.raw_key_agreement(n, pub, alg)[0]

    def _prepare(c, n):
        pka = pb.prepare_key_attestation
        op = pka.Operation(parameters=pka.PrepareKeyAttestationParams(
            activate_credential=pka.PrepareKeyAttestationParams.ActivateCredential(
                attested_key_name=n)))
        return c.call(0x1F, op, pka.Result)

    def prepare_att(c, n, alg):
        return _prepare(c, n)[0]

    def attest_key(c, n, alg):
        # MakeCredential offline with tpm2-tools, then ActivateCredential in the TPM
        import os
        import shutil
        import subprocess
        import tempfile
        if shutil.which("tpm2_makecredential") is None:
            return "tpm2_makecredential missing"
        st, res = _prepare(c, n)
        if st != 0:
            return st
        ac = res.output.activate_credential
        secret = os.urandom(16)
        with tempfile.TemporaryDirectory() as td:
            with open(os.path.join(td, "ek.pub"), "wb") as f:
                f.write(ac.attesting_key_pub)
            with open(os.path.join(td, "s.bin"), "wb") as f:
                f.write(secret)
            subprocess.run(["tpm2_makecredential", "-T", "none", "-u", os.path.join(td, "ek.pub"),
                            "-s", os.path.join(td, "s.bin"), "-n", ac.name.hex(), "-o",
                            os.path.join(td, "c.out")], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.path.join(td, "c.out"), "rb") as f:
                blob = f.read()
        n1 = int.from_bytes(blob[8:10], "big")
        idobj = blob[10:10 + n1]
        n2 = int.from_bytes(blob[10 + n1:12 + n1], "big")
        encsec = blob[12 + n1:12 + n1 + n2]
        ak = pb.attest_key
        op = ak.Operation(attested_key_name=n, parameters=ak.AttestationMechanismParams(
            activate_credential=ak.AttestationMechanismParams.ActivateCredential(
                credential_blob=idobj, secret=encsec)))
        st, r = c.call(0x1E, op, ak.Result)
        if st == 0 and r.output.activate_credential.credential != secret:
            return "wrong credential"
        return st

    def certify(c, n, alg):
        t = pb.tt_certify_key
        return c.call(0x10001, t.Operation(key_name=n, nonce=b"nonce"), t.Result)[0]

    def agent_quote(c, n, alg):
        t = pb.tt_attest_quote
        return c.call(0x10002, t.Operation(nonce=b"nonce"), t.Result)[0]

    def agent_admin_only(opcode, op, res):
        # identity and activation are reserved to admins (test_agent.py runs them as one);
        # the suite's clients are not admins, so the documented refusal is the outcome
        def probe(c, n, alg):
            st = c.call(opcode, op(), res)[0]
            return 0 if st == ST.ADMIN_OPERATION else st
        return probe

    return {
        OP.PSA_GENERATE_KEY: (sig, lambda c, n, alg: 0),
        OP.PSA_DESTROY_KEY: (sig, lambda c, n, alg: c.destroy_key(n)),
        OP.PSA_EXPORT_PUBLIC_KEY: (sig, lambda c, n, alg: c.export_public_key(n)[0]),
        OP.PSA_EXPORT_KEY: (sig_exp, lambda c, n, alg: c.export_key(n)[0]),
        OP.PSA_SIGN_HASH: (sig, sign),
        OP.PSA_VERIFY_HASH: (sig, verify),
        OP.PSA_SIGN_MESSAGE: (sig, sign_msg),
        OP.PSA_VERIFY_MESSAGE: (sig, verify_msg),
        OP.PSA_ASYMMETRIC_ENCRYPT: (enc, lambda c, n, alg: c.asym_encrypt(n, alg, b"x")[0]),
        OP.PSA_ASYMMETRIC_DECRYPT: (enc, dec),
        OP.PSA_AEAD_ENCRYPT: (aead, lambda c, n, alg: c.aead_encrypt(n, alg, b"\1" * 12, b"",
                                                                     MSG)[0]),
        OP.PSA_AEAD_DECRYPT: (aead, aead_dec),
        OP.PSA_CIPHER_ENCRYPT: (ciph, lambda c, n, alg: c.cipher_encrypt(n, alg, MSG)[0]),
        OP.PSA_CIPHER_DECRYPT: (ciph, ciph_dec),
        OP.PSA_MAC_COMPUTE: (mac, lambda c, n, alg: c.mac_compute(n, alg, MSG)[0]),
        OP.PSA_MAC_VERIFY: (mac, mac_ver),
        OP.PSA_RAW_KEY_AGREEMENT: (agree, agree_fn),
        0x1F: (sig, prepare_att),          # PrepareKeyAttestation
        0x1E: (sig, attest_key),           # AttestKey (ActivateCredential)
        0x10001: (sig, certify),           # TtCertifyKey (Turtle vendor)
        0x10002: (sig, agent_quote),       # TtAttestQuote (agent role)
        0x10003: (sig, agent_admin_only(0x10003, pb.tt_attest_quote.IdentityOperation,
                                        pb.tt_attest_quote.IdentityResult)),
        0x10004: (sig, agent_admin_only(0x10004, pb.tt_attest_quote.ActivateOperation,
                                        pb.tt_attest_quote.ActivateResult)),
    }


def test_listed_opcodes_work(prov, c, algs, opcodes, wd):
    """Every opcode the provider lists does something: for key opcodes, some key that
    CanDoCrypto accepts can be created and used once with success."""
    probes = _probe_keys(prov.pb, algs)
    bad = []
    for i, op in enumerate(sorted(opcodes)):
        if op in (OP.PSA_GENERATE_RANDOM, OP.PSA_HASH_COMPUTE, OP.PSA_HASH_COMPARE,
                  OP.CAN_DO_CRYPTO):
            continue   # test_generate_random, test_hash, the CanDoCrypto matrix
        if op == OP.PSA_IMPORT_KEY:
            _, a = sign_attrs(prov.pb, algs, "ecc", 256, "ecdsa", "SHA_256")
            _, _, scalar = _openssl_ec_p256(wd)
            _, ra = sign_attrs(prov.pb, algs, "rsa", 2048, "rsa_pkcs1v15_sign", "SHA_256")
            if c.can_do_crypto(CT(prov).IMPORT, a) == 0:
                st = c.import_key("imp-probe", a, scalar)
            elif c.can_do_crypto(CT(prov).IMPORT, ra) == 0:
                st = c.import_key("imp-probe", ra, _openssl_rsa2048(wd)[1])
            else:
                st = "CanDoCrypto(IMPORT) accepts neither ECC P-256 nor RSA-2048"
            if st != 0:
                bad.append("ImportKey listed: %s" % st)
            continue
        if op not in probes:
            bad.append("opcode 0x%02x listed but the suite has no probe for it" % op)
            continue
        cands, fn = probes[op]
        name = "probe-%d" % i
        for alg, a in cands:
            if c.can_do_crypto(CT(prov).GENERATE, a) == 0 and \
                    c.can_do_crypto(CT(prov).USE, a) == 0:
                st = c.generate_key(name, a)
                if st == 0:
                    st = fn(c, name, alg)
                if st != 0:
                    bad.append("opcode 0x%02x listed, CanDoCrypto accepts the key, "
                               "but it fails with %d" % (op, st))
                break
        else:
            bad.append("opcode 0x%02x listed but CanDoCrypto accepts none of its key types"
                       % op)
    assert not bad, "%s: %s" % (prov.name, "; ".join(bad))


def _matrix(pb, algs):
    """(label, attrs, alg, use) rows for the CanDoCrypto agreement test, supported and
    unsupported ones together. `use` is 'sign' or 'encrypt'."""
    P = parsec
    DetS = pb.psa_algorithm.Algorithm.AsymmetricSignature
    rows = []

    def sig_row(label, kt, bits, alg):
        rows.append((label, P.attrs(pb, kt, bits, algs.policy(asymmetric_signature=alg),
                                    "sign_hash", "verify_hash"), alg, "sign"))

    def enc_row(label, bits, alg):
        rows.append((label, P.attrs(pb, P.rsa_pair(pb), bits,
                                    algs.policy(asymmetric_encryption=alg),
                                    "encrypt", "decrypt"), alg, "encrypt"))

    for bits, h in ((256, "SHA_256"), (384, "SHA_384"), (521, "SHA_512"), (256, "SHA_384"),
                    (384, "SHA_256")):
        sig_row("ecc-secp-r1-%d-ecdsa-%s" % (bits, h), P.ecc_pair(pb), bits, algs.ecdsa(h))
    sig_row("ecc-secp-r1-192-ecdsa-SHA_256", P.ecc_pair(pb), 192, algs.ecdsa("SHA_256"))
    sig_row("ecc-secp-k1-256-ecdsa-SHA_256", P.ecc_pair(pb, "SECP_K1"), 256,
            algs.ecdsa("SHA_256"))
    sig_row("ecc-brainpool-256-ecdsa-SHA_256", P.ecc_pair(pb, "BRAINPOOL_P_R1"), 256,
            algs.ecdsa("SHA_256"))
    sig_row("ecc-sect-k1-233-ecdsa-SHA_256", P.ecc_pair(pb, "SECT_K1"), 233,
            algs.ecdsa("SHA_256"))
    det = DetS(deterministic_ecdsa=DetS.DeterministicEcdsa(
        hash_alg=DetS.SignHash(specific=algs.hash("SHA_256"))))
    sig_row("ecc-secp-r1-256-deterministic-ecdsa", P.ecc_pair(pb), 256, det)
    for bits in (1024, 2048, 3072):
        sig_row("rsa-%d-pkcs1v15-SHA_256" % bits, P.rsa_pair(pb), bits,
                algs.rsa_pkcs1v15_sign("SHA_256"))
    sig_row("rsa-2048-pss-SHA_384", P.rsa_pair(pb), 2048, algs.rsa_pss("SHA_384"))
    sig_row("rsa-2048-pkcs1v15-SHA_512", P.rsa_pair(pb), 2048, algs.rsa_pkcs1v15_sign("SHA_512"))
    enc_row("rsa-2048-oaep-SHA_256", 2048, algs.rsa_oaep("SHA_256"))
    enc_row("rsa-2048-oaep-SHA_1", 2048, algs.rsa_oaep("SHA_1"))
    enc_row("rsa-2048-pkcs1v15-crypt", 2048, algs.rsa_pkcs1v15_crypt())
    enc_row("rsa-1024-oaep-SHA_256", 1024, algs.rsa_oaep("SHA_256"))
    # an invalid combination: an encryption algorithm as the policy of an ECC key
    rows.append(("ecc-256-with-oaep", P.attrs(pb, P.ecc_pair(pb), 256,
                                              algs.policy(asymmetric_encryption=algs.rsa_oaep(
                                                  "SHA_256")), "encrypt", "decrypt"),
                 algs.rsa_oaep("SHA_256"), "encrypt"))
    return rows


def test_can_do_crypto_agrees(prov, c, algs):
    """For each row: CanDoCrypto(GENERATE) yes <=> GenerateKey succeeds; and for a created
    key, CanDoCrypto(USE) yes <=> the operation succeeds. A refusal is NotSupported or
    InvalidArgument."""
    bad = []
    d = {"SHA_256": hashlib.sha256(MSG).digest()}
    for i, (label, a, alg, use) in enumerate(_matrix(prov.pb, algs)):
        name = "m%d" % i
        cg = c.can_do_crypto(CT(prov).GENERATE, a)
        cu = c.can_do_crypto(CT(prov).USE, a)
        st = c.generate_key(name, a)
        if cg not in (0,) + REFUSED:
            bad.append("%s: CanDoCrypto(GENERATE) -> %d" % (label, cg))
        if (cg == 0) != (st == 0):
            bad.append("%s: CanDoCrypto(GENERATE) -> %d but GenerateKey -> %d" % (label, cg, st))
        if st != 0:
            if st not in REFUSED:
                bad.append("%s: GenerateKey refused with %d (want 1134/1135)" % (label, st))
            continue
        if use == "sign":
            digest = _digest_for(prov.pb, alg, d)
            ust = c.sign_hash(name, alg, digest)[0]
        else:
            ust = c.asym_encrypt(name, alg, b"x" * 16)[0]
            if ust == 0:
                st2, ct = c.asym_encrypt(name, alg, b"x" * 16)
                ust = st2 or c.asym_decrypt(name, alg, ct)[0]
        if (cu == 0) != (ust == 0):
            bad.append("%s: CanDoCrypto(USE) -> %d but the operation -> %d" % (label, cu, ust))
        elif ust != 0 and ust not in REFUSED:
            bad.append("%s: operation refused with %d (want 1134/1135)" % (label, ust))
        c.destroy_key(name)
    assert not bad, "%s: %s" % (prov.name, "; ".join(bad))


def _digest_for(pb, alg, cache):
    """The digest for a signature algorithm's hash (MSG hashed), from its protobuf."""
    names = {"SHA_256": "sha256", "SHA_384": "sha384", "SHA_512": "sha512", "SHA_1": "sha1"}
    kind = alg.WhichOneof("variant")
    inner = getattr(alg, kind)
    hnum = inner.hash_alg.specific
    hname = pb.psa_algorithm.Algorithm.Hash.Name(hnum)
    if hname not in cache:
        cache[hname] = hashlib.new(names[hname], MSG).digest()
    return cache[hname]


# ---- degenerate RSA material is refused by every provider that imports (issue 9, item 7) --

def _degenerate_rsa_keys():
    """(id, is_pair, DER) for keys that parse but must not be accepted."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    a = rsa.generate_private_key(65537, 2048).private_numbers()
    b = rsa.generate_private_key(65537, 2048).private_numbers()
    n, p, q = a.public_numbers.n, a.p, a.q
    lam = (p - 1) * (q - 1) // __import__("math").gcd(p - 1, q - 1)
    out = []
    for e in (0, 1, 65536):
        out.append(("public-e%d" % e, False, ossl.rsa_public_der(n, e)))
    out.append(("public-even-modulus", False, ossl.rsa_public_der(n + 1, 65537)))
    # e = 1 with d = 1 is a consistent pair in which encryption is the identity
    out.append(("pair-e1", True, ossl.rsa_private_der(n, 1, 1, p, q, 1, 1, a.iqmp)))
    # e = 3 is odd, but not invertible when 3 divides lambda; take an even e instead
    out.append(("pair-e-even", True, ossl.rsa_private_der(n, 65538, a.d, p, q, a.dmp1,
                                                          a.dmq1, a.iqmp)))
    # another key's private exponent with this key's modulus
    out.append(("pair-foreign-d", True, ossl.rsa_private_der(n, 65537, b.d, p, q, a.dmp1,
                                                             a.dmq1, a.iqmp)))
    # another key's primes with this key's modulus
    out.append(("pair-foreign-primes", True, ossl.rsa_private_der(
        n, 65537, a.d, b.p, b.q, b.dmp1, b.dmq1, b.iqmp)))
    # mismatching CRT values
    out.append(("pair-bad-crt", True, ossl.rsa_private_der(n, 65537, a.d, p, q, a.dmp1 + 2,
                                                           a.dmq1, a.iqmp)))
    # d off by lambda is still a valid exponent; d + 1 is not
    assert (a.d * 65537) % lam == 1
    out.append(("pair-d-plus-1", True, ossl.rsa_private_der(n, 65537, a.d + 1, p, q, a.dmp1,
                                                            a.dmq1, a.iqmp)))
    return out


def test_import_degenerate_rsa_refused(prov, c, algs):
    KT = prov.pb.psa_key_attributes.KeyType
    enc = algs.rsa_pkcs1v15_crypt()
    for kid, pair, der in _degenerate_rsa_keys():
        kt = KT(rsa_key_pair=KT.RsaKeyPair()) if pair else KT(rsa_public_key=KT.RsaPublicKey())
        flags = ("encrypt", "decrypt") if pair else ("encrypt",)
        a = parsec.attrs(prov.pb, kt, 0, algs.policy(asymmetric_encryption=enc), *flags)
        st = c.import_key("bad-" + kid, a, der)
        assert st == ST.PSA_INVALID_ARGUMENT, "%s: %s imported it (%d)" % (prov.name, kid, st)
        assert c.export_public_key("bad-" + kid)[0] == ST.PSA_DOES_NOT_EXIST
    assert list(c.list_keys()) == []
