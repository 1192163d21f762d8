#!/usr/bin/env python3
"""
@file message_call.py  ua/message_call: `sipveil ua message` and `sipveil ua call` with
--no-register against SIPp callees (sipp/uas_message.xml, sipp/uas_call.xml), over UDP and
TCP. SIPp judges the dialog (its scenario fails on anything unexpected); the test checks what
SIPp received (the MESSAGE's body and type, an ACK and a BYE inside the dialog: the 2xx's
To tag, its Contact as Request-URI, its Record-Route as Route) and what the UE printed (the
callee's P-Asserted-Identity, exactly as sent).
"""
import os

import pvit
import svit
import uait
from svit import check, check_eq, step

SIPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")


def callee(ctx, label, xml, transport):
    tcp = transport == "tcp"
    port = uait.free_tcp_port() if tcp else svit.free_udp_port()
    proc, work = pvit.sipp(ctx, label, [
        "-sf", os.path.join(SIPP_DIR, xml), "-i", uait.LOOP, "-p", str(port),
        "-t", "t1" if tcp else "u1", "-m", "1", "-nostdin", "-timeout", "20s", "-trace_msg",
        "-trace_err"])
    uait.wait_listed(port, tcp, proc=proc)
    return proc, work, port


def ua_args(port, transport):
    return ["--user", "alice", "--no-register", "--pcscf", f"127.0.0.1:{port}",
            "--transport", transport]


def message(ctx, transport):
    label = f"message-{transport}"
    proc, work, port = callee(ctx, label, "uas_message.xml", transport)
    rc, out, err = uait.run_ua(ctx, ua_args(port, transport) +
                               ["message", "sip:bob@ims.example", "hello from alice"], name=label)
    check_eq(f"{label}: exit status (stderr {err.strip()!r})", 0, rc)
    check_eq(f"{label}: SIPp exit status", 0, proc.wait(10, "finish its scenario"))
    m = pvit.first(pvit.trace(work), False, pvit.req("MESSAGE"), f"{label}: the MESSAGE")
    check_eq(f"{label}: Request-URI", "MESSAGE sip:bob@ims.example SIP/2.0", m.start)
    check_eq(f"{label}: body", "hello from alice", m.body.strip())
    check_eq(f"{label}: Content-Type", "text/plain", m.one("content-type"))
    check(m.one("from").startswith("<sip:alice@ims.example>;tag="), f"{label}: From {m.one('from')}")
    check(m.one("route") is None, f"{label}: no registration, no Service-Route, no Route")
    uait.expect_lines(f"{label}: output", out, [
        uait.re.compile(r"^ready 127\.0\.0\.1:\d+$"),
        "> MESSAGE sip:bob@ims.example",
        "< SIP/2.0 200 OK",
        "  P-Asserted-Identity: <sip:bob@ims.example>",
    ])
    step(f"{label}: delivered, 200 and the callee's PAI printed")


def call(ctx, transport):
    label = f"call-{transport}"
    proc, work, port = callee(ctx, label, "uas_call.xml", transport)
    rc, out, err = uait.run_ua(ctx, ua_args(port, transport) +
                               ["call", "sip:bob@ims.example", "--hold", "0.2"], name=label)
    check_eq(f"{label}: exit status (stderr {err.strip()!r})", 0, rc)
    check_eq(f"{label}: SIPp exit status", 0, proc.wait(10, "finish its scenario"))
    msgs = pvit.trace(work)
    inv = pvit.first(msgs, False, pvit.req("INVITE"), f"{label}: the INVITE")
    ok = pvit.first(msgs, True, pvit.resp(200, "INVITE"), f"{label}: the 200 to INVITE")
    ack = pvit.first(msgs, False, pvit.req("ACK"), f"{label}: the ACK")
    bye = pvit.first(msgs, False, pvit.req("BYE"), f"{label}: the BYE")
    check_eq(f"{label}: INVITE Content-Type", "application/sdp", inv.one("content-type"))
    check("m=audio " in inv.body and "o=- " in inv.body, f"{label}: SDP offer {inv.body!r}")
    check(inv.one("contact") and "alice@127.0.0.1:" in inv.one("contact"),
          f"{label}: INVITE Contact {inv.one('contact')!r}")
    target = ok.one("contact").strip("<>").split(">")[0]
    for m in (ack, bye):
        check_eq(f"{label}: {m.method} Request-URI (the 2xx's Contact)",
                 f"{m.method} {target} SIP/2.0", m.start)
        check_eq(f"{label}: {m.method} To (with the 2xx's tag)", ok.one("to"), m.one("to"))
        check_eq(f"{label}: {m.method} Route (the 2xx's Record-Route)",
                 ok.one("record-route"), m.one("route"))
        check_eq(f"{label}: {m.method} Call-ID", inv.callid, m.callid)
    check_eq(f"{label}: ACK CSeq", inv.cseq.split()[0] + " ACK", ack.cseq)
    check_eq(f"{label}: BYE CSeq", str(int(inv.cseq.split()[0]) + 1) + " BYE", bye.cseq)
    uait.expect_lines(f"{label}: output", out, [
        "> INVITE sip:bob@ims.example",
        "< SIP/2.0 180 Ringing",
        "< SIP/2.0 200 OK",
        "  P-Asserted-Identity: <sip:bob@ims.example>",
        f"> ACK {target}",
        f"> BYE {target}",
        "< SIP/2.0 200 OK",
    ])
    check_eq(f"{label}: 200 to INVITE printed once (retransmissions are not)", 2,
             sum(1 for x in out if x == "< SIP/2.0 200 OK"))
    step(f"{label}: INVITE/180/200/ACK/BYE/200 in the dialog")


def test(ctx):
    ctx.tool("sipp", ctx.args.sipp)
    for tp in ("udp", "tcp"):
        message(ctx, tp)
        call(ctx, tp)


if __name__ == "__main__":
    svit.run(test)
