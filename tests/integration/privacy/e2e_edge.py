#!/usr/bin/env python3
"""
@file e2e_edge.py  privacy/e2e_edge: the trust-domain edge (role icscf) end to end, judged on
the exact messages SIPp peers received (their -trace_msg logs).

One `sipveil run` with the nodes of pvit.conf(); this script drives node `edge`:

- Egress (TC-17..TC-19, R39-R42): a SIPp UAC on a port the trust table lists (the core)
  calls through the `core` listener; the route leads to a SIPp UAS playing Carol's network
  (in no `peers` entry: untrusted). INVITE/180/200/ACK/BYE/200 once per Privacy value: Carol
  must get the INVITE with exactly the edits the value asks for, the 2xx ACK and the BYE
  (no Privacy) the same treatment from the dialog's stored rules (R74-R77), and the core gets
  Carol's responses without her PAI (R43, R57). Without Privacy, PAI goes (knob
  `pai_when_no_privacy_to_untrusted_net` REMOVE, R40); with `none` the INVITE keeps it (R41).
  `header;critical` and `session;critical` get `500 Privacy Unavailable: <value>`, Carol
  nothing (R63).
- Carol hangs up a `user;id` call: her BYE reaches the core with the anonymous To untouched
  and without her PAI (R75, R43); the caller's 200 (PAI, User-Agent, no Privacy) reaches her
  without them, by the stored rules (R74, R78). A CANCEL after the 180 of a `user` call:
  the node's CANCEL and its ACK of the 487 carry the anonymous From (R77).
- MESSAGE with `user` (R20, R39): anonymous From, the six headers, PAI and Privacy gone.
- Ingress (TC-20, R43, R58): Carol calls into T through the `external` listener with a PAI,
  a PPI and `Privacy: none`; the core UAS (trusted) gets neither PAI nor PPI, and Privacy
  untouched. The core's answers leave T toward Carol (R39, R25): the 180 without Privacy
  loses PAI (R40), the 200 with `Privacy: id` loses PAI and Privacy; a copy of a 200 sent
  after the ACK (a Python callee repeats it) is treated as the original (R40, R77).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pvit  # noqa: E402
from pvit import DLG_USER, PAI, TRUST_ONLY, USER, WITHHOLD  # noqa: E402

RURI = "sip:carol@example.org"

# label, Privacy line, INVITE drops, INVITE anonymised, ACK/BYE drops, ACK/BYE anonymised.
# The ACK and BYE carry no Privacy: where nothing was performed on the INVITE (`none`) no
# rules are stored, and the knob REMOVE takes their PAI like any message without Privacy.
EGRESS = (
    ("none", "Privacy: none", TRUST_ONLY, False, (PAI,), False),            # TC-18b, R41
    ("absent", pvit.no_privacy_line(), (PAI,) + TRUST_ONLY, False, (PAI,), False),  # TC-18a
    ("id", "Privacy: id", WITHHOLD, False, (PAI,), False),                  # TC-17, R39
    ("user", "Privacy: user", USER, True, DLG_USER, True),                  # R39, R34, OP-4
    ("id-critical", "Privacy: id;critical", WITHHOLD, False, (PAI,), False),  # R63, R65
    ("user-id", "Privacy: user;id", USER, True, DLG_USER, True),            # R39, R74-R77
)
REFUSED = (("header-critical", "Privacy: header;critical", "header"),       # R63, R65
           ("session-critical", "Privacy: session;critical", "session"))


def egress(ctx, node, pt):
    to = node.lsn["edge.core"]
    for label, priv, inv_drop, inv_anon, dlg_drop, dlg_anon in EGRESS:
        c = pvit.call(ctx, "edge-out-" + label, to, RURI, priv, pt.core_uac, pt.carol)
        pvit.check_call(c, inv_drop, inv_anon, dlg_drop, dlg_anon)
        step(f"EDGE egress {priv}: Carol got the INVITE minus {', '.join(inv_drop)}"
             f"{' with the anonymous From' if inv_anon else ''}; ACK and BYE minus "
             f"{', '.join(dlg_drop) or 'nothing'}{' with the anonymous From' if dlg_anon else ''}"
             f"; her responses reached the core without her PAI")
    for label, priv, value in REFUSED:
        r = pvit.refused(ctx, "edge-out-" + label, to, RURI, priv, pt.core_uac, pt.carol)
        check_eq(f"EDGE egress {priv}: the final response (R63)",
                 f"SIP/2.0 500 Privacy Unavailable: {value}", r.start)
        step(f"EDGE egress {priv}: '{r.start}', nothing reached Carol")


def callee_hangs_up(ctx, node, pt):
    pvit.callee_bye(ctx, "edge-out-callee-bye-user-id", node.lsn["edge.core"], RURI,
                    "Privacy: user;id", pt.core_uac, pt.carol, [], (PAI, "user-agent"))
    step("EDGE egress Privacy: user;id, Carol hangs up: her BYE reached the core with To "
         "anonymous (R75) and without her PAI (R43); the caller's 200 (PAI, User-Agent, no "
         "Privacy) reached Carol without them (R74, R78)")


def cancel(ctx, node, pt):
    pvit.cancelled(ctx, "edge-out-cancel-user", node.lsn["edge.core"], RURI,
                   "Privacy: user", pt.core_uac, pt.carol, USER, [])
    step("EDGE egress Privacy: user, the caller cancels: Carol got the node's CANCEL and "
         "its ACK of the 487 with the anonymous From and no PAI (R77)")


def message(ctx, node, pt):
    label = "edge-out-message-user"
    c = pvit.Case(ctx, label, node.lsn["edge.core"], "uac_message.xml",
                  pvit.keys(ruri=RURI, privacy="Privacy: user"), pt.core_uac, pt.carol,
                  "uas_message.xml").run()
    s = c.sent_by_uac(pvit.req("MESSAGE"), "MESSAGE")
    g = c.got_by_uas(pvit.req("MESSAGE"), "MESSAGE")
    pvit.relayed(f"{label}: MESSAGE at Carol", s, g, USER, {"from": pvit.anon_from(s)})
    s = c.sent_by_uas(pvit.resp(200, "MESSAGE"), "200")
    g = c.got_by_uac(pvit.resp(200, "MESSAGE"), "200")
    pvit.relayed(f"{label}: 200 at the core", s, g, (PAI,))
    step("EDGE egress MESSAGE with Privacy: user: anonymous From, six headers, PAI and "
         "Privacy gone, body unchanged")


def ingress(ctx, node, pt):
    label = "edge-in-none"
    c = pvit.call(ctx, label, node.lsn["edge.external"], "sip:bob@core.test", "Privacy: none",
                  pt.ue_uac, pt.core_uas, p180=pvit.no_privacy_line("180"), p200="Privacy: id",
                  extra="P-Preferred-Identity: <sip:carol@example.org>")
    for method in ("INVITE", "ACK", "BYE"):
        s, g = c.sent_by_uac(pvit.req(method), method), c.got_by_uas(pvit.req(method), method)
        pvit.relayed(f"{label}: {method} at the core", s, g, (PAI, "p-preferred-identity"))
    step("EDGE ingress Privacy: none: the core got no PAI and no PPI from the untrusted "
         "network, Privacy untouched (TC-20, R43, R57, R58)")
    s = c.sent_by_uas(pvit.resp(180, "INVITE"), "180")
    g = c.got_by_uac(pvit.resp(180, "INVITE"), "180")
    pvit.relayed(f"{label}: 180 (no Privacy) at Carol", s, g, (PAI,))
    s = c.sent_by_uas(pvit.resp(200, "INVITE"), "200")
    g = c.got_by_uac(pvit.resp(200, "INVITE"), "200")
    pvit.relayed(f"{label}: 200 (Privacy: id) at Carol", s, g, (PAI, "privacy"))
    step("EDGE responses leaving T: 180 without Privacy lost PAI (R40), 200 with Privacy: id "
         "lost PAI and Privacy (R25, R39)")


def retransmitted_2xx(ctx, node, pt):
    label = "edge-in-2xx-copy"
    sent, got = pvit.repeated_2xx(ctx, label, node.lsn["edge.external"], "sip:bob@core.test",
                                  pt.ue_uac, pt.core_uas, pvit.no_privacy_line("200"))
    check(len(got) >= 2, f"{label}: Carol got {len(got)} copies of the 200 (two were sent)")
    for g in got:
        pvit.relayed(f"{label}: a copy of the 200 (no Privacy) at Carol", sent, g, (PAI,))
    step("EDGE: both copies of the core's 200 without Privacy reached Carol without PAI, byte "
         "for byte alike (R40, R77)")


def test(ctx):
    pt = pvit.Ports()
    node = pvit.Node(ctx, pvit.conf(pt))
    egress(ctx, node, pt)
    callee_hangs_up(ctx, node, pt)
    cancel(ctx, node, pt)
    message(ctx, node, pt)
    ingress(ctx, node, pt)
    retransmitted_2xx(ctx, node, pt)
    node.stop()
    step("sipveil stopped with 0; its log (level info) names no identity")


if __name__ == "__main__":
    svit.run(test)
