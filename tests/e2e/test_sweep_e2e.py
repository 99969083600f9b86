"""Sweeps on the deployed app: every configuration of a grid trained (and evaluated) in a child of a Distributed
Map, at most max_concurrency at once; the best model package approved, the others rejected; a failed
configuration tolerated and reported; an aborted sweep stops its running jobs; the budget of all
configurations checked before anything launches. The evaluation metrics are the emulator's deterministic
SIMULATED values (a hash of each evaluation job's name), so the configurations differ and the test
computes the expected best from what the jobs reported, not from a fixed answer."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Iterator

import jsonschema
import pytest

from sagemaker_finetuning.core.tracking import OUTPUT_SCHEMA_PATH

pytestmark = pytest.mark.e2e

GRID = {"learning_rate": [0.00001, 0.00005], "lora_rank": [8, 16]}
MMLU = {"type": "benchmark", "benchmark": "mmlu"}


#: The sweeps' jobs (training and evaluation) take a second of simulated time (the suite's default is 3 s).
FAST = {"sim:duration-seconds": "1"}


def _sweep(harness, **sweep) -> dict:
    block = {"hyperparameters": GRID, "max_concurrency": 2, "objective": {"metric": "accuracy", "goal": "maximize"}, **sweep}
    return {"technique": "SFT", "training_dataset": harness.uris["sft"], "evaluation": MMLU, "sweep": block, "tags": dict(FAST)}


def _two(payload: dict) -> dict:
    """The payload's sweep with two configurations instead of the 2 x 2 grid."""
    sweep = {k: v for k, v in payload["sweep"].items() if k != "hyperparameters"}
    return {**payload, "sweep": {**sweep, "configurations": [{"learning_rate": 0.00001}, {"learning_rate": 0.00005}]}}


def _training_jobs(harness, names: list[str]) -> list[dict]:
    return [harness.sm.describe_training_job(TrainingJobName=n) for n in names]


def _most_at_once(jobs: list[dict]) -> int:
    """The largest number of the jobs running at the same moment (creation to end)."""
    edges = sorted([(j["CreationTime"], 1) for j in jobs] + [(j.get("TrainingEndTime") or j["LastModifiedTime"], -1) for j in jobs],
                   key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_a_two_by_two_grid_trains_four_jobs_two_at_a_time_and_approves_the_best(harness):
    desc = harness.run(_sweep(harness), timeout=300)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    out = json.loads(desc["output"])
    jsonschema.validate(out, json.loads(OUTPUT_SCHEMA_PATH.read_text()))
    table = out["sweep"]
    rows = table["configurations"]
    assert [r["configuration"] for r in rows] == [{"learning_rate": lr, "lora_rank": r} for lr in GRID["learning_rate"] for r in GRID["lora_rank"]]
    assert table["count"] == 4 and table["succeeded"] == 4 and table["failed"] == 0
    jobs = _training_jobs(harness, [r["training_job_name"] for r in rows])
    assert len({j["TrainingJobName"] for j in jobs}) == 4
    for row, job in zip(rows, jobs, strict=True):
        assert job["HyperParameters"]["learning_rate"] == str(row["configuration"]["learning_rate"])
        assert job["HyperParameters"]["lora_rank"] == str(row["configuration"]["lora_rank"])
    assert _most_at_once(jobs) <= 2
    best = max(rows, key=lambda r: (r["objective"], -r["index"]))
    assert table["best"] == best["index"] and out["training_job_name"] == best["training_job_name"]
    assert out["evaluation"]["model"]["accuracy"] == best["objective"]
    for row in rows:
        package = harness.sm.describe_model_package(ModelPackageName=row["model_package_arn"])
        expected = "Approved" if row is best else "Rejected"
        assert package["ModelApprovalStatus"] == row["approval_status"] == expected
        assert package["CustomerMetadataProperties"]["evaluation:accuracy"] == f"{row['objective']:.6g}"
    assert table["budget"]["billable_token_count"] == sum(j["BillableTokenCount"] for j in jobs)
    # The sweep's own transitions: the dataset validated once for all configurations, then three states; the children's
    # states are in their own executions (AWS; the emulator runs them inside the Map without a history of their own).
    entered = [e["stateEnteredEventDetails"]["name"] for e in harness.history(desc["executionArn"]) if "stateEnteredEventDetails" in e]
    assert entered == ["ReceiveInput", "ValidateInput", "Mode?", "ResolveBaseModel", "CheckDatasets", "ListDatasetParts",
                       "FanOutDatasetValidation?", "ValidateDatasetParts", "ValidateDatasetPart", "MergeDatasetValidation", "Sweep?",
                       "PlanSweep", "RunSweep", "SummarizeSweep", "SweepCompleted"], entered


def _tagged(harness, payload: dict) -> tuple[dict, str]:
    """The payload with a tag of its own, which every configuration's jobs carry (to find this sweep's jobs)."""
    run = uuid.uuid4().hex[:12]
    return {**payload, "tags": {**payload.get("tags", {}), "e2e-sweep": run}}, run


def _sweep_jobs(harness, run: str, timeout: float, count: int, where=lambda job: True) -> list[dict]:
    """The training jobs (not evaluation jobs) of the sweep tagged ``run`` that satisfy ``where``, once there are ``count``."""
    deadline = time.monotonic() + timeout
    while True:
        names = [j["TrainingJobName"] for j in harness.sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]]
        jobs = [d for d in _training_jobs(harness, names) if d["ServerlessJobConfig"].get("JobType") != "Evaluation"
                and {"Key": "e2e-sweep", "Value": run} in harness.sm.list_tags(ResourceArn=d["TrainingJobArn"])["Tags"] and where(d)]
        if len(jobs) >= count or time.monotonic() > deadline:
            return jobs
        time.sleep(0.2)


@contextlib.contextmanager
def _frozen(harness) -> Iterator[None]:
    """Simulated jobs (nearly) stand still meanwhile: a job found running can be made to fail before it completes."""
    speed = harness.control.sim_settings()["speed"]
    harness.control.set_sim(speed=0.0001)
    try:
        yield
    finally:
        harness.control.set_sim(speed=speed)


def _fail_one(harness, payload: dict, run: str, learning_rate: str) -> tuple[str, dict]:
    """Start the sweep and make the job of the configuration with ``learning_rate`` fail; returns the execution and job."""
    with _frozen(harness):
        arn = harness.start(payload)
        [job] = _sweep_jobs(harness, run, 60, 1, _config(learning_rate))
        harness.control.force_outcome(job["TrainingJobName"], "Failed", "AlgorithmError: injected by the test")
    return arn, job


def _config(learning_rate: str, lora_rank: str | None = None):
    return lambda job: job["HyperParameters"]["learning_rate"] == learning_rate and lora_rank in (None, job["HyperParameters"]["lora_rank"])


def test_a_failed_configuration_is_tolerated_and_reported(harness):
    payload, run = _tagged(harness, _two(_sweep(harness, tolerated_failure_percentage=50)))
    arn, first = _fail_one(harness, payload, run, "1e-05")
    desc = harness.wait(arn, timeout=300)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    table = json.loads(desc["output"])["sweep"]
    assert (table["succeeded"], table["failed"]) == (1, 1)
    failed = [r for r in table["configurations"] if r["status"] == "Failed"]
    assert len(failed) == 1 and failed[0]["index"] == 0 and failed[0]["error"] == "TrainingJobFailed"
    assert failed[0]["training_job_name"] == first["TrainingJobName"] and "injected by the test" in failed[0]["cause"]
    assert failed[0]["objective"] is None and failed[0]["approval_status"] is None
    [done] = [r for r in table["configurations"] if r["status"] == "Completed"]
    assert table["best"] == done["index"] == 1 and done["approval_status"] == "Approved"


def test_more_failures_than_tolerated_fail_the_sweep_and_approve_nothing(harness):
    payload, run = _tagged(harness, _two(_sweep(harness, tolerated_failure_percentage=0)))
    arn, _ = _fail_one(harness, payload, run, "1e-05")
    desc = harness.wait(arn, timeout=300)
    assert desc["status"] == "FAILED" and desc["error"] == "SweepFailed", (desc.get("error"), desc.get("cause"))
    assert "1 of 2 configurations failed (tolerated: 0%)" in desc["cause"] and "TrainingJobFailed" in desc["cause"]
    for job in _sweep_jobs(harness, run, 1, 2):
        package = job.get("OutputModelPackageArn")
        if package:
            assert harness.sm.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "Rejected"


def test_aborting_a_sweep_stops_its_running_jobs(harness):
    payload, run = _tagged(harness, {**_sweep(harness), "tags": {"sim:duration-seconds": "120"}})  # still running when aborted
    arn = harness.start(payload)
    running = _sweep_jobs(harness, run, 60, 2)
    for job in running:
        harness.wait_job(job["TrainingJobName"], {"InProgress"})
    harness.sfn.stop_execution(executionArn=arn, error="Aborted", cause="test")
    for job in running:
        assert harness.wait_job(job["TrainingJobName"], {"Stopped", "Stopping"}, timeout=30)["TrainingJobStatus"] in ("Stopped", "Stopping")
    time.sleep(2)
    assert len(_sweep_jobs(harness, run, 0, 0)) == 2  # the other two configurations never launched


def test_a_budget_for_all_configurations_is_checked_before_any_job(harness):
    payload, run = _tagged(harness, {**_sweep(harness), "budget": {"max_tokens": 1}})
    desc = harness.run(payload, timeout=120)
    assert desc["status"] == "FAILED" and desc["error"] == "BudgetExceeded", (desc.get("error"), desc.get("cause"))
    assert "the sweep's (4 configurations, summed) estimate of" in desc["cause"]
    assert _sweep_jobs(harness, run, 0, 0) == []


def test_a_configuration_outside_the_recipe_is_named_before_any_job(harness):
    payload, run = _tagged(harness, {**_sweep(harness), "sweep": {"configurations": [{"learning_rate": 0.00001}, {"learning_rate": 0.5}],
                                                                   "objective": {"metric": "accuracy"}}})
    desc = harness.run(payload, timeout=120)
    assert desc["status"] == "FAILED" and desc["error"] == "HyperparameterOutOfRange", (desc.get("error"), desc.get("cause"))
    assert 'sweep configuration 1 {"learning_rate": 0.5}: hyperparameters.learning_rate' in desc["cause"]
    assert _sweep_jobs(harness, run, 0, 0) == []


def test_a_grid_above_the_stack_cap_is_refused_by_name(harness):
    grid = {"learning_rate": [0.00001 * (i + 1) for i in range(8)], "lora_rank": [8, 16, 32, 64, 128], "seed": [1, 2]}
    desc = harness.run({**_sweep(harness), "sweep": {"hyperparameters": grid, "objective": {"metric": "accuracy"}}}, timeout=60)
    assert desc["status"] == "FAILED" and desc["error"] == "SweepTooLarge", (desc.get("error"), desc.get("cause"))
    assert "sweep.hyperparameters: received \"80 configurations\"; expected at most 50 configurations" in desc["cause"]


def test_without_evaluation_the_final_mlflow_metric_ranks_the_configurations(harness, monkeypatch):
    """The stack has an MLflow app: each job's run is read (the emulator serves SIMULATED final metrics for it)."""
    from botocore.credentials import Credentials

    from sagemaker_finetuning.lambda_src.workflow import mlflow_runs

    payload = {"technique": "SFT", "training_dataset": harness.uris["sft"], "tags": dict(FAST),
               "sweep": {"configurations": [{"learning_rate": 0.00001}, {"learning_rate": 0.00005}, {"learning_rate": 0.0001}],
                         "max_concurrency": 3, "objective": {"metric": "val_eval_total_loss", "goal": "minimize"}}}
    desc = harness.run(payload, timeout=300)
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    out = json.loads(desc["output"])
    table = out["sweep"]
    assert table["objective"] == {"metric": "val_eval_total_loss", "goal": "minimize", "source": "mlflow"} and out["evaluation"] is None
    monkeypatch.setenv(mlflow_runs.ENDPOINT_ENV, harness.control.mlflow_endpoint_url)
    for row in table["configurations"]:
        job = harness.sm.describe_training_job(TrainingJobName=row["training_job_name"])
        logged = mlflow_runs.run_metrics(job["MlflowConfig"]["MlflowResourceArn"], job["MlflowDetails"]["MlflowRunId"],
                                         credentials=Credentials("testing", "testing"))
        assert row["objective"] == logged["val_eval_total_loss"]
    best = min(table["configurations"], key=lambda r: (r["objective"], r["index"]))
    assert table["best"] == best["index"] and out["training_job_name"] == best["training_job_name"]
    assert sorted(r["approval_status"] for r in table["configurations"]) == ["Approved", "Rejected", "Rejected"]


def test_a_gate_judges_the_best_and_a_best_below_it_approves_nothing(harness):
    payload, run = _tagged(harness, _two(_sweep(harness)))
    payload["evaluation"] = {**MMLU, "gate": {"metric": "accuracy", "min": 0.95}}  # the emulator's accuracies are 0.5-0.9
    desc = harness.run(payload, timeout=300)
    assert desc["status"] == "FAILED" and desc["error"] == "EvaluationGateFailed", (desc.get("error"), desc.get("cause"))
    assert "is below the minimum 0.95: the sweep's best configuration" in desc["cause"]
    jobs = _sweep_jobs(harness, run, 1, 2)
    assert len(jobs) == 2
    for job in jobs:
        package = harness.sm.describe_model_package(ModelPackageName=job["OutputModelPackageArn"])
        assert package["ModelApprovalStatus"] == "Rejected" and "accuracy" in package["ApprovalDescription"]
