#!/usr/bin/env python3
"""
@file malformed_then_options.py  run/malformed_then_options: raw bad datagrams, then OPTIONS.

A UDP proxy faces whatever the network sends. This test sends sipveil the datagrams a
careless or hostile peer would, checks each gets the answer RFC 3261 asks for (a 400 that
names the fault when the response can still be addressed, silence when it cannot), then checks
that an OPTIONS still gets 200: the process survived and is not wedged. It then walks the
semantic refusals of a proxy (483, 420, 505, 416), the R7 `privacy` option tag, and 404 for an
INVITE addressed to the proxy itself without a route, and ends with one more OPTIONS and a clean stop.
"""
import os
import random

import svit
from svit import check, check_eq, expect_status, step

SILENCE = 0.3  # seconds: "no reply" means none within this window


def corpus_file(ctx, name):
    path = os.path.join(ctx.args.corpus or "", name + ".dat")
    check(os.path.isfile(path), f"RFC 4475 corpus file missing: {path}")
    with open(path, "rb") as f:
        return f.read()


def options_still_answered(cl, when):
    req = cl.request("OPTIONS")
    resp = expect_status(cl, req, 200, f"OPTIONS {when}")
    allow = ",".join(resp.all("Allow"))
    check("OPTIONS" in allow, f"200 to OPTIONS: Allow should list OPTIONS, got {allow!r}")
    step(f"OPTIONS {when} -> 200 OK")


def test(ctx):
    sv = svit.Sipveil(ctx)
    cl = svit.Client(sv.port)
    step(f"sipveil ready on 127.0.0.1:{sv.port}")
    options_still_answered(cl, "before the bad datagrams")

    # -- malformed but answerable: Via, Call-ID and CSeq are sound, so a 400 can be addressed
    for frm in ("<sip:tester@it.sipveil.test;tag=1",        # no closing '>'
                '"Unclosed quote <sip:tester@it.sipveil.test>;tag=2'):
        req = cl.request("OPTIONS", headers={"From": frm})
        resp = expect_status(cl, req, 400, f"OPTIONS with From {frm!r}")
        check("From" in resp.reason,
              f"400 to a broken From: the reason phrase should name the From header, got "
              f"{resp.reason!r}")
        step(f"broken From {frm!r} -> {resp.status_line}")

    # RFC 4475 §3.1.2.17: CSeq method does not match the request method -> 400 naming CSeq
    # its Via has no port and no rport: §18.2.2 would send the 400 to port 5060 of the source;
    # rport (RFC 3581) brings it back to this client's port
    resp = cl.ask(corpus_file(ctx, "mismatch01").replace(b"host.example.com;branch",
                                                         b"host.example.com;rport;branch"),
                  "RFC 4475 mismatch01")
    check_eq("RFC 4475 mismatch01: status", 400, resp.code)
    check("CSeq" in resp.reason, f"mismatch01: the reason should name CSeq, got {resp.reason!r}")
    step(f"RFC 4475 mismatch01 -> {resp.status_line}")

    # -- unanswerable: no reply within 300 ms
    rng = random.Random()
    seed = rng.randrange(1 << 32)
    rng.seed(seed)
    print(f"  random bytes seed: {seed}")
    silent = [
        # §3.1.2.1: the top Via is ';;,;,,': nowhere to send a response
        ("RFC 4475 badinv01 (top Via unparsable)", corpus_file(ctx, "badinv01")),
        # §3.1.2.4: CSeq and Max-Forwards overflow; the CSeq cannot be echoed
        ("RFC 4475 scalar02 (CSeq beyond 2**31)", corpus_file(ctx, "scalar02")),
        # §3.1.2.5: a response with overflowing scalars: discard
        ("RFC 4475 scalarlg (response, huge scalars)", corpus_file(ctx, "scalarlg")),
        ("4096 random bytes", bytes(rng.getrandbits(8) for _ in range(4096))),
        ("an empty datagram", b""),
        ("65000 octets of garbage", bytes(rng.getrandbits(8) for _ in range(65000))),
        ("65000 octets of 'A' without a line end", b"A" * 65000),
        ("a request line and nothing else", b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"),
        ("a response that matches no transaction (dropped)",
         b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
         b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: resp@x\r\n"
         b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
        ("an ACK (never answered)", cl.request("ACK").data),
    ]
    for desc, data in silent:
        cl.expect_silence(data, desc, SILENCE)
        sv.check_alive()
        step(f"{desc}: no reply within {int(SILENCE * 1000)} ms")

    options_still_answered(cl, "after the bad datagrams")

    # -- semantic refusals of a proxy (RFC 3261 §16.3, §8.2.2, §16.3 item 3)
    req = cl.request("MESSAGE", headers={"Max-Forwards": "0"})
    expect_status(cl, req, 483, "MESSAGE with Max-Forwards: 0")
    step("Max-Forwards: 0 -> 483")

    req = cl.request("OPTIONS", extra=["Proxy-Require: foo"])
    resp = expect_status(cl, req, 420, "OPTIONS with Proxy-Require: foo")
    check_eq("420: Unsupported", ["foo"], resp.all("Unsupported"))
    step("Proxy-Require: foo -> 420 with Unsupported: foo")

    # R7: `privacy` is an option tag sipveil supports, so it must not be refused
    req = cl.request("OPTIONS", extra=["Proxy-Require: privacy"])
    resp = cl.ask(req, "OPTIONS with Proxy-Require: privacy")
    check(resp.code != 420, f"R7: Proxy-Require: privacy must not be refused, got "
                            f"{resp.status_line} (Unsupported: {resp.all('Unsupported')})")
    check_eq("OPTIONS with Proxy-Require: privacy: status", 200, resp.code)
    svit.check_echo(req, resp)
    step("Proxy-Require: privacy -> 200 (R7)")

    req = cl.request("OPTIONS", version="SIP/7.0")
    expect_status(cl, req, 505, "OPTIONS ... SIP/7.0")
    step("SIP/7.0 -> 505")

    req = cl.request("OPTIONS", ruri="nobarr:sipveil@127.0.0.1")
    expect_status(cl, req, 416, "OPTIONS with an unknown URI scheme")
    step("unknown Request-URI scheme -> 416")

    req = cl.request("INVITE", extra=["Contact: <sip:tester@127.0.0.1>"])
    # the proxy forwards INVITE; to itself, without a route, there is nowhere to go
    resp = expect_status(cl, req, 404, "INVITE")
    check("route" in resp.reason, f"404 should say there is no route, got {resp.reason!r}")
    step("INVITE to the proxy itself, no route -> 404")

    options_still_answered(cl, "at the end")
    sv.stop()
    step("SIGTERM -> exit 0")


if __name__ == "__main__":
    svit.run(test)
