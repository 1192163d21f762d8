#!/usr/bin/env python3
"""
@file busy_486.py  proxy/busy_486: a non-2xx final through the stateful proxy.

A SIPp UAS (sipp/uas_busy.xml) answers each INVITE 486 Busy Here; the SIPp UAC
(sipp/uac_busy.xml) must get the 486 and ACKs it. The UAS must receive the proxy's own
hop-by-hop ACK: from its message log, each ACK has exactly one Via whose branch is the one of
the proxy's INVITE (RFC 3261 §17.1.1.3), the INVITE's CSeq number and Request-URI, and the To
tag of the 486; the UAC's ACK (its own branch) never crosses the proxy. 5 calls over UDP; the
proxy stops with 0, ASan clean.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
import pxit  # noqa: E402

CALLS = 5


def test(ctx):
    work, _ = pxit.pair_run(ctx, "busy", "uac_busy.xml", "uas_busy.xml", CALLS)
    step(f"{CALLS} calls: the UAC got 486 and ACKed it; the UAS got an ACK for each 486")
    msgs = pxit.received(work)
    invites = {pxit.hdr_all(m, "call-id")[0]: m for m in msgs if m[0].startswith("INVITE ")}
    check_eq("INVITEs at the UAS", CALLS, len(invites))
    acks = [m for m in msgs if m[0].startswith("ACK ")]
    check(len(acks) >= CALLS, f"ACKs at the UAS: expected {CALLS}, got {len(acks)}")
    for m in acks:
        inv = invites.get(pxit.hdr_all(m, "call-id")[0])
        check(inv is not None, f"ACK for a call the UAS never saw: {m}")
        vias = pxit.hdr_all(m, "via")
        check_eq("ACK: Via headers (the proxy's only, §17.1.1.3)", 1, len(vias))
        want = pxit.branch_of(pxit.hdr_all(inv, "via")[0])
        check(want and want.startswith("z9hG4bKsv"), f"INVITE's top Via branch: {want!r}")
        check_eq("ACK: branch (the proxy's INVITE branch)", want, pxit.branch_of(vias[0]))
        check_eq("ACK: Request-URI", inv[0].split()[1], m[0].split()[1])
        inv_cseq = pxit.hdr_all(inv, "cseq")[0].split()[0]
        check_eq("ACK: CSeq", f"{inv_cseq} ACK", pxit.hdr_all(m, "cseq")[0])
        check("SIPpTag01" in pxit.hdr_all(m, "to")[0], f"ACK: To without the 486's tag: "
                                                       f"{pxit.hdr_all(m, 'to')}")
    step("each ACK at the UAS is the proxy's: one Via, the proxy's INVITE branch, the "
         "INVITE's CSeq number and Request-URI, the 486's To tag")


if __name__ == "__main__":
    svit.run(test)
