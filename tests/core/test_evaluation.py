"""The evaluation block of an execution input (core/evaluation.py, validation.py): named errors before
any spend, the defaults filled in, mode evaluate, and the gate's verdict."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import hub_fixtures as catalog
import pytest
from test_planner import BUCKET, EVALUATOR, LAMBDA, package
from test_planner import SETTINGS as TRAINING_SETTINGS

from sagemaker_finetuning.core import evaluation as EV
from sagemaker_finetuning.core.errors import (
    DatasetAccessDenied,
    FineTuningInputError,
    InvalidInput,
    JudgeModelNotAvailable,
    RewardFunctionNotAllowed,
)
from sagemaker_finetuning.core.validation import validate_input

DATA = f"s3://{BUCKET}/datasets/eval/qa.jsonl"
JUDGE = "anthropic.claude-haiku-4-5-20251001-v1:0"
SETTINGS = dataclasses.replace(TRAINING_SETTINGS, evaluation_judge_model_ids=(JUDGE,))


def train(evaluation: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return validate_input({"technique": "SFT", "training_dataset": f"s3://{BUCKET}/datasets/train.jsonl", "evaluation": evaluation,
                           **fields}, SETTINGS)


def refused(evaluation: dict[str, Any], **fields: Any) -> FineTuningInputError:
    with pytest.raises(FineTuningInputError) as info:
        train(evaluation, **fields)
    return info.value


def test_defaults_are_filled_in():
    assert train({"type": "benchmark", "benchmark": "mmlu"})["evaluation"] == {"type": "benchmark", "benchmark": "mmlu", "compare_to_base": False}
    judged = train({"type": "llm_as_judge", "dataset": DATA, "metrics": ["Builtin.correctness"]})["evaluation"]
    assert judged["judge_model_id"] == JUDGE and judged["metrics"] == ["Correctness"]
    assert train({"type": "llm_as_judge", "dataset": DATA})["evaluation"]["metrics"] == list(EV.DEFAULT_JUDGE_METRICS)
    assert train({"type": "custom_scorer", "dataset": DATA})["evaluation"]["evaluator"] == EVALUATOR  # the stack's reward evaluator
    assert train({"type": "custom_scorer", "dataset": DATA, "evaluator": LAMBDA})["evaluation"]["evaluator"] == EVALUATOR  # by its Lambda
    assert train({"type": "custom_scorer", "dataset": DATA, "evaluator": "prime_math"})["evaluation"]["evaluator"] == "prime_math"


@pytest.mark.parametrize("evaluation, error, message", [
    ({"type": "benchmark", "benchmark": "mmlu-pro"}, InvalidInput, r"evaluation.benchmark: received \"mmlu-pro\"; expected one of mmlu, .* \(did you mean 'mmlu_pro'\?\)"),
    ({"type": "benchmark"}, InvalidInput, r"evaluation.benchmark: received null; expected a value: a benchmark evaluation needs one"),
    ({"type": "benchmark", "benchmark": "mmmu"}, InvalidInput, r"mmmu is for Nova models only"),
    ({"type": "benchmark", "benchmark": "mmlu", "dataset": DATA}, InvalidInput, r"evaluation.dataset: .*no value: a benchmark evaluation does not use it"),
    ({"type": "custom_scorer", "dataset": DATA, "evaluator": "arn:aws:lambda:us-east-1:123456789012:function:someone-elses"},
     RewardFunctionNotAllowed, r"evaluation.evaluator: .*expected a built-in scorer \(prime_math, prime_code\) or a reward evaluator of this stack"),
    ({"type": "custom_scorer", "dataset": "s3://another-bucket/eval.jsonl"}, DatasetAccessDenied, r"evaluation.dataset: received \"s3://another-bucket/eval.jsonl\""),
    ({"type": "custom_scorer", "dataset": f"s3://{BUCKET}/outputs/eval.jsonl"}, DatasetAccessDenied, r"under s3://.*/datasets/"),
    ({"type": "llm_as_judge", "dataset": DATA, "judge_model_id": "anthropic.claude-v9"}, JudgeModelNotAvailable,
     r"evaluation.judge_model_id: received \"anthropic.claude-v9\"; expected a Bedrock evaluator model for built-in metrics"),
    ({"type": "llm_as_judge", "dataset": DATA, "judge_model_id": "openai.gpt-oss-120b-1:0"}, JudgeModelNotAvailable,
     r"expected a Bedrock evaluator model for built-in metrics"),  # an RLAIF judge: SDK v3 refuses it here too
    ({"type": "llm_as_judge", "dataset": DATA, "judge_model_id": "amazon.nova-pro-v1:0"}, JudgeModelNotAvailable,
     r"expected a Bedrock evaluator model this stack grants: anthropic.claude-haiku-4-5-20251001-v1:0"),
    ({"type": "llm_as_judge", "dataset": DATA, "metrics": ["Correctnes"]}, InvalidInput, r"evaluation.metrics\[0\]: .*did you mean 'Correctness'"),
    ({"type": "llm_as_judge", "dataset": DATA, "metrics": ["Correctness", "Builtin.Correctness"]}, InvalidInput, r"each metric once"),
    ({"type": "benchmark", "benchmark": "math", "gate": {"metric": "accuracy", "min": 0.5}}, InvalidInput,
     r"evaluation.gate.metric: received \"accuracy\"; expected a metric this evaluation reports: exact_match"),
    ({"type": "benchmark", "benchmark": "mmlu", "gate": {"metric": "accuracy"}}, InvalidInput, r"expected a threshold"),
    ({"type": "benchmark", "benchmark": "mmlu", "gate": {"metric": "accuracy", "min_improvement_over_base": 0.01}}, InvalidInput,
     r"no value unless compare_to_base is true"),
    ({"type": "llm_as_judge", "dataset": DATA, "gate": {"metric": "Relevance", "min": 0.5}}, InvalidInput,
     r"expected a metric this evaluation reports: Correctness, Helpfulness"),
    ({"type": "rouge"}, InvalidInput, r"evaluation.type: received \"rouge\""),
])
def test_bad_evaluation_inputs_are_named_before_any_spend(evaluation, error, message):
    problem = refused(evaluation)
    assert isinstance(problem, error) and re.search(message, str(problem)), str(problem)


def test_nova_models_get_only_what_the_service_offers_them():
    nova = {"model": catalog.NOVA_MODEL_ID}
    assert "for Nova models only" not in str(train({"type": "benchmark", "benchmark": "mmmu"}, **nova)["evaluation"])
    assert "open-weight (non-Nova) models only" in str(refused({"type": "benchmark", "benchmark": "llm_judge"}, **nova))
    assert "InspectAI" in str(refused({"type": "llm_as_judge", "dataset": DATA}, **nova))


def test_mode_evaluate_needs_no_training_and_refuses_its_fields():
    inp = validate_input({"mode": "evaluate", "model": package(1), "evaluation": {"type": "benchmark", "benchmark": "mmlu"}}, SETTINGS)
    assert inp["mode"] == "evaluate" and "technique" not in inp
    base = validate_input({"mode": "evaluate", "evaluation": {"type": "benchmark", "benchmark": "gpqa"}}, SETTINGS)
    assert base["model"] == SETTINGS.base_model  # the stack's base model
    with pytest.raises(InvalidInput, match=r"^evaluation: received null; expected a value \(this field is required\)$"):
        validate_input({"mode": "evaluate", "model": package(1)}, SETTINGS)
    with pytest.raises(InvalidInput, match=r"technique: received \"SFT\"; expected no value: mode evaluate trains nothing"):
        validate_input({"mode": "evaluate", "technique": "SFT", "evaluation": {"type": "benchmark", "benchmark": "mmlu"}}, SETTINGS)
    with pytest.raises(InvalidInput, match=r"^2 problems: technique: received null; expected a value"):
        validate_input({"mode": "train"}, SETTINGS)


def test_the_gate():
    gate = {"metric": "accuracy", "min": 0.7, "min_improvement_over_base": 0.02}
    passed = EV.judge_gate(gate, {"accuracy": 0.75}, {"accuracy": 0.70})
    assert passed is not None and passed.passed and "accuracy 0.75 >= 0.7" in passed.description
    low = EV.judge_gate(gate, {"accuracy": 0.65}, {"accuracy": 0.60})
    assert low is not None and not low.passed and "accuracy 0.65 is below the minimum 0.7" in low.description
    flat = EV.judge_gate(gate, {"accuracy": 0.75}, {"accuracy": 0.74})
    assert flat is not None and not flat.passed and "less than the required +0.02" in flat.description
    missing = EV.judge_gate({"metric": "reward", "min": 0.1}, {"accuracy": 0.75}, None)
    assert missing is not None and not missing.passed and "reward was not reported (reported: accuracy)" in missing.description
    assert EV.judge_gate(None, {"accuracy": 0.1}, None) is None
    nan = EV.judge_gate({"metric": "accuracy", "min": 0.1}, {"accuracy": float("nan")}, None)
    assert nan is not None and not nan.passed
