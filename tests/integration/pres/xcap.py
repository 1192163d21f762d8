#!/usr/bin/env python3
"""
@file xcap.py  The XCAP server for pres-rules (R104, R105; issue 6 §4 and §7) against
`sipveil run --config`, with curl as the client and http.client where curl cannot go (an MD5
answer to a SHA-256-first challenge, a replayed Authorization):

- no credentials: 401 with a SHA-256 and an MD5 challenge; a wrong password: 401 (R104)
- another user's document: 403; the user's other IMPU (tel URI): allowed (R104)
- PUT creates (201), GET returns the same bytes, MIME type and strong ETag (R105)
- If-Match with an old ETag: 412; If-None-Match: * on an existing document: 412; If-None-Match
  with the current ETag on GET: 304 (R105)
- a not-well-formed document, and one whose root is not common-policy's ruleset: 409 with an
  application/xcap-error+xml body, the stored document unchanged (R105)
- an XML bomb (entity expansion) and 5,000-deep nesting: 409, and the server still answers
- element and attribute selectors: GET, PUT (201), DELETE, application/xcap-el+xml
- a namespace selector: GET gives the bindings in scope (application/xcap-ns+xml); PUT and
  DELETE get 405 with Allow: GET
- DELETE, then GET: 404; another method: 405; MD5 Digest by hand; a replayed nonce-count: 401
- TLS: with a certificate the listener speaks HTTPS (curl --cacert); `require_tls` without a
  certificate is refused by --check-config (R104)
"""
import hashlib
import http.client
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402

SUBSCRIBERS = """\
subscribers:
  - impi: alice@ims.example
    password: alice-pw
    sets:
      - impus: [sip:alice@ims.example, "tel:+15551000001"]
  - impi: bob@ims.example
    password: bob-pw
    sets:
      - impus: [sip:bob@ims.example]
"""

CONFIG = """\
store: {db}
log: {{level: {level}}}
xcap:
  listen: 127.0.0.1:0
  realm: ims.example
{tls}nodes:
  - name: proxy
    role: proxy
    domain: ims.example
    listeners:
      - {{transport: udp, address: 127.0.0.1:0}}
"""

RULES = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
         b'<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"\n'
         b'    xmlns:cr="urn:ietf:params:xml:ns:common-policy">\n'
         b'  <cr:rule id="a">\n'
         b'    <cr:conditions><cr:identity><cr:one id="sip:bob@ims.example"/></cr:identity>'
         b'</cr:conditions>\n'
         b'    <cr:actions><sub-handling>allow</sub-handling></cr:actions>\n'
         b'  </cr:rule>\n'
         b'</cr:ruleset>\n')

BOMB = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaaaaaaaaaaaa">'
        + b"".join(b'<!ENTITY %c "%s">' % (c, (b"&%c;" % (c - 1)) * 10)
                   for c in range(ord("b"), ord("k")))
        + b']><ruleset xmlns="urn:ietf:params:xml:ns:common-policy">'
          b'<rule id="&j;"/></ruleset>')

ALICE = "/xcap-root/pres-rules/users/sip%3Aalice%40ims.example/index"
BOB = "/xcap-root/pres-rules/users/sip%3Abob%40ims.example/index"
ALICE_TEL = "/xcap-root/pres-rules/users/tel:+15551000001/index"


class Curl:
    """curl with Digest as @p user, answering status, headers and body."""

    def __init__(self, ctx, base, extra=()):
        self.exe = ctx.tool("curl", None)
        self.base = base
        self.extra = list(extra)
        self.tmp = ctx.path("curl")

    def __call__(self, method, path, user=None, body=None, ctype=None, headers=()):
        argv = [self.exe, "-sS", "-X", method, "-o", self.tmp + ".body", "-D", self.tmp + ".hdr",
                "--max-time", "10", *self.extra]
        if user:
            argv += ["--digest", "-u", user]
        if body is not None:
            with open(self.tmp + ".in", "wb") as f:
                f.write(body)
            argv += ["--data-binary", "@" + self.tmp + ".in"]
        if ctype:
            argv += ["-H", "Content-Type: " + ctype]
        for h in headers:
            argv += ["-H", h]
        argv.append(self.base + path)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        check(p.returncode == 0, f"curl {method} {path} failed ({p.returncode}): "
                                 f"{p.stderr.decode(errors='replace')}")
        with open(self.tmp + ".hdr", "rb") as f:
            blocks = f.read().decode("latin-1").split("\r\n\r\n")
        # with --digest curl shows the 401 first, then the answer to its second try
        last = [b for b in blocks if b.startswith("HTTP/")][-1]
        lines = last.split("\r\n")
        code = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
        with open(self.tmp + ".body", "rb") as f:
            data = f.read()
        return code, hdrs, data


def expect(what, want, got):
    check_eq(what, want, got[0])
    return got


def digest_by_hand(port, method, path, user, password, alg_pick, nc=1, replay_of=None):
    """One request with Digest computed here: @p alg_pick chooses the challenge ("MD5").
    @return (status, the Authorization sent)."""
    if replay_of is None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request(method, path)
        r = c.getresponse()
        r.read()
        check_eq("challenge status", 401, r.status)
        chals = r.msg.get_all("WWW-Authenticate")
        check(len(chals) == 2 and "SHA-256" in chals[0] and "MD5" in chals[1],
              f"SHA-256 then MD5 challenges, got {chals}")
        chal = [x for x in chals if f"algorithm={alg_pick}," in x][0]
        realm = re.search(r'realm="([^"]*)"', chal).group(1)
        nonce = re.search(r'nonce="([^"]*)"', chal).group(1)
        h = hashlib.md5 if alg_pick == "MD5" else hashlib.sha256
        ha1 = h(f"{user}:{realm}:{password}".encode()).hexdigest()
        ha2 = h(f"{method}:{path}".encode()).hexdigest()
        ncs, cnonce = f"{nc:08x}", "0a4f113b"
        resp = h(f"{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        auth = (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{path}", '
                f'algorithm={alg_pick}, response="{resp}", qop=auth, nc={ncs}, '
                f'cnonce="{cnonce}"')
    else:
        auth = replay_of
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, headers={"Authorization": auth})
    r = c.getresponse()
    r.read()
    return r.status, auth


def start(ctx, db, tls="", level="notice"):
    run = svit.ConfigRun(ctx, CONFIG.format(db=db, tls=tls, level=level), "sipveil")
    m = run.out.wait_for(r"^ready http (127\.0\.0\.1):(\d+) xcap$", 15,
                         "its 'ready http <addr> xcap' line")
    return run, int(m.group(2))


def stop(run):
    rc = run.proc.stop()
    run._err.flush()
    with open(run.err_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    svit.check_no_sanitizer_report(log, "sipveil run")
    check_eq("exit status of sipveil run", 0, rc)
    return log


def test(ctx):
    db = ctx.path("store.db")
    subs = ctx.path("subscribers.yaml")
    with open(subs, "w") as f:
        f.write(SUBSCRIBERS)
    imp = subprocess.run([ctx.sipveil, "sub", "--db", db, "import", subs],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    check(imp.returncode == 0, f"sipveil sub import: {imp.stdout.decode(errors='replace')}")

    run, port = start(ctx, db)
    curl = Curl(ctx, f"http://127.0.0.1:{port}")
    alice, bob = "alice@ims.example:alice-pw", "bob@ims.example:bob-pw"
    pr, el = "application/auth-policy+xml", "application/xcap-el+xml"

    code, h, _ = expect("GET without credentials", 401, curl("GET", ALICE))
    check(len(h.get("www-authenticate", [])) == 2, f"two challenges: {h}")
    expect("GET with a wrong password", 401, curl("GET", ALICE, "alice@ims.example:nope"))
    expect("GET by an unknown user", 401, curl("GET", ALICE, "eve@ims.example:x"))
    expect("GET of a missing document", 404, curl("GET", ALICE, alice))
    step("authentication required (R104): 401 without or with wrong credentials, 404 after")

    code, h, _ = expect("PUT a new document", 201, curl("PUT", ALICE, alice, RULES, pr))
    etag1 = h["etag"][0]
    check(re.fullmatch(r'"[0-9a-f]{32}"', etag1), f"a strong ETag, got {etag1}")
    code, h, data = expect("GET after PUT", 200, curl("GET", ALICE, alice))
    check_eq("the bytes read back", RULES, data)
    check_eq("the ETag read back", etag1, h["etag"][0])
    check_eq("Content-Type", pr, h["content-type"][0])
    step("PUT 201, GET returns the same bytes, ETag and MIME type (R105)")

    expect("bob GETs alice's document", 403, curl("GET", ALICE, bob))
    expect("bob PUTs alice's document", 403, curl("PUT", ALICE, bob, RULES, pr))
    expect("bob DELETEs alice's document", 403, curl("DELETE", ALICE, bob))
    expect("bob's own document", 404, curl("GET", BOB, bob))
    expect("alice's tel IMPU", 201, curl("PUT", ALICE_TEL, alice, RULES, pr))
    expect("alice reads bob's", 403, curl("GET", BOB, alice))
    step("another user's document: 403; the user's other IMPU: allowed (R104)")

    expect("If-Match with a wrong ETag", 412,
           curl("PUT", ALICE, alice, RULES, pr, ['If-Match: "0000"']))
    expect("If-None-Match: * on an existing document", 412,
           curl("PUT", ALICE, alice, RULES, pr, ["If-None-Match: *"]))
    expect("If-None-Match with the current ETag on GET", 304,
           curl("GET", ALICE, alice, headers=[f"If-None-Match: {etag1}"]))
    code, h, _ = expect("If-Match with the current ETag", 200,
                        curl("PUT", ALICE, alice, RULES, pr, [f"If-Match: {etag1}"]))
    etag2 = h["etag"][0]
    check(etag2 != etag1, "a new ETag after a write")
    expect("If-Match with the ETag before the last write", 412,
           curl("DELETE", ALICE, alice, headers=[f"If-Match: {etag1}"]))
    step("ETag conflicts: 412; If-None-Match on GET: 304 (R105)")

    for what, body, err in (("not well-formed", b"<cr:ruleset", b"<not-well-formed/>"),
                            ("wrong root", b'<ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"/>',
                             b"<schema-validation-error/>"),
                            ("a rule without id",
                             b'<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule/>'
                             b"</ruleset>", b"<schema-validation-error/>")):
        code, h, data = expect(f"PUT of a {what} document", 409,
                               curl("PUT", ALICE, alice, body, pr))
        check_eq("Content-Type of the 409", "application/xcap-error+xml", h["content-type"][0])
        check(err in data and b"urn:ietf:params:xml:ns:xcap-error" in data,
              f"{err!r} in the xcap-error body, got {data!r}")
    expect("PUT with another MIME type", 415, curl("PUT", ALICE, alice, RULES, "text/xml"))
    code, h, data = expect("GET after the refused PUTs", 200, curl("GET", ALICE, alice))
    check(data == RULES and h["etag"][0] == etag2, "the stored document unchanged")
    step("not well-formed and wrong-root documents: 409 with xcap-error bodies, state unchanged")

    expect("an XML bomb", 409, curl("PUT", ALICE, alice, BOMB, pr))
    deep = (b'<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule id="d">'
            + b"<a>" * 5000 + b"</a>" * 5000 + b"</rule></ruleset>")
    expect("5,000-deep nesting", 409, curl("PUT", ALICE, alice, deep, pr))
    expect("a document over 64 KiB", 413, curl("PUT", ALICE, alice, b" " * 70000 + RULES, pr))
    svit.check(run.proc.p.poll() is None, "sipveil run survives the bombs")
    expect("GET after the bombs", 200, curl("GET", ALICE, alice))
    step("XML bomb and deep nesting: 409, oversize 413, the server survives")

    sel_b = ALICE + "/~~/ruleset/rule%5b@id=%22b%22%5d"
    expect("PUT an element", 201,
           curl("PUT", sel_b, alice, b'<cr:rule id="b"><cr:actions/></cr:rule>', el))
    code, h, data = expect("GET the element", 200, curl("GET", sel_b, alice))
    check_eq("the element", b'<cr:rule id="b"><cr:actions/></cr:rule>', data)
    check_eq("its Content-Type", el, h["content-type"][0])
    code, h, data = expect("GET an attribute", 200,
                           curl("GET", ALICE + "/~~/ruleset/rule%5b2%5d/@id", alice))
    check_eq("the attribute", b"b", data)
    check_eq("its Content-Type", "application/xcap-att+xml", h["content-type"][0])
    expect("PUT an element its selector does not select", 409,
           curl("PUT", sel_b, alice, b'<cr:rule id="c"/>', el))
    expect("DELETE the element", 200, curl("DELETE", sel_b, alice))
    expect("GET the deleted element", 404, curl("GET", sel_b, alice))
    code, h, data = expect("GET the document", 200, curl("GET", ALICE, alice))
    check(b'id="b"' not in data and b'id="a"' in data, f"rule b gone, a kept: {data!r}")
    step("node selectors: element and attribute GET, PUT, DELETE, 409 on a mismatch")

    ns_sel = ALICE + "/~~/ruleset/rule%5b1%5d/namespace::*"
    code, h, data = expect("GET the namespace bindings at a rule", 200, curl("GET", ns_sel, alice))
    check_eq("their Content-Type", "application/xcap-ns+xml", h["content-type"][0])
    check_eq("the bindings in scope, on an empty element of the rule's name",
             b'<cr:rule xmlns="urn:ietf:params:xml:ns:pres-rules" '
             b'xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>', data)
    code, h, _ = expect("PUT namespace bindings", 405,
                        curl("PUT", ns_sel, alice, b'<cr:rule id="z"/>', el))
    check("GET" in h.get("allow", [""])[0], f"Allow names GET: {h.get('allow')}")
    code, h, _ = expect("DELETE namespace bindings", 405, curl("DELETE", ns_sel, alice))
    check("GET" in h.get("allow", [""])[0], f"Allow names GET: {h.get('allow')}")
    expect("the document unchanged by them", 200, curl("GET", ALICE, alice))
    step("namespace selector: GET gives the bindings in scope (application/xcap-ns+xml); "
         "PUT and DELETE 405 with Allow: GET")

    status, auth = digest_by_hand(port, "GET", ALICE, "alice@ims.example", "alice-pw", "MD5")
    check_eq("GET with MD5 Digest", 200, status)
    status, _ = digest_by_hand(port, "GET", ALICE, None, None, None, replay_of=auth)
    check_eq("the same Authorization replayed", 401, status)
    status, _ = digest_by_hand(port, "GET", ALICE, "alice@ims.example", "alice-pw", "SHA-256")
    check_eq("GET with SHA-256 Digest by hand", 200, status)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", BOB, headers={"Authorization": auth})  # an answer for another URI
    r = c.getresponse()
    r.read()
    check_eq("an Authorization made for another document", 401, r.status)
    step("MD5 and SHA-256 Digest (R104); a replayed or misdirected answer: 401")

    expect("POST", 405, curl("POST", ALICE, alice, b"x", pr))
    expect("DELETE the document", 200, curl("DELETE", ALICE, alice))
    expect("GET after DELETE", 404, curl("GET", ALICE, alice))
    expect("DELETE again", 404, curl("DELETE", ALICE, alice))
    expect("the global tree", 404, curl("GET", "/xcap-root/pres-rules/global/index", alice))
    step("DELETE then GET: 404; POST: 405")

    log = stop(run)
    check("alice" not in log and "bob" not in log, "no identity in the log above debug")
    step("stopped cleanly; no identity in its log")

    # TLS
    pki = svit.Pki(ctx.tool("openssl", None), ctx.tmp, "xcap.test", "IP:127.0.0.1")
    tls = f"  cert: {pki.srv}\n  key: {pki.srv_key}\n  require_tls: true\n"
    run, port = start(ctx, db, tls, "debug")
    curls = Curl(ctx, f"https://127.0.0.1:{port}", ["--cacert", pki.ca])
    expect("PUT over TLS", 201, curls("PUT", ALICE, alice, RULES, pr))
    expect("GET over TLS", 200, curls("GET", ALICE, alice))
    plain = Curl(ctx, f"http://127.0.0.1:{port}")
    try:
        code = plain("GET", ALICE, alice)[0]
    except svit.Failure:
        code = None  # the TLS listener does not speak plain HTTP
    check(code is None or code == 403, f"plain HTTP to the TLS listener: refused, got {code}")
    log = stop(run)
    check("xcap: pres-rules of sip:alice@ims.example written" in log,
          "the write callback ran after the PUT (R105; seen in the debug log)")
    bad = ctx.path("notls.yaml")
    with open(bad, "w") as f:
        f.write(CONFIG.format(db=db, tls="  require_tls: true\n", level="notice"))
    p = subprocess.run([ctx.sipveil, "run", "--config", bad, "--check-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode(errors="replace")
    check(p.returncode != 0 and "xcap.cert" in out,
          f"require_tls without a certificate refused, got {p.returncode}: {out[-300:]}")
    step("TLS served with a certificate, the write callback ran; require_tls without one "
         "refused (R104)")


if __name__ == "__main__":
    svit.run(test)
