#!/usr/bin/env python3
"""Independent reference replay of TCG2 crypto-agile event logs and IMA ascii logs.

Written once to produce the expected values hard-coded in test_evidence.c; it shares no
code with src/attest/evidence. Usage: replay_ref.py FILE...
"""
import hashlib
import struct
import sys

ALGS = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512"}


def uefi(path):
    b = open(path, "rb").read()
    off = 0
    pcr, etype = struct.unpack_from("<II", b, off)
    off += 8 + 20
    (esz,) = struct.unpack_from("<I", b, off)
    off += 4
    spec = b[off:off + esz]
    off += esz
    assert spec[:16] == b"Spec ID Event03\0", "not a crypto-agile log"
    (nalg,) = struct.unpack_from("<I", spec, 24)
    sizes = {}
    for i in range(nalg):
        a, s = struct.unpack_from("<HH", spec, 28 + 4 * i)
        sizes[a] = s
    banks = {a: [bytes(sizes[a])] * 24 for a in sizes}
    counts = [0] * 24
    n = 0
    sb = None
    while off < len(b):
        pcr, etype, cnt = struct.unpack_from("<III", b, off)
        off += 12
        digs = []
        for _ in range(cnt):
            (a,) = struct.unpack_from("<H", b, off)
            off += 2
            digs.append((a, b[off:off + sizes[a]]))
            off += sizes[a]
        (esz,) = struct.unpack_from("<I", b, off)
        off += 4
        ev = b[off:off + esz]
        off += esz
        n += 1
        if etype == 3:  # EV_NO_ACTION
            if ev[:16] == b"StartupLocality\0":
                for a in banks:
                    banks[a][0] = bytes(sizes[a] - 1) + ev[16:17]
            continue
        counts[pcr] += 1
        if etype == 0x80000001:  # EV_EFI_VARIABLE_DRIVER_CONFIG
            nlen, dlen = struct.unpack_from("<QQ", ev, 16)
            name = ev[32:32 + 2 * nlen].decode("utf-16-le")
            if name == "SecureBoot":
                sb = ev[32 + 2 * nlen:32 + 2 * nlen + dlen]
        for a, d in digs:
            banks[a][pcr] = hashlib.new(ALGS[a], banks[a][pcr] + d).digest()
    print(path, "events", n, "secureboot", sb)
    print(" counts", counts)
    for a in banks:
        for i in range(24):
            if counts[i]:
                print(" ", ALGS[a], i, banks[a][i].hex())


def ima(path):
    p1 = bytes(20)
    p256 = bytes(32)
    for line in open(path):
        f = line.split()
        algo, dig = f[3].split(":")
        d = algo.encode() + b":\0" + bytes.fromhex(dig)
        nm = f[4].encode() + b"\0"
        data = struct.pack("<I", len(d)) + d + struct.pack("<I", len(nm)) + nm
        if f[2] == "ima-sig":
            sig = bytes.fromhex(f[5]) if len(f) > 5 else b""
            data += struct.pack("<I", len(sig)) + sig
        if int(f[1], 16) == 0:
            h1, h256 = b"\xff" * 20, b"\xff" * 32
        else:
            h1, h256 = hashlib.sha1(data).digest(), hashlib.sha256(data).digest()
        p1 = hashlib.sha1(p1 + h1).digest()
        p256 = hashlib.sha256(p256 + h256).digest()
    print(path, "pcr10 sha1", p1.hex(), "sha256", p256.hex())


for f in sys.argv[1:]:
    (ima if "ima" in f else uefi)(f)
