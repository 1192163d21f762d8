#!/usr/bin/env python3
"""
@file cancel.py  proxy/cancel: a CANCEL through the stateful proxy (RFC 3261 §16.10).

A SIPp UAS (sipp/uas_cancel.xml) answers each INVITE with 180 and never 200; the SIPp UAC
(sipp/uac_cancel.xml) sends CANCEL after the 180 and requires 200 to the CANCEL and then 487
to the INVITE, which it ACKs. The UAS must receive the proxy's CANCEL, answer it 200 and the
INVITE 487, and receive the proxy's hop-by-hop ACK for the 487. 5 calls over UDP. From the
UAS's message log: each CANCEL carries the branch of the INVITE it cancels (§9.1) and one Via,
each ACK the same branch and CSeq number (§17.1.1.3), and no ACK from the UAC crossed the
proxy.

Second part, a CANCEL that matches nothing (§16.10): the SIPp UAC (sipp/uac_cancel_stray.xml)
sends CANCELs for INVITEs the proxy never saw, and must get the UAS's 481 back; the UAS
(sipp/uas_cancel_stray.xml) must receive each one forwarded statelessly: two Vias (the proxy's
above the UAC's, §16.11), Max-Forwards decremented. The proxy stops with 0, ASan clean.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pxit  # noqa: E402

CALLS = 5


def test(ctx):
    work, _ = pxit.pair_run(ctx, "cancel", "uac_cancel.xml", "uas_cancel.xml", CALLS)
    step(f"{CALLS} calls INVITE/180/CANCEL: the UAC got 200 to the CANCEL and 487 to the "
         f"INVITE; the UAS got the CANCEL and the ACK of its 487")
    msgs = pxit.received(work)
    invites = {pxit.hdr_all(m, "call-id")[0]: m for m in msgs if m[0].startswith("INVITE ")}
    check_eq("INVITEs at the UAS", CALLS, len(invites))
    for method in ("CANCEL", "ACK"):
        got = [m for m in msgs if m[0].startswith(method + " ")]
        check(len(got) >= CALLS, f"{method}s at the UAS: expected {CALLS}, got {len(got)}")
        for m in got:
            inv = invites.get(pxit.hdr_all(m, "call-id")[0])
            check(inv is not None, f"{method} for a call the UAS never saw: {m}")
            vias = pxit.hdr_all(m, "via")
            check_eq(f"{method}: Via headers (the proxy's only)", 1, len(vias))
            want = pxit.branch_of(pxit.hdr_all(inv, "via")[0])
            check(want and want.startswith("z9hG4bKsv"), f"INVITE's top Via: {want!r}")
            check_eq(f"{method}: branch (the proxy's INVITE branch)", want, pxit.branch_of(vias[0]))
            check_eq(f"{method}: Request-URI", inv[0].split()[1], m[0].split()[1])
            inv_cseq = pxit.hdr_all(inv, "cseq")[0].split()[0]
            check_eq(f"{method}: CSeq", f"{inv_cseq} {method}", pxit.hdr_all(m, "cseq")[0])
    step("each CANCEL and ACK at the UAS carries the proxy's INVITE branch, one Via, the "
         "INVITE's CSeq number")

    work, _ = pxit.pair_run(ctx, "cancel-stray", "uac_cancel_stray.xml",
                            "uas_cancel_stray.xml", CALLS)
    step(f"{CALLS} CANCELs matching no INVITE: the UAC got the UAS's 481 through the proxy")
    got = [m for m in pxit.received(work) if m[0].startswith("CANCEL ")]
    check(len(got) >= CALLS, f"CANCELs at the UAS: expected {CALLS}, got {len(got)}")
    for m in got:
        vias = pxit.hdr_all(m, "via")
        check_eq("stateless CANCEL: Via headers (the proxy's, then the UAC's)", 2, len(vias))
        ours = pxit.branch_of(vias[0]) or ""
        check(ours.startswith("z9hG4bKsv") and ours.endswith("c"),
              f"stateless CANCEL: the proxy's branch, derived from the CANCEL's: {ours!r}")
        check((pxit.branch_of(vias[1]) or "").startswith("z9hG4bK-s"),
              f"stateless CANCEL: the UAC's Via second: {vias[1]!r}")
        check_eq("stateless CANCEL: Max-Forwards", "69", pxit.hdr_all(m, "max-forwards")[0])
        check_eq("stateless CANCEL: Record-Route headers", 0, len(pxit.hdr_all(m, "record-route")))
    step("each unmatched CANCEL reached the UAS statelessly forwarded: the proxy's Via above the "
         "UAC's, Max-Forwards 69, no Record-Route")


if __name__ == "__main__":
    svit.run(test)
