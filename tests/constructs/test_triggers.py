"""DatasetTrigger and ScheduleTrigger (issue 12 §3): what they synthesize, their IAM, their checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, TimeZone
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from sagemaker_finetuning import DatasetTrigger, FineTuningBucket, InvalidProp, ScheduleTrigger
from sagemaker_finetuning.workflow.triggers import EVENT_BRIDGE_WARNING

ENV = cdk.Environment(account="123456789012", region="us-east-1")
SFT = {"technique": "SFT", "hyperparameters": {"learning_rate": 0.0001}}


def setup(app: cdk.App | None = None) -> tuple[cdk.Stack, sfn.StateMachine]:
    stack = cdk.Stack(app or cdk.App(), "T", env=ENV)
    machine = sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Start")))
    return stack, machine


def resources(stack: cdk.Stack, kind: str) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in Template.from_stack(stack).find_resources(kind).values()]


def transformer(stack: cdk.Stack) -> tuple[dict[str, str], dict[str, Any]]:
    (rule,) = resources(stack, "AWS::Events::Rule")
    (target,) = rule["Targets"]
    tf = target["InputTransformer"]
    return tf["InputPathsMap"], tf["InputTemplate"]


def render(template: str, values: dict[str, str]) -> Any:
    """What EventBridge sends: placeholders inside JSON strings replaced by the (escaped) text."""
    for name, value in values.items():
        template = template.replace(f"<{name}>", json.dumps(value)[1:-1])
    return json.loads(template)


# --------------------------------------------------------------------------- DatasetTrigger
def test_dataset_trigger_rule_matches_new_objects_under_prefix_and_suffix():
    stack, machine = setup()
    data = FineTuningBucket(stack, "Data")
    DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=data.bucket, prefix="datasets/nightly/", input=SFT,
                   suffixes=[".jsonl", ".json"])
    Template.from_stack(stack).has_resource_properties("AWS::Events::Rule", {
        "State": "ENABLED",
        "EventPattern": {
            "source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [stack.resolve(data.bucket.bucket_name)]},
                       "object": {"key": [{"wildcard": "datasets/nightly/*.jsonl"}, {"wildcard": "datasets/nightly/*.json"}]}},
        },
    })


def test_dataset_trigger_without_suffixes_matches_the_prefix_and_escapes_nothing_else():
    stack, machine = setup()
    bucket = s3.Bucket(stack, "Data", event_bridge_enabled=True)
    DatasetTrigger(stack, "All", state_machine=machine, bucket=bucket, prefix="datasets/all/", input=SFT, suffixes=[])
    (rule,) = resources(stack, "AWS::Events::Rule")
    assert rule["EventPattern"]["detail"]["object"]["key"] == [{"prefix": "datasets/all/"}]


def test_wildcard_characters_of_prefix_and_suffix_are_escaped():
    stack, machine = setup()
    DatasetTrigger(stack, "Star", state_machine=machine, bucket=s3.Bucket(stack, "Data"), prefix="datasets/a*b/", input=SFT)
    (rule,) = resources(stack, "AWS::Events::Rule")
    assert rule["EventPattern"]["detail"]["object"]["key"] == [{"wildcard": "datasets/a\\*b/*.jsonl"}]


def test_input_transformer_adds_the_object_uri_and_an_event_derived_job_name():
    stack, machine = setup()
    trigger = DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=s3.Bucket(stack, "Data"), prefix="datasets/nightly/",
                             input=SFT)
    paths, template = transformer(stack)
    assert paths == {"detail-bucket-name": "$.detail.bucket.name", "detail-object-key": "$.detail.object.key", "id": "$.id"}
    event_id = "17793124-05d4-b198-2fde-7ededc63b103"
    sent = render(template, {"detail-bucket-name": "acme-data", "detail-object-key": "datasets/nightly/2026-11-30.jsonl", "id": event_id})
    assert sent == {**SFT, "training_dataset": "s3://acme-data/datasets/nightly/2026-11-30.jsonl",
                    "training_job_name": f"{trigger.job_name_prefix}-{event_id}"}
    assert len(sent["training_job_name"]) <= 63
    # a key with JSON-special characters stays one string (EventBridge escapes values it puts inside quotes)
    odd = render(template, {"detail-bucket-name": "acme-data", "detail-object-key": 'datasets/nightly/a "b"\\c.jsonl', "id": event_id})
    assert odd["training_dataset"] == 's3://acme-data/datasets/nightly/a "b"\\c.jsonl'


def test_validation_dataset_field_and_no_deduplication():
    stack, machine = setup()
    DatasetTrigger(stack, "Val", state_machine=machine, bucket=s3.Bucket(stack, "Data"), prefix="datasets/val/",
                   input={"technique": "SFT", "training_dataset": "s3://acme/datasets/train.jsonl"},
                   dataset_field="validation_dataset", deduplicate=False, enabled=False)
    paths, template = transformer(stack)
    assert "id" not in paths
    sent = render(template, {"detail-bucket-name": "acme", "detail-object-key": "datasets/val/v.jsonl"})
    assert sent == {"technique": "SFT", "training_dataset": "s3://acme/datasets/train.jsonl", "validation_dataset": "s3://acme/datasets/val/v.jsonl"}
    (rule,) = resources(stack, "AWS::Events::Rule")
    assert rule["State"] == "DISABLED"


def test_dataset_fields_are_the_uri_fields_of_the_schema():
    from sagemaker_finetuning.workflow.triggers import dataset_fields

    assert dataset_fields() == ("training_dataset", "validation_dataset")
    with pytest.raises(InvalidProp, match=r"^dataset_field: received str 'validate_dataset'; expected one of training_dataset, validation_dataset"):
        _dataset(dataset_field="validate_dataset")


def test_two_triggers_name_their_jobs_apart():
    stack, machine = setup()
    bucket = s3.Bucket(stack, "Data")
    a = DatasetTrigger(stack, "A", state_machine=machine, bucket=bucket, prefix="datasets/", input=SFT)
    b = DatasetTrigger(stack, "B", state_machine=machine, bucket=bucket, prefix="datasets/", input={"technique": "DPO"})
    assert a.job_name_prefix != b.job_name_prefix
    assert a.job_name_prefix.startswith("trg") and len(a.job_name_prefix) == 11


def test_target_role_may_start_this_state_machine_only():
    stack, machine = setup()
    DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=s3.Bucket(stack, "Data"), prefix="datasets/", input=SFT)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [{
        "Action": "sts:AssumeRole", "Principal": {"Service": "events.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}, "Effect": "Allow"}]}})
    statements = [s for p in resources(stack, "AWS::IAM::Policy") if "Nightly" in p["PolicyName"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": stack.resolve(machine.state_machine_arn)}]
    (rule,) = resources(stack, "AWS::Events::Rule")
    assert rule["Targets"][0]["Arn"] == stack.resolve(machine.state_machine_arn)
    assert rule["Targets"][0]["RoleArn"]["Fn::GetAtt"][0].startswith("NightlyStartExecutionRole")


def test_fine_tuning_bucket_is_switched_to_event_bridge():
    stack, machine = setup()
    data = FineTuningBucket(stack, "Data")
    assert not data.event_bridge_enabled
    DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=data.bucket, prefix="datasets/", input=SFT)
    DatasetTrigger(stack, "Again", state_machine=machine, bucket=data.bucket, prefix="datasets/other/", input=SFT)
    assert data.event_bridge_enabled
    Template.from_stack(stack).has_resource_properties("AWS::S3::Bucket", {
        "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}})
    Template.from_stack(stack).resource_count_is("Custom::S3BucketNotifications", 0)
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp(EVENT_BRIDGE_WARNING))


def test_fine_tuning_bucket_prop_event_bridge_enabled():
    stack = cdk.Stack(cdk.App(), "T", env=ENV)
    FineTuningBucket(stack, "On", event_bridge_enabled=True)
    FineTuningBucket(stack, "Off")
    buckets = [b for b in resources(stack, "AWS::S3::Bucket") if "VersioningConfiguration" in b]
    assert sorted("NotificationConfiguration" in b for b in buckets) == [False, True]


@pytest.mark.parametrize("make", [
    lambda s: s3.Bucket.from_bucket_name(s, "Imported", "acme-data"),
    lambda s: s3.Bucket(s, "Theirs"),
], ids=["imported", "app-defined"])
def test_other_buckets_get_a_warning_and_are_not_modified(make):
    stack, machine = setup()
    bucket = make(stack)
    DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=bucket, prefix="datasets/", input=SFT)
    Annotations.from_stack(stack).has_warning("/T/Nightly", Match.string_like_regexp("must send its events to Amazon EventBridge.*event_bridge_enabled=True"))
    assert all("NotificationConfiguration" not in b for b in resources(stack, "AWS::S3::Bucket"))


def test_the_warning_can_be_acknowledged():
    stack, machine = setup()
    trigger = DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=s3.Bucket(stack, "Theirs", event_bridge_enabled=True),
                             prefix="datasets/", input=SFT)
    cdk.Annotations.of(trigger).acknowledge_warning(EVENT_BRIDGE_WARNING)
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp("must send its events"))


# --------------------------------------------------------------------------- ScheduleTrigger
def test_schedule_trigger_starts_the_machine_with_the_input():
    stack, machine = setup()
    run = {"technique": "SFT", "training_dataset": "s3://acme/datasets/latest/"}
    ScheduleTrigger(stack, "Weekly", state_machine=machine, input=run, time_zone=TimeZone.EUROPE_BERLIN,
                    schedule=scheduler.ScheduleExpression.cron(minute="0", hour="2", week_day="MON"), description="weekly retraining")
    (schedule,) = resources(stack, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == "cron(0 2 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["State"] == "ENABLED" and schedule["Description"] == "weekly retraining"
    assert schedule["Target"]["Arn"] == stack.resolve(machine.state_machine_arn)
    assert json.loads(schedule["Target"]["Input"]) == run
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [{
        "Action": "sts:AssumeRole", "Principal": {"Service": "scheduler.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}, "Effect": "Allow"}]}})
    statements = [s for p in resources(stack, "AWS::IAM::Policy") if "Weekly" in p["PolicyName"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": stack.resolve(machine.state_machine_arn)}]


def test_schedule_trigger_rate_disabled():
    stack, machine = setup()
    ScheduleTrigger(stack, "Daily", state_machine=machine, schedule=scheduler.ScheduleExpression.rate(Duration.days(1)),
                    input={"technique": "DPO", "training_dataset": "s3://acme/datasets/dpo/"}, enabled=False)
    (schedule,) = resources(stack, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == "rate(1 day)" and schedule["State"] == "DISABLED"


# --------------------------------------------------------------------------- bad props: named errors at synth
def _dataset(**kw: Any) -> None:
    stack, machine = setup()
    args: dict[str, Any] = {"state_machine": machine, "bucket": s3.Bucket(stack, "Data"), "prefix": "datasets/", "input": SFT}
    DatasetTrigger(stack, "Subject", **{**args, **kw})


def _schedule(**kw: Any) -> None:
    stack, machine = setup()
    args: dict[str, Any] = {"state_machine": machine, "schedule": scheduler.ScheduleExpression.rate(Duration.days(1)),
                            "input": {"technique": "SFT", "training_dataset": "s3://acme/datasets/"}}
    ScheduleTrigger(stack, "Subject", **{**args, **kw})


@pytest.mark.parametrize("kw, message", [
    ({"input": {"technique": "SFTX"}}, r"^input\['technique'\]: received str 'SFTX'; expected one of"),
    ({"input": {"technique": "SFT", "learning_rate": 1}}, r"^input\['learning_rate'\]: received int 1; expected no such field"),
    ({"input": {}}, r"^input\['technique'\]: received None; expected a value \(this field is required\)"),
    ({"input": {"technique": "SFT", "training_dataset": "s3://a/b"}}, r"^input\['training_dataset'\]: received str 's3://a/b'; expected no value: the trigger sets"),
    ({"input": {"technique": "SFT", "training_job_name": "mine"}}, r"^input\['training_job_name'\]: .*expected no value: the trigger sets"),
    ({"input": {"technique": "SFT", "max_runtime_in_seconds": "1h"}}, r"^input\['max_runtime_in_seconds'\]: received str '1h'"),
    ({"input": [("technique", "SFT")]}, r"^input: received list of 1; expected a mapping"),
    ({"input": {"technique": "SFT", "tags": {"a": object()}}}, r"^input: received dict of 2; expected a JSON object"),
    ({"dataset_field": "model"}, r"^dataset_field: received str 'model'; expected one of training_dataset, validation_dataset"),
    ({"prefix": "/datasets"}, r"^prefix: received str '/datasets'; expected an S3 key prefix"),
    ({"suffixes": ".jsonl"}, r"^suffixes: received str '.jsonl'; expected a list"),
    ({"suffixes": ["*.jsonl"]}, r"^suffixes\[0\]: received str '\*.jsonl'; expected a key suffix"),
    ({"bucket": "acme-data"}, r"^bucket: received str 'acme-data'; expected an s3.IBucket"),
    ({"state_machine": "arn:aws:states:us-east-1:123456789012:stateMachine:ft"}, r"^state_machine: received str .*; expected an sfn.IStateMachine"),
    ({"enabled": "yes"}, r"^enabled: received str 'yes'; expected True or False"),
    ({"deduplicate": 1}, r"^deduplicate: received int 1; expected True or False"),
])
def test_dataset_trigger_bad_props(kw, message):
    with pytest.raises(InvalidProp, match=message):
        _dataset(**kw)


def test_dataset_trigger_template_tokens_are_not_judged():
    stack, machine = setup()
    bucket = s3.Bucket(stack, "Data")
    DatasetTrigger(stack, "T1", state_machine=machine, bucket=bucket, prefix="datasets/",
                   input={"technique": "SFT", "s3_output_path": bucket.s3_url_for_object("outputs/")})
    _, template = transformer(stack)
    assert "Fn::Join" in json.dumps(stack.resolve(template)) or "Ref" in json.dumps(template)


@pytest.mark.parametrize("kw, message", [
    ({"input": {"technique": "SFT"}}, r"^input\['training_dataset'\]: received None; expected a value"),
    ({"input": {"technique": "SFT", "training_dataset": "s3://acme/d/", "training_job_name": "nightly"}},
     r"^input\['training_job_name'\]: received str 'nightly'; expected no value: a fixed job name"),
    ({"schedule": "rate(1 day)"}, r"^schedule: received str 'rate\(1 day\)'; expected an aws_scheduler.ScheduleExpression"),
    ({"time_zone": "Europe/Berlin"}, r"^time_zone: received str 'Europe/Berlin'; expected an aws_cdk.TimeZone"),
    ({"time_zone": TimeZone.EUROPE_BERLIN}, r"^time_zone: .*expected no time zone with a rate\(\) schedule"),
    ({"schedule": scheduler.ScheduleExpression.cron(hour="2", time_zone=TimeZone.ASIA_TOKYO), "time_zone": TimeZone.EUROPE_BERLIN},
     r"^time_zone: .*expected the schedule's own time zone Asia/Tokyo"),
    ({"enabled": None}, r"^enabled: received None; expected True or False"),
    ({"description": 42}, r"^description: received int 42; expected a string"),
    ({"description": "x" * 513}, r"^description: received str 'x+\.\.\.; expected a string of at most 512"),
    ({"state_machine": None}, r"^state_machine: received None; expected an sfn.IStateMachine"),
])
def test_schedule_trigger_bad_props(kw, message):
    with pytest.raises(InvalidProp, match=message):
        _schedule(**kw)


# --------------------------------------------------------------------------- cdk-nag, cfn-lint
@pytest.fixture(scope="module")
def nagged(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    stack, machine = setup(app)
    data = FineTuningBucket(stack, "Data", removal_policy=cdk.RemovalPolicy.DESTROY)
    DatasetTrigger(stack, "Nightly", state_machine=machine, bucket=data.bucket, prefix="datasets/nightly/", input=SFT)
    ScheduleTrigger(stack, "Weekly", state_machine=machine, schedule=scheduler.ScheduleExpression.rate(Duration.days(7)),
                    input={"technique": "SFT", "training_dataset": "s3://acme/datasets/latest/"})
    app.synth()
    return stack, outdir


def test_cdk_nag_clean_for_the_triggers(nagged):
    stack, _ = nagged
    ann = Annotations.from_stack(stack)
    findings = ann.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) + ann.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    ours = [f for f in findings if f.id.startswith(("/T/Nightly", "/T/Weekly", "/T/Data"))]
    assert not ours, "\n".join(f"{f.id}: {str(f.entry.data)[:160]}" for f in ours)


def test_cfn_lint_clean_for_the_triggers(nagged):
    _, outdir = nagged
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--ignore-checks", "W3005", "--format", "json", "--", str(outdir / "T.template.json")],
        capture_output=True, text=True, check=False,
    )
    assert json.loads(result.stdout or "[]") == []


def test_the_pattern_adds_triggers_on_its_own_bucket_and_machine():
    from aws_cdk import aws_scheduler as scheduler

    from sagemaker_finetuning import InvalidProp, ServerlessFineTuning

    stack = cdk.Stack(cdk.App(), "Pattern", env=cdk.Environment(account="123456789012", region="us-east-1"))
    ft = ServerlessFineTuning(stack, "FineTuning")
    nightly = ft.add_dataset_trigger(prefix="datasets/nightly/", input={"technique": "SFT"})
    weekly = ft.add_schedule("Weekly", schedule=scheduler.ScheduleExpression.rate(cdk.Duration.days(7)),
                             input={"technique": "SFT", "training_dataset": "s3://acme/datasets/latest/"})
    assert nightly.node.id == "DatasetTrigger-datasets-nightly" and weekly.node.id == "Weekly"
    template = Template.from_stack(stack)
    rules = template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.s3"]}}})
    (rule,) = rules.values()
    pattern = rule["Properties"]["EventPattern"]["detail"]
    assert pattern["object"]["key"] == [{"wildcard": "datasets/nightly/*.jsonl"}]
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": stack.get_logical_id(ft.state_machine.node.default_child)}
    template.has_resource_properties("AWS::S3::Bucket", {"NotificationConfiguration": {"EventBridgeConfiguration": {}}})
    template.resource_count_is("AWS::Scheduler::Schedule", 1)
    with pytest.raises(InvalidProp, match=r"^prefix: received str 'uploads/'; expected a prefix under the stack's dataset prefix 'datasets/'"):
        ft.add_dataset_trigger(prefix="uploads/", input={"technique": "SFT"})
