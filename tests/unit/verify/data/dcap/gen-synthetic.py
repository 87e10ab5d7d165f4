#!/usr/bin/env python3
"""Write the synthetic DCAP world of test_dcap.c into tests/unit/verify/data/dcap/syn/.

Intel's keys sign every real vector, so the cases no shared vector has are built under a
test root of our own (tests/integration/dcap_synth.py, which turtle-as's tests use with
times around the real clock): a TDX quote v5 with a TD 1.0 body whose RTMRs are the replay
of the CC event log written alongside, and one collateral file per case (TCB statuses and
their convergence with the QE and TDX module statuses, a revoked TCB level, no matching
level, a TDX module that is not the one the TCB info names, a revoked PCK, an expired PCK
CRL), and TD 1.5 quotes with the collateral of each path of the TD relaunch advice. Dates are fixed (collateral valid 2026-05-01 to 2026-07-01; the unit tests judge at
2026-06-01). The keys are random: a rerun changes every byte, and the tests do not depend
on any. Needs python3-cryptography. Run: python3 gen-synthetic.py
"""
import datetime
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "integration"))
import dcap_synth  # noqa: E402
from dcap_synth import (LOWER_COMPS, PCESVN, PCK_COMPS, PCK_SERIAL, TDX_COMPS,  # noqa: E402
                        UTC)

OUT = os.path.join(HERE, "syn")


def main():
    os.makedirs(OUT, exist_ok=True)
    w = dcap_synth.DcapWorld(
        cert_from=datetime.datetime(2025, 1, 1, tzinfo=UTC),
        crl_from=datetime.datetime(2026, 1, 1, tzinfo=UTC),
        crl_next=datetime.datetime(2026, 12, 31, tzinfo=UTC),
        issue=datetime.datetime(2026, 5, 1, tzinfo=UTC),
        next_update=datetime.datetime(2026, 7, 1, tzinfo=UTC))
    log, rtmr = dcap_synth.ccel()
    with open(os.path.join(OUT, "root.pem"), "wb") as f:
        f.write(w.root_pem())
    with open(os.path.join(OUT, "tdx_quote_v5_td10"), "wb") as f:
        f.write(w.quote(b"turtle synthetic nonce", rtmr))
    with open(os.path.join(OUT, "ccel.bin"), "wb") as f:
        f.write(log)
    # TD 1.5 quotes of a TD that runs TDX module TDX_01 SVN 2 (OutOfDate in the default
    # collateral) on a platform that now runs tee_tcb_svn_2: TDX_01 SVN 4, TDX_03 SVN 4,
    # or a version-0 module; and the same TD in a TD 1.0 quote (no relaunch advice).
    old_td = bytes([2, 1, 2]) + bytes(13)
    for name, svn2 in (("td15", bytes([4, 1, 2]) + bytes(13)),
                       ("td15_m3", bytes([4, 3, 2]) + bytes(13)),
                       ("td15_v0", bytes([0, 0, 2]) + bytes(13)),
                       ("td10_m2", None)):
        with open(os.path.join(OUT, "tdx_quote_v5_" + name), "wb") as f:
            f.write(w.quote(b"turtle synthetic nonce", rtmr, tee_tcb_svn=old_td,
                            tee_tcb_svn2=svn2))
    newer_tdx = [0, 0, 3] + [0] * 13
    outdated_tdx_level = (PCK_COMPS, PCESVN, TDX_COMPS, "OutOfDate", ["INTEL-SA-00011"])
    ca = "Turtle Test SGX PCK Platform CA"
    cases = {
        "ok": {},
        "swh": dict(status="SWHardeningNeeded", advisories=["INTEL-SA-00001"]),
        "qe-outdated": dict(qe=[(5, "UpToDate", None), (3, "OutOfDate", ["INTEL-SA-00002"])]),
        "module-outdated": dict(status="ConfigurationNeeded", advisories=["INTEL-SA-00003"],
                                module=[(5, "UpToDate"), (3, "OutOfDate")]),
        "level-revoked": dict(status="Revoked", advisories=["INTEL-SA-00004"]),
        "no-level": dict(levels=[(LOWER_COMPS, PCESVN + 1, TDX_COMPS, "UpToDate", None)]),
        "module-mismatch": dict(module_mrsigner=b"\x01" * 48),
        "pck-revoked": dict(pck_crl=w.crl(ca, w.ca_k, [PCK_SERIAL])),
        "crl-expired": dict(pck_crl=w.crl(ca, w.ca_k, next_update=datetime.datetime(
            2026, 5, 15, tzinfo=UTC))),
        # TD 1.5 relaunch advice (test_td15_relaunch)
        "relaunch": {},
        "relaunch-config": dict(status="ConfigurationNeeded", advisories=["INTEL-SA-00010"]),
        "relaunch-module-newer": dict(module=[(5, "UpToDate"), (2, "OutOfDate")]),
        "relaunch-tdx-svn-low": dict(levels=[
            (PCK_COMPS, PCESVN, newer_tdx, "UpToDate", None), outdated_tdx_level]),
        "relaunch-qe-outdated": dict(qe=[(5, "UpToDate", None),
                                         (3, "OutOfDate", ["INTEL-SA-00002"])]),
        "relaunch-sgx-outdated": dict(levels=[outdated_tdx_level]),
        "relaunch-module-current": dict(module=[(2, "UpToDate")], levels=[
            (PCK_COMPS, PCESVN, newer_tdx, "UpToDate", None), outdated_tdx_level]),
        "relaunch-revoked": dict(status="Revoked", advisories=["INTEL-SA-00004"]),
        "relaunch-m3": dict(more_modules={"TDX_03": [(4, "UpToDate"), (1, "OutOfDate")]}),
        "relaunch-v0-newer": dict(levels=[
            (PCK_COMPS, PCESVN, [1, 0, 2] + [0] * 13, "UpToDate", None)]),
    }
    for case, kw in cases.items():
        with open(os.path.join(OUT, "collateral-%s.json" % case), "w") as f:
            json.dump(w.collateral(**kw), f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
