#!/usr/bin/env bash
# The test runner behind `make test`: Criterion unit binaries, e2e and tui scripts.
# Usage: tests/run.sh [unit|e2e|tui|GROUP|FILTER...]   (no argument: everything; GROUP as
# e2e/extension_proxy or unit/test_store, FILTER a part of a name; none matching: exit 2)
# RT_TEST_JOBS=N: how many unit binaries and e2e/tui scripts run at once (default: the number
# of CPUs; most of a script's time is spent waiting on servers and runtimes). Each unit binary
# and each e2e/tui script is one group; a script prints TAP-like "ok"/"not ok" lines through
# tests/lib.sh and its last line is "N passed, N failed". Groups start longest first (the
# durations of this build's previous runs in $BUILD/test-logs/durations, else those of
# tests/durations, a copy of one; a group in neither starts first), so that the last to finish
# is a short one; they are reported in a fixed order (unit binaries, then scripts, by name)
# with their wall time. The final line of this runner sums everything:
# "total: N passed, N failed".
# RT_TEST_TIMEOUT=S: a group still running after S seconds (default 900) is killed and fails.
set -u
BUILD=${BUILD:-build}
export BUILD
export RT_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$RT_ROOT"
export RUNTRAIL="$RT_ROOT/$BUILD/bin/runtrail"
LOGDIR="$RT_ROOT/$BUILD/test-logs"
mkdir -p "$LOGDIR"

# The python3 on PATH may be a version manager's shim (pyenv's is a bash script that costs about
# 0.3 s of CPU per start, more than the interpreter itself, and the suite starts python3 some
# thousands of times: servers, free_port, the sample runtimes). Put the interpreter's own folder
# first on PATH, as `pyenv exec` does for the programs it starts: the same python3 runs.
py_dir=$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))' 2>/dev/null)
if [ -n "$py_dir" ] && [ -x "$py_dir/python3" ] &&
    [ "$(readlink -f "$(command -v python3)")" != "$(readlink -f "$py_dir/python3")" ]; then
    export PATH="$py_dir:$PATH"
fi

passed=0 failed=0 failed_names=()
want() { # want GROUP NAME
    [ $# -ge 2 ] || return 0
    local g=$1 n=$2
    [ ${#SEL[@]} -eq 0 ] && return 0
    for s in "${SEL[@]}"; do # a kind (unit, e2e, tui), a group (e2e/NAME), or part of a name
        [ "$s" = "$g" ] || [ "$s" = "$g/$n" ] && return 0
        case "$n" in *"$s"*) return 0 ;; esac
    done
    return 1
}
SEL=("$@")

# The groups, in report order: unit/test_NAME (a Criterion binary), e2e/NAME, tui/NAME (a
# script). Each has its own temporary folders and asks the kernel for free ports, so any of
# them may run beside any other.
groups=()
for bin in "$BUILD"/tests/unit/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    want unit "$name" || continue
    groups+=("unit/$name")
done
for dir in e2e tui; do
    for script in tests/$dir/*.sh; do
        [ -f "$script" ] || continue
        name=$(basename "$script" .sh)
        want "$dir" "$name" || continue
        groups+=("$dir/$name")
    done
done
if [ ${#SEL[@]} -gt 0 ] && [ ${#groups[@]} -eq 0 ]; then
    echo "tests/run.sh: no test group matches: ${SEL[*]} (a kind: unit, e2e, tui; a group such" \
        "as e2e/extension_proxy; or part of a name)" >&2
    exit 2
fi
log_of() { # log_of GROUP: its log file
    case $1 in
    unit/*) echo "$LOGDIR/${1#unit/}.log" ;;
    *) echo "$LOGDIR/${1/\//-}.log" ;;
    esac
}

run_group() { # run_group GROUP: runs it, leaves its times and exit status next to its log
    local log t0=$EPOCHREALTIME rc
    log=$(log_of "$1")
    rm -f "$log.rc"
    case $1 in
    unit/*) timeout "${RT_TEST_TIMEOUT:-900}" "$BUILD/tests/unit/${1#unit/}" --jobs=2 >"$log" 2>&1 ;;
    *) timeout "${RT_TEST_TIMEOUT:-900}" bash "tests/$1.sh" >"$log" 2>&1 ;;
    esac
    rc=$?
    # Start and end (epoch seconds), then `times`: this shell's CPU, then that of what it waited
    # for (user, system): the group's processes.
    { echo "$t0 $EPOCHREALTIME"; times; } >"$log.time"
    echo $rc >"$log.rc.tmp" && mv "$log.rc.tmp" "$log.rc"
}
wall_of() { # wall_of GROUP: its wall seconds, from its .time file
    awk 'NR == 1 { printf "%.0f", $2 - $1 }' "$(log_of "$1").time" 2>/dev/null
}
report_group() { # report_group GROUP: adds its counts to the totals and prints its line
    local log rc line p f c wall
    log=$(log_of "$1")
    rc=$(cat "$log.rc")
    wall=$(wall_of "$1")
    case $1 in
    unit/*)
        line=$(grep -a 'Synthesis:' "$log" | tail -n 1)
        p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
        f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
        c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
        p=${p:-0} f=${f:-0} c=${c:-0}
        f=$((f + c))
        if { [ -z "$line" ] || [ "$rc" -ne 0 ]; } && [ "$f" -eq 0 ]; then f=1; fi
        ;;
    *)
        line=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
        p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$line")
        f=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' <<<"$line")
        p=${p:-0} f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        ;;
    esac
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failed_names+=("$1")
        echo "FAIL $1 ($p passed, $f failed, exit $rc, ${wall:-?} s; log: $log)"
        case $1 in
        unit/*) grep -a -E '\[(FAIL|----)\]' "$log" | head -n 20 ;;
        *) grep -a -E '^not ok|^#' "$log" | head -n 30 ;;
        esac
    else
        echo "ok   $1 ($p passed, ${wall:-?} s)"
    fi
}

# Start order: longest first, by the last duration known (this build's previous runs, else
# tests/durations); a group without one first of all.
durations=()
for f in "$LOGDIR/durations" tests/durations; do [ -s "$f" ] && durations+=("$f"); done
# shellcheck disable=SC2207  # group names have no spaces
order=($(for g in "${groups[@]}"; do
    s=$([ ${#durations[@]} -gt 0 ] && awk -v g="$g" '$1 == g { print $2; exit }' "${durations[@]}")
    echo "${s:-999999} $g"
done | sort -k1,1nr -k2,2 | cut -d' ' -f2))

jobs_max=${RT_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs_max" -ge 1 ] 2>/dev/null || jobs_max=1
for g in "${groups[@]}"; do l=$(log_of "$g"); rm -f "$l.rc" "$l.time"; done
started=0 reported=0 running=0
while [ "$reported" -lt "${#groups[@]}" ]; do
    if [ "$running" -lt "$jobs_max" ] && [ "$started" -lt "${#order[@]}" ]; then
        run_group "${order[$started]}" &
        started=$((started + 1)) running=$((running + 1))
        continue
    fi
    wait -n
    running=$((running - 1))
    while [ "$reported" -lt "${#groups[@]}" ] && [ -f "$(log_of "${groups[$reported]}").rc" ]; do
        report_group "${groups[$reported]}"
        reported=$((reported + 1))
    done
done

# This run's durations (GROUP WALL-SECONDS), longest first, merged over the previous ones so a
# filtered run (make test TESTS=record) keeps the others: the next run's start order.
{
    for g in "${groups[@]}"; do echo "$g $(wall_of "$g")"; done
    [ -s "$LOGDIR/durations" ] && cat "$LOGDIR/durations"
} | awk 'NF == 2 && !seen[$1]++' | sort -k2,2nr -k1,1 >"$LOGDIR/durations.tmp" &&
    mv "$LOGDIR/durations.tmp" "$LOGDIR/durations"

[ ${#failed_names[@]} -gt 0 ] && echo "failed groups: ${failed_names[*]}"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
