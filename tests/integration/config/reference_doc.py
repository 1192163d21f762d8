#!/usr/bin/env python3
"""
@file reference_doc.py  config/reference_doc: docs/configuration.md is exactly what
`sipveil help config` prints, so the documented keys, defaults and bounds never drift from the
table the loader uses (src/app/config.c). When they differ, the test shows the diff and the
command that regenerates the file.
"""
import difflib

import cfgit
import svit
from svit import check, step


def test(ctx):
    out, err = cfgit.expect(ctx, ["help", "config"], 0)
    check(err == "", f"sipveil help config wrote to stderr: {err!r}")
    check(out.startswith("# Configuration reference\n") and "| `nodes[].name` |" in out,
          f"sipveil help config: not the reference:\n{out[:500]}")
    doc = cfgit.source("docs/configuration.md")
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    if text != out:
        diff = "".join(difflib.unified_diff(text.splitlines(True), out.splitlines(True),
                                            "docs/configuration.md", "sipveil help config"))
        svit.fail(f"docs/configuration.md differs from the config table; regenerate it with\n"
                  f"    sipveil help config > docs/configuration.md\n{diff[:4000]}")
    step(f"docs/configuration.md matches `sipveil help config` ({len(out.splitlines())} lines)")
    for key in ("log.level", "workers", "timers.t1", "limits.max_msg", "metrics.listen",
                "nodes[].listeners[].tls.verify_peer", "nodes[].routes[].next_hop",
                "nodes[].record_route"):
        check(f"| `{key}` |" in out, f"the reference lacks a row for {key}")
    step("the reference has a row for every kind of key")


if __name__ == "__main__":
    svit.run(test)
