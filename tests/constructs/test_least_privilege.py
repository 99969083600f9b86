"""Least privilege and alarms that fire: hub reads of two accounts only, cdk-nag suppressions that
name exactly what they cover, confused-deputy conditions for CloudWatch on the notification key and
topic, and a privacy-minded state machine log.

What AWS does with these policies (e.g. that CloudWatch can publish to the encrypted topic) is
verified offline only: these tests assert the synthesized policies (README, Limits)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from sagemaker_finetuning import JudgeModel, Notifications, ServerlessFineTuning

ENV = cdk.Environment(account="123456789012", region="us-east-1")


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test", env=ENV)


@pytest.fixture(scope="module")
def template() -> dict:
    stack = _stack()
    ServerlessFineTuning(stack, "FT", judge_model=JudgeModel.GPT_OSS_120B, notifications=Notifications.new_topic(),
                         dataset_buckets=[s3.Bucket.from_bucket_name(stack, "Shared", "team-shared-datasets")])
    return Template.from_stack(stack).to_json()


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _statements(template: dict, types=("AWS::IAM::Policy",)) -> list[tuple[str, dict]]:
    return [(lid, st) for lid, res in template["Resources"].items() if res["Type"] in types
            for st in res["Properties"]["PolicyDocument"]["Statement"]]


def _text(value) -> str:
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_text(v) for v in value["Fn::Join"][1])
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    return value if isinstance(value, str) else str(value)


def test_hubs_are_read_in_the_aws_account_public_hub_and_this_account_only(template):
    hub_resources = [_text(r).replace("<AWS::Partition>", "aws") for _, st in _statements(template) for r in _as_list(st["Resource"])
                     if ":hub/" in _text(r) or ":hub-content/" in _text(r)]
    assert hub_resources
    for arn in hub_resources:
        account = arn.split(":")[4]
        assert account in ("aws", "123456789012"), arn
        if account == "aws":
            assert arn.split(":")[5] in ("hub/SageMakerPublicHub", "hub-content/SageMakerPublicHub/*"), arn
    assert not [a for a in hub_resources if ":*:hub" in a]


def test_suppressions_name_exact_findings_and_resource_star_only_where_every_statement_needs_it(template):
    for lid, res in template["Resources"].items():
        rules = res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        for rule in rules:
            applies = rule.get("applies_to", [])
            assert not [a for a in applies if isinstance(a, dict)], f"{lid}: a regex suppression {rule}"
            if "Resource::*" in applies:
                assert res["Type"] == "AWS::IAM::Policy", lid
                resources = [r for st in res["Properties"]["PolicyDocument"]["Statement"] for r in _as_list(st["Resource"])]
                assert set(resources) == {"*"}, f"{lid} suppresses Resource::* but also grants {resources}"
    star = [(lid, st["Action"]) for lid, st in _statements(template) if "*" in _as_list(st["Resource"])]
    allowed = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
               "sagemaker:ListTrainingJobs", "cloudwatch:PutMetricData", "logs:CreateLogDelivery", "logs:GetLogDelivery",
               "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
               "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}
    assert {a for _, actions in star for a in _as_list(actions)} <= allowed


def test_a_whole_bucket_grant_added_later_is_still_reported():
    """The suppressions name this stack's prefixes and buckets; another bucket's objects are not hidden."""
    stack = _stack()
    ft = ServerlessFineTuning(stack, "FT")
    other = s3.Bucket(stack, "Unrelated", enforce_ssl=True)  # its own S1/S10 findings are not this test's business
    other.grant_read(ft.workflow.steps_function)
    ft.workflow.sweeper_function.add_to_role_policy(
        cdk.aws_iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]))
    cdk.Aspects.of(stack).add(AwsSolutionsChecks())
    errors = [str(e.entry.data) for e in Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-IAM5"))]
    logical = stack.get_logical_id(other.node.default_child)
    assert [e for e in errors if f"Resource::<{logical}.Arn>/*" in e]
    assert [e for e in errors if "Resource::*" in e and "ListModelPackages" not in e]  # the sweeper's new '*' grant


def test_cloudwatch_may_use_the_notification_key_and_topic_for_this_accounts_alarms_only(template):
    conditions = {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:us-east-1:123456789012:alarm:*"]]}},
    }
    keys = [st for _, res in template["Resources"].items() if res["Type"] == "AWS::KMS::Key"
            for st in res["Properties"]["KeyPolicy"]["Statement"]]
    (key_statement,) = [st for st in keys if st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert key_statement["Condition"] == conditions and set(key_statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    topic_statements = [st for _, st in _statements(template, ("AWS::SNS::TopicPolicy",))]
    (publish,) = [st for st in topic_statements if st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert publish["Action"] == "sns:Publish" and publish["Effect"] == "Allow" and publish["Condition"] == conditions
    assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in topic_statements)
    alarms = [res["Properties"] for res in template["Resources"].values() if res["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 4 and all(len(a["AlarmActions"]) == 1 for a in alarms)


def test_without_a_topic_the_alarms_have_no_action():
    stack = _stack()
    ServerlessFineTuning(stack, "FT")
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 4 and not [a for a in alarms if a["Properties"].get("AlarmActions")]


@pytest.mark.parametrize("kwargs, level, data", [
    ({}, "ALL", False),
    ({"log_execution_data": True}, "ALL", True),
    ({"log_level": sfn.LogLevel.ERROR}, "ERROR", False),
])
def test_the_state_machine_log_keeps_execution_data_out_by_default(kwargs, level, data):
    stack = _stack()
    ServerlessFineTuning(stack, "FT", **kwargs)
    (machine,) = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine").values()
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == level and logging["IncludeExecutionData"] is data
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
