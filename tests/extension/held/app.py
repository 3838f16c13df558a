"""Test handler (run by samples/python/bootstrap.py) for the extension's hold on event/next:
answers with the number of bundles already in the local store when the invocation starts, so
with the hold, invocation N sees the N-1 bundles of the ones before it. {"crash": true} kills
the runtime mid-invocation."""
import os


def handler(event, context):
    if event.get("crash"):
        os._exit(3)
    root = os.environ.get("RUNTRAIL_STORE", "")
    if root.startswith("file://"):
        root = root[len("file://"):]
    n = sum(1 for _, _, files in os.walk(root) for f in files if f.endswith(".rtb"))
    return {"bundles_before": n}
