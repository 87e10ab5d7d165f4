"""The optional collateral fetcher (src/attest/fetch) against a stand-in for AMD KDS and
Intel PCS (fetch_server.py, a real HTTP server on a real socket, started and stopped by
PID) serving synthetic collateral under test anchors (snp_synth.py, dcap_synth.py).

Proved here, through `turtle verify --fetch` and turtle-as's [collateral] section: with
fetching off (the default) evidence without local collateral is refused and the server is
never asked; with it on the evidence verifies and the cache holds the files under the names
the verifiers read; a second verification asks nothing; fetched bytes that do not verify
(another chain, a CRL signed by another key, an altered TCB info) are refused by the
verifier; a 404, an oversized answer, a stalled answer and a missing issuer-chain header
are clear errors; an expired cached CRL is fetched again, and is not used when that fails;
fetched collateral that failed verification is removed and fetched once more; refused
lookups are remembered for negative_ttl and all requests held to a rate limit."""

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import (as_bin, as_factory, b64url_dec, problem,  # noqa: E402,F401
                        refvals, verify_jwt)
from harness import TURTLE_CLI  # noqa: E402
import dcap_synth  # noqa: E402
import snp_synth  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
UTC = datetime.timezone.utc
NONCE = bytes(range(32))
TCB = snp_synth.TCB
VCEK_PATH = "/vcek/v1/Milan/%s?blSPL=%02d&teeSPL=%02d&snpSPL=%02d&ucodeSPL=%02d" % (
    snp_synth.CHIP_ID.hex(), TCB["bootloader"], TCB["tee"], TCB["snp"], TCB["microcode"])
CRL_PATH = "/vcek/v1/Milan/crl"
TCB_KEY = "%016x" % int.from_bytes(bytes([TCB["bootloader"], TCB["tee"], 0, 0, 0, 0,
                                          TCB["snp"], TCB["microcode"]]), "little")
CHIP_DIR = os.path.join("snp", "Milan-%s-%s" % (snp_synth.CHIP_ID.hex(), TCB_KEY))

pytestmark = pytest.mark.skipif(TURTLE_CLI is None, reason="turtle CLI not built")


class Vendor:
    """fetch_server.py in its own process; routes and request log in files."""

    def __init__(self, root, tls=None):
        self.root = root
        self.routes_path = os.path.join(root, "routes.json")
        self.log_path = os.path.join(root, "requests.log")
        self.routes = {}
        self._write_routes()
        open(self.log_path, "w").close()
        portfile = os.path.join(root, "port")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fetch_server.py"), portfile,
             self.routes_path, self.log_path] + list(tls or ()), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not os.path.exists(portfile):
            assert self.proc.poll() is None, "fetch_server.py exited"
            assert time.monotonic() < deadline, "fetch_server.py did not start"
            time.sleep(0.05)
        with open(portfile) as f:
            self.url = "%s://127.0.0.1:%s" % ("https" if tls else "http", f.read())

    def _write_routes(self):
        tmp = self.routes_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.routes, f)
        os.rename(tmp, self.routes_path)

    def serve(self, path, body=b"", status=200, headers=None, mode=None):
        name = os.path.join(self.root, "body-%d" % len(self.routes))
        with open(name, "wb") as f:
            f.write(body)
        self.routes[path] = {"status": status, "file": name, "headers": headers or {},
                             "mode": mode}
        self._write_routes()

    def drop(self, path):
        self.routes.pop(path, None)
        self._write_routes()

    def requests(self):
        with open(self.log_path) as f:
            return f.read().split()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="turtle-fetch-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def vendor(tmp):
    os.makedirs(os.path.join(tmp, "vendor"))
    v = Vendor(os.path.join(tmp, "vendor"))
    yield v
    v.stop()


def turtle(*args):
    p = subprocess.run([TURTLE_CLI, "verify", *args], capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


# -- SEV-SNP: AMD KDS ------------------------------------------------------------------------

def ark_crl(world, key=None, last=-1, nxt=30, revoked=()):
    now = datetime.datetime.now(UTC)
    b = (x509.CertificateRevocationListBuilder().issuer_name(snp_synth._name("ARK-Milan"))
         .last_update(now + datetime.timedelta(days=last))
         .next_update(now + datetime.timedelta(days=nxt)))
    for serial in revoked:
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                      .revocation_date(now - datetime.timedelta(days=2))
                                      .build())
    return b.sign(key or world.ark_key, hashes.SHA384()).public_bytes(
        serialization.Encoding.DER)


@pytest.fixture
def snp(tmp, vendor):
    w = snp_synth.SnpWorld(os.path.join(tmp, "amd"))
    rep = os.path.join(tmp, "report.bin")
    with open(rep, "wb") as f:
        f.write(w.report(NONCE))
    vcek = w.vcek.public_bytes(serialization.Encoding.DER)
    crl = ark_crl(w)
    vendor.serve(VCEK_PATH, vcek)
    vendor.serve(CRL_PATH, crl)
    cache = os.path.join(tmp, "cache")
    os.makedirs(cache)
    return w, rep, vcek, crl, cache


def snp_verify(w, rep, cache, vendor, *extra, fetch=True):
    args = ["--tee", "snp", "--evidence", rep, "--anchors", w.anchors, "--nonce-hex",
            NONCE.hex(), "--json"]
    if fetch:
        args += ["--fetch", "--kds-url", vendor.url, "--cache-dir", cache]
    else:
        args += ["--collateral", cache]
    return turtle(*(args + list(extra)))


def test_snp_fetch_off_refused_and_nothing_asked(snp, vendor):
    w, rep, _, _, cache = snp
    rc, out, _ = snp_verify(w, rep, cache, vendor, fetch=False)
    assert rc == 1
    res = json.loads(out)
    assert res["verified"] is False and "VCEK" in res["reasons"][0], res["reasons"]
    assert vendor.requests() == []


def test_snp_fetch_fills_cache_then_uses_it(snp, vendor):
    w, rep, vcek, crl, cache = snp
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 0, out + err
    res = json.loads(out)
    assert res["verified"] is True
    crl_link = [l for l in res["chain"] if l["link"] == "crl"]
    assert crl_link and crl_link[0]["verdict"] == "verified", res["chain"]
    assert vendor.requests() == [VCEK_PATH, CRL_PATH]
    d = os.path.join(cache, CHIP_DIR)
    assert open(os.path.join(d, "vcek.der"), "rb").read() == vcek
    assert open(os.path.join(d, "crl.der"), "rb").read() == crl
    assert open(os.path.join(cache, "snp", "Milan-crl.der"), "rb").read() == crl
    assert not [n for n in os.listdir(d) if n.startswith(".")]  # no temporary left
    # the second verification is answered from the cache: no request at all
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 0, out + err
    assert vendor.requests() == [VCEK_PATH, CRL_PATH]
    # and the cache is the plain collateral directory the verifier reads with fetch off
    rc, out, _ = turtle("--tee", "snp", "--evidence", rep, "--anchors", w.anchors,
                        "--nonce-hex", NONCE.hex(), "--collateral", d, "--require-crl")
    assert rc == 0, out


def test_snp_fetched_vcek_of_another_chain_refused(snp, vendor, tmp):
    w, rep, _, _, cache = snp
    other = snp_synth.SnpWorld(os.path.join(tmp, "other"))
    vendor.serve(VCEK_PATH, other.vcek.public_bytes(serialization.Encoding.DER))
    rc, out, _ = snp_verify(w, rep, cache, vendor)
    assert rc == 1
    res = json.loads(out)
    assert res["verified"] is False and res["claims"] is None
    assert "VCEK does not chain to an AMD ARK" in res["reasons"][0], res["reasons"]


def test_cli_bad_fetched_vcek_removed_then_refetched(snp, vendor, tmp):
    """turtle verify --fetch removes a fetched VCEK that failed its chain check, so the
    next run asks again instead of trusting the file's own dates."""
    w, rep, vcek, _, cache = snp
    other = snp_synth.SnpWorld(os.path.join(tmp, "other"))
    vendor.serve(VCEK_PATH, other.vcek.public_bytes(serialization.Encoding.DER))
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 1 and "VCEK does not chain" in json.loads(out)["reasons"][0], out
    assert "removed the fetched collateral under" in err, err
    assert not os.path.exists(os.path.join(cache, CHIP_DIR, "vcek.der"))
    vendor.serve(VCEK_PATH, vcek)
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 0, out + err
    assert vendor.requests() == [VCEK_PATH, CRL_PATH, VCEK_PATH, CRL_PATH]


def test_snp_fetched_crl_of_another_key_refused(snp, vendor, tmp):
    w, rep, _, _, cache = snp
    other = snp_synth.SnpWorld(os.path.join(tmp, "other"))
    vendor.serve(CRL_PATH, ark_crl(w, key=other.ark_key))
    rc, out, _ = snp_verify(w, rep, cache, vendor)
    assert rc == 1
    assert "CRL is not signed by the ARK" in json.loads(out)["reasons"][0]


def test_snp_fetched_crl_revoking_ask_refused(snp, vendor):
    """KDS's CRL is the ARK's: it revokes intermediates (the ASK)."""
    w, rep, _, _, cache = snp
    vendor.serve(CRL_PATH, ark_crl(w, revoked=[w.ask.serial_number]))
    rc, out, _ = snp_verify(w, rep, cache, vendor)
    assert rc == 1
    assert "revoked" in json.loads(out)["reasons"][0]


def test_snp_expired_cached_crl_refetched(snp, vendor):
    w, rep, vcek, _, cache = snp
    d = os.path.join(cache, CHIP_DIR)
    os.makedirs(d)
    stale = ark_crl(w, last=-40, nxt=-10)
    for path in (os.path.join(d, "crl.der"), os.path.join(cache, "snp", "Milan-crl.der")):
        with open(path, "wb") as f:
            f.write(stale)
    with open(os.path.join(d, "vcek.der"), "wb") as f:
        f.write(vcek)
    # the refetch fails: the expired CRL is not handed on as current
    vendor.drop(CRL_PATH)
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 1 and "HTTP 404 from %s%s" % (vendor.url, CRL_PATH) in err, err
    assert vendor.requests() == [CRL_PATH]
    # the refetch succeeds: only the CRL is asked for, and it replaces the stale one
    fresh = ark_crl(w)
    vendor.serve(CRL_PATH, fresh)
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 0, out + err
    assert vendor.requests() == [CRL_PATH, CRL_PATH]
    assert open(os.path.join(d, "crl.der"), "rb").read() == fresh


def test_snp_v2_report_tries_milan_then_genoa(snp, vendor, tmp):
    """A version 2 report carries no CPUID: KDS is asked for Milan, then for Genoa."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    w, _, vcek, crl, cache = snp
    r = bytearray(w.report(NONCE))
    r[0:4] = (2).to_bytes(4, "little")
    r[0x188:0x18B] = bytes(3)
    rr, ss = decode_dss_signature(w.vcek_key.sign(bytes(r[:0x2A0]),
                                                  ec.ECDSA(hashes.SHA384())))
    r[0x2A0:0x2E8] = rr.to_bytes(72, "little")
    r[0x2E8:0x330] = ss.to_bytes(72, "little")
    rep = os.path.join(tmp, "report-v2.bin")
    with open(rep, "wb") as f:
        f.write(bytes(r))
    genoa = VCEK_PATH.replace("/Milan/", "/Genoa/")
    vendor.drop(VCEK_PATH)
    vendor.serve(genoa, vcek)
    vendor.serve("/vcek/v1/Genoa/crl", crl)
    rc, out, err = snp_verify(w, rep, cache, vendor)
    assert rc == 0, out + err
    assert vendor.requests() == [VCEK_PATH, genoa, "/vcek/v1/Genoa/crl"]
    assert os.path.exists(os.path.join(cache, CHIP_DIR.replace("Milan-", "Genoa-"),
                                       "vcek.der"))


@pytest.mark.parametrize("case", ["404", "oversized", "stalled", "not-der"])
def test_snp_fetch_failures_are_clear(snp, vendor, case):
    w, rep, vcek, _, cache = snp
    extra = []
    if case == "404":
        vendor.drop(VCEK_PATH)
        want = "HTTP 404 from %s%s" % (vendor.url, VCEK_PATH)
    elif case == "oversized":
        vendor.serve(VCEK_PATH, vcek + bytes(4096))
        extra = ["--fetch-max-size", "2048"]
        want = "response larger than 2048 bytes from %s%s" % (vendor.url, VCEK_PATH)
    elif case == "stalled":
        vendor.serve(VCEK_PATH, vcek, mode="slow")
        extra = ["--fetch-timeout", "1"]
        want = "timed out after 1 s fetching %s%s" % (vendor.url, VCEK_PATH)
    else:
        vendor.serve(VCEK_PATH, b"<html>maintenance</html>")
        want = "the answer is not one DER certificate"
    rc, out, err = snp_verify(w, rep, cache, vendor, *extra)
    assert rc == 1 and want in err, err
    assert out == ""
    assert not os.path.exists(os.path.join(cache, CHIP_DIR, "vcek.der"))


def test_snp_https_server_not_trusted_is_refused(snp, tmp):
    """TLS certificate checking is on: a KDS stand-in whose certificate no system CA
    issued is never asked anything (the handshake fails), and nothing is cached."""
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress
    w, rep, vcek, crl, cache = snp
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    root = os.path.join(tmp, "tls")
    os.makedirs(root)
    certf, keyf = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
    with open(certf, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    v = Vendor(root, tls=(certf, keyf))
    try:
        v.serve(VCEK_PATH, vcek)
        v.serve(CRL_PATH, crl)
        rc, out, err = snp_verify(w, rep, cache, v)
        assert rc == 1 and "cannot fetch %s%s" % (v.url, VCEK_PATH) in err, err
        # libcurl: the peer's certificate is not trusted ("SSL peer certificate ...");
        # on a machine without a CA bundle the handshake fails on that instead ("SSL
        # CA cert"). Either way no request reached the server (next line).
        assert "certificate" in err or "SSL" in err, err
        assert v.requests() == []
        assert not os.path.exists(os.path.join(cache, CHIP_DIR, "vcek.der"))
    finally:
        v.stop()


# -- TDX: Intel PCS v4 -----------------------------------------------------------------------

def pcs_routes(vendor, c, tcb_info=None):
    chain = lambda k: {k: urllib.parse.quote(c[{  # noqa: E731
        "SGX-PCK-CRL-Issuer-Chain": "pck_crl_issuer_chain",
        "TCB-Info-Issuer-Chain": "tcb_info_issuer_chain",
        "SGX-Enclave-Identity-Issuer-Chain": "qe_identity_issuer_chain"}[k]], safe="")}
    fm = dcap_synth.FMSPC.hex()
    vendor.serve("/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
                 bytes.fromhex(c["pck_crl"]), headers=chain("SGX-PCK-CRL-Issuer-Chain"))
    vendor.serve("/tdx/certification/v4/tcb?fmspc=" + fm,
                 ('{"tcbInfo":%s,"signature":"%s"}' % (tcb_info or c["tcb_info"],
                                                       c["tcb_info_signature"])).encode(),
                 headers=chain("TCB-Info-Issuer-Chain"))
    vendor.serve("/tdx/certification/v4/qe/identity",
                 ('{"enclaveIdentity":%s,"signature":"%s"}' % (
                     c["qe_identity"], c["qe_identity_signature"])).encode(),
                 headers=chain("SGX-Enclave-Identity-Issuer-Chain"))
    vendor.serve("/IntelSGXRootCA.der", bytes.fromhex(c["root_ca_crl"]))


@pytest.fixture
def tdx(tmp, vendor):
    now = datetime.datetime.now(UTC)
    w = dcap_synth.DcapWorld(
        cert_from=now - datetime.timedelta(days=30), crl_from=now - datetime.timedelta(days=1),
        crl_next=now + datetime.timedelta(days=30), issue=now - datetime.timedelta(days=1),
        next_update=now + datetime.timedelta(days=30))
    anchors = os.path.join(tmp, "anchors")
    os.makedirs(os.path.join(anchors, "intel"))
    with open(os.path.join(anchors, "intel", "sgx-root-ca.pem"), "wb") as f:
        f.write(w.root_pem())
    quote = os.path.join(tmp, "quote.bin")
    with open(quote, "wb") as f:
        f.write(w.quote(NONCE))
    c = w.collateral()
    cache = os.path.join(tmp, "cache")
    return w, anchors, quote, c, cache


def tdx_verify(t, vendor, fetch=True):
    _, anchors, quote, _, cache = t
    args = ["--tee", "tdx", "--evidence", quote, "--anchors", anchors, "--nonce-hex",
            NONCE.hex(), "--json"]
    if fetch:
        args += ["--fetch", "--pcs-url", vendor.url, "--root-crl-url",
                 vendor.url + "/IntelSGXRootCA.der", "--cache-dir", cache]
    else:
        os.makedirs(cache, exist_ok=True)
        args += ["--collateral", cache]
    return turtle(*args)


def test_tdx_fetch_off_refused_and_nothing_asked(tdx, vendor):
    pcs_routes(vendor, tdx[3])
    rc, out, _ = tdx_verify(tdx, vendor, fetch=False)
    assert rc == 1 and "collateral-missing" in json.loads(out)["reasons"][0]
    assert vendor.requests() == []


def test_tdx_fetch_fills_cache_then_uses_it(tdx, vendor):
    c, cache = tdx[3], tdx[4]
    pcs_routes(vendor, c)
    rc, out, err = tdx_verify(tdx, vendor)
    assert rc == 0, out + err
    res = json.loads(out)
    assert res["verified"] is True and res["claims"]["tcb_status"] == "UpToDate"
    fm = dcap_synth.FMSPC.hex()
    # the TCB info first: the one lookup the quote's FMSPC names
    assert vendor.requests() == [
        "/tdx/certification/v4/tcb?fmspc=" + fm,
        "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
        "/tdx/certification/v4/qe/identity", "/IntelSGXRootCA.der"]
    with open(os.path.join(cache, "dcap-platform", "tdx-%s.json" % fm)) as f:
        got = json.load(f)
    # the signed texts are cached byte for byte, the rest as the collateral JSON names it
    assert got == c
    rc, out, err = tdx_verify(tdx, vendor)
    assert rc == 0, out + err
    assert len(vendor.requests()) == 4


def test_tdx_altered_tcb_info_refused(tdx, vendor):
    c = tdx[3]
    altered = c["tcb_info"].replace('"tcbEvaluationDataNumber":99',
                                    '"tcbEvaluationDataNumber":98')
    assert altered != c["tcb_info"]
    pcs_routes(vendor, c, tcb_info=altered)
    rc, out, _ = tdx_verify(tdx, vendor)
    assert rc == 1
    res = json.loads(out)
    assert res["verified"] is False and "tcb-info" in res["reasons"][0], res["reasons"]


def test_tdx_missing_issuer_chain_header_is_clear(tdx, vendor):
    c = tdx[3]
    pcs_routes(vendor, c)
    fm = dcap_synth.FMSPC.hex()
    path = "/tdx/certification/v4/tcb?fmspc=" + fm
    vendor.routes[path]["headers"] = {}
    vendor._write_routes()
    rc, out, err = tdx_verify(tdx, vendor)
    assert rc == 1 and "header TCB-Info-Issuer-Chain missing" in err, err


# -- turtle-as [collateral] ------------------------------------------------------------------

def test_as_fetch_off_by_default_and_on_when_configured(as_factory, snp, vendor):
    w = snp[0]
    # default: no [collateral] section; a report without its VCEK is refused, KDS unasked
    d = as_factory(extra_args=("--tee-anchors", w.anchors))
    ch = d.challenge("snp")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    ev["cert_chain"] = None
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp", "evidence": ev})
    assert r.status >= 400 and "VCEK" in r.json()["detail"], r
    assert vendor.requests() == []
    assert "collateral fetching is off" in d.logtext()
    # fetch = true: the same evidence verifies, and the cache under the data dir is filled
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\ntimeout = 5\n"
                   "max_size = 64K\n" % vendor.url,
                   extra_args=("--tee-anchors", w.anchors))
    refvals(d, snp_synth.reference_values())
    for _ in range(2):
        ch = d.challenge("snp")
        ev = w.evidence(b64url_dec(ch["nonce"]))
        ev["cert_chain"] = None
        r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                             "evidence": ev})
        assert r.status == 200 and r.json()["status"] == "affirming", r
    assert vendor.requests() == [VCEK_PATH, CRL_PATH]
    assert os.path.exists(os.path.join(d.data, "collateral", CHIP_DIR, "vcek.der"))
    # evidence that brings its VCEK needs only the CRL, which is cached already
    ch = d.challenge("snp")
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                         "evidence": w.evidence(b64url_dec(ch["nonce"]))})
    assert r.status == 200 and r.json()["status"] == "affirming", r
    assert vendor.requests() == [VCEK_PATH, CRL_PATH]


def test_as_fetch_failure_is_502_with_reason(as_factory, snp, vendor):
    w = snp[0]
    vendor.drop(VCEK_PATH)
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\n" % vendor.url,
                   extra_args=("--tee-anchors", w.anchors))
    ch = d.challenge("snp")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    ev["cert_chain"] = None
    p = problem(d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                                 "evidence": ev}), 502)
    assert "collateral fetch failed: HTTP 404 from" in p["detail"], p


def test_as_fetches_pcs_collateral_for_tdx(as_factory, tdx, vendor):
    """TDX evidence (Trustee's JSON, with its CC event log) over the native API: the
    quote's collateral is fetched from PCS once, verified, and the token carries the TCB
    status read from the fetched TCB info."""
    w, anchors, _, c, _ = tdx
    os.chmod(os.path.join(anchors, "intel"), 0o755)
    os.chmod(anchors, 0o755)
    pcs_routes(vendor, c)
    d = as_factory(config="[collateral]\nfetch = true\npcs_url = %s\nroot_crl_url = %s\n"
                   % (vendor.url, vendor.url + "/IntelSGXRootCA.der"),
                   extra_args=("--tee-anchors", anchors))
    for _ in range(2):
        ch = d.challenge("tdx")
        r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "tdx",
                                             "evidence": w.evidence(b64url_dec(ch["nonce"]))})
        assert r.status == 200, r
        _, claims = verify_jwt(r.json()["token"], d.jwks())
        tc = claims["submods"]["tdx"]["turtle.claims"]
        assert tc["tdx"]["tcb_status"] == "UpToDate"
    assert len(vendor.requests()) == 4
    fm = dcap_synth.FMSPC.hex()
    assert os.path.exists(os.path.join(d.data, "collateral", "dcap-platform",
                                       "tdx-%s.json" % fm))


@pytest.mark.parametrize("line", ["fetch = maybe", "kds_url = ftp://x", "timeout = 0",
                                  "max_size = 1", "cache_dir = relative", "proxy = x"])
def test_as_collateral_config_refused(as_factory, line):
    d = as_factory(config="[collateral]\n%s\n" % line, start=False)
    with pytest.raises(AssertionError):
        d.start()
    assert "collateral." in d.logtext()


def test_as_unverified_chip_ids_leave_no_cache_entries(as_factory, snp, vendor):
    """Evidence that brings its VCEK needs only its product's CRL: the chip id and TCB of
    a report nobody has verified yet name no directory in the cache, so a stream of
    reports with made-up chip ids cannot fill the disk."""
    w = snp[0]
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\ntimeout = 5\n"
                   "max_size = 64K\n" % vendor.url,
                   extra_args=("--tee-anchors", w.anchors))
    snpdir = os.path.join(d.data, "collateral", "snp")
    for i in range(3):
        ch = d.challenge("snp")
        ev = w.evidence(b64url_dec(ch["nonce"]))
        ev["attestation_report"]["chip_id"] = [0xA0 + i] * 64
        r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                             "evidence": ev})
        assert r.status >= 400, r
    assert vendor.requests() == [CRL_PATH]
    left = [n for n in os.listdir(snpdir) if "a0a0" in n or "a1a1" in n or "a2a2" in n]
    assert left == [], os.listdir(snpdir)
    # the genuine evidence still verifies with the CRL the fetcher keeps
    refvals(d, snp_synth.reference_values())
    ch = d.challenge("snp")
    r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                         "evidence": w.evidence(b64url_dec(ch["nonce"]))})
    assert r.status == 200 and r.json()["status"] == "affirming", r
    assert vendor.requests() == [CRL_PATH]
    assert len(os.listdir(snpdir)) <= 3, os.listdir(snpdir)


# -- turtle-as: what keeps made-up lookups from reaching KDS/PCS -----------------------------

def snp_made_up(d, w, chip):
    """POST /v1/attest with a report that names `chip` (one byte repeated) and no VCEK."""
    ch = d.challenge("snp")
    ev = w.evidence(b64url_dec(ch["nonce"]))
    ev["cert_chain"] = None
    ev["attestation_report"]["chip_id"] = [chip] * 64
    return d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                            "evidence": ev})


def vcek_path(chip):
    return VCEK_PATH.replace(snp_synth.CHIP_ID.hex(), bytes([chip] * 64).hex())


def test_as_made_up_chip_ids_asked_once_then_rate_limited(as_factory, snp, vendor):
    """Every report names its chip id; KDS answers 404 for one it does not know. Each
    made-up chip id is asked once within negative_ttl, however often it comes back, and
    all lookups together stop at max_fetches_per_minute: the server sees nothing more."""
    w = snp[0]
    cap = 3
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\nnegative_ttl = 600\n"
                   "max_fetches_per_minute = %d\n" % (vendor.url, cap),
                   extra_args=("--tee-anchors", w.anchors))
    t0 = time.monotonic()
    for _ in range(5):
        p = problem(snp_made_up(d, w, 0xA0), 502)
        assert "collateral fetch failed:" in p["detail"], p
    assert vendor.requests() == [vcek_path(0xA0)]
    assert "not asked again" in p["detail"], p
    limited = 0
    for chip in range(0xB0, 0xB0 + 10):
        p = problem(snp_made_up(d, w, chip), 502)
        if "fetch rate limit reached (%d per minute)" % cap in p["detail"]:
            limited += 1
        else:
            assert "HTTP 404 from" in p["detail"], p
    # the bucket refills cap tokens a minute: allow for what the test's own time refilled
    refill = int((time.monotonic() - t0) * cap / 60)
    asked = vendor.requests()
    assert len(asked) <= cap + refill, asked
    assert len(set(asked)) == len(asked), asked
    assert limited >= 11 - cap - refill
    # a refused lookup is remembered: asking again reaches no server either way
    n = len(asked)
    for chip in [0xA0] + list(range(0xB0, 0xB0 + 10)):
        problem(snp_made_up(d, w, chip), 502)
    assert len(vendor.requests()) <= n + int((time.monotonic() - t0) * cap / 60) - refill


def test_as_negative_cache_expires(as_factory, snp, vendor):
    """After negative_ttl a refused lookup is asked again (KDS may know the chip now)."""
    w = snp[0]
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\nnegative_ttl = 1\n"
                   % vendor.url, extra_args=("--tee-anchors", w.anchors))
    for _ in range(3):
        problem(snp_made_up(d, w, 0xC0), 502)
    assert vendor.requests() == [vcek_path(0xC0)]
    time.sleep(2.1)   # past the 1 s TTL (a lower bound only: later is as good)
    problem(snp_made_up(d, w, 0xC0), 502)
    assert vendor.requests() == [vcek_path(0xC0)] * 2


def test_as_unknown_fmspc_asked_once(as_factory, tdx, vendor):
    """An FMSPC PCS does not know (404) costs one request, not one per attestation: the
    TCB info, which the FMSPC names, is asked first and its refusal is remembered."""
    w, anchors, _, c, _ = tdx
    os.chmod(os.path.join(anchors, "intel"), 0o755)
    os.chmod(anchors, 0o755)
    pcs_routes(vendor, c)
    fm = dcap_synth.FMSPC.hex()
    vendor.drop("/tdx/certification/v4/tcb?fmspc=" + fm)
    d = as_factory(config="[collateral]\nfetch = true\npcs_url = %s\nroot_crl_url = %s\n"
                   % (vendor.url, vendor.url + "/IntelSGXRootCA.der"),
                   extra_args=("--tee-anchors", anchors))
    for _ in range(4):
        ch = d.challenge("tdx")
        p = problem(d.request("POST", "/v1/attest", {
            "nonce": ch["nonce"], "tee": "tdx",
            "evidence": w.evidence(b64url_dec(ch["nonce"]))}), 502)
        assert "collateral fetch failed:" in p["detail"], p
    assert vendor.requests() == ["/tdx/certification/v4/tcb?fmspc=" + fm]


def test_as_bad_fetched_vcek_refetched_once(as_factory, snp, vendor, tmp):
    """A well-shaped VCEK that does not verify is not kept on its own (unverified)
    dates: the failed verification removes it and the next request fetches it again, and
    a good answer then verifies. A server that keeps answering badly is asked again only
    once per negative_ttl, not on every request."""
    w, _, vcek, _, _ = snp
    other = snp_synth.SnpWorld(os.path.join(tmp, "other"))
    bad = other.vcek.public_bytes(serialization.Encoding.DER)
    vendor.serve(VCEK_PATH, bad)
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\n" % vendor.url,
                   extra_args=("--tee-anchors", w.anchors))
    refvals(d, snp_synth.reference_values())

    def attest():
        ch = d.challenge("snp")
        ev = w.evidence(b64url_dec(ch["nonce"]))
        ev["cert_chain"] = None
        return d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                                "evidence": ev})

    r = attest()
    assert r.status >= 400 and "VCEK does not chain" in r.json()["detail"], r
    assert vendor.requests() == [VCEK_PATH, CRL_PATH]
    assert not os.path.exists(os.path.join(d.data, "collateral", CHIP_DIR, "vcek.der"))
    vendor.serve(VCEK_PATH, vcek)
    for _ in range(2):
        r = attest()
        assert r.status == 200 and r.json()["status"] == "affirming", r
    assert vendor.requests() == [VCEK_PATH, CRL_PATH, VCEK_PATH, CRL_PATH]


def test_as_bad_answer_not_refetched_in_a_loop(as_factory, snp, vendor, tmp):
    w = snp[0]
    other = snp_synth.SnpWorld(os.path.join(tmp, "other"))
    vendor.serve(VCEK_PATH, other.vcek.public_bytes(serialization.Encoding.DER))
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\n" % vendor.url,
                   extra_args=("--tee-anchors", w.anchors))
    for _ in range(5):
        ch = d.challenge("snp")
        ev = w.evidence(b64url_dec(ch["nonce"]))
        ev["cert_chain"] = None
        r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                             "evidence": ev})
        assert r.status >= 400 and "VCEK does not chain" in r.json()["detail"], r
    # fetched, removed after its failure, fetched once more; then kept for negative_ttl
    assert vendor.requests() == [VCEK_PATH, CRL_PATH, VCEK_PATH, CRL_PATH]


def test_as_bad_fetched_tcb_info_refetched(as_factory, tdx, vendor):
    w, anchors, _, c, _ = tdx
    os.chmod(os.path.join(anchors, "intel"), 0o755)
    os.chmod(anchors, 0o755)
    altered = c["tcb_info"].replace('"tcbEvaluationDataNumber":99',
                                    '"tcbEvaluationDataNumber":98')
    pcs_routes(vendor, c, tcb_info=altered)
    d = as_factory(config="[collateral]\nfetch = true\npcs_url = %s\nroot_crl_url = %s\n"
                   % (vendor.url, vendor.url + "/IntelSGXRootCA.der"),
                   extra_args=("--tee-anchors", anchors))

    def attest():
        ch = d.challenge("tdx")
        return d.request("POST", "/v1/attest", {
            "nonce": ch["nonce"], "tee": "tdx",
            "evidence": w.evidence(b64url_dec(ch["nonce"]))})

    r = attest()
    assert r.status >= 400 and r.status != 502, r
    assert len(vendor.requests()) == 4
    assert not os.path.exists(os.path.join(d.data, "collateral", "dcap-platform",
                                           "tdx-%s.json" % dcap_synth.FMSPC.hex()))
    vendor.routes.clear()   # serve() names its body files by the number of routes
    pcs_routes(vendor, c)
    r = attest()
    assert r.status == 200, r
    assert len(vendor.requests()) == 8


def test_as_evidence_own_bad_vcek_keeps_fetched_crl(as_factory, snp, vendor, tmp):
    """A report that brings a VCEK of another chain fails on that certificate, which was
    not fetched: the fetched CRL is kept, and KDS is asked nothing more."""
    w = snp[0]
    other = snp_synth.SnpWorld(os.path.join(tmp, "other"))
    d = as_factory(config="[collateral]\nfetch = true\nkds_url = %s\n" % vendor.url,
                   extra_args=("--tee-anchors", w.anchors))
    for _ in range(3):
        ch = d.challenge("snp")
        ev = w.evidence(b64url_dec(ch["nonce"]))
        ev["cert_chain"] = other.evidence(b64url_dec(ch["nonce"]))["cert_chain"]
        r = d.request("POST", "/v1/attest", {"nonce": ch["nonce"], "tee": "snp",
                                             "evidence": ev})
        assert r.status >= 400 and r.status != 502, r
    assert vendor.requests() == [CRL_PATH]
    assert os.path.exists(os.path.join(d.data, "collateral", "snp", "Milan", "crl.der"))


@pytest.mark.parametrize("line", ["negative_ttl = 0", "negative_ttl = 86401",
                                  "max_fetches_per_minute = 0",
                                  "max_fetches_per_minute = 6001",
                                  "max_fetches_per_minute = many"])
def test_as_fetch_guard_config_bounds_refused(as_factory, line):
    d = as_factory(config="[collateral]\n%s\n" % line, start=False)
    with pytest.raises(AssertionError):
        d.start()
    assert "collateral.%s" % line.split(" ")[0] in d.logtext(), d.logtext()
