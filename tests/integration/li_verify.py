#!/usr/bin/env python3
"""
@file li_verify.py  run/li_verify: `sipveil li verify FILE` on the real binary (issue 4 §4, R62).

Operators run it on a node's lawful-interception sink file to learn whether every line is a
complete record and how many there are. The test writes sink files itself, in the version-1
record format of include/sipveil/privacy_li.h, and checks the contract:

- a well-formed file: exit 0, `FILE: N records, well-formed` on standard output;
- an empty file: 0 records, exit 0;
- a last record cut short (a writer killed mid-record): exit 65, `FILE:LINE: ...` naming it;
- garbage, an unknown key, a response without status: exit 65 with the line number;
- the messages never quote the record (LI content stays in the sink);
- a missing file or a directory: exit 66; no FILE or an unknown subcommand: exit 64;
- a file of mode 0644 is verified, with a warning on standard error;
- `sipveil help li` and `sipveil li --help` document the command.
"""
import json
import os
import re
import subprocess

import svit
from svit import check, check_eq, step

EX_USAGE, EX_DATAERR, EX_NOINPUT = 64, 65, 66
SECRET = "alice-secret-identity"


def sv(ctx, *args, timeout=20):
    """Run sipveil to completion. @return (exit status, stdout, stderr)."""
    try:
        r = subprocess.run([ctx.sipveil, *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        svit.fail(f"sipveil {' '.join(args)}: still running after {timeout} s")
    err = r.stderr.decode("utf-8", "replace")
    svit.check_no_sanitizer_report(err, f"sipveil {' '.join(args)}")
    return r.returncode, r.stdout.decode("utf-8", "replace"), err


def expect(ctx, args, status):
    rc, out, err = sv(ctx, *args)
    check(rc == status, f"sipveil {' '.join(args)}: exit status {rc}, expected {status}\n"
                        f"  stdout: {out[:600]!r}\n  stderr: {err[:600]!r}")
    check(SECRET not in out and SECRET not in err,
          f"sipveil {' '.join(args)} quoted record content:\n{out}{err}")
    return out, err


def record(i, kind="request"):
    """One version-1 record, as the sink writes it: compact JSON, keys in the writer's order."""
    r = {"v": 1, "time": "2026-12-04T17:00:%02d.123Z" % (i % 60), "node": "pcscf1",
         "kind": kind}
    if kind == "response":
        r["status"] = 200
    r.update({"method": "INVITE", "call_id": f"c{i}@home1.net",
              "pai": [f"<sip:{SECRET}@home1.net>", "<tel:+4930111001>"],
              "from": f"\"Alice \\\"A\\\" \u00e9\" <sip:{SECRET}@home1.net>;tag=a{i}"})
    if kind == "request":
        r["ruri"] = "sip:bob@home2.net"
    r.update({"source": "192.0.2.1:5060", "performed": ["id", "user"]})
    return json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n"


def write(ctx, name, text, mode=0o600):
    path = ctx.path(name)
    with open(path, "wb") as f:
        f.write(text.encode("utf-8") if isinstance(text, str) else text)
    os.chmod(path, mode)
    return path


def good_lines(n):
    return "".join(record(i, "response" if i % 3 == 2 else "request") for i in range(n))


def test_help(ctx):
    for args in (["help", "li"], ["li", "--help"], ["li", "-h"]):
        out, _ = expect(ctx, args, 0)
        check("verify FILE" in out and "records, well-formed" in out and "0600" in out,
              f"sipveil {' '.join(args)} should document verify, its output and the mode:\n{out}")
    out, _ = expect(ctx, ["--help"], 0)
    check(re.search(r"^\s+li verify FILE", out, re.M), f"sipveil --help should list li:\n{out}")
    step("help li, li --help and --help document `li verify FILE` (exit 0)")


def test_good(ctx):
    path = write(ctx, "good.jsonl", good_lines(25))
    out, err = expect(ctx, ["li", "verify", path], 0)
    check_eq("li verify of 25 records", f"{path}: 25 records, well-formed\n", out)
    check("warning" not in err, f"no warning expected for a 0600 file: {err!r}")
    path = write(ctx, "one.jsonl", good_lines(1))
    out, _ = expect(ctx, ["li", "verify", path], 0)
    check_eq("li verify of 1 record", f"{path}: 1 record, well-formed\n", out)
    path = write(ctx, "empty.jsonl", "")
    out, _ = expect(ctx, ["li", "verify", path], 0)
    check_eq("li verify of an empty file", f"{path}: 0 records, well-formed\n", out)
    step("25 records, 1 record, an empty file: exit 0 with the count")


def test_bad(ctx):
    whole = good_lines(10)
    cut = whole + record(10)[:57]  # a writer killed in the middle of record 11
    cases = [
        ("truncated.jsonl", cut, 11, "incomplete last record"),
        ("garbage.jsonl", good_lines(4) + f"garbage {SECRET}\n" + good_lines(2), 5,
         "not a JSON record"),
        ("binary.jsonl", good_lines(2).encode() + b"\x00\xff\xfe" + SECRET.encode() + b"\n", 3,
         "a NUL byte"),
        ("latin1.jsonl", good_lines(2).encode() + record(2).encode().replace(b"\xc3\xa9", b"\xe9"),
         3, "invalid UTF-8"),
        ("cut-json.jsonl", good_lines(3) + record(3)[:80] + "\n" + good_lines(1), 4,
         "truncated"),
        ("unknown-key.jsonl", good_lines(2) + record(2).replace('"node"', f'"{SECRET}"'), 3,
         "a key that version 1 does not have"),
        ("no-status.jsonl", good_lines(1) + record(1, "response").replace('"status":200,', ""),
         2, "status"),
        ("empty-line.jsonl", good_lines(2) + "\n" + good_lines(2), 3, "empty line"),
        ("version.jsonl", record(0).replace('"v":1', '"v":2'), 1, "version 2"),
    ]
    for name, text, line, why in cases:
        path = write(ctx, name, text)
        out, _ = expect(ctx, ["li", "verify", path], EX_DATAERR)
        m = re.fullmatch(rf"{re.escape(path)}:(\d+): (.+)\n", out)
        check(m is not None, f"li verify {name}: expected one line 'FILE:LINE: ...', got {out!r}")
        check_eq(f"li verify {name}: the bad line", line, int(m.group(1)))
        check(why in m.group(2), f"li verify {name}: the reason should say {why!r}: {out!r}")
        step(f"{name}: exit 65, {out.strip()[len(ctx.tmp) + 1:]!r}")


def test_open_errors(ctx):
    missing = ctx.path("no-such.jsonl")
    _, err = expect(ctx, ["li", "verify", missing], EX_NOINPUT)
    check(missing in err, f"li verify of a missing file should name it: {err!r}")
    _, err = expect(ctx, ["li", "verify", ctx.tmp], EX_NOINPUT)
    step("a missing file and a directory: exit 66 naming the path")
    expect(ctx, ["li", "verify"], EX_USAGE)
    expect(ctx, ["li"], EX_USAGE)
    expect(ctx, ["li", "check", missing], EX_USAGE)
    expect(ctx, ["li", "verify", missing, missing], EX_USAGE)
    expect(ctx, ["li", "verify", "--frobnicate", missing], EX_USAGE)
    step("no FILE, no subcommand, an unknown subcommand or option, two FILEs: exit 64")


def test_mode_warning(ctx):
    path = write(ctx, "open.jsonl", good_lines(3), mode=0o644)
    out, err = expect(ctx, ["li", "verify", path], 0)
    check_eq("li verify of a 0644 file", f"{path}: 3 records, well-formed\n", out)
    check("warning" in err and "0644" in err and "0600" in err,
          f"li verify of a 0644 file should warn about the mode: {err!r}")
    step("a 0644 file: verified (exit 0) with a mode warning on standard error")


def test(ctx):
    test_help(ctx)
    test_good(ctx)
    test_bad(ctx)
    test_open_errors(ctx)
    test_mode_warning(ctx)


if __name__ == "__main__":
    svit.run(test)
