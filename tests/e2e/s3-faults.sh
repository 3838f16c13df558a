#!/usr/bin/env bash
# The recorder's upload path under faults, against s3rver behind the verifying proxy:
# 500/503/SlowDown/slow/connection drops are retried and leave exactly one object per bundle;
# a store that is down for N bundles spools them and flush delivers all N once it is back;
# past the spool cap the oldest are dropped and counted.
source "$(dirname "$0")/../lib.sh"
source "$RT_ROOT/tests/store/s3env.sh"
s3_start || { _notok "s3rver starts"; finish; exit; }
count_keys() { "$S3TOOL" list bkt "$1" | wc -l; }

for mode in 500 503 slowdown down; do
    : >"$PROXY_LOG"
    s3_fault "{\"mode\":\"$mode\",\"count\":2,\"method\":\"PUT\"}"
    "$S3TOOL" bundles "s3://bkt/f-$mode" 3 --fn faulty >"$T_TMP/$mode.out" 2>&1
    expect_eq "$mode x2: all 3 puts succeed" "3" "$(grep -c $'\tok$' "$T_TMP/$mode.out")"
    expect_eq "$mode x2: the faults were hit" "2" "$(grep -c "fault:$mode" "$PROXY_LOG")"
    expect_eq "$mode x2: exactly 3 objects, no duplicates" "3" "$(count_keys "f-$mode/")"
done

# slow: the first attempt times out (2.5 s of a 5 s budget), the retry succeeds; still one
# object per key
s3_fault '{"mode":"slow","count":1,"method":"PUT","delay_ms":3500}'
"$S3TOOL" bundles s3://bkt/f-slow 2 --fn faulty --timeout 5000 >"$T_TMP/slow.out" 2>&1
expect_eq "slow: both puts succeed" "2" "$(grep -c $'\tok$' "$T_TMP/slow.out")"
sleep 1.5 # let the delayed first attempt reach s3rver too
expect_eq "slow: exactly 2 objects" "2" "$(count_keys f-slow/)"
s3_fault '{"mode":"off"}'

# a store that stays down: bounded by the timeout, spooled, delivered later
SP="$T_TMP/spool"
DEAD=$(free_port)
start=$(date +%s%N)
AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" "$S3TOOL" bundles s3://bkt/sp 5 --fn spooly \
    --spool "$SP" --timeout 1000 >"$T_TMP/down.out" 2>&1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "store down: all 5 spooled" "5" "$(grep -c $'\tSTORE_SPOOLED$' "$T_TMP/down.out")"
expect_grep "counted as failures and spooled" "counters store_failures=5 spool_dropped=0 spooled=5" "$T_TMP/down.out"
check "each put gave up within its time budget ($ms ms for 5)" test "$ms" -lt 12000
expect_eq "nothing reached the store" "0" "$(count_keys sp/)"
"$S3TOOL" flush s3://bkt/sp "$SP" >"$T_TMP/flush.out" 2>&1
expect_grep "flush delivers all 5" "delivered 5 spooled 0" "$T_TMP/flush.out"
expect_eq "all 5 under their keys" "5" "$(count_keys sp/v1/fn=spooly/)"
expect_eq "spool empty" "0" "$(find "$SP" -type f | wc -l)"

# down only for 3 requests (connection drops): the rest goes through, flush gets the spooled
s3_fault '{"mode":"down","count":100,"method":"PUT"}'
"$S3TOOL" bundles s3://bkt/sp2 4 --fn spooly --spool "$SP" --timeout 2000 >"$T_TMP/d2.out" 2>&1
s3_fault '{"mode":"off"}'
expect_eq "proxy drops: all 4 spooled" "4" "$(grep -c $'\tSTORE_SPOOLED$' "$T_TMP/d2.out")"
"$S3TOOL" flush s3://bkt/sp2 "$SP" >"$T_TMP/flush2.out" 2>&1
expect_grep "back: flush delivers 4" "delivered 4 spooled 0" "$T_TMP/flush2.out"
expect_eq "4 objects, no duplicates" "4" "$(count_keys sp2/)"

# spool cap: 6 bundles of ~400 bytes into a 1000-byte spool: the oldest are dropped and counted
AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" "$S3TOOL" bundles s3://bkt/cap 6 --fn capped \
    --events 40 --spool "$SP" --spool-max 1000 --timeout 500 >"$T_TMP/cap.out" 2>&1
dropped=$(sed -n 's/.*spool_dropped=\([0-9]*\).*/\1/p' "$T_TMP/cap.out")
kept=$(sed -n 's/.*spooled=\([0-9]*\)$/\1/p' "$T_TMP/cap.out")
check "some dropped past the cap ($dropped)" test "${dropped:-0}" -ge 1
expect_eq "dropped + kept = 6" "6" "$((dropped + kept))"
"$S3TOOL" flush s3://bkt/cap "$SP" >/dev/null 2>&1
"$S3TOOL" list bkt cap/ | sed 's/.*-\(req-[0-9]*\)\.rtb.*/\1/' >"$T_TMP/cap.kept"
seq -f 'req-%05g' $((6 - kept)) 5 >"$T_TMP/cap.want"
expect_file "the newest $kept survived, the oldest were dropped" "$T_TMP/cap.want" "$T_TMP/cap.kept"
expect_eq "no signature mismatches" "0" "$(s3_mismatches)"
finish
