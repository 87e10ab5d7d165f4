"""Hardware back ends for the integration tests: SoftHSM2 (PKCS#11) and swtpm (TPM 2.0).

Each back end lives in its own temporary directory, is started by the test and stopped
by its PID; nothing global (/var/lib/softhsm, /var/lib/swtpm-localca) is touched.

    SoftHsm(label=..., user_pin=..., so_pin=...)
        .module          path of libsofthsm2.so
        .conf            the softhsm2.conf (directories.tokendir = <tmp>/tokens)
        .env()           {"SOFTHSM2_CONF": ...} for turtled (or any PKCS#11 user)
        .config_section() "[provider.pkcs11]\\nlibrary=...\\ntoken_label=...\\nuser_pin=..."
        .cleanup()

    Swtpm(ek_cert=True)
        .start() / .stop() / .restart()   (state kept across restarts)
        .port, .ctrl_port, .pid
        .tcti            "swtpm:host=127.0.0.1,port=P"
        .config_section() "[provider.tpm]\\ntcti=swtpm:host=127.0.0.1,port=P"
        .cleanup()

When the tests run as root, turtled runs as `nobody` (harness.service_user): the SoftHSM2
token directory and conf are owned by nobody, and swtpm itself runs as nobody as well (the
issue asks for an unprivileged swtpm).

turtled on swtpm (tests of the TPM provider and the node agent role):
    start_tpm_daemon(daemon_factory, tpm, admins=None, **extra)
                     turtled with tpm.config_section(**extra); skips without the provider
    start_agent_daemon(daemon_factory, tpm, admins, **extra)
                     the same, with the UEFI event log and IMA log at absent paths
    need_cli_and_tpm2_tools(*tools)   skips unless the turtle CLI and `tools` are there

tpm2-tools against a TPM (quotes made the way real attesters make them):
    Tpm2Tools(tcti)  .run(*argv) .path(name) .read(name) .make_ak(name, alg, scheme)
                     .pcr_values("sha256:0,16") .cleanup()

Fixtures (import them into a test module: `from backends import softhsm, swtpm`):
    softhsm   a fresh SoftHSM2 token per test (skips when softhsm2 is not installed)
    swtpm     a fresh, manufactured swtpm per test (skips when swtpm is not installed)
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from harness import TURTLE_CLI, service_user

SOFTHSM_UTIL = shutil.which("softhsm2-util")
SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
SWTPM = shutil.which("swtpm")
SWTPM_SETUP = shutil.which("swtpm_setup")
SWTPM_LOCALCA = shutil.which("swtpm_localca")

# Bounds that only detect hangs.
SWTPM_START_DEADLINE = 20.0
SWTPM_STOP_DEADLINE = 10.0


def softhsm_module():
    for p in SOFTHSM_MODULE_CANDIDATES:
        if os.path.exists(p):
            return p
    return None


def softhsm_missing():
    """None when SoftHSM2 can be used, else the reason to skip."""
    if SOFTHSM_UTIL is None:
        return "softhsm2-util not found (apt-get install softhsm2; scripts/deps.sh --test)"
    if softhsm_module() is None:
        return "libsofthsm2.so not found (apt-get install softhsm2)"
    return None


def swtpm_missing():
    """None when swtpm can be used, else the reason to skip."""
    if SWTPM is None:
        return "swtpm not found (apt-get install swtpm; scripts/deps.sh --test)"
    if SWTPM_SETUP is None:
        return "swtpm_setup not found (apt-get install swtpm-tools)"
    return None


def _chown_tree(path, uid, gid):
    os.chown(path, uid, gid)
    for top, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(top, n), uid, gid)


def _as_service_kw():
    su = service_user()
    if su is None:
        return {}
    return dict(user=su[0], group=su[1], extra_groups=[])


class SoftHsm:
    """A SoftHSM2 token initialised in a temporary directory."""

    def __init__(self, label="turtle", user_pin="1234", so_pin="5678"):
        reason = softhsm_missing()
        if reason:
            raise RuntimeError(reason)
        self.module = softhsm_module()
        self.label = label
        self.user_pin = user_pin
        self.so_pin = so_pin
        self.root = tempfile.mkdtemp(prefix="turtle-softhsm-", dir="/tmp")
        os.chmod(self.root, 0o755)
        self.tokendir = os.path.join(self.root, "tokens")
        os.mkdir(self.tokendir, 0o700)
        self.conf = os.path.join(self.root, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write("directories.tokendir = %s\n" % self.tokendir)
            f.write("objectstore.backend = file\n")
            f.write("log.level = ERROR\n")
            f.write("slots.removable = false\n")
        su = service_user()
        if su:
            _chown_tree(self.root, *su)
        self.init_token(label)

    def env(self):
        return {"SOFTHSM2_CONF": self.conf}

    def util(self, *args, check=True):
        """Run softhsm2-util against this token directory, as the service user so that
        every file stays writable by turtled."""
        e = dict(os.environ)
        e.update(self.env())
        p = subprocess.run([SOFTHSM_UTIL] + list(args), env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, **_as_service_kw())
        out = p.stdout.decode(errors="replace")
        if check and p.returncode != 0:
            raise RuntimeError("softhsm2-util %s: %s" % (" ".join(args), out))
        return out

    def init_token(self, label):
        """Initialise one more token in the first free slot."""
        return self.util("--init-token", "--free", "--label", label,
                         "--so-pin", self.so_pin, "--pin", self.user_pin)

    def show_slots(self):
        return self.util("--show-slots")

    def config_section(self, name="pkcs11", **extra):
        lines = ["[provider.%s]" % name, "library=%s" % self.module,
                 "token_label=%s" % self.label, "user_pin=%s" % self.user_pin]
        lines += ["%s=%s" % kv for kv in extra.items()]
        return "\n".join(lines) + "\n"

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port_pair():
    """Two consecutive free TCP ports on 127.0.0.1 (swtpm's server and control ports)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p >= 65535:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free pair of TCP ports")


class Swtpm:
    """A manufactured swtpm (TPM 2.0) in a temporary state directory, on free TCP ports.

    swtpm_setup creates the EK (RSA and ECC) and, with ek_cert, an EK certificate signed by
    a local CA that lives in the same temporary directory (ca_dir; the root CA certificate
    is ca_dir/swtpm-localca-rootca-cert.pem, the issuer is ca_dir/issuercert.pem)."""

    def __init__(self, ek_cert=True):
        reason = swtpm_missing()
        if reason:
            raise RuntimeError(reason)
        self.root = tempfile.mkdtemp(prefix="turtle-swtpm-", dir="/tmp")
        os.chmod(self.root, 0o755)
        self.state = os.path.join(self.root, "state")
        self.ca_dir = os.path.join(self.root, "ca")
        self.log_path = os.path.join(self.root, "swtpm.log")
        os.mkdir(self.state, 0o700)
        os.mkdir(self.ca_dir, 0o700)
        self.proc = None
        self.log = None
        self.port = None
        self.ek_cert = False
        self._setup(ek_cert)
        su = service_user()
        if su:
            _chown_tree(self.state, *su)
            os.chown(self.root, *su)
        self.port = _free_port_pair()

    @property
    def ctrl_port(self):
        return self.port + 1

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    @property
    def tcti(self):
        return "swtpm:host=127.0.0.1,port=%d" % self.port

    def config_section(self, name="tpm", **extra):
        lines = ["[provider.%s]" % name, "tcti=%s" % self.tcti]
        lines += ["%s=%s" % kv for kv in extra.items()]
        return "\n".join(lines) + "\n"

    def ek_ca_cert(self):
        """The local CA's root certificate (PEM path) when an EK certificate was made."""
        p = os.path.join(self.ca_dir, "swtpm-localca-rootca-cert.pem")
        return p if self.ek_cert and os.path.exists(p) else None

    def ek_issuer_cert(self):
        p = os.path.join(self.ca_dir, "issuercert.pem")
        return p if self.ek_cert and os.path.exists(p) else None

    def _setup(self, ek_cert):
        base = [SWTPM_SETUP, "--tpm2", "--tpmstate", self.state, "--createek",
                "--overwrite", "--logfile", os.path.join(self.root, "setup.log")]
        if ek_cert and SWTPM_LOCALCA:
            # A private local CA, so that nothing under /var/lib/swtpm-localca is used.
            ca_conf = os.path.join(self.root, "localca.conf")
            with open(ca_conf, "w") as f:
                f.write("statedir = %s\n" % self.ca_dir)
                f.write("signingkey = %s/signkey.pem\n" % self.ca_dir)
                f.write("issuercert = %s/issuercert.pem\n" % self.ca_dir)
                f.write("certserial = %s/certserial\n" % self.ca_dir)
            opts = os.path.join(self.root, "localca.options")
            with open(opts, "w") as f:
                f.write("--platform-manufacturer Turtle\n--platform-version 2.1\n"
                        "--platform-model swtpm\n")
            setup_conf = os.path.join(self.root, "swtpm_setup.conf")
            with open(setup_conf, "w") as f:
                f.write("create_certs_tool = %s\n" % SWTPM_LOCALCA)
                f.write("create_certs_tool_config = %s\n" % ca_conf)
                f.write("create_certs_tool_options = %s\n" % opts)
                f.write("active_pcr_banks = sha256\n")
            p = subprocess.run(base + ["--create-ek-cert", "--config", setup_conf],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode == 0:
                self.ek_cert = True
                return
        # No EK certificate (no local CA tool, or it failed): an EK alone is enough.
        setup_conf = os.path.join(self.root, "swtpm_setup_nocert.conf")
        with open(setup_conf, "w") as f:
            f.write("active_pcr_banks = sha256\n")
        p = subprocess.run(base + ["--config", setup_conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise RuntimeError("swtpm_setup failed (%d): %s\n%s" % (
                p.returncode, p.stdout.decode(errors="replace"), self.setup_log()))

    def setup_log(self):
        try:
            with open(os.path.join(self.root, "setup.log"), "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def logtext(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.running()
        args = [SWTPM, "socket", "--tpm2", "--tpmstate", "dir=%s" % self.state,
                "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % self.port,
                "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % self.ctrl_port,
                "--flags", "not-need-init,startup-clear"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, **_as_service_kw())
        deadline = time.monotonic() + SWTPM_START_DEADLINE
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError("swtpm exited with %d at start:\n%s" % (rc, self.logtext()))
            try:
                with socket.create_connection(("127.0.0.1", self.ctrl_port), 1.0):
                    pass
                with socket.create_connection(("127.0.0.1", self.port), 1.0):
                    pass
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("swtpm did not listen on %d:\n%s" % (self.port, self.logtext()))

    def stop(self):
        """SIGTERM by PID (swtpm keeps its permanent state in the state dir), SIGKILL
        when it does not exit within the hang bound. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(SWTPM_STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()
            self.log = None
        return self.proc.returncode

    def kill(self):
        """SIGKILL by PID: the TPM loses its volatile state, as on a power cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        """Stop and start again on the same ports with the same state (a TPM reset)."""
        self.stop()
        # The port may linger briefly in the kernel; the start loop waits for it.
        return self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


TPM_NOT_COMPILED = "is not compiled into this turtled"
# Where the agent tests point [provider.tpm] event_log / ima_log: turtle-as replays any log
# it gets against the quoted PCRs and refuses one that does not match, and no log on this
# machine matches swtpm's PCRs.
ABSENT_EVENT_LOG = "/nonexistent/turtle-test/event_log"
ABSENT_IMA_LOG = "/nonexistent/turtle-test/ima_log"


class Tpm2Tools:
    """tpm2-tools driven against one TPM (TCTI string) in a scratch directory: run a
    command (asserting success), read what it wrote, make an AK under the RSA EK, read
    PCRs. Tests subclass it for their own quote formats."""

    def __init__(self, tcti, prefix="tpm2-tools-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.env = dict(os.environ, TPM2TOOLS_TCTI=tcti)

    def run(self, *args):
        p = subprocess.run(list(args), cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, (args, p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def make_ak(self, name="ak", alg="ecc", scheme="ecdsa"):
        """An AK under the RSA EK (made once); returns its public key as PEM."""
        if not os.path.exists(self.path("ek.ctx")):
            self.run("tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub")
        self.run("tpm2_createak", "-C", "ek.ctx", "-c", name + ".ctx", "-G", alg,
                 "-g", "sha256", "-s", scheme, "-u", name + ".pem", "-f", "pem",
                 "-n", name + ".name")
        self.run("tpm2_flushcontext", "-t")
        return self.read(name + ".pem").decode()

    def pcr_values(self, selection):
        """{index: lowercase hex} of `tpm2_pcrread` for a selection like "sha256:0,16"."""
        import re
        out = self.run("tpm2_pcrread", selection)
        return {int(m.group(1)): m.group(2).lower()
                for m in re.finditer(r"^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]+)", out, re.M)}

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def start_tpm_daemon(daemon_factory, tpm, admins=None, **extra):
    """Start turtled with `tpm`'s [provider.tpm] section (`extra` adds keys to it), after an
    [authenticator] section naming `admins` when given. Skips the test when this turtled
    was built without the TPM provider; any other start-up failure is raised. Returns the
    running Daemon."""
    conf = tpm.config_section(**extra)
    if admins is not None:
        conf = "[authenticator]\nadmins = %s\n\n" % admins + conf
    d = daemon_factory(conf, start=False)
    try:
        d.start()
    except AssertionError as e:
        if TPM_NOT_COMPILED in d.logtext():
            pytest.skip("turtled was built without the tpm provider")
        raise e
    return d


def start_agent_daemon(daemon_factory, tpm, admins, **extra):
    """start_tpm_daemon for the node agent role: event_log and ima_log default to absent
    paths (see ABSENT_EVENT_LOG), so attestation sends no log turtle-as would refuse."""
    extra.setdefault("event_log", ABSENT_EVENT_LOG)
    extra.setdefault("ima_log", ABSENT_IMA_LOG)
    return start_tpm_daemon(daemon_factory, tpm, admins=admins, **extra)


def need_cli_and_tpm2_tools(*tools):
    """Skip the test unless the turtle CLI is built and each of `tools` (tpm2-tools
    commands) is on PATH."""
    if TURTLE_CLI is None or not os.access(TURTLE_CLI, os.X_OK):
        pytest.skip("the turtle CLI is not built")
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip("tpm2-tools is not installed")


@pytest.fixture
def softhsm():
    reason = softhsm_missing()
    if reason:
        pytest.skip(reason)
    h = SoftHsm()
    yield h
    h.cleanup()


@pytest.fixture
def swtpm():
    reason = swtpm_missing()
    if reason:
        pytest.skip(reason)
    t = Swtpm()
    t.start()
    yield t
    t.cleanup()
