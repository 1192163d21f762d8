#!/usr/bin/env python3
"""
@file presence_tc.py  The requirements' presence test cases end to end through the lab, with
UEs of raw SIP (Python: registration with Digest, then SUBSCRIBE/PUBLISH from the registered
flow, NOTIFYs answered and kept), so that every byte each side received can be checked.

- TC-28 (a) an unknown SIP-If-Match: 412; (b) a PUBLISH without Event: 489 with Allow-Events
  (the lab's iFC send every PUBLISH to the PS).
- TC-29 an anonymous watcher (bob, Privacy: id): judged as anonymous (OP-9), alice's rule for
  anonymous requests says confirm: 200, a pending NOTIFY without presence; alice's winfo lists
  exactly one new watcher `sip:anonymous@anonymous.invalid`, status pending, with a random id
  and no display name; nothing alice receives contains "bob" (R98-R100).
- An LI target's anonymous subscription (carol, Privacy: id): the same pending answer and an
  anonymous watcher in alice's winfo, and the PS writes an LI record of the SUBSCRIBE with
  carol's asserted identity to the lab's sink (issue 6 §5, R62 for subscriptions); so does
  it for her refresh (which carries no Privacy header of its own) and her un-SUBSCRIBE.
- TC-30 a SUBSCRIBE from the Internet through the edge's external face, no asserted identity:
  403 (R93-R95).
- TC-33 a rule with a password for ivy: 401 with `Digest realm="sip:alice@ims.example"`,
  algorithm SHA-256; a wrong answer 403; the right one 200 and an active NOTIFY (R102).
- A watcher whose dialog is gone (bob answers the NOTIFY 481): the subscription ends, and
  alice's next change sends him nothing (RFC 6665 §4.2.2; issue 6 §7). Every NOTIFY the
  anonymous bob received names nothing of him (issue 6 §7).
- The PS's rates are settings: this lab runs with `ims.notify_interval: 0` and
  `ims.subscribe_rate: 0` (ims/presence checks the defaults, 1 s and 10/s): two publications
  in quick succession reach ivy as two NOTIFYs well under a second apart, and a burst of 40
  SUBSCRIBEs from one watcher is answered without a single 503. With `ims.min_expires: 1`,
  expiry: a 2 s subscription gets NOTIFY terminated;reason=timeout (RFC 6665 §4.2.2) and
  alice's winfo sees it end; a 2 s publication leaves the state, and ivy is told.
"""
import hashlib
import json
import re
import socket
import time

import imsit
import svit
from svit import check, check_eq, step

EXTRA = """subscribers:
  - impi: ivy@ims.example
    password: ivy-pw
    sets:
      - impus: ["sip:ivy@ims.example"]
"""

ALICE = "sip:alice@ims.example"
HA1_IVY = hashlib.sha256(f"sip:ivy@ims.example:{ALICE}:ivy-secret".encode()).hexdigest()

RULES = f"""<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"
            xmlns:pr="urn:ietf:params:xml:ns:pres-rules"
            xmlns:ocp="urn:oma:xml:xdm:common-policy"
            xmlns:wa="urn:sipveil:params:xml:ns:watcher-auth">
  <cp:rule id="r1">
    <cp:conditions><cp:identity><cp:one id="sip:bob@ims.example"/></cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
    <cp:transformations><pr:provide-services><pr:all-services/></pr:provide-services>
    </cp:transformations>
  </cp:rule>
  <cp:rule id="r2">
    <cp:conditions><ocp:anonymous-request/></cp:conditions>
    <cp:actions><pr:sub-handling>confirm</pr:sub-handling></cp:actions>
  </cp:rule>
  <cp:rule id="r3">
    <cp:conditions>
      <cp:identity><cp:one id="sip:ivy@ims.example"/></cp:identity>
      <wa:password>{HA1_IVY}</wa:password>
    </cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
    <cp:transformations><pr:provide-services><pr:all-services/></pr:provide-services>
    </cp:transformations>
  </cp:rule>
</cp:ruleset>
"""


class Ue:
    """A UE on one UDP socket: registers, sends requests, answers NOTIFYs, keeps every byte."""

    def __init__(self, lab, user, port_key=5060):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.peer = ("127.0.0.1", lab.port[port_key])
        self.user = user
        self.n = 0
        self.seen = []     # every message received, as text
        self.notifies = []
        self.notify_at = []  # monotonic arrival time of each NOTIFY
        self.notify_answer = "200 OK"  # "481 Call/Transaction Does Not Exist": a lost dialog

    def _send(self, text):
        self.s.sendto(text.encode(), self.peer)

    def _recv(self, until, timeout):
        """Receive, answering NOTIFYs on the way, until @p until(text) or @p timeout."""
        self.s.settimeout(0.2)
        end = time.time() + timeout
        while time.time() < end:
            try:
                t = self.s.recvfrom(65535)[0].decode(errors="replace")
            except socket.timeout:
                continue
            self.seen.append(t)
            if t.startswith("NOTIFY "):
                self.notifies.append(t)
                self.notify_at.append(time.monotonic())
                keep = "".join(f"{h}\r\n" for h in re.findall(
                    r"(?im)^((?:via|from|to|call-id|cseq):.*)$", t.split("\r\n\r\n")[0]))
                self._send(f"SIP/2.0 {self.notify_answer}\r\n{keep}Content-Length: 0\r\n\r\n")
            if until(t):
                return t
        return None

    def _pump(self, want, timeout=8):
        """Receive until a final response to CSeq @p want; answer NOTIFYs on the way."""
        t = self._recv(lambda t: t.startswith("SIP/2.0 ") and int(t.split()[1]) >= 200
                       and f"CSeq: {want}" in t, timeout)
        if t is None:
            svit.fail(f"{self.user}: no final response to {want}")
        return t

    def in_dialog(self, ok, method, headers="", cid=None, from_=None, tag=None):
        """@p method in the dialog that the 2xx @p ok set up (RFC 3261 §12.2.1.1): the
        Request-URI its Contact, a Route per Record-Route in reverse, its To tag."""
        hdr = ok.split("\r\n\r\n")[0]
        rr = [v.strip() for h in re.findall(r"(?im)^record-route:(.*)$", hdr) for v in h.split(",")]
        target = re.search(r"(?im)^contact:\s*<([^>]+)>", hdr).group(1)
        totag = re.search(r"(?im)^to:.*;tag=([^;\s]+)", hdr).group(1)
        routes = "".join(f"Route: {r}\r\n" for r in reversed(rr))
        return self.request(method, target, routes + headers, cid=cid, from_=from_, tag=tag,
                            to=f"<{ALICE}>;tag={totag}")

    def request(self, method, ruri, headers="", body="", cid=None, from_=None, tag=None, to=None):
        self.n += 1
        cid = cid or f"{self.user}-{method.lower()}-{self.n}"
        from_ = from_ or f"<sip:{self.user}@ims.example>"
        tag = tag or f"t{self.n}"
        self._send(f"{method} {ruri} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{self.user}{self.n};rport\r\n"
                   f"From: {from_};tag={tag}\r\nTo: {to or f'<{ruri}>' if method != 'REGISTER' else f'<sip:{self.user}@ims.example>'}\r\n"
                   f"Call-ID: {cid}\r\nCSeq: {self.n} {method}\r\n"
                   f"Contact: <sip:127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n{headers}"
                   f"Content-Length: {len(body)}\r\n\r\n{body}")
        return self._pump(f"{self.n} {method}")

    def register(self):
        t = self.request("REGISTER", "sip:ims.example", "Expires: 600\r\n", cid=f"{self.user}-reg")
        nonce = re.search(r'nonce="([^"]+)", algorithm=MD5', t).group(1)
        impi = f"{self.user}@ims.example"
        ha1 = hashlib.md5(f"{impi}:ims.example:{self.user}-pw".encode()).hexdigest()
        ha2 = hashlib.md5(b"REGISTER:sip:ims.example").hexdigest()
        r = hashlib.md5(f"{ha1}:{nonce}:00000001:c1:auth:{ha2}".encode()).hexdigest()
        t = self.request("REGISTER", "sip:ims.example",
                         f'Authorization: Digest username="{impi}", realm="ims.example", '
                         f'nonce="{nonce}", uri="sip:ims.example", response="{r}", '
                         f'algorithm=MD5, cnonce="c1", nc=00000001, qop=auth\r\nExpires: 600\r\n',
                         cid=f"{self.user}-reg")
        check(t.startswith("SIP/2.0 200"), f"{self.user}'s registration: {t[:80]}")

    def burst_subscribes(self, n, timeout=8):
        """@p n fetches (SUBSCRIBE with Expires: 0) to alice sent at once; their final codes."""
        first = self.n + 1
        for i in range(n):
            self.n += 1
            self._send(f"SUBSCRIBE {ALICE} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bKb{self.user}{self.n};rport\r\n"
                       f"From: <sip:{self.user}@ims.example>;tag=b{self.n}\r\nTo: <{ALICE}>\r\n"
                       f"Call-ID: {self.user}-burst-{self.n}\r\nCSeq: {self.n} SUBSCRIBE\r\n"
                       f"Contact: <sip:127.0.0.1:{self.port}>\r\nEvent: presence\r\nExpires: 0\r\n"
                       f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        codes = {}

        def final(t):
            m = re.match(r"SIP/2\.0 (\d+)", t)
            c = re.search(r"(?im)^cseq: (\d+) SUBSCRIBE", t)
            if m and c and int(m.group(1)) >= 200 and int(c.group(1)) >= first:
                codes[int(c.group(1))] = int(m.group(1))
            return len(codes) == n
        self._recv(final, timeout)
        return sorted(codes.values())

    def wait_notify(self, count, timeout=8):
        if len(self.notifies) < count:
            self._recv(lambda _: len(self.notifies) >= count, timeout)
        check(len(self.notifies) >= count, f"{self.user}: {len(self.notifies)} NOTIFYs, "
                                           f"expected {count}")
        return self.notifies[count - 1]


def code(t):
    return int(t.split()[1])


def no_rate_limits(text):
    """The lab's PS without NOTIFY throttling and without a SUBSCRIBE rate per watcher, and
    with a minimum Expires of 1 s, so that expiry can be seen within the test."""
    out, n = re.subn(r'(?m)^(    role: ps\n(?:    .*\n|      .*\n)*?    ims: \{enabled: true, uri: "[^"]+")\}',
                     r"\1, notify_interval: 0, subscribe_rate: 0, min_expires: 1}", text)
    check(n == 1, "the lab config's PS ims line")
    return out


def test(ctx):
    lab = imsit.Lab(ctx, edit=no_rate_limits, extra_subscribers=EXTRA)
    alice = Ue(lab, "alice")
    alice.register()
    pidf = (f'<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{ALICE}">'
            f'<tuple id="a1"><status><basic>open</basic></status></tuple></presence>')
    t = alice.request("PUBLISH", ALICE, "Event: presence\r\nContent-Type: application/pidf+xml\r\n",
                      pidf)
    check_eq("TC-28 (c) alice's PUBLISH", 200, code(t))
    check(re.search(r"(?im)^sip-etag: *\S+", t) and re.search(r"(?im)^expires: *\d+", t),
          f"TC-28 (c): the 200 has a SIP-ETag and an Expires: {t}")
    etag = re.search(r"(?im)^sip-etag: *(\S+)", t).group(1)
    t = alice.request("PUBLISH", ALICE, "Event: presence\r\nSIP-If-Match: dx200xyz\r\n")
    check_eq("TC-28 (a) PUBLISH with an unknown SIP-If-Match", 412, code(t))
    t = alice.request("PUBLISH", ALICE, "Content-Type: application/pidf+xml\r\n", pidf)
    check_eq("TC-28 (b) PUBLISH without Event", 489, code(t))
    check(re.search(r"(?im)^allow-events: presence\s*$", t), f"TC-28 (b) 489: {t}")
    step("TC-28: 200 with SIP-ETag, 412 for an unknown SIP-If-Match, 489 with Allow-Events "
         "for a PUBLISH without Event (the lab's iFC send every PUBLISH to the PS)")

    rc, out = imsit_ua_rules(ctx, lab)
    check(rc == 0, f"alice's rules over XCAP: {out}")
    # alice watches her watchers first
    t = alice.request("SUBSCRIBE", ALICE, "Event: presence.winfo\r\nExpires: 600\r\n",
                      cid="alice-winfo")
    check_eq("alice's winfo SUBSCRIBE", 200, code(t))
    alice.wait_notify(1)

    # TC-29: bob anonymous
    bob = Ue(lab, "bob")
    bob.register()
    t = bob.request("SUBSCRIBE", ALICE, "Event: presence\r\nPrivacy: id\r\nExpires: 3600\r\n",
                    from_='"Anonymous" <sip:anonymous@anonymous.invalid>', cid="anon-watch")
    check_eq("TC-29 bob's anonymous SUBSCRIBE", 200, code(t))
    n = bob.wait_notify(1)
    check(re.search(r"(?im)^subscription-state: pending", n), f"TC-29 NOTIFY: {n}")
    check("<presence" not in n, f"TC-29: presence data in the pending NOTIFY: {n}")
    w = alice.wait_notify(2)
    body = w.split("\r\n\r\n", 1)[1]
    watchers = re.findall(r"<watcher [^>]*>[^<]*</watcher>", body)
    check_eq("TC-29 watchers in alice's winfo", 1, len(watchers))
    check(re.search(r'status="pending"', watchers[0]) and
          "sip:anonymous@anonymous.invalid" in watchers[0] and "display-name" not in watchers[0],
          f"TC-29 winfo watcher: {watchers[0]}")
    for m in alice.seen:
        check("bob" not in m.lower(), f"TC-29: alice received 'bob': {m}")
    for m in bob.notifies:  # (its Call-ID and tags are bob's own choice, and name nobody)
        check("bob" not in m.lower(), f"TC-29: a NOTIFY to the anonymous bob names him: {m}")
    step("TC-29: bob, anonymous, is pending (r2, not r1); alice's winfo shows only "
         "sip:anonymous@anonymous.invalid, pending; nothing alice received names bob")

    # LI: carol, the lab's LI target, watches alice anonymously
    carol = Ue(lab, "carol")
    carol.register()
    t = carol.request("SUBSCRIBE", ALICE, "Event: presence\r\nPrivacy: id\r\nExpires: 600\r\n",
                      from_='"Anonymous" <sip:anonymous@anonymous.invalid>', cid="carol-anon",
                      tag="canon")
    check_eq("carol's anonymous SUBSCRIBE", 200, code(t))
    check(re.search(r"(?im)^subscription-state: pending", carol.wait_notify(1)),
          "carol's NOTIFY is pending (the anonymous rule)")
    w = alice.wait_notify(3)
    check("carol" not in w.lower(), f"alice's winfo names carol: {w}")
    with open(lab.path("var/li.jsonl")) as f:
        recs = [json.loads(x) for x in f if x.strip()]
    at_ps = [r for r in recs if r.get("node") == "ps" and r.get("method") == "SUBSCRIBE" and
             r.get("call_id") == "carol-anon"]
    check(len(at_ps) == 1 and "sip:carol@ims.example" in json.dumps(at_ps[0]["pai"]),
          f"one LI record of carol's anonymous SUBSCRIBE at the PS, with her PAI: {recs}")
    step("LI: carol (a target) watches alice anonymously: pending, alice's winfo shows "
         "anonymous only, and the PS wrote the SUBSCRIBE with her PAI to the LI sink")
    # the rest of her subscription's dialog too: a refresh without a Privacy header of its
    # own, and the un-SUBSCRIBE (every message of a dialog gets the same rules)
    anon_from = '"Anonymous" <sip:anonymous@anonymous.invalid>'
    for exp in (600, 0):
        r = carol.in_dialog(t, "SUBSCRIBE", f"Event: presence\r\nExpires: {exp}\r\n",
                            cid="carol-anon", from_=anon_from, tag="canon")
        check_eq(f"carol's in-dialog SUBSCRIBE, Expires {exp}", 200, code(r))
    with open(lab.path("var/li.jsonl")) as f:
        recs = [json.loads(x) for x in f if x.strip()]
    at_ps = [r for r in recs if r.get("node") == "ps" and r.get("method") == "SUBSCRIBE" and
             r.get("call_id") == "carol-anon"]
    check(len(at_ps) == 3 and all("sip:carol@ims.example" in json.dumps(r["pai"]) for r in at_ps),
          f"three LI records of carol's subscription at the PS, each with her PAI: {at_ps}")
    step("LI: carol's refresh (no Privacy header of its own) and un-SUBSCRIBE were written too, "
         "with her PAI")

    # TC-30: from the Internet through the edge, no asserted identity
    ext = Ue(lab, "carol-ext", port_key=5090)
    t = ext.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 600\r\n",
                      from_="<sip:carol@example.org>")
    check_eq("TC-30 an unauthenticated watcher from the Internet", 403, code(t))
    step("TC-30: a SUBSCRIBE from the Internet without an asserted identity: 403")

    # TC-33: ivy's password
    ivy = Ue(lab, "ivy")
    ivy.register()
    t = ivy.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 600\r\n", cid="ivy-sub")
    check_eq("TC-33 ivy without credentials", 401, code(t))
    chal = re.search(r"(?im)^www-authenticate: (.*)$", t).group(1)
    check(f'realm="{ALICE}"' in chal and "algorithm=SHA-256" in chal, f"TC-33 challenge: {chal}")
    nonce = re.search(r'nonce="([^"]+)"', chal).group(1)

    def answer(ha1, nc):
        ha2 = hashlib.sha256(f"SUBSCRIBE:{ALICE}".encode()).hexdigest()
        r = hashlib.sha256(f"{ha1}:{nonce}:{nc}:i1:auth:{ha2}".encode()).hexdigest()
        return (f'Authorization: Digest username="sip:ivy@ims.example", realm="{ALICE}", '
                f'nonce="{nonce}", uri="{ALICE}", response="{r}", algorithm=SHA-256, '
                f'cnonce="i1", nc={nc}, qop=auth\r\n')
    wrong = hashlib.sha256(f"sip:ivy@ims.example:{ALICE}:guess".encode()).hexdigest()
    t = ivy.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 600\r\n" +
                    answer(wrong, "00000001"), cid="ivy-sub")
    check_eq("TC-33 ivy with a wrong answer", 403, code(t))
    t = ivy.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 600\r\n" +
                    answer(HA1_IVY, "00000002"), cid="ivy-sub")
    check_eq("TC-33 ivy with the right answer", 200, code(t))
    n = ivy.wait_notify(1)
    check(re.search(r"(?im)^subscription-state: active", n) and "<basic>open</basic>" in n,
          f"TC-33 NOTIFY: {n}")
    step("TC-33: ivy's password rule: 401 (Digest, realm alice, SHA-256), a wrong answer 403, "
         "the right one 200 and an active NOTIFY with alice's presence")

    # a watcher whose dialog is gone: its NOTIFY gets 481, and the subscription ends (RFC 6665
    # §4.2.2), not kept to be notified again and again
    t = bob.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 600\r\n", cid="bob-lost")
    check_eq("bob's SUBSCRIBE by name (rule r1)", 200, code(t))
    before = len(bob.notifies)
    bob.wait_notify(before + 1)
    bob.notify_answer = "481 Call/Transaction Does Not Exist"
    t = alice.request("PUBLISH", ALICE, f"Event: presence\r\nSIP-If-Match: {etag}\r\n"
                      "Content-Type: application/pidf+xml\r\n", pidf.replace("open", "closed"))
    check_eq("alice's PUBLISH (closed)", 200, code(t))
    etag = re.search(r"(?im)^sip-etag: *(\S+)", t).group(1)
    seen_by_alice = len(alice.notifies)
    bob.wait_notify(before + 2)
    bob.notify_answer = "200 OK"
    alice._recv(lambda _: any('status="terminated"' in m for m in alice.notifies[seen_by_alice:]),
                8)
    ended = [m for m in alice.notifies[seen_by_alice:] if 'status="terminated"' in m]
    check(ended and re.search(r'<watcher [^>]*status="terminated" event="timeout"[^>]*>'
                              r'sip:bob@ims\.example</watcher>', ended[0]),
          f"alice's winfo does not show bob's subscription terminated (timeout): "
          f"{alice.notifies[seen_by_alice:]}")
    time.sleep(0.3)  # the 481 crosses the P-CSCF and the S-CSCF back to the PS
    t = alice.request("PUBLISH", ALICE, f"Event: presence\r\nSIP-If-Match: {etag}\r\n"
                      "Content-Type: application/pidf+xml\r\n", pidf)
    check_eq("alice's PUBLISH (open)", 200, code(t))
    etag = re.search(r"(?im)^sip-etag: *(\S+)", t).group(1)
    bob._recv(lambda _: False, 2)
    lost = [m for m in bob.notifies[before + 2:] if "Call-ID: bob-lost" in m]
    check(not lost, f"bob's subscription outlived the 481 to its NOTIFY: {lost}")
    step("a NOTIFY answered 481 ended bob's subscription: alice's winfo showed him terminated "
         "(timeout, RFC 3857), and her next change sent him nothing")

    # the rates are settings: no throttling, no SUBSCRIBE rate in this lab
    for status in ("closed", "open"):  # her publication modified (RFC 3903 §4.4)
        t = alice.request("PUBLISH", ALICE, f"Event: presence\r\nSIP-If-Match: {etag}\r\n"
                          "Content-Type: application/pidf+xml\r\n", pidf.replace("open", status))
        check_eq(f"alice's PUBLISH {status}", 200, code(t))
        etag = re.search(r"(?im)^sip-etag: *(\S+)", t).group(1)
    ivy.wait_notify(3)
    gap = ivy.notify_at[2] - ivy.notify_at[1]
    check(gap < 0.8 and "<basic>closed</basic>" in ivy.notifies[1],
          f"notify_interval 0: ivy's NOTIFYs {gap:.2f} s apart, the first {ivy.notifies[1][-300:]}")
    codes = bob.burst_subscribes(40)
    check(len(codes) == 40 and set(codes) == {200}, f"subscribe_rate 0: the burst got {codes}")
    step(f"ims.notify_interval 0: two publications reached ivy {gap:.2f} s apart; "
         f"ims.subscribe_rate 0: 40 SUBSCRIBEs at once from bob, 40 times 200")

    # expiry: a subscription not refreshed gets its last NOTIFY (RFC 6665 §4.2.2) and alice's
    # winfo sees it end; a publication not refreshed leaves the state, and ivy hears so
    seen_by_alice = len(alice.notifies)
    t = bob.request("SUBSCRIBE", ALICE, "Event: presence\r\nExpires: 2\r\n", cid="bob-short")
    check_eq("bob's SUBSCRIBE for 2 s", 200, code(t))
    bob._recv(lambda _: any("Call-ID: bob-short" in m and
                            re.search(r"(?im)^subscription-state: terminated;reason=timeout", m)
                            for m in bob.notifies), 8)
    check(any("Call-ID: bob-short" in m and "terminated;reason=timeout" in m
              for m in bob.notifies), "no NOTIFY terminated;reason=timeout after the expiry")
    alice._recv(lambda _: any('event="timeout"' in m for m in alice.notifies[seen_by_alice:]), 5)
    check(any('status="terminated" event="timeout"' in m for m in alice.notifies[seen_by_alice:]),
          "alice's winfo did not see bob's expired subscription end")
    t = alice.request("PUBLISH", ALICE, "Event: presence\r\nExpires: 2\r\nContent-Type: "
                      "application/pidf+xml\r\n", pidf.replace('id="a1"', 'id="brief"'))
    check_eq("alice's PUBLISH for 2 s", 200, code(t))
    def brief_at():
        return next((i for i, m in enumerate(ivy.notifies) if 'id="brief"' in m), None)
    ivy._recv(lambda _: brief_at() is not None, 8)
    at = brief_at()
    check(at is not None, "ivy never heard of the 2 s publication")
    ivy._recv(lambda _: len(ivy.notifies) > at + 1, 8)
    check(len(ivy.notifies) > at + 1 and 'id="brief"' not in ivy.notifies[-1],
          f"no NOTIFY without the expired publication: {ivy.notifies[at:]}")
    step("expiry: bob's 2 s subscription got NOTIFY terminated;reason=timeout and alice's winfo "
         "saw it end (timeout); alice's 2 s publication left, and ivy was told")
    lab.stop()


def imsit_ua_rules(ctx, lab):
    import subprocess
    path = ctx.path("tc-rules.xml")
    with open(path, "w") as f:
        f.write(RULES)
    p = subprocess.run([ctx.sipveil, "ua", "--user", "alice", "--password", "alice-pw",
                        "--pcscf", f"127.0.0.1:{lab.port[5060]}", "--xcap",
                        f"http://127.0.0.1:{lab.port[8080]}", "rules", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


if __name__ == "__main__":
    svit.run(test)
