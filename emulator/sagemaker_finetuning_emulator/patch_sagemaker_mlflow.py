"""SageMaker AI MLflow resources: MLflow apps and MLflow tracking servers (create/describe/delete).

moto 5.2.5 has no MLflow operations (``NotImplementedError``, HTTP 500). Training jobs log to the
MLflow resource their ``MlflowConfig`` names, and ``finetune doctor`` checks that the stack's
resource exists (``DescribeMlflowApp`` for ``mlflow-app/...`` ARNs, ``DescribeMlflowTrackingServer``
for ``mlflow-tracking-server/<name>``). The requests are validated against botocore's model by
``patch_sagemaker_requests`` (every SageMaker action goes through it).

State lives on the SageMaker backend (per account and region, dropped by ``/moto-api/reset``).
A resource is ``Created`` at once (no provisioning delay) and has no server behind it: no
tracking URL answers, nothing is logged. A stack deployed with a fixed ARN (an app created
elsewhere) can have it registered through the control API (``EmulatorControl.register_mlflow``):
AWS generates app ids, so CreateMlflowApp cannot reproduce a given ARN.
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
