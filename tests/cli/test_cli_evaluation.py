"""``finetune evaluate`` and ``finetune results`` (CliRunner; AWS through moto)."""

from __future__ import annotations

import json

import boto3
import pytest
import test_cli as T
from moto import mock_aws

PACKAGE = f"arn:aws:sagemaker:{T.REGION}:{T.ACCOUNT}:model-package/support-v1/3"
EVALUATION = {"type": "benchmark", "model": {"accuracy": 0.82, "accuracy_stderr": 0.01}, "base": {"accuracy": 0.61},
              "delta": {"accuracy": 0.21}, "gate": {"metric": "accuracy", "min": 0.7, "passed": True,
                                                     "description": "Evaluation gate passed: accuracy 0.82 >= 0.7"},
              "model_package_arn": PACKAGE, "approval_status": "Approved", "jobs": {"fine_tuned": ["a"], "base": ["b"]}}


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "FINETUNE_STACK", "FINETUNE_STATE_MACHINE_ARN", "AWS_REGION", "FINETUNE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in (("AWS_DEFAULT_REGION", T.REGION), ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(var, value)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def aws():
    with mock_aws():
        yield
        sfn = boto3.client("stepfunctions", region_name=T.REGION)  # end any really-running execution (as test_cli does)
        for sm in sfn.list_state_machines()["stateMachines"]:
            for ex in sfn.list_executions(stateMachineArn=sm["stateMachineArn"], statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=ex["executionArn"])


def test_evaluate_dry_run_builds_a_mode_evaluate_input():
    result = T.run("evaluate", "-m", PACKAGE, "--type", "benchmark", "--benchmark", "mmlu", "--compare-to-base",
                   "--gate-metric", "accuracy", "--gate-min", "0.7", "--tag", "team=ml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"mode": "evaluate", "model": PACKAGE, "tags": {"team": "ml"}, "evaluation": {
        "type": "benchmark", "benchmark": "mmlu", "compare_to_base": True, "gate": {"metric": "accuracy", "min": 0.7}}}


def test_evaluate_refuses_a_bad_input_before_any_call():
    result = T.run("evaluate", "--type", "benchmark", "--gate-min", "0.7")
    assert result.exit_code != 0 and "evaluation.gate.metric" in result.stderr, result.output


def test_evaluate_starts_the_stack_state_machine(aws):
    T.stack()
    result = T.run("evaluate", "--type", "custom_scorer", "-d", "s3://my-bucket/datasets/eval.jsonl", "--evaluator", "prime_math")
    assert result.exit_code == 0, result.output
    arn = result.stdout.strip()
    started = json.loads(T.describe(arn)["input"])
    assert started["mode"] == "evaluate" and started["evaluation"]["evaluator"] == "prime_math"


def test_results_prints_the_table_and_plots(aws, monkeypatch, tmp_path):
    T.stack()
    T._start("run-1")
    T.overlay(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps({"training_job_name": "j", "evaluation": EVALUATION})})
    table = T.run("results", "run-1")
    assert table.exit_code == 0, table.output
    assert "accuracy" in table.stdout and "0.8200" in table.stdout and "+0.2100" in table.stdout and "stderr" not in table.stdout
    assert "gate: passed" in table.stdout and "(Approved)" in table.stdout
    data = json.loads(T.run("results", "run-1", "--json", "--plot", str(tmp_path / "r.png")).stdout)
    assert data["metrics"] == [{"metric": "accuracy", "model": 0.82, "base": 0.61, "delta": 0.21}]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_of_a_run_without_evaluation_or_output(aws, monkeypatch):
    T.stack()
    T._start("run-2")
    fields = T.overlay(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps({"training_job_name": "j", "evaluation": None})})
    T.one_error_line(T.run("results", "run-2"), "has no evaluation")
    fields.update(status="FAILED", output=None, error="EvaluationGateFailed", cause="accuracy 0.5 is below the minimum 0.7")
    T.one_error_line(T.run("results", "run-2"), "EvaluationGateFailed: accuracy 0.5 is below the minimum 0.7")
