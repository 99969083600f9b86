"""Malformed inputs fail in a named state with a named error, before any training job exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

LORA_ONLY = "openai-reasoning-gpt-oss-120b"  # no full fine-tuning recipe
NO_DPO = "huggingface-reasoning-nvidia-nemotron-3-nano-30b-a3b-bf16"  # SFT, RLVR, RLAIF only
GATED = "meta-textgeneration-llama-3-2-1b-instruct"


def bad_inputs(u: dict[str, str], bucket: str, group: str = "serverless-fine-tuning-models") -> list[tuple[str, dict, str, str]]:
    """(label, input, expected error name, field the cause must name)."""
    sft = {"technique": "SFT", "training_dataset": u["sft"]}
    group_in_arn = group.lower()  # SageMaker lowercases the group inside package ARNs
    return [
        ("empty input", {}, "InvalidInput", "technique"),
        ("unknown technique", {**sft, "technique": "PPO"}, "UnsupportedTechnique", "technique"),
        ("unknown field", {**sft, "epochs": 3}, "InvalidInput", "epochs"),
        ("bad S3 URI", {**sft, "training_dataset": "s3:/nope/x.jsonl"}, "InvalidInput", "training_dataset"),
        ("dataset in another bucket", {**sft, "training_dataset": "s3://someone-elses-bucket/x.jsonl"}, "DatasetAccessDenied", "training_dataset"),
        ("dataset outside datasets/", {**sft, "training_dataset": f"s3://{bucket}/outputs/x.jsonl"}, "DatasetAccessDenied", "training_dataset"),
        ("output elsewhere", {**sft, "s3_output_path": "s3://someone-elses-bucket/out/"}, "DatasetAccessDenied", "s3_output_path"),
        ("training type", {**sft, "training_type": "QLORA"}, "InvalidInput", "training_type"),
        ("accept_eula not boolean", {**sft, "accept_eula": "yes"}, "InvalidInput", "accept_eula"),
        ("gated model without EULA", {**sft, "model": GATED}, "EulaNotAccepted", "accept_eula"),
        ("group name pattern", {**sft, "model_package_group": "Customer Support!"}, "InvalidInput", "model_package_group"),
        ("group not granted", {**sft, "model_package_group": "someone-elses-group"}, "InvalidInput", "model_package_group"),
        ("job name pattern", {**sft, "training_job_name": "my job"}, "InvalidInput", "training_job_name"),
        ("unknown hyperparameter", {**sft, "hyperparameters": {"warmup": 0.1}}, "UnknownHyperparameter", "hyperparameters.warmup"),
        ("hyperparameter above range", {**sft, "hyperparameters": {"learning_rate": 0.5}}, "HyperparameterOutOfRange", "hyperparameters.learning_rate"),
        ("hyperparameter wrong type", {**sft, "hyperparameters": {"max_epochs": "two"}}, "HyperparameterOutOfRange", "hyperparameters.max_epochs"),
        ("length over sequence length", {**sft, "hyperparameters": {"dataset_max_len": 8192}},  # the 4K recipe's range allows 131072
         "HyperparameterOutOfRange", "dataset_max_len"),
        ("max runtime zero", {**sft, "max_runtime_in_seconds": 0}, "InvalidInput", "max_runtime_in_seconds"),
        ("max runtime above the stack's", {**sft, "max_runtime_in_seconds": 90000}, "InvalidInput", "max_runtime_in_seconds"),
        ("FULL not offered", {**sft, "model": LORA_ONLY, "training_type": "FULL"}, "UnsupportedTrainingType", "training_type"),
        ("technique not offered", {**sft, "technique": "DPO", "model": NO_DPO}, "UnsupportedTechnique", "technique"),
        ("sequence length not offered", {**sft, "sequence_length": "64K"}, "SequenceLengthNotOffered", "sequence_length"),
        ("unknown model", {**sft, "model": "no-such-model-v9"}, "ModelNotFound", "model"),
        ("malformed model id", {**sft, "model": "bad model!"}, "InvalidInput", "model"),
        ("missing source package", {**sft, "model": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group_in_arn}/999"}, "ModelNotFound", "model"),
        ("package of a group not granted", {**sft, "model": "arn:aws:sagemaker:us-east-1:123456789012:model-package/other-team/1"}, "AccessNotGranted", "model"),
        ("judge not offered here", {"technique": "RLAIF", "training_dataset": u["rlaif"], "reward_model_id": "qwen.qwen3-235b-a22b-2507-v1:0"}, "JudgeModelNotAvailable", "reward_model_id"),
        ("unknown judge", {"technique": "RLAIF", "training_dataset": u["rlaif"], "reward_model_id": "anthropic.claude-v2"}, "JudgeModelNotAvailable", "reward_model_id"),
        ("unknown built-in prompt", {"technique": "RLAIF", "training_dataset": u["rlaif"], "reward_prompt": "Builtin.Helpfulness"}, "InvalidInput", "reward_prompt"),
        ("reward Lambda not granted", {"technique": "RLVR", "training_dataset": u["rlvr"], "custom_reward_function": "arn:aws:lambda:us-east-1:123456789012:function:other"},
         "RewardFunctionNotAllowed", "custom_reward_function"),
        ("reward function on SFT", {**sft, "custom_reward_function": "arn:aws:lambda:us-east-1:123456789012:function:other"}, "InvalidInput", "custom_reward_function"),
        ("judge on SFT", {**sft, "reward_model_id": "openai.gpt-oss-120b-1:0"}, "InvalidInput", "reward_model_id"),
        ("reserved tag", {**sft, "tags": {"aws:team": "x"}}, "InvalidInput", "tags"),
        ("empty dataset prefix", {"technique": "RLVR", "training_dataset": f"s3://{bucket}/datasets/empty/"}, "DatasetNotFound", "training_dataset"),
        *hostile_inputs(u, bucket),
    ]


FOREIGN = "210987654321"


def hostile_inputs(u: dict[str, str], bucket: str) -> list[tuple[str, Any, str, str]]:
    """The hardening classes: not an object, several problems at once, keys the workflow owns, grants the
    stack does not have, other accounts' ARNs, unreadable text, absurd numbers, datasets that are not there
    or not in the technique's format."""
    sft = {"technique": "SFT", "training_dataset": u["sft"]}
    rlaif = {"technique": "RLAIF", "training_dataset": u["rlaif"]}
    return [
        ("a list", [sft], "InvalidInput", "(input)"),
        ("null", None, "InvalidInput", "(input)"),
        ("a string", "SFT please", "InvalidInput", "(input)"),
        ("double-encoded JSON", json.dumps(sft), "InvalidInput", "encoded twice"),
        ("every problem at once", {**sft, "epochs": 3, "training_type": "QLORA"}, "InvalidInput", "2 problems"),
        ("judge_model_id through hyperparameters", {**rlaif, "hyperparameters": {"judge_model_id": "bedrock/anthropic.claude-v2"}},
         "HyperparameterNotTunable", "hyperparameters.judge_model_id"),
        ("data path through hyperparameters", {**sft, "hyperparameters": {"data_path": "s3://elsewhere/x"}}, "HyperparameterNotTunable", "data_path"),
        ("judge offered but not granted", {**rlaif, "reward_model_id": "openai.gpt-oss-20b-1:0"}, "JudgeModelNotAvailable", "reward_model_id"),
        ("group of another account", {**sft, "model_package_group": f"arn:aws:sagemaker:us-east-1:{FOREIGN}:model-package-group/theirs"},
         "AccessNotGranted", "model_package_group"),
        ("evaluator of another account", {"technique": "RLVR", "training_dataset": u["rlvr"],
                                          "custom_reward_function": f"arn:aws:sagemaker:us-east-1:{FOREIGN}:hub-content/H/JsonDoc/rf/1.0.0"},
         "AccessNotGranted", "custom_reward_function"),
        ("prompt evaluator of another region", {**rlaif, "reward_prompt": "arn:aws:sagemaker:eu-west-1:123456789012:hub-content/H/JsonDoc/rp/1.0.0"},
         "AccessNotGranted", "reward_prompt"),
        ("DataSet of another account", {**sft, "training_dataset": f"arn:aws:sagemaker:us-east-1:{FOREIGN}:hub-content/H/DataSet/d/1.0.0"},
         "AccessNotGranted", "training_dataset"),
        ("MLflow resource not the stack's", {**sft, "mlflow_resource_arn": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/someone-else"},
         "AccessNotGranted", "mlflow_resource_arn"),
        ("workflow tag", {**sft, "tags": {"sagemaker-finetuning:execution-arn": "x"}}, "InvalidInput", "tags.sagemaker-finetuning:execution-arn"),
        ("aws: in another case", {**sft, "tags": {"AWS:cost": "x"}}, "InvalidInput", "tags.AWS:cost"),
        ("control character in a name", {**sft, "mlflow_run_name": "run\u0000"}, "InvalidInput", "mlflow_run_name"),
        ("line break in a hyperparameter value", {**sft, "hyperparameters": {"learning_rate": "1e-5\n"}}, "InvalidInput", "hyperparameters.learning_rate"),
        ("absurd number", {**sft, "hyperparameters": {"learning_rate": 10**30}}, "HyperparameterOutOfRange", "hyperparameters.learning_rate"),
        ("sequence length with a leading zero", {**sft, "sequence_length": "08K"}, "InvalidInput", "sequence_length"),
        ("missing dataset", {**sft, "training_dataset": f"s3://{bucket}/datasets/nothing-here.jsonl"}, "DatasetNotFound", "training_dataset"),
        ("RLVR on an SFT dataset", {"technique": "RLVR", "training_dataset": u["sft"]}, "DatasetFormatMismatch", "training_dataset"),
    ]


def test_bad_inputs_fail_by_name_and_start_no_job(harness):
    cases = bad_inputs(harness.uris, harness.outputs["BucketName"], harness.outputs["ModelPackageGroupName"])
    assert len(cases) >= 25
    jobs_before = set(harness.job_names())
    arns = {label: harness.start(payload) for label, payload, _, _ in cases}  # any JSON value, as StartExecution takes it
    problems = []
    for label, _payload, error, field in cases:
        desc = harness.wait(arns[label], timeout=90)
        if desc["status"] != "FAILED" or desc.get("error") != error or field not in (desc.get("cause") or ""):
            problems.append(f"{label}: {desc['status']} {desc.get('error')} {desc.get('cause')}")
            continue
        states = [e["stateEnteredEventDetails"]["name"] for e in harness.history(desc["executionArn"]) if "stateEnteredEventDetails" in e]
        assert "CreateTrainingJob" not in states and "CreateTrainingJobWithMlflow" not in states, label
        assert states[-1] == "InputRejected", (label, states[-3:])
    assert not problems, "\n".join(problems)
    assert set(harness.job_names()) == jobs_before, "a malformed input created a training job"
