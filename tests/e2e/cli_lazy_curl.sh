#!/usr/bin/env bash
# The runtrail program loads libcurl at its first call (recorder/extension/curl_lazy.c, as the
# extension does): it does not link it, so a command that never talks to S3 or AWS does not
# load its thirty libraries at every start; one that does loads it then. Where libcurl cannot
# be loaded (a mount namespace with /dev/null over it), the commands that need no network
# work as before, and pull says why it cannot, once.
source "$(dirname "$0")/../lib.sh"
S="$RT_ROOT/samples/bundles"
C="$T_TMP/cache"

expect_eq "runtrail does not link libcurl (readelf -d NEEDED)" 0 \
    "$(readelf -d "$RUNTRAIL" | grep NEEDED | grep -c 'libcurl')"

# Offline S3 settings: every request goes to a closed loopback port.
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:9 AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
    AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1
expect_exit "with libcurl: pull loads it and reaches the network (connection refused)" 2 \
    "$RUNTRAIL" pull s3://bucket/prefix --cache "$T_TMP/pull1"
expect_grep "... said as a network error from libcurl" "cannot reach S3 .*Failed to connect to 127.0.0.1 port 9" \
    "$T_TMP/last.err"

LIBCURL=$(readlink -f "$(${CC:-cc} -print-file-name=libcurl.so.4)")
if [ -f "$LIBCURL" ] && unshare -m sh -c "mount --bind /dev/null '$LIBCURL'" 2>/dev/null; then
    # nocurl CMD...: CMD with /dev/null over libcurl, in a mount namespace of its own
    nocurl() { unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$LIBCURL" "$@"; }
    expect_exit "no libcurl: index of the sample bundles" 0 nocurl "$RUNTRAIL" index --cache "$C" "$S"
    expect_grep "... every bundle indexed" "^indexed [1-9][0-9]* bundles, 0 failed" "$T_TMP/last.out"
    expect_exit "no libcurl: ls lists them" 0 nocurl "$RUNTRAIL" ls --cache "$C" --status error
    expect_grep "... the error invocation" "9b2d4e61-0c3a-4f58-8e17-2a6c9d0b3f44" "$T_TMP/last.out"
    expect_exit "no libcurl: verify" 0 nocurl "$RUNTRAIL" verify "$S/exfiltration.rtb"
    expect_exit "no libcurl: show" 0 nocurl "$RUNTRAIL" show "$S/exfiltration.rtb"
    expect_eq "... and nothing on stderr (libcurl was never asked for)" 0 "$(wc -c <"$T_TMP/last.err")"
    expect_exit "no libcurl: pull fails (exit 2)" 2 nocurl "$RUNTRAIL" pull s3://bucket/prefix \
        --cache "$T_TMP/pull2"
    expect_eq "... and says why, once" 1 \
        "$(grep -c 'runtrail: cannot load libcurl.so.4 .*: pull, S3 stores' "$T_TMP/last.err")"
    expect_grep "... and the pull's own error names libcurl, not the network" \
        "s3://bucket/prefix: libcurl could not be loaded or started \\(Debian: apt-get install libcurl4\\)" \
        "$T_TMP/last.err"
else
    echo "# the cases without libcurl are skipped: they need a mount namespace (root)"
fi
finish
