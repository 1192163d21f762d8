#!/usr/bin/env python3
"""
@file check_config.py  config/check_config: `sipveil run --config FILE --check-config`.

A good file (examples/sipveil.yaml, a minimal one, one with real TLS material made by openssl)
exits 0 and prints the effective configuration, every default included, as YAML that checks
again to the very same text. A bad file exits 78 with nothing on standard output and, on
standard error, one line per mistake, "FILE:LINE:COL: key.path: what is wrong (expected ...)"
at the right line and column: a misspelt key, a wrong type, a value out of bounds, a missing
required key, a bad enum value, an IPv6 address without brackets, a listener on a name, two
nodes of one name, two listeners on one address, a TLS listener without or with missing,
non-PEM or mismatched files, a next hop that does not parse, a route behind the default
route, T2 below T1, YAML syntax; several mistakes in one file are all reported. A missing
file exits 78 too; --check-config without --config and --config with --listen exit 64.
"""
import re
import subprocess

import cfgit
import svit
from cfgit import EX_CONFIG, EX_OK, EX_USAGE
from svit import check, check_eq, step

# line 1..6; values: name at 2:11, role at 3:11, transport at 5:20, address at 6:18
NODE = """nodes:
  - name: n1
    role: proxy
    listeners:
      - transport: udp
        address: 127.0.0.1:0
"""


def check_good(ctx, path, what):
    """--check-config passes; its output checks again to itself. @return the output."""
    out, err = cfgit.expect(ctx, ["run", "--config", path, "--check-config"], EX_OK)
    check_eq(f"{what}: standard error", "", err)
    check(out.startswith("# sipveil ") and "\nnodes:\n" in out,
          f"{what}: the effective config should open with a comment and list nodes:\n{out}")
    again = cfgit.write(ctx, ctx.unique("effective") + ".yaml", out)
    out2, _ = cfgit.expect(ctx, ["run", "--config", again, "--check-config"], EX_OK)
    body = lambda s: s.split("\n", 1)[1]  # noqa: E731  (the comment names the file)
    check_eq(f"{what}: the effective config, checked again", body(out), body(out2))
    return out


def check_bad(ctx, name, text, want, status=EX_CONFIG):
    """Require exit 78, an empty stdout and exactly the errors @p want, in order: tuples
    (line, col, key, text the message contains)."""
    path = cfgit.write(ctx, name, text)
    out, err = cfgit.expect(ctx, ["run", "--config", path, "--check-config"], status)
    check_eq(f"{name}: standard output", "", out)
    lines = [ln for ln in err.splitlines() if re.match(rf"^{re.escape(path)}:\d+:\d+: ", ln)]
    got = "\n    ".join(err.splitlines())
    check_eq(f"{name}: number of error lines (stderr:\n    {got}\n)", len(want), len(lines))
    for (line, col, key, part), ln in zip(want, lines):
        head = f"{path}:{line}:{col}: {key}: "
        check(ln.startswith(head) and part in ln,
              f"{name}: expected an error line starting {head!r} and holding {part!r}, "
              f"got {ln!r}")
        # (libyaml words its syntax errors itself)
        check(key == "yaml" or re.search(r"\(expected .+\)|\(required", ln),
              f"{name}: the error should say what was expected: {ln!r}")
    summary = f"sipveil run: {path}: {len(want)} error{'s' if len(want) != 1 else ''}; " \
              f"nothing started"
    check(summary in err, f"{name}: stderr should end with {summary!r}, got:\n    {got}")
    step(f"{name}: exit {status}, {len(want)} error line(s), e.g. "
         f"{lines[0][len(path) + 1:] if lines else ''!r}")


def test_good(ctx):
    out = check_good(ctx, cfgit.source("examples/sipveil.yaml"), "examples/sipveil.yaml")
    for want in ('  - name: "proxy"', '  - name: "edge"', '        next_hop: "udp:127.0.0.1:5080"',
                 "      - transport: tcp"):
        check(want in out.splitlines(), f"example: the effective config lacks {want!r}:\n{out}")
    step("examples/sipveil.yaml passes and its effective config checks again to itself")

    out = check_good(ctx, cfgit.write(ctx, "minimal.yaml", NODE), "minimal.yaml")
    for want in ("workers: 0", "  level: notice", "  trace: false", "  target: stderr",
                 "  facility: daemon", "  t1: 500ms", "  t2: 4s",
                 "  t4: 5s", "  max_msg: 65536", "  max_conns_per_ip: 100",
                 "  idle_timeout: 5m", "  header_timeout: 10s", '  listen: ""',
                 "    record_route: true", "          verify_peer: true",
                 "          require_client_cert: false", "    routes: []"):
        check(want in out.splitlines(), f"minimal: the effective config lacks the default "
                                        f"{want!r}:\n{out}")
    step("a minimal file: the effective config shows every default")


def test_bad(ctx):
    check_bad(ctx, "typo.yaml", "limits:\n  max_mgs: 5\n" + NODE,
              [(2, 3, "limits.max_mgs", "unknown key; did you mean 'max_msg'?")])
    check_bad(ctx, "type.yaml", "workers: many\n" + NODE,
              [(1, 10, "workers", "'many' is not valid (expected an unsigned integer in 0..256)")])
    check_bad(ctx, "bounds.yaml", "workers: 257\n" + NODE,
              [(1, 10, "workers", "257 is out of bounds")])
    check_bad(ctx, "duration.yaml", "timers:\n  t1: 5 seconds\n" + NODE,
              [(2, 7, "timers.t1", "'5 seconds' is not valid (expected a duration")])
    check_bad(ctx, "kind.yaml", "timers: 500ms\n" + NODE,
              [(1, 9, "timers", "got a scalar (expected a mapping)")])
    check_bad(ctx, "no-nodes.yaml", "workers: 2\n",
              [(1, 1, "nodes", "missing (required: expected a list of mappings, at least 1")])
    check_bad(ctx, "no-role.yaml", NODE.replace("    role: proxy\n", ""),
              [(2, 5, "nodes[0].role", "missing (required")])
    check_bad(ctx, "role.yaml", NODE.replace("role: proxy", "role: scscf2"),
              [(3, 11, "nodes[0].role", "'scscf2' is not valid (expected one of: pcscf, icscf, "
                                        "scscf, as, ps, proxy)")])
    check_bad(ctx, "facility.yaml", "log: {target: syslog, facility: local8}\n" + NODE,
              [(1, 33, "log.facility", "'local8' is not valid (expected one of: daemon, user, "
                                       "local0, ")])
    check_bad(ctx, "no-listeners.yaml", "nodes:\n  - name: n1\n    role: as\n    listeners: []\n",
              [(4, 16, "nodes[0].listeners", "0 items (expected a list of mappings, at least 1")])
    check_bad(ctx, "v6.yaml", NODE.replace("127.0.0.1:0", "'::1:5060'"),
              [(6, 18, "nodes[0].listeners[0].address",
                "'::1:5060' is not valid (expected host:port, IPv6 as [addr]:port)")])
    check_bad(ctx, "name-listener.yaml", NODE.replace("127.0.0.1:0", "localhost:5060"),
              [(6, 18, "nodes[0].listeners[0].address", "'localhost:5060' is a name")])
    two = NODE + NODE[len("nodes:\n"):].replace("127.0.0.1:0", "127.0.0.1:5999") \
        + NODE[len("nodes:\n"):].replace("127.0.0.1:0", "127.0.0.1:5999").replace("n1", "n3")
    check_bad(ctx, "dup.yaml", two,
              [(7, 11, "nodes[1].name", "'n1' is already the name of nodes[0]"),
               (16, 18, "nodes[2].listeners[0].address",
                "udp 127.0.0.1:5999 is already a listener of node 'n1'")])
    check_bad(ctx, "syntax.yaml", NODE + "  - name: [unclosed\n",
              [(8, 1, "yaml", "did not find expected")])
    check_bad(ctx, "t2.yaml", "timers: {t1: 5s, t2: 4s}\n" + NODE,
              [(1, 22, "timers.t2", "below timers.t1")])
    routes = NODE + "    routes:\n" \
                    "      - match: default\n" \
                    "        next_hop: udp:127.0.0.1:5080\n" \
                    "      - match: domain\n" \
                    "        value: outside.example\n" \
                    "        next_hop: udp:127.0.0.1\n"
    check_bad(ctx, "routes.yaml", routes,
              [(10, 9, "nodes[0].routes[1]", "can never match: routes[0] is the default route"),
               (12, 19, "nodes[0].routes[1].next_hop", "'udp:127.0.0.1' is not a next hop")])
    # several mistakes in one file: all of them, in file order
    many = "workers: -1\nlog:\n  levle: info\ntimers:\n  t4: forever\n" + \
        NODE.replace("transport: udp", "transport: sctp")
    check_bad(ctx, "many.yaml", many,
              [(1, 10, "workers", "'-1' is not valid"),
               (3, 3, "log.levle", "unknown key; did you mean 'level'?"),
               (5, 7, "timers.t4", "'forever' is not valid"),
               (10, 20, "nodes[0].listeners[0].transport", "'sctp' is not valid")])


def test_tls(ctx):
    openssl = ctx.tool("openssl", None)

    def pair(stem):
        key, cert = ctx.path(stem + "-key.pem"), ctx.path(stem + "-cert.pem")
        p = svit.Proc("openssl", [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                                  f"/CN={stem}.test", "-keyout", key, "-out", cert],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rc = p.wait(30)
        check_eq(f"openssl req for {stem}: exit status", 0, rc)
        return cert, key

    cert, key = pair("a")
    _, key_b = pair("b")
    tls = NODE + "      - transport: tls\n" \
                 "        address: 127.0.0.1:0\n" \
                 "        tls:\n" \
                 "          cert: CERT\n" \
                 "          key: KEY\n"
    # lines 7..11: cert value at 10:17, key value at 11:16
    out = check_good(ctx, cfgit.write(ctx, "tls.yaml", tls.replace("CERT", cert)
                                      .replace("KEY", key)), "tls.yaml")
    check(f'          cert: "{cert}"' in out.splitlines(),
          f"tls: the effective config should carry the cert path:\n{out}")
    step("a TLS listener with an openssl-made certificate and key passes")

    check_bad(ctx, "tls-none.yaml", NODE + "      - transport: tls\n"
                                           "        address: 127.0.0.1:0\n",
              [(7, 9, "nodes[0].listeners[1].tls.cert", "missing (required for a tls listener"),
               (7, 9, "nodes[0].listeners[1].tls.key", "missing (required for a tls listener")])
    missing = ctx.path("no-such-cert.pem")
    check_bad(ctx, "tls-missing.yaml", tls.replace("CERT", missing).replace("KEY", key),
              [(10, 17, "nodes[0].listeners[1].tls.cert",
                f"cannot read '{missing}': No such file or directory")])
    check_bad(ctx, "tls-mismatch.yaml", tls.replace("CERT", cert).replace("KEY", key_b),
              [(11, 16, "nodes[0].listeners[1].tls.key", "does not match the certificate")])
    notpem = cfgit.write(ctx, "not-a-cert.pem", "hello\n")
    check_bad(ctx, "tls-notpem.yaml", tls.replace("CERT", notpem).replace("KEY", key),
              [(10, 17, "nodes[0].listeners[1].tls.cert", "(expected a PEM certificate)")])
    check_bad(ctx, "tls-on-udp.yaml", NODE + f"        tls: {{cert: {cert}}}\n",
              [(7, 14, "nodes[0].listeners[0].tls", "TLS material on a udp listener")])


def test_file_and_usage(ctx):
    missing = ctx.path("absent.yaml")
    out, err = cfgit.expect(ctx, ["run", "--config", missing, "--check-config"], EX_CONFIG)
    check_eq("missing file: standard output", "", out)
    check(f"{missing}: cannot read: No such file or directory" in err,
          f"missing file: the error should name it and the reason: {err!r}")
    step("a missing config file: exit 78 naming it")
    # without --check-config the same: a bad config starts nothing
    out, err = cfgit.expect(ctx, ["run", "--config", cfgit.write(ctx, "bad-run.yaml",
                                                                 "workers: 999\n" + NODE)],
                            EX_CONFIG)
    check("ready" not in out and "workers: 999 is out of bounds" in err,
          f"run with a bad config: no ready line, the error on stderr: {out!r} {err!r}")
    step("run --config with a bad file: exit 78, nothing started")
    good = cfgit.write(ctx, "good.yaml", NODE)
    for args, word in ((["run", "--check-config"], "--check-config"),
                       (["run", "--config", good, "--listen", "127.0.0.1:0"], "--listen")):
        out, err = cfgit.expect(ctx, args, EX_USAGE)
        check(word in err and out == "", f"sipveil {' '.join(args)}: exit 64 with a message "
                                         f"naming {word}: {out!r} {err!r}")
    step("--check-config without --config, --config with --listen: exit 64")


def test(ctx):
    test_good(ctx)
    test_bad(ctx)
    test_tls(ctx)
    test_file_and_usage(ctx)


if __name__ == "__main__":
    svit.run(test)
