#!/usr/bin/python3
"""A fake Linux configfs-tsm (Documentation/ABI/testing/configfs-tsm) as a FUSE filesystem,
for turtled's TtAttestTee: MOUNT/report/ behaves as /sys/kernel/config/tsm/report does.

  mkdir report/NAME      an entry: inblob (write-only, at most 64 bytes), outblob and (SNP)
                         auxblob (read-only), generation, provider, and (SNP) privlevel and
                         privlevel_floor; rmdir removes it
  write inblob/privlevel bumps the entry's generation
  read outblob           makes the report from the current inblob, signed like real
                         evidence by a synthetic platform (snp_synth, dcap_synth,
                         cca_synth), whose anchors and collateral are written to STATE/world
                         for turtle-as; TDX's CC event log is STATE/CCEL

Adversarial modes come from STATE/control.json, read on every outblob read, so a test can
change them while the filesystem runs: {"mode": "race" (another writer bumps the generation
during every read) | "race_once" (only the first read of the run) | "oversize" (outblob
padded to "size") | "empty" | "eio" | "ignore_inblob" (the report carries other report
data) | "tamper" (one bit of the signed measurement flipped after signing), "provider": a provider name to show, "privlevel_floor": n, "measurement": hex (SNP measurement, TDX MR_TD,
CCA RIM), "platform": "other" (the report of another platform of the same world: another
SNP chip id and VCEK, TDX PPID and PCK certificate, CCA instance id and CPAK; OTHER_IDENTITY)}. Run: tsm_fake.py --mount DIR --state DIR --tee snp|tdx|cca (foreground; stop it
with fusermount -u DIR, then the process ends)."""

import argparse
import datetime
import errno
import json
import os
import stat
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    from fusepy import FUSE, FuseOSError, Operations
except ImportError:  # pragma: no cover - the test fixture reports this
    sys.stderr.write("tsm_fake: python3-fusepy is not installed (scripts/deps.sh --test)\n")
    sys.exit(3)

PROVIDERS = {"snp": "sev_guest", "tdx": "tdx_guest", "cca": "arm_cca_guest"}
INBLOB_MAX = 64
# The identities of the other platform ("platform": "other"), as turtle-as's tee_identity
# reads them: SNP chip id, TDX PPID, CCA instance id (type byte 0x01 and 32 bytes).
OTHER_IDENTITY = {"snp": bytes(range(65, 129)), "tdx": bytes(range(16, 32)),
                  "cca": bytes([0x01]) + bytes(range(32, 64))}

# AMD's certificate table GUIDs (GHCB specification), as text, and the table layout:
# {GUID (16), offset u32le, length u32le}..., an all-zero entry, then the certificates.
GUID_VCEK = "63da758d-e664-4564-adc5-f4b93be8accd"
GUID_ASK = "4ab7b379-bbac-4fe4-a02f-05aef327c782"
GUID_ARK = "c0b406a4-a803-4952-9743-3fb6014cd0ae"


def _guid_bytes(text):
    import uuid
    return uuid.UUID(text).bytes_le


def cert_table(certs):
    """certs: [(guid text, der)] -> AMD's certificate table, each certificate padded to a
    multiple of 16 bytes (the table's length may round a certificate up)."""
    head = 24 * (len(certs) + 1)
    body, entries = b"", b""
    for guid, der in certs:
        off = head + len(body)
        pad = der + bytes(-len(der) % 16)
        entries += _guid_bytes(guid) + struct.pack("<II", off, len(pad))
        body += pad
    return entries + bytes(24) + body


class World:
    def __init__(self, tee, state):
        from cryptography.hazmat.primitives import serialization
        self.tee = tee
        root = os.path.join(state, "world")
        os.makedirs(root, exist_ok=True)
        if tee == "snp":
            import snp_synth
            self.w = snp_synth.SnpWorld(root)
            der = serialization.Encoding.DER
            self.aux = cert_table([(GUID_VCEK, self.w.vcek.public_bytes(der)),
                                   (GUID_ASK, self.w.ask.public_bytes(der)),
                                   (GUID_ARK, self.w.ark.public_bytes(der))])
            key, vcek = self.w.other_chip(OTHER_IDENTITY["snp"])
            self.other = {"chip_id": OTHER_IDENTITY["snp"], "vcek_key": key}
            self.aux_other = cert_table([(GUID_VCEK, vcek.public_bytes(der)),
                                         (GUID_ASK, self.w.ask.public_bytes(der)),
                                         (GUID_ARK, self.w.ark.public_bytes(der))])
        elif tee == "tdx":
            import dcap_synth
            now = datetime.datetime.now(dcap_synth.UTC)
            self.w = dcap_synth.DcapWorld.current()
            self.w.install(os.path.join(root, "anchors"), os.path.join(root, "collateral"))
            log, self.rtmr = dcap_synth.ccel()
            with open(os.path.join(state, "CCEL"), "wb") as f:
                f.write(log)
            self.aux = self.aux_other = None
            self.other = {"pck": self.w.other_pck(OTHER_IDENTITY["tdx"],
                                                  now - datetime.timedelta(days=30))}
        else:
            import cca_synth
            self.w = cca_synth.CcaWorld(root)
            self.aux = self.aux_other = None
            self.other = {"plat": self.w.other_platform(OTHER_IDENTITY["cca"])}
        for top, dirs, files in os.walk(state):
            os.chmod(top, 0o755)
            for n in files:
                os.chmod(os.path.join(top, n), 0o644)

    def measurement(self, hexval):
        """The measurement's bytes as the report carries them (SNP measurement, TDX MR_TD,
        CCA RIM)."""
        if hexval:
            return bytes.fromhex(hexval)
        if self.tee == "snp":
            import snp_synth
            return snp_synth.MEASUREMENT
        if self.tee == "tdx":
            import dcap_synth
            return dcap_synth.MR_TD
        import cca_synth
        return cca_synth.RIM

    def report(self, report_data, privlevel, measurement, other=False):
        kw = dict(self.other) if other else {}
        if self.tee == "snp":
            kw["vmpl"] = privlevel
            if measurement is not None:
                kw["measurement"] = measurement
            return self.w.report(report_data, **kw)
        if self.tee == "tdx":
            if measurement is not None:
                kw["mr_td"] = measurement
            return self.w.quote(report_data, self.rtmr, **kw)
        if measurement is not None:
            kw["rim"] = measurement
        return self.w.token(report_data, **kw)


class Entry:
    def __init__(self):
        self.inblob = b""
        self.privlevel = 0
        self.generation = 0
        self.mu = threading.Lock()


class TsmFs(Operations):
    def __init__(self, tee, state):
        self.tee = tee
        self.state = state
        self.world = World(tee, state)
        self.entries = {}
        self.blobs = {}          # fh -> bytes of an open outblob/auxblob
        self.next_fh = 1
        self.reads = 0
        self.mu = threading.Lock()
        self.t0 = time.time()

    # ---- helpers ----
    def control(self):
        try:
            with open(os.path.join(self.state, "control.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def attrs(self):
        a = {"inblob": 0o200, "outblob": 0o444, "generation": 0o444, "provider": 0o444}
        if self.tee == "snp":
            a.update({"auxblob": 0o444, "privlevel": 0o644, "privlevel_floor": 0o444})
        return a

    def split(self, path):
        parts = [p for p in path.split("/") if p]
        if len(parts) == 0:
            return "root", None, None
        if parts[0] != "report" or len(parts) > 3:
            raise FuseOSError(errno.ENOENT)
        if len(parts) == 1:
            return "report", None, None
        ent = self.entries.get(parts[1])
        if ent is None:
            raise FuseOSError(errno.ENOENT)
        if len(parts) == 2:
            return "entry", ent, None
        if parts[2] not in self.attrs():
            raise FuseOSError(errno.ENOENT)
        return "attr", ent, parts[2]

    def _stat(self, mode, size=0):
        return {"st_mode": mode, "st_nlink": 2 if stat.S_ISDIR(mode) else 1, "st_size": size,
                "st_uid": 0, "st_gid": 0, "st_atime": self.t0, "st_mtime": self.t0,
                "st_ctime": self.t0}

    # ---- filesystem ----
    def getattr(self, path, fh=None):
        kind, ent, name = self.split(path)
        if kind != "attr":
            return self._stat(stat.S_IFDIR | 0o755)
        return self._stat(stat.S_IFREG | self.attrs()[name], 4096)

    def readdir(self, path, fh):
        kind, ent, _ = self.split(path)
        if kind == "root":
            return [".", "..", "report"]
        if kind == "report":
            with self.mu:
                return [".", ".."] + sorted(self.entries)
        if kind == "entry":
            return [".", ".."] + sorted(self.attrs())
        raise FuseOSError(errno.ENOTDIR)

    def mkdir(self, path, mode):
        parts = [p for p in path.split("/") if p]
        if len(parts) != 2 or parts[0] != "report":
            raise FuseOSError(errno.EPERM)
        with self.mu:
            if parts[1] in self.entries:
                raise FuseOSError(errno.EEXIST)
            self.entries[parts[1]] = Entry()

    def rmdir(self, path):
        parts = [p for p in path.split("/") if p]
        if len(parts) != 2 or parts[0] != "report":
            raise FuseOSError(errno.EPERM)
        with self.mu:
            if self.entries.pop(parts[1], None) is None:
                raise FuseOSError(errno.ENOENT)

    def truncate(self, path, length, fh=None):
        kind, ent, name = self.split(path)
        if kind != "attr" or name not in ("inblob", "privlevel"):
            raise FuseOSError(errno.EACCES)

    def open(self, path, flags):
        kind, ent, name = self.split(path)
        if kind != "attr":
            raise FuseOSError(errno.EISDIR)
        writing = (flags & os.O_ACCMODE) != os.O_RDONLY
        mode = self.attrs()[name]
        if writing and not mode & 0o200 or not writing and not mode & 0o444:
            raise FuseOSError(errno.EACCES)
        with self.mu:
            fh = self.next_fh
            self.next_fh += 1
        if not writing:
            self.blobs[fh] = self.produce(ent, name)
        return fh

    def produce(self, ent, name):
        if name == "generation":
            return b"%d\n" % ent.generation
        if name == "provider":
            return (self.control().get("provider") or PROVIDERS[self.tee]).encode() + b"\n"
        if name == "privlevel":
            return b"%d\n" % ent.privlevel
        if name == "privlevel_floor":
            return b"%d\n" % int(self.control().get("privlevel_floor", 0))
        ctl = self.control()
        mode = ctl.get("mode")
        other = ctl.get("platform") == "other"
        if name == "auxblob":
            return (self.world.aux_other if other else self.world.aux) or b""
        # outblob: the kernel makes the report when it is read
        with self.mu:
            self.reads += 1
            first = self.reads == 1
        if mode == "eio":
            raise FuseOSError(errno.EIO)
        if self.tee == "tdx" and len(ent.inblob) != INBLOB_MAX:
            raise FuseOSError(errno.EINVAL)
        rd = ent.inblob
        if mode == "ignore_inblob":
            rd = b"\x42" * INBLOB_MAX
        meas = ctl.get("measurement")
        blob = self.world.report(rd, ent.privlevel, bytes.fromhex(meas) if meas else None,
                                 other)
        if mode == "race" or (mode == "race_once" and first):
            with ent.mu:
                ent.generation += 1      # another writer's inblob, meanwhile
        if mode == "tamper":
            i = blob.find(self.world.measurement(meas))
            blob = blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1:]
        if mode == "empty":
            return b""
        if mode == "oversize":
            blob = blob + bytes(max(0, int(ctl.get("size", 1 << 20)) - len(blob)))
        return blob

    def read(self, path, size, offset, fh):
        b = self.blobs.get(fh)
        if b is None:
            raise FuseOSError(errno.EBADF)
        return b[offset:offset + size]

    def write(self, path, data, offset, fh):
        kind, ent, name = self.split(path)
        if name == "inblob":
            if offset + len(data) > INBLOB_MAX:
                raise FuseOSError(errno.EINVAL)
            with ent.mu:
                ent.inblob = (ent.inblob[:offset].ljust(offset, b"\0") + data)
                ent.generation += 1
            return len(data)
        if name == "privlevel":
            try:
                v = int(data.decode().strip())
            except ValueError:
                raise FuseOSError(errno.EINVAL)
            if v < int(self.control().get("privlevel_floor", 0)) or v > 3:
                raise FuseOSError(errno.EINVAL)
            with ent.mu:
                ent.privlevel = v
                ent.generation += 1
            return len(data)
        raise FuseOSError(errno.EACCES)

    def release(self, path, fh):
        self.blobs.pop(fh, None)
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mount", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--tee", required=True, choices=sorted(PROVIDERS))
    a = ap.parse_args()
    fs = TsmFs(a.tee, a.state)
    with open(os.path.join(a.state, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    FUSE(fs, a.mount, foreground=True, nothreads=False, allow_other=True, direct_io=True,
         attr_timeout=0, entry_timeout=0, negative_timeout=0)


if __name__ == "__main__":
    main()
