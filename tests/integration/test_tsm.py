"""Confidential-guest evidence through turtled (TtAttestTee over configfs-tsm) against a
fake configfs-tsm that behaves as the kernel's (tsm_fake.py: a FUSE filesystem with
entries, inblob, outblob/auxblob made when read and signed by the synthetic SNP, TDX and
CCA platforms, generation, provider, privlevel), started and stopped by PID.

On the wire: any authenticated client gets a report over its report data (zero-padded to
64 bytes), SNP's privlevel becomes the report's VMPL, the generation counts the writes;
refused: report data over 64 bytes, NoAuth, a tee other than the guest's, a privlevel the
provider does not take. Adversarial kernels: a concurrent writer (retried, then refused,
never mixed blobs), an oversized, empty or failing outblob, an unexpected provider, and a
report that ignores inblob (turtle-as refuses the binding). Every configfs entry is removed
on every path. End to end: `turtle attest --tee snp|tdx|cca --as` for a registered node
gives an affirming token that `turtle token verify --jwks` accepts, a changed measurement
gives contraindicated; `turtle get-resource --tee ...` releases a secret, and refuses it
after the measurement changes. Registration from evidence: `turtle as node register --tee`
registers the platform identity the guest's verified report carries; another platform of
the same world (the fake's "platform": "other") cannot attest as that node; tampered
evidence, a non-admin token and a tee_identity the evidence does not carry are refused."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parsec  # noqa: E402
from as_harness import as_bin, as_factory, problem  # noqa: E402,F401
from harness import TURTLE_CLI  # noqa: E402

ST = parsec.ST
OP_ATTEST_TEE = 0x00010005
HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "tsm_fake.py")
PYTHON = "/usr/bin/python3"
SECRET = b"\x00 a confidential guest's disk key \xff\n"
ADMIN = "admin_priv"
NODE = "guest-1"


def fuse_problem():
    """Why the fake cannot run here, or None. Missing FUSE is a failure, not a skip: CI
    runs as root on machines that have it (scripts/deps.sh --test installs it)."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is absent (load the fuse module; in a chroot, mount /dev)"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        return "/dev/fuse cannot be opened: %s" % e
    if shutil.which("fusermount") is None and shutil.which("fusermount3") is None:
        return "fusermount is not installed (Debian packages fuse3, libfuse2)"
    p = subprocess.run([PYTHON, "-c", "from fusepy import FUSE"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "python3-fusepy is not installed (scripts/deps.sh --test)"
    return None


class FakeTsm:
    """One fake configfs-tsm: MOUNT/report is the report directory; STATE holds the
    synthetic platform's anchors/collateral (world/), CCEL (TDX) and control.json."""

    def __init__(self, tee):
        self.tee = tee
        self.top = tempfile.mkdtemp(prefix="turtle-tsm-", dir="/tmp")
        os.chmod(self.top, 0o755)
        self.mnt = os.path.join(self.top, "mnt")
        self.state = os.path.join(self.top, "state")
        os.mkdir(self.mnt)
        os.mkdir(self.state)
        self.report_dir = os.path.join(self.mnt, "report")
        self.ccel = os.path.join(self.state, "CCEL")
        self.world = os.path.join(self.state, "world")
        self.log = open(os.path.join(self.top, "fake.log"), "wb")
        self.proc = subprocess.Popen([PYTHON, FAKE, "--mount", self.mnt, "--state",
                                      self.state, "--tee", tee], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None:
                raise AssertionError("tsm_fake exited: " + self.logtext())
            if time.monotonic() > deadline:
                raise AssertionError("tsm_fake did not mount: " + self.logtext())
            time.sleep(0.05)
        self.control({})

    def logtext(self):
        with open(os.path.join(self.top, "fake.log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def control(self, c):
        path = os.path.join(self.state, "control.json")
        with open(path + ".tmp", "w") as f:
            json.dump(c, f)
        os.chmod(path + ".tmp", 0o644)
        os.rename(path + ".tmp", path)

    def entries(self):
        return os.listdir(self.report_dir)

    def anchors_args(self):
        a = ["--tee-anchors", os.path.join(self.world, "anchors")]
        if self.tee == "tdx":
            a += ["--tee-collateral", os.path.join(self.world, "collateral")]
        return tuple(a)

    def stop(self):
        if self.proc.poll() is None:
            for cmd in (["fusermount", "-u", self.mnt], ["fusermount3", "-u", self.mnt],
                        ["umount", self.mnt]):
                if shutil.which(cmd[0]) and subprocess.run(
                        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                    break
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout=20)
                subprocess.run(["umount", "-l", self.mnt], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        self.log.close()
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def fake_factory():
    why = fuse_problem()
    if why is not None:
        pytest.fail("the configfs-tsm tests need FUSE: " + why)
    made = []

    def make(tee):
        f = FakeTsm(tee)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def agent_conf(fake, extra=""):
    return ("[authenticator]\nadmins = %s\n[agent]\ntsm_report_dir = %s\nccel = %s\n%s"
            % (ADMIN, fake.report_dir, fake.ccel, extra))


def _client(d, pb, app="alice", auth=None):
    return parsec.Client(d.sock, pb, auth=auth or parsec.auth_direct(app),
                         provider=parsec.PROVIDER_CORE)


def _take(d, pb, rd=b"", tee="", privlevel=None, **kw):
    op = pb.tt_attest_tee.Operation(report_data=rd, tee=tee)
    if privlevel is not None:
        op.privlevel_set = True
        op.privlevel = privlevel
    return _client(d, pb, **kw).call(OP_ATTEST_TEE, op, pb.tt_attest_tee.Result)


def _cli(d, *args, app="alice"):
    argv = [TURTLE_CLI, "--socket", d.sock, "--app-name", app] + list(args)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def _need_cli():
    if TURTLE_CLI is None or not os.access(TURTLE_CLI, os.X_OK):
        pytest.fail("the turtle CLI is not built")


# ---- reference values and identities of the three synthetic platforms ----

def snp_world():
    import snp_synth
    return snp_synth.reference_values(), snp_synth.CHIP_ID.hex(), "snp.evidence.measurement"


def tdx_world():
    import dcap_synth
    _, rtmr = dcap_synth.ccel()
    rv = {"tdx.quote.body.mr_td": dcap_synth.MR_TD.hex(), "tdx.quote.body.mr_seam": "00" * 48,
          "tdx.quote.body.mr_config_id": "00" * 48, "tdx.quote.body.xfam": dcap_synth.XFAM.hex(),
          "tdx.td_attributes.debug": "false", "tdx.tcb_status": "UpToDate"}
    for i in range(4):
        rv["tdx.quote.body.rtmr_%d" % i] = rtmr[i].hex()
    return rv, dcap_synth.PPID.hex(), "tdx.quote.body.mr_td"


def cca_world():
    import cca_synth
    return (cca_synth.reference_values(), cca_synth.INSTANCE_ID.hex(),
            "cca.realm.cca-realm-initial-measurement")


WORLDS = {"snp": snp_world, "tdx": tdx_world, "cca": cca_world}
OTHER_MEASUREMENT = {"snp": "77" * 48, "tdx": "66" * 48, "cca": "55" * 32}


# ---- on the wire ----

def test_wire_snp_report(daemon_factory, fake_factory, pb):
    fake = fake_factory("snp")
    d = daemon_factory(config=agent_conf(fake))
    rd = bytes(range(32))
    st, res = _take(d, pb, rd)
    assert st == ST.SUCCESS
    assert res.provider == "sev_guest" and res.tee == "snp"
    assert len(res.outblob) == 0x4A0
    assert res.outblob[0x50:0x90] == rd + bytes(32)     # zero-padded to 64
    assert res.generation == 1                          # one write: inblob
    assert len(res.auxblob) > 0 and res.cc_eventlog == b""
    assert fake.entries() == []
    # privlevel is SNP's VMPL: written first, so the generation counts two writes
    st, res = _take(d, pb, rd, tee="snp", privlevel=2, app="bob")
    assert st == ST.SUCCESS
    assert int.from_bytes(res.outblob[0x30:0x34], "little") == 2
    assert res.generation == 2
    # 64 bytes are the most inblob takes; over that, refused before any entry is made
    st, _ = _take(d, pb, bytes(65))
    assert st == ST.PSA_INVALID_ARGUMENT
    st, _ = _take(d, pb, rd, privlevel=4)
    assert st == ST.PSA_INVALID_ARGUMENT
    # a level under the entry's privlevel_floor is refused before it is written
    fake.control({"privlevel_floor": 2})
    st, _ = _take(d, pb, rd, privlevel=1)
    assert st == ST.PSA_INVALID_ARGUMENT
    assert "privlevel 1 is outside 2..3" in d.logtext()
    st, res = _take(d, pb, rd, privlevel=3)
    assert st == ST.SUCCESS and int.from_bytes(res.outblob[0x30:0x34], "little") == 3
    fake.control({})
    # the guest is SNP: a caller asking for TDX evidence gets none
    st, _ = _take(d, pb, rd, tee="tdx")
    assert st == ST.PSA_NOT_SUPPORTED
    assert "asked for tdx evidence" in d.logtext()
    # only authenticated clients
    st, _ = _take(d, pb, rd, auth=parsec.AUTH_NOAUTH)
    assert st == ST.NOT_AUTHENTICATED
    assert fake.entries() == []


def test_wire_tdx_and_cca(daemon_factory, fake_factory, pb):
    import dcap_synth
    tdx = fake_factory("tdx")
    d = daemon_factory(config=agent_conf(tdx))
    st, res = _take(d, pb, b"\x01" * 48, tee="tdx")
    assert st == ST.SUCCESS and res.provider == "tdx_guest" and res.tee == "tdx"
    assert res.auxblob == b""
    assert res.cc_eventlog == dcap_synth.ccel()[0]     # the CCEL table, byte for byte
    # TDX has no privlevel: NotSupported, not ignored
    st, _ = _take(d, pb, b"x", privlevel=0)
    assert st == ST.PSA_NOT_SUPPORTED
    assert tdx.entries() == []
    cca = fake_factory("cca")
    d2 = daemon_factory(config=agent_conf(cca))
    st, res = _take(d2, pb, b"\x02" * 64, tee="cca")
    assert st == ST.SUCCESS and res.provider == "arm_cca_guest" and res.tee == "cca"
    assert res.outblob[:3] == b"\xd9\x01\x8f"           # CBOR tag 399
    assert cca.entries() == []


def test_no_configfs_tsm(daemon_factory, pb):
    top = tempfile.mkdtemp(prefix="turtle-notsm-", dir="/tmp")
    try:
        os.chmod(top, 0o755)      # turtled (nobody) sees that the directory is absent
        d = daemon_factory(config="[agent]\ntsm_report_dir = %s/config/tsm/report\n" % top)
        st, _ = _take(d, pb, b"n")
        assert st == ST.PSA_NOT_SUPPORTED
        assert "not a confidential guest" in d.logtext()
    finally:
        shutil.rmtree(top)


def test_report_dir_applies_on_sighup(daemon_factory, fake_factory, pb):
    fake = fake_factory("cca")
    top = tempfile.mkdtemp(prefix="turtle-notsm-", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        d = daemon_factory(config="[agent]\ntsm_report_dir = %s/report\n" % top)
        st, _ = _take(d, pb, b"n")
        assert st == ST.PSA_NOT_SUPPORTED
        d.write_config(agent_conf(fake))
        d.signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "[agent] and log level applied" not in d.logtext():
            assert time.monotonic() < deadline, d.logtext()
            time.sleep(0.05)
        st, res = _take(d, pb, b"n")
        assert st == ST.SUCCESS and res.tee == "cca"
        assert fake.entries() == []
    finally:
        shutil.rmtree(top)


@pytest.mark.parametrize("mode,status,log", [
    ("race", ST.PSA_BAD_STATE, "another writer"),
    ("oversize", ST.PSA_BUFFER_TOO_SMALL, "over [agent] tsm_max"),
    ("empty", None, "outblob is empty"),
    ("eio", None, "no report from provider"),
])
def test_adversarial_kernel(daemon_factory, fake_factory, pb, mode, status, log):
    fake = fake_factory("snp")
    d = daemon_factory(config=agent_conf(fake, "tsm_max = 4096\n"))
    fake.control({"mode": mode, "size": 5000})
    st, res = _take(d, pb, b"nonce")
    assert st != ST.SUCCESS and res is None
    if status is not None:
        assert st == status
    assert log in d.logtext()
    assert fake.entries() == []          # removed on the error path too


def test_concurrent_writer_once_is_retried(daemon_factory, fake_factory, pb):
    fake = fake_factory("snp")
    d = daemon_factory(config=agent_conf(fake))
    fake.control({"mode": "race_once"})
    st, res = _take(d, pb, b"mine")
    assert st == ST.SUCCESS
    # the returned blobs are those of the second, undisturbed entry: our data, one write
    assert res.outblob[0x50:0x54] == b"mine" and res.generation == 1
    assert "another writer" in d.logtext()
    assert fake.entries() == []


def test_unexpected_provider(daemon_factory, fake_factory, pb):
    _need_cli()
    fake = fake_factory("snp")
    d = daemon_factory(config=agent_conf(fake))
    fake.control({"provider": "tdx_guest"})
    st, _ = _take(d, pb, b"n", tee="snp")
    assert st == ST.PSA_NOT_SUPPORTED
    fake.control({"provider": "future_guest"})
    st, res = _take(d, pb, b"n")
    assert st == ST.SUCCESS and res.provider == "future_guest" and res.tee == ""
    # libturtle refuses a report it cannot name
    p = _cli(d, "attest", "--tee", "snp", "--as", "http://127.0.0.1:1", "--node", NODE)
    assert p.returncode == 1
    assert fake.entries() == []


# ---- end to end with turtle-as ----

def _setup_as(as_factory, fake, tee):
    rv, ident, _ = WORLDS[tee]()
    a = as_factory(extra_args=fake.anchors_args())
    r = a.admin("POST", "/v1/nodes", {"id": NODE, "group": "default", "tee": tee,
                                      "tee_identity": ident})
    assert r.status == 201, r
    r = a.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": x} for k, v in rv.items()
        for x in (v if isinstance(v, list) else [v])]})
    assert r.status == 201, r
    return a, "http://127.0.0.1:%d" % a.port


@pytest.mark.parametrize("tee", ["snp", "tdx", "cca"])
def test_attest_end_to_end(daemon_factory, fake_factory, as_factory, tmp_path, tee):
    _need_cli()
    fake = fake_factory(tee)
    d = daemon_factory(config=agent_conf(fake))
    a, url = _setup_as(as_factory, fake, tee)
    tok = tmp_path / "token"
    ev = tmp_path / "evidence"
    coll = tmp_path / "certs"
    extra = ["--collateral-out", str(coll)] if tee == "snp" else []
    p = _cli(d, "attest", "--tee", tee, "--as", url, "--node", NODE, "--out", str(tok),
             "--evidence-out", str(ev), *extra)
    assert p.returncode == 0, p.stderr
    # (SNP: turtle-as has no collateral directory here, so affirming also shows that the
    # VCEK reached it in cert_chain, parsed from the auxblob's certificate table)
    assert b"status: affirming" in p.stderr, p.stderr
    # the saved evidence verifies again offline with `turtle verify`, bound to the same
    # report data (SNP: read from the signed report)
    argv = [TURTLE_CLI, "verify", "--tee", tee, "--evidence", str(ev), "--anchors",
            os.path.join(fake.world, "anchors")]
    if tee == "snp":
        raw = ev.read_bytes()
        assert len(raw) == 0x4A0
        argv += ["--collateral", str(coll), "--nonce-hex", raw[0x50:0x90].hex()]
    elif tee == "tdx":
        assert set(json.loads(ev.read_text())) == {"quote", "cc_eventlog"}
        argv += ["--collateral", os.path.join(fake.world, "collateral")]
    else:
        assert ev.read_bytes()[:3] == b"\xd9\x01\x8f"
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(a.jwks()))
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--json",
                        "--in", str(tok)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    claims = json.loads(p.stdout)["claims"]
    assert claims["submods"][tee]["ear.status"] == "affirming"
    assert claims["turtle.node-id"] == NODE
    assert fake.entries() == []

    # the guest now measures something else: contraindicated, the measurement named
    _, _, name = WORLDS[tee]()
    fake.control({"measurement": OTHER_MEASUREMENT[tee]})
    p = _cli(d, "attest", "--tee", tee, "--as", url, "--node", NODE, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "contraindicated"
    p = subprocess.run([TURTLE_CLI, "token", "verify", "--jwks", str(jwks), "--json",
                        out["token"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    sm = json.loads(p.stdout)["claims"]["submods"][tee]
    assert sm["ear.status"] == "contraindicated"
    assert any(name in r for r in sm["turtle.reasons"]), sm["turtle.reasons"]
    assert fake.entries() == []


def test_report_ignoring_inblob_refused(daemon_factory, fake_factory, as_factory):
    _need_cli()
    fake = fake_factory("snp")
    d = daemon_factory(config=agent_conf(fake))
    _, url = _setup_as(as_factory, fake, "snp")
    fake.control({"mode": "ignore_inblob"})
    p = _cli(d, "attest", "--tee", "snp", "--as", url, "--node", NODE)
    assert p.returncode == 1, p.stderr
    assert b"binding" in p.stderr or b"report data" in p.stderr, p.stderr
    assert p.stdout == b""
    assert fake.entries() == []


def test_attest_tee_usage(daemon_factory, fake_factory):
    _need_cli()
    fake = fake_factory("cca")
    d = daemon_factory(config=agent_conf(fake))
    for args in (["attest", "--tee", "sev", "--as", "http://127.0.0.1:1"],
                 ["attest", "--tee", "cca", "--pcrs", "sha256:0", "--as", "http://127.0.0.1:1"],
                 ["attest", "--tee", "tpm", "--privlevel", "1", "--as", "http://127.0.0.1:1"],
                 ["attest", "--tee", "snp", "--privlevel", "4", "--as", "http://127.0.0.1:1"],
                 ["attest", "--tee", "tpm", "--evidence-out", "x", "--as", "http://127.0.0.1:1"],
                 ["get-resource", "--tee", "sgx", "--as", "http://127.0.0.1:1", "a/b/c"]):
        p = _cli(d, *args)
        assert p.returncode == 2, (args, p.stderr)


@pytest.mark.parametrize("tee", ["snp", "tdx", "cca"])
def test_get_resource_tee(daemon_factory, fake_factory, as_factory, tmp_path, tee):
    _need_cli()
    fake = fake_factory(tee)
    d = daemon_factory(config=agent_conf(fake))
    a, url = _setup_as(as_factory, fake, tee)
    assert a.admin("POST", "/v1/resources/default/guest/disk", raw=SECRET).status == 201
    p = _cli(d, "get-resource", "--tee", tee, "--as", url, "default/guest/disk")
    assert p.returncode == 0, p.stderr
    assert p.stdout == SECRET
    assert fake.entries() == []
    fake.control({"measurement": OTHER_MEASUREMENT[tee]})
    p = _cli(d, "get-resource", "--tee", tee, "--as", url, "default/guest/disk")
    assert p.returncode == 1, p.stderr
    assert p.stdout == b""
    assert fake.entries() == []


# ---- registration from evidence: `turtle as node register --tee` ----

def _refvals(a, tee):
    rv, _, _ = WORLDS[tee]()
    r = a.admin("POST", "/v1/reference-values", {"reference_values": [
        {"name": k, "value": x} for k, v in rv.items()
        for x in (v if isinstance(v, list) else [v])]})
    assert r.status == 201, r


def _register(d, url, token_file, tee, node=NODE, *extra):
    return _cli(d, "as", "node", "register", "--tee", tee, "--as", url, "--admin-token-file",
                str(token_file), "--node", node, *extra)


def _no_node(a, node):
    r = a.admin("GET", "/v1/nodes/" + node)
    assert r.status == 404, r


class _Capture:
    """An HTTP server that takes one POST and keeps its JSON body: the evidence document
    `turtle as node register --tee` sends, to be replayed to turtle-as with changes."""

    def __init__(self):
        import http.server
        import threading
        cap = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers["Content-Length"])
                cap.body = json.loads(self.rfile.read(n))
                out = json.dumps({"tee_identity": "00"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.body = None
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.t.join()


@pytest.mark.parametrize("tee", ["snp", "tdx", "cca"])
def test_register_tee_node(daemon_factory, fake_factory, as_factory, tmp_path, tee):
    """One command registers a confidential guest: turtle-as verifies its report (no
    challenge) and registers the platform identity it carries; the guest then attests
    affirming. Another platform's registration does not let this guest in; tampered
    evidence, a non-admin token and a tee_identity the evidence does not carry are
    refused, and nothing is registered."""
    _need_cli()
    import tsm_fake
    fake = fake_factory(tee)
    d = daemon_factory(config=agent_conf(fake))
    _, ident, _ = WORLDS[tee]()
    other = tsm_fake.OTHER_IDENTITY[tee].hex()
    a = as_factory(extra_args=fake.anchors_args())
    url = "http://127.0.0.1:%d" % a.port
    _refvals(a, tee)

    # not an admin: refused before anything is verified or stored
    bad = tmp_path / "not-admin"
    bad.write_text("not-the-admin-token\n")
    p = _register(d, url, bad, tee)
    assert p.returncode == 1, p.stderr
    assert b"HTTP 401" in p.stderr, p.stderr
    _no_node(a, NODE)
    assert fake.entries() == []

    # tampered evidence (a bit of the signed measurement): refused, nothing registered
    fake.control({"mode": "tamper"})
    p = _register(d, url, a.token_file, tee)
    assert p.returncode == 1, p.stderr
    assert b"HTTP 401" in p.stderr and b"evidence rejected" in p.stderr, p.stderr
    _no_node(a, NODE)
    fake.control({})

    # the guest registers itself; the stored identity is its platform's
    p = _register(d, url, a.token_file, tee, NODE, "--group", "guests", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"node_id": NODE, "tee": tee, "tee_identity": ident}
    r = a.admin("GET", "/v1/nodes/" + NODE)
    assert r.status == 200, r
    n = r.json()
    assert (n["tee"], n["tee_identity"], n["group"]) == (tee, ident, "guests")
    assert "evidence" not in n
    p = _cli(d, "attest", "--tee", tee, "--as", url, "--node", NODE)
    assert p.returncode == 0, p.stderr
    assert b"status: affirming" in p.stderr, p.stderr

    # another platform of the same world registers as another node, with its identity
    fake.control({"platform": "other"})
    p = _register(d, url, a.token_file, tee, "other-guest", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["tee_identity"] == other
    assert a.admin("GET", "/v1/nodes/other-guest").json()["tee_identity"] == other
    # ... and cannot attest as this guest's node, nor this guest as the other's
    p = _cli(d, "attest", "--tee", tee, "--as", url, "--node", NODE)
    assert p.returncode == 1, p.stderr
    assert b"HTTP 401" in p.stderr and b"tee_identity" in p.stderr, p.stderr
    fake.control({})
    p = _cli(d, "attest", "--tee", tee, "--as", url, "--node", "other-guest")
    assert p.returncode == 1, p.stderr
    assert b"HTTP 401" in p.stderr and b"tee_identity" in p.stderr, p.stderr
    assert fake.entries() == []

    # the document the CLI sends, replayed with changes
    cap = _Capture()
    try:
        p = _register(d, cap.url, a.token_file, tee, "g2")
        assert p.returncode == 0, p.stderr
    finally:
        cap.stop()
    doc = cap.body
    assert set(doc) == {"id", "group", "tee", "evidence"} and doc["tee"] == tee
    # a tee_identity the evidence does not carry: refused, nothing registered
    r = a.admin("POST", "/v1/nodes", dict(doc, tee_identity=other))
    assert "not the identity the evidence carries" in problem(r, 400)["detail"]
    _no_node(a, "g2")
    # evidence for a TPM or sample node: refused
    for t in ("tpm", "sample"):
        r = a.admin("POST", "/v1/nodes", dict(doc, tee=t))
        assert "TEE node" in problem(r, 400)["detail"]
    # another tee's verifier: the evidence does not verify as that tee's
    r = a.admin("POST", "/v1/nodes", dict(doc, tee="sgx" if tee != "sgx" else "snp"))
    assert r.status in (400, 401), r
    _no_node(a, "g2")
    # not an admin, over the API
    r = a.request("POST", "/v1/nodes", doc, admin=True, token="not-the-admin-token")
    problem(r, 401)
    _no_node(a, "g2")
    # the same identity (either hex case) with the evidence: registered as verified
    r = a.admin("POST", "/v1/nodes", dict(doc, tee_identity=ident.upper()))
    assert r.status == 201, r
    assert r.json()["tee_identity"] == ident


def test_register_tee_usage(daemon_factory, fake_factory):
    _need_cli()
    fake = fake_factory("snp")
    d = daemon_factory(config=agent_conf(fake))
    base = ["as", "node", "register", "--as", "http://127.0.0.1:1", "--admin-token-file", "x"]
    for args in (base + ["--tee", "sgx"], base + ["--tee", "sev"],
                 base + ["--privlevel", "1"], base + ["--tee", "tpm", "--privlevel", "0"],
                 base + ["--tee", "snp", "--privlevel", "4"],
                 ["as", "policy", "set", "--as", "http://127.0.0.1:1", "--admin-token-file",
                  "x", "--tee", "snp", "f"]):
        p = _cli(d, *args)
        assert p.returncode == 2, (args, p.stderr)
    assert fake.entries() == []
