"""
@file tls_python.py  The TLS transport against a TLS stack it did not write: Python's ssl
module as the client, net_echo (a net instance echoing each framed message) as the server.

What it proves, each step printed as `ok:`:
- a server-verified connection: Python checks net_echo's chain against a CA made here with the
  openssl command-line tool, and its name (SNI net-echo.test); two requests in one write and
  one request split over three writes come back byte for byte; a "\\r\\n\\r\\n" ping gets a
  "\\r\\n" pong (RFC 5626 §4.4.1);
- a client that trusts another CA refuses net_echo, which keeps serving;
- mutual TLS: net_echo requires and verifies Python's certificate and reports its subject in
  RFC 2253 form; without a certificate Python is refused and net_echo reports EACCES;
- net_echo stops on SIGTERM with status 0 and no sanitizer report.

Python 3 standard library and the openssl tool only; everything on 127.0.0.1 with ports the
kernel picks; readiness from net_echo's "ready" lines, never a sleep.
"""
import argparse
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import svit  # noqa: E402  (tests/integration/svit.py: processes, line reader, checks)
from svit import Failure, check, check_eq, step  # noqa: E402

EACCES = 13
SERVER_NAME = "net-echo.test"
CLIENT_SUBJECT = "CN=python-client,O=sipveil test"

def make_pki(openssl, tmp):
    """A CA, net_echo's certificate (SNI name and 127.0.0.1), Python's client certificate, and
    a second CA with the same name that nobody trusts (svit.Pki)."""
    return svit.Pki(openssl, tmp, SERVER_NAME, f"DNS:{SERVER_NAME},IP:127.0.0.1",
                    client_cn="python-client", other_ca=True)


_echoes = []  # every net_echo started, stopped by PID at the end whatever happened


class Echo:
    """net_echo on one TLS listener, started and waited for until it is ready."""

    def __init__(self, exe, pki, tmp, name, *extra):
        self.stderr_path = os.path.join(tmp, name + ".stderr")
        self._err = open(self.stderr_path, "wb")
        argv = [exe, "--listen", "tls:127.0.0.1:0", "--cert", pki.srv, "--key", pki.srv_key,
                "--ca", pki.ca, *extra]
        self.proc = svit.Proc(name, argv, stdout=subprocess.PIPE, stderr=self._err,
                              stdin=subprocess.DEVNULL)
        _echoes.append(self)
        self.name = name
        self.out = svit.LineReader(self.proc.p.stdout, name)
        m = self.out.wait_for(r"^ready tls 127\.0\.0\.1:(\d+)$", 15, "its 'ready tls' line")
        self.port = int(m.group(1))

    def expect(self, pattern, what):
        return self.out.wait_for(pattern, 5, what)

    def stop(self):
        rc = self.proc.stop(signal.SIGTERM)
        self._err.flush()
        with open(self.stderr_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        svit.check_no_sanitizer_report(log, self.name)
        check_eq(f"exit status of {self.name} after SIGTERM", 0, rc)
        rest = "\n".join(self.out.read_rest())
        check("stats rx_msgs=" in rest, f"{self.name} printed no stats line: {rest!r}")
        return rest


def request(cseq, body=""):
    return (f"OPTIONS sip:echo@{SERVER_NAME} SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-py{cseq}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:python@client.test>;tag=py{cseq}\r\n"
            f"To: <sip:echo@{SERVER_NAME}>\r\n"
            f"Call-ID: py-{cseq}@client.test\r\n"
            f"CSeq: {cseq} OPTIONS\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"\r\n{body}").encode()


def read_exactly(s, n, what):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except socket.timeout:
            chunk = None
        check(chunk, f"{what}: expected {n} octets, got {len(buf)} ({buf[:80]!r}) and then "
                     f"{'a timeout' if chunk is None else 'the end of the connection'}")
        buf += chunk
    return buf


def tls_connect(port, cafile, cert=None, key=None):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        return ctx.wrap_socket(raw, server_hostname=SERVER_NAME)
    except BaseException:
        raw.close()
        raise


def test(args, tmp):
    pki = make_pki(args.openssl, tmp)
    step("throwaway CA, server and client certificates made with the openssl tool")

    # ---- server-verified TLS ----
    echo = Echo(args.echo, pki, tmp, "net_echo")
    with tls_connect(echo.port, pki.ca) as s:
        check(s.version() in ("TLSv1.2", "TLSv1.3"), f"negotiated {s.version()}")
        cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
        check_eq("server certificate CN", SERVER_NAME, cn)
        step(f"Python verified net_echo's chain and name over {s.version()}")

        a, b = request(1, "first"), request(2, "second body")
        s.sendall(a + b)
        check_eq("echo of two requests sent in one write", a + b,
                 read_exactly(s, len(a) + len(b), "echo of two requests"))
        for n, body in ((1, "first"), (2, "second body")):
            echo.expect(rf"^msg TLS {len(request(n, body))} subject=-$", f"message {n}")
        step("two requests in one write: two messages, echoed byte for byte")

        c = request(3, "split in three")
        for part in (c[:10], c[10:len(c) - 5], c[len(c) - 5:]):
            s.sendall(part)
        check_eq("echo of a request split in three writes", c,
                 read_exactly(s, len(c), "echo of a split request"))
        echo.expect(rf"^msg TLS {len(c)} subject=-$", "the split message")
        step("one request in three writes: one message, echoed whole")

        s.sendall(b"\r\n\r\n")
        check_eq("pong to a CRLF ping", b"\r\n", read_exactly(s, 2, "pong"))
        step("a \\r\\n\\r\\n ping got a \\r\\n pong (RFC 5626 4.4.1)")

    # ---- a client that does not trust net_echo's CA ----
    try:
        with tls_connect(echo.port, pki.other_ca):
            svit.fail("a client trusting another CA completed the handshake")
    except ssl.SSLCertVerificationError as e:
        step(f"a client trusting another CA refused the server ({e.verify_message})")
    with tls_connect(echo.port, pki.ca) as s:
        d = request(4)
        s.sendall(d)
        check_eq("echo after a refused client", d, read_exactly(s, len(d), "echo"))
    step("net_echo still serves after a client refused it")
    rest = echo.stop()
    check("keepalives=1 " in rest, f"net_echo's stats do not count the ping: {rest!r}")
    step("net_echo stopped cleanly on SIGTERM")

    # ---- mutual TLS ----
    mtls = Echo(args.echo, pki, tmp, "net_echo-mtls", "--require-client-cert")
    with tls_connect(mtls.port, pki.ca, pki.cli, pki.cli_key) as s:
        e = request(5, "mutual")
        s.sendall(e)
        check_eq("echo over mutual TLS", e, read_exactly(s, len(e), "echo over mutual TLS"))
    mtls.expect(rf"^msg TLS {len(e)} subject={CLIENT_SUBJECT}$",
                "the message with the client's subject")
    step(f"mutual TLS: net_echo verified Python's certificate: subject {CLIENT_SUBJECT}")

    refused = False
    try:
        with tls_connect(mtls.port, pki.ca) as s:
            # TLS 1.3: the handshake completes on the client before the server judges it;
            # the refusal arrives as an alert (or the end of the connection) on read.
            s.sendall(request(6))
            refused = not s.recv(1)
    except (ssl.SSLError, ConnectionError):
        refused = True
    check(refused, "a client without a certificate got an answer from a server requiring one")
    mtls.expect(rf"^close {EACCES}$", "close with EACCES for the client without a certificate")
    step("mutual TLS: a client without a certificate was refused (EACCES)")
    mtls.stop()
    step("net_echo (mutual TLS) stopped cleanly on SIGTERM")


def on_signal(sig, frame):
    raise Failure(f"interrupted by signal {sig} (ctest timeout?)")


def main():
    ap = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    ap.add_argument("--echo", required=True, help="the net_echo executable")
    ap.add_argument("--openssl", default="openssl", help="the openssl command-line tool")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    tmp = tempfile.mkdtemp(prefix="sipveil-net-tls-")
    rc = 1
    try:
        check(os.access(args.echo, os.X_OK), f"net_echo not found or not executable: {args.echo}")
        found = shutil.which(args.openssl)
        check(found is not None, f"the openssl tool is needed and was not found "
                                 f"('{args.openssl}'); install it - the test does not skip")
        args.openssl = found
        test(args, tmp)
        rc = 0
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
    except Exception:
        print("FAIL: the test itself raised an exception:", file=sys.stderr)
        traceback.print_exc()
    finally:
        for e in reversed(_echoes):
            e.proc.kill()
    if rc:
        for e in _echoes:
            with open(e.stderr_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()[-40:]
            print(f"---- {e.name} stderr, last {len(lines)} lines ----", file=sys.stderr)
            for line in lines:
                print(f"    {line}", file=sys.stderr)
        print(f"scratch directory kept: {tmp}", file=sys.stderr)
    else:
        print("PASS")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()
    sys.exit(rc)


if __name__ == "__main__":
    main()
