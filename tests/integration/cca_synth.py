"""A synthetic Arm CCA platform for end-to-end tests of turtle-as: a CPAK and a realm
attestation key made here (python3-cryptography, ECDSA P-384), the CPAK written as a
Veraison-form trust anchor (arm/cca-ta.json) in an anchors directory, and CCA tokens (tag
399, platform and realm COSE_Sign1, ES384) over any realm challenge, with the RAK's hash as
the platform challenge. A minimal CBOR writer is enough: definite lengths, the types the
token uses. Claim keys from the CCA platform and realm token profiles."""

import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

INSTANCE_ID = bytes([0x01]) + bytes(range(32))
IMPL_ID = bytes([0x7F]) * 32
CONFIG = b"\xcf\xcf\xcf\xcf"
RIM = hashlib.sha256(b"realm image").digest()
REM = [hashlib.sha256(b"rem %d" % i).digest() for i in range(4)]
RPV = b"personalization".ljust(64, b"\0")
SW = [("BL", hashlib.sha256(b"bl").digest()), ("RMM", hashlib.sha256(b"rmm").digest())]


class Tag:
    def __init__(self, n, v):
        self.n, self.v = n, v


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cbor(x):
    if isinstance(x, Tag):
        return _head(6, x.n) + cbor(x.v)
    if isinstance(x, bool):
        return b"\xf5" if x else b"\xf4"
    if isinstance(x, int):
        return _head(0, x) if x >= 0 else _head(1, -1 - x)
    if isinstance(x, bytes):
        return _head(2, len(x)) + x
    if isinstance(x, str):
        b = x.encode()
        return _head(3, len(b)) + b
    if isinstance(x, list):
        return _head(4, len(x)) + b"".join(cbor(e) for e in x)
    if isinstance(x, dict):
        return _head(5, len(x)) + b"".join(cbor(k) + cbor(v) for k, v in x.items())
    raise TypeError(type(x))


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _point(key):
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


def _sign1(key, claims):
    prot = cbor({1: -35})                                   # ES384
    payload = cbor(claims)
    tbs = cbor(["Signature1", prot, b"", payload])
    r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA384())))
    return cbor(Tag(18, [prot, {}, payload, r.to_bytes(48, "big") + s.to_bytes(48, "big")]))


class CcaWorld:
    def __init__(self, root):
        self.cpak = ec.generate_private_key(ec.SECP384R1())
        self.rak = ec.generate_private_key(ec.SECP384R1())
        self.anchors = os.path.join(root, "anchors")
        os.makedirs(os.path.join(self.anchors, "arm"), exist_ok=True)
        pt = _point(self.cpak)
        ta = [{"instance-id": INSTANCE_ID.hex().upper(), "implementation-id": IMPL_ID.hex(),
               "pkey": {"kty": "EC", "crv": "P-384", "x": _b64url(pt[1:49]),
                        "y": _b64url(pt[49:])}}]
        path = os.path.join(self.anchors, "arm", "cca-ta.json")
        with open(path, "w") as f:
            json.dump(ta, f)
        for d in (root, self.anchors, os.path.join(self.anchors, "arm")):
            os.chmod(d, 0o755)
        os.chmod(path, 0o644)

    def other_platform(self, instance_id):
        """Another platform of this world: its CPAK, added to the anchors' trust anchors
        with its own instance id; token(plat=(instance_id, key)) is its token."""
        key = ec.generate_private_key(ec.SECP384R1())
        path = os.path.join(self.anchors, "arm", "cca-ta.json")
        with open(path) as f:
            ta = json.load(f)
        pt = _point(key)
        ta.append({"instance-id": instance_id.hex().upper(), "implementation-id": IMPL_ID.hex(),
                   "pkey": {"kty": "EC", "crv": "P-384", "x": _b64url(pt[1:49]),
                            "y": _b64url(pt[49:])}})
        with open(path, "w") as f:
            json.dump(ta, f)
        return instance_id, key

    def token(self, challenge, rim=RIM, lifecycle=0x3003, sw=SW, plat=None):
        instance, cpak = plat if plat is not None else (INSTANCE_ID, self.cpak)
        rak = _point(self.rak)
        platform = {265: "http://arm.com/CCA-SSD/1.0.0", 10: hashlib.sha256(rak).digest(),
                    2396: IMPL_ID, 256: instance, 2401: CONFIG, 2395: lifecycle,
                    2399: [{1: t, 2: m, 4: "1.0", 5: bytes(32)} for t, m in sw],
                    2400: "https://verifier.example", 2402: "sha-256"}
        realm = {10: challenge.ljust(64, b"\0"), 44235: RPV, 44236: "sha-256", 44237: rak,
                 44238: rim, 44239: REM, 44240: "sha-256"}
        return cbor(Tag(399, {44234: _sign1(cpak, platform),
                              44241: _sign1(self.rak, realm)}))

    def evidence(self, challenge, **kw):
        """Trustee's CcaEvidence: {"token": the token bytes as a JSON array}."""
        return {"token": list(self.token(challenge, **kw))}


def reference_values():
    """Every measurement turtle-as compares for cca (verifier_tee.c), base64 as the
    claims carry them (Trustee's CCA claims are base64)."""
    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    r, p = "cca.realm.cca-realm-", "cca.platform.cca-platform-"
    rv = {r + "initial-measurement": [b(RIM)], r + "personalization-value": [b(RPV)],
          p + "implementation-id": [b(IMPL_ID)], p + "config": [b(CONFIG)],
          p + "lifecycle": [str(0x3003)]}
    # each software component pinned in its role, by its measurement type
    for t, m in SW:
        rv[p + "sw-components.%s.measurement-value" % t] = [b(m)]
    for i in range(4):
        rv[r + "extensible-measurements.%d" % i] = [b(REM[i])]
    return rv
