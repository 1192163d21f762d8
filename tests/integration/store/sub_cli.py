#!/usr/bin/env python3
"""
@file sub_cli.py  store/sub_cli: `sipveil sub` on the real binary: add, list, show, del, import
and the exit codes of bad arguments.

R80: the subscriber's password is never stored, and `show` never prints an HA1 value or a key;
the test looks for them in the output and in the database file's bytes. R82: a pseudonym is
shown in a registration set of its own.
"""
import hashlib
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import svit  # noqa: E402
from svit import check, check_eq, step  # noqa: E402

EX_OK, EX_USAGE, EX_DATAERR, EX_NOUSER = 0, 64, 65, 67

LAB_YAML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "store",
                        "lab.yaml")
K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OP = "cdc202d5123e20f62b6d676ac72cb318"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"


def sv(ctx, *args, stdin=None, cwd=None):
    """Run sipveil to completion. @return (exit status, stdout, stderr)."""
    try:
        r = subprocess.run([ctx.sipveil, *args], input=stdin, capture_output=True, timeout=20,
                           cwd=cwd)
    except subprocess.TimeoutExpired:
        svit.fail(f"sipveil {' '.join(args)}: still running after 20 s")
    err = r.stderr.decode("utf-8", "replace")
    svit.check_no_sanitizer_report(err, f"sipveil {' '.join(args)}")
    return r.returncode, r.stdout.decode("utf-8", "replace"), err


def expect(ctx, args, status, stdin=None, cwd=None):
    rc, out, err = sv(ctx, *args, stdin=stdin, cwd=cwd)
    check(rc == status, f"sipveil {' '.join(args)}: exit status {rc}, expected {status}\n"
                        f"  stdout: {out[:600]!r}\n  stderr: {err[:600]!r}")
    return out, err


def ha1(user, realm, pw, alg):
    return hashlib.new(alg, f"{user}:{realm}:{pw}".encode()).hexdigest()


def test(ctx):
    db = ctx.path("var/sub.db")
    base = ["sub", "--db", db]

    out, _ = expect(ctx, ["help", "sub"], EX_OK)
    check("Usage: sipveil sub" in out and "--password" in out, f"help sub: {out[:200]!r}")
    step("help sub")

    expect(ctx, base + ["add", "--impi", "alice@ims.example", "--password", "-",
                        "--impu", "sip:alice@ims.example,tel:+15551000001",
                        "--display", "Alice Liddell", "--identity-blocking"], EX_OK,
           stdin=b"alice-pw\n")
    mode = stat.S_IMODE(os.stat(db).st_mode)
    check_eq("mode of the db file", 0o600, mode)
    check_eq("mode of its new parent directory", 0o700,
             stat.S_IMODE(os.stat(os.path.dirname(db)).st_mode))
    expect(ctx, base + ["add", "--impi", "bob@ims.example", "--password", "bob-pw",
                        "--impu", "sip:bob@ims.example,tel:+15551000002",
                        "--pseudonym", "sip:blue-fox@ims.example"], EX_OK)
    expect(ctx, base + ["add", "--impi", "dave@ims.example", "--impu", "sip:dave@ims.example",
                        "--aka-k", K, "--aka-op", OP, "--aka-amf", "8000", "--aka-sqn", "0"],
           EX_OK)
    step("add alice (password on stdin), bob (pseudonym), dave (AKA); db 0600 in a 0700 dir")

    out, _ = expect(ctx, base + ["list"], EX_OK)
    lines = out.splitlines()
    check_eq("list: lines", 3, len(lines))
    check(lines[0].split()[:3] == ["alice@ims.example", "sip:alice@ims.example", "2"]
          and "identity-blocking" in lines[0], f"list: alice's line {lines[0]!r}")
    check(lines[1].split()[:3] == ["bob@ims.example", "sip:bob@ims.example", "3"],
          f"list: bob's line {lines[1]!r}")
    check("aka" in lines[2], f"list: dave's line {lines[2]!r}")
    step("list: one line per subscription")

    secrets = [ha1("alice@ims.example", "ims.example", "alice-pw", "md5"),
               ha1("alice@ims.example", "ims.example", "alice-pw", "sha256"), "alice-pw"]
    out, _ = expect(ctx, base + ["show", "alice@ims.example"], EX_OK)
    check("digest (md5, sha-256)" in out, f"show alice: credential kinds missing: {out!r}")
    check('"Alice Liddell"' in out and "[default]" in out, f"show alice: {out!r}")
    for s in secrets:
        check(s not in out, "show alice printed a secret (R80)")
    out, _ = expect(ctx, base + ["show", "bob@ims.example"], EX_OK)
    sets = out.split("implicit registration set ")
    check(len(sets) == 3 and "blue-fox" in sets[2] and "blue-fox" not in sets[1]
          and "[pseudonym]" in sets[2], f"show bob: the pseudonym's own set (R82): {out!r}")
    out, _ = expect(ctx, base + ["show", "dave@ims.example"], EX_OK)
    check("aka (sqn 0)" in out, f"show dave: {out!r}")
    for s in (K, OP, OPC, K.upper()):
        check(s not in out, "show dave printed an AKA key")
    with open(db, "rb") as f:
        data = f.read()
    check(b"alice-pw" not in data and b"bob-pw" not in data,
          "a clear-text password is in the db file (R80)")
    step("show: identities by set, credential kinds, no HA1, key or password (R80, R82)")

    _, err = expect(ctx, base + ["add", "--impi", "mallory@ims.example", "--password", "x",
                                 "--impu", "tel:+15551000001"], EX_DATAERR)
    check("another subscription" in err, f"add of a taken IMPU: {err!r}")
    step("add of an IMPU held by another subscription: exit 65")

    expect(ctx, base + ["del", "bob@ims.example"], EX_OK)
    _, err = expect(ctx, base + ["show", "bob@ims.example"], EX_NOUSER)
    check("bob@ims.example" in err, f"show of a deleted subscriber: {err!r}")
    expect(ctx, base + ["del", "bob@ims.example"], EX_NOUSER)
    out, _ = expect(ctx, base + ["list"], EX_OK)
    check_eq("list after del: lines", 2, len(out.splitlines()))
    step("del, then show and del again: exit 67")

    out, _ = expect(ctx, base + ["import", LAB_YAML], EX_OK)
    check("imported 4 subscribers" in out, f"import: {out!r}")
    out, _ = expect(ctx, base + ["list"], EX_OK)
    names = [ln.split()[0] for ln in out.splitlines()]
    check_eq("list after import", ["alice@ims.example", "bob@ims.example", "carol@ims.example",
                                   "dave@ims.example"], names)
    bad = ctx.path("bad.yaml")
    with open(bad, "w") as f:
        f.write("subscribers:\n  - impi: x@ims.example\n    pasword: p\n")
    _, err = expect(ctx, base + ["import", bad], EX_DATAERR)
    check("line 3: pasword" in err, f"import error should name line and key: {err!r}")
    step("import of the lab file; a bad file names line 3 and the key, exit 65")

    for args in (["frob"], ["add", "--impi", "a@x"], ["add", "--impi", "a@x", "--password", "p",
                                                       "--impu", "mailto:a@x"],
                 ["add", "--impi", "a@x", "--password", "p", "--impu", "sip:a@x",
                  "--aka-k", "00"],
                 ["show"], ["del", "a@x", "b@x"], ["list", "extra"], ["--bogus", "list"]):
        _, err = expect(ctx, base + args, EX_USAGE)
        check(err.strip() != "", f"sipveil sub {' '.join(args)}: no message on stderr")
    step("bad arguments: exit 64 with a message")

    # The default --db is var/sipveil.db under the current directory.
    home = ctx.path("cwd")
    os.mkdir(home)
    expect(ctx, ["sub", "list"], EX_OK, cwd=home)
    check(os.path.exists(os.path.join(home, "var", "sipveil.db")), "default db not created")
    step("default --db var/sipveil.db")


if __name__ == "__main__":
    svit.run(test)
