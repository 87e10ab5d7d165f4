"""Harness for turtle-as integration tests: a real turtle-as on 127.0.0.1 and a free port,
with a temporary data dir, started and stopped by PID (as `nobody` when the tests run as
root), an HTTP client over http.client, and independent JOSE checks with
python3-cryptography (ES256 token signatures against the JWKS, RSA-OAEP-256/A256GCM JWE).

Environment:
    TURTLE_AS           path of the built turtle-as
    TURTLE_BUILD_DIR    build dir (scripts/test.sh sets it); turtle-as is src/as/turtle-as
"""

import base64
import glob
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import REPO, service_user  # noqa: E402

START_DEADLINE = 20.0
STOP_DEADLINE = 20.0


def _find_as():
    p = os.environ.get("TURTLE_AS")
    if p:
        return os.path.abspath(p)
    b = os.environ.get("TURTLE_BUILD_DIR")
    if b:
        c = os.path.join(b, "src/as/turtle-as")
        if os.access(c, os.X_OK):
            return c
    for d in ("build-integ", "build-test", "build", "build-as"):
        c = os.path.join(REPO, d, "src/as/turtle-as")
        if os.access(c, os.X_OK):
            return c
    hits = sorted(glob.glob(os.path.join(REPO, "build*", "src/as/turtle-as")))
    return hits[0] if hits else None


TURTLE_AS = _find_as()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def ctype(self):
        return self.headers.get("content-type", "")

    def cookie(self, name):
        v = self.headers.get("set-cookie")
        if not v:
            return None
        first = v.split(";", 1)[0]
        k, _, val = first.partition("=")
        return val if k.strip() == name else None

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:300])


class AsDaemon:
    """One turtle-as process with its own root (data dir, token file, config, log)."""

    def __init__(self, root, admin_token=True, config=None):
        self.root = root
        self.data = os.path.join(root, "data")
        self.log_path = os.path.join(root, "turtle-as.log")
        self.token = None
        self.token_file = None
        self.conf = None
        self.proc = None
        self.port = None
        su = service_user()
        if admin_token:
            self.token = secrets.token_urlsafe(32)
            self.token_file = os.path.join(root, "admin-token")
            fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, (self.token + "\n").encode())
            os.close(fd)
            if su:
                os.chown(self.token_file, *su)
        if config is not None:
            self.conf = os.path.join(root, "turtle-as.conf")
            with open(self.conf, "w") as f:
                f.write(config)
            if su:
                os.chown(self.conf, *su)

    def start(self, extra_args=()):
        assert self.proc is None or self.proc.poll() is not None
        kw = {}
        su = service_user()
        if su is not None:
            kw.update(user=su[0], group=su[1], extra_groups=[])
        # The port is picked free and then bound by the daemon; if another process takes
        # it in between, the daemon exits and we try the next one.
        for _attempt in range(5):
            self.port = free_port()
            args = [TURTLE_AS, "--listen", "127.0.0.1:%d" % self.port, "--data-dir", self.data,
                    "--foreground"]
            if self.token_file:
                args += ["--admin-token-file", self.token_file]
            if self.conf:
                args += ["--config", self.conf]
            args += list(extra_args)
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT, **kw)
            if self._wait_ready():
                return self
            self.log.close()
            if "cannot listen" not in self.logtext():
                break
        raise AssertionError("turtle-as did not start:\n" + self.logtext())

    def _wait_ready(self):
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2.0):
                    return True
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        return False

    def logtext(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, check=True):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("turtle-as did not exit after SIGTERM:\n" + self.logtext())
        self.log.close()
        if check:
            assert rc == 0, "turtle-as exit status %d:\n%s" % (rc, self.logtext())
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # -- HTTP ---------------------------------------------------------------------------

    def request(self, method, path, body=None, admin=False, token=None, headers=None,
                cookie=None, raw=None):
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if admin:
            h["Authorization"] = "Bearer " + (token if token is not None else self.token)
        if cookie:
            h["Cookie"] = cookie
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            c.close()
        return resp

    def admin(self, method, path, body=None, raw=None):
        return self.request(method, path, body=body, admin=True, raw=raw)

    def jwks(self):
        r = self.request("GET", "/.well-known/jwks.json")
        assert r.status == 200, r
        return r.json()

    def challenge(self, tee="sample", node_id=None):
        b = {"tee": tee}
        if node_id:
            b["node_id"] = node_id
        r = self.request("POST", "/v1/challenge", b)
        assert r.status == 200, r
        return r.json()


def sample_evidence(binding, claims=None):
    return {"svn": "1", "report_data": b64url(binding), "claims": claims or {}}


def kbs_runtime_binding(nonce, jwk):
    """SHA-384 over the runtime data {"nonce", "tee-pubkey"} as compact JSON, sorted keys."""
    text = json.dumps({"nonce": nonce, "tee-pubkey": jwk}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha384(text.encode()).digest()


def kbs_composite_binding(nonce, jwk):
    """The report data for kbs-types CompositeEvidence: SHA-384 over the runtime data, which
    then also carries "additional-evidence", in its RFC 8785 form (as Trustee's client
    hashes it)."""
    text = json.dumps({"additional-evidence": "", "nonce": nonce, "tee-pubkey": jwk},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha384(text.encode()).digest()


def kbs_auth(d, tee):
    """Open a KBS session for `tee`: (Cookie header value, the session's nonce)."""
    r = d.request("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": tee,
                                           "extra-params": ""})
    assert r.status == 200, r
    return "kbs-session-id=" + r.cookie("kbs-session-id"), r.json()["nonce"]


def kbs_attest_composite(d, cookie, nonce, jwk, evidence):
    """POST /kbs/v0/attest with `evidence` as the primary evidence of a CompositeEvidence."""
    body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
            "tee-evidence": {"primary_evidence": evidence, "additional_evidence": ""}}
    return d.request("POST", "/kbs/v0/attest", body, cookie=cookie)


def refvals(d, values):
    """Add reference values {name: value} over the admin API."""
    r = d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": v} for k, v in values.items()]})
    assert r.status == 201, r


def problem(r, status):
    """Assert an RFC 7807 problem document with this status; return it."""
    assert r.status == status, r
    assert r.ctype.startswith("application/problem+json"), r.headers
    p = r.json()
    for k in ("type", "title", "status", "detail"):
        assert k in p, p
    assert p["status"] == status
    return p


# -- independent JOSE checks (python3-cryptography) ---------------------------------------

def verify_jwt(token, jwks):
    """Verify an ES256 compact JWS against a JWKS; return (header, claims)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    h64, p64, s64 = token.split(".")
    header = json.loads(b64url_dec(h64))
    assert header["alg"] == "ES256", header
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    assert len(keys) == 1, (header, jwks)
    k = keys[0]
    assert k["kty"] == "EC" and k["crv"] == "P-256"
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_dec(k["x"]), "big"),
                                        int.from_bytes(b64url_dec(k["y"]), "big"),
                                        ec.SECP256R1()).public_key()
    sig = b64url_dec(s64)
    assert len(sig) == 64
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        pub.verify(der, (h64 + "." + p64).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("token signature does not verify against the JWKS")
    return header, json.loads(b64url_dec(p64))


def rsa_tee_key():
    """A fresh RSA-2048 TEE key: (private key, public JWK)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = priv.public_key().public_numbers()
    jwk = {"kty": "RSA", "alg": "RSA-OAEP-256",
           "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
           "e": b64url(n.e.to_bytes(3, "big"))}
    return priv, jwk


def jwe_decrypt_rsa(priv, jwe):
    """Decrypt a flattened JWE (RSA-OAEP-256 + A256GCM) with an RSA private key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    prot = json.loads(b64url_dec(jwe["protected"]))
    assert prot["alg"] == "RSA-OAEP-256" and prot["enc"] == "A256GCM", prot
    cek = priv.decrypt(b64url_dec(jwe["encrypted_key"]),
                       padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                    algorithm=hashes.SHA256(), label=None))
    aad = jwe["protected"].encode()
    return AESGCM(cek).decrypt(b64url_dec(jwe["iv"]),
                               b64url_dec(jwe["ciphertext"]) + b64url_dec(jwe["tag"]), aad)


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def as_bin():
    if TURTLE_AS is None or not os.access(TURTLE_AS, os.X_OK):
        if os.environ.get("TURTLE_AS"):
            pytest.fail("TURTLE_AS=%s is not an executable" % os.environ["TURTLE_AS"])
        pytest.skip("turtle-as is not built (set TURTLE_AS)")
    return TURTLE_AS


def _make_root():
    root = tempfile.mkdtemp(prefix="turtle-as-it-", dir="/tmp")
    os.chmod(root, 0o755)
    su = service_user()
    if su:
        os.chown(root, *su)
    return root


@pytest.fixture
def as_factory(as_bin):
    made = []

    def make(admin_token=True, config=None, start=True, extra_args=()):
        d = AsDaemon(_make_root(), admin_token=admin_token, config=config)
        made.append(d)
        if start:
            d.start(extra_args=extra_args)
        return d

    yield make
    errors = []
    for d in made:
        try:
            d.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            d.kill()
    for d in made:
        shutil.rmtree(d.root, ignore_errors=True)
    if errors:
        pytest.fail("turtle-as teardown: " + "; ".join(errors))


@pytest.fixture
def asd(as_factory):
    """A turtle-as with an admin token."""
    return as_factory()
