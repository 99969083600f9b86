"""Gap 1 - run Lambda code without Docker.

Replaces ``moto.awslambda.models.LambdaFunction.invoke``. ``lambda.use_docker`` stays at its
default so every caller reaches this method: the Invoke API, Step Functions ``lambda:invoke``
tasks, CloudFormation custom resources and EventBridge targets (``patch_events``).

Python functions run in a subprocess of ``sys.executable`` (see ``_lambda_bootstrap.py``) with the
unzipped deployment package (plus its layers' ``python/`` directories) on ``sys.path``, the
function's environment, and the variables the Lambda runtime sets, with ``AWS_ENDPOINT_URL``
pointing at the emulator so the handler's boto3 calls reach it, and (unless the function sets it
itself) ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`` pointing at the emulator's SIMULATED MLflow tracking
server (``control.MLFLOW_SERVER_ROUTE``; the sagemaker-mlflow plugin sends its requests there).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.control import MLFLOW_SERVER_ROUTE, ROUTE_PREFIX
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME, SIMULATED

_BOOTSTRAP_SOURCE = (Path(__file__).with_name("_lambda_bootstrap.py")).read_text(encoding="utf-8")
#: Extra seconds the parent allows on top of the function timeout (interpreter start, imports).
_STARTUP_ALLOWANCE = 15.0
_unzip_lock = threading.Lock()

_patching.require(
    "moto.awslambda.models:LambdaFunction.invoke",
    "body",
    "request_headers",
    "response_headers",
    why="replaced by the subprocess runner",
)
_patching.require("moto.awslambda.models:LambdaFunction.save_logs", "output")
_patching.require("moto.awslambda.models:LambdaBackend.layers_versions_by_arn")
_patching.require("moto.awslambda.utils:get_backend", "account_id", "region")


def _header(headers: Any, name: str, default: str | None = None) -> str | None:
    if not headers:
        return default
    try:
        value = headers.get(name)
        if value is None:
            # werkzeug headers are case-insensitive; plain dicts are not.
            for key in list(headers.keys()):
                if str(key).lower() == name.lower():
                    value = headers[key]
                    break
    except AttributeError:
        return default
    return default if value is None else str(value)


def _cache_root() -> Path:
    with RUNTIME.lock:
        if RUNTIME.lambda_cache_dir is None:
            RUNTIME.lambda_cache_dir = tempfile.mkdtemp(prefix="finetune-emulator-lambda-")
        return Path(RUNTIME.lambda_cache_dir)


def _unzip(code_bytes: bytes, label: str) -> Path:
    digest = hashlib.sha256(code_bytes).hexdigest()[:20]
    target = _cache_root() / f"{label}-{digest}"
    with _unzip_lock:
        if not target.exists():
            tmp = Path(tempfile.mkdtemp(dir=_cache_root(), prefix=".unzip-"))
            with zipfile.ZipFile(io.BytesIO(code_bytes)) as zf:
                zf.extractall(tmp)
            tmp.rename(target)
    return target


def _layer_paths(fn: Any) -> list[str]:
    paths: list[str] = []
    if not getattr(fn, "layers", None):
        return paths
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    for layer in fn.layers:
        try:
            version = backend.layers_versions_by_arn(layer["Arn"])
            code = getattr(version, "code_bytes", b"")
        except Exception:  # noqa: BLE001 - an unknown layer is reported, not fatal
            LOG.warning("%s: layer %s of %s not found; skipped", SIMULATED, layer.get("Arn"), fn.function_name)
            continue
        if not code:
            continue
        root = _unzip(code, "layer")
        pyver = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for candidate in (root / "python", root / "python" / "lib" / pyver / "site-packages"):
            if candidate.is_dir():
                paths.append(str(candidate))
    return paths


def _is_python(fn: Any) -> bool:
    return str(getattr(fn, "run_time", "") or "").startswith("python") and getattr(fn, "package_type", "Zip") == "Zip"


def _error_payload(message: str, error_type: str, request_id: str) -> bytes:
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}
    ).encode()


def run_function(fn: Any, event: Any, request_id: str | None = None) -> tuple[bytes, bool, str]:
    """Run ``fn`` with ``event`` (a JSON-compatible value). Returns (payload, errored, log text)."""
    request_id = request_id or str(uuid.uuid4())
    name = fn.function_name
    RUNTIME.bump("lambda_invocations")
    if not _is_python(fn):
        msg = (
            f"{SIMULATED}: the offline emulator runs Python zip functions only; "
            f"{name} has runtime {fn.run_time!r} / package type {getattr(fn, 'package_type', None)!r}"
        )
        LOG.warning(msg)
        return _error_payload(msg, "Runtime.SimulatedUnsupportedRuntime", request_id), True, msg
    if not getattr(fn, "code_bytes", b""):
        msg = f"{SIMULATED}: function {name} has no deployment package in the emulator"
        return _error_payload(msg, "Runtime.SimulatedNoCode", request_id), True, msg

    code_dir = _unzip(fn.code_bytes, "fn-" + "".join(c if c.isalnum() else "-" for c in name)[:60])
    timeout = float(fn.timeout or 3)
    log_stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[$LATEST]{uuid.uuid4().hex}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TZ": ":UTC",
        "HOME": str(code_dir),
        "TMPDIR": tempfile.gettempdir(),
        # The emulated MLflow server (SIMULATED, runs/get only); a function's own value of it wins.
        "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": f"{RUNTIME.endpoint_url}{ROUTE_PREFIX}{MLFLOW_SERVER_ROUTE}",
    }
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(code_dir), *_layer_paths(fn)]),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": fn.handler or "",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(getattr(fn, "version", "$LATEST")),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(getattr(fn, "memory_size", 128)),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": RUNTIME.endpoint_url,
            # Never read the developer's ~/.aws files from inside a simulated function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    context = {
        "function_name": name,
        "function_version": str(getattr(fn, "version", "$LATEST")),
        "invoked_function_arn": fn.function_arn,
        "memory_limit_in_mb": getattr(fn, "memory_size", 128),
        "aws_request_id": request_id,
        "log_group_name": f"/aws/lambda/{name}",
        "log_stream_name": log_stream,
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="finetune-invoke-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        proc = subprocess.Popen(
            [sys.executable, "-u", "-c", _BOOTSTRAP_SOURCE, result_path],
            cwd=str(code_dir),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        request = json.dumps({"event": event, "context": context, "timeout": timeout}).encode()
        try:
            out, _ = proc.communicate(request, timeout=timeout + _STARTUP_ALLOWANCE)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        duration_ms = (time.monotonic() - started) * 1000
        result: dict[str, Any] | None = None
        if os.path.exists(result_path):
            try:
                with open(result_path, encoding="utf-8") as fh:
                    result = json.load(fh)
            except ValueError:
                result = None
    output = out.decode("utf-8", errors="replace")
    if result is None or result.get("timeout"):
        if result is None and proc.returncode not in (None, 124, -9):
            message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {proc.returncode}"
            payload, errored = _error_payload(message, "Runtime.ExitError", request_id), True
        else:
            message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            payload, errored = _error_payload(message, "Sandbox.Timedout", request_id), True
        output += f"{message}\n"
    elif result.get("ok"):
        payload, errored = str(result["payload"]).encode(), False
    else:
        payload, errored = json.dumps(result["payload"]).encode(), True
    log = (
        f"START RequestId: {request_id} Version: {context['function_version']}\n"
        f"{SIMULATED}: run locally by the offline emulator (python {sys.version_info.major}.{sys.version_info.minor}, "
        f"no sandbox) from {code_dir}\n"
        f"{output}"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {context['memory_limit_in_mb']} MB\n"
    )
    level = LOG.warning if errored else LOG.debug
    level("%s lambda %s %s in %.0f ms", SIMULATED, name, "failed" if errored else "ran", duration_ms)
    try:
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(log)
    except Exception:  # noqa: BLE001 - logs are best effort
        LOG.debug("could not store the log of %s", name, exc_info=True)
    return payload, errored, log


def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Replacement for ``LambdaFunction.invoke``.

    moto: builds a Docker container from a lambci/mlupin image and runs the handler in it; without
    a Docker engine it returns 200 with ``FunctionError: Handled`` and a "error running docker"
    payload, so no code ever runs.
    Why that is wrong for us: the workflow, reward and custom-resource Lambdas must really run
    (they call SageMaker, S3 and DynamoDB on the emulator) for a local deploy/run to mean anything.
    AWS: runs the handler; ``RequestResponse`` returns the JSON result, or the error document with
    ``X-Amz-Function-Error: Unhandled``; ``Event`` queues the invocation and returns 202 at once;
    ``DryRun`` only checks permissions.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        event = json.loads(body) if body else {}
    except ValueError:
        event = body
    invocation_type = _header(request_headers, "x-amz-invocation-type", "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        threading.Thread(
            target=_run_async, args=(self, event), name=f"lambda-event-{self.function_name}", daemon=True
        ).start()
        return b""
    payload, errored, log = run_function(self, event)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    tail = log.encode("utf-8")[-4096:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
    return payload


def _run_async(fn: Any, event: Any) -> None:
    try:
        run_function(fn, event)
    except Exception:  # noqa: BLE001 - nobody waits for an Event invocation
        LOG.exception("%s asynchronous invocation of %s failed", SIMULATED, fn.function_name)


def cleanup() -> None:
    with RUNTIME.lock:
        path, RUNTIME.lambda_cache_dir = RUNTIME.lambda_cache_dir, None
    if path:
        shutil.rmtree(path, ignore_errors=True)


def apply() -> None:
    _patching.replace("moto.awslambda.models:LambdaFunction.invoke", invoke, "Python Lambda handlers run in a subprocess")
