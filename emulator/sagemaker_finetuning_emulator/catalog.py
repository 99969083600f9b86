"""A small, realistic SageMakerPublicHub catalogue for the offline emulator and the tests.

The hub documents have the shape SageMaker Python SDK v3 reads (``GatedBucket``,
``RecipeCollection`` entries with ``CustomizationTechnique``, ``Peft``, ``SequenceLength``,
``ServerlessMeteringType``, ``SmtjRecipeTemplateS3Uri``, ``SmtjOverrideParamsS3Uri`` ...) and the
override-params documents have the ``{name: {default, type, min, max, enum}}`` shape that
``sagemaker.train.common.FineTuningOptions`` consumes.

SIMULATED: the model ids, versions and hyperparameter ranges are illustrative, not a copy of the
live hub. In AWS the workflow resolves whatever id the input names with DescribeHubContent.
"""

from __future__ import annotations

import copy
import json
from typing import Any

PUBLIC_HUB_NAME = "SageMakerPublicHub"
RECIPE_BUCKET_TEMPLATE = "jumpstart-cache-prod-{region}"

#: The default model of the app: small, open weights, not gated.
DEFAULT_MODEL_ID = "huggingface-llm-qwen3-0-6b"
GATED_MODEL_ID = "meta-textgeneration-llama-3-2-1b-instruct"
LORA_ONLY_MODEL_ID = "openai-reasoning-gpt-oss-20b"
NOVA_MODEL_ID = "nova-textgeneration-lite-v2"

_COMMON_STRIPPED = {
    # Keys the SDK removes because the request carries them elsewhere.
    "data_path": {"default": "/opt/ml/input/data/train", "type": "string"},
    "validation_data_path": {"default": "/opt/ml/input/data/validation", "type": "string"},
    "output_path": {"default": "/opt/ml/output", "type": "string"},
}


def _oss_params(technique: str, peft: bool, seq_tokens: int) -> dict[str, dict[str, Any]]:
    p: dict[str, dict[str, Any]] = dict(copy.deepcopy(_COMMON_STRIPPED))
    p["global_batch_size"] = {"default": 64, "type": "integer", "min": 1, "max": 512}
    p["max_epochs"] = {"default": 2 if technique in ("SFT", "DPO") else 1, "type": "integer", "min": 1, "max": 20}
    p["learning_rate"] = {
        "default": (1e-4 if peft else 1e-5) if technique in ("SFT", "DPO") else 1e-6,
        "type": "float",
        "min": 1e-7,
        "max": 1e-3,
    }
    if technique in ("SFT", "DPO"):
        p["lr_warmup_steps_ratio"] = {"default": 0.1, "type": "float", "min": 0.0, "max": 0.5}
        p["dataset_max_len"] = {"default": seq_tokens, "type": "integer", "min": 256, "max": seq_tokens}
    if technique == "DPO":
        p["adam_beta"] = {"default": 0.1, "type": "float", "min": 0.01, "max": 1.0}
    if peft:
        p["lora_rank"] = {"default": 16, "type": "integer", "enum": [8, 16, 32, 64]}
        p["lora_alpha"] = {"default": 32, "type": "integer", "min": 1, "max": 256}
    if technique in ("RLVR", "RLAIF"):
        p["max_prompt_length"] = {"default": seq_tokens // 4, "type": "integer", "min": 128, "max": seq_tokens}
        p["max_response_length"] = {"default": seq_tokens // 2, "type": "integer", "min": 128, "max": seq_tokens}
        p["rollout_n"] = {"default": 4, "type": "integer", "min": 1, "max": 16}
        p["kl_coef"] = {"default": 0.001, "type": "float", "min": 0.0, "max": 1.0}
    if technique == "RLVR":
        p["reward_lambda_arn"] = {"default": "", "type": "string"}
        p["preset_reward_function"] = {"type": "string", "enum": ["prime_code", "prime_math", "gsm8k"]}
    if technique == "RLAIF":
        p["judge_model_id"] = {"default": "bedrock/openai.gpt-oss-120b-1:0", "type": "string"}
        p["judge_prompt_template"] = {
            "default": "/opt/ml/code/verl/prompts/summarize.jinja",
            "type": "string",
            "enum": [
                "/opt/ml/code/verl/prompts/summarize.jinja",
                "/opt/ml/code/verl/prompts/faithfulness.jinja",
                "/opt/ml/code/verl/prompts/chainofthought.jinja",
                "/opt/ml/code/verl/prompts/evaluation.jinja",
            ],
        }
    return p


def _nova_params(technique: str, peft: bool) -> dict[str, dict[str, Any]]:
    # Nova recipes have no max_epochs / lr_warmup_steps_ratio (SDK v3 and the plugin omit them).
    p: dict[str, dict[str, Any]] = dict(copy.deepcopy(_COMMON_STRIPPED))
    p["global_batch_size"] = {"default": 64, "type": "integer", "enum": [32, 64, 128]}
    p["max_steps"] = {"default": 100, "type": "integer", "min": 1, "max": 10000}
    p["learning_rate"] = {"default": 5e-5 if peft else 1e-5, "type": "float", "min": 1e-7, "max": 1e-3}
    if technique == "RLVR":
        p["learning_rate"]["default"] = 1e-7
        p["reward_lambda_arn"] = {"default": "", "type": "string"}
        p["number_generation"] = {"default": 2, "type": "integer", "min": 1, "max": 8}
    if peft:
        p["lora_rank"] = {"default": 32, "type": "integer", "enum": [16, 32, 64]}
    return p


# model id -> (version, gated, is_nova, {(technique, peft?): [sequence lengths]})
_MODELS: dict[str, dict[str, Any]] = {
    DEFAULT_MODEL_ID: {
        "version": "1.2.0",
        "display": "Qwen3 0.6B",
        "gated": False,
        "recipes": {
            ("SFT", True): ["4K", "8K"],
            ("SFT", False): ["4K"],
            ("DPO", True): ["4K"],
            ("DPO", False): ["4K"],
            ("RLVR", True): ["4K"],
            ("RLVR", False): ["4K"],
            ("RLAIF", True): ["4K"],
            ("RLAIF", False): ["4K"],
        },
    },
    GATED_MODEL_ID: {
        "version": "2.1.0",
        "display": "Llama 3.2 1B Instruct",
        "gated": True,
        "recipes": {
            ("SFT", True): ["8K"],
            ("SFT", False): ["8K"],
            ("DPO", True): ["8K"],
            ("RLVR", True): ["8K"],
            ("RLAIF", True): ["8K"],
        },
    },
    LORA_ONLY_MODEL_ID: {
        "version": "1.0.3",
        "display": "gpt-oss-20b",
        "gated": False,
        "recipes": {
            ("SFT", True): ["16K"],
            ("RLVR", True): ["16K"],
            ("RLAIF", True): ["16K"],
        },
    },
    NOVA_MODEL_ID: {
        "version": "1.0.0",
        "display": "Amazon Nova 2 Lite",
        "gated": False,
        "nova": True,
        "recipes": {
            ("SFT", True): ["32K"],
            ("SFT", False): ["32K"],
            ("DPO", True): ["32K"],
            ("RLVR", True): ["32K"],
        },
    },
}


def _recipe_name(model_id: str, technique: str, peft: bool, seq: str) -> str:
    return f"{model_id}-{technique.lower()}-{'lora' if peft else 'fft'}-{seq.lower()}"


def _recipe_uris(region: str, name: str) -> tuple[str, str]:
    bucket = RECIPE_BUCKET_TEMPLATE.format(region=region)
    return (
        f"s3://{bucket}/recipes/{name}/smtj_recipe_template.yaml",
        f"s3://{bucket}/recipes/{name}/smtj_override_params.json",
    )


def model_ids() -> list[str]:
    return list(_MODELS)


def hub_content_arn(region: str, model_id: str, version: str | None = None) -> str:
    version = version or _MODELS[model_id]["version"]
    return f"arn:aws:sagemaker:{region}:aws:hub-content/{PUBLIC_HUB_NAME}/Model/{model_id}/{version}"


def hub_document(region: str, model_id: str) -> dict[str, Any]:
    """The HubContentDocument (as a dict) of one public-hub model."""
    spec = _MODELS[model_id]
    recipes = []
    for (technique, peft), seqs in spec["recipes"].items():
        for seq in seqs:
            name = _recipe_name(model_id, technique, peft, seq)
            template_uri, params_uri = _recipe_uris(region, name)
            entry: dict[str, Any] = {
                "Name": name,
                "DisplayName": f"{spec['display']} {technique} {'LoRA' if peft else 'full'} {seq}",
                "Type": "FineTuning",
                "CustomizationTechnique": technique,
                "SequenceLength": seq,
                "ServerlessMeteringType": "Token",
                "IsSubscriptionModel": False,
                "SmtjRecipeTemplateS3Uri": template_uri,
                "SmtjOverrideParamsS3Uri": params_uri,
                "SmtjImageUri": f"123456789012.dkr.ecr.{region}.amazonaws.com/sagemaker-llm-customization:latest",
            }
            if peft:
                entry["Peft"] = "LORA"
            recipes.append(entry)
    doc: dict[str, Any] = {
        "Url": f"https://huggingface.co/{model_id}",
        "MinSdkVersion": "3.0.0",
        "TrainingSupported": True,
        "GatedBucket": spec["gated"],
        "RecipeCollection": recipes,
    }
    if spec["gated"]:
        doc["HostingEulaUri"] = f"s3://{RECIPE_BUCKET_TEMPLATE.format(region=region)}/fmhMetadata/eula/llama3_2Eula.txt"
    return doc


def override_params(model_id: str, technique: str, peft: bool, seq: str) -> dict[str, Any]:
    spec = _MODELS[model_id]
    if spec.get("nova"):
        return _nova_params(technique, peft)
    return _oss_params(technique, peft, int(seq[:-1]) * 1024)


def describe_hub_content(region: str, model_id: str) -> dict[str, Any]:
    """A DescribeHubContent response (botocore output shape) for one public model."""
    spec = _MODELS[model_id]
    return {
        "HubContentName": model_id,
        "HubContentArn": hub_content_arn(region, model_id),
        "HubContentVersion": spec["version"],
        "HubContentType": "Model",
        "DocumentSchemaVersion": "2.0.0",
        "HubContentDisplayName": spec["display"],
        "HubContentDescription": f"{spec['display']} (simulated catalogue entry)",
        "HubContentDocument": json.dumps(hub_document(region, model_id)),
        "HubContentSearchKeywords": ["@capability:fine-tuning"],
        "HubName": PUBLIC_HUB_NAME,
        "HubArn": f"arn:aws:sagemaker:{region}:aws:hub/{PUBLIC_HUB_NAME}",
        "HubContentStatus": "Available",
        "CreationTime": "2026-01-01T00:00:00Z",
    }


def recipe_objects(region: str) -> dict[str, bytes]:
    """Every S3 object the hub documents point at: ``{s3_uri: body}``."""
    objects: dict[str, bytes] = {}
    for model_id, spec in _MODELS.items():
        for (technique, peft), seqs in spec["recipes"].items():
            for seq in seqs:
                name = _recipe_name(model_id, technique, peft, seq)
                template_uri, params_uri = _recipe_uris(region, name)
                objects[params_uri] = json.dumps(override_params(model_id, technique, peft, seq)).encode()
                objects[template_uri] = (
                    f"# simulated recipe template for {name}\nrun:\n  name: {name}\n".encode()
                )
    return objects
