"""Spend known before launch: the tokens a run will bill, estimated from the whole-dataset validation.

Serverless SFT and DPO recipes bill per token (``ServerlessMeteringType: Token-based``). The estimate is
the text the validation counted (prompts, completions, messages: ``text_chars``) divided by a
characters-per-token approximation, times the epochs: an approximation to calibrate against the job's
``BillableTokenCount`` (both are in the run's output), not a tokenizer.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from sagemaker_finetuning.core.constants import is_nova_model
from sagemaker_finetuning.core.errors import BudgetExceeded, InvalidInput

#: Characters of English text per token: the common rule of thumb for BPE tokenizers (Llama, Qwen, gpt-oss)
#: and for Amazon Nova (Bedrock's token guidance). Per model family, so a family can be calibrated apart.
CHARS_PER_TOKEN = {"open-weights": 4.0, "nova": 4.0}


def chars_per_token(model_id: str) -> float:
    return CHARS_PER_TOKEN["nova" if is_nova_model(model_id) else "open-weights"]


def estimate_tokens(summary: Mapping[str, Any] | None, epochs: int, model_id: str) -> int | None:
    """Tokens billed for ``epochs`` over the training (and validation) text, or None when nothing was counted
    (a hub DataSet, validate_dataset off)."""
    if not summary or summary.get("mode") != "full" or not summary.get("training"):
        return None
    chars = sum(int((summary.get(name) or {}).get("text_chars", 0)) for name in ("training", "validation"))
    return math.ceil(chars / chars_per_token(model_id)) * max(1, epochs)


def check_budget(max_tokens: int | None, estimate: int | None, field: str = "budget.max_tokens", configurations: int = 1) -> None:
    """``BudgetExceeded`` (estimate and budget in the message) when the estimate is above the budget; a budget
    without an estimate is refused too: spend would be unknown. ``configurations``: a sweep's, whose estimate is
    the sum of its runs'."""
    if max_tokens is None:
        return
    if estimate is None:
        raise InvalidInput(field, max_tokens, "a budget for a run whose datasets are validated in full (validate_dataset full, "
                                              "s3:// datasets): the estimate counts their text")
    if estimate > max_tokens:
        what = "the run's" if configurations == 1 else f"the sweep's ({configurations} configurations, summed)"
        raise BudgetExceeded(field, max_tokens, f"at least {what} estimate of {estimate} tokens (text characters / "
                                                "characters per token x epochs); nothing was launched",
                             "Raise the budget, or train on less data or fewer epochs")
