#!/usr/bin/env python3
"""
@file listen.py  ua/listen: `sipveil ua listen --no-register --count 3` answers a SIPp
caller's MESSAGE (sipp/uac_message.xml) and call (sipp/uac_call.xml: INVITE, ACK, BYE), over
UDP and over TCP, and prints each request with its identity-bearing headers exactly as SIPp
sent them. SIPp's exit status judges the answers (180, then 200 with SDP, to INVITE; 200 to
MESSAGE and BYE); the UE must then exit 0 on its own, the count reached.
"""
import os

import pvit
import svit
import uait
from svit import check, check_eq, step

SIPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")


def caller(ctx, label, xml, port, transport):
    tcp = transport == "tcp"
    proc, work = pvit.sipp(ctx, label, [
        "-sf", os.path.join(SIPP_DIR, xml), "-i", uait.LOOP,
        "-p", str(uait.free_tcp_port() if tcp else svit.free_udp_port()),
        "-t", "t1" if tcp else "u1", "-m", "1", "-nostdin", "-timeout", "15s", "-trace_msg",
        "-trace_err", f"{uait.LOOP}:{port}"])
    check_eq(f"{label}: SIPp exit status (0: the UE answered as the scenario expects)", 0,
             proc.wait(20, "finish its scenario"))
    return pvit.trace(work)


def listen(ctx, transport):
    label = f"listen-{transport}"
    ready_file = ctx.path(label + ".ready")
    ue = uait.Ua(ctx, ["--user", "bob", "--no-register", "--transport", transport,
                       "--count", "3", "--timeout", "30", "--ready-file", ready_file, "listen"],
                 name=label)
    port = ue.ready()
    with open(ready_file) as f:
        check_eq(f"{label}: --ready-file content", f"127.0.0.1:{port}\n", f.read())
    step(f"{label}: ready on {port} (stdout and --ready-file)")
    msgs = caller(ctx, label + "-message", "uac_message.xml", port, transport)
    sent_msg = pvit.first(msgs, True, pvit.req("MESSAGE"), "the MESSAGE")
    msgs = caller(ctx, label + "-call", "uac_call.xml", port, transport)
    sent_inv = pvit.first(msgs, True, pvit.req("INVITE"), "the INVITE")
    ok = pvit.first(msgs, False, pvit.resp(200, "INVITE"), "the 200 to INVITE")
    check("m=audio " in ok.body, f"{label}: the 200 to INVITE has an SDP answer: {ok.body!r}")
    check(ok.one("contact") and "bob@127.0.0.1:" in ok.one("contact"),
          f"{label}: the 200 names the UE in Contact: {ok.one('contact')!r}")
    rc, out, err = ue.finish(15)
    check_eq(f"{label}: exit status after --count 3 (stderr {err.strip()!r})", 0, rc)
    raw = {m.method: m for m in (sent_msg, sent_inv)}
    uait.expect_lines(f"{label}: output", out, [
        f"< {raw['MESSAGE'].start}",
        f"  From: {raw['MESSAGE'].one('from')}",
        f"  To: {raw['MESSAGE'].one('to')}",
        "  P-Asserted-Identity: <sip:alice@ims.example>",
        "  Privacy: id",
        f"  Call-ID: {raw['MESSAGE'].callid}",
        "> SIP/2.0 200 OK",
        f"< {raw['INVITE'].start}",
        f"  From: {raw['INVITE'].one('from')}",
        "  P-Asserted-Identity: <sip:alice@ims.example>",
        f"  Contact: {raw['INVITE'].one('contact')}",
        f"  Call-ID: {raw['INVITE'].callid}",
        "> SIP/2.0 180 Ringing",
        "> SIP/2.0 200 OK",
        uait.re.compile(r"^< ACK sip:"),
        uait.re.compile(r"^< BYE sip:"),
        "> SIP/2.0 200 OK",
    ])
    check_eq(f"{label}: requests printed once each", 4, sum(1 for x in out if x.startswith("< ")
                                                            and not x.startswith("< SIP/")))
    step(f"{label}: MESSAGE and call answered, headers printed as received, exit 0")


def test(ctx):
    ctx.tool("sipp", ctx.args.sipp)
    listen(ctx, "udp")
    listen(ctx, "tcp")


if __name__ == "__main__":
    svit.run(test)
