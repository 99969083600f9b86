"""Execution-input validation: the schema, then every check that needs the stack but no AWS call.

``validate_input(raw, settings)`` returns the input with the stack's defaults filled in, or raises
one named error (``errors``) that lists *every* problem found: first all schema problems; for an
input that passes the schema, every stack-level problem. Each check below is one rule of the
contract: readable text, a model the region offers, data the training role may read, an output it
may write, a group it may register into, a reward function it may invoke, a judge it was granted,
tags the service accepts and the workflow does not own, the stack's MLflow resource only.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from typing import Any, Callable

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core import evaluation as EV
from sagemaker_finetuning.core import schema_check
from sagemaker_finetuning.core import sweep_plan as SW
from sagemaker_finetuning.core.errors import (
    AccessNotGranted,
    DatasetAccessDenied,
    FineTuningInputError,
    HyperparameterNotTunable,
    HyperparameterOutOfRange,
    InvalidInput,
    JudgeMissing,
    JudgeModelNotAvailable,
    ModelNotAvailableInRegion,
    RewardFunctionNotAllowed,
    UnsupportedTechnique,
    combined,
)
from sagemaker_finetuning.core.evaluators import EVALUATOR_ARN
from sagemaker_finetuning.core.naming import MAX_NAME
from sagemaker_finetuning.core.settings import StackSettings

MODEL_PACKAGE_ARN = re.compile(r"^arn:(aws[a-z\-]*):sagemaker:([a-z0-9\-]+):(\d{12}):model-package/([^/]+)/(\d+)$")
#: A training job whose output model package a run continues from (the SageMaker AI plugin's skill accepts one).
TRAINING_JOB_ARN = re.compile(r"^arn:(aws[a-z\-]*):sagemaker:([a-z0-9\-]+):(\d{12}):training-job/([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$")
LAMBDA_ARN = re.compile(r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[a-zA-Z0-9\-_]+(:[a-zA-Z0-9\-_$]+)?$")
GROUP_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package-group/(.+)$")
MODEL_ID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9.]){0,62}$")
#: CreateTrainingJob: Tags 0..50; Tag Key/Value pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
MAX_TAGS = 50
_TAG_PUNCTUATION = set("_.:/=+-@")
#: CreateTrainingJob limits the input schema does not express (botocore service model).
MAX_S3_URI = 1024
MAX_ARN = 2048
#: Hyperparameter numbers beyond this magnitude are refused before any arithmetic (no recipe range
#: comes near it; Python would otherwise overflow converting them to float or to text).
MAX_NUMBER = 10**15
DATASET_ARN = re.compile(
    r"^arn:[a-z0-9-.]{1,63}:sagemaker:\w+(?:-\w+)+:(\d{12}|aws):hub-content/"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/DataSet/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}(/\d{1,4}.\d{1,4}.\d{1,4})?$",  # "." unescaped as in the service model
    re.ASCII,
)
#: Tags the workflow sets itself; an input may not.
RESERVED_TAGS = (C.JUMPSTART_MODEL_TAG, C.JUMPSTART_HUB_TAG, C.EXECUTION_TAG, C.STACK_TAG)
#: Recipe keys the workflow derives from dedicated inputs (or that name the job's own files): never
#: overridable through ``hyperparameters``. Key -> what sets it. (The recipes' override-params mark
#: the tunable keys ``category: hyperparameter``; ``planner.hyperparameters_for`` also enforces that.)
RESERVED_HYPERPARAMETERS = {
    "data_path": "training_dataset", "data_s3_path": "training_dataset", "training_data_name": "training_dataset",
    "validation_data_path": "validation_dataset", "validation_s3_path": "validation_dataset",
    "validation_data_name": "validation_dataset", "output_path": "s3_output_path", "output_s3_path": "s3_output_path",
    "results_directory": "s3_output_path", "resume_from_path": "model (continued customization)",
    "model_name_or_path": "model", "name": "the workflow (the job's recipe name)",
    "mlflow_tracking_uri": "mlflow_resource_arn", "mlflow_run_id": "mlflow_run_name", "mlflow_run_name": "mlflow_run_name",
    "mlflow_experiment_name": "mlflow_experiment_name", "judge_model_id": "reward_model_id",
    "judge_prompt_template": "reward_prompt", "reward_lambda_arn": "custom_reward_function",
}
Check = Callable[[dict[str, Any], StackSettings, list[FineTuningInputError]], None]


def is_continued(inp: dict[str, Any]) -> bool:
    """The input continues from an earlier output model package: its ``model`` is a package ARN, or the
    ARN of the training job that registered it."""
    model = str(inp.get("model", ""))
    return bool(MODEL_PACKAGE_ARN.match(model) or TRAINING_JOB_ARN.match(model))


def model_regions(model_id: str) -> tuple[str, ...]:
    """The regions serverless customization offers a model family in (SDK v3 finetune_utils)."""
    return C.NOVA_REGIONS if C.is_nova_model(model_id) else C.OPEN_WEIGHTS_REGIONS


def arn_scope(arn: str) -> tuple[str, str, str]:
    """(partition, region, account) of an ARN (empty strings when it is not one)."""
    parts = arn.split(":", 5)
    return (parts[1], parts[3], parts[4]) if len(parts) == 6 and parts[0] == "arn" else ("", "", "")


def check_group_allowed(group: str, settings: StackSettings) -> None:
    """The training role registers only into the groups the stack granted (empty: not restricted)."""
    allowed = settings.granted_groups
    if allowed and group not in allowed:
        raise InvalidInput("model_package_group", group, f"a group the training role may register into: {', '.join(allowed)}")


def validate_input(raw: Any, settings: StackSettings) -> dict[str, Any]:
    """Schema and stack-level checks (no AWS). Returns the input with defaults filled in."""
    raw = _as_object(raw)
    found: list[FineTuningInputError] = []
    if raw.get("technique") is not None and raw["technique"] not in C.TECHNIQUES:
        found.append(UnsupportedTechnique("technique", raw["technique"], f"one of {', '.join(C.TECHNIQUES)}"))
    found += [p for p in schema_check.problems(raw) if not (found and p.field == "technique")]
    if not found:
        _check_text(raw, settings, found)
    if found:  # the shape is wrong: report all of it before judging values against the stack
        raise combined(found)
    inp: dict[str, Any] = copy.deepcopy(raw)
    evaluating = raw.get("mode") == "evaluate"
    for name, prop in schema_check.load_schema()["properties"].items():
        if "default" in prop and not (evaluating and name in TRAINING_ONLY):
            inp.setdefault(name, prop["default"])
    for check in CHECKS if inp["mode"] == "train" else EVALUATE_CHECKS:
        check(inp, settings, found)
    if found:
        raise combined(found)
    return inp


def _as_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return dict(raw)
    example = 'a JSON object such as {"technique": "SFT", "training_dataset": "s3://<bucket>/datasets/train.jsonl"}'
    if isinstance(raw, str):
        try:
            inner = json.loads(raw)
        except ValueError:
            inner = None
        if isinstance(inner, dict):
            raise InvalidInput("(input)", raw, example, "The input is a JSON string that contains an object (encoded twice): send the object itself")
    kind = {list: "a JSON list", str: "a JSON string", bool: "a JSON boolean", int: "a JSON number", float: "a JSON number"}.get(type(raw), "null")
    raise InvalidInput("(input)", raw, f"{example} (received {kind})")


def _bad_text(text: str) -> bool:
    """Control characters or line breaks, which the service's name and value patterns refuse."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def _check_text(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """Every string of the input, hyperparameter values and tags included, is one line of text."""
    values = [(k, v) for k, v in inp.items() if isinstance(v, str)]
    values += [(f"hyperparameters.{k}", v) for k, v in (inp.get("hyperparameters") or {}).items() if isinstance(v, str)]
    values += [(f"tags.{k}", t) for k, v in (inp.get("tags") or {}).items() for t in (k, v)]
    block: dict[str, Any] = inp["evaluation"] if isinstance(inp.get("evaluation"), dict) else {}
    values += [(f"evaluation.{k}", v) for k, v in block.items() if isinstance(v, str)]
    gate: dict[str, Any] = block["gate"] if isinstance(block.get("gate"), dict) else {}
    values += [(f"evaluation.gate.{k}", v) for k, v in gate.items() if isinstance(v, str)]
    found += [InvalidInput(field, value, "text without control characters or line breaks")
              for field, value in values if _bad_text(value)]


def _check_model(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """The base model: the input's, else the stack's; a hub id the region offers, or a package ARN."""
    if "model" not in inp:
        if not settings.base_model:
            found.append(InvalidInput("model", None, "a SageMakerPublicHub model id or a model package ARN (this stack has no default base model)"))
            return
        inp["model"] = settings.base_model
    model = inp["model"]
    if TRAINING_JOB_ARN.match(model):
        if not settings.owns(*arn_scope(model)):
            found.append(AccessNotGranted("model", model, f"a training job of this stack's account and region ({settings.account}, {settings.region})"))
    elif is_continued(inp):
        found += source_package_problems(model, settings)
    elif model.startswith("arn:"):
        found.append(InvalidInput("model", model, "a hub model id, a model package ARN arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version> "
                                  "or a training job ARN arn:aws:sagemaker:<region>:<account>:training-job/<name>"))
    elif not MODEL_ID.match(model):
        found.append(InvalidInput("model", model, "a SageMakerPublicHub model id such as huggingface-reasoning-qwen3-06b"))
    else:
        # Bedrock-style ids (amazon.nova-2-lite-v1) name hub models (SDK v3 model_aliases.normalize_model_name).
        inp["model"] = C.MODEL_NAME_ALIASES.get(model, model)
        regions = model_regions(inp["model"])
        if settings.region not in regions:
            found.append(ModelNotAvailableInRegion(
                "model", inp["model"], f"a region offering it: {', '.join(regions)} (this stack is in {settings.region})"))


def source_package_problems(arn: str, settings: StackSettings, field: str = "model", received: str | None = None) -> list[FineTuningInputError]:
    """Continued customization reads the source package: it must be one the stack's roles may read."""
    match = MODEL_PACKAGE_ARN.match(arn)
    assert match is not None
    partition, region, account, group = match.group(1), match.group(2), match.group(3), match.group(4)
    shown = received or arn
    if not settings.owns(partition, region, account):
        return [AccessNotGranted(field, shown, f"a model package of this stack's account and region ({settings.account}, {settings.region})")]
    if settings.granted_groups and group.lower() not in {g.lower() for g in settings.granted_groups}:
        # SageMaker lowercases the group name inside model package ARNs.
        return [AccessNotGranted(field, shown, f"a model package of a group this stack may read: {', '.join(settings.granted_groups)}"
                                 + (f" (the job registered {arn})" if received else ""))]
    return []


def _bucket_of(uri: str) -> str:
    return uri[5:].split("/", 1)[0]


def _check_datasets(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """Datasets the training role may read: the stack bucket's dataset prefix, a granted bucket, or
    a DataSet of this stack's account and region."""
    for key in ("training_dataset", "validation_dataset"):
        uri = inp.get(key)
        if not uri:
            continue
        if uri.startswith("arn:"):
            if len(uri) > MAX_ARN or not DATASET_ARN.match(uri):
                found.append(InvalidInput(
                    key, uri, "a DataSet ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<x.y.z> "
                              "(hub and dataset names of letters, digits and dashes)"))
            elif not settings.owns(*arn_scope(uri)):
                found.append(AccessNotGranted(key, uri, f"a DataSet of this stack's account and region ({settings.account}, {settings.region})"))
        else:
            found += s3_dataset_problems(key, uri, settings)


def s3_dataset_problems(key: str, uri: str, settings: StackSettings) -> list[FineTuningInputError]:
    """An s3:// dataset the training role may read (the stack bucket's dataset prefix, or a granted bucket)."""
    if len(uri) > MAX_S3_URI:
        return [InvalidInput(key, uri, f"an S3 URI of at most {MAX_S3_URI} characters")]
    if _bucket_of(uri) not in settings.readable_buckets:
        return [DatasetAccessDenied(
            key, uri, f"an S3 location in a bucket the training role may read: {', '.join(settings.readable_buckets)}",
            "Add the bucket to the construct's dataset_buckets prop or copy the data into the stack bucket")]
    if _bucket_of(uri) == settings.bucket and not uri.startswith(f"s3://{settings.bucket}/{settings.dataset_prefix}"):
        return [DatasetAccessDenied(
            key, uri, f"a location under s3://{settings.bucket}/{settings.dataset_prefix} "
                      "(the training role reads only that prefix of the stack bucket)")]
    return []


def _check_output(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    inp.setdefault("s3_output_path", f"s3://{settings.bucket}/{settings.output_prefix}")
    if not inp["s3_output_path"].startswith(f"s3://{settings.bucket}/{settings.output_prefix}"):
        found.append(DatasetAccessDenied(
            "s3_output_path", inp["s3_output_path"],
            f"a location under s3://{settings.bucket}/{settings.output_prefix} (the only place the training role may write)"))


def _check_names_and_group(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """The job name fits the service; the group is the stack's (by default) or one it granted, named
    by name or by an ARN of this stack's account and region (never rewritten from another)."""
    if len(inp.get("training_job_name", "")) > MAX_NAME:
        found.append(InvalidInput("training_job_name", inp["training_job_name"], f"at most {MAX_NAME} characters (a SageMaker training job name)"))
    if "model_package_group" in inp:
        group = inp["model_package_group"]
        match = GROUP_ARN.match(group)
        if match and not settings.owns(*arn_scope(group)):
            found.append(AccessNotGranted("model_package_group", group,
                                          f"a group of this stack's account and region ({settings.account}, {settings.region}), or its name"))
            return
        inp["model_package_group"] = match.group(1) if match else group
        if len(inp["model_package_group"]) > MAX_NAME:
            found.append(InvalidInput("model_package_group", inp["model_package_group"], f"a group name of at most {MAX_NAME} characters"))
            return
    elif settings.model_package_group_name and not is_continued(inp):
        inp["model_package_group"] = settings.model_package_group_name
    if not is_continued(inp) and "model_package_group" not in inp:
        found.append(InvalidInput("model_package_group", None, "a model package group name (this stack has no default group)"))
    elif not is_continued(inp):
        try:
            check_group_allowed(inp["model_package_group"], settings)
        except InvalidInput as error:
            found.append(error)


def _check_runtime(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    inp.setdefault("max_runtime_in_seconds", settings.max_runtime_seconds)
    if inp["max_runtime_in_seconds"] > settings.max_runtime_seconds:
        found.append(InvalidInput("max_runtime_in_seconds", inp["max_runtime_in_seconds"],
                                  f"an integer between 1 and {settings.max_runtime_seconds} (the stack's maximum runtime)"))
    else:
        inp["max_runtime_in_seconds"] = int(inp["max_runtime_in_seconds"])


def _check_sequence_length(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """``4k`` means ``4K`` (the recipes' spelling); the schema refuses anything else (``08K``, ``4096``)."""
    if inp.get("sequence_length"):
        inp["sequence_length"] = inp["sequence_length"].upper()


def _check_hyperparameters(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """Keys the workflow sets are not overridable; numbers are of a size arithmetic can handle."""
    for name, value in (inp.get("hyperparameters") or {}).items():
        field = f"hyperparameters.{name}"
        if name in RESERVED_HYPERPARAMETERS:
            found.append(HyperparameterNotTunable(
                field, value, f"a tunable hyperparameter of the recipe ({name} is set by the workflow from "
                              f"{RESERVED_HYPERPARAMETERS[name]})"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and not _plausible_number(value):
            found.append(HyperparameterOutOfRange(field, value, f"a finite number between -{MAX_NUMBER:.0e} and {MAX_NUMBER:.0e}"))


def _plausible_number(value: float) -> bool:
    if isinstance(value, int):
        return -MAX_NUMBER <= value <= MAX_NUMBER
    return value == value and -MAX_NUMBER <= value <= MAX_NUMBER  # NaN != NaN; infinities are out of range


def _check_reward_function(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """RLVR: the input's reward function, else the stack's: an evaluator of this account and region,
    or a Lambda the stack may invoke. Without any, the recipe's preset_reward_function must be set;
    that needs the recipe, so ``plan_training_job`` checks it (as RLVRTrainer.train does)."""
    if inp["technique"] != "RLVR":
        if "custom_reward_function" in inp:
            found.append(InvalidInput("custom_reward_function", inp["custom_reward_function"], "no value: only RLVR uses a reward function"))
        return
    fn = inp.get("custom_reward_function") or settings.reward_evaluator_arn
    if not fn:
        return
    inp["custom_reward_function"] = fn
    if fn != settings.reward_evaluator_arn and not settings.owns(*arn_scope(fn)):
        found.append(AccessNotGranted("custom_reward_function", fn,
                                      f"a reward function of this stack's account and region ({settings.account}, {settings.region})"))
    elif LAMBDA_ARN.match(fn):
        unqualified = fn.split(":function:")[0] + ":function:" + fn.split(":function:")[1].split(":")[0]
        if unqualified not in settings.reward_function_arns:
            found.append(RewardFunctionNotAllowed(
                "custom_reward_function", fn,
                f"one of the reward functions this stack may invoke: {', '.join(settings.reward_function_arns) or 'none'}"))


def _check_judge(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """RLAIF: a judge this stack granted (and the region offers) and a built-in prompt or an evaluator."""
    if inp["technique"] != "RLAIF":
        found += [InvalidInput(key, inp[key], "no value: only RLAIF uses a judge") for key in ("reward_model_id", "reward_prompt") if key in inp]
        return
    judge = inp.get("reward_model_id") or settings.judge_model_id
    problems = judge_problems("reward_model_id", judge, settings)
    found += problems
    if not problems:
        inp["reward_model_id"] = judge
    prompt = inp.get("reward_prompt") or settings.judge_prompt
    if prompt:
        inp["reward_prompt"] = prompt
        found += _prompt_problems(prompt, settings)


def judge_problems(field: str, judge: str | None, settings: StackSettings) -> list[FineTuningInputError]:
    """A judge this stack granted (the training role may invoke it) and the region offers."""
    granted = settings.judge_model_ids or ((settings.judge_model_id,) if settings.judge_model_id else ())
    grants = ", ".join(granted) or "none (set the construct's judge_model)"
    if not judge:
        return [JudgeMissing(field, None, f"a judge model id this stack grants: {grants}")]
    if judge not in C.JUDGE_MODEL_REGIONS or judge not in granted:
        return [JudgeModelNotAvailable(field, judge, f"a judge this stack grants: {grants}")]
    if settings.region not in C.JUDGE_MODEL_REGIONS[judge]:
        offered = ", ".join(m for m, r in C.JUDGE_MODEL_REGIONS.items() if settings.region in r)
        return [JudgeModelNotAvailable(field, judge, f"a judge offered in {settings.region}: {offered}")]
    return []


def builtin_prompt_problem(prompt: str, offered: tuple[str, ...] = C.BUILTIN_JUDGE_PROMPTS) -> str | None:
    """What ``Builtin.<Name>`` should be instead, or None when ``<Name>`` is one of ``offered`` (any case)."""
    name = prompt.split(".", 1)[1].strip().lower()
    if name in {o.lower() for o in offered}:
        return None
    meant = C.BUILTIN_JUDGE_PROMPT_ALIASES.get(name)
    hint = f"Builtin.{meant} (the recipe's {meant.lower()}.jinja)" if meant and meant in offered else None
    options = ", ".join("Builtin." + o for o in offered)
    return f"{hint}; the built-in prompts are {options}" if hint else f"one of {options}"


def _prompt_problems(prompt: str, settings: StackSettings) -> list[FineTuningInputError]:
    if prompt.startswith("Builtin."):
        return [] if builtin_prompt_problem(prompt) is None else [InvalidInput("reward_prompt", prompt, str(builtin_prompt_problem(prompt)))]
    if not prompt.startswith("arn:"):
        return [InvalidInput("reward_prompt", prompt, "Builtin.<" + "|".join(C.BUILTIN_JUDGE_PROMPTS) + "> or a RewardPrompt evaluator ARN")]
    if not EVALUATOR_ARN.fullmatch(prompt):
        return [InvalidInput("reward_prompt", prompt,
                             "a RewardPrompt evaluator ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<version>")]
    if not settings.owns(*arn_scope(prompt)):
        return [AccessNotGranted("reward_prompt", prompt, f"an evaluator of this stack's account and region ({settings.account}, {settings.region})")]
    return []


def _tag_text_ok(text: str) -> bool:
    """The service's tag pattern: letters, separators, numbers and _ . : / = + - @."""
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def _check_tags(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """The service's tag alphabet; never a key the workflow or the stack sets (any case), never aws:."""
    owned = {k.lower(): "the workflow" for k in RESERVED_TAGS} | {k.lower(): "the stack" for k in settings.stack_tags}
    for key, value in (inp.get("tags") or {}).items():
        if key.lower() in owned:
            found.append(InvalidInput(f"tags.{key}", value, f"a key other than {key} ({owned[key.lower()]} sets it)"))
        elif key.lower().startswith("aws:"):
            found.append(InvalidInput(f"tags.{key}", value, "a key not starting with aws: (reserved by AWS)"))
        found += [InvalidInput(f"tags.{key}", text, "letters, digits, spaces and _ . : / = + - @ only (the SageMaker tag alphabet)")
                  for text in (key, value) if not _bad_text(text) and not _tag_text_ok(text)]
    workflow = len(workflow_tags(settings))
    if workflow + len({**settings.stack_tags, **(inp.get("tags") or {})}) > MAX_TAGS:
        found.append(InvalidInput(
            "tags", f"{len(inp.get('tags') or {})} tags",
            f"at most {MAX_TAGS - workflow - len(settings.stack_tags)} tags (a training job has at most {MAX_TAGS}; "
            f"the stack adds {len(settings.stack_tags)} and the workflow {workflow})"))


def stack_tag_problem(key: str, value: str) -> str | None:
    """What a stack-wide job tag (a construct prop) should be instead, or None when it is fine.

    The same rules as an execution's ``tags``: the service's alphabet and lengths, no aws: prefix
    (any case) and none of the keys the workflow sets on every job."""
    if not 1 <= len(key) <= 128 or len(value) > 256:
        return "a key of 1-128 and a value of at most 256 characters"
    if key.lower().startswith("aws:"):
        return "a key not starting with aws: (reserved by AWS, in any case)"
    if key.lower() in {k.lower() for k in RESERVED_TAGS}:
        return f"a key other than {key} (the workflow sets it on every job)"
    if _bad_text(key) or _bad_text(value) or not (_tag_text_ok(key) and _tag_text_ok(value)):
        return "letters, digits, spaces and _ . : / = + - @ only (the SageMaker tag alphabet)"
    return None


def workflow_tags(settings: StackSettings) -> tuple[str, ...]:
    """The tag keys the workflow puts on every job of this stack."""
    return (C.JUMPSTART_MODEL_TAG, C.JUMPSTART_HUB_TAG, *((C.STACK_TAG,) if settings.stack_id else ()), C.EXECUTION_TAG)


def _check_mlflow(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """Jobs log only to the MLflow resource the stack granted (the training role may use no other)."""
    arn = inp.get("mlflow_resource_arn")
    if arn is None:
        if settings.mlflow_resource_arn:
            inp["mlflow_resource_arn"] = settings.mlflow_resource_arn
        return
    if not settings.mlflow_resource_arn:
        found.append(AccessNotGranted("mlflow_resource_arn", arn, "no value: this stack grants no MLflow resource (set the construct's mlflow_resource_arn)"))
    elif arn != settings.mlflow_resource_arn:
        found.append(AccessNotGranted("mlflow_resource_arn", arn,
                                      f"the stack's MLflow resource {settings.mlflow_resource_arn} (the training role may log only there)"))


def _check_evaluation(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """The evaluation block: what its type needs and offers (``evaluation.check_block``), a dataset the
    training role may read, a scorer the stack may invoke, a judge it grants; filled with the defaults."""
    block = inp.get("evaluation")
    if block is None:
        return
    block.setdefault("compare_to_base", False)
    model = str(inp.get("model", ""))
    found += EV.check_block(block, None if is_continued(inp) or model.startswith("arn:") else model)
    if block.get("dataset"):
        found += s3_dataset_problems("evaluation.dataset", block["dataset"], settings)
    if block["type"] == "custom_scorer":
        _check_scorer(block, settings, found)
    if block["type"] == "llm_as_judge":
        granted = settings.evaluation_judge_model_ids
        judge = block.setdefault("judge_model_id", granted[0] if granted else None)
        grants = ", ".join(granted) or "none (set the construct's evaluation_judge_models)"
        if judge is None:
            found.append(JudgeMissing("evaluation.judge_model_id", None, f"a Bedrock evaluator model this stack grants: {grants}"))
        elif judge not in EV.LLMAJ_JUDGES:
            found.append(JudgeModelNotAvailable("evaluation.judge_model_id", judge,
                                                f"a Bedrock evaluator model for built-in metrics ({', '.join(EV.LLMAJ_JUDGES)}) this stack grants"))
        elif judge not in granted:
            found.append(JudgeModelNotAvailable("evaluation.judge_model_id", judge, f"a Bedrock evaluator model this stack grants: {grants}"))
        block["metrics"] = [EV.judge_metric_name(m) for m in block.get("metrics") or EV.DEFAULT_JUDGE_METRICS]


def _check_scorer(block: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """A built-in scorer, or a reward evaluator of this stack (named by its ARN or its Lambda's)."""
    scorer = block.setdefault("evaluator", settings.reward_evaluator_arn)
    evaluators = dict(settings.reward_evaluators)
    if settings.reward_evaluator_arn:
        evaluators.setdefault(settings.reward_evaluator_arn, "")
    by_lambda = {fn: arn for arn, fn in evaluators.items() if fn}
    offered = f"a built-in scorer ({', '.join(EV.BUILTIN_SCORERS)}) or a reward evaluator of this stack: {', '.join(evaluators) or 'none'}"
    if scorer is None:
        found.append(InvalidInput("evaluation.evaluator", None, offered))
    elif scorer in by_lambda:
        block["evaluator"] = by_lambda[scorer]
    elif scorer not in EV.BUILTIN_SCORERS and scorer not in evaluators:
        found.append(RewardFunctionNotAllowed("evaluation.evaluator", scorer, offered))


def _check_budget(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """A budget (the input's, else the stack's) is checked against an estimate of the validated text: it needs validate_dataset full."""
    if "budget" not in inp and settings.default_budget_tokens:
        inp["budget"] = {"max_tokens": settings.default_budget_tokens}
    if "budget" in inp and inp["validate_dataset"] != "full":
        found.append(InvalidInput("validate_dataset", inp["validate_dataset"],
                                  "full when the run has a budget (the token estimate counts the text of every record)"))


def _check_sweep(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """A sweep's shape, size (the stack's cap) and objective (``sweep_plan.check_sweep``), with its defaults filled in."""
    sweep = inp.get("sweep")
    if sweep is None:
        return
    sweep.setdefault("max_concurrency", SW.DEFAULT_MAX_CONCURRENCY)
    sweep.setdefault("tolerated_failure_percentage", SW.DEFAULT_TOLERATED_FAILURE_PERCENTAGE)
    sweep["objective"].setdefault("goal", "maximize")
    problems = SW.check_sweep(inp, settings.max_sweep_configurations)
    found += problems
    if not problems:  # each configuration's names and numbers, as the input's own hyperparameters are checked
        for index, configuration in enumerate(SW.configurations(sweep)):
            own: list[FineTuningInputError] = []
            _check_hyperparameters({"hyperparameters": configuration}, settings, own)
            found += [SW.with_configuration(p, index, configuration) for p in own]


def _refuse_training_fields(inp: dict[str, Any], settings: StackSettings, found: list[FineTuningInputError]) -> None:
    """mode evaluate trains nothing: the fields that only shape a training job have no meaning."""
    for key in TRAINING_ONLY:
        if key in inp:
            found.append(InvalidInput(key, inp[key], "no value: mode evaluate trains nothing (leave it out, or use mode train)"))


#: Fields only a training job uses (mode evaluate refuses them).
TRAINING_ONLY = ("technique", "training_type", "training_dataset", "validation_dataset", "hyperparameters", "sequence_length",
                 "custom_reward_function", "validate_dataset", "verify_reward_function", "reward_verification_samples",
                 "reward_model_id", "reward_prompt", "training_job_name", "disable_output_compression", "model_package_group", "budget",
                 "sweep")

CHECKS: tuple[Check, ...] = (
    _check_model, _check_datasets, _check_output, _check_names_and_group, _check_runtime,
    _check_sequence_length, _check_hyperparameters, _check_reward_function, _check_judge, _check_tags, _check_mlflow,
    _check_evaluation, _check_budget, _check_sweep,
)
#: mode evaluate: the model, where results go, the evaluation and what the jobs carry.
EVALUATE_CHECKS: tuple[Check, ...] = (
    _refuse_training_fields, _check_model, _check_output, _check_runtime, _check_tags, _check_mlflow, _check_evaluation,
)
