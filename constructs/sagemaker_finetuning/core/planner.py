"""The pure heart of the workflow: execution input -> the exact CreateTrainingJob request.

Three steps, each a pure function the workflow Lambda calls from its own state:

``validate_input(raw, settings)``
    Schema + every check that needs no AWS call. Returns the normalized input (defaults filled).
``select_recipe(...)`` (in ``recipes``) on the resolved hub document
    The Lambda then downloads the recipe's override-params document.
``plan_training_job(inp, resolved, override_params, settings, execution_arn)``
    Returns the CreateTrainingJob request, field for field what SDK v3 builds for the same intent
    (``tests/test_planner_vs_sdk.py`` proves it), plus the deliberate differences the README lists.

Nothing here calls AWS, reads the clock or the environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core.errors import (
    EulaNotAccepted,
    HyperparameterNotTunable,
    InvalidInput,
    ModelNotAvailableInRegion,
    RewardFunctionMissing,
    RewardFunctionNotAllowed,
)
from sagemaker_finetuning.core.licenses import license_of
from sagemaker_finetuning.core.naming import training_job_name
from sagemaker_finetuning.core.recipes import (
    check_length_constraints,
    check_override,
    default_values,
    select_recipe,
    to_request_values,
)
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.core.validation import (
    LAMBDA_ARN,
    RESERVED_HYPERPARAMETERS,
    builtin_prompt_problem,
    check_group_allowed,
    is_continued,
    model_regions,
    validate_input,
)

__all__ = ["ResolvedModel", "hyperparameters_for", "is_continued", "plan_training_job", "validate_input", "LAMBDA_ARN"]


@dataclass
class ResolvedModel:
    """What the workflow learned from the hub (and, for continued customization, the package)."""

    model_id: str
    base_model_arn: str
    gated: bool
    recipes: list[dict[str, Any]]
    source_model_package_arn: str | None = None
    source_model_package_group: str | None = None
    #: For RLVR: the Lambda the evaluator refers to (resolved from the hub), if any.
    reward_lambda_arn: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResolvedModel":
        return cls(**data)

    @classmethod
    def from_hub(cls, describe_hub_content: dict[str, Any], document: dict[str, Any], **extra: Any) -> "ResolvedModel":
        return cls(
            model_id=describe_hub_content["HubContentName"],
            base_model_arn=describe_hub_content["HubContentArn"],
            gated=bool(document.get("GatedBucket", False)),
            recipes=list(document.get("RecipeCollection", [])),
            **extra,
        )


def _normalize_template(value: str) -> str:
    """RLAIFTrainer._normalize_template_name."""
    name = (value or "").strip()
    if name.lower().startswith("builtin."):
        name = name.split(".", 1)[1]
    name = name.split("/")[-1]
    if name.lower().endswith(".jinja"):
        name = name[: -len(".jinja")]
    return name.lower()


def hyperparameters_for(
    inp: dict[str, Any], recipe: dict[str, Any], override_params: dict[str, Any]
) -> tuple[dict[str, str], str | None]:
    """(HyperParameters map, EvaluatorArn from the prompt) as the trainer would compute them."""
    technique = inp["technique"]
    specs = {k: v for k, v in override_params.items() if k not in C.STRIPPED_HYPERPARAMETERS[technique]}
    values = default_values(specs, ())
    evaluator_arn = None
    if technique == "RLAIF":
        values["judge_model_id"] = f"bedrock/{inp['reward_model_id']}"
        prompt = inp.get("reward_prompt")
        if prompt and prompt.startswith("Builtin."):
            enum = (specs.get("judge_prompt_template") or {}).get("enum") or []
            if not enum and values.get("judge_prompt_template"):
                enum = [values["judge_prompt_template"]]
            if enum:
                match = next((t for t in enum if _normalize_template(t) == _normalize_template(prompt)), None)
                if match is None:
                    offered = tuple(_normalize_template(t).capitalize() for t in enum)
                    raise InvalidInput("reward_prompt", prompt, f"a built-in prompt this recipe offers: {builtin_prompt_problem(prompt, offered)}")
                values["judge_prompt_template"] = match
        elif prompt:
            specs.pop("judge_prompt_template", None)
            values.pop("judge_prompt_template", None)
            evaluator_arn = prompt
    tunable = _tunable(specs, technique)
    for name, value in (inp.get("hyperparameters") or {}).items():
        if name in specs and name not in tunable:
            raise HyperparameterNotTunable(
                f"hyperparameters.{name}", value,
                f"a hyperparameter the recipe lets you tune (its override-params mark {name} as not one): {', '.join(sorted(tunable))}",
            )
        values[name] = check_override(name, value, specs)
    check_length_constraints(values, recipe)
    return to_request_values(values), evaluator_arn


#: Not marked ``category: hyperparameter`` in the real recipes, yet how SDK v3 picks an RLVR preset reward.
_PRESET_REWARD = "preset_reward_function"


def _tunable(specs: dict[str, Any], technique: str) -> set[str]:
    """The keys a user may override: the recipe's ``category: hyperparameter`` ones when its
    override-params carry categories (AWS's recipes do), else every key the workflow does not set."""
    if any(isinstance(spec, dict) and "category" in spec for spec in specs.values()):
        keys = {k for k, spec in specs.items() if isinstance(spec, dict) and spec.get("category") == "hyperparameter"}
        return keys | ({_PRESET_REWARD} & set(specs) if technique == "RLVR" else set())
    return {k for k in specs if k not in RESERVED_HYPERPARAMETERS}


def _channel(name: str, source: str, s3_data_type: str) -> dict[str, Any]:
    if source.startswith("s3://"):
        data_source: dict[str, Any] = {
            "S3DataSource": {"S3Uri": source, "S3DataType": s3_data_type, "S3DataDistributionType": "FullyReplicated"}
        }
    else:
        data_source = {"DatasetSource": {"DatasetArn": source}}
    return {"ChannelName": name, "DataSource": data_source}


def plan_training_job(
    inp: dict[str, Any],
    resolved: ResolvedModel,
    override_params: dict[str, Any],
    settings: StackSettings,
    execution_arn: str,
    run_key: str = "",
) -> dict[str, Any]:
    """The exact CreateTrainingJob request for a validated input and a resolved model (``run_key``:
    which run of the execution, see :func:`naming.training_job_name`)."""
    recipe = select_recipe(resolved.recipes, resolved.model_id, inp["technique"], inp["training_type"], inp.get("sequence_length"))
    group, accept_eula = _group_and_eula(inp, resolved, settings)
    hyperparameters, prompt_evaluator = hyperparameters_for(inp, recipe, override_params)
    if inp["technique"] == "RLVR" and not inp.get("custom_reward_function") and not hyperparameters.get("preset_reward_function"):
        raise RewardFunctionMissing(
            "custom_reward_function", None,
            "an evaluator ARN or Lambda ARN (this stack has no default reward function), or hyperparameters.preset_reward_function",
        )
    package_config: dict[str, Any] = {"ModelPackageGroupArn": settings.group_arn(group)}
    if resolved.source_model_package_arn is not None:
        package_config["SourceModelPackageArn"] = resolved.source_model_package_arn
    request: dict[str, Any] = {
        "TrainingJobName": inp.get("training_job_name") or training_job_name(resolved.model_id, inp["technique"], execution_arn, run_key),
        "RoleArn": settings.role_arn,
        "InputDataConfig": _channels(inp, resolved),
        "OutputDataConfig": _output_config(inp, settings),
        "ServerlessJobConfig": _serverless_config(inp, resolved, settings, accept_eula, prompt_evaluator),
        "HyperParameters": hyperparameters,
        "ModelPackageConfig": package_config,
        "StoppingCondition": {"MaxRuntimeInSeconds": int(inp["max_runtime_in_seconds"])},
        "Tags": _tags(inp, resolved, settings, execution_arn),
    }
    if inp.get("mlflow_resource_arn"):
        request["MlflowConfig"] = _mlflow_config(inp)
    return request


def _group_and_eula(inp: dict[str, Any], resolved: ResolvedModel, settings: StackSettings) -> tuple[str, bool]:
    """The group to register into and whether the EULA is accepted.

    Continued customization registers into the source package's own group and takes the EULA as
    accepted (SDK v3 does for model package inputs); a fresh run needs ``accept_eula`` for gated models."""
    if resolved.source_model_package_arn is None:
        if resolved.gated and not inp["accept_eula"]:
            known = license_of(resolved.model_id)
            read = known.sentence() if known else "Read the model's license on its SageMaker JumpStart model card."
            raise EulaNotAccepted(
                "accept_eula", inp["accept_eula"],
                f"true: model {resolved.model_id!r} is gated and its license must be accepted",
                f"{read} If you accept it, start the execution with \"accept_eula\": true",
            )
        return inp["model_package_group"], bool(inp["accept_eula"])
    regions = model_regions(resolved.model_id)
    if settings.region not in regions:
        raise ModelNotAvailableInRegion(
            "model", inp["model"],
            f"a model package whose base model ({resolved.model_id}) is customizable here: {', '.join(regions)} (this stack is in {settings.region})",
        )
    group = inp.get("model_package_group") or resolved.source_model_package_group
    if resolved.source_model_package_group and group != resolved.source_model_package_group:
        raise InvalidInput(
            "model_package_group", group,
            f"the source model package's own group {resolved.source_model_package_group!r} (continued customization registers into the same group)",
        )
    assert group is not None  # a package always belongs to a group
    check_group_allowed(group, settings)
    return group, True


def _serverless_config(inp: dict[str, Any], resolved: ResolvedModel, settings: StackSettings, accept_eula: bool,
                       prompt_evaluator: str | None) -> dict[str, Any]:
    serverless: dict[str, Any] = {
        "BaseModelArn": resolved.base_model_arn,
        "JobType": C.JOB_TYPE,
        "CustomizationTechnique": inp["technique"],
    }
    if accept_eula:
        # SDK v3 sends AcceptEula only when true (sagemaker-core drops false shape members).
        serverless["AcceptEula"] = True
    if inp["training_type"] == "LORA":
        serverless["Peft"] = "LORA"
    if inp["technique"] == "RLVR" and inp.get("custom_reward_function"):
        serverless["EvaluatorArn"] = _reward_evaluator(inp["custom_reward_function"], settings)
    if prompt_evaluator:
        serverless["EvaluatorArn"] = prompt_evaluator
    if inp.get("sequence_length"):
        serverless["SequenceLength"] = inp["sequence_length"]
    return serverless


def _reward_evaluator(fn: str, settings: StackSettings) -> str:
    """The evaluator ARN of an RLVR reward function given as an evaluator or as a Lambda ARN.

    The stack registered an evaluator for each reward function it owns. An evaluator refers to one
    exact function version/alias (SDK v3 registers the ARN as given), so a qualified ARN needs an
    evaluator of its own; ``:$LATEST`` is the function itself."""
    if not LAMBDA_ARN.match(fn):
        return fn
    by_lambda = {v: k for k, v in settings.reward_evaluators.items()}
    target = fn[: -len(":$LATEST")] if fn.endswith(":$LATEST") else fn
    if target not in by_lambda:
        raise RewardFunctionNotAllowed(
            "custom_reward_function", fn,
            "a reward function this stack registered as an evaluator: " + (", ".join(by_lambda) or "none")
            + " (for another version or alias, register an evaluator for it and pass the evaluator ARN)",
        )
    return by_lambda[target]


def _channels(inp: dict[str, Any], resolved: ResolvedModel) -> list[dict[str, Any]]:
    nova = C.is_nova_model(resolved.model_id)
    s3_data_type = "Converse" if nova and inp["technique"] in ("SFT", "DPO") else "S3Prefix"
    channels = [_channel("train", inp["training_dataset"], s3_data_type)]
    if inp.get("validation_dataset"):
        channels.append(_channel("validation", inp["validation_dataset"], s3_data_type))
    return channels


def _output_config(inp: dict[str, Any], settings: StackSettings) -> dict[str, Any]:
    output: dict[str, Any] = {"S3OutputPath": inp["s3_output_path"]}
    if settings.kms_key_arn:
        output["KmsKeyId"] = settings.kms_key_arn
    if inp.get("disable_output_compression"):
        output["CompressionType"] = "NONE"
    return output


def _tags(inp: dict[str, Any], resolved: ResolvedModel, settings: StackSettings, execution_arn: str) -> list[dict[str, str]]:
    return [
        {"Key": C.JUMPSTART_MODEL_TAG, "Value": resolved.model_id},
        {"Key": C.JUMPSTART_HUB_TAG, "Value": settings.hub_name},
        *run_tags(inp, settings, execution_arn),
    ]


def run_tags(inp: Mapping[str, Any], settings: StackSettings, execution_arn: str) -> list[dict[str, str]]:
    """The tags every job of a run carries: the input's and the stack's, the stack id and the execution (ownership)."""
    tags = [{"Key": k, "Value": v} for k, v in sorted({**(inp.get("tags") or {}), **settings.stack_tags}.items())]
    if settings.stack_id:
        tags.append({"Key": C.STACK_TAG, "Value": settings.stack_id[:256]})
    tags.append({"Key": C.EXECUTION_TAG, "Value": execution_arn[:256]})
    return tags


def _mlflow_config(inp: dict[str, Any]) -> dict[str, Any]:
    mlflow: dict[str, Any] = {"MlflowResourceArn": inp["mlflow_resource_arn"]}
    if inp.get("mlflow_experiment_name"):
        mlflow["MlflowExperimentName"] = inp["mlflow_experiment_name"]
    if inp.get("mlflow_run_name"):
        mlflow["MlflowRunName"] = inp["mlflow_run_name"]
    return mlflow
