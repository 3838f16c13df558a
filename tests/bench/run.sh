#!/usr/bin/env bash
# The benchmark runner behind `make bench`: runs every tests/bench/*.sh except itself, in name
# order, each printing its own table of figures measured side by side in one run. A failing
# benchmark is reported and the runner exits non-zero after running the others. Benchmarks are
# not tests: they assert nothing about speed.
#
# Every benchmark that records (`runtrail invoke` and `runtrail record` index what they record)
# points RUNTRAIL_CACHE at a catalog in its own temporary folder, gone with it: in the user's
# catalog, bench runs once left 26 million events of their syscall loops and a 1.7 GB WAL,
# whose checkpoint then cost the next `runtrail invoke` 3-4 s of I/O, and its writeback ran
# beside the runs being measured.
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
status=0
for b in tests/bench/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "=== $(basename "$b" .sh)"
    if ! bash "$b"; then
        echo "bench: $(basename "$b") FAILED"
        status=1
    fi
    echo
done
exit $status
