#!/usr/bin/env bash
# e2e: `runtrail show`, `show --json` and `verify` on the sample bundles (exact expected output
# in tests/e2e/expected/show_*), and on corrupted copies — flipped byte, truncation, wrong
# footer digest, bad magic, length out of range, a gap in a chain — with their exact errors
# and exit codes. Also: captured escape sequences never reach the terminal raw.
# RT_UPDATE_EXPECTED=1 rewrites the expected files (review the diff before committing).
source "$(dirname "$0")/../lib.sh"
cd "$RT_ROOT" || exit 1
E=tests/e2e/expected
S=samples/bundles

# compare NAME EXPECTED_FILE ACTUAL_FILE (or rewrite when RT_UPDATE_EXPECTED=1)
compare() {
    if [ "${RT_UPDATE_EXPECTED:-0}" = 1 ]; then cp "$3" "$2"; fi
    expect_file "$1" "$2" "$3"
}

# run_rc OUT ERR CMD...: runs CMD, stdout/stderr to files, prints the exit code
run_rc() {
    local out=$1 err=$2; shift 2
    "$@" >"$out" 2>"$err"
    echo $?
}

for name in api-gateway error exfiltration hostile-strings; do
    rc=$(run_rc "$T_TMP/$name.txt" "$T_TMP/$name.err" "$RUNTRAIL" show "$S/$name.rtb")
    expect_eq "show $name exits 0" 0 "$rc"
    compare "show $name" "$E/show_$name.txt" "$T_TMP/$name.txt"
    rc=$(run_rc "$T_TMP/$name.jsonl" "$T_TMP/$name.err" "$RUNTRAIL" show --json "$S/$name.rtb")
    expect_eq "show --json $name exits 0" 0 "$rc"
    compare "show --json $name" "$E/show_$name.jsonl" "$T_TMP/$name.jsonl"
    check "show --json $name: every line is JSON" \
        python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T_TMP/$name.jsonl"
done

# a bundle is one zstd frame: the zstd tool opens it
check "zstd -t accepts a bundle" zstd -q -t "$S/api-gateway.rtb"
expect_eq "decompressed stream starts with the magic" "RTRB" \
    "$(zstd -q -d -c "$S/api-gateway.rtb" | head -c 4)"

# the committed samples are what the generator writes today (compared decompressed, so a
# different zstd version cannot matter): regenerate them when the format changes
if [ -x "$RT_ROOT/$BUILD/tools/gen_samples" ]; then
    "$RT_ROOT/$BUILD/tools/gen_samples" "$T_TMP/gen" >/dev/null
    same=yes
    while IFS= read -r f; do
        rel=${f#"$T_TMP/gen/"}
        if ! cmp -s <(zstd -q -d -c "$f") <(zstd -q -d -c "$S/$rel"); then
            same="no: $rel differs"
            break
        fi
    done < <(find "$T_TMP/gen" -name '*.rtb' | sort)
    expect_eq "samples/bundles match tests/tools/gen_samples" yes "$same"
    expect_eq "generator writes every committed sample" \
        "$(cd "$S" && find . -name '*.rtb' | sort)" "$(cd "$T_TMP/gen" && find . -name '*.rtb' | sort)"
fi

# standard input
"$RUNTRAIL" show - <"$S/error.rtb" | tail -n +3 >"$T_TMP/stdin.txt"
tail -n +3 "$E/show_error.txt" >"$T_TMP/stdin.want"
expect_file "show - reads standard input" "$T_TMP/stdin.want" "$T_TMP/stdin.txt"

# filters
"$RUNTRAIL" show --kind net,sec "$S/exfiltration.rtb" >"$T_TMP/net.txt" 2>&1
compare "show --kind net,sec" "$E/show_exfiltration_net.txt" "$T_TMP/net.txt"
"$RUNTRAIL" show --json --op openat "$S/exfiltration.rtb" | grep -c '"record":"event"' \
    >"$T_TMP/n_open" 2>&1
expect_eq "show --json --op openat: two events" 2 "$(cat "$T_TMP/n_open")"

# escaping: the hostile sample's escape sequences appear as text, never raw
expect_grep "escape sequence shown as \\x1b" '/tmp/\\x1b\[31mred\\x1b\[0m\.txt' \
    "$T_TMP/hostile-strings.txt"
expect_grep "bidi override shown as \\u202e" 'invoice\\u202etxt' "$T_TMP/hostile-strings.txt"
expect_grep "invalid UTF-8 shown as \\xff" 'bad-utf8-\\xff\\xfe-\\xc3\(' "$T_TMP/hostile-strings.txt"
for f in "$T_TMP"/hostile-strings.txt "$T_TMP"/hostile-strings.jsonl; do
    expect_no_grep "no raw ESC/BEL/CR in $(basename "$f")" $'[\x1b\x07\r]' "$f"
done

# usage errors
expect_exit "show without a bundle: usage error" 2 "$RUNTRAIL" show
expect_grep "usage error names the command" "^runtrail show: which bundle" "$T_TMP/last.err"
expect_exit "show --kind bogus: usage error" 2 "$RUNTRAIL" show --kind bogus "$S/error.rtb"
expect_exit "verify without paths: usage error" 2 "$RUNTRAIL" verify
expect_exit "show --help" 0 "$RUNTRAIL" show --help
expect_grep "show --help prints usage" "^usage: runtrail show BUNDLE" "$T_TMP/last.out"
expect_exit "verify --help" 0 "$RUNTRAIL" help verify
expect_grep "help verify prints usage" "^usage: runtrail verify" "$T_TMP/last.out"

# verify: the samples are intact
rc=$(run_rc "$T_TMP/v.out" "$T_TMP/v.err" "$RUNTRAIL" verify -v "$S")
expect_eq "verify samples exits 0" 0 "$rc"
compare "verify samples: stdout" "$E/show_verify_samples.out" "$T_TMP/v.out"
expect_eq "verify samples: nothing on stderr" "" "$(cat "$T_TMP/v.err")"

# corrupted copies
C=$T_TMP/corrupt
mkdir -p "$C"
# flipped byte: inside the compressed data
python3 - "$S/api-gateway.rtb" "$C/flipped.rtb" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[700] ^= 0x40
open(sys.argv[2], 'wb').write(b)
PY
# truncation
head -c 1000 "$S/api-gateway.rtb" >"$C/truncated.rtb"
# raw-stream edits, recompressed with a valid zstd checksum
zstd -q -d -c "$S/error.rtb" >"$T_TMP/error.raw"
python3 - "$T_TMP/error.raw" "$C" <<'PY'
import sys, subprocess
raw = open(sys.argv[1], 'rb').read()
out = sys.argv[2]
def save(name, data):
    open(out + '/' + name + '.raw', 'wb').write(data)
# a byte of the function name changed: the footer digest no longer matches
i = raw.index(b'orders-api'); b = bytearray(raw); b[i] = ord('O'); save('modified', bytes(b))
# the stored digest itself changed
b = bytearray(raw); b[-1] ^= 1; save('wrong-digest', bytes(b))
# bad magic
b = bytearray(raw); b[0:4] = b'XXXX'; save('bad-magic', bytes(b))
# unsupported version
b = bytearray(raw); b[4] = 3; save('version', bytes(b))  # versions 1 and 2 are read
# block 0 (META) length varint replaced by a huge one (same byte count: 2 bytes)
b = bytearray(raw); b[9] = 0xff; b[10] = 0x7f; save('length', bytes(b))
PY
for f in "$C"/*.raw; do
    zstd -q --check -19 -c "$f" >"${f%.raw}.rtb" && rm -f "$f"
done
for f in flipped truncated modified wrong-digest bad-magic version length; do
    rc=$(run_rc "$T_TMP/c.out" "$T_TMP/c.err" "$RUNTRAIL" verify "$C/$f.rtb")
    expect_eq "verify $f exits 1" 1 "$rc"
    sed "s|$C/||g" "$T_TMP/c.err" >"$T_TMP/c-$f.err"
    compare "verify $f: error" "$E/show_verify_$f.err" "$T_TMP/c-$f.err"
    rc=$(run_rc "$T_TMP/c.out" "$T_TMP/c.err" "$RUNTRAIL" show "$C/$f.rtb")
    expect_eq "show $f exits 2" 2 "$rc"
done

# a hostile file name is escaped in findings too
evil="$T_TMP/evil"$'\e[31m'"name.rtb"
cp "$C/truncated.rtb" "$evil"
"$RUNTRAIL" verify "$evil" >/dev/null 2>"$T_TMP/evil.err"
expect_grep "file name escaped in findings" 'evil\\x1b\[31mname\.rtb: bundle ends' "$T_TMP/evil.err"
expect_no_grep "no raw ESC in findings" $'\x1b' "$T_TMP/evil.err"
"$RUNTRAIL" show "$evil" >/dev/null 2>"$T_TMP/evil-show.err"
expect_no_grep "no raw ESC in show errors" $'\x1b' "$T_TMP/evil-show.err"

# a chain with a missing bundle (seq 1 deleted) and an unreadable path
cp -r "$S/chain" "$T_TMP/chain"
rm "$T_TMP"/chain/v1/fn=orders-api/dt=2025-11-26/hr=10/*-000000000002.rtb
rc=$(run_rc "$T_TMP/g.out" "$T_TMP/g.err" "$RUNTRAIL" verify "$T_TMP/chain")
expect_eq "verify chain with a gap exits 1" 1 "$rc"
sed "s|$T_TMP/||g" "$T_TMP/g.err" >"$T_TMP/gap.err"
compare "verify chain gap: finding" "$E/show_verify_gap.err" "$T_TMP/gap.err"
compare "verify chain gap: summary" "$E/show_verify_gap.out" "$T_TMP/g.out"
# modified, forked and reordered chains (made by the generator)
"$RT_ROOT/$BUILD/tools/gen_samples" --tampered "$T_TMP/t" >/dev/null
for t in modified fork reorder; do
    rc=$(run_rc "$T_TMP/t.out" "$T_TMP/t.err" "$RUNTRAIL" verify "$T_TMP/t/$t")
    expect_eq "verify $t chain exits 1" 1 "$rc"
    sed "s|$T_TMP/||g" "$T_TMP/t.err" >"$T_TMP/t-$t.err"
    compare "verify $t chain: finding" "$E/show_verify_chain_$t.err" "$T_TMP/t-$t.err"
done

rc=$(run_rc "$T_TMP/u.out" "$T_TMP/u.err" "$RUNTRAIL" verify "$T_TMP/missing.rtb" "$S/error.rtb")
expect_eq "verify of a missing file exits 2" 2 "$rc"
expect_grep "missing file named" "missing.rtb: No such file or directory" "$T_TMP/u.err"

# nothing to check is never "all intact": a missing folder and an empty one
rc=$(run_rc "$T_TMP/m.out" "$T_TMP/m.err" "$RUNTRAIL" verify "$T_TMP/no-such-dir")
expect_eq "verify of a missing folder exits 2" 2 "$rc"
expect_eq "it says nothing was checked" "verify: no bundles found: nothing was checked" \
    "$(cat "$T_TMP/m.out")"
expect_grep "and names the folder" "no-such-dir: No such file or directory" "$T_TMP/m.err"
mkdir -p "$T_TMP/empty/sub"
rc=$(run_rc "$T_TMP/e.out" "$T_TMP/e.err" "$RUNTRAIL" verify "$T_TMP/empty")
expect_eq "verify of an empty folder exits 2" 2 "$rc"
expect_eq "empty: nothing was checked" "verify: no bundles found: nothing was checked" \
    "$(cat "$T_TMP/e.out")"
expect_grep "empty: the folder is named" "empty: no \*\.rtb bundles in this folder" "$T_TMP/e.err"
rc=$(run_rc "$T_TMP/e.out" "$T_TMP/e.err" "$RUNTRAIL" verify --json "$T_TMP/empty")
expect_eq "verify --json of an empty folder exits 2" 2 "$rc"
expect_grep "its summary says nothing was checked" '"bundles":0.*"nothing_checked":true' "$T_TMP/e.out"

# link loops (ln -s . a) end: each folder is entered once, each bundle counted once
cp -r "$S/chain" "$T_TMP/loop"
d=$(dirname "$(find "$T_TMP/loop" -name '*.rtb' | head -1)")
ln -s . "$d/a"
ln -s . "$d/b"
ln -s "$T_TMP/loop" "$d/up"
rc=$(run_rc "$T_TMP/l.out" "$T_TMP/l.err" timeout 20 "$RUNTRAIL" verify "$T_TMP/loop")
expect_eq "verify of a folder with link loops ends, all intact" 0 "$rc"
expect_grep "each bundle counted once" "^verify: $(find "$T_TMP/loop" -name '*.rtb' | wc -l) bundles, 1 sandbox: all intact" \
    "$T_TMP/l.out"
rc=$(run_rc "$T_TMP/i.out" "$T_TMP/i.err" timeout 20 "$RUNTRAIL" index --cache "$T_TMP/ic" "$T_TMP/loop")
expect_eq "index of a folder with link loops ends" 0 "$rc"
expect_grep "and indexes each bundle once" "^indexed $(find "$T_TMP/loop" -name '*.rtb' | wc -l) bundles, 0 failed" \
    "$T_TMP/i.out"

finish
