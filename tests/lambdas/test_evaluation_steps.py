"""The evaluation steps' AWS side (lambda_src/workflow/evaluation.py), with botocore Stubbers (every request
is validated against the service model) and moto's S3 for the result files."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sagemaker_finetuning.core.errors import EvaluationGateFailed, TrainingJobNameInUse
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.lambda_src.workflow import evaluation as steps

REGION, ACCOUNT = "us-east-1", "123456789012"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/FineTuning/0b1e2c30-0000-11ef-8000-0a1b2c3d4e5f"
EXEC = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sm:run-1"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/grp/3"
SETTINGS = StackSettings(region=REGION, account=ACCOUNT, partition="aws", role_arn=f"arn:aws:iam::{ACCOUNT}:role/ft", bucket="ft-bucket",
                         stack_id=STACK_ID)


@pytest.fixture
def aws(monkeypatch):
    """moto S3 (result files) and a stubbed SageMaker client."""
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


def side(name: str, job: str, kind: str = "results_json") -> dict[str, Any]:
    return {"side": name, "jobs": [{"TrainingJobName": job}], "results": {"kind": kind, "prefix": f"s3://ft-bucket/outputs/{job}/output/output/"}}


def put_results(s3: Any, job: str, metrics: dict[str, float]) -> None:
    s3.put_object(Bucket="ft-bucket", Key=f"outputs/{job}/output/output/None/eval_results/results_2026-01-01T00-00-00.json",
                  Body=json.dumps({"results": {"all": metrics}}).encode())


def test_a_met_gate_approves_with_the_metrics_on_the_package(aws):
    s3, stub = aws
    put_results(s3, "ft-job", {"accuracy": 0.8})
    put_results(s3, "base-job", {"accuracy": 0.7})
    stub.add_response("update_model_package", {"ModelPackageArn": PACKAGE}, {
        "ModelPackageArn": PACKAGE, "ModelApprovalStatus": "Approved",
        "ApprovalDescription": "Evaluation gate passed: accuracy 0.8 >= 0.75; accuracy +0.1 over base 0.7 >= +0.05",
        "CustomerMetadataProperties": {"evaluation:type": "benchmark", "evaluation:accuracy": "0.8", "evaluation:base:accuracy": "0.7",
                                       "evaluation:gate": "passed"}})
    gate = {"metric": "accuracy", "min": 0.75, "min_improvement_over_base": 0.05}
    out = steps.gate({"evaluation": {"type": "benchmark", "gate": gate},
                      "plan": {"sides": [side("fine_tuned", "ft-job"), side("base", "base-job")], "model_package_arn": PACKAGE}})
    assert out["approval_status"] == "Approved" and out["delta"] == {"accuracy": pytest.approx(0.1)} and out["gate"]["passed"]
    assert out["jobs"] == {"fine_tuned": ["ft-job"], "base": ["base-job"]}


def test_a_missed_gate_rejects_then_fails_by_name(aws):
    s3, stub = aws
    put_results(s3, "ft-job", {"accuracy": 0.5})
    stub.add_response("update_model_package", {"ModelPackageArn": PACKAGE}, {
        "ModelPackageArn": PACKAGE, "ModelApprovalStatus": "Rejected",
        "ApprovalDescription": "Evaluation gate failed: accuracy 0.5 is below the minimum 0.75",
        "CustomerMetadataProperties": {"evaluation:type": "benchmark", "evaluation:accuracy": "0.5", "evaluation:gate": "failed"}})
    with pytest.raises(EvaluationGateFailed, match=r"accuracy 0.5 is below the minimum 0.75\. The model package .*/grp/3 was rejected"):
        steps.gate({"evaluation": {"type": "benchmark", "gate": {"metric": "accuracy", "min": 0.75}},
                    "plan": {"sides": [side("fine_tuned", "ft-job")], "model_package_arn": PACKAGE}})


def test_judge_results_and_a_job_without_results(aws):
    s3, stub = aws
    s3.put_object(Bucket="ft-bucket", Key="outputs/judge/output/output/bedrock-1/eval_results/bedrock_llm_judge_results.json",
                  Body=json.dumps({"results": {"Builtin.Correctness": {"score": 0.9, "std_deviation": 0.1, "total_evaluations": 4}}}).encode())
    assert steps.read_metrics(side("base", "judge", "bedrock_llm_judge")["results"]) == {"Correctness": 0.9}
    with pytest.raises(RuntimeError, match=r"no results_\*\.json under s3://ft-bucket/outputs/empty/output/output/"):
        steps.read_metrics(side("base", "empty")["results"])


def test_a_launch_adopts_only_a_job_of_this_execution(aws):
    _, stub = aws
    request = {"TrainingJobName": "eval-job", "RoleArn": SETTINGS.role_arn, "OutputDataConfig": {"S3OutputPath": "s3://ft-bucket/outputs/"},
               "StoppingCondition": {"MaxRuntimeInSeconds": 86400}, "ServerlessJobConfig": {
                   "BaseModelArn": f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/Model/m/1.0.0", "AcceptEula": True,
                   "JobType": "Evaluation", "EvaluationType": "BenchmarkEvaluation"}}
    mine = {"Tags": [{"Key": "sagemaker-finetuning:stack-id", "Value": STACK_ID}, {"Key": "sagemaker-finetuning:execution-arn", "Value": EXEC}]}
    for tags in (mine, {"Tags": []}):
        stub.add_client_error("create_training_job", "ResourceInUse", expected_params=request)
        stub.add_response("list_tags", tags, {"ResourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/eval-job", "MaxResults": 100})
    state = steps.launch({"request": request, "execution_arn": EXEC, "expires_at": "1900000000"})
    assert state["wake"] == {"source": "launch"} and state["track"]["tracking"]["wait_seconds"] == 60
    with pytest.raises(TrainingJobNameInUse, match="eval-job"):
        steps.launch({"request": request, "execution_arn": EXEC, "expires_at": "1900000000"})


def test_the_plan_takes_the_evaluation_recipes_inference_settings_when_the_hub_has_one(aws):
    s3, stub = aws
    recipe = {"Name": "open-source-eval-m-deterministic", "Type": "Evaluation", "EvaluationType": "DeterministicEvaluation",
              "SmtjOverrideParamsS3Uri": "s3://ft-bucket/recipes/eval_override_params.json"}
    s3.put_object(Bucket="ft-bucket", Key="recipes/eval_override_params.json",
                  Body=json.dumps({"max_new_tokens": {"type": "integer", "default": 8192}, "postprocessing": {"type": "boolean", "default": False},
                                   "unrelated": {"default": 1}}).encode())
    hub = f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/Model/m/1.0.0"
    for document in ({"RecipeCollection": [recipe]}, {"RecipeCollection": []}):
        stub.add_response("describe_hub_content", {
            "HubContentName": "m", "HubContentArn": hub, "HubContentVersion": "1.0.0", "HubContentType": "Model", "DocumentSchemaVersion": "2.0.0",
            "HubName": "SageMakerPublicHub", "HubArn": "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub",
            "HubContentDocument": json.dumps(document), "HubContentStatus": "Available", "CreationTime": "2026-01-01T00:00:00Z"},
            {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": "m"})
    event = {"input": {"evaluation": {"type": "benchmark", "benchmark": "mmlu", "compare_to_base": False}, "s3_output_path": "s3://ft-bucket/outputs/"},
             "target": {"model_id": "m", "base_model_arn": hub, "model_package_arn": PACKAGE,
                        "model_package_group_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/grp"}, "execution_arn": EXEC}
    with_recipe = steps.plan(event)["sides"][0]["jobs"][0]["HyperParameters"]
    assert with_recipe == {"task": "mmlu", "strategy": "zs_cot", "evaluation_metric": "accuracy", "max_new_tokens": "8192", "postprocessing": "False"}
    assert steps.plan(event)["sides"][0]["jobs"][0]["HyperParameters"] == {"task": "mmlu", "strategy": "zs_cot", "evaluation_metric": "accuracy"}
