"""The bucket clean-up custom resource: physical id = bucket name, replacement, S3 errors reported.

S3 calls go through a botocore Stubber (requests checked against the service model); every
request is a full CloudFormation custom resource event (tests/fixtures/events).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from events import load  # noqa: E402  (tests/lambdas/events.py)

from sagemaker_finetuning.lambda_src.bucket_cleanup import handler as bc

TIME = "2026-01-01T00:00:00Z"
TOKEN = "arn:aws:lambda:us-west-2:123456789012:function:SageMakerFineTuningBucketCleanupProvider"


def _event(kind: str, bucket: str = "data-new", physical: str | None = None, old_bucket: str | None = None) -> dict[str, Any]:
    """A full CloudFormation request for the clean-up resource (the fixtures' envelope, its properties)."""
    event = load(f"cloudformation_custom_resource_{kind.lower()}", ServiceToken=TOKEN, LogicalResourceId="BucketAutoDeleteObjects4EA2B92B",
                 ResourceType="Custom::SageMakerFineTuningBucketCleanup")
    event["ResourceProperties"] = {"ServiceToken": TOKEN, "BucketName": bucket}
    if kind != "Create":
        event["PhysicalResourceId"] = physical or bucket
    if kind == "Update":
        event["OldResourceProperties"] = {"ServiceToken": TOKEN, "BucketName": old_bucket or bucket}
    return event


class _Response:
    def __enter__(self) -> "_Response":
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


@pytest.fixture
def puts(monkeypatch) -> list[Any]:
    """The requests the handler PUT to the ResponseURL (the real response code runs)."""
    sent: list[Any] = []
    monkeypatch.setattr(bc.urllib.request, "urlopen", lambda req, timeout: sent.append(req) or _Response())
    return sent


@pytest.fixture
def harness(monkeypatch, puts):
    """(S3 stub, responses sent to CloudFormation: Status, PhysicalResourceId, Reason)."""
    s3 = boto3.client("s3", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(bc.boto3, "client", lambda name, **_: {"s3": s3}[name])

    def sent() -> list[dict[str, Any]]:
        return [{k: body[k] for k in ("Status", "PhysicalResourceId", "Reason")} for body in (json.loads(r.data) for r in puts)]

    with Stubber(s3) as stub:
        yield SimpleNamespace(s3=stub, sent=sent)
        stub.assert_no_pending_responses()


def _listing(bucket: str, versions: list[tuple[str, str]], markers: tuple[tuple[str, str], ...] = (), token: str | None = None,
             after: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ListObjectVersions response, expected request)."""
    response: dict[str, Any] = {
        "Versions": [{"Key": k, "VersionId": v, "IsLatest": True, "LastModified": TIME, "Size": 1} for k, v in versions],
        "DeleteMarkers": [{"Key": k, "VersionId": v, "IsLatest": True, "LastModified": TIME} for k, v in markers],
        "IsTruncated": token is not None,
    }
    if token:
        response.update(NextKeyMarker=token, NextVersionIdMarker="v")
    request: dict[str, Any] = {"Bucket": bucket}
    if after:
        request.update(KeyMarker=after, VersionIdMarker="v")
    return response, request


def _delete(bucket: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
    return {"Bucket": bucket, "Delete": {"Objects": [{"Key": k, "VersionId": v} for k, v in keys], "Quiet": True}}


def test_create_and_update_answer_the_bucket_name_as_physical_id_and_touch_nothing(harness):
    bc.handler(_event("Create", bucket="data-1"), SimpleNamespace())
    bc.handler(_event("Update", bucket="data-1", physical="data-1"), SimpleNamespace())
    assert [s["PhysicalResourceId"] for s in harness.sent()] == ["data-1", "data-1"]
    assert {s["Status"] for s in harness.sent()} == {"SUCCESS"}


def test_an_update_that_replaces_the_bucket_answers_the_new_name_so_the_old_one_gets_a_delete(harness):
    """A new BucketName: the new physical id makes CloudFormation send Delete for the old bucket's
    physical id once the update succeeded. The update itself empties nothing (a rollback may need it)."""
    bc.handler(_event("Update", bucket="data-new", physical="data-old", old_bucket="data-old"), SimpleNamespace())
    assert harness.sent() == [{"Status": "SUCCESS", "PhysicalResourceId": "data-new", "Reason": "ok"}]


def test_delete_of_the_replaced_bucket_empties_the_old_one(harness):
    """The cleanup Delete carries the old physical id and the old properties: the old bucket is emptied."""
    response, request = _listing("data-old", [("datasets/a.jsonl", "v1"), ("datasets/a.jsonl", "v2")], [("outputs/x", "m1")])
    harness.s3.add_response("list_object_versions", response, request)
    harness.s3.add_response("delete_objects", {"Deleted": []},
                            _delete("data-old", [("datasets/a.jsonl", "v1"), ("datasets/a.jsonl", "v2"), ("outputs/x", "m1")]))
    bc.handler(_event("Delete", bucket="data-old", physical="data-old"), SimpleNamespace())
    assert harness.sent() == [{"Status": "SUCCESS", "PhysicalResourceId": "data-old", "Reason": "ok"}]


def test_delete_pages_and_batches_of_1000(harness):
    first = [(f"k{i:04d}", "v") for i in range(1500)]
    response, request = _listing("data-new", first, token="k1499")
    harness.s3.add_response("list_object_versions", response, request)
    harness.s3.add_response("delete_objects", {}, _delete("data-new", first[:1000]))
    harness.s3.add_response("delete_objects", {}, _delete("data-new", first[1000:]))
    response, request = _listing("data-new", [("z", "v")], after="k1499")
    harness.s3.add_response("list_object_versions", response, request)
    harness.s3.add_response("delete_objects", {}, _delete("data-new", [("z", "v")]))
    bc.handler(_event("Delete"), SimpleNamespace())
    assert harness.sent()[-1]["Status"] == "SUCCESS"


def test_delete_reports_failed_when_s3_could_not_delete_some_keys(harness):
    """DeleteObjects answers 200 with per-key Errors: the resource answers FAILED, naming how many and a few keys."""
    keys = [(f"outputs/job-{i}/model.tar.gz", f"v{i}") for i in range(8)]
    response, request = _listing("data-new", keys)
    harness.s3.add_response("list_object_versions", response, request)
    errors = [{"Key": k, "VersionId": v, "Code": "AccessDenied", "Message": "Access Denied"} for k, v in keys[:7]]
    harness.s3.add_response("delete_objects", {"Errors": errors}, _delete("data-new", keys))
    bc.handler(_event("Delete"), SimpleNamespace())
    (sent,) = harness.sent()
    assert sent["Status"] == "FAILED" and sent["PhysicalResourceId"] == "data-new"
    assert sent["Reason"].startswith("ObjectsNotDeleted: 7 object version(s) of bucket data-new could not be deleted: ")
    assert "outputs/job-0/model.tar.gz (AccessDenied)" in sent["Reason"] and "outputs/job-4/model.tar.gz" in sent["Reason"]
    assert "outputs/job-5/" not in sent["Reason"] and sent["Reason"].endswith("and 2 more")


def test_delete_of_a_bucket_that_is_gone_succeeds_and_other_errors_fail(harness):
    harness.s3.add_client_error("list_object_versions", "NoSuchBucket", http_status_code=404, expected_params={"Bucket": "data-new"})
    bc.handler(_event("Delete"), SimpleNamespace())
    assert harness.sent()[-1]["Status"] == "SUCCESS"
    harness.s3.add_client_error("list_object_versions", "AccessDenied", http_status_code=403, expected_params={"Bucket": "data-new"})
    bc.handler(_event("Delete"), SimpleNamespace())
    assert harness.sent()[-1]["Status"] == "FAILED" and "AccessDenied" in harness.sent()[-1]["Reason"]


def test_the_response_put_to_cloudformation(puts):
    """The envelope CloudFormation expects, PUT to the ResponseURL, with the new bucket as physical id."""
    event = _event("Update", bucket="data-new", physical="data-old", old_bucket="data-old")
    bc.handler(event, SimpleNamespace())
    (req,) = puts
    body = json.loads(req.data)
    assert req.get_method() == "PUT" and req.full_url == event["ResponseURL"]
    assert body == {"Status": "SUCCESS", "Reason": "ok", "PhysicalResourceId": "data-new", "StackId": event["StackId"],
                    "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": {}}
