"""CloudFormation custom resource: a SageMaker Hub evaluator (RewardFunction or RewardPrompt).

Create imports version 1.0.0 into the account's AI Registry hub (creating the hub if needed),
Update imports the next major version, as SDK v3 ``Evaluator.create`` does. The physical id is the
hub content name, so an update keeps the resource and adds a version; a new name is a replacement
(CloudFormation then sends Delete for the old name).

Ownership: every imported version is tagged with the stack id and logical id of this resource (both
are in every request, so the stateless function needs no memory). Delete - a stack delete, the
cleanup of a replaced name, a rollback, a retry - removes only the versions carrying exactly those
tags; versions registered by others (SDK v3, another stack) stay. A name that already exists with
no version of this resource is refused (FAILED, with how to resolve it) unless the resource has
``AdoptExisting``.

Stdlib + boto3 only; speaks the custom-resource protocol itself (no CDK provider framework), so
the offline emulator runs this very code.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from typing import Any

import boto3
from botocore.exceptions import ClientError

from sagemaker_finetuning.core import evaluators as ev

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
_WAIT_SECONDS = 120
_NOT_FOUND = ("ResourceNotFound", "ResourceNotFoundException")
Owner = tuple[str, str]  # (StackId, LogicalResourceId) of the custom resource


class ForeignHubContent(Exception):
    """The evaluator name exists in the hub and no version of it belongs to this resource."""


def _send(event: dict[str, Any], context: Any, status: str, physical_id: str, data: dict[str, Any], reason: str = "") -> None:
    body = json.dumps({
        "Status": status,
        "Reason": (reason or f"See CloudWatch log stream {getattr(context, 'log_stream_name', '')}")[:3000],
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": data,
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (pre-signed URL given by CloudFormation)
        LOG.info("custom resource response: %s", response.status)


def _ensure_hub(sm: Any, region: str, account: str) -> str:
    req = ev.create_hub_request(region, account)
    try:
        sm.describe_hub(HubName=req["HubName"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _NOT_FOUND:
            raise
        sm.create_hub(**req)
    return str(req["HubName"])


def _latest_version(sm: Any, hub: str, name: str) -> str | None:
    try:
        version: str = sm.describe_hub_content(HubName=hub, HubContentType=ev.HUB_CONTENT_TYPE, HubContentName=name)["HubContentVersion"]
        return version
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _NOT_FOUND:
            raise
        return None


def _versions(sm: Any, hub: str, name: str) -> list[dict[str, Any]]:
    """Every version of the hub content ``name`` (none when it or the hub does not exist)."""
    summaries: list[dict[str, Any]] = []
    request: dict[str, Any] = {"HubName": hub, "HubContentType": ev.HUB_CONTENT_TYPE, "HubContentName": name}
    while True:
        try:
            page = sm.list_hub_content_versions(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _NOT_FOUND:
                raise
            return summaries
        summaries.extend(page.get("HubContentSummaries", []))
        if not page.get("NextToken"):
            return summaries
        request["NextToken"] = page["NextToken"]


def _is_owned(sm: Any, version_arn: str, owner: Owner) -> bool:
    tags: list[dict[str, str]] = []
    try:
        for page in sm.get_paginator("list_tags").paginate(ResourceArn=version_arn):
            tags.extend(page.get("Tags", []))
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _NOT_FOUND:
            raise
        return False  # deleted meanwhile
    return ev.is_owned(tags, *owner)


def _refuse_foreign(sm: Any, hub: str, name: str, owner: Owner) -> None:
    """Fail unless at least one version of ``name`` was imported by this resource (a retry, a rollback)."""
    summaries = _versions(sm, hub, name)
    if summaries and not any(_is_owned(sm, s["HubContentArn"], owner) for s in summaries):
        raise ForeignHubContent(ev.foreign_content_message(name, hub, [s["HubContentVersion"] for s in summaries]))


def _wait_available(sm: Any, hub: str, name: str, version: str) -> dict[str, Any]:
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        desc: dict[str, Any] = sm.describe_hub_content(HubName=hub, HubContentType=ev.HUB_CONTENT_TYPE, HubContentName=name, HubContentVersion=version)
        status = desc.get("HubContentStatus", "Available")
        if status == "Available":
            return desc
        if status in ("ImportFailed", "DeleteFailed") or time.monotonic() > deadline:
            raise RuntimeError(f"hub content {name} {version} is {status}: {desc.get('FailureReason', '')}")
        time.sleep(2)


def upload_prompt(props: dict[str, Any]) -> str:
    """RewardPrompt with inline text: write it to the bucket first; the evaluator refers to it."""
    bucket, key = props["PromptBucket"], props["PromptKey"]
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=props["PromptText"].encode("utf-8"), ContentType="text/plain")
    return f"s3://{bucket}/{key}"


def _adopts(props: dict[str, Any]) -> bool:
    """``AdoptExisting`` (CloudFormation passes booleans of custom resources as strings)."""
    return str(props.get("AdoptExisting", "false")).lower() == "true"


def register(sm: Any, props: dict[str, Any], region: str, account: str, owner: Owner, new_name: bool = True) -> dict[str, str]:
    """Import the next version of the evaluator, tagged as this resource's.

    ``new_name``: the resource takes this name now (Create, or an Update that renames), so an
    existing content of that name must be its own (or ``AdoptExisting`` must be set).
    """
    hub = _ensure_hub(sm, region, account)
    name = props["EvaluatorName"]
    latest = _latest_version(sm, hub, name)
    if latest is not None and new_name and not _adopts(props):
        _refuse_foreign(sm, hub, name, owner)
    if "PromptText" in props:
        props = {**props, "Reference": upload_prompt(props)}
    version = ev.next_version(latest)
    sm.import_hub_content(**ev.import_request(
        hub, name, props["EvaluatorType"], props["Reference"], version, props.get("Description"), tags=ev.owner_tags(*owner),
    ))
    desc = _wait_available(sm, hub, name, version)
    return {
        "Reference": props["Reference"],
        "EvaluatorArn": desc["HubContentArn"],
        "HubName": hub,
        "HubContentName": name,
        "HubContentVersion": version,
    }


def deregister(sm: Any, region: str, account: str, name: str, owner: Owner) -> list[dict[str, Any]]:
    """Delete the versions of ``name`` this resource imported; returns the versions that remain."""
    hub, _ = ev.ai_registry_hub(region, account)
    remaining: list[dict[str, Any]] = []
    owned: list[dict[str, Any]] = []
    failures: list[str] = []
    for summary in _versions(sm, hub, name):
        (owned if _is_owned(sm, summary["HubContentArn"], owner) else remaining).append(summary)
    for summary in owned:
        try:
            sm.delete_hub_content(HubName=hub, HubContentType=ev.HUB_CONTENT_TYPE, HubContentName=name, HubContentVersion=summary["HubContentVersion"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _NOT_FOUND:  # gone already: a retried Delete
                failures.append(f"{summary['HubContentVersion']} ({exc.response['Error']['Code']})")
    if failures:
        raise RuntimeError(f"could not delete versions {', '.join(failures)} of hub content {name} in hub {hub}")
    LOG.info("kept %d version(s) of %s that this resource did not import", len(remaining), name)
    return remaining


def delete_prompt(sm: Any, props: dict[str, Any], remaining: list[dict[str, Any]]) -> None:
    """Delete the prompt file this resource wrote, unless a version it did not import refers to it."""
    uri = f"s3://{props['PromptBucket']}/{props['PromptKey']}"
    for summary in remaining:
        request = ev.parse_hub_content_arn(summary["HubContentArn"])
        if ev.reference_of(sm.describe_hub_content(**request)) == uri:
            LOG.info("kept %s: version %s refers to it", uri, summary["HubContentVersion"])
            return
    try:
        boto3.client("s3").delete_object(Bucket=props["PromptBucket"], Key=props["PromptKey"])
    except ClientError as exc:  # a retained bucket may already be gone
        LOG.warning("could not delete the prompt file: %s", exc)


def handler(event: dict[str, Any], context: Any) -> None:
    LOG.info("request %s for %s", event.get("RequestType"), event.get("LogicalResourceId"))
    props = event.get("ResourceProperties", {})
    physical_id = event.get("PhysicalResourceId") or props.get("EvaluatorName", "evaluator")
    try:
        arn_parts = event["ServiceToken"].split(":")
        region, account = arn_parts[3], arn_parts[4]
        owner: Owner = (event["StackId"], event["LogicalResourceId"])
        sm = boto3.client("sagemaker", region_name=region)
        if event["RequestType"] in ("Create", "Update"):
            name = props["EvaluatorName"]
            # Create, or an Update that renames (CloudFormation then sends Delete for the old name)
            new_name = event["RequestType"] == "Create" or physical_id != name
            data = register(sm, props, region, account, owner, new_name=new_name)
            _send(event, context, "SUCCESS", name, data)
        else:
            remaining = deregister(sm, region, account, physical_id, owner)
            if "PromptText" in props:
                delete_prompt(sm, props, remaining)
            _send(event, context, "SUCCESS", physical_id, {})
    except Exception as exc:  # every failure must reach CloudFormation, or the stack hangs
        LOG.exception("custom resource failed")
        _send(event, context, "FAILED", physical_id, {}, reason=f"{type(exc).__name__}: {exc}")
