"""The emulator's control API: HTTP routes under ``/moto-api/finetune/`` plus a Python client.

Routes (JSON in, JSON out) on the emulator's own port:

=======  ====================================  ==========================================================
GET      /moto-api/finetune/status             emulator info: endpoint, moto version, patches, counters
GET      /moto-api/finetune/sim                simulation settings
POST     /moto-api/finetune/sim                change settings: {"job_seconds", "speed", "check_input_data", "steps_per_epoch"}
GET      /moto-api/finetune/faults             armed faults
POST     /moto-api/finetune/faults             arm: {"operation", "error_code"="ThrottlingException", "count"=1,
                                               "message", "http_status"=400, "match"={"TrainingJobName": ...}}
DELETE   /moto-api/finetune/faults             disarm all
GET      /moto-api/finetune/jobs               snapshot of every simulated training job (?account=&region=)
GET      /moto-api/finetune/jobs/<name>        one job (DescribeTrainingJob shape, ISO dates)
POST     /moto-api/finetune/jobs/<name>/outcome  force {"outcome": "Completed"|"Failed", "failure_reason"}
POST     /moto-api/finetune/jobs/<name>/events   {"suppress": true|false} drop the job's state-change events
POST     /moto-api/finetune/jobs/<name>/metrics  {"metrics": {"accuracy": 0.8} | "accuracy=0.8" | null} the
                                               metrics evaluation job <name> writes (over its tags)
POST     /moto-api/finetune/clock/advance      {"seconds": N, "job_name"?} move simulated time forward
DELETE   /moto-api/finetune/hub/models/<id>    remove a model from SageMakerPublicHub (until restored or reset)
PUT      /moto-api/finetune/hub/models/<id>    restore it
GET      /moto-api/finetune/hub/removed        the removed public-hub models
DELETE   /moto-api/finetune/bedrock/models/<id>  remove a Bedrock foundation model (GetFoundationModel)
PUT      /moto-api/finetune/bedrock/models/<id>  restore it
POST     /moto-api/finetune/mlflow             {"arn"} make an MLflow app / tracking server with that ARN exist
GET      /moto-api/finetune/mlflow-server/api/2.0/mlflow/runs/get?run_id=<id>
                                               MLflow's runs/get for the run of a simulated training job
                                               (MLflow's JSON and errors; needs a SigV4 Authorization header,
                                               NOT verified, and x-sm-mlflow-app-arn or
                                               x-mlflow-sm-tracking-server-arn naming the job's MLflow resource)
POST     /moto-api/finetune/reset              reset every backend (as /moto-api/reset) and the emulator state
=======  ====================================  ==========================================================

Per-job controls may be set before the job exists (by name). Use :class:`EmulatorControl` from
tests or other processes; it only needs the standard library.

``mlflow-server`` is the base URL of a SIMULATED MLflow tracking server (``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT``
of every simulated Lambda): only ``runs/get`` answers, see ``patch_sagemaker_mlflow``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator

ROUTE_PREFIX = "/moto-api/finetune/"
#: The route under ROUTE_PREFIX that acts as an MLflow tracking server's base URL.
MLFLOW_SERVER_ROUTE = "mlflow-server"
#: The routing headers of the sagemaker-mlflow plugin: MLflow app ARN, tracking server ARN.
MLFLOW_APP_HEADER = "x-sm-mlflow-app-arn"
MLFLOW_SERVER_HEADER = "x-mlflow-sm-tracking-server-arn"


class ControlError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return str(value)


# -- server side ------------------------------------------------------------------------------------


def _ok(payload: Any, status: int = 200) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload, default=_json_default)


def _fail(status: int, message: str) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps({"error": message})


def handle(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """Flask view of ``/moto-api/finetune/<route>`` (registered in moto_api's url_paths)."""
    from sagemaker_finetuning_emulator import _patching, patch_sagemaker_jobs
    from sagemaker_finetuning_emulator.runtime import RUNTIME, Fault

    path = request.path
    route = path[path.index(ROUTE_PREFIX) + len(ROUTE_PREFIX) :].strip("/")
    method = request.method
    if route.split("/")[0] == MLFLOW_SERVER_ROUTE:  # an MLflow client: no JSON body, MLflow's error shape
        return _mlflow_server(route.split("/")[1:], method, request, full_url, headers)
    try:
        raw = request.get_data() or b""
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return _fail(400, "request body is not JSON")
    parts = route.split("/")
    try:
        if route == "status" and method == "GET":
            import moto

            return _ok(
                {
                    "endpoint_url": RUNTIME.endpoint_url,
                    "region": RUNTIME.region,
                    "moto_version": moto.__version__,
                    "sim": RUNTIME.settings.to_dict(),
                    "patches": _patching.describe_patches(),
                    "counters": dict(RUNTIME.counters),
                }
            )
        if route == "sim":
            if method == "POST":
                RUNTIME.settings.update(body)
            return _ok(RUNTIME.settings.to_dict())
        if route == "faults":
            if method == "POST":
                allowed = set(Fault.__dataclass_fields__) - {"id", "hits", "service"}  # SageMaker only
                unknown = set(body) - allowed
                if unknown or "operation" not in body:
                    return _fail(400, f"need 'operation'; allowed keys {sorted(allowed)}")
                fault = RUNTIME.add_fault(Fault(**body))
                return _ok(fault.to_dict(), 201)
            if method == "DELETE":
                RUNTIME.clear_faults()
                return _ok({"faults": []})
            with RUNTIME.lock:
                return _ok({"faults": [f.to_dict() for f in RUNTIME.faults]})
        if parts[0] == "jobs":
            if len(parts) == 1:
                account = (request.args.get("account") or None) if hasattr(request, "args") else None
                region = (request.args.get("region") or None) if hasattr(request, "args") else None
                jobs = [
                    _job_view(j)
                    for j in patch_sagemaker_jobs.all_jobs()
                    if (account is None or j.account_id == account) and (region is None or j.region == region)
                ]
                return _ok({"jobs": jobs})
            name = parts[1]
            if len(parts) == 2 and method == "GET":
                matches = [j for j in patch_sagemaker_jobs.all_jobs() if j.name == name]
                if not matches:
                    return _fail(404, f"no simulated training job {name}")
                return _ok(_job_view(matches[-1]))
            if len(parts) == 3 and parts[2] == "outcome" and method == "POST":
                outcome = body.get("outcome")
                if outcome not in ("Completed", "Failed"):
                    return _fail(400, "outcome must be Completed or Failed")
                override = RUNTIME.override(name)
                override.outcome = outcome
                override.failure_reason = body.get("failure_reason")
                return _ok({"job": name, "outcome": outcome, "failure_reason": override.failure_reason})
            if len(parts) == 3 and parts[2] == "events" and method == "POST":
                override = RUNTIME.override(name)
                override.suppress_events = bool(body.get("suppress", True))
                return _ok({"job": name, "suppress_events": override.suppress_events})
        if parts[0] == "rules" and len(parts) == 3 and parts[2] == "schedule" and method == "POST":
            from moto.events.exceptions import ResourceNotFoundException

            from sagemaker_finetuning_emulator import patch_events
            from sagemaker_finetuning_emulator.runtime import DEFAULT_ACCOUNT_ID

            try:
                return _ok(patch_events.fire_schedule(body.get("account") or DEFAULT_ACCOUNT_ID, body.get("region") or RUNTIME.region, parts[1]))
            except ResourceNotFoundException:
                return _fail(404, f"no rule {parts[1]}")
        extension = _extension_route(parts, method, body)
        if extension is not None:
            return extension
        if route == "clock/advance" and method == "POST":
            seconds = float(body.get("seconds", 0))
            if seconds < 0:
                return _fail(400, "seconds must be >= 0")
            moved = patch_sagemaker_jobs.advance(seconds, body.get("job_name"))
            return _ok({"advanced": seconds, "jobs": moved})
        if route == "reset" and method == "POST":
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
            return _ok({"status": "ok"})
    except (ValueError, TypeError) as exc:
        return _fail(400, str(exc))
    return _fail(404, f"unknown control route {method} {ROUTE_PREFIX}{route}")


def _extension_route(parts: list[str], method: str, body: dict[str, Any]) -> tuple[int, dict[str, str], str] | None:
    """The public-hub, Bedrock, MLflow and evaluation-metrics routes (None: not one of them)."""
    from urllib.parse import unquote

    from sagemaker_finetuning_emulator import patch_bedrock, patch_sagemaker_hub, patch_sagemaker_jobs, patch_sagemaker_mlflow

    if len(parts) == 3 and parts[0] == "jobs" and parts[2] == "metrics" and method == "POST":
        metrics = body.get("metrics")
        if isinstance(metrics, str):
            metrics = patch_sagemaker_jobs.parse_metrics(metrics)
        if metrics is not None and not isinstance(metrics, dict):
            return _fail(400, "metrics must be an object {name: number}, a 'name=value ...' string or null")
        patch_sagemaker_jobs.set_metric_override(parts[1], metrics)
        return _ok({"job": parts[1], "metrics": metrics})
    if parts[:2] == ["hub", "removed"] and method == "GET":
        return _ok({"removed": patch_sagemaker_hub.removed_public_models()})
    removable = {"hub": (patch_sagemaker_hub.remove_public_model, patch_sagemaker_hub.restore_public_model),
                 "bedrock": (patch_bedrock.remove_model, patch_bedrock.restore_model)}
    if len(parts) == 3 and parts[0] in removable and parts[1] == "models" and method in ("DELETE", "PUT"):
        model_id, (remove, restore) = unquote(parts[2]), removable[parts[0]]
        if method == "DELETE":
            return _ok({"model_id": model_id, "removed": True, "known": remove(model_id)})
        restore(model_id)
        return _ok({"model_id": model_id, "removed": False})
    if parts == ["mlflow"] and method == "POST":
        from moto.sagemaker.models import sagemaker_backends

        arn = str(body.get("arn", ""))
        fields = arn.split(":")
        if len(fields) < 6 or fields[2] != "sagemaker":
            return _fail(400, f"need 'arn': an MLflow app or tracking server ARN (received {arn!r})")
        return _ok(patch_sagemaker_mlflow.register(sagemaker_backends[fields[4]][fields[3]], arn), 201)
    return None


_MLFLOW_HTTP_STATUS = {"INVALID_PARAMETER_VALUE": 400, "PERMISSION_DENIED": 403, "RESOURCE_DOES_NOT_EXIST": 404, "ENDPOINT_NOT_FOUND": 404}


def _mlflow_error(error_code: str, message: str) -> tuple[int, dict[str, str], str]:
    """MLflow's REST error document: ``{"error_code", "message"}`` with the code's HTTP status."""
    return _MLFLOW_HTTP_STATUS[error_code], {"Content-Type": "application/json"}, json.dumps({"error_code": error_code, "message": message})


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def _mlflow_server(parts: list[str], method: str, request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``GET mlflow-server/api/2.0/mlflow/runs/get?run_id=<id>``: MLflow's runs/get for a simulated training job's run.

    Checked in this order: a SigV4 ``Authorization`` header (``AWS4-HMAC-SHA256 ...``; SIMULATED: the
    signature, its credentials and its service name are NOT verified) else 403 PERMISSION_DENIED;
    ``run_id`` (or MLflow's older ``run_uuid``) else 400 INVALID_PARAMETER_VALUE; a routing header
    (``x-sm-mlflow-app-arn`` / ``x-mlflow-sm-tracking-server-arn``) else 404; a run with that id in the
    MLflow resource the header names (the job's ``MlflowConfig.MlflowResourceArn``) else 404
    RESOURCE_DOES_NOT_EXIST ``Run '<id>' not found``. Anything else under ``mlflow-server``: 404 ENDPOINT_NOT_FOUND.
    """
    from sagemaker_finetuning_emulator import patch_sagemaker_mlflow
    from sagemaker_finetuning_emulator.runtime import SIMULATED

    endpoint = "/".join(parts)
    if endpoint != "api/2.0/mlflow/runs/get" or method != "GET":
        return _mlflow_error("ENDPOINT_NOT_FOUND", f"{SIMULATED}: the emulated MLflow server answers GET /api/2.0/mlflow/runs/get only "
                                                   f"(received {method} /{endpoint})")
    if not (_header(headers, "authorization") or "").startswith("AWS4-HMAC-SHA256"):
        return _mlflow_error("PERMISSION_DENIED", f"{SIMULATED}: the request is not signed with AWS Signature Version 4 "
                                                  "(no 'Authorization: AWS4-HMAC-SHA256 ...' header)")
    args = request.args if hasattr(request, "args") else dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(full_url).query))
    run_id = args.get("run_id") or args.get("run_uuid")
    if not run_id:
        return _mlflow_error("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
    resource = _header(headers, MLFLOW_APP_HEADER) or _header(headers, MLFLOW_SERVER_HEADER)
    if not resource:
        return _mlflow_error("RESOURCE_DOES_NOT_EXIST", f"{SIMULATED}: no MLflow app or tracking server named: send the header "
                                                        f"{MLFLOW_APP_HEADER} or {MLFLOW_SERVER_HEADER} with its ARN")
    job = patch_sagemaker_mlflow.find_run(run_id)
    if job is None or patch_sagemaker_mlflow.run_resource(job) != resource:  # a run lives in one MLflow resource
        return _mlflow_error("RESOURCE_DOES_NOT_EXIST", f"Run '{run_id}' not found")
    try:
        return _ok(patch_sagemaker_mlflow.run_document(job))
    except ValueError as exc:  # a malformed sim:mlflow-metrics tag
        return _mlflow_error("INVALID_PARAMETER_VALUE", str(exc))


def _job_view(job: Any) -> dict[str, Any]:
    from sagemaker_finetuning_emulator.runtime import RUNTIME

    view = job.describe()
    override = RUNTIME.peek_override(job.name)
    view["Simulation"] = {
        "AccountId": job.account_id,
        "Region": job.region,
        "DurationSeconds": job.duration,
        "ElapsedSeconds": round(job.elapsed, 3),
        "ForcedOutcome": override.outcome if override else None,
        "EventsSuppressed": bool(override and override.suppress_events),
        "SuppressedEventCount": job.suppressed_events,
    }
    if job.evaluation:
        view["Simulation"]["Evaluation"] = {"Kind": job.evaluation, "Metrics": job.metrics, "ResultUris": list(job.result_uris)}
    return json.loads(json.dumps(view, default=_json_default))


def apply() -> None:
    """Register the routes with moto's ``/moto-api`` app (before the server builds it)."""
    from moto.moto_api._internal import urls

    from sagemaker_finetuning_emulator import _patching

    key = "{0}" + ROUTE_PREFIX + "(?P<route>.+)$"
    if key not in urls.url_paths:
        urls.url_paths[key] = handle
        _patching.record("moto.moto_api._internal.urls:url_paths", f"control API routes under {ROUTE_PREFIX}")


# -- client ----------------------------------------------------------------------------------------


class EmulatorControl:
    """Client of the control API (standard library only)."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.endpoint_url}{ROUTE_PREFIX}{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                message = json.loads(raw).get("error", raw.decode())
            except ValueError:
                message = raw.decode(errors="replace")
            raise ControlError(err.code, message) from None

    # status / settings
    def status(self) -> dict[str, Any]:
        return self._call("GET", "status")

    def sim_settings(self) -> dict[str, Any]:
        return self._call("GET", "sim")

    def set_sim(self, **settings: Any) -> dict[str, Any]:
        """e.g. ``set_sim(job_seconds=1.5, speed=2.0, check_input_data=False)``."""
        return self._call("POST", "sim", settings)

    # faults
    def inject_fault(
        self,
        operation: str,
        error_code: str = "ThrottlingException",
        count: int = 1,
        message: str | None = None,
        http_status: int = 400,
        match: dict[str, Any] | None = None,
        after: bool = False,
    ) -> dict[str, Any]:
        """The next ``count`` SageMaker ``operation`` calls (matching ``match``) fail with ``error_code``;
        ``after``: the call takes effect first (a lost response)."""
        body: dict[str, Any] = {"operation": operation, "error_code": error_code, "count": count, "http_status": http_status,
                                "after": after}
        if message:
            body["message"] = message
        if match:
            body["match"] = match
        return self._call("POST", "faults", body)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    # jobs
    def jobs(self, account: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in (("account", account), ("region", region)) if v)
        return self._call("GET", "jobs" + (f"?{query}" if query else ""))["jobs"]

    def job(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"jobs/{name}")

    def force_outcome(self, job_name: str, outcome: str, failure_reason: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"jobs/{job_name}/outcome", {"outcome": outcome, "failure_reason": failure_reason})

    def suppress_events(self, job_name: str, suppress: bool = True) -> dict[str, Any]:
        return self._call("POST", f"jobs/{job_name}/events", {"suppress": suppress})

    def set_metrics(self, job_name: str, metrics: dict[str, float] | str | None) -> dict[str, Any]:
        """The metrics evaluation job ``job_name`` writes when it completes (wins over its ``sim:metrics`` /
        ``sim:base-metrics`` tags; may precede the job); ``None`` clears."""
        return self._call("POST", f"jobs/{job_name}/metrics", {"metrics": metrics})

    def fire_schedule(self, rule_name: str, account: str | None = None, region: str | None = None) -> dict[str, Any]:
        """Run the schedule rule ``rule_name`` once now (its targets get a ``Scheduled Event``)."""
        return self._call("POST", f"rules/{rule_name}/schedule", {"account": account, "region": region})

    def advance(self, seconds: float, job_name: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"seconds": seconds}
        if job_name:
            body["job_name"] = job_name
        return self._call("POST", "clock/advance", body)

    def reset(self) -> None:
        self._call("POST", "reset")

    # public hub, Bedrock, MLflow
    def remove_hub_model(self, model_id: str) -> dict[str, Any]:
        """SageMakerPublicHub answers as if ``model_id`` did not exist, until :meth:`restore_hub_model` or a reset."""
        return self._call("DELETE", f"hub/models/{urllib.parse.quote(model_id, safe='')}")

    def restore_hub_model(self, model_id: str) -> dict[str, Any]:
        return self._call("PUT", f"hub/models/{urllib.parse.quote(model_id, safe='')}")

    def removed_hub_models(self) -> list[str]:
        return self._call("GET", "hub/removed")["removed"]

    @contextlib.contextmanager
    def hub_model_removed(self, model_id: str) -> Iterator[None]:
        """``with control.hub_model_removed(model_id): ...``: removed inside the block, restored after it."""
        self.remove_hub_model(model_id)
        try:
            yield
        finally:
            self.restore_hub_model(model_id)

    def remove_foundation_model(self, model_id: str) -> dict[str, Any]:
        """Bedrock GetFoundationModel answers "invalid model identifier" for ``model_id`` until restored or reset."""
        return self._call("DELETE", f"bedrock/models/{urllib.parse.quote(model_id, safe='')}")

    def restore_foundation_model(self, model_id: str) -> dict[str, Any]:
        return self._call("PUT", f"bedrock/models/{urllib.parse.quote(model_id, safe='')}")

    @property
    def mlflow_endpoint_url(self) -> str:
        """The emulated MLflow tracking server's base URL (for ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT``; only runs/get answers)."""
        return f"{self.endpoint_url}{ROUTE_PREFIX}{MLFLOW_SERVER_ROUTE}"

    def register_mlflow(self, arn: str) -> dict[str, Any]:
        """Make the MLflow app or tracking server ``arn`` exist (idempotent); returns its description."""
        return self._call("POST", "mlflow", {"arn": arn})
