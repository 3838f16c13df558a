# Python handler for tests/e2e/sampled.sh: runs the statically linked STATIC_PROBE (the
# interposer cannot enter it) with the file, port, connection count and hold time of the event.
# An event with "plant_pid" instead writes that pid into the recorder's runtime.pid, as a
# function that wants the /proc sampler to look elsewhere could; one with "clean_env" runs a
# dynamic program (Python) with an empty environment, so without the interposer.
import os
import subprocess
import sys
import time

# A dynamic child that holds a file and a connection open for a while (clean_env events).
HOLDER = ("import socket, sys, time\n"
          "f = open(sys.argv[1])\n"
          "s = socket.create_connection(('127.0.0.1', int(sys.argv[2])))\n"
          "s.send(b'x')\n"
          "time.sleep(int(sys.argv[3]) / 1000)\n"
          "print(1)\n")


def handler(event, context):
    if "plant_pid" in event:
        with open(os.path.join(os.environ["RUNTRAIL_RUN_DIR"], "runtime.pid"), "w") as f:
            f.write("%d\n" % event["plant_pid"])
        return {"planted": event["plant_pid"]}
    if event.get("late_exec"):
        # The same, but the child lingers before its exec: a sample then sees the runtime's
        # own program with the runtime's environment (the interposer in it), and the exec
        # keeps that program's path.
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.dup2(w, 1)
            time.sleep(event["late_exec"] / 1000)
            os.execve(sys.executable, [sys.executable, "-c", HOLDER, event["file"],
                                       str(event["port"]), str(event["hold_ms"])], {})
        os.close(w)
        made = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            made += chunk
        os.close(r)
        os.waitpid(pid, 0)
        return {"made": int(made or b"0")}
    if event.get("clean_env"):
        out = subprocess.run([sys.executable, "-c", HOLDER, event["file"], str(event["port"]),
                              str(event["hold_ms"])], capture_output=True, env={})
        return {"made": int(out.stdout or b"0")}
    out = subprocess.run([os.environ["STATIC_PROBE"], event["file"], str(event["port"]),
                          str(event["count"]), str(event["hold_ms"])], capture_output=True)
    return {"made": int(out.stdout or b"0")}
