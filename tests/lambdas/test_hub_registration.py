"""The hub-evaluator custom resource: protocol, versions, ownership, and the same request SDK v3 sends.

Every AWS call goes through a botocore Stubber (requests checked against the service model) and
every request is a full CloudFormation custom resource event (tests/fixtures/events).
"""

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
_FIXTURE = load("cloudformation_custom_resource_create")
STACK_ID, LOGICAL_ID = _FIXTURE["StackId"], _FIXTURE["LogicalResourceId"]
OURS = ev.owner_tags(STACK_ID, LOGICAL_ID)
OTHER_STACK = STACK_ID.replace("5b7e0d10", "99999999")
TIME = "2026-01-01T00:00:00Z"
PROMPT = {"EvaluatorType": "RewardPrompt", "Reference": "s3://data/prompts/rf-demo.jinja", "PromptText": "Score {{response}}",
          "PromptBucket": "data", "PromptKey": "prompts/rf-demo.jinja"}


def _event(kind: str, **props: Any) -> dict[str, Any]:
    """A full CloudFormation custom resource request (tests/fixtures/events), its properties replaced by ``props``."""
    event = load(f"cloudformation_custom_resource_{kind.lower()}")
    event["ResourceProperties"] = {"ServiceToken": event["ServiceToken"], "EvaluatorName": "rf-demo", "EvaluatorType": "RewardFunction",
                                   "Reference": LAMBDA_ARN, **props}
    return event


@pytest.fixture
def harness(monkeypatch):
    """(SageMaker stub, S3 stub, responses sent to CloudFormation)."""
    creds = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sm = boto3.client("sagemaker", region_name=REGION, **creds)
    s3 = boto3.client("s3", region_name=REGION, **creds)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(hr.boto3, "client", lambda name, **_: {"sagemaker": sm, "s3": s3}[name])
    monkeypatch.setattr(hr, "_send", lambda event, ctx, status, pid, data, reason="": sent.append(
        {"Status": status, "PhysicalResourceId": pid, "Data": data, "Reason": reason}))
    with Stubber(sm) as sm_stub, Stubber(s3) as s3_stub:
        yield SimpleNamespace(sm=sm_stub, s3=s3_stub, sent=sent)
        sm_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()


def _arn(version: str, name: str = "rf-demo") -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{HUB}/JsonDoc/{name}/{version}"


def _describe(version: str, name: str = "rf-demo", reference: str = LAMBDA_ARN, kind: str = "RewardFunction") -> dict[str, Any]:
    return {"HubContentName": name, "HubContentArn": _arn(version, name), "HubContentVersion": version,
            "HubContentType": "JsonDoc", "DocumentSchemaVersion": "2.0.0", "HubName": HUB, "HubArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub/{HUB}",
            "HubContentDocument": ev.document(kind, reference), "HubContentStatus": "Available",
            "CreationTime": TIME, "LastModifiedTime": TIME}


def _content(name: str = "rf-demo", version: str | None = None) -> dict[str, str]:
    request = {"HubName": HUB, "HubContentType": "JsonDoc", "HubContentName": name}
    return {**request, "HubContentVersion": version} if version else request


def _hub_exists(h) -> None:
    h.sm.add_response("describe_hub", {"HubName": HUB, "HubArn": "arn:hub", "HubStatus": "InService", "CreationTime": TIME, "LastModifiedTime": TIME},
                      {"HubName": HUB})


def _latest(h, version: str | None, name: str = "rf-demo") -> None:
    if version is None:
        h.sm.add_client_error("describe_hub_content", "ResourceNotFound", expected_params=_content(name))
    else:
        h.sm.add_response("describe_hub_content", _describe(version, name), _content(name))


def _versions(h, tagged: dict[str, list[dict[str, str]]], name: str = "rf-demo", pages: int = 1) -> None:
    """ListHubContentVersions answering ``tagged``'s versions (over ``pages`` pages), then ListTags of each."""
    summaries = [{"HubContentName": name, "HubContentArn": _arn(v, name), "HubContentVersion": v, "HubContentType": "JsonDoc",
                  "DocumentSchemaVersion": "2.0.0", "HubContentStatus": "Available", "CreationTime": TIME} for v in tagged]
    size = -(-len(summaries) // pages)
    for page in range(pages):
        response: dict[str, Any] = {"HubContentSummaries": summaries[page * size:(page + 1) * size]}
        if page < pages - 1:
            response["NextToken"] = f"t{page + 1}"
        h.sm.add_response("list_hub_content_versions", response, {**_content(name), **({"NextToken": f"t{page}"} if page else {})})
    for version, tags in tagged.items():
        h.sm.add_response("list_tags", {"Tags": tags}, {"ResourceArn": _arn(version, name)})


def _imports(h, version: str, name: str = "rf-demo", description: str | None = None) -> None:
    h.sm.add_response("import_hub_content", {"HubArn": "arn:hub", "HubContentArn": _arn(version, name)},
                      ev.import_request(HUB, name, "RewardFunction", LAMBDA_ARN, version, description, tags=OURS))
    h.sm.add_response("describe_hub_content", _describe(version, name), _content(name, version))


def _deletes(h, version: str, name: str = "rf-demo") -> None:
    h.sm.add_response("delete_hub_content", {}, _content(name, version))


def test_hub_name_matches_sdk():
    from sagemaker.ai_registry.air_hub import AIRHub

    AIRHub._generate_hub_names(REGION, ACCOUNT)
    assert (AIRHub.hubName, AIRHub.hubDisplayName) == (HUB, DISPLAY)


def test_create_creates_hub_imports_1_0_0_tagged_with_its_owner_and_answers(harness):
    harness.sm.add_client_error("describe_hub", "ResourceNotFound", expected_params={"HubName": HUB})
    harness.sm.add_response("create_hub", {"HubArn": "arn:hub"}, {"HubName": HUB, "HubDisplayName": DISPLAY, "HubDescription": "AI Registry Hub"})
    _latest(harness, None)
    _imports(harness, "1.0.0")
    hr.handler(_event("Create"), SimpleNamespace(log_stream_name="s"))
    assert harness.sent == [{"Status": "SUCCESS", "PhysicalResourceId": "rf-demo", "Reason": "",
                             "Data": {"Reference": LAMBDA_ARN, "EvaluatorArn": EVAL_ARN, "HubName": HUB, "HubContentName": "rf-demo", "HubContentVersion": "1.0.0"}}]
    assert OURS == [{"Key": "sagemaker-finetuning:cfn-stack-id", "Value": STACK_ID},
                    {"Key": "sagemaker-finetuning:cfn-logical-id", "Value": "FineTuningRewardFunctionEvaluator"}]


def test_update_imports_next_major_version_tagged_without_an_ownership_check(harness):
    """Same name: the resource already owns it (created or adopted it); SDK v3's next major version."""
    _hub_exists(harness)
    _latest(harness, "1.0.0")
    _imports(harness, "2.0.0")
    hr.handler(_event("Update"), SimpleNamespace())
    assert harness.sent[0]["Status"] == "SUCCESS" and harness.sent[0]["Data"]["HubContentVersion"] == "2.0.0"
    assert harness.sent[0]["PhysicalResourceId"] == "rf-demo"


def test_create_refuses_a_name_it_did_not_register_and_says_how_to_resolve(harness):
    """rf-demo exists (SDK v3 Evaluator.create made 1.0.0, another stack 2.0.0): FAILED, nothing imported."""
    _hub_exists(harness)
    _latest(harness, "2.0.0")
    _versions(harness, {"1.0.0": [], "2.0.0": ev.owner_tags(OTHER_STACK, LOGICAL_ID)})
    hr.handler(_event("Create"), SimpleNamespace())
    (sent,) = harness.sent
    assert sent["Status"] == "FAILED" and sent["PhysicalResourceId"] == "rf-demo"
    reason = sent["Reason"]
    assert reason.startswith("ForeignHubContent: evaluator name 'rf-demo' already exists")
    assert "versions 1.0.0, 2.0.0" in reason and "choose another evaluator_name" in reason and "adopt_existing=True" in reason


def test_a_refused_prompt_writes_no_prompt_file(harness):
    """The check comes first: a RewardPrompt refused for its name does not overwrite a prompt file."""
    _hub_exists(harness)
    _latest(harness, "1.0.0")
    _versions(harness, {"1.0.0": []})
    hr.handler(_event("Create", **PROMPT), SimpleNamespace())  # the S3 stub has no put_object: a write would fail differently
    assert harness.sent[0]["Status"] == "FAILED" and harness.sent[0]["Reason"].startswith("ForeignHubContent:")


def test_create_adopts_an_existing_name_when_the_construct_says_so(harness):
    _hub_exists(harness)
    _latest(harness, "1.0.0")
    _imports(harness, "2.0.0")  # no ListHubContentVersions / ListTags: adoption needs no check
    hr.handler(_event("Create", AdoptExisting="true"), SimpleNamespace())
    assert harness.sent[0]["Status"] == "SUCCESS" and harness.sent[0]["Data"]["HubContentVersion"] == "2.0.0"


def test_create_retried_after_its_own_import_is_not_refused(harness):
    """A retried Create (or the rollback of a rename) finds a version of its own: it continues."""
    _hub_exists(harness)
    _latest(harness, "1.0.0")
    _versions(harness, {"1.0.0": [{"Key": "team", "Value": "ml"}, *OURS]})
    _imports(harness, "2.0.0")
    hr.handler(_event("Create"), SimpleNamespace())
    assert harness.sent[0]["Status"] == "SUCCESS"


def test_update_renaming_to_a_foreign_name_fails_and_keeps_the_old_physical_id(harness):
    _hub_exists(harness)
    _latest(harness, "1.0.0", name="rf-other")
    _versions(harness, {"1.0.0": []}, name="rf-other")
    hr.handler(_event("Update", EvaluatorName="rf-other"), SimpleNamespace())
    (sent,) = harness.sent
    assert sent["Status"] == "FAILED" and sent["PhysicalResourceId"] == "rf-demo" and "'rf-other'" in sent["Reason"]


def test_update_renaming_to_a_new_name_answers_the_new_physical_id(harness):
    _hub_exists(harness)
    _latest(harness, None, name="rf-new")
    _imports(harness, "1.0.0", name="rf-new")
    hr.handler(_event("Update", EvaluatorName="rf-new"), SimpleNamespace())
    assert harness.sent[0]["Status"] == "SUCCESS" and harness.sent[0]["PhysicalResourceId"] == "rf-new"


def test_delete_removes_only_the_versions_this_resource_imported(harness):
    """SDK v3's 1.0.0, this resource's 2.0.0 and 5.0.0, another resource's 3.0.0 and another stack's 4.0.0."""
    _versions(harness, {
        "1.0.0": [],
        "2.0.0": OURS,
        "3.0.0": ev.owner_tags(STACK_ID, "OtherEvaluator"),
        "4.0.0": ev.owner_tags(OTHER_STACK, LOGICAL_ID),
        "5.0.0": [*OURS, {"Key": "team", "Value": "ml"}],
    }, pages=2)
    _deletes(harness, "2.0.0")
    _deletes(harness, "5.0.0")
    hr.handler(_event("Delete"), SimpleNamespace())
    assert harness.sent == [{"Status": "SUCCESS", "PhysicalResourceId": "rf-demo", "Data": {}, "Reason": ""}]


def test_delete_of_a_replaced_name_deletes_by_physical_id(harness):
    """After a rename CloudFormation sends Delete for the old physical id (with the old properties)."""
    event = _event("Delete", EvaluatorName="rf-old")
    event["PhysicalResourceId"] = "rf-old"
    _versions(harness, {"1.0.0": OURS, "2.0.0": []}, name="rf-old")
    _deletes(harness, "1.0.0", name="rf-old")
    hr.handler(event, SimpleNamespace())
    assert harness.sent[0]["Status"] == "SUCCESS" and harness.sent[0]["PhysicalResourceId"] == "rf-old"


def test_delete_when_nothing_is_left_succeeds_and_a_failed_delete_reaches_cloudformation(harness):
    harness.sm.add_client_error("list_hub_content_versions", "ResourceNotFound", expected_params=_content())
    hr.handler(_event("Delete"), SimpleNamespace())
    assert harness.sent[-1]["Status"] == "SUCCESS"
    _versions(harness, {"1.0.0": OURS})
    harness.sm.add_client_error("delete_hub_content", "ValidationException", expected_params=_content("rf-demo", "1.0.0"))
    hr.handler(_event("Delete"), SimpleNamespace())
    assert harness.sent[-1]["Status"] == "FAILED" and "could not delete versions 1.0.0 (ValidationException) of hub content rf-demo" in harness.sent[-1]["Reason"]
    harness.sm.add_client_error("describe_hub", "AccessDeniedException", http_status_code=403, expected_params={"HubName": HUB})
    hr.handler(_event("Create"), SimpleNamespace())
    assert harness.sent[-1]["Status"] == "FAILED" and "AccessDenied" in harness.sent[-1]["Reason"]


def test_delete_removes_its_prompt_file_unless_a_version_it_kept_refers_to_it(harness):
    _versions(harness, {"1.0.0": OURS})
    _deletes(harness, "1.0.0")
    harness.s3.add_response("delete_object", {}, {"Bucket": "data", "Key": "prompts/rf-demo.jinja"})
    hr.handler(_event("Delete", **PROMPT), SimpleNamespace())
    assert harness.sent[-1]["Status"] == "SUCCESS"
    # an adopted name: the other owner's 1.0.0 refers to the same file, so it stays
    _versions(harness, {"1.0.0": [], "2.0.0": OURS})
    _deletes(harness, "2.0.0")
    harness.sm.add_response("describe_hub_content", _describe("1.0.0", reference=PROMPT["Reference"], kind="RewardPrompt"), _content("rf-demo", "1.0.0"))
    hr.handler(_event("Delete", **PROMPT), SimpleNamespace())
    assert harness.sent[-1]["Status"] == "SUCCESS"


def test_import_request_equals_sdk_evaluator_create_but_for_the_ownership_tags(monkeypatch):
    """SDK v3 Evaluator.create with a Lambda ARN sends exactly our ImportHubContent request, except for
    one deliberate difference: our request also carries ``Tags`` (the stack id and logical id of the
    custom resource), which is how a delete knows which versions are its own."""
    from sagemaker.ai_registry import evaluator as sdk_evaluator
    from sagemaker.ai_registry.air_hub import AIRHub

    sm = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    captured: dict[str, Any] = {}
    stub = Stubber(sm)
    stub.add_client_error("describe_hub_content", "ResourceNotFound")  # _determine_new_version: none yet
    stub.add_response("describe_hub", {"HubName": HUB, "HubArn": "arn:hub", "HubStatus": "InService", "CreationTime": TIME, "LastModifiedTime": TIME})
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
    ours = ev.import_request(HUB, "rf-demo", "RewardFunction", LAMBDA_ARN, "1.0.0", tags=OURS)
    assert set(ours) ^ set(captured) == {"Tags"}, "Tags is the only key SDK v3 does not send"
    assert "Tags" not in captured and ours["Tags"] == OURS
    same = set(ours) - {"Tags", "HubContentDocument"}
    assert {k: captured[k] for k in same} == {k: ours[k] for k in same}
    assert json.loads(captured["HubContentDocument"]) == json.loads(ours["HubContentDocument"])
    assert ev.import_request(HUB, "rf-demo", "RewardFunction", LAMBDA_ARN, "1.0.0").keys() == captured.keys()


def test_ownership_tags_fit_the_service_model():
    """Tag keys and values (a stack ARN can be long) within ImportHubContent's Tag constraints."""
    import re

    model = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x").meta.service_model
    key, value = model.shape_for("TagKey").metadata, model.shape_for("TagValue").metadata
    long_stack = f"arn:aws-us-gov:cloudformation:us-gov-west-1:{ACCOUNT}:stack/{'S' * 128}/5b7e0d10-8e4a-11ef-9d1f-0a1b2c3d4e5f"
    for tag in ev.owner_tags(long_stack, "L" * 255):  # CloudFormation: stack names <= 128, logical ids <= 255
        assert len(tag["Key"]) <= key["max"] and len(tag["Value"]) <= value["max"]
        assert re.fullmatch(r"[\w\s.:/=+\-@]*", tag["Key"]) and re.fullmatch(r"[\w\s.:/=+\-@]*", tag["Value"])
    assert ev.is_owned(OURS, STACK_ID, LOGICAL_ID) and not ev.is_owned(OURS[:1], STACK_ID, LOGICAL_ID)
    assert not ev.is_owned(ev.owner_tags(STACK_ID, "Other"), STACK_ID, LOGICAL_ID)
