#!/usr/bin/env python3
"""
@file oir.py  privacy/oir: identity blocking by the home network on the subscriber's behalf
(R46, R51; OIR) at a running S-CSCF.

One node `scscf` (role scscf). The Python "P-CSCF" is trusted by its port; the next hop, a
Python "terminating S-CSCF", is trusted too (the request stays in T), and a second route leads
to an untrusted network. Subscribers: alice has identity blocking with `user` by policy, bob
has none. An originating INVITE (top Route naming the S-CSCF with `orig`, as the Service-Route
of TS 24.229 does) with alice's asserted identity leaves toward T with `id` and `user` added
to Privacy and the PAI kept (R46, R51); toward the untrusted network with PAI removed and From
anonymised. Bob's leaves untouched. A terminating request (no `orig`) for alice is not
touched: blocking applies to what she originates. A PAI from an untrusted peer never selects
a subscriber (only asserted identities count).
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


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((svit.LOOPBACK, 0))
    s.settimeout(5)
    return s, s.getsockname()[1]


def invite(port, node_port, user, n, orig=True, privacy=None, domain="home2.net"):
    route = f"Route: <sip:127.0.0.1:{node_port};lr{';orig' if orig else ''}>\r\n"
    priv = f"Privacy: {privacy}\r\n" if privacy else ""
    return (f"INVITE sip:carol@{domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-oir-{n}\r\n"
            f"{route}Max-Forwards: 70\r\n"
            f"From: \"{user.title()} Secret\" <sip:{user}@home1.net>;tag=o{n}\r\n"
            f"To: <sip:carol@{domain}>\r\nCall-ID: oir-{n}@pcscf.test\r\n"
            f"CSeq: 1 INVITE\r\nContact: <sip:ue@127.0.0.1:{port}>\r\n"
            f"P-Asserted-Identity: <sip:{user}@home1.net>\r\n{priv}"
            f"Content-Length: 0\r\n\r\n").encode()


def got(s):
    data, _ = s.recvfrom(65535)
    return data.decode("utf-8", "replace")


def hdr(msg, name):
    return re.findall(rf"(?im)^{name}:\s*(.*?)\r?$", msg.split("\r\n\r\n", 1)[0])


def test(ctx):
    pcscf, pport = sock()
    core, cport = sock()
    ext, eport = sock()
    conf = f"""workers: 1
log:
  level: info
nodes:
  - name: scscf
    role: scscf
    listeners:
      - {{transport: udp, address: "127.0.0.1:0"}}
    peers:
      - {{address: 127.0.0.1, port: {pport}, trusted: true}}
      - {{address: 127.0.0.1, port: {cport}, trusted: true}}
    subscribers:
      - {{impus: "sip:alice@home1.net, tel:+4930111001", identity_blocking: true, user_by_policy: true}}
      - {{impus: "sip:bob@home1.net"}}
    routes:
      - {{match: domain, value: untrusted.example, next_hop: "udp:127.0.0.1:{eport}"}}
      - {{match: default, next_hop: "udp:127.0.0.1:{cport}"}}
"""
    node = Proxy(ctx, conf, 1)
    port = node.ports["udp"]

    pcscf.sendto(invite(pport, port, "alice", 1), (svit.LOOPBACK, port))
    m = got(core)
    priv = ";".join(hdr(m, "Privacy")).replace(" ", "").lower().split(";")
    check("id" in priv and "user" in priv,
          f"alice (identity blocking, user by policy) toward T: id and user added (R46, R51); "
          f"Privacy: {hdr(m, 'Privacy')}")
    check(hdr(m, "P-Asserted-Identity"), "inside T the PAI stays (R19 is toward untrusted hops)")
    step(f"alice's INVITE toward T: Privacy {hdr(m, 'Privacy')}, PAI kept")

    pcscf.sendto(invite(pport, port, "alice", 2, domain="untrusted.example"),
                 (svit.LOOPBACK, port))
    m = got(ext)
    check(not hdr(m, "P-Asserted-Identity"), f"toward an untrusted network: no PAI:\n{m}")
    check_eq("From toward an untrusted network", ['"Anonymous" <sip:anonymous@anonymous.invalid>'
                                                  ';tag=o2'], hdr(m, "From"))
    # (Contact and Via are `header` privacy, not performed: the test keeps them neutral)
    check("alice" not in m.lower() and "secret" not in m.lower(),
          f"no trace of alice toward the untrusted network:\n{m}")
    step("alice's INVITE toward an untrusted network: PAI removed, From anonymous")

    pcscf.sendto(invite(pport, port, "bob", 3), (svit.LOOPBACK, port))
    m = got(core)
    check_eq("bob (no blocking): Privacy", [], hdr(m, "Privacy"))
    check_eq("bob: From", ['"Bob Secret" <sip:bob@home1.net>;tag=o3'], hdr(m, "From"))
    step("bob's INVITE: untouched")

    pcscf.sendto(invite(pport, port, "alice", 4, orig=False), (svit.LOOPBACK, port))
    m = got(core)
    check_eq("a terminating INVITE with alice's PAI: Privacy", [], hdr(m, "Privacy"))
    step("a request without `orig` (terminating case): no blocking added")

    rogue, rport = sock()
    rogue.sendto(invite(rport, port, "bob", 5, domain="home2.net"), (svit.LOOPBACK, port))
    m = got(core)
    check_eq("from an untrusted peer: its PAI removed on arrival (R43, R57)", [],
             hdr(m, "P-Asserted-Identity"))
    step("an untrusted peer's PAI selects no subscriber and is removed")
    node.stop()


if __name__ == "__main__":
    svit.run(test)
