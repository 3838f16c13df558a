#!/usr/bin/env bash
# The arm64 (Graviton) interposer, built with Debian's cross compiler and run under
# qemu-aarch64 (user-mode emulation) by runtrail record on this machine: it loads into an arm64
# program, records into the ring, and records what the x86-64 interposer records for the same
# program (tests/recorder/progs/file_ops, net_ops and probe_ops, whose raw syscall(2) numbers
# differ between the two): the same events, arguments and results, apart from the ports the
# system picks and O_DIRECTORY's value. proc_start names the arm64 program.
. "$(dirname "$0")/../lib.sh"
X86="$RT_ROOT/$BUILD/tests/recorder"
ARM="$RT_ROOT/$BUILD/arm64/tests/recorder"
ARM_SO="$RT_ROOT/$BUILD/arm64/lib/libruntrail-preload.so"
QEMU=/usr/bin/qemu-aarch64
EVENTS="python3 $RT_ROOT/tests/recorder/events.py"
cd "$T_TMP" || exit 1
if [ ! -x "$QEMU" ] || [ ! -f "$ARM_SO" ]; then
    _notok "qemu-aarch64 and the arm64 build are here" \
        "missing $QEMU or $ARM_SO: bash scripts/deps.sh --test, then make test"
    finish
fi
check "the arm64 interposer is an aarch64 library" sh -c "readelf -h '$ARM_SO' | grep -q 'Machine: *AArch64'"

# rec TAG CMD... : records into st.TAG; the normalised events (ports and peers masked) in
# TAG.ev, the bundle's proc_start lines in TAG.start
rec() {
    local tag=$1 bundle
    shift
    timeout 120 "$RUNTRAIL" record --store "st.$tag" -- "$@" >"$tag.out" 2>"$tag.err"
    echo $? >"$tag.rc"
    bundle=$(sed -n 's/^runtrail: recorded .* to //p' "$tag.err" | tail -n 1)
    "$RUNTRAIL" show --json "$bundle" | $EVENTS >"$tag.all"
    grep '^proc_start' "$tag.all" >"$tag.start"
    grep -v '^proc_start\|^meta' "$tag.all" | sed -E 's/(127\.0\.0\.1):[0-9]+/\1:PORT/g' >"$tag.ev"
}
# arm CMD... : the same through qemu, the arm64 interposer preloaded into the emulated
# program (the x86-64 loader of qemu itself says it cannot preload it, and goes on)
arm() {
    QEMU_LD_PREFIX=/usr/aarch64-linux-gnu RUNTRAIL_PRELOAD="$ARM_SO" rec "$@"
}

mkdir w
rec x86.file "$X86/file_ops" w
rm -rf w && mkdir w
arm arm.file "$QEMU" "$ARM/file_ops" w
expect_eq "file_ops under qemu exits 0" 0 "$(cat arm.file.rc)"
check "file_ops: at least 15 events on x86-64" test "$(wc -l <x86.file.ev)" -ge 15
expect_file "file_ops: arm64 records what x86-64 records" x86.file.ev arm.file.ev
expect_grep "proc_start names the arm64 program" "\"exe\":\"$ARM/file_ops\"" arm.file.start

rec x86.net "$X86/net_ops" 1
arm arm.net "$QEMU" "$ARM/net_ops" 1
expect_eq "net_ops under qemu exits 0" 0 "$(cat arm.net.rc)"
expect_grep "net_ops: the HTTP request is seen" '^outbound 0 .*GET /items' arm.net.ev
expect_file "net_ops: arm64 records what x86-64 records" x86.net.ev arm.net.ev

# probes, their folding, and the same calls through syscall(2) by number. O_DIRECTORY is 0x4000
# on arm64 and 0x10000 on x86-64 (the flags are recorded as the program passed them; bundles
# say their architecture for show to name them). io_uring_setup: qemu 7.2 has no io_uring (an
# x86-64 kernel may refuse it too: tests/e2e/record.sh checks it), so it is left out.
mkdir probe
rec x86.probe "$X86/probe_ops" probe
rm -rf probe && mkdir probe
arm arm.probe "$QEMU" "$ARM/probe_ops" probe
expect_eq "probe_ops under qemu exits 0" 0 "$(cat arm.probe.rc)"
for t in x86 arm; do
    sed -E 's/^(kill 0 \{"pid":)[0-9]+/\1PID/; /^io_uring_setup /d' "$t.probe.ev" >"$t.probe.got"
done
sed -i 's/"flags":16384,"mode":0,"path":"\."/"flags":65536,"mode":0,"path":"."/' arm.probe.got
expect_grep "probe_ops: raw syscall(2) openat recorded" '^openat 4 \{"dirfd":-100,"flags":0,"mode":0,"path":"link"\}$' arm.probe.got
expect_grep "probe_ops: repeats folded" '^probe_repeats 0 \{"count":4\}$' arm.probe.got
expect_file "probe_ops: arm64 records what x86-64 records" x86.probe.got arm.probe.got
finish
