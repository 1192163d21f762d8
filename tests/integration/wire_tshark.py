#!/usr/bin/env python3
"""
@file wire_tshark.py  run/wire_tshark: Wireshark's SIP dissector judges what sipveil puts on
the wire.

tshark captures the loopback interface (filtered to sipveil's port) while the test sends an
OPTIONS (200), a request with a broken From (400) and one with `Proxy-Require: foo` (420).
Then tshark reads the capture back: each request must have its response, with the right status
code, Call-ID, CSeq method, Via branch and Unsupported header, and no packet sent by sipveil may
be flagged malformed or carry an expert info of severity error.

Readiness without sleeping: tshark's "Capturing on 'Loopback: lo'", then a capture file whose
pcapng interface block is written (dumpcap opens the device and sets the filter first); before
stopping tshark with SIGINT, the file must hold all six packets, because packets still in the
kernel ring when dumpcap stops are lost. Capturing needs root or CAP_NET_RAW; without it the
test fails with tshark's reason (it does not skip).
"""
import re
import select
import signal
import struct
import subprocess
import time

import svit
from svit import check, check_eq, fail, step

SHB, IDB, EPB, SPB = 0x0A0D0D0A, 1, 6, 3


def pcapng_blocks(path):
    """@return (interface blocks, packet blocks) complete in the file so far."""
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        return 0, 0
    off, nidb, npkt, endian = 0, 0, 0, "<"
    while off + 12 <= len(b):
        btype = struct.unpack_from(endian + "I", b, off)[0]
        if btype == SHB:
            magic = b[off + 8:off + 12]
            endian = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack_from(endian + "I", b, off + 4)[0]
        if blen < 12 or off + blen > len(b):
            break
        if btype == IDB:
            nidb += 1
        elif btype in (EPB, SPB):
            npkt += 1
        off += blen
    return nidb, npkt


def wait_for_file(tshark, errs, path, what, cond, timeout):
    """Poll the capture file (10 ms apart) until @p cond(blocks) holds; fail if tshark dies."""
    deadline = time.monotonic() + timeout
    while True:
        blocks = pcapng_blocks(path)
        if cond(blocks):
            return blocks
        if not tshark.running():
            fail(f"tshark exited ({tshark.p.returncode}) before {what}: "
                 + " | ".join(errs.lines[-10:]))
        if time.monotonic() > deadline:
            fail(f"capture file {path}: {what} not reached in {timeout} s (blocks {blocks})")
        select.select([], [], [], 0.01)


def tshark_read(tshark, pcap, port, *args):
    argv = [tshark, "-n", "-r", pcap, "-d", f"udp.port=={port},sip", *args]
    r = subprocess.run(argv, capture_output=True, timeout=60)
    check(r.returncode == 0, f"{' '.join(argv)}: exit {r.returncode}: "
                             f"{r.stderr.decode(errors='replace')[-500:]}")
    return r.stdout.decode("utf-8", "replace")


def test(ctx):
    tshark = ctx.tool("tshark", ctx.args.tshark)
    sv = svit.Sipveil(ctx)
    step(f"sipveil ready on 127.0.0.1:{sv.port}")

    pcap = ctx.path("wire.pcapng")
    tlog = ctx.path("tshark.stderr")
    ts = svit.Proc("tshark", [tshark, "-n", "-i", "lo", "-f", f"udp port {sv.port}", "-w", pcap],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    errs = svit.LineReader(ts.p.stderr, "tshark")
    try:
        errs.wait_for(r"Capturing on '(Loopback: )?lo'", 30, "\"Capturing on 'Loopback: lo'\"")
    except svit.Failure as e:
        fail(f"capture on the loopback interface is impossible here (root or CAP_NET_RAW and "
             f"CAP_NET_ADMIN are needed): {e}")
    wait_for_file(ts, errs, pcap, "the interface block", lambda b: b[0] >= 1, 30)
    step("tshark is capturing on lo")

    cl = svit.Client(sv.port)
    sent = []
    req = cl.request("OPTIONS")
    sent.append((req, svit.expect_status(cl, req, 200, "OPTIONS")))
    req = cl.request("OPTIONS", headers={"From": "<sip:tester@it.sipveil.test;tag=1"})
    sent.append((req, svit.expect_status(cl, req, 400, "OPTIONS with a broken From")))
    req = cl.request("OPTIONS", extra=["Proxy-Require: foo"])
    sent.append((req, svit.expect_status(cl, req, 420, "OPTIONS with Proxy-Require: foo")))
    step("sent OPTIONS (200), a broken From (400), Proxy-Require: foo (420)")

    wait_for_file(ts, errs, pcap, "six packets", lambda b: b[1] >= 6, 20)
    rc = ts.stop(signal.SIGINT, 20)
    check_eq("tshark exit status after SIGINT", 0, rc)
    m = re.search(r"(\d+) packets? captured", "\n".join(errs.read_rest()))
    if m:  # the count line is informative; the capture file is what is judged below
        check_eq("tshark: packets captured", 6, int(m.group(1)))
    step("tshark stopped by SIGINT, 6 packets captured")

    fields = ["frame.number", "udp.srcport", "udp.dstport", "sip.Method", "sip.Status-Code",
              "sip.Status-Line", "sip.Call-ID", "sip.CSeq.method", "sip.Via.branch",
              "sip.Unsupported", "sip.to.tag", "sip.from.tag", "sip.Content-Length"]
    argv = ["-Y", "sip", "-T", "fields", "-E", "separator=/t"]
    for f in fields:
        argv += ["-e", f]
    text = tshark_read(tshark, pcap, sv.port, *argv)
    rows = [dict(zip(fields, line.split("\t"))) for line in text.splitlines() if line]
    check_eq("SIP packets dissected by tshark", 6, len(rows))
    reqs = [r for r in rows if r["udp.dstport"] == str(sv.port)]
    resps = [r for r in rows if r["udp.srcport"] == str(sv.port)]
    check_eq("requests seen on the wire", 3, len(reqs))
    check_eq("responses seen on the wire", 3, len(resps))
    for (req, live), wreq, wresp in zip(sent, reqs, resps):
        code = live.code
        check_eq("wire: request method", "OPTIONS", wreq["sip.Method"])
        check_eq(f"wire: {code}: status code", str(code), wresp["sip.Status-Code"])
        check_eq(f"wire: {code}: Call-ID", req.callid, wresp["sip.Call-ID"])
        check_eq(f"wire: {code}: CSeq method", "OPTIONS", wresp["sip.CSeq.method"])
        check_eq(f"wire: {code}: Via branch", req.branch, wresp["sip.Via.branch"])
        check_eq(f"wire: {code}: sent to the client port", str(cl.port), wresp["udp.dstport"])
        check(wresp["sip.to.tag"] != "", f"wire: {code}: tshark finds no To tag")
        check_eq(f"wire: {code}: From tag", wreq["sip.from.tag"], wresp["sip.from.tag"])
        check_eq(f"wire: {code}: Content-Length", "0", wresp["sip.Content-Length"])
        check(int(wresp["frame.number"]) > int(wreq["frame.number"]),
              f"wire: the {code} precedes its request")
        step(f"wire: {wresp['sip.Status-Line']!r} answers frame {wreq['frame.number']}")
    check("From" in resps[1]["sip.Status-Line"],
          f"wire: the 400 should name the From header: {resps[1]['sip.Status-Line']!r}")
    check_eq("wire: 420 Unsupported", "foo", resps[2]["sip.Unsupported"])

    flagged = "_ws.malformed || _ws.expert.severity >= error"
    bad = tshark_read(tshark, pcap, sv.port, "-Y", f"udp.srcport == {sv.port} && ({flagged})",
                      "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
    check(bad.strip() == "", f"tshark flags sipveil's packets as malformed or in error:\n{bad}")
    warn = tshark_read(tshark, pcap, sv.port, "-Y",
                       f"udp.srcport == {sv.port} && _ws.expert.severity >= warning",
                       "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
    if warn.strip():
        print(f"  note: tshark warnings on sipveil's packets (not failures):\n{warn}")
    step("tshark: no malformed packet and no expert error in sipveil's responses")

    sv.stop()
    step("SIGTERM -> exit 0")


if __name__ == "__main__":
    svit.run(test)
