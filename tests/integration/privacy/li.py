#!/usr/bin/env python3
"""
@file li.py  privacy/li: lawful interception through a running edge node (R62, issue 4 §4).

One `sipveil run` node `edge` (role icscf) with a core listener; the Python client is the
trusted core peer (trusted by its port), the Python UAS an untrusted network. li.targets names
alice. Cases:
- 20 MESSAGEs from the target with Privacy: id reach the UAS without P-Asserted-Identity, and
  the sink holds exactly one record per message (method, Call-ID, the PAI, "id" performed);
  5 MESSAGEs of a non-target leave no record. `sipveil li verify` counts 20 records.
- The sink cannot be written (RLIMIT_FSIZE 0, SIGXFSZ ignored: every write fails with EFBIG):
  a target's anonymised MESSAGE is refused with 500 and nothing reaches the UAS; a non-target's
  MESSAGE still goes through; the log has the alarm and none of the target's identity.
- kill -9 in the middle of a stream of target MESSAGEs: every Call-ID the UAS received has its
  record, every line of the sink is a complete record, and a restart appends to the same file.
"""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402

READY = r"^ready udp 127\.0\.0\.1:(\d+) node edge$"


def conf(peer_port, uas_port, sink):
    return f"""workers: 2
log:
  level: info
li:
  sink: "{sink}"
  targets: "sip:alice@home1.net, tel:+4930111001"
nodes:
  - name: edge
    role: icscf
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
    peers:
      - {{address: 127.0.0.1, port: {peer_port}, trusted: true}}
    routes:
      - {{match: default, next_hop: "udp:127.0.0.1:{uas_port}"}}
"""


def no_fsize():
    """In the child: every write to a file fails (EFBIG) instead of killing it (SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


class Edge:
    def __init__(self, ctx, text, fsize_zero=False):
        name = ctx.unique("edge")
        path = ctx.path(name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        # stderr through a pipe: with RLIMIT_FSIZE 0 a log file could not be written either
        self.proc = svit.Proc(name, [ctx.sipveil, "run", "--config", path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL,
                              setup=no_fsize if fsize_zero else None)
        out = svit.LineReader(self.proc.p.stdout, name)
        self.port = int(out.wait_for(READY, 15, "the edge's ready line").group(1))

    def stop(self, sig=signal.SIGTERM):
        rc = self.proc.stop(sig)
        err = self.proc.p.stderr.read().decode("utf-8", "replace")
        if sig == signal.SIGTERM:
            svit.check_no_sanitizer_report(err, "sipveil run")
            check_eq("exit status after SIGTERM", 0, rc)
        return err


def message(port, user, n, privacy="id"):
    tel = "+4930111001" if user == "alice" else "+4930222002"
    return (f"MESSAGE sip:carol@example.org SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-li-{user}-{n}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: \"{user.title()}\" <sip:{user}@home1.net>;tag=t{n}\r\n"
            f"To: <sip:carol@example.org>\r\nCall-ID: li-{user}-{n}@core.test\r\n"
            f"CSeq: 1 MESSAGE\r\nP-Asserted-Identity: <sip:{user}@home1.net>\r\n"
            f"P-Asserted-Identity: <tel:{tel}>\r\nPrivacy: {privacy}\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


class Uas:
    """The untrusted network: answers 200 and keeps what it got."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((svit.LOOPBACK, 0))
        self.port = self.s.getsockname()[1]
        self.got = []

    def pump(self, want, timeout):
        end = time.monotonic() + timeout
        while len(self.got) < want and time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                data, peer = self.s.recvfrom(65535)
            except socket.timeout:
                break
            msg = data.decode("utf-8", "replace")
            self.got.append(msg)
            head = msg.split("\r\n\r\n", 1)[0].split("\r\n")
            keep = [h + (";tag=u" if re.match(r"(?i)to:", h) else "") for h in head[1:]
                    if re.match(r"(?i)(via|from|to|call-id|cseq):", h)]
            self.s.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
                           "\r\nContent-Length: 0\r\n\r\n").encode(), peer)
        return len(self.got)


def records(path):
    with open(path) as f:
        lines = f.read().split("\n")
    check_eq("the sink ends with a complete line", "", lines[-1])
    return [json.loads(x) for x in lines[:-1]]


def callid_of(msg):
    m = re.search(r"(?im)^Call-ID:\s*(\S+)", msg)
    return m.group(1) if m else None


def li_verify(ctx, path):
    r = subprocess.run([ctx.sipveil, "li", "verify", path], capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def test_records(ctx):
    sink = ctx.path("li-records.jsonl")
    uas = Uas()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((svit.LOOPBACK, 0))
    pport = peer.getsockname()[1]
    edge = Edge(ctx, conf(pport, uas.port, sink))
    check_eq("sink mode", 0o600, os.stat(sink).st_mode & 0o777)
    for n in range(20):
        peer.sendto(message(pport, "alice", n), (svit.LOOPBACK, edge.port))
    for n in range(5):
        peer.sendto(message(pport, "bob", n), (svit.LOOPBACK, edge.port))
    check_eq("MESSAGEs delivered", 25, uas.pump(25, 10))
    for msg in uas.got:
        check("P-Asserted-Identity" not in msg, f"PAI withheld toward the untrusted network:\n{msg}")
    recs = records(sink)
    check_eq("LI records: one per anonymised target message", 20, len(recs))
    ids = sorted(r["call_id"] for r in recs)
    check_eq("their Call-IDs", sorted(f"li-alice-{n}@core.test" for n in range(20)), ids)
    for r in recs:
        check_eq("record method", "MESSAGE", r["method"])
        check(any("alice@home1.net" in p for p in r["pai"]), f"the record keeps the PAI: {r}")
        check("id" in r["performed"], f"the record says id was performed: {r}")
        check_eq("record node", "edge", r["node"])
    log = edge.stop()
    check("alice" not in log and "4930111001" not in log,
          "no identity of the target in the ordinary log")
    rc, out = li_verify(ctx, sink)
    check_eq("sipveil li verify exit status", 0, rc)
    check(re.search(r"\b20 records\b", out), f"li verify counts 20 records: {out!r}")
    step("20 target MESSAGEs: 20 records (Call-ID, PAI, id), none for the non-target, "
         "PAI withheld on the wire, li verify: 20 records")


def test_sink_unwritable(ctx):
    sink = ctx.path("li-full.jsonl")
    open(sink, "w").close()
    os.chmod(sink, 0o600)
    uas = Uas()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((svit.LOOPBACK, 0))
    pport = peer.getsockname()[1]
    peer.settimeout(5)
    edge = Edge(ctx, conf(pport, uas.port, sink), fsize_zero=True)
    peer.sendto(message(pport, "alice", 1), (svit.LOOPBACK, edge.port))
    data, _ = peer.recvfrom(65535)
    check(data.startswith(b"SIP/2.0 500 "), f"a target's MESSAGE with the sink unwritable: "
                                              f"500, got {data[:40]!r}")
    check_eq("delivered while the sink fails", 0, uas.pump(1, 0.5))
    peer.sendto(message(pport, "bob", 1), (svit.LOOPBACK, edge.port))
    check_eq("a non-target's MESSAGE is still delivered", 1, uas.pump(1, 5))
    data, _ = peer.recvfrom(65535)
    check(data.startswith(b"SIP/2.0 200 "), f"the non-target gets 200, got {data[:40]!r}")
    log = edge.stop()
    check(re.search(r"ALARM: LI sink .*append failed", log), "the alarm is logged")
    check("alice" not in log and "4930111001" not in log,
          "the alarm names no identity of the target")
    check_eq("sink size", 0, os.path.getsize(sink))
    step("sink unwritable: the target's MESSAGE refused 500, nothing delivered; the "
         "non-target's delivered; an alarm without identity in the log")


def test_kill9(ctx):
    sink = ctx.path("li-kill.jsonl")
    uas = Uas()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((svit.LOOPBACK, 0))
    pport = peer.getsockname()[1]
    text = conf(pport, uas.port, sink)
    edge = Edge(ctx, text)
    sent = 0
    t_end = time.monotonic() + 0.6
    while time.monotonic() < t_end:
        for _ in range(20):
            peer.sendto(message(pport, "alice", sent), (svit.LOOPBACK, edge.port))
            sent += 1
        uas.pump(len(uas.got) + 1, 0.005)
    os.kill(edge.proc.pid, signal.SIGKILL)  # in the middle of the stream
    edge.proc.p.wait()
    uas.pump(10 ** 6, 0.3)  # what was already on its way
    delivered = {callid_of(m) for m in uas.got}
    check(len(delivered) > 10, f"the kill came during the load ({len(delivered)} delivered)")
    rc, out = li_verify(ctx, sink)
    check_eq(f"li verify after kill -9 ({out.strip()})", 0, rc)
    recorded = {r["call_id"] for r in records(sink)}
    missing = delivered - recorded
    check(not missing, f"every delivered MESSAGE has its record; missing: {sorted(missing)[:5]}")
    before = len(recorded)
    edge2 = Edge(ctx, text)
    peer.sendto(message(pport, "alice", 10 ** 6), (svit.LOOPBACK, edge2.port))
    uas.pump(len(uas.got) + 1, 5)
    edge2.stop()
    check_eq("records after a restart (appended)", before + 1, len(records(sink)))
    step(f"kill -9 after {sent} sent, {len(delivered)} delivered: every delivered one has its "
         f"record ({before} records, all complete); a restart appends")


def test(ctx):
    test_records(ctx)
    test_sink_unwritable(ctx)
    test_kill9(ctx)


if __name__ == "__main__":
    svit.run(test)
