# Python handler for tests/e2e/sampled.sh: runs the statically linked STATIC_PROBE (the
# interposer cannot enter it) with the file, port, connection count and hold time of the event.
import os
import subprocess


def handler(event, context):
    out = subprocess.run([os.environ["STATIC_PROBE"], event["file"], str(event["port"]),
                          str(event["count"]), str(event["hold_ms"])], capture_output=True)
    return {"made": int(out.stdout or b"0")}
