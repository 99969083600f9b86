"""The exact CreateTrainingJob requests of a run's serverless evaluation jobs (pure).

For the same intent they equal the Training steps SageMaker Python SDK v3 (sagemaker-train 1.27.0)
puts in its evaluation pipeline (``evaluate/pipeline_templates.py``; compared field by field in
``tests/core/test_evaluation_vs_sdk.py``), except the differences the README tables. One side per
evaluated model: the fine-tuned model (its output model package) and, with ``compare_to_base``, the
base model; a side is one job, or two for LLM-as-judge (inference, then judging).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core import evaluation as EV
from sagemaker_finetuning.core.naming import training_job_name
from sagemaker_finetuning.core.planner import run_tags
from sagemaker_finetuning.core.settings import StackSettings

#: SDK v3 evaluation steps: StoppingCondition.MaxRuntimeInSeconds.
EVALUATION_MAX_RUNTIME = 86400
#: LLM-as-judge inference jobs: HyperParameters.name per side; the judge reads
#: ``<out>/<inference job>/output/output/<name>/eval_results/inference_output.jsonl`` (pipeline_templates LLMAJ_TEMPLATE).
INFERENCE_NAMES = {"fine_tuned": "CustomInference", "base": "BaseInference"}
#: The evaluation recipe's inference settings SDK v3 copies into HyperParameters (recipe_utils
#: _extract_eval_override_options); none when the hub has no evaluation recipe for the model.
EVAL_OVERRIDE_KEYS = ("max_new_tokens", "temperature", "top_k", "top_p", "max_model_len", "aggregation", "postprocessing")
#: llm_as_judge_evaluator.py: the judging job's generation settings.
JUDGE_HYPERPARAMETERS = {"max_new_tokens": "8192", "temperature": "0", "top_k": "-1", "top_p": "1.0"}


@dataclass(frozen=True)
class Target:
    """What is evaluated: the base model (hub content ARN, id) and, for a fine-tuned model, its package."""

    model_id: str
    base_model_arn: str
    model_package_arn: str | None = None
    model_package_group_arn: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Target":
        return cls(str(data["model_id"]), str(data["base_model_arn"]), data.get("model_package_arn"), data.get("model_package_group_arn"))


def evaluation_recipe(hub_document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model's deterministic evaluation recipe in its hub document (RecipeCollection entry with Type
    Evaluation and EvaluationType DeterministicEvaluation and an override-params URI), as SDK v3 looks it up
    (recipe_utils._get_evaluation_override_params); None when the hub offers none."""
    for recipe in hub_document.get("RecipeCollection") or []:
        if (isinstance(recipe, Mapping) and recipe.get("Type") == "Evaluation" and recipe.get("EvaluationType") == "DeterministicEvaluation"
                and recipe.get("SmtjOverrideParamsS3Uri")):
            return dict(recipe)
    return None


def plan_evaluation(inp: Mapping[str, Any], target: Target, settings: StackSettings, execution_arn: str, run_key: str = "",
                    eval_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"sides": [{"side", "model", "jobs": [request, ...], "results": {...}}], "job_names", "expires_at", "model_package_arn"}``.
    ``eval_overrides``: the override params of the model's evaluation recipe (its defaults become hyperparameters)."""
    evaluation = inp["evaluation"]
    sides: list[tuple[str, str | None]] = []
    if target.model_package_arn:
        sides.append(("fine_tuned", target.model_package_arn))
    if evaluation.get("compare_to_base") or not target.model_package_arn:
        sides.append(("base", None))
    planned = [_side(inp, target, settings, execution_arn, run_key, side, package, eval_overrides) for side, package in sides]
    return {
        "type": evaluation["type"],
        "sides": planned,
        "job_names": [job["TrainingJobName"] for side in planned for job in side["jobs"]],
        "expires_at": str(int(time.time()) + 2 * EVALUATION_MAX_RUNTIME + 7 * 86400),
        "model_package_arn": target.model_package_arn,
    }


def _side(inp: Mapping[str, Any], target: Target, settings: StackSettings, execution_arn: str, run_key: str, side: str,
          package: str | None, eval_overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    evaluation = inp["evaluation"]
    kind = evaluation["type"]
    label = "ft" if side == "fine_tuned" else "base"
    name = training_job_name(target.model_id, f"eval-{label}", execution_arn, f"{run_key}\nevaluation")
    common = _common(inp, target, settings, execution_arn, package, strip_slash=kind == "llm_as_judge")
    if kind != "llm_as_judge":
        hyperparameters = _hyperparameters(evaluation, target.model_id, eval_overrides)
        job = _job(common, name, EV.EVALUATION_TYPES[kind], hyperparameters, evaluation.get("dataset"))
        if kind == "custom_scorer" and evaluation["evaluator"] not in EV.BUILTIN_SCORERS:
            job["ServerlessJobConfig"]["EvaluatorArn"] = evaluation["evaluator"]
        return {"side": side, "model": package or target.model_id, "jobs": [job],
                "results": {"kind": "results_json", "prefix": _prefix(common, name, "output/output/")}}
    infer = training_job_name(target.model_id, f"infer-{label}", execution_arn, f"{run_key}\nevaluation")
    inference = _job(common, infer, "BenchmarkEvaluation", {"name": INFERENCE_NAMES[side], "task": "inference_only"}, evaluation["dataset"])
    judge_hp = {
        "name": name,
        "judge_model_id": evaluation["judge_model_id"],
        "inference_data_s3_path": _prefix(common, infer, f"output/output/{INFERENCE_NAMES[side]}/eval_results/inference_output.jsonl"),
        "output_path": common["OutputDataConfig"]["S3OutputPath"],
        "llmaj_metrics": json.dumps(list(evaluation["metrics"])),
        **JUDGE_HYPERPARAMETERS,
    }
    judge = _job(common, name, "LLMAJEvaluation", judge_hp, None)
    return {"side": side, "model": package or target.model_id, "jobs": [inference, judge],
            "results": {"kind": "bedrock_llm_judge", "prefix": _prefix(common, name, "output/output/")}}


def _prefix(common: Mapping[str, Any], job_name: str, rest: str) -> str:
    return f"{common['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job_name}/{rest}"


def _common(inp: Mapping[str, Any], target: Target, settings: StackSettings, execution_arn: str, package: str | None, *,
            strip_slash: bool) -> dict[str, Any]:
    """The fields every job of the evaluation shares (LLM-as-judge: the output path without its trailing slash, as SDK v3)."""
    path = inp["s3_output_path"].rstrip("/") if strip_slash else inp["s3_output_path"]
    output: dict[str, Any] = {"S3OutputPath": path, "CompressionType": "NONE"}
    if settings.kms_key_arn:
        output["KmsKeyId"] = settings.kms_key_arn
    common: dict[str, Any] = {
        "RoleArn": settings.role_arn,
        "ServerlessJobConfig": {"BaseModelArn": target.base_model_arn, "AcceptEula": True, "JobType": "Evaluation"},
        "StoppingCondition": {"MaxRuntimeInSeconds": EVALUATION_MAX_RUNTIME},
        "OutputDataConfig": output,
        "Tags": run_tags(inp, settings, execution_arn),
    }
    if package:
        common["ModelPackageConfig"] = {"ModelPackageGroupArn": target.model_package_group_arn, "SourceModelPackageArn": package}
    elif target.model_package_group_arn or settings.model_package_group_name:
        # The service needs a group or an MLflow experiment name (SDK v3 issue #5582); the base model has no package.
        common["ModelPackageConfig"] = {"ModelPackageGroupArn": target.model_package_group_arn or settings.group_arn(str(settings.model_package_group_name))}
    if inp.get("mlflow_resource_arn"):
        common["MlflowConfig"] = {"MlflowResourceArn": inp["mlflow_resource_arn"]}
    return common


def _job(common: Mapping[str, Any], name: str, evaluation_type: str, hyperparameters: Mapping[str, str], dataset: str | None) -> dict[str, Any]:
    job: dict[str, Any] = json.loads(json.dumps(dict(common)))
    job["TrainingJobName"] = name
    job["ServerlessJobConfig"]["EvaluationType"] = evaluation_type
    job["HyperParameters"] = dict(hyperparameters)
    if dataset:
        job["InputDataConfig"] = [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": dataset}}}]
    return job


def _render(value: Any) -> str:
    """A recipe default as SDK v3 sends it (str(); booleans True / False)."""
    return str(value)


def _hyperparameters(evaluation: Mapping[str, Any], model_id: str, eval_overrides: Mapping[str, Any] | None) -> dict[str, str]:
    nova = C.is_nova_model(model_id)
    metric_key = "metric" if nova else "evaluation_metric"
    defaults = {k: _render(spec.get("default")) for k, spec in (eval_overrides or {}).items()
                if k in EVAL_OVERRIDE_KEYS and isinstance(spec, Mapping) and "default" in spec}
    if evaluation["type"] == "benchmark":
        bench = EV.BENCHMARKS[evaluation["benchmark"]]
        return {"task": evaluation["benchmark"], "strategy": bench.strategy, metric_key: bench.metrics[0], **defaults}
    hp = {"task": "gen_qa", "strategy": "gen_qa", metric_key: "all", **defaults}
    if evaluation["evaluator"] in EV.BUILTIN_SCORERS:
        hp["preset_reward_function"] = evaluation["evaluator"]
    else:
        hp.update(postprocessing="True", aggregation="mean")
    if nova:
        hp["lambda_type"] = "rft"
    return hp
