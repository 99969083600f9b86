"""SageMaker AI MLflow resources: MLflow apps and MLflow tracking servers (create/describe/delete),
and the runs/get endpoint of the MLflow runs simulated training jobs log to.

moto 5.2.5 has no MLflow operations (``NotImplementedError``, HTTP 500). Training jobs log to the
MLflow resource their ``MlflowConfig`` names, and ``finetune doctor`` checks that the stack's
resource exists (``DescribeMlflowApp`` for ``mlflow-app/...`` ARNs, ``DescribeMlflowTrackingServer``
for ``mlflow-tracking-server/<name>``). The requests are validated against botocore's model by
``patch_sagemaker_requests`` (every SageMaker action goes through it).

State lives on the SageMaker backend (per account and region, dropped by ``/moto-api/reset``).
A resource is ``Created`` at once (no provisioning delay). A stack deployed with a fixed ARN (an
app created elsewhere) can have it registered through the control API
(``EmulatorControl.register_mlflow``): AWS generates app ids, so CreateMlflowApp cannot reproduce
a given ARN.

MLflow tracking (SIMULATED, read-only): one endpoint answers for every MLflow app and tracking
server, ``GET <emulator>/moto-api/finetune/mlflow-server/api/2.0/mlflow/runs/get?run_id=<id>``
(route in ``control``; simulated Lambdas get it as ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT``, the variable
the ``sagemaker-mlflow`` plugin honours). The runs are those of simulated training jobs with an
``MlflowConfig`` (``MlflowDetails.MlflowRunId``); :func:`run_document` gives MLflow's ``runs/get``
shape. The request must carry a SigV4 ``Authorization`` header (its signature is NOT verified) and
the plugin's routing header (``x-sm-mlflow-app-arn`` or ``x-mlflow-sm-tracking-server-arn``) naming
the job's ``MlflowConfig.MlflowResourceArn`` (the resource itself need not exist in the emulator).
Metrics exist only once the job is ``Completed``: each metric the technique's recipe logs
(:data:`TECHNIQUE_METRICS`) with one SIMULATED value per job (a hash of job and metric name: losses
in [0.2, 1.5], the rest in [0.1, 0.9]), at the job's last step and end time; the job tag
``sim:mlflow-metrics`` (``name=value ...``) overrides or adds values. No metric history, no other
MLflow endpoint (searching, logging, artifacts, experiments), nothing is stored by clients.
"""

from __future__ import annotations

import datetime as _dt
import random
import string
import threading
from typing import Any

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.runtime import SIMULATED

_patching.require("moto.sagemaker.responses:SageMakerResponse.sagemaker_backend")
_patching.require("moto.sagemaker.responses:SageMakerResponse._get_param", "param_name")
_patching.require("moto.sagemaker.exceptions:ResourceNotFound")
_patching.require("moto.sagemaker.exceptions:ValidationError")
_patching.require("moto.sagemaker.models:sagemaker_backends")

_lock = threading.RLock()
APP = "mlflow-app"
SERVER = "mlflow-tracking-server"
MLFLOW_VERSION = "3.0"


def _now() -> _dt.datetime:
    return _dt.datetime.now(tz=_dt.timezone.utc)


def store(backend: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"apps": {arn: description}, "servers": {name: description}}`` of one SageMaker backend."""
    with _lock:
        st = backend.__dict__.get("_finetune_mlflow_store")
        if st is None:
            st = {"apps": {}, "servers": {}}
            backend.__dict__["_finetune_mlflow_store"] = st
        return st


def _errors() -> Any:
    from moto.sagemaker import exceptions

    return exceptions


def _app(arn: str, name: str, artifact_store: str, role_arn: str, **extra: Any) -> dict[str, Any]:
    now = _now()
    out = {"Arn": arn, "Name": name, "ArtifactStoreUri": artifact_store, "MlflowVersion": MLFLOW_VERSION, "RoleArn": role_arn,
           "Status": "Created", "CreationTime": now, "LastModifiedTime": now}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _server(arn: str, name: str, artifact_store: str, role_arn: str, region: str, **extra: Any) -> dict[str, Any]:
    now = _now()
    out = {"TrackingServerArn": arn, "TrackingServerName": name, "ArtifactStoreUri": artifact_store, "TrackingServerSize": "Small",
           "MlflowVersion": MLFLOW_VERSION, "RoleArn": role_arn, "TrackingServerStatus": "Created", "IsActive": "Active",
           "TrackingServerUrl": f"https://{SIMULATED.lower()}-{name}.{region}.experiments.sagemaker.aws",
           "CreationTime": now, "LastModifiedTime": now}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def register(backend: Any, arn: str) -> dict[str, Any]:
    """Make the MLflow app or tracking server ``arn`` exist (idempotent); returns its description."""
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    if kind not in (APP, SERVER) or not name:
        raise ValueError(f"not an MLflow app or tracking server ARN: {arn}")
    role = f"arn:aws:iam::{backend.account_id}:role/{SIMULATED}-mlflow"
    artifacts = f"s3://{SIMULATED.lower()}-mlflow-artifacts/{name}"
    with _lock:
        st = store(backend)
        if kind == APP:
            return st["apps"].setdefault(arn, _app(arn, name, artifacts, role))
        return st["servers"].setdefault(name, _server(arn, name, artifacts, role, backend.region_name))


def _action_result(value: Any) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(value)


def create_mlflow_app_response(self: Any) -> Any:
    backend = self.sagemaker_backend
    app_id = "app-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=12))
    arn = f"arn:aws:sagemaker:{self.region}:{backend.account_id}:{APP}/{app_id}"
    extra = {k: self._get_param(k) for k in ("KmsKeyId", "ModelRegistrationMode", "AccountDefaultStatus", "DefaultDomainIdList",
                                             "WeeklyMaintenanceWindowStart")}
    with _lock:
        store(backend)["apps"][arn] = _app(arn, self._get_param("Name"), self._get_param("ArtifactStoreUri"), self._get_param("RoleArn"), **extra)
    return _action_result({"Arn": arn})


def _get_app(self: Any) -> dict[str, Any]:
    arn = self._get_param("Arn")
    with _lock:
        app = store(self.sagemaker_backend)["apps"].get(arn)
    if app is None:
        raise _errors().ResourceNotFound(f"MLflow app {arn} does not exist.")
    return app


def describe_mlflow_app_response(self: Any) -> Any:
    return _action_result(dict(_get_app(self)))


def delete_mlflow_app_response(self: Any) -> Any:
    app = _get_app(self)
    with _lock:
        store(self.sagemaker_backend)["apps"].pop(app["Arn"], None)
    return _action_result({"Arn": app["Arn"]})


def create_mlflow_tracking_server_response(self: Any) -> Any:
    backend = self.sagemaker_backend
    name = self._get_param("TrackingServerName")
    arn = f"arn:aws:sagemaker:{self.region}:{backend.account_id}:{SERVER}/{name}"
    extra = {k: self._get_param(k) for k in ("TrackingServerSize", "MlflowVersion", "AutomaticModelRegistration",
                                             "WeeklyMaintenanceWindowStart", "S3BucketOwnerAccountId", "S3BucketOwnerVerification")}
    with _lock:
        servers = store(backend)["servers"]
        if name in servers:
            raise _errors().ValidationError(f"Tracking server {name} already exists.")
        servers[name] = _server(arn, name, self._get_param("ArtifactStoreUri"), self._get_param("RoleArn"), self.region, **extra)
    return _action_result({"TrackingServerArn": arn})


def _get_server(self: Any) -> dict[str, Any]:
    name = self._get_param("TrackingServerName")
    with _lock:
        server = store(self.sagemaker_backend)["servers"].get(name)
    if server is None:
        raise _errors().ResourceNotFound(f"Tracking server {name} does not exist.")
    return server


def describe_mlflow_tracking_server_response(self: Any) -> Any:
    return _action_result(dict(_get_server(self)))


def delete_mlflow_tracking_server_response(self: Any) -> Any:
    server = _get_server(self)
    with _lock:
        store(self.sagemaker_backend)["servers"].pop(server["TrackingServerName"], None)
    return _action_result({"TrackingServerArn": server["TrackingServerArn"]})


_METHODS = {
    "create_mlflow_app": create_mlflow_app_response,
    "describe_mlflow_app": describe_mlflow_app_response,
    "delete_mlflow_app": delete_mlflow_app_response,
    "create_mlflow_tracking_server": create_mlflow_tracking_server_response,
    "describe_mlflow_tracking_server": describe_mlflow_tracking_server_response,
    "delete_mlflow_tracking_server": delete_mlflow_tracking_server_response,
}


def apply() -> None:
    """Add the MLflow app / tracking server operations to ``SageMakerResponse``.

    moto: none of them exist (``NotImplementedError``, HTTP 500).
    AWS: managed MLflow apps and tracking servers that training jobs log to.
    """
    for name, func in _METHODS.items():
        func.__name__ = name
        _patching.replace(f"moto.sagemaker.responses:SageMakerResponse.{name}", func, f"MLflow: {name}", add=True)


# -- MLflow runs of simulated training jobs (SIMULATED, read-only) ------------------------------------

#: The job tag that sets final metric values of its MLflow run (``name=value ...``, as ``sim:metrics``);
#: it overrides the simulated values and may add metrics.
MLFLOW_METRICS_TAG = "sim:mlflow-metrics"
#: The metric keys the real recipes log, per ``ServerlessJobConfig.CustomizationTechnique`` (SFT and
#: DPO: the SDK's recipes; RLVR/RLAIF: verl). Same table as the library's ``tools.metrics``.
TECHNIQUE_METRICS: dict[str, tuple[str, ...]] = {
    "SFT": ("total_loss", "val_eval_total_loss"),
    "DPO": ("loss_per_batch", "rewards/chosen", "rewards/rejected", "rewards/margins", "acc_per_batch"),
    "RLVR": ("critic/rewards/mean", "response_length/mean", "actor/entropy_loss", "actor/grad_norm", "critic/advantages/mean"),
}
TECHNIQUE_METRICS["RLAIF"] = TECHNIQUE_METRICS["RLVR"]
#: SIMULATED value ranges: a metric whose key contains "loss", and every other metric.
LOSS_RANGE = (0.2, 1.5)
OTHER_RANGE = (0.1, 0.9)
#: Training-job status -> MLflow run status.
RUN_STATUS = {"InProgress": "RUNNING", "Stopping": "RUNNING", "Completed": "FINISHED", "Failed": "FAILED", "Stopped": "KILLED"}


def _ms(value: _dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def find_run(run_id: str) -> Any:
    """The simulated training job whose MLflow run is ``run_id`` (any account/region), or None."""
    from sagemaker_finetuning_emulator import patch_sagemaker_jobs

    for job in patch_sagemaker_jobs.all_jobs():
        if job.mlflow_details and job.mlflow_details.get("MlflowRunId") == run_id:
            return job
    return None


def run_resource(job: Any) -> str | None:
    """The ARN of the MLflow app / tracking server the job's run lives in (``MlflowConfig.MlflowResourceArn``)."""
    return (job.request.get("MlflowConfig") or {}).get("MlflowResourceArn")


def technique(job: Any) -> str | None:
    """``ServerlessJobConfig.CustomizationTechnique`` of the job (else its recipe's), upper case."""
    value = (job.request.get("ServerlessJobConfig") or {}).get("CustomizationTechnique") or (job.recipe or {}).get("CustomizationTechnique")
    return str(value).upper() if value else None


def final_metrics(job: Any) -> dict[str, float]:
    """The SIMULATED last value of every metric the job's run has logged: none before ``Completed``.

    ValueError when the job's ``sim:mlflow-metrics`` tag is not ``name=number ...``.
    """
    from sagemaker_finetuning_emulator import patch_sagemaker_jobs

    if job.status != "Completed":
        return {}
    metrics: dict[str, float] = {}
    for key in TECHNIQUE_METRICS.get(technique(job) or "", ()):
        low, high = LOSS_RANGE if "loss" in key else OTHER_RANGE
        metrics[key] = patch_sagemaker_jobs.simulated_metric_value(job.name, key, low, high)
    tag = job.tags.get(MLFLOW_METRICS_TAG)
    if tag:
        try:
            metrics.update(patch_sagemaker_jobs.parse_metrics(tag))
        except ValueError as exc:
            raise ValueError(f"{SIMULATED}: tag {MLFLOW_METRICS_TAG} of training job {job.name}: {exc}") from None
    return metrics


def _last_step(job: Any) -> int:
    progress = job.progress or {}
    per_epoch = progress.get("TotalStepCountPerEpoch") or 10
    return max(1, int(per_epoch) * int(progress.get("MaxEpoch") or job.max_epoch))


def run_document(job: Any) -> dict[str, Any]:
    """MLflow's ``runs/get`` response for the job's run (SIMULATED values)."""
    with job.lock:
        run_id = job.mlflow_details["MlflowRunId"]
        info: dict[str, Any] = {
            "run_id": run_id,
            "run_uuid": run_id,
            "experiment_id": job.mlflow_details["MlflowExperimentId"],
            "run_name": job.name,
            "status": RUN_STATUS.get(job.status, "RUNNING"),
            "start_time": _ms(job.creation_time),
            "lifecycle_stage": "active",
        }
        if job.terminal and job.training_end_time is not None:
            info["end_time"] = _ms(job.training_end_time)
        metrics = final_metrics(job)
        step, timestamp = _last_step(job), _ms(job.training_end_time)
        params = job.request.get("HyperParameters") or {}
        return {
            "run": {
                "info": info,
                "data": {
                    "metrics": [{"key": k, "value": v, "timestamp": timestamp, "step": step} for k, v in metrics.items()],
                    "params": [{"key": str(k), "value": str(v)} for k, v in params.items()],
                    "tags": [{"key": "mlflow.runName", "value": job.name}],
                },
            }
        }
