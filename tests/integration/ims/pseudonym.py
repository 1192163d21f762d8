#!/usr/bin/env python3
"""
@file pseudonym.py  The pseudonym blue-fox end to end (R80-R84, TC-25 b): bob's UE registers it
over TLS (a protected link: the P-CSCF tells the S-CSCF `integrity-protected="tls-yes"`), and
alice calls it.

- Over TLS the pseudonym is challenged and registered; the 200 OK's P-Associated-URI lists
  blue-fox alone (R82, TC-25 b).
- alice (a SIPp UE over UDP) calls sip:blue-fox@ims.example; the INVITE reaches bob's UE over
  its TLS connection; nothing alice receives (100, 180, 200, the BYE's 200) contains "bob",
  bob's tel number or a display name: the only identity she learns is blue-fox (R81, R84).
- TC-26: bob's UE sends a MESSAGE as blue-fox (PPI blue-fox): alice receives PAI blue-fox
  alone, without bob's tel alias (R84).
- What the UE must do (docs/lab.md): its Contact has no user part, its responses carry no
  display name and no identity of its own; the P-CSCF asserts blue-fox for it.

bob's UE is this script: Python's ssl module (SIPp has no TLS), Digest MD5 by hashlib.
"""
import hashlib
import os
import re
import select
import socket
import ssl
import threading

import imsit
import pvit
import svit
from svit import check, check_eq, fail, step


class TlsUe:
    """A UE on one TLS connection to the P-CSCF, reading whole SIP messages."""

    def __init__(self, port, cafile):
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.lport = self.s.getsockname()[1]
        self.buf = b""

    def send(self, text):
        self.s.sendall(text.replace("\n", "\r\n").encode())

    def recv(self, timeout=10):
        """One message: (start line, {header: [values]}, raw text)."""
        self.s.settimeout(timeout)
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
                n = int(m.group(1)) if m else 0
                if len(rest) >= n:
                    self.buf = rest[n:]
                    text = head.decode()
                    lines = text.split("\r\n")
                    hdrs = {}
                    for x in lines[1:]:
                        k, _, v = x.partition(":")
                        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
                    return lines[0], hdrs, text
            chunk = self.s.recv(65536)
            if not chunk:
                fail("the P-CSCF closed bob's TLS connection")
            self.buf += chunk


def digest(user, realm, pw, method, uri, nonce, cnonce="0a4f113b", nc="00000001"):
    ha1 = hashlib.md5(f"{user}:{realm}:{pw}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    return hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()


def register_pseudonym(ue):
    contact = f"<sip:127.0.0.1:{ue.lport};transport=tls>"

    def req(cseq, auth):
        return (f"REGISTER sip:ims.example SIP/2.0\n"
                f"Via: SIP/2.0/TLS 127.0.0.1:{ue.lport};branch=z9hG4bKpf{cseq};rport\n"
                f"From: <sip:blue-fox@ims.example>;tag=pf1\nTo: <sip:blue-fox@ims.example>\n"
                f"Call-ID: pseudo-reg-1\nCSeq: {cseq} REGISTER\nContact: {contact}\n"
                f"Authorization: {auth}\nExpires: 600\nMax-Forwards: 70\nContent-Length: 0\n\n")
    # a UE may claim protection: the P-CSCF replaces the claim with its own verdict
    ue.send(req(1, 'Digest username="bob@ims.example", realm="ims.example", nonce="", '
                   'uri="sip:ims.example", response="", integrity-protected="yes"'))
    start, hdrs, _ = ue.recv()
    check_eq("the pseudonym's first REGISTER over TLS", "SIP/2.0 401 Unauthorized", start)
    chal = next(c for c in hdrs["www-authenticate"] if "MD5" in c)
    nonce = re.search(r'nonce="([^"]+)"', chal).group(1)
    resp = digest("bob@ims.example", "ims.example", "bob-pw", "REGISTER", "sip:ims.example",
                  nonce)
    ue.send(req(2, f'Digest username="bob@ims.example", realm="ims.example", nonce="{nonce}", '
                   f'uri="sip:ims.example", response="{resp}", algorithm=MD5, '
                   f'cnonce="0a4f113b", nc=00000001, qop=auth'))
    start, hdrs, text = ue.recv()
    check_eq("the pseudonym's answered REGISTER", "SIP/2.0 200 OK", start)
    return hdrs, text


def answer_call(ue, out):
    """bob's UE: INVITE -> 180, 200 (no user part, no identity); ACK; BYE -> 200."""
    try:
        start, hdrs, text = ue.recv(20)
        check(start.startswith("INVITE "), f"bob's UE expected an INVITE, got {start!r}")
        out["invite"] = text
        keep = "".join(f"{k}: {v}\n" for k in ("via", "record-route", "from", "call-id", "cseq")
                       for v in hdrs.get(k, []))
        to = hdrs["to"][0] + ";tag=bluefox1"
        contact = f"Contact: <sip:127.0.0.1:{ue.lport};transport=tls>\n"
        ue.send(f"SIP/2.0 180 Ringing\n{keep}To: {to}\n{contact}Content-Length: 0\n\n")
        ue.send(f"SIP/2.0 200 OK\n{keep}To: {to}\n{contact}Content-Length: 0\n\n")
        for _ in range(2):
            start, hdrs, _ = ue.recv(20)
            if start.startswith("BYE "):
                keep = "".join(f"{k}: {v}\n" for k in ("via", "from", "to", "call-id", "cseq")
                               for v in hdrs.get(k, []))
                ue.send(f"SIP/2.0 200 OK\n{keep}Content-Length: 0\n\n")
                out["bye"] = True
    except Exception as e:  # reported by the main thread
        out["error"] = str(e)


def test(ctx):
    lab = imsit.Lab(ctx)
    ue = TlsUe(lab.port[5061], lab.path("var/tls/ca.crt"))
    step("bob's UE has a TLS connection to the P-CSCF, the lab's demo CA verified it")

    hdrs, text = register_pseudonym(ue)
    check_eq("P-Associated-URI of the pseudonym's set (R82, TC-25 b)",
             ["<sip:blue-fox@ims.example>"], hdrs.get("p-associated-uri"))
    for word in ("bob@", "15551000002"):
        check(word not in text, f"the pseudonym's 200 OK names {word!r}")
    step("blue-fox registered over TLS; its 200 lists blue-fox alone (TC-25 b)")

    # alice calls the pseudonym
    out = {}
    t = threading.Thread(target=answer_call, args=(ue, out), daemon=True)
    t.start()
    a_port = imsit.free_port_pair()
    p, work = imsit.sipp(ctx, lab, "alice-calls", "reg_call.xml",
                         pvit.keys(impu="sip:alice@ims.example",
                                   contact=f"<sip:ue@127.0.0.1:{a_port}>",
                                   to="sip:blue-fox@ims.example",
                                   **{"from": 'From: "Alice Liddell" <sip:alice@ims.example>'},
                                   privacy=pvit.no_privacy_line()) +
                         ["-au", "alice@ims.example", "-ap", "alice-pw"], port=a_port)
    imsit.finish(p, "alice's call to blue-fox")
    t.join(25)
    check("error" not in out, f"bob's UE: {out.get('error')}")
    check("invite" in out and out.get("bye"), "bob's UE did not get the INVITE and the BYE")
    step("alice's call reached bob's UE over its TLS connection, and ended")

    got = [m for m in pvit.trace(work) if not m.sent and "INVITE" in (m.cseq or "") or
           (not m.sent and "BYE" in (m.cseq or ""))]
    check(any(m.code == 200 for m in got), "alice got no 200 for her INVITE")
    for m in got:
        text = "\n".join([m.start] + m.lines).lower()
        for word in ("bob", "15551000002"):
            check(word not in text, f"alice received {word!r} in {m}: {text}")
        for pai in m.all("p-asserted-identity"):
            check_eq(f"PAI alice received in {m}", "<sip:blue-fox@ims.example>", pai)
    step("nothing alice received names bob, his number or a display name (R81, R84)")

    # TC-26: bob's UE sends as the pseudonym; alice sees blue-fox alone, no tel alias
    a_uas, a_reg = imsit.free_port_pair(), imsit.free_port_pair()
    imsit.register(ctx, lab, "alice", "alice-pw", a_reg, contact_port=a_uas)
    uas, uwork = imsit.sipp_uas(ctx, "alice-ue", "uas_message.xml", a_uas)
    ue.send(f"MESSAGE sip:alice@ims.example SIP/2.0\n"
            f"Via: SIP/2.0/TLS 127.0.0.1:{ue.lport};branch=z9hG4bKpm1;rport\n"
            f"From: <sip:blue-fox@ims.example>;tag=pm1\nTo: <sip:alice@ims.example>\n"
            f"Call-ID: pseudo-msg-1\nCSeq: 1 MESSAGE\n"
            f"P-Preferred-Identity: <sip:blue-fox@ims.example>\nMax-Forwards: 70\n"
            f"Content-Type: text/plain\nContent-Length: 2\n\nhi")
    start, _, _ = ue.recv(15)
    check_eq("the pseudonym's MESSAGE", "SIP/2.0 200 OK", start)
    imsit.finish(uas, "alice's UE")
    got = pvit.first(pvit.trace(uwork), False, lambda m: m.method == "MESSAGE",
                     "the MESSAGE at alice's UE")
    check_eq("PAI at alice's UE (TC-26, R84: no tel alias from bob's set)",
             ["<sip:blue-fox@ims.example>"], got.all("p-asserted-identity"))
    text = "\n".join(got.lines).lower()
    for word in ("bob", "15551000002"):
        check(word not in text, f"alice's UE received {word!r}: {text}")
    step("a MESSAGE sent as blue-fox reached alice asserting blue-fox alone (TC-26, R84)")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
