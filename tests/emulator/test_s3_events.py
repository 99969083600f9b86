"""Gap 7: S3 "Object Created" events reach EventBridge as AWS sends them, and a deployed
``DatasetTrigger`` (the construct's own CloudFormation) starts Step Functions executions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .helpers import wait_for

ECHO = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _machine(sfn: Any, name: str) -> str:
    return sfn.create_state_machine(name=name, roleArn="arn:aws:iam::123456789012:role/sfn", definition=ECHO)["stateMachineArn"]


def _inputs(sfn: Any, machine: str, count: int, timeout: float = 10.0) -> list[Any]:
    """The inputs of ``machine``'s executions, once there are ``count`` of them (oldest first)."""
    def ready() -> Any:
        runs = sfn.list_executions(stateMachineArn=machine)["executions"]
        return runs if len(runs) >= count else None

    runs = wait_for(ready, timeout=timeout)
    runs = sorted(runs, key=lambda r: r["startDate"])
    return [json.loads(sfn.describe_execution(executionArn=r["executionArn"])["input"]) for r in runs]


def _event_rule(events: Any, name: str, bucket: str, machine: str, bus: str = "default") -> None:
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(
        {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "raw", "Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/ev"}])


def test_object_created_events_have_the_aws_shape(client):
    s3, events, sfn = client("s3"), client("events"), client("stepfunctions")
    s3.create_bucket(Bucket="s3ev-plain")
    s3.put_bucket_notification_configuration(Bucket="s3ev-plain", NotificationConfiguration={"EventBridgeConfiguration": {}})
    machine = _machine(sfn, "s3ev-plain")
    _event_rule(events, "s3ev-plain", "s3ev-plain", machine)
    s3.put_object(Bucket="s3ev-plain", Key="datasets/a.jsonl", Body=b"{}\n")
    s3.copy_object(Bucket="s3ev-plain", Key="datasets/b.jsonl", CopySource={"Bucket": "s3ev-plain", "Key": "datasets/a.jsonl"})
    first, second = _inputs(sfn, machine, 2)
    for event in (first, second):
        assert event["source"] == "aws.s3" and event["detail-type"] == "Object Created" and event["version"] == "0"
        assert UUID.match(event["id"])
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", event["time"])
        assert event["resources"] == ["arn:aws:s3:::s3ev-plain"] and event["account"] == "123456789012"
        obj = event["detail"]["object"]
        assert set(obj) == {"key", "size", "etag", "sequencer"}, "unversioned bucket: no version-id; etag, not eTag"
        assert obj["size"] == 3 and re.match(r"^[0-9a-f]{32}$", obj["etag"])
    assert first["id"] != second["id"], "every event has its own id (moto: one fixed id)"
    assert int(second["detail"]["object"]["sequencer"], 16) > int(first["detail"]["object"]["sequencer"], 16)
    assert [first["detail"]["reason"], second["detail"]["reason"]] == ["PutObject", "CopyObject"]
    assert first["detail"]["bucket"] == {"name": "s3ev-plain"}


def test_versioned_bucket_events_carry_the_version_id(client):
    s3, events, sfn = client("s3"), client("events"), client("stepfunctions")
    s3.create_bucket(Bucket="s3ev-versioned")
    s3.put_bucket_versioning(Bucket="s3ev-versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket="s3ev-versioned", NotificationConfiguration={"EventBridgeConfiguration": {}})
    machine = _machine(sfn, "s3ev-versioned")
    _event_rule(events, "s3ev-versioned", "s3ev-versioned", machine)
    version = s3.put_object(Bucket="s3ev-versioned", Key="d.jsonl", Body=b"{}\n")["VersionId"]
    (event,) = _inputs(sfn, machine, 1)
    assert event["detail"]["object"]["version-id"] == version


def test_only_buckets_with_event_bridge_and_only_the_default_bus(client):
    s3, events, sfn = client("s3"), client("events"), client("stepfunctions")
    s3.create_bucket(Bucket="s3ev-quiet")
    s3.create_bucket(Bucket="s3ev-loud")
    s3.put_bucket_notification_configuration(Bucket="s3ev-loud", NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.create_event_bus(Name="s3ev-custom")
    quiet, custom, loud = _machine(sfn, "s3ev-quiet"), _machine(sfn, "s3ev-custom"), _machine(sfn, "s3ev-loud")
    _event_rule(events, "s3ev-quiet", "s3ev-quiet", quiet)
    _event_rule(events, "s3ev-custom", "s3ev-loud", custom, bus="s3ev-custom")
    _event_rule(events, "s3ev-loud", "s3ev-loud", loud)
    s3.put_object(Bucket="s3ev-quiet", Key="x.jsonl", Body=b"{}\n")
    s3.put_object(Bucket="s3ev-loud", Key="x.jsonl", Body=b"{}\n")
    _inputs(sfn, loud, 1)  # delivered (asynchronously): the others had the same chance
    assert sfn.list_executions(stateMachineArn=quiet)["executions"] == []
    assert sfn.list_executions(stateMachineArn=custom)["executions"] == [], "S3 sends to the default event bus only"


# --------------------------------------------------------------------------- the construct, deployed
@pytest.fixture(scope="module")
def trigger_template() -> dict[str, Any]:
    """A stack with a FineTuningBucket, an echo state machine and a DatasetTrigger, synthesized by CDK."""
    cdk = pytest.importorskip("aws_cdk")
    from aws_cdk import aws_stepfunctions as sfn

    from sagemaker_finetuning import DatasetTrigger, FineTuningBucket

    app = cdk.App()
    stack = cdk.Stack(app, "Trig", env=cdk.Environment(account="123456789012", region="us-east-1"),
                      synthesizer=cdk.BootstraplessSynthesizer())
    machine = sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Echo")))
    data = FineTuningBucket(stack, "Data", removal_policy=cdk.RemovalPolicy.DESTROY)
    trigger = DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=data.bucket, prefix="datasets/nightly/",
                             input={"technique": "SFT", "hyperparameters": {"learning_rate": 0.0001}})
    template = app.synth().get_stack_by_name("Trig").template
    return {"template": template, "bucket": stack.get_logical_id(data.bucket.node.default_child),
            "machine": stack.get_logical_id(machine.node.default_child), "job_prefix": trigger.job_name_prefix}


def test_deployed_dataset_trigger_starts_one_execution_per_new_dataset(client, trigger_template):
    s3, sfn, cfn = client("s3"), client("stepfunctions"), client("cloudformation")
    body = json.dumps(trigger_template["template"])
    cfn.create_stack(StackName="TrigE2e", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName="TrigE2e")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.list_stack_resources(StackName="TrigE2e")["StackResourceSummaries"]}
    bucket, machine = physical[trigger_template["bucket"]], physical[trigger_template["machine"]]

    s3.put_object(Bucket=bucket, Key="datasets/nightly/2026-11-30.jsonl", Body=b'{"prompt": "p", "completion": "c"}\n')
    s3.put_object(Bucket=bucket, Key="datasets/nightly/notes.txt", Body=b"not a dataset")       # wrong suffix
    s3.put_object(Bucket=bucket, Key="datasets/weekly/2026-11-30.jsonl", Body=b"{}\n")          # outside the prefix
    s3.put_object(Bucket=bucket, Key='datasets/nightly/odd "name".jsonl', Body=b"{}\n")          # JSON-special characters
    first, second = _inputs(sfn, machine, 2)
    assert first["training_dataset"] == f"s3://{bucket}/datasets/nightly/2026-11-30.jsonl"
    assert second["training_dataset"] == f's3://{bucket}/datasets/nightly/odd "name".jsonl'
    for run in (first, second):
        assert {k: v for k, v in run.items() if k not in ("training_dataset", "training_job_name")} == {
            "technique": "SFT", "hyperparameters": {"learning_rate": 0.0001}}
        prefix, _, event_id = run["training_job_name"].partition("-")
        assert prefix == trigger_template["job_prefix"] and UUID.match(event_id)
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", run["training_job_name"])
    assert first["training_job_name"] != second["training_job_name"]
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2

    # the template without EventBridge on the bucket (an update) stops the events
    template = json.loads(body)
    template["Resources"][trigger_template["bucket"]]["Properties"].pop("NotificationConfiguration")
    cfn.update_stack(StackName="TrigE2e", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    s3.put_object(Bucket=bucket, Key="datasets/nightly/after-update.jsonl", Body=b"{}\n")
    cfn.update_stack(StackName="TrigE2e", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    s3.put_object(Bucket=bucket, Key="datasets/nightly/re-enabled.jsonl", Body=b"{}\n")
    runs = _inputs(sfn, machine, 3)
    assert [r["training_dataset"].rsplit("/", 1)[-1] for r in runs][2:] == ["re-enabled.jsonl"]
