#!/usr/bin/env python3
"""
@file pres_source.py  The PS's presence sources (R91; seed FFS 1-2): a presence network agent
publishes alice's presence directly to the PS over mutually authenticated TLS, and nothing
else gets in that way. The lab's PS gets a TLS listener that requires a client certificate
(svit.Pki, the openssl tool) and one source, `CN=weather.test`, for alice only, at 2 PUBLISHes
a second.

- weather.test's PUBLISH for alice over TLS: 200 with a SIP-ETag; alice, watching herself
  through the P-CSCF, gets a NOTIFY whose PIDF holds the agent's tuple (its publication is
  composed with hers).
- the same source for bob: 403, and bob's watchers hear nothing.
- another certificate of the same CA (CN=intruder.test): 403; a client without a certificate
  never completes the handshake.
- a PUBLISH for alice over UDP from an untrusted port, with alice's P-Asserted-Identity: 403
  (nobody vouches for it); a SUBSCRIBE that way: 403.
- the agent past its rate (a burst of twice the rate): 503 with Retry-After.
"""
import re
import socket
import ssl
import time

import imsit
import svit
from svit import check, check_eq, step

from presence_tc import Ue, code

ALICE = "sip:alice@ims.example"
BOB = "sip:bob@ims.example"


def with_source(pki, port):
    """The lab's PS with a mutual-TLS listener on @p port and the weather agent as a source."""
    def edit(text):
        m = re.search(r'(?m)^(    role: ps\n(?:    .*\n|      .*\n)*?    listeners:\n)', text)
        check(m is not None, "the lab config's PS listeners")
        tls = (f'      - {{transport: tls, address: "127.0.0.1:{port}", face: core,\n'
               f'         tls: {{cert: "{pki.srv}", key: "{pki.srv_key}", ca: "{pki.ca}",\n'
               f'               require_client_cert: true}}}}\n')
        text = text[:m.end()] + tls + text[m.end():]
        src = ("    presence_sources:\n"
               "      - {name: weather, subject: \"CN=weather.test\",\n"
               "         presentities: \"sip:alice@ims.example\", rate: 2}\n")
        m = re.search(r'(?m)^(    role: ps\n(?:    .*\n|      .*\n)*?    ims: .*\n)', text)
        check(m is not None, "the lab config's PS ims line")
        return text[:m.end()] + src + text[m.end():]
    return edit


class TlsPeer:
    """A presence source: one TLS connection to the PS with a client certificate."""

    def __init__(self, pki, port, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=pki.ca)
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s = ctx.wrap_socket(raw)
        self.port = self.s.getsockname()[1]
        self.n = 0
        self.buf = b""

    def publish(self, ruri, body, pai=None):
        self.n += 1
        extra = f"P-Asserted-Identity: <{pai}>\r\n" if pai else ""
        msg = (f"PUBLISH {ruri} SIP/2.0\r\n"
               f"Via: SIP/2.0/TLS 127.0.0.1:{self.port};branch=z9hG4bKsrc{self.n}\r\n"
               f"From: <sip:weather.test>;tag=w{self.n}\r\nTo: <{ruri}>\r\n"
               f"Call-ID: src-{self.n}@weather.test\r\nCSeq: {self.n} PUBLISH\r\n"
               f"Max-Forwards: 70\r\nEvent: presence\r\nExpires: 600\r\n{extra}"
               f"Content-Type: application/pidf+xml\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        self.s.sendall(msg.encode())
        return self._final(f"{self.n} PUBLISH")

    def _final(self, cseq):
        end = time.time() + 8
        while time.time() < end:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                n = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
                if len(rest) >= n:
                    self.buf = rest[n:]
                    t = (head + sep + rest[:n]).decode(errors="replace")
                    if int(t.split()[1]) >= 200 and f"CSeq: {cseq}" in t:
                        return t
                    continue
            try:
                got = self.s.recv(65535)
            except socket.timeout:
                continue
            check(got, "the PS closed the TLS connection")
            self.buf += got
        svit.fail(f"no final response to {cseq} over TLS")

    def close(self):
        self.s.close()


def pidf(entity, tuple_id, note):
    return (f'<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
            f'entity="{entity}"><tuple id="{tuple_id}"><status><basic>open</basic></status>'
            f'<note>{note}</note></tuple></presence>')


def test(ctx):
    pki = svit.Pki(ctx.tool("openssl", None), ctx.tmp, "ps.test", "IP:127.0.0.1",
                   client_cn="weather.test")
    intruder, intruder_key = pki._leaf("intruder", "intruder.test", "cli_ext", 9)
    port = imsit.free_port_pair()
    lab = imsit.Lab(ctx, edit=with_source(pki, port))  # waits for every listener's ready line

    alice = Ue(lab, "alice")
    alice.register()
    t = alice.request("PUBLISH", ALICE, "Event: presence\r\nContent-Type: application/pidf+xml\r\n",
                      pidf(ALICE, "a1", "at home"))
    check_eq("alice's own PUBLISH", 200, code(t))
    t = alice.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 600\r\n", cid="alice-self")
    check_eq("alice watching herself", 200, code(t))
    alice.wait_notify(1)

    agent = TlsPeer(pki, port, pki.cli, pki.cli_key)
    t = agent.publish(ALICE, pidf(ALICE, "wx", "sunny"))
    check_eq("R91: the weather agent's PUBLISH for alice over mutual TLS", 200, code(t))
    check(re.search(r"(?im)^sip-etag: *\S+", t), f"the agent's 200 has no SIP-ETag: {t}")
    n = alice.wait_notify(2)
    check("<note>sunny</note>" in n and "<note>at home</note>" in n,
          f"alice's NOTIFY composes her publication and the agent's: {n}")
    step("R91: weather.test (client certificate) published for alice over TLS: 200; alice's "
         "NOTIFY composes both publications")

    t = agent.publish(BOB, pidf(BOB, "wx", "rain"))
    check_eq("R91: the agent's PUBLISH for bob (not listed)", 403, code(t))
    agent.close()
    bad = TlsPeer(pki, port, intruder, intruder_key)
    t = bad.publish(ALICE, pidf(ALICE, "wx", "storm"))
    check_eq("R91: a certificate of the same CA that no source names", 403, code(t))
    bad.close()
    try:
        anon = TlsPeer(pki, port)
        anon.s.sendall(b"\r\n\r\n")
        got = anon.s.recv(100)
        check(not got, f"a client without a certificate got an answer: {got!r}")
    except (ssl.SSLError, ConnectionError, OSError):
        pass
    step("R91: the agent for bob 403; another certificate 403; no certificate, no connection")

    # without TLS, from an untrusted port, claiming alice's identity
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    me = s.getsockname()[1]
    for method, extra, body in (("PUBLISH", "Content-Type: application/pidf+xml\r\n",
                                 pidf(ALICE, "fake", "fake")),
                                ("SUBSCRIBE", "Contact: <sip:x@127.0.0.1>\r\n", "")):
        s.sendto((f"{method} {ALICE} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch="
                  f"z9hG4bKu{method}\r\nFrom: <{ALICE}>;tag=u\r\nTo: <{ALICE}>\r\n"
                  f"Call-ID: untrusted-{method}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
                  f"P-Asserted-Identity: <{ALICE}>\r\nEvent: presence\r\n{extra}"
                  f"Content-Length: {len(body)}\r\n\r\n{body}").encode(),
                 ("127.0.0.1", lab.port[5065]))
        while True:
            t = s.recvfrom(65535)[0].decode(errors="replace")
            if int(t.split()[1]) >= 200:
                break
        check_eq(f"a {method} from an untrusted port with alice's PAI", 403, code(t))
    check(all("<note>fake</note>" not in m for m in alice.notifies),
          "the untrusted PUBLISH reached alice's state")
    step("R87, R91: PUBLISH and SUBSCRIBE straight to the PS from an untrusted port, with "
         "alice's PAI: 403, her state unchanged")

    agent = TlsPeer(pki, port, pki.cli, pki.cli_key)
    codes = []
    for i in range(8):
        t = agent.publish(ALICE, pidf(ALICE, f"r{i}", f"burst {i}"))
        codes.append(code(t))
        if code(t) == 503:
            check(re.search(r"(?im)^retry-after: *\d+", t), f"503 without Retry-After: {t}")
    agent.close()
    check(codes[:3] == [200, 200, 200] and 503 in codes, f"the agent's burst: {codes}")
    step(f"R91: the agent at rate 2/s, 8 PUBLISHes at once: {codes} (503 with Retry-After)")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
