"""SageMakerPublicHub test data for the unit tests: DescribeHubContent responses, hub documents
and the recipes' override-params documents, read from ``tests/fixtures/hub/`` (see its README).

The pure core's tests take their hub facts from these files, never from the offline emulator.
``{region}`` in the files stands for the region a test asks for.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

HUB = Path(__file__).parent / "fixtures" / "hub"
PUBLIC_HUB_NAME = "SageMakerPublicHub"

#: The roles the tests give the models of the data set.
DEFAULT_MODEL_ID = "huggingface-llm-qwen3-0-6b"  # small, open weights, not gated, every technique
GATED_MODEL_ID = "meta-textgeneration-llama-3-2-1b-instruct"  # gated (GatedBucket): needs accept_eula
LORA_ONLY_MODEL_ID = "openai-reasoning-gpt-oss-20b"  # no full fine-tuning, no DPO
NOVA_MODEL_ID = "nova-textgeneration-lite-v2"  # Nova: Converse datasets, its own regions


@lru_cache(maxsize=None)
def _models_text() -> str:
    return (HUB / "models.json").read_text(encoding="utf-8")


def _models(region: str) -> dict[str, Any]:
    return json.loads(_models_text().replace("{region}", region))


def model_ids() -> list[str]:
    return list(_models("us-east-1"))


def hub_document(region: str, model_id: str) -> dict[str, Any]:
    """The HubContentDocument (as a dict) of one public-hub model."""
    return _models(region)[model_id]["document"]


def describe_hub_content(region: str, model_id: str) -> dict[str, Any]:
    """A DescribeHubContent response (botocore output shape) for one public model."""
    entry = _models(region)[model_id]
    return {**entry["describe_hub_content"], "HubContentDocument": json.dumps(entry["document"])}


def _recipe_name(recipe: dict[str, Any]) -> str:
    return recipe["SmtjOverrideParamsS3Uri"].rsplit("/", 2)[-2]


def override_params(model_id: str, technique: str, peft: bool, seq: str) -> dict[str, Any]:
    """The override-params document of the model's recipe for (technique, LoRA?, sequence length)."""
    for recipe in hub_document("us-east-1", model_id)["RecipeCollection"]:
        if (recipe["CustomizationTechnique"], "Peft" in recipe, recipe["SequenceLength"]) == (technique, peft, seq):
            return json.loads((HUB / "override_params" / f"{_recipe_name(recipe)}.json").read_text(encoding="utf-8"))
    raise KeyError(f"no {technique} {'LoRA' if peft else 'full'} {seq} recipe for {model_id}")


def recipe_objects(region: str) -> dict[str, bytes]:
    """Every S3 object the hub documents point at: ``{s3_uri: body}``."""
    objects: dict[str, bytes] = {}
    for model_id in model_ids():
        for recipe in hub_document(region, model_id)["RecipeCollection"]:
            params = HUB / "override_params" / f"{_recipe_name(recipe)}.json"
            objects[recipe["SmtjOverrideParamsS3Uri"]] = json.dumps(json.loads(params.read_text(encoding="utf-8"))).encode()
            objects[recipe["SmtjRecipeTemplateS3Uri"]] = f"# recipe template of {_recipe_name(recipe)}\n".encode()
    return objects
