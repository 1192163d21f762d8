#!/usr/bin/env python3
"""
@file reg_uac.py  The REGISTER load of bench/register for Digest algorithms that SIPp 3.6.1
cannot answer (SHA-256, RFC 8760): the same flow as scenarios/uac_register.xml, from Python's
standard library, with SIPp's statistics file as its output so that the harness reads both
alike.

One registration = REGISTER, the 401's challenge for --alg, REGISTER with Digest (qop=auth),
200. Users come from the harness's -inf CSV (SEQUENTIAL; field 0 the user, field 1 the
password). Every registration has its own Call-ID and branch, and the Contact names the user,
as in the SIPp scenario. Requests are retransmitted as SIPp does with retrans="500" (timer A:
0.5, 1, 2, 4 s ...); a registration without its answer after --recv-timeout seconds fails as
SIPp's -recv_timeout. Starts are paced at --rate per second, on a fixed schedule, as SIPp's
-r with -rp 1000.

The statistics file (--stf) has SIPp's column names for the counters the harness reads, one
row a second (-fd 1), so bench/proxy's read_sipp_stats takes it unchanged. Exit status as
SIPp's: 0 when every registration succeeded, 1 when some failed.

Used by bench/register only; run it alone with --help.
"""
import argparse
import hashlib
import os
import re
import select
import socket
import sys
import time

REALM = "ims.example"
HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
COLUMNS = ["CurrentTime", "OutgoingCall(C)", "SuccessfulCall(C)", "FailedCall(C)",
           "FailedUnexpectedMessage(C)", "FailedMaxUDPRetrans(C)", "FailedTimeoutOnRecv(C)",
           "Retransmissions(C)"]
PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


class Reg:
    """One registration in flight."""
    __slots__ = ("i", "user", "pw", "callid", "tag", "cseq", "msg", "t_sent", "rtx_at",
                 "rtx_gap", "deadline")


def users_of(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line == "SEQUENTIAL" or line.startswith("#"):
                continue
            fields = line.split(";")
            out.append((fields[0], fields[1]))
    return out


def header(text, name):
    """The values of header @p name (lower-case, long form) in @p text."""
    return [m.group(1).strip() for m in
            re.finditer(rf"(?im)^{re.escape(name)}\s*:(.*)$", text.split("\r\n\r\n", 1)[0])]


class Uac:
    def __init__(self, a):
        self.a = a
        host, port = a.target.rsplit(":", 1)
        self.dst = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((a.local, 0))
        self.sock.setblocking(False)
        self.lport = self.sock.getsockname()[1]
        self.users = users_of(a.inf)
        self.pending = {}
        self.n = {"created": 0, "ok": 0, "failed": 0, "unexpected": 0, "timeout": 0,
                  "retrans": 0}
        self.pid = os.getpid()
        self.h = HASH[a.alg]

    def request(self, r, auth):
        return (f"REGISTER sip:{REALM} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.a.local}:{self.lport};"
                f"branch=z9hG4bK{self.pid}x{r.i}x{r.cseq};rport\r\n"
                f"From: <sip:{r.user}@{REALM}>;tag={r.tag}\r\n"
                f"To: <sip:{r.user}@{REALM}>\r\n"
                f"Call-ID: {r.callid}\r\nCSeq: {r.cseq} REGISTER\r\n"
                f"Contact: <sip:{r.user}@{self.a.local}:{self.lport}>\r\n{auth}"
                f"Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()

    def send(self, r, now):
        self.sock.sendto(r.msg, self.dst)
        r.t_sent, r.rtx_gap = now, 0.5
        r.rtx_at = now + r.rtx_gap

    def start(self, now):
        i = self.n["created"]
        user, pw = self.users[i % len(self.users)]
        r = Reg()
        r.i, r.user, r.pw = i, user, pw
        r.callid = f"{i}-{self.pid}@reg_uac"
        r.tag = f"{self.pid}R{i}"
        r.cseq = 1
        r.deadline = now + self.a.recv_timeout
        r.msg = self.request(r, "")
        self.pending[r.callid] = r
        self.n["created"] += 1
        self.send(r, now)

    def answer(self, r, chal, now):
        h = self.h
        impi = f"{r.user}@{REALM}"
        ha1 = h(f"{impi}:{chal['realm']}:{r.pw}".encode()).hexdigest()
        ha2 = h(f"REGISTER:sip:{REALM}".encode()).hexdigest()
        cnonce = f"{r.tag}c"
        resp = h(f"{ha1}:{chal['nonce']}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
        auth = (f'Authorization: Digest username="{impi}", realm="{chal["realm"]}", '
                f'nonce="{chal["nonce"]}", uri="sip:{REALM}", response="{resp}", '
                f'algorithm={self.a.alg}, cnonce="{cnonce}", qop=auth, nc=00000001'
                + (f', opaque="{chal["opaque"]}"' if "opaque" in chal else "") + "\r\n")
        r.cseq = 2
        r.deadline = now + self.a.recv_timeout
        r.msg = self.request(r, auth)
        self.send(r, now)

    def fail(self, r, why):
        del self.pending[r.callid]
        self.n["failed"] += 1
        self.n[why] += 1

    def on_response(self, text, now):
        m = re.match(r"SIP/2\.0 (\d{3})", text)
        cid = header(text, "call-id") or header(text, "i")
        cseq = header(text, "cseq")
        if not m or not cid or not cseq:
            return
        r = self.pending.get(cid[0])
        code = int(m.group(1))
        if r is None or code < 200 or not cseq[0].startswith(f"{r.cseq} "):
            return  # a provisional, a retransmitted final, or another's
        if r.cseq == 1 and code == 401:
            for v in header(text, "www-authenticate"):
                p = {k.lower(): v1 or v2 for k, v1, v2 in PARAM.findall(v)}
                if p.get("algorithm", "MD5").upper() == self.a.alg.upper():
                    self.answer(r, p, now)
                    return
            self.fail(r, "unexpected")
        elif r.cseq == 2 and code == 200:
            del self.pending[r.callid]
            self.n["ok"] += 1
        else:
            self.fail(r, "unexpected")

    def timers(self, now):
        for r in list(self.pending.values()):
            if now >= r.deadline:
                self.fail(r, "timeout")
            elif now >= r.rtx_at:
                self.sock.sendto(r.msg, self.dst)
                self.n["retrans"] += 1
                r.rtx_gap = min(r.rtx_gap * 2, 4.0)
                r.rtx_at = now + r.rtx_gap

    def row(self):
        t = time.time()
        stamp = time.strftime("%Y-%m-%d\t%H:%M:%S", time.localtime(t)) + \
            f".{int(t % 1 * 1e6):06d}\t{t:.6f}"
        n = self.n
        return ";".join([stamp, str(n["created"]), str(n["ok"]), str(n["failed"]),
                         str(n["unexpected"]), "0", str(n["timeout"]), str(n["retrans"])])

    def run(self):
        a = self.a
        t0 = time.monotonic()
        stop = t0 + a.timeout
        with open(a.stf, "w") as st:
            st.write(";".join(COLUMNS) + "\n" + self.row() + "\n")
            next_row = t0 + 1.0
            while time.monotonic() < stop:
                now = time.monotonic()
                while self.n["created"] < a.calls and t0 + self.n["created"] / a.rate <= now:
                    self.start(now)
                if self.n["created"] >= a.calls and not self.pending:
                    break
                self.timers(now)
                if now >= next_row:
                    st.write(self.row() + "\n")
                    st.flush()
                    next_row += 1.0
                wake = [next_row, stop]
                if self.n["created"] < a.calls:
                    wake.append(t0 + self.n["created"] / a.rate)
                wake.extend(r.rtx_at for r in self.pending.values())
                wait = max(0.0, min(wake) - time.monotonic())
                if select.select([self.sock], [], [], wait)[0]:
                    while True:
                        try:
                            data = self.sock.recv(65535)
                        except BlockingIOError:
                            break
                        self.on_response(data.decode("utf-8", "replace"), time.monotonic())
            for r in list(self.pending.values()):
                self.fail(r, "timeout")
            st.write(self.row() + "\n")
        n = self.n
        print(f"reg_uac: {n['created']} registrations, {n['ok']} ok, {n['failed']} failed "
              f"({n['unexpected']} unexpected, {n['timeout']} timed out), {n['retrans']} "
              f"retransmissions, Digest {a.alg}")
        return 0 if n["failed"] == 0 and n["ok"] == a.calls else 1


def main():
    ap = argparse.ArgumentParser(
        description="REGISTER load with Digest (MD5 or SHA-256) for bench/register: SIPp's "
                    "uac_register.xml flow, SIPp's statistics file.")
    ap.add_argument("target", help="the registrar, host:port (UDP)")
    ap.add_argument("--inf", required=True, help="the users: the harness's SIPp -inf CSV")
    ap.add_argument("--alg", choices=sorted(HASH), default="SHA-256",
                    help="the Digest algorithm to answer (SHA-256)")
    ap.add_argument("--calls", type=int, required=True, help="registrations to make")
    ap.add_argument("--rate", type=float, required=True, help="registrations started a second")
    ap.add_argument("--stf", required=True, help="the statistics file to write (SIPp's format)")
    ap.add_argument("--local", default="127.0.0.1", help="the address to send from (127.0.0.1)")
    ap.add_argument("--recv-timeout", type=float, default=10.0,
                    help="seconds a request waits for its answer before the registration "
                         "fails (10)")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds the whole run may take (3600)")
    a = ap.parse_args()
    if a.calls < 1 or a.rate <= 0:
        ap.error("--calls and --rate must be positive")
    return Uac(a).run()


if __name__ == "__main__":
    sys.exit(main())
