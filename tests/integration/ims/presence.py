#!/usr/bin/env python3
"""
@file presence.py  The Presence Server of the lab, first cut (issue 6): PUBLISH and
SUBSCRIBE/NOTIFY through P-CSCF, S-CSCF (terminating iFC) and the PS, with SIPp UEs.

- alice publishes her PIDF (200 with SIP-ETag); bob publishing for alice gets 403 and alice's
  state is unchanged (R87, R88: only the presentity's own asserted identities publish).
- alice subscribes to her own presence: 200, then a NOTIFY with Subscription-State active and
  her PIDF; her un-SUBSCRIBE gets 200 and a NOTIFY terminated.
- alice subscribes to her watcher information: the NOTIFY lists her presence subscription as
  a watcher (RFC 3857/3858); bob's SUBSCRIBE to alice's winfo gets 403 (R97).
- bob's SUBSCRIBE to alice's presence gets 403: no pres-rules are evaluated yet, and without
  them nobody but the presentity may watch.
"""
import imsit
import pvit
import svit
from svit import check, check_eq, step


def run_ue(ctx, lab, user, pw, xml, **keys):
    port = imsit.free_port_pair()
    k = dict(impu=f"sip:{user}@ims.example", contact=f"<sip:{user}@127.0.0.1:{port}>")
    k.update(keys)
    p, work = imsit.sipp(ctx, lab, f"{user}-{xml.split('.')[0]}", xml,
                         pvit.keys(**k) + ["-au", f"{user}@ims.example", "-ap", pw], port=port)
    rc = p.wait(30, f"{user}'s SIPp ({xml})")
    return rc, pvit.trace(work)


def test(ctx):
    lab = imsit.Lab(ctx)

    rc, msgs = run_ue(ctx, lab, "alice", "alice-pw", "reg_publish.xml",
                      to="sip:alice@ims.example", status="open")
    check_eq("alice's PUBLISH SIPp exit status", 0, rc)
    ok = pvit.first(msgs, False, lambda m: m.code == 200 and "PUBLISH" in (m.cseq or ""),
                    "the 200 to PUBLISH")
    check(len(ok.all("sip-etag")) == 1, f"no SIP-ETag in the 200 to PUBLISH: {ok.lines}")
    step("alice published her presence: 200 with a SIP-ETag")

    rc, msgs = run_ue(ctx, lab, "bob", "bob-pw", "reg_publish_403.xml",
                      to="sip:alice@ims.example", status="closed")
    check_eq("bob's PUBLISH for alice: SIPp exit status (403 expected)", 0, rc)
    step("bob publishing alice's presence got 403 (R87, R88)")

    rc, msgs = run_ue(ctx, lab, "alice", "alice-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence")
    check_eq("alice's SUBSCRIBE SIPp exit status", 0, rc)
    notes = [m for m in msgs if not m.sent and m.method == "NOTIFY"]
    check_eq("NOTIFYs alice received", 2, len(notes))
    check(notes[0].one("subscription-state").startswith("active"),
          f"first NOTIFY: {notes[0].one('subscription-state')}")
    check("<basic>open</basic>" in notes[0].body, f"alice's PIDF not in the NOTIFY: {notes[0].body}")
    check("closed" not in notes[0].body, "bob's refused PUBLISH changed alice's state")
    check(notes[1].one("subscription-state").startswith("terminated"),
          f"last NOTIFY: {notes[1].one('subscription-state')}")
    step("alice watched herself: NOTIFY active with her PIDF (bob's publication not in it), "
         "then terminated on un-SUBSCRIBE")

    rc, msgs = run_ue(ctx, lab, "alice", "alice-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence.winfo")
    check_eq("alice's winfo SUBSCRIBE SIPp exit status", 0, rc)
    notes = [m for m in msgs if not m.sent and m.method == "NOTIFY"]
    check(notes and "watcherinfo" in notes[0].body, "no watcherinfo document in the NOTIFY")
    step("alice subscribed to her watcher information (RFC 3857)")

    for event in ("presence", "presence.winfo"):
        rc, msgs = run_ue(ctx, lab, "bob", "bob-pw", "reg_subscribe.xml",
                          to="sip:alice@ims.example", event=event)
        codes = [m.code for m in msgs if not m.sent and m.code and "SUBSCRIBE" in (m.cseq or "")]
        check(403 in codes, f"bob's SUBSCRIBE ({event}) to alice: {codes}")
    step("bob's SUBSCRIBEs to alice's presence and watcher information got 403 (R97)")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
