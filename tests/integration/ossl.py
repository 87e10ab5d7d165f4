"""Independent checks with the openssl command: turn PSA export formats into PEM and
verify signatures, encrypt, derive and MAC with OpenSSL rather than with turtled."""

import os
import subprocess
import tempfile

# DER SubjectPublicKeyInfo prefixes: SEQUENCE { AlgorithmIdentifier, BIT STRING { 0 unused
# bits, ... } }. Appending the PSA export (uncompressed point / raw X25519 key) completes
# the structure, since the lengths only depend on the curve.
SPKI_PREFIX = {
    # id-ecPublicKey + prime256v1, 65-byte point
    "P-256": bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
    # id-ecPublicKey + secp384r1, 97-byte point
    "P-384": bytes.fromhex("3076301006072a8648ce3d020106052b81040022036200"),
    # id-ecPublicKey + secp521r1, 133-byte point
    "P-521": bytes.fromhex("30819b301006072a8648ce3d020106052b8104002303818600"),
    # id-X25519, 32-byte key
    "X25519": bytes.fromhex("302a300506032b656e032100"),
}
POINT_LEN = {"P-256": 65, "P-384": 97, "P-521": 133, "X25519": 32}


def run(args, data=None, check=True):
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(args), p.returncode,
                                                     p.stderr.decode(errors="replace")))
    return p


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der_int(v):
    b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + _der_len(len(b)) + b


def rsa_private_der(n, e, d, p, q, dp, dq, qi):
    """PKCS#1 RSAPrivateKey (version 0) from its integers, whatever they are: the tests
    build degenerate and mismatched keys that no key generator would produce."""
    body = _der_int(0) + b"".join(_der_int(v) for v in (n, e, d, p, q, dp, dq, qi))
    return b"\x30" + _der_len(len(body)) + body


def rsa_public_der(n, e):
    """PKCS#1 RSAPublicKey from its integers."""
    body = _der_int(n) + _der_int(e)
    return b"\x30" + _der_len(len(body)) + body


def ecdsa_raw_to_der(sig):
    """PSA's ECDSA signature is r || s, each the curve's byte length; X9.62 wants
    SEQUENCE { INTEGER r, INTEGER s }."""
    assert len(sig) % 2 == 0
    n = len(sig) // 2
    r = int.from_bytes(sig[:n], "big")
    s = int.from_bytes(sig[n:], "big")
    body = _der_int(r) + _der_int(s)
    return b"\x30" + _der_len(len(body)) + body


def ecdsa_der_to_raw(der, n):
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = int.from_bytes(der[i + 2:i + 2 + ln], "big")
        out += v.to_bytes(n, "big")
        i += 2 + ln
    return out


class Workdir:
    """A scratch directory for openssl files."""

    def __init__(self):
        self._d = tempfile.TemporaryDirectory(prefix="tt-ossl-")
        self.path = self._d.name

    def file(self, name, data=None):
        p = os.path.join(self.path, name)
        if data is not None:
            with open(p, "wb") as f:
                f.write(data)
        return p

    def read(self, name):
        with open(os.path.join(self.path, name), "rb") as f:
            return f.read()

    def cleanup(self):
        self._d.cleanup()


def spki_der(curve, point):
    assert len(point) == POINT_LEN[curve], "export length %d for %s" % (len(point), curve)
    if curve != "X25519":
        assert point[0] == 0x04, "not an uncompressed point"
    return SPKI_PREFIX[curve] + point


def pubkey_pem_from_point(wd, curve, point, name="pub.pem"):
    der = wd.file(name + ".der", spki_der(curve, point))
    pem = wd.file(name)
    run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", der, "-out", pem])
    return pem


def pubkey_pem_from_rsa(wd, pkcs1_der, name="rsapub.pem"):
    """PSA exports an RSA public key as PKCS#1 RSAPublicKey DER."""
    der = wd.file(name + ".der", pkcs1_der)
    pem = wd.file(name)
    run(["openssl", "rsa", "-RSAPublicKey_in", "-inform", "DER", "-in", der,
         "-pubout", "-out", pem])
    return pem


def dgst_verify(wd, pem, message, sig_der, md="sha256", sigopts=()):
    m = wd.file("msg.bin", message)
    s = wd.file("sig.bin", sig_der)
    args = ["openssl", "dgst", "-" + md, "-verify", pem, "-signature", s]
    for o in sigopts:
        args += ["-sigopt", o]
    return run(args + [m], check=False).returncode == 0


def dgst_sign(wd, key_pem, message, md="sha256"):
    m = wd.file("msg2.bin", message)
    s = wd.file("sig2.bin")
    run(["openssl", "dgst", "-" + md, "-sign", key_pem, "-out", s, m])
    return wd.read("sig2.bin")


def genpkey(wd, name, *opts):
    pem = wd.file(name)
    run(["openssl", "genpkey"] + list(opts) + ["-out", pem])
    return pem


def pub_der(wd, key_pem):
    """SubjectPublicKeyInfo DER of a private key file."""
    out = wd.file(os.path.basename(key_pem) + ".pub.der")
    run(["openssl", "pkey", "-in", key_pem, "-pubout", "-outform", "DER", "-out", out])
    with open(out, "rb") as f:
        return f.read()
