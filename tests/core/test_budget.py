"""Budgets: the token estimate from the whole-dataset validation, and BudgetExceeded before launch."""

from __future__ import annotations

import dataclasses

import pytest
from test_planner import BUCKET, SETTINGS

from sagemaker_finetuning.core.budget import check_budget, estimate_tokens
from sagemaker_finetuning.core.errors import BudgetExceeded, InvalidInput
from sagemaker_finetuning.core.validation import validate_input

SUMMARY = {"mode": "full", "training": {"records": 10, "bytes": 5000, "text_chars": 4001}, "validation": {"records": 2, "bytes": 900, "text_chars": 799}}


def test_the_estimate_is_the_validated_text_over_four_characters_per_token_times_epochs():
    assert estimate_tokens(SUMMARY, 3, "huggingface-reasoning-qwen3-06b") == 1200 * 3
    assert estimate_tokens({**SUMMARY, "validation": None}, 1, "nova-textgeneration-lite-v2") == 1001  # ceil(4001 / 4)
    assert estimate_tokens({**SUMMARY, "mode": "sample"}, 1, "huggingface-reasoning-qwen3-06b") is None  # not every record counted
    assert estimate_tokens(None, 1, "huggingface-reasoning-qwen3-06b") is None


def test_a_budget_below_the_estimate_is_exceeded_by_name_with_both_figures():
    check_budget(3600, 3600)
    check_budget(None, 10**9)
    with pytest.raises(BudgetExceeded, match=r"^budget.max_tokens: received 1; expected at least the run's estimate of 3600 tokens"):
        check_budget(1, 3600)
    with pytest.raises(InvalidInput, match=r"validate_dataset full"):
        check_budget(1, None)


def test_the_stacks_default_budget_applies_and_needs_a_full_validation():
    raw = {"technique": "SFT", "training_dataset": f"s3://{BUCKET}/datasets/train.jsonl"}
    assert validate_input(raw, dataclasses.replace(SETTINGS, default_budget_tokens=50_000_000))["budget"] == {"max_tokens": 50_000_000}
    assert "budget" not in validate_input(raw, SETTINGS)
    with pytest.raises(InvalidInput, match=r"^validate_dataset: received \"sample\"; expected full when the run has a budget"):
        validate_input({**raw, "budget": {"max_tokens": 10}, "validate_dataset": "sample"}, SETTINGS)
    with pytest.raises(InvalidInput, match=r"budget: received .*; expected no value: mode evaluate trains nothing"):
        validate_input({"mode": "evaluate", "budget": {"max_tokens": 10}, "evaluation": {"type": "benchmark", "benchmark": "mmlu"}}, SETTINGS)
