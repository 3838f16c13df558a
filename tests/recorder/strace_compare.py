#!/usr/bin/env python3
"""Ground truth for the interposer: compares the (operation, target) pairs `strace -f` saw
with those in a runtrail bundle for the same workload. Considered: file opens, unlinks,
renames, mkdirs and probes (the stat family, the access family, readlink, chdir) whose path is
relative (the workload's own files, not the loader's or libc's), successful execs (canonical
path), and IPv4 connects. Prints the coverage per family (`--table`), what was missed, and
exits 1 below the threshold. Usage: strace_compare.py STRACE_LOG SHOW_JSON THRESHOLD [-v]
[--table]"""
import json
import os
import re
import sys

FILE_OPS = {"open": "open", "openat": "open", "creat": "open", "unlink": "unlink",
            "unlinkat": "unlink", "rmdir": "unlink", "rename": "rename", "renameat": "rename",
            "renameat2": "rename", "mkdir": "mkdir", "mkdirat": "mkdir",
            "stat": "stat", "lstat": "stat", "newfstatat": "stat", "fstatat64": "stat",
            "statx": "stat", "access": "access", "faccessat": "access", "faccessat2": "access",
            "readlink": "readlink", "readlinkat": "readlink", "chdir": "chdir"}


def canon(p):
    return os.path.realpath(p) if p.startswith("/") else p


def strace_pairs(path):
    pending = {}
    calls = []
    for line in open(path, errors="replace"):
        m = re.match(r"^(\d+)\s+(.*)$", line.rstrip("\n"))
        if not m:
            continue
        pid, rest = m.groups()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")]
            continue
        r = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
        calls.append(rest)
    pairs = set()
    for c in calls:
        m = re.match(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)", c)
        if not m:
            continue
        name, args, res = m.group(1), m.group(2), int(m.group(3))
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
        if name in FILE_OPS and strings:
            target = strings[0]
            if target and not target.startswith("/"):
                pairs.add((FILE_OPS[name], target))
        elif name == "execve" and res == 0 and strings:
            pairs.add(("exec", canon(strings[0])))
        elif name == "connect" and "AF_INET," in args:
            port = re.search(r"htons\((\d+)\)", args)
            ip = re.search(r'inet_addr\("([\d.]+)"\)', args)
            if port and ip:
                pairs.add(("connect", f"{ip.group(1)}:{port.group(1)}"))
    return pairs


def bundle_pairs(path):
    op_map = {"openat": "open", "fopen": "open", "unlinkat": "unlink", "renameat": "rename",
              "mkdir": "mkdir", "stat": "stat", "access": "access", "readlink": "readlink",
              "chdir": "chdir"}
    pairs = set()
    for line in open(path):
        rec = json.loads(line)
        if rec.get("record") != "event":
            continue
        op, args = rec["op"], rec.get("args", {})
        if op in op_map and args.get("path", args.get("old", "")):
            target = args.get("path", args.get("old"))
            if not target.startswith("/"):
                pairs.add((op_map[op], target))
        elif op in ("execve", "posix_spawn") and rec["result"] >= 0:
            pairs.add(("exec", canon(args.get("path", ""))))
        elif op == "proc_start":
            pairs.add(("exec", canon(args.get("exe", ""))))
        elif op == "connect" and re.match(r"^[\d.]+:\d+$", args.get("addr", "")):
            pairs.add(("connect", args["addr"]))
    return pairs


truth = strace_pairs(sys.argv[1])
ours = bundle_pairs(sys.argv[2])
threshold = float(sys.argv[3])
# The top-level command is exec'd by strace/runtrail themselves, not by the workload.
missed = sorted(truth - ours)
cov = (len(truth) - len(missed)) / len(truth) if truth else 0.0
print(f"coverage {cov * 100:.1f}% of {len(truth)} (operation, target) pairs seen by strace -f")
if "--table" in sys.argv:
    print("| family | strace saw | recorded | coverage |")
    print("| --- | ---: | ---: | ---: |")
    for fam in sorted({op for op, _ in truth}):
        seen = {p for p in truth if p[0] == fam}
        got = seen & ours
        print(f"| {fam} | {len(seen)} | {len(got)} | {100.0 * len(got) / len(seen):.1f}% |")
if "-v" in sys.argv:
    for op, target in sorted(truth):
        print(f"seen: {op} {target}")
for op, target in missed:
    print(f"missed: {op} {target}")
sys.exit(0 if truth and cov >= threshold else 1)
