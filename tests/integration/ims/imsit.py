"""
@file imsit.py  Helpers of the IMS integration tests: the all-in-one lab on ephemeral ports, and
SIPp UEs that register through it.

The lab under test is the lab itself: its configuration comes from
`sipveil run --print-lab-config`, with each of its fixed ports (5060, 4060, ...) replaced by a
port free right now, so that tests run side by side and never touch the well-known ports. Its
first-start material (var/, var/tls/, the demo subscribers) comes from `sipveil run --lab-init`
in the lab's own scratch directory, as a newcomer's first `sipveil run` would make it.
"""
import os
import re
import signal
import socket
import subprocess
import time

import svit
from svit import check, check_eq, fail
import pvit

LAB_PORTS = (5060, 5061, 5070, 4060, 5090, 6060, 7060, 5065, 8080, 5099)
READY = r"^ready (udp|tcp|tls) 127\.0\.0\.1:(\d+) node (\S+)$"


def free_port_pair():
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        port = svit.free_udp_port()
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((svit.LOOPBACK, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
    fail("no port free for both UDP and TCP")


class Lab:
    """The lab in its own directory, on fresh ports: `port[5060]` is where the P-CSCF's UE
    side listens now, and so on. @p edit: a function applied to the config text."""

    def __init__(self, ctx, edit=None, name="lab", extra_subscribers=None, metrics=False):
        self.ctx = ctx
        self.dir = ctx.path(ctx.unique(name))
        os.makedirs(self.dir)
        text = subprocess.run([ctx.sipveil, "run", "--print-lab-config"], check=True,
                              stdout=subprocess.PIPE).stdout.decode()
        self.port = {}
        for p in LAB_PORTS:
            self.port[p] = free_port_pair()
            text = re.sub(rf"(?<=[:\s]){p}\b", str(self.port[p]), text)
        # SIPVEIL_IT_TRACE=1: every message in the log, for debugging (the identity check of
        # stop() is then off, since a trace is full of identities)
        self.trace = bool(os.environ.get("SIPVEIL_IT_TRACE"))
        text = text.replace("workers: 1\n", "workers: 1\nlog:\n  level: info\n" +
                            ("  trace: true\n" if self.trace else ""))
        self.metrics_port = None
        self.with_metrics = metrics
        if metrics:
            text = text.replace("workers: 1\n", "workers: 1\nmetrics:\n  listen: \"127.0.0.1:0\"\n")
        if edit:
            text = edit(text)
        self.config = os.path.join(self.dir, "lab.yaml")
        with open(self.config, "w") as f:
            f.write(text)
        init = subprocess.run([ctx.sipveil, "run", "--lab-init"], cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(init.returncode == 0,
              f"sipveil run --lab-init exited {init.returncode}: {init.stdout.decode()[-500:]}")
        # the lab's subscribers name the AS by its lab port in their iFC: import them again
        # with this lab's ports
        subs = subprocess.run([ctx.sipveil, "run", "--print-lab-subscribers"], check=True,
                              stdout=subprocess.PIPE).stdout.decode()
        for p in LAB_PORTS:
            subs = re.sub(rf"(?<=127\.0\.0\.1:){p}\b", str(self.port[p]), subs)
        extra_subscribers = subs + (extra_subscribers.split("subscribers:\n", 1)[1]
                                    if extra_subscribers else "")
        if extra_subscribers:
            path = os.path.join(self.dir, "extra-subscribers.yaml")
            with open(path, "w") as f:
                f.write(extra_subscribers)
            imp = subprocess.run([ctx.sipveil, "sub", "--db", "var/sipveil.db", "import", path],
                                 cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            check(imp.returncode == 0, f"sipveil sub import exited {imp.returncode}: "
                                       f"{imp.stdout.decode()[-500:]}")
        self.nlisteners = len(re.findall(r"transport: (?:udp|tcp|tls)", text))
        self.start()

    def start(self):
        ctx = self.ctx
        name = ctx.unique("sipveil")
        self.err_path = os.path.join(self.dir, name + ".stderr")
        self._err = open(self.err_path, "ab")
        svit.add_log(f"{name} stderr", self.err_path)
        self.proc = svit.Proc(name, [ctx.sipveil, "run", "--config", self.config], cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=self._err, stdin=subprocess.DEVNULL)
        self.out = svit.LineReader(self.proc.p.stdout, name)
        for _ in range(self.nlisteners):
            self.out.wait_for(READY, 20, "the lab's ready lines")
        self.out.wait_for(r"^ready http 127\.0\.0\.1:\d+ xcap$", 10, "the XCAP ready line")
        if self.with_metrics:
            m = self.out.wait_for(r"^ready http 127\.0\.0\.1:(\d+) metrics$", 10,
                                  "the metrics ready line")
            self.metrics_port = int(m.group(1))

    def stop(self, check_log=True):
        rc = self.proc.stop(signal.SIGTERM)
        self._err.flush()
        with open(self.err_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        svit.check_no_sanitizer_report(log, "sipveil run (lab)")
        check_eq("sipveil exit status after SIGTERM", 0, rc)
        if check_log and not self.trace:  # level info: no identity may be in the log
            for word in ("alice", "bob@", "blue-fox", "carol", "dave", "15551000"):
                check(word not in log.lower(), f"the sipveil log (level info) names {word!r}")
        return log

    def metric(self, name, node):
        """The value of sample @p name of node @p node on /metrics."""
        import urllib.request
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=5).read().decode()
        m = re.search(rf'^{name}{{node="{node}",[^}}]*}} (\d+)$', body, re.M)
        check(m is not None, f"/metrics has no {name} for node {node}")
        return int(m.group(1))

    def path(self, rel):
        return os.path.join(self.dir, rel)


def sipp(ctx, lab, name, xml, args, port=None):
    """A SIPp UAC toward the lab's P-CSCF (UE side), scenario tests/integration/ims/sipp/@p xml,
    bound to @p port (or one it picks). @return (proc, work dir)."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
    argv = ["-sf", os.path.join(here, xml), f"127.0.0.1:{lab.port[5060]}", "-i", "127.0.0.1",
            "-m", "1", "-trace_msg", "-trace_err", "-timeout", "15", "-timeout_error",
            "-max_recv_loops", "1000", "-nostdin"]
    if port:
        argv += ["-p", str(port)]
    return pvit.sipp(ctx, name, argv + list(args))


def sipp_uas(ctx, name, xml, port, args=()):
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
    argv = ["-sf", os.path.join(here, xml), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
            "-trace_msg", "-trace_err", "-timeout", "20", "-timeout_error", "-nostdin"]
    return pvit.sipp(ctx, name, argv + list(args))


def finish(proc, what, rc=0, timeout=25):
    got = proc.wait(timeout, what)
    check_eq(f"{what}: SIPp exit status", rc, got)


def register(ctx, lab, user, password, port, contact_port=None, xml="reg.xml", rc=0, impu=None):
    """Register @p user (alice: IMPI alice@ims.example, IMPU sip:alice@ims.example) from
    127.0.0.1:@p port with SIPp; its contact names @p contact_port (a SIPp UAS) or @p port.
    @return the messages SIPp sent and received."""
    impu = impu or f"sip:{user}@ims.example"
    cport = contact_port or port
    p, work = sipp(ctx, lab, f"reg-{user}", xml,
                   pvit.keys(impu=impu, contact=f"<sip:ue@127.0.0.1:{cport}>") +
                   ["-au", f"{user}@ims.example", "-ap", password], port=port)
    finish(p, f"REGISTER of {user}", rc)
    return pvit.trace(work)


def header(msg, name):
    return msg.all(name.lower())
