#!/usr/bin/env python3
"""A minimal Lambda runtime for Python handlers, standard library only: the Runtime API loop
(GET /invocation/next, POST /response or /error) with urllib against AWS_LAMBDA_RUNTIME_API.
_HANDLER is "module.function", loaded from LAMBDA_TASK_ROOT. Init failures are reported to
/runtime/init/error, handler exceptions to /invocation/{id}/error as Lambda's error JSON."""
import importlib
import json
import os
import sys
import traceback
import urllib.request

API = "http://%s/2018-06-01/runtime" % os.environ["AWS_LAMBDA_RUNTIME_API"]


def post(path, body, headers=None):
    req = urllib.request.Request(API + path, data=body, method="POST", headers=headers or {})
    with urllib.request.urlopen(req) as r:
        r.read()


def error_doc(exc):
    return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__,
                       "stackTrace": traceback.format_tb(exc.__traceback__)},
                      separators=(",", ":")).encode()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")


def main():
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    try:
        module_name, func_name = os.environ["_HANDLER"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:  # noqa: BLE001 - any init failure is reported to Lambda
        post("/init/error", error_doc(exc), {"Lambda-Runtime-Function-Error-Type":
                                             "Runtime.ImportModuleError"})
        return 1
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as r:
            headers = r.headers
            event = json.loads(r.read() or b"{}")
        context = Context(headers)
        request_id = context.aws_request_id
        try:
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - the handler's errors go to Lambda
            post("/invocation/%s/error" % request_id, error_doc(exc),
                 {"Lambda-Runtime-Function-Error-Type": type(exc).__name__})
            continue
        post("/invocation/%s/response" % request_id,
             json.dumps(result, separators=(",", ":")).encode())


if __name__ == "__main__":
    sys.exit(main())
