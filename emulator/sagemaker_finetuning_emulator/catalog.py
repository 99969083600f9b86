"""The offline emulator's SageMakerPublicHub catalogue: the real models of ``hub_data``.

Everything is read from the data files built from AWS's recipes repository and SDK v3 (see
``hub_data/SOURCES.md``); this module is the name the emulator's patches use for them.
"""

from __future__ import annotations

from sagemaker_finetuning_emulator.hub_data import (
    DEFAULT_MODEL_ID,
    FULL_AND_LORA_MODEL_ID,
    GATED_MODEL_ID,
    LORA_ONLY_MODEL_ID,
    NO_DPO_MODEL_ID,
    NOVA_MODEL_ID,
    PUBLIC_HUB_NAME,
    RECIPE_BUCKET_TEMPLATE,
    describe_hub_content,
    hub_content_arn,
    hub_document,
    model_ids,
    override_params,
    recipe_objects,
)

__all__ = [
    "DEFAULT_MODEL_ID", "FULL_AND_LORA_MODEL_ID", "GATED_MODEL_ID", "LORA_ONLY_MODEL_ID", "NO_DPO_MODEL_ID", "NOVA_MODEL_ID",
    "PUBLIC_HUB_NAME", "RECIPE_BUCKET_TEMPLATE", "describe_hub_content", "hub_content_arn", "hub_document", "model_ids",
    "override_params", "recipe_objects",
]
