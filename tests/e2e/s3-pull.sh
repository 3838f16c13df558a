#!/usr/bin/env bash
# runtrail pull against the real s3rver behind the verifying proxy: only the partitions in
# range are listed, bundles land in the cache verified and indexed, a second pull downloads
# nothing, a corrupt object is reported and not indexed while the others arrive, more than
# 1000 keys (pagination), resume after kill -9 midway, and 5xx/network faults are retried.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }
C="$T_TMP/cache"
put() { "$S3TOOL" bundles s3://bkt/pre "$@" >>"$T_TMP/put.out" 2>&1; }
# orders: 10:41, 11:41, 12:41 on 2026-11-26; billing: two days earlier; orders: a week earlier
put 3 --fn orders --start 1795689711000000000 --step 3600000000000 --rid-prefix o
put 2 --fn billing --start 1795516911000000000 --rid-prefix b
put 1 --fn orders --start 1795084911000000000 --rid-prefix old
expect_eq "fixture bundles stored" "6" "$(grep -c $'\tok$' "$T_TMP/put.out")"

# 1. a window inside one day: only that function's hour partitions are listed
: >"$PROXY_LOG"
"$RUNTRAIL" pull s3://bkt/pre --function orders --since 2026-11-26T11:00:00Z \
    --until 2026-11-26T12:59:59Z --cache "$C" >"$T_TMP/pull1.out" 2>&1
expect_grep "pulled the 2 bundles in range" "pulled 2 bundles .*2 new, 0 already present, 0 corrupt" \
    "$T_TMP/pull1.out"
grep '"method":"GET"' "$PROXY_LOG" | grep 'list-type=2' | sed 's/.*prefix=\([^"&]*\).*/\1/' \
    | sort >"$T_TMP/listed"
printf '%s\n' 'pre%2Fv1%2Ffn%3Dorders%2Fdt%3D2026-11-26%2Fhr%3D11%2F' \
    'pre%2Fv1%2Ffn%3Dorders%2Fdt%3D2026-11-26%2Fhr%3D12%2F' >"$T_TMP/want"
expect_file "only the in-range partitions were listed" "$T_TMP/want" "$T_TMP/listed"
"$RUNTRAIL" ls --cache "$C" --json | sed 's/.*"request_id":"\([^"]*\)".*/\1/' >"$T_TMP/ls1"
printf 'o-00001\no-00002\n' >"$T_TMP/want"
expect_file "ls shows exactly those invocations" "$T_TMP/want" "$T_TMP/ls1"

# 2. again: nothing downloaded
: >"$PROXY_LOG"
"$RUNTRAIL" pull s3://bkt/pre --function orders --since 2026-11-26T11:00:00Z \
    --until 2026-11-26T12:59:59Z --cache "$C" >"$T_TMP/pull2.out" 2>&1
expect_grep "second pull skips verified bundles" "0 new, 2 already present" "$T_TMP/pull2.out"
expect_eq "no object GETs the second time" "0" \
    "$(grep '"method":"GET"' "$PROXY_LOG" | grep -vc 'list-type' || true)"

# 3. days: a 2-day window lists whole days inside it and hours at the edges
: >"$PROXY_LOG"
"$RUNTRAIL" pull s3://bkt/pre --since 2026-11-24T00:00:00Z --until 2026-11-26T10:59:59Z \
    --cache "$C" >"$T_TMP/pull3.out" 2>&1
expect_grep "window pull gets billing and 10:41 orders" "pulled 3 bundles .*3 new" "$T_TMP/pull3.out"
expect_no_grep "the week-old day was not listed" 'dt%3D2026-11-19' "$PROXY_LOG"
expect_no_grep "hours after the window were not listed" 'dt%3D2026-11-26%2Fhr%3D11' "$PROXY_LOG"

# 4. dry run and request id
"$RUNTRAIL" pull s3://bkt/pre --request-id old-00000 --dry-run --cache "$C" >"$T_TMP/dry.out"
expect_grep "dry run names the key" 'fn=orders/dt=2026-11-19/hr=.*-old-00000.rtb' "$T_TMP/dry.out"
expect_grep "dry run summary" "dry run: 1 bundles" "$T_TMP/dry.out"
expect_eq "dry run indexed nothing" "5" "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"
"$S3TOOL" bundles s3://bkt/odd 1 --fn 'my fn/../x' >/dev/null 2>&1
"$RUNTRAIL" pull s3://bkt/odd --function 'my fn/../x' --dry-run --cache "$C" >"$T_TMP/odd.out"
expect_grep "--function finds the sanitised partition" 'odd/v1/fn=my_fn_.._x/dt=' "$T_TMP/odd.out"

# 5. a corrupt object is reported, not indexed; the others still arrive
head -c 300 /dev/urandom >"$T_TMP/junk"
"$S3TOOL" put bkt "pre/v1/fn=orders/dt=2026-11-20/hr=09/1795080000000000000-corrupt.rtb" \
    "$T_TMP/junk"
expect_exit "pull with a corrupt object exits 2" 2 "$RUNTRAIL" pull s3://bkt/pre --cache "$C"
cp "$T_TMP/last.out" "$T_TMP/pull5.out"
expect_grep "the corrupt object is named" 's3://bkt/pre/v1/fn=orders/dt=2026-11-20/hr=09/1795080000000000000-corrupt.rtb: ' \
    "$T_TMP/last.err"
expect_grep "the good one arrived anyway" "1 new, 5 already present, 1 corrupt" "$T_TMP/pull5.out"
expect_eq "6 invocations indexed, not the corrupt one" "6" \
    "$("$RUNTRAIL" ls --cache "$C" --json | wc -l)"
check "no corrupt file left in the cache" test ! -e \
    "$C/s3/bkt/pre/v1/fn=orders/dt=2026-11-20/hr=09/1795080000000000000-corrupt.rtb"
"$S3TOOL" delete bkt "pre/v1/fn=orders/dt=2026-11-20/hr=09/1795080000000000000-corrupt.rtb"

# 6. more than 1000 keys in one partition (pagination), with faults retried
"$S3TOOL" bundles s3://bkt/big 1100 --fn many --start 1795689711000000000 --step 1000000 \
    --events 1 >"$T_TMP/big.out" 2>&1
expect_eq "1100 bundles stored" "1100" "$(grep -c $'\tok$' "$T_TMP/big.out")"
: >"$PROXY_LOG"
s3_fault '{"mode":"503","count":3,"method":"GET"}'
"$RUNTRAIL" pull s3://bkt/big -j 16 --cache "$T_TMP/c2" >"$T_TMP/big-pull.out" 2>&1
expect_grep "all 1100 pulled through 503s" "pulled 1100 bundles .*1100 new, 0 already present, 0 corrupt, 0 failed" \
    "$T_TMP/big-pull.out"
expect_grep "listing continued with a token" 'continuation-token=' "$PROXY_LOG"
expect_eq "the injected 503s were seen" "3" "$(grep -c 'fault:503' "$PROXY_LOG")"
expect_eq "1100 invocations indexed" "1100" "$("$RUNTRAIL" ls --cache "$T_TMP/c2" --function many --json | wc -l)"

# 7. resume after kill -9 midway
s3_fault '{"mode":"slow","count":100000,"method":"GET","delay_ms":40}'
"$RUNTRAIL" pull s3://bkt/big -j 4 --cache "$T_TMP/c3" >"$T_TMP/resume1.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    n=$(find "$T_TMP/c3" -name '*.rtb' 2>/dev/null | wc -l)
    [ "$n" -ge 100 ] && break
    sleep 0.1
done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
s3_fault '{"mode":"off"}'
n1=$(find "$T_TMP/c3" -name '*.rtb' | wc -l)
check "the first pull was interrupted midway ($n1 files)" test "$n1" -ge 100 -a "$n1" -lt 1100
"$RUNTRAIL" pull s3://bkt/big -j 8 --cache "$T_TMP/c3" >"$T_TMP/resume2.out" 2>&1
expect_grep "the second pull completes" "pulled 1100 bundles .* 0 corrupt, 0 failed" "$T_TMP/resume2.out"
already=$(sed -n 's/.*new, \([0-9]*\) already present.*/\1/p' "$T_TMP/resume2.out")
check "it reused what the first one finished ($already)" test "${already:-0}" -ge 90
expect_eq "1100 indexed after resume" "1100" "$("$RUNTRAIL" ls --cache "$T_TMP/c3" --json | wc -l)"
expect_eq "no partial files left" "0" "$(find "$T_TMP/c3" -name '*.part' | wc -l)"

# 8. usage errors
expect_exit "no URL is a usage error" 2 "$RUNTRAIL" pull
expect_grep "with a hint" "Try 'runtrail pull --help'" "$T_TMP/last.err"
expect_exit "bad time is a usage error" 2 "$RUNTRAIL" pull s3://bkt/x --since yesterday
expect_eq "no signature mismatches" "0" "$(s3_mismatches)"
finish
