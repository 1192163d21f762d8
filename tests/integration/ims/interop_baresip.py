#!/usr/bin/env python3
"""
@file interop_baresip.py  Interop with a UE no one here wrote: baresip registers as alice with
Digest through the lab's P-CSCF (UDP) and calls bob, a SIPp UE registered with SIPp.

- baresip's REGISTER is challenged (401) and then accepted (200) with Service-Route, Path and
  alice's P-Associated-URI (R82), as baresip's own SIP trace shows.
- baresip's INVITE to sip:bob@ims.example crosses P-CSCF -> S-CSCF -> I-CSCF -> S-CSCF -> P-CSCF
  and reaches bob's SIPp UE with alice's asserted identity (R27); bob answers 200, baresip
  ACKs it and hangs up with a BYE that bob answers 200, all through the recorded route.
- The other way round: bob (SIPp) calls alice; baresip gets the INVITE with bob's asserted
  identity, answers it by itself, and bob's BYE ends the call.

baresip 1.0.0 (libre 1.1) knows only Digest MD5 and gives up on a whole 401 as soon as one of
its WWW-Authenticate fields names another algorithm ("Register: Function not implemented"),
although RFC 8760 section 2.4 has a UAC answer the topmost challenge it supports and ignore the
ones it does not understand (libre's sip/auth.c fails the whole response with ENOSYS). The lab's
S-CSCF offers MD5 (first) and SHA-256, so this test turns SHA-256 off there
(`ims.digest_sha256: false`), as an operator with such UEs would.

baresip runs headless: no audio device (aufile plays a silent WAV the test writes into the
source), its command console (cons) on a UDP port of its own, its SIP trace (-s) on stdout,
which the test reads for readiness: "200 OK ... [1 binding]" once registered, "Call
established" once bob answered.
"""
import os
import re
import socket
import subprocess
import time
import wave

import imsit
import pvit
import svit
from svit import check, check_eq, fail, step

CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{sip}
call_local_timeout\t30
call_max_calls\t\t1
audio_source\t\taufile,{wav}
audio_alert\t\tnone
audio_srate\t\t8000
audio_channels\t\t1
module_path\t\t{modules}
module\t\t\tg711.so
module\t\t\taufile.so
module\t\t\tcons.so
cons_listen\t\t127.0.0.1:{cons}
module_app\t\taccount.so
module_app\t\tmenu.so
"""

ACCOUNT = ('<sip:alice@ims.example>;auth_user=alice@ims.example;auth_pass=alice-pw;'
           'outbound="sip:127.0.0.1:{pcscf};transport=udp";regint=600;answermode=auto\n')

MODULES = "/usr/lib/baresip/modules"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def md5_only(text):
    """The lab's configuration with the S-CSCF challenging with Digest MD5 only."""
    # The `ims: {...}` flow mapping of the scscf node, without crossing into the next node.
    block = r"(role: scscf\n(?:(?![ \t]*- name:)[ \t]+\S.*\n)*?[ \t]+ims: \{)"
    out, n = re.subn(block, r"\1digest_sha256: false, ", text, count=1)
    check(n == 1, f"no `ims: {{...}}` line in the S-CSCF of the lab's configuration:\n{text}")
    return out


def write_conf(ctx, pcscf):
    """baresip's configuration directory. @return (dir, SIP port, console port)."""
    d = ctx.path(ctx.unique("baresip"))
    os.makedirs(d)
    wav = os.path.join(d, "silence.wav")
    # Long enough to outlast the call: aufile ends the call when its file runs out.
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0" * 2 * 8000 * 30)
    sip, cons = imsit.free_port_pair(), svit.free_udp_port()
    with open(os.path.join(d, "config"), "w") as f:
        f.write(CONFIG.format(sip=sip, wav=wav, modules=MODULES, cons=cons))
    with open(os.path.join(d, "accounts"), "w") as f:
        f.write(ACCOUNT.format(pcscf=pcscf))
    return d, sip, cons


class Baresip:
    """baresip in @p confdir, its output read line by line, commands sent to its console."""

    def __init__(self, ctx, confdir, cons, pcscf):
        exe = ctx.tool("baresip", None)
        check(os.path.isdir(MODULES), f"baresip's modules are not in {MODULES}")
        self.cons = cons
        self.pcscf = pcscf  # tells what baresip sent from what it received
        self.proc = svit.Proc("baresip", [exe, "-f", confdir, "-s"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.out = svit.LineReader(self.proc.p.stdout, "baresip")
        self.pos = 0  # lines of self.out.lines already looked at
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((svit.LOOPBACK, 0))

    def wait_for(self, pattern, timeout, what):
        """Wait for a line matching @p pattern."""
        rx = re.compile(pattern)

        def seen():
            for line in self.out.lines[self.pos:]:
                self.pos += 1
                if rx.search(ANSI.sub("", line)):
                    return True
            return False
        self.wait(seen, timeout, what)

    def wait(self, cond, timeout, what):
        """Wait until @p cond() holds, keeping every line (the SIP trace is in them): reads in
        slices of a quarter second until then, until baresip exits or the deadline passes."""
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if self.out.eof or left <= 0:
                got = "\n    ".join(self.lines()[-30:]) or "(nothing)"
                why = "closed its output" if self.out.eof else f"did not get there in {timeout} s"
                fail(f"baresip {why} before {what}; it printed:\n    {got}")
            self.out.read_rest(min(left, 0.25))

    def lines(self):
        return [ANSI.sub("", x) for x in self.out.lines]

    def command(self, text):
        """A long command (`/dial ...`): the console reads keys, so the line ends in LF."""
        self.sock.sendto(text.encode() + b"\n", (svit.LOOPBACK, self.cons))

    def trace(self):
        """The SIP messages of baresip's trace (-s) read so far, as pvit.Msg: each follows a
        line `UDP <from> -> <to>` and ends at the next `#` line (the trace's separator)."""
        text = "\n".join(self.lines())
        out = []
        for m in re.finditer(r"^UDP (\S+) -> (\S+)\n(.*?)(?=^\S*#\s*$|^UDP \S+ -> |\Z)", text,
                             re.M | re.S):
            body = m.group(3).strip("\n") + "\n"
            out.append(pvit.Msg(m.group(2).endswith(f":{self.pcscf}"), body))
        return out


def test(ctx):
    lab = imsit.Lab(ctx, edit=md5_only)
    pcscf = lab.port[5060]
    step(f"the lab runs on ephemeral ports (P-CSCF {pcscf}), its S-CSCF challenging with MD5")

    b_uas, b_reg = imsit.free_port_pair(), imsit.free_port_pair()
    uas, uwork = imsit.sipp_uas(ctx, "bob-ue", "uas_call.xml", b_uas)
    imsit.register(ctx, lab, "bob", "bob-pw", b_reg, contact_port=b_uas)
    step("bob is registered with SIPp, his contact a SIPp UE that answers")

    confdir, sip_port, cons = write_conf(ctx, pcscf)
    ua = Baresip(ctx, confdir, cons, pcscf)
    ua.wait_for(r"alice@ims\.example: \{\d+/UDP/v4\} 200 OK .*\[1 binding\]", 20,
                "baresip's registration of alice (200 OK, 1 binding)")
    step("baresip registered alice through the P-CSCF")

    ua.command("/dial sip:bob@ims.example")
    ua.wait_for(r"Call established: sip:bob@ims\.example", 20, "the call to bob established")
    ua.command("/hangup")
    ua.wait(lambda: any(m.code == 200 and (m.cseq or "").endswith(" BYE") for m in ua.trace()),
            20, "the 200 to its BYE")
    imsit.finish(uas, "bob's UE")
    step("baresip called bob, bob answered, baresip hung up")

    # The other way: bob (SIPp, registering again from a new port) calls alice; baresip
    # answers by itself (answermode=auto) and SIPp hangs up.
    keys = dict(impu="sip:bob@ims.example", to="sip:alice@ims.example",
                privacy=pvit.no_privacy_line())
    keys["from"] = "From: <sip:bob@ims.example>"
    c_port = imsit.free_port_pair()
    keys["contact"] = f"<sip:ue@127.0.0.1:{c_port}>"
    uac, cwork = imsit.sipp(ctx, lab, "bob-calls", "reg_call.xml",
                            pvit.keys(**keys) + ["-au", "bob@ims.example", "-ap", "bob-pw"],
                            port=c_port)
    imsit.finish(uac, "bob's call to alice (180, 200, ACK, BYE 200)")
    ua.command("/quit")
    ua.wait_for(r"^ua: stop all", 10, "baresip stopping")
    check_eq("baresip's exit status", 0, ua.proc.wait(15, "exit after /quit"))
    ua.out.read_rest(2)
    step("bob called alice, baresip answered, bob hung up; baresip quit")

    # What baresip sent and received (its SIP trace): 401, then 200 to REGISTER
    msgs = ua.trace()
    regs = [m for m in msgs if not m.sent and m.code and (m.cseq or "").endswith("REGISTER")]
    check(len(regs) >= 2, f"baresip's trace has {len(regs)} responses to REGISTER")
    check_eq("the first responses to baresip's REGISTERs", [401, 200],
             [m.code for m in regs[:2]])
    chal = regs[0].all("www-authenticate")
    check(len(chal) == 1 and "algorithm=MD5" in chal[0], f"the challenge baresip got: {chal}")
    ok = regs[1]
    check_eq("alice's P-Associated-URI at baresip", ["<sip:alice@ims.example>, <tel:+15551000001>"],
             ok.all("p-associated-uri"))
    check_eq("Service-Route at baresip", [f"<sip:127.0.0.1:{lab.port[6060]};lr;orig>"],
             ok.all("service-route"))
    check(any(f"127.0.0.1:{sip_port}" in c for c in ok.all("contact")),
          f"baresip's contact is not in the 200: {ok.all('contact')}")
    inv = pvit.first(msgs, True, lambda m: m.method == "INVITE", "baresip's INVITE")
    codes = [m.code for m in msgs
             if not m.sent and m.code and m.callid == inv.callid and m.cseq == inv.cseq]
    check(200 in codes, f"responses to baresip's INVITE: {codes}")
    bye = pvit.first(msgs, True, lambda m: m.method == "BYE", "baresip's BYE")
    check(any(m.code == 200 and m.callid == bye.callid and m.cseq == bye.cseq
              for m in msgs if not m.sent),
          "baresip's BYE got no 200")
    step("baresip's trace: REGISTER 401 (MD5), 200 with P-Associated-URI; INVITE 200; BYE 200")

    # What bob's UE got: the INVITE through the whole path, the ACK and the BYE
    bmsgs = pvit.trace(uwork)
    binv = pvit.first(bmsgs, False, lambda m: m.method == "INVITE", "the INVITE at bob's UE")
    check_eq("Call-ID at bob's UE", inv.callid, binv.callid)
    check_eq("PAI at bob's UE (R27)", ["<sip:alice@ims.example>"],
             [x for x in binv.all("p-asserted-identity") if x.startswith("<sip:")])
    rr = ", ".join(binv.all("record-route"))
    hops = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", rr)]
    want = [lab.port[5070], lab.port[6060], lab.port[4060], lab.port[6060], lab.port[5070]]
    check(all(h in hops for h in want) and hops.count(lab.port[6060]) == 2,
          f"the INVITE at bob's UE did not pass P-CSCF, S-CSCF, I-CSCF, S-CSCF, P-CSCF: {rr}")
    pvit.first(bmsgs, True, lambda m: m.code == 200 and "INVITE" in (m.cseq or ""),
               "bob's 200 to the INVITE")
    pvit.first(bmsgs, False, lambda m: m.method == "ACK", "the ACK at bob's UE")
    bbye = pvit.first(bmsgs, False, lambda m: m.method == "BYE", "the BYE at bob's UE")
    check_eq("Call-ID of the BYE at bob's UE", inv.callid, bbye.callid)
    step("bob's UE: INVITE via P-CSCF, S-CSCF, I-CSCF, S-CSCF, P-CSCF with alice's PAI; 200; "
         "ACK; BYE")

    # What baresip got from bob: the INVITE with bob's asserted identity, then the BYE
    cmsgs = pvit.trace(cwork)
    cinv = pvit.first(cmsgs, True, lambda m: m.method == "INVITE", "bob's INVITE to alice")
    ainv = pvit.first(msgs, False, lambda m: m.method == "INVITE" and m.callid == cinv.callid,
                      "bob's INVITE at baresip")
    check_eq("PAI at baresip (R27)", ["<sip:bob@ims.example>"],
             [x for x in ainv.all("p-asserted-identity") if x.startswith("<sip:")])
    check(any(m.code == 200 and m.callid == cinv.callid and m.cseq == ainv.cseq
              for m in msgs if m.sent), "baresip's 200 to bob's INVITE is not in its trace")
    pvit.first(msgs, False, lambda m: m.method == "BYE" and m.callid == cinv.callid,
               "bob's BYE at baresip")
    step("baresip got bob's INVITE with his asserted identity, answered 200, got the BYE")

    lab.stop()
    step("the lab stopped cleanly, its log naming no one")


if __name__ == "__main__":
    svit.run(test)
