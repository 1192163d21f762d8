#!/usr/bin/env python3
"""
@file tls.py  ua/tls: `sipveil ua --transport tls register` against a Python TLS registrar
(the ssl module, certificates from svit.Pki). With --ca naming the registrar's CA the REGISTER
arrives and the 200 is taken (exit 0); its Via and Contact name the address of the UE's own
connection, as the registrar sees it (the P-CSCF reaches the UE on that flow). With another CA
of the same name the handshake is refused and nothing is sent (exit 69); --insecure skips the
verification (exit 0).
"""
import re
import socket
import ssl
import threading

import svit
import uait
from svit import check, check_eq, step


class TlsRegistrar:
    """Accepts TLS connections; answers each REGISTER with 200 (Contact echoed)."""

    def __init__(self, pki):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki.srv, pki.srv_key)
        self.lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsn.bind((uait.LOOP, 0))
        self.lsn.listen(8)
        self.lsn.settimeout(0.2)
        self.port = self.lsn.getsockname()[1]
        self.got = []  # (peer port, request text)
        self.handshake_failures = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                raw, addr = self.lsn.accept()
            except socket.timeout:
                continue
            raw.settimeout(5)
            try:
                conn = self.ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                self.handshake_failures += 1
                raw.close()
                continue
            threading.Thread(target=self._serve, args=(conn, addr[1]), daemon=True).start()

    def _serve(self, conn, peer_port):
        buf = b""
        try:
            while not self._stop.is_set():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while True:
                    buf = buf.lstrip(b"\r\n")  # keep-alives (RFC 5626 4.4.1)
                    if b"\r\n\r\n" not in buf:
                        break
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    text = head.decode() + "\r\n\r\n"
                    self.got.append((peer_port, text))
                    lines = uait.hdr_lines(text)
                    keep = [x for x in lines[1:] if x.split(":")[0].lower() in
                            ("via", "from", "to", "call-id", "cseq", "contact")]
                    keep = [x + ";tag=t1" if x.lower().startswith("to:") else x for x in keep]
                    conn.sendall(("\r\n".join(["SIP/2.0 200 OK"] + keep +
                                              ["Content-Length: 0", "", ""])).encode())
        except OSError:
            return
        finally:
            conn.close()

    def stop(self):
        self._stop.set()
        self._t.join(2)
        self.lsn.close()


def test(ctx):
    pki = svit.Pki(ctx.tool("openssl", None), ctx.tmp, "registrar", "IP:127.0.0.1",
                   other_ca=True)
    reg = TlsRegistrar(pki)
    try:
        base = ["--user", "alice", "--password", "alice-pw", "--transport", "tls",
                "--pcscf", f"127.0.0.1:{reg.port}"]
        rc, out, err = uait.run_ua(ctx, base + ["--ca", pki.ca, "register"], name="tls-ca")
        check_eq(f"--ca: exit status (stderr {err.strip()!r})", 0, rc)
        check_eq("--ca: REGISTERs received", 1, len(reg.got))
        peer_port, text = reg.got[0]
        lines = uait.hdr_lines(text)
        via = uait.hdr(lines, "via")
        check(len(via) == 1 and via[0].startswith(f"SIP/2.0/TLS 127.0.0.1:{peer_port};"),
              f"Via names the UE's connection (port {peer_port}): {via!r}")
        check_eq("Contact names the UE's connection",
                 [f"<sip:alice@127.0.0.1:{peer_port};transport=tls>"], uait.hdr(lines, "contact"))
        uait.expect_lines("--ca: output", out, ["> REGISTER sip:ims.example", "< SIP/2.0 200 OK",
                                                f"ready 127.0.0.1:{peer_port}"])
        step("--ca: verified, registered, Via and Contact name the connection")

        rc, out, err = uait.run_ua(ctx, base + ["--ca", pki.other_ca, "--timeout", "5",
                                                "register"], name="tls-other-ca")
        check_eq("another CA: exit status (69)", 69, rc)
        check("certificate" in err, f"another CA: stderr says why: {err!r}")
        check_eq("another CA: nothing received", 1, len(reg.got))
        check(not any(x.startswith("> ") for x in out), f"another CA: nothing sent: {out!r}")
        step("another CA: refused before anything is sent, exit 69")

        rc, out, err = uait.run_ua(ctx, base + ["--insecure", "register"], name="tls-insecure")
        check_eq(f"--insecure: exit status (stderr {err.strip()!r})", 0, rc)
        check_eq("--insecure: REGISTERs received", 2, len(reg.got))
        step("--insecure: registered without verification")
    finally:
        reg.stop()


if __name__ == "__main__":
    svit.run(test)
