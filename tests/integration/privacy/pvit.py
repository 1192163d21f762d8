"""
@file pvit.py  Shared helpers of the privacy end-to-end tests (tests/integration/privacy/):
one `sipveil run` with two privacy nodes between SIPp peers, and a reader of SIPp's
-trace_msg logs that keeps every header line byte for byte, so that a test can compare what
one peer sent with what the other received.

The config (conf()): node `pcscf` (role pcscf) with a `core` and a `ue` UDP listener, node
`edge` (role icscf, the trust-domain edge) with a `core` and an `external` UDP listener, both
on ports the kernel picks. The trust table of both names two ports on 127.0.0.1 as trusted
(picked free before the config is written, as trust goes by port here): the caller that plays
the S-CSCF / core side (Ports.core_uac) and the callee that plays a core node
(Ports.core_uas). Every other peer, the UE and Carol's network among them, is untrusted
(R55). Routes: Request-URI host `core.test` to the core callee; everything else to the
node's UE (pcscf) or to Carol (edge).

Python 3 standard library only; builds on svit.py.
"""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import svit
from svit import check, check_eq, fail

READY = r"^ready udp 127\.0\.0\.1:(\d+) node (\S+)$"
# Header names the proxy itself adds or changes on every request or response it relays
# (RFC 3261 §16.6): they are checked elsewhere, never by the privacy comparisons.
PROXY_REQ = {"via", "v", "record-route", "route", "max-forwards"}
PROXY_RESP = {"via", "v"}
TRUST_ONLY = ("p-charging-vector", "p-access-network-info")  # R38, R42: the ones we send
USER_SIX = ("subject", "call-info", "organization", "user-agent", "reply-to", "in-reply-to")
PAI = "p-asserted-identity"
WITHHOLD = (PAI, "privacy") + TRUST_ONLY                       # `id` toward an untrusted hop
USER = WITHHOLD + USER_SIX                                     # `user` (R20) with OP-4
DLG_USER = (PAI, "user-agent", "subject")  # what the ACK and BYE of uac_call.xml lose to `user`
ANON_FROM = '"Anonymous" <sip:anonymous@anonymous.invalid>'


class Ports:
    """The fixed ports of the peers, chosen before the config is written."""

    def __init__(self):
        self.core_uac = svit.free_udp_port()  # the S-CSCF side caller: trusted
        self.core_uas = svit.free_udp_port()  # a core node answering calls: trusted
        self.ue = svit.free_udp_port()        # the P-CSCF's UE: untrusted
        self.carol = svit.free_udp_port()     # Carol's network behind the edge: untrusted
        self.ue_uac = svit.free_udp_port()    # the UE as caller: untrusted


def conf(pt, extra_pcscf="", extra_edge=""):
    peers = (f"      - {{address: 127.0.0.1, port: {pt.core_uac}, transport: udp, "
             f"trusted: true}}\n"
             f"      - {{address: 127.0.0.1, port: {pt.core_uas}, trusted: true}}\n")

    def node(name, role, face2, hop, extra):
        return (f"  - name: {name}\n    role: {role}\n    domain: home2.net\n"
                f"    listeners:\n"
                f"      - {{transport: udp, address: \"127.0.0.1:0\", face: core}}\n"
                f"      - {{transport: udp, address: \"127.0.0.1:0\", face: {face2}}}\n"
                f"    routes:\n"
                f"      - {{match: domain, value: core.test, "
                f"next_hop: \"udp:127.0.0.1:{pt.core_uas}\"}}\n"
                f"      - {{match: default, next_hop: \"udp:127.0.0.1:{hop}\"}}\n"
                f"    peers:\n{peers}{extra}")

    return ("workers: 1\nlog:\n  level: info\ntimers:\n  t1: 100ms\nnodes:\n" +
            node("pcscf", "pcscf", "ue", pt.ue, extra_pcscf) +
            node("edge", "icscf", "external", pt.carol, extra_edge))


class Node(svit.ConfigRun):
    """`sipveil run --config` on @p text; waits for the four ready lines (in config order:
    pcscf core, pcscf ue, edge core, edge external) and keeps their ports in `lsn`."""

    def __init__(self, ctx, text):
        svit.ConfigRun.__init__(self, ctx, text, "sipveil")
        got = []
        for _ in range(4):
            m = self.out.wait_for(READY, 15, "the nodes' ready lines")
            got.append((m.group(2), int(m.group(1))))
        check_eq("nodes of the ready lines, in config order",
                 ["pcscf", "pcscf", "edge", "edge"], [n for n, _ in got])
        self.lsn = {"pcscf.core": got[0][1], "pcscf.ue": got[1][1], "edge.core": got[2][1],
                    "edge.external": got[3][1]}

    def check_alive(self):
        rc = self.proc.p.poll()
        check(rc is None, f"sipveil run (pid {self.proc.pid}) exited with status {rc}")

    def stop(self):
        self.check_alive()
        rc = self.proc.stop(signal.SIGTERM)
        self._err.flush()
        with open(self.err_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        svit.check_no_sanitizer_report(log, "sipveil run --config")
        check_eq("sipveil exit status after SIGTERM", 0, rc)
        # log level info: no identity, URI or display name may be in it (docs/helpers rule)
        for word in ("alice", "4930111001", "bob@", "4930222002", "carol"):
            check(word not in log.lower(), f"the sipveil log (level info) names {word!r}")
        return log


# ---- SIPp and its message logs ----

class Msg:
    """One SIP message from a SIPp -trace_msg log, its header lines kept as they were."""

    def __init__(self, sent, text):
        self.sent = sent
        head, _, self.body = text.partition("\n\n")
        lines = [x.rstrip("\r") for x in head.split("\n")]
        self.start = lines[0]
        self.lines = [x for x in lines[1:] if x]
        self.hdrs = []
        for x in self.lines:
            k, _, v = x.partition(":")
            self.hdrs.append((k.strip().lower(), v.strip()))
        self.req = not self.start.startswith("SIP/2.0 ")
        self.method = self.start.split()[0] if self.req else None
        self.code = None if self.req else int(self.start.split()[1])
        self.cseq = self.one("cseq")
        self.callid = self.one("call-id")

    def all(self, name):
        return [v for k, v in self.hdrs if k == name]

    def one(self, name):
        v = self.all(name)
        return v[0] if len(v) == 1 else None

    def key(self):
        """What ties a message at one peer to the same message at the other."""
        return (self.callid, self.cseq, self.method or self.code)

    def __str__(self):
        return f"{self.start} (Call-ID {self.callid}, CSeq {self.cseq})"


# SIPp 3.6 writes "UDP message sent (636 bytes):" and "UDP message received [403] bytes :"
_BLOCK = re.compile(r"message (sent|received) [\[(]\d+\]? bytes\)?\s*:\s*\n\n(.*)", re.S)


def trace(work):
    """Every message of the SIPp instance in @p work, sent and received, in order."""
    out = []
    for fn in sorted(os.listdir(work)):
        if not fn.endswith("_messages.log"):
            continue
        with open(os.path.join(work, fn), errors="replace") as f:
            text = f.read()
        for block in re.split(r"^-{10,}.*$", text, flags=re.M):
            m = _BLOCK.search(block)
            if m:
                text = m.group(2).replace("\r\n", "\n").strip("\n") + "\n"
                out.append(Msg(m.group(1) == "sent", text))
    return out


def first(msgs, sent, pred, what):
    """The first message (retransmissions are repeats) of @p msgs matching @p pred."""
    for m in msgs:
        if m.sent == sent and pred(m):
            return m
    fail(f"{what}: not in the SIPp message log")


def sipp(ctx, name, args):
    work = ctx.path(ctx.unique(name))
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "sipp.out")
    svit.add_log(f"sipp {name}", out)
    f = open(out, "wb")
    return svit.Proc(f"sipp {name}", [ctx.tool("sipp", ctx.args.sipp)] + args, cwd=work,
                     stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), work


def keys(**kv):
    out = []
    for k, v in kv.items():
        out += ["-key", k, v]
    return out


def no_privacy_line(what="none"):
    """A harmless header line that stands in for an absent Privacy header."""
    return f"X-Case: no-privacy-{what}"


class Case:
    """One SIPp UAC (fixed port @p uac_port) sending to listener port @p to, and either a
    SIPp UAS on @p uas_port or, for a request the node must refuse, a plain UDP socket on it
    that must hear nothing. run() waits for both; then `uac`, `uas` hold the messages."""

    def __init__(self, ctx, label, to, uac_xml, uac_keys, uac_port, uas_port, uas_xml=None,
                 uas_keys=()):
        self.label = label
        sc = os.path.join(ctx.args.data, "sipp")
        self.sock = None
        self.uas_proc = None
        if uas_port is None:
            pass  # the test plays the callee itself
        elif uas_xml:
            self.uas_proc, self.uas_work = sipp(ctx, label + "-uas", [
                "-sf", os.path.join(sc, uas_xml), "-i", svit.LOOPBACK, "-p", str(uas_port),
                "-t", "u1", "-m", "1", "-nostdin", "-trace_msg", "-trace_err",
                *uas_keys])
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((svit.LOOPBACK, uas_port))
            self.sock.settimeout(0.3)
        self.uac_proc, self.uac_work = sipp(ctx, label + "-uac", [
            "-sf", os.path.join(sc, uac_xml), "-i", svit.LOOPBACK, "-p", str(uac_port),
            "-t", "u1", "-m", "1", "-r", "10", "-nostdin", "-timeout", "10s", "-trace_msg",
            "-trace_err", "-cid_str", f"{label}-%u-%p@%s", *uac_keys, f"{svit.LOOPBACK}:{to}"])

    def run(self):
        check_eq(f"{self.label}: UAC sipp exit status (0: its scenario completed)", 0,
                 self.uac_proc.wait(15, "finish its scenario"))
        self.uac = trace(self.uac_work)
        if self.uas_proc:
            check_eq(f"{self.label}: UAS sipp exit status (0: its scenario completed)", 0,
                     self.uas_proc.wait(10, "finish its scenario"))
            self.uas = trace(self.uas_work)
        else:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                data = None
            finally:
                self.sock.close()
            check(data is None, f"{self.label}: the callee must get nothing, it got "
                                f"{data[:60] if data else data!r}")
            self.uas = []
        return self

    def sent_by_uac(self, pred, what):
        return first(self.uac, True, pred, f"{self.label}: {what} sent by the UAC")

    def got_by_uac(self, pred, what):
        return first(self.uac, False, pred, f"{self.label}: {what} received by the UAC")

    def sent_by_uas(self, pred, what):
        return first(self.uas, True, pred, f"{self.label}: {what} sent by the UAS")

    def got_by_uas(self, pred, what):
        return first(self.uas, False, pred, f"{self.label}: {what} received by the UAS")


def req(method):
    return lambda m: m.req and m.method == method


def resp(code, method):
    return lambda m: not m.req and m.code == code and m.cseq and m.cseq.endswith(" " + method)


def relayed(what, sent, got, drop=(), replace=None, ignore=()):
    """@p got must be @p sent, line for line, once the lines whose (lower-case) names are in
    @p drop are gone and the lines named in @p replace have the given value (a name mapped to
    a value, header name kept as sent). The proxy's own headers (Via, Route, Record-Route,
    Max-Forwards on requests; Via on responses) and those named in @p ignore are left out of
    the comparison on both sides. Bodies must be equal."""
    replace = replace or {}
    skip = (PROXY_REQ if sent.req else PROXY_RESP) | set(ignore)
    want = []
    for line in sent.lines:
        name = line.split(":", 1)[0].strip()
        low = name.lower()
        if low in skip or low in drop:
            continue
        want.append(f"{name}: {replace[low]}" if low in replace else line)
    have = [x for x in got.lines if x.split(":", 1)[0].strip().lower() not in skip]
    if want != have:
        extra = [x for x in have if x not in want]
        missing = [x for x in want if x not in have]
        fail(f"{what}: {got.start!r} is not what was sent with the expected privacy edits;\n"
             f"    lines not expected: {extra}\n    lines missing: {missing}\n"
             f"    sent: {sent.lines}\n    got:  {have}")
    check_eq(f"{what}: body", sent.body.strip("\r\n"), got.body.strip("\r\n"))


def tag_of(value):
    m = re.search(r";\s*tag=([^;\s]+)", value or "")
    return m.group(1) if m else None


def anon_from(sent):
    """The From R20 makes of @p sent's From: the anonymous URI, every parameter kept."""
    v = sent.one("from")
    i = v.find(">")
    check(i > 0, f"From without a name-addr: {v!r}")
    return ANON_FROM + v[i + 1:]


# ---- the call flows ----

def call(ctx, label, to, ruri, privacy, uac_port, uas_port, p180=None, p200=None, extra=None):
    """INVITE/180/200/ACK/BYE/200 (sipp/uac_call.xml, uas_call.xml) with the INVITE's Privacy
    line @p privacy and one more line @p extra; the callee's 180 and 200 carry @p p180 /
    @p p200 (header lines)."""
    return Case(ctx, label, to, "uac_call.xml",
                keys(ruri=ruri, privacy=privacy, extra=extra or no_privacy_line("extra")),
                uac_port, uas_port,
                "uas_call.xml", keys(p180=p180 or no_privacy_line("180"),
                                     p200=p200 or no_privacy_line("200"))).run()


def refused(ctx, label, to, ruri, privacy, uac_port, uas_port):
    """An INVITE the node must refuse (sipp/uac_refused.xml); nothing may reach @p uas_port.
    @return the final response the UAC got."""
    c = Case(ctx, label, to, "uac_refused.xml", keys(ruri=ruri, privacy=privacy),
             uac_port, uas_port).run()
    return c.got_by_uac(lambda m: not m.req and m.code >= 200, "the final response")


def check_call(c, inv_drop, inv_anon, dlg_drop, dlg_anon, resp_pai=()):
    """The terminating call @p c: the callee got the INVITE as sent minus @p inv_drop (and
    with the anonymous From when @p inv_anon), the 2xx ACK and the BYE as sent minus
    @p dlg_drop (anonymous From when @p dlg_anon), every copy alike; the caller got every copy
    of the callee's 180, 200 and 200 to the BYE as sent, except that the callee's PAI lines
    are replaced by @p resp_pai (its P-CSCF's assertion, R27, R78), or gone (an untrusted
    peer's, R43, R57)."""
    for method, drop, anon in (("INVITE", inv_drop, inv_anon), ("ACK", dlg_drop, dlg_anon),
                               ("BYE", dlg_drop, dlg_anon)):
        s = c.sent_by_uac(req(method), method)
        c.got_by_uas(req(method), method)
        rep = {"from": anon_from(s)} if anon else {}
        for g in [m for m in c.uas if not m.sent and m.method == method]:
            relayed(f"{c.label}: {method} at the callee", s, g, drop, rep)
            check_eq(f"{c.label}: {method} at the callee: From tag (R20: byte for byte)",
                     tag_of(s.one("from")), tag_of(g.one("from")))
    for code, method in ((180, "INVITE"), (200, "INVITE"), (200, "BYE")):
        s = c.sent_by_uas(resp(code, method), f"{code} to the {method}")
        for g in [m for m in c.uac if not m.sent and resp(code, method)(m)]:
            relayed(f"{c.label}: {code} to the {method} at the caller", s, g, ignore=(PAI,))
            check_eq(f"{c.label}: {code} to the {method} at the caller: PAI", list(resp_pai),
                     g.all(PAI))


def callee_bye(ctx, label, to, ruri, privacy, uac_port, uas_port, bye_pai, ok_drop):
    """A call whose callee hangs up (sipp/uac_call_callee_bye.xml, uas_call_callee_bye.xml):
    the callee's BYE must reach the caller as sent, its anonymous To untouched (R75, TC-23b),
    with PAI @p bye_pai; the caller's 200 (its PAI and User-Agent, no Privacy) must reach the
    callee minus @p ok_drop: the stored rules of the dialog (R74, R78, TC-24)."""
    c = Case(ctx, label, to, "uac_call_callee_bye.xml",
             keys(ruri=ruri, privacy=privacy, extra=no_privacy_line("extra")), uac_port,
             uas_port, "uas_call_callee_bye.xml",
             keys(p180=no_privacy_line("180"), p200=no_privacy_line("200"))).run()
    s, g = c.sent_by_uas(req("BYE"), "BYE"), c.got_by_uac(req("BYE"), "BYE")
    relayed(f"{label}: the callee's BYE at the caller", s, g, ignore=(PAI,))
    check(g.one("to").startswith(ANON_FROM),
          f"{label}: BYE: To must stay anonymous (R75): {g.one('to')!r}")
    check_eq(f"{label}: the callee's BYE at the caller: PAI", list(bye_pai), g.all(PAI))
    s, g = c.sent_by_uac(resp(200, "BYE"), "200 to the BYE"), c.got_by_uas(resp(200, "BYE"),
                                                                          "200 to the BYE")
    relayed(f"{label}: the caller's 200 to the BYE at the callee", s, g, ok_drop)
    return c


# ---- a core peer that repeats its 2xx ----

class RepeatingCallee:
    """A callee in Python on @p port (SIPp cannot send a copy of a 2xx after the ACK): it
    answers the INVITE 200 with two PAI lines and @p privacy, sends the same 200 again
    (a retransmission, RFC 3261 §13.3.1.4), then answers the BYE 200. `sent_200` is the
    200 as a Msg. Call serve() in a thread while a SIPp caller runs."""

    def __init__(self, port, privacy):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((svit.LOOPBACK, port))
        self.sock.settimeout(10)
        self.privacy = privacy
        self.sent_200 = None
        self.error = None

    @staticmethod
    def _answer(lines, code, extra):
        keep = [x for x in lines[1:] if x.split(":", 1)[0].strip().lower() in
                ("via", "record-route", "from", "to", "call-id", "cseq")]
        keep = [x + ";tag=py1" if x.lower().startswith("to:") and "tag=" not in x else x
                for x in keep]
        return "\r\n".join([f"SIP/2.0 {code}"] + keep + extra + ["Content-Length: 0", "", ""])

    def serve(self):
        try:
            while True:
                data, addr = self.sock.recvfrom(65535)
                lines = data.decode("utf-8", "replace").split("\r\n\r\n")[0].split("\r\n")
                method = lines[0].split()[0]
                if method == "INVITE" and self.sent_200 is None:
                    text = self._answer(lines, "200 OK", [
                        f"Contact: <sip:core@{svit.LOOPBACK}:{self.sock.getsockname()[1]}>",
                        "P-Asserted-Identity: <sip:bob@home2.net>",
                        "P-Asserted-Identity: <tel:+4930222002>", self.privacy])
                    self.sent_200 = Msg(True, text.replace("\r\n", "\n"))
                    self.sock.sendto(text.encode(), addr)
                    time.sleep(0.03)
                    self.sock.sendto(text.encode(), addr)
                elif method == "BYE":
                    self.sock.sendto(self._answer(lines, "200 OK", []).encode(), addr)
                    return
        except Exception as e:  # reported by the test thread
            self.error = e
        finally:
            self.sock.close()


def repeated_2xx(ctx, label, to, ruri, uac_port, core_port, privacy):
    """A SIPp caller (sipp/uac_call.xml, no Privacy) on @p uac_port through listener @p to to a
    RepeatingCallee on @p core_port. @return (the 200 sent, the copies the caller got)."""
    callee = RepeatingCallee(core_port, privacy)
    th = threading.Thread(target=callee.serve, daemon=True)
    th.start()
    c = Case(ctx, label, to, "uac_call.xml",
             keys(ruri=ruri, privacy=no_privacy_line(), extra=no_privacy_line("extra")),
             uac_port, None)
    check_eq(f"{label}: UAC sipp exit status (0: its scenario completed)", 0,
             c.uac_proc.wait(15, "finish its scenario"))
    th.join(5)
    check(callee.error is None and not th.is_alive(),
          f"{label}: the Python callee failed: {callee.error or 'no BYE within 10 s'}")
    got = [m for m in trace(c.uac_work) if not m.sent and resp(200, "INVITE")(m)]
    return callee.sent_200, got


def cancelled(ctx, label, to, ruri, privacy, uac_port, uas_port, inv_drop, resp_pai):
    """A call the caller cancels after the 180 (sipp/uac_cancel.xml, uas_cancel.xml): the
    callee gets the INVITE minus @p inv_drop with the anonymous From; the node's CANCEL and its
    ACK of the 487 carry the same From, and no PAI (R77); the caller gets the 180 and the 487
    with PAI @p resp_pai."""
    c = Case(ctx, label, to, "uac_cancel.xml", keys(ruri=ruri, privacy=privacy), uac_port,
             uas_port, "uas_cancel.xml").run()
    s, g = c.sent_by_uac(req("INVITE"), "INVITE"), c.got_by_uas(req("INVITE"), "INVITE")
    relayed(f"{label}: INVITE at the callee", s, g, inv_drop, {"from": anon_from(s)})
    for method in ("CANCEL", "ACK"):
        for m in [x for x in c.uas if not x.sent and x.method == method]:
            check_eq(f"{label}: the node's {method} at the callee: From (R77)",
                     anon_from(s), m.one("from"))
            check_eq(f"{label}: the node's {method} at the callee: PAI", [], m.all(PAI))
        c.got_by_uas(req(method), method)
    for code in (180, 487):
        s = c.sent_by_uas(resp(code, "INVITE"), str(code))
        g = c.got_by_uac(resp(code, "INVITE"), str(code))
        relayed(f"{label}: {code} at the caller", s, g, ignore=(PAI,))
        check_eq(f"{label}: {code} at the caller: PAI", list(resp_pai), g.all(PAI))
    return c
