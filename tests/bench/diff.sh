#!/usr/bin/env bash
# runtrail diff benchmark (run by `make bench` through tests/bench/run.sh): two synthetic
# invocations of 100k and of 1M events each (tests/bench/diff.c), decoded and diffed in one
# process (time, ns/event, ratio to the decode), then the whole command `runtrail diff A B`
# and, beside it, `runtrail show A B` (decode + print) for wall time and peak RSS via time(1).
# Targets for 1M: <= 1 s and <= 300 MB.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tools/bench_diff" "$BUILD/bin/runtrail" >/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rt-bench-diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for n in ${BENCH_DIFF_EVENTS:-100000 1000000}; do
    echo "--- $n events per bundle"
    "$BUILD/tools/bench_diff" gen "$n" "$tmp"
    "$BUILD/tools/bench_diff" run "$tmp/a.rtb" "$tmp/b.rtb"
    rc=0
    /usr/bin/time -f "%e %M" -o "$tmp/time.diff" "$BUILD/bin/runtrail" diff "$tmp/a.rtb" "$tmp/b.rtb" >/dev/null || rc=$?
    [ "$rc" -eq 1 ] || { echo "runtrail diff: exit $rc, expected 1"; exit 1; }
    /usr/bin/time -f "%e %M" -o "$tmp/time.show" "$BUILD/bin/runtrail" show "$tmp/a.rtb" "$tmp/b.rtb" >/dev/null
    read -r ds dk < <(tail -n 1 "$tmp/time.diff")
    read -r ss sk < <(tail -n 1 "$tmp/time.show")
    printf '%-30s %10s %10s\n' "command" "seconds" "peak MB"
    printf '%-30s %10s %10d\n' "runtrail diff A B" "$ds" $((dk / 1024))
    printf '%-30s %10s %10d\n' "runtrail show A B (beside)" "$ss" $((sk / 1024))
    awk -v d="$ds" -v s="$ss" -v dk="$dk" -v sk="$sk" \
        'BEGIN { printf "%-30s %10.2f %10.2f\n", "diff / show", (s > 0 ? d / s : 0), dk / sk }'
done
