#!/usr/bin/env python3
"""
@file timeout_408.py  proxy/timeout_408: a next hop that never answers (RFC 3261 §16.7,
§17.1.1.2 timer B, §17.1.2.2 timer F).

The config sets `timers: {t1: 50ms}`; the default route leads to a UDP socket the test binds
and never answers from. A Python client sends an INVITE and a MESSAGE at once: the INVITE gets
100 Trying, then both get 408 between 64*T1 = 3.2 s (minus a little) and 3.2 s + 1.5 s after
they were sent, each echoing its request (§8.2.6.2). The silent socket must have seen the
proxy's retransmissions of both (timers A and E), and the 408 to the INVITE is ACKed. The proxy
stops with 0, ASan clean.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pxit  # noqa: E402

T1 = 0.050
TIMEOUT = 64 * T1
SLACK = 1.5


def test(ctx):
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind((svit.LOOPBACK, 0))
    hole_port = hole.getsockname()[1]
    px = pxit.Proxy(ctx, pxit.node_conf(
        [f'{{match: default, next_hop: "udp:127.0.0.1:{hole_port}"}}'],
        top="timers:\n  t1: 50ms\n"), 1)
    port = px.ports["udp"]
    inv_cl, msg_cl = svit.Client(port), svit.Client(port)
    inv = inv_cl.request("INVITE", ruri="sip:bob@silent.test",
                         extra=[f"Contact: <sip:tester@127.0.0.1:{inv_cl.port}>"])
    msg = msg_cl.request("MESSAGE", ruri="sip:bob@silent.test")
    t0 = time.monotonic()
    inv_cl.send(inv.data)
    msg_cl.send(msg.data)
    trying = svit.Response(inv_cl.recv(1.0) or svit.fail("INVITE: no 100 Trying within 1 s"))
    check_eq("INVITE: first response", 100, trying.code)
    step("INVITE -> 100 Trying")

    got = {}
    for name, cl, req in (("INVITE", inv_cl, inv), ("MESSAGE", msg_cl, msg)):
        left = t0 + TIMEOUT + SLACK - time.monotonic()
        data = cl.recv(max(left, 0))
        check(data is not None, f"{name}: no final response within {TIMEOUT + SLACK:.1f} s")
        elapsed = time.monotonic() - t0
        resp = svit.Response(data)
        check_eq(f"{name}: status", 408, resp.code)
        svit.check_echo(req, resp)
        check(elapsed >= TIMEOUT - 0.2, f"{name}: 408 after {elapsed:.2f} s, before 64*T1")
        got[name] = (resp, elapsed)
        step(f"{name} -> 408 after {elapsed:.2f} s (64*T1 = {TIMEOUT:.1f} s)")

    # the INVITE's 408 is ACKed (same branch, To with the 408's tag), so it is not resent
    to = got["INVITE"][0].one("To")
    ack = inv_cl.request("ACK", ruri="sip:bob@silent.test", headers={
        "Via": inv.fields["Via"], "From": inv.fields["From"], "To": to, "Call-ID": inv.callid,
        "CSeq": inv.fields["CSeq"].split()[0] + " ACK"})
    inv_cl.send(ack.data)
    # a retransmission already on its way when the ACK left is fine; then silence (timer G
    # stops): 0.4 s without one, where T1 = 50 ms would bring several
    deadline = time.monotonic() + 2.0
    while True:
        d = inv_cl.recv(0.4)
        if d is None:
            break
        check_eq("after the ACK: a late retransmission", 408, svit.Response(d).code)
        check(time.monotonic() < deadline, "the 408 is still retransmitted 2 s after the ACK")
    step("ACK of the 408 absorbed; no retransmission followed")

    counts = {}
    hole.setblocking(False)
    while True:
        try:
            d = hole.recv(65535)
        except BlockingIOError:
            break
        method = d.split(b" ", 1)[0].decode(errors="replace")
        counts[method] = counts.get(method, 0) + 1
    for name in ("INVITE", "MESSAGE"):
        check(counts.get(name, 0) >= 3,
              f"the silent next hop saw {counts.get(name, 0)} {name}s; expected the first one "
              f"and the retransmissions of timer A/E (T1 = 50 ms)")
    step(f"the silent next hop saw {counts.get('INVITE')} INVITEs and {counts.get('MESSAGE')} "
         f"MESSAGEs (retransmissions)")
    px.stop()
    hole.close()


if __name__ == "__main__":
    svit.run(test)
