"""The pure planner: every validation it raises (class, field, value, expectation) and what it plans.

Each failing case asserts the error CLASS (the name a Step Functions Catch matches) and that the
message names the field, shows the received value and says what is expected.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Any, Callable

import hub_fixtures as catalog
import pytest
import sdk_oracle as O
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core import naming as N  # noqa: E402
from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core.errors import (
    AccessNotGranted,
    DatasetAccessDenied,
    EulaNotAccepted,
    FineTuningInputError,
    HyperparameterNotTunable,
    HyperparameterOutOfRange,
    InvalidInput,
    JudgeMissing,
    JudgeModelNotAvailable,
    ModelNotAvailableInRegion,
    RewardFunctionMissing,
    RewardFunctionNotAllowed,
    SequenceLengthNotOffered,
    UnknownHyperparameter,
    UnsupportedTechnique,
    UnsupportedTrainingType,
    show,
)
from sagemaker_finetuning.core.recipes import OVERRIDE_PARAMS_KEY, select_recipe
from sagemaker_finetuning.core.schema_check import load_schema
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.core.validation import RESERVED_HYPERPARAMETERS

REGION, ACCOUNT = "us-east-1", "123456789012"
BUCKET, DATA_BUCKET, GROUP = "ft-stack-bucket", "ft-shared-datasets", "ft-models"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:FineTuningWorkflow:run-0001"
LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ft-reward"
EVALUATOR = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/JsonDoc/ft-reward/1.0.0"
PROMPT_EVALUATOR = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/JsonDoc/judge-prompt/1.0.0"
MLFLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-ABCDEF123456"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/FineTuning/0b1e2c30-0000-11ef-8000-0a1b2c3d4e5f"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def package(version: int, group: str = GROUP, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:model-package/{group}/{version}"


#: model package ARN -> (base model, group), as DescribeModelPackage would answer.
PACKAGES = {
    package(1): (catalog.DEFAULT_MODEL_ID, GROUP),
    package(2): (catalog.GATED_MODEL_ID, GROUP),
    package(3, region="eu-west-1"): (catalog.NOVA_MODEL_ID, GROUP),
}

SETTINGS = StackSettings(
    region=REGION, account=ACCOUNT, partition="aws", role_arn=f"arn:aws:iam::{ACCOUNT}:role/FineTuningTrainingRole",
    bucket=BUCKET, dataset_buckets=(DATA_BUCKET,), model_package_group_name=GROUP, base_model=catalog.DEFAULT_MODEL_ID,
    reward_evaluator_arn=EVALUATOR, reward_function_arns=(LAMBDA,), reward_evaluators={EVALUATOR: LAMBDA},
    judge_model_id="openai.gpt-oss-120b-1:0", judge_model_ids=tuple(C.JUDGE_MODEL_REGIONS), stack_tags={"project": "fine-tuning"},
)
#: The same stack with an MLflow resource granted (jobs may log only there).
WITH_MLFLOW = dataclasses.replace(SETTINGS, mlflow_resource_arn=MLFLOW)
BARE = dataclasses.replace(
    SETTINGS, base_model=None, model_package_group_name=None, reward_evaluator_arn=None, judge_model_id=None, judge_model_ids=(),
    stack_tags={},
)


def raw(technique: str = "SFT", **fields: Any) -> dict[str, Any]:
    return {"technique": technique, "training_dataset": f"s3://{BUCKET}/datasets/train.jsonl", **fields}


def resolve(inp: dict[str, Any], settings: StackSettings = SETTINGS) -> tuple[P.ResolvedModel, dict[str, Any]]:
    """As the workflow's ResolveBaseModel state does, from the catalogue."""
    model_id, extra = inp["model"], {}
    if P.is_continued(inp):
        model_id, group = PACKAGES[inp["model"]]
        extra = {"source_model_package_arn": inp["model"], "source_model_package_group": group}
    desc = catalog.describe_hub_content(settings.region, model_id)
    resolved = P.ResolvedModel.from_hub(desc, json.loads(desc["HubContentDocument"]), **extra)
    recipe = select_recipe(resolved.recipes, resolved.model_id, inp["technique"], inp["training_type"], inp.get("sequence_length"))
    return resolved, json.loads(recipe_objects(settings.region)[recipe[OVERRIDE_PARAMS_KEY]])


@functools.lru_cache(maxsize=None)
def recipe_objects(region: str) -> dict[str, bytes]:
    return catalog.recipe_objects(region)


#: lr_scheduler as free text (the real recipes restrict it to an enum): values of any shape reach the checks.
FREE_TEXT_SCHEDULER = {"lr_scheduler": {"type": "string", "default": "cosine", "category": "hyperparameter"}}


def plan(body: dict[str, Any], settings: StackSettings = SETTINGS, execution: str = EXECUTION,
         specs_with: dict[str, Any] | None = None, run_key: str = "") -> dict[str, Any]:
    """Validate and plan ``body``; ``specs_with`` adds override-param specs to the recipe's."""
    inp = P.validate_input(body, settings)
    resolved, params = resolve(inp, settings)
    return P.plan_training_job(inp, resolved, {**params, **(specs_with or {})}, settings, execution, run_key)


def expect(error: type[FineTuningInputError], field: str, received: Any, expected: str, call: Callable[[], Any]) -> FineTuningInputError:
    """``call`` raises exactly ``error``, for ``field``, showing ``received`` and saying ``expected``."""
    with pytest.raises(FineTuningInputError) as info:
        call()
    err = info.value
    assert type(err) is error, f"{type(err).__name__}: {err}"
    assert err.field == field
    message = str(err.problems[0])
    assert message.startswith(f"{field}: received {show(received)}; expected "), message
    assert expected in err.expected, err.expected
    assert err.to_dict()["error"] == error.__name__
    return err


# ----------------------------------------------------------------------------- schema-level
def test_unknown_technique():
    expect(UnsupportedTechnique, "technique", "CPT", "one of SFT, DPO, RLVR, RLAIF", lambda: P.validate_input(raw("CPT"), SETTINGS))


@pytest.mark.parametrize("uri", ["s3:/bucket/x", "s3://Bucket/x", "bucket/train.jsonl", "https://ft-stack-bucket.s3.amazonaws.com/x"])
def test_bad_s3_uri(uri):
    expect(InvalidInput, "training_dataset", uri, "an s3:// URI such as", lambda: P.validate_input(raw(training_dataset=uri), SETTINGS))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("training_job_name", "my-job\n"),
        ("sequence_length", "8K\n"),
        ("training_dataset", f"s3://{BUCKET}/train.jsonl\n"),
        ("s3_output_path", f"s3://{BUCKET}/out\r/"),
        ("custom_reward_function", EVALUATOR + "\n"),
    ],
)
def test_line_breaks_in_patterned_fields(field, value):
    """The schema's ``^...$`` lets a final newline through in Python (jsonschema too); the service does not."""
    body = raw("RLVR", **{field: value})
    expect(InvalidInput, field, value, "without control characters or line breaks", lambda: P.validate_input(body, SETTINGS))


def test_unknown_field_names_the_known_fields():
    err = expect(InvalidInput, "learning_rate", 1e-4, "no such field", lambda: P.validate_input(raw(learning_rate=1e-4), SETTINGS))
    assert "hyperparameters" in err.expected and "training_dataset" in err.expected


def test_missing_training_dataset():
    expect(InvalidInput, "training_dataset", None, "required", lambda: P.validate_input({"technique": "SFT"}, SETTINGS))


@pytest.mark.parametrize("group", ["my_group", "-group", "g" * 64])
def test_group_name_pattern(group):
    expect(InvalidInput, "model_package_group", group, "1-63 letters, digits and hyphens", lambda: P.validate_input(raw(model_package_group=group), SETTINGS))


@pytest.mark.parametrize("name", ["my_job", "-job", "j" * 64, "job name"])
def test_job_name_pattern(name):
    expect(InvalidInput, "training_job_name", name, "1-63 letters, digits and hyphens", lambda: P.validate_input(raw(training_job_name=name), SETTINGS))


def test_names_the_pattern_allows_but_the_service_does_not():
    """``(-*[a-zA-Z0-9]){0,62}`` bounds letters, not dashes: 64 characters still match it."""
    name = "a" + "-" * 62 + "b"
    expect(InvalidInput, "training_job_name", name, "at most 63 characters", lambda: P.validate_input(raw(training_job_name=name), SETTINGS))
    expect(InvalidInput, "model_package_group", name, "at most 63 characters", lambda: P.validate_input(raw(model_package_group=name), SETTINGS))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{name}"
    expect(InvalidInput, "model_package_group", name, "at most 63 characters", lambda: P.validate_input(raw(model_package_group=arn), SETTINGS))


def test_max_runtime_zero():
    expect(InvalidInput, "max_runtime_in_seconds", 0, "integer >= 1", lambda: P.validate_input(raw(max_runtime_in_seconds=0), SETTINGS))


def test_max_runtime_above_the_stack_maximum():
    short = dataclasses.replace(SETTINGS, max_runtime_seconds=3600)
    expect(InvalidInput, "max_runtime_in_seconds", 3601, "between 1 and 3600", lambda: P.validate_input(raw(max_runtime_in_seconds=3601), short))
    assert plan(raw(max_runtime_in_seconds=3600), short)["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


# ----------------------------------------------------------------------------- model
@pytest.mark.parametrize("model", ["bad model!", "-model", "m" * 64])
def test_model_id_malformed(model):
    expect(InvalidInput, "model", model, "model id", lambda: P.validate_input(raw(model=model), SETTINGS))


def test_model_arn_that_is_not_a_model_package():
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/my-model"
    expect(InvalidInput, "model", arn, "model package ARN", lambda: P.validate_input(raw(model=arn), SETTINGS))


def test_no_model_and_no_stack_default():
    err = expect(InvalidInput, "model", None, "no default base model", lambda: P.validate_input(raw(), BARE))
    # every problem at once: the group is missing too
    assert [p.field for p in err.problems] == ["model", "model_package_group"]
    assert str(err).startswith("2 problems: model: received null; expected") and "model_package_group: received null" in str(err)


def test_bedrock_style_model_id_is_the_hub_name():
    assert P.validate_input(raw(model="amazon.nova-2-lite-v1"), SETTINGS)["model"] == catalog.NOVA_MODEL_ID


def test_model_not_available_in_region():
    eu = dataclasses.replace(SETTINGS, region="eu-west-1")
    err = expect(ModelNotAvailableInRegion, "model", catalog.NOVA_MODEL_ID, "us-east-1, us-west-2", lambda: P.validate_input(raw(model=catalog.NOVA_MODEL_ID), eu))
    assert "eu-west-1" in err.expected
    assert P.validate_input(raw(model=catalog.DEFAULT_MODEL_ID), eu)["model"] == catalog.DEFAULT_MODEL_ID  # open weights are offered
    frankfurt = dataclasses.replace(SETTINGS, region="eu-central-1")
    expect(ModelNotAvailableInRegion, "model", catalog.DEFAULT_MODEL_ID, "us-east-1", lambda: P.validate_input(raw(), frankfurt))


def test_continued_customization_of_a_model_not_available_in_region():
    """SDK v3 checks the package's base model's region too (_resolve_model_and_name)."""
    eu = dataclasses.replace(SETTINGS, region="eu-west-1")
    body = raw(model=package(3, region="eu-west-1"))
    err = expect(ModelNotAvailableInRegion, "model", body["model"], "us-east-1, us-west-2", lambda: plan(body, eu))
    assert catalog.NOVA_MODEL_ID in err.expected


def test_technique_not_offered_by_the_model():
    """Nemotron 3 Nano has no DPO recipe (real catalogue)."""
    err = expect(UnsupportedTechnique, "technique", "DPO", "RLAIF, RLVR, SFT", lambda: plan(raw("DPO", model=catalog.NO_DPO_MODEL_ID)))
    assert catalog.NO_DPO_MODEL_ID in err.expected


def test_full_not_offered():
    expect(UnsupportedTrainingType, "training_type", "FULL", "one of LORA", lambda: plan(raw(model=catalog.LORA_ONLY_MODEL_ID, training_type="FULL")))


def test_sequence_length_not_offered():
    """Qwen3 0.6B: SFT recipes at 4K only (no 8K), RLVR at 1K (512 + 1024 tokens, rounded down)."""
    expect(SequenceLengthNotOffered, "sequence_length", "8K", "one of 4K", lambda: plan(raw(sequence_length="8K")))
    expect(SequenceLengthNotOffered, "sequence_length", "4K", "one of 1K", lambda: plan(raw("RLVR", sequence_length="4K")))
    request = plan(raw(sequence_length="4K"))
    assert request["ServerlessJobConfig"]["SequenceLength"] == "4K"
    assert request["HyperParameters"]["dataset_max_len"] == "4096"
    assert plan(raw("RLVR", sequence_length="1K"))["ServerlessJobConfig"]["SequenceLength"] == "1K"


# ----------------------------------------------------------------------------- EULA, groups, continued
def test_gated_model_without_eula():
    expect(EulaNotAccepted, "accept_eula", False, "gated", lambda: plan(raw(model=catalog.GATED_MODEL_ID)))


def test_gated_model_with_eula():
    assert plan(raw(model=catalog.GATED_MODEL_ID, accept_eula=True))["ServerlessJobConfig"]["AcceptEula"] is True


def test_open_model_sends_no_accept_eula():
    """SDK v3 leaves AcceptEula out when it is false (sagemaker-core drops false shape members)."""
    assert "AcceptEula" not in plan(raw())["ServerlessJobConfig"]
    assert plan(raw(accept_eula=True))["ServerlessJobConfig"]["AcceptEula"] is True


@pytest.mark.parametrize("accept", [False, True])
def test_continued_customization_ignores_accept_eula(accept):
    request = plan(raw(model=package(2), accept_eula=accept))
    assert request["ServerlessJobConfig"]["AcceptEula"] is True
    assert request["ModelPackageConfig"] == {
        "ModelPackageGroupArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP}",
        "SourceModelPackageArn": package(2),
    }


def test_continued_customization_into_another_group():
    body = raw(model=package(1), model_package_group="other-group")
    expect(InvalidInput, "model_package_group", "other-group", f"group {GROUP!r}", lambda: plan(body))


def test_continued_customization_group_as_arn():
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP}"
    assert plan(raw(model=package(1), model_package_group=arn))["ModelPackageConfig"]["ModelPackageGroupArn"] == arn


def test_no_group_and_no_stack_default():
    expect(InvalidInput, "model_package_group", None, "no default group", lambda: P.validate_input(raw(model=catalog.DEFAULT_MODEL_ID), BARE))


# ----------------------------------------------------------------------------- datasets and output
def test_dataset_outside_the_stack_buckets():
    uri = "s3://someone-elses-bucket/train.jsonl"
    err = expect(DatasetAccessDenied, "training_dataset", uri, BUCKET, lambda: P.validate_input(raw(training_dataset=uri), SETTINGS))
    assert DATA_BUCKET in err.expected and "dataset_buckets" in str(err)
    expect(DatasetAccessDenied, "validation_dataset", uri, BUCKET, lambda: P.validate_input(raw(validation_dataset=uri), SETTINGS))
    assert P.validate_input(raw(training_dataset=f"s3://{DATA_BUCKET}/x/"), SETTINGS)


def test_output_path_outside_the_stack_bucket():
    uri = f"s3://{DATA_BUCKET}/outputs/"
    expect(DatasetAccessDenied, "s3_output_path", uri, f"s3://{BUCKET}/", lambda: P.validate_input(raw(s3_output_path=uri), SETTINGS))


def test_dataset_arns_become_dataset_sources():
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/DataSet/train/1.0.0"
    channels = plan(raw(training_dataset=arn))["InputDataConfig"]
    assert channels == [{"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": arn}}}]


def test_nova_sft_uses_converse_and_rlvr_s3prefix():
    sft = plan(raw(model=catalog.NOVA_MODEL_ID, validation_dataset=f"s3://{BUCKET}/datasets/val.jsonl"))
    assert [c["DataSource"]["S3DataSource"]["S3DataType"] for c in sft["InputDataConfig"]] == ["Converse", "Converse"]
    assert "max_epochs" not in sft["HyperParameters"] and "lr_warmup_steps_ratio" not in sft["HyperParameters"]
    rlvr = plan(raw("RLVR", model=catalog.NOVA_MODEL_ID))
    assert rlvr["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"


# ----------------------------------------------------------------------------- reward functions (RLVR)
def test_rlvr_without_any_reward_function():
    expect(
        RewardFunctionMissing, "custom_reward_function", None, "preset_reward_function",
        lambda: plan(raw("RLVR"), dataclasses.replace(SETTINGS, reward_evaluator_arn=None)),
    )


def test_rlvr_with_preset_reward_function_only():
    request = plan(raw("RLVR", hyperparameters={"preset_reward_function": "prime_math"}), dataclasses.replace(SETTINGS, reward_evaluator_arn=None))
    assert request["HyperParameters"]["preset_reward_function"] == "prime_math"
    assert "EvaluatorArn" not in request["ServerlessJobConfig"]


def test_rlvr_preset_reward_function_default_of_the_recipe_is_enough():
    """RLVRTrainer.train accepts a recipe whose preset_reward_function has a default."""
    settings = dataclasses.replace(SETTINGS, reward_evaluator_arn=None)
    inp = P.validate_input(raw("RLVR"), settings)
    resolved, params = resolve(inp, settings)
    params["preset_reward_function"] = {**params["preset_reward_function"], "default": "gsm8k"}
    request = P.plan_training_job(inp, resolved, params, settings, EXECUTION)
    assert request["HyperParameters"]["preset_reward_function"] == "gsm8k"


def test_rlvr_stack_default_evaluator():
    assert plan(raw("RLVR"))["ServerlessJobConfig"]["EvaluatorArn"] == EVALUATOR


def test_rlvr_lambda_maps_to_the_evaluator_the_stack_registered():
    assert plan(raw("RLVR", custom_reward_function=LAMBDA))["ServerlessJobConfig"]["EvaluatorArn"] == EVALUATOR
    assert plan(raw("RLVR", custom_reward_function=LAMBDA + ":$LATEST"))["ServerlessJobConfig"]["EvaluatorArn"] == EVALUATOR


def test_reward_lambda_not_allowed():
    other = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:someone-elses"
    err = expect(RewardFunctionNotAllowed, "custom_reward_function", other, LAMBDA, lambda: P.validate_input(raw("RLVR", custom_reward_function=other), SETTINGS))
    assert "may invoke" in err.expected


def test_reward_lambda_alias_without_its_own_evaluator():
    """The stack's evaluator refers to the function itself; an alias would silently run another version."""
    alias = LAMBDA + ":live"
    expect(RewardFunctionNotAllowed, "custom_reward_function", alias, "register an evaluator for it", lambda: plan(raw("RLVR", custom_reward_function=alias)))


def test_reward_lambda_allowed_but_not_registered():
    settings = dataclasses.replace(SETTINGS, reward_evaluators={})
    expect(RewardFunctionNotAllowed, "custom_reward_function", LAMBDA, "registered as an evaluator: none", lambda: plan(raw("RLVR", custom_reward_function=LAMBDA), settings))


def test_reward_function_only_for_rlvr():
    expect(InvalidInput, "custom_reward_function", EVALUATOR, "only RLVR", lambda: P.validate_input(raw(custom_reward_function=EVALUATOR), SETTINGS))


# ----------------------------------------------------------------------------- judges (RLAIF)
def test_rlaif_without_judge():
    err = expect(JudgeMissing, "reward_model_id", None, "judge_model", lambda: P.validate_input(raw("RLAIF", model=catalog.DEFAULT_MODEL_ID, model_package_group=GROUP), BARE))
    assert "grants: none" in err.expected


def test_judge_must_be_one_the_stack_granted():
    """Offered in the region is not enough: the training role invokes only the judges the stack granted."""
    one = dataclasses.replace(SETTINGS, judge_model_ids=("openai.gpt-oss-120b-1:0",))
    err = expect(JudgeModelNotAvailable, "reward_model_id", "openai.gpt-oss-20b-1:0", "a judge this stack grants: openai.gpt-oss-120b-1:0",
                 lambda: P.validate_input(raw("RLAIF", reward_model_id="openai.gpt-oss-20b-1:0"), one))
    assert "gpt-oss-20b" not in err.expected


def test_judge_not_offered_in_the_region():
    judge = "qwen.qwen3-235b-a22b-2507-v1:0"
    err = expect(JudgeModelNotAvailable, "reward_model_id", judge, "offered in us-east-1", lambda: P.validate_input(raw("RLAIF", reward_model_id=judge), SETTINGS))
    assert "qwen.qwen3-32b-v1:0" in err.expected and judge not in err.expected
    west = dataclasses.replace(SETTINGS, region="us-west-2")
    assert P.validate_input(raw("RLAIF", reward_model_id=judge), west)["reward_model_id"] == judge


def test_unknown_judge():
    expect(JudgeModelNotAvailable, "reward_model_id", "anthropic.claude", "openai.gpt-oss-20b-1:0", lambda: P.validate_input(raw("RLAIF", reward_model_id="anthropic.claude"), SETTINGS))


def test_judge_keys_cannot_be_set_through_hyperparameters():
    """``judge_model_id`` would bypass every judge check: it is set from reward_model_id only."""
    for key, value in (("judge_model_id", "bedrock/anthropic.claude-v2"), ("judge_prompt_template", "/tmp/x.jinja"), ("reward_lambda_arn", LAMBDA)):
        err = expect(HyperparameterNotTunable, f"hyperparameters.{key}", value, "set by the workflow",
                     lambda key=key, value=value: P.validate_input(raw("RLAIF", hyperparameters={key: value}), SETTINGS))
        assert key in err.expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Builtin.Poetry", "Builtin.Summarize"),
        ("summarize", "Builtin.<Summarize|"),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:judge", "JsonDoc"),
        (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/H/Model/judge/1.0.0", "JsonDoc"),
    ],
)
def test_bad_judge_prompt(prompt, expected):
    expect(InvalidInput, "reward_prompt", prompt, expected, lambda: P.validate_input(raw("RLAIF", reward_prompt=prompt), SETTINGS))


def test_builtin_prompt_the_recipe_does_not_offer():
    inp = P.validate_input(raw("RLAIF", reward_prompt="Builtin.Evaluate"), SETTINGS)
    resolved, params = resolve(inp)
    params["judge_prompt_template"]["enum"] = [t for t in params["judge_prompt_template"]["enum"] if "summarize" in t or "faith" in t]
    expect(InvalidInput, "reward_prompt", "Builtin.Evaluate", "offers: one of Builtin.Faithfulness, Builtin.Summarize",
           lambda: P.plan_training_job(inp, resolved, params, SETTINGS, EXECUTION))


@pytest.mark.parametrize(("prompt", "meant"), [("Builtin.ChainOfThought", "Builtin.Cot"), ("Builtin.Evaluation", "Builtin.Evaluate")])
def test_the_agent_plugins_builtin_names_are_refused_naming_the_recipe_file_meant(prompt, meant):
    """SDK v3 1.27.0 refuses them too (no recipe file is named so); the error names the one meant."""
    expect(InvalidInput, "reward_prompt", prompt, f"{meant} (the recipe's", lambda: P.validate_input(raw("RLAIF", reward_prompt=prompt), SETTINGS))


def test_builtin_prompts_match_the_recipe_file_in_any_case():
    """RLAIFTrainer matches by basename, case-insensitively; Grader is Nemotron's PandaLM prompt only."""
    assert plan(raw("RLAIF", reward_prompt="Builtin.cot"))["HyperParameters"]["judge_prompt_template"] == "/opt/ml/code/verl/cot.jinja"
    nemotron = plan(raw("RLAIF", model=catalog.NO_DPO_MODEL_ID, reward_prompt="Builtin.Grader"))
    assert nemotron["HyperParameters"]["judge_prompt_template"] == "bedrock/RLAIF/PandaLM/prompts/grader.jinja"


def test_judge_hyperparameters():
    builtin = plan(raw("RLAIF", reward_prompt="Builtin.Cot", reward_model_id="qwen.qwen3-32b-v1:0"))
    assert builtin["HyperParameters"]["judge_model_id"] == "bedrock/qwen.qwen3-32b-v1:0"
    assert builtin["HyperParameters"]["judge_prompt_template"] == "/opt/ml/code/verl/cot.jinja"
    assert "EvaluatorArn" not in builtin["ServerlessJobConfig"]
    custom = plan(raw("RLAIF", reward_prompt=PROMPT_EVALUATOR))
    assert custom["ServerlessJobConfig"]["EvaluatorArn"] == PROMPT_EVALUATOR
    assert "judge_prompt_template" not in custom["HyperParameters"]
    expect(
        HyperparameterNotTunable, "hyperparameters.judge_prompt_template", "x", "set by the workflow from reward_prompt",
        lambda: plan(raw("RLAIF", reward_prompt=PROMPT_EVALUATOR, hyperparameters={"judge_prompt_template": "x"})),
    )


@pytest.mark.parametrize("key", ["reward_model_id", "reward_prompt"])
def test_judge_fields_only_for_rlaif(key):
    value = "Builtin.Summarize" if key == "reward_prompt" else "openai.gpt-oss-20b-1:0"
    expect(InvalidInput, key, value, "only RLAIF", lambda: P.validate_input(raw("DPO", **{key: value}), SETTINGS))


# ----------------------------------------------------------------------------- hyperparameters
def test_hyperparameter_unknown():
    err = expect(UnknownHyperparameter, "hyperparameters.lerning_rate", 1e-4, "learning_rate", lambda: plan(raw(hyperparameters={"lerning_rate": 1e-4})))
    assert "data_path" not in err.expected  # stripped keys are not offered


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("learning_rate", "0.001", "a number"),
        ("learning_rate", True, "a number"),
        ("max_epochs", 2.5, "an integer"),
        ("max_epochs", 5.0, "an integer"),
        ("max_epochs", True, "an integer"),
        ("max_epochs", 0, "a value >= 1"),
        ("max_epochs", 101, "a value <= 100"),  # the real SFT LoRA recipe: 1..100
        ("learning_rate", 1e-7, "a value >= 5e-07"),  # 5e-7..1e-4
        ("learning_rate", 0.5, "a value <= 0.0001"),
        ("lora_rank", 12, "one of [8, 16, 32, 64, 128]"),
        ("global_batch_size", 100, "one of [8, 16, 32, 64, 128, 256, 512, 1024]"),
    ],
)
def test_hyperparameter_wrong_type_or_out_of_range(name, value, expected):
    expect(HyperparameterOutOfRange, f"hyperparameters.{name}", value, expected, lambda: plan(raw(hyperparameters={name: value})))


#: The real verl RL specs have max_prompt_length but no max_response_length; SDK v3 checks the sum where a
#: recipe has both (FineTuningOptions.validate_length_constraints), and so do we.
RESPONSE_LENGTH = {"max_response_length": {"type": "integer", "min": 1, "max": 16384, "default": 512, "category": "hyperparameter"}}


def test_prompt_and_response_longer_than_the_sequence_length():
    body = raw("RLVR", hyperparameters={"max_prompt_length": 512, "max_response_length": 513})  # the 1K recipe of Qwen3 0.6B
    expect(HyperparameterOutOfRange, "hyperparameters.max_prompt_length + max_response_length", 1025, "at most 1024",
           lambda: plan(body, specs_with=RESPONSE_LENGTH))
    ok = plan(raw("RLVR", hyperparameters={"max_prompt_length": 512, "max_response_length": 512}), specs_with=RESPONSE_LENGTH)
    assert (ok["HyperParameters"]["max_prompt_length"], ok["HyperParameters"]["max_response_length"]) == ("512", "512")
    expect(HyperparameterOutOfRange, "hyperparameters.dataset_max_len", 8192, "at most 4096 (the recipe's sequence length 4K)",
           lambda: plan(raw(hyperparameters={"dataset_max_len": 8192})))  # the spec allows up to 131072


def test_hyperparameter_value_characters():
    value = "cosine;rm -rf"
    expect(HyperparameterOutOfRange, "hyperparameters.lr_scheduler", value, "only letters",
           lambda: plan(raw(hyperparameters={"lr_scheduler": value}), specs_with=FREE_TEXT_SCHEDULER))


@pytest.mark.parametrize("value", [10**400, -(10**30), 1e300, -1e300])
def test_numbers_of_any_magnitude_get_a_range_error(value):
    """Never an OverflowError (float conversion) or a ValueError (int to text beyond 4300 digits)."""
    expect(HyperparameterOutOfRange, "hyperparameters.learning_rate", value, "a finite number between",
           lambda: P.validate_input(raw(hyperparameters={"learning_rate": value}), SETTINGS))


def test_hyperparameter_overrides_become_strings():
    hp = plan(raw(hyperparameters={"learning_rate": 2e-5, "lora_rank": 64, "max_epochs": 1}))["HyperParameters"]
    assert (hp["learning_rate"], hp["lora_rank"], hp["max_epochs"]) == ("2e-05", "64", "1")
    assert not set(hp) & set(C.STRIPPED_HYPERPARAMETERS["SFT"])


# ----------------------------------------------------------------------------- tags, MLflow
def test_tags_with_a_reserved_key():
    for key in (C.EXECUTION_TAG, C.EXECUTION_TAG.upper(), C.STACK_TAG, C.JUMPSTART_MODEL_TAG):
        expect(InvalidInput, f"tags.{key}", "x", "(the workflow sets it)", lambda key=key: P.validate_input(raw(tags={key: "x"}), SETTINGS))
    # the stack's own tags cannot be overridden either (any case)
    expect(InvalidInput, "tags.Project", "other", "(the stack sets it)", lambda: P.validate_input(raw(tags={"Project": "other"}), SETTINGS))
    expect(InvalidInput, "tags.AWS:cost", "AWS:cost", "not starting with aws: (in any case)", lambda: P.validate_input(raw(tags={"AWS:cost": "x"}), SETTINGS))


@pytest.mark.parametrize(("tags", "bad"), [({"team": "a,b"}, "a,b"), ({"team!": "a"}, "team!")])
def test_tags_outside_the_tag_alphabet(tags, bad):
    key = next(iter(tags))
    expect(InvalidInput, f"tags.{key}", bad, "SageMaker tag alphabet", lambda: P.validate_input(raw(tags=tags), SETTINGS))
    assert P.validate_input(raw(tags={"équipe": "données 1.0 @x=y+z/ü"}), SETTINGS)


def test_too_many_tags_with_the_stack_tags():
    many = dataclasses.replace(SETTINGS, stack_tags={f"stack{i}": "v" for i in range(10)}, stack_id=STACK_ID)
    tags = {f"k{i}": "v" for i in range(37)}
    expect(InvalidInput, "tags", "37 tags", "at most 36 tags", lambda: P.validate_input(raw(tags=tags), many))
    assert len(plan(raw(tags=dict(list(tags.items())[:36])), many)["Tags"]) == 50


def test_tags_request_shape():
    request = plan(raw(tags={"team": "support"}))
    assert request["Tags"][:2] == [
        {"Key": C.JUMPSTART_MODEL_TAG, "Value": catalog.DEFAULT_MODEL_ID},
        {"Key": C.JUMPSTART_HUB_TAG, "Value": "SageMakerPublicHub"},
    ]
    assert {t["Key"]: t["Value"] for t in request["Tags"][2:]} == {"project": "fine-tuning", "team": "support", C.EXECUTION_TAG: EXECUTION}
    stacked = plan(raw(), dataclasses.replace(SETTINGS, stack_id=STACK_ID))
    assert stacked["Tags"][-2:] == [{"Key": C.STACK_TAG, "Value": STACK_ID}, {"Key": C.EXECUTION_TAG, "Value": EXECUTION}]


@pytest.mark.parametrize("key", ["mlflow_experiment_name", "mlflow_run_name"])
def test_mlflow_names_need_an_mlflow_resource(key):
    """Without an MLflow ARN (input or stack) no MlflowConfig is sent, so the names are not used."""
    assert "MlflowConfig" not in plan(raw(**{key: "exp"}))
    request = plan(raw(**{key: "exp"}), dataclasses.replace(SETTINGS, mlflow_resource_arn=MLFLOW))
    assert request["MlflowConfig"] == {
        "MlflowResourceArn": MLFLOW, ("MlflowExperimentName" if key == "mlflow_experiment_name" else "MlflowRunName"): "exp"
    }


@pytest.mark.parametrize("name", ["run\n1", "run\r", "run\u2028"])
def test_mlflow_names_with_line_breaks(name):
    """The service pattern for both names is ".*", which matches no line terminator."""
    body = raw(mlflow_resource_arn=MLFLOW, mlflow_run_name=name)
    expect(InvalidInput, "mlflow_run_name", name, "without control characters or line breaks", lambda: P.validate_input(body, WITH_MLFLOW))


def test_mlflow_only_the_stack_granted():
    """The training role may log only to the stack's MLflow resource: no other, and none without one."""
    expect(AccessNotGranted, "mlflow_resource_arn", MLFLOW, "this stack grants no MLflow resource",
           lambda: P.validate_input(raw(mlflow_resource_arn=MLFLOW), SETTINGS))
    other = MLFLOW.replace("app-ABCDEF123456", "app-OTHER")
    expect(AccessNotGranted, "mlflow_resource_arn", other, f"the stack's MLflow resource {MLFLOW}",
           lambda: P.validate_input(raw(mlflow_resource_arn=other), WITH_MLFLOW))


def test_no_mlflow_config_without_an_arn():
    assert "MlflowConfig" not in plan(raw())


def test_kms_and_uncompressed_output():
    request = plan(raw(disable_output_compression=True, s3_output_path=f"s3://{BUCKET}/outputs/runs/"), dataclasses.replace(SETTINGS, kms_key_arn=KMS))
    assert request["OutputDataConfig"] == {"S3OutputPath": f"s3://{BUCKET}/outputs/runs/", "KmsKeyId": KMS, "CompressionType": "NONE"}


# ----------------------------------------------------------------------------- job names
def test_job_name_is_deterministic():
    first, again = plan(raw(), execution=EXECUTION)["TrainingJobName"], plan(raw(), execution=EXECUTION)["TrainingJobName"]
    other = plan(raw(), execution=EXECUTION.replace("run-0001", "run-0002"))["TrainingJobName"]
    assert first == again != other
    assert re.fullmatch(rf"{catalog.DEFAULT_MODEL_ID}-sft-[0-9a-f]{{10}}", first)


@given(model=st.sampled_from(catalog.model_ids()), technique=st.sampled_from(C.TECHNIQUES), execution=st.text(min_size=1, max_size=300))
@settings(max_examples=100, deadline=None)
def test_job_names_fit_the_service_pattern(model, technique, execution):
    from sagemaker_finetuning.core.naming import training_job_name

    name = training_job_name(model, technique, execution)
    assert len(name) <= 63 and re.fullmatch(N.NAME_PATTERN, name)
    assert name.endswith(f"-{technique.lower()}-" + name[-10:])


def test_long_model_ids_are_truncated_to_63_characters():
    from sagemaker_finetuning.core.naming import training_job_name

    name = training_job_name("m" * 80 + "_x.y", "RLAIF", EXECUTION)
    assert len(name) == 63 and re.fullmatch(N.NAME_PATTERN, name) and "-rlaif-" in name


def test_runs_of_one_execution_get_their_own_job_names():
    """FineTuningJob fragments: the run key (fragment path + input) tells the runs of one execution apart;
    the same run (a redrive, a retried plan) keeps its name; no key is the workflow's own machine."""
    from sagemaker_finetuning.core.naming import run_key, training_job_name

    sft, dpo = {"technique": "SFT", "training_dataset": "s3://b/a.jsonl"}, {"technique": "SFT", "training_dataset": "s3://b/b.jsonl"}
    own = training_job_name("m", "SFT", EXECUTION)
    names = {training_job_name("m", "SFT", EXECUTION, run_key(fragment, inp))
             for fragment in ("Stack/Sft", "Stack/Dpo") for inp in (sft, dpo)}
    assert len(names) == 4 and own not in names
    assert training_job_name("m", "SFT", EXECUTION, run_key("Stack/Sft", sft)) == training_job_name(
        "m", "SFT", EXECUTION, run_key("Stack/Sft", dict(reversed(list(sft.items())))))  # key order does not matter
    assert training_job_name("m", "SFT", EXECUTION, "") == own  # names of the workflow's own executions are unchanged
    assert plan(raw(), run_key=run_key("Stack/Sft", sft))["TrainingJobName"] != plan(raw())["TrainingJobName"]


def test_explicit_training_job_name_is_used_as_is():
    assert plan(raw(training_job_name="my-job-1"))["TrainingJobName"] == "my-job-1"


# ----------------------------------------------------------------------------- every planned request is valid
NAMES = st.from_regex(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z").filter(lambda n: len(n) <= N.MAX_NAME)


@st.composite
def valid_intents(draw) -> tuple[dict[str, Any], StackSettings]:
    """A random valid combination of model, technique, recipe, overrides and options."""
    stack_tags = draw(st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9\-]{0,15}\Z"), st.from_regex(r"\A[a-zA-Z0-9 _.:/=+\-@]{0,20}\Z"), max_size=10))
    region = draw(st.sampled_from(["us-east-1", "us-west-2"]))
    here = {EVALUATOR: EVALUATOR.replace(REGION, region), LAMBDA: LAMBDA.replace(REGION, region),
            PROMPT_EVALUATOR: PROMPT_EVALUATOR.replace(REGION, region), MLFLOW: MLFLOW.replace(REGION, region)}
    settings = dataclasses.replace(
        SETTINGS,
        region=region,
        reward_evaluator_arn=here[EVALUATOR], reward_function_arns=(here[LAMBDA],), reward_evaluators={here[EVALUATOR]: here[LAMBDA]},
        kms_key_arn=draw(st.none() | st.just(KMS)),
        mlflow_resource_arn=draw(st.none() | st.just(here[MLFLOW])),
        stack_tags=stack_tags,
        max_runtime_seconds=draw(st.integers(3600, 5 * 86400)),
    )
    model = draw(st.sampled_from(catalog.model_ids()))
    document = catalog.hub_document(settings.region, model)
    offered = sorted({(r["CustomizationTechnique"], "LORA" if r.get("Peft") else "FULL", r["SequenceLength"]) for r in document["RecipeCollection"]})
    technique, training_type, seq = draw(st.sampled_from(offered))
    body: dict[str, Any] = {"technique": technique, "training_type": training_type}
    continued = draw(st.booleans())
    if continued:
        arn = f"arn:aws:sagemaker:{settings.region}:{ACCOUNT}:model-package/{GROUP}/{draw(st.integers(1, 999))}"
        PACKAGES[arn] = (model, GROUP)
        body["model"] = arn
    else:
        body["model"] = model
        body["accept_eula"] = True if document["GatedBucket"] else draw(st.booleans())
    if draw(st.booleans()):
        body["sequence_length"] = seq
    key = draw(st.from_regex(r"\A[a-zA-Z0-9!_.*'()\-/]{1,40}\Z"))
    body["training_dataset"] = draw(st.sampled_from([f"s3://{BUCKET}/datasets/{key}", f"s3://{DATA_BUCKET}/{key}", f"arn:aws:sagemaker:{settings.region}:{ACCOUNT}:hub-content/FtRegistry/DataSet/d-1/1.0.0"]))
    if draw(st.booleans()):
        body["validation_dataset"] = f"s3://{BUCKET}/datasets/val/{key}"
    if draw(st.booleans()):
        body["s3_output_path"] = f"s3://{BUCKET}/outputs/{draw(st.from_regex(r'[a-z0-9/]{0,30}', fullmatch=True))}"
    body["disable_output_compression"] = draw(st.booleans())
    if not continued and draw(st.booleans()):
        body["model_package_group"] = draw(NAMES)
        settings = dataclasses.replace(settings, model_package_groups=(body["model_package_group"],))  # granted to the role
    if technique == "RLVR":
        body["custom_reward_function"] = draw(st.sampled_from([here[EVALUATOR], here[LAMBDA], here[PROMPT_EVALUATOR].replace("judge-prompt", "math")]))
    # Hyperparameter overrides drawn from the recipe's own spec (the keys it marks tunable).
    recipe = select_recipe(document["RecipeCollection"], model, technique, training_type, body.get("sequence_length"))
    params = catalog.override_params(model, technique, training_type == "LORA", recipe["SequenceLength"])
    if technique == "RLAIF":
        body["reward_model_id"] = draw(st.sampled_from([m for m, regions in C.JUDGE_MODEL_REGIONS.items() if settings.region in regions]))
        presets = [t.rsplit("/", 1)[-1].removesuffix(".jinja") for t in params.get("judge_prompt_template", {}).get("enum", [])]
        body["reward_prompt"] = draw(st.sampled_from(["Builtin." + p.capitalize() for p in presets] + [here[PROMPT_EVALUATOR]]))
    overrides = {}
    ceiling = int(recipe["SequenceLength"][:-1]) * 1024
    for name, spec in params.items():
        if name in C.STRIPPED_HYPERPARAMETERS[technique] or name in RESERVED_HYPERPARAMETERS or not isinstance(spec, dict) \
                or spec.get("category") != "hyperparameter" or not draw(st.integers(0, 3)) == 0:
            continue
        if "enum" in spec:
            overrides[name] = draw(st.sampled_from(spec["enum"]))
        elif spec.get("type") == "integer":
            high = min(spec.get("max", 10**6), ceiling) if name == "dataset_max_len" else spec.get("max", 10**6)
            overrides[name] = draw(st.integers(spec.get("min", 0), high))
        elif spec.get("type") == "float":
            overrides[name] = draw(st.floats(spec.get("min", 0.0), spec.get("max", 1.0), allow_nan=False))
    if technique == "RLAIF" and body["reward_prompt"].startswith("arn:"):
        overrides.pop("judge_prompt_template", None)
    if overrides:
        body["hyperparameters"] = overrides
    if settings.mlflow_resource_arn:
        if draw(st.booleans()):
            body["mlflow_resource_arn"] = settings.mlflow_resource_arn
        if draw(st.booleans()):
            names = st.text(st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1, max_size=256)
            body["mlflow_experiment_name"] = draw(names)
            body["mlflow_run_name"] = draw(names)
    if draw(st.booleans()):
        body["max_runtime_in_seconds"] = draw(st.integers(1, settings.max_runtime_seconds))
    if draw(st.booleans()):
        body["training_job_name"] = draw(NAMES)
    tag_text = st.text(st.characters(categories=["L", "N", "Zs"], include_characters="_.:/=+-@"), max_size=40)
    taken = {k.lower() for k in settings.stack_tags}
    body["tags"] = draw(st.dictionaries(
        tag_text.filter(lambda k: 0 < len(k) <= 128 and not k.lower().startswith("aws:") and k.lower() not in taken), tag_text, max_size=40))
    return body, settings


@given(valid_intents())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_planned_request_validates_against_botocore(case):
    body, stack = case
    try:
        request = plan(body, stack)
    except InvalidInput as err:
        # The only planned refusal for a schema-valid combination: more tags than a job may carry.
        assert err.field == "tags" and len(body["tags"]) + len(stack.stack_tags) + 3 > 50, err
        assume(False)
    except HyperparameterOutOfRange as err:
        assert err.field == "hyperparameters.max_prompt_length + max_response_length", err
        assume(False)
    O.assert_valid_request(request)
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == body.get("max_runtime_in_seconds", stack.max_runtime_seconds)
    assert request["ServerlessJobConfig"]["CustomizationTechnique"] == body["technique"]
    assert ("Peft" in request["ServerlessJobConfig"]) == (body["training_type"] == "LORA")


SCHEMA = load_schema()["properties"]
DATASET_ARN_PATTERN = SCHEMA["training_dataset"]["pattern"].split("|", 1)[1].rstrip(")$")
HP_TEXT = st.text(alphabet="abcXYZ019/_.:,- '\"[]", min_size=1, max_size=3000)


@st.composite
def schema_valid_edges(draw) -> tuple[dict[str, Any], set[str]]:
    """Values the input schema accepts but the service may not: the planner plans them or refuses by name."""
    key = draw(st.from_regex(r"\A(/.*)?\Z") | st.text(st.sampled_from("abc/-_."), min_size=1000, max_size=1100).map(lambda k: "/" + k))
    s3 = f"s3://{BUCKET}/datasets/x{key}"
    arn = draw(st.from_regex(r"\A" + DATASET_ARN_PATTERN.lstrip("(") + r"\Z"))
    body = raw("RLAIF", training_dataset=draw(st.sampled_from([s3, arn])))
    if draw(st.booleans()):
        body["validation_dataset"] = draw(st.sampled_from([s3, arn]))
    if draw(st.booleans()):
        body["mlflow_resource_arn"] = draw(st.from_regex(SCHEMA["mlflow_resource_arn"]["pattern"], fullmatch=True) | st.just(MLFLOW + "x" * 2000))
    if draw(st.booleans()):
        body["hyperparameters"] = {"lr_scheduler": draw(HP_TEXT)}
    fields = {"training_dataset", "validation_dataset", "mlflow_resource_arn", "hyperparameters.lr_scheduler"}
    return body, fields


@given(schema_valid_edges())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_schema_valid_edges_plan_a_valid_request_or_are_refused_by_name(case):
    body, fields = case
    try:
        request = plan(body, WITH_MLFLOW, specs_with=FREE_TEXT_SCHEDULER)
    except FineTuningInputError as err:
        assert all(p.field in fields for p in err.problems) and isinstance(err, (InvalidInput, HyperparameterOutOfRange, AccessNotGranted)), err
        return
    O.assert_valid_request(request)


def test_dataset_values_the_service_refuses():
    long = f"s3://{BUCKET}/datasets/" + "k" * 1010
    expect(InvalidInput, "training_dataset", long, "at most 1024 characters", lambda: P.validate_input(raw(training_dataset=long), SETTINGS))
    for arn in (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/my_hub/DataSet/d/1.0.0",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/H/DataSet/d.v2/1.0.0",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/H/DataSet/d/1.0",
    ):
        expect(InvalidInput, "validation_dataset", arn, "DataSet ARN", lambda arn=arn: P.validate_input(raw(validation_dataset=arn), SETTINGS))


def test_hyperparameter_value_longer_than_the_service_allows():
    value = "x" * 2501
    expect(HyperparameterOutOfRange, "hyperparameters.lr_scheduler", value, "at most 2500 characters",
           lambda: plan(raw(hyperparameters={"lr_scheduler": value}), specs_with=FREE_TEXT_SCHEDULER))


def test_mlflow_arn_longer_than_the_service_allows():
    arn = MLFLOW + "x" * 2000
    expect(InvalidInput, "mlflow_resource_arn", arn, "an MLflow app or tracking server ARN", lambda: P.validate_input(raw(mlflow_resource_arn=arn), SETTINGS))


def test_continuing_from_a_training_job_arn():
    """A training job ARN names the package it registered; it must be of this stack's account and region."""
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/sft-run-1"
    inp = P.validate_input(raw("DPO", model=job), SETTINGS)
    assert P.is_continued(inp) and inp["model"] == job and "model_package_group" not in inp
    foreign = f"arn:aws:sagemaker:{REGION}:210987654321:training-job/theirs"
    expect(AccessNotGranted, "model", foreign, "a training job of this stack's account and region",
           lambda: P.validate_input(raw("DPO", model=foreign), SETTINGS))
    expect(InvalidInput, "model", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/bad_name", "or a training job ARN",
           lambda: P.validate_input(raw("DPO", model=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/bad_name"), SETTINGS))
