"""Happy paths of every technique, continued customization, faults, abort, idempotency, lost events."""

from __future__ import annotations

import json
import time

import jsonschema
import pytest

from sagemaker_finetuning.core.tracking import OUTPUT_SCHEMA_PATH

pytestmark = pytest.mark.e2e


def _output(desc):
    return json.loads(desc.get("output") or "{}")


@pytest.mark.parametrize("payload_key, payload", [
    ("SFT", {"technique": "SFT", "hyperparameters": {"learning_rate": 0.00005}}),
    ("DPO", {"technique": "DPO", "training_type": "FULL"}),
    ("RLVR", {"technique": "RLVR"}),
    ("RLAIF", {"technique": "RLAIF", "reward_prompt": "Builtin.Summarize"}),
    ("gated", {"technique": "SFT", "model": "meta-textgeneration-llama-3-2-1b-instruct", "accept_eula": True}),
    ("mlflow", {"technique": "SFT", "mlflow_resource_arn": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-demo",
                "mlflow_experiment_name": "e2e", "mlflow_run_name": "sft-1"}),
])
def test_happy_path(harness, payload_key, payload):
    dataset = {"SFT": "sft", "DPO": "dpo", "RLVR": "rlvr", "RLAIF": "rlaif"}[payload["technique"]]
    desc = harness.run({**payload, "training_dataset": harness.uris[dataset]})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    out = _output(desc)
    assert out["status"] == "Completed" and out["technique"] == payload["technique"]
    jsonschema.validate(out, json.loads(OUTPUT_SCHEMA_PATH.read_text()))  # the documented output contract
    assert out["output_model_package_arn"].startswith("arn:aws:sagemaker:us-east-1:123456789012:model-package/")
    assert out["billable_token_count"] and out["training_start_time"] and out["training_end_time"]
    job = harness.sm.describe_training_job(TrainingJobName=out["training_job_name"])
    sjc = job["ServerlessJobConfig"]
    assert sjc["CustomizationTechnique"] == payload["technique"] and "AlgorithmSpecification" not in job or not job.get("AlgorithmSpecification", {}).get("TrainingImage")
    assert ("Peft" in sjc) == (payload.get("training_type", "LORA") == "LORA")
    if payload["technique"] == "RLVR":
        assert sjc["EvaluatorArn"] == harness.outputs["RewardEvaluatorArn"]
        verified = [e for e in harness.history(desc["executionArn"]) if e.get("stateExitedEventDetails", {}).get("name") == "VerifyRewardFunction"]
        assert verified, "the reward function was verified before launch"
    if payload_key == "mlflow":
        assert out["mlflow_run_id"] and job["MlflowConfig"]["MlflowExperimentName"] == "e2e"
    if payload_key == "gated":
        assert sjc["AcceptEula"] is True


def test_continued_customization(harness):
    first = _output(harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"]}))
    package = first["output_model_package_arn"]
    desc = harness.run({"technique": "DPO", "model": package, "training_dataset": harness.uris["dpo"]})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    job = harness.sm.describe_training_job(TrainingJobName=_output(desc)["training_job_name"])
    assert job["ModelPackageConfig"]["SourceModelPackageArn"] == package
    assert job["ServerlessJobConfig"]["AcceptEula"] is True
    assert job["ServerlessJobConfig"]["BaseModelArn"].split("/")[-2] == "huggingface-reasoning-qwen3-06b"


def test_continued_customization_from_a_training_job(harness):
    """The SageMaker AI plugin's skill continues from a training job: its output model package is used."""
    first = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"]})
    job_arn = harness.sm.describe_training_job(TrainingJobName=_output(first)["training_job_name"])["TrainingJobArn"]
    desc = harness.run({"technique": "DPO", "model": job_arn, "training_dataset": harness.uris["dpo"]})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    job = harness.sm.describe_training_job(TrainingJobName=_output(desc)["training_job_name"])
    assert job["ModelPackageConfig"]["SourceModelPackageArn"] == _output(first)["output_model_package_arn"]
    failed = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": "e2e-continue-from-failed",
                          "tags": {"sim:outcome": "Failed"}})
    assert failed["status"] == "FAILED"
    failed_arn = harness.sm.describe_training_job(TrainingJobName="e2e-continue-from-failed")["TrainingJobArn"]
    refused = harness.run({"technique": "DPO", "model": failed_arn, "training_dataset": harness.uris["dpo"]})
    assert refused["status"] == "FAILED" and refused["error"] == "InvalidInput" and "it is Failed" in refused["cause"], refused


def test_throttling_is_retried(harness):
    harness.control.inject_fault("CreateTrainingJob", count=2)
    harness.control.inject_fault("DescribeTrainingJob", count=2)
    desc = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"]}, timeout=90)
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    failed = [e["taskFailedEventDetails"]["error"] for e in harness.history(desc["executionArn"]) if e["type"] == "TaskFailed"]
    throttled = [e for e in failed if "Throttling" in e]
    # CreateTrainingJob: the state's Retry; DescribeTrainingJob: inside TrackTrainingJob (boto3's retries).
    # The one other failure is the waiter refusing to register once the job ended (how the loop ends).
    assert len(throttled) >= 2 and [e for e in failed if e not in throttled] == ["DynamoDb.ConditionalCheckFailedException"], failed
    assert not harness.control.faults()


def test_job_failure_surfaces_sagemaker_reason(harness):
    name = "e2e-failing-job"
    # the tag drives the simulated outcome
    desc = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": name,
                        "tags": {"sim:outcome": "Failed", "sim:failure-reason": "ClientError: CUDA out of memory"}})
    assert desc["status"] == "FAILED"
    assert desc["error"] == "TrainingJobFailed" and "CUDA out of memory" in desc["cause"]


def test_job_stopped_fails_the_execution(harness):
    name = "e2e-stopped-job"
    arn = harness.start({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": name,
                         "tags": {"sim:duration-seconds": "30"}})
    harness.wait_job(name, {"InProgress"})
    harness.sm.stop_training_job(TrainingJobName=name)
    desc = harness.wait(arn)
    assert desc["status"] == "FAILED" and desc["error"] == "TrainingJobStopped"


def test_aborted_execution_stops_the_job(harness):
    name = "e2e-aborted-job"
    arn = harness.start({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": name,
                         "tags": {"sim:duration-seconds": "60"}})
    harness.wait_job(name, {"InProgress"})
    harness.sfn.stop_execution(executionArn=arn, error="Aborted", cause="changed my mind")
    job = harness.wait_job(name, {"Stopping", "Stopped"}, timeout=30)
    assert job["TrainingJobStatus"] in ("Stopping", "Stopped")


def test_repeating_a_start_execution_is_one_execution(harness):
    payload = {"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": "e2e-idempotent-job"}
    first = harness.start(payload, name="e2e-idem-1")
    again = harness.start(payload, name="e2e-idem-1")  # the same StartExecution again: the same execution
    assert first == again and harness.wait(first)["status"] == "SUCCEEDED"
    assert harness.job_names().count("e2e-idempotent-job") == 1


def test_lost_events_are_caught_by_polling(harness):
    name = "e2e-no-events"
    harness.control.suppress_events(name)
    started = time.monotonic()
    desc = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": name})
    assert desc["status"] == "SUCCEEDED"
    timeouts = [e for e in harness.history(desc["executionArn"])
                if e["type"] == "TaskTimedOut" or "States.Timeout" in json.dumps(e.get("taskTimedOutEventDetails", {}))]
    assert timeouts, "completion was found by the polling safety net"
    assert time.monotonic() - started < 30
