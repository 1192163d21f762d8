"""
@file pxit.py  Shared helpers of the proxy integration tests (tests/integration/proxy/*.py):
a one-node proxy config, a SIPp UAC/UAS pair run through it, and a reader of SIPp's
-trace_msg log, so that a test can judge the exact messages a peer received.

Python 3 standard library only; builds on svit.py and calls.py (Proxy, sipp).
"""
import os
import re

import svit
from svit import check_eq
from calls import Proxy, sipp  # noqa: F401  (re-exported for the tests)

T1_CONF = "timers:\n  t1: 100ms\n"


def node_conf(routes, listeners=('{transport: udp, address: "127.0.0.1:0"}',), top=T1_CONF):
    """A config with one proxy node `p` and the given listener and route mappings."""
    lsn = "".join(f"      - {x}\n" for x in listeners)
    rts = "".join(f"      - {x}\n" for x in routes)
    return (f"workers: 1\nlog:\n  level: info\n{top}nodes:\n  - name: p\n    role: proxy\n"
            f"    listeners:\n{lsn}    routes:\n{rts}")


def received(work):
    """The SIP messages a SIPp instance received, from its -trace_msg log in @p work, in
    order; each as (start line, [(header name lower-case, value)])."""
    out = []
    for fn in sorted(os.listdir(work)):
        if not fn.endswith("_messages.log"):
            continue
        with open(os.path.join(work, fn), errors="replace") as f:
            text = f.read()
        for block in re.split(r"^-{10,}.*$", text, flags=re.M):
            m = re.search(r"message received \[\d+\] bytes :\s*\n\n(.*)", block, re.S)
            if not m:
                continue
            lines = [x.rstrip("\r") for x in m.group(1).split("\n")]
            hdrs = []
            for line in lines[1:]:
                if not line.strip():
                    break
                if ":" in line:
                    k, v = line.split(":", 1)
                    hdrs.append((k.strip().lower(), v.strip()))
            out.append((lines[0], hdrs))
    return out


def hdr_all(msg, name):
    return [v for k, v in msg[1] if k == name]


def branch_of(via):
    m = re.search(r";\s*branch=([^;,\s]+)", via)
    return m.group(1) if m else None


def pair_run(ctx, label, uac_xml, uas_xml, calls, conf_top=T1_CONF):
    """A proxy whose default route leads to a SIPp UAS running @p uas_xml, and a SIPp UAC
    running @p uac_xml with @p calls calls through it over UDP; both must exit 0.
    @return the UAS's work directory (its -trace_msg log) and the proxy's log."""
    uas_port = svit.free_udp_port()
    px = Proxy(ctx, node_conf([f'{{match: default, next_hop: "udp:127.0.0.1:{uas_port}"}}'],
                              top=conf_top), 1)
    sc = os.path.join(ctx.args.data, "sipp")
    uas, uas_work = sipp(ctx, label + "-uas", [
        "-sf", os.path.join(sc, uas_xml), "-i", svit.LOOPBACK, "-p", str(uas_port), "-t", "u1",
        "-m", str(calls), "-nostdin", "-trace_msg", "-trace_err"])
    uac, _ = sipp(ctx, label + "-uac", [
        "-sf", os.path.join(sc, uac_xml), "-i", svit.LOOPBACK, "-p", "0", "-t", "u1",
        "-m", str(calls), "-r", "10", "-s", "bob", "-nostdin", "-timeout", "15s",
        "-trace_err", f"{svit.LOOPBACK}:{px.ports['udp']}"])
    check_eq(f"{label}: UAC sipp exit status (0: all {calls} calls successful)", 0,
             uac.wait(20, "the UAC's calls"))
    check_eq(f"{label}: UAS sipp exit status (0: all checks passed)", 0,
             uas.wait(10, "the UAS's calls"))
    return uas_work, px.stop()
