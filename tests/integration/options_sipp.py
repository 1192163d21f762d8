#!/usr/bin/env python3
"""
@file options_sipp.py  run/options_sipp: SIPp sends 20 OPTIONS at 50/s, each must get 200.

An independent SIP implementation is the judge: SIPp's scenario (sipp/options.xml) fails a call
on any status other than 200, on a 200 without `Allow: ... OPTIONS` or without a To tag, and
on a timeout. The test passes on SIPp's exit code 0 together with its statistics file (20
successful calls, none failed, no unexpected out-of-call message) and on sipveil's own count
of what it received and sent, written when it stops.
"""
import csv
import os
import re
import subprocess

import svit
from svit import check, check_eq, fail, step

CALLS = 20
RATE = 50
SIPP_BIND_FAILED = 254  # sipp exits -2 when it cannot bind a socket


def run_sipp(ctx, sipp, scenario, port, attempt):
    """One SIPp run. Its local and control ports come from the kernel via a probe socket;
    another process could take one before sipp binds it, so that case is retried."""
    work = ctx.path(f"sipp-{attempt}")
    os.mkdir(work)
    lport, cport = svit.free_udp_port(), svit.free_udp_port()
    argv = [sipp, "-sf", scenario, "-m", CALLS, "-r", RATE,
            "-i", svit.LOOPBACK, "-bind_local", "-p", lport,
            "-ci", svit.LOOPBACK, "-cp", cport,
            "-nostdin", "-timeout", "30s", "-timeout_error",
            "-trace_stat", "-stf", "stats.csv", "-fd", "1",
            "-trace_screen", "-screen_file", "screen.log",
            "-trace_err", "-error_file", "errors.log",
            f"{svit.LOOPBACK}:{port}"]
    out = os.path.join(work, "sipp.out")
    for name in ("sipp.out", "screen.log", "errors.log"):
        svit.add_log(f"sipp {name} (attempt {attempt})", os.path.join(work, name))
    with open(out, "wb") as f:
        pr = svit.Proc("sipp", argv, cwd=work, stdout=f, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
        rc = pr.wait(45, "finish its 20 calls")
    return rc, work


def read_stats(path):
    check(os.path.isfile(path), f"sipp wrote no statistics file ({path})")
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    check(len(rows) >= 2, f"sipp statistics file has no data row: {path}")
    head, last = rows[0], rows[-1]
    return {k: v for k, v in zip(head, last)}


def test(ctx):
    sipp = ctx.tool("sipp", ctx.args.sipp)
    scenario = os.path.abspath(ctx.args.scenario or "")
    check(scenario and os.path.isfile(scenario), f"SIPp scenario not found: {scenario}")
    sv = svit.Sipveil(ctx)
    step(f"sipveil ready on 127.0.0.1:{sv.port}")

    for attempt in range(1, 4):
        rc, work = run_sipp(ctx, sipp, scenario, sv.port, attempt)
        if rc != SIPP_BIND_FAILED:
            break
        print(f"  sipp could not bind its probe-chosen ports (attempt {attempt}); retrying")
    check_eq("sipp exit status (0: all calls successful)", 0, rc)
    step("sipp exited 0")

    st = read_stats(os.path.join(work, "stats.csv"))
    for key, want in (("OutgoingCall(C)", CALLS), ("SuccessfulCall(C)", CALLS),
                      ("FailedCall(C)", 0), ("FailedUnexpectedMessage(C)", 0),
                      ("FailedRegexpDoesntMatch(C)", 0), ("FailedRegexpHdrNotFound(C)", 0),
                      ("FailedTimeoutOnRecv(C)", 0), ("OutOfCallMsgs(C)", 0)):
        check(key in st, f"sipp statistics lack the column {key}")
        check_eq(f"sipp statistics {key}", str(want), st[key].strip())
    step(f"sipp statistics: {CALLS} successful calls, 0 failed, "
         f"{st.get('Retransmissions(C)', '?')} retransmissions")

    log = sv.stop()
    step("SIGTERM -> exit 0")
    # sipveil's side of the story: every OPTIONS (and any retransmission) answered, none dropped
    m = re.search(r"stopped \((\d+) received, (\d+) sent, (\d+) dropped", log)
    if not m:
        fail("sipveil's last line 'stopped (N received, N sent, N dropped; ...)' is missing from its log")
    nrx, ntx, ndrop = (int(x) for x in m.groups())
    check(nrx >= CALLS, f"sipveil received {nrx} datagrams, SIPp sent at least {CALLS}")
    check_eq("sipveil: datagrams answered", nrx, ntx)
    check_eq("sipveil: datagrams dropped", 0, ndrop)
    step(f"sipveil counted {nrx} received, {ntx} sent, {ndrop} dropped")


if __name__ == "__main__":
    svit.run(test)
