# For tests/e2e/keepalive.sh: prints, for each bundle of a store, one line
#   REQUEST_ID N_SUMMARIES [FIRST_HTTP_LINE BYTES_OUT FLAGS]...
# listing the outbound summaries to DEST (in time order), FLAGS joined by "," ("-" if none).
# Usage: summaries.py RUNTRAIL STORE DEST
import json
import pathlib
import subprocess
import sys

runtrail, store, dest = sys.argv[1:4]
for path in sorted(pathlib.Path(store).rglob("*.rtb")):
    out = subprocess.run([runtrail, "show", "--json", str(path)], capture_output=True,
                         text=True, check=True).stdout
    rid, found = "?", []
    for line in out.splitlines():
        rec = json.loads(line)
        if rec.get("record") == "meta":
            rid = rec.get("request_id", "?")
        elif rec.get("op") == "outbound" and rec["args"].get("dest") == dest:
            first = (rec["args"].get("http") or "-").split("\n")[0].replace(" ", "_")
            found.append(f'{first} {rec["args"]["bytes_out"]} {",".join(rec["flags"]) or "-"}')
    print(rid, len(found), *found)
