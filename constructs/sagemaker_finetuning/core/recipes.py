"""Recipe selection and hyperparameters, as SageMaker Python SDK v3 derives them (pure).

Mirrors ``finetune_utils._get_fine_tuning_options_and_model_arn``,
``_select_recipe_by_training_type`` and ``sagemaker.train.common.FineTuningOptions``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from sagemaker_finetuning.core.constants import HYPERPARAMETER_VALUE_PATTERN
from sagemaker_finetuning.core.errors import (
    HyperparameterOutOfRange,
    SequenceLengthNotOffered,
    UnknownHyperparameter,
    UnsupportedTechnique,
    UnsupportedTrainingType,
)

RECIPE_TEMPLATE_KEY = "SmtjRecipeTemplateS3Uri"
OVERRIDE_PARAMS_KEY = "SmtjOverrideParamsS3Uri"
_VALUE_RE = re.compile(HYPERPARAMETER_VALUE_PATTERN)
#: CreateTrainingJob HyperParameters: values of at most 2500 characters.
MAX_HYPERPARAMETER_VALUE = 2500


def parse_sequence_length(value: str | None) -> int:
    """``"8K"`` -> 8192 (finetune_utils._parse_sequence_length); 0 for empty."""
    if not value:
        return 0
    text = str(value).strip().upper()
    if not text.endswith("K") or not text[:-1].isdigit():
        raise ValueError(f"sequence length {value!r} is not of the form <n>K")
    return int(text[:-1]) * 1024


def offered(recipes: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """``{technique: {"LORA"|"FULL": [sequence lengths]}}`` over serverless (SMTJ) recipes."""
    table: dict[str, dict[str, list[str]]] = {}
    for r in recipes:
        if not r.get(RECIPE_TEMPLATE_KEY):
            continue
        kind = "LORA" if r.get("Peft") else "FULL"
        seqs = table.setdefault(r.get("CustomizationTechnique", "?"), {}).setdefault(kind, [])
        if r.get("SequenceLength") and r["SequenceLength"] not in seqs:
            seqs.append(r["SequenceLength"])
    return table


def select_recipe(
    recipes: list[dict[str, Any]],
    model_id: str,
    technique: str,
    training_type: str,
    sequence_length: str | None = None,
) -> dict[str, Any]:
    """The recipe SDK v3 would pick, or a typed error naming what the model does offer."""
    matching = [r for r in recipes if r.get("CustomizationTechnique") == technique]
    with_template = [r for r in matching if r.get(RECIPE_TEMPLATE_KEY)]
    table = offered(recipes)
    if not with_template:
        raise UnsupportedTechnique(
            "technique", technique,
            f"a technique model {model_id!r} offers on serverless: {', '.join(sorted(table)) or 'none'}",
        )
    if sequence_length:
        requested = parse_sequence_length(sequence_length)
        with_seq = [r for r in with_template if r.get("SequenceLength")]
        exact = [r for r in with_seq if parse_sequence_length(r["SequenceLength"]) == requested]
        if not exact:
            available = sorted({r["SequenceLength"] for r in with_seq}, key=parse_sequence_length)
            raise SequenceLengthNotOffered(
                "sequence_length", sequence_length,
                f"one of {', '.join(available) or 'none'} for {technique} on {model_id!r}",
            )
        with_template = exact
    recipe = _by_training_type(with_template, training_type)
    if recipe is None:
        kinds = sorted(table.get(technique, {}))
        raise UnsupportedTrainingType(
            "training_type", training_type,
            f"one of {', '.join(kinds)} (what model {model_id!r} offers for {technique})",
        )
    return recipe


def _by_training_type(recipes: list[dict[str, Any]], training_type: str) -> dict[str, Any] | None:
    want_peft = training_type == "LORA"
    candidates = [r for r in recipes if bool(r.get("Peft")) == want_peft]
    return next((r for r in candidates if not r.get("IsSubscriptionModel")), None) or next(
        iter(candidates), None
    )


def default_values(override_params: dict[str, Any], stripped: Iterable[str]) -> dict[str, Any]:
    """The recipe defaults (FineTuningOptions), minus the keys the request carries elsewhere."""
    drop = set(stripped)
    return {
        k: (spec.get("default") if isinstance(spec, dict) else spec)
        for k, spec in override_params.items()
        if k not in drop
    }


def check_override(name: str, value: Any, specs: dict[str, Any]) -> Any:
    """Validate one user override against the recipe spec (FineTuningOptions._validate_value)."""
    field = f"hyperparameters.{name}"
    if name not in specs:
        raise UnknownHyperparameter(field, value, f"one of the recipe's hyperparameters: {', '.join(sorted(specs))}")
    spec = specs[name]
    if not isinstance(spec, dict):
        return value
    kind = spec.get("type")
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value))):
        raise HyperparameterOutOfRange(field, value, "a number")
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise HyperparameterOutOfRange(field, value, "an integer")
    if kind == "string" and not isinstance(value, str):
        raise HyperparameterOutOfRange(field, value, "a string")
    if "enum" in spec and value not in spec["enum"]:
        raise HyperparameterOutOfRange(field, value, f"one of {spec['enum']}")
    if "min" in spec and value < spec["min"]:
        raise HyperparameterOutOfRange(field, value, f"a value >= {spec['min']} (recipe range {spec['min']}..{spec.get('max', 'inf')})")
    if "max" in spec and value > spec["max"]:
        raise HyperparameterOutOfRange(field, value, f"a value <= {spec['max']} (recipe range {spec.get('min', '-inf')}..{spec['max']})")
    return value


def check_length_constraints(values: dict[str, Any], recipe: dict[str, Any]) -> None:
    """FineTuningOptions.validate_length_constraints: lengths must fit the recipe's sequence length."""
    ceiling = parse_sequence_length(recipe.get("SequenceLength"))
    if not ceiling:
        return
    prompt, response = values.get("max_prompt_length"), values.get("max_response_length")
    if prompt is not None and response is not None and prompt + response > ceiling:
        raise HyperparameterOutOfRange(
            "hyperparameters.max_prompt_length + max_response_length", prompt + response,
            f"at most {ceiling} (the recipe's sequence length {recipe.get('SequenceLength')})",
        )
    length = values.get("dataset_max_len")
    if length is not None and length > ceiling:
        raise HyperparameterOutOfRange(
            "hyperparameters.dataset_max_len", length,
            f"at most {ceiling} (the recipe's sequence length {recipe.get('SequenceLength')})",
        )


def to_request_values(values: dict[str, Any]) -> dict[str, str]:
    """FineTuningOptions.to_dict: str() of every non-None value, checked like the SDK does."""
    out = {k: str(v) for k, v in values.items() if v is not None}
    for k, v in out.items():
        if len(v) > MAX_HYPERPARAMETER_VALUE:
            raise HyperparameterOutOfRange(f"hyperparameters.{k}", v, f"a value of at most {MAX_HYPERPARAMETER_VALUE} characters")
        if not _VALUE_RE.match(v):
            raise HyperparameterOutOfRange(
                f"hyperparameters.{k}", v,
                "only letters, digits, spaces and / _ . : , - ' \" [ ] characters",
            )
    return out
