#!/usr/bin/env python3
"""
@file svwar.py  User enumeration through REGISTER must fail: sipvicious' svwar, and a raw check.

The S-CSCF answers a REGISTER for an identity it does not know exactly as one for a subscriber:
the same 401 challenges, the same 403 after the same number of wrong answers (the
`ims.auth_retries` rule), so that REGISTER tells nobody who is a subscriber.

- svwar over a small wordlist (the demo users alice and bob, the lab's carol and dave, and
  names no one has) finds nothing: it sees that an unknown extension is challenged and refuses
  to scan; forced, it reports no extension either.
- svwar forced on each name alone (it stops at the first answer it cannot class, so one run
  per name) reports every name the same way: known and unknown are indistinguishable.
- Raw REGISTERs for alice and for mallory, first without credentials, then with a wrong
  Digest answer to each fresh challenge until the 403: the same status codes, the same header
  names in every answer, the same challenges (algorithms and parameter names).

svwar sends its requests as fast as it may; each run is bounded by its own --maximumtime and by
a deadline here.
"""
import hashlib
import os
import re
import subprocess

import imsit
import svit
from svit import check, check_eq, step

KNOWN = ["alice", "bob", "carol", "dave"]
UNKNOWN = ["mallory", "nobody", "x1", "x2", "x3", "x4", "x5"]
DOMAIN = "ims.example"


def svwar(ctx, pcscf, words, force, name):
    """Start svwar with REGISTER over @p words against the P-CSCF, from a port of its own.
    @return (proc, output path)."""
    work = ctx.path(ctx.unique(name))
    os.makedirs(work)
    wl = os.path.join(work, "words.txt")
    with open(wl, "w") as f:
        f.write("".join(w + "\n" for w in words))
    out = os.path.join(work, "svwar.out")
    svit.add_log(f"svwar {name}", out)
    # -P: svwar binds 5060 by default (a well-known port the tests never touch); -b/-x keep it
    # on the loopback instead of guessing an address; --maximumtime bounds a silent target.
    argv = [ctx.tool("svwar", None), "-m", "REGISTER", "-d", wl, "-p", str(pcscf),
            "-P", str(svit.free_udp_port()), "-b", svit.LOOPBACK, "-x", svit.LOOPBACK,
            "--domain", DOMAIN, "--maximumtime", "5", "-v"]
    if force:
        argv.append("--force")
    argv.append(svit.LOOPBACK)
    f = open(out, "wb")
    # svwar keeps a session directory under $HOME/.sipvicious; give it the scratch dir.
    env = dict(os.environ, HOME=work)
    proc = svit.Proc(f"svwar {name}", argv, cwd=work, stdout=f, stderr=subprocess.STDOUT,
                     stdin=subprocess.DEVNULL, env=env)
    return proc, out


def table_rows(text):
    """The extensions svwar's result table lists: rows `| name | reqauth |` between rules."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.strip().startswith("|") and len(cells) == 2 and cells[0] != "Extension":
            rows.append(tuple(cells))
    return rows


def outcome(text, word):
    """What svwar said about @p word, with what changes from one request to the next removed:
    the log lines of level WARNING and above (a response quoted by its status line and header
    names), and the table rows, the name itself written <user>."""
    said = []
    for line in text.splitlines():
        m = re.match(r"^(WARNING|ERROR|CRITICAL):[^:]*:(.*)$", line)
        if not m:
            continue
        msg = m.group(2)
        r = re.match(r"^Response: '(.*)'$", msg)
        if r:
            raw = r.group(1).encode().decode("unicode_escape")
            lines = raw.split("\r\n")
            names = sorted({x.split(":", 1)[0].strip().lower() for x in lines[1:] if ":" in x})
            msg = f"Response: {lines[0]} {names}"
        said.append(f"{m.group(1)}: {msg}".replace(word, "<user>"))
    rows = [(e.replace(word, "<user>"), a) for e, a in table_rows(text)]
    return said, rows


def finish(proc, out, what):
    rc = proc.wait(30, f"{what}: end")
    with open(out, errors="replace") as f:
        text = f.read()
    check_eq(f"{what}: svwar's exit status (output:\n{text[-800:]})", 0, rc)
    check("Traceback" not in text, f"{what}: svwar crashed:\n{text[-800:]}")
    return text


# ---- the raw check ----

def digest_wrong(chal, user, uri, nc):
    """An Authorization answering the MD5 challenge @p chal with the wrong password."""
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
    impi = f"{user}@{DOMAIN}"
    cnonce = "%016x" % (nc * 7919)
    ha1 = hashlib.md5(f"{impi}:{p['realm']}:not-the-password".encode()).hexdigest()
    ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
    resp = hashlib.md5(f"{ha1}:{p['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    return (f'Digest username="{impi}", realm="{p["realm"]}", nonce="{p["nonce"]}", '
            f'uri="{uri}", response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, '
            f'nc={nc:08x}')


def shape(resp):
    """What may be compared between two users' answers: the status, the header names in order,
    and per challenge its algorithm and parameter names."""
    chals = []
    for c in resp.all("www-authenticate"):
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', c))
        chals.append((params.get("algorithm"), sorted(params)))
    return resp.code, [k.lower() for k, _ in resp.headers], chals


def raw_sequence(pcscf, user, rounds):
    """REGISTER for @p user without credentials, then @p rounds wrong answers, each to the
    latest challenge. @return the shapes of the answers."""
    client = svit.Client(pcscf)
    uri = f"sip:{DOMAIN}"
    impu = f"sip:{user}@{DOMAIN}"
    tag = "raw%d" % client.port
    callid = "enum-%s-%d" % (user, client.port)
    shapes = []
    auth = None
    for cseq in range(1, rounds + 2):
        headers = {"From": f"<{impu}>;tag={tag}", "To": f"<{impu}>", "Call-ID": callid,
                   "CSeq": f"{cseq} REGISTER",
                   "Contact": f"<sip:ue@{svit.LOOPBACK}:{client.port}>", "Expires": "600"}
        if auth:
            headers["Authorization"] = auth
        req = client.request("REGISTER", ruri=uri, headers=headers)
        resp = client.ask(req, f"REGISTER #{cseq} for {user}")
        shapes.append(shape(resp))
        md5 = [c for c in resp.all("www-authenticate") if "algorithm=MD5" in c]
        if resp.code != 401:
            break
        check(md5, f"{user}: a 401 without an MD5 challenge: {resp.all('www-authenticate')}")
        auth = digest_wrong(md5[0], user, uri, cseq)
    return shapes


def test(ctx):
    lab = imsit.Lab(ctx)
    pcscf = lab.port[5060]
    step(f"the lab runs on ephemeral ports (P-CSCF {pcscf})")

    words = KNOWN + UNKNOWN
    p, out = svwar(ctx, pcscf, words, False, "svwar-all")
    text = finish(p, out, "svwar over the wordlist")
    check_eq("extensions svwar found", [], table_rows(text))
    check(re.search(r"authentication request for an unknown extension|found nothing", text),
          f"svwar over the wordlist did not say it found nothing:\n{text[-800:]}")
    p, out = svwar(ctx, pcscf, words, True, "svwar-forced")
    text = finish(p, out, "svwar --force over the wordlist")
    check_eq("extensions svwar --force found", [], table_rows(text))
    step("svwar over the wordlist finds no extension, forced or not")

    # One forced run per name, side by side: svwar gives up at the first answer it cannot
    # class, so over a list it only ever judges the first name.
    runs = {w: svwar(ctx, pcscf, [w], True, f"svwar-{w}") for w in words}
    said = {w: outcome(finish(p, out, f"svwar --force on {w}"), w) for w, (p, out) in
            runs.items()}
    ref = said["mallory"]
    check(ref[0], f"svwar said nothing about mallory; its output is in {runs['mallory'][1]}")
    for w in words:
        check_eq(f"what svwar says of {w} (known: {w in KNOWN}) vs of mallory (unknown)",
                 ref, said[w])
        check_eq(f"extensions svwar found with {w}", [], said[w][1])
    step(f"svwar on each name alone: the same answer for all of them ({ref[0][-1]})")

    # Raw: no credentials, then wrong answers until the 403 (auth_retries is 3).
    a = raw_sequence(pcscf, "alice", 3)
    m = raw_sequence(pcscf, "mallory", 3)
    check_eq("status codes for alice (wrong answers)", [401, 401, 401, 403], [x[0] for x in a])
    check_eq("status codes for mallory (unknown)", [x[0] for x in a], [x[0] for x in m])
    for i, (x, y) in enumerate(zip(a, m)):
        check_eq(f"answer #{i + 1}: header names, alice vs mallory", x[1], y[1])
        check_eq(f"answer #{i + 1}: challenges, alice vs mallory", x[2], y[2])
    check(len(a[0][2]) == 2, f"the first 401 does not challenge with MD5 and SHA-256: {a[0][2]}")
    step("raw REGISTER: alice and mallory get 401, 401, 401, 403 with the same headers and "
         "challenges")

    lab.stop()
    step("the lab stopped cleanly, its log naming no one")


if __name__ == "__main__":
    svit.run(test)
