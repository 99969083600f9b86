"""The hub-evaluator custom resource: protocol, versions, and the same request SDK v3 sends."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from events import load  # noqa: E402  (tests/lambdas/events.py)

from sagemaker_finetuning.core import evaluators as ev
from sagemaker_finetuning.lambda_src.hub_registration import handler as hr

REGION, ACCOUNT = "us-west-2", "123456789012"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sagemaker-reward-x"
HUB, DISPLAY = ev.ai_registry_hub(REGION, ACCOUNT)
EVAL_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{HUB}/JsonDoc/rf-demo/1.0.0"


def _event(kind: str, **props: Any) -> dict[str, Any]:
    """A full CloudFormation custom resource request (tests/fixtures/events), its properties replaced by ``props``."""
    event = load(f"cloudformation_custom_resource_{kind.lower()}")
    event["ResourceProperties"] = {"ServiceToken": event["ServiceToken"], "EvaluatorName": "rf-demo", "EvaluatorType": "RewardFunction",
                                   "Reference": LAMBDA_ARN, **props}
    return event


@pytest.fixture
def harness(monkeypatch):
    sm = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(sm)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(hr.boto3, "client", lambda name, **_: sm)
    monkeypatch.setattr(hr, "_send", lambda event, ctx, status, pid, data, reason="": sent.append(
        {"Status": status, "PhysicalResourceId": pid, "Data": data, "Reason": reason}))
    with stub:
        yield stub, sent


def _describe(version: str) -> dict[str, Any]:
    return {"HubContentName": "rf-demo", "HubContentArn": EVAL_ARN.replace("1.0.0", version), "HubContentVersion": version,
            "HubContentType": "JsonDoc", "DocumentSchemaVersion": "2.0.0", "HubName": HUB, "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{HUB}",
            "HubContentDocument": ev.document("RewardFunction", LAMBDA_ARN), "HubContentStatus": "Available",
            "CreationTime": "2026-01-01T00:00:00Z", "LastModifiedTime": "2026-01-01T00:00:00Z"}


def test_hub_name_matches_sdk():
    from sagemaker.ai_registry.air_hub import AIRHub

    AIRHub._generate_hub_names(REGION, ACCOUNT)
    assert (AIRHub.hubName, AIRHub.hubDisplayName) == (HUB, DISPLAY)


def test_create_creates_hub_imports_1_0_0_and_answers(harness):
    stub, sent = harness
    stub.add_client_error("describe_hub", "ResourceNotFound", expected_params={"HubName": HUB})
    stub.add_response("create_hub", {"HubArn": "arn:hub"}, {"HubName": HUB, "HubDisplayName": DISPLAY, "HubDescription": "AI Registry Hub"})
    stub.add_client_error("describe_hub_content", "ResourceNotFound", expected_params={"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": "rf-demo"})
    stub.add_response("import_hub_content", {"HubArn": "arn:hub", "HubContentArn": EVAL_ARN}, ev.import_request(HUB, "rf-demo", "RewardFunction", LAMBDA_ARN, "1.0.0"))
    stub.add_response("describe_hub_content", _describe("1.0.0"), {"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": "rf-demo", "HubContentVersion": "1.0.0"})
    hr.handler(_event("Create"), SimpleNamespace(log_stream_name="s"))
    stub.assert_no_pending_responses()
    assert sent == [{"Status": "SUCCESS", "PhysicalResourceId": "rf-demo", "Reason": "",
                     "Data": {"Reference": LAMBDA_ARN, "EvaluatorArn": EVAL_ARN, "HubName": HUB, "HubContentName": "rf-demo", "HubContentVersion": "1.0.0"}}]


def test_update_imports_next_major_version(harness):
    stub, sent = harness
    stub.add_response("describe_hub", {"HubName": HUB, "HubArn": "arn:hub", "HubStatus": "InService", "CreationTime": "2026-01-01T00:00:00Z", "LastModifiedTime": "2026-01-01T00:00:00Z"}, {"HubName": HUB})
    stub.add_response("describe_hub_content", _describe("1.0.0"), {"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": "rf-demo"})
    stub.add_response("import_hub_content", {"HubArn": "arn:hub", "HubContentArn": EVAL_ARN}, {**ev.import_request(HUB, "rf-demo", "RewardFunction", LAMBDA_ARN, "2.0.0")})
    stub.add_response("describe_hub_content", _describe("2.0.0"), {"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": "rf-demo", "HubContentVersion": "2.0.0"})
    hr.handler(_event("Update"), SimpleNamespace())
    assert sent[0]["Status"] == "SUCCESS" and sent[0]["Data"]["HubContentVersion"] == "2.0.0"


def test_delete_removes_every_version_and_failures_reach_cloudformation(harness):
    stub, sent = harness
    stub.add_response("list_hub_content_versions", {"HubContentSummaries": [
        {"HubContentName": "rf-demo", "HubContentArn": EVAL_ARN, "HubContentVersion": v, "HubContentType": "JsonDoc",
         "DocumentSchemaVersion": "2.0.0", "HubContentStatus": "Available", "CreationTime": "2026-01-01T00:00:00Z"} for v in ("1.0.0", "2.0.0")]},
        {"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": "rf-demo"})
    for v in ("1.0.0", "2.0.0"):
        stub.add_response("delete_hub_content", {}, {"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": "rf-demo", "HubContentVersion": v})
    hr.handler(_event("Delete"), SimpleNamespace())
    assert sent[-1]["Status"] == "SUCCESS"
    stub.add_client_error("describe_hub", "AccessDeniedException", http_status_code=403, expected_params={"HubName": HUB})
    hr.handler(_event("Create"), SimpleNamespace())
    assert sent[-1]["Status"] == "FAILED" and "AccessDenied" in sent[-1]["Reason"]


def test_import_request_equals_sdk_evaluator_create(monkeypatch):
    """SDK v3 Evaluator.create with a Lambda ARN sends exactly our ImportHubContent request."""
    from sagemaker.ai_registry import evaluator as sdk_evaluator
    from sagemaker.ai_registry.air_hub import AIRHub

    sm = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    captured: dict[str, Any] = {}
    stub = Stubber(sm)
    stub.add_client_error("describe_hub_content", "ResourceNotFound")  # _determine_new_version: none yet
    stub.add_response("describe_hub", {"HubName": HUB, "HubArn": "arn:hub", "HubStatus": "InService",
                                       "CreationTime": "2026-01-01T00:00:00Z", "LastModifiedTime": "2026-01-01T00:00:00Z"})
    stub.add_response("import_hub_content", {"HubArn": "arn:hub", "HubContentArn": EVAL_ARN})
    stub.add_response("describe_hub_content", _describe("1.0.0"))
    sm.meta.events.register("provide-client-params.sagemaker.ImportHubContent", lambda params, **_: captured.update(params))
    AIRHub._generate_hub_names(REGION, ACCOUNT)
    monkeypatch.setattr(AIRHub, "_sagemaker_client", sm)
    session = SimpleNamespace(sagemaker_client=sm, boto_region_name=REGION, boto_session=boto3.Session(region_name=REGION))
    monkeypatch.setattr(sdk_evaluator.TrainDefaults, "get_sagemaker_session", staticmethod(lambda sagemaker_session=None: session))
    monkeypatch.setattr(sdk_evaluator.TrainDefaults, "get_role", staticmethod(lambda role=None, sagemaker_session=None: "arn:aws:iam::123456789012:role/r"))
    monkeypatch.setattr(sdk_evaluator, "_get_current_domain_id", lambda s: None)
    with stub:
        sdk_evaluator.Evaluator.create(name="rf-demo", type="RewardFunction", source=LAMBDA_ARN, sagemaker_session=session, wait=False)
    ours = ev.import_request(HUB, "rf-demo", "RewardFunction", LAMBDA_ARN, "1.0.0")
    assert {k: v for k, v in captured.items() if k != "HubContentDocument"} == {k: v for k, v in ours.items() if k != "HubContentDocument"}
    assert json.loads(captured["HubContentDocument"]) == json.loads(ours["HubContentDocument"])
