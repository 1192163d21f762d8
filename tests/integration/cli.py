#!/usr/bin/env python3
"""
@file cli.py  run/cli: the command line contract: help, version, exit codes, parse's output.

Scripts and operators depend on exit statuses (sysexits.h: 64 usage, 65 malformed, 66 refused,
69 unavailable, 74 I/O) and on the first lines of the output, so they are tested here on the
real binary: `--help` and `help CMD`, `version`, usage errors of `run`, a busy port, a clean
SIGINT stop, and `sipveil parse` on a valid, a malformed and a refused message, from a file
and from standard input.
"""
import os
import re
import signal
import socket
import subprocess

import svit
from svit import check, check_eq, step

EX_USAGE, EX_DATAERR, EX_SEMANTIC, EX_UNAVAILABLE, EX_IOERR = 64, 65, 66, 69, 74


def sv(ctx, *args, stdin=None, timeout=20):
    """Run sipveil to completion. @return (exit status, stdout, stderr)."""
    try:
        r = subprocess.run([ctx.sipveil, *args], input=stdin, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        svit.fail(f"sipveil {' '.join(args)}: still running after {timeout} s")
    err = r.stderr.decode("utf-8", "replace")
    svit.check_no_sanitizer_report(err, f"sipveil {' '.join(args)}")
    return r.returncode, r.stdout.decode("utf-8", "replace"), err


def expect(ctx, args, status, stdin=None):
    rc, out, err = sv(ctx, *args, stdin=stdin)
    check(rc == status, f"sipveil {' '.join(args)}: exit status {rc}, expected {status}\n"
                        f"  stdout: {out[:600]!r}\n  stderr: {err[:600]!r}")
    return out, err


def data(ctx, name):
    path = os.path.join(ctx.args.data or "", name)
    check(os.path.isfile(path), f"test data missing: {path}")
    return path


def test_help(ctx):
    for args in (["--help"], ["-h"], ["help"]):
        out, _ = expect(ctx, args, 0)
        for cmd in ("run", "parse", "version"):
            check(re.search(rf"^\s+{cmd}\b", out, re.M),
                  f"sipveil {args[0]}: the command list lacks '{cmd}':\n{out}")
    step("--help, -h and help list run, parse and version (exit 0)")
    out, _ = expect(ctx, ["help", "run"], 0)
    check("--listen" in out and "ready udp" in out,
          f"sipveil help run should document --listen and the ready line:\n{out}")
    out, _ = expect(ctx, ["run", "--help"], 0)
    check("--listen" in out, f"sipveil run --help should document --listen:\n{out}")
    out, _ = expect(ctx, ["help", "parse"], 0)
    check("malformed:" in out and "refused:" in out,
          f"sipveil help parse should document its output lines:\n{out}")
    _, err = expect(ctx, ["help", "frobnicate"], EX_USAGE)
    check("frobnicate" in err, f"help for an unknown command: the message should name it: {err!r}")
    step("help run / help parse / run --help exit 0; help <unknown> exits 64")


def test_version(ctx):
    for args in (["version"], ["--version"]):
        out, _ = expect(ctx, args, 0)
        lines = out.splitlines()
        check(lines and re.match(r"^sipveil \d+\.\d+\.\d+", lines[0]),
              f"sipveil {args[0]}: first line should be 'sipveil X.Y.Z', got {out!r}")
        if ctx.args.version:
            check_eq(f"sipveil {args[0]}: version", f"sipveil {ctx.args.version}", lines[0])
        check(re.search(r"libevent \d", out), f"sipveil {args[0]} should name libevent: {out!r}")
        check("OpenSSL" in out, f"sipveil {args[0]} should name OpenSSL: {out!r}")
    step(f"version prints '{lines[0]}', libevent and OpenSSL")


def test_usage_errors(ctx):
    out, err = expect(ctx, [], EX_USAGE)
    check("Usage" in err and out == "", f"sipveil without a command: usage goes to stderr "
                                        f"(stdout {out!r}, stderr {err[:200]!r})")
    _, err = expect(ctx, ["frobnicate"], EX_USAGE)
    check("frobnicate" in err, f"unknown command: the message should name it, got {err!r}")
    cases = [
        (["run", "--listen", "nonsense"], "nonsense"),
        (["run", "--listen", "127.0.0.1:70000"], "127.0.0.1:70000"),
        (["run", "--listen", "127.0.0.1:"], "127.0.0.1:"),
        (["run", "--log-level", "loud"], "log-level"),
        (["run", "--bogus"], "--bogus"),
        (["parse", "--role", "b2bua"], "b2bua"),
        (["parse", "--bogus"], "--bogus"),
    ]
    for args, word in cases:
        out, err = expect(ctx, args, EX_USAGE)
        check(word in err, f"sipveil {' '.join(args)}: the message should mention {word!r}, "
                           f"got {err!r}")
        check(out == "", f"sipveil {' '.join(args)}: nothing on stdout, got {out!r}")
    step("no command, an unknown command, bad run/parse options: exit 64 with a message")


def test_run_port_busy(ctx):
    # hold a UDP port: sipveil must report it cannot bind (69), not exit 0 or crash
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((svit.LOOPBACK, 0))
    port = s.getsockname()[1]
    try:
        out, err = expect(ctx, ["run", "--listen", f"{svit.LOOPBACK}:{port}"], EX_UNAVAILABLE)
    finally:
        s.close()
    check("ready" not in out, f"sipveil run on a busy port printed {out!r}")
    check(str(port) in err, f"sipveil run on a busy port: the message should name the port: "
                            f"{err!r}")
    step(f"run on a busy port: exit 69, message {err.strip()!r}")


def test_run_sigint(ctx):
    node = svit.Sipveil(ctx)
    node.stop(signal.SIGINT)
    step("run: ready line, SIGINT -> exit 0")


def test_parse(ctx):
    valid = data(ctx, "options.sip")
    with open(valid, "rb") as f:
        valid_bytes = f.read()
    out, err = expect(ctx, ["parse", valid], 0)
    check(re.search(r"^header 0 VIA\b", out, re.M), f"parse: the dump lacks 'header 0 VIA':\n{out}")
    check(out.startswith("request method=OPTIONS "), f"parse: dump should open with the request "
                                                     f"line, got {out[:80]!r}")
    check(re.search(r"^body 0 octets$", out, re.M),
          f"parse: the dump lacks 'body 0 octets':\n{out}")
    check_eq("parse of a valid message: stderr", "", err)
    step("parse valid file: exit 0, 'header 0 VIA' in the dump")

    for args in (["parse"], ["parse", "-"]):
        sout, _ = expect(ctx, args, 0, stdin=valid_bytes)
        check_eq(f"sipveil {' '.join(args)} < file: same dump as from the file", out, sout)
    step("parse from stdin (no FILE and '-'): the same dump")

    for path in (data(ctx, "bad-from.sip"), os.path.join(ctx.args.corpus or "", "badinv01.dat")):
        check(os.path.isfile(path), f"test data missing: {path}")
        mout, _ = expect(ctx, ["parse", path], EX_DATAERR)
        lines = mout.splitlines()
        check(len(lines) == 1 and lines[0].startswith("malformed: "),
              f"parse {os.path.basename(path)}: one line 'malformed: <reason>', got {mout!r}")
        step(f"parse {os.path.basename(path)}: exit 65, {lines[0]!r}")
    with open(data(ctx, "bad-from.sip"), "rb") as f:
        mout, _ = expect(ctx, ["parse"], EX_DATAERR, stdin=f.read())
    check("From" in mout, f"parse bad-from.sip: the reason should name From, got {mout!r}")

    badvers = os.path.join(ctx.args.corpus or "", "badvers.dat")
    check(os.path.isfile(badvers), f"RFC 4475 corpus file missing: {badvers}")
    rout, _ = expect(ctx, ["parse", badvers], EX_SEMANTIC)
    lines = rout.splitlines()
    check(len(lines) == 1 and lines[0].startswith("refused: 505"),
          f"parse badvers.dat: one line 'refused: 505 ...', got {rout!r}")
    step(f"parse RFC 4475 badvers: exit 66, {lines[0]!r}")

    missing = ctx.path("no-such-file.sip")
    out, err = expect(ctx, ["parse", missing], EX_IOERR)
    check(missing in err, f"parse of a missing file: the message should name it, got {err!r}")
    step("parse of a missing file: exit 74 with the path")


def test(ctx):
    test_help(ctx)
    test_version(ctx)
    test_usage_errors(ctx)
    test_run_port_busy(ctx)
    test_run_sigint(ctx)
    test_parse(ctx)


if __name__ == "__main__":
    svit.run(test)
