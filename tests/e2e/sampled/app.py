# Python handler for tests/e2e/sampled.sh: runs the statically linked STATIC_PROBE (the
# interposer cannot enter it) with the file, port, connection count and hold time of the event.
# An event with "plant_pid" instead writes that pid into the recorder's runtime.pid, as a
# function that wants the /proc sampler to look elsewhere could.
import os
import subprocess


def handler(event, context):
    if "plant_pid" in event:
        with open(os.path.join(os.environ["RUNTRAIL_RUN_DIR"], "runtime.pid"), "w") as f:
            f.write("%d\n" % event["plant_pid"])
        return {"planted": event["plant_pid"]}
    out = subprocess.run([os.environ["STATIC_PROBE"], event["file"], str(event["port"]),
                          str(event["count"]), str(event["hold_ms"])], capture_output=True)
    return {"made": int(out.stdout or b"0")}
