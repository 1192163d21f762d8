"""
@file svit.py  Shared helpers of the integration tests: processes, readiness, a SIP/UDP client.

Every integration test is one script, one ctest entry, one process tree. The rules it follows:

- Everything runs on 127.0.0.1 with ports the kernel picks. `sipveil run --listen 127.0.0.1:0`
  prints `ready udp 127.0.0.1:<port>` once bound; tests wait for that line (with a deadline),
  never for a fixed time.
- Every child is started through Proc, which records it and stops it by PID when the test ends,
  passes or fails. The kernel is also asked (PR_SET_PDEATHSIG) to kill the child if the driver
  itself dies, because ctest ends a test that runs past its timeout with SIGKILL, and then no
  Python cleanup runs.
- A failed expectation raises Failure; run() prints `FAIL: <what was expected, what happened>`
  plus the tail of every log it collected, keeps the scratch directory, and exits 1.

Python 3 standard library only.
"""
import argparse
import ctypes
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

LOOPBACK = "127.0.0.1"


class Failure(Exception):
    """An expectation about sipveil or its peers did not hold."""


def fail(msg):
    raise Failure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def check_eq(what, want, got):
    if want != got:
        fail(f"{what}: expected {want!r}, got {got!r}")


def step(msg):
    """One line of progress, so that ctest --output-on-failure shows how far the test got."""
    print(f"  ok: {msg}", flush=True)


# ---- processes ----

_procs = []
_logs = []  # (label, path) of files whose tail is printed when a test fails


def _child_setup(parent):
    # Ask for SIGKILL when the driver dies; if it died before this line ran, go now.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


class Proc:
    """A child process known by its PID, stopped by PID when the test ends."""

    def __init__(self, name, argv, setup=None, **kw):
        """@p setup: a function run in the child before exec (after the death signal)."""
        self.name = name
        self.argv = [str(a) for a in argv]
        parent = os.getpid()

        def child():
            _child_setup(parent)
            if setup:
                setup()
        try:
            self.p = subprocess.Popen(self.argv, preexec_fn=child, **kw)
        except OSError as e:
            fail(f"cannot start {name} ({self.argv[0]}): {e}")
        _procs.append(self)

    @property
    def pid(self):
        return self.p.pid

    def running(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)

    def wait(self, timeout, what="exit"):
        """Wait for the process to end; fail after @p timeout seconds. @return its exit code."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"{self.name} (pid {self.pid}) did not {what} within {timeout} s")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Send @p sig to the PID and wait for the exit. @return the exit code."""
        self.send_signal(sig)
        return self.wait(timeout, f"exit within {timeout} s of signal {int(sig)}")

    def kill(self):
        """Cleanup path: SIGTERM, then SIGKILL if it lingers (tshark must stop its dumpcap)."""
        if not self.running():
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.p.wait(3)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.p.wait()


def _cleanup():
    for pr in reversed(_procs):
        try:
            pr.kill()
        except Exception as e:  # keep stopping the others
            print(f"cleanup: {pr.name} (pid {pr.pid}): {e}", file=sys.stderr)


class LineReader:
    """Reads lines from a child's pipe with a deadline and keeps all it has read."""

    def __init__(self, pipe, name):
        self.fd = pipe.fileno()
        self.name = name
        os.set_blocking(self.fd, False)
        self.buf = b""
        self.lines = []
        self.eof = False

    def _take_lines(self):
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.rstrip(b"\r").decode("utf-8", "replace"))

    def read_rest(self, timeout=5):
        """Read until the writer closes the pipe (or @p timeout). @return the unread lines."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not r:
                break
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                if self.buf:
                    self.buf += b"\n"
            self.buf += chunk
            self._take_lines()
        return self.lines

    def wait_for(self, pattern, timeout, what):
        """Wait for a line matching the regex @p pattern. @return the match; fail at EOF or
        after @p timeout seconds, quoting what was read."""
        rx = re.compile(pattern)
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            for i in range(seen, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    self.lines = self.lines[i + 1:]
                    return m
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                got = "\n    ".join(self.lines[-20:]) or "(nothing)"
                why = "closed its output" if self.eof else f"said nothing matching in {timeout} s"
                fail(f"{self.name} {why} before {what}; it printed:\n    {got}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.eof = True
                    if self.buf:
                        self.buf += b"\n"
                self.buf += chunk
                self._take_lines()


# ---- the test context ----

class ConfigRun:
    """`sipveil run --config` on a file holding @p text, its standard error in a file the
    failure report shows, its standard output read by `self.out` (for the ready lines)."""

    def __init__(self, ctx, text, stem):
        name = ctx.unique(stem)
        self.path = ctx.path(name + ".yaml")
        with open(self.path, "w") as f:
            f.write(text)
        self.err_path = ctx.path(name + ".stderr")
        self._err = open(self.err_path, "wb")
        add_log(f"{name} stderr", self.err_path)
        self.proc = Proc(name, [ctx.sipveil, "run", "--config", self.path],
                         stdout=subprocess.PIPE, stderr=self._err, stdin=subprocess.DEVNULL)
        self.out = LineReader(self.proc.p.stdout, name)


class Ctx:
    """What a test receives: its arguments (paths from CMake) and a scratch directory."""

    def __init__(self, args, tmp):
        self.args = args
        self.sipveil = args.sipveil
        self.tmp = tmp
        self._n = 0

    def path(self, name):
        return os.path.join(self.tmp, name)

    def unique(self, stem):
        self._n += 1
        return f"{stem}-{self._n}"

    def tool(self, name, given):
        """The path of an external tool; fail (never skip) when it is missing."""
        exe = given or name
        found = shutil.which(exe)
        check(found is not None, f"{name} is needed by this test and was not found ('{exe}'); "
                                 f"install it (scripts/deps.sh) - the test does not skip")
        return found


def add_log(label, path):
    _logs.append((label, path))


def _print_logs():
    for label, path in _logs:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        lines = text.splitlines()[-40:]
        print(f"---- {label} ({path}), last {len(lines)} lines ----", file=sys.stderr)
        for line in lines:
            print(f"    {line}", file=sys.stderr)


def _on_signal(sig, frame):
    raise Failure(f"interrupted by signal {sig} (ctest timeout?)")


def run(test, extra_args=()):
    """Parse the arguments CMake passes, run @p test(ctx), clean up and exit 0 or 1."""
    ap = argparse.ArgumentParser(description=(test.__doc__ or "").strip())
    ap.add_argument("--sipveil", required=True, help="path of the sipveil executable")
    ap.add_argument("--data", help="tests/integration/data")
    ap.add_argument("--corpus", help="tests/data/rfc4475")
    ap.add_argument("--sipp", help="sipp executable")
    ap.add_argument("--tshark", help="tshark executable")
    ap.add_argument("--scenario", help="SIPp scenario file")
    ap.add_argument("--version", help="the version CMake built (PROJECT_VERSION)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _on_signal)
    check_path = os.path.abspath(args.sipveil)
    tmp = tempfile.mkdtemp(prefix="sipveil-it-")
    rc = 1
    try:
        if not os.access(check_path, os.X_OK):
            fail(f"sipveil binary not found or not executable: {check_path}")
        args.sipveil = check_path
        test(Ctx(args, tmp))
        rc = 0
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
    except Exception:
        print("FAIL: the test itself raised an exception:", file=sys.stderr)
        traceback.print_exc()
    finally:
        _cleanup()
    if rc:
        _print_logs()
        print(f"scratch directory kept: {tmp}", file=sys.stderr)
    else:
        print("PASS")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()
    sys.exit(rc)


# ---- certificates ----

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[cli_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class Pki:
    """Throwaway certificates made with the openssl tool in @p directory, each an EC P-256 key
    valid for two days: a CA (`ca`, `ca_key`), a server certificate signed by it (`srv`,
    `srv_key`) with CN @p server_cn and subjectAltName @p server_san (e.g.
    "DNS:x.test,IP:127.0.0.1"), and, when asked, a client certificate (`cli`, `cli_key`, CN
    @p client_cn) and a second CA with the same name and another key (`other_ca`), which a
    client can trust to see a server refused. Subjects are "/O=sipveil test/CN=...". A failed
    openssl run is a Failure quoting its output."""

    def __init__(self, openssl, directory, server_cn, server_san, client_cn=None,
                 other_ca=False, ca_cn="sipveil it CA"):
        self.openssl = openssl
        self.dir = directory
        self.cnf = self.path("openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(_OPENSSL_CNF.format(san=server_san))
        self.ca, self.ca_key = self._ca("ca", ca_cn)
        self.other_ca = self._ca("other-ca", ca_cn)[0] if other_ca else None
        self.srv, self.srv_key = self._leaf("server", server_cn, "srv_ext", 2)
        self.cli = self.cli_key = None
        if client_cn:
            self.cli, self.cli_key = self._leaf("client", client_cn, "cli_ext", 3)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _run(self, *args):
        p = subprocess.run([self.openssl, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30)
        out = p.stdout.decode("utf-8", "replace")
        check(p.returncode == 0, f"openssl {args[0]} failed ({p.returncode}):\n{out}")

    def _ca(self, stem, cn):
        cert, key = self.path(stem + ".pem"), self.path(stem + ".key")
        self._run("req", "-x509", "-config", self.cnf, "-extensions", "ca_ext", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                  "-days", "2", "-subj", f"/O=sipveil test/CN={cn}")
        return cert, key

    def _leaf(self, stem, cn, ext, serial):
        cert, key, csr = (self.path(stem + s) for s in (".pem", ".key", ".csr"))
        self._run("req", "-new", "-config", self.cnf, "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj",
                  f"/O=sipveil test/CN={cn}")
        self._run("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                  "-set_serial", str(serial), "-days", "2", "-out", cert, "-extfile", self.cnf,
                  "-extensions", ext)
        return cert, key


# ---- sipveil run ----

_SANITIZER = re.compile(r"(ERROR|WARNING): (Address|Leak|Memory|Thread)Sanitizer|runtime error: ")


def check_no_sanitizer_report(text, who):
    """A sanitizer build reports to stderr; UBSan may keep running, so read the report."""
    m = _SANITIZER.search(text)
    if m:
        start = text.rfind("\n", 0, m.start()) + 1
        fail(f"{who}: sanitizer report: {text[start:start + 800]}")


class Sipveil:
    """`sipveil run --listen 127.0.0.1:0`, started and waited for until it is ready."""

    READY = r"^ready udp 127\.0\.0\.1:(\d+)$"

    def __init__(self, ctx, *extra, ready_timeout=15):
        name = ctx.unique("sipveil")
        self.stderr_path = ctx.path(name + ".stderr")
        self._err = open(self.stderr_path, "wb")
        add_log("sipveil run stderr", self.stderr_path)
        argv = [ctx.sipveil, "run", "--listen", f"{LOOPBACK}:0", *extra]
        self.proc = Proc("sipveil run", argv, stdout=subprocess.PIPE, stderr=self._err,
                         stdin=subprocess.DEVNULL)
        self.out = LineReader(self.proc.p.stdout, "sipveil run")
        try:
            m = self.out.wait_for(self.READY, ready_timeout,
                                  "its 'ready udp 127.0.0.1:<port>' line")
        except Failure as e:
            rc = self.proc.p.poll()
            fail(f"{e}\n  (exit status: {'still running' if rc is None else rc})")
        self.port = int(m.group(1))
        check(0 < self.port < 65536, f"sipveil announced port {self.port}")

    def check_alive(self):
        rc = self.proc.p.poll()
        check(rc is None, f"sipveil run (pid {self.proc.pid}) exited with status {rc}")

    def stop(self, sig=signal.SIGTERM):
        """Stop it by PID and require a clean exit. @return its stderr (the log)."""
        self.check_alive()
        rc = self.proc.stop(sig)
        log = self.stderr()
        check_no_sanitizer_report(log, "sipveil run")
        check_eq(f"exit status of sipveil run after signal {int(sig)}", 0, rc)
        return log

    def stderr(self):
        self._err.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_PORT_RNG = random.Random()
_PORTS_GIVEN = set()  # never the same port twice in one process: it is not bound yet


def free_udp_port():
    """A UDP port free on 127.0.0.1 right now, for tools that cannot take port 0 themselves
    (see _free_port)."""
    return _free_port(socket.SOCK_DGRAM)


def free_tcp_port():
    """A TCP port free on 127.0.0.1 right now (see _free_port)."""
    return _free_port(socket.SOCK_STREAM)


def _free_port(kind):
    """A port of @p kind free on 127.0.0.1 right now.

    It is drawn below the kernel's ephemeral range (ip_local_port_range), from a slice of
    1,000 ports chosen by this process's id: a port handed out by a bind to port 0 (every
    SIPp, Python and sipveil socket of the tests running in parallel) is never one of them, so
    nobody takes it between now and the bind of the tool it is meant for (seen: a SIPp peer
    failing with EADDRINUSE seconds later, its requests then reaching a sipveil socket).
    """
    low = _ephemeral_low()
    slices = max(1, (low - 10000) // 1000)
    base = 10000 + (os.getpid() % slices) * 1000
    for _ in range(200):
        port = base + _PORT_RNG.randrange(1000)
        if port >= low or port in _PORTS_GIVEN:
            continue
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((LOOPBACK, port))
            _PORTS_GIVEN.add(port)
            return port
        except OSError:
            continue
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, kind)  # the slice is full: any port
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- a SIP/UDP client ----

_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length",
            "m": "contact", "c": "content-type", "k": "supported"}


class Response:
    """A response as sipveil sent it, split into status line, headers and body."""

    def __init__(self, data):
        self.data = data
        text = data.decode("utf-8", "replace")
        head, sep, self.body = text.partition("\r\n\r\n")
        check(sep, f"response without the empty line that ends its headers: {text[:200]!r}")
        lines = head.split("\r\n")
        m = re.match(r"^SIP/2\.0 (\d{3}) (.*)$", lines[0])
        check(m, f"not a SIP/2.0 status line: {lines[0]!r}")
        self.status_line = lines[0]
        self.code = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            check(line and line[0] not in " \t" and ":" in line,
                  f"malformed header line in the response: {line!r}")
            name, value = line.split(":", 1)
            check(name == name.strip(), f"whitespace around a header name: {line!r}")
            self.headers.append((name, value.strip()))

    def all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if _COMPACT.get(k.lower(), k.lower()) == n]

    def one(self, name):
        v = self.all(name)
        check(len(v) == 1, f"{self.status_line}: expected one {name} header, got {v!r}")
        return v[0]

    def __str__(self):
        return self.status_line


class Request:
    """A request to send: header lines in order, so that a test can break any of them."""

    def __init__(self, client, method="OPTIONS", ruri=None, version="SIP/2.0", headers=None,
                 extra=(), body=b"", cseq_method=None):
        self.method = method
        self.branch = "z9hG4bK" + "%016x" % random.getrandbits(64)
        self.callid = "%016x@it.sipveil.test" % random.getrandbits(64)
        ruri = ruri or f"sip:sipveil@{LOOPBACK}:{client.server_port}"
        self.start = f"{method} {ruri} {version}"
        h = {
            "Via": f"SIP/2.0/UDP {LOOPBACK}:{client.port};branch={self.branch}",
            "Max-Forwards": "70",
            "From": "<sip:tester@it.sipveil.test>;tag=%08x" % random.getrandbits(32),
            "To": f"<sip:sipveil@{LOOPBACK}>",
            "Call-ID": self.callid,
            "CSeq": f"{random.randint(1, 9999)} {cseq_method or method}",
        }
        for k, v in (headers or {}).items():
            h[k] = v
        self.fields = {k: v for k, v in h.items() if v is not None}
        if "Call-ID" in self.fields:
            self.callid = self.fields["Call-ID"]
        lines = [f"{k}: {v}" for k, v in self.fields.items()]
        lines += list(extra)
        if isinstance(body, str):
            body = body.encode()
        lines.append(f"Content-Length: {len(body)}")
        self.data = ("\r\n".join([self.start] + lines) + "\r\n\r\n").encode() + body

    def __str__(self):
        return self.start


class Client:
    """A UDP socket on 127.0.0.1 connected to sipveil: it hears only sipveil's replies."""

    def __init__(self, server_port):
        self.server_port = server_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.connect((LOOPBACK, server_port))
        self.port = self.sock.getsockname()[1]

    def request(self, *a, **kw):
        return Request(self, *a, **kw)

    def send(self, data):
        try:
            n = self.sock.send(data)
        except ConnectionRefusedError:
            fail(f"nothing listens on {LOOPBACK}:{self.server_port} any more (sipveil died?)")
        check_eq("octets sent", len(data), n)

    def recv(self, timeout):
        """@return one datagram, or None if none came within @p timeout seconds."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        try:
            return self.sock.recv(65535)
        except ConnectionRefusedError:
            fail(f"ICMP port unreachable from {LOOPBACK}:{self.server_port}: sipveil is gone")

    def ask(self, req, desc=None, timeout=3.0):
        """Send @p req (a Request, or raw bytes whose Call-ID is read from them) and return
        the response to it. Any other datagram is a reply nobody asked for: a failure."""
        desc = desc or str(req)
        if isinstance(req, Request):
            data, callid = req.data, req.callid
        else:
            data = req
            m = re.search(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)", data, re.M | re.I)
            check(m, f"{desc}: the raw request has no Call-ID to match the reply with")
            callid = m.group(1).decode()
        self.send(data)
        got = self.recv(timeout)
        check(got is not None, f"{desc}: no response within {timeout} s")
        resp = Response(got)
        cid = resp.all("call-id")
        check(cid == [callid],
              f"{desc}: got a response for another request (Call-ID {cid!r}, want {callid!r}): "
              f"{resp.status_line}")
        return resp

    def expect_silence(self, data, desc, window=0.3):
        """Send @p data and require that nothing comes back within @p window seconds."""
        self.send(data)
        got = self.recv(window)
        if got is not None:
            first = got.split(b"\r\n", 1)[0].decode("utf-8", "replace")
            fail(f"{desc}: expected no reply within {int(window * 1000)} ms, got {first!r}")


def check_echo(req, resp):
    """RFC 3261 §8.2.6.2: a response copies Via, From, Call-ID and CSeq, and To with a tag."""
    f = req.fields
    if "Via" in f:
        check_eq(f"{resp}: Via", [f["Via"]], resp.all("via"))
    for name in ("From", "Call-ID", "CSeq"):
        if name in f:
            check_eq(f"{resp}: {name}", f[name], resp.one(name))
    if "To" in f:
        to = resp.one("To")
        check(to.startswith(f["To"]) and re.search(r";\s*tag=[^;\s]+", to[len(f["To"]):]),
              f"{resp}: To must be the request's To plus a tag; request {f['To']!r}, got {to!r}")
    check_eq(f"{resp}: Content-Length", str(len(resp.body.encode())), resp.one("Content-Length"))


def expect_status(client, req, code, desc=None):
    """Send @p req, require status @p code and the RFC 3261 echo. @return the response."""
    desc = desc or str(req)
    resp = client.ask(req, desc)
    check_eq(f"{desc}: status", code, resp.code)
    if isinstance(req, Request):
        check_echo(req, resp)
    return resp
