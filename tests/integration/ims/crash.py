#!/usr/bin/env python3
"""
@file crash.py  The store survives a kill -9 in the middle of its writes, and nothing a UE was
told is lost.

300 subscribers register through the lab as fast as SIPp sends (each 200 OK follows the
binding's write to the store); once at least 60 of them have their 200 OK, sipveil is killed
with SIGKILL while the rest are still being written. Then:
- `sipveil sub list` reads the store (the file is consistent: SQLite's WAL);
- sipveil starts again on the same store and reloads at least as many registrations as SIPp
  had received 200 OKs for (a 200 went out only after its binding was in the store);
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
    """Many UEs on one UDP socket, each registering with Digest MD5: REGISTER, 401, REGISTER
    with the answer; `ok` holds the users whose 200 OK arrived."""

    def __init__(self, pcscf):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.setblocking(False)
        self.port = self.s.getsockname()[1]
        self.pcscf = ("127.0.0.1", pcscf)
        self.ok = set()

    def req(self, user, cseq, auth=""):
        return (f"REGISTER sip:ims.example SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{user}c{cseq};rport\r\n"
                f"From: <sip:{user}@ims.example>;tag=t{user}\r\nTo: <sip:{user}@ims.example>\r\n"
                f"Call-ID: crash-{user}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{user}@127.0.0.1:{self.port}>\r\n{auth}"
                f"Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()

    def start(self, names):
        for u in names:
            self.s.sendto(self.req(u, 1), self.pcscf)

    def pump(self, timeout):
        r, _, _ = select.select([self.s], [], [], timeout)
        while r:
            try:
                data, _ = self.s.recvfrom(65535)
            except BlockingIOError:
                return
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
                self.s.sendto(self.req(user, 2, auth), self.pcscf)

    def close(self):
        self.s.close()


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
    ues = RegClient(lab.port[5060])
    ues.start(users())
    deadline = time.time() + 30
    while time.time() < deadline and len(ues.ok) < 60:
        ues.pump(0.01)
    check(len(ues.ok) >= 60, f"only {len(ues.ok)} registrations completed in 30 s")
    lab.proc.send_signal(signal.SIGKILL)
    lab.proc.wait(10, "die of SIGKILL")
    registered = sorted(ues.ok)
    port = ues.port
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
    reloaded = None
    while time.time() < deadline and reloaded is None:
        with open(lab.err_path, errors="replace") as f:
            found = re.findall(r"(\d+) registered contacts reloaded", f.read())
        if found:
            reloaded = int(found[-1])
        time.sleep(0.02)
    check(reloaded is not None, "no reload line in the log after the restart")
    check(reloaded >= len(registered),
          f"{reloaded} registrations reloaded, but {len(registered)} had their 200 OK")
    step(f"{reloaded} registrations reloaded: none that a UE was told about is lost")

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
