"""Runs one Python Lambda invocation in a fresh interpreter (the emulator's stand-in for the runtime).

Started by ``lambda_runner.py`` as ``python -u -c <this source> <result-file>`` with the function's
unzipped code directory as the working directory (so it is ``sys.path[0]``). Reads
``{"event": ..., "context": {...}}`` from stdin, imports ``$_HANDLER`` (``pkg.module.function``),
calls it, and writes one JSON document to the result file:

* ``{"ok": true, "payload": <json text>}`` on success
* ``{"ok": false, "payload": {"errorMessage", "errorType", "requestId", "stackTrace"}}`` on error
* ``{"timeout": true}`` when the function's timeout elapsed (the process then exits at once)

Standard output and standard error are the function's log. Nothing from the emulator package is
imported here on purpose: the handler sees a plain interpreter, as in Lambda.
"""

import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback

_RESULT_PATH = sys.argv[1]
_write_lock = threading.Lock()
_written = False


def _write(doc):
    global _written
    with _write_lock:
        if _written:
            return
        with open(_RESULT_PATH, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        _written = True


class LambdaContext:
    """The attributes of the AWS Lambda Python context object."""

    def __init__(self, data, deadline):
        self.function_name = data["function_name"]
        self.function_version = data.get("function_version", "$LATEST")
        self.invoked_function_arn = data["invoked_function_arn"]
        self.memory_limit_in_mb = int(data.get("memory_limit_in_mb", 128))
        self.aws_request_id = data["aws_request_id"]
        self.log_group_name = data.get("log_group_name", "/aws/lambda/" + self.function_name)
        self.log_stream_name = data.get("log_stream_name", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id):
        super().__init__()
        self.request_id = request_id

    def filter(self, record):
        record.aws_request_id = self.request_id
        return True


def _error(exc, request_id, error_type=None, message=None, with_trace=True):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != "<string>"] if with_trace else []
    trace = traceback.format_list(frames)
    return {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": trace,
    }


def main():
    request = json.load(sys.stdin)
    event = request["event"]
    ctx_data = request["context"]
    request_id = ctx_data["aws_request_id"]
    timeout = float(request["timeout"])
    deadline = time.time() + timeout

    # Lambda's Python runtime installs a handler on the root logger (level WARNING).
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(_RequestIdFilter(request_id))
    logging.getLogger().addHandler(handler)

    def _on_timeout():
        _write({"timeout": True})
        sys.stdout.flush()
        os._exit(124)

    watchdog = threading.Timer(timeout, _on_timeout)
    watchdog.daemon = True
    watchdog.start()

    handler_spec = os.environ["_HANDLER"]
    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        if not module_name:
            raise ValueError(f"Bad handler '{handler_spec}': not enough values to unpack (expected 2, got 1)")
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:  # noqa: BLE001 - reported like Lambda does
        error = _error(
            exc,
            request_id,
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
            with_trace=False,
        )
        print(f"[ERROR] Runtime.ImportModuleError: {error['errorMessage']}", file=sys.stderr)
        _write({"ok": False, "payload": error})
        return
    function = getattr(module, function_name, None)
    if function is None:
        error = {
            "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
            "errorType": "Runtime.HandlerNotFound",
            "requestId": request_id,
            "stackTrace": [],
        }
        print(f"[ERROR] Runtime.HandlerNotFound: {error['errorMessage']}", file=sys.stderr)
        _write({"ok": False, "payload": error})
        return

    context = LambdaContext(ctx_data, deadline)
    try:
        result = function(event, context)
    except Exception as exc:  # noqa: BLE001 - reported like Lambda does
        error = _error(exc, request_id)
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
        print("Traceback (most recent call last):", file=sys.stderr)
        print("".join(error["stackTrace"]), end="", file=sys.stderr)
        _write({"ok": False, "payload": error})
        return
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        _write({"ok": False, "payload": error})
        return
    _write({"ok": True, "payload": payload})


if __name__ == "__main__":
    try:
        main()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # Do not wait for non-daemon threads the handler may have left behind (Lambda freezes them).
        os._exit(0)
