"""Serverless evaluation: the AWS side of three workflow steps (thin adapters over the pure core).

``plan_evaluation`` — state PlanEvaluation: the evaluation jobs' exact requests
(``core.evaluation_plan.plan_evaluation``) for the run's model and its base model.

``launch_evaluation_job`` — state LaunchEvaluationJob (one job of a side, inside the Map): creates it;
a name that exists is tracked only when this execution created it (a retry, a redrive), else
``TrainingJobNameInUse``. Returns the iteration's state for the tracking loop.

``gate_evaluation`` — state GateEvaluation: reads each side's results from S3 (``results_*.json``,
``bedrock_llm_judge_results.json``), compares with the base model, writes the metrics on the model
package (CustomerMetadataProperties) and, with a gate, approves or rejects it; a missed gate raises
``EvaluationGateFailed`` after the package is rejected.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_finetuning.core import evaluation as EV
from sagemaker_finetuning.core.errors import EvaluationGateFailed, TrainingJobNameInUse
from sagemaker_finetuning.core.evaluation_plan import Target, evaluation_recipe, plan_evaluation
from sagemaker_finetuning.core.naming import run_key
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.core.tracking import created_by, first_tracking, tag_map

CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="sagemaker-finetuning-constructs")
IN_USE = ("ResourceInUse", "ResourceInUseException")


@lru_cache(maxsize=None)
def client(name: str) -> Any:
    return boto3.client(name, config=CONFIG)


@lru_cache(maxsize=1)
def settings() -> StackSettings:
    return StackSettings.from_env()


def plan(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State PlanEvaluation (benchmarks and custom scorers take the inference settings of the model's
    evaluation recipe, when the hub has one, as SDK v3 does)."""
    inp = event["input"]
    key = run_key(event["fragment"], inp) if event.get("fragment") else ""
    target = Target.from_dict(event["target"])
    overrides = eval_overrides(target.model_id) if inp["evaluation"]["type"] != "llm_as_judge" else None
    return plan_evaluation(inp, target, settings(), event["execution_arn"], key, eval_overrides=overrides)


def eval_overrides(model_id: str) -> dict[str, Any] | None:
    """The override params of the model's deterministic evaluation recipe (DescribeHubContent, then the S3 JSON)."""
    desc = client("sagemaker").describe_hub_content(HubName=settings().hub_name, HubContentType="Model", HubContentName=model_id)
    recipe = evaluation_recipe(json.loads(desc.get("HubContentDocument") or "{}"))
    if recipe is None:
        return None
    bucket, _, key = str(recipe["SmtjOverrideParamsS3Uri"])[5:].partition("/")
    params: dict[str, Any] = json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    return params


def launch(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State LaunchEvaluationJob."""
    request, execution_arn = event["request"], event["execution_arn"]
    sm = client("sagemaker")
    try:
        sm.create_training_job(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in IN_USE:
            raise
        arn = f"arn:{settings().partition}:sagemaker:{settings().region}:{settings().account}:training-job/{request['TrainingJobName']}"
        tags = tag_map(sm.list_tags(ResourceArn=arn, MaxResults=100).get("Tags"))
        if not created_by(tags, settings().stack_id, execution_arn):
            raise TrainingJobNameInUse("evaluation", request["TrainingJobName"],
                                       "an evaluation job name no existing training job has (this job was not created by this execution)") from exc
    limits = json.loads(os.environ.get("FINETUNE_TRACKING", '{"min_wait_seconds": 60, "max_wait_seconds": 900}'))
    return {"request": request, "expires_at": event["expires_at"],
            "track": {"tracking": first_tracking(limits["min_wait_seconds"], limits["max_wait_seconds"])}, "wake": {"source": "launch"}}


def gate(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State GateEvaluation: the run's ``evaluation`` output."""
    evaluation, planned = event["evaluation"], event["plan"]
    metrics = {side["side"]: read_metrics(side["results"]) for side in planned["sides"]}
    evaluated = metrics.get("fine_tuned", metrics.get("base")) or {}
    base = metrics.get("base") if "fine_tuned" in metrics else None
    verdict = EV.judge_gate(evaluation.get("gate"), evaluated, base)
    package = planned.get("model_package_arn")
    status = None
    if package:
        status = update_package(package, EV.package_metadata(evaluation["type"], evaluated, base, verdict), verdict)
    out = {
        "type": evaluation["type"], "model": evaluated, "base": base, "delta": EV.compare(evaluated, base),
        "gate": None if verdict is None else {**evaluation["gate"], "passed": verdict.passed, "description": verdict.description},
        "model_package_arn": package, "approval_status": status,
        "jobs": {side["side"]: [job["TrainingJobName"] for job in side["jobs"]] for side in planned["sides"]},
    }
    if verdict is not None and not verdict.passed:
        raise EvaluationGateFailed(verdict.description + (f". The model package {package} was rejected." if package else "."))
    return out


def read_metrics(results: dict[str, Any]) -> dict[str, float]:
    """The metrics of one side, from the first result file under its prefix (as SDK v3 reads them)."""
    bucket, _, prefix = results["prefix"][5:].partition("/")
    name = "bedrock_llm_judge_results.json" if results["kind"] == "bedrock_llm_judge" else "results_"
    s3 = client("s3")
    keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                  for o in page.get("Contents", []) if o["Key"].rsplit("/", 1)[-1].startswith(name) and o["Key"].endswith(".json"))
    if not keys:
        raise RuntimeError(f"no {name}*.json under s3://{bucket}/{prefix}: the evaluation job completed without results")
    document = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    return EV.metrics_from_judge(document) if results["kind"] == "bedrock_llm_judge" else EV.metrics_from_results(document)


def update_package(package: str, metadata: dict[str, str], verdict: EV.GateVerdict | None) -> str:
    """Metrics on the package; Approved / Rejected with the verdict (no gate: its status is left as it is)."""
    request: dict[str, Any] = {"ModelPackageArn": package, "CustomerMetadataProperties": metadata}
    if verdict is not None:
        request.update(ModelApprovalStatus="Approved" if verdict.passed else "Rejected", ApprovalDescription=verdict.description[:1024])
    client("sagemaker").update_model_package(**request)
    if verdict is not None:
        return str(request["ModelApprovalStatus"])
    return str(client("sagemaker").describe_model_package(ModelPackageName=package).get("ModelApprovalStatus"))
