"""Execution-input validation: the schema, then every check that needs the stack but no AWS call.

``validate_input(raw, settings)`` returns the input with the stack's defaults filled in, or raises
the first problem as a named error (``errors``). Each check below is one rule of the contract: a
model the region offers, data the training role may read, an output it may write, a group it may
register into, a reward function it may invoke, a judge offered here, tags the service accepts.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core.errors import (
    DatasetAccessDenied,
    InvalidInput,
    JudgeMissing,
    JudgeModelNotAvailable,
    ModelNotAvailableInRegion,
    RewardFunctionNotAllowed,
    UnsupportedTechnique,
)
from sagemaker_finetuning.core.evaluators import EVALUATOR_ARN
from sagemaker_finetuning.core.naming import MAX_NAME
from sagemaker_finetuning.core.schema_check import load_schema, validate_execution_input
from sagemaker_finetuning.core.settings import StackSettings

MODEL_PACKAGE_ARN = re.compile(r"^arn:(aws[a-z\-]*):sagemaker:([a-z0-9\-]+):(\d{12}):model-package/([^/]+)/(\d+)$")
LAMBDA_ARN = re.compile(r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[a-zA-Z0-9\-_]+(:[a-zA-Z0-9\-_$]+)?$")
GROUP_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package-group/(.+)$")
MODEL_ID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9.]){0,62}$")
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
#: Tags the workflow sets itself; an input may not.
RESERVED_TAGS = (C.JUMPSTART_MODEL_TAG, C.JUMPSTART_HUB_TAG, C.EXECUTION_TAG)


def is_continued(inp: dict[str, Any]) -> bool:
    """The input continues from an earlier output model package (its ``model`` is a package ARN)."""
    return bool(MODEL_PACKAGE_ARN.match(inp.get("model", "")))


def model_regions(model_id: str) -> tuple[str, ...]:
    """The regions serverless customization offers a model family in (SDK v3 finetune_utils)."""
    return C.NOVA_REGIONS if C.is_nova_model(model_id) else C.OPEN_WEIGHTS_REGIONS


def check_group_allowed(group: str, settings: StackSettings) -> None:
    """The training role registers only into the groups the stack granted (empty: not restricted)."""
    allowed = tuple(g for g in (settings.model_package_group_name, *settings.model_package_groups) if g)
    if allowed and group not in allowed:
        raise InvalidInput("model_package_group", group, f"a group the training role may register into: {', '.join(allowed)}")


def validate_input(raw: Any, settings: StackSettings) -> dict[str, Any]:
    """Schema and stack-level checks (no AWS). Returns the input with defaults filled in."""
    if isinstance(raw, dict) and "technique" in raw and raw["technique"] not in C.TECHNIQUES:
        raise UnsupportedTechnique("technique", raw["technique"], f"one of {', '.join(C.TECHNIQUES)}")
    validate_execution_input(raw)
    _check_line_breaks(raw)
    inp = _with_schema_defaults(raw)
    _check_model(inp, settings)
    _check_datasets(inp, settings)
    _check_output(inp, settings)
    _check_names_and_group(inp, settings)
    _check_runtime(inp, settings)
    _check_reward_function(inp, settings)
    _check_judge(inp, settings)
    _check_tags(inp, settings)
    _check_mlflow(inp, settings)
    return inp


def _check_line_breaks(raw: dict[str, Any]) -> None:
    for name, prop in load_schema()["properties"].items():
        value = raw.get(name)
        if "pattern" in prop and isinstance(value, str) and _LINE_BREAKS & set(value):
            # Python's "$" also matches before a final newline; the service's patterns do not.
            raise InvalidInput(name, value, f"a value without line breaks, matching {prop['pattern']}")


def _with_schema_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    inp = copy.deepcopy(raw)
    for name, prop in load_schema()["properties"].items():
        if "default" in prop:
            inp.setdefault(name, prop["default"])
    return inp


def _check_model(inp: dict[str, Any], settings: StackSettings) -> None:
    """The base model: the input's, else the stack's; a hub id the region offers, or a package ARN."""
    if "model" not in inp:
        if not settings.base_model:
            raise InvalidInput("model", None, "a SageMakerPublicHub model id or a model package ARN (this stack has no default base model)")
        inp["model"] = settings.base_model
    if inp["model"].startswith("arn:") and not is_continued(inp):
        raise InvalidInput("model", inp["model"], "a hub model id or a model package ARN arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>")
    if not inp["model"].startswith("arn:") and not MODEL_ID.match(inp["model"]):
        raise InvalidInput("model", inp["model"], "a SageMakerPublicHub model id such as huggingface-llm-qwen3-0-6b")
    # Bedrock-style ids (amazon.nova-2-lite-v1) name hub models (SDK v3 model_aliases.normalize_model_name).
    inp["model"] = C.MODEL_NAME_ALIASES.get(inp["model"], inp["model"])
    if not is_continued(inp):
        regions = model_regions(inp["model"])
        if settings.region not in regions:
            raise ModelNotAvailableInRegion("model", inp["model"], f"a region offering it: {', '.join(regions)} (this stack is in {settings.region})")


def _bucket_of(uri: str) -> str:
    return uri[5:].split("/", 1)[0]


def _check_datasets(inp: dict[str, Any], settings: StackSettings) -> None:
    """Datasets the training role may read: the stack bucket's dataset prefix or a granted bucket."""
    for key in ("training_dataset", "validation_dataset"):
        uri = inp.get(key)
        if not uri:
            continue
        if uri.startswith("s3://") and len(uri) > MAX_S3_URI:
            raise InvalidInput(key, uri, f"an S3 URI of at most {MAX_S3_URI} characters")
        if uri.startswith("arn:") and (len(uri) > MAX_ARN or not DATASET_ARN.match(uri)):
            raise InvalidInput(
                key, uri,
                "a DataSet ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z> "
                "(hub and dataset names of letters, digits and dashes)",
            )
        if uri.startswith("s3://") and _bucket_of(uri) not in settings.readable_buckets:
            raise DatasetAccessDenied(
                key, uri, f"an S3 location in a bucket the training role may read: {', '.join(settings.readable_buckets)}",
                "Add the bucket to the construct's dataset_buckets prop or copy the data into the stack bucket",
            )
        if _bucket_of(uri) == settings.bucket and not uri.startswith(f"s3://{settings.bucket}/{settings.dataset_prefix}"):
            raise DatasetAccessDenied(
                key, uri, f"a location under s3://{settings.bucket}/{settings.dataset_prefix} (the training role reads only that prefix of the stack bucket)",
            )


def _check_output(inp: dict[str, Any], settings: StackSettings) -> None:
    inp.setdefault("s3_output_path", f"s3://{settings.bucket}/{settings.output_prefix}")
    if not inp["s3_output_path"].startswith(f"s3://{settings.bucket}/{settings.output_prefix}"):
        raise DatasetAccessDenied(
            "s3_output_path", inp["s3_output_path"],
            f"a location under s3://{settings.bucket}/{settings.output_prefix} (the only place the training role may write)",
        )


def _check_names_and_group(inp: dict[str, Any], settings: StackSettings) -> None:
    """Names: the schema patterns bound the characters; the service also bounds the length.
    The group: the stack's by default (continued customization: checked against the source later)."""
    if len(inp.get("training_job_name", "")) > MAX_NAME:
        raise InvalidInput("training_job_name", inp["training_job_name"], f"at most {MAX_NAME} characters (a SageMaker training job name)")
    if "model_package_group" in inp:
        match = GROUP_ARN.match(inp["model_package_group"])
        inp["model_package_group"] = match.group(1) if match else inp["model_package_group"]
        if len(inp["model_package_group"]) > MAX_NAME:
            raise InvalidInput("model_package_group", inp["model_package_group"], f"a group name of at most {MAX_NAME} characters")
    elif settings.model_package_group_name and not is_continued(inp):
        inp["model_package_group"] = settings.model_package_group_name
    if not is_continued(inp) and "model_package_group" not in inp:
        raise InvalidInput("model_package_group", None, "a model package group name (this stack has no default group)")
    if not is_continued(inp) and inp.get("model_package_group"):
        check_group_allowed(inp["model_package_group"], settings)


def _check_runtime(inp: dict[str, Any], settings: StackSettings) -> None:
    inp.setdefault("max_runtime_in_seconds", settings.max_runtime_seconds)
    if inp["max_runtime_in_seconds"] > settings.max_runtime_seconds:
        raise InvalidInput("max_runtime_in_seconds", inp["max_runtime_in_seconds"],
                           f"an integer between 1 and {settings.max_runtime_seconds} (the stack's maximum runtime)")


def _check_reward_function(inp: dict[str, Any], settings: StackSettings) -> None:
    """RLVR: the input's reward function, else the stack's; a Lambda ARN must be one the stack may invoke.

    Without any, the recipe's preset_reward_function must be set; that needs the recipe, so
    ``plan_training_job`` checks it (as RLVRTrainer.train does)."""
    if inp["technique"] != "RLVR":
        if "custom_reward_function" in inp:
            raise InvalidInput("custom_reward_function", inp["custom_reward_function"], "no value: only RLVR uses a reward function")
        return
    fn = inp.get("custom_reward_function") or settings.reward_evaluator_arn
    if not fn:
        return
    inp["custom_reward_function"] = fn
    if LAMBDA_ARN.match(fn):
        unqualified = fn.split(":function:")[0] + ":function:" + fn.split(":function:")[1].split(":")[0]
        if unqualified not in settings.reward_function_arns:
            raise RewardFunctionNotAllowed(
                "custom_reward_function", fn,
                f"one of the reward functions this stack may invoke: {', '.join(settings.reward_function_arns) or 'none'}",
            )


def _check_judge(inp: dict[str, Any], settings: StackSettings) -> None:
    """RLAIF: a judge offered in this region and a prompt (built-in name or RewardPrompt evaluator ARN)."""
    if inp["technique"] != "RLAIF":
        for key in ("reward_model_id", "reward_prompt"):
            if key in inp:
                raise InvalidInput(key, inp[key], "no value: only RLAIF uses a judge")
        return
    judge = inp.get("reward_model_id") or settings.judge_model_id
    if not judge:
        raise JudgeMissing("reward_model_id", None, f"a judge model id, one of {', '.join(C.JUDGE_MODEL_REGIONS)}")
    if judge not in C.JUDGE_MODEL_REGIONS:
        raise JudgeModelNotAvailable("reward_model_id", judge, f"one of {', '.join(C.JUDGE_MODEL_REGIONS)}")
    if settings.region not in C.JUDGE_MODEL_REGIONS[judge]:
        offered = ", ".join(m for m, r in C.JUDGE_MODEL_REGIONS.items() if settings.region in r)
        raise JudgeModelNotAvailable("reward_model_id", judge, f"a judge offered in {settings.region}: {offered}")
    inp["reward_model_id"] = judge
    prompt = inp.get("reward_prompt") or settings.judge_prompt
    if prompt:
        inp["reward_prompt"] = prompt
        _check_prompt(prompt)


def _check_prompt(prompt: str) -> None:
    if not (prompt.startswith("Builtin.") or prompt.startswith("arn:")):
        raise InvalidInput("reward_prompt", prompt, "Builtin.<" + "|".join(C.BUILTIN_JUDGE_PROMPTS) + "> or a RewardPrompt evaluator ARN")
    if prompt.startswith("Builtin.") and prompt.split(".", 1)[1] not in C.BUILTIN_JUDGE_PROMPTS:
        raise InvalidInput("reward_prompt", prompt, "one of " + ", ".join("Builtin." + p for p in C.BUILTIN_JUDGE_PROMPTS))
    if prompt.startswith("arn:") and not EVALUATOR_ARN.fullmatch(prompt):
        raise InvalidInput(
            "reward_prompt", prompt,
            "a RewardPrompt evaluator ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<version>",
        )


def _tag_text_ok(text: str) -> bool:
    """The service's tag pattern: letters, separators, numbers and _ . : / = + - @."""
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def _check_tags(inp: dict[str, Any], settings: StackSettings) -> None:
    for key, value in (inp.get("tags") or {}).items():
        if key in RESERVED_TAGS:
            raise InvalidInput(f"tags.{key}", value, f"a key other than {', '.join(sorted(RESERVED_TAGS))} (the workflow sets those)")
        for text in (key, value):
            if not _tag_text_ok(text):
                raise InvalidInput(f"tags.{key}", text, "letters, digits, spaces and _ . : / = + - @ only (the SageMaker tag alphabet)")
    own = len(RESERVED_TAGS) + len({**settings.stack_tags, **(inp.get("tags") or {})})
    if own > MAX_TAGS:
        raise InvalidInput(
            "tags", f"{len(inp.get('tags') or {})} tags",
            f"at most {MAX_TAGS - len(RESERVED_TAGS) - len(settings.stack_tags)} tags (a training job has at most {MAX_TAGS}; "
            f"the stack adds {len(settings.stack_tags)} and the workflow {len(RESERVED_TAGS)})",
        )


def _check_mlflow(inp: dict[str, Any], settings: StackSettings) -> None:
    if inp.get("mlflow_resource_arn") is None and settings.mlflow_resource_arn:
        inp["mlflow_resource_arn"] = settings.mlflow_resource_arn
    if len(inp.get("mlflow_resource_arn") or "") > MAX_ARN:
        raise InvalidInput("mlflow_resource_arn", inp["mlflow_resource_arn"], f"an ARN of at most {MAX_ARN} characters")
    for key in ("mlflow_experiment_name", "mlflow_run_name"):
        if key in inp and _LINE_BREAKS & set(inp[key]):
            # The service pattern is ".*", which matches no line terminator.
            raise InvalidInput(key, inp[key], "a name without line breaks (1 to 256 characters)")
