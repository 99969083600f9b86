"""``finetune doctor`` against the app deployed on the local emulator: every check runs against the
real stack (Step Functions TestState / ValidateStateMachineDefinition, the hub, S3, IAM simulation,
Bedrock, MLflow), and a base model removed from the hub fails with a fix."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sagemaker_finetuning.cli import cli

from .conftest import MLFLOW_ARN

pytestmark = pytest.mark.e2e


@pytest.fixture
def doctor(harness, monkeypatch):
    for key, value in harness.emu.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # The stack was deployed with this ARN; MLflow apps get generated ids, so register it by ARN.
    harness.control.register_mlflow(MLFLOW_ARN)

    def run(*args: str):
        return CliRunner().invoke(cli, ["doctor", *args], catch_exceptions=False)

    return run


def _report(result) -> dict:
    return json.loads(result.stdout)


def _base_model(harness) -> str:
    """The stack's default base model, as its workflow function is configured (not hard-coded)."""
    cfn = harness.emu_clients("cloudformation")
    lam = harness.emu_clients("lambda")
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName="SageMakerFineTuning"):
        for res in page["StackResourceSummaries"]:
            if res["ResourceType"] == "AWS::Lambda::Function":
                env = lam.get_function_configuration(FunctionName=res["PhysicalResourceId"]).get("Environment", {}).get("Variables", {})
                if "FINETUNE_SETTINGS" in env:
                    return json.loads(env["FINETUNE_SETTINGS"])["base_model"]
    raise AssertionError("no workflow function with FINETUNE_SETTINGS")


def test_doctor_passes_on_the_deployed_stack(doctor, harness):
    result = doctor()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "stack SageMakerFineTuning" in lines[0]
    for check in ("stack", "settings", "definition", "base-model", "recipes", "recipes-role", "create-training-job", "judge", "mlflow",
                  "mlflow-runs", "datasets", "reward"):
        assert any(line.startswith("PASS") and f" {check} " in line for line in lines), (check, result.output)
    assert lines[-1] == "12 passed, 0 failed, 0 skipped", result.output

    as_json = doctor("--json")
    assert as_json.exit_code == 0, as_json.output
    report = _report(as_json)
    assert report["ok"] is True and report["stack"] == "SageMakerFineTuning" and report["region"] == "us-east-1"
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["create-training-job"]["data"]["state"] == "CreateTrainingJobWithMlflow"  # the stack logs to MLflow
    assert "ServerlessJobConfig" in by_id["create-training-job"]["data"]["fields"]
    assert by_id["base-model"]["data"]["model"] == _base_model(harness)
    assert by_id["reward"]["data"]["functions"] and by_id["judge"]["data"]["lifecycle"]  # the library reward function, the judge


def test_doctor_fails_with_a_fix_when_the_base_model_is_not_in_the_hub(doctor, harness):
    model = _base_model(harness)
    with harness.control.hub_model_removed(model):
        result = doctor()
        as_json = doctor("--json")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    failing = [i for i, line in enumerate(lines) if line.startswith("FAIL")]
    assert len(failing) == 1 and " base-model " in lines[failing[0]] and model in lines[failing[0]], result.output
    assert "fix:" in lines[failing[0] + 1] and "base model" in lines[failing[0] + 1]
    # what needs the model is skipped, not failed; the rest still runs
    for check in ("recipes", "recipes-role", "create-training-job"):
        assert any(line.startswith("SKIP") and f" {check} " in line and "needs" in line for line in lines), (check, result.output)
    assert any(line.startswith("PASS") and " judge " in line for line in lines)

    report = _report(as_json)
    assert as_json.exit_code == 1 and report["ok"] is False
    base = next(c for c in report["checks"] if c["id"] == "base-model")
    assert base["status"] == "fail" and base["fix"]

    assert doctor().exit_code == 0  # restored: the hub has the model again
