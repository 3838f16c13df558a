#!/usr/bin/env python3
"""Normalises `runtrail show --json` output for the recorder e2e tests: one line per event,
`op result {args} [flags]` with pids, times and durations left out (they vary run to run),
plus `meta key=value` lines for the fields the tests assert. Usage: events.py [--pids] < json"""
import json
import signal
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)
pids = "--pids" in sys.argv
for line in sys.stdin:
    rec = json.loads(line)
    if rec.get("record") == "meta":
        for key in ("function", "command", "exit_status", "status"):
            print(f"meta {key}={rec.get(key)}")
        print("meta coverage=" + ",".join(rec.get("coverage", [])))
        for k, v in sorted(rec.get("counters", {}).items()):
            print(f"meta counter {k}={v}")
        continue
    if rec.get("record") != "event":
        continue
    args = json.dumps(rec.get("args", {}), sort_keys=True, separators=(",", ":"))
    flags = ",".join(rec.get("flags", []))
    prefix = f"{rec['pid']} " if pids else ""
    print(f"{prefix}{rec['op']} {rec['result']} {args}" + (f" [{flags}]" if flags else ""))
