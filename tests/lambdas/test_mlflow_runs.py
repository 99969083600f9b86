"""Reading a training job's MLflow run (lambda_src/workflow/mlflow_runs.py): the request the sagemaker-mlflow plugin
sends (endpoint, routing header, SigV4 service), answered by a local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from botocore.credentials import Credentials

from sagemaker_finetuning.lambda_src.workflow import mlflow_runs

APP = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1"
SERVER = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/team"
CREDS = Credentials("AKIDEXAMPLE", "secret")


def test_routes_follow_the_sagemaker_mlflow_plugin(monkeypatch):
    monkeypatch.delenv(mlflow_runs.ENDPOINT_ENV, raising=False)
    app = mlflow_runs.route(APP)
    assert (app.endpoint, app.service, app.header, app.region) == ("https://mlflow.sagemaker.us-east-1.app.aws", "sagemaker",
                                                                  "x-sm-mlflow-app-arn", "us-east-1")
    server = mlflow_runs.route(SERVER)
    assert (server.endpoint, server.service, server.header) == ("https://eu-west-1.experiments.sagemaker.aws", "sagemaker-mlflow",
                                                                "x-mlflow-sm-tracking-server-arn")
    monkeypatch.setenv(mlflow_runs.ENDPOINT_ENV, "http://localhost:1/mlflow")
    assert mlflow_runs.route(APP).endpoint == "http://localhost:1/mlflow"
    for bad in ("arn:aws-cn:sagemaker:cn-north-1:123456789012:mlflow-app/a", "arn:aws:s3:::bucket", "not an arn",
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"):
        with pytest.raises(mlflow_runs.MlflowReadError):
            mlflow_runs.route(bad)


class _Server:
    """An MLflow-like server: answers runs/get for run-1, records what it received."""

    def __init__(self, status: int = 200, body: Any = None):
        seen: list[dict[str, Any]] = []
        reply = (status, body if body is not None else {"run": {"info": {"run_id": "run-1"}, "data": {"metrics": [
            {"key": "val_eval_total_loss", "value": 0.42, "timestamp": 1, "step": 30},
            {"key": "total_loss", "value": 0.5, "timestamp": 1, "step": 30}, {"key": "nan_metric", "value": "NaN"}]}}})

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen.append({"path": self.path, "headers": dict(self.headers.items())})
                data = json.dumps(reply[1]).encode()
                self.send_response(reply[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.seen = seen
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mlflow"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_run_metrics_sends_a_signed_routed_runs_get_and_reads_the_latest_values(monkeypatch):
    server = _Server()
    try:
        monkeypatch.setenv(mlflow_runs.ENDPOINT_ENV, server.url)
        assert mlflow_runs.run_metrics(APP, "run 1", credentials=CREDS) == {"val_eval_total_loss": 0.42, "total_loss": 0.5}
        [request] = server.seen
        assert request["path"] == "/mlflow/api/2.0/mlflow/runs/get?run_id=run+1"
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["x-sm-mlflow-app-arn"] == APP and headers["x-amz-content-sha256"] == mlflow_runs.EMPTY_SHA256
        assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/us-east-1/sagemaker/aws4_request" in headers["authorization"]
        mlflow_runs.run_metrics(SERVER, "run-1", credentials=CREDS)
        headers = {k.lower(): v for k, v in server.seen[1]["headers"].items()}
        assert headers["x-mlflow-sm-tracking-server-arn"] == SERVER and "/eu-west-1/sagemaker-mlflow/aws4_request" in headers["authorization"]
    finally:
        server.close()


def test_server_errors_are_named_with_mlflows_message(monkeypatch):
    server = _Server(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'x' not found"})
    try:
        monkeypatch.setenv(mlflow_runs.ENDPOINT_ENV, server.url)
        with pytest.raises(mlflow_runs.MlflowReadError, match=r"MLflow run x of arn:.*: HTTP 404 RESOURCE_DOES_NOT_EXIST: Run 'x' not found"):
            mlflow_runs.run_metrics(APP, "x", credentials=CREDS)
    finally:
        server.close()
    monkeypatch.setenv(mlflow_runs.ENDPOINT_ENV, "http://127.0.0.1:9")  # nothing listens
    with pytest.raises(mlflow_runs.MlflowReadError, match="MLflow run x of"):
        mlflow_runs.run_metrics(APP, "x", credentials=CREDS)
