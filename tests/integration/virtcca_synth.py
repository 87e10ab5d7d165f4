"""A synthetic Huawei virtCCA platform (python3-cryptography): a test root and sub CA in the
place of Huawei's Equipment CA and IT Product CA (written as an anchors directory,
huawei/equipment-root-ca.pem and huawei/it-product-ca.pem), a device AIK certificate
(RSA-2048) under them, and virtCCA tokens: tag 399 {44234: platform token, 44241: CVM token}.

The platform token is a COSE_Sign1 by the AIK (PS256) over the platform claims (Arm CCA's
platform claim keys, as secGear's virtCCA verifier reads them: profile, a 32-byte challenge
= SHA-256 of the CVM key claim, implementation and instance ids, config, lifecycle, six
software components, verification service, hash algorithm). The CVM token is a COSE_Sign1
(ES512) by the CVM key carried in its own claim 44237 (a raw P-521 point), its claims map
wrapped twice in byte strings as secGear's tokens carry it. Real virtCCA platforms sign with
Huawei's keys; only these can carry a chosen lifecycle or a fresh challenge.

Used by tests/unit/verify/data/virtcca-syn/gen.py (fixed dates, committed files) and by the
turtle-as tests (tests/integration/test_as_virtcca.py)."""

import datetime
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from cca_synth import Tag, cbor

UTC = datetime.timezone.utc
INSTANCE_ID = bytes([0x01]) + bytes(range(0x40, 0x60))
IMPL_ID = bytes([0x5A]) * 32
CONFIG = b"\x01\x02\x03\x04"
RIM = hashlib.sha256(b"cvm image").digest()
REM = [hashlib.sha256(b"cvm rem %d" % i).digest() for i in range(4)]
RPV = b"cvm personalization".ljust(64, b"\0")
SW = [("BL1", hashlib.sha256(b"bl1").digest(), "1.0"),
      ("BL2", hashlib.sha256(b"bl2").digest(), "1.0"),
      ("BL31", hashlib.sha256(b"bl31").digest(), "2.1"),
      ("RMM", hashlib.sha256(b"rmm").digest(), "1.2"),
      ("HW_CONFIG", hashlib.sha256(b"hw config").digest(), "1.0"),
      ("SOC_FW_CONFIG", hashlib.sha256(b"soc fw config").digest(), "1.0")]
SECURED = 0x3003
# PSA security lifecycle states (the upper byte): 0x00 unknown, 0x10 assembly and test,
# 0x20 PSA RoT provisioning, 0x30 secured, 0x40 non-PSA-RoT debug, 0x50 recoverable PSA RoT
# debug, 0x60 decommissioned. Only 0x3000-0x30FF is secured.
NOT_SECURED = [0x0000, 0x1000, 0x2000, 0x4000, 0x5000, 0x6000, 0x2f00, 0x3100, 0x7000]


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Turtle Test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca, serial, start):
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(
             digital_signature=not ca, content_commitment=False, key_encipherment=False,
             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
             encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    return b.sign(issuer_key, hashes.SHA256())


def _pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def _sign1(prot_alg, sign, payload):
    prot = cbor({1: prot_alg})
    tbs = cbor(["Signature1", prot, b"", payload])
    return cbor(Tag(18, [prot, {}, payload, sign(tbs)]))


class VirtccaWorld:
    """Keys and certificates of one synthetic device, valid from cert_from for ten
    years."""

    def __init__(self, root_dir, cert_from=None):
        cert_from = cert_from or (datetime.datetime.now(UTC) - datetime.timedelta(days=1))
        self.root_k, self.sub_k, self.aik_k = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3))
        self.cvm_k = ec.generate_private_key(ec.SECP521R1())
        self.root = _cert("Turtle Test Equipment CA", self.root_k,
                          "Turtle Test Equipment CA", self.root_k, True, 1, cert_from)
        self.sub = _cert("Turtle Test IT Product CA", self.sub_k,
                         "Turtle Test Equipment CA", self.root_k, True, 2, cert_from)
        self.aik = _cert("Turtle Test virtCCA AIK", self.aik_k,
                         "Turtle Test IT Product CA", self.sub_k, False, 3, cert_from)
        self.anchors = os.path.join(root_dir, "anchors")
        hw = os.path.join(self.anchors, "huawei")
        os.makedirs(hw, exist_ok=True)
        for name, c in (("equipment-root-ca.pem", self.root), ("it-product-ca.pem", self.sub)):
            with open(os.path.join(hw, name), "wb") as f:
                f.write(_pem(c))
            os.chmod(os.path.join(hw, name), 0o644)
        for d in (root_dir, self.anchors, hw):
            os.chmod(d, 0o755)

    def aik_der(self):
        return self.aik.public_bytes(serialization.Encoding.DER)

    def cvm_key_claim(self):
        return self.cvm_k.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def platform_claims(self, lifecycle=SECURED, sw=None, plat_challenge=None):
        sw = SW if sw is None else sw
        return {265: "tag:arm.com,2023:cca_platform#1.0.0",
                10: plat_challenge if plat_challenge is not None
                else hashlib.sha256(self.cvm_key_claim()).digest(),
                2396: IMPL_ID, 256: INSTANCE_ID, 2401: CONFIG, 2395: lifecycle,
                2399: [{1: t, 2: m, 4: v, 5: bytes(32), 6: "sha-256"} for t, m, v in sw],
                2400: "https://verifier.example/virtcca", 2402: "sha-256"}

    def platform_token(self, **kw):
        def sign(tbs):
            return self.aik_k.sign(tbs, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                    salt_length=32), hashes.SHA256())
        return _sign1(-37, sign, cbor(self.platform_claims(**kw)))      # PS256

    def cvm_token(self, challenge, rim=RIM):
        claims = {10: challenge.ljust(64, b"\0"), 44235: RPV, 44236: "sha-256",
                  44237: self.cvm_key_claim(), 44238: rim, 44239: REM, 44240: "sha-256"}

        def sign(tbs):
            r, s = decode_dss_signature(self.cvm_k.sign(tbs, ec.ECDSA(hashes.SHA512())))
            return r.to_bytes(66, "big") + s.to_bytes(66, "big")
        return _sign1(-36, sign, cbor(cbor(cbor(claims))))             # ES512

    def token(self, challenge, platform=True, rim=RIM, **kw):
        """The token bytes; kw go to the platform claims (lifecycle, sw, plat_challenge)."""
        m = {44241: self.cvm_token(challenge, rim)}
        if platform:
            m = {44234: self.platform_token(**kw), 44241: m[44241]}
        return cbor(Tag(399, m))

    def evidence(self, challenge, **kw):
        """secGear's virtCCA evidence: {"evidence": token bytes, "dev_cert": AIK DER}."""
        return {"evidence": list(self.token(challenge, **kw)), "dev_cert": list(self.aik_der())}


def reference_values():
    """Every measurement turtle-as compares for virtcca (verifier_tee.c), hex as the
    claims carry them; the lifecycle as its decimal text; one per software component,
    named by its type."""
    rv = {"vcca.cvm.rim": [RIM.hex()], "vcca.cvm.rpv": [RPV.hex()],
          "vcca.platform.implementation_id": [IMPL_ID.hex()],
          "vcca.platform.config": [CONFIG.hex()],
          "vcca.platform.lifecycle": [str(SECURED)]}
    for name, m, _ in SW:
        rv["vcca.platform.measure_value." + name] = [m.hex()]
    for i in range(4):
        rv["vcca.cvm.rem.%d" % i] = [REM[i].hex()]
    return rv
