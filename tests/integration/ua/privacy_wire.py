#!/usr/bin/env python3
"""
@file privacy_wire.py  ua/privacy_wire: what `sipveil ua --privacy ... --ppi ...` puts on the
wire, as a plain Python UDP peer received it, byte for byte (RFC 3323 §4.1, RFC 3325 §6):
  R10  From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=<fresh>, no display name
  R11  no User-Agent, Subject, Organization, Call-Info, Reply-To, In-Reply-To
  R12  a random Call-ID without host
  R13  P-Preferred-Identity: <URI> as given, never P-Asserted-Identity
  R14  Privacy: id;critical (critical last, whatever the order typed)
  R15  Proxy-Require: privacy with critical
  R17  the same Privacy in the ACK and the BYE of a private call
  R81  the IMPU appears nowhere but in P-Preferred-Identity; Contact has no user part, the SDP
       o= line no user name
  R3   Privacy: none leaves the identity alone
"""
import re
import socket
import threading

import svit
import uait
from svit import check, check_eq, step

ANON_FROM = re.compile(r'^"Anonymous" <sip:anonymous@anonymous\.invalid>;tag=[A-Za-z0-9]+$')
R11 = ("user-agent", "subject", "organization", "call-info", "reply-to", "in-reply-to")


class Peer:
    """A UDP callee: 200 to MESSAGE and BYE; 200 with an SDP answer to INVITE. It keeps every
    request it received (retransmissions dropped), as raw text."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((uait.LOOP, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self._seen = set()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            text = data.decode("utf-8", "replace")
            lines = uait.hdr_lines(text)
            key = (tuple(uait.hdr(lines, "via")), lines[0])
            if key in self._seen:
                continue
            self._seen.add(key)
            self.got.append(text)
            method = lines[0].split()[0]
            if method == "ACK":
                continue
            keep = [x for x in lines[1:] if x.split(":")[0].lower() in
                    ("via", "from", "to", "call-id", "cseq")]
            keep = [x + ";tag=p1" if x.lower().startswith("to:") and "tag=" not in x else x
                    for x in keep]
            body = ""
            if method == "INVITE":
                body = ("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                        "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\n")
                keep += [f"Contact: <sip:bob@127.0.0.1:{self.port}>",
                         "Content-Type: application/sdp"]
            resp = "\r\n".join(["SIP/2.0 200 OK"] + keep + [f"Content-Length: {len(body)}", "",
                                                              body])
            self.sock.sendto(resp.encode(), addr)

    def stop(self):
        self._stop.set()
        self._t.join(2)
        self.sock.close()

    def request(self, method):
        for t in self.got:
            if t.startswith(method + " "):
                return t
        svit.fail(f"the peer received no {method}; it got {[t.split(chr(13))[0] for t in self.got]}")


def ua(ctx, peer, label, privacy, *cmd, ppi=None):
    args = ["--user", "alice", "--no-register", "--pcscf", f"127.0.0.1:{peer.port}"]
    if privacy:
        args += ["--privacy", privacy]
    if ppi:
        args += ["--ppi", ppi]
    rc, out, err = uait.run_ua(ctx, args + list(cmd), name=label)
    check_eq(f"{label}: exit status (stderr {err.strip()!r})", 0, rc)
    return out


def check_private(label, text, privacy, critical, ppi):
    lines = uait.hdr_lines(text)
    frm = uait.hdr(lines, "from")
    check(len(frm) == 1 and ANON_FROM.match(frm[0]), f"{label}: R10 From: {frm!r}")
    cid = uait.hdr(lines, "call-id")
    check(len(cid) == 1 and re.fullmatch(r"[0-9a-f]{24}", cid[0]),
          f"{label}: R12 Call-ID must be random, without host: {cid!r}")
    for h in R11:
        check_eq(f"{label}: R11 {h} lines", [], uait.hdr(lines, h))
    check_eq(f"{label}: R14 Privacy (canonical)", [privacy], uait.hdr(lines, "privacy"))
    check_eq(f"{label}: R15 Proxy-Require", ["privacy"] if critical else [],
             uait.hdr(lines, "proxy-require"))
    check_eq(f"{label}: R13 P-Preferred-Identity", [f"<{ppi}>"] if ppi else [],
             uait.hdr(lines, "p-preferred-identity"))
    check_eq(f"{label}: R13 never P-Asserted-Identity", [], uait.hdr(lines, "p-asserted-identity"))
    rest = [x for x in text.split("\r\n") if not x.lower().startswith("p-preferred-identity:")]
    check(not any("alice" in x.lower() for x in rest),
          f"{label}: R81 the IMPU must appear only in P-Preferred-Identity: "
          f"{[x for x in rest if 'alice' in x.lower()]}")
    return frm[0]


def test(ctx):
    peer = Peer()
    try:
        # R10-R15 on a MESSAGE: id,critical typed in reverse order
        ua(ctx, peer, "msg-id-critical", "critical,id", "message", "sip:bob@ims.example", "hi",
           ppi="sip:alice@ims.example")
        m = peer.request("MESSAGE")
        check_private("MESSAGE", m, "id;critical", True, "sip:alice@ims.example")
        check("\r\nPrivacy: id;critical\r\nProxy-Require: privacy\r\n" in m,
              f"MESSAGE: the exact Privacy and Proxy-Require lines (R14, R15):\n{m}")
        check("\r\nFrom: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=" in m,
              "MESSAGE: the exact From line (R10)")
        step("MESSAGE with --privacy critical,id --ppi: R10-R15 bytes on the wire")

        # a private call: Contact without user, SDP without user name, R17 in ACK and BYE
        peer.got.clear()
        ua(ctx, peer, "call-user-id", "id;user", "call", "sip:bob@ims.example")
        inv = peer.request("INVITE")
        ack = peer.request("ACK")
        bye = peer.request("BYE")
        frm = check_private("INVITE", inv, "user;id", False, None)
        lines = uait.hdr_lines(inv)
        contact = uait.hdr(lines, "contact")
        check(len(contact) == 1 and re.fullmatch(r"<sip:127\.0\.0\.1:\d+>", contact[0]),
              f"INVITE: Contact is host:port only (R81): {contact!r}")
        check(re.search(r"\r\no=- \d+ \d+ IN IP4 127\.0\.0\.1\r\n", inv),
              "INVITE: SDP o= without a user name")
        for name, t in (("ACK", ack), ("BYE", bye)):
            ln = uait.hdr_lines(t)
            check_eq(f"{name}: R17 the same Privacy inside the dialog", ["user;id"],
                     uait.hdr(ln, "privacy"))
            check_eq(f"{name}: the same anonymous From", [frm], uait.hdr(ln, "from"))
            check(not any("alice" in x.lower() for x in ln), f"{name}: R81 no IMPU anywhere")
        step("call with --privacy id;user: Contact and SDP without the user, R17 in ACK/BYE")

        # R3: none withholds nothing
        peer.got.clear()
        ua(ctx, peer, "msg-none", "none", "message", "sip:bob@ims.example", "hi")
        m = peer.request("MESSAGE")
        lines = uait.hdr_lines(m)
        check_eq("none: Privacy", ["none"], uait.hdr(lines, "privacy"))
        frm = uait.hdr(lines, "from")
        check(len(frm) == 1 and frm[0].startswith("<sip:alice@ims.example>;tag="),
              f"none: From keeps the identity: {frm!r}")
        check(uait.hdr(lines, "call-id")[0].endswith("@127.0.0.1"), "none: Call-ID with host")
        check_eq("none: no Proxy-Require", [], uait.hdr(lines, "proxy-require"))
        step("--privacy none: Privacy: none, identity kept (R3)")

        # without --privacy: no Privacy header at all
        peer.got.clear()
        ua(ctx, peer, "msg-plain", None, "options", "sip:bob@ims.example")
        o = peer.request("OPTIONS")
        check_eq("no --privacy: Privacy lines", [], uait.hdr(uait.hdr_lines(o), "privacy"))
        step("without --privacy: no Privacy header")
    finally:
        peer.stop()


if __name__ == "__main__":
    svit.run(test)
