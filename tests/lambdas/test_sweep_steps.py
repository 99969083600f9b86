"""The sweep steps' AWS side (lambda_src/workflow/sweep_steps.py): moto's S3 for the work files, a botocore Stubber
for SageMaker (every approval request validated against the service model), the real recipe of the default model."""

from __future__ import annotations

import json
from typing import Any

import boto3
import hub_fixtures as catalog
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core.errors import BudgetExceeded, EvaluationGateFailed, HyperparameterNotTunable, HyperparameterOutOfRange, SweepFailed
from sagemaker_finetuning.core.recipes import OVERRIDE_PARAMS_KEY, select_recipe
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.core.validation import validate_input
from sagemaker_finetuning.lambda_src.workflow import sweep_steps as steps

REGION, ACCOUNT = "us-east-1", "123456789012"
EXEC = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sm:sweep-1"
CHILD = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sm/Sweep:0f1e"
SETTINGS = StackSettings(region=REGION, account=ACCOUNT, partition="aws", role_arn=f"arn:aws:iam::{ACCOUNT}:role/ft", bucket="ft-bucket",
                         model_package_group_name="grp", base_model=catalog.DEFAULT_MODEL_ID)
WORK = {"bucket": "ft-bucket", "prefix": "outputs/dataset-validation/"}
SUMMARY = {"mode": "full", "training_dataset": {"records": 10, "bytes": 4000, "text_chars": 4000}}


def package(i: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/grp/{i}"


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="ft-bucket")
        sm = boto3.client("sagemaker", region_name=REGION)
        stub = Stubber(sm)
        stub.activate()
        monkeypatch.setattr(steps, "client", lambda name: {"s3": s3, "sagemaker": sm}[name])
        monkeypatch.setattr(steps, "settings", lambda: SETTINGS)
        yield s3, stub
        stub.assert_no_pending_responses()


def resolution() -> dict[str, Any]:
    desc = catalog.describe_hub_content(REGION, catalog.DEFAULT_MODEL_ID)
    resolved = P.ResolvedModel.from_hub(desc, json.loads(desc["HubContentDocument"]))
    recipe = select_recipe(resolved.recipes, resolved.model_id, "SFT", "LORA", None)
    document = json.loads(catalog.recipe_objects(REGION)[recipe[OVERRIDE_PARAMS_KEY]])
    return {"resolved": resolved.to_dict(), "override_params": document.get("params", document)}


def sweep_input(sweep: dict[str, Any], **extra: Any) -> dict[str, Any]:
    raw = {"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/train.jsonl", "evaluation": {"type": "benchmark", "benchmark": "mmlu"},
           "sweep": {"objective": {"metric": "accuracy"}, **sweep}, **extra}
    return validate_input(raw, SETTINGS)


def plan(inp: dict[str, Any]) -> dict[str, Any]:
    return steps.plan({"input": inp, "resolution": resolution(), "dataset_validation": SUMMARY, "execution_arn": EXEC, "work": WORK})


def test_plan_checks_every_configuration_with_the_recipe_and_writes_the_trials(aws):
    s3, _ = aws
    inp = sweep_input({"hyperparameters": {"learning_rate": [1e-5, 5e-5], "max_epochs": [1, 3]}, "max_concurrency": 2})
    out = plan(inp)
    assert (out["count"], out["max_concurrency"], out["tolerated_failure_percentage"]) == (4, 2, 50)
    assert out["objective"] == {"metric": "accuracy", "goal": "maximize", "source": "evaluation"}
    assert out["budget"]["estimated_tokens"] == 1000 * (1 + 3 + 1 + 3) and out["budget"]["epochs"] == [1, 3, 1, 3]
    where = out["items_location"]
    assert where["Key"].startswith("outputs/dataset-validation/sweeps/") and out["records"]["Prefix"] == where["Key"].replace("items.json", "trials/")
    items = json.loads(s3.get_object(Bucket=where["Bucket"], Key=where["Key"])["Body"].read())
    assert [i["index"] for i in items] == [0, 1, 2, 3] and items[3]["configuration"] == {"learning_rate": 5e-5, "max_epochs": 3}
    assert items[3]["input"]["hyperparameters"] == {"learning_rate": 5e-5, "max_epochs": 3} and "sweep" not in items[3]["input"]
    assert items[0]["model_id"] == catalog.DEFAULT_MODEL_ID


def test_every_bad_configuration_is_named_and_nothing_is_written(aws):
    s3, _ = aws
    inp = sweep_input({"configurations": [{"learning_rate": 1e-5}, {"learning_rate": 0.5}, {"lora_rank": 12}, {"train_batch_size": 4}]})
    with pytest.raises(HyperparameterOutOfRange) as caught:
        plan(inp)
    messages = [str(p) for p in caught.value.problems]
    assert messages[0].startswith('sweep configuration 1 {"learning_rate": 0.5}: hyperparameters.learning_rate: received 0.5')
    assert messages[1].startswith('sweep configuration 2 {"lora_rank": 12}: hyperparameters.lora_rank: received 12')
    assert any(m.startswith("sweep configuration 3") for m in messages) and len(messages) == 3
    assert s3.list_objects_v2(Bucket="ft-bucket").get("KeyCount", 0) == 0
    with pytest.raises(HyperparameterNotTunable, match=r'sweep configuration 0 \{"mlflow_tracking_uri": "x"\}: hyperparameters.mlflow_tracking_uri'):
        plan(sweep_input({"configurations": [{"mlflow_tracking_uri": "x"}]}))


def test_the_budget_is_for_all_configurations_together(aws):
    s3, _ = aws
    inp = sweep_input({"hyperparameters": {"max_epochs": [1, 2]}}, budget={"max_tokens": 2999})
    with pytest.raises(BudgetExceeded, match=r"the sweep's \(2 configurations, summed\) estimate of 3000 tokens"):
        plan(inp)
    assert s3.list_objects_v2(Bucket="ft-bucket").get("KeyCount", 0) == 0
    assert plan(sweep_input({"hyperparameters": {"max_epochs": [1, 2]}}, budget={"max_tokens": 3000}))["budget"]["max_tokens"] == 3000


def planned(s3: Any, count: int, **over: Any) -> dict[str, Any]:
    base = "outputs/dataset-validation/sweeps/abc/"
    items = [{"index": i, "configuration": {"lr": i}, "input": {"technique": "SFT"}, "model_id": catalog.DEFAULT_MODEL_ID} for i in range(count)]
    s3.put_object(Bucket="ft-bucket", Key=f"{base}items.json", Body=json.dumps(items).encode())
    return {"count": count, "max_concurrency": 2, "tolerated_failure_percentage": 50, "objective": {"metric": "accuracy", "goal": "maximize",
            "source": "evaluation"}, "items_location": {"Bucket": "ft-bucket", "Key": f"{base}items.json"},
            "records": {"Bucket": "ft-bucket", "Prefix": f"{base}trials/"}, "budget": None, **over}


def output(i: int, accuracy: float) -> dict[str, Any]:
    return {"training_job_name": f"job-{i}", "output_model_package_arn": package(i), "billable_token_count": 100 + i,
            "evaluation": {"type": "benchmark", "model": {"accuracy": accuracy}, "base": None, "gate": None, "approval_status": "PendingManualApproval"},
            "sweep": None}


def record(plan_: dict[str, Any], i: int, out: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> None:
    item = {"index": i, "configuration": {"lr": i}, "input": {"technique": "SFT"}, "model_id": catalog.DEFAULT_MODEL_ID}
    event = {"item": item, "records": plan_["records"], "execution_arn": CHILD, "fragment": "Stack/FineTuning/Workflow/Trial"}
    assert steps.record({**event, "output": out} if error is None else {**event, "error": error}) == {"index": i, "failed": error is not None}


def approvals(stub: Stubber, decided: dict[int, str]) -> None:
    for i, status in decided.items():
        stub.add_response("update_model_package", {"ModelPackageArn": package(i)},
                          {"ModelPackageArn": package(i), "ModelApprovalStatus": status, "ApprovalDescription": stub_any()})


def stub_any() -> Any:
    from botocore.stub import ANY

    return ANY


def test_summarize_approves_the_best_rejects_the_others_and_reports_the_failed(aws):
    s3, stub = aws
    plan_ = planned(s3, 4)
    for i, accuracy in ((0, 0.61), (1, 0.74), (3, 0.74)):
        record(plan_, i, output(i, accuracy))
    record(plan_, 2, error={"Error": "TrainingJobFailed", "Cause": "AlgorithmError: boom"})
    approvals(stub, {0: "Rejected", 1: "Approved", 3: "Rejected"})
    out = steps.summarize({"input": {"evaluation": {"type": "benchmark"}}, "sweep_plan": plan_})
    table = out["sweep"]
    assert table["best"] == 1 and out["training_job_name"] == "job-1" and out["evaluation"]["approval_status"] == "Approved"
    assert (table["succeeded"], table["failed"]) == (3, 1) and table["budget"]["billable_token_count"] == 100 + 101 + 103
    failed = table["configurations"][2]
    assert (failed["status"], failed["error"], failed["cause"]) == ("Failed", "TrainingJobFailed", "AlgorithmError: boom")
    assert failed["training_job_name"].startswith("huggingface-reasoning-qwen3-06b-sft-")  # the job its child execution named
    assert [r["approval_status"] for r in table["configurations"]] == ["Rejected", "Approved", None, "Rejected"]
    assert s3.list_objects_v2(Bucket="ft-bucket").get("KeyCount", 0) == 0, "the work files are deleted"


def test_a_retried_summary_finds_every_record_when_an_approval_failed(aws):
    """The work files go only once every package is decided: SummarizeSweep retried after a failed approval decides the same."""
    s3, stub = aws
    plan_ = planned(s3, 2)
    record(plan_, 0, output(0, 0.6))
    record(plan_, 1, output(1, 0.7))
    stub.add_client_error("update_model_package", "ThrottlingException", "Rate exceeded")
    with pytest.raises(Exception, match="Rate exceeded"):
        steps.summarize({"input": {}, "sweep_plan": plan_})
    approvals(stub, {0: "Rejected", 1: "Approved"})
    assert steps.summarize({"input": {}, "sweep_plan": plan_})["sweep"]["best"] == 1
    assert s3.list_objects_v2(Bucket="ft-bucket").get("KeyCount", 0) == 0


def test_too_many_failures_or_no_objective_fail_the_sweep_and_reject_everything(aws):
    s3, stub = aws
    plan_ = planned(s3, 3, tolerated_failure_percentage=0)
    record(plan_, 0, output(0, 0.9))
    record(plan_, 1, error={"Error": "InvalidInput", "Cause": json.dumps({"errorMessage": "hyperparameters.x: received 1"})})
    approvals(stub, {0: "Rejected"})
    with pytest.raises(SweepFailed, match=r"2 of 3 configurations failed \(tolerated: 0%\).*configuration 1: InvalidInput.*configuration 2: NotRun"):
        steps.summarize({"input": {}, "sweep_plan": plan_})
    plan_ = planned(s3, 1)
    record(plan_, 0, output(0, float("nan")))
    approvals(stub, {0: "Rejected"})
    with pytest.raises(SweepFailed, match="no configuration reported accuracy"):
        steps.summarize({"input": {}, "sweep_plan": plan_})


def test_the_gate_judges_the_best_only(aws):
    s3, stub = aws
    gate = {"metric": "accuracy", "min": 0.8}
    plan_ = planned(s3, 2)
    record(plan_, 0, output(0, 0.7))
    record(plan_, 1, output(1, 0.85))
    approvals(stub, {0: "Rejected", 1: "Approved"})
    out = steps.summarize({"input": {"evaluation": {"type": "benchmark", "gate": gate}}, "sweep_plan": plan_})
    assert out["evaluation"]["gate"]["passed"] is True and out["sweep"]["best"] == 1
    plan_ = planned(s3, 2, objective={"metric": "accuracy", "goal": "minimize", "source": "evaluation"})
    record(plan_, 0, output(0, 0.7))
    record(plan_, 1, output(1, 0.85))
    approvals(stub, {0: "Rejected", 1: "Rejected"})
    with pytest.raises(EvaluationGateFailed, match="accuracy 0.7 is below the minimum 0.8: the sweep's best configuration 0"):
        steps.summarize({"input": {"evaluation": {"type": "benchmark", "gate": gate}}, "sweep_plan": plan_})


def test_without_evaluation_the_objective_is_the_final_training_metric_of_each_mlflow_run(aws, monkeypatch):
    s3, stub = aws
    mlflow = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1"
    losses = {"run-0": {"val_eval_total_loss": 0.61}, "run-1": {"val_eval_total_loss": 0.38}, "run-2": {"total_loss": 0.5}}

    def run_metrics(arn: str, run_id: str) -> dict[str, float]:
        assert arn == mlflow
        if run_id == "run-3":
            raise steps.mlflow_runs.MlflowReadError("MLflow run run-3: HTTP 403 PERMISSION_DENIED")
        return losses[run_id]

    monkeypatch.setattr(steps.mlflow_runs, "run_metrics", run_metrics)
    plan_ = planned(s3, 4, objective={"metric": "val_eval_total_loss", "goal": "minimize", "source": "mlflow"})
    for i in range(4):
        record(plan_, i, {**output(i, 0.0), "evaluation": None, "mlflow_run_id": f"run-{i}", "mlflow_resource_arn": mlflow})
    approvals(stub, {0: "Rejected", 1: "Approved", 2: "Rejected", 3: "Rejected"})
    out = steps.summarize({"input": {}, "sweep_plan": plan_})
    rows = out["sweep"]["configurations"]
    assert out["sweep"]["best"] == 1 and [r["objective"] for r in rows] == [0.61, 0.38, None, None] and out["evaluation"] is None
    assert rows[2]["cause"] == "MLflow run run-2 has no val_eval_total_loss (it logged: total_loss)"
    assert rows[3]["cause"] == "MLflow run run-3: HTTP 403 PERMISSION_DENIED" and rows[3]["status"] == "Completed"


def test_a_hundred_configurations_keep_every_state_small(aws):
    """Scale: 100 configurations (a stack with max_sweep_configurations >= 100) at concurrency 10. The trials go through S3,
    so PlanSweep's state does not grow with the count, and the table of 100 fits a state (256 KB) with room to spare."""
    s3, stub = aws
    settings = StackSettings(**{**SETTINGS.__dict__, "max_sweep_configurations": 100})
    grid = {"learning_rate": [round(1e-6 * (i + 1), 7) for i in range(25)], "lora_rank": [8, 16, 32, 64]}
    inp = validate_input({"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/train.jsonl",
                          "evaluation": {"type": "benchmark", "benchmark": "mmlu"},
                          "sweep": {"hyperparameters": grid, "max_concurrency": 10, "objective": {"metric": "accuracy"}}}, settings)
    out = plan(inp)
    assert out["count"] == 100 and out["max_concurrency"] == 10 and len(json.dumps(out)) < 2048
    items = json.loads(s3.get_object(**out["items_location"])["Body"].read())
    assert len(items) == 100 and len({json.dumps(i["configuration"], sort_keys=True) for i in items}) == 100
    plan_ = planned(s3, 100)
    for i in range(100):
        record(plan_, i, output(i, 0.5 + i / 1000))
    approvals(stub, {i: "Approved" if i == 99 else "Rejected" for i in range(100)})
    summary = steps.summarize({"input": {}, "sweep_plan": plan_})
    assert summary["sweep"]["best"] == 99 and len(json.dumps(summary)) < 100 * 1024
