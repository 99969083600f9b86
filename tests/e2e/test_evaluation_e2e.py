"""Evaluate and gate, on the deployed app: after training, serverless evaluation jobs (JobType=Evaluation) of
the fine-tuned model and, with compare_to_base, of the base model; the gate approves or rejects the model
package. The emulator's evaluation jobs write result files in the real formats with the metrics the
``sim:metrics`` / ``sim:base-metrics`` tags set (SIMULATED)."""

from __future__ import annotations

import json
import time

import jsonschema
import pytest

from sagemaker_finetuning.core.tracking import OUTPUT_SCHEMA_PATH

pytestmark = pytest.mark.e2e

MMLU = {"type": "benchmark", "benchmark": "mmlu"}


def _sft(harness, evaluation: dict, **tags: str) -> dict:
    return {"technique": "SFT", "training_dataset": harness.uris["sft"], "evaluation": evaluation, "tags": tags}


def _package(harness, arn: str) -> dict:
    return harness.sm.describe_model_package(ModelPackageName=arn)


def test_gate_met_approves_the_package_and_reports_the_metrics(harness):
    gate = {"metric": "accuracy", "min": 0.7, "min_improvement_over_base": 0.05}
    desc = harness.run(_sft(harness, {**MMLU, "compare_to_base": True, "gate": gate},
                            **{"sim:metrics": "accuracy=0.82", "sim:base-metrics": "accuracy=0.61"}), timeout=120)
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    out = json.loads(desc["output"])
    jsonschema.validate(out, json.loads(OUTPUT_SCHEMA_PATH.read_text()))
    ev = out["evaluation"]
    assert ev["model"]["accuracy"] == 0.82 and ev["base"]["accuracy"] == 0.61 and ev["delta"]["accuracy"] == pytest.approx(0.21)
    assert ev["gate"]["passed"] is True and ev["approval_status"] == "Approved" and ev["model_package_arn"] == out["output_model_package_arn"]
    package = _package(harness, out["output_model_package_arn"])
    assert package["ModelApprovalStatus"] == "Approved" and package["CustomerMetadataProperties"]["evaluation:accuracy"] == "0.82"
    assert package["CustomerMetadataProperties"]["evaluation:base:accuracy"] == "0.61"
    for side, names in ev["jobs"].items():
        job = harness.sm.describe_training_job(TrainingJobName=names[0])
        assert job["ServerlessJobConfig"]["JobType"] == "Evaluation" and job["ServerlessJobConfig"]["EvaluationType"] == "BenchmarkEvaluation"
        assert ("SourceModelPackageArn" in job["ModelPackageConfig"]) == (side == "fine_tuned")


def test_gate_missed_rejects_the_package_and_fails_by_name(harness):
    desc = harness.run(_sft(harness, {**MMLU, "gate": {"metric": "accuracy", "min": 0.7}}, **{"sim:metrics": "accuracy=0.55"}), timeout=120)
    assert desc["status"] == "FAILED" and desc["error"] == "EvaluationGateFailed", (desc.get("error"), desc.get("cause"))
    assert "accuracy 0.55 is below the minimum 0.7" in desc["cause"] and "was rejected" in desc["cause"]
    package_arn = desc["cause"].split("The model package ")[1].split(" was rejected")[0]
    package = _package(harness, package_arn)
    assert package["ModelApprovalStatus"] == "Rejected" and "accuracy 0.55 is below the minimum 0.7" in package["ApprovalDescription"]


def test_without_a_gate_the_package_keeps_its_status_and_gets_the_metrics(harness):
    desc = harness.run(_sft(harness, MMLU, **{"sim:metrics": "accuracy=0.66"}), timeout=120)
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    ev = json.loads(desc["output"])["evaluation"]
    assert ev["gate"] is None and ev["base"] is None and ev["delta"] == {} and ev["model"]["accuracy"] == 0.66
    package = _package(harness, ev["model_package_arn"])
    assert package["ModelApprovalStatus"] == ev["approval_status"] != "Approved"


def test_bad_evaluation_inputs_fail_before_training(harness):
    desc = harness.run(_sft(harness, {"type": "benchmark", "benchmark": "mmlu-pro"}), timeout=60)
    assert desc["status"] == "FAILED" and desc["error"] == "InvalidInput" and "did you mean 'mmlu_pro'" in desc["cause"]
    entered = {e["stateEnteredEventDetails"]["name"] for e in harness.history(desc["executionArn"]) if "stateEnteredEventDetails" in e}
    assert "CreateTrainingJob" not in entered


def _launched_evaluation_job(harness, arn: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in harness.history(arn):
            if event.get("stateExitedEventDetails", {}).get("name") == "LaunchEvaluationJob":
                return str(json.loads(event["stateExitedEventDetails"]["output"])["request"]["TrainingJobName"])
        time.sleep(0.3)
    raise AssertionError("no evaluation job was launched")


def test_aborting_during_evaluation_stops_the_evaluation_job(harness):
    arn = harness.start(_sft(harness, MMLU, **{"sim:duration-seconds": "6"}))  # training and evaluation: 6 s each
    name = _launched_evaluation_job(harness, arn)
    assert harness.sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    harness.sfn.stop_execution(executionArn=arn)
    job = harness.wait_job(name, {"Stopping", "Stopped"}, timeout=30)
    assert job["TrainingJobStatus"] in ("Stopping", "Stopped")


def test_mode_evaluate_evaluates_an_existing_package_or_the_base_model(harness):
    trained = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"]}, timeout=60)
    package = json.loads(trained["output"])["output_model_package_arn"]
    desc = harness.run({"mode": "evaluate", "model": package, "tags": {"sim:metrics": "accuracy=0.9"},
                        "evaluation": {**MMLU, "gate": {"metric": "accuracy", "min": 0.8}}}, timeout=90)
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    out = json.loads(desc["output"])
    jsonschema.validate(out, json.loads(OUTPUT_SCHEMA_PATH.read_text()))
    assert out["training_job_name"] is None and out["output_model_package_arn"] == package
    assert out["evaluation"]["approval_status"] == "Approved" and _package(harness, package)["ModelApprovalStatus"] == "Approved"
    entered = {e["stateEnteredEventDetails"]["name"] for e in harness.history(desc["executionArn"]) if "stateEnteredEventDetails" in e}
    assert "CreateTrainingJob" not in entered and "EvaluationCompleted" in entered
    base = harness.run({"mode": "evaluate", "tags": {"sim:base-metrics": "exact_match=0.4"},
                        "evaluation": {"type": "benchmark", "benchmark": "math"}}, timeout=90)
    assert base["status"] == "SUCCEEDED", base.get("cause")
    ev = json.loads(base["output"])["evaluation"]
    assert ev["model"] == {"exact_match": 0.4, "exact_match_stderr": ev["model"]["exact_match_stderr"]} and ev["model_package_arn"] is None
    assert list(ev["jobs"]) == ["base"]


def test_llm_as_judge_runs_inference_then_judging_for_both_models(harness):
    bucket = harness.outputs["BucketName"]
    harness.s3.put_object(Bucket=bucket, Key="datasets/eval/qa.jsonl",
                          Body=b'{"query": "What is 2 + 2?", "response": "4"}\n{"query": "Capital of France?", "response": "Paris"}\n')
    evaluation = {"type": "llm_as_judge", "dataset": f"s3://{bucket}/datasets/eval/qa.jsonl", "metrics": ["Builtin.Correctness", "Helpfulness"],
                  "compare_to_base": True, "gate": {"metric": "Correctness", "min": 0.75}}
    desc = harness.run(_sft(harness, evaluation, **{"sim:metrics": "Correctness=0.8 Helpfulness=0.7",
                                                     "sim:base-metrics": "Correctness=0.6 Helpfulness=0.65"}), timeout=150)
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    ev = json.loads(desc["output"])["evaluation"]
    assert ev["model"] == {"Correctness": 0.8, "Helpfulness": 0.7} and ev["base"] == {"Correctness": 0.6, "Helpfulness": 0.65}
    assert ev["approval_status"] == "Approved" and all(len(names) == 2 for names in ev["jobs"].values())
    inference, judge = (harness.sm.describe_training_job(TrainingJobName=n) for n in ev["jobs"]["fine_tuned"])
    assert inference["ServerlessJobConfig"]["EvaluationType"] == "BenchmarkEvaluation" and inference["HyperParameters"]["task"] == "inference_only"
    assert judge["ServerlessJobConfig"]["EvaluationType"] == "LLMAJEvaluation"
    assert judge["HyperParameters"]["judge_model_id"] == "anthropic.claude-haiku-4-5-20251001-v1:0"
