#!/usr/bin/env python3
"""
@file register.py  Registration through the lab (UE -> P-CSCF -> I-CSCF -> S-CSCF) with SIPp
UEs, and what registration decides afterwards.

- IMS AKA registration with SIPp as the USIM (AKAv1-MD5, Milenage), twice; the challenge
  reaching the UE carries no CK/IK (the P-CSCF keeps the session keys, TS 33.203).
- Digest registration: 401 then 200; the 200 the UE receives carries Service-Route, Path and
  P-Associated-URI with only the implicit set registered, default IMPU first (R82, R29).
- bob's 200 never names his pseudonym blue-fox (R82); blue-fox over UDP gets 403 before any
  challenge (R83, TC-25 a).
- A wrong password gets 401 three times, then 403; an unknown user gets exactly the same
  sequence (no enumeration).
- An unregistered UE's MESSAGE gets 403 (R30); so does one from another port of a registered
  UE's address (the flow, not Via or Contact, identifies the UE).
- Registered alice -> registered bob: the MESSAGE reaches bob's contact with alice's asserted
  identity (R27) and her tel alias (R47); with `Privacy: id` it arrives without any (R19).
- De-registration: after Expires: 0, bob is unreachable: 480.
- Restart: bob's registration survives a restart of sipveil (persisted in the store).
- A flood of REGISTERs from one address gets 503 with Retry-After past the P-CSCF's rate.
"""
import base64
import os
import re
import socket
import subprocess

import imsit
import pvit
import svit
from svit import check, check_eq, step


# An AKA subscriber whose keys SIPp can be given: the hex of "sipveil-aka-key!",
# "sipveil-operator" and "AM".
ERIN = """subscribers:
  - impi: erin@ims.example
    aka: {k: 7369707665696c2d616b612d6b657921, op: 7369707665696c2d6f70657261746f72,
          amf: "414d", sqn: 0}
    sets:
      - impus: ["sip:erin@ims.example"]
"""


def reg_200(msgs):
    return pvit.first(msgs, False, lambda m: m.code == 200 and "REGISTER" in (m.cseq or ""),
                      "the 200 OK to REGISTER")


def codes(msgs):
    return [m.code for m in msgs if not m.sent and m.code]


ERIN_K, ERIN_OP = b"sipveil-aka-key!", b"sipveil-operator"


def aes(key, block):
    """AES-128 of one block, by the openssl command (Python's library has no AES)."""
    r = subprocess.run(["openssl", "enc", "-aes-128-ecb", "-nopad", "-K", key.hex()],
                       input=block, capture_output=True, timeout=10, check=True)
    return r.stdout[:16]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def milenage_res(k, op, rand):
    """RES = f2 of TS 35.206: OPc = E_K(OP) ^ OP, TEMP = E_K(RAND ^ OPc),
    OUT2 = E_K(TEMP ^ OPc ^ c2) ^ OPc (r2 = 0, c2 = 1), RES its last 8 octets."""
    opc = xor(aes(k, op), op)
    temp = aes(k, xor(rand, opc))
    out2 = xor(aes(k, xor(xor(temp, opc), bytes(15) + b"\x01")), opc)
    return out2[8:]


def aka_rand(challenge):
    nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
    return base64.b64decode(nonce)[:16]


def message(ctx, lab, user, pw, port, to, privacy=None):
    p, work = imsit.sipp(ctx, lab, f"msg-{user}", "reg_message.xml",
                         pvit.keys(impu=f"sip:{user}@ims.example",
                                   contact=f"<sip:ue@127.0.0.1:{port}>", to=to,
                                   **{"from": f"From: <sip:{user}@ims.example>"},
                                   privacy=privacy or pvit.no_privacy_line()) +
                         ["-au", f"{user}@ims.example", "-ap", pw], port=port)
    return p, work


def raw_message(lab, port, from_user):
    """A MESSAGE from a plain socket bound to @p port. @return the status code."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(5)
    req = (f"MESSAGE sip:bob@ims.example SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{port}x;rport\r\n"
           f"From: <sip:{from_user}@ims.example>;tag=x{port}\r\n"
           f"To: <sip:bob@ims.example>\r\nCall-ID: raw-{port}\r\nCSeq: 1 MESSAGE\r\n"
           f"Contact: <sip:{from_user}@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n"
           f"Content-Length: 0\r\n\r\n")
    s.sendto(req.encode(), ("127.0.0.1", lab.port[5060]))
    data, _ = s.recvfrom(65535)
    s.close()
    return int(data.split()[1])


def flood(lab, n):
    """@p n REGISTERs at once from one socket; @return {status: count}, every 503 checked for
    Retry-After."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # the answers come at once
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    for i in range(n):
        s.sendto((f"REGISTER sip:ims.example SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKfl{i};rport\r\n"
                  f"From: <sip:x{i}@ims.example>;tag=f{i}\r\nTo: <sip:x{i}@ims.example>\r\n"
                  f"Call-ID: flood-{i}\r\nCSeq: 1 REGISTER\r\n"
                  f"Contact: <sip:x@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n"
                  f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", lab.port[5060]))
    got = {}
    s.settimeout(3)
    seen = set()
    try:
        while len(seen) < n:
            data, _ = s.recvfrom(65535)
            text = data.decode(errors="replace")
            cid = re.search(r"(?im)^call-id:\s*(\S+)", text).group(1)
            if cid in seen:
                continue
            seen.add(cid)
            code = int(text.split()[1])
            got[code] = got.get(code, 0) + 1
            if code == 503:
                check(re.search(r"(?im)^retry-after:", text), "a 503 without Retry-After")
    except socket.timeout:
        pass
    s.close()
    return got


def test(ctx):
    lab = imsit.Lab(ctx, extra_subscribers=ERIN, metrics=True)
    step(f"the lab runs on ephemeral ports (P-CSCF {lab.port[5060]})")

    # alice: Digest, P-Associated-URI = her set only, default first (R82, R29)
    a_port = imsit.free_port_pair()
    msgs = imsit.register(ctx, lab, "alice", "alice-pw", a_port)
    check_eq("responses to alice's REGISTERs", [401, 200], codes(msgs))
    ok = reg_200(msgs)
    check_eq("alice's P-Associated-URI", ["<sip:alice@ims.example>, <tel:+15551000001>"],
             ok.all("p-associated-uri"))
    check_eq("alice's Service-Route", [f"<sip:127.0.0.1:{lab.port[6060]};lr;orig>"],
             ok.all("service-route"))
    check_eq("the Path the S-CSCF echoed", [f"<sip:127.0.0.1:{lab.port[5070]};lr>"],
             ok.all("path"))
    check(any(f"127.0.0.1:{a_port}" in c and "expires=" in c for c in ok.all("contact")),
          f"alice's contact with its expiry in the 200: {ok.all('contact')}")
    step("alice registered with Digest: 401, 200; P-Associated-URI is her set, default first")

    # erin: IMS AKA, SIPp computing the USIM's answer; twice, the second time with a fresh
    # vector (the S-CSCF steps SQN per challenge and keeps it in the store). SIPp takes its
    # AKA keys as raw text, so erin's are printable (sipp/reg_aka.xml says why not dave's).
    # SIPp 3.6.1 hashes RES as a C string: a RES with a zero octet (1 challenge in 32) reaches
    # it truncated, and its answer is wrong. The test computes RES itself (Milenage by the
    # openssl command) and, for such a challenge only, wants the S-CSCF to refuse the answer
    # with a new 401, then registers again.
    d_port = imsit.free_port_pair()
    nonces = []
    attempts = 0
    while len(nonces) < 2:
        attempts += 1
        check(attempts <= 8, "erin registered twice in 8 attempts")
        what = f"erin's AKA registration #{len(nonces) + 1} (attempt {attempts})"
        p, work = imsit.sipp(ctx, lab, "reg-erin", "reg_aka.xml",
                             pvit.keys(impu="sip:erin@ims.example",
                                       contact=f"<sip:ue@127.0.0.1:{d_port}>"), port=d_port)
        rc = p.wait(25, what)
        msgs = pvit.trace(work)
        first = [m for m in msgs if not m.sent and m.code == 401]
        check(first, f"{what}: no 401")
        res = milenage_res(ERIN_K, ERIN_OP, aka_rand(first[0].all("www-authenticate")[0]))
        if 0 in res:
            check(200 not in codes(msgs) and any("2 REGISTER" in (m.cseq or "") for m in first),
                  f"{what}: SIPp's answer with RES {res.hex()} cut at its zero octet must get "
                  f"a new 401, got {codes(msgs)}")
            step(f"{what}: RES {res.hex()} has a zero octet, SIPp's truncated answer got a new "
                 f"401 (right); again")
            continue
        check_eq(f"{what}: SIPp exit status", 0, rc)
        check_eq("responses to erin's REGISTERs", [401, 200], codes(msgs))
        chal = first[0].all("www-authenticate")
        check(len(chal) == 1 and "algorithm=AKAv1-MD5" in chal[0],
              f"erin's challenge is not AKAv1-MD5: {chal}")
        check(not re.search(r"\b(ck|ik)=", chal[0]),
              f"the AKA session keys reached the UE (TS 33.203: the P-CSCF keeps them): {chal}")
        nonces.append(chal[0])
        ok = reg_200(msgs)
        check_eq("erin's P-Associated-URI", ["<sip:erin@ims.example>"],
                 ok.all("p-associated-uri"))
    check(nonces[0] != nonces[1], "the second AKA challenge reused the first vector")
    step("erin registered twice with IMS AKA (AKAv1-MD5, SIPp as USIM), a fresh vector each time")

    # bob: his pseudonym is never listed with him (R82)
    b_uas = imsit.free_port_pair()
    b_reg = imsit.free_port_pair()
    msgs = imsit.register(ctx, lab, "bob", "bob-pw", b_reg, contact_port=b_uas)
    ok = reg_200(msgs)
    pau = " ".join(ok.all("p-associated-uri"))
    check_eq("bob's P-Associated-URI", "<sip:bob@ims.example>, <tel:+15551000002>", pau)
    check("blue-fox" not in str(msgs[-1].lines), "bob's 200 names his pseudonym")
    step("bob's 200 lists bob and his tel URI, not blue-fox (R82)")

    # the pseudonym over an unprotected link: 403 before any challenge (R83, TC-25 a)
    msgs = imsit.register(ctx, lab, "bob", "bob-pw", imsit.free_port_pair(), xml="reg_403.xml",
                          impu="sip:blue-fox@ims.example")
    check_eq("responses to blue-fox's REGISTER over UDP", [403], codes(msgs))
    check(not any(m.all("www-authenticate") for m in msgs if not m.sent),
          "a challenge went out for the pseudonym")
    step("blue-fox over UDP: 403, no challenge (R83, TC-25 a)")

    # wrong password, then an unknown user: the same answers (no enumeration)
    wrong = imsit.register(ctx, lab, "alice", "not-her-pw", imsit.free_port_pair(),
                           xml="reg_fail.xml")
    unknown = imsit.register(ctx, lab, "mallory", "whatever", imsit.free_port_pair(),
                             xml="reg_fail.xml")
    check_eq("wrong password", [401, 401, 401, 403], codes(wrong))
    check_eq("unknown user", codes(wrong), codes(unknown))
    wa = [m.all("www-authenticate") for m in wrong if not m.sent and m.code == 401]
    ua = [m.all("www-authenticate") for m in unknown if not m.sent and m.code == 401]
    check_eq("challenges per 401 (wrong password vs unknown user)",
             [len(x) for x in wa], [len(x) for x in ua])
    step("a wrong password and an unknown user both get 401, 401, 401, 403")

    # R30: only the registered flow may send
    check_eq("MESSAGE from an unregistered UE", 403, raw_message(lab, imsit.free_port_pair(),
                                                                 "mallory"))
    check_eq("MESSAGE from another port of alice's address, as alice", 403,
             raw_message(lab, imsit.free_port_pair(), "alice"))
    step("an unregistered UE and a spoofed flow get 403 (R30)")

    # alice -> bob: asserted identity (R27) and the tel alias (R47) reach bob's UE
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    p, _ = message(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example")
    imsit.finish(p, "alice's MESSAGE to bob")
    imsit.finish(uas, "bob's UE")
    got = pvit.first(pvit.trace(uwork), False, lambda m: m.method == "MESSAGE",
                     "the MESSAGE at bob's UE")
    check_eq("PAI at bob's UE", ["<sip:alice@ims.example>", "<tel:+15551000001>"],
             got.all("p-asserted-identity"))
    check_eq("Request-URI at bob's UE", f"MESSAGE sip:ue@127.0.0.1:{b_uas} SIP/2.0", got.start)
    step("alice's MESSAGE reached bob's contact with PAI sip + tel (R27, R47)")

    # with Privacy: id, bob's UE learns nothing (R19, last-hop P-CSCF)
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    p, _ = message(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example",
                   privacy="Privacy: id")
    imsit.finish(p, "alice's private MESSAGE to bob")
    imsit.finish(uas, "bob's UE")
    got = pvit.first(pvit.trace(uwork), False, lambda m: m.method == "MESSAGE",
                     "the private MESSAGE at bob's UE")
    check_eq("PAI at bob's UE with Privacy: id", [], got.all("p-asserted-identity"))
    check("alice" not in "\n".join(got.lines).lower() or
          got.all("from")[0].startswith("<sip:alice"), "alice's identity leaked")
    step("with Privacy: id bob's UE gets no PAI")

    # what /metrics says so far
    check(lab.metric("sipveil_ims_registrations_total", "scscf") >= 6, "registrations uncounted")
    check(lab.metric("sipveil_ims_auth_failures_total", "scscf") >= 6, "auth failures uncounted")
    check(lab.metric("sipveil_ims_register_forbidden_total", "scscf") >= 1, "R83 403 uncounted")
    check(lab.metric("sipveil_ims_flow_refused_total", "pcscf") >= 2, "R30 403s uncounted")
    check(lab.metric("sipveil_ims_location_found_total", "scscf") >= 2, "lookups uncounted")
    check(lab.metric("sipveil_ims_bindings", "scscf") >= 3, "bindings gauge")

    # restart: bob stays registered (the store kept his binding)
    lab.stop()
    lab.start()
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    p, _ = message(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example")
    imsit.finish(p, "alice's MESSAGE to bob after a restart")
    imsit.finish(uas, "bob's UE after a restart")
    step("bob's registration survived a restart of sipveil")

    # de-registration: Expires 0, then bob is unreachable (480)
    p, work = imsit.sipp(ctx, lab, "dereg-bob", "reg.xml",
                         pvit.keys(impu="sip:bob@ims.example",
                                   contact=f"<sip:ue@127.0.0.1:{b_uas}>;expires=0") +
                         ["-au", "bob@ims.example", "-ap", "bob-pw"], port=b_reg)
    imsit.finish(p, "bob's de-registration")
    ok = reg_200(pvit.trace(work))
    check_eq("contacts left after de-registration", [], ok.all("contact"))
    p, work = imsit.sipp(ctx, lab, "msg-480", "reg_message.xml",
                         pvit.keys(impu="sip:alice@ims.example",
                                   contact=f"<sip:ue@127.0.0.1:{a_port}>",
                                   to="sip:bob@ims.example",
                                   **{"from": "From: <sip:alice@ims.example>"},
                                   privacy=pvit.no_privacy_line()) +
                         ["-au", "alice@ims.example", "-ap", "alice-pw"], port=a_port)
    p.wait(25, "the MESSAGE to a de-registered bob")
    check(any(m.code == 480 for m in pvit.trace(work) if not m.sent),
          "no 480 for a MESSAGE to de-registered bob")
    step("after de-registration a MESSAGE to bob gets 480")

    # a registration flood from one address (last: it empties 127.0.0.1's bucket)
    codes_seen = flood(lab, 400)
    check(codes_seen.get(503, 0) > 0, f"no 503 in a flood of 400 REGISTERs: {codes_seen}")
    check(codes_seen.get(401, 0) >= 150, f"the flood's first REGISTERs were not served: "
                                         f"{codes_seen}")
    step(f"a flood of 400 REGISTERs from one address: {codes_seen.get(401, 0)} challenged, "
         f"{codes_seen.get(503, 0)} refused with 503 + Retry-After")

    # what /metrics says of what happened since the restart
    check(lab.metric("sipveil_ims_registrations_total", "scscf") >= 2, "no registrations counted")
    # every 503 sent is counted; the flood's socket may have lost some of the 400 answers
    # (three tests at once on two cores: 24 once), so the count lies between what arrived and
    # what was not answered otherwise
    limited = lab.metric("sipveil_ims_register_rate_limited_total", "pcscf")
    check(codes_seen.get(503, 0) <= limited <= 400 - codes_seen.get(401, 0),
          f"rate-limited REGISTERs on /metrics: {limited}, with {codes_seen} received of 400")
    check(lab.metric("sipveil_ims_location_missing_total", "scscf") >= 1, "480 uncounted")
    step("/metrics counts the registrations, failures, refusals and location lookups")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
