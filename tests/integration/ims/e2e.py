#!/usr/bin/env python3
"""
@file e2e.py  Routing between the roles of the lab, with the privacy service in each, seen at
the UEs and at the untrusted peer behind the edge.

- TC-01 with registration: alice's PPI naming her tel URI is asserted (R27); a PPI naming
  someone else gives her default IMPU (R29); PPI never leaves the P-CSCF.
- bob with two contacts: a MESSAGE is forked to both.
- A call alice -> bob with Privacy: id: INVITE, ACK and BYE reach bob's UE without PAI (R74).
- carol (identity blocking agreed with the home network, LI target): her MESSAGE passes the
  identity-blocking AS by her iFC; bob's UE receives no PAI (TC-04, R46, R51) while the LI sink
  has her true identity (R62), and nothing else does.
- Out through the edge: alice -> sip:peer@outside.example reaches the untrusted peer on the
  lab's 5099 without any PAI (R40: the edge is the last hop out of the trust domain).
- In through the edge: the peer's INVITE to bob on the external face reaches bob's UE; its
  own PAI is dropped at the edge (R43). With the anonymity policy turned on for the external
  face, an anonymous INVITE gets 433 Anonymity Disallowed (RFC 5079, R69).
- A barred IMPU cannot originate: 403 (R48).
"""
import json
import os
import re

import imsit
import pvit
import svit
from svit import check, check_eq, step

EXTRA = """subscribers:
  - impi: frank@ims.example
    password: frank-pw
    sets:
      - impus: ["sip:frank@ims.example", "sip:frank-old@ims.example"]
    barred: ["sip:frank-old@ims.example"]
"""


def send(ctx, lab, user, pw, port, to, xml="reg_message.xml", privacy=None, extra=None,
         impu=None, rc=0):
    """Register @p user from @p port and send one MESSAGE (or call) to @p to."""
    keys = dict(impu=impu or f"sip:{user}@ims.example", contact=f"<sip:ue@127.0.0.1:{port}>",
                to=to, privacy=privacy or pvit.no_privacy_line())
    keys["from"] = f"From: <sip:{user}@ims.example>"
    p, work = imsit.sipp(ctx, lab, f"{user}-sends", xml, pvit.keys(**keys) +
                         ["-au", f"{user}@ims.example", "-ap", pw] + (extra or []), port=port)
    got = p.wait(30, f"{user}'s SIPp")
    if rc is not None:
        check_eq(f"{user}'s SIPp exit status", rc, got)
    return pvit.trace(work)


def received(work, method):
    return pvit.first(pvit.trace(work), False, lambda m: m.method == method,
                      f"the {method} at the receiver")


def li_records(lab):
    with open(lab.path("var/li.jsonl")) as f:
        return [json.loads(x) for x in f if x.strip()]


def test(ctx):
    lab = imsit.Lab(ctx, extra_subscribers=EXTRA)
    b_uas, b_reg = imsit.free_port_pair(), imsit.free_port_pair()
    imsit.register(ctx, lab, "bob", "bob-pw", b_reg, contact_port=b_uas)
    step("bob is registered, his contact a SIPp UE")

    # TC-01 (a): PPI names alice's tel URI: asserted; PPI gone
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    send(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example",
         privacy="P-Preferred-Identity: <tel:+15551000001>")
    imsit.finish(uas, "bob's UE")
    got = received(uwork, "MESSAGE")
    check_eq("PAI at bob's UE for PPI tel (R27, then R47 adds the SIP alias)",
             ["<sip:alice@ims.example>", "<tel:+15551000001>"],
             sorted(got.all("p-asserted-identity")))
    check_eq("PPI at bob's UE", [], got.all("p-preferred-identity"))
    # TC-01 (b): PPI names someone else: the default IMPU
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    send(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example",
         privacy="P-Preferred-Identity: <sip:mallory@ims.example>")
    imsit.finish(uas, "bob's UE")
    got = received(uwork, "MESSAGE")
    check_eq("PAI at bob's UE for a foreign PPI (R29)",
             ["<sip:alice@ims.example>", "<tel:+15551000001>"], got.all("p-asserted-identity"))
    step("PPI chooses among alice's own identities, else her default (TC-01, R27, R29)")

    # a call alice -> bob with Privacy: id over the whole path, dialog included
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_call.xml", b_uas)
    msgs = send(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example",
                xml="reg_call.xml", privacy="Privacy: id")
    imsit.finish(uas, "bob's UE (call)")
    bob = pvit.trace(uwork)
    for method in ("INVITE", "ACK", "BYE"):
        m = pvit.first(bob, False, lambda x, mm=method: x.method == mm, f"the {method} at bob")
        check_eq(f"PAI in the {method} at bob's UE (Privacy: id, dialog-wide)", [],
                 m.all("p-asserted-identity"))
    ok = pvit.first(msgs, False, lambda m: m.code == 200 and "INVITE" in (m.cseq or ""),
                    "the 200 to alice's INVITE")
    check(ok.all("record-route"), "the 200 at alice has no Record-Route")
    step("alice called bob with Privacy: id: INVITE, ACK and BYE reached him without PAI")

    # a second contact for bob: a MESSAGE is forked to both (parallel forking)
    b_uas2 = imsit.free_port_pair()
    imsit.register(ctx, lab, "bob", "bob-pw", imsit.free_port_pair(), contact_port=b_uas2)
    uas1, w1 = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    uas2, w2 = imsit.sipp_uas(ctx, "bob-ue2", "uas_message.xml", b_uas2)
    send(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:bob@ims.example")
    imsit.finish(uas1, "bob's first UE")
    imsit.finish(uas2, "bob's second UE")
    received(w1, "MESSAGE")
    received(w2, "MESSAGE")
    # and the second contact goes again (the other tests want bob at one contact)
    p, _ = imsit.sipp(ctx, lab, "dereg-bob2", "reg.xml",
                      pvit.keys(impu="sip:bob@ims.example",
                                contact=f"<sip:ue@127.0.0.1:{b_uas2}>;expires=0") +
                      ["-au", "bob@ims.example", "-ap", "bob-pw"])
    imsit.finish(p, "bob's second contact removed")
    step("bob registered two contacts; alice's MESSAGE reached both (parallel forking)")

    # carol: identity blocking by the AS on her behalf, and LI
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    send(ctx, lab, "carol", "carol-pw", imsit.free_port_pair(), "sip:bob@ims.example")
    imsit.finish(uas, "bob's UE")
    got = received(uwork, "MESSAGE")
    check_eq("PAI at bob's UE for carol (TC-04, R46, R51)", [], got.all("p-asserted-identity"))
    check("carol" not in "\n".join(got.lines).lower(),
          f"carol's identity reached bob: {got.lines}")
    check_eq("From at bob's UE for carol (`user` on her behalf, R51, R52)",
             '"Anonymous" <sip:anonymous@anonymous.invalid>', got.all("from")[0].split(";")[0])
    recs = li_records(lab)
    check(any("carol@ims.example" in json.dumps(r) for r in recs),
          f"the LI sink has no record of carol's MESSAGE: {recs}")
    step("carol's MESSAGE went through the AS: no PAI at bob, her identity in the LI sink")

    # out through the edge to the untrusted peer
    peer, pwork = imsit.sipp_uas(ctx, "peer", "uas_message.xml", lab.port[5099])
    send(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:peer@outside.example")
    imsit.finish(peer, "the outside peer")
    got = received(pwork, "MESSAGE")
    check_eq("PAI at the untrusted peer (R40)", [], got.all("p-asserted-identity"))
    step("alice's MESSAGE left through the edge to outside.example without PAI")

    # and a call out, its ACK and BYE along the route set through the edge
    peer, pwork = imsit.sipp_uas(ctx, "peer", "uas_call.xml", lab.port[5099])
    send(ctx, lab, "alice", "alice-pw", imsit.free_port_pair(), "sip:peer@outside.example",
         xml="reg_call.xml")
    imsit.finish(peer, "the outside peer (call)")
    got = received(pwork, "INVITE")
    check_eq("PAI in the INVITE at the untrusted peer", [], got.all("p-asserted-identity"))
    step("alice called outside.example: INVITE, ACK and BYE through the edge")

    # in through the edge's external face
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_message.xml", b_uas)
    p, _ = pvit.sipp(ctx, "peer-in", [
        "-sf", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../privacy/sipp/uac_message.xml"),
        f"127.0.0.1:{lab.port[5090]}", "-i", "127.0.0.1", "-m", "1", "-trace_msg",
        "-timeout", "15", "-timeout_error", "-nostdin"] +
        pvit.keys(ruri="sip:bob@ims.example", privacy=pvit.no_privacy_line()))
    imsit.finish(p, "the outside peer's MESSAGE to bob")
    imsit.finish(uas, "bob's UE")
    got = received(uwork, "MESSAGE")
    check("alice@home1.net" not in " ".join(got.all("p-asserted-identity")),
          "the outside peer's own PAI crossed the edge")
    step("a MESSAGE from outside reached bob; the peer's own PAI stayed at the edge (R43)")
    lab.stop()

    # the anonymity policy on the external face: 433 (RFC 5079)
    lab = imsit.Lab(ctx, extra_subscribers=EXTRA, edit=lambda t: t.replace(
        "face: external}", "face: external, anonymity_policy: reject-anonymous}"))
    p, work = pvit.sipp(ctx, "peer-anon", [
        "-sf", os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp/uac_anon.xml"),
        f"127.0.0.1:{lab.port[5090]}", "-i", "127.0.0.1", "-m", "1", "-trace_msg",
        "-timeout", "15", "-timeout_error", "-nostdin"])
    imsit.finish(p, "an anonymous INVITE from outside")
    codes = [m.code for m in pvit.trace(work) if not m.sent and m.code]
    check(433 in codes, f"no 433 for an anonymous INVITE from outside: {codes}")
    step("with the anonymity policy on, an anonymous INVITE from outside gets 433")

    # R48: a barred IMPU cannot originate. frank's set has a barred alias; registering frank
    # and asserting the barred alias by PPI gives his default instead at the P-CSCF, so the
    # S-CSCF's check is seen with a REGISTER of the barred identity itself: 403.
    msgs = imsit.register(ctx, lab, "frank", "frank-pw", imsit.free_port_pair(),
                          impu="sip:frank-old@ims.example", xml="reg.xml", rc=1)
    check(any(m.code == 403 for m in msgs if not m.sent),
          "a barred IMPU's registration did not get 403")
    step("a barred IMPU gets 403 (R48)")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
