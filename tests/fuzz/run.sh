#!/bin/sh
# @file run.sh  Build the libFuzzer target with clang and fuzz the message layer for a while.
#
# Usage: tests/fuzz/run.sh [seconds]      (default 60)
#
# Configures build-fuzz/ (clang, SIPVEIL_FUZZ=ON: ASan + UBSan + libFuzzer), builds fuzz_msg and
# runs it for the given time over a temporary copy of the seeds (tests/fuzz/seeds, the RFC 4475 /
# RFC 5118 corpus, tests/data/ims, tests/fuzz/regressions). The copy is what libFuzzer grows, so
# the checked-in seeds stay as they are. A crash leaves its input in build-fuzz/crashes/ and the
# script exits non-zero: copy the input to tests/fuzz/regressions/ so that fuzz/replay keeps it.
#
# Environment: FUZZ_JOBS (parallel workers, default 1), FUZZ_ARGS (extra libFuzzer flags).
set -eu

secs=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz
fuzz=$root/tests/fuzz

CC=${CC:-clang}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSIPVEIL_FUZZ=ON -DSIPVEIL_TESTS=ON -DSIPVEIL_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_msg

work=$(mktemp -d "${TMPDIR:-/tmp}/sipveil-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$build/crashes"
for d in "$fuzz/seeds" "$fuzz/regressions" "$root/tests/data/rfc4475" "$root/tests/data/rfc5118" \
         "$root/tests/data/ims"; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
        [ -f "$f" ] || continue
        cp "$f" "$work/corpus/$(basename "$d")-$(basename "$f")"
    done
done

dict=
[ -f "$fuzz/sip.dict" ] && dict="-dict=$fuzz/sip.dict"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

jobs=${FUZZ_JOBS:-1}
par=
[ "$jobs" -gt 1 ] && par="-jobs=$jobs -workers=$jobs"

# libFuzzer writes its per-job logs (fuzz-N.log) to the current directory: keep them in $work
cd "$work"
set +e
# shellcheck disable=SC2086
"$build/tests/fuzz/fuzz_msg" $dict $par -max_total_time="$secs" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$build/crashes/" -print_final_stats=1 ${FUZZ_ARGS:-} \
    "$work/corpus"
rc=$?
set -e
for log in "$work"/fuzz-*.log; do
    [ -f "$log" ] && tail -n 40 "$log"
done
if [ $rc -ne 0 ]; then
    echo "run.sh: fuzz_msg exited $rc; crash inputs are in $build/crashes/" >&2
    ls -l "$build/crashes/" >&2
    exit 1
fi
echo "run.sh: ${secs}s without a crash"
