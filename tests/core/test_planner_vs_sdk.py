"""The planner's CreateTrainingJob request is, field for field, the one SageMaker Python SDK v3 sends.

For each intent the test

1. runs our side as the workflow does: ``validate_input`` -> resolution from the hub catalogue
   (``ResolvedModel.from_hub`` + the recipe's override params) -> ``plan_training_job``;
2. runs the real SDK v3 trainer for the same intent (``tests/sdk_oracle.py``) and captures the
   request it sends;
3. checks both requests against botocore's CreateTrainingJob input shape, then compares them field
   by field. The only differences allowed are the ones in ``DELIBERATE_DIFFERENCES`` below (each
   with its reason; the README quotes this table). Anything else fails.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any, Callable

import hub_fixtures as catalog
import pytest
import sdk_oracle as O

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core.naming import sanitize, training_job_name
from sagemaker_finetuning.core.recipes import OVERRIDE_PARAMS_KEY, select_recipe
from sagemaker_finetuning.core.settings import StackSettings

# Noise from inside SDK v3 (its own deprecated imports and OmegaConf resolvers), not from this code.
pytestmark = [
    pytest.mark.filterwarnings("ignore:sagemaker.train.configs has been moved:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:register_new_resolver:UserWarning"),
]

from sdk_differences import DELIBERATE_DIFFERENCES  # noqa: E402  (tests/sdk_differences.py; the README quotes it)

REGION, ACCOUNT = O.REGION, O.ACCOUNT
BUCKET = "ft-stack-bucket"
DATA_BUCKET = "ft-shared-datasets"
GROUP = "ft-models"
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:FineTuningWorkflow:run-0001"
LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ft-reward"
STACK_EVALUATOR = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/JsonDoc/ft-reward/1.0.0"
MATH_EVALUATOR = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/JsonDoc/math-reward/2.0.0"
PROMPT_EVALUATOR = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/JsonDoc/ft-judge-prompt/1.0.0"
MLFLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-ABCDEF123456"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIN_SET = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/DataSet/support-train/1.0.0"
VALIDATION_SET = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/DataSet/support-validation/1.0.0"


def package_arn(version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/{version}"


#: Output model packages of earlier jobs: ARN -> (base model, group), as DescribeModelPackage tells.
PACKAGES = {
    package_arn(3): (catalog.DEFAULT_MODEL_ID, GROUP),
    package_arn(4): (catalog.GATED_MODEL_ID, GROUP),
    package_arn(5): (catalog.NOVA_MODEL_ID, GROUP),
}

SETTINGS = StackSettings(
    region=REGION,
    account=ACCOUNT,
    partition="aws",
    role_arn=O.ROLE_ARN,
    bucket=BUCKET,
    dataset_buckets=(DATA_BUCKET,),
    model_package_group_name=GROUP,
    base_model=catalog.DEFAULT_MODEL_ID,
    reward_evaluator_arn=STACK_EVALUATOR,
    reward_function_arns=(LAMBDA,),
    reward_evaluators={STACK_EVALUATOR: LAMBDA},
    judge_model_id="openai.gpt-oss-120b-1:0",
    judge_model_ids=tuple(C.JUDGE_MODEL_REGIONS),
    stack_tags={"project": "fine-tuning", "cost-center": "ml-research"},
    stack_id=f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/FineTuning/0b1e2c30-0000-11ef-8000-0a1b2c3d4e5f",
)
#: The stack with an MLflow resource granted (the only one its jobs may log to).
WITH_MLFLOW = dataclasses.replace(SETTINGS, mlflow_resource_arn=MLFLOW)


# ----------------------------------------------------------------------------- our side
def resolve_like_workflow(inp: dict[str, Any], settings: StackSettings) -> tuple[P.ResolvedModel, dict[str, Any]]:
    """What the workflow's ResolveBaseModel state computes (DescribeModelPackage, DescribeHubContent, S3)."""
    model_id, extra = inp["model"], {}
    if P.is_continued(inp):
        model_id, group = PACKAGES[inp["model"]]
        extra.update(source_model_package_arn=inp["model"], source_model_package_group=group)
    fn = inp.get("custom_reward_function")
    if inp["technique"] == "RLVR" and fn:
        extra["reward_lambda_arn"] = fn if ":lambda:" in fn else settings.reward_evaluators.get(fn, LAMBDA)
    desc = catalog.describe_hub_content(settings.region, model_id)
    resolved = P.ResolvedModel.from_hub(desc, json.loads(desc["HubContentDocument"]), **extra)
    recipe = select_recipe(resolved.recipes, resolved.model_id, inp["technique"], inp["training_type"], inp.get("sequence_length"))
    params = json.loads(catalog.recipe_objects(settings.region)[recipe[OVERRIDE_PARAMS_KEY]])
    return resolved, params


def plan(raw: dict[str, Any], settings: StackSettings) -> tuple[dict[str, Any], dict[str, Any], P.ResolvedModel]:
    inp = P.validate_input(raw, settings)
    resolved, params = resolve_like_workflow(inp, settings)
    return inp, P.plan_training_job(inp, resolved, params, settings, EXECUTION_ARN), resolved


# ----------------------------------------------------------------------------- the SDK's side
def intent_for(
    inp: dict[str, Any], settings: StackSettings, resolved: P.ResolvedModel, *, pass_runtime: bool = True, enum: bool = True
) -> O.Intent:
    """The same intent, in SDK v3 trainer arguments."""
    return O.Intent(
        technique=inp["technique"],
        model=inp["model"],
        training_dataset=inp["training_dataset"],
        # SDK v3 needs the group for a model package ARN given as a string (it only reads it from a
        # ModelPackage object); the workflow defaults it to the source package's group.
        model_package_group=inp.get("model_package_group") or resolved.source_model_package_group,
        training_type=inp["training_type"],
        training_type_as_enum=enum,
        validation_dataset=inp.get("validation_dataset"),
        hyperparameters=dict(inp.get("hyperparameters") or {}),
        custom_reward_function=inp.get("custom_reward_function"),
        reward_model_id=inp.get("reward_model_id"),
        reward_prompt=inp.get("reward_prompt"),
        mlflow_resource_arn=inp.get("mlflow_resource_arn"),
        mlflow_experiment_name=inp.get("mlflow_experiment_name"),
        mlflow_run_name=inp.get("mlflow_run_name"),
        kms_key_id=settings.kms_key_arn,
        sequence_length=inp.get("sequence_length"),
        max_runtime_in_seconds=inp["max_runtime_in_seconds"] if pass_runtime else None,
        tags=dict(inp.get("tags") or {}),
        accept_eula=inp["accept_eula"],
        s3_output_path=inp["s3_output_path"],
        disable_output_compression=inp["disable_output_compression"],
        role_arn=settings.role_arn,
    )


def sdk_request(intent: O.Intent, settings: StackSettings) -> O.SdkCapture:
    capture = O.capture_sdk_request(
        intent,
        region=settings.region,
        account_id=settings.account,
        buckets=settings.readable_buckets,
        model_packages=PACKAGES,
        evaluators={STACK_EVALUATOR: LAMBDA, MATH_EVALUATOR: LAMBDA},
        datasets=(TRAIN_SET, VALIDATION_SET),
    )
    assert not capture.unexpected, f"the SDK made calls the oracle does not know: {capture.unexpected}"
    return capture


# ----------------------------------------------------------------------------- the comparison
@dataclasses.dataclass
class Pair:
    ours: dict[str, Any]
    sdk: dict[str, Any]
    capture: O.SdkCapture
    inp: dict[str, Any]
    settings: StackSettings
    resolved: P.ResolvedModel


def _job_name(p: Pair) -> bool:
    prefix = f"{sanitize(p.resolved.model_id)}-{p.inp['technique'].lower()}-"
    ours, sdk = p.ours.pop("TrainingJobName"), p.sdk.pop("TrainingJobName")
    expected = p.inp.get("training_job_name") or training_job_name(p.resolved.model_id, p.inp["technique"], EXECUTION_ARN)
    assert ours == expected
    # ours keeps the 10-hex suffix whole and shortens the model part when the name would pass 63 characters
    suffix = f"-{p.inp['technique'].lower()}-{ours[-10:]}"
    assert re.fullmatch(r"[0-9a-f]{10}", ours[-10:]) and ours.endswith(suffix) and prefix.startswith(ours[: -len(suffix)]), ours
    # SDK v3 cuts "<model>-<technique>-<timestamp>" at 63 characters, timestamp first (a long model id loses it)
    assert len(sdk) <= 63 and re.fullmatch(r"\d{0,14}", sdk[len(prefix):]) and (prefix + sdk[len(prefix):]).startswith(sdk), sdk
    return True


def _stopping_condition(p: Pair) -> bool:
    if "StoppingCondition" in p.sdk:
        return False  # given to the SDK too: compared as any other field
    assert p.ours.pop("StoppingCondition") == {"MaxRuntimeInSeconds": p.inp["max_runtime_in_seconds"]}
    return True


def _tags(p: Pair) -> bool:
    ours = {t["Key"]: t["Value"] for t in p.ours["Tags"]}
    sdk = {t["Key"]: t["Value"] for t in p.sdk["Tags"]}
    assert len(ours) == len(p.ours["Tags"]) and len(sdk) == len(p.sdk["Tags"]), "duplicate tag keys"
    user = p.inp.get("tags") or {}
    assert not set(user) & set(p.settings.stack_tags), "the validation refuses user tags that would override the stack's"
    added = dict(p.settings.stack_tags)
    if p.settings.stack_id:
        added[C.STACK_TAG] = p.settings.stack_id
    added[C.EXECUTION_TAG] = EXECUTION_ARN
    for key, value in added.items():
        assert ours.pop(key) == value, key
    p.ours["Tags"], p.sdk["Tags"] = ours, sdk  # compared as maps: order is not meaningful
    return True


def _mlflow(p: Pair) -> bool:
    if p.inp.get("mlflow_resource_arn"):
        return False
    assert "MlflowConfig" not in p.ours
    created = p.sdk.pop("MlflowConfig")
    for key, name in (("mlflow_experiment_name", "MlflowExperimentName"), ("mlflow_run_name", "MlflowRunName")):
        assert created.get(name) == p.inp.get(key)
    assert p.capture.mlflow_apps_created and created["MlflowResourceArn"].startswith(
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/"
    ), created
    return True


def _evaluator(p: Pair) -> bool:
    fn = p.inp.get("custom_reward_function") or ""
    if p.inp["technique"] != "RLVR" or not P.LAMBDA_ARN.match(fn):
        return False
    ours = p.ours["ServerlessJobConfig"].pop("EvaluatorArn")
    sdk = p.sdk["ServerlessJobConfig"].pop("EvaluatorArn")
    assert p.settings.reward_evaluators[ours] == fn.split(":function:")[0] + ":function:" + fn.split(":function:")[1].split(":")[0]
    assert p.capture.evaluators_created == {sdk: fn}
    assert "/JsonDoc/rlvr-reward-" in sdk
    return True


def _peft(p: Pair) -> bool:
    if p.sdk["ServerlessJobConfig"].get("Peft") != "FULL":
        return False
    assert p.inp["training_type"] == "FULL" and "Peft" not in p.ours["ServerlessJobConfig"]
    del p.sdk["ServerlessJobConfig"]["Peft"]
    return True


def _compression(p: Pair) -> bool:
    if p.inp["technique"] != "RLAIF" or not p.inp["disable_output_compression"]:
        return False
    assert p.ours["OutputDataConfig"].pop("CompressionType") == "NONE"
    assert "CompressionType" not in p.sdk["OutputDataConfig"]
    return True


NORMALIZERS: dict[str, Callable[[Pair], bool]] = {
    "TrainingJobName": _job_name,
    "StoppingCondition": _stopping_condition,
    "Tags": _tags,
    "MlflowConfig": _mlflow,
    "ServerlessJobConfig.EvaluatorArn": _evaluator,
    "ServerlessJobConfig.Peft": _peft,
    "OutputDataConfig.CompressionType": _compression,
}


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path}.{k}" if path else str(k)))
        return out or {path: {}}
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{path}[{i}]"))
        return out or {path: []}
    return {path: value}


def compare(pair: Pair) -> set[str]:
    """Assert the requests agree apart from the deliberate differences; return the ones observed."""
    observed = {key for key, normalize in NORMALIZERS.items() if normalize(pair)}
    ours, sdk = _flatten(pair.ours), _flatten(pair.sdk)
    diffs = [
        f"  {path}: planner={ours.get(path, '<absent>')!r} sdk={sdk.get(path, '<absent>')!r}"
        for path in sorted(set(ours) | set(sdk))
        if ours.get(path, "<absent>") != sdk.get(path, "<absent>")
    ]
    assert not diffs, "the planner and SDK v3 disagree beyond DELIBERATE_DIFFERENCES:\n" + "\n".join(diffs)
    return observed


def run(raw: dict[str, Any], settings: StackSettings = SETTINGS, *, pass_runtime: bool = True) -> set[str]:
    inp, ours, resolved = plan(raw, settings)
    O.assert_valid_request(ours)
    capture = sdk_request(intent_for(inp, settings, resolved, pass_runtime=pass_runtime), settings)
    O.assert_valid_request(capture.request)
    return compare(Pair(copy.deepcopy(ours), copy.deepcopy(capture.request), capture, inp, settings, resolved))


# ----------------------------------------------------------------------------- the intents
def data(technique: str, name: str = "train.jsonl") -> str:
    return f"s3://{BUCKET}/datasets/{technique.lower()}/{name}"


def intent(technique: str, **fields: Any) -> dict[str, Any]:
    return {"technique": technique, "training_dataset": data(technique), **fields}


def matrix() -> dict[str, tuple[dict[str, Any], StackSettings]]:
    """technique x training type x fresh/continued on the default model (LORA and FULL for all four)."""
    cases = {}
    for technique in C.TECHNIQUES:
        for training_type in C.TRAINING_TYPES:
            for continued in (False, True):
                raw = intent(technique, training_type=training_type)
                if continued:
                    raw["model"] = package_arn(3)
                cases[f"{technique}-{training_type}-{'continued' if continued else 'fresh'}"] = (raw, SETTINGS)
    return cases


no_reward_default = dataclasses.replace(SETTINGS, reward_evaluator_arn=None)
CASES: dict[str, tuple[dict[str, Any], StackSettings]] = {**matrix(),
    # Other models: gated (EULA), LoRA-only, Nova (Converse data type, no epochs/warm-up).
    "gated-SFT-LORA": (intent("SFT", model=catalog.GATED_MODEL_ID, accept_eula=True), SETTINGS),
    "gated-SFT-FULL": (intent("SFT", model=catalog.GATED_MODEL_ID, accept_eula=True, training_type="FULL"), SETTINGS),
    "gated-DPO-continued": (intent("DPO", model=package_arn(4)), SETTINGS),
    "gated-RLAIF": (intent("RLAIF", model=catalog.GATED_MODEL_ID, accept_eula=True, reward_prompt="Builtin.Cot"), SETTINGS),
    "lora-only-SFT": (intent("SFT", model=catalog.LORA_ONLY_MODEL_ID), SETTINGS),
    "lora-only-RLVR": (intent("RLVR", model=catalog.LORA_ONLY_MODEL_ID, custom_reward_function=MATH_EVALUATOR), SETTINGS),
    "lora-only-RLAIF": (intent("RLAIF", model=catalog.LORA_ONLY_MODEL_ID, reward_model_id="qwen.qwen3-32b-v1:0"), SETTINGS),
    "nova-SFT-LORA": (intent("SFT", model=catalog.NOVA_MODEL_ID), SETTINGS),
    "nova-SFT-FULL": (intent("SFT", model=catalog.NOVA_MODEL_ID, training_type="FULL"), SETTINGS),
    "nova-RLVR": (intent("RLVR", model=catalog.NOVA_MODEL_ID), SETTINGS),
    "nova-RLVR-FULL": (intent("RLVR", model=catalog.NOVA_MODEL_ID, training_type="FULL"), SETTINGS),
    # gpt-oss-20b has full fine-tuning for every technique; Nemotron 3 Nano has no DPO, 8K SFT and RLVR, the grader prompt.
    "gpt-oss-20b-RLVR-FULL": (intent("RLVR", model=catalog.FULL_AND_LORA_MODEL_ID, training_type="FULL"), SETTINGS),
    "gpt-oss-20b-DPO-FULL": (intent("DPO", model=catalog.FULL_AND_LORA_MODEL_ID, training_type="FULL"), SETTINGS),
    "nemotron-SFT-8K": (intent("SFT", model=catalog.NO_DPO_MODEL_ID, sequence_length="8K"), SETTINGS),
    "nemotron-RLAIF-grader": (intent("RLAIF", model=catalog.NO_DPO_MODEL_ID, reward_prompt="Builtin.Grader"), SETTINGS),
    "nova-SFT-continued": (intent("SFT", model=package_arn(5)), SETTINGS),
    "nova-SFT-bedrock-alias": (intent("SFT", model="amazon.nova-2-lite-v1"), SETTINGS),
    # Judges and reward functions.
    "RLAIF-builtin-prompt": (intent("RLAIF", reward_prompt="Builtin.Faithfulness"), SETTINGS),
    "RLAIF-custom-prompt": (intent("RLAIF", reward_prompt=PROMPT_EVALUATOR, reward_model_id="qwen.qwen3-coder-30b-a3b-v1:0"), SETTINGS),
    "RLAIF-stack-prompt": (intent("RLAIF"), dataclasses.replace(SETTINGS, judge_prompt="Builtin.Evaluate")),
    "RLVR-evaluator-arn": (intent("RLVR", custom_reward_function=MATH_EVALUATOR), SETTINGS),
    "RLVR-lambda-arn": (intent("RLVR", custom_reward_function=LAMBDA), SETTINGS),
    "RLVR-preset-reward": (intent("RLVR", hyperparameters={"preset_reward_function": "gsm8k"}), no_reward_default),
    # Data, hyperparameters, recipes.
    "SFT-validation": (intent("SFT", validation_dataset=data("SFT", "validation.jsonl")), SETTINGS),
    "SFT-dataset-bucket-prefix": (intent("SFT", training_dataset=f"s3://{DATA_BUCKET}/support/train/"), SETTINGS),
    "DPO-dataset-arns": (intent("DPO", training_dataset=TRAIN_SET, validation_dataset=VALIDATION_SET), SETTINGS),
    "SFT-hyperparameters": (intent("SFT", hyperparameters={"learning_rate": 2e-5, "lora_rank": 32, "max_epochs": 3}), SETTINGS),
    "DPO-hyperparameters": (intent("DPO", training_type="FULL", hyperparameters={"adam_beta": 0.05, "global_batch_size": 128}), SETTINGS),
    "RLVR-hyperparameters": (intent("RLVR", hyperparameters={"max_prompt_length": 1024, "rollout_n": 16, "kl_loss_coef": 0.01, "use_kl_loss": False}), SETTINGS),
    "RLAIF-hyperparameters": (intent("RLAIF", hyperparameters={"rollout_n": 2, "learning_rate": 5e-7}), SETTINGS),
    "SFT-sequence-length-4K": (intent("SFT", sequence_length="4K"), SETTINGS),
    "RLVR-sequence-length-1K": (intent("RLVR", sequence_length="1K"), SETTINGS),
    "DPO-FULL-sequence-length-4K": (intent("DPO", training_type="FULL", sequence_length="4K"), SETTINGS),
    # Tracking, encryption, output, tags, group, runtime.
    "SFT-mlflow": (intent("SFT", mlflow_resource_arn=MLFLOW, mlflow_experiment_name="support-bot", mlflow_run_name="sft-lr-2e-5"), WITH_MLFLOW),
    "SFT-mlflow-names-without-arn": (intent("SFT", mlflow_experiment_name="support-bot", mlflow_run_name="r1"), SETTINGS),
    "RLVR-stack-mlflow": (intent("RLVR", mlflow_run_name="rlvr-1"), WITH_MLFLOW),
    "DPO-kms": (intent("DPO"), dataclasses.replace(SETTINGS, kms_key_arn=KMS)),
    "SFT-tags": (intent("SFT", tags={"team": "support", "component": "chatbot v2"}), SETTINGS),
    "SFT-output-uncompressed": (intent("SFT", s3_output_path=f"s3://{BUCKET}/outputs/runs/sft/", disable_output_compression=True), SETTINGS),
    "RLAIF-output-uncompressed": (intent("RLAIF", disable_output_compression=True), SETTINGS),
    "DPO-group-arn": (intent("DPO", model_package_group=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/other-models"),
                      dataclasses.replace(SETTINGS, model_package_groups=("other-models",))),
    "RLAIF-max-runtime": (intent("RLAIF", max_runtime_in_seconds=7200), SETTINGS),
    "RLVR-everything-continued": (
        intent(
            "RLVR", model=package_arn(3), training_type="FULL", custom_reward_function=LAMBDA,
            validation_dataset=data("RLVR", "validation.jsonl"), hyperparameters={"rollout_n": 2},
            sequence_length="1K", mlflow_resource_arn=MLFLOW, mlflow_experiment_name="rlvr", tags={"team": "math"},
            max_runtime_in_seconds=3600,
        ),
        dataclasses.replace(WITH_MLFLOW, kms_key_arn=KMS),
    ),
}


_OBSERVED: dict[str, set[str]] = {}


def run_case(case_id: str) -> set[str]:
    """Compare one case (each SDK run costs ~0.3 s, so a case shared by two tests runs once)."""
    if case_id not in _OBSERVED:
        raw, settings = CASES[case_id]
        _OBSERVED[case_id] = run(raw, settings)
    return _OBSERVED[case_id]


@pytest.mark.parametrize("case_id", list(CASES))
def test_planner_matches_sdk(case_id: str) -> None:
    run_case(case_id)


def test_table_and_normalizers_agree() -> None:
    assert set(NORMALIZERS) == set(DELIBERATE_DIFFERENCES)
    assert all(len(reason) > 80 for reason in DELIBERATE_DIFFERENCES.values())


#: A case per deliberate difference where SDK v3 does differ (the table entry is not vacuous).
SHOWN_BY = {
    "TrainingJobName": "SFT-LORA-fresh",
    "Tags": "SFT-tags",
    "MlflowConfig": "DPO-LORA-fresh",
    "ServerlessJobConfig.EvaluatorArn": "RLVR-lambda-arn",
    "OutputDataConfig.CompressionType": "RLAIF-output-uncompressed",
}


@pytest.mark.parametrize("key", sorted(SHOWN_BY))
def test_each_deliberate_difference_is_real(key: str) -> None:
    assert key in run_case(SHOWN_BY[key])


def test_stopping_condition_always_sent_but_sdk_only_when_given() -> None:
    """Deliberate difference StoppingCondition: not given to the SDK, it sends none; we send the stack's maximum."""
    inp, ours, resolved = plan(intent("SFT"), SETTINGS)
    capture = sdk_request(intent_for(inp, SETTINGS, resolved, pass_runtime=False), SETTINGS)
    assert ours["StoppingCondition"] == {"MaxRuntimeInSeconds": SETTINGS.max_runtime_seconds}
    assert "StoppingCondition" not in capture.request
    pair = Pair(copy.deepcopy(ours), copy.deepcopy(capture.request), capture, inp, SETTINGS, resolved)
    assert "StoppingCondition" in compare(pair)



def test_full_fine_tuning_peft_with_a_string_training_type() -> None:
    """Deliberate difference ServerlessJobConfig.Peft: SDK v3 sends Peft=FULL for training_type="FULL"."""
    inp, ours, resolved = plan(intent("SFT", training_type="FULL"), SETTINGS)
    capture = sdk_request(intent_for(inp, SETTINGS, resolved, enum=False), SETTINGS)
    assert capture.request["ServerlessJobConfig"]["Peft"] == "FULL"
    assert any("Peft" in e for e in O.request_errors(capture.request))  # outside the service enum
    assert "Peft" not in ours["ServerlessJobConfig"]
    pair = Pair(copy.deepcopy(ours), copy.deepcopy(capture.request), capture, inp, SETTINGS, resolved)
    assert "ServerlessJobConfig.Peft" in compare(pair)
    assert set(SHOWN_BY) | {"StoppingCondition", "ServerlessJobConfig.Peft"} == set(DELIBERATE_DIFFERENCES)


def test_case_count() -> None:
    """The README quotes how many intents are compared; keep the list meaningful."""
    assert len(CASES) >= 50
