"""Hub-content evaluators exactly as SDK v3 ``Evaluator.create`` registers them (pure).

Mirrors ``sagemaker/ai_registry/{evaluator,air_hub,air_utils,utils}.py`` (sagemaker-train 1.27.0):
the account's private "AI Registry" hub, a ``JsonDoc`` hub content whose document is
``{"SubType": "AWS/Evaluator", "JsonContent": "<json string>"}``, search keywords, and versions
bumped by one major version per import.

One deliberate addition to SDK v3's request: the library's custom resource tags every version it
imports with the CloudFormation stack and logical id of that resource (``owner_tags``), so a stack
delete, a replacement or a rollback removes only the versions that resource imported.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

REWARD_FUNCTION = "RewardFunction"
REWARD_PROMPT = "RewardPrompt"
HUB_CONTENT_TYPE = "JsonDoc"
SUBTYPE = "AWS/Evaluator"
DOCUMENT_SCHEMA_VERSION = "2.0.0"
DEFAULT_VERSION = "1.0.0"
_BASE32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
#: finetune_utils._validate_evaluator_arn (any aws partition): a JsonDoc hub content, versioned.
EVALUATOR_ARN_PATTERN = r"arn:aws[a-z\-]*:sagemaker:[^:]+:[0-9]{12}:hub-content/[^/]+/JsonDoc/[^/]+/[0-9.]+"
EVALUATOR_ARN = re.compile(EVALUATOR_ARN_PATTERN)
#: The plugin's evaluator naming rule (1-20 characters).
EVALUATOR_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,19}$")
#: Tags on each hub-content version the custom resource imports: which resource owns that version.
OWNER_STACK_TAG = "sagemaker-finetuning:cfn-stack-id"
OWNER_RESOURCE_TAG = "sagemaker-finetuning:cfn-logical-id"
_LISTED_VERSIONS = 5


def _base32hex(data: bytes) -> str:
    """``sagemaker.ai_registry.utils.base32_encode`` without padding (RFC 4648 base32hex)."""
    out, bits, value = [], 0, 0
    for byte in data:
        value = (value << 8) | byte
        bits += 8
        while bits >= 5:
            out.append(_BASE32HEX[(value >> (bits - 5)) & 31])
            bits -= 5
    if bits > 0:
        out.append(_BASE32HEX[(value << (5 - bits)) & 31])
    return "".join(out)


def ai_registry_hub(region: str, account: str) -> tuple[str, str]:
    """(HubName, HubDisplayName) of the account's AI Registry hub in a region."""
    display = f"AiRegistry-{region}-{account}"
    return _base32hex(hashlib.sha256(display.encode()).digest()), display


def create_hub_request(region: str, account: str) -> dict[str, Any]:
    name, display = ai_registry_hub(region, account)
    return {"HubName": name, "HubDisplayName": display, "HubDescription": "AI Registry Hub"}


def document(evaluator_type: str, reference: str) -> str:
    if evaluator_type not in (REWARD_FUNCTION, REWARD_PROMPT):
        raise ValueError(f"evaluator type {evaluator_type!r} is not RewardFunction or RewardPrompt")
    content = {"Reference": reference, "EvaluatorType": evaluator_type}
    return json.dumps({"SubType": SUBTYPE, "JsonContent": json.dumps(content)})


def search_keywords(evaluator_type: str, reference: str) -> list[str]:
    content_type = "BYOLambda" if reference.startswith("arn:aws:lambda:") else "BYOCode"
    keywords = [
        f"@subtype:{SUBTYPE.lower()}",
        f"@evaluatortype:{evaluator_type.lower()}",
        f"@contenttype:{content_type.lower()}",
    ]
    if evaluator_type == REWARD_FUNCTION:
        keywords.insert(0, "method:lambda")
    return keywords


def next_version(current: str | None) -> str:
    """``air_utils._determine_new_version``: 1.0.0 first, then the next major version."""
    if not current:
        return DEFAULT_VERSION
    return f"{int(current.split('.')[0]) + 1}.0.0"


def owner_tags(stack_id: str, logical_id: str) -> list[dict[str, str]]:
    """The tags that mark a version as imported by one custom resource (stack id + logical id)."""
    return [{"Key": OWNER_STACK_TAG, "Value": stack_id}, {"Key": OWNER_RESOURCE_TAG, "Value": logical_id}]


def is_owned(tags: list[dict[str, str]], stack_id: str, logical_id: str) -> bool:
    """True when ``tags`` (ListTags of one version) carry exactly this resource's owner tags."""
    values = {tag.get("Key"): tag.get("Value") for tag in tags}
    return values.get(OWNER_STACK_TAG) == stack_id and values.get(OWNER_RESOURCE_TAG) == logical_id


def foreign_content_message(name: str, hub_name: str, versions: list[str]) -> str:
    """Why a custom resource refuses an evaluator name it did not register, and how to resolve it."""
    shown = ", ".join(versions[:_LISTED_VERSIONS]) + (f" and {len(versions) - _LISTED_VERSIONS} more" if len(versions) > _LISTED_VERSIONS else "")
    return (
        f"evaluator name {name!r} already exists in the AI Registry hub {hub_name} (JsonDoc versions {shown}), "
        "registered by someone else (SDK v3 Evaluator.create, another stack or resource). This resource does not "
        "take over hub content it did not create: choose another evaluator_name, or set adopt_existing=True on the "
        "HubEvaluator (adopt_existing_evaluator=True on a RewardFunction or JudgePrompt) to add versions to it "
        "(deleting the resource then removes only the versions it imported)."
    )


def import_request(
    hub_name: str, name: str, evaluator_type: str, reference: str, version: str,
    description: str | None = None, tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "HubName": hub_name,
        "HubContentType": HUB_CONTENT_TYPE,
        "HubContentName": name,
        "HubContentVersion": version,
        "DocumentSchemaVersion": DOCUMENT_SCHEMA_VERSION,
        "HubContentDocument": document(evaluator_type, reference),
        "HubContentSearchKeywords": search_keywords(evaluator_type, reference),
    }
    if description:
        request["HubContentDescription"] = description
    if tags:
        request["Tags"] = [dict(tag) for tag in tags]
    return request


def reference_of(describe_hub_content: dict[str, Any]) -> str:
    """The Lambda ARN / S3 URI an evaluator refers to (finetune_utils._get_lambda_arn_from_evaluator_arn)."""
    doc = json.loads(describe_hub_content["HubContentDocument"])
    return str(json.loads(doc.get("JsonContent", "{}")).get("Reference", ""))


def parse_hub_content_arn(arn: str) -> dict[str, str]:
    """``arn:...:hub-content/<hub>/<type>/<name>[/<version>]`` -> DescribeHubContent arguments."""
    try:
        parts = arn.split(":", 5)[5].split("/")
        request = {"HubName": parts[1], "HubContentType": parts[2], "HubContentName": parts[3]}
    except IndexError as exc:
        raise ValueError(f"{arn!r} is not a hub-content ARN") from exc
    if len(parts) > 4 and parts[4]:
        request["HubContentVersion"] = parts[4]
    return request
