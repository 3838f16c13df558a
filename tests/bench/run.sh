#!/usr/bin/env bash
# The benchmark runner behind `make bench`: runs every tests/bench/*.sh except itself, in name
# order, each printing its own table of figures measured side by side in one run. A failing
# benchmark is reported and the runner exits non-zero after running the others. Benchmarks are
# not tests: they assert nothing about speed.
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
