#!/usr/bin/env bash
# The test runner behind `make test`: Criterion unit binaries, then e2e and tui scripts.
# Usage: tests/run.sh [unit|e2e|tui|FILTER...]   (no argument: everything)
# RT_TEST_JOBS=N: how many e2e/tui scripts run at once (default: the number of CPUs).
# Each e2e/tui script is one group; it prints TAP-like "ok"/"not ok" lines through
# tests/lib.sh and its last line is "N passed, N failed". The final line of this runner sums
# everything: "total: N passed, N failed".
set -u
BUILD=${BUILD:-build}
export BUILD
export RT_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$RT_ROOT"
export RUNTRAIL="$RT_ROOT/$BUILD/bin/runtrail"
LOGDIR="$RT_ROOT/$BUILD/test-logs"
mkdir -p "$LOGDIR"

passed=0 failed=0 failed_names=()
want() { # want GROUP NAME
    [ $# -ge 2 ] || return 0
    local g=$1 n=$2
    [ ${#SEL[@]} -eq 0 ] && return 0
    for s in "${SEL[@]}"; do # a group name, or a substring of the test's name
        [ "$s" = "$g" ] && return 0
        case "$n" in *"$s"*) return 0 ;; esac
    done
    return 1
}
SEL=("$@")

for bin in "$BUILD"/tests/unit/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    want unit "$name" || continue
    log="$LOGDIR/$name.log"
    "$bin" --jobs=2 >"$log" 2>&1
    rc=$?
    line=$(grep -a 'Synthesis:' "$log" | tail -n 1)
    p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
    f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
    c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
    p=${p:-0} f=${f:-0} c=${c:-0}
    if [ -z "$line" ] || [ $rc -ne 0 ] && [ $((f + c)) -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f + c))
    if [ $((f + c)) -ne 0 ]; then
        failed_names+=("$name")
        echo "FAIL unit/$name ($p passed, $((f + c)) failed; log: $log)"
        grep -a -E '\[(FAIL|----)\]' "$log" | head -n 20
    else
        echo "ok   unit/$name ($p passed)"
    fi
done

# e2e and tui scripts: RT_TEST_JOBS at a time (default: the number of CPUs; most of a script's
# time is spent waiting on servers and runtimes), reported in a fixed order as they finish.
# Each script has its own temporary folder and asks the kernel for free ports.
scripts=()
for dir in e2e tui; do
    for script in tests/$dir/*.sh; do
        [ -f "$script" ] || continue
        name=$(basename "$script" .sh)
        want "$dir" "$name" || continue
        scripts+=("$dir/$name")
    done
done
run_script() { # run_script DIR/NAME: runs it, leaves its exit status next to its log
    local log="$LOGDIR/${1/\//-}.log"
    rm -f "$log.rc"
    timeout "${RT_TEST_TIMEOUT:-900}" bash "tests/$1.sh" >"$log" 2>&1
    echo $? >"$log.rc.tmp" && mv "$log.rc.tmp" "$log.rc"
}
report_script() { # report_script DIR/NAME
    local log="$LOGDIR/${1/\//-}.log" rc last p f
    rc=$(cat "$log.rc")
    last=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$last")
    f=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' <<<"$last")
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failed_names+=("$1")
        echo "FAIL $1 ($p passed, $f failed, exit $rc; log: $log)"
        grep -a -E '^not ok|^#' "$log" | head -n 30
    else
        echo "ok   $1 ($p passed)"
    fi
}
jobs_max=${RT_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs_max" -ge 1 ] 2>/dev/null || jobs_max=1
for s in "${scripts[@]}"; do rm -f "$LOGDIR/${s/\//-}.log.rc"; done
started=0 reported=0 running=0
while [ "$reported" -lt "${#scripts[@]}" ]; do
    if [ "$running" -lt "$jobs_max" ] && [ "$started" -lt "${#scripts[@]}" ]; then
        run_script "${scripts[$started]}" &
        started=$((started + 1)) running=$((running + 1))
        continue
    fi
    wait -n
    running=$((running - 1))
    while [ "$reported" -lt "$started" ] && [ -f "$LOGDIR/${scripts[$reported]/\//-}.log.rc" ]; do
        report_script "${scripts[$reported]}"
        reported=$((reported + 1))
    done
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed groups: ${failed_names[*]}"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
