#!/usr/bin/env python3
"""
@file tls.py  proxy/tls: the node's TLS listener against Python's ssl module.

Certificates are made with the openssl tool (svit.Pki): a CA, and a server certificate for
127.0.0.1 (subjectAltName IP:127.0.0.1) signed by it. The node listens on UDP and TLS; its
default route leads to a SIPp UAS over UDP (sipp/uas_message.xml). A Python ssl client that
verifies the chain against the CA and the IP address against the certificate connects, sends
OPTIONS to the node (200 with Allow, over TLS), then a MESSAGE for bob@uas.test, which the
proxy forwards over UDP (the UAS checks our Via and Max-Forwards 69); its 200 comes back on the
same TLS connection, echoing the request (Via TLS with the client's branch, Call-ID, CSeq). The
SIPp UAS exits 0; the proxy stops with 0, ASan clean.
"""
import os
import random
import re
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pxit  # noqa: E402

def read_msg(s, what):
    """One SIP message from the stream: headers, then Content-Length octets of body."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            chunk = None
        check(chunk, f"{what}: {'timeout' if chunk is None else 'connection closed'} after "
                     f"{buf[:200]!r}")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"^(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", head, re.M | re.I)
    check(m, f"{what}: no Content-Length on a stream: {head[:300]!r}")
    n = int(m.group(1))
    while len(body) < n:
        chunk = s.recv(4096)
        check(chunk, f"{what}: connection closed in the body")
        body += chunk
    check_eq(f"{what}: octets after the message", b"", body[n:])
    return svit.Response(head + b"\r\n\r\n" + body[:n])


def request(method, ruri, cport, cseq):
    branch = "z9hG4bK-tls%016x" % random.getrandbits(64)
    callid = "%016x@tls.sipveil.test" % random.getrandbits(64)
    body = "hello over TLS" if method == "MESSAGE" else ""
    fields = {
        "Via": f"SIP/2.0/TLS 127.0.0.1:{cport};branch={branch}",
        "Max-Forwards": "70",
        "From": "<sip:alice@tls.sipveil.test>;tag=%08x" % random.getrandbits(32),
        "To": f"<{ruri}>",
        "Call-ID": callid,
        "CSeq": f"{cseq} {method}",
    }
    lines = [f"{method} {ruri} SIP/2.0"] + [f"{k}: {v}" for k, v in fields.items()]
    if body:
        lines.append("Content-Type: text/plain")
    lines.append(f"Content-Length: {len(body)}")
    return fields, ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def check_echo(fields, resp, what):
    for name in ("Via", "From", "Call-ID", "CSeq"):
        check_eq(f"{what}: {name}", [fields[name]], resp.all(name))
    to = resp.one("To")
    check(to.startswith(fields["To"]) and ";tag=" in to, f"{what}: To {to!r}")


def test(ctx):
    pki = svit.Pki(ctx.tool("openssl", None), ctx.tmp, "127.0.0.1", "IP:127.0.0.1",
                   ca_cn="sipveil proxy it CA")
    ca, srv, key = pki.ca, pki.srv, pki.srv_key
    step("CA and a server certificate for IP:127.0.0.1 made with the openssl tool")
    uas_port = svit.free_udp_port()
    px = pxit.Proxy(ctx, pxit.node_conf(
        [f'{{match: default, next_hop: "udp:127.0.0.1:{uas_port}"}}'],
        listeners=('{transport: udp, address: "127.0.0.1:0"}',
                   f'{{transport: tls, address: "127.0.0.1:0", tls: {{cert: "{srv}", '
                   f'key: "{key}"}}}}')), 2)
    tls_port = px.ports["tls"]
    step(f"proxy ready: udp {px.ports['udp']}, tls {tls_port}")
    uas, _ = pxit.sipp(ctx, "tls-uas", [
        "-sf", os.path.join(ctx.args.data, "sipp", "uas_message.xml"), "-i", svit.LOOPBACK,
        "-p", str(uas_port), "-t", "u1", "-m", "1", "-nostdin", "-trace_err"])

    tctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    check(tctx.check_hostname and tctx.verify_mode == ssl.CERT_REQUIRED, "verification off")
    raw = socket.create_connection((svit.LOOPBACK, tls_port), timeout=5)
    with tctx.wrap_socket(raw, server_hostname=svit.LOOPBACK) as s:
        cport = s.getsockname()[1]
        step(f"Python verified the proxy's chain and IP address over {s.version()}")
        fields, data = request("OPTIONS", f"sip:127.0.0.1:{tls_port};transport=tls", cport, 1)
        s.sendall(data)
        resp = read_msg(s, "OPTIONS over TLS")
        check_eq("OPTIONS over TLS: status", 200, resp.code)
        check_echo(fields, resp, "OPTIONS over TLS")
        check(any("MESSAGE" in a for a in resp.all("Allow")), f"200 without Allow: {resp.headers}")
        step("OPTIONS to the node over TLS -> 200 with Allow")

        fields, data = request("MESSAGE", "sip:bob@uas.test", cport, 2)
        s.sendall(data)
        resp = read_msg(s, "MESSAGE over TLS")
        check_eq("MESSAGE over TLS: status", 200, resp.code)
        check_echo(fields, resp, "MESSAGE over TLS")
        step("MESSAGE over TLS -> forwarded over UDP to the SIPp UAS -> its 200 came back on "
             "the same TLS connection")
    check_eq("UAS sipp exit status (0: MESSAGE with our Via and Max-Forwards 69 answered)", 0,
             uas.wait(10, "the UAS's MESSAGE"))
    px.stop()


if __name__ == "__main__":
    svit.run(test)
