#!/usr/bin/env python3
"""
@file auth.py  The S-CSCF's authentication through the lab, with clients SIPp 3.6 cannot be:
Digest SHA-256 (RFC 8760), a stale nonce, a malformed Authorization, and IMS AKA for dave
(TS 35.208 test set 1 keys) with a resynchronisation.

- alice answers the SHA-256 challenge (Python, hashlib): 200.
- A nonce older than ims.nonce_lifetime (1 s here): 401 with stale=true, and the new nonce
  works (RFC 7616 §3.3).
- An Authorization that does not parse: 400 (issue 5, "Bad input").
- dave registers with `sipveil ua` as his USIM (AKAv1-MD5); then with a USIM whose SQN is
  ahead of the network's (--aka-sqn): the UE answers with AUTS, the S-CSCF resynchronises and
  challenges again, and the registration succeeds; the store's SQN moved past the UE's.
"""
import hashlib
import re
import socket
import subprocess
import time

import imsit
import svit
from svit import check, check_eq, step

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OP = "cdc202d5123e20f62b6d676ac72cb318"


class Ue:
    """One UDP UE speaking raw SIP."""

    def __init__(self, pcscf):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(5)
        self.port = self.s.getsockname()[1]
        self.pcscf = ("127.0.0.1", pcscf)
        self.cseq = 0

    def register(self, user, auth=None):
        self.cseq += 1
        a = f"Authorization: {auth}\r\n" if auth else ""
        self.s.sendto((f"REGISTER sip:ims.example SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bKa{self.cseq};rport\r\n"
                       f"From: <sip:{user}@ims.example>;tag=a{self.port}\r\n"
                       f"To: <sip:{user}@ims.example>\r\nCall-ID: auth-{self.port}\r\n"
                       f"CSeq: {self.cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{self.port}>\r\n"
                       f"{a}Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(),
                      self.pcscf)
        while True:
            text = self.s.recvfrom(65535)[0].decode(errors="replace")
            if f"CSeq: {self.cseq} REGISTER" in text and int(text.split()[1]) >= 200:
                return int(text.split()[1]), text


def challenge(text, alg):
    for line in text.split("\r\n"):
        if line.lower().startswith("www-authenticate:") and f"algorithm={alg}" in line:
            return line
    return None


def answer(user, pw, chal, alg):
    h = hashlib.sha256 if alg == "SHA-256" else hashlib.md5
    nonce = re.search(r'nonce="([^"]+)"', chal).group(1)
    impi = f"{user}@ims.example"
    ha1 = h(f"{impi}:ims.example:{pw}".encode()).hexdigest()
    ha2 = h(b"REGISTER:sip:ims.example").hexdigest()
    resp = h(f"{ha1}:{nonce}:00000001:feed:auth:{ha2}".encode()).hexdigest()
    return (f'Digest username="{impi}", realm="ims.example", nonce="{nonce}", '
            f'uri="sip:ims.example", response="{resp}", algorithm={alg}, cnonce="feed", '
            f'nc=00000001, qop=auth')


def ua(ctx, lab, *args):
    p = subprocess.run([ctx.sipveil, "ua", "--pcscf", f"127.0.0.1:{lab.port[5060]}",
                        "--timeout", "10", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


def test(ctx):
    lab = imsit.Lab(ctx, edit=lambda t: re.sub(r"(name: scscf[\s\S]*?ims: \{enabled: true)",
                                               r"\1, nonce_lifetime: 1s", t, count=1))
    ue = Ue(lab.port[5060])

    # SHA-256 (RFC 8760)
    code, text = ue.register("alice")
    check_eq("first REGISTER", 401, code)
    chal = challenge(text, "SHA-256")
    check(chal is not None and challenge(text, "MD5") is not None,
          f"the 401 does not offer both MD5 and SHA-256: {text}")
    code, text = ue.register("alice", answer("alice", "alice-pw", chal, "SHA-256"))
    check_eq("REGISTER answered with SHA-256", 200, code)
    step("alice registered with Digest SHA-256 (RFC 8760)")

    # a stale nonce: a new challenge with stale=true, which then works
    code, text = ue.register("alice")
    chal = challenge(text, "MD5")
    time.sleep(2.2)  # the nonce's lifetime (1 s) must pass: this waits for an expiry
    code, text = ue.register("alice", answer("alice", "alice-pw", chal, "MD5"))
    check_eq("an answer with an expired nonce", 401, code)
    check(re.search(r"(?im)^www-authenticate:.*stale=true", text),
          f"no stale=true in the new challenge: {text}")
    code, text = ue.register("alice", answer("alice", "alice-pw", challenge(text, "MD5"), "MD5"))
    check_eq("the answer to the stale challenge", 200, code)
    step("an expired nonce got 401 with stale=true, and its successor worked (RFC 7616 3.3)")

    # a malformed Authorization
    code, text = ue.register("alice", 'Digest username="alice@ims.example, realm')
    check_eq("REGISTER with a malformed Authorization", 400, code)
    step("a malformed Authorization got 400")

    # dave: IMS AKA with sipveil ua as the USIM, then a resynchronisation
    rc, out = ua(ctx, lab, "--user", "dave", "--aka-k", K, "--aka-op", OP, "register")
    check_eq(f"sipveil ua register (AKA) exit status; output:\n{out}", 0, rc)
    check("P-Associated-URI: <sip:dave@ims.example>" in out, f"no P-Associated-URI: {out}")
    step("dave registered with IMS AKA (Milenage, TS 35.208 set 1) through the lab")
    ue_sqn = 32 * 1000
    rc, out = ua(ctx, lab, "--user", "dave", "--aka-k", K, "--aka-op", OP,
                 "--aka-sqn", str(ue_sqn), "register")
    check_eq(f"sipveil ua register with a USIM ahead exit status; output:\n{out}", 0, rc)
    check_eq("401s before the 200 (challenge, then the one after the resync)", 2,
             out.count("SIP/2.0 401"))
    show = subprocess.run([ctx.sipveil, "sub", "--db", "var/sipveil.db", "show",
                           "dave@ims.example"], cwd=lab.dir, stdout=subprocess.PIPE).stdout.decode()
    m = re.search(r"sqn (\d+)", show)
    check(m and int(m.group(1)) > ue_sqn, f"the store's SQN did not move past the UE's: {show}")
    step(f"a USIM at SQN {ue_sqn} answered with AUTS; the S-CSCF resynchronised "
         f"(store SQN {m.group(1)}) and dave registered")
    lab.stop()


if __name__ == "__main__":
    svit.run(test)
