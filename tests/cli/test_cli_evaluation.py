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


def test_sweep_dry_run_builds_the_grid_and_the_evaluation(tmp_path):
    result = T.run("sweep", "-t", "sft", "-d", "s3://my-bucket/datasets/train.jsonl", "--benchmark", "mmlu", "--objective", "accuracy",
                   "-g", "learning_rate=1e-5,5e-5", "-g", "lora_rank=8,16", "--max-concurrency", "2", "--budget", "1000000", "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "technique": "SFT", "training_dataset": "s3://my-bucket/datasets/train.jsonl", "evaluation": {"type": "benchmark", "benchmark": "mmlu"},
        "budget": {"max_tokens": 1000000},
        "sweep": {"hyperparameters": {"learning_rate": [1e-5, 5e-5], "lora_rank": [8, 16]}, "max_concurrency": 2,
                  "objective": {"metric": "accuracy", "goal": "maximize"}}}
    (tmp_path / "configs.json").write_text(json.dumps([{"learning_rate": 1e-5}, {"learning_rate": 5e-5}]))
    (tmp_path / "run.json").write_text(json.dumps({"technique": "SFT", "training_dataset": "s3://my-bucket/t.jsonl"}))
    result = T.run("sweep", "-i", str(tmp_path / "run.json"), "--configurations", str(tmp_path / "configs.json"), "--objective",
                   "val_eval_total_loss", "--goal", "minimize", "--dry-run")
    assert json.loads(result.stdout)["sweep"] == {"configurations": [{"learning_rate": 1e-5}, {"learning_rate": 5e-5}],
                                                  "objective": {"metric": "val_eval_total_loss", "goal": "minimize"}}


def test_sweep_refuses_bad_options_before_any_call(tmp_path):
    result = T.run("sweep", "-t", "SFT", "-d", "s3://my-bucket/t.jsonl", "--objective", "accuracy")
    assert result.exit_code != 0 and "either --grid" in result.output
    result = T.run("sweep", "-t", "SFT", "-d", "s3://my-bucket/t.jsonl", "--objective", "accuracy", "-g", "learning_rate", "--dry-run")
    assert result.exit_code != 0 and "expected KEY=VALUE" in result.output
    (tmp_path / "configs.json").write_text(json.dumps({"learning_rate": 1e-5}))
    result = T.run("sweep", "-t", "SFT", "-d", "s3://my-bucket/t.jsonl", "--objective", "accuracy", "--configurations", str(tmp_path / "configs.json"))
    assert result.exit_code != 0 and "expected a JSON list" in result.stderr
    result = T.run("sweep", "-t", "SFT", "-d", "s3://my-bucket/t.jsonl", "--objective", "accuracy", "-g", "learning_rate=1e-5", "--max-concurrency", "0")
    assert result.exit_code != 0 and "--max-concurrency" in result.output


SWEEP = {"objective": {"metric": "accuracy", "goal": "maximize", "source": "evaluation"}, "best": 1, "count": 3, "succeeded": 2, "failed": 1,
         "tolerated_failure_percentage": 50, "max_concurrency": 2, "budget": {"billable_token_count": 300},
         "configurations": [
             {"index": 0, "configuration": {"learning_rate": 1e-5}, "status": "Completed", "training_job_name": "j0", "objective": 0.71,
              "billable_token_count": 100, "model_package_arn": PACKAGE, "approval_status": "Rejected", "error": None, "cause": None},
             {"index": 1, "configuration": {"learning_rate": 5e-5}, "status": "Completed", "training_job_name": "j1", "objective": 0.82,
              "billable_token_count": 200, "model_package_arn": PACKAGE, "approval_status": "Approved", "error": None, "cause": None},
             {"index": 2, "configuration": {"learning_rate": 1e-4}, "status": "Failed", "training_job_name": "j2", "objective": None,
              "billable_token_count": None, "model_package_arn": None, "approval_status": None, "error": "TrainingJobFailed", "cause": "boom"}]}


def test_results_of_a_sweep_prints_its_table_and_plots_the_objective(aws, monkeypatch, tmp_path):
    T.stack()
    T._start("sweep-1")
    T.overlay(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps({"training_job_name": "j1", "evaluation": EVALUATION, "sweep": SWEEP})})
    shown = T.run("results", "sweep-1")
    assert shown.exit_code == 0, shown.output
    assert "sweep: accuracy (maximize); 2 completed, 1 failed" in shown.stdout and "learning_rate=5e-05" in shown.stdout
    assert "1*" in shown.stdout and "Failed: TrainingJobFailed" in shown.stdout and "0.8200" in shown.stdout
    data = json.loads(T.run("results", "sweep-1", "--json", "--plot", str(tmp_path / "s.png")).stdout)
    assert data["sweep"]["best"] == 1 and [r["objective"] for r in data["sweep"]["configurations"]] == [0.71, 0.82, None]
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
