#!/usr/bin/env python3
"""
@file wire_tshark.py  proxy/wire_tshark: Wireshark's SIP dissector judges what the proxy puts
on the wire.

tshark captures `lo`, filtered to the proxy's UDP port, while a SIPp UAC makes 5 calls
INVITE/180/200/ACK/BYE/200 (sipp/uac.xml, sipp/uas.xml) through the proxy to a SIPp UAS.
Readiness and stop as in run/wire_tshark: "Capturing on 'Loopback: lo'", a capture file with
its interface block, and all 60 packets (12 per call) in the file before SIGINT. Then
`tshark -r`: every packet the proxy sent dissects as SIP, none is `_ws.malformed` or carries
an expert info of severity error; each request the proxy forwarded (to the UAS) has one Via
more than the same request as received (from the UAC: same Call-ID, CSeq and method) and
Max-Forwards one less, and the forwarded INVITE carries Record-Route; each response forwarded
upstream has one Via less than as received.
"""
import importlib.util
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, fail, step  # noqa: E402
import pxit  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "wire_top", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "wire_tshark.py"))
wire = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wire)  # pcapng_blocks, wait_for_file, tshark_read

CALLS = 5
PER_CALL = 12  # UAC side INVITE 180 200 ACK BYE 200 (the 180 comes within 200 ms: no 100);
#                UAS side INVITE 180 200 ACK BYE 200


def test(ctx):
    tshark = ctx.tool("tshark", ctx.args.tshark)
    uas_port = svit.free_udp_port()
    px = pxit.Proxy(ctx, pxit.node_conf(
        [f'{{match: default, next_hop: "udp:127.0.0.1:{uas_port}"}}']), 1)
    port = px.ports["udp"]
    step(f"proxy ready on udp 127.0.0.1:{port}")

    pcap = ctx.path("proxy.pcapng")
    ts = svit.Proc("tshark", [tshark, "-n", "-i", "lo", "-f", f"udp port {port}", "-w", pcap],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    errs = svit.LineReader(ts.p.stderr, "tshark")
    try:
        errs.wait_for(r"Capturing on '(Loopback: )?lo'", 30, "\"Capturing on 'Loopback: lo'\"")
    except svit.Failure as e:
        fail(f"capture on the loopback interface is impossible here (root or CAP_NET_RAW and "
             f"CAP_NET_ADMIN are needed): {e}")
    wire.wait_for_file(ts, errs, pcap, "the interface block", lambda b: b[0] >= 1, 30)
    step("tshark is capturing on lo")

    sc = os.path.join(ctx.args.data, "sipp")
    uas, _ = pxit.sipp(ctx, "wire-uas", [
        "-sf", os.path.join(sc, "uas.xml"), "-i", svit.LOOPBACK, "-p", str(uas_port), "-t", "u1",
        "-m", str(CALLS), "-nostdin", "-trace_err"])
    uac, _ = pxit.sipp(ctx, "wire-uac", [
        "-sf", os.path.join(sc, "uac.xml"), "-i", svit.LOOPBACK, "-p", "0", "-t", "u1",
        "-m", str(CALLS), "-r", "10", "-s", "bob", "-nostdin", "-timeout", "15s", "-trace_err",
        f"{svit.LOOPBACK}:{port}"])
    check_eq(f"UAC sipp exit status (0: all {CALLS} calls successful)", 0,
             uac.wait(20, "the UAC's calls"))
    check_eq("UAS sipp exit status", 0, uas.wait(10, "the UAS's calls"))
    step(f"{CALLS} calls through the proxy")

    want = CALLS * PER_CALL
    wire.wait_for_file(ts, errs, pcap, f"{want} packets", lambda b: b[1] >= want, 20)
    check_eq("tshark exit status after SIGINT", 0, ts.stop(signal.SIGINT, 20))
    px.stop()
    step(f"tshark stopped by SIGINT with at least {want} packets")

    # every packet the proxy sent is SIP, and none is malformed or in error
    notsip = wire.tshark_read(tshark, pcap, port, "-Y", f"udp.srcport == {port} && !sip",
                              "-T", "fields", "-e", "frame.number")
    check(notsip.strip() == "", f"packets from the proxy not dissected as SIP: {notsip.split()}")
    flagged = "_ws.malformed || _ws.expert.severity >= error"
    bad = wire.tshark_read(tshark, pcap, port, "-Y", f"udp.srcport == {port} && ({flagged})",
                           "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
    check(bad.strip() == "", f"tshark flags the proxy's packets as malformed or in error:\n{bad}")
    step("every packet from the proxy is SIP; none malformed, no expert error")

    fields = ["frame.number", "udp.srcport", "udp.dstport", "sip.Method", "sip.Status-Code",
              "sip.Call-ID", "sip.CSeq.seq", "sip.CSeq.method", "sip.Via", "sip.Max-Forwards",
              "sip.Record-Route"]
    argv = ["-Y", "sip", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
            "-E", "aggregator=/s"]
    for f in fields:
        argv += ["-e", f]
    rows = [dict(zip(fields, line.split("\t")))
            for line in wire.tshark_read(tshark, pcap, port, *argv).splitlines() if line]
    check(len(rows) >= want, f"SIP packets read back: {len(rows)}, expected {want}")

    def nvia(r):
        # the aggregator is a space; each Via value holds spaces too: count the versions
        return len(re.findall(r"SIP/2\.0/", r["sip.Via"]))

    def key(r):
        return (r["sip.Call-ID"], r["sip.CSeq.seq"], r["sip.CSeq.method"],
                r["sip.Method"] or r["sip.Status-Code"])

    sport = str(port)
    rx = {}
    for r in rows:  # what the proxy received: requests from the UAC, responses from the UAS
        if r["udp.dstport"] == sport:
            rx.setdefault(key(r), r)
    nreq = nresp = 0
    for r in rows:
        if r["udp.srcport"] != sport:
            continue
        if r["sip.Method"]:
            check_eq(f"frame {r['frame.number']}: forwarded {r['sip.Method']} goes to the UAS",
                     str(uas_port), r["udp.dstport"])
            orig = rx.get(key(r))
            check(orig is not None, f"frame {r['frame.number']}: {r['sip.Method']} forwarded "
                                    f"without a received one")
            check_eq(f"frame {r['frame.number']}: {r['sip.Method']} Vias (received + 1)",
                     nvia(orig) + 1, nvia(r))
            check_eq(f"frame {r['frame.number']}: {r['sip.Method']} Max-Forwards",
                     int(orig["sip.Max-Forwards"]) - 1, int(r["sip.Max-Forwards"]))
            if r["sip.Method"] == "INVITE":
                check("lr" in r["sip.Record-Route"] and sport in r["sip.Record-Route"],
                      f"frame {r['frame.number']}: INVITE without our Record-Route: "
                      f"{r['sip.Record-Route']!r}")
            nreq += 1
        elif r["sip.Status-Code"] != "100":
            orig = rx.get(key(r))
            check(orig is not None, f"frame {r['frame.number']}: {r['sip.Status-Code']} sent "
                                    f"upstream without one received")
            check_eq(f"frame {r['frame.number']}: {r['sip.Status-Code']} Vias (received - 1)",
                     nvia(orig) - 1, nvia(r))
            nresp += 1
    check(nreq >= 3 * CALLS, f"forwarded requests seen: {nreq}, expected {3 * CALLS}")
    check(nresp >= 3 * CALLS, f"forwarded responses seen: {nresp}, expected {3 * CALLS}")
    step(f"{nreq} forwarded requests: one Via more, Max-Forwards one less, Record-Route on "
         f"INVITE; {nresp} forwarded responses: one Via less")


if __name__ == "__main__":
    svit.run(test)
