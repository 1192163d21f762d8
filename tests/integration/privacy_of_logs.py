#!/usr/bin/env python3
"""
@file privacy_of_logs.py  run/privacy_of_logs: identities and bodies never reach the log.

The privacy rule of the house style: no URI, name or body above debug level, and only a hash of
a Call-ID. This test runs `sipveil run --log-level info` (the most verbose level the rule
covers), sends it requests whose From, To, P-Asserted-Identity, P-Preferred-Identity, Contact,
Request-URI, Call-ID and body carry distinctive strings, in every shape that makes the
responder log something (answered, refused, malformed-and-answered, malformed-and-dropped,
garbage, a response), stops it, and requires that none of those strings appear in its
standard error or standard output, in any letter case.
"""
import re

import svit
from svit import check, step

NAME = "Zelda Secret"
USER = "zelda-secret"
DOMAIN = "private.example"
BODY = "secret-body-text"
TEL = "+15550100199"
CONTACT_IP = "192.0.2.77"
SECRETS = [NAME, USER, DOMAIN, BODY, TEL, CONTACT_IP, "Zelda", "secret"]

AOR = f"sip:{USER}@{DOMAIN}"
FROM = f'"{NAME}" <{AOR}>;tag=z31d4'
IDS = [f'P-Asserted-Identity: "{NAME}" <{AOR}>, <tel:{TEL}>',
       f"P-Preferred-Identity: <{AOR}>",
       f"Contact: <sip:{USER}@{CONTACT_IP}:5099>",
       "Privacy: id",
       "Content-Type: text/plain"]


def headers(callid_tag, **over):
    h = {"From": FROM, "To": f'"{NAME}" <{AOR}>', "Call-ID": f"{USER}-{callid_tag}@{DOMAIN}"}
    h.update(over)
    return h


def test(ctx):
    sv = svit.Sipveil(ctx, "--log-level", "info")
    cl = svit.Client(sv.port)
    step(f"sipveil --log-level info ready on 127.0.0.1:{sv.port}")

    answered = [
        ("OPTIONS", 404, {}, []),  # to a user elsewhere, no route, no DNS
        ("INVITE", 404, {}, []),
        ("MESSAGE", 483, {"Max-Forwards": "0"}, []),
        ("OPTIONS", 420, {}, ["Proxy-Require: foo"]),
        ("OPTIONS", 400, {"From": f'"{NAME} <{AOR};tag=broken'}, []),   # malformed, answered
        ("OPTIONS", 400, {"To": f"<{AOR}"}, []),                         # malformed, answered
        ("OPTIONS", 400, {"CSeq": "7 INVITE"}, []),                      # CSeq/method mismatch
    ]
    for i, (method, code, over, extra) in enumerate(answered):
        req = cl.request(method, ruri=AOR, headers=headers(i, **over), extra=IDS + extra,
                         body=BODY)
        resp = cl.ask(req, f"{method} carrying identities (want {code})")
        check(resp.code == code, f"{method} carrying identities: expected {code}, got "
                                 f"{resp.status_line}")
        step(f"{method} -> {resp.status_line}")
        if method == "INVITE":  # the ACK of a non-2xx final stops its retransmissions (§17.2.1)
            f = req.fields
            cl.send(("ACK %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\n"
                     "Call-ID: %s\r\nCSeq: %s ACK\r\nContent-Length: 0\r\n\r\n"
                     % (req.start.split()[1], f["Via"], f["From"], resp.one("To"), f["Call-ID"],
                        f["CSeq"].split()[0])).encode())

    req = cl.request("OPTIONS", ruri=AOR, version="SIP/7.0", headers=headers("v7"), extra=IDS,
                     body=BODY)
    resp = cl.ask(req, "SIP/7.0 request carrying identities")
    check(resp.code == 505, f"SIP/7.0: expected 505, got {resp.status_line}")
    step(f"SIP/7.0 -> {resp.status_line}")
    req = cl.request("OPTIONS", ruri=f"nobarr:{USER}@{DOMAIN}", headers=headers("scheme"),
                     extra=IDS, body=BODY)
    resp = cl.ask(req, "unknown scheme carrying identities")
    check(resp.code == 416, f"unknown scheme: expected 416, got {resp.status_line}")
    step(f"unknown scheme -> {resp.status_line}")

    # a bad Content-Length in a datagram is answered 400 naming the fault, not the identities
    resp = cl.ask(cl.request("OPTIONS", ruri=AOR, headers=headers("cl"), extra=IDS, body=BODY).data
                  .replace(f"Content-Length: {len(BODY)}".encode(), b"Content-Length: 900"),
                  "Content-Length beyond the datagram")
    check(resp.code == 400 and "Content-Length" in resp.status_line,
          f"Content-Length beyond the datagram: expected 400 naming it, got {resp.status_line}")
    step(f"Content-Length beyond the datagram -> {resp.status_line}")

    dropped = [
        ("bad top Via", cl.request("OPTIONS", ruri=AOR, headers=headers(
            "via", Via=f"SIP/2.0/UDP {DOMAIN};;,;,,"), extra=IDS, body=BODY).data),
        ("malformed request line", f"OPTIONS {AOR} SIP/2.0 {NAME}\r\nFrom: {FROM}\r\n\r\n"
                                   f"{BODY}".encode()),
        ("no end of headers", f"OPTIONS {AOR} SIP/2.0\r\nFrom: {FROM}\r\nContact: "
                              f"<sip:{USER}@{CONTACT_IP}>\r\n".encode()),
        ("a response", (f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:{cl.port};branch=z9hG4bKr"
                        f"\r\nFrom: {FROM}\r\nTo: <{AOR}>;tag=9\r\nCall-ID: {USER}@{DOMAIN}\r\n"
                        f"CSeq: 1 OPTIONS\r\nContent-Length: {len(BODY)}\r\n\r\n"
                        f"{BODY}").encode()),
        ("garbage with identities", f"\x00\x01{NAME} {AOR} {BODY}\xff".encode("latin-1")),
        ("an ACK", cl.request("ACK", ruri=AOR, headers=headers("ack"), extra=IDS,
                              body=BODY).data),
    ]
    for desc, data in dropped:
        cl.expect_silence(data, desc)
        step(f"{desc}: dropped")

    log = sv.stop()
    out = "\n".join(sv.out.lines)
    step("SIGTERM -> exit 0")
    lines = [line for line in log.splitlines() if line.strip()]
    # the run logged the events: the check below is about real log lines, not an empty file
    check(len(lines) >= 4, f"sipveil --log-level info logged only {len(lines)} lines; the test "
                           f"expects lines for the refused and malformed requests:\n{log}")
    leaks = []
    for where, text in (("stderr", log), ("stdout", out)):
        for s in SECRETS:
            for line in text.splitlines():
                if re.search(re.escape(s), line, re.I):
                    leaks.append(f"{where}: {s!r} in: {line}")
    check(not leaks, "identities or bodies reached the log (privacy rule):\n  " +
                     "\n  ".join(leaks))
    step(f"{len(lines)} log lines, none carries {', '.join(repr(s) for s in SECRETS[:6])}")


if __name__ == "__main__":
    svit.run(test)
