"""A genuine TPM attester for the appraisal tests: a swtpm with the SHA-1 and SHA-256 banks,
a TCG2 crypto-agile UEFI event log and an IMA log built here, every event extended into the
TPM as firmware and the kernel would, quotes made by tpm2-tools with the challenge nonce.

The logs are kept as Python objects (events, IMA entries) so that tests can change one
element and serialise again: what a hostile attester controls is exactly these objects,
the PCR selection, the bank, the claimed PCR values, the nonce and the AK."""

import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from as_harness import b64url  # noqa: E402
from backends import Tpm2Tools  # noqa: E402

SHA1, SHA256 = 0x0004, 0x000B
BANKS = {SHA1: ("sha1", hashlib.sha1), SHA256: ("sha256", hashlib.sha256)}
SIZES = {SHA1: 20, SHA256: 32}

EV_NO_ACTION = 0x3
EV_SEPARATOR = 0x4
EV_S_CRTM_VERSION = 0x8
EV_IPL = 0xD
EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001
EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003
EV_EFI_ACTION = 0x80000007
EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x80000008

# Event types whose digest the profile defines as the hash of the event data, and which
# turtle-as checks; for the others the digest is of something else (a firmware volume, a
# PE image) and their data proves nothing.
DATA_BOUND = {EV_SEPARATOR, EV_S_CRTM_VERSION, EV_EFI_ACTION, EV_EFI_VARIABLE_DRIVER_CONFIG}

EFI_GLOBAL_VARIABLE = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")


class Event:
    def __init__(self, pcr, etype, data, digests):
        self.pcr, self.type, self.data, self.digests = pcr, etype, data, dict(digests)

    def copy(self):
        return Event(self.pcr, self.type, self.data, self.digests)


def measured(pcr, etype, data, content=None, banks=(SHA1, SHA256)):
    """An event whose digests are H(content), content being the data unless given."""
    m = data if content is None else content
    return Event(pcr, etype, data, {a: BANKS[a][1](m).digest() for a in banks})


def secure_boot_var(on=True):
    name = "SecureBoot".encode("utf-16-le")
    return (EFI_GLOBAL_VARIABLE + struct.pack("<QQ", 10, 1) + name + (b"\x01" if on else b"\x00"))


def genuine_events():
    """A small but real-shaped boot: CRTM version, firmware blob, Secure Boot on, shim
    and grub as boot applications, GRUB's command line, separators in PCRs 0-7."""
    ev = [measured(0, EV_S_CRTM_VERSION, "turtle-fw 1.0".encode("utf-16-le")),
          measured(0, EV_EFI_PLATFORM_FIRMWARE_BLOB, struct.pack("<QQ", 0xFF000000, 0x100000),
                   content=b"firmware volume"),
          measured(7, EV_EFI_VARIABLE_DRIVER_CONFIG, secure_boot_var(True))]
    for pcr in range(8):
        ev.append(measured(pcr, EV_SEPARATOR, b"\0\0\0\0"))
    ev += [measured(4, EV_EFI_ACTION, b"Calling EFI Application from Boot Option"),
           measured(4, EV_EFI_BOOT_SERVICES_APPLICATION, b"\x01" * 32, content=b"shim image"),
           measured(4, EV_EFI_BOOT_SERVICES_APPLICATION, b"\x02" * 32, content=b"grub image"),
           measured(8, EV_IPL, b"kernel_cmdline: root=/dev/vda1 ro quiet\0",
                    content=b"root=/dev/vda1 ro quiet")]
    return ev


def serialize_log(events, banks=(SHA1, SHA256)):
    spec = (b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(banks)) +
            b"".join(struct.pack("<HH", a, SIZES[a]) for a in banks) + b"\0")
    out = struct.pack("<II", 0, EV_NO_ACTION) + b"\0" * 20 + struct.pack("<I", len(spec)) + spec
    for e in events:
        digests = [(a, d) for a, d in e.digests.items() if a in banks]
        out += struct.pack("<III", e.pcr, e.type, len(digests))
        for alg, d in digests:
            out += struct.pack("<H", alg) + d
        out += struct.pack("<I", len(e.data)) + e.data
    return out


class ImaEntry:
    """One ima-ng line. violation: the kernel's zero template hash, zero file digest."""

    def __init__(self, path, content=None, violation=False, algo="sha256"):
        self.path, self.algo, self.violation = path, algo, violation
        self.fd = bytes(32) if violation else hashlib.sha256(content).digest()
        self.th = None          # a forced template hash (tests); None: the right one

    def copy(self):
        c = ImaEntry.__new__(ImaEntry)
        c.__dict__.update(self.__dict__)
        return c

    def template(self):
        d = self.algo.encode() + b":\0" + self.fd
        n = self.path.encode() + b"\0"
        return struct.pack("<I", len(d)) + d + struct.pack("<I", len(n)) + n

    def template_hash(self):
        if self.th is not None:
            return self.th
        return bytes(20) if self.violation else hashlib.sha1(self.template()).digest()

    def extends(self):
        """{alg: digest} the kernel extends into PCR 10 for this line."""
        if self.violation:
            return {SHA1: b"\xff" * 20, SHA256: b"\xff" * 32}
        return {SHA1: hashlib.sha1(self.template()).digest(),
                SHA256: hashlib.sha256(self.template()).digest()}

    def line(self):
        return "10 %s ima-ng %s:%s %s" % (self.template_hash().hex(), self.algo, self.fd.hex(),
                                         self.path)


def genuine_ima():
    return [ImaEntry("boot_aggregate", b"aggregate of PCRs 0-7"),
            ImaEntry("/usr/bin/tool", b"tool v1"),
            ImaEntry("/usr/lib/libx.so", b"libx"),
            ImaEntry("/var/log/app.log", violation=True),
            ImaEntry("/usr/bin/other", b"other v3")]


def serialize_ima(entries):
    return "".join(e.line() + "\n" for e in entries)


class Attester(Tpm2Tools):
    """The node: a TPM with both banks, its logs extended into it, an ECDSA AK."""

    SEL = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10)

    def __init__(self, swtpm):
        super().__init__(swtpm.tcti, prefix="tt-attester-")
        self.swtpm = swtpm
        out = self.run("tpm2_pcrread", "sha1:0")
        if "sha1" not in out or "0x" not in out:
            self.run("tpm2_pcrallocate", "sha1:all+sha256:all")
            swtpm.restart()
        self.events = []
        self.ima = []
        self._values = {}

    def bank_values(self, bank):
        """{pcr: hex} of PCRs 0-23 of a bank, read once until the next extend."""
        if bank not in self._values:
            self._values[bank] = self.pcr_values(bank + ":all")
        return self._values[bank]

    @staticmethod
    def _spec(pcr, digests):
        return "%d:%s" % (pcr, ",".join("%s=%s" % (BANKS[a][0], d.hex())
                                        for a, d in sorted(digests.items())))

    def extend(self, pcr, digests):
        self._values = {}
        self.run("tpm2_pcrextend", self._spec(pcr, digests))

    def extend_all(self, items):
        """[(pcr, digests), ...] in order, in one tpm2_pcrextend run."""
        self._values = {}
        if items:
            self.run("tpm2_pcrextend", *[self._spec(p, d) for p, d in items])

    def boot(self, events=None, ima=None):
        self.events = genuine_events() if events is None else events
        self.ima = genuine_ima() if ima is None else ima
        self.extend_all([(e.pcr, e.digests) for e in self.events] +
                        [(10, e.extends()) for e in self.ima])

    def run_file(self, path, content):
        """The kernel measures a file: one more IMA line, extended into PCR 10."""
        e = ImaEntry(path, content)
        self.ima.append(e)
        self.extend(10, e.extends())
        return e

    @staticmethod
    def selection(sel):
        """{"sha1": [..], "sha256": [..]} -> tpm2-tools "sha1:0,1+sha256:0" (empty banks
        left out)."""
        return "+".join("%s:%s" % (b, ",".join(str(p) for p in pcrs))
                        for b, pcrs in sel.items() if pcrs)

    def quote(self, nonce, sel=None, ak="ak"):
        """A quote over `sel` ({bank: [pcr, ...]}) with qualifying data `nonce`: the
        evidence's "quote" and "pcrs" members."""
        if sel is None:
            sel = {"sha1": list(self.SEL), "sha256": list(self.SEL)}
        spec = self.selection(sel)
        self.run("tpm2_quote", "-c", ak + ".ctx", "-l", spec, "-q", nonce.hex(),
                 "-m", "quote.msg", "-s", "quote.sig", "-g", "sha256")
        self.run("tpm2_flushcontext", "-t")
        pcrs = {}
        for bank, idx in sel.items():
            if idx:
                vals = self.bank_values(bank)
                pcrs[bank] = {str(i): vals[i] for i in idx}
        return {"quote": {"attest": b64url(self.read("quote.msg")),
                          "signature": b64url(self.read("quote.sig"))},
                "pcrs": pcrs}

    def evidence(self, nonce, sel=None, ak="ak", eventlog=True, ima=True):
        ev = self.quote(nonce, sel, ak)
        if eventlog:
            ev["eventlog"] = b64url(serialize_log(self.events))
        if ima:
            ev["ima"] = serialize_ima(self.ima)
        return ev

    def reference_values(self, group):
        """Reference values of this genuine node: every quoted PCR in both banks, the boot
        applications' SHA-256 digests, the command line, the IMA file digests."""
        rv = []
        for bank in ("sha1", "sha256"):
            vals = self.pcr_values("%s:%s" % (bank, ",".join(str(p) for p in self.SEL)))
            rv += [{"name": "pcr.%s.%d" % (bank, i), "value": v} for i, v in vals.items()]
        apps = [e for e in self.events if e.type == EV_EFI_BOOT_SERVICES_APPLICATION]
        rv += [{"name": "boot.app.%d" % i, "value": e.digests[SHA256].hex()}
               for i, e in enumerate(apps)]
        rv.append({"name": "kernel_cmdline", "value": "root=/dev/vda1 ro quiet"})
        rv += [{"name": "ima." + e.path, "value": e.fd.hex()} for e in self.ima
               if not e.violation]
        for v in rv:
            v["scope"] = "group:" + group
        return {"reference_values": rv}
