"""Several providers in one turtled (issue 3, item 4), and the issue's Done-when CLI session.

The daemon is configured with [provider.tpm], [provider.pkcs11] and [provider.soft] in that
order, each on its own back end (swtpm, a SoftHSM2 token, nothing). A provider type that is
not compiled into this turtled is left out of the config (turtled names it in its log), so
the tests run with whatever is built; those that need two providers skip when only soft is.
"""

import hashlib
import os
import re
import shutil
import subprocess

import pytest

import backends
import harness
import ossl
import parsec
from conformance import CLIENT_TIMEOUT, PROVIDER_IDS
from harness import Daemon, make_root

ST = parsec.ST
MSG = b"one node, several key stores\n"
ORDER = ("tpm", "pkcs11", "soft")
NOT_COMPILED = re.compile(r'provider type "([a-z0-9_-]+)" is not compiled')


class MultiEnv:
    def __init__(self, pb, order=ORDER):
        self.pb = pb
        self.hsm = None
        self.tpm = None
        self.daemon = None
        self.env = {}
        self.names = []
        self.skipped = {}
        names = list(order)
        if "pkcs11" in names:
            reason = backends.softhsm_missing()
            if reason:
                names.remove("pkcs11")
                self.skipped["pkcs11"] = reason
            else:
                self.hsm = backends.SoftHsm(label="multi")
                self.env.update(self.hsm.env())
        if "tpm" in names:
            reason = backends.swtpm_missing()
            if reason:
                names.remove("tpm")
                self.skipped["tpm"] = reason
            else:
                self.tpm = backends.Swtpm()
                self.tpm.start()
        # Start with every provider; drop those turtled says it was built without.
        while True:
            self.names = names
            self.daemon = Daemon(make_root(), self.config())
            try:
                self.daemon.start(env=self.env)
                break
            except AssertionError:
                log = self.daemon.logtext()
                self.daemon.kill()
                shutil.rmtree(self.daemon.root, ignore_errors=True)
                self.daemon = None
                m = NOT_COMPILED.search(log)
                if m is None or m.group(1) not in names:
                    self.cleanup()
                    raise AssertionError("turtled with %s did not start:\n%s" % (names, log))
                names = [n for n in names if n != m.group(1)]
                self.skipped[m.group(1)] = "not built into this turtled"
                if not names:
                    self.cleanup()
                    pytest.skip("no provider could be configured: %s" % self.skipped)

    def section(self, name):
        if name == "soft":
            return "[provider.soft]\n"
        if name == "pkcs11":
            return self.hsm.config_section()
        return self.tpm.config_section()

    def config(self):
        return "\n".join(self.section(n) for n in self.names)

    @property
    def ids(self):
        return [PROVIDER_IDS[n] for n in self.names]

    def need(self, *names):
        for n in names:
            if n not in self.names:
                pytest.skip("provider %s: %s" % (n, self.skipped.get(n, "not configured")))

    def need_two(self):
        if len(self.names) < 2:
            pytest.skip("needs two providers; only %s (others: %s)" % (self.names, self.skipped))

    def client(self, provider, app="multi"):
        pid = provider if isinstance(provider, int) else PROVIDER_IDS[provider]
        return parsec.Client(self.daemon.sock, self.pb, auth=parsec.auth_direct(app),
                             provider=pid, timeout=CLIENT_TIMEOUT)

    def restart(self, tpm=True):
        self.daemon.stop()
        if tpm and self.tpm is not None:
            self.tpm.restart()
        self.daemon.start(env=self.env)

    def cleanup(self):
        errors = []
        if self.daemon is not None:
            try:
                self.daemon.stop()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                self.daemon.kill()
            shutil.rmtree(self.daemon.root, ignore_errors=True)
            self.daemon = None
        if self.tpm is not None:
            self.tpm.cleanup()
            self.tpm = None
        if self.hsm is not None:
            self.hsm.cleanup()
            self.hsm = None
        return errors


def _multi(pb, order):
    m = MultiEnv(pb, order)
    yield m
    errors = m.cleanup()
    if errors:
        pytest.fail("teardown: " + "; ".join(errors))


@pytest.fixture
def multi(pb, turtled_bin):
    yield from _multi(pb, ORDER)


@pytest.fixture
def tpm_only(pb, turtled_bin):
    yield from _multi(pb, ("tpm",))


@pytest.fixture
def cli_bin():
    if harness.TURTLE_CLI is None or not os.access(harness.TURTLE_CLI, os.X_OK):
        if os.environ.get("TURTLE_CLI"):
            pytest.fail("TURTLE_CLI=%s is not an executable" % os.environ["TURTLE_CLI"])
        pytest.skip("the turtle CLI is not built (set TURTLE_CLI)")
    return harness.TURTLE_CLI


def run_cli(cli_bin, daemon, *args, check=True, app="multi"):
    argv = [cli_bin, "--socket", daemon.sock, "--app-name", app] + list(args)
    e = dict(os.environ)
    for k in ("TURTLE_SOCKET", "PARSEC_SERVICE_ENDPOINT", "TURTLE_PROVIDER"):
        e.pop(k, None)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                       timeout=CLIENT_TIMEOUT)
    if check:
        assert p.returncode == 0, "turtle %s -> %d: %s" % (
            " ".join(args), p.returncode, p.stderr.decode(errors="replace"))
    return p


def key_providers(cli_bin, daemon, *extra):
    """name -> provider name, from `turtle list-keys` (plain text)."""
    out = run_cli(cli_bin, daemon, *extra, "list-keys").stdout.decode()
    got = {}
    for line in out.splitlines():
        m = re.match(r"(\S+) provider=(\S+) ", line)
        if m:
            got[m.group(1)] = m.group(2)
    return got


def openssl_verify(wd, pub, data, sig, md="sha256"):
    p = subprocess.run(["openssl", "dgst", "-" + md, "-verify", pub, "-signature", sig, data],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode == 0, p.stdout.decode(errors="replace")


# ---- ListProviders and the default provider --------------------------------------------------

def test_list_providers_in_config_order(multi):
    with multi.client("soft") as c:
        got = [p.id for p in c.list_providers()]
    assert got == multi.ids + [parsec.PROVIDER_CORE], \
        "configured %s, ListProviders gave %s" % (multi.names, got)


def test_each_provider_lists_its_opcodes(multi):
    with multi.client("soft") as c:
        for pid in multi.ids:
            ops = c.list_opcodes(pid)
            assert parsec.OP.PSA_GENERATE_KEY in ops and parsec.OP.PSA_SIGN_HASH in ops


def test_cli_default_is_first_provider(multi, cli_bin):
    first = multi.names[0]
    run_cli(cli_bin, multi.daemon, "create-ecc-key", "dflt")
    assert key_providers(cli_bin, multi.daemon) == {"dflt": first}


def test_cli_provider_option_selects(multi, cli_bin, wd):
    made = {}
    for n in multi.names:
        run_cli(cli_bin, multi.daemon, "--provider", n, "create-ecc-key", "by-name-" + n)
        made["by-name-" + n] = n
        pid = str(PROVIDER_IDS[n])
        run_cli(cli_bin, multi.daemon, "--provider", pid, "create-ecc-key", "by-id-" + n)
        made["by-id-" + n] = n
    assert key_providers(cli_bin, multi.daemon) == made
    for n in multi.names:
        assert set(key_providers(cli_bin, multi.daemon, "--provider", n)) == \
            {"by-name-" + n, "by-id-" + n}
    # each key signs through its provider and OpenSSL accepts the signature
    data = wd.file("data.txt", MSG)
    for name, n in made.items():
        sig, pub = wd.file(name + ".sig"), wd.file(name + ".pem")
        run_cli(cli_bin, multi.daemon, "--provider", n, "sign", name, "--in", data, "--out", sig)
        run_cli(cli_bin, multi.daemon, "--provider", n, "export-public-key", name, "--out", pub)
        ok, out = openssl_verify(wd, pub, data, sig)
        assert ok, "%s (%s): %s" % (name, n, out)


# ---- one namespace per client across providers -----------------------------------------------

def test_key_name_unique_across_providers(multi):
    multi.need_two()
    a = parsec.ecc_p256_sign_attrs(multi.pb)
    first, second = multi.names[-1], multi.names[0]
    with multi.client(first) as c1, multi.client(second) as c2:
        assert c1.generate_key("k", a) == 0
        assert c2.generate_key("k", a) == ST.PSA_ALREADY_EXISTS, \
            "the name 'k' was taken in %s but %s accepted it" % (first, second)
        # every pair of providers, both directions
        for i, n in enumerate(multi.names):
            with multi.client(n) as c:
                name = "pair-%d" % i
                assert c.generate_key(name, a) == 0
                for m in multi.names:
                    if m != n:
                        with multi.client(m) as o:
                            assert o.generate_key(name, a) == ST.PSA_ALREADY_EXISTS
        # another client may use the same name in any provider
        with multi.client(second, app="other") as o:
            assert o.generate_key("k", a) == 0
        keys = {k.name: k.provider_id for k in c1.list_keys()}
        assert keys["k"] == PROVIDER_IDS[first]


def test_key_usable_only_through_its_provider(multi):
    multi.need_two()
    al = parsec.Algs(multi.pb)
    alg = al.ecdsa("SHA_256")
    d = hashlib.sha256(MSG).digest()
    for n in multi.names:
        with multi.client(n) as own:
            name = "own-" + n
            assert own.generate_key(name, parsec.ecc_p256_sign_attrs(multi.pb)) == 0
            st, sig = own.sign_hash(name, alg, d)
            assert st == 0
            for m in multi.names:
                if m == n:
                    continue
                with multi.client(m) as other:
                    assert other.sign_hash(name, alg, d)[0] == ST.PSA_DOES_NOT_EXIST, \
                        "key of %s signed through %s" % (n, m)
                    assert other.verify_hash(name, alg, d, sig) == ST.PSA_DOES_NOT_EXIST
                    assert other.export_public_key(name)[0] == ST.PSA_DOES_NOT_EXIST
                    assert other.destroy_key(name) == ST.PSA_DOES_NOT_EXIST
            assert own.verify_hash(name, alg, d, sig) == 0


def test_keys_of_every_provider_survive_restart(multi, wd):
    al = parsec.Algs(multi.pb)
    alg = al.ecdsa("SHA_256")
    d = hashlib.sha256(MSG).digest()
    pubs = {}
    for n in multi.names:
        with multi.client(n) as c:
            assert c.generate_key("r-" + n, parsec.ecc_p256_sign_attrs(multi.pb)) == 0
            pubs[n] = c.export_public_key("r-" + n)[1]
    multi.restart(tpm=True)
    with multi.client("soft") as c:
        assert [p.id for p in c.list_providers()] == multi.ids + [parsec.PROVIDER_CORE]
    for n in multi.names:
        with multi.client(n) as c:
            assert c.export_public_key("r-" + n) == (0, pubs[n])
            st, sig = c.sign_hash("r-" + n, alg, d)
            assert st == 0, "%s: SignHash after restart -> %d" % (n, st)
            pem = ossl.pubkey_pem_from_point(wd, "P-256", pubs[n], "r-%s.pem" % n)
            assert ossl.dgst_verify(wd, pem, MSG, ossl.ecdsa_raw_to_der(sig))


# ---- the Done-when session -------------------------------------------------------------

def test_done_when_tpm_cli_session(tpm_only, cli_bin, wd):
    """A CLI session creates a TPM-backed ECC key, signs with it, OpenSSL verifies the
    signature; after swtpm and turtled are both restarted the key still signs and the
    signature still verifies."""
    env = tpm_only
    env.need("tpm")
    d = env.daemon
    assert [p.id for p in _providers(env)] == [parsec.PROVIDER_TPM, parsec.PROVIDER_CORE]
    run_cli(cli_bin, d, "create-ecc-key", "node-key")
    assert key_providers(cli_bin, d) == {"node-key": "tpm"}
    data = wd.file("data.txt", b"signed inside the TPM\n")
    pub, sig = wd.file("pub.pem"), wd.file("data.sig")
    run_cli(cli_bin, d, "export-public-key", "node-key", "--out", pub)
    run_cli(cli_bin, d, "sign", "node-key", "--in", data, "--out", sig)
    ok, out = openssl_verify(wd, pub, data, sig)
    assert ok, out
    # both restarted: the TPM loses every loaded object, turtled its caches
    tpm_pid = env.tpm.pid
    env.restart(tpm=True)
    assert env.tpm.pid != tpm_pid
    data2 = wd.file("data2.txt", b"signed again after both restarts\n")
    sig2 = wd.file("data2.sig")
    run_cli(cli_bin, d, "sign", "node-key", "--in", data2, "--out", sig2)
    ok, out = openssl_verify(wd, pub, data2, sig2)
    assert ok, out
    pub2 = wd.file("pub2.pem")
    run_cli(cli_bin, d, "export-public-key", "node-key", "--out", pub2)
    with open(pub, "rb") as f1, open(pub2, "rb") as f2:
        assert f1.read() == f2.read()
    run_cli(cli_bin, d, "verify", "node-key", "--in", data, "--signature", sig)


def _providers(env):
    with env.client(env.names[0]) as c:
        return c.list_providers()
