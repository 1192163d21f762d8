#!/usr/bin/env python3
"""
@file connect_503.py  proxy/connect_503: a TCP next hop that refuses the connection (RFC 3261
§16.7 step 6 and §17.1.4: a transport error on a branch counts as 503; §18.4).

The default route leads to `tcp:127.0.0.1:<port>` where the test holds a TCP socket bound but
not listening, so every connect is refused (ECONNREFUSED) and the port cannot be taken by
anything else meanwhile. A Python client sends an INVITE and a MESSAGE over UDP: both get 503
Service Unavailable, each echoing its request (§8.2.6.2), well under a second after they were
sent, where timer B/F (64*T1 = 32 s) would have given 408. The 503 goes up before the 200 ms
after which the proxy would owe a 100 Trying (§17.2.1), so no 100 comes at all.
The 503 to the INVITE is ACKed. The proxy stops with 0, ASan clean.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pxit  # noqa: E402

WITHIN = 0.5  # seconds; timer B/F would take 32 s


def test(ctx):
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind((svit.LOOPBACK, 0))  # bound, never listening: connects are refused
    closed_port = closed.getsockname()[1]
    px = pxit.Proxy(ctx, pxit.node_conf(
        [f'{{match: default, next_hop: "tcp:127.0.0.1:{closed_port}"}}'], top=""), 1)
    port = px.ports["udp"]
    inv_cl, msg_cl = svit.Client(port), svit.Client(port)
    inv = inv_cl.request("INVITE", ruri="sip:bob@refused.test",
                         extra=[f"Contact: <sip:tester@127.0.0.1:{inv_cl.port}>"])
    msg = msg_cl.request("MESSAGE", ruri="sip:bob@refused.test")
    t0 = time.monotonic()
    inv_cl.send(inv.data)
    msg_cl.send(msg.data)
    got = {}
    for name, cl, req in (("INVITE", inv_cl, inv), ("MESSAGE", msg_cl, msg)):
        data = cl.recv(max(t0 + 5.0 - time.monotonic(), 0))
        check(data is not None, f"{name}: no final response within 5 s")
        elapsed = time.monotonic() - t0
        resp = svit.Response(data)
        check_eq(f"{name}: status", 503, resp.code)
        svit.check_echo(req, resp)
        check(elapsed < WITHIN, f"{name}: 503 only after {elapsed:.2f} s; the refused connect "
                                f"should fail the branch at once")
        got[name] = resp
        step(f"{name} -> 503 after {elapsed * 1000:.0f} ms")

    late = inv_cl.recv(0.5)
    check(late is None or svit.Response(late).code == 503,
          f"INVITE: nothing but the 503 (and its retransmission): got {late!r:.60}")
    step("no 100 Trying after the 503")
    to = got["INVITE"].one("To")
    ack = inv_cl.request("ACK", ruri="sip:bob@refused.test", headers={
        "Via": inv.fields["Via"], "From": inv.fields["From"], "To": to, "Call-ID": inv.callid,
        "CSeq": inv.fields["CSeq"].split()[0] + " ACK"})
    inv_cl.send(ack.data)
    step("503 to the INVITE ACKed")
    px.stop()
    closed.close()


if __name__ == "__main__":
    svit.run(test)
