#!/usr/bin/env bash
# The generic libFuzzer runner behind `make fuzz`. For each tests/fuzz/fuzz_NAME.c it reads the
# harness's first-line comments (several lines of one key add up)
#     /* fuzz-sources: formats/*.c store/xml.c */
#     /* fuzz-libs: -lzstd -lcrypto */
# builds it with clang (fuzzer + address + undefined) into $BUILD/fuzz/, replays every file in
# tests/fuzz/regressions/NAME/, seeds a corpus from tests/fuzz/seeds/NAME/ (plus, for the
# bundle reader, the sample bundles and their decompressed streams) and fuzzes for
# $FUZZ_SECONDS. Exits non-zero on a build failure or a crash and prints the reproducer path.
# Harnesses run FUZZ_JOBS at a time (default: the number of CPUs; each libFuzzer process and
# each clang build uses one core), the ones with the most sources (the longest builds) first;
# every harness still fuzzes for its full FUZZ_SECONDS of wall time. Each harness's lines are
# printed together, in name order, as they finish; its logs stay in $BUILD/fuzz/.
# Usage: tests/fuzz/run.sh [NAME...]
#   (FUZZ_SECONDS default 20, FUZZ_TIMEOUT 30, FUZZ_JOBS nproc, BUILD build)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# libFuzzer's -timeout is wall-clock time per input, a hang detector. The costliest seed
# (seeds/bundle/events-16mi: 128 MiB decompressed, about 2 s of CPU) took 13 s of wall time on
# a 2-core machine at load 16, over the 10 s this was; an endless loop still trips 30 s.
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-30}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$FUZZ_JOBS" -ge 1 ] 2>/dev/null || FUZZ_JOBS=1
CC_FUZZ=${CC_FUZZ:-clang}
OUT="$BUILD/fuzz"
mkdir -p "$OUT"

# The words after "fuzz-KEY:" in the first lines of a harness, without the closing "*/".
header() { # header FILE KEY: the words of every fuzz-KEY line among the first 5
    head -n 5 "$1" | sed -n "s|.*fuzz-$2:\(.*\)\*/.*|\1|p" | tr '\n' ' '
}

# fuzz_one NAME: build, replay the regressions, seed, fuzz. Prints its report; exits 0 when it
# fuzzed cleanly, 1 when the fuzzing found a crash, 2 when it failed before fuzzing (build or
# regression).
fuzz_one() {
    local name=$1 src="tests/fuzz/fuzz_$1.c" sources libs bin artifacts corpus regs rc found execs
    # shellcheck disable=SC2207  # globs in fuzz-sources are meant to expand
    sources=($(header "$src" sources))
    # shellcheck disable=SC2207
    libs=($(header "$src" libs))
    bin="$OUT/fuzz_$name"
    echo "fuzz: building $name (${#sources[@]} sources)"
    if ! "$CC_FUZZ" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
        -I. -D_GNU_SOURCE -DRT_VERSION='"fuzz"' "$src" "${sources[@]}" -o "$bin" \
        "${libs[@]}" >"$OUT/build-$name.log" 2>&1; then
        echo "fuzz: FAILED to build $name:"
        head -n 30 "$OUT/build-$name.log"
        return 2
    fi
    artifacts="$OUT/artifacts-$name"
    corpus="$OUT/corpus-$name"
    rm -rf "$artifacts"
    mkdir -p "$artifacts" "$corpus"
    # 1. Regressions: every input that once crashed must now pass.
    regs=(tests/fuzz/regressions/"$name"/*)
    if [ -e "${regs[0]}" ]; then
        if ! "$bin" -runs=0 "${regs[@]}" >"$OUT/regressions-$name.log" 2>&1; then
            echo "fuzz: $name: a regression input crashes again:"
            tail -n 30 "$OUT/regressions-$name.log"
            return 2
        fi
    fi
    # 2. Seeds.
    [ -d "tests/fuzz/seeds/$name" ] && cp -f tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null
    if [ "$name" = bundle ]; then
        for f in samples/bundles/*.rtb; do
            [ -f "$f" ] || continue
            cp -f "$f" "$corpus/"
            zstd -q -d -c "$f" >"$corpus/$(basename "$f" .rtb).raw" 2>/dev/null
        done
    fi
    # 3. Fuzz.
    echo "fuzz: running $name for ${FUZZ_SECONDS}s"
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" >"$OUT/run-$name.log" 2>&1
    rc=$?
    found=$(find "$artifacts" -type f | head -n 1)
    if [ $rc -ne 0 ] || [ -n "$found" ]; then
        echo "fuzz: $name: CRASH (exit $rc); reproducer: ${found:-see $OUT/run-$name.log}"
        grep -a -E 'ERROR|SUMMARY|runtime error' "$OUT/run-$name.log" | head -n 10
        echo "fuzz: replay with: $bin ${found:-INPUT}; then add it to tests/fuzz/regressions/$name/"
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/run-$name.log")
    echo "fuzz: $name ok (${execs:-?} runs)"
    return 0
}

# The harnesses asked for, in name order (the report order) ...
names=()
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    names+=("$name")
done
# ... and in start order: the most sources first, so that the last to finish is a short one.
# (A command substitution, not a process substitution: `wait -n` below must see only jobs.)
# shellcheck disable=SC2207
order=($(for name in "${names[@]}"; do
    # shellcheck disable=SC2207
    s=($(header "tests/fuzz/fuzz_$name.c" sources))
    echo "${#s[@]} $name"
done | sort -k1,1nr -k2,2 | cut -d' ' -f2))

status=0 ran=0 started=0 reported=0 running=0
for name in "${names[@]}"; do rm -f "$OUT/report-$name.txt" "$OUT/status-$name"; done
while [ "$reported" -lt "${#names[@]}" ]; do
    if [ "$running" -lt "$FUZZ_JOBS" ] && [ "$started" -lt "${#order[@]}" ]; then
        name=${order[$started]}
        (
            fuzz_one "$name" >"$OUT/report-$name.txt" 2>&1
            echo $? >"$OUT/status-$name.tmp" && mv "$OUT/status-$name.tmp" "$OUT/status-$name"
        ) &
        started=$((started + 1)) running=$((running + 1))
        continue
    fi
    wait -n
    running=$((running - 1))
    while [ "$reported" -lt "${#names[@]}" ] && [ -f "$OUT/status-${names[$reported]}" ]; do
        name=${names[$reported]}
        cat "$OUT/report-$name.txt"
        rc=$(cat "$OUT/status-$name")
        [ "$rc" -ne 2 ] && ran=$((ran + 1))
        [ "$rc" -ne 0 ] && status=1
        reported=$((reported + 1))
    done
done
echo "fuzz: $ran harness(es) run, $([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
