"""The provider conformance suite's plumbing: which providers there are, how to start a
turtled with each one (and its back end: nothing, SoftHSM2, swtpm), and the capability
table the suite holds each provider to. The cases themselves are in test_conformance.py;
docs/conformance.md explains how to add a provider.
"""

import shutil

import pytest

import backends
import parsec
from harness import Daemon, make_root

ST = parsec.ST

# Case ids every provider must support (the list for that provider). A case not
# listed here may be unsupported, but then CanDoCrypto must say so and the operation must
# answer NotSupported (the suite checks both ways).
ALL_CASES = {
    "ecc-p256-ecdsa-sha256", "ecc-p384-ecdsa-sha384", "ecc-p521-ecdsa-sha512",
    "rsa2048-pkcs1v15-sha256", "rsa2048-pss-sha256",
    "rsa2048-oaep-sha256", "rsa2048-pkcs1v15-crypt",
    "import-ecc-p256", "import-rsa2048", "import-ecc-p256-public", "import-rsa2048-public",
}
REQUIRED = {
    "soft": set(ALL_CASES),
    "pkcs11": {"ecc-p256-ecdsa-sha256", "ecc-p384-ecdsa-sha384",
               "rsa2048-pkcs1v15-sha256", "rsa2048-pss-sha256",
               "rsa2048-oaep-sha256", "rsa2048-pkcs1v15-crypt",
               "import-ecc-p256", "import-rsa2048"},
    "tpm": {"ecc-p256-ecdsa-sha256", "ecc-p384-ecdsa-sha384",
            "rsa2048-pkcs1v15-sha256", "rsa2048-pss-sha256",
            "rsa2048-oaep-sha256", "rsa2048-pkcs1v15-crypt"},
}
# Opcodes each provider must list (beyond these, whatever it lists must work).
REQUIRED_OPCODES = {
    "soft": set(),
    "pkcs11": {parsec.OP.PSA_GENERATE_KEY, parsec.OP.PSA_DESTROY_KEY, parsec.OP.PSA_SIGN_HASH,
               parsec.OP.PSA_VERIFY_HASH, parsec.OP.PSA_IMPORT_KEY,
               parsec.OP.PSA_EXPORT_PUBLIC_KEY, parsec.OP.PSA_ASYMMETRIC_ENCRYPT,
               parsec.OP.PSA_ASYMMETRIC_DECRYPT, parsec.OP.PSA_GENERATE_RANDOM},
    "tpm": {parsec.OP.PSA_GENERATE_KEY, parsec.OP.PSA_DESTROY_KEY, parsec.OP.PSA_SIGN_HASH,
            parsec.OP.PSA_VERIFY_HASH, parsec.OP.PSA_EXPORT_PUBLIC_KEY,
            parsec.OP.PSA_ASYMMETRIC_ENCRYPT, parsec.OP.PSA_ASYMMETRIC_DECRYPT,
            parsec.OP.PSA_GENERATE_RANDOM},
}

PROVIDER_IDS = {"soft": parsec.PROVIDER_MBED, "pkcs11": parsec.PROVIDER_PKCS11,
                "tpm": parsec.PROVIDER_TPM}
PROVIDERS = ("soft", "pkcs11", "tpm")
# A hang bound only: a TPM (swtpm) may take several seconds to generate an RSA key.
CLIENT_TIMEOUT = 120.0


def not_compiled(log):
    return "is not compiled into this turtled" in log


class ProviderEnv:
    """One provider under test: its back end (SoftHSM2 token / swtpm, if any) and a turtled
    configured with it. `restart()` restarts turtled and, for the TPM, swtpm too."""

    def __init__(self, name):
        self.name = name
        self.id = PROVIDER_IDS[name]
        self.hsm = None
        self.tpm = None
        self.daemon = None
        self.env = {}
        self._apps = 0

    def config(self):
        if self.name == "soft":
            return "[provider.soft]\n"
        if self.name == "pkcs11":
            return self.hsm.config_section()
        return self.tpm.config_section()

    def start(self):
        if self.name == "pkcs11":
            reason = backends.softhsm_missing()
            if reason:
                pytest.skip(reason)
            self.hsm = backends.SoftHsm()
            self.env = self.hsm.env()
        elif self.name == "tpm":
            reason = backends.swtpm_missing()
            if reason:
                pytest.skip(reason)
            self.tpm = backends.Swtpm()
            self.tpm.start()
        self.daemon = Daemon(make_root(), self.config())
        try:
            self.daemon.start(env=self.env)
        except AssertionError as e:
            log = self.daemon.logtext()
            self.cleanup()
            if not_compiled(log):
                pytest.skip("provider %s is not built into this turtled" % self.name)
            raise AssertionError("turtled with [provider.%s] did not start: %s" % (self.name, e))
        return self

    def restart(self, backend=True):
        self.daemon.stop()
        if backend and self.tpm is not None:
            self.tpm.restart()
        self.daemon.start(env=self.env)

    def client(self, app=None, provider=None, persistent=False):
        """A client with a fresh application name: every test owns its own namespace,
        so tests sharing one daemon cannot see each other's keys."""
        if app is None:
            self._apps += 1
            app = "conf-%s-%d" % (self.name, self._apps)
        return parsec.Client(self.daemon.sock, self.pb, auth=parsec.auth_direct(app),
                             provider=self.id if provider is None else provider,
                             persistent=persistent, timeout=CLIENT_TIMEOUT)

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


def provider_env(request, pb, turtled_bin):
    """Shared body of the `prov` fixtures: start, yield, stop and check the teardown."""
    pe = ProviderEnv(request.param)
    pe.pb = pb
    pe.start()
    yield pe
    errors = pe.cleanup()
    if errors:
        pytest.fail("teardown of %s: %s" % (request.param, "; ".join(errors)))

