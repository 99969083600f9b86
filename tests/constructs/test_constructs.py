"""aws_cdk.assertions on every construct: properties, IAM, counts, and clear validation errors."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from sagemaker_finetuning import (
    FineTuningBucket,
    FineTuningExecutionRole,
    ModelPackageGroup,
    RewardFunction,
    ServerlessFineTuning,
)

ENV = cdk.Environment(account="123456789012", region="us-east-1")


def new_stack(env: cdk.Environment | None = ENV) -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test", env=env)


def statements(template: Template) -> list[dict]:
    out = []
    for res in template.find_resources("AWS::IAM::Policy").values():
        out.extend(res["Properties"]["PolicyDocument"]["Statement"])
    for res in template.find_resources("AWS::IAM::Role").values():
        for pol in res["Properties"].get("Policies", []):
            out.extend(pol["PolicyDocument"]["Statement"])
    return out


def as_list(value):
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- FineTuningBucket
class TestBucket:
    def test_secure_defaults(self):
        stack = new_stack()
        FineTuningBucket(stack, "Bucket")
        t = Template.from_stack(stack)
        t.resource_count_is("AWS::S3::Bucket", 2)  # data + access logs
        t.has_resource("AWS::S3::Bucket", {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like({
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LoggingConfiguration": Match.object_like({"LogFilePrefix": "fine-tuning-bucket/"}),
                "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"Id": "Outputs", "Prefix": "outputs/"})])},
            }),
        })
        # TLS only, on both buckets
        policies = t.find_resources("AWS::S3::BucketPolicy")
        assert len(policies) == 2
        for pol in policies.values():
            denies = [s for s in pol["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
            assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
        assert not t.find_resources("AWS::S3::Bucket", {"Properties": {"AccessControl": Match.any_value()}})

    def test_customer_key(self):
        stack = new_stack()
        key = kms.Key(stack, "Key")
        FineTuningBucket(stack, "Bucket", encryption_key=key)
        Template.from_stack(stack).has_resource_properties("AWS::S3::Bucket", {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": Match.any_value()},
            }]},
        })

    def test_destroy_with_auto_delete_uses_python_provider(self):
        stack = new_stack()
        FineTuningBucket(stack, "Bucket", removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True)
        t = Template.from_stack(stack)
        t.resource_count_is("Custom::SageMakerFineTuningBucketCleanup", 1)
        t.has_resource_properties("AWS::Lambda::Function", {"Handler": "lambda_src.bucket_cleanup.handler.handler", "Runtime": "python3.14"})
        assert not t.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": Match.string_like_regexp("nodejs.*")}})

    def test_auto_delete_requires_destroy(self):
        with pytest.raises(ValueError, match=r"auto_delete_objects: received True .* expected removal_policy=RemovalPolicy.DESTROY"):
            FineTuningBucket(new_stack(), "Bucket", auto_delete_objects=True)

    def test_existing_bucket(self):
        stack = new_stack()
        existing = s3.Bucket.from_bucket_name(stack, "Existing", "my-data")
        b = FineTuningBucket(stack, "Bucket", bucket=existing)
        Template.from_stack(stack).resource_count_is("AWS::S3::Bucket", 0)
        assert b.bucket_name == "my-data"
        with pytest.raises(ValueError, match="bucket: received an existing bucket together with"):
            FineTuningBucket(stack, "Bucket2", bucket=existing, encryption_key=kms.Key(stack, "K"))


# --------------------------------------------------------------------------- ModelPackageGroup
class TestModelPackageGroup:
    def test_name_and_retain(self):
        stack = new_stack()
        ModelPackageGroup(stack, "Group", model_package_group_name="customer-support-chatbot-v1", description="d")
        Template.from_stack(stack).has_resource("AWS::SageMaker::ModelPackageGroup", {
            "DeletionPolicy": "Retain",
            "Properties": {"ModelPackageGroupName": "customer-support-chatbot-v1", "ModelPackageGroupDescription": "d"},
        })

    @pytest.mark.parametrize("bad", ["bad_name", "-lead", "trail-", "x" * 64, "sp ace", ""])
    def test_invalid_names_fail_synth(self, bad):
        with pytest.raises(ValueError) as err:
            ModelPackageGroup(new_stack(), "Group", model_package_group_name=bad)
        msg = str(err.value)
        assert msg.startswith("model_package_group_name: received ") and repr(bad) in msg and "expected 1-63" in msg

    def test_generated_name_is_valid_and_token_names_pass(self):
        stack = new_stack()
        g = ModelPackageGroup(stack, "Group")
        name = Template.from_stack(stack).to_json()["Resources"]
        (res,) = [r for r in name.values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", res["Properties"]["ModelPackageGroupName"])
        ModelPackageGroup(stack, "Tok", model_package_group_name=cdk.Fn.ref("AWS::StackName"))  # not validated: token
        assert g.model_package_group_arn

    def test_grants_and_import(self):
        stack = new_stack()
        group = ModelPackageGroup.from_model_package_group_name(stack, "G", "my-group")
        role = cdk.aws_iam.Role(stack, "R", assumed_by=cdk.aws_iam.ServicePrincipal("lambda.amazonaws.com"))
        group.grant_register(role)
        st = statements(Template.from_stack(stack))
        (s,) = [s for s in st if "sagemaker:CreateModelPackage" in as_list(s["Action"])]
        text = json.dumps(s["Resource"])
        assert "model-package-group/my-group" in text and "model-package/my-group/*" in text
        with pytest.raises(ValueError, match="model_package_group_name: received 'bad!'"):
            ModelPackageGroup.from_model_package_group_name(stack, "B", "bad!")
        arn_group = ModelPackageGroup.from_model_package_group_arn(stack, "A", "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/other")
        assert arn_group.model_package_group_name == "other"


# --------------------------------------------------------------------------- RewardFunction
class TestRewardFunction:
    def test_function_and_evaluator(self):
        stack = new_stack()
        rf = RewardFunction(stack, "Reward", components=[{"type": "numeric_match", "weight": 1.0}])
        t = Template.from_stack(stack)
        t.has_resource_properties("AWS::Lambda::Function", {
            "Handler": "lambda_src.reward.handler.handler",
            "Runtime": "python3.14",
            "FunctionName": Match.string_like_regexp("^sagemaker-reward-"),
            "TracingConfig": {"Mode": "Active"},
            "Environment": {"Variables": {"REWARD_CONTRACT": "open-weights", "REWARD_COMPONENTS": '[{"type": "numeric_match", "weight": 1.0}]'}},
        })
        t.has_resource_properties("Custom::SageMakerHubEvaluator", {
            "EvaluatorType": "RewardFunction",
            "Reference": {"Fn::GetAtt": [Match.string_like_regexp("RewardFunction"), "Arn"]},
            "EvaluatorName": Match.string_like_regexp(r"^rf-[0-9a-f]{17}$"),
        })
        t.has_resource_properties("AWS::Lambda::Permission", {"Principal": "sagemaker.amazonaws.com", "SourceAccount": "123456789012"})
        assert "EvaluatorArn" in json.dumps(stack.resolve(rf.evaluator_arn))

    def test_provider_is_a_singleton_with_scoped_permissions(self):
        stack = new_stack()
        RewardFunction(stack, "A")
        RewardFunction(stack, "B", contract="nova")
        t = Template.from_stack(stack)
        t.resource_count_is("Custom::SageMakerHubEvaluator", 2)
        providers = t.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "lambda_src.hub_registration.handler.handler"}})
        assert len(providers) == 1
        st = [s for s in statements(t) if "sagemaker:ImportHubContent" in as_list(s["Action"])]
        assert st and all("*" != r for s in st for r in as_list(s["Resource"]))

    def test_own_code(self, tmp_path):
        (tmp_path / "mine.py").write_text("def handler(event, context):\n    return []\n")
        stack = new_stack()
        RewardFunction(stack, "Own", code=lambda_.Code.from_asset(str(tmp_path)), handler="mine.handler", contract="nova")
        Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {"Handler": "mine.handler"})

    def test_bad_props(self):
        stack = new_stack()
        with pytest.raises(ValueError, match="contract: received 'bedrock'; expected one of open-weights, nova"):
            RewardFunction(stack, "A", contract="bedrock")
        with pytest.raises(ValueError, match="handler: received None with code set"):
            RewardFunction(stack, "B", code=lambda_.Code.from_inline("x"))
        with pytest.raises(ValueError, match="evaluator_name: received 'this-name-is-far-too-long'"):
            RewardFunction(stack, "C", evaluator_name="this-name-is-far-too-long")
        with pytest.raises(ValueError, match="function_name: received 'bad name'"):
            RewardFunction(stack, "D", function_name="bad name")


# --------------------------------------------------------------------------- ExecutionRole
class TestExecutionRole:
    def _role(self, **kwargs):
        stack = new_stack()
        bucket = FineTuningBucket(stack, "Bucket")
        group = ModelPackageGroup(stack, "Group", model_package_group_name="grp")
        rf = RewardFunction(stack, "Reward")
        FineTuningExecutionRole(stack, "Role", bucket=bucket, model_package_groups=[group], reward_functions=[rf.function], **kwargs)
        return Template.from_stack(stack)

    def test_trust_and_least_privilege(self):
        t = self._role()
        t.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [{
            "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }]}})
        st = statements(t)
        role_st = [s for s in st if any(a.startswith(("sagemaker:Describe", "s3:Put")) for a in as_list(s["Action"]))]
        assert role_st
        text = json.dumps(st)
        assert "bedrock:" not in text, "no Bedrock access unless RLAIF judges are enabled"
        assert "datasets/*" in text and "outputs/*" in text and "prompts/*" in text
        invoke = [s for s in st if "lambda:InvokeFunction" in as_list(s["Action"])]
        assert invoke and all("Reward" in json.dumps(s["Resource"]) for s in invoke)

    def test_judges_enable_bedrock_for_those_models_only(self):
        st = statements(self._role(judge_model_ids=["openai.gpt-oss-120b-1:0"]))
        (b,) = [s for s in st if "bedrock:InvokeModel" in as_list(s["Action"])]
        assert "foundation-model/openai.gpt-oss-120b-1:0" in json.dumps(b["Resource"])


# --------------------------------------------------------------------------- Pattern + workflow
class TestPattern:
    def test_no_argument_synth(self):
        stack = cdk.Stack(cdk.App(), "Plain")  # environment-agnostic
        p = ServerlessFineTuning(stack, "FineTuning")
        t = Template.from_stack(stack)
        for kind, n in {"AWS::S3::Bucket": 2, "AWS::SageMaker::ModelPackageGroup": 1, "AWS::StepFunctions::StateMachine": 1,
                        "Custom::SageMakerHubEvaluator": 1, "AWS::DynamoDB::Table": 1, "AWS::Events::Rule": 2,
                        "AWS::CloudWatch::Alarm": 3}.items():
            t.resource_count_is(kind, n)
        assert len(t.find_resources("AWS::Lambda::Function")) == 6
        outputs = t.to_json()["Outputs"]
        for key in ("StateMachineArn", "BucketName", "ModelPackageGroupName", "RewardEvaluatorArn", "ExecutionRoleArn"):
            assert any(k.startswith("FineTuning" + key) for k in outputs), key
        assert p.reward_function is not None and p.workflow.state_machine is p.state_machine

    def test_state_machine_logs_tracing_timeout(self):
        stack = new_stack()
        ServerlessFineTuning(stack, "FT", max_runtime=cdk.Duration.hours(10))
        t = Template.from_stack(stack)
        t.has_resource_properties("AWS::StepFunctions::StateMachine", {
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True, "Destinations": Match.any_value()},
            "TracingConfiguration": {"Enabled": True},
        })
        from conftest import resolve_definition  # tests/conftest.py
        asl = resolve_definition(t.to_json())
        assert asl["TimeoutSeconds"] == 10 * 3600 + 6 * 3600

    def test_pass_role_never_star_and_always_conditioned(self):
        stack = cdk.Stack(cdk.App(), "Plain")
        ServerlessFineTuning(stack, "FineTuning", judge_model_id="qwen.qwen3-32b-v1:0")
        st = statements(Template.from_stack(stack))
        passes = [s for s in st if "iam:PassRole" in as_list(s["Action"])]
        assert passes
        for s in passes:
            assert s["Resource"] != "*" and "*" not in as_list(s["Resource"])
            assert s["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        assert not [s for s in st if as_list(s["Action"]) == ["*"] or "iam:*" in as_list(s["Action"])]

    def test_judge_not_in_region_fails_synth(self):
        stack = cdk.Stack(cdk.App(), "Eu", env=cdk.Environment(account="123456789012", region="eu-west-1"))
        with pytest.raises(ValueError) as err:
            ServerlessFineTuning(stack, "FT", judge_model_id="qwen.qwen3-235b-a22b-2507-v1:0")
        msg = str(err.value)
        assert "judge_model_id: received 'qwen.qwen3-235b-a22b-2507-v1:0'" in msg and "eu-west-1" in msg and "openai.gpt-oss-120b-1:0" in msg

    def test_unknown_judge_and_bad_group_fail_synth(self):
        with pytest.raises(ValueError, match="judge_model_ids: received 'anthropic.claude'"):
            ServerlessFineTuning(new_stack(), "FT", judge_model_ids=["anthropic.claude"])
        with pytest.raises(ValueError, match=r"model_package_group_name: received 'Customer Support'.*expected 1-63"):
            ServerlessFineTuning(new_stack(), "FT", model_package_group_name="Customer Support")
        with pytest.raises(ValueError, match="max_runtime: received 0 seconds"):
            ServerlessFineTuning(new_stack(), "FT", max_runtime=cdk.Duration.seconds(0))
        with pytest.raises(ValueError, match="min_poll_interval: received 600 s with max_poll_interval 60 s"):
            ServerlessFineTuning(new_stack(), "FT", min_poll_interval=cdk.Duration.minutes(10), max_poll_interval=cdk.Duration.minutes(1))

    def test_notifications_topic_is_encrypted_and_used(self):
        stack = new_stack()
        ServerlessFineTuning(stack, "FT", enable_notifications=True)
        t = Template.from_stack(stack)
        t.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("NotificationsKey"), "Arn"]}})
        t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True, "KeyPolicy": {"Statement": Match.array_with([
            Match.object_like({"Sid": "CloudWatchAlarmsPublish", "Principal": {"Service": "cloudwatch.amazonaws.com"}})])}})
        t.has_resource_properties("AWS::Lambda::Function", {
            "Handler": "lambda_src.workflow.handler.on_execution_end",
            "Environment": {"Variables": Match.object_like({"NOTIFICATION_TOPIC_ARN": Match.any_value()})},
        })
        for alarm in t.find_resources("AWS::CloudWatch::Alarm").values():
            assert alarm["Properties"]["AlarmActions"]
