#!/usr/bin/env bash
# The generic libFuzzer runner behind `make fuzz`. For each tests/fuzz/fuzz_NAME.c it reads the
# harness's first-line comments (several lines of one key add up)
#     /* fuzz-sources: formats/*.c store/xml.c */
#     /* fuzz-libs: -lzstd -lcrypto */
# builds it with clang (fuzzer + address + undefined) into $BUILD/fuzz/, replays every file in
# tests/fuzz/regressions/NAME/, seeds a corpus from tests/fuzz/seeds/NAME/ (plus, for the
# bundle reader, the sample bundles and their decompressed streams) and fuzzes for
# $FUZZ_SECONDS. Exits non-zero on a build failure or a crash and prints the reproducer path.
# Usage: tests/fuzz/run.sh [NAME...]   (FUZZ_SECONDS default 20, FUZZ_TIMEOUT 30, BUILD build)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# libFuzzer's -timeout is wall-clock time per input, a hang detector. The costliest seed
# (seeds/bundle/events-16mi: 128 MiB decompressed, about 2 s of CPU) took 13 s of wall time on
# a 2-core machine at load 16, over the 10 s this was; an endless loop still trips 30 s.
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-30}
CC_FUZZ=${CC_FUZZ:-clang}
OUT="$BUILD/fuzz"
mkdir -p "$OUT"

# The words after "fuzz-KEY:" in the first lines of a harness, without the closing "*/".
header() { # header FILE KEY: the words of every fuzz-KEY line among the first 5
    head -n 5 "$1" | sed -n "s|.*fuzz-$2:\(.*\)\*/.*|\1|p" | tr '\n' ' '
}

status=0
ran=0
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    # shellcheck disable=SC2206  # globs in fuzz-sources are meant to expand
    sources=($(header "$src" sources))
    # shellcheck disable=SC2206
    libs=($(header "$src" libs))
    bin="$OUT/fuzz_$name"
    echo "fuzz: building $name (${#sources[@]} sources)"
    if ! "$CC_FUZZ" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
        -I. -D_GNU_SOURCE -DRT_VERSION='"fuzz"' "$src" "${sources[@]}" -o "$bin" \
        "${libs[@]}" >"$OUT/build-$name.log" 2>&1; then
        echo "fuzz: FAILED to build $name:"
        head -n 30 "$OUT/build-$name.log"
        status=1
        continue
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
            status=1
            continue
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
    ran=$((ran + 1))
    found=$(find "$artifacts" -type f | head -n 1)
    if [ $rc -ne 0 ] || [ -n "$found" ]; then
        echo "fuzz: $name: CRASH (exit $rc); reproducer: ${found:-see $OUT/run-$name.log}"
        grep -a -E 'ERROR|SUMMARY|runtime error' "$OUT/run-$name.log" | head -n 10
        echo "fuzz: replay with: $bin ${found:-INPUT}; then add it to tests/fuzz/regressions/$name/"
        status=1
    else
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/run-$name.log")
        echo "fuzz: $name ok (${execs:-?} runs)"
    fi
done
echo "fuzz: $ran harness(es) run, $([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
