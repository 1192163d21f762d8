#!/usr/bin/env python3
"""
@file calls.py  proxy/calls: `sipveil run --config` as a stateful proxy between a SIPp UAC and
a SIPp UAS.

Each case writes a config with one node `p` on UDP and TCP 127.0.0.1 ports the kernel picks,
whose route `domain uas.test` leads to the SIPp UAS on its own free port, waits for the ready
lines, and runs 20 calls INVITE/180/200/ACK/BYE/200 (sipp/uac.xml, sipp/uas.xml; the UAS
checks the proxy's Record-Route, Via and Max-Forwards 69). Cases: UDP in and out; TCP in and
out; UDP in, TCP out (the route's next hop is tcp:); UDP with `-lost 10` on the UAC, where the
UAS must see exactly 20 INVITEs (retransmissions absorbed by the proxy). Then, with a Python
client: Max-Forwards 0 -> 483, Proxy-Require: foo -> 420 with Unsupported, a node routed to
itself -> 482. Both SIPp exit 0 and the proxy stops with 0 on SIGTERM, ASan clean.
"""
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402

CALLS = 20
READY = r"^ready (udp|tcp|tls) 127\.0\.0\.1:(\d+) node (\S+)$"


def free_tcp_port():
    return svit.free_tcp_port()


class Proxy(svit.ConfigRun):
    """sipveil run --config with the text @p conf; waits for @p nready ready lines."""

    def __init__(self, ctx, conf, nready):
        svit.ConfigRun.__init__(self, ctx, conf, "proxy")
        self.ports = {}
        for _ in range(nready):
            m = self.out.wait_for(READY, 15, "the proxy's ready lines")
            self.ports[m.group(1)] = int(m.group(2))

    def stop(self):
        rc = self.proc.stop(signal.SIGTERM)
        self._err.flush()
        with open(self.err_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        svit.check_no_sanitizer_report(log, "sipveil run --config")
        check_eq("proxy exit status after SIGTERM", 0, rc)
        return log


def config(next_hop, extra=""):
    return f"""workers: 1
log:
  level: info
timers:
  t1: 100ms
{extra}nodes:
  - name: p
    role: proxy
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
      - {{transport: tcp, address: "127.0.0.1:0"}}
    routes:
      - {{match: domain, value: uas.test, next_hop: "{next_hop}"}}
"""


def sipp(ctx, name, args, timeout=60):
    work = ctx.path(ctx.unique(name))
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "sipp.out")
    svit.add_log(f"sipp {name}", out)
    f = open(out, "wb")
    return svit.Proc(f"sipp {name}", [ctx.tool("sipp", ctx.args.sipp)] + args, cwd=work,
                     stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), work


def call_run(ctx, label, in_tp, out_tp, lost=0):
    uas_port = svit.free_udp_port() if out_tp == "u" else free_tcp_port()
    hop = f"{'udp' if out_tp == 'u' else 'tcp'}:127.0.0.1:{uas_port}"
    px = Proxy(ctx, config(hop), 2)
    sc = os.path.join(ctx.args.data, "sipp")
    uas, uas_work = sipp(ctx, label + "-uas", [
        "-sf", os.path.join(sc, "uas.xml"), "-i", svit.LOOPBACK, "-p", str(uas_port),
        "-t", out_tp + "1", "-m", str(CALLS), "-nostdin", "-trace_msg",
        "-trace_stat", "-stf", "stats.csv"])
    proxy_port = px.ports["udp" if in_tp == "u" else "tcp"]
    uac_args = ["-sf", os.path.join(sc, "uac.xml"), "-i", svit.LOOPBACK, "-p", "0",
                "-t", in_tp + "1", "-m", str(CALLS), "-r", "10", "-s", "bob", "-nostdin",
                "-timeout", "50s", f"{svit.LOOPBACK}:{proxy_port}"]
    if lost:
        uac_args[0:0] = ["-lost", str(lost)]
    uac, uac_work = sipp(ctx, label + "-uac", uac_args)
    rc = uac.wait(55, "the UAC's calls")
    check_eq(f"{label}: UAC sipp exit status (0: all {CALLS} calls successful)", 0, rc)
    rc = uas.wait(60, "the UAS's calls")
    check_eq(f"{label}: UAS sipp exit status (0: all checks passed)", 0, rc)
    log = px.stop()
    invites = 0
    for fn in os.listdir(uas_work):
        if fn.endswith("_messages.log"):
            with open(os.path.join(uas_work, fn), errors="replace") as f:
                invites = len(re.findall(r"^INVITE sip:", f.read(), re.M))
    return invites, log


def test_calls(ctx):
    for label, i, o in (("udp", "u", "u"), ("tcp", "t", "t"), ("udp-to-tcp", "u", "t")):
        invites, _ = call_run(ctx, label, i, o)
        check_eq(f"{label}: INVITEs seen by the UAS", CALLS, invites)
        step(f"{label}: {CALLS} calls INVITE/180/200/ACK/BYE/200 through the proxy; the UAS "
             f"saw Record-Route, our Via and Max-Forwards 69")
    invites, _ = call_run(ctx, "udp-lost", "u", "u", lost=10)
    check_eq("UAC -lost 10: INVITEs at the UAS (absorbed retransmissions not forwarded)", CALLS,
             invites)
    step(f"UAC -lost 10: all {CALLS} calls complete, the UAS saw exactly {CALLS} INVITEs")


def test_refusals(ctx):
    # a node whose route leads to itself: its port is only known once bound, so bind first
    port = svit.free_udp_port()
    conf = f"""log:
  level: info
nodes:
  - name: p
    role: proxy
    listeners:
      - {{transport: udp, address: "127.0.0.1:{port}"}}
    routes:
      - {{match: domain, value: loop.test, next_hop: "udp:127.0.0.1:{port}"}}
"""
    px = Proxy(ctx, conf, 1)
    cl = svit.Client(port)
    svit.expect_status(cl, cl.request("MESSAGE", ruri="sip:x@loop.test",
                                      headers={"Max-Forwards": "0"}), 483, "Max-Forwards 0")
    step("Max-Forwards 0 -> 483")
    resp = svit.expect_status(cl, cl.request("MESSAGE", ruri="sip:x@loop.test",
                                             extra=["Proxy-Require: foo"]), 420,
                              "Proxy-Require: foo")
    check_eq("420: Unsupported", ["foo"], resp.all("Unsupported"))
    step("Proxy-Require: foo -> 420 with Unsupported: foo")
    svit.expect_status(cl, cl.request("MESSAGE", ruri="sip:x@loop.test"), 482,
                       "a MESSAGE routed to the proxy itself")
    step("a route to itself -> 482 Loop Detected")
    px.stop()


def test(ctx):
    test_calls(ctx)
    test_refusals(ctx)


if __name__ == "__main__":
    svit.run(test)
