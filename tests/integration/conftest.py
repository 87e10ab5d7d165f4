"""pytest fixtures: the generated protobuf modules and real turtled daemons (see harness.py)."""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parsec  # noqa: E402
from harness import REPO, TURTLED, Daemon, make_root  # noqa: E402


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("pb2"))
    return parsec.load_protos(os.path.join(REPO, "proto"), out)


@pytest.fixture(scope="session")
def turtled_bin():
    if TURTLED is None or not os.access(TURTLED, os.X_OK):
        if os.environ.get("TURTLED"):
            pytest.fail("TURTLED=%s is not an executable" % os.environ["TURTLED"])
        pytest.skip("turtled is not built (set TURTLED)")
    return TURTLED


@pytest.fixture
def daemon_factory(turtled_bin):
    """Make daemons with an optional config; all are stopped (and checked) at teardown."""
    made = []

    def make(config=None, start=True, env=None, extra_args=()):
        d = Daemon(make_root(), config)
        made.append(d)
        if start:
            d.start(env=env, extra_args=extra_args)
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
        pytest.fail("daemon teardown: " + "; ".join(errors))


@pytest.fixture
def daemon(daemon_factory):
    """A zero-config turtled (no config file)."""
    return daemon_factory()


ADMIN_CONFIG = """\
[authenticator]
admins = admin_priv
"""


@pytest.fixture
def admin_daemon(daemon_factory):
    """turtled with the application name "admin_priv" as administrator."""
    return daemon_factory(ADMIN_CONFIG)


@pytest.fixture
def client(daemon, pb):
    """Direct-auth client "alice" talking to the soft provider, one request per connection."""
    with parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice")) as c:
        yield c


@pytest.fixture
def algs(pb):
    return parsec.Algs(pb)


@pytest.fixture
def wd():
    import ossl
    w = ossl.Workdir()
    yield w
    w.cleanup()
