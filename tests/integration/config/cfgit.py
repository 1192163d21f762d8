"""
@file cfgit.py  What the config tests share: the path to svit.py and the source tree, running
sipveil to completion, writing config files into the scratch directory.

Python 3 standard library only.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/integration: svit.py

import svit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))  # the source tree
EX_OK, EX_USAGE, EX_UNAVAILABLE, EX_CONFIG = 0, 64, 69, 78


def source(rel):
    """A file of the source tree, which must exist."""
    path = os.path.join(ROOT, rel)
    svit.check(os.path.isfile(path), f"source file missing: {path}")
    return path


def sv(ctx, *args, timeout=20):
    """Run sipveil to completion. @return (exit status, stdout, stderr) as text."""
    argv = [ctx.sipveil, *[str(a) for a in args]]
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        svit.fail(f"{' '.join(argv[1:])}: still running after {timeout} s")
    err = r.stderr.decode("utf-8", "replace")
    svit.check_no_sanitizer_report(err, f"sipveil {' '.join(argv[1:])}")
    return r.returncode, r.stdout.decode("utf-8", "replace"), err


def expect(ctx, args, status):
    """Run sipveil and require exit status @p status. @return (stdout, stderr)."""
    rc, out, err = sv(ctx, *args)
    svit.check(rc == status, f"sipveil {' '.join(map(str, args))}: exit status {rc}, expected "
                             f"{status}\n  stdout: {out[:1500]!r}\n  stderr: {err[:1500]!r}")
    return out, err


def write(ctx, name, text):
    """Write @p text to the scratch file @p name. @return its path."""
    path = ctx.path(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
