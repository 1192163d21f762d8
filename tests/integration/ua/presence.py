#!/usr/bin/env python3
"""
@file presence.py  `sipveil ua` presence commands against the lab's own configuration on
ephemeral ports (imsit.Lab): the UE registers through the P-CSCF and the S-CSCF routes its
PUBLISH and SUBSCRIBEs to the PS (issue 6, §5 and §6).

- alice `publish --status open`: 200 and "etag ETAG" (R87: her own IMPU).
- bob `subscribe sip:alice@ims.example` with no rules: 403, exit 1 (R93: block by default).
- alice `rules FILE` over XCAP (HTTP Digest as her IMPI) allowing bob: 201 with an ETag;
  `rules --get` prints the document as written; a wrong password: exit 1 (R104).
- bob `subscribe` again: a NOTIFY active with alice's <basic>open</basic>, then, after the
  hold, the un-SUBSCRIBE and a NOTIFY terminated (TC-29 in spirit).
- bob `--privacy id subscribe`: evaluated as anonymous, no rule names an anonymous watcher:
  403 (R98, R100, OP-9).
- alice `subscribe --winfo` to herself: a watcherinfo document (R97).
- alice `publish --etag E --unpublish`: 200; bob's next NOTIFY shows her no longer open.
- `grant --new-key` then `grant`: the token has the format of pres.h (v1, watcher,
  presentity, expiry, nonce) and its Ed25519 signature verifies with the public key printed
  (checked with the openssl tool, R103).
"""
import base64
import os
import re
import stat
import subprocess
import time

import imsit
import svit
from svit import check, check_eq, step
from uait import expect_lines, run_ua

ALICE = "sip:alice@ims.example"
BOB = "sip:bob@ims.example"

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
</cp:ruleset>
"""


def ua(ctx, lab, user, *args, name=None, timeout=40):
    base = ["--user", user, "--password", f"{user}-pw", "--pcscf",
            f"127.0.0.1:{lab.port[5060]}"]
    return run_ua(ctx, base + list(args), timeout=timeout, name=name or f"{user}-{args[-1]}")


def notify_states(lines):
    """The Subscription-State values of the NOTIFYs printed, in order."""
    return [ln.split(":", 1)[1].strip() for ln in lines
            if ln.lower().startswith("  subscription-state:")]


def body_text(lines):
    return "\n".join(ln[4:] for ln in lines if ln.startswith("  | "))


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def check_grant(ctx, token, pub_b64, watcher, presentity, secs):
    """The token of pres.h: b64url(payload) "." b64url(signature), payload
    "v1\\nWATCHER\\nPRESENTITY\\nEXPIRY\\nNONCE"; the signature checked by openssl."""
    check(re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token) is not None,
          f"grant token is not b64url.b64url: {token!r}")
    p64, s64 = token.split(".")
    payload, sig = b64url(p64), b64url(s64)
    fields = payload.decode().split("\n")
    check_eq("grant payload fields", 5, len(fields))
    check_eq("grant version", "v1", fields[0])
    check_eq("grant watcher", watcher, fields[1])
    check_eq("grant presentity", presentity, fields[2])
    exp = int(fields[3])
    now = int(time.time())
    check(now + secs - 30 <= exp <= now + secs + 5, f"grant expiry {exp}, now {now}, +{secs}")
    check(re.fullmatch(r"[0-9a-f]{32}", fields[4]) is not None, f"grant nonce {fields[4]!r}")
    check_eq("Ed25519 signature length", 64, len(sig))
    # An Ed25519 SubjectPublicKeyInfo is a fixed 12-octet DER prefix and the raw key.
    pub = base64.b64decode(pub_b64, validate=True)
    check_eq("public key length", 32, len(pub))
    der = bytes.fromhex("302a300506032b6570032100") + pub
    paths = {n: ctx.path(ctx.unique(n)) for n in ("pub.der", "payload", "sig")}
    for n, data in (("pub.der", der), ("payload", payload), ("sig", sig)):
        with open(paths[n], "wb") as f:
            f.write(data)
    openssl = ctx.tool("openssl", None)
    v = subprocess.run([openssl, "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub.der"],
                        "-keyform", "DER", "-rawin", "-in", paths["payload"], "-sigfile",
                        paths["sig"]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(v.returncode == 0, f"openssl did not verify the grant: {v.stdout.decode()}")
    # one octet changed: refused
    with open(paths["payload"], "wb") as f:
        f.write(payload.replace(b"v1", b"v2", 1))
    v = subprocess.run([openssl, "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub.der"],
                        "-keyform", "DER", "-rawin", "-in", paths["payload"], "-sigfile",
                        paths["sig"]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(v.returncode != 0, "openssl verified a changed grant")


def test(ctx):
    lab = imsit.Lab(ctx)

    rc, out, err = ua(ctx, lab, "alice", "publish", "--status", "open", "--note", "at <lab>",
                      name="alice-publish")
    check_eq(f"alice publish exit status ({err})", 0, rc)
    expect_lines("alice publish", out, ["> PUBLISH sip:alice@ims.example",
                                        "< SIP/2.0 200 OK", re.compile(r"^etag \S+$")])
    etag = [ln.split()[1] for ln in out if ln.startswith("etag ")][0]
    step("alice published her presence (R87): 200, SIP-ETag printed")

    rc, out, err = ua(ctx, lab, "bob", "subscribe", ALICE, "--hold", "1", name="bob-sub-norules")
    check_eq(f"bob subscribe without rules: exit status ({err})", 1, rc)
    expect_lines("bob subscribe without rules", out, [re.compile(r"^< SIP/2\.0 403 ")])
    step("bob's SUBSCRIBE without a rule allowing him: 403, exit 1 (R93)")

    rules = ctx.path("alice-rules.xml")
    with open(rules, "w") as f:
        f.write(RULES)
    xcap = f"http://127.0.0.1:{lab.port[8080]}"
    rc, out, err = ua(ctx, lab, "alice", "rules", "--xcap", xcap, rules, name="alice-rules")
    check_eq(f"alice rules exit status ({err})", 0, rc)
    expect_lines("alice rules", out, [
        "> PUT /xcap-root/pres-rules/users/sip%3Aalice%40ims.example/index",
        re.compile(r"^< HTTP/1\.1 20[01] "), re.compile(r'^  ETag: "?[0-9a-f]+"?$')])
    rc, out, err = ua(ctx, lab, "alice", "rules", "--xcap", xcap, "--get", name="alice-get")
    check_eq(f"alice rules --get exit status ({err})", 0, rc)
    check_eq("the document rules --get printed", RULES, "\n".join(out) + "\n")
    rc, out, err = run_ua(ctx, ["--user", "alice", "--password", "wrong", "rules", "--xcap",
                                xcap, "--get"], name="alice-get-wrong")
    check_eq("rules with a wrong password: exit status", 1, rc)
    check("401" in err, f"rules with a wrong password: {err}")
    step("alice wrote her pres-rules over XCAP with HTTP Digest and read them back; a wrong "
         "password gets 401, exit 1 (R104)")

    rc, out, err = ua(ctx, lab, "bob", "subscribe", ALICE, "--hold", "1", name="bob-sub")
    check_eq(f"bob subscribe exit status ({err})", 0, rc)
    expect_lines("bob subscribe", out, ["> SUBSCRIBE sip:alice@ims.example",
                                        re.compile(r"^< SIP/2\.0 20[02] "),
                                        re.compile(r"^< NOTIFY "), "  Event: presence"])
    states = notify_states(out)
    check(states and states[0].startswith("active"), f"bob's first NOTIFY: {states}")
    check(states[-1].startswith("terminated"), f"bob's last NOTIFY: {states}")
    body = body_text(out)
    check("<basic>open</basic>" in body, f"alice's PIDF not in bob's NOTIFY: {body}")
    check("at &lt;lab&gt;" in body, f"alice's note (escaped) not in bob's NOTIFY: {body}")
    check(sum(1 for ln in out if ln.startswith("> SUBSCRIBE ")) >= 2,
          f"no un-SUBSCRIBE after the hold: {out}")
    step("bob, allowed by alice's rule, printed a NOTIFY active with her <basic>open</basic>, "
         "then un-subscribed: NOTIFY terminated")

    rc, out, err = ua(ctx, lab, "bob", "--privacy", "id", "subscribe", ALICE, "--hold", "1",
                      name="bob-sub-anon")
    check_eq(f"bob's anonymous subscribe: exit status ({err})", 1, rc)
    expect_lines("bob's anonymous subscribe", out, [re.compile(r"^< SIP/2\.0 403 ")])
    step("bob's SUBSCRIBE with --privacy id is evaluated as anonymous: no rule allows an "
         "anonymous watcher, 403 (R98, R100)")

    rc, out, err = ua(ctx, lab, "alice", "subscribe", "--winfo", ALICE, "--hold", "1",
                      name="alice-winfo")
    check_eq(f"alice subscribe --winfo exit status ({err})", 0, rc)
    expect_lines("alice subscribe --winfo", out, [re.compile(r"^< NOTIFY "),
                                                  "  Event: presence.winfo"])
    body = body_text(out)
    check("<watcherinfo" in body and "urn:ietf:params:xml:ns:watcherinfo" in body,
          f"no watcherinfo document in alice's NOTIFY: {body}")
    step("alice subscribed to her own watcher information: a watcherinfo document (R97)")

    rc, out, err = ua(ctx, lab, "alice", "publish", "--etag", etag, "--unpublish",
                      name="alice-unpublish")
    check_eq(f"alice publish --unpublish exit status ({err})", 0, rc)
    expect_lines("alice unpublish", out, ["< SIP/2.0 200 OK"])
    rc, out, err = ua(ctx, lab, "bob", "subscribe", ALICE, "--hold", "1", name="bob-sub-after")
    check_eq(f"bob subscribe after the removal: exit status ({err})", 0, rc)
    check("<basic>open</basic>" not in body_text(out),
          f"alice's removed publication still shown: {body_text(out)}")
    step("alice removed her publication with its SIP-ETag: bob no longer sees her open")

    key = ctx.path("alice-grant.key")
    rc, out, err = run_ua(ctx, ["grant", "--new-key", key], name="grant-new-key")
    check_eq(f"grant --new-key exit status ({err})", 0, rc)
    check_eq("grant --new-key output lines", 1, len(out))
    pub = out[0]
    check_eq("key file mode", 0o600, stat.S_IMODE(os.stat(key).st_mode))
    rc, out2, err = run_ua(ctx, ["grant", "--new-key", key], name="grant-new-key-again")
    check_eq("grant --new-key over an existing file: exit status", 73, rc)
    rc, out, err = run_ua(ctx, ["--user", "alice", "grant", BOB, "--key", key, "--expires",
                                "600"], name="grant")
    check_eq(f"grant exit status ({err})", 0, rc)
    check_eq("grant output lines", 1, len(out))
    check_grant(ctx, out[0], pub, BOB, ALICE, 600)
    step("grant --new-key made a key pair; grant printed a token for bob that the public key "
         "verifies (R103)")

    lab.stop()


if __name__ == "__main__":
    svit.run(test)
