"""SageMakerPublicHub facts for the emulator and the tests, read from the data files beside this module.

``models.json`` and ``override_params/*.json`` are built by ``emulator/build_hub_data.py`` from
facts extracted from AWS's recipes repository and SDK v3 (see ``SOURCES.md``); this module only
shapes them into what the APIs answer: DescribeHubContent responses, hub documents (the
RecipeCollection of a region) and the recipe files in the regional JumpStart bucket. Pure: json
and pathlib only, so the unit tests of the pure core read the same facts without the emulator.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PUBLIC_HUB_NAME = "SageMakerPublicHub"
#: The regional JumpStart bucket; the recipe files' bucket is inferred (SOURCES.md).
RECIPE_BUCKET_TEMPLATE = "jumpstart-cache-prod-{region}"
#: DocumentSchemaVersion AWS's hub tooling imports models with (import_hub_content.py:136).
DOCUMENT_SCHEMA_VERSION = "2.4.0"

#: The roles the models play in the tests (every path of the workflow).
DEFAULT_MODEL_ID = "huggingface-reasoning-qwen3-06b"  # small, open weights, not gated, every technique
GATED_MODEL_ID = "meta-textgeneration-llama-3-2-1b-instruct"  # gated: needs accept_eula
FULL_AND_LORA_MODEL_ID = "openai-reasoning-gpt-oss-20b"  # LoRA and full for every technique
LORA_ONLY_MODEL_ID = "openai-reasoning-gpt-oss-120b"  # no full fine-tuning
NO_DPO_MODEL_ID = "huggingface-reasoning-nvidia-nemotron-3-nano-30b-a3b-bf16"  # SFT, RLVR, RLAIF only
NOVA_MODEL_ID = "nova-textgeneration-lite-v2"  # Nova: Converse datasets, bare-list reward contract


@lru_cache(maxsize=1)
def _models() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads((HERE / "models.json").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=None)
def override_params_by_name(recipe_name: str) -> dict[str, Any]:
    """The override-params document of a recipe (what its SmtjOverrideParamsS3Uri holds)."""
    doc = json.loads((HERE / "override_params" / f"{recipe_name}.json").read_text(encoding="utf-8"))
    params: dict[str, Any] = doc["params"]
    return params


def model_ids(region: str | None = None) -> list[str]:
    """The models of the data set; with ``region``, those the public hub offers for serverless customization there."""
    return [m for m, spec in _models().items() if region is None or _recipes(spec, region)]


def model(model_id: str) -> dict[str, Any]:
    """Everything the data set holds on one model (gated, license, regions, recipes, sources)."""
    return _models()[model_id]


def _offered_in(recipe: dict[str, Any], spec: dict[str, Any], region: str) -> bool:
    if recipe["ServerlessRegions"]:
        return region in recipe["ServerlessRegions"]
    # Nova RFT: serverless inferred (SOURCES.md): where an image exists in a region of the model.
    return region in recipe["SmtjImageUri"] and region in spec["serverless_regions"]


def _recipes(spec: dict[str, Any], region: str) -> list[dict[str, Any]]:
    return [r for r in spec["recipes"] if _offered_in(r, spec, region)]


def hub_content_arn(region: str, model_id: str, version: str | None = None) -> str:
    version = version or _models()[model_id]["version"]
    return f"arn:aws:sagemaker:{region}:aws:hub-content/{PUBLIC_HUB_NAME}/Model/{model_id}/{version}"


def recipe_uris(region: str, model_id: str, recipe_name: str) -> tuple[str, str]:
    """(SmtjRecipeTemplateS3Uri, SmtjOverrideParamsS3Uri): the key layout of AWS's hub tooling."""
    bucket, version = RECIPE_BUCKET_TEMPLATE.format(region=region), _models()[model_id]["version"]
    return (f"s3://{bucket}/recipes/{recipe_name}_payload_template_sm_jobs_{version}.yaml",
            f"s3://{bucket}/recipes/{recipe_name}_override_params_sm_jobs_{version}.json")


def _collection_entry(region: str, model_id: str, recipe: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in recipe.items() if k not in ("Source", "ServerlessRegions", "SmtjImageUri")}
    if region in recipe["SmtjImageUri"]:
        entry["SmtjImageUri"] = recipe["SmtjImageUri"][region]
    entry["SmtjRecipeTemplateS3Uri"], entry["SmtjOverrideParamsS3Uri"] = recipe_uris(region, model_id, recipe["Name"])
    return entry


def hub_document(region: str, model_id: str) -> dict[str, Any]:
    """The HubContentDocument (as a dict): GatedBucket and the region's RecipeCollection."""
    spec = _models()[model_id]
    return {
        "GatedBucket": spec["gated"],
        "RecipeCollection": [_collection_entry(region, model_id, r) for r in _recipes(spec, region)],
    }


def describe_hub_content(region: str, model_id: str) -> dict[str, Any]:
    """A DescribeHubContent response (botocore output shape) for one public model."""
    spec = _models()[model_id]
    return {
        "HubContentName": model_id,
        "HubContentArn": hub_content_arn(region, model_id),
        "HubContentVersion": spec["version"],
        "HubContentType": "Model",
        "DocumentSchemaVersion": DOCUMENT_SCHEMA_VERSION,
        "HubContentDisplayName": spec["model_name_or_path"] or model_id,
        "HubContentDocument": json.dumps(hub_document(region, model_id)),
        "HubContentSearchKeywords": list(spec["keywords"]),
        "HubName": PUBLIC_HUB_NAME,
        "HubArn": f"arn:aws:sagemaker:{region}:aws:hub/{PUBLIC_HUB_NAME}",
        "HubContentStatus": "Available",
        "CreationTime": "2026-06-23T00:00:00Z",
    }


def override_params(model_id: str, technique: str, peft: bool, seq: str) -> dict[str, Any]:
    """The override-params document of the model's recipe for (technique, LoRA?, sequence length)."""
    for recipe in _models()[model_id]["recipes"]:
        if (recipe["CustomizationTechnique"], recipe.get("Peft") == "LORA", recipe["SequenceLength"]) == (technique, peft, seq):
            return override_params_by_name(recipe["Name"])
    raise KeyError(f"no {technique} {'LoRA' if peft else 'full'} {seq} recipe for {model_id}")


def recipe_objects(region: str) -> dict[str, bytes]:
    """Every S3 object the region's hub documents point at: ``{s3_uri: body}``. The override params are
    the real documents; the recipe templates are not in the public sources (a SIMULATED stub)."""
    objects: dict[str, bytes] = {}
    for model_id in model_ids(region):
        for recipe in _recipes(_models()[model_id], region):
            template, params = recipe_uris(region, model_id, recipe["Name"])
            objects[params] = json.dumps(override_params_by_name(recipe["Name"])).encode()
            objects[template] = f"# SIMULATED recipe template of {recipe['Name']} ({recipe['RecipeFilePath']})\n".encode()
    return objects
