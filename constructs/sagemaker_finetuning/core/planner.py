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

import copy
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core.errors import (
    DatasetAccessDenied,
    EulaNotAccepted,
    InvalidInput,
    JudgeMissing,
    JudgeModelNotAvailable,
    ModelNotAvailableInRegion,
    RewardFunctionMissing,
    RewardFunctionNotAllowed,
    UnsupportedTechnique,
)
from sagemaker_finetuning.core.evaluators import EVALUATOR_ARN
from sagemaker_finetuning.core.naming import MAX_NAME, training_job_name
from sagemaker_finetuning.core.recipes import (
    check_length_constraints,
    check_override,
    default_values,
    select_recipe,
    to_request_values,
)
from sagemaker_finetuning.core.schema_check import load_schema, validate_execution_input
from sagemaker_finetuning.core.settings import StackSettings

MODEL_PACKAGE_ARN = re.compile(
    r"^arn:(aws[a-z\-]*):sagemaker:([a-z0-9\-]+):(\d{12}):model-package/([^/]+)/(\d+)$"
)
LAMBDA_ARN = re.compile(r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[a-zA-Z0-9\-_]+(:[a-zA-Z0-9\-_$]+)?$")
GROUP_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package-group/(.+)$")
#: CreateTrainingJob: Tags 0..50; Tag Key/Value pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
MAX_TAGS = 50
_TAG_PUNCTUATION = set("_.:/=+-@")
_LINE_BREAKS = set("\n\r\x85\u2028\u2029")
#: CreateTrainingJob limits the input schema does not express (botocore service model).
MAX_S3_URI = 1024
MAX_ARN = 2048
DATASET_ARN = re.compile(
    r"^arn:[a-z0-9-.]{1,63}:sagemaker:\w+(?:-\w+)+:(\d{12}|aws):hub-content/"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/DataSet/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}(/\d{1,4}.\d{1,4}.\d{1,4})?$",  # "." unescaped as in the service model
    re.ASCII,
)


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


def is_continued(inp: dict[str, Any]) -> bool:
    return bool(MODEL_PACKAGE_ARN.match(inp.get("model", "")))


def _bucket_of(uri: str) -> str:
    return uri[5:].split("/", 1)[0]


def _normalize_group(value: str) -> str:
    m = GROUP_ARN.match(value)
    return m.group(1) if m else value


def _tag_text_ok(text: str) -> bool:
    """The service's tag pattern: letters, separators, numbers and _ . : / = + - @."""
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def _model_regions(model_id: str) -> tuple[str, ...]:
    return C.NOVA_REGIONS if C.is_nova_model(model_id) else C.OPEN_WEIGHTS_REGIONS


def validate_input(raw: Any, settings: StackSettings) -> dict[str, Any]:
    """Schema and stack-level checks (no AWS). Returns the input with defaults filled in."""
    if isinstance(raw, dict) and "technique" in raw and raw["technique"] not in C.TECHNIQUES:
        raise UnsupportedTechnique("technique", raw["technique"], f"one of {', '.join(C.TECHNIQUES)}")
    validate_execution_input(raw)
    for name, prop in load_schema()["properties"].items():
        value = raw.get(name)
        if "pattern" in prop and isinstance(value, str) and _LINE_BREAKS & set(value):
            # Python's "$" also matches before a final newline; the service's patterns do not.
            raise InvalidInput(name, value, f"a value without line breaks, matching {prop['pattern']}")
    inp = copy.deepcopy(raw)
    for name, prop in load_schema()["properties"].items():
        if "default" in prop:
            inp.setdefault(name, prop["default"])
    technique = inp["technique"]

    # Base model: the input's, else the stack's.
    if "model" not in inp:
        if not settings.base_model:
            raise InvalidInput("model", None, "a SageMakerPublicHub model id or a model package ARN (this stack has no default base model)")
        inp["model"] = settings.base_model
    if inp["model"].startswith("arn:") and not is_continued(inp):
        raise InvalidInput("model", inp["model"], "a hub model id or a model package ARN arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>")
    if not inp["model"].startswith("arn:") and not re.match(r"^[a-zA-Z0-9](-*[a-zA-Z0-9.]){0,62}$", inp["model"]):
        raise InvalidInput("model", inp["model"], "a SageMakerPublicHub model id such as huggingface-llm-qwen3-0-6b")
    # Bedrock-style ids (amazon.nova-2-lite-v1) name hub models (SDK v3 model_aliases.normalize_model_name).
    inp["model"] = C.MODEL_NAME_ALIASES.get(inp["model"], inp["model"])
    if not is_continued(inp):
        regions = _model_regions(inp["model"])
        if settings.region not in regions:
            raise ModelNotAvailableInRegion("model", inp["model"], f"a region offering it: {', '.join(regions)} (this stack is in {settings.region})")

    # Datasets must be readable by the training role; output writable.
    for key in ("training_dataset", "validation_dataset"):
        uri = inp.get(key)
        if uri and uri.startswith("s3://") and len(uri) > MAX_S3_URI:
            raise InvalidInput(key, uri, f"an S3 URI of at most {MAX_S3_URI} characters")
        if uri and uri.startswith("arn:") and (len(uri) > MAX_ARN or not DATASET_ARN.match(uri)):
            raise InvalidInput(
                key, uri,
                "a DataSet ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z> "
                "(hub and dataset names of letters, digits and dashes)",
            )
        if uri and uri.startswith("s3://") and _bucket_of(uri) not in settings.readable_buckets:
            raise DatasetAccessDenied(
                key, uri, f"an S3 location in a bucket the training role may read: {', '.join(settings.readable_buckets)}",
                "Add the bucket to the construct's dataset_buckets prop or copy the data into the stack bucket",
            )
        if uri and _bucket_of(uri) == settings.bucket and not uri.startswith(f"s3://{settings.bucket}/{settings.dataset_prefix}"):
            raise DatasetAccessDenied(
                key, uri, f"a location under s3://{settings.bucket}/{settings.dataset_prefix} (the training role reads only that prefix of the stack bucket)",
            )
    inp.setdefault("s3_output_path", f"s3://{settings.bucket}/{settings.output_prefix}")
    if not inp["s3_output_path"].startswith(f"s3://{settings.bucket}/{settings.output_prefix}"):
        raise DatasetAccessDenied(
            "s3_output_path", inp["s3_output_path"],
            f"a location under s3://{settings.bucket}/{settings.output_prefix} (the only place the training role may write)",
        )

    # Names: the schema patterns bound the characters; the service also bounds the length.
    if len(inp.get("training_job_name", "")) > MAX_NAME:
        raise InvalidInput("training_job_name", inp["training_job_name"], f"at most {MAX_NAME} characters (a SageMaker training job name)")
    # Model package group: the stack's by default (continued: checked against the source later).
    if "model_package_group" in inp:
        inp["model_package_group"] = _normalize_group(inp["model_package_group"])
        if len(inp["model_package_group"]) > MAX_NAME:
            raise InvalidInput("model_package_group", inp["model_package_group"], f"a group name of at most {MAX_NAME} characters")
    elif settings.model_package_group_name and not is_continued(inp):
        inp["model_package_group"] = settings.model_package_group_name
    if not is_continued(inp) and "model_package_group" not in inp:
        raise InvalidInput("model_package_group", None, "a model package group name (this stack has no default group)")
    if not is_continued(inp) and inp.get("model_package_group"):
        _check_group_allowed(inp["model_package_group"], settings)

    # Runtime bound.
    inp.setdefault("max_runtime_in_seconds", settings.max_runtime_seconds)
    if inp["max_runtime_in_seconds"] > settings.max_runtime_seconds:
        raise InvalidInput("max_runtime_in_seconds", inp["max_runtime_in_seconds"], f"an integer between 1 and {settings.max_runtime_seconds} (the stack's maximum runtime)")

    if technique == "RLVR":
        # Without a reward function the recipe's preset_reward_function (default or override) must be
        # set; that needs the recipe, so plan_training_job checks it (as RLVRTrainer.train does).
        fn = inp.get("custom_reward_function") or settings.reward_evaluator_arn
        if fn:
            inp["custom_reward_function"] = fn
            if LAMBDA_ARN.match(fn):
                unqualified = fn.split(":function:")[0] + ":function:" + fn.split(":function:")[1].split(":")[0]
                if unqualified not in settings.reward_function_arns:
                    raise RewardFunctionNotAllowed(
                        "custom_reward_function", fn,
                        f"one of the reward functions this stack may invoke: {', '.join(settings.reward_function_arns) or 'none'}",
                    )
    elif "custom_reward_function" in inp:
        raise InvalidInput("custom_reward_function", inp["custom_reward_function"], "no value: only RLVR uses a reward function")
    if technique == "RLAIF":
        judge = inp.get("reward_model_id") or settings.judge_model_id
        if not judge:
            raise JudgeMissing("reward_model_id", None, f"a judge model id, one of {', '.join(C.JUDGE_MODEL_REGIONS)}")
        if judge not in C.JUDGE_MODEL_REGIONS:
            raise JudgeModelNotAvailable("reward_model_id", judge, f"one of {', '.join(C.JUDGE_MODEL_REGIONS)}")
        if settings.region not in C.JUDGE_MODEL_REGIONS[judge]:
            raise JudgeModelNotAvailable(
                "reward_model_id", judge,
                f"a judge offered in {settings.region}: "
                + ", ".join(m for m, r in C.JUDGE_MODEL_REGIONS.items() if settings.region in r),
            )
        inp["reward_model_id"] = judge
        prompt = inp.get("reward_prompt") or settings.judge_prompt
        if prompt:
            inp["reward_prompt"] = prompt
            if not (prompt.startswith("Builtin.") or prompt.startswith("arn:")):
                raise InvalidInput("reward_prompt", prompt, "Builtin.<" + "|".join(C.BUILTIN_JUDGE_PROMPTS) + "> or a RewardPrompt evaluator ARN")
            if prompt.startswith("Builtin.") and prompt.split(".", 1)[1] not in C.BUILTIN_JUDGE_PROMPTS:
                raise InvalidInput("reward_prompt", prompt, "one of " + ", ".join("Builtin." + p for p in C.BUILTIN_JUDGE_PROMPTS))
            if prompt.startswith("arn:") and not EVALUATOR_ARN.fullmatch(prompt):
                raise InvalidInput(
                    "reward_prompt", prompt,
                    "a RewardPrompt evaluator ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<version>",
                )
    else:
        for key in ("reward_model_id", "reward_prompt"):
            if key in inp:
                raise InvalidInput(key, inp[key], "no value: only RLAIF uses a judge")
    reserved = {C.JUMPSTART_MODEL_TAG, C.JUMPSTART_HUB_TAG, C.EXECUTION_TAG}
    for key, value in (inp.get("tags") or {}).items():
        if key in reserved:
            raise InvalidInput(f"tags.{key}", value, f"a key other than {', '.join(sorted(reserved))} (the workflow sets those)")
        for text in (key, value):
            if not _tag_text_ok(text):
                raise InvalidInput(f"tags.{key}", text, "letters, digits, spaces and _ . : / = + - @ only (the SageMaker tag alphabet)")
    own = len(reserved) + len({**settings.stack_tags, **(inp.get("tags") or {})})
    if own > MAX_TAGS:
        raise InvalidInput(
            "tags", f"{len(inp.get('tags') or {})} tags",
            f"at most {MAX_TAGS - len(reserved) - len(settings.stack_tags)} tags (a training job has at most {MAX_TAGS}; "
            f"the stack adds {len(settings.stack_tags)} and the workflow {len(reserved)})",
        )
    if inp.get("mlflow_resource_arn") is None and settings.mlflow_resource_arn:
        inp["mlflow_resource_arn"] = settings.mlflow_resource_arn
    if len(inp.get("mlflow_resource_arn") or "") > MAX_ARN:
        raise InvalidInput("mlflow_resource_arn", inp["mlflow_resource_arn"], f"an ARN of at most {MAX_ARN} characters")
    for key in ("mlflow_experiment_name", "mlflow_run_name"):
        if key in inp and _LINE_BREAKS & set(inp[key]):
            # The service pattern is ".*", which matches no line terminator.
            raise InvalidInput(key, inp[key], "a name without line breaks (1 to 256 characters)")
    return inp


def _check_group_allowed(group: str, settings: StackSettings) -> None:
    """The training role registers only into the groups the stack granted (empty: not restricted)."""
    allowed = tuple(g for g in (settings.model_package_group_name, *settings.model_package_groups) if g)
    if allowed and group not in allowed:
        raise InvalidInput("model_package_group", group, f"a group the training role may register into: {', '.join(allowed)}")


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
                    raise InvalidInput("reward_prompt", prompt, "a built-in prompt this recipe offers: " + ", ".join(_normalize_template(t) for t in enum))
                values["judge_prompt_template"] = match
        elif prompt:
            specs.pop("judge_prompt_template", None)
            values.pop("judge_prompt_template", None)
            evaluator_arn = prompt
    for name, value in (inp.get("hyperparameters") or {}).items():
        values[name] = check_override(name, value, specs)
    check_length_constraints(values, recipe)
    return to_request_values(values), evaluator_arn


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
) -> dict[str, Any]:
    """The exact CreateTrainingJob request for a validated input and a resolved model."""
    technique = inp["technique"]
    continued = resolved.source_model_package_arn is not None
    recipe = select_recipe(resolved.recipes, resolved.model_id, technique, inp["training_type"], inp.get("sequence_length"))

    if continued:
        regions = _model_regions(resolved.model_id)
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
        _check_group_allowed(group, settings)
        accept_eula = True  # SDK v3: EULA is taken as accepted for model package inputs.
    else:
        group = inp["model_package_group"]
        if resolved.gated and not inp["accept_eula"]:
            raise EulaNotAccepted(
                "accept_eula", inp["accept_eula"],
                f"true: model {resolved.model_id!r} is gated and its license must be accepted",
                "Read the model's license, then start the execution with \"accept_eula\": true",
            )
        accept_eula = bool(inp["accept_eula"])

    hyperparameters, prompt_evaluator = hyperparameters_for(inp, recipe, override_params)
    if technique == "RLVR" and not inp.get("custom_reward_function") and not hyperparameters.get("preset_reward_function"):
        raise RewardFunctionMissing(
            "custom_reward_function", None,
            "an evaluator ARN or Lambda ARN (this stack has no default reward function), or hyperparameters.preset_reward_function",
        )

    serverless: dict[str, Any] = {
        "BaseModelArn": resolved.base_model_arn,
        "JobType": C.JOB_TYPE,
        "CustomizationTechnique": technique,
    }
    if accept_eula:
        # SDK v3 sends AcceptEula only when true (sagemaker-core drops false shape members).
        serverless["AcceptEula"] = True
    if inp["training_type"] == "LORA":
        serverless["Peft"] = "LORA"
    if technique == "RLVR" and inp.get("custom_reward_function"):
        fn = inp["custom_reward_function"]
        if LAMBDA_ARN.match(fn):
            # The stack registered an evaluator for each reward function it owns.
            # An evaluator refers to one exact function version/alias (SDK v3 registers the ARN as
            # given), so a qualified ARN needs an evaluator of its own; :$LATEST is the function itself.
            by_lambda = {v: k for k, v in settings.reward_evaluators.items()}
            target = fn[: -len(":$LATEST")] if fn.endswith(":$LATEST") else fn
            if target not in by_lambda:
                raise RewardFunctionNotAllowed(
                    "custom_reward_function", fn,
                    "a reward function this stack registered as an evaluator: " + (", ".join(by_lambda) or "none")
                    + " (for another version or alias, register an evaluator for it and pass the evaluator ARN)",
                )
            fn = by_lambda[target]
        serverless["EvaluatorArn"] = fn
    if prompt_evaluator:
        serverless["EvaluatorArn"] = prompt_evaluator
    if inp.get("sequence_length"):
        serverless["SequenceLength"] = inp["sequence_length"]

    nova = C.is_nova_model(resolved.model_id)
    s3_data_type = "Converse" if nova and technique in ("SFT", "DPO") else "S3Prefix"
    channels = [_channel("train", inp["training_dataset"], s3_data_type)]
    if inp.get("validation_dataset"):
        channels.append(_channel("validation", inp["validation_dataset"], s3_data_type))

    output: dict[str, Any] = {"S3OutputPath": inp["s3_output_path"]}
    if settings.kms_key_arn:
        output["KmsKeyId"] = settings.kms_key_arn
    if inp.get("disable_output_compression"):
        output["CompressionType"] = "NONE"

    package_config: dict[str, Any] = {"ModelPackageGroupArn": settings.group_arn(group)}
    if continued:
        package_config["SourceModelPackageArn"] = resolved.source_model_package_arn

    tags = [
        {"Key": C.JUMPSTART_MODEL_TAG, "Value": resolved.model_id},
        {"Key": C.JUMPSTART_HUB_TAG, "Value": settings.hub_name},
    ]
    tags += [{"Key": k, "Value": v} for k, v in sorted({**settings.stack_tags, **(inp.get("tags") or {})}.items())]
    tags.append({"Key": C.EXECUTION_TAG, "Value": execution_arn[:256]})

    request: dict[str, Any] = {
        "TrainingJobName": inp.get("training_job_name") or training_job_name(resolved.model_id, technique, execution_arn),
        "RoleArn": settings.role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": output,
        "ServerlessJobConfig": serverless,
        "HyperParameters": hyperparameters,
        "ModelPackageConfig": package_config,
        "StoppingCondition": {"MaxRuntimeInSeconds": int(inp["max_runtime_in_seconds"])},
        "Tags": tags,
    }
    if inp.get("mlflow_resource_arn"):
        mlflow: dict[str, Any] = {"MlflowResourceArn": inp["mlflow_resource_arn"]}
        if inp.get("mlflow_experiment_name"):
            mlflow["MlflowExperimentName"] = inp["mlflow_experiment_name"]
        if inp.get("mlflow_run_name"):
            mlflow["MlflowRunName"] = inp["mlflow_run_name"]
        request["MlflowConfig"] = mlflow
    return request
