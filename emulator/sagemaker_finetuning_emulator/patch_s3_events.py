"""Gap 7 - S3 sends "Object Created" events to EventBridge like AWS (for ``DatasetTrigger``).

moto 5.2.5 does send an event to EventBridge when a bucket has ``EventBridgeConfiguration``, but
(1) every event has the same ``id`` (``17793124-...``), the same ``sequencer`` and ``request-id``,
an ``eTag`` member (AWS: ``etag``), a ``version-id`` of ``"null"`` on unversioned buckets, a
``reason`` of ``ObjectCreated`` (AWS: ``PutObject``, ``CopyObject``, ``CompleteMultipartUpload``)
and a number as ``time``; (2) it offers the event to the rules of *every* event bus (AWS: the
default bus only); and (3) CloudFormation ignores a bucket's ``NotificationConfiguration``, so a
deployed ``FineTuningBucket`` with EventBridge switched on sends nothing.

The replacement builds the event AWS documents (AmazonS3/latest/userguide/ev-events.html) with a
fresh UUID ``id`` per event (what an event-derived training job name relies on) and offers it to
the default bus's rules (delivered by ``patch_events``). CloudFormation's ``AWS::S3::Bucket``
applies ``NotificationConfiguration.EventBridgeConfiguration`` on create and update, checked
against botocore's ``PutBucketNotificationConfiguration`` model first. Other notification
configurations in a template (SNS/SQS/Lambda) stay ignored, as in moto.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
import time
import uuid
from typing import Any

from sagemaker_finetuning_emulator import _patching, validation
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME, SIMULATED

_patching.require("moto.s3.notifications:_send_event_bridge_message", "account_id", "bucket", "event_name", "key")
_patching.require("moto.s3.notifications:_detail_type", "event_name")
_patching.require("moto.s3.models:FakeBucket.create_from_cloudformation_json", "resource_name", "cloudformation_json", "account_id", "region_name")
_patching.require("moto.s3.models:FakeBucket.update_from_cloudformation_json", "original_resource", "new_resource_name", "cloudformation_json")
_patching.require("moto.s3.models:FakeBucket.set_notification_configuration", "notification_config")
_patching.require("moto.events.models:events_backends")

_orig_send: Any = None
_orig_create: Any = None
_orig_update: Any = None

#: s3:ObjectCreated:<x> -> the ``reason`` AWS puts in the event (the API that created the object).
_REASONS = {"Put": "PutObject", "Post": "POST Object", "Copy": "CopyObject", "CompleteMultipartUpload": "CompleteMultipartUpload"}
_sequence = itertools.count(int(time.time() * 1_000_000))
_sequence_lock = threading.Lock()


def _sequencer() -> str:
    """A hexadecimal string that grows with every event (AWS: per key; here: per process)."""
    with _sequence_lock:
        return f"{next(_sequence):016X}"


def object_created_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
    """The EventBridge event AWS sends for an object-created ``event_name`` (``s3:ObjectCreated:Put`` ...)."""
    obj: dict[str, Any] = {"key": key.name, "size": key.size, "etag": key.etag.replace('"', ""), "sequencer": _sequencer()}
    if getattr(bucket, "is_versioned", False):
        obj["version-id"] = key.version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account_id,
        "time": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _REASONS.get(str(event_name).rsplit(":", 1)[-1], "PutObject"),
        },
    }


def send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    """``_send_event_bridge_message`` that sends the event AWS sends, to the default bus only.

    moto: one fixed event id/sequencer for every event, ``eTag``, offered to every bus's rules.
    AWS: a new event id per event, ``etag``, the default event bus. Other event types: moto's.
    """
    name = str(getattr(event_name, "value", event_name))  # an S3NotificationEvent (str enum) or its value
    if not name.startswith("s3:ObjectCreated:"):
        _orig_send(account_id, bucket, event_name, key)
        return
    try:
        from moto.events.models import events_backends

        event = object_created_event(account_id, bucket, name, key)
        bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        for rule in list(bus.rules.values()) if bus is not None else []:
            rule.send_to_targets(event, transform_input=False)  # type: ignore[arg-type]  # moto's TypedDict
        RUNTIME.bump("s3_event_bridge_events")
    except Exception:  # noqa: BLE001 - asynchronous in AWS: the PutObject itself never fails
        LOG.exception("bucket %s: EventBridge notification for %s failed (%s)", bucket.name, key.name, SIMULATED)


def _apply_cfn_notifications(bucket: Any, properties: dict[str, Any]) -> None:
    """Apply ``NotificationConfiguration.EventBridgeConfiguration`` of a template (checked like the API call)."""
    config = (properties.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration")
    enabled = isinstance(config, dict) and str(config.get("EventBridgeEnabled", True)).lower() == "true"
    request = {"Bucket": bucket.name, "NotificationConfiguration": {"EventBridgeConfiguration": {}} if enabled else {}}
    errors = validation.validation_errors("s3", "PutBucketNotificationConfiguration", request)
    if errors:
        raise ValueError(validation.validation_message(errors))
    current = bucket.notification_configuration
    if current is None:
        if enabled:
            bucket.set_notification_configuration({"EventBridgeConfiguration": {}})
        return
    current.event_bridge = {} if enabled else None  # SNS/SQS/Lambda notifications set through the API stay


def create_from_cloudformation_json(cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                                    **kwargs: Any) -> Any:
    """moto: ``NotificationConfiguration`` ignored. AWS: the bucket sends events to EventBridge when enabled."""
    bucket = _orig_create.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    if _patching.is_active():
        _apply_cfn_notifications(bucket, cloudformation_json.get("Properties", {}))
    return bucket


def update_from_cloudformation_json(cls: Any, /, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                    account_id: str, region_name: str) -> Any:
    """moto: ``NotificationConfiguration`` ignored on update. AWS: switched on or off with the template."""
    bucket = _orig_update.__func__(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    if _patching.is_active():
        _apply_cfn_notifications(bucket, cloudformation_json.get("Properties", {}))
    return bucket


def apply() -> None:
    global _orig_send, _orig_create, _orig_update
    _orig_send = _patching.replace(
        "moto.s3.notifications:_send_event_bridge_message", send_event_bridge_message,
        "S3 Object Created events as AWS sends them (unique id, etag, sequencer, reason), default bus only",
    )
    # classmethods: installed as classmethods that check the gate themselves
    _orig_create = _patching.replace(
        "moto.s3.models:FakeBucket.create_from_cloudformation_json", classmethod(create_from_cloudformation_json),
        "AWS::S3::Bucket NotificationConfiguration.EventBridgeConfiguration applied", gated=False,
    )
    _orig_update = _patching.replace(
        "moto.s3.models:FakeBucket.update_from_cloudformation_json", classmethod(update_from_cloudformation_json),
        "AWS::S3::Bucket NotificationConfiguration.EventBridgeConfiguration applied on update", gated=False,
    )
