#!/usr/bin/env bash
# What kind of host the benchmarks run on. The recorder's costs are mostly page faults, system
# calls and process starts, and those scale with the host: the same 2-CPU guest type booted with
# `pti=on` and `tsc=unstable` charged 9.5 us per page fault where another took 2.4-2.9 us, and
# every process start and the cold start about three times as much (docs/recorder.md,
# "Thirteenth pass"). So each figure needs its host's: the clocksource (which time stamp path
# the interposer takes), the hypervisor, the kernel's boot flags that change what a kernel
# entry costs, and three costs measured here with `tests/bench/preload host` (a fresh anonymous
# page fault, a system call, a vDSO clock read; medians of 5 runs). With --line: one line,
# which tests/bench/preload.sh, invoke.sh and coldstart.sh end with.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
P="$BUILD/tests/bench/preload"
[ -x "$P" ] || make -s --no-print-directory "$P" >/dev/null || exit 1
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)
flags=$(tr ' ' '\n' </proc/cmdline 2>/dev/null |
    grep -E '^(pti|nopti|mitigations|tsc|clocksource|nosmt|spectre_v2|mds|retbleed)(=|$)' | paste -sd ' ')
# The hypervisor, as the kernel named it at boot (dmesg needs root on Debian; without it, only
# whether the CPU says it runs under one). A PVM guest (a paravirtualised one whose kernel runs
# without hardware virtualisation, as in some sandboxes) pays a hypervisor call for page table
# changes: its page faults, mmap and munmap cost several times a KVM guest's.
hv=$(dmesg 2>/dev/null | sed -n 's/.*Hypervisor detected: //p' | head -n 1)
[ -z "$hv" ] && grep -qw hypervisor /proc/cpuinfo 2>/dev/null && hv="yes (unnamed)"
hv=${hv:-none seen}
read -r _ fault sys clk < <("$P" host 2000 -)
cost="a page fault $(awk -v v="$fault" 'BEGIN {printf "%.1f", v / 1000}') us, a system call $(awk -v v="$sys" 'BEGIN {printf "%.2f", v / 1000}') us, a clock read $clk ns"
if [ "${1:-}" = --line ]; then
    echo "host: clocksource $cs; hypervisor $hv; kernel $(uname -r)${flags:+ ($flags)}; $cost"
    exit 0
fi
echo "host the benchmarks run on"
printf '  %-22s %s\n' "clocksource" "$cs" "hypervisor" "$hv" "kernel" "$(uname -r)" "boot flags" "${flags:-(none of pti, mitigations, tsc, clocksource, ...)}" \
    "CPU" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) x $(nproc)" \
    "page fault" "$(awk -v v="$fault" 'BEGIN {printf "%.1f us (a fresh anonymous page, written once)", v / 1000}')" \
    "system call" "$(awk -v v="$sys" 'BEGIN {printf "%.2f us (getppid)", v / 1000}')" \
    "clock read" "$clk ns (clock_gettime(CLOCK_MONOTONIC))"
