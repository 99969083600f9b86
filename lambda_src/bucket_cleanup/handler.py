"""CloudFormation custom resource: empty a bucket when the stack deletes it (demo stacks only).

CDK's own ``autoDeleteObjects`` runs a Node.js provider; this Python one does the same job, so the
offline emulator runs exactly the code AWS runs. On Create/Update it does nothing.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


def _send(event: dict[str, Any], status: str, reason: str = "") -> None:
    body = json.dumps({
        "Status": status, "Reason": reason or "ok", "PhysicalResourceId": event.get("PhysicalResourceId") or event["ResourceProperties"]["BucketName"],
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": {},
    }).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(req, timeout=30):  # noqa: S310 (pre-signed URL given by CloudFormation)
        pass


def empty_bucket(s3: Any, bucket: str) -> int:
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})
            deleted += len(keys[start:start + 1000])
    return deleted


def handler(event: dict[str, Any], context: Any) -> None:
    try:
        if event["RequestType"] == "Delete":
            bucket = event["ResourceProperties"]["BucketName"]
            try:
                LOG.info("emptied %s: %d objects", bucket, empty_bucket(boto3.client("s3"), bucket))
            except boto3.client("s3").exceptions.NoSuchBucket:
                pass
        _send(event, "SUCCESS")
    except Exception as exc:  # noqa: BLE001 - CloudFormation must always get an answer
        LOG.exception("cleanup failed")
        _send(event, "FAILED", f"{type(exc).__name__}: {exc}")
