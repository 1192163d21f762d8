#!/usr/bin/env python3
"""
@file tc_nodes.py  privacy/tc_nodes: the test cases of requirements §2 that concern the
originating P-CSCF, the S-CSCF and the edge's ingress and anonymity policy, end to end through
one running process (the terminating P-CSCF and the edge's egress are in e2e_pcscf.py and
e2e_edge.py, dialogs there and in leak.py, OIR in oir.py).

Nodes: `pcscf` (a `ue` and a `core` listener, alice served at the UE's address), `scscf`
(alice's alias tel:+4930111001, anonymity policy `both`, a route to an untrusted AS), `edge`
(a `core` listener and three `external` ones with the anonymity policies `reject-anonymous`,
`reject-unidentified` and the node's `off`). Python sockets play the UE, the trusted core (by
port in `peers`), the untrusted AS and the Internet. Each case sends raw SIP and checks the
exact header lines the next hop received, or the refusal:
TC-01 (a, b, c), TC-02, TC-03, TC-04 (a, b; an OIR AS), TC-05, TC-19 (an edge with
`perform_user: false`), TC-20, TC-21 (a, b, c), TC-22 (a, b).
"""
import os
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proxy"))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402
from calls import Proxy  # noqa: E402

READY = re.compile(r"^ready udp 127\.0\.0\.1:(\d+) node (\S+)$")


class Peer:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((svit.LOOPBACK, 0))
        self.s.settimeout(5)
        self.port = self.s.getsockname()[1]

    def send(self, port, text):
        self.s.sendto(text.replace("\n", "\r\n").encode(), (svit.LOOPBACK, port))

    def recv(self, what):
        """The next message other than a 100 Trying (hop-by-hop, of no interest here)."""
        while True:
            try:
                data, _ = self.s.recvfrom(65535)
            except socket.timeout:
                svit.fail(f"{what}: nothing arrived within 5 s")
            if not data.startswith(b"SIP/2.0 100 "):
                return data.decode("utf-8", "replace")


def hdrs(msg, name):
    return re.findall(rf"(?im)^{name}:\s*(.*?)\r?$", msg.split("\r\n\r\n", 1)[0])


def status(msg):
    return msg.split("\r\n", 1)[0]


def request(src, n, ruri, lines, method="INVITE", route=""):
    """A request from peer @p src, with the header lines @p lines (LF-separated text)."""
    route = f"Route: {route}\n" if route else ""
    return (f"{method} {ruri} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:{src.port};branch=z9hG4bK-tc{n}\n"
            f"{route}Max-Forwards: 70\nTo: <{ruri}>\nCall-ID: tc-{n}@test\nCSeq: 1 {method}\n"
            f"Contact: <sip:x@127.0.0.1:{src.port}>\n{lines}Content-Length: 0\n\n")


def config(ue, core, asp):
    return f"""workers: 1
log:
  level: info
nodes:
  - name: pcscf
    role: pcscf
    listeners:
      - {{transport: udp, address: "127.0.0.1:0", face: ue}}
      - {{transport: udp, address: "127.0.0.1:0"}}
    peers:
      - {{address: 127.0.0.1, port: {core.port}, trusted: true}}
    subscribers:
      - {{flow: "127.0.0.1:{ue.port}", impus: "sip:alice@home1.net, tel:+4930111001"}}
    routes:
      - {{match: default, next_hop: "udp:127.0.0.1:{core.port}"}}
  - name: scscf
    role: scscf
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
    peers:
      - {{address: 127.0.0.1, port: {core.port}, trusted: true}}
    subscribers:
      - {{impus: "sip:alice@home1.net", alias: "tel:+4930111001"}}
    privacy:
      anonymity_policy: both
    routes:
      - {{match: domain, value: partner.example, next_hop: "udp:127.0.0.1:{asp.port}"}}
      - {{match: default, next_hop: "udp:127.0.0.1:{core.port}"}}
  - name: as
    role: as
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
    peers:
      - {{address: 127.0.0.1, port: {core.port}, trusted: true}}
    subscribers:
      - {{impus: "sip:alice@home1.net", identity_blocking: true, user_by_policy: true}}
    routes:
      - {{match: default, next_hop: "udp:127.0.0.1:{core.port}"}}
  - name: edge2
    role: icscf
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
    peers:
      - {{address: 127.0.0.1, port: {core.port}, trusted: true}}
    privacy:
      perform_user: false
    routes:
      - {{match: default, next_hop: "udp:127.0.0.1:{asp.port}"}}
  - name: edge
    role: icscf
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
      - {{transport: udp, address: "127.0.0.1:0", face: external, anonymity_policy: reject-anonymous}}
      - {{transport: udp, address: "127.0.0.1:0", face: external, anonymity_policy: reject-unidentified}}
      - {{transport: udp, address: "127.0.0.1:0", face: external}}
    peers:
      - {{address: 127.0.0.1, port: {core.port}, trusted: true}}
    routes:
      - {{match: default, next_hop: "udp:127.0.0.1:{core.port}"}}
"""


class Nodes(Proxy):
    """sipveil run with the text @p conf; every ready line kept by node, in listener order."""

    def __init__(self, ctx, conf):
        svit.ConfigRun.__init__(self, ctx, conf, "nodes")
        self.by = {}
        for _ in range(9):
            m = self.out.wait_for(READY.pattern, 15, "the ready lines")
            self.by.setdefault(m.group(2), []).append(int(m.group(1)))


ANON = 'From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=a1\n'


def tc01_02(nodes, ue, core):
    ue_port = nodes.by["pcscf"][0]
    ue.send(ue_port, request(ue, 1, "sip:bob@home2.net",
                             ANON + "P-Preferred-Identity: <sip:alice@home1.net>\nPrivacy: id\n"))
    m = core.recv("TC-01a")
    check_eq("TC-01a PAI", ["<sip:alice@home1.net>"], hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-01a PPI", [], hdrs(m, "P-Preferred-Identity"))
    check_eq("TC-01a Privacy", ["id"], hdrs(m, "Privacy"))
    check_eq("TC-01a From", ['"Anonymous" <sip:anonymous@anonymous.invalid>;tag=a1'],
             hdrs(m, "From"))
    step("TC-01a: PPI replaced by one PAI of alice; Privacy id and the anonymous From unchanged")
    ue.send(ue_port, request(ue, 2, "sip:bob@home2.net",
                             ANON + "P-Preferred-Identity: <sip:mallory@home1.net>\n"))
    m = core.recv("TC-01b")
    check_eq("TC-01b PAI (the default IMPU)", ["<sip:alice@home1.net>"],
             hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-01b PPI", [], hdrs(m, "P-Preferred-Identity"))
    step("TC-01b: an unregistered PPI gives the default IMPU")
    ue.send(ue_port, request(ue, 3, "sip:bob@home2.net",
                             ANON + "P-Asserted-Identity: <sip:bob@home2.net>\n"))
    m = core.recv("TC-01c")
    check_eq("TC-01c PAI", ["<sip:alice@home1.net>"], hdrs(m, "P-Asserted-Identity"))
    step("TC-01c: the UE's own PAI replaced by alice's")
    ue.send(ue_port, request(ue, 4, "sip:bob@home2.net",
                             'From: "Alice" <sip:alice@home1.net>;tag=a1\nSubject: lunch\n'
                             "User-Agent: PhoneX/1.0\nPrivacy: header;critical\n"
                             "Proxy-Require: privacy\n"))
    m = core.recv("TC-02")
    check_eq("TC-02 From", ['"Alice" <sip:alice@home1.net>;tag=a1'], hdrs(m, "From"))
    check_eq("TC-02 Subject", ["lunch"], hdrs(m, "Subject"))
    check_eq("TC-02 User-Agent", ["PhoneX/1.0"], hdrs(m, "User-Agent"))
    check_eq("TC-02 Privacy", ["header;critical"], hdrs(m, "Privacy"))
    check_eq("TC-02 Proxy-Require", ["privacy"], hdrs(m, "Proxy-Require"))
    check_eq("TC-02 PAI", ["<sip:alice@home1.net>"], hdrs(m, "P-Asserted-Identity"))
    step("TC-02: originating request forwarded untouched (header;critical, Proxy-Require), "
         "PAI inserted")


def tc03_05_22(nodes, core, asp):
    port = nodes.by["scscf"][0]
    orig = f"<sip:127.0.0.1:{port};lr;orig>"
    core.send(port, request(core, 5, "sip:bob@home2.net",
                            'From: "Alice" <sip:alice@home1.net>;tag=a1\n'
                            "P-Asserted-Identity: <sip:alice@home1.net>\nPrivacy: id\n",
                            route=orig))
    m = core.recv("TC-03")
    check_eq("TC-03 PAI (sip, then the tel alias)",
             ["<sip:alice@home1.net>", "<tel:+4930111001>"], hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-03 Privacy", ["id"], hdrs(m, "Privacy"))
    step("TC-03: the S-CSCF adds the tel alias as a second PAI, Privacy id unchanged")
    core.send(port, request(core, 6, "sip:bob@partner.example",
                            'From: "Alice" <sip:alice@home1.net>;tag=a1\n'
                            "P-Asserted-Identity: <sip:alice@home1.net>\n"
                            "P-Asserted-Identity: <tel:+4930111001>\nPrivacy: id\n",
                            method="MESSAGE", route=orig))
    m = asp.recv("TC-05")
    check_eq("TC-05 PAI toward the untrusted AS", [], hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-05 Privacy (a side branch keeps it)", ["id"], hdrs(m, "Privacy"))
    step("TC-05: toward an untrusted AS, PAI removed, Privacy id kept")
    core.send(port, request(core, 7, "sip:bob@home2.net", ANON + "Privacy: id\n"))
    m = core.recv("TC-22a")
    check(status(m).startswith("SIP/2.0 433 Anonymity Disallowed"),
          f"TC-22a: anonymous, no PAI, policy both: 433, got {status(m)!r}")
    check("alice" not in m and "anonymous.invalid" in m, "the 433 echoes only what was sent")
    step("TC-22a: anonymous request without an asserted identity refused 433")
    core.send(port, request(core, 8, "sip:bob@home2.net",
                            ANON + "P-Asserted-Identity: <sip:alice@home1.net>\nPrivacy: id\n"))
    m = core.recv("TC-22b")
    check(m.startswith("INVITE "), f"TC-22b: forwarded, got {status(m)!r}")
    check_eq("TC-22b PAI", ["<sip:alice@home1.net>"], hdrs(m, "P-Asserted-Identity"))
    step("TC-22b: with an asserted identity, forwarded with its PAI")


def tc04_19(nodes, core):
    port = nodes.by["as"][0]
    orig = f"<sip:127.0.0.1:{port};lr;orig>"
    two = ('From: "Alice" <sip:alice@home1.net>;tag=a1\n'
           "P-Asserted-Identity: <sip:alice@home1.net>\nP-Asserted-Identity: <tel:+4930111001>\n")
    core.send(port, request(core, 13, "sip:bob@home2.net", two, route=orig))
    m = core.recv("TC-04a")
    got = sorted(";".join(hdrs(m, "Privacy")).replace(" ", "").lower().split(";"))
    check_eq("TC-04a Privacy values", ["id", "user"], got)
    check_eq("TC-04a PAI", ["<sip:alice@home1.net>", "<tel:+4930111001>"],
             hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-04a From", ['"Alice" <sip:alice@home1.net>;tag=a1'], hdrs(m, "From"))
    step("TC-04a: the OIR AS adds id and user for alice; both PAI and From unchanged")
    core.send(port, request(core, 14, "sip:bob@home2.net", two + "Privacy: none\n", route=orig))
    m = core.recv("TC-04b")
    check_eq("TC-04b Privacy", ["none"], hdrs(m, "Privacy"))
    step("TC-04b: Privacy none is never extended")
    core.send(nodes.by["edge2"][0], request(core, 15, "sip:carol@example.org",
                                            'From: "Alice" <sip:alice@home1.net>;tag=a1\n'
                                            "Privacy: user;critical\n"))
    m = core.recv("TC-19")
    check(status(m).startswith("SIP/2.0 500 Privacy Unavailable: user"),
          f"TC-19: 500 Privacy Unavailable: user, got {status(m)!r}")
    step("TC-19: an edge that does not perform user refuses user;critical with 500")


def tc20_21(nodes, ext, core):
    core_port, anon_port, unid_port, off_port = nodes.by["edge"]
    ext.send(off_port, request(ext, 9, "sip:bob@home2.net",
                               "From: <sip:carol@example.org>;tag=c1\n"
                               "P-Asserted-Identity: <sip:ceo@home2.net>\nPrivacy: none\n"
                               "P-Preferred-Identity: <sip:carol@example.org>\n"))
    m = core.recv("TC-20")
    check_eq("TC-20 PAI from the untrusted network", [], hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-20 PPI", [], hdrs(m, "P-Preferred-Identity"))
    check_eq("TC-20 Privacy", ["none"], hdrs(m, "Privacy"))
    step("TC-20: ingress strips the Internet's PAI and PPI, Privacy none kept")
    anon = 'From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=c2\nPrivacy: id\n'
    ext.send(anon_port, request(ext, 10, "sip:bob@home2.net", anon))
    m = ext.recv("TC-21a")
    check(status(m).startswith("SIP/2.0 433 Anonymity Disallowed"),
          f"TC-21a: 433, got {status(m)!r}")
    step("TC-21a: reject-anonymous face: 433 Anonymity Disallowed")
    ext.send(unid_port, request(ext, 11, "sip:bob@home2.net",
                                "From: <sip:carol@example.org>;tag=c3\n"))
    m = ext.recv("TC-21b")
    check(status(m).startswith("SIP/2.0 403 "), f"TC-21b: 403 (not 433), got {status(m)!r}")
    step("TC-21b: reject-unidentified face: 403")
    ext.send(off_port, request(ext, 12, "sip:bob@home2.net", anon))
    m = core.recv("TC-21c")
    check(m.startswith("INVITE "), f"TC-21c: forwarded, got {status(m)!r}")
    check_eq("TC-21c PAI", [], hdrs(m, "P-Asserted-Identity"))
    check_eq("TC-21c Privacy", ["id"], hdrs(m, "Privacy"))
    step("TC-21c: policy off: forwarded, no PAI added, Privacy id unchanged")


def test(ctx):
    ue, core, asp, ext = Peer(), Peer(), Peer(), Peer()
    nodes = Nodes(ctx, config(ue, core, asp))
    tc01_02(nodes, ue, core)
    tc03_05_22(nodes, core, asp)
    tc04_19(nodes, core)
    tc20_21(nodes, ext, core)
    log = nodes.stop()
    check("alice" not in log and "carol" not in log, "no identity in the info log")


if __name__ == "__main__":
    svit.run(test)
