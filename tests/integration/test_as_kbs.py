"""turtle-as KBS protocol (Trustee's kbs_attestation_protocol.md) with the sample tee:
auth -> attest -> resource as a JWE encrypted to the TEE key, decrypted here with
python3-cryptography; refusals without a session, without an affirming attestation, and
with evidence not bound to the runtime data."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, asd, b64url, b64url_dec,  # noqa: E402,F401
                        jwe_decrypt_rsa, kbs_runtime_binding, problem, rsa_tee_key,
                        sample_evidence, verify_jwt)
from backends import Tpm2Tools, swtpm  # noqa: E402,F401

SECRET = b"top secret \x00\x01 value"


def kbs_auth(d, tee="sample"):
    r = d.request("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": tee, "extra-params": ""})
    assert r.status == 200, r
    sid = r.cookie("kbs-session-id")
    assert sid
    return "kbs-session-id=" + sid, r.json()


def kbs_attest(d, cookie, nonce, jwk, claims=None, new_form=True, bind_nonce=None):
    binding = kbs_runtime_binding(bind_nonce or nonce, jwk)
    ev = sample_evidence(binding, claims)
    if new_form:
        body = {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk}, "tee-evidence": ev}
    else:
        body = {"tee-pubkey": jwk, "tee-evidence": ev}
    return d.request("POST", "/kbs/v0/attest", body, cookie=cookie)


def affirming_setup(d):
    assert d.admin("POST", "/v1/policies", {"group": "default", "id": "kbs-test",
                                            "sample_affirming": True}).status == 201
    assert d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "svn", "value": "1"}]}).status == 201
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201


def test_kbs_auth_challenge(asd):
    cookie, ch = kbs_auth(asd)
    assert isinstance(ch["nonce"], str) and len(ch["nonce"]) >= 43
    assert "extra-params" in ch
    problem(asd.request("POST", "/kbs/v0/auth", {"version": "0.1.0", "tee": "intel-tdx"}), 501)
    problem(asd.request("POST", "/kbs/v0/auth", {"tee": "sample"}), 400)


def test_kbs_full_flow_releases_resource(asd):
    affirming_setup(asd)
    priv, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    r = kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"})
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    assert claims["submods"]["sample"]["ear.status"] == "affirming"
    assert claims["tee-pubkey"] == jwk
    assert claims["eat_nonce"] == ch["nonce"]
    r = asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert r.status == 200, r
    jwe = r.json()
    for k in ("protected", "encrypted_key", "iv", "ciphertext", "tag"):
        assert k in jwe, jwe
    assert jwe_decrypt_rsa(priv, jwe) == SECRET
    # empty repository means "default"
    r = asd.request("GET", "/kbs/v0/resource//key/k1", cookie=cookie)
    assert r.status == 200 and jwe_decrypt_rsa(priv, r.json()) == SECRET
    problem(asd.request("GET", "/kbs/v0/resource/default/key/none", cookie=cookie), 404)


def test_kbs_old_form_tee_pubkey(asd):
    affirming_setup(asd)
    priv, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    assert kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"}, new_form=False).status == 200
    r = asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie)
    assert jwe_decrypt_rsa(priv, r.json()) == SECRET


def test_kbs_resource_refused_without_affirming(asd):
    """Default policy: sample is never affirming, so nothing is released."""
    asd.admin("POST", "/v1/resources/default/key/k1", raw=SECRET)
    asd.admin("POST", "/v1/reference-values", {"reference_values": [{"name": "svn", "value": "1"}]})
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    r = kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"})
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    assert claims["submods"]["sample"]["ear.status"] != "affirming"
    p = problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)
    assert "affirming" in p["detail"]


def test_kbs_contraindicated_not_released(asd):
    affirming_setup(asd)
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    assert kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "0"}).status == 200
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)


def test_kbs_resource_without_session(asd):
    affirming_setup(asd)
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1"), 401)
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1",
                        cookie="kbs-session-id=forged"), 401)
    cookie, _ = kbs_auth(asd)   # authenticated, not attested
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)


def test_kbs_attest_requires_session(asd):
    _, jwk = rsa_tee_key()
    _, ch = kbs_auth(asd)
    problem(kbs_attest(asd, None, ch["nonce"], jwk), 401)


def test_kbs_binding_checked(asd):
    affirming_setup(asd)
    _, jwk = rsa_tee_key()
    _, other = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    # evidence bound to a different key than the one presented
    binding = kbs_runtime_binding(ch["nonce"], other)
    r = asd.request("POST", "/kbs/v0/attest", {"runtime-data": {"nonce": ch["nonce"],
                    "tee-pubkey": jwk}, "tee-evidence": sample_evidence(binding, {"svn": "1"})},
                    cookie=cookie)
    problem(r, 401)
    problem(asd.request("GET", "/kbs/v0/resource/default/key/k1", cookie=cookie), 401)


def test_kbs_wrong_runtime_nonce(asd):
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    problem(kbs_attest(asd, cookie, "AAAA" + ch["nonce"][4:], jwk), 401)


def test_kbs_challenge_single_use(asd):
    affirming_setup(asd)
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(asd)
    assert kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"}).status == 200
    p = problem(kbs_attest(asd, cookie, ch["nonce"], jwk, {"svn": "1"}), 401)
    assert "already answered" in p["detail"]


def test_kbs_session_expiry(as_factory):
    import time
    d = as_factory(config="[as]\nsession_ttl = 1\n")
    affirming_setup(d)
    _, jwk = rsa_tee_key()
    cookie, ch = kbs_auth(d)
    time.sleep(2.2)
    p = problem(kbs_attest(d, cookie, ch["nonce"], jwk, {"svn": "1"}), 401)
    assert "expired" in p["detail"]


# -- a client that does what Trustee's does -------------------------------------------------
# Written from guest-components attestation-agent/kbs_protocol (client/rcar_client.rs,
# keypair.rs), kbs-types 0.18 (lib.rs) and attester/src/{sample,tpm}; the upstream commits
# are listed in docs/turtle-as.md. Field names, serialisation, hashing and the decryption
# path follow that code, not turtle's own helpers.

import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402

KBS_PROTOCOL_VERSION = "0.4.0"
HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def jcs(v):
    """RFC 8785 canonical JSON as serde_json_canonicalizer writes it: members sorted by
    UTF-16 code units, no whitespace, only the mandatory string escapes."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            o = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch in "\b\t\n\f\r":
                out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
            elif o < 0x20:
                out.append("\\u%04x" % o)
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def test_jcs_matches_trustee_vector():
    """attestation-service/src/lib.rs test parse_runtimedata_json_binding: SHA-384 of the
    canonical form of {"b": 1, "a": "test", "c": {"d": "e"}}."""
    h = hashlib.sha384(jcs({"b": 1, "a": "test", "c": {"d": "e"}}).encode()).hexdigest()
    assert h == ("e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c"
                 "4597480a186427c813ca941da78870c3")


def b64std(b):
    return base64.b64encode(b).decode()


class TeeKey:
    """keypair.rs TeeKeyPair: EC P-256 by default (ECDH-ES+A256KW), or RSA (RSA-OAEP-256)."""

    def __init__(self, kind="ec-p256"):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        self.kind = kind
        if kind == "rsa":
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            n = self.priv.public_key().public_numbers()
            # kbs-types TeePubKey::RSA serialises kty (serde tag) first, then alg, n, e
            self.jwk = {"kty": "RSA", "alg": "RSA-OAEP-256",
                        "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                        "e": b64url(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}
        else:
            curve, crv, size = ((ec.SECP256R1(), "P-256", 32) if kind == "ec-p256"
                                else (ec.SECP521R1(), "P-521", 66))
            self.priv = ec.generate_private_key(curve)
            n = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": crv, "alg": "ECDH-ES+A256KW",
                        "x": b64url(n.x.to_bytes(size, "big")),
                        "y": b64url(n.y.to_bytes(size, "big"))}

    def unwrap_cek(self, header, wrapped):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
        if header["alg"] == "RSA-OAEP-256":
            assert self.kind == "rsa", "Unmatched key. Must be RSA key"
            return self.priv.decrypt(wrapped, padding.OAEP(
                mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        assert header["alg"] == "ECDH-ES+A256KW", "Unsupported algorithm"
        epk = header["epk"]           # required, from the protected header only
        assert epk["crv"] == self.jwk["crv"], "Unmatched curve"
        curve = self.priv.curve
        peer = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_dec(epk["x"]), "big"),
            int.from_bytes(b64url_dec(epk["y"]), "big"), curve).public_key()
        z = self.priv.exchange(ec.ECDH(), peer)
        alg = b"ECDH-ES+A256KW"
        # Concat KDF, SHA-256, AlgorithmID = alg, empty PartyU/VInfo, keydatalen 256
        other = len(alg).to_bytes(4, "big") + alg + b"\0" * 8 + (256).to_bytes(4, "big")
        kek = hashlib.sha256((1).to_bytes(4, "big") + z + other).digest()
        return aes_key_unwrap(kek, wrapped)

    def decrypt_response(self, resp):
        """keypair.rs decrypt_response with kbs-types Response/ProtectedHeader: the
        protected header is decoded and serialised again (alg, enc, then the other members
        in serde_json's sorted map order) to make the AAD."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        header = json.loads(b64url_dec(resp["protected"]))
        other = {k: header[k] for k in header if k not in ("alg", "enc")}

        def sortdeep(v):
            return {k: sortdeep(v[k]) for k in sorted(v)} if isinstance(v, dict) else v
        ser = {"alg": header["alg"], "enc": header["enc"]}
        ser.update(sortdeep(other))
        aad = b64url(json.dumps(ser, separators=(",", ":"), ensure_ascii=False).encode())
        assert header["enc"] == "A256GCM"
        cek = self.unwrap_cek(header, b64url_dec(resp["encrypted_key"]))
        return AESGCM(cek).decrypt(b64url_dec(resp["iv"]),
                                   b64url_dec(resp["ciphertext"]) + b64url_dec(resp["tag"]),
                                   aad.encode())


def error_information(r):
    """kbs-types ErrorInformation, which the client parses on 401 and 404."""
    e = r.json()
    assert isinstance(e["type"], str) and isinstance(e["detail"], str), e
    return e


class TrusteeClient:
    """rcar_client.rs: auth -> attest -> resource, with a given primary attester."""

    def __init__(self, d, tee, attester, key=None):
        self.d, self.tee, self.attester = d, tee, attester
        self.key = key or TeeKey()
        self.cookie = None

    def handshake(self):
        r = self.d.request("POST", "/kbs/v0/auth", {
            "version": KBS_PROTOCOL_VERSION, "tee": self.tee,
            "extra-params": {"supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"]}})
        if r.status != 200:
            return r
        self.cookie = "kbs-session-id=" + r.cookie("kbs-session-id")
        ch = r.json()
        extra = ch["extra-params"]
        alg = "sha384"                # DEFAULT_HASH_ALGORITHM
        if isinstance(extra, dict) and "selected-hash-algorithm" in extra:
            alg = extra["selected-hash-algorithm"].lower()
        runtime_data = {"nonce": ch["nonce"], "tee-pubkey": self.key.jwk}
        additional = ""               # no devices: NativeEvidenceProvider returns ""
        primary_rd = {"tee-pubkey": self.key.jwk, "nonce": ch["nonce"],
                      "additional-evidence": additional}
        digest = HASHES[alg](jcs(primary_rd).encode()).digest()
        ev = self.attester(digest)
        attest = {"init-data": None, "runtime-data": runtime_data,
                  "tee-evidence": {"primary_evidence": ev, "additional_evidence": additional}}
        return self.d.request("POST", "/kbs/v0/attest", attest, cookie=self.cookie)

    def get_resource(self, path):
        r = self.d.request("GET", "/kbs/v0/resource/" + path, cookie=self.cookie)
        if r.status != 200:
            error_information(r)
            return r, None
        return r, self.key.decrypt_response(r.json())


def sample_attester(report_data):
    """attester/src/sample: {"svn": "1", "report_data": base64(report_data)}."""
    return {"svn": "1", "report_data": b64std(report_data)}


@pytest.mark.parametrize("kind", ["ec-p256", "ec-p521", "rsa"])
def test_trustee_client_sample_flow(asd, kind):
    affirming_setup(asd)
    cl = TrusteeClient(asd, "sample", sample_attester, TeeKey(kind))
    r = cl.handshake()
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    assert claims["submods"]["sample"]["ear.status"] == "affirming"
    r, secret = cl.get_resource("default/key/k1")
    assert r.status == 200, r
    assert secret == SECRET
    r, _ = cl.get_resource("default/key/none")
    assert r.status == 404


def test_trustee_auth_response_shape(asd):
    r = asd.request("POST", "/kbs/v0/auth", {"version": KBS_PROTOCOL_VERSION, "tee": "sample",
                    "extra-params": {"supported-hash-algorithms": ["sha384"]}})
    assert r.status == 200
    # Trustee answers "" for every tee but SE, so the client hashes with SHA-384.
    assert r.json()["extra-params"] == ""


def test_trustee_client_refused_errors_parse(asd):
    """Without an affirming policy nothing is released, and the 401 body is a valid
    ErrorInformation (the client parses it before doing a new handshake)."""
    cl = TrusteeClient(asd, "sample", sample_attester)
    assert cl.handshake().status == 200
    r, secret = cl.get_resource("default/key/k1")
    assert r.status == 401 and secret is None


def test_trustee_binding_covers_additional_evidence(asd):
    """The server hashes the runtime data with "additional-evidence", as Trustee does; a
    report bound to the bare {nonce, tee-pubkey} of a composite request is refused."""
    affirming_setup(asd)
    key = TeeKey()
    r = asd.request("POST", "/kbs/v0/auth", {"version": KBS_PROTOCOL_VERSION, "tee": "sample",
                    "extra-params": ""})
    cookie = "kbs-session-id=" + r.cookie("kbs-session-id")
    nonce = r.json()["nonce"]
    digest = hashlib.sha384(jcs({"nonce": nonce, "tee-pubkey": key.jwk}).encode()).digest()
    body = {"init-data": None, "runtime-data": {"nonce": nonce, "tee-pubkey": key.jwk},
            "tee-evidence": {"primary_evidence": sample_attester(digest),
                             "additional_evidence": ""}}
    e = error_information(asd.request("POST", "/kbs/v0/attest", body, cookie=cookie))
    assert "report_data" in e["detail"]


def test_trustee_device_evidence_and_init_data_refused(asd):
    affirming_setup(asd)
    for extra in ({"additional_evidence": json.dumps({"sampledevice": {"svn": "2"}})},
                  {"init-data": {"format": "toml", "body": "algorithm = \"sha384\""}}):
        key = TeeKey()
        r = asd.request("POST", "/kbs/v0/auth", {"version": KBS_PROTOCOL_VERSION,
                        "tee": "sample", "extra-params": ""})
        cookie = "kbs-session-id=" + r.cookie("kbs-session-id")
        nonce = r.json()["nonce"]
        ae = extra.get("additional_evidence", "")
        digest = hashlib.sha384(jcs({"nonce": nonce, "tee-pubkey": key.jwk,
                                     "additional-evidence": ae}).encode()).digest()
        body = {"init-data": extra.get("init-data"),
                "runtime-data": {"nonce": nonce, "tee-pubkey": key.jwk},
                "tee-evidence": {"primary_evidence": sample_attester(digest),
                                 "additional_evidence": ae}}
        r = asd.request("POST", "/kbs/v0/attest", body, cookie=cookie)
        assert r.status == 501, r
        error_information(r)


def test_trustee_canonical_form_edge_cases(asd):
    """Members a client may put in its JWK, with escapes, non-ASCII text and a key outside
    the BMP (UTF-16 order puts it before U+E000..U+FFFF): the server's canonical form must
    be the client's byte for byte, or the binding check fails."""
    affirming_setup(asd)
    key = TeeKey("rsa")
    key.jwk = dict(key.jwk, **{"kid": "a\"b\\c\n\t\x01\x7f/é€",
                              "\U0001F600": "non-BMP key", "\uFFFD": "BMP key",
                              "n2": 12345, "ok": True, "nil": None, "arr": [1, "x", {"z": 1, "a": 2}]})
    cl = TrusteeClient(asd, "sample", sample_attester, key)
    r = cl.handshake()
    assert r.status == 200, r


# -- Trustee's TPM attester evidence against swtpm --------------------------------------------

class TrusteeTpm(Tpm2Tools):
    """attester/src/tpm: an RSA AK (RsaSsa/SHA-256), a quote over all 24 SHA-256 PCRs with
    the report data cut or zero-padded to 32 bytes, evidence
    {"tpm_quote": {"signature", "message", "pcrs"}, "ak_public"} in standard base64."""

    def __init__(self, tcti):
        super().__init__(tcti, prefix="as-kbs-tpm-")

    def make_ak(self, name="ak"):
        return super().make_ak(name, alg="rsa", scheme="rsassa")

    def pcrs(self):
        vals = self.pcr_values("sha256:all")
        return [vals[i] for i in range(24)]

    def evidence(self, report_data, name="ak"):
        from cryptography.hazmat.primitives import serialization
        rd = (report_data + b"\0" * 32)[:32]
        self.run("tpm2_quote", "-c", name + ".ctx", "-l", "sha256:all", "-q", rd.hex(),
                 "-m", "quote.msg", "-s", "quote.sig", "-g", "sha256")
        self.run("tpm2_flushcontext", "-t")
        pem = self.read(name + ".pem")
        der = serialization.load_pem_public_key(pem).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"tpm_quote": {"signature": b64std(self.read("quote.sig")),
                              "message": b64std(self.read("quote.msg")),
                              "pcrs": self.pcrs()},
                "ak_public": b64std(der)}


@pytest.fixture
def ttpm(swtpm):
    import shutil
    if shutil.which("tpm2_quote") is None:
        pytest.skip("tpm2-tools is not installed")
    t = TrusteeTpm(swtpm.tcti)
    yield t
    t.cleanup()


def tpm_register(d, t, group="kbs-tpm"):
    ak = t.make_ak()
    assert d.admin("POST", "/v1/nodes", {"id": "tpm-node", "group": group,
                                         "ak_public": ak}).status == 201
    vals = t.pcrs()
    assert d.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": "pcr.sha256.%d" % i, "value": v, "scope": "group:" + group}
        for i, v in enumerate(vals)]}).status == 201
    assert d.admin("POST", "/v1/resources/default/key/k1", raw=SECRET).status == 201


def test_trustee_tpm_attester_flow(asd, ttpm):
    tpm_register(asd, ttpm)
    cl = TrusteeClient(asd, "tpm", ttpm.evidence)
    r = cl.handshake()
    assert r.status == 200, r
    _, claims = verify_jwt(r.json()["token"], asd.jwks())
    sm = claims["submods"]["tpm"]
    assert sm["ear.status"] == "affirming", sm
    assert claims["turtle.node-id"] == "tpm-node"
    assert len(sm["turtle.claims"]["measurements"]) == 24
    r, secret = cl.get_resource("default/key/k1")
    assert r.status == 200, r
    assert secret == SECRET


def test_trustee_tpm_unregistered_ak_refused(asd, ttpm):
    tpm_register(asd, ttpm)
    ttpm.make_ak("other")
    cl = TrusteeClient(asd, "tpm", lambda rd: ttpm.evidence(rd, "other"))
    r = cl.handshake()
    assert r.status == 401, r
    assert "no registered node" in error_information(r)["detail"]


def test_trustee_tpm_evidence_ak_swapped_refused(asd, ttpm):
    """The evidence names the registered AK but the quote is by another key: the quote is
    checked with the registered key, so it fails."""
    tpm_register(asd, ttpm)
    reg = ttpm.evidence(b"x")["ak_public"]
    ttpm.make_ak("other")

    def swapped(rd):
        ev = ttpm.evidence(rd, "other")
        ev["ak_public"] = reg
        return ev
    r = TrusteeClient(asd, "tpm", swapped).handshake()
    assert r.status == 401, r
    assert "signature" in error_information(r)["detail"]


def test_trustee_tpm_wrong_report_data_refused(asd, ttpm):
    tpm_register(asd, ttpm)
    r = TrusteeClient(asd, "tpm", lambda rd: ttpm.evidence(bytes(32))).handshake()
    assert r.status == 401, r
    assert "nonce" in error_information(r)["detail"]
