#!/usr/bin/env python3
"""
@file e2e_pcscf.py  privacy/e2e_pcscf: the P-CSCF's privacy service end to end, judged on the
exact messages SIPp peers received (their -trace_msg logs).

One `sipveil run` with the nodes of pvit.conf(); this script drives node `pcscf`:

- Terminating (PCSCF-T, TC-06..TC-12, R32-R38): a SIPp UAC on a port the trust table lists
  (the S-CSCF) calls through the `core` listener; the route leads to a SIPp UAS (the UE, in
  no `peers` entry: untrusted). INVITE/180/200/ACK/BYE/200 once per Privacy value. The UE
  must get the INVITE with exactly the edits the value asks for, and the 2xx ACK and the BYE
  (which carry no Privacy) with the same treatment from the dialog's stored rules (R74-R77,
  TC-23a/c). The UE's 180/200/200 must reach the S-CSCF with its own PAI lines replaced by
  the one the P-CSCF asserts for it (`subscribers`; R27, R43, R57, R78). `header;critical`,
  `session;critical`, `id;session;critical` and `id;foo;critical` get
  `500 Privacy Unavailable: <value>` and the UE gets nothing (R63, TC-10). `Proxy-Require:
  privacy` goes with the Privacy header (TC-15).
- The UE hangs up a `user;id` call: its BYE reaches the S-CSCF with the anonymous To
  untouched (R75, TC-23b); the caller's 200 (PAI, User-Agent, no Privacy) reaches the UE
  without them, by the stored rules (R74, R78, TC-24). A CANCEL after the 180 of a `user`
  call: the node's CANCEL and its ACK of the 487 carry the anonymous From (R77).
- MESSAGE with `id` (TC-13) and a subscription with `user;id`: the in-dialog SUBSCRIBE
  (Expires: 0, no Privacy) is anonymised too (R79); the UE's NOTIFYs reach the watcher with
  the anonymous To untouched (R75, TC-23b) and with the asserted PAI only (R27).
- Originating (PCSCF-O, TC-01c, TC-02, TC-16, R26, R27, R31): the UE calls through the `ue`
  listener with `Privacy: header;critical` to a trusted core UAS: forwarded with Privacy,
  From and Subject untouched and the UE's PAI replaced by the one the P-CSCF asserts; the
  core's 180 (no Privacy) reaches the UE with both PAI lines, its 200 with `Privacy: id`
  without PAI and without Privacy; so does a copy of that 200 sent after the ACK (a Python
  callee repeats it; R77: a retransmission is treated as the original).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pvit  # noqa: E402
from pvit import DLG_USER, PAI, TRUST_ONLY, USER, WITHHOLD  # noqa: E402

RURI = "sip:bob@home2.net"
BOB = ["<sip:bob@home2.net>"]  # what the P-CSCF asserts for its UE (subscribers, R27, R78)

# label, Privacy line, INVITE drops, INVITE anonymised, ACK/BYE drops, ACK/BYE anonymised
# [, one more INVITE line]
TERM = (
    ("none", "Privacy: none", TRUST_ONLY, False, (), False),               # TC-09a, R35
    ("absent", pvit.no_privacy_line(), TRUST_ONLY, False, (), False),      # TC-09b, R36
    ("id", "Privacy: id", WITHHOLD, False, (PAI,), False),                 # TC-06, R33
    ("user", "Privacy: user", USER, True, DLG_USER, True),                 # TC-08, R34, OP-4
    ("id-critical", "Privacy: id;critical", WITHHOLD, False, (PAI,), False),  # TC-12
    ("user-id", "Privacy: user;id", USER, True, DLG_USER, True),           # TC-07, TC-23
    ("none-id", "Privacy: none;id", (PAI,) + TRUST_ONLY, False, (PAI,), False),  # TC-14, R60
    ("header", "Privacy: header", (PAI,) + TRUST_ONLY, False, (PAI,), False),    # TC-11, R37
    ("id-proxy-require", "Privacy: id", WITHHOLD + ("proxy-require",), False, (PAI,), False,
     "Proxy-Require: privacy"),                                            # TC-15, R23, OP-22
)
REFUSED = (("header-critical", "Privacy: header;critical", "header"),      # TC-10a
           ("session-critical", "Privacy: session;critical", "session"),   # TC-10b
           ("id-session-critical", "Privacy: id;session;critical", "session"),  # TC-10b
           ("id-foo-critical", "Privacy: id;foo;critical", "foo"))         # TC-10c


def terminating(ctx, node, pt):
    to = node.lsn["pcscf.core"]
    for label, priv, inv_drop, inv_anon, dlg_drop, dlg_anon, *extra in TERM:
        c = pvit.call(ctx, "pcscf-t-" + label, to, RURI, priv, pt.core_uac, pt.ue,
                      extra=extra[0] if extra else None)
        pvit.check_call(c, inv_drop, inv_anon, dlg_drop, dlg_anon, resp_pai=BOB)
        step(f"PCSCF-T {priv}: the UE got the INVITE minus {', '.join(inv_drop)}"
             f"{' with the anonymous From' if inv_anon else ''}; ACK and BYE minus "
             f"{', '.join(dlg_drop) or 'nothing'}{' with the anonymous From' if dlg_anon else ''}"
             f"; the UE's responses reached the core with the P-CSCF's PAI only (R78)")
    for label, priv, value in REFUSED:
        r = pvit.refused(ctx, "pcscf-t-" + label, to, RURI, priv, pt.core_uac, pt.ue)
        check_eq(f"PCSCF-T {priv}: the final response (R63)",
                 f"SIP/2.0 500 Privacy Unavailable: {value}", r.start)
        check_eq(f"PCSCF-T {priv}: PAI in the 500 (R73)", [], r.all(PAI))
        step(f"PCSCF-T {priv}: '{r.start}', nothing reached the UE")


def callee_hangs_up(ctx, node, pt):
    pvit.callee_bye(ctx, "pcscf-t-callee-bye-user-id", node.lsn["pcscf.core"], RURI,
                    "Privacy: user;id", pt.core_uac, pt.ue, BOB, (PAI, "user-agent"))
    step("PCSCF-T Privacy: user;id, the UE hangs up: its BYE reached the core with To "
         "anonymous (R75, TC-23b) and the asserted PAI (R27); the caller's 200 (PAI, "
         "User-Agent, no Privacy) reached the UE without them (R74, R78, TC-24)")


def cancel(ctx, node, pt):
    pvit.cancelled(ctx, "pcscf-t-cancel-user", node.lsn["pcscf.core"], RURI,
                   "Privacy: user", pt.core_uac, pt.ue, USER, BOB)
    step("PCSCF-T Privacy: user, the caller cancels: the UE got the node's CANCEL and "
         "its ACK of the 487 with the anonymous From and no PAI (R77)")


def message(ctx, node, pt):
    label = "pcscf-t-message-id"
    c = pvit.Case(ctx, label, node.lsn["pcscf.core"], "uac_message.xml",
                  pvit.keys(ruri=RURI, privacy="Privacy: id"), pt.core_uac, pt.ue,
                  "uas_message.xml").run()
    s, g = c.sent_by_uac(pvit.req("MESSAGE"), "MESSAGE"), c.got_by_uas(pvit.req("MESSAGE"),
                                                                       "MESSAGE")
    pvit.relayed(f"{label}: MESSAGE at the UE", s, g, (PAI, "privacy"))
    s, g = (c.sent_by_uas(pvit.resp(200, "MESSAGE"), "200"),
            c.got_by_uac(pvit.resp(200, "MESSAGE"), "200"))
    pvit.relayed(f"{label}: 200 at the S-CSCF", s, g, ignore=(PAI,))
    check_eq(f"{label}: 200 at the S-CSCF: PAI (R27, R78)", BOB, g.all(PAI))
    step("PCSCF-T MESSAGE with Privacy: id: PAI and Privacy gone, body unchanged (TC-13); "
         "the UE's 200 carries the asserted PAI (R78)")


def subscription(ctx, node, pt):
    label = "pcscf-t-subscribe-user-id"
    c = pvit.Case(ctx, label, node.lsn["pcscf.core"], "uac_subscribe.xml",
                  pvit.keys(ruri=RURI, privacy="Privacy: user;id"), pt.core_uac,
                  pt.ue, "uas_subscribe.xml").run()
    subs = [m for m in c.uac if m.sent and m.method == "SUBSCRIBE"]
    for cseq, drop in (("1 SUBSCRIBE", USER), ("2 SUBSCRIBE", (PAI, "user-agent"))):
        s = c.sent_by_uac(lambda m, q=cseq: m.req and m.cseq == q, cseq)
        g = c.got_by_uas(lambda m, q=cseq: m.req and m.cseq == q, cseq)
        pvit.relayed(f"{label}: {cseq} at the UE", s, g, drop, {"from": pvit.anon_from(s)})
    check(len(subs) >= 2, f"{label}: the UAC sent {len(subs)} SUBSCRIBEs")
    for cseq in ("1 NOTIFY", "2 NOTIFY"):
        s = c.sent_by_uas(lambda m, q=cseq: m.req and m.cseq == q, cseq)
        g = c.got_by_uac(lambda m, q=cseq: m.req and m.cseq == q, cseq)
        pvit.relayed(f"{label}: {cseq} at the watcher", s, g, ignore=(PAI,))
        check_eq(f"{label}: {cseq} at the watcher: PAI (R27)", BOB, g.all(PAI))
        check(g.one("to").startswith(pvit.ANON_FROM),
              f"{label}: {cseq}: To must stay anonymous (R75): {g.one('to')!r}")
    for cseq in ("1 SUBSCRIBE", "2 SUBSCRIBE"):
        s = c.sent_by_uas(lambda m, q=cseq: not m.req and m.cseq == q, f"200 to {cseq}")
        g = c.got_by_uac(lambda m, q=cseq: not m.req and m.cseq == q, f"200 to {cseq}")
        pvit.relayed(f"{label}: 200 to {cseq} at the watcher", s, g, ignore=(PAI,))
        check_eq(f"{label}: 200 to {cseq} at the watcher: PAI (R78)", BOB, g.all(PAI))
    step("PCSCF-T subscription with Privacy: user;id: both SUBSCRIBEs anonymised (R79); the "
         "NOTIFYs reached the watcher with To anonymous (R75) and the UE's PAI replaced by the "
         "asserted one (R27), as in the 200s (R78)")


def originating(ctx, node, pt):
    label = "pcscf-o-header-critical"
    priv = "Privacy: header;critical"
    c = pvit.call(ctx, label, node.lsn["pcscf.ue"], "sip:bob@core.test", priv, pt.ue_uac,
                  pt.core_uas, p180=pvit.no_privacy_line("180"), p200="Privacy: id")
    s, g = c.sent_by_uac(pvit.req("INVITE"), "INVITE"), c.got_by_uas(pvit.req("INVITE"),
                                                                     "INVITE")
    pvit.relayed(f"{label}: INVITE at the core", s, g, ignore=(PAI,))
    check_eq(f"{label}: INVITE at the core: PAI (R27: the UE's replaced by the asserted one)",
             ["<sip:alice@home1.net>"], g.all(PAI))
    for method in ("ACK", "BYE"):
        s, g = c.sent_by_uac(pvit.req(method), method), c.got_by_uas(pvit.req(method), method)
        pvit.relayed(f"{label}: {method} at the core", s, g, ignore=(PAI,))
        check(g.all(PAI) in ([], ["<sip:alice@home1.net>"]),
              f"{label}: {method} at the core: PAI {g.all(PAI)!r}: only the asserted identity "
              f"may be there")
    step(f"PCSCF-O {priv}: forwarded with Privacy, From, Subject untouched (R26, TC-02); the "
         f"UE's two PAI replaced by one asserted PAI (R27, TC-01c)")
    s, g = c.sent_by_uas(pvit.resp(180, "INVITE"), "180"), c.got_by_uac(pvit.resp(180, "INVITE"),
                                                                        "180")
    pvit.relayed(f"{label}: 180 (no Privacy) at the UE", s, g, ())
    s, g = c.sent_by_uas(pvit.resp(200, "INVITE"), "200"), c.got_by_uac(pvit.resp(200, "INVITE"),
                                                                        "200")
    pvit.relayed(f"{label}: 200 (Privacy: id) at the UE", s, g, (PAI, "privacy"))
    step("PCSCF-O responses: 180 without Privacy kept both PAI (TC-16b, R36); 200 with "
         "Privacy: id lost PAI and Privacy (TC-16a, R25, R31)")


def retransmitted_2xx(ctx, node, pt):
    label = "pcscf-o-2xx-copy"
    sent, got = pvit.repeated_2xx(ctx, label, node.lsn["pcscf.ue"], "sip:bob@core.test",
                                  pt.ue_uac, pt.core_uas, "Privacy: id")
    check(len(got) >= 2, f"{label}: the UE got {len(got)} copies of the 200 (two were sent)")
    for g in got:
        pvit.relayed(f"{label}: a copy of the 200 (Privacy: id) at the UE", sent, g,
                     (PAI, "privacy"))
    step(f"PCSCF-O: both copies of the core's 200 with Privacy: id reached the UE without PAI "
         f"and Privacy, byte for byte alike (R31, R77)")


def test(ctx):
    pt = pvit.Ports()
    node = pvit.Node(ctx, pvit.conf(pt, extra_pcscf=(
        "    subscribers:\n"
        f"      - {{flow: \"127.0.0.1:{pt.ue_uac}\", "
        "impus: \"sip:alice@home1.net, tel:+4930111001\"}\n"
        f"      - {{flow: \"127.0.0.1:{pt.ue}\", "
        "impus: \"sip:bob@home2.net, tel:+4930222002\"}\n")))
    terminating(ctx, node, pt)
    callee_hangs_up(ctx, node, pt)
    cancel(ctx, node, pt)
    message(ctx, node, pt)
    subscription(ctx, node, pt)
    originating(ctx, node, pt)
    retransmitted_2xx(ctx, node, pt)
    node.stop()
    step("sipveil stopped with 0; its log (level info) names no identity")


if __name__ == "__main__":
    svit.run(test)
