#!/usr/bin/env python3
"""
@file crash.py  The store survives a kill -9 in the middle of its writes, and nothing a UE was
told is lost.

300 subscribers register through the lab as fast as SIPp sends (each 200 OK follows the
binding's write to the store); once at least 60 of them have their 200 OK, sipveil is killed
with SIGKILL while the rest are still being written. Then:
- `sipveil sub list` reads the store (the file is consistent: SQLite's WAL);
- sipveil starts again on the same store and reloads at least as many registrations, and the
  P-CSCF at least as many UE flows, as the UEs had received 200 OKs for (a 200 leaves only after
  the group commit of its read pass has put both in the store);
- a registered user is reachable: a MESSAGE to one that had its 200 reaches its contact.
"""
import hashlib
import os
import re
import select
import signal
import socket
import subprocess
import time

import imsit
import pvit
import svit
from svit import check, check_eq, fail, step

N = 300


class RegClient:
    """Many UEs, each on a UDP socket of its own (the P-CSCF keeps one registration per UE
    flow), each registering with Digest MD5: REGISTER, 401, REGISTER with the answer; `ok`
    holds the users whose 200 OK arrived."""

    def __init__(self, pcscf, names):
        self.socks = {}
        for u in names:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            self.socks[u] = s
        self.pcscf = ("127.0.0.1", pcscf)
        self.ok = set()

    def port(self, user):
        return self.socks[user].getsockname()[1]

    def req(self, user, cseq, auth=""):
        port = self.port(user)
        return (f"REGISTER sip:ims.example SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{user}c{cseq};rport\r\n"
                f"From: <sip:{user}@ims.example>;tag=t{user}\r\nTo: <sip:{user}@ims.example>\r\n"
                f"Call-ID: crash-{user}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{user}@127.0.0.1:{port}>\r\n{auth}"
                f"Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()

    def start(self):
        for u, s in self.socks.items():
            s.sendto(self.req(u, 1), self.pcscf)

    def pump(self, timeout):
        r, _, _ = select.select(list(self.socks.values()), [], [], timeout)
        for s in r:
            try:
                data, _ = s.recvfrom(65535)
            except BlockingIOError:
                continue
            text = data.decode(errors="replace")
            user = re.search(r"(?im)^call-id:\s*crash-(\S+)", text).group(1)
            code = int(text.split()[1])
            if code == 200:
                self.ok.add(user)
            elif code == 401:
                nonce = re.search(r'nonce="([^"]+)", algorithm=MD5', text).group(1)
                impi = f"{user}@ims.example"
                ha1 = hashlib.md5(f"{impi}:ims.example:pw-{user}".encode()).hexdigest()
                ha2 = hashlib.md5(b"REGISTER:sip:ims.example").hexdigest()
                resp = hashlib.md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}".encode()).hexdigest()
                auth = (f'Authorization: Digest username="{impi}", realm="ims.example", '
                        f'nonce="{nonce}", uri="sip:ims.example", response="{resp}", '
                        f'algorithm=MD5, cnonce="c0ffee", nc=00000001, qop=auth\r\n')
                s.sendto(self.req(user, 2, auth), self.pcscf)

    def close(self):
        for s in self.socks.values():
            s.close()


def users():
    return [f"u{i:04d}" for i in range(N)]


def test(ctx):
    extra = "subscribers:\n" + "".join(
        f"  - impi: {u}@ims.example\n    password: pw-{u}\n"
        f"    sets:\n      - impus: [\"sip:{u}@ims.example\"]\n" for u in users())
    lab = imsit.Lab(ctx, extra_subscribers=extra,
                    edit=lambda t: t.replace('ims: {enabled: true, uri: "sip:127.0.0.1:',
                                             'ims: {enabled: true, register_rate: 0, '
                                             'uri: "sip:127.0.0.1:', 1))
    # the UEs are this script (SIPp 3.6 cannot take per-user credentials from a CSV file)
    ues = RegClient(lab.port[5060], users())
    ues.start()
    deadline = time.time() + 30
    while time.time() < deadline and len(ues.ok) < 60:
        ues.pump(0.01)
    check(len(ues.ok) >= 60, f"only {len(ues.ok)} registrations completed in 30 s")
    lab.proc.send_signal(signal.SIGKILL)
    lab.proc.wait(10, "die of SIGKILL")
    registered = sorted(ues.ok)
    port = ues.port(registered[0])
    ues.close()
    step(f"sipveil killed with SIGKILL after {len(registered)} of {N} registrations got 200 OK")

    out = subprocess.run([ctx.sipveil, "sub", "--db", "var/sipveil.db", "list"], cwd=lab.dir,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check_eq("sipveil sub list after the crash", 0, out.returncode)
    check(out.stdout.decode().count("@ims.example") >= N,
          "the subscriptions are not all listed after the crash")
    step("the store opens and lists every subscription after the crash")

    lab.start()
    deadline = time.time() + 10
    reloaded = flows = None
    while time.time() < deadline and (reloaded is None or flows is None):
        with open(lab.err_path, errors="replace") as f:
            log = f.read()
        found = re.findall(r"(\d+) registered contacts reloaded", log)
        if found:
            reloaded = int(found[-1])
        found = re.findall(r"(\d+) registered UE flows reloaded", log)
        if found:
            flows = int(found[-1])
        time.sleep(0.02)
    check(reloaded is not None, "no reload line in the log after the restart")
    check(reloaded >= len(registered),
          f"{reloaded} registrations reloaded, but {len(registered)} had their 200 OK")
    step(f"{reloaded} registrations reloaded: none that a UE was told about is lost")
    # the P-CSCF's side of each registration (the UE's flow) is in the same group commit as
    # the S-CSCF's binding, and the 200 waited for it too
    check(flows is not None, "no reload line of the P-CSCF's UE flows after the restart")
    check(flows >= len(registered),
          f"{flows} UE flows reloaded, but {len(registered)} UEs had their 200 OK")
    step(f"{flows} UE flows reloaded by the P-CSCF: none that a UE was told about is lost")

    # one of them is reachable: a MESSAGE to it reaches its contact (SIPp's socket)
    who = registered[0]
    uas, uwork = imsit.sipp_uas(ctx, "ue", "uas_message.xml", port)
    a = imsit.free_port_pair()
    q, _ = imsit.sipp(ctx, lab, "alice", "reg_message.xml",
                      pvit.keys(impu="sip:alice@ims.example", contact=f"<sip:ue@127.0.0.1:{a}>",
                                to=f"sip:{who}@ims.example",
                                privacy=pvit.no_privacy_line(),
                                **{"from": "From: <sip:alice@ims.example>"}) +
                      ["-au", "alice@ims.example", "-ap", "alice-pw"], port=a)
    imsit.finish(q, f"alice's MESSAGE to {who}")
    imsit.finish(uas, f"{who}'s contact")
    step(f"{who}, registered before the crash, is reachable after it")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
