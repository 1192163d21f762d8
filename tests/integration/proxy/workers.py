#!/usr/bin/env python3
"""
@file workers.py  proxy/workers: `sipveil run` with `workers: 2`, SIGHUP reloads, the graceful
stop, and /metrics.

- Sharding: MESSAGEs from 64 UDP source ports (the kernel spreads them over both workers by
  4-tuple) reach a Python UAS, each with the proxy's Via naming a worker's private port, never
  the shared listener port, and both workers' ports appear; every MESSAGE gets its 200 back
  (a response that reached the wrong worker would be dropped, and the sender would see 408).
- Four SIPp UACs make INVITE/ACK/BYE calls through the two workers; all succeed.
- /metrics (metrics.listen) counts the INVITEs of every worker, and says 2 workers.
- SIGHUP with a changed route: the next request follows the new route. SIGHUP with a changed
  listener: refused ("needs a restart"), the old route stays.
- SIGTERM with a transaction in progress: the TCP listener closes (connect refused), a new
  request gets 503 with Retry-After, and the process exits 0 once the grace time is over.
- A busy port is still an error with SO_REUSEPORT (exit 69), not a silent share.
- `scheduling`: the worker threads (named sv-w0, sv-w1) run SCHED_BATCH by default and
  SCHED_OTHER with `scheduling: normal`; the process thread stays SCHED_OTHER
  (/proc/PID/task/*/stat).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
from calls import free_tcp_port, sipp  # noqa: E402

CALLS = 25
READY = r"^ready (udp|tcp|tls|http) 127\.0\.0\.1:(\d+)"


def conf(hop_port, extra_listener=""):
    return f"""workers: 2
log:
  level: info
timers:
  t1: 100ms
metrics:
  listen: "127.0.0.1:0"
nodes:
  - name: p
    role: proxy
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
      - {{transport: tcp, address: "127.0.0.1:0"}}
{extra_listener}    routes:
      - {{match: domain, value: uas.test, next_hop: "udp:127.0.0.1:{hop_port}"}}
"""


class Node(svit.ConfigRun):
    """sipveil run --config on a file this test may rewrite (for SIGHUP)."""

    def __init__(self, ctx, text):
        svit.ConfigRun.__init__(self, ctx, text, "workers")
        self.ports = {}
        for _ in range(3):
            m = self.out.wait_for(READY, 15, "the node's ready lines")
            self.ports[m.group(1)] = int(m.group(2))

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def log(self):
        self._err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, after, what, timeout=5.0):
        """Wait until the log past offset @p after matches @p pattern (a readiness signal)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, self.log()[after:], re.M)
            if m:
                return m
            time.sleep(0.02)
        svit.fail(f"{what}: no log line matching {pattern!r} within {timeout} s")

    def metrics(self):
        url = f"http://127.0.0.1:{self.ports['http']}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            check_eq("/metrics status", 200, r.status)
            return r.read().decode()


class Uas:
    """A Python UDP UAS: answers each request 200 and keeps what it received."""

    def __init__(self, answer=True):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((svit.LOOPBACK, 0))
        self.port = self.s.getsockname()[1]
        self.answer = answer
        self.got = []

    def pump(self, until, timeout):
        """Receive (and answer) until @p until(self) is true; fail after @p timeout s."""
        end = time.monotonic() + timeout
        while not until(self):
            left = end - time.monotonic()
            if left <= 0:
                svit.fail(f"UAS {self.port}: waited {timeout} s; got {len(self.got)} requests")
            self.s.settimeout(left)
            try:
                data, peer = self.s.recvfrom(65535)
            except socket.timeout:
                continue
            msg = data.decode("utf-8", "replace")
            self.got.append(msg)
            if self.answer and not msg.startswith("ACK "):
                head = msg.split("\r\n\r\n", 1)[0].split("\r\n")
                keep = [h for h in head[1:] if re.match(r"(?i)(via|from|to|call-id|cseq):", h)]
                resp = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
                self.s.sendto(resp.encode(), peer)

    def close(self):
        self.s.close()


def top_via_port(msg):
    m = re.search(r"(?im)^Via:\s*SIP/2\.0/UDP\s+[^:;\s]+:(\d+)", msg)
    return int(m.group(1)) if m else None


def message(port, n, tag):
    return (f"MESSAGE sip:bob@uas.test SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{tag}-{n};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:alice@a.test>;tag={tag}{n}\r\n"
            f"To: <sip:bob@uas.test>\r\nCall-ID: {tag}-{n}@workers.test\r\n"
            f"CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n").encode()


def status_of(data):
    m = re.match(rb"SIP/2\.0 (\d{3})", data)
    return int(m.group(1)) if m else None


def test_sharding(ctx, node, uas):
    socks = []
    for n in range(64):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((svit.LOOPBACK, 0))
        s.settimeout(5)
        s.sendto(message(s.getsockname()[1], n, "shard"), (svit.LOOPBACK, node.ports["udp"]))
        socks.append(s)
    uas.pump(lambda u: len(u.got) >= 64, 10)
    ports = {top_via_port(m) for m in uas.got}
    check(None not in ports, "every forwarded MESSAGE has our UDP Via with a port")
    check(node.ports["udp"] not in ports,
          f"the Via of forwarded requests names a worker's private port, not the shared "
          f"listener port {node.ports['udp']} (seen {sorted(ports)})")
    check_eq("distinct Via ports (one per worker) over 64 sources", 2, len(ports))
    for s in socks:
        data, _ = s.recvfrom(65535)
        check_eq("the sender's response", 200, status_of(data))
        s.close()
    step(f"64 MESSAGEs from 64 ports: both workers forwarded (Via ports {sorted(ports)}), "
         f"every 200 came back through the worker that sent the request")


def test_calls(ctx, node, uas_port):
    sc = os.path.join(ctx.args.data, "sipp")
    uas, _ = sipp(ctx, "w-uas", ["-sf", os.path.join(sc, "uas.xml"), "-i", svit.LOOPBACK,
                                 "-p", str(uas_port), "-t", "u1", "-m", str(4 * CALLS),
                                 "-nostdin", "-trace_err"])
    uacs = [sipp(ctx, f"w-uac{k}", [
        "-sf", os.path.join(sc, "uac.xml"), "-i", svit.LOOPBACK, "-p", "0", "-t", "u1",
        "-m", str(CALLS), "-r", "25", "-s", "bob", "-nostdin", "-timeout", "30s",
        f"{svit.LOOPBACK}:{node.ports['udp']}"])[0] for k in range(4)]
    for k, u in enumerate(uacs):
        check_eq(f"UAC {k} exit status (0: all {CALLS} calls successful)", 0,
                 u.wait(40, "the UAC's calls"))
    check_eq("UAS exit status", 0, uas.wait(20, "the UAS's calls"))
    step(f"4 SIPp UACs x {CALLS} calls INVITE/ACK/BYE through 2 workers: all successful")


def test_metrics(node):
    # workers publish their counters once a second: poll until every INVITE is counted
    end = time.monotonic() + 5
    while True:
        text = node.metrics()
        m = re.search(r'(?m)^sipveil_requests_total\{[^}]*method="INVITE"[^}]*\} (\d+)', text)
        if m and int(m.group(1)) >= 4 * CALLS:
            break
        check(time.monotonic() < end, f"/metrics counts {m.group(1) if m else 'no'} INVITEs "
                                      f"after 5 s; {4 * CALLS} were sent")
        time.sleep(0.1)
    check_eq("INVITEs counted over both workers", 4 * CALLS, int(m.group(1)))
    m = re.search(r"(?m)^sipveil_workers(?:\{\})? (\d+)", text)
    check(m and int(m.group(1)) == 2, "sipveil_workers is 2")
    step(f"/metrics: {4 * CALLS} INVITEs summed over the workers; sipveil_workers 2")


def test_reload(ctx, node, uas):
    uas2 = Uas()
    at = len(node.log())
    node.write((conf(uas2.port)))
    node.proc.send_signal(signal.SIGHUP)
    node.wait_log(r"SIGHUP: .* reloaded into 2 workers", at, "the reload")
    node.wait_log(r"worker 1: reloaded 1 of 1 node", at, "worker 1 applying the reload")
    node.wait_log(r"worker 0: reloaded 1 of 1 node", at, "worker 0 applying the reload")
    cl = svit.Client(node.ports["udp"])
    cl.send(message(cl.port, 1, "reload"))
    uas2.pump(lambda u: len(u.got) >= 1, 5)
    check_eq("reply after the reload", 200, status_of(cl.recv(5)))
    step("SIGHUP, route changed: the next MESSAGE went to the new next hop")

    at = len(node.log())
    extra = '      - {transport: udp, address: "127.0.0.1:0"}\n'
    node.write((conf(uas.port, extra)))
    node.proc.send_signal(signal.SIGHUP)
    node.wait_log(r"reload: nodes\[0\]\.listeners changed, which needs a restart", at,
                  "the refused reload")
    cl.send(message(cl.port, 2, "reload"))
    uas2.pump(lambda u: len(u.got) >= 2, 5)
    check_eq("reply after the refused reload", 200, status_of(cl.recv(5)))
    step("SIGHUP, listener added: refused with the key named; the running route stays")
    uas2.close()


def test_stop(ctx, node, silent):
    cl = svit.Client(node.ports["udp"])
    invite = (f"INVITE sip:bob@uas.test SIP/2.0\r\n"
              f"Via: SIP/2.0/UDP 127.0.0.1:{cl.port};branch=z9hG4bK-stop-1;rport\r\n"
              f"Max-Forwards: 70\r\nFrom: <sip:alice@a.test>;tag=s1\r\nTo: <sip:bob@uas.test>\r\n"
              f"Call-ID: stop-1@workers.test\r\nCSeq: 1 INVITE\r\n"
              f"Contact: <sip:alice@127.0.0.1:{cl.port}>\r\nContent-Length: 0\r\n\r\n").encode()
    cl.send(invite)
    silent.pump(lambda u: len(u.got) >= 1, 5)  # the proxy's INVITE is out, unanswered
    t0 = time.monotonic()
    node.proc.send_signal(signal.SIGTERM)
    # readiness of the drain: the TCP listener is closed
    end = time.monotonic() + 2
    while True:
        try:
            c = socket.create_connection((svit.LOOPBACK, node.ports["tcp"]), timeout=1)
            c.close()
        except (ConnectionRefusedError, ConnectionResetError, TimeoutError, socket.timeout):
            # refused, or reset: a connection queued on a listener as it closed; or no answer
            # at all: the SYN reached one worker's listener as it closed, and the kernel drops
            # a half-open connection of a closed SO_REUSEPORT listener without a reset
            break
        check(time.monotonic() < end, "the TCP listener still accepts 2 s after SIGTERM")
        time.sleep(0.02)
    cl2 = svit.Client(node.ports["udp"])
    resp = svit.expect_status(cl2, cl2.request("OPTIONS", ruri="sip:x@uas.test"), 503,
                              "a new request while draining")
    check(resp.all("Retry-After"), "the 503 has Retry-After")
    rc = node.proc.wait(10, "exit after SIGTERM")
    took = time.monotonic() - t0
    check_eq("exit status after SIGTERM", 0, rc)
    check(1.5 <= took <= 4.5, f"exit after the 2 s grace for the live INVITE (took {took:.1f} s)")
    log = node.log()
    svit.check_no_sanitizer_report(log, "sipveil run")
    check(re.search(r"stopped \(\d+ received, \d+ sent, \d+ dropped; [1-9]\d* transactions? "
                    r"still live\)", log), "the last line counts the transaction cut short")
    step(f"SIGTERM: TCP accept stopped, new request 503 + Retry-After, exit 0 after {took:.1f} s")


def test_stop_idle_worker(ctx):
    """A worker whose own transactions are over keeps answering while another drains: its
    socket stays in the SO_REUSEPORT group until the process exits, so the kernel keeps handing
    it its share of new requests (issue 3 §4: a new request gets 503 + Retry-After during the
    drain). Before, it left its loop at once and that share went unanswered for the whole
    grace. T1 20 ms so that the readiness probe's transaction is gone first; the INVITE to a
    UAS that never answers then lives about 2.6 s (Timers B and H), past the 2 s grace."""
    silent = Uas(answer=False)
    node = Node(ctx, conf(silent.port).replace("t1: 100ms", "t1: 20ms"))
    end = time.monotonic() + 10
    while metric_sum(node.metrics(), "sipveil_transactions_live") != 0:
        check(time.monotonic() < end, "the readiness probe's transaction ends within 10 s")
        time.sleep(0.1)
    cl = svit.Client(node.ports["udp"])
    cl.send((f"INVITE sip:bob@uas.test SIP/2.0\r\n"
             f"Via: SIP/2.0/UDP 127.0.0.1:{cl.port};branch=z9hG4bK-idle-1;rport\r\n"
             f"Max-Forwards: 70\r\nFrom: <sip:alice@a.test>;tag=i1\r\n"
             f"To: <sip:bob@uas.test>\r\nCall-ID: idle-1@workers.test\r\nCSeq: 1 INVITE\r\n"
             f"Contact: <sip:alice@127.0.0.1:{cl.port}>\r\nContent-Length: 0\r\n\r\n").encode())
    silent.pump(lambda u: len(u.got) >= 1, 5)
    node.proc.send_signal(signal.SIGTERM)
    node.wait_log(r"worker 1: stopping once", 0, "worker 1 stopping")
    node.wait_log(r"worker 0: stopping once", 0, "worker 0 stopping")
    clients = [svit.Client(node.ports["udp"]) for _ in range(8)]
    for i, c in enumerate(clients):
        svit.expect_status(c, c.request("OPTIONS", ruri="sip:x@uas.test"), 503,
                           f"new request {i + 1} of 8 (from its own port) while draining")
    check_eq("exit status after SIGTERM", 0, node.proc.wait(10, "exit after SIGTERM"))
    silent.close()
    step("SIGTERM with one worker idle: 8 new requests from 8 ports all got 503 while the "
         "other worker drained")


SCHED_OTHER, SCHED_BATCH = 0, 3


def thread_policies(pid):
    """{thread name: [scheduling policy, ...]} of process @p pid, from /proc (field 41)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            stat = f.read()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out.setdefault("main" if int(tid) == pid else name, []).append(int(fields[41 - 3]))
    return out


def worker_policies(pol):
    """The policies of the worker threads (named sv-w<N>); a sanitizer's own threads are not."""
    return [p for name, ps in pol.items() if name.startswith("sv-w") for p in ps]


def test_scheduling(node, want, what):
    # the ready lines come once the sockets are bound, the worker threads just after: wait
    end = time.monotonic() + 5
    while True:
        pol = thread_policies(node.proc.pid)
        workers = worker_policies(pol)
        if len(workers) >= 2 or time.monotonic() > end:
            break
        time.sleep(0.01)
    check_eq(f"{what}: worker threads", 2, len(workers))
    check(all(p == want for p in workers), f"{what}: every worker's policy is {want}: {pol}")
    check_eq(f"{what}: the process thread's policy", [SCHED_OTHER], pol["main"])
    step(f"{what}: worker threads run policy {want}, the process thread {SCHED_OTHER}")


def metric_sum(text, name):
    return sum(int(v) for v in re.findall(rf"(?m)^{name}(?:{{[^}}]*}})? (\d+)", text))


def test_timers_under_load(ctx):
    """Timers run while messages keep coming: with T1 20 ms and T4 500 ms a MESSAGE's
    transactions live about 1.3 s, so under 4 s of steady load (250/s) the live count stays far
    below what was created, and the counters are published meanwhile (both come from the
    worker's tick, which load must not starve)."""
    uas = Uas()
    text = "scheduling: normal\n" + conf(uas.port).replace("t1: 100ms", "t1: 20ms\n  t4: 500ms")
    node = Node(ctx, text)
    test_scheduling(node, SCHED_OTHER, "scheduling: normal")
    cl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cl.bind((svit.LOOPBACK, 0))
    cl.setblocking(False)
    port = cl.getsockname()[1]
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 4.0:
        while n < (time.monotonic() - t0) * 250:
            cl.sendto(message(port, n, "load"), (svit.LOOPBACK, node.ports["udp"]))
            n += 1
        uas.pump(lambda u, want=n: len(u.got) >= want, 1)
        try:
            while cl.recv(65535):
                pass
        except BlockingIOError:
            pass
    text = node.metrics()
    created = metric_sum(text, "sipveil_transactions_created_total")
    live = metric_sum(text, "sipveil_transactions_live")
    check(created >= 1000, f"counters published under load: {created} transactions created "
                           f"after {n} MESSAGEs (the tick must run while messages come)")
    check(live < created / 2, f"transactions expire under load: {live} live of {created}")
    node.proc.send_signal(signal.SIGTERM)
    check_eq("exit status", 0, node.proc.wait(10))
    uas.close()
    cl.close()
    step(f"{n} MESSAGEs in 4 s with T1 20 ms: {created} transactions created, {live} live: "
         f"timers run under load")


def test_busy_port(ctx):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((svit.LOOPBACK, 0))
    port = s.getsockname()[1]
    path = ctx.path("busy.yaml")
    with open(path, "w") as f:
        f.write(f"workers: 2\nnodes:\n  - name: p\n    role: proxy\n    listeners:\n"
                f"      - {{transport: udp, address: \"127.0.0.1:{port}\"}}\n")
    r = subprocess.run([ctx.sipveil, "run", "--config", path], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    s.close()
    check_eq("exit status with the UDP port taken", 69, r.returncode)
    check(b"Address already in use" in r.stderr, "the error says the address is in use")
    step("workers: 2 on a busy port: exit 69, not a silent SO_REUSEPORT share")


def test(ctx):
    uas = Uas()
    sipp_port = svit.free_udp_port()
    node = Node(ctx, conf(uas.port))
    test_scheduling(node, SCHED_BATCH, "default scheduling (batch)")
    test_sharding(ctx, node, uas)
    # the SIPp calls need the route to lead to SIPp: a reload is the way (tested below too)
    at = len(node.log())
    node.write((conf(sipp_port)))
    node.proc.send_signal(signal.SIGHUP)
    node.wait_log(r"worker 0: reloaded", at, "worker 0 reloading")
    node.wait_log(r"worker 1: reloaded", at, "worker 1 reloading")
    test_calls(ctx, node, sipp_port)
    test_metrics(node)
    node.write((conf(uas.port)))
    test_reload(ctx, node, uas)
    silent = Uas(answer=False)
    at = len(node.log())
    node.write((conf(silent.port)))
    node.proc.send_signal(signal.SIGHUP)
    node.wait_log(r"worker 0: reloaded", at, "worker 0 reloading")
    node.wait_log(r"worker 1: reloaded", at, "worker 1 reloading")
    test_stop(ctx, node, silent)
    uas.close()
    silent.close()
    test_stop_idle_worker(ctx)
    test_timers_under_load(ctx)
    test_busy_port(ctx)


if __name__ == "__main__":
    svit.run(test)
