#!/usr/bin/env python3
"""
@file register.py  ua/register: `sipveil ua register` against SIPp as the registrar.

SIPp (sipp/uas_register.xml) challenges the first REGISTER with a fixed realm and nonce, then
accepts the second with a Service-Route and a P-Associated-URI. The proof is what SIPp
received (its -trace_msg log): the first REGISTER carries the IMS UE's empty Authorization,
the second the Digest answer, whose response is recomputed here with hashlib. Cases: MD5 with
qop=auth over UDP, SHA-256 without qop over UDP, MD5 over TCP. Then, against Python
registrars: 423 and Min-Expires, refreshes while listening, de-registration at the end; the
exit statuses: 1 and the status line for a 403, 69 for a registrar that never answers, 64 for
usage errors.
"""
import os
import socket
import threading

import pvit
import svit
import uait
from svit import check, check_eq, step

REALM = "ims.example"
NONCE = "4e6f6e63652d75612d74657374"


def register_case(ctx, label, algo, qop, transport):
    tcp = transport == "tcp"
    port = uait.free_tcp_port() if tcp else svit.free_udp_port()
    xml = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp", "uas_register.xml")
    sipp, work = pvit.sipp(ctx, label, [
        "-sf", xml, "-i", uait.LOOP, "-p", str(port), "-t", "t1" if tcp else "u1", "-m", "1",
        "-nostdin", "-timeout", "20s", "-trace_msg", "-trace_err",
        "-key", "algo", algo, "-key", "qop", ', qop="auth"' if qop else ""])
    uait.wait_listed(port, tcp, proc=sipp)
    rc, out, err = uait.run_ua(ctx, ["--user", "alice", "--password", "alice-pw", "--pcscf",
                                     f"127.0.0.1:{port}", "--transport", transport, "register"],
                               name=label)
    check_eq(f"{label}: exit status of sipveil ua register (stderr: {err.strip()!r})", 0, rc)
    check_eq(f"{label}: SIPp exit status (0: its scenario completed)", 0,
             sipp.wait(10, "finish its scenario"))

    msgs = pvit.trace(work)
    regs = [m for m in msgs if not m.sent and m.req and m.method == "REGISTER"]
    regs = list({m.cseq: m for m in regs}.values())  # retransmissions are repeats
    check_eq(f"{label}: REGISTERs SIPp received", 2, len(regs))
    first, second = regs
    check_eq(f"{label}: Request-URI", "REGISTER sip:ims.example SIP/2.0", first.start)
    check_eq(f"{label}: the first REGISTER's Authorization (TS 24.229 5.1.1.2)",
             'Digest username="alice@ims.example", realm="ims.example", nonce="", '
             'uri="sip:ims.example", response=""', first.one("authorization"))
    check_eq(f"{label}: same Call-ID", first.callid, second.callid)
    check(int(second.cseq.split()[0]) == int(first.cseq.split()[0]) + 1,
          f"{label}: CSeq must grow by one: {first.cseq!r} then {second.cseq!r}")
    check(first.one("contact") and "alice@127.0.0.1:" in first.one("contact"),
          f"{label}: Contact {first.one('contact')!r}")
    if tcp:
        check(first.one("contact").endswith(";transport=tcp>"),
              f"{label}: Contact over TCP names the transport: {first.one('contact')!r}")
    check_eq(f"{label}: Expires", "600", first.one("expires"))

    p = uait.auth_params(second.one("authorization"))
    for k, v in (("username", "alice@ims.example"), ("realm", REALM), ("nonce", NONCE),
                 ("uri", "sip:ims.example"), ("algorithm", algo)):
        check_eq(f"{label}: Authorization {k}", v, p.get(k))
    if qop:
        check_eq(f"{label}: qop", "auth", p.get("qop"))
        check_eq(f"{label}: nc", "00000001", p.get("nc"))
        check(p.get("cnonce"), f"{label}: cnonce missing")
    else:
        check("qop" not in p and "nc" not in p and "cnonce" not in p,
              f"{label}: no qop offered, none answered: {p}")
    want = uait.digest_response(p, "alice-pw", "REGISTER", algo)
    check_eq(f"{label}: Digest response (recomputed with hashlib)", want, p.get("response"))

    uait.expect_lines(f"{label}: output", out, [
        "> REGISTER sip:ims.example",
        "< SIP/2.0 401 Unauthorized",
        "> REGISTER sip:ims.example",
        "< SIP/2.0 200 OK",
        "  P-Associated-URI: <sip:alice@ims.example>, <tel:+15551001>",
        "  Service-Route: <sip:orig@127.0.0.1:6060;lr>",
        uait.re.compile(r"^  Call-ID: \S+$"),
        uait.re.compile(r"^ready 127\.0\.0\.1:\d+$"),
    ])
    sent = [x for x in out if x.startswith("> ")]
    check_eq(f"{label}: what the UE says it sent", ["> REGISTER sip:ims.example"] * 2, sent)
    step(f"{label}: {algo} {'qop=auth' if qop else 'without qop'} over {transport.upper()}: "
         f"response recomputed, output as expected")


def udp_peer(answer):
    """A Python registrar that answers every request with @p answer (None: never)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((uait.LOOP, 0))
    s.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            if answer is None:
                continue
            lines = uait.hdr_lines(data)
            keep = [x for x in lines[1:] if x.split(":")[0].lower() in
                    ("via", "from", "to", "call-id", "cseq")]
            keep = [x + ";tag=r1" if x.lower().startswith("to:") else x for x in keep]
            s.sendto(("\r\n".join([f"SIP/2.0 {answer}"] + keep + ["Content-Length: 0", "", ""]))
                     .encode(), addr)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return s.getsockname()[1], stop


def refresh_and_423(ctx):
    """RFC 3261 §10.2.8: a 423 makes the UE ask again for Min-Expires; §10.2.4: a listening
    UE refreshes its registration before it lapses (half way), with the same Call-ID and a
    growing CSeq, and removes it when it stops (Expires: 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((uait.LOOP, 0))
    s.settimeout(0.2)
    got = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            lines = uait.hdr_lines(data)
            if any(uait.hdr(lines, "cseq")[0] == uait.hdr(g, "cseq")[0] for g in got):
                continue  # a retransmission
            got.append(lines)
            keep = [x for x in lines[1:] if x.split(":")[0].lower() in
                    ("via", "from", "to", "call-id", "cseq")]
            keep = [x + ";tag=r1" if x.lower().startswith("to:") else x for x in keep]
            status = ["SIP/2.0 423 Interval Too Brief", "Min-Expires: 2"] if len(got) == 1 \
                else ["SIP/2.0 200 OK"]
            s.sendto(("\r\n".join(status[:1] + keep + status[1:] + ["Content-Length: 0", "", ""]))
                     .encode(), addr)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        rc, out, err = uait.run_ua(ctx, ["--user", "alice", "--pcscf",
                                         f"127.0.0.1:{s.getsockname()[1]}", "--expires", "1",
                                         "--timeout", "3.6", "listen"], name="refresh")
    finally:
        stop.set()
        t.join(2)
        s.close()
    check_eq(f"listen until the timeout, without --count: exit 0 (stderr {err.strip()!r})", 0, rc)
    exp = [uait.hdr(g, "expires")[0] for g in got]
    check(len(exp) >= 4 and exp[0] == "1" and exp[-1] == "0" and
          all(e == "2" for e in exp[1:-1]),
          f"Expires of the REGISTERs: 1 (423), then Min-Expires 2, refreshed, then 0: {exp}")
    check_eq("one Call-ID for every REGISTER", 1, len({uait.hdr(g, "call-id")[0] for g in got}))
    cseqs = [int(uait.hdr(g, "cseq")[0].split()[0]) for g in got]
    check(cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs), f"CSeq grows: {cseqs}")
    step(f"423 then Min-Expires, {len(exp) - 3} refresh(es), de-registration: Expires {exp}")


def exit_statuses(ctx):
    port, stop = udp_peer("403 Forbidden")
    rc, out, err = uait.run_ua(ctx, ["--user", "alice", "--password", "x", "--pcscf",
                                     f"127.0.0.1:{port}", "register"], name="forbidden")
    stop.set()
    check_eq("exit status for a 403 (1: failure response)", 1, rc)
    uait.expect_lines("403 output", out, ["> REGISTER sip:ims.example",
                                          "< SIP/2.0 403 Forbidden"])
    check(not any(x.startswith("ready") for x in out), "no ready line after a 403")
    step("403: exit 1, the status line printed")

    port, stop = udp_peer(None)
    rc, out, err = uait.run_ua(ctx, ["--user", "alice", "--password", "x", "--pcscf",
                                     f"127.0.0.1:{port}", "--timeout", "1.5", "register"],
                               name="silent")
    stop.set()
    check_eq("exit status when nothing answers (69)", 69, rc)
    check("timeout" in err or "no response" in err, f"stderr says why: {err!r}")
    step("silent registrar: exit 69")

    rc, out, err = uait.run_ua(ctx, ["--password", "x", "register"], name="usage")
    check_eq("exit status without an identity (64)", 64, rc)
    rc, out, err = uait.run_ua(ctx, ["--user", "a", "--privacy", "none,id", "register"],
                               name="usage")
    check_eq("exit status for --privacy none,id (64, R3)", 64, rc)
    step("usage errors: exit 64")


def test(ctx):
    ctx.tool("sipp", ctx.args.sipp)
    register_case(ctx, "udp-md5", "MD5", True, "udp")
    register_case(ctx, "udp-sha256", "SHA-256", False, "udp")
    register_case(ctx, "tcp-md5", "MD5", True, "tcp")
    refresh_and_423(ctx)
    exit_statuses(ctx)


if __name__ == "__main__":
    svit.run(test)
