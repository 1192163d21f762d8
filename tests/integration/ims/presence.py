#!/usr/bin/env python3
"""
@file presence.py  The Presence Server of the lab, first cut (issue 6): PUBLISH and
SUBSCRIBE/NOTIFY through P-CSCF, S-CSCF (terminating iFC) and the PS, with SIPp UEs.

- alice publishes her PIDF (200 with SIP-ETag); bob publishing for alice gets 403 and alice's
  state is unchanged (R87, R88: only the presentity's own asserted identities publish).
- alice subscribes to her own presence: 200, then a NOTIFY with Subscription-State active and
  her PIDF; her un-SUBSCRIBE gets 200 and a NOTIFY terminated.
- alice subscribes to her watcher information: the NOTIFY lists her presence subscription as
  a watcher (RFC 3857/3858); bob's SUBSCRIBE to alice's winfo gets 403 (R97).
- bob's SUBSCRIBE to alice's presence gets 403 while alice has no pres-rules (R93: block).
- alice writes her pres-rules over XCAP (curl, HTTP Digest): bob allowed with all services,
  frank on confirm, gina polite-blocked (TC-29..TC-31 in spirit):
  - bob's SUBSCRIBE: active, her PIDF;
  - gina's: active, a document that reveals nothing (no note, basic closed);
  - carol's (anonymous: her network blocks her identity) matches no rule: 403;
  - frank's: pending, no body; alice's winfo shows him pending; alice then allows him over XCAP
    and his subscription becomes active at once with her PIDF (R105).
- Watcher authentication set by alice (R102, R103): a rule wanting a grant signed by her key
  and one wanting a password; SUBSCRIBEs without them get 401; ivy with `sipveil ua
  --watcher-password`: a wrong one 403, hers active; hank with a grant made by
  `sipveil ua grant` watches her; the same grant again gets 403 (a grant works once).
- sipveil restarts under bob's active subscription: the PS and the P-CSCF kept their state,
  alice's next PUBLISH reaches bob, and his un-SUBSCRIBE is accepted.
"""
import hashlib
import os
import re
import socket
import subprocess
import time

import imsit
import pvit
import svit
from svit import check, check_eq, step


def run_ue(ctx, lab, user, pw, xml, **keys):
    port = imsit.free_port_pair()
    k = dict(impu=f"sip:{user}@ims.example", contact=f"<sip:{user}@127.0.0.1:{port}>")
    k.update(keys)
    p, work = imsit.sipp(ctx, lab, f"{user}-{xml.split('.')[0]}", xml,
                         pvit.keys(**k) + ["-au", f"{user}@ims.example", "-ap", pw], port=port)
    rc = p.wait(30, f"{user}'s SIPp ({xml})")
    return rc, pvit.trace(work)


RULES = """<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"
            xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
  <cp:rule id="bob">
    <cp:conditions><cp:identity><cp:one id="sip:bob@ims.example"/></cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
    <cp:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services>
      <pr:provide-all-attributes/>
    </cp:transformations>
  </cp:rule>
  <cp:rule id="frank">
    <cp:conditions><cp:identity><cp:one id="sip:frank@ims.example"/></cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>{frank}</pr:sub-handling></cp:actions>
    <cp:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services>
      <pr:provide-all-attributes/>
    </cp:transformations>
  </cp:rule>
  <cp:rule id="gina">
    <cp:conditions><cp:identity><cp:one id="sip:gina@ims.example"/></cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>polite-block</pr:sub-handling></cp:actions>
  </cp:rule>
</cp:ruleset>
"""


FRANK = """subscribers:
  - impi: frank@ims.example
    password: frank-pw
    sets:
      - impus: ["sip:frank@ims.example"]
  - impi: gina@ims.example
    password: gina-pw
    sets:
      - impus: ["sip:gina@ims.example"]
  - impi: hank@ims.example
    password: hank-pw
    sets:
      - impus: ["sip:hank@ims.example"]
  - impi: ivy@ims.example
    password: ivy-pw
    sets:
      - impus: ["sip:ivy@ims.example"]
"""


def put_rules(ctx, lab, frank):
    """alice's pres-rules over XCAP with curl (HTTP Digest as her IMPI)."""
    path = ctx.path(ctx.unique("rules") + ".xml")
    with open(path, "w") as f:
        f.write(RULES.replace("{frank}", frank))
    url = (f"http://127.0.0.1:{lab.port[8080]}/xcap-root/pres-rules/users/"
           f"sip%3Aalice%40ims.example/index")
    p = subprocess.run([ctx.tool("curl", None), "-sS", "--digest", "-u", "alice@ims.example:alice-pw",
                        "-X", "PUT", "-H", "Content-Type: application/auth-policy+xml",
                        "--data-binary", "@" + path, "-o", "/dev/null", "-w", "%{http_code}",
                        "--max-time", "10", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code = p.stdout.decode().strip()
    check(code in ("200", "201"), f"XCAP PUT of alice's rules: {code} {p.stderr.decode()}")


AUTH_RULES = """<?xml version="1.0" encoding="UTF-8"?>
<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"
            xmlns:pr="urn:ietf:params:xml:ns:pres-rules"
            xmlns:wa="urn:sipveil:params:xml:ns:watcher-auth">
  <cp:rule id="bob">
    <cp:conditions><cp:identity><cp:one id="sip:bob@ims.example"/></cp:identity></cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
    <cp:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services>
      <pr:provide-all-attributes/>
    </cp:transformations>
  </cp:rule>
  <cp:rule id="hank">
    <cp:conditions>
      <cp:identity><cp:one id="sip:hank@ims.example"/></cp:identity>
      <wa:grant-key>{key}</wa:grant-key>
    </cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
    <cp:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services>
      <pr:provide-all-attributes/>
    </cp:transformations>
  </cp:rule>
  <cp:rule id="ivy">
    <cp:conditions>
      <cp:identity><cp:one id="sip:ivy@ims.example"/></cp:identity>
      <wa:password>{ha1}</wa:password>
    </cp:conditions>
    <cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions>
  </cp:rule>
</cp:ruleset>
"""


def ua_cmd(ctx, lab, user, *args):
    """`sipveil ua` as @p user against the lab. @return (exit status, output)."""
    p = subprocess.run([ctx.sipveil, "ua", "--user", user, "--password", f"{user}-pw",
                        "--pcscf", f"127.0.0.1:{lab.port[5060]}", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=40)
    return p.returncode, p.stdout.decode(errors="replace")


def put_doc(ctx, lab, text):
    path = ctx.path(ctx.unique("rules") + ".xml")
    with open(path, "w") as f:
        f.write(text)
    rc, out = ua_cmd(ctx, lab, "alice", "--xcap", f"http://127.0.0.1:{lab.port[8080]}",
                     "rules", path)
    check(rc == 0, f"sipveil ua rules: {out}")


def wait_in_log(work, text, what):
    """Readiness: @p text in the SIPp message log of @p work (polled, with a deadline)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        for fn in os.listdir(work):
            if fn.endswith("_messages.log"):
                with open(os.path.join(work, fn), errors="replace") as f:
                    if text in f.read():
                        return
        time.sleep(0.02)
    svit.fail(f"{what}: not seen within 15 s")


def watch_waiting(ctx, lab, user, name, state):
    """Start SIPp as @p user: register, SUBSCRIBE to alice's presence and stay; return once
    its first NOTIFY has Subscription-State @p state. @return (process, work folder)"""
    port = imsit.free_port_pair()
    p, work = imsit.sipp(ctx, lab, name, "reg_subscribe_wait.xml",
                         pvit.keys(impu=f"sip:{user}@ims.example",
                                   contact=f"<sip:{user}@127.0.0.1:{port}>",
                                   to="sip:alice@ims.example", event="presence") +
                         ["-au", f"{user}@ims.example", "-ap", f"{user}-pw"], port=port)
    wait_in_log(work, f"Subscription-State: {state}", f"{user}'s first NOTIFY")
    return p, work


def test(ctx):
    lab = imsit.Lab(ctx, extra_subscribers=FRANK)

    rc, msgs = run_ue(ctx, lab, "alice", "alice-pw", "reg_publish.xml",
                      to="sip:alice@ims.example", status="open")
    check_eq("alice's PUBLISH SIPp exit status", 0, rc)
    ok = pvit.first(msgs, False, lambda m: m.code == 200 and "PUBLISH" in (m.cseq or ""),
                    "the 200 to PUBLISH")
    check(len(ok.all("sip-etag")) == 1, f"no SIP-ETag in the 200 to PUBLISH: {ok.lines}")
    step("alice published her presence: 200 with a SIP-ETag")

    rc, msgs = run_ue(ctx, lab, "bob", "bob-pw", "reg_publish_403.xml",
                      to="sip:alice@ims.example", status="closed")
    check_eq("bob's PUBLISH for alice: SIPp exit status (403 expected)", 0, rc)
    step("bob publishing alice's presence got 403 (R87, R88)")

    rc, msgs = run_ue(ctx, lab, "alice", "alice-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence")
    check_eq("alice's SUBSCRIBE SIPp exit status", 0, rc)
    notes = [m for m in msgs if not m.sent and m.method == "NOTIFY"]
    check_eq("NOTIFYs alice received", 2, len(notes))
    check(notes[0].one("subscription-state").startswith("active"),
          f"first NOTIFY: {notes[0].one('subscription-state')}")
    check("<basic>open</basic>" in notes[0].body, f"alice's PIDF not in the NOTIFY: {notes[0].body}")
    check("closed" not in notes[0].body, "bob's refused PUBLISH changed alice's state")
    check(notes[1].one("subscription-state").startswith("terminated"),
          f"last NOTIFY: {notes[1].one('subscription-state')}")
    step("alice watched herself: NOTIFY active with her PIDF (bob's publication not in it), "
         "then terminated on un-SUBSCRIBE")

    rc, msgs = run_ue(ctx, lab, "alice", "alice-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence.winfo")
    check_eq("alice's winfo SUBSCRIBE SIPp exit status", 0, rc)
    notes = [m for m in msgs if not m.sent and m.method == "NOTIFY"]
    check(notes and "watcherinfo" in notes[0].body, "no watcherinfo document in the NOTIFY")
    step("alice subscribed to her watcher information (RFC 3857)")

    for event in ("presence", "presence.winfo"):
        rc, msgs = run_ue(ctx, lab, "bob", "bob-pw", "reg_subscribe.xml",
                          to="sip:alice@ims.example", event=event)
        codes = [m.code for m in msgs if not m.sent and m.code and "SUBSCRIBE" in (m.cseq or "")]
        check(403 in codes, f"bob's SUBSCRIBE ({event}) to alice: {codes}")
    step("bob's SUBSCRIBEs to alice's presence and watcher information got 403 (R93, R97)")

    put_rules(ctx, lab, "confirm")
    step("alice wrote her pres-rules over XCAP (curl, HTTP Digest)")

    rc, msgs = run_ue(ctx, lab, "bob", "bob-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence")
    check_eq("bob's SUBSCRIBE with a rule allowing him: SIPp exit status", 0, rc)
    notes = [m for m in msgs if not m.sent and m.method == "NOTIFY"]
    check(notes[0].one("subscription-state").startswith("active") and
          "<basic>open</basic>" in notes[0].body, f"bob's NOTIFY: {notes[0].body}")
    step("bob, allowed by alice's rule, got her PIDF (R92, R96)")

    rc, msgs = run_ue(ctx, lab, "gina", "gina-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence")
    check_eq("gina's SUBSCRIBE (polite-block): SIPp exit status", 0, rc)
    notes = [m for m in msgs if not m.sent and m.method == "NOTIFY"]
    check(notes[0].one("subscription-state").startswith("active"), "polite-block is not active")
    check("open" not in notes[0].body and "lab" not in notes[0].body and
          "t1" not in notes[0].body, f"polite-block revealed something: {notes[0].body}")
    step("gina, polite-blocked, got an active subscription whose NOTIFY reveals nothing (R95)")

    # carol's network hides her identity on everything she sends (R46): her SUBSCRIBE is an
    # anonymous one, evaluated as anonymous (OP-9), and alice's rules name no anonymous watcher
    rc, msgs = run_ue(ctx, lab, "carol", "carol-pw", "reg_subscribe.xml",
                      to="sip:alice@ims.example", event="presence")
    codes = [m.code for m in msgs if not m.sent and m.code and "SUBSCRIBE" in (m.cseq or "")]
    check(403 in codes, f"carol's anonymous SUBSCRIBE: {codes}")
    step("carol's SUBSCRIBE, anonymous by her network's agreement, matched no rule: 403 "
         "(R98, R100)")

    # frank: pending, then allowed by an XCAP write, and active at once (R105)
    p, work = watch_waiting(ctx, lab, "frank", "frank-waits", "pending")
    step("frank, on confirm, got a pending subscription with no presence in it (R94)")
    put_rules(ctx, lab, "allow")
    imsit.finish(p, "frank's SIPp (pending, then active)")
    notes = [m for m in pvit.trace(work) if not m.sent and m.method == "NOTIFY"]
    check_eq("frank's NOTIFY states", ["pending", "active", "terminated"],
             [n.one("subscription-state").split(";")[0] for n in notes])
    check(not notes[0].body.strip(), f"the pending NOTIFY had a body: {notes[0].body}")
    check("<basic>open</basic>" in notes[1].body, f"frank's active NOTIFY: {notes[1].body}")
    step("alice allowed frank over XCAP: his subscription became active at once (R105)")

    # a restart with an active subscription: it goes on (the PS kept it, the P-CSCF kept
    # bob's registered flow), and the next publication reaches him
    p, work = watch_waiting(ctx, lab, "bob", "bob-stays", "active")
    lab.stop()
    lab.start()
    rc, _ = run_ue(ctx, lab, "alice", "alice-pw", "reg_publish.xml",
                   to="sip:alice@ims.example", status="closed")
    check_eq("alice's PUBLISH after the restart", 0, rc)
    imsit.finish(p, "bob's SIPp across the restart")
    notes = [m for m in pvit.trace(work) if not m.sent and m.method == "NOTIFY"]
    check_eq("bob's NOTIFY states across the restart", ["active", "active", "terminated"],
             [n.one("subscription-state").split(";")[0] for n in notes])
    # her first publication (tuple t1, open) survived the restart too: a newer publication
    # with the same tuple id does not overwrite another's tuple (the composition's rule)
    check("<basic>open</basic>" in notes[1].body and "sip:alice@ims.example" in notes[1].body,
          f"bob's NOTIFY after the restart: {notes[1].body}")
    step("sipveil restarted under bob's subscription: alice's publication and bob's "
         "subscription survived, her next PUBLISH reached him, and his un-SUBSCRIBE from his "
         "registered flow was accepted")
    # R103: a rule that wants a grant signed by alice's key; R102: one that wants a password
    key = ctx.path("alice-grant.key")
    rc, out = ua_cmd(ctx, lab, "alice", "grant", "--new-key", key)
    check(rc == 0, f"grant --new-key: {out}")
    pub = out.strip().split()[-1]
    ha1 = hashlib.sha256(b"sip:ivy@ims.example:sip:alice@ims.example:ivy-secret").hexdigest()
    put_doc(ctx, lab, AUTH_RULES.format(key=pub, ha1=ha1))
    rc, out = ua_cmd(ctx, lab, "hank", "subscribe", "sip:alice@ims.example", "--hold", "1")
    check("SIP/2.0 401" in out, f"hank without a grant: no 401: {out}")
    rc, out = ua_cmd(ctx, lab, "ivy", "subscribe", "sip:alice@ims.example", "--hold", "1")
    check("SIP/2.0 401" in out, f"ivy without her password: no 401: {out}")
    rc, out = ua_cmd(ctx, lab, "ivy", "subscribe", "sip:alice@ims.example", "--hold", "1",
                     "--watcher-password", "guess")
    check(rc != 0 and "SIP/2.0 403" in out, f"ivy with a wrong watcher password: {out}")
    rc, out = ua_cmd(ctx, lab, "ivy", "subscribe", "sip:alice@ims.example", "--hold", "1",
                     "--watcher-password", "ivy-secret")
    # (her rule provides nothing: an active subscription to an empty document, RFC 5025)
    check(rc == 0 and "Subscription-State: active" in out, f"ivy with her watcher password: {out}")
    step("ivy's password rule with `sipveil ua subscribe --watcher-password`: a wrong one 403, "
         "hers 200 and an active subscription (R102)")
    step("rules wanting a grant (hank) or a password (ivy): a SUBSCRIBE without one gets 401 "
         "(R102, R103)")
    rc, token = ua_cmd(ctx, lab, "alice", "grant", "sip:hank@ims.example", "--key", key)
    token = token.strip().split()[-1]
    rc, out = ua_cmd(ctx, lab, "hank", "subscribe", "sip:alice@ims.example", "--hold", "1",
                     "--grant", token)
    check(rc == 0 and "<basic>open</basic>" in out, f"hank with alice's grant: {out}")
    rc, out = ua_cmd(ctx, lab, "hank", "subscribe", "sip:alice@ims.example", "--hold", "1",
                     "--grant", token)
    check("SIP/2.0 403" in out, f"hank's grant used twice was not refused: {out}")
    step("hank with a grant alice signed watched her; the same grant again got 403 (R103)")
    # throttling: bob watches alice; two publications in quick succession give him NOTIFYs
    # at least a second apart (changes in between coalesced)
    p, work = watch_waiting(ctx, lab, "bob", "bob-throttled", "active")
    for status in ("closed", "open"):
        rc, out = ua_cmd(ctx, lab, "alice", "publish", "--status", status, "--note", status)
        check(rc == 0, f"alice's publish {status}: {out}")
    imsit.finish(p, "bob's SIPp (throttled NOTIFYs)")
    times = notify_times(work)
    check(len(times) >= 2 and times[1] - times[0] >= 0.9,
          f"bob's first two NOTIFYs less than a second apart: {times}")
    notes = [m for m in pvit.trace(work) if not m.sent and m.method == "NOTIFY"]
    # (each `ua publish` is a publication of its own with tuple "ua": the first keeps it)
    check("<note>closed</note>" in notes[1].body, f"the delayed NOTIFY: {notes[1].body}")
    step(f"two publications in quick succession: bob's NOTIFYs came "
         f"{times[1] - times[0]:.2f} s apart, the delayed one with the state at its sending "
         f"(throttling)")

    flood_subscribes(lab)
    lab.stop()


def notify_times(work):
    """The arrival times (s) of the NOTIFYs in a SIPp message log."""
    out = []
    for fn in os.listdir(work):
        if not fn.endswith("_messages.log"):
            continue
        with open(os.path.join(work, fn), errors="replace") as f:
            text = f.read()
        for m in re.finditer(r"-{10,} \S+ (\d+):(\d+):([\d.]+)\n\S+ message received[^\n]*\n\n"
                             r"NOTIFY ", text):
            out.append(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    return sorted(out)


def flood_subscribes(lab):
    """frank registers (Python, Digest) and sends 60 SUBSCRIBEs at once: past the PS's rate per
    watcher (20 in a burst) they are refused with 503 and Retry-After, which reaches the UE as
    500 (a proxy never relays a 503, RFC 3261 §16.7 step 6), Retry-After kept."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    port = s.getsockname()[1]
    pcscf = ("127.0.0.1", lab.port[5060])

    def register(cseq, auth=""):
        s.sendto((f"REGISTER sip:ims.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};"
                  f"branch=z9hG4bKfr{cseq};rport\r\nFrom: <sip:frank@ims.example>;tag=fr\r\n"
                  f"To: <sip:frank@ims.example>\r\nCall-ID: flood-reg\r\nCSeq: {cseq} REGISTER\r\n"
                  f"Contact: <sip:frank@127.0.0.1:{port}>\r\n{auth}Expires: 600\r\n"
                  f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), pcscf)
        while True:
            t = s.recvfrom(65535)[0].decode(errors="replace")
            if "REGISTER" in t.split("\r\n")[5:7][0] + t and int(t.split()[1]) >= 200:
                return t
    t = register(1)
    nonce = re.search(r'nonce="([^"]+)", algorithm=MD5', t).group(1)
    ha1 = hashlib.md5(b"frank@ims.example:ims.example:frank-pw").hexdigest()
    ha2 = hashlib.md5(b"REGISTER:sip:ims.example").hexdigest()
    r = hashlib.md5(f"{ha1}:{nonce}:00000001:f1:auth:{ha2}".encode()).hexdigest()
    t = register(2, f'Authorization: Digest username="frank@ims.example", realm="ims.example", '
                    f'nonce="{nonce}", uri="sip:ims.example", response="{r}", algorithm=MD5, '
                    f'cnonce="f1", nc=00000001, qop=auth\r\n')
    check(t.startswith("SIP/2.0 200"), f"frank's registration: {t[:60]}")
    for i in range(60):
        s.sendto((f"SUBSCRIBE sip:alice@ims.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};"
                  f"branch=z9hG4bKfs{i};rport\r\nFrom: <sip:frank@ims.example>;tag=fs{i}\r\n"
                  f"To: <sip:alice@ims.example>\r\nCall-ID: flood-{i}\r\nCSeq: 1 SUBSCRIBE\r\n"
                  f"Contact: <sip:frank@127.0.0.1:{port}>\r\nEvent: presence\r\nExpires: 0\r\n"
                  f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), pcscf)
    codes = {}
    try:
        while sum(codes.values()) < 60:
            t = s.recvfrom(65535)[0].decode(errors="replace")
            if t.startswith("SIP/2.0") and "SUBSCRIBE" in t:
                c = int(t.split()[1])
                if c >= 200:
                    codes[c] = codes.get(c, 0) + 1
                    if c in (500, 503):  # the PS's 503 is a 500 after a proxy (RFC 3261 16.7)
                        check("Retry-After" in t, f"a {c} without Retry-After")
            elif t.startswith("NOTIFY"):  # answer what the accepted ones bring
                via = re.search(r"(?im)^(via:.*)$", t).group(1)
                rest = "\r\n".join(re.findall(r"(?im)^((?:from|to|call-id|cseq):.*)$", t))
                s.sendto(f"SIP/2.0 200 OK\r\n{via}\r\n{rest}\r\nContent-Length: 0\r\n\r\n".encode(),
                         pcscf)
    except socket.timeout:
        pass
    s.close()
    refused = codes.get(503, 0) + codes.get(500, 0)
    check(refused >= 30, f"the flood of 60 SUBSCRIBEs from one watcher was not limited: {codes}")
    step(f"a flood of 60 SUBSCRIBEs from one watcher: {codes}: past the PS's rate per watcher "
         f"its 503 with Retry-After (a 500 after the S-CSCF, RFC 3261 16.7 step 6)")


if __name__ == "__main__":
    svit.run(test)
