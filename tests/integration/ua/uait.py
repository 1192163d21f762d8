"""
@file uait.py  Shared helpers of the `sipveil ua` integration tests (tests/integration/ua).

The UE runs as `sipveil ua ...` against peers on 127.0.0.1 with kernel-chosen ports: SIPp
(started through pvit.sipp, its messages read back from its -trace_msg log with pvit.trace) or
a plain Python socket when the exact bytes on the wire are the point. Readiness is never a
sleep: the UE says "ready <ip>:<port>", and a SIPp peer is ready once the kernel lists its
socket in /proc/net (looked up, never probed by binding, which could steal the port).
"""
import hashlib
import os
import re
import select
import socket
import subprocess
import time

import svit
from svit import check, check_eq, fail

LOOP = svit.LOOPBACK


def free_tcp_port():
    return svit.free_tcp_port()


def _listed(port, tcp):
    """Whether a socket is bound to 127.0.0.1:@p port (TCP: listening), per /proc/net."""
    want = "0100007F:%04X" % port
    for fn in (("/proc/net/tcp",) if tcp else ("/proc/net/udp",)):
        with open(fn) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[1] == want and (not tcp or parts[3] == "0A"):
                    return True
    return False


def wait_listed(port, tcp=False, timeout=10, proc=None):
    """Wait (with a deadline) until a peer has bound @p port; fail if @p proc exits first."""
    deadline = time.monotonic() + timeout
    while not _listed(port, tcp):
        if proc is not None and not proc.running():
            fail(f"{proc.name} exited ({proc.p.returncode}) before binding port {port}")
        if time.monotonic() > deadline:
            fail(f"nothing bound {'TCP' if tcp else 'UDP'} 127.0.0.1:{port} within {timeout} s")
        select.select([], [], [], 0.02)


class Ua:
    """`sipveil ua ARGS` in the background: its standard output kept line by line (all of it,
    for the checks), its standard error in a file."""

    def __init__(self, ctx, args, name="ua"):
        n = ctx.unique(name)
        self.name = n
        self.err_path = ctx.path(n + ".stderr")
        self._err = open(self.err_path, "wb")
        svit.add_log(f"{n} stderr", self.err_path)
        self.proc = svit.Proc(n, [ctx.sipveil, "ua", *[str(a) for a in args]],
                              stdout=subprocess.PIPE, stderr=self._err, stdin=subprocess.DEVNULL)
        self.fd = self.proc.p.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buf = b""
        self.lines = []
        self.eof = False

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not r:
            return
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
            chunk = b"\n" if self.buf else b""
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode("utf-8", "replace"))

    def ready(self, timeout=15):
        """Wait for "ready 127.0.0.1:<port>". @return the port."""
        rx = re.compile(r"^ready 127\.0\.0\.1:(\d+)$")
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                m = rx.match(line)
                if m:
                    return int(m.group(1))
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                got = "\n    ".join(self.lines) or "(nothing)"
                fail(f"{self.name} printed no ready line ({'exited' if self.eof else 'timeout'}):"
                     f"\n    {got}")
            self._read(left)

    def finish(self, timeout=30):
        """Wait for the exit. @return (exit status, every stdout line, stderr text)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        rc = self.proc.wait(max(deadline - time.monotonic(), 1), "exit")
        self._err.flush()
        with open(self.err_path, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        svit.check_no_sanitizer_report(err, "sipveil ua")
        return rc, self.lines, err


def run_ua(ctx, args, timeout=30, name="ua"):
    """Run `sipveil ua ARGS` to its end. @return (exit status, stdout lines, stderr text)."""
    n = ctx.unique(name)
    out_p, err_p = ctx.path(n + ".stdout"), ctx.path(n + ".stderr")
    svit.add_log(f"{n} stdout", out_p)
    svit.add_log(f"{n} stderr", err_p)
    with open(out_p, "wb") as o, open(err_p, "wb") as e:
        pr = svit.Proc(n, [ctx.sipveil, "ua", *[str(a) for a in args]], stdout=o, stderr=e,
                       stdin=subprocess.DEVNULL)
        rc = pr.wait(timeout, "exit")
    with open(out_p, "rb") as f:
        out = f.read().decode("utf-8", "replace").splitlines()
    with open(err_p, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    svit.check_no_sanitizer_report(err, "sipveil ua")
    return rc, out, err


def expect_lines(what, lines, want):
    """Every line of @p want appears in @p lines, in that order (others may come between)."""
    i = 0
    for w in want:
        rx = w if isinstance(w, re.Pattern) else None
        while i < len(lines) and not (rx.search(lines[i]) if rx else lines[i] == w):
            i += 1
        if i == len(lines):
            got = "\n    ".join(lines) or "(nothing)"
            fail(f"{what}: expected the line {w if not rx else rx.pattern!r} (in order); the "
                 f"UE printed:\n    {got}")
        i += 1


def auth_params(value):
    """The parameters of a Digest Authorization value, quotes removed."""
    scheme, _, rest = value.partition(" ")
    check_eq("Authorization scheme", "Digest", scheme)
    out = {}
    for m in re.finditer(r'([A-Za-z-]+)=(?:"([^"]*)"|([^\s,]+))', rest):
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return out


def digest_response(p, password, method, algorithm):
    """The Digest response for the parameters @p p, recomputed here with hashlib (RFC 7616;
    RFC 2617 §3.2.2.1 when there is no qop)."""
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]

    def H(s):
        return h(s.encode()).hexdigest()
    ha1 = H(f"{p['username']}:{p['realm']}:{password}")
    ha2 = H(f"{method}:{p['uri']}")
    if "qop" in p:
        return H(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")
    return H(f"{ha1}:{p['nonce']}:{ha2}")


def hdr_lines(raw):
    """The header lines of a raw message (bytes or str), as a list of str."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    head = raw.split("\r\n\r\n", 1)[0]
    return head.split("\r\n")


def hdr(lines, name):
    """The values of header @p name in @p lines (start line excluded)."""
    n = name.lower()
    return [x.split(":", 1)[1].strip() for x in lines[1:] if x.split(":", 1)[0].strip().lower() == n]
