"""CloudFormation custom resource: empty a bucket when the stack deletes it (demo stacks only).

CDK's own ``autoDeleteObjects`` runs a Node.js provider; this Python one does the same job, so the
offline emulator runs exactly the code AWS runs.

The physical id is the bucket name. Create and Update only answer with it; when an update replaces
the bucket (a new BucketName), the new physical id makes CloudFormation send Delete for the old one
(with the old properties) once the update succeeded, and that Delete empties the old bucket; a
rollback sends Delete for the new one instead. Delete empties the bucket named by the properties it
is sent, every version and delete marker, and answers FAILED, naming the keys, when S3 refused to
delete any of them.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
_BATCH = 1000  # DeleteObjects takes at most 1000 keys
_SHOWN_KEYS = 5


class ObjectsNotDeleted(Exception):
    """S3 answered DeleteObjects with errors for some keys."""


def _send(event: dict[str, Any], status: str, physical_id: str, reason: str = "") -> None:
    body = json.dumps({
        "Status": status, "Reason": (reason or "ok")[:3000], "PhysicalResourceId": physical_id,
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": {},
    }).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(req, timeout=30):  # noqa: S310 (pre-signed URL given by CloudFormation)
        pass


def _not_deleted_message(bucket: str, errors: list[dict[str, Any]]) -> str:
    shown = ", ".join(f"{e.get('Key')} ({e.get('Code', 'error')})" for e in errors[:_SHOWN_KEYS])
    more = f" and {len(errors) - _SHOWN_KEYS} more" if len(errors) > _SHOWN_KEYS else ""
    return f"{len(errors)} object version(s) of bucket {bucket} could not be deleted: {shown}{more}"


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of ``bucket``; returns how many were deleted.

    Raises :class:`ObjectsNotDeleted` (after trying every key) when S3 refused any of them.
    """
    deleted, errors = 0, []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(keys), _BATCH):
            batch = keys[start:start + _BATCH]
            failed = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get("Errors", [])
            errors.extend(failed)
            deleted += len(batch) - len(failed)
    if errors:
        raise ObjectsNotDeleted(_not_deleted_message(bucket, errors))
    return deleted


def _empty(bucket: str) -> None:
    try:
        LOG.info("emptied %s: %d object versions", bucket, empty_bucket(boto3.client("s3"), bucket))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
        LOG.info("bucket %s is gone already", bucket)


def handler(event: dict[str, Any], context: Any) -> None:
    bucket = str(event.get("ResourceProperties", {}).get("BucketName", ""))
    # Create/Update answer with the current bucket name; Delete with the physical id it was sent.
    physical_id = event.get("PhysicalResourceId") or bucket
    try:
        if not bucket:
            raise ValueError("the BucketName property is required")
        if event["RequestType"] == "Delete":
            _empty(bucket)  # the properties of the resource being deleted (the old ones after a replacement)
        elif event["RequestType"] in ("Create", "Update"):
            physical_id = bucket
        else:
            raise ValueError(f"unknown RequestType {event['RequestType']!r}")
        _send(event, "SUCCESS", physical_id)
    except Exception as exc:  # noqa: BLE001 - CloudFormation must always get an answer
        LOG.exception("cleanup failed")
        _send(event, "FAILED", physical_id, f"{type(exc).__name__}: {exc}")
