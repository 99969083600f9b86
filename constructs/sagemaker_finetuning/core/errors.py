"""Errors a user can cause, typed and named.

The class name is the error name Step Functions shows (a Lambda's ``errorType``), so every class
here is part of the public contract: a Catch, an alarm or a runbook may match on it. Messages name
the field, the value received and what is expected.
"""

from __future__ import annotations

import json
from typing import Any

_MAX_SHOWN = 200


def show(value: Any) -> str:
    """A short, unambiguous rendering of a received value for an error message: JSON, as the
    value appears in the execution input (``"SFT"``, ``true``, ``null``), else its ``repr``."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class FineTuningInputError(Exception):
    """Base class: the execution input cannot be run as given. Nothing was created or billed."""

    def __init__(self, field: str, received: Any, expected: str, hint: str | None = None):
        self.field = field
        self.received = received
        self.expected = expected
        self.hint = hint
        message = f"{field}: received {show(received)}; expected {expected}"
        if hint:
            message += f". {hint}"
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "field": self.field,
            "received": self.received,
            "expected": self.expected,
            "message": str(self),
        }


class InvalidInput(FineTuningInputError):
    """A field is missing, mistyped or malformed."""


class UnsupportedTechnique(FineTuningInputError):
    """The technique is unknown or the model's recipes do not offer it."""


class UnsupportedTrainingType(FineTuningInputError):
    """LORA or FULL is not offered by the model's recipes for the technique."""


class SequenceLengthNotOffered(FineTuningInputError):
    """No recipe of the model offers the requested sequence length."""


class EulaNotAccepted(FineTuningInputError):
    """The base model is gated and accept_eula is not true."""


class UnknownHyperparameter(FineTuningInputError):
    """The recipe has no hyperparameter of that name."""


class HyperparameterOutOfRange(FineTuningInputError):
    """A hyperparameter's value has the wrong type or lies outside the recipe's range or choices."""


class RewardFunctionMissing(FineTuningInputError):
    """RLVR needs a reward function (or the recipe's preset_reward_function) and none was given."""


class RewardFunctionNotAllowed(FineTuningInputError):
    """The reward function is not one this stack was granted to invoke."""


class JudgeMissing(FineTuningInputError):
    """RLAIF needs a judge model (reward_model_id) and none was given."""


class JudgeModelNotAvailable(FineTuningInputError):
    """The judge model is unknown or not offered in this region."""


class DatasetAccessDenied(FineTuningInputError):
    """The dataset lies in a bucket the training role was not granted to read."""


class ModelNotFound(FineTuningInputError):
    """The base model or source model package does not exist (or cannot be read)."""


class ModelNotAvailableInRegion(FineTuningInputError):
    """Serverless customization of this model family is not offered in this region."""


class RewardFunctionVerificationFailed(FineTuningInputError):
    """The reward function failed or broke its contract on training samples before launch."""


ERROR_NAMES = sorted(
    cls.__name__ for cls in FineTuningInputError.__subclasses__()
)
