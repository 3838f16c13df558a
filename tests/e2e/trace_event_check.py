#!/usr/bin/env python3
"""Checks a Chrome/Perfetto trace-event JSON file against the format's documented fields
(Trace Event Format, "JSON Object Format"), as tests/e2e/export.sh uses it:
  - the document is an object with a "traceEvents" list (and optional displayTimeUnit,
    otherData); every event an object with "ph", "name" (string), "pid" and "tid" (integers);
  - "ts" a number (microseconds) on every event but metadata; "cat" a string and "args" an
    object when present;
  - complete events ("X") have a "dur" >= 0; instant events ("i"/"I") a scope "s" of t, p, g;
  - duration events ("B"/"E") balance per thread, in order, with matching names;
  - metadata events ("M") are process_name, process_labels, process_sort_index, thread_name
    or thread_sort_index with the argument that event takes;
  - complete slices on one thread nest (a slice that starts inside another ends inside it),
    which is what viewers need to draw them.
Prints one line per problem and exits 1 when there is any; with --summary FILE writes what
the trace holds as JSON (per process: name, labels, slices by thread, instants) for content
assertions."""
import json
import sys
from collections import defaultdict

META_ARGS = {
    "process_name": "name",
    "process_labels": "labels",
    "process_sort_index": "sort_index",
    "thread_name": "name",
    "thread_sort_index": "sort_index",
}


def check(doc):
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["the document is not an object with a traceEvents list"], {}
    if "displayTimeUnit" in doc and doc["displayTimeUnit"] not in ("ms", "ns"):
        problems.append("displayTimeUnit is neither ms nor ns")
    stacks = defaultdict(list)
    slices = defaultdict(list)
    procs = defaultdict(lambda: {"name": None, "labels": None, "slices": [], "instants": [],
                                 "threads": {}})
    for n, e in enumerate(doc["traceEvents"]):
        where = "event %d" % n

        def bad(msg):
            problems.append("%s: %s: %s" % (where, msg, json.dumps(e)[:200]))

        if not isinstance(e, dict):
            bad("not an object")
            continue
        ph = e.get("ph")
        if not isinstance(e.get("name"), str):
            bad("no name string")
        for k in ("pid", "tid"):
            if not isinstance(e.get(k), int) or isinstance(e.get(k), bool):
                bad("%s is not an integer" % k)
        if "cat" in e and not isinstance(e["cat"], str):
            bad("cat is not a string")
        if "args" in e and not isinstance(e["args"], dict):
            bad("args is not an object")
        if ph != "M" and not isinstance(e.get("ts"), (int, float)):
            bad("ts is not a number")
        p = procs[e.get("pid")]
        if ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                bad("complete event without a dur >= 0")
                continue
            slices[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], e["name"]))
            p["slices"].append({"name": e["name"], "cat": e.get("cat"), "tid": e["tid"],
                                "ts": e["ts"], "end": e["ts"] + e["dur"], "args": e.get("args", {})})
        elif ph in ("i", "I"):
            if e.get("s", "t") not in ("t", "p", "g"):
                bad("instant event with scope %r" % e.get("s"))
            p["instants"].append({"name": e["name"], "cat": e.get("cat"), "tid": e["tid"],
                                  "ts": e["ts"]})
        elif ph == "B":
            stacks[(e["pid"], e["tid"])].append(e)
        elif ph == "E":
            st = stacks[(e["pid"], e["tid"])]
            if not st:
                bad("E without a B")
            else:
                b = st.pop()
                if e["ts"] < b["ts"]:
                    bad("E before its B")
        elif ph == "M":
            want = META_ARGS.get(e.get("name"))
            if not want or want not in e.get("args", {}):
                bad("metadata event without its argument")
                continue
            v = e["args"][want]
            if e["name"] == "process_name":
                p["name"] = v
            elif e["name"] == "process_labels":
                p["labels"] = v
            elif e["name"] == "thread_name":
                p["threads"][str(e["tid"])] = v
        else:
            bad("unknown phase %r" % ph)
    for k, st in stacks.items():
        if st:
            problems.append("pid %s tid %s: %d B without E" % (k[0], k[1], len(st)))
    eps = 1e-6
    for k, v in slices.items():
        v.sort(key=lambda s: (s[0], -s[1]))
        open_ = []
        for s, e, name in v:
            while open_ and open_[-1][1] <= s + eps:
                open_.pop()
            if open_ and e > open_[-1][1] + eps:
                problems.append("pid %s tid %s: %s [%s, %s] overlaps %s [%s, %s] without nesting"
                                % (k[0], k[1], name, s, e, open_[-1][2], open_[-1][0],
                                   open_[-1][1]))
            open_.append((s, e, name))
    return problems, {str(k): v for k, v in procs.items()}


def main():
    args = sys.argv[1:]
    summary = None
    if len(args) == 3 and args[1] == "--summary":
        summary = args[2]
    elif len(args) != 1:
        print("usage: trace_event_check.py TRACE.json [--summary OUT.json]", file=sys.stderr)
        return 2
    try:
        doc = json.load(open(args[0]))
    except ValueError as e:
        print("%s: not JSON: %s" % (args[0], e))
        return 1
    problems, procs = check(doc)
    for p in problems:
        print(p)
    if summary:
        json.dump(procs, open(summary, "w"), indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
