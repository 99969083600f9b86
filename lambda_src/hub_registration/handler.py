"""CloudFormation custom resource: a SageMaker Hub evaluator (RewardFunction or RewardPrompt).

Create imports version 1.0.0 into the account's AI Registry hub (creating the hub if needed),
Update imports the next version, Delete removes every version. The physical id is the hub content
name, so an update keeps the resource and adds a version, as ``Evaluator.create_version`` does.
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
        if exc.response["Error"]["Code"] not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        sm.create_hub(**req)
    return str(req["HubName"])


def _latest_version(sm: Any, hub: str, name: str) -> str | None:
    try:
        version: str = sm.describe_hub_content(HubName=hub, HubContentType=ev.HUB_CONTENT_TYPE, HubContentName=name)["HubContentVersion"]
        return version
    except ClientError:
        return None


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


def register(sm: Any, props: dict[str, Any], region: str, account: str) -> dict[str, str]:
    hub = _ensure_hub(sm, region, account)
    if "PromptText" in props:
        props = {**props, "Reference": upload_prompt(props)}
    name = props["EvaluatorName"]
    version = ev.next_version(_latest_version(sm, hub, name))
    sm.import_hub_content(**ev.import_request(hub, name, props["EvaluatorType"], props["Reference"], version, props.get("Description")))
    desc = _wait_available(sm, hub, name, version)
    return {
        "Reference": props["Reference"],
        "EvaluatorArn": desc["HubContentArn"],
        "HubName": hub,
        "HubContentName": name,
        "HubContentVersion": version,
    }


def deregister(sm: Any, region: str, account: str, name: str) -> None:
    hub, _ = ev.ai_registry_hub(region, account)
    try:
        versions = sm.list_hub_content_versions(HubName=hub, HubContentType=ev.HUB_CONTENT_TYPE, HubContentName=name)
    except ClientError:
        return  # hub or content already gone
    for summary in versions.get("HubContentSummaries", []):
        try:
            sm.delete_hub_content(HubName=hub, HubContentType=ev.HUB_CONTENT_TYPE, HubContentName=name, HubContentVersion=summary["HubContentVersion"])
        except ClientError as exc:
            LOG.warning("could not delete %s %s: %s", name, summary.get("HubContentVersion"), exc)


def handler(event: dict[str, Any], context: Any) -> None:
    LOG.info("request %s for %s", event.get("RequestType"), event.get("LogicalResourceId"))
    props = event.get("ResourceProperties", {})
    physical_id = event.get("PhysicalResourceId") or props.get("EvaluatorName", "evaluator")
    try:
        arn_parts = event["ServiceToken"].split(":")
        region, account = arn_parts[3], arn_parts[4]
        sm = boto3.client("sagemaker", region_name=region)
        if event["RequestType"] in ("Create", "Update"):
            if event["RequestType"] == "Update" and physical_id != props["EvaluatorName"]:
                physical_id = props["EvaluatorName"]  # renamed: CloudFormation deletes the old one
            data = register(sm, props, region, account)
            _send(event, context, "SUCCESS", physical_id, data)
        else:
            deregister(sm, region, account, physical_id)
            if "PromptText" in props:
                try:
                    boto3.client("s3").delete_object(Bucket=props["PromptBucket"], Key=props["PromptKey"])
                except ClientError as exc:  # a retained bucket may already be gone
                    LOG.warning("could not delete the prompt file: %s", exc)
            _send(event, context, "SUCCESS", physical_id, {})
    except Exception as exc:  # every failure must reach CloudFormation, or the stack hangs
        LOG.exception("custom resource failed")
        _send(event, context, "FAILED", physical_id, {}, reason=f"{type(exc).__name__}: {exc}")
