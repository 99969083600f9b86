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
        self.problems = [self]
        message = f"{field}: received {show(received)}; expected {expected}"
        if hint:
            message += f". {hint}"
        super().__init__(message)

    #: Every problem found with this one (itself first), when the input has several.
    problems: list["FineTuningInputError"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "field": self.field,
            "received": self.received,
            "expected": self.expected,
            "message": str(self),
        }


def combined(errors: list[FineTuningInputError]) -> FineTuningInputError:
    """One error for several problems: the first problem's kind (the error name Step Functions shows)
    and a message listing every problem, so one run tells the user everything to fix."""
    first = errors[0]
    if len(errors) == 1:
        return first
    error = type(first)(first.field, first.received, first.expected, first.hint)
    error.problems = list(errors)
    error.args = (f"{len(errors)} problems: " + "; ".join(str(e) for e in errors),)
    return error


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


class HyperparameterNotTunable(FineTuningInputError):
    """The key is set by the workflow from a dedicated input (paths, model, MLflow, judge, reward), not by hand."""


class AccessNotGranted(FineTuningInputError):
    """The input names a resource this stack was not granted (another account or region, an MLflow
    resource, a model package or an evaluator outside the stack's grants)."""


class DatasetNotFound(FineTuningInputError):
    """The dataset's S3 object does not exist, or its prefix holds no records."""


class DatasetFormatMismatch(FineTuningInputError):
    """The dataset's first records are not in the format the technique (and model family) expects."""


class DatasetInvalid(FineTuningInputError):
    """Whole-dataset validation found records not in the technique's format (or no records at all);
    the message names the object key and line number of the first errors."""


class TrainingJobNameInUse(FineTuningInputError):
    """A training job of that name exists and was not created by this execution: nothing is touched."""


class BudgetExceeded(FineTuningInputError):
    """The run's estimated billable tokens are above its budget (input ``budget`` or the stack's default)."""


class SweepTooLarge(FineTuningInputError):
    """The sweep has more configurations than the stack allows (construct prop ``max_sweep_configurations``)."""


class SweepObjectiveUnavailable(FineTuningInputError):
    """The sweep's objective cannot be read: no evaluation block and no MLflow resource."""


class SweepFailed(Exception):
    """More trials of a sweep failed than it tolerates, or none produced its objective (not an input error:
    the trials ran and were billed); no model package of the sweep was approved."""


class EvaluationGateFailed(Exception):
    """The evaluated model missed the input's gate: its package was rejected (not an input error:
    the training and the evaluation ran and were billed)."""


ERROR_NAMES = sorted(
    cls.__name__ for cls in FineTuningInputError.__subclasses__()
)


def error_from_dict(data: dict[str, Any]) -> FineTuningInputError:
    """The error :meth:`FineTuningInputError.to_dict` described (a Distributed Map item reports its
    error as data, so the run still fails with the named error instead of the Map's own)."""
    kinds = {cls.__name__: cls for cls in FineTuningInputError.__subclasses__()}
    kind = kinds.get(str(data.get("error")), InvalidInput)
    return kind(str(data.get("field", "")), data.get("received"), str(data.get("expected", "")))
