"""A synthetic AMD SEV-SNP world for end-to-end tests of turtle-as: an ARK/ASK chain and a
VCEK made here (python3-cryptography), written as an anchors directory that replaces the
built-in AMD roots (turtle-as --tee-anchors), and reports signed by the VCEK over any report
data, in the JSON shape Trustee's SNP attester sends. Real AMD reports cannot carry a fresh
challenge; these can. Layout from the SEV-SNP firmware ABI (report version 3, Milan)."""

import datetime
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

TCB = {"bootloader": 4, "tee": 0, "snp": 22, "microcode": 213}
CHIP_ID = bytes(range(1, 65))
MEASUREMENT = bytes.fromhex("5a" * 48)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, pub, key, ca, exts=()):
    now = datetime.datetime(2024, 1, 1)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(pub).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365 * 20)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for oid, der in exts:
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), der),
                            critical=False)
    return b.sign(key, hashes.SHA384())


def _der_int(v):
    return bytes([0x02, 0x01, v]) if v < 0x80 else bytes([0x02, 0x02, 0x00, v])


class SnpWorld:
    def __init__(self, root):
        self.ark_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ask_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.vcek_key = ec.generate_private_key(ec.SECP384R1())
        self.ark = _cert("ARK-Milan", "ARK-Milan", self.ark_key.public_key(), self.ark_key, True)
        self.ask = _cert("SEV-Milan", "ARK-Milan", self.ask_key.public_key(), self.ark_key, True)
        self.vcek = self._vcek(self.vcek_key, CHIP_ID)
        self.anchors = os.path.join(root, "anchors")
        os.makedirs(os.path.join(self.anchors, "amd"), exist_ok=True)
        with open(os.path.join(self.anchors, "amd", "milan.pem"), "wb") as f:
            for c in (self.ask, self.ark):
                f.write(c.public_bytes(serialization.Encoding.PEM))
        for d in (root, self.anchors, os.path.join(self.anchors, "amd")):
            os.chmod(d, 0o755)
        os.chmod(os.path.join(self.anchors, "amd", "milan.pem"), 0o644)

    def _vcek(self, key, chip_id):
        base = "1.3.6.1.4.1.3704.1."
        exts = [(base + "3.1", _der_int(TCB["bootloader"])), (base + "3.2", _der_int(TCB["tee"])),
                (base + "3.3", _der_int(TCB["snp"])), (base + "3.8", _der_int(TCB["microcode"])),
                (base + "4", bytes([0x04, 0x40]) + chip_id)]
        return _cert("SEV-VCEK", "SEV-Milan", key.public_key(), self.ask_key, False, exts)

    def other_chip(self, chip_id):
        """Another chip of this world (the same ARK and ASK): its VCEK key and certificate;
        report(chip_id=chip_id, vcek_key=key) is that chip's report."""
        key = ec.generate_private_key(ec.SECP384R1())
        return key, self._vcek(key, chip_id)

    def report(self, report_data, measurement=MEASUREMENT, host_data=bytes(32), vmpl=0,
               chip_id=CHIP_ID, vcek_key=None):
        rd = report_data.ljust(64, b"\0")
        tcb = bytes([TCB["bootloader"], TCB["tee"], 0, 0, 0, 0, TCB["snp"], TCB["microcode"]])
        r = bytearray(0x4A0)
        struct.pack_into("<IIQ", r, 0, 3, 0, 0x30000)       # version, guest_svn, policy
        struct.pack_into("<II", r, 0x30, vmpl, 1)            # vmpl, sig_algo
        r[0x38:0x40] = tcb                                   # current_tcb
        struct.pack_into("<QI", r, 0x40, 1, 0)               # plat_info (SMT), key_info (VCEK)
        r[0x50:0x90] = rd
        r[0x90:0xC0] = measurement
        r[0xC0:0xE0] = host_data
        r[0x180:0x188] = tcb                                 # reported_tcb
        r[0x188:0x18B] = bytes([0x19, 0x01, 0x01])           # Milan B1
        r[0x1A0:0x1E0] = chip_id
        r[0x1E0:0x1E8] = tcb                                 # committed_tcb
        r[0x1E8:0x1EB] = bytes([3, 55, 1])                   # current build/minor/major
        r[0x1EC:0x1EF] = bytes([3, 55, 1])
        r[0x1F0:0x1F8] = tcb                                 # launch_tcb
        sig = (vcek_key or self.vcek_key).sign(bytes(r[:0x2A0]), ec.ECDSA(hashes.SHA384()))
        rr, ss = decode_dss_signature(sig)
        r[0x2A0:0x2E8] = rr.to_bytes(72, "little")
        r[0x2E8:0x330] = ss.to_bytes(72, "little")
        return bytes(r)

    def evidence(self, report_data, **kw):
        """Trustee's SnpEvidence JSON: the sev crate's field names and serde shapes."""
        r = self.report(report_data, **kw)
        u32 = lambda o: struct.unpack_from("<I", r, o)[0]  # noqa: E731
        u64 = lambda o: struct.unpack_from("<Q", r, o)[0]  # noqa: E731
        arr = lambda a, n: list(r[a:a + n])  # noqa: E731

        def tcb(o):
            return {"fmc": None, "bootloader": r[o], "tee": r[o + 1], "snp": r[o + 6],
                    "microcode": r[o + 7]}

        rep = {"version": u32(0), "guest_svn": u32(4), "policy": u64(8),
               "family_id": arr(0x10, 16), "image_id": arr(0x20, 16), "vmpl": u32(0x30),
               "sig_algo": u32(0x34), "current_tcb": tcb(0x38), "plat_info": u64(0x40),
               "key_info": u32(0x48), "report_data": arr(0x50, 64),
               "measurement": arr(0x90, 48), "host_data": arr(0xC0, 32),
               "id_key_digest": arr(0xE0, 48), "author_key_digest": arr(0x110, 48),
               "report_id": arr(0x140, 32), "report_id_ma": arr(0x160, 32),
               "reported_tcb": tcb(0x180), "cpuid_fam_id": r[0x188], "cpuid_mod_id": r[0x189],
               "cpuid_step": r[0x18A], "chip_id": arr(0x1A0, 64), "committed_tcb": tcb(0x1E0),
               "current": {"major": r[0x1EA], "minor": r[0x1E9], "build": r[0x1E8]},
               "committed": {"major": r[0x1EE], "minor": r[0x1ED], "build": r[0x1EC]},
               "launch_tcb": tcb(0x1F0),
               "signature": {"r": arr(0x2A0, 72), "s": arr(0x2E8, 72)}}
        vcek = self.vcek.public_bytes(serialization.Encoding.DER)
        return {"attestation_report": rep,
                "cert_chain": [{"cert_type": "VCEK", "data": list(vcek)}]}


def reference_values(measurement=MEASUREMENT):
    """Every measurement turtle-as compares for snp (verifier_tee.c), as this world's
    reports carry them: with all of them registered, the default policy is affirming."""
    e = "snp.evidence."
    return {e + "measurement": measurement.hex(), e + "host_data": "00" * 32,
            e + "reported_tcb.bootloader": str(TCB["bootloader"]),
            e + "reported_tcb.tee": str(TCB["tee"]), e + "reported_tcb.snp": str(TCB["snp"]),
            e + "reported_tcb.microcode": str(TCB["microcode"]),
            e + "policy.debug_allowed": "false", e + "policy.migrate_ma_allowed": "false",
            e + "policy.abi_major": "0", e + "policy.abi_minor": "0",
            e + "policy.single_socket_required": "false", e + "policy.smt_allowed": "true",
            e + "plat_info.smt_enabled": "true", e + "plat_info.tsme_enabled": "false"}

