"""Gap 2: CloudFormation with SageMaker types, real custom resources and executable state machines."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest

from .helpers import wait_for, zip_bytes

CR_HANDLER = '''
import json, urllib.request
import boto3

def handler(event, context):
    props = event["ResourceProperties"]
    key = "%s/%s/%s.json" % (event["LogicalResourceId"], event["RequestType"], event["RequestId"])
    boto3.client("s3").put_object(Bucket=props["LogBucket"], Key=key, Body=json.dumps(event).encode())
    failing = props.get("Fail") == "true" and event["RequestType"] != "Delete"
    body = {
        "Status": "FAILED" if failing else "SUCCESS",
        "Reason": "asked to fail" if failing else "ok",
        "PhysicalResourceId": "thing-" + props["Value"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"Answer": "42", "Echo": props["Value"], "GroupArn": props.get("GroupArn", "")},
    }
    req = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT",
                                 headers={"Content-Type": ""})
    urllib.request.urlopen(req).read()
'''

INLINE_HANDLER = """import cfnresponse
def handler(event, context):
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Greeting": "hello " + event["ResourceProperties"]["Name"]})
"""

DEFINITION = {
    "StartAt": "Describe",
    "States": {
        "Describe": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeModelPackageGroup",
            "Parameters": {"ModelPackageGroupName.$": "$.group"},
            "ResultSelector": {"status.$": "$.ModelPackageGroupStatus", "arn.$": "$.ModelPackageGroupArn"},
            "End": True,
        }
    },
}


def template(value: int = 1, fail: bool = False, group: str = "cfn-group") -> dict:
    return {
        "Description": "emulator test stack",
        "Resources": {
            "Group": {
                "Type": "AWS::SageMaker::ModelPackageGroup",
                "Properties": {"ModelPackageGroupName": group, "ModelPackageGroupDescription": "test"},
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
            },
            "CrFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "cr.handler",
                    "Timeout": 30,
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": "cfn-assets", "S3Key": "cr.zip"},
                },
            },
            "InlineFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": INLINE_HANDLER},
                },
            },
            "Thing": {
                "Type": "Custom::Thing",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["CrFunction", "Arn"]},
                    "LogBucket": "cfn-log",
                    "Value": value,
                    "Fail": fail,
                    "GroupArn": {"Fn::GetAtt": ["Group", "ModelPackageGroupArn"]},
                },
            },
            "Greeter": {
                "Type": "AWS::CloudFormation::CustomResource",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["InlineFunction", "Arn"]}, "Name": "cfn"},
            },
            "FailedAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "Dimensions": [{"Name": "StateMachineArn", "Value": {"Ref": "Machine"}}],
                    "EvaluationPeriods": 1,
                    "MetricName": "ExecutionsFailed",
                    "Namespace": "AWS/States",
                    "Period": 300,
                    "Statistic": "Sum",
                    "Threshold": 1,
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "DefinitionString": json.dumps(DEFINITION),
                },
            },
        },
        "Outputs": {
            "GroupRef": {"Value": {"Ref": "Group"}},
            "GroupArn": {"Value": {"Fn::GetAtt": ["Group", "ModelPackageGroupArn"]}},
            "GroupStatus": {"Value": {"Fn::GetAtt": ["Group", "ModelPackageGroupStatus"]}},
            "Answer": {"Value": {"Fn::GetAtt": ["Thing", "Answer"]}},
            "Echo": {"Value": {"Fn::GetAtt": ["Thing", "Echo"]}},
            "ThingRef": {"Value": {"Ref": "Thing"}},
            "SeenGroup": {"Value": {"Fn::GetAtt": ["Thing", "GroupArn"]}},
            "Greeting": {"Value": {"Fn::GetAtt": ["Greeter", "Greeting"]}},
            "MachineArn": {"Value": {"Ref": "Machine"}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["FailedAlarm", "Arn"]}},
        },
    }


@pytest.fixture(scope="module")
def cfn(client):
    s3 = client("s3")
    for bucket in ("cfn-assets", "cfn-log"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="cfn-assets", Key="cr.zip", Body=zip_bytes({"cr.py": CR_HANDLER}))
    return client("cloudformation")


def outputs(cfn, stack: str) -> dict:
    desc = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs") or []}


def logged(s3, logical_id: str, request_type: str, stack: str) -> list[dict]:
    """The custom resource requests of one stack (every stack of this module logs to one bucket)."""
    keys = s3.list_objects_v2(Bucket="cfn-log", Prefix=f"{logical_id}/{request_type}/").get("Contents", [])
    events = [json.loads(s3.get_object(Bucket="cfn-log", Key=k["Key"])["Body"].read()) for k in keys]
    return [e for e in events if e["StackId"].split("/")[1] == stack]


def run_change_set(cfn, stack: str, body: dict, kind: str) -> None:
    cfn.create_change_set(
        StackName=stack, ChangeSetName=f"cs-{int(time.time() * 1000)}", TemplateBody=json.dumps(body), ChangeSetType=kind
    )
    name = cfn.list_change_sets(StackName=stack)["Summaries"][-1]["ChangeSetName"]
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)


def test_stack_lifecycle_create_update_delete(cfn, client):
    """One scenario in three phases: each phase needs the stack the previous one left."""
    _create_with_group_lambda_custom_resources_and_machine(cfn, client)
    _update_sends_update_and_replacement_delete(cfn, client)
    _delete_sends_delete_and_removes_the_group(cfn, client)


def _create_with_group_lambda_custom_resources_and_machine(cfn, client):
    s3, sm, sfn = client("s3"), client("sagemaker"), client("stepfunctions")
    cfn.create_stack(StackName="direct", TemplateBody=json.dumps(template()), Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName="direct")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(cfn, "direct")
    group = sm.describe_model_package_group(ModelPackageGroupName="cfn-group")
    assert out["GroupRef"] == out["GroupArn"] == group["ModelPackageGroupArn"]
    assert out["GroupStatus"] == "Completed"
    assert out["Answer"] == "42" and out["Echo"] == "1" and out["ThingRef"] == "thing-1"
    assert out["SeenGroup"] == group["ModelPackageGroupArn"]  # dependants saw the resolved ARN
    assert out["Greeting"] == "hello cfn"  # AWS::CloudFormation::CustomResource + inline cfnresponse
    alarm_name = out["AlarmArn"].rsplit(":", 1)[-1]
    alarm = client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": out["MachineArn"]}]
    (create,) = logged(s3, "Thing", "Create", "direct")
    assert create["ResourceProperties"]["Value"] == "1"  # CloudFormation stringifies scalars
    assert create["ResourceProperties"]["Fail"] == "false"
    assert create["ResourceType"] == "Custom::Thing"

    # the CFN-created state machine runs in the executing backend
    arn = sfn.start_execution(stateMachineArn=out["MachineArn"], input=json.dumps({"group": "cfn-group"}))["executionArn"]
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"status": "Completed", "arn": group["ModelPackageGroupArn"]}


def _update_sends_update_and_replacement_delete(cfn, client):
    s3 = client("s3")
    cfn.update_stack(StackName="direct", TemplateBody=json.dumps(template(value=2)))
    assert cfn.describe_stacks(StackName="direct")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    (update,) = logged(s3, "Thing", "Update", "direct")
    assert update["OldResourceProperties"]["Value"] == "1" and update["ResourceProperties"]["Value"] == "2"
    assert update["PhysicalResourceId"] == "thing-1"
    (cleanup,) = logged(s3, "Thing", "Delete", "direct")  # the physical id changed: the old one is deleted
    assert cleanup["PhysicalResourceId"] == "thing-1"
    out = outputs(cfn, "direct")
    assert out["Echo"] == "2" and out["ThingRef"] == "thing-2"


def _delete_sends_delete_and_removes_the_group(cfn, client):
    s3, sm = client("s3"), client("sagemaker")
    cfn.delete_stack(StackName="direct")
    deletes = logged(s3, "Thing", "Delete", "direct")
    assert {d["PhysicalResourceId"] for d in deletes} == {"thing-1", "thing-2"}
    with pytest.raises(sm.exceptions.ClientError):
        sm.describe_model_package_group(ModelPackageGroupName="cfn-group")


def test_change_set_deploy_waits_and_has_outputs(cfn, client, emulator):
    s3 = client("s3")
    body = template(value=5, group="cs-group")
    # TemplateURL on 127.0.0.1 (what `cdk deploy` sends with an IP endpoint)
    s3.put_object(Bucket="cfn-assets", Key="stack.json", Body=json.dumps(body).encode())
    url = f"http://127.0.0.1:{emulator.port}/cfn-assets/stack.json"
    cfn.create_change_set(StackName="viacs", ChangeSetName="cs1", TemplateURL=url, ChangeSetType="CREATE")
    assert cfn.describe_change_set(StackName="viacs", ChangeSetName="cs1")["Status"] == "CREATE_COMPLETE"
    cfn.execute_change_set(StackName="viacs", ChangeSetName="cs1")
    assert cfn.describe_stacks(StackName="viacs")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(cfn, "viacs")
    assert out["Echo"] == "5" and out["Greeting"] == "hello cfn"
    assert out["GroupArn"].endswith(":model-package-group/cs-group")
    # an UPDATE change set also sends Update and refreshes the outputs
    run_change_set(cfn, "viacs", template(value=6, group="cs-group"), "UPDATE")
    assert outputs(cfn, "viacs")["Echo"] == "6"
    assert cfn.describe_stacks(StackName="viacs")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_failed_custom_resource_fails_and_rolls_back(cfn, client):
    s3, sm = client("s3"), client("sagemaker")
    body = template(value=9, fail=True, group="failing-group")
    cfn.create_stack(StackName="failing", TemplateBody=json.dumps(body))
    stack = cfn.describe_stacks(StackName="failing")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="failing")["StackEvents"]
    reasons = [e.get("ResourceStatusReason") or "" for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("asked to fail" in r for r in reasons), reasons
    # rollback deleted what had been created
    with pytest.raises(sm.exceptions.ClientError):
        sm.describe_model_package_group(ModelPackageGroupName="failing-group")
    # an update whose custom resource fails: UPDATE_ROLLBACK_COMPLETE, the handler is called once
    cfn.create_stack(StackName="upd", TemplateBody=json.dumps(template(value=3, group="upd-group")))
    before = len(logged(s3, "Thing", "Update", "upd"))
    cfn.update_stack(StackName="upd", TemplateBody=json.dumps(template(value=4, fail=True, group="upd-group")))
    assert cfn.describe_stacks(StackName="upd")["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert len(logged(s3, "Thing", "Update", "upd")) == before + 1


def test_non_python_provider_is_acknowledged_as_simulated(cfn):
    body = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
            },
            "NodeFn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "nodejs20.x",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "exports.handler = async () => {}"},
                },
            },
            "AutoDelete": {
                "Type": "Custom::S3AutoDeleteObjects",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["NodeFn", "Arn"]}, "BucketName": "x"},
            },
        }
    }
    cfn.create_stack(StackName="nodeprov", TemplateBody=json.dumps(body))
    assert cfn.describe_stacks(StackName="nodeprov")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    res = cfn.describe_stack_resource(StackName="nodeprov", LogicalResourceId="AutoDelete")["StackResourceDetail"]
    assert "SIMULATED" in res["PhysicalResourceId"]


def test_resource_error_becomes_rollback_not_500(cfn):
    body = copy.deepcopy(template(group="bad-role-group"))
    body["Resources"]["CrFunction"]["Properties"]["Role"] = "arn:aws:iam::123456789012:role/does-not-exist"
    cfn.create_stack(StackName="badrole", TemplateBody=json.dumps(body))
    stack = cfn.describe_stacks(StackName="badrole")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") or "" for e in cfn.describe_stack_events(StackName="badrole")["StackEvents"]]
    assert any("cannot be assumed by Lambda" in r for r in reasons), reasons


def test_cdk_style_update_flow(cfn, client):
    """What ``cdk deploy`` does for an existing stack: SSM parameter with UsePreviousValue,
    DeleteChangeSet of the old change set, DescribeChangeSet until ChangeSetNotFound."""
    client("ssm").put_parameter(Name="/cdk-bootstrap/test/version", Value="30", Type="String")

    def body(value: int) -> dict:
        b = template(value=value, group="cdk-group")
        b["Parameters"] = {
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/test/version"}
        }
        b["Outputs"]["Bootstrap"] = {"Value": {"Ref": "BootstrapVersion"}}
        return b

    cfn.create_change_set(StackName="cdkish", ChangeSetName="cdk-deploy-change-set", TemplateBody=json.dumps(body(1)), ChangeSetType="CREATE")
    cfn.execute_change_set(StackName="cdkish", ChangeSetName="cdk-deploy-change-set")
    assert outputs(cfn, "cdkish")["Bootstrap"] == "30"
    cfn.delete_change_set(StackName="cdkish", ChangeSetName="cdk-deploy-change-set")
    cfn.delete_change_set(StackName="cdkish", ChangeSetName="cdk-deploy-change-set")  # missing: still fine
    with pytest.raises(cfn.exceptions.ChangeSetNotFoundException):
        cfn.describe_change_set(StackName="cdkish", ChangeSetName="cdk-deploy-change-set")
    cfn.create_change_set(
        StackName="cdkish",
        ChangeSetName="cdk-deploy-change-set",
        TemplateBody=json.dumps(body(2)),
        ChangeSetType="UPDATE",
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    cfn.execute_change_set(StackName="cdkish", ChangeSetName="cdk-deploy-change-set")
    assert cfn.describe_stacks(StackName="cdkish")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    out = outputs(cfn, "cdkish")
    assert out["Bootstrap"] == "30" and out["Echo"] == "2"


ON_EVENT = """
def on_event(event, context):
    props = event["ResourceProperties"]
    return {"PhysicalResourceId": "prov-" + props["Name"], "Data": {"Upper": props["Name"].upper()}}

def is_complete(event, context):
    return {"IsComplete": True, "Data": {"Checked": event["PhysicalResourceId"]}}
"""


def test_cdk_provider_framework_and_hub_type_are_emulated(cfn, client):
    """``custom_resources.Provider`` (a Node.js framework function) calls the user's Python functions."""
    role = {"Fn::GetAtt": ["Role", "Arn"]}
    body = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []}}},
            "OnEvent": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Runtime": "python3.12", "Handler": "index.on_event", "Role": role, "Code": {"ZipFile": ON_EVENT}},
            },
            "IsComplete": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Runtime": "python3.12", "Handler": "index.is_complete", "Role": role, "Code": {"ZipFile": ON_EVENT}},
            },
            "Framework": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "nodejs20.x",
                    "Handler": "framework.onEvent",
                    "Role": role,
                    "Code": {"ZipFile": "exports.onEvent = async () => {}"},
                    "Environment": {
                        "Variables": {
                            "USER_ON_EVENT_FUNCTION_ARN": {"Fn::GetAtt": ["OnEvent", "Arn"]},
                            "USER_IS_COMPLETE_FUNCTION_ARN": {"Fn::GetAtt": ["IsComplete", "Arn"]},
                        }
                    },
                },
            },
            "Res": {
                "Type": "AWS::CloudFormation::CustomResource",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Framework", "Arn"]}, "Name": "abc"},
            },
            "Hub": {"Type": "AWS::SageMaker::Hub", "Properties": {"HubName": "cfn-hub", "HubDescription": "from CFN"}},
        },
        "Outputs": {
            "Upper": {"Value": {"Fn::GetAtt": ["Res", "Upper"]}},
            "Checked": {"Value": {"Fn::GetAtt": ["Res", "Checked"]}},
            "Ref": {"Value": {"Ref": "Res"}},
            "HubArn": {"Value": {"Fn::GetAtt": ["Hub", "HubArn"]}},
        },
    }
    cfn.create_stack(StackName="provider", TemplateBody=json.dumps(body))
    assert cfn.describe_stacks(StackName="provider")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(cfn, "provider")
    assert out == {
        "Upper": "ABC",
        "Checked": "prov-abc",
        "Ref": "prov-abc",
        "HubArn": "arn:aws:sagemaker:us-east-1:123456789012:hub/cfn-hub",
    }
    assert client("sagemaker").describe_hub(HubName="cfn-hub")["HubDescription"] == "from CFN"
    cfn.delete_stack(StackName="provider")
    with pytest.raises(client("sagemaker").exceptions.ResourceNotFound):
        client("sagemaker").describe_hub(HubName="cfn-hub")


def test_failed_create_gets_the_rollback_delete_with_its_physical_id(cfn, client):
    """AWS: a custom resource that answered FAILED to Create gets a Delete during the rollback, with
    the PhysicalResourceId of its FAILED response (it may have created something before failing)."""
    s3 = client("s3")
    cfn.create_stack(StackName="failing-rollback", TemplateBody=json.dumps(template(value=7, fail=True, group="rollback-group")))
    assert cfn.describe_stacks(StackName="failing-rollback")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    (create,) = logged(s3, "Thing", "Create", "failing-rollback")
    (delete,) = logged(s3, "Thing", "Delete", "failing-rollback")
    assert delete["PhysicalResourceId"] == "thing-7" and delete["ResourceProperties"] == create["ResourceProperties"]
    assert delete["LogicalResourceId"] == "Thing" and delete["StackId"] == create["StackId"]


# -- the library's bucket clean-up handler, run by the emulator's Lambda runtime --------------------
BUCKET_CLEANUP = Path(__file__).resolve().parents[2] / "lambda_src" / "bucket_cleanup" / "handler.py"


def cleanup_template(bucket: str) -> dict:
    role = {"Fn::GetAtt": ["Role", "Arn"]}
    return {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}},
        "CleanupFn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "handler.handler", "Timeout": 60, "Role": role,
            "Code": {"S3Bucket": "cfn-assets", "S3Key": "bucket-cleanup.zip"}}},
        "Cleanup": {"Type": "Custom::SageMakerFineTuningBucketCleanup",
                    "Properties": {"ServiceToken": {"Fn::GetAtt": ["CleanupFn", "Arn"]}, "BucketName": bucket}},
    }}


def _versioned_bucket(s3, name: str, lock: bool = False) -> None:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        s3.put_object(Bucket=name, Key="datasets/a.jsonl", Body=body)
    s3.put_object(Bucket=name, Key="outputs/x", Body=b"x")
    s3.delete_object(Bucket=name, Key="outputs/x")  # a delete marker


def _object_versions(s3, name: str) -> int:
    listed = s3.list_object_versions(Bucket=name)
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))


@pytest.fixture(scope="module")
def cleanup_code(cfn, client):
    client("s3").put_object(Bucket="cfn-assets", Key="bucket-cleanup.zip", Body=zip_bytes({"handler.py": BUCKET_CLEANUP.read_text()}))


def test_bucket_cleanup_empties_the_replaced_bucket_once_the_update_succeeded(cfn, client, cleanup_code):
    """A new BucketName answers a new physical id; CloudFormation then sends Delete (old properties)
    for the old one, which empties the old bucket; the stack delete empties the current one."""
    s3 = client("s3")
    for name in ("bc-old", "bc-new"):
        _versioned_bucket(s3, name)
    cfn.create_stack(StackName="cleanup", TemplateBody=json.dumps(cleanup_template("bc-old")))
    assert cfn.describe_stacks(StackName="cleanup")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert (_object_versions(s3, "bc-old"), _object_versions(s3, "bc-new")) == (4, 4)
    cfn.update_stack(StackName="cleanup", TemplateBody=json.dumps(cleanup_template("bc-new")))
    assert cfn.describe_stacks(StackName="cleanup")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    res = cfn.describe_stack_resource(StackName="cleanup", LogicalResourceId="Cleanup")["StackResourceDetail"]
    assert res["PhysicalResourceId"] == "bc-new"
    assert (_object_versions(s3, "bc-old"), _object_versions(s3, "bc-new")) == (0, 4)
    cfn.delete_stack(StackName="cleanup")
    assert _object_versions(s3, "bc-new") == 0


def test_bucket_cleanup_fails_the_stack_delete_when_s3_keeps_a_version(cfn, client, cleanup_code):
    """DeleteObjects answers per-key Errors (here: a legal hold): the Delete answers FAILED naming the key."""
    s3 = client("s3")
    _versioned_bucket(s3, "bc-locked", lock=True)
    s3.put_object(Bucket="bc-locked", Key="outputs/held.bin", Body=b"h", ObjectLockLegalHoldStatus="ON")
    cfn.create_stack(StackName="cleanup-locked", TemplateBody=json.dumps(cleanup_template("bc-locked")))
    cfn.delete_stack(StackName="cleanup-locked")
    stack = cfn.describe_stacks(StackName="cleanup-locked")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    reasons = [e.get("ResourceStatusReason") or "" for e in cfn.describe_stack_events(StackName="cleanup-locked")["StackEvents"]]
    assert any("1 object version(s) of bucket bc-locked could not be deleted: outputs/held.bin (AccessDenied)" in r for r in reasons), reasons
    assert _object_versions(s3, "bc-locked") == 1  # everything else was deleted
