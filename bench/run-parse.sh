#!/usr/bin/env bash
# @file run-parse.sh  Build bench_parse in a Release tree (build-bench/) and run it.
#
# Arguments go to bench_parse (--seconds S, --only abcd, --arena BYTES, --data DIR).
# BUILD_DIR overrides the build directory; CC picks the compiler (a new BUILD_DIR per compiler).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}

gen=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then
  gen=(-G Ninja)
fi
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DSIPVEIL_TESTS=OFF \
  -DSIPVEIL_BENCH=ON >/dev/null
cmake --build "$build" --target bench_parse -j "$(nproc)" >/dev/null
if [ ! -x "$build/bench/bench_parse" ]; then
  echo "run-parse.sh: bench_parse was not built (is libosip2-dev installed?)" >&2
  exit 1
fi
exec "$build/bench/bench_parse" "$@"
