"""
@file proxy_lib.py  The parts of bench/proxy that know processes, /proc and SIP on the wire, not
the benchmark: starting and stopping processes by PID, CPU time and memory from /proc, kernel-
chosen ports, sipveil's /metrics, and the SIP probes (readiness, the forwarding check, which
sipveil worker a source port lands on). Python 3 standard library only.
"""
import ctypes
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

LOOPBACK = "127.0.0.1"
HZ = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The benchmark cannot produce an honest figure; the message says why."""


class Retry(Exception):
    """A port the kernel gave us was taken before the tool bound it: redo the measurement."""


class Interrupted(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# processes: started here, recorded, stopped by PID

_procs = []


def _child_setup(parent):
    # Own session: a Ctrl-C on the terminal reaches the harness only, which stops the children
    # in order. PR_SET_PDEATHSIG: the kernel signals the child if the harness itself is killed
    # (SIGKILL by a timeout, say). SIGTERM rather than SIGKILL, so that Kamailio's main process
    # still stops the processes it forked instead of leaving them behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


class Proc:
    def __init__(self, name, argv, cwd, out_path):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.out_path = out_path
        parent = os.getpid()
        with open(out_path, "wb") as out:
            try:
                self.p = subprocess.Popen(self.argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True,
                                          preexec_fn=lambda: _child_setup(parent))
            except OSError as e:
                raise BenchError(f"cannot start {name} ({self.argv[0]}): {e}")
        self.pid = self.p.pid
        self.tree = {}  # pid -> start time of every descendant seen, for the cleanup
        _procs.append(self)

    def running(self):
        return self.p.poll() is None

    def output(self, lines=25):
        try:
            with open(self.out_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no output file)"
        tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
        return "\n    ".join(tail) or "(nothing)"

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal the PID, wait, SIGKILL if it lingers; then SIGKILL any descendant seen while
        it ran that is still the same process. @return the exit status."""
        if self.running():
            os.kill(self.pid, sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        for pid, start in self.tree.items():
            st = read_stat(pid)
            if pid != self.pid and st and st["start"] == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self in _procs:
            _procs.remove(self)
        return self.p.returncode


def cleanup():
    for pr in reversed(list(_procs)):
        try:
            pr.stop(timeout=5)
        except Exception as e:  # keep stopping the others
            print(f"cleanup: {pr.name} (pid {pr.pid}): {e}", file=sys.stderr)


def tool(name, given):
    exe = shutil.which(given or name)
    if not exe:
        raise BenchError(f"{name} not found ('{given or name}'); scripts/deps.sh installs it")
    return exe


# ---------------------------------------------------------------------------------------------
# /proc: CPU time and memory of a process tree

def read_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    r = s[s.rfind(")") + 2:].split()
    # fields 4 ppid, 10 minflt, 12 majflt, 14 utime, 15 stime, 16 cutime, 17 cstime,
    # 22 starttime (1-based)
    return {"ppid": int(r[1]), "cpu": int(r[11]) + int(r[12]),
            "ccpu": int(r[13]) + int(r[14]), "start": int(r[19]),
            "faults": int(r[7]) + int(r[9])}


def proc_tree(root):
    """@return {pid: stat} of @p root and every process whose parent chain leads to it."""
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st:
                stats[int(d)] = st
    if root not in stats:
        return {}
    kids = {}
    for pid, st in stats.items():
        kids.setdefault(st["ppid"], []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        out[pid] = stats[pid]
        todo.extend(kids.get(pid, ()))
    return out


def tree_cpu_ticks(proc):
    """utime+stime of every live process of the tree, plus what the root reaped from children
    that already ended (cutime+cstime), in clock ticks; and the tree's page faults.
    @return (ticks, faults, number of processes). Records the tree for the cleanup."""
    tree = proc_tree(proc.pid)
    for pid, st in tree.items():
        proc.tree.setdefault(pid, st["start"])
    if not tree:
        return 0, 0, 0
    return (sum(st["cpu"] for st in tree.values()) + tree[proc.pid]["ccpu"],
            sum(st["faults"] for st in tree.values()), len(tree))


def task_ticks(pid):
    """{tid: utime+stime} of every thread of process @p pid (sipveil: main thread + workers)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        r = s[s.rfind(")") + 2:].split()
        out[int(tid)] = int(r[11]) + int(r[12])
    return out


def thread_split(pid, t0, t1):
    """The share of the CPU between two task_ticks() of each thread other than the main one,
    in tid order (sipveil's workers in the order they started): shows whether the kernel's
    SO_REUSEPORT spreading gave every worker its part. @return text or ''."""
    d = [t1[t] - t0.get(t, 0) for t in sorted(t1) if t != pid]
    total = sum(d) + t1.get(pid, 0) - t0.get(pid, 0)
    if len(d) < 2 or total <= 0:
        return ""
    return "/".join(f"{x * 100 / total:.0f}" for x in d) + "%"


def all_cpu_ticks():
    """{pid: (start time, utime+stime+cutime+cstime)} of every process. Between two of these,
    work of processes that began and ended in between shows in their parent's cutime."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st:
                out[int(d)] = (st["start"], st["cpu"] + st["ccpu"])
    return out


def others_ticks(before, after, ours):
    """CPU ticks spent between two all_cpu_ticks() by processes whose pids are not in @p ours
    (the harness, the SIPp pair, the proxy's tree): other work sharing the machine."""
    total = 0
    for pid, (start, t) in after.items():
        if pid in ours:
            continue
        b = before.get(pid)
        total += t - b[1] if b and b[0] == start else t
    # a process that ended in between moved all its time into its parent's cutime, the part
    # it had spent before the first snapshot too: take that part off again
    for pid, (start, t) in before.items():
        if pid not in ours and after.get(pid, (None,))[0] != start:
            total -= t
    return max(total, 0)


def wait_for_quiet(limit_share, max_wait):
    """Before a run, wait (up to @p max_wait s) until other processes use less than
    @p limit_share of one core over one second. @return that share when the run starts."""
    me = {os.getpid()}
    deadline = time.monotonic() + max_wait
    said = False
    while True:
        a, t0 = all_cpu_ticks(), time.monotonic()
        time.sleep(1.0)
        b, t1 = all_cpu_ticks(), time.monotonic()
        share = others_ticks(a, b, me) / HZ / (t1 - t0)
        if share <= limit_share or time.monotonic() >= deadline:
            if said:
                log(f"    (other load now {share * 100:.0f}% of a core; starting)")
            return share
        if not said:
            log(f"    (other processes use {share * 100:.0f}% of a core; waiting up to "
                f"{max_wait:.0f} s for less than {limit_share * 100:.0f}%)")
            said = True


def _status_num(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_mem_kb(pids, pss):
    """Sum of VmRSS over @p pids (counts shared pages once per process that maps them) and, if
    @p pss, of Pss (shared pages divided among their users: the tree's real share of memory).
    Pss costs the kernel a page-table walk (about 4 ms per Kamailio process at 2000 calls/s on
    the project's machine), so it is sampled less often than VmRSS."""
    rss = sum(_status_num(p, "VmRSS:") for p in pids)
    return rss, (sum(_pss_kb(p) for p in pids) if pss else None)


def udp_bound_by(port, pid):
    """True when a UDP socket on 127.0.0.1:@p port exists and belongs to @p pid."""
    want = f"0100007F:{port:04X}"
    inodes = set()
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want:
                    inodes.add(parts[9])
    except OSError:
        return False
    if not inodes:
        return False
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return True
    except OSError:
        pass
    return False


# ---------------------------------------------------------------------------------------------
# ports and SIP probes

def free_udp_ports(n):
    """@p n distinct UDP ports free on 127.0.0.1 right now, for tools that cannot take port 0.
    All sockets are held until every port is known, so the kernel hands out distinct ones."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_tcp_port():
    """A TCP port free on 127.0.0.1 right now (sipveil's metrics listener)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# the counters of sipveil's /metrics the harness reports: what SIPp cannot see
METRICS = {
    "sipveil_transactions_live": "live txn",
    "sipveil_overload_rejects_total": "503 overload",
    "sipveil_retransmissions_sent_total": "retrans sent",
    "sipveil_retransmissions_absorbed_total": "retrans absorbed",
    "sipveil_transaction_timeouts_total": "txn timeouts",
    "sipveil_transaction_dropped_messages_total": "txn dropped",
    "sipveil_send_errors_total": "send errors",
    "sipveil_cancels_sent_total": "CANCELs sent",
    "sipveil_rejects_total": "rejects",
    "sipveil_net_dropped_messages_total": "net dropped",
}


def scrape_metrics(proc):
    """sipveil's /metrics summed per family of METRICS (labels added up), or None for a proxy
    without it or when it does not answer within 2 s. Workers publish their counters once a
    second, so a figure read right after a run may lag by up to a second."""
    port = getattr(proc, "metrics_port", None)
    if not port:
        return None
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=2) as r:
            text = r.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name = re.split(r"[{ ]", line, 1)[0]
        if name in METRICS:
            try:
                out[name] = out.get(name, 0) + int(float(line.rsplit(" ", 1)[1]))
            except (ValueError, IndexError):
                pass
    return out


def metrics_delta(m0, m1):
    """Counters' growth between two scrapes (gauges: the later value). @return text or ''."""
    if m1 is None:
        return ""
    parts = []
    for name, short in METRICS.items():
        v = m1.get(name, 0) - (0 if name.endswith("_live") or not m0 else m0.get(name, 0))
        if v and not name.endswith("_live"):
            parts.append(f"{short} {v}")
    return ", ".join(parts) or "no 503, retransmission, timeout, drop or error"


def udp_drops():
    """Datagrams the kernel dropped for a full receive buffer (Udp RcvbufErrors in
    /proc/net/snmp), machine-wide: a proxy or SIPp that stalls loses messages this way, and an
    ACK for a 2xx lost is never retransmitted, so the UAS fails that call."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [ln.split() for ln in f if ln.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return None


def socket_drops(pids):
    """Datagrams dropped at the UDP sockets that processes @p pids hold (the `drops` column of
    /proc/net/udp, counted since each socket was made): tells the proxy's losses from the rest
    of the machine's."""
    drops = {}
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                parts = line.split()
                drops[parts[9]] = int(parts[-1])
    except (OSError, IndexError, ValueError):
        return None
    total = 0
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                total += drops.get(link[8:-1], 0)
    return total


def _rand(bits=48):
    return "%0*x" % (bits // 4, random.getrandbits(bits))


def _client():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    return s, s.getsockname()[1]


def _recv(sock, deadline):
    """One datagram, or None at the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    sock.settimeout(left)
    try:
        data, addr = sock.recvfrom(65535)
    except socket.timeout:
        return None
    return data.decode("utf-8", "replace"), addr


def _headers(text, name):
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    n = name.lower()
    return [ln.split(":", 1)[1].strip() for ln in head[1:]
            if ":" in ln and ln.split(":", 1)[0].strip().lower() == n]


def wait_ready(proc, port, what, timeout=20.0):
    """Send OPTIONS with Max-Forwards: 0 to @p port until any response arrives (a proxy answers
    483 or 200 itself). Fails when @p proc exits first or after @p timeout seconds."""
    sock, cport = _client()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if not proc.running():
                raise BenchError(f"{what} exited with status {proc.p.returncode} before it "
                                 f"answered OPTIONS on {LOOPBACK}:{port}; it printed:\n    "
                                 f"{proc.output()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{what} did not answer OPTIONS on {LOOPBACK}:{port} within "
                                 f"{timeout:.0f} s; it printed:\n    {proc.output()}")
            callid = _rand() + "@ready.bench"
            req = (f"OPTIONS sip:ready@{LOOPBACK}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {LOOPBACK}:{cport};branch=z9hG4bK{_rand()}\r\n"
                   f"Max-Forwards: 0\r\n"
                   f"From: <sip:bench@{LOOPBACK}>;tag={_rand(32)}\r\n"
                   f"To: <sip:ready@{LOOPBACK}:{port}>\r\n"
                   f"Call-ID: {callid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
            sock.sendto(req.encode(), (LOOPBACK, port))
            step_end = min(deadline, time.monotonic() + 0.1)
            while True:
                got = _recv(sock, step_end)
                if got is None:
                    break
                if got[0].startswith("SIP/2.0 ") and callid in got[0]:
                    return got[0].split("\r\n", 1)[0]
    finally:
        sock.close()


def check_forwarding(port, uas_port, what, privacy):
    """Prove that the proxy on @p port forwards a MESSAGE to the UAS port and relays the UAS's
    200 back, and that the privacy step did what @p privacy asks: P-Asserted-Identity removed
    for `id`, kept for `none`. A UDP socket stands in for the UAS; the SIPp UAS binds the port
    after it is closed. @return a one-line description of what was seen."""
    uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        uas.bind((LOOPBACK, uas_port))
    except OSError as e:
        uas.close()
        raise Retry(f"UAS port {uas_port}: {e}")
    cli, cport = _client()
    try:
        callid = _rand() + "@check.bench"
        body = "bench/proxy forwarding check\r\n"
        req = (f"MESSAGE sip:uas@{LOOPBACK}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {LOOPBACK}:{cport};branch=z9hG4bK{_rand()}\r\n"
               f"Max-Forwards: 70\r\n"
               f"From: \"Alice Example\" <sip:alice@example.com>;tag={_rand(32)}\r\n"
               f"To: <sip:uas@{LOOPBACK}:{port}>\r\n"
               f"Call-ID: {callid}\r\nCSeq: 1 MESSAGE\r\n"
               f"P-Asserted-Identity: \"Alice Example\" <sip:alice@example.com>\r\n"
               f"P-Asserted-Identity: <tel:+15551234567>\r\n"
               f"Privacy: {privacy}\r\n"
               f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        cli.sendto(req.encode(), (LOOPBACK, port))
        deadline = time.monotonic() + 2.0
        fwd = None
        answered = []
        while fwd is None:
            r = select_first(uas, cli, deadline)
            if r is None:
                said = ("; it answered the client itself: " + ", ".join(answered)
                        if answered else "")
                raise BenchError(f"{what} did not forward a MESSAGE to the UAS at "
                                 f"{LOOPBACK}:{uas_port} within 2 s{said}. It does not proxy "
                                 f"(yet), so there is nothing to measure")
            sock, (text, addr) = r
            if sock is cli:
                if callid in text:
                    answered.append(text.split("\r\n", 1)[0])
                continue
            if text.startswith("MESSAGE ") and callid in text:
                fwd = (text, addr)
        text, addr = fwd
        vias = _headers(text, "via") + _headers(text, "v")
        if len(vias) < 2:
            raise BenchError(f"{what} passed the MESSAGE on without adding its Via: {vias}")
        pai = _headers(text, "p-asserted-identity")
        if privacy != "none" and pai:
            raise BenchError(f"{what} forwarded the MESSAGE with P-Asserted-Identity still in it "
                             f"({len(pai)} line(s)) despite 'Privacy: {privacy}', so it does not "
                             f"do the privacy step Kamailio's configuration does, and the SIPp "
                             f"UAS would fail every call. No figures; `--privacy none` compares "
                             f"both proxies forwarding the identity unchanged")
        frm = (_headers(text, "from") + _headers(text, "f"))[:1]
        if "user" in privacy.split(";") and not (frm and "anonymous.invalid" in frm[0]):
            raise BenchError(f"{what} forwarded the MESSAGE with From {frm} despite 'Privacy: "
                             f"{privacy}': the From is not anonymised, so the two proxies would "
                             f"not do the same work")
        if privacy == "none" and len(pai) != 2:
            raise BenchError(f"{what} forwarded the MESSAGE with {len(pai)} P-Asserted-Identity "
                             f"line(s) instead of 2 despite 'Privacy: none'")
        via_lines = "".join(f"Via: {v}\r\n" for v in vias)
        resp = ("SIP/2.0 200 OK\r\n" + via_lines +
                f"From: {_headers(text, 'from')[0]}\r\n"
                f"To: {_headers(text, 'to')[0]};tag={_rand(32)}\r\n"
                f"Call-ID: {callid}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n")
        uas.sendto(resp.encode(), addr)
        deadline = time.monotonic() + 2.0
        while True:
            got = _recv(cli, deadline)
            if got is None:
                raise BenchError(f"{what} forwarded the MESSAGE but did not relay the UAS's "
                                 f"200 OK back to the client within 2 s")
            if got[0].startswith("SIP/2.0 200") and callid in got[0]:
                break
        return (f"MESSAGE forwarded to {LOOPBACK}:{uas_port} with {len(vias)} Via, "
                f"P-Asserted-Identity {'kept' if pai else 'removed'}"
                f"{', From anonymised' if 'user' in privacy.split(';') else ''}, 200 relayed back")
    finally:
        uas.close()
        cli.close()


def probe_worker(cli, cport, uas, port):
    """Send one MESSAGE from socket @p cli (port @p cport) through the proxy on @p port, answer
    it 200 from the stand-in UAS socket @p uas, and @return the port of the Via the proxy added:
    with several sipveil workers, the private port of the worker the kernel gave this source
    port's 4-tuple to (None if nothing arrived within 1 s)."""
    callid = _rand() + "@spread.bench"
    req = (f"MESSAGE sip:uas@{LOOPBACK}:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {LOOPBACK}:{cport};branch=z9hG4bK{_rand()}\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:spread@{LOOPBACK}>;tag={_rand(32)}\r\n"
           f"To: <sip:uas@{LOOPBACK}:{port}>\r\nCall-ID: {callid}\r\nCSeq: 1 MESSAGE\r\n"
           f"Content-Length: 0\r\n\r\n")
    cli.sendto(req.encode(), (LOOPBACK, port))
    deadline = time.monotonic() + 1.0
    while True:
        r = select_first(uas, cli, deadline)
        if r is None:
            return None
        sock, (text, addr) = r
        if sock is uas and text.startswith("MESSAGE ") and callid in text:
            break
    vias = _headers(text, "via") + _headers(text, "v")
    m = re.match(r"SIP/2\.0/UDP\s+[^:;\s]+:(\d+)", vias[0]) if vias else None
    resp = ("SIP/2.0 200 OK\r\n" + "".join(f"Via: {v}\r\n" for v in vias) +
            f"From: {_headers(text, 'from')[0]}\r\nTo: {_headers(text, 'to')[0]};tag=u\r\n"
            f"Call-ID: {callid}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n")
    uas.sendto(resp.encode(), addr)  # else the proxy retransmits it to the SIPp UAS
    return int(m.group(1)) if m else None


def spread_sources(port, uas_port, n, groups, balance):
    """Source ports for @p n UACs. The kernel hashes each UDP 4-tuple to one of the proxy's
    SO_REUSEPORT sockets, so n ports taken at random load @p groups workers unevenly about as
    often as not (two UACs on two workers: one time in two on the same worker). Each candidate
    port is probed with one MESSAGE to learn its worker (probe_worker); with @p balance the
    ports are then picked round-robin over the workers, else the first n are kept as the
    kernel hashed them. @return (ports, UACs per worker, e.g. "1/1")."""
    uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        uas.bind((LOOPBACK, uas_port))
    except OSError as e:
        uas.close()
        raise Retry(f"UAS port {uas_port}: {e}")
    held, by_worker, order = [], {}, []
    try:
        need = -(-n // groups)
        for _ in range(n if not balance else max(64, 4 * n)):
            cli, cport = _client()
            held.append(cli)
            w = probe_worker(cli, cport, uas, port)
            by_worker.setdefault(w, []).append(cport)
            order.append(cport)
            if not balance and len(order) == n:
                break
            if balance and len(by_worker) >= groups and \
                    all(len(v) >= need for v in by_worker.values()):
                break
    finally:
        for c in held:
            c.close()
        uas.close()
    if balance:
        ports, lists = [], [list(v) for _, v in sorted(by_worker.items(), key=str)]
        while len(ports) < n:
            for v in lists:
                if v and len(ports) < n:
                    ports.append(v.pop(0))
    else:
        ports = order[:n]
    of = {p: w for w, v in by_worker.items() for p in v}
    counts = sorted((sum(1 for p in ports if of[p] == w) for w in by_worker), reverse=True)
    counts = [c for c in counts if c] + [0] * groups
    return ports, "/".join(str(c) for c in counts[:groups])


def select_first(a, b, deadline):
    """The first datagram to arrive on socket @p a or @p b, or None at the deadline.
    @return (socket, (text, address))."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    r, _, _ = select.select([a, b], [], [], left)
    if not r:
        return None
    sock = r[0]
    data, addr = sock.recvfrom(65535)
    return sock, (data.decode("utf-8", "replace"), addr)
