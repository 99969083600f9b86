"""The latest metric values of a training job's MLflow run: a sweep's objective when it has no evaluation.

The request is the one the ``sagemaker-mlflow`` plugin (0.5.0, ``SageMakerMLflowHostMetadataProvider`` and
``AuthBoto``) sends for an MLflow tracking URI that is a SageMaker ARN, with the standard library and
botocore only:

* ``GET <endpoint>/api/2.0/mlflow/runs/get?run_id=<id>`` (MLflow REST; ``run.data.metrics`` holds each
  metric's latest value);
* endpoint ``https://mlflow.sagemaker.<region>.app.aws`` for an MLflow app, routed by the header
  ``x-sm-mlflow-app-arn``, signed (SigV4) for service ``sagemaker``; ``https://<region>.experiments.sagemaker.aws``
  for a tracking server, header ``x-mlflow-sm-tracking-server-arn``, service ``sagemaker-mlflow``;
* ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`` replaces the endpoint (as in the plugin; the offline emulator sets it).
"""

from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

ENDPOINT_ENV = "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
TIMEOUT_SECONDS = 10.0


class MlflowReadError(RuntimeError):
    """The run could not be read (one line: the resource, the run and what the server said)."""


@dataclass(frozen=True)
class Route:
    endpoint: str
    service: str
    header: str
    region: str


def route(resource_arn: str) -> Route:
    """Where and how to call the MLflow resource ``resource_arn`` (an MLflow app or tracking server)."""
    parts = resource_arn.split(":")
    if len(parts) < 6 or parts[2] != "sagemaker" or "/" not in parts[5] or parts[1] not in ("aws", "aws-us-gov"):
        raise MlflowReadError(f"{resource_arn}: not an MLflow app or tracking server ARN of a supported partition")
    region, kind = parts[3], parts[5].split("/", 1)[0]
    custom = os.environ.get(ENDPOINT_ENV, "")
    if kind == "mlflow-app":
        return Route(custom or f"https://mlflow.sagemaker.{region}.app.aws", "sagemaker", "x-sm-mlflow-app-arn", region)
    if kind == "mlflow-tracking-server":
        return Route(custom or f"https://{region}.experiments.sagemaker.aws", "sagemaker-mlflow", "x-mlflow-sm-tracking-server-arn", region)
    raise MlflowReadError(f"{resource_arn}: not an MLflow app or tracking server ARN")


def run_metrics(resource_arn: str, run_id: str, credentials: Any = None) -> dict[str, float]:
    """The latest value of each metric the run logged (finite numbers only)."""
    where = route(resource_arn)
    url = f"{where.endpoint.rstrip('/')}/api/2.0/mlflow/runs/get?{urllib.parse.urlencode({'run_id': run_id})}"
    request = AWSRequest(method="GET", url=url, headers={where.header: resource_arn, "X-Amz-Content-SHA256": EMPTY_SHA256})
    SigV4Auth(credentials or boto3.Session().get_credentials(), where.service, where.region).add_auth(request)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers.items()), method="GET"),  # noqa: S310 - https or the emulator
                                    timeout=TIMEOUT_SECONDS) as response:
            document = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise MlflowReadError(f"MLflow run {run_id} of {resource_arn}: HTTP {exc.code} {_message(exc)}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise MlflowReadError(f"MLflow run {run_id} of {resource_arn}: {exc}") from exc
    metrics = ((document.get("run") or {}).get("data") or {}).get("metrics") or []
    return {str(m["key"]): float(m["value"]) for m in metrics
            if isinstance(m, dict) and isinstance(m.get("value"), (int, float)) and math.isfinite(float(m["value"]))}


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return str(exc.reason)
    return f"{body.get('error_code', '')}: {body.get('message', exc.reason)}".strip(": ")
