#!/usr/bin/env bash
# runtrail pull against a hostile bucket (a compromised function can write any key under its
# prefix): s3rver behind the verifying proxy, which can also list keys s3rver cannot store
# (".." segments) and serve objects larger than they were listed. One bad key is reported,
# escaped, and skipped while every other bundle is pulled; nothing is written outside the
# cache, a planted file outside is untouched, a link in the cache is not followed; keys are
# fetched exactly as listed; an object over the size limit is not read past the limit.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }
C="$T_TMP/cache"
OUT="$T_TMP/outside"
mkdir -p "$OUT"
hostile() { curl -s -m 5 -X POST --data "$1" "http://127.0.0.1:$PROXY_PORT/__hostile" >/dev/null; }
"$S3TOOL" bundles s3://bkt/pre 3 --fn good --start 1795689711000000000 --rid-prefix g \
    >"$T_TMP/put.out" 2>&1
"$S3TOOL" bundles s3://bkt/pre 1 --fn other --start 1795689711000000000 --rid-prefix o \
    >>"$T_TMP/put.out" 2>&1
expect_eq "fixture bundles stored" "4" "$(grep -c $'\tok$' "$T_TMP/put.out")"
good=$(find "$S3_DIR" -name '*g-00000.rtb._S3rver_object' | head -1)

# 1. a key with a control character, written by AWS's own SDK straight into s3rver (which
#    ignores encoding-type=url and lists it as &#27;): skipped, escaped, the rest pulled
ESCKEY=$'pre/v1/fn=good/dt=2026-11-26/hr=10/1795689711900000000-evil\x1b[2J.rtb'
node "$RT_ROOT/tests/store/sdk-put.js" "http://127.0.0.1:$S3_PORT" bkt "$ESCKEY" "$good" \
    >"$T_TMP/sdk.out" 2>&1
expect_grep "the SDK stored the key with ESC" "^stored" "$T_TMP/sdk.out"
expect_exit "pull with a bad key exits 2" 2 "$RUNTRAIL" pull s3://bkt/pre --cache "$C"
expect_grep "every good bundle was pulled" \
    "pulled 4 bundles .*4 new, 0 already present, 0 corrupt, 0 failed, 1 bad keys skipped" \
    "$T_TMP/last.out"
expect_grep "the bad key is named, with the reason" \
    'runtrail: s3://bkt/pre/v1/fn=good/dt=2026-11-26/hr=10/1795689711900000000-evil.*\[2J\.rtb: key does not match the store layout \(non-ASCII byte 0xef at offset 59 \(a character the listing could not carry is shown as U\+FFFD\)\)' \
    "$T_TMP/last.err"
expect_eq "no raw control character reached the terminal" "0" \
    "$(tr -d '\n' <"$T_TMP/last.err" | tr -cd '\000-\037' | wc -c)"
expect_eq "4 invocations indexed" "4" "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"

# 2. the same key listed by an S3 that honours encoding-type=url (%1B): decoded, named as a
#    control character, shown escaped
KEY2=$'pre/v1/fn=other/dt=2026-11-26/hr=10/1795689711900000000-esc\x1b]0;pwn\x07.rtb'
hostile "$(jq -nc --arg k "$KEY2" --arg f "$good" '{objects:[{key:$k,size:300,file:$f}]}')"
expect_exit "pull with an encoded bad key exits 2" 2 "$RUNTRAIL" pull s3://bkt/pre \
    --function other --cache "$C"
expect_grep "the encoded key is decoded and escaped" \
    'fn=other/dt=2026-11-26/hr=10/1795689711900000000-esc\\x1b\]0;pwn\\x07\.rtb: key does not match the store layout \(control character 0x1b at offset 59\)' \
    "$T_TMP/last.err"
expect_grep "the other function's bundle is still there" "0 new, 1 already present.* 1 bad keys" \
    "$T_TMP/last.out"
expect_eq "no raw control character in that message either" "0" \
    "$(tr -d '\n' <"$T_TMP/last.err" | tr -cd '\000-\037' | wc -c)"

# 3. path traversal: ".." and "." segments, a key aimed at a planted file outside the cache
#    (with a corrupt body), and a link planted in the cache where a folder should be
UP="../../../../../../../.."   # from .../hr=10/ up to $T_TMP
printf 'planted\n' >"$OUT/1795689711000000000-planted.rtb"
head -c 300 /dev/urandom >"$T_TMP/junk"
mkdir -p "$C/s3/bkt/pre/v1"
ln -s "$OUT" "$C/s3/bkt/pre/v1/fn=linked"
jq -nc --arg up "$UP" --arg junk "$T_TMP/junk" --arg good "$good" '{objects:[
  {key:("pre/v1/fn=evil/dt=2026-11-26/hr=10/" + $up + "/outside/x/1795689711000000000-a.rtb"),
   size:300, file:$good},
  {key:("pre/v1/fn=evil/dt=2026-11-26/hr=10/" + $up + "/outside/1795689711000000000-planted.rtb"),
   size:300, file:$junk},
  {key:"pre/v1/fn=evil/dt=2026-11-26/hr=10/./1795689711000000001-b.rtb", size:300, file:$good},
  {key:"pre/v1/fn=linked/dt=2026-11-26/hr=10/1795689711000000002-c.rtb", size:300, file:$good}
]}' >"$T_TMP/hostile.json"
hostile "$(cat "$T_TMP/hostile.json")"
: >"$PROXY_LOG"
expect_exit "pull with traversal keys exits 2" 2 "$RUNTRAIL" pull s3://bkt/pre --cache "$C"
expect_eq "the three traversal keys were skipped" "3" \
    "$(grep -c 'fn=evil/.*key does not match the store layout' "$T_TMP/last.err")"
expect_grep "the link in the cache was not followed" \
    'fn=linked/dt=2026-11-26/hr=10/1795689711000000002-c.rtb: .*(Too many levels of symbolic links|Not a directory)' \
    "$T_TMP/last.err"
expect_grep "the summary counts them (and the ESC key of 1.)" \
    "0 new, 4 already present, 0 corrupt, 1 failed, 4 bad keys" \
    "$T_TMP/last.out"
expect_eq "nothing was created outside the cache" "1795689711000000000-planted.rtb" \
    "$(cd "$OUT" && find . -mindepth 1 -printf '%P\n')"
expect_eq "the planted file is untouched" "planted" "$(cat "$OUT/1795689711000000000-planted.rtb")"
expect_eq "no rejected key was even requested" "0" "$(grep -c '"hostile":true' "$PROXY_LOG")"
check "the link is still a link" test -L "$C/s3/bkt/pre/v1/fn=linked"

# 4. a key is fetched exactly as listed (CURLOPT_PATH_AS_IS), never with its dots folded
hostile "$(jq -nc --arg f "$good" '{objects:[{key:"pre/a/../b.rtb",size:300,file:$f}]}')"
: >"$PROXY_LOG"
"$S3TOOL" get bkt 'pre/a/../b.rtb' "$T_TMP/dots.rtb" >"$T_TMP/get.out" 2>&1
check "the dotted key's own object came back" cmp -s "$good" "$T_TMP/dots.rtb"
expect_grep "the path went out unfolded" '"path":"/bkt/pre/a/../b.rtb".*"hostile":true' "$PROXY_LOG"

# 5. size: an object listed at 1 GiB is not requested; one listed small that streams 1 GiB is
#    cut at --max-size
hostile '{"objects":[
  {"key":"pre/v1/fn=big/dt=2026-11-26/hr=10/1795689711000000000-huge.rtb","size":1073741824,"stream_bytes":1073741824},
  {"key":"pre/v1/fn=big/dt=2026-11-26/hr=10/1795689711000000001-liar.rtb","size":1000,"stream_bytes":1073741824}]}'
: >"$PROXY_LOG"
expect_exit "pull of oversized objects exits 2" 2 "$RUNTRAIL" pull s3://bkt/pre --function big \
    --max-size 1M --cache "$C"
expect_grep "the listed size is refused before any download" \
    '1795689711000000000-huge.rtb: .*listed at 1073741824 bytes, over the 1048576-byte limit' \
    "$T_TMP/last.err"
expect_grep "the lying object is stopped at the limit" \
    '1795689711000000001-liar.rtb: .*larger than 1048576 bytes; stopped reading there' "$T_TMP/last.err"
expect_eq "the 1 GiB object was never requested" "0" "$(grep -c 'huge.rtb' "$PROXY_LOG")"
sent=$(grep 'liar.rtb' "$PROXY_LOG" | sed -n 's/.*"bytes_sent":\([0-9]*\).*/\1/p' | tail -1)
check "far less than 1 GiB left the server (${sent:-?} bytes)" test "${sent:-1073741824}" -lt 67108864
expect_eq "no partial or oversized file left" "0" \
    "$(find "$C/s3/bkt/pre/v1/fn=big" -type f 2>/dev/null | wc -l)"
expect_exit "--max-size over 256M is a usage error" 2 "$RUNTRAIL" pull s3://bkt/pre --max-size 257M
expect_exit "pull --help" 0 "$RUNTRAIL" pull --help
expect_grep "documents --max-size" "^  --max-size N  .*skip objects larger than N bytes" "$T_TMP/last.out"
hostile '{"objects":[]}'

# 6. a catalog that cannot commit (here: a file size limit, as on a full disk) is an error,
#    and the summary counts what the catalog holds, not what was downloaded
"$S3TOOL" bundles s3://bkt/full 11 --fn many --start 1795689711000000000 --rid-prefix f \
    >"$T_TMP/full.out" 2>&1
expect_eq "11 more bundles stored" "11" "$(grep -c $'\tok$' "$T_TMP/full.out")"
before=$("$RUNTRAIL" ls --cache "$C" --json | wc -l)
wal=$(stat -c %s "$C/catalog.sqlite-wal")
check "the catalog's WAL is past the limit set below ($wal bytes)" test "$wal" -gt 40960
(trap '' XFSZ; ulimit -f 40; exec "$RUNTRAIL" pull s3://bkt/full --cache "$C") \
    >"$T_TMP/full-pull.out" 2>"$T_TMP/full-pull.err"
expect_eq "a pull whose commit fails exits 2" 2 $?
expect_grep "the catalog is named with the reason" "catalog.sqlite: catalog \(SQLite\) error \(commit: " \
    "$T_TMP/full-pull.err"
expect_grep "nothing counted as new" "pulled 11 bundles .*: 0 new, 0 already present, 0 corrupt, 11 failed" \
    "$T_TMP/full-pull.out"
expect_eq "the catalog holds what it held" "$before" "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"
"$RUNTRAIL" pull s3://bkt/full --cache "$C" >"$T_TMP/full-pull2.out" 2>&1
expect_grep "once the disk has room, the same pull indexes them" \
    "pulled 11 bundles .*: 0 new, 11 already present, 0 corrupt, 0 failed" "$T_TMP/full-pull2.out"
expect_eq "11 more rows" "$((before + 11))" "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"
expect_eq "no signature mismatches" "0" "$(s3_mismatches)"
finish
