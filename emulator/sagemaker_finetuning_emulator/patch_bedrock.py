"""Amazon Bedrock ``GetFoundationModel`` over a small SIMULATED foundation-model catalogue.

moto 5.2.5's Bedrock has model customization jobs, custom models and logging, but no foundation
models: ``GetFoundationModel`` reaches ``BedrockResponse`` without a method and the server answers
``NotImplementedError`` (HTTP 500). ``finetune doctor`` asks it whether the stack's RLAIF judge
is offered in the region.

The catalogue holds the judge models SageMaker AI serverless RLAIF accepts (SDK v3's
``_ALLOWED_REWARD_MODEL_IDS``, with the regions that offer them). A judge can be removed (and
restored) through the control API, to exercise "judge not available". Identifiers are checked
against botocore's model first (``ValidationException`` with the AWS message format); an unknown
but well-formed one gets ``ValidationException: The provided model identifier is invalid.`` (the
message AWS gives for such ids; the catalogue in it is SIMULATED).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.runtime import RUNTIME, SIMULATED
from sagemaker_finetuning_emulator.validation import validation_errors, validation_message

_patching.require("moto.bedrock.responses:BedrockResponse")
_patching.require("moto.bedrock.exceptions:BedrockClientError")

_MAJOR = ("us-east-1", "us-west-2", "ap-northeast-1", "eu-west-1")
#: model id -> (provider, name, regions). SIMULATED copy of the judges serverless RLAIF accepts.
FOUNDATION_MODELS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "openai.gpt-oss-120b-1:0": ("OpenAI", "gpt-oss-120b", _MAJOR),
    "openai.gpt-oss-20b-1:0": ("OpenAI", "gpt-oss-20b", _MAJOR),
    "qwen.qwen3-32b-v1:0": ("Qwen", "Qwen3 32B (dense)", _MAJOR),
    "qwen.qwen3-coder-30b-a3b-v1:0": ("Qwen", "Qwen3 Coder 30B A3B Instruct", _MAJOR),
    "qwen.qwen3-coder-480b-a35b-v1:0": ("Qwen", "Qwen3 Coder 480B A35B Instruct", ("us-west-2", "ap-northeast-1")),
    "qwen.qwen3-235b-a22b-2507-v1:0": ("Qwen", "Qwen3 235B A22B 2507", ("us-west-2", "ap-northeast-1")),
}

_lock = threading.Lock()
_removed: set[str] = set()


def remove_model(model_id: str) -> bool:
    """Hide ``model_id`` from GetFoundationModel (until :func:`restore_model` or a reset)."""
    with _lock:
        known = model_id in FOUNDATION_MODELS
        _removed.add(model_id)
    return known


def restore_model(model_id: str) -> None:
    with _lock:
        _removed.discard(model_id)


def removed_models() -> list[str]:
    with _lock:
        return sorted(_removed)


def _reset() -> None:
    with _lock:
        _removed.clear()


def model_details(model_id: str, region: str) -> dict[str, Any] | None:
    """GetFoundationModel's ``modelDetails`` for ``model_id`` in ``region`` (None: not offered)."""
    entry = FOUNDATION_MODELS.get(model_id)
    with _lock:
        hidden = model_id in _removed
    if entry is None or hidden or region not in entry[2]:
        return None
    provider, name, _ = entry
    return {
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": name,
        "providerName": provider,
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": "ACTIVE"},
    }


def _validation_exception(message: str) -> Exception:
    from moto.bedrock.exceptions import BedrockClientError

    return BedrockClientError("ValidationException", message)


def get_foundation_model_response(self: Any) -> str:
    """``GET /foundation-models/{modelIdentifier}``: a model id or a foundation-model ARN."""
    identifier = unquote(self.path.split("/foundation-models/", 1)[-1]).strip("/")
    errors = validation_errors("bedrock", "GetFoundationModel", {"modelIdentifier": identifier})
    if errors:
        raise _validation_exception(validation_message(errors))
    model_id = identifier.split(":foundation-model/", 1)[-1]
    details = model_details(model_id, self.region)
    if details is None:
        offered = ", ".join(m for m in FOUNDATION_MODELS if model_details(m, self.region)) or "none"
        raise _validation_exception(f"The provided model identifier is invalid. ({SIMULATED} catalogue in {self.region}: {offered})")
    return json.dumps({"modelDetails": details})


def apply() -> None:
    """Add ``get_foundation_model`` to ``BedrockResponse``.

    moto: no foundation models at all (``NotImplementedError``, HTTP 500).
    AWS: describes a foundation model offered in the region (provider, modalities, lifecycle).
    """
    get_foundation_model_response.__name__ = "get_foundation_model"
    _patching.replace("moto.bedrock.responses:BedrockResponse.get_foundation_model", get_foundation_model_response,
                      "Bedrock: GetFoundationModel over a SIMULATED judge catalogue", add=True)
    RUNTIME.reset_hooks.append(_reset)
