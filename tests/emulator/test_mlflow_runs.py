"""The emulated MLflow tracking server: runs/get for the MLflow runs of simulated training jobs."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sagemaker_finetuning_emulator import patch_sagemaker_mlflow

from .helpers import ACCOUNT, REGION, ensure_data, ensure_role, serverless_job, wait_for, zip_bytes

APP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-runs"
OTHER_APP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-other"
SERVER_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/runs"
SFT_METRICS = ["total_loss", "val_eval_total_loss"]
DPO_METRICS = ["loss_per_batch", "rewards/chosen", "rewards/rejected", "rewards/margins", "acc_per_batch"]
TERMINAL = ("Completed", "Failed", "Stopped")


@pytest.fixture(scope="module")
def sm(client):
    ensure_data(client("s3"))
    return client("sagemaker")


def mlflow_job(sm: Any, name: str, arn: str = APP_ARN, seconds: float = 0.3, tags: dict[str, str] | None = None, **extra: Any) -> str:
    """Create a serverless job logging to ``arn``; returns its MLflow run id."""
    all_tags = {"sim:duration-seconds": str(seconds), **(tags or {})}
    req = serverless_job(name, MlflowConfig={"MlflowResourceArn": arn, "MlflowExperimentName": "exp"},
                         Tags=[{"Key": k, "Value": v} for k, v in all_tags.items()], **extra)
    sm.create_training_job(**req)
    return sm.describe_training_job(TrainingJobName=name)["MlflowDetails"]["MlflowRunId"]


def wait_terminal(sm: Any, name: str) -> dict[str, Any]:
    return wait_for(lambda: (d := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] in TERMINAL and d, timeout=15)


def get_run(emulator: Any, run_id: str | None, arn: str | None = APP_ARN, sign: bool = True, header: str | None = None,
            service: str = "sagemaker", base_url: str | None = None) -> tuple[int, dict[str, Any]]:
    """GET runs/get as the sagemaker-mlflow plugin sends it (SigV4 + routing header)."""
    base = base_url or f"{emulator.endpoint_url}/moto-api/finetune/mlflow-server"
    query = "" if run_id is None else "?" + urllib.parse.urlencode({"run_id": run_id})
    url = f"{base}/api/2.0/mlflow/runs/get{query}"
    headers: dict[str, str] = {}
    if arn is not None:
        headers[header or ("x-mlflow-sm-tracking-server-arn" if ":mlflow-tracking-server/" in arn else "x-sm-mlflow-app-arn")] = arn
    if sign:
        aws_request = AWSRequest(method="GET", url=url, headers=headers)
        SigV4Auth(Credentials("testing", "testing"), service, REGION).add_auth(aws_request)
        headers = dict(aws_request.headers.items())
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers, method="GET"), timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def metrics_of(doc: dict[str, Any]) -> dict[str, float]:
    return {m["key"]: m["value"] for m in doc["run"]["data"]["metrics"]}


def test_completed_sft_run_has_final_metrics(sm, emulator):
    run_id = mlflow_job(sm, "mlf-sft")
    done = wait_terminal(sm, "mlf-sft")
    assert done["TrainingJobStatus"] == "Completed"
    status, doc = get_run(emulator, run_id)
    assert status == 200, doc
    info, data = doc["run"]["info"], doc["run"]["data"]
    assert info["run_id"] == info["run_uuid"] == run_id
    assert info["experiment_id"] == done["MlflowDetails"]["MlflowExperimentId"]
    assert info["run_name"] == "mlf-sft" and info["status"] == "FINISHED" and info["lifecycle_stage"] == "active"
    end_ms = int(done["TrainingEndTime"].timestamp() * 1000)
    assert info["start_time"] <= info["end_time"] and abs(info["end_time"] - end_ms) < 1000
    assert [m["key"] for m in data["metrics"]] == SFT_METRICS
    for m in data["metrics"]:
        assert 0.2 <= m["value"] <= 1.5, m  # SIMULATED losses
        assert m["step"] == 20  # 10 steps per epoch x max_epochs 2
        assert m["timestamp"] == info["end_time"]
    assert {p["key"]: p["value"] for p in data["params"]} == {"max_epochs": "2", "learning_rate": "0.0001"}
    assert data["tags"] == [{"key": "mlflow.runName", "value": "mlf-sft"}]
    assert get_run(emulator, run_id) == (200, doc)  # deterministic


def test_metrics_appear_only_once_completed(sm, emulator):
    run_id = mlflow_job(sm, "mlf-slow", seconds=600)
    status, doc = get_run(emulator, run_id)
    assert status == 200
    assert doc["run"]["info"]["status"] == "RUNNING" and "end_time" not in doc["run"]["info"]
    assert doc["run"]["data"]["metrics"] == []
    emulator.control.advance(700, job_name="mlf-slow")
    assert wait_terminal(sm, "mlf-slow")["TrainingJobStatus"] == "Completed"
    status, doc = get_run(emulator, run_id)
    assert doc["run"]["info"]["status"] == "FINISHED"
    assert list(metrics_of(doc)) == SFT_METRICS


def test_failed_and_stopped_runs_have_no_metrics(sm, emulator):
    emulator.control.force_outcome("mlf-failed", "Failed", "boom")
    failed = mlflow_job(sm, "mlf-failed")
    stopped = mlflow_job(sm, "mlf-stopped", seconds=600)
    sm.stop_training_job(TrainingJobName="mlf-stopped")
    assert wait_terminal(sm, "mlf-failed")["TrainingJobStatus"] == "Failed"
    assert wait_terminal(sm, "mlf-stopped")["TrainingJobStatus"] == "Stopped"
    for run_id, status in ((failed, "FAILED"), (stopped, "KILLED")):
        code, doc = get_run(emulator, run_id)
        assert code == 200
        assert doc["run"]["info"]["status"] == status and "end_time" in doc["run"]["info"]
        assert doc["run"]["data"]["metrics"] == []


def test_tag_overrides_and_adds_metrics(sm, emulator):
    run_id = mlflow_job(sm, "mlf-tagged", tags={"sim:mlflow-metrics": "total_loss=0.05 custom/score=3"})
    wait_terminal(sm, "mlf-tagged")
    status, doc = get_run(emulator, run_id)
    assert status == 200
    metrics = metrics_of(doc)
    assert metrics["total_loss"] == 0.05 and metrics["custom/score"] == 3.0
    assert 0.2 <= metrics["val_eval_total_loss"] <= 1.5


def test_malformed_metrics_tag_is_an_mlflow_error(sm, emulator):
    run_id = mlflow_job(sm, "mlf-badtag", tags={"sim:mlflow-metrics": "total_loss"})
    wait_terminal(sm, "mlf-badtag")
    status, doc = get_run(emulator, run_id)
    assert status == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "sim:mlflow-metrics" in doc["message"]


def test_dpo_run_on_a_tracking_server(sm, emulator):
    sjc = dict(serverless_job("x")["ServerlessJobConfig"], CustomizationTechnique="DPO")
    run_id = mlflow_job(sm, "mlf-dpo", arn=SERVER_ARN, ServerlessJobConfig=sjc)
    wait_terminal(sm, "mlf-dpo")
    status, doc = get_run(emulator, run_id, arn=SERVER_ARN, service="sagemaker-mlflow")
    assert status == 200, doc
    metrics = metrics_of(doc)
    assert list(metrics) == DPO_METRICS
    assert 0.2 <= metrics["loss_per_batch"] <= 1.5
    assert all(0.1 <= metrics[k] <= 0.9 for k in DPO_METRICS if "loss" not in k)
    # the app header naming the tracking server's ARN still routes to it; another resource does not
    assert get_run(emulator, run_id, arn=SERVER_ARN, header="x-sm-mlflow-app-arn")[0] == 200
    assert get_run(emulator, run_id, arn=APP_ARN)[0] == 404


def test_errors(sm, emulator):
    run_id = mlflow_job(sm, "mlf-errors")
    status, doc = get_run(emulator, run_id, sign=False)
    assert status == 403 and doc["error_code"] == "PERMISSION_DENIED"
    status, doc = get_run(emulator, "0" * 32)
    assert (status, doc) == (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Run '{'0' * 32}' not found"})
    status, doc = get_run(emulator, run_id, arn=OTHER_APP_ARN)
    assert (status, doc) == (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Run '{run_id}' not found"})
    status, doc = get_run(emulator, run_id, arn=None)
    assert status == 404 and doc["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, doc = get_run(emulator, None)
    assert status == 400 and doc["error_code"] == "INVALID_PARAMETER_VALUE"
    status, doc = get_run(emulator, run_id, base_url=f"{emulator.control.mlflow_endpoint_url}/api/2.0/mlflow/experiments")
    assert status == 404 and doc["error_code"] == "ENDPOINT_NOT_FOUND"


def test_technique_table_matches_the_library():
    metrics = pytest.importorskip("sagemaker_finetuning.tools.metrics")
    assert {k: tuple(v) for k, v in metrics.TECHNIQUE_METRICS.items()} == patch_sagemaker_mlflow.TECHNIQUE_METRICS


def test_the_mlflow_client_with_the_sagemaker_plugin_reads_the_run(sm, emulator, monkeypatch):
    """MLflow's own client (plugin sagemaker-mlflow: SigV4, routing header, custom endpoint) parses the answer."""
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sagemaker_mlflow")
    run_id = mlflow_job(sm, "mlf-client")
    wait_terminal(sm, "mlf-client")
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                       "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": emulator.control.mlflow_endpoint_url}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", APP_ARN)  # the plugin reads the ARN from the global tracking URI
    run = mlflow.tracking.MlflowClient(tracking_uri=APP_ARN).get_run(run_id)
    assert run.info.run_id == run_id and run.info.status == "FINISHED" and run.info.run_name == "mlf-client"
    assert sorted(run.data.metrics) == sorted(SFT_METRICS)
    assert run.data.params == {"max_epochs": "2", "learning_rate": "0.0001"}
    assert run.data.tags["mlflow.runName"] == "mlf-client"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", OTHER_APP_ARN)
    with pytest.raises(mlflow.exceptions.MlflowException, match="not found"):
        mlflow.tracking.MlflowClient(tracking_uri=OTHER_APP_ARN).get_run(run_id)


ENV_HANDLER = """
import os
def handler(event, context):
    return {"endpoint": os.environ.get("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT")}
"""


def test_lambdas_get_the_mlflow_endpoint(client, emulator):
    lam = client("lambda")
    role = ensure_role(client("iam"))
    code = zip_bytes({"envfn.py": ENV_HANDLER})
    for name, env in (("mlf-env", {}), ("mlf-env-own", {"SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": "http://mine"})):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="envfn.handler", Code={"ZipFile": code},
                            Timeout=10, Environment={"Variables": env})
    out = json.loads(lam.invoke(FunctionName="mlf-env")["Payload"].read())
    assert out == {"endpoint": f"{emulator.endpoint_url}/moto-api/finetune/mlflow-server"}
    assert out["endpoint"] == emulator.control.mlflow_endpoint_url
    assert json.loads(lam.invoke(FunctionName="mlf-env-own")["Payload"].read()) == {"endpoint": "http://mine"}
