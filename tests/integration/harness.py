"""Test harness: a real turtled on a temporary socket and
data directory, run as an unprivileged user when the tests run as root.

Environment:
    TURTLED     path of the built turtled (default: build-*/src/service/turtled)
    TURTLE_CLI  path of the built turtle command (default: next to turtled's build)
"""

import glob
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parsec  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
WIRE_VECTORS = os.path.abspath(os.path.join(REPO, "..", "shared", "testdata", "parsec-wire"))

# Generous bounds that only detect hangs; nothing asserts how fast anything is.
START_DEADLINE = 20.0
STOP_DEADLINE = 20.0


def _find_build(rel, env):
    p = os.environ.get(env)
    if p:
        return os.path.abspath(p)
    for d in ("build-integ", "build-test", "build"):
        c = os.path.join(REPO, d, rel)
        if os.access(c, os.X_OK):
            return c
    hits = sorted(glob.glob(os.path.join(REPO, "build*", rel)))
    return hits[0] if hits else None


TURTLED = _find_build("src/service/turtled", "TURTLED")
TURTLE_CLI = _find_build("src/cli/turtle", "TURTLE_CLI")


def service_user():
    """(uid, gid) to run turtled as: nobody when we are root, ourselves otherwise."""
    if os.getuid() != 0:
        return None
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


def run_as_service(args, **kw):
    """Run a helper (sqlite3) as the service user so that it never leaves root-owned
    -wal/-shm files behind in the data directory."""
    su = service_user()
    if su is not None:
        kw.update(user=su[0], group=su[1], extra_groups=[])
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


class Daemon:
    """One turtled process. The temporary root holds the socket, the data dir and the
    config file; it is owned by the service user."""

    def __init__(self, root, config=None):
        self.root = root
        self.sock = os.path.join(root, "turtled.sock")
        self.data = os.path.join(root, "data")
        self.conf = os.path.join(root, "turtled.conf")
        self.proc = None
        self.log_path = os.path.join(root, "turtled.log")
        self.config_text = None
        if config is not None:
            self.write_config(config)

    def write_config(self, text):
        self.config_text = text
        with open(self.conf, "w") as f:
            f.write(text)
        su = service_user()
        if su:
            os.chown(self.conf, *su)

    def start(self, env=None, extra_args=(), wait=True, as_root=False):
        assert self.proc is None or self.proc.poll() is not None
        args = [TURTLED, "--foreground", "--socket", self.sock, "--data-dir", self.data]
        if self.config_text is not None:
            args += ["--config", self.conf]
        args += list(extra_args)
        e = dict(os.environ)
        e.pop("TURTLE_TEST_CRASH_AT", None)
        if env:
            e.update(env)
        kw = {}
        su = service_user()
        if su is not None and not as_root:
            kw.update(user=su[0], group=su[1], extra_groups=[])
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=e, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, **kw)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError("turtled exited with %d at start:\n%s" % (rc, self.logtext()))
            if os.path.exists(self.sock):
                try:
                    with parsec.connect(self.sock, 2.0):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("turtled did not open %s:\n%s" % (self.sock, self.logtext()))

    def logtext(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_DEADLINE):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("turtled did not exit within the hang bound:\n" + self.logtext())

    def stop(self, check=True):
        """SIGTERM by PID and, with check, assert a clean exit (0) and a removed socket."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.wait()
        self.log.close()
        if check:
            assert rc == 0, "turtled exit status %d after SIGTERM:\n%s" % (rc, self.logtext())
            assert not os.path.exists(self.sock), "socket file left after exit"
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, **kw):
        self.stop()
        return self.start(**kw)

    # key store inspection (after a stop or while running; sqlite3 reads WAL correctly)
    @property
    def kim_path(self):
        return os.path.join(self.data, "keys.sqlite3")

    def sql(self, query):
        p = run_as_service(["sqlite3", "-batch", "-noheader", self.kim_path, query])
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        return [ln for ln in p.stdout.decode().splitlines()]


def make_root():
    root = tempfile.mkdtemp(prefix="turtled-it-", dir="/tmp")
    os.chmod(root, 0o755)
    su = service_user()
    if su:
        os.chown(root, *su)
    return root


