#!/usr/bin/env python3
"""
@file run_nodes.py  config/run_nodes: `sipveil run --config FILE` starts every node, each a
stateful proxy on all its listeners, in one process.

A file with two nodes, each on a UDP port the kernel picks (and alpha on TCP too): one
readiness line per listener, `ready udp 127.0.0.1:<port> node <name>` (and `ready tcp ...`),
then OPTIONS to each port gets 200 with the RFC 3261 echo; an INVITE to the node itself gets
404 (beta has no route; alpha's default route leads to a closed port, so its INVITE is sent
there and answered 100 first); the log says each node is a proxy listening on its addresses;
log.level from the file applies (debug lines) unless --log-level overrides it; SIGTERM stops
it with 0. A file whose only listener is TCP is served (OPTIONS over TCP gets 200), and one
whose UDP port is taken exits 69, naming port and node.
"""
import re
import signal
import socket
import subprocess

import cfgit
import svit
from cfgit import EX_UNAVAILABLE
from svit import check, check_eq, expect_status, step

CONFIG = """# two nodes on kernel-chosen ports
log:
  level: debug
nodes:
  - name: alpha
    role: proxy
    listeners:
      - {transport: udp, address: "127.0.0.1:0"}
      - {transport: tcp, address: "127.0.0.1:0"}
    routes:
      - {match: default, next_hop: "udp:127.0.0.1:5080"}
  - name: beta
    role: scscf
    domain: ims.example
    listeners:
      - transport: udp
        address: 127.0.0.1:0
"""

READY = r"^ready udp 127\.0\.0\.1:(\d+) node (\S+)$"
READY_TCP = r"^ready tcp 127\.0\.0\.1:(\d+) node (\S+)$"


class Run:
    """`sipveil run --config PATH [extra]`, waited for until @p nready listeners are ready."""

    def __init__(self, ctx, path, nready, *extra):
        name = ctx.unique("sipveil")
        self.stderr_path = ctx.path(name + ".stderr")
        self._err = open(self.stderr_path, "wb")
        svit.add_log("sipveil run --config stderr", self.stderr_path)
        self.proc = svit.Proc("sipveil run --config",
                              [ctx.sipveil, "run", "--config", path, *extra],
                              stdout=subprocess.PIPE, stderr=self._err,
                              stdin=subprocess.DEVNULL)
        self.out = out = svit.LineReader(self.proc.p.stdout, "sipveil run --config")
        self.ports = {}
        for _ in range(nready):
            m = out.wait_for(READY, 15, f"{nready} 'ready udp 127.0.0.1:<port> node <name>' "
                                        f"lines")
            self.ports[m.group(2)] = int(m.group(1))
        check_eq("nodes announced", nready, len(self.ports))

    def stop(self):
        rc = self.proc.stop(signal.SIGTERM)
        self._err.flush()
        with open(self.stderr_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        svit.check_no_sanitizer_report(log, "sipveil run --config")
        check_eq("exit status of sipveil run --config after SIGTERM", 0, rc)
        return log


def test_two_nodes(ctx):
    path = cfgit.write(ctx, "two.yaml", CONFIG)
    run = Run(ctx, path, 2)
    check_eq("nodes announced", ["alpha", "beta"], sorted(run.ports))
    check(run.ports["alpha"] != run.ports["beta"], f"two nodes on one port: {run.ports}")
    step(f"ready: alpha on udp {run.ports['alpha']}, beta on udp {run.ports['beta']}")
    for node, port in sorted(run.ports.items()):
        cl = svit.Client(port)
        expect_status(cl, cl.request("OPTIONS"), 200, f"OPTIONS to {node}")
        step(f"{node}: OPTIONS -> 200")
    cl = svit.Client(run.ports["beta"])
    expect_status(cl, cl.request("INVITE"), 404, "INVITE to beta (no route)")
    step("beta: INVITE to itself, no route -> 404")
    # once more to the first: both sockets live in one loop, neither starves the other
    cl = svit.Client(run.ports["alpha"])
    expect_status(cl, cl.request("OPTIONS"), 200, "OPTIONS to alpha, again")
    log = run.stop()
    for pat, what in ((r"notice run +2 nodes configured, each a stateful proxy",
                       "the notice that each node is a proxy"),
                      (r"node alpha: proxy listening on tcp 127\.0\.0\.1:\d+",
                       "alpha's TCP listening line"),
                      (r"node beta: proxy listening on udp 127\.0\.0\.1:"
                       + str(run.ports["beta"]), "beta's listening line"),
                      (r"debug +proxy +(\[[^]]*\] )?node alpha: OPTIONS cid [0-9a-f]+ "
                       r"answered 200",
                       "debug lines (log.level: debug from the file)")):
        check(re.search(pat, log), f"the log lacks {what} ({pat!r}):\n{log}")
    step("log: proxy notice, TCP listener served, debug level from the file; SIGTERM -> exit 0")

    run = Run(ctx, path, 2, "--log-level", "notice")
    cl = svit.Client(run.ports["beta"])
    expect_status(cl, cl.request("OPTIONS"), 200, "OPTIONS to beta")
    log = run.stop()
    check(" debug " not in log, f"--log-level notice should override log.level debug:\n{log}")
    step("--log-level notice overrides the file's log.level")


def test_unservable(ctx):
    path = cfgit.write(ctx, "tcp-only.yaml", "nodes:\n  - name: t\n    role: proxy\n"
                                             "    listeners:\n"
                                             "      - {transport: tcp, address: 127.0.0.1:0}\n")
    run = Run(ctx, path, 0)
    port = int(run.out.wait_for(READY_TCP, 15, "'ready tcp 127.0.0.1:<port> node t'").group(1))
    with socket.create_connection((svit.LOOPBACK, port), timeout=5) as s:
        s.sendall(b"OPTIONS sip:t@127.0.0.1:%d;transport=tcp SIP/2.0\r\n"
                  b"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtcponly\r\nMax-Forwards: 70\r\n"
                  b"From: <sip:a@b>;tag=1\r\nTo: <sip:t@127.0.0.1>\r\nCall-ID: tcponly@x\r\n"
                  b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % port)
        got = s.recv(4096)
    check(got.startswith(b"SIP/2.0 200"), f"OPTIONS over TCP to a TCP-only node: {got[:80]!r}")
    run.stop()
    step("only a TCP listener: served, OPTIONS over TCP -> 200")

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((svit.LOOPBACK, 0))
    port = s.getsockname()[1]
    try:
        path = cfgit.write(ctx, "busy.yaml", CONFIG.replace(
            "address: 127.0.0.1:0\n", f"address: 127.0.0.1:{port}\n"))
        out, err = cfgit.expect(ctx, ["run", "--config", path], EX_UNAVAILABLE)
    finally:
        s.close()
    check("ready" not in out, f"no ready line when a port is busy: {out!r}")
    check(f"cannot bind udp 127.0.0.1:{port} of node beta" in err,
          f"a busy port: the message should name the port and the node: {err!r}")
    step(f"beta's UDP port busy: exit 69, nothing announced, {err.strip().splitlines()[-1]!r}")


def test(ctx):
    test_two_nodes(ctx)
    test_unservable(ctx)


if __name__ == "__main__":
    svit.run(test)
