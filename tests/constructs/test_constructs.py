"""aws_cdk.assertions on every construct: properties, IAM, counts, and clear validation errors."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_finetuning import (
    FineTuningBucket,
    FineTuningExecutionRole,
    FineTuningStorage,
    JudgeModel,
    ModelPackageGroup,
    ModelPackageGroupSource,
    Notifications,
    RewardContract,
    RewardFunction,
    RewardFunctionSource,
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
        t.resource_count_is("Custom::SageMakerFineTuningBucketCleanup", 2)  # the data bucket and the log bucket it made
        mine = s3.Bucket(new_stack(), "Logs")
        other = FineTuningBucket(mine.stack, "B", removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True,
                                 server_access_logs_bucket=mine)
        assert other.access_logs_bucket is mine  # a log bucket you pass is yours: never emptied
        Template.from_stack(mine.stack).resource_count_is("Custom::SageMakerFineTuningBucketCleanup", 1)
        t.has_resource_properties("AWS::Lambda::Function", {"Handler": "lambda_src.bucket_cleanup.handler.handler", "Runtime": "python3.14"})
        assert not t.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": Match.string_like_regexp("nodejs.*")}})

    def test_auto_delete_requires_destroy(self):
        with pytest.raises(ValueError, match=r"auto_delete_objects: received True; expected removal_policy=RemovalPolicy.DESTROY with it"):
            FineTuningBucket(new_stack(), "Bucket", auto_delete_objects=True)

    def test_existing_bucket_with_its_own_prefixes(self):
        """An existing bucket is passed as it is (an s3.IBucket), never wrapped or modified."""
        stack = new_stack()
        existing = s3.Bucket.from_bucket_name(stack, "Existing", "my-data")
        ft = ServerlessFineTuning(stack, "FT", storage=FineTuningStorage.existing_bucket(
            existing, dataset_prefix="ml/datasets/", output_prefix="ml/outputs/", prompt_prefix="ml/prompts/"))
        t = Template.from_stack(stack)
        t.resource_count_is("AWS::S3::Bucket", 0)
        assert ft.bucket is existing and ft.fine_tuning_bucket is None
        text = json.dumps(statements(t))
        assert "my-data/ml/datasets/*" in text and "my-data/ml/outputs/*" in text and "my-data/ml/prompts/*" in text
        assert '"datasets/*"' not in text and "/datasets/*" not in text.replace("ml/datasets/*", "")
        settings = [f for f in t.find_resources("AWS::Lambda::Function").values()
                    if "FINETUNE_SETTINGS" in json.dumps(f["Properties"].get("Environment", {}))]
        assert settings and '\\"dataset_prefix\\":\\"ml/datasets/\\"' in json.dumps(settings[0]) or "ml/datasets/" in json.dumps(settings[0])
        with pytest.raises(ValueError, match=r"dataset_prefix: received str 'ml/datasets/'; expected a prefix that neither contains nor lies under output_prefix"):
            FineTuningStorage.existing_bucket(existing, output_prefix="ml/datasets/out/", dataset_prefix="ml/datasets/")
        with pytest.raises(ValueError, match=r"dataset_prefix: received str '/data'; expected an S3 key prefix"):
            FineTuningStorage.existing_bucket(existing, dataset_prefix="/data")


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
        assert msg.startswith("model_package_group_name: received str ") and repr(bad) in msg and "expected 1-63" in msg

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
        with pytest.raises(ValueError, match="model_package_group_name: received str 'bad!'"):
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
        RewardFunction(stack, "B", contract=RewardContract.NOVA)
        t = Template.from_stack(stack)
        t.resource_count_is("Custom::SageMakerHubEvaluator", 2)
        providers = t.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "lambda_src.hub_registration.handler.handler"}})
        assert len(providers) == 1
        st = [s for s in statements(t) if "sagemaker:ImportHubContent" in as_list(s["Action"])]
        assert st and all("*" != r for s in st for r in as_list(s["Resource"]))

    def test_own_code(self, tmp_path):
        (tmp_path / "mine.py").write_text("def handler(event, context):\n    return []\n")
        stack = new_stack()
        RewardFunction(stack, "Own", code=lambda_.Code.from_asset(str(tmp_path)), handler="mine.handler", contract=RewardContract.NOVA)
        Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {"Handler": "mine.handler"})

    def test_bad_props(self):
        stack = new_stack()
        with pytest.raises(ValueError, match="contract: received str 'bedrock'; expected RewardContract.OPEN_WEIGHTS or RewardContract.NOVA"):
            RewardFunction(stack, "A", contract="bedrock")
        with pytest.raises(ValueError, match="handler: received None; expected both code and handler"):
            RewardFunction(stack, "B", code=lambda_.Code.from_inline("x"))
        with pytest.raises(ValueError, match="evaluator_name: received str 'this-name-is-far-too-long'"):
            RewardFunction(stack, "C", evaluator_name="this-name-is-far-too-long")
        with pytest.raises(ValueError, match="function_name: received str 'bad name'"):
            RewardFunction(stack, "D", function_name="bad name")
        # the library handler's own check, at synth time instead of at the first reward call
        with pytest.raises(ValueError, match=r"components: received list of 1; expected components the reward handler accepts"):
            RewardFunction(stack, "E", components=[{"name": "exactmatch"}])
        with pytest.raises(ValueError, match=r"timeout: received int 60; expected an aws_cdk.Duration \(e.g. Duration.seconds\(60\)\)"):
            RewardFunction(stack, "F", timeout=60)


# --------------------------------------------------------------------------- ExecutionRole
class TestExecutionRole:
    def _role(self, **kwargs):
        stack = new_stack()
        bucket = FineTuningBucket(stack, "Bucket")
        group = ModelPackageGroup(stack, "Group", model_package_group_name="grp")
        rf = RewardFunction(stack, "Reward")
        FineTuningExecutionRole(stack, "Role", bucket=bucket.bucket, model_package_groups=[group], reward_functions=[rf.function], **kwargs)
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
        st = statements(self._role(judge_models=[JudgeModel.GPT_OSS_120B]))
        (b,) = [s for s in st if "bedrock:InvokeModel" in as_list(s["Action"])]
        assert "foundation-model/openai.gpt-oss-120b-1:0" in json.dumps(b["Resource"])

    def test_a_role_you_pass_gets_the_same_statements(self):
        stack = new_stack()
        bucket = FineTuningBucket(stack, "Bucket")
        mine = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
        imported = iam.Role.from_role_arn(stack, "Imported", "arn:aws:iam::123456789012:role/team-training")
        own = FineTuningExecutionRole(stack, "Own", bucket=bucket.bucket)
        r1 = FineTuningExecutionRole(stack, "R1", bucket=bucket.bucket, role=mine)
        r2 = FineTuningExecutionRole(stack, "R2", bucket=bucket.bucket, role=imported)
        policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()

        def attached_to(role: iam.IRole) -> list:
            ref = stack.resolve(role.role_name)
            return [p["Properties"]["PolicyDocument"]["Statement"] for p in policies if p["Properties"]["Roles"] == [ref]]

        # the role's (default) policy, and AnyResourcePolicy for cloudwatch:PutMetricData on '*'
        own_st, mine_st, imported_st = (sum(attached_to(r), []) for r in (own.role, mine, imported))
        assert len(own_st) == len(mine_st) == len(imported_st) == len(own.statements)
        assert [len(attached_to(r)) for r in (own.role, mine, imported)] == [2, 2, 2]
        assert r1.dropped == [] and r2.dropped == []
        assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("did not take these permissions"))

    def test_an_immutable_role_gets_a_permission_notice_listing_the_statements(self):
        stack = new_stack()
        bucket = FineTuningBucket(stack, "Bucket")
        frozen = iam.Role.from_role_arn(stack, "Frozen", "arn:aws:iam::123456789012:role/platform-owned", mutable=False)
        role = FineTuningExecutionRole(stack, "Role", bucket=bucket.bucket, judge_models=[JudgeModel.GPT_OSS_20B])
        frozen_role = FineTuningExecutionRole(stack, "Frozen2", bucket=bucket.bucket, judge_models=[JudgeModel.GPT_OSS_20B], role=frozen)
        assert len(frozen_role.dropped) == len(role.statements) > 5
        (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("did not take these permissions"))
        text = warning.entry.data
        assert "platform-owned" in text and "bedrock:InvokeModel" in text and "datasets/*" in text and "s3:PutObject" in text
        assert not [p for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
                    if "platform-owned" in json.dumps(p)]

    def test_bad_props_name_prop_value_and_expectation(self):
        stack = new_stack()
        with pytest.raises(ValueError, match=r"bucket: received str 'acme-data'; expected an s3.IBucket \(for a bucket by name"):
            FineTuningExecutionRole(stack, "A", bucket="acme-data")
        bucket = FineTuningBucket(stack, "Bucket")
        with pytest.raises(ValueError, match=r"judge_models\[0\]: received str 'openai.gpt-oss-120b-1:0'; expected JudgeModel values"):
            FineTuningExecutionRole(stack, "B", bucket=bucket.bucket, judge_models=["openai.gpt-oss-120b-1:0"])
        with pytest.raises(ValueError, match=r"role: received str 'arn:aws:iam::123456789012:role/x'; expected an iam.IRole"):
            FineTuningExecutionRole(stack, "C", bucket=bucket.bucket, role="arn:aws:iam::123456789012:role/x")
        with pytest.raises(ValueError, match=r"mlflow_resource_arn: received str 'my-mlflow'; expected an MLflow app or tracking server ARN"):
            FineTuningExecutionRole(stack, "D", bucket=bucket.bucket, mlflow_resource_arn="my-mlflow")


# --------------------------------------------------------------------------- Pattern + workflow
class TestPattern:
    def test_no_argument_synth(self):
        stack = cdk.Stack(cdk.App(), "Plain")  # environment-agnostic
        p = ServerlessFineTuning(stack, "FineTuning")
        t = Template.from_stack(stack)
        for kind, n in {"AWS::S3::Bucket": 2, "AWS::SageMaker::ModelPackageGroup": 1, "AWS::StepFunctions::StateMachine": 1,
                        "Custom::SageMakerHubEvaluator": 1, "AWS::DynamoDB::Table": 1, "AWS::Events::Rule": 3,
                        "AWS::CloudWatch::Alarm": 4, "AWS::SQS::Queue": 1}.items():
            t.resource_count_is(kind, n)
        assert len(t.find_resources("AWS::Lambda::Function")) == 7
        assert "Outputs" not in t.to_json(), "the library emits no CloudFormation outputs (the app does)"
        assert set(p.outputs()) == {"StateMachineArn", "BucketName", "ModelPackageGroupName", "RewardEvaluatorArn", "ExecutionRoleArn"}
        assert p.reward_function is not None and p.workflow.state_machine is p.state_machine

    def test_two_patterns_in_one_stack(self):
        stack = new_stack()
        a = ServerlessFineTuning(stack, "TeamA", model_package_group=ModelPackageGroupSource.new_group("team-a-v1"))
        b = ServerlessFineTuning(stack, "TeamB", model_package_group=ModelPackageGroupSource.new_group("team-b-v1"),
                                 reward_function=RewardFunctionSource.none())
        t = Template.from_stack(stack)
        t.resource_count_is("AWS::StepFunctions::StateMachine", 2)
        t.resource_count_is("Custom::SageMakerHubEvaluator", 1)
        assert b.reward_function is None and a.reward_function is not None
        with pytest.raises(ValueError, match="reward_function: received str 'RewardFunctionSource.none\\(\\)'"):
            b.metric_reward_errors()

    def test_removal_policy_reaches_every_stateful_resource(self):
        stateful = ("AWS::Logs::LogGroup", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SageMaker::ModelPackageGroup")
        for policy, expected in ((cdk.RemovalPolicy.RETAIN, "Retain"), (cdk.RemovalPolicy.DESTROY, "Delete")):
            stack = new_stack()
            ServerlessFineTuning(stack, "FT", removal_policy=policy)
            resources = Template.from_stack(stack).to_json()["Resources"]
            # the pattern's own (the stack's shared custom-resource providers live outside it)
            mine = {k: r for k, r in resources.items() if r["Type"] in stateful and k.startswith("FT")}
            assert len(mine) == 11, sorted(mine)
            assert {k: r.get("DeletionPolicy") for k, r in mine.items()} == {k: expected for k in mine}

    def test_metrics_take_the_usual_options(self):
        stack = new_stack()
        ft = ServerlessFineTuning(stack, "FT")
        m = ft.metric_failed(period=cdk.Duration.minutes(1), statistic="Maximum", label="failed runs")
        assert m.metric_name == "ExecutionsFailed" and m.period.to_seconds() == 60 and m.statistic == "Maximum" and m.label == "failed runs"
        assert ft.metric_reward_errors(period=cdk.Duration.hours(1)).period.to_seconds() == 3600
        assert ft.metric_reward_duration().metric_name == "Duration"

    def test_wrong_props_fail_synth_with_a_sentence(self):
        cases = [
            (dict(max_runtime=3600), r"max_runtime: received int 3600; expected an aws_cdk.Duration \(e.g. Duration.seconds\(3600\)\)"),
            (dict(storage="acme-data"), r"storage: received str 'acme-data'; expected FineTuningStorage.new_bucket"),
            (dict(judge_model="openai.gpt-oss-120b-1:0"), r"judge_model: received str 'openai.gpt-oss-120b-1:0'; expected a JudgeModel"),
            (dict(notifications=True), r"notifications: received True; expected Notifications.none\(\)"),
            (dict(dataset_buckets="bucket-a"), r"dataset_buckets: received str 'bucket-a'; expected a list"),
            (dict(tags={"team": 1}), r"tags: received dict of 1; expected a mapping of strings to strings"),
            (dict(removal_policy="RETAIN"), r"removal_policy: received str 'RETAIN'; expected an aws_cdk.RemovalPolicy"),
        ]
        for kwargs, message in cases:
            with pytest.raises(ValueError, match=message):
                ServerlessFineTuning(new_stack(), "FT", **kwargs)
        from sagemaker_finetuning import BuiltinJudgePrompt, JudgePromptSource
        with pytest.raises(ValueError, match=r"prompt: received str 'Faithfulness'; expected a BuiltinJudgePrompt"):
            JudgePromptSource.builtin("Faithfulness")
        with pytest.raises(ValueError, match=r"name: received str 'Helpful'"):
            BuiltinJudgePrompt("Helpful")

    def test_state_machine_logs_tracing_timeout(self):
        stack = new_stack()
        ServerlessFineTuning(stack, "FT", max_runtime=cdk.Duration.hours(10))
        t = Template.from_stack(stack)
        t.has_resource_properties("AWS::StepFunctions::StateMachine", {
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": False, "Destinations": Match.any_value()},
            "TracingConfiguration": {"Enabled": True},
        })
        (sm,) = t.find_resources("AWS::StepFunctions::StateMachine").values()
        assert [d for d in sm["DependsOn"] if "ObservabilityPolicy" in d]  # delivery allowed before the first log
        from conftest import resolve_definition  # tests/conftest.py
        asl = resolve_definition(t.to_json())
        assert asl["TimeoutSeconds"] == 10 * 3600 + 6 * 3600

    def test_pass_role_never_star_and_always_conditioned(self):
        stack = cdk.Stack(cdk.App(), "Plain")
        ServerlessFineTuning(stack, "FineTuning", judge_model=JudgeModel.QWEN3_32B)
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
            ServerlessFineTuning(stack, "FT", judge_model=JudgeModel.QWEN3_235B_A22B_2507)
        msg = str(err.value)
        assert "judge_model: received JudgeModel('qwen.qwen3-235b-a22b-2507-v1:0')" in msg and "eu-west-1" in msg and "openai.gpt-oss-120b-1:0" in msg

    def test_unknown_judge_and_bad_group_fail_synth(self):
        with pytest.raises(ValueError, match="model_id: received str 'anthropic.claude'"):
            ServerlessFineTuning(new_stack(), "FT", judge_model=JudgeModel("anthropic.claude"))
        with pytest.raises(ValueError, match=r"model_package_group_name: received str 'Customer Support'.*expected 1-63"):
            ServerlessFineTuning(new_stack(), "FT", model_package_group=ModelPackageGroupSource.new_group("Customer Support"))
        with pytest.raises(ValueError, match=r"^max_runtime: received Duration 0 seconds; expected between 1 second and 28 days$"):
            ServerlessFineTuning(new_stack(), "FT", max_runtime=cdk.Duration.seconds(0))
        with pytest.raises(ValueError, match=r"^min_poll_interval: received Duration 10 minutes; expected at most max_poll_interval \(Duration 1 minute\)$"):
            ServerlessFineTuning(new_stack(), "FT", min_poll_interval=cdk.Duration.minutes(10), max_poll_interval=cdk.Duration.minutes(1))

    def test_notifications_topic_is_encrypted_and_used(self):
        stack = new_stack()
        ServerlessFineTuning(stack, "FT", notifications=Notifications.new_topic())
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


# --------------------------------------------------------------------------- custom resources: ownership and least privilege
def _cleanup_policy(t: Template) -> dict:
    """The clean-up provider's own policy (its X-Ray grant is the separate ...TracingPolicy)."""
    (policy,) = [r for k, r in t.find_resources("AWS::IAM::Policy").items()
                 if k.startswith("SageMakerFineTuningBucketCleanupProviderServiceRoleDefaultPolicy")]
    return policy


def test_hub_evaluator_adopt_existing_is_opt_in_and_reaches_the_handler():
    from sagemaker_finetuning import EvaluatorType, HubEvaluator

    stack = new_stack()
    ref = "arn:aws:lambda:us-east-1:123456789012:function:reward"
    HubEvaluator(stack, "Mine", evaluator_type=EvaluatorType.REWARD_FUNCTION, reference=ref, evaluator_name="rf-mine")
    HubEvaluator(stack, "Adopted", evaluator_type=EvaluatorType.REWARD_FUNCTION, reference=ref, evaluator_name="rf-shared", adopt_existing=True)
    found = {r["Properties"]["EvaluatorName"]: r["Properties"] for r in Template.from_stack(stack).find_resources("Custom::SageMakerHubEvaluator").values()}
    assert "AdoptExisting" not in found["rf-mine"]  # the default adds no property: deployed resources see no change
    assert found["rf-shared"]["AdoptExisting"] is True
    with pytest.raises(ValueError, match=r"adopt_existing: received str 'yes'; expected True or False"):
        HubEvaluator(new_stack(), "Bad", evaluator_type=EvaluatorType.REWARD_FUNCTION, reference=ref, adopt_existing="yes")


def test_reward_functions_and_judge_prompts_pass_adopt_existing_evaluator_on(tmp_path):
    stack = new_stack()
    bucket = FineTuningBucket(stack, "Bucket")
    RewardFunction(stack, "Plain", evaluator_name="rf-plain")
    RewardFunction(stack, "FromNotebook", evaluator_name="rf-notebook", adopt_existing_evaluator=True)
    from sagemaker_finetuning import JudgePrompt, JudgePromptTemplate

    JudgePrompt(stack, "Judge", bucket=bucket.bucket, evaluator_name="rp-shared", adopt_existing_evaluator=True,
                template=JudgePromptTemplate.from_text("Rate {{ response }} to {{ prompt }}"))
    found = {r["Properties"]["EvaluatorName"]: r["Properties"] for r in Template.from_stack(stack).find_resources("Custom::SageMakerHubEvaluator").values()}
    assert "AdoptExisting" not in found["rf-plain"]
    assert found["rf-notebook"]["AdoptExisting"] is True and found["rp-shared"]["AdoptExisting"] is True


def test_hub_evaluator_provider_tags_and_reads_tags_of_evaluator_versions_only():
    stack = new_stack()
    RewardFunction(stack, "Reward")
    st = statements(Template.from_stack(stack))
    (tagging,) = [s for s in st if "sagemaker:ListTags" in as_list(s["Action"])]
    assert sorted(as_list(tagging["Action"])) == ["sagemaker:AddTags", "sagemaker:ListTags"]
    (resource,) = as_list(tagging["Resource"])
    assert json.dumps(resource).endswith(':hub-content/*/JsonDoc/*"]]}')


@pytest.mark.parametrize("with_key", [False, True])
def test_bucket_cleanup_role_only_lists_and_deletes_that_bucket(with_key):
    """No s3:GetObject* (it never reads an object), no KMS, nothing on other buckets."""
    stack = new_stack()
    key = kms.Key(stack, "Key") if with_key else None
    bucket = FineTuningBucket(stack, "Bucket", encryption_key=key, removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True)
    t = Template.from_stack(stack)
    statements = []
    for b in (bucket.bucket, bucket.access_logs_bucket):  # the log bucket it made is deleted with it, so emptied too
        arn = stack.resolve(b.bucket_arn)
        statements += [
            {"Action": ["s3:ListBucket", "s3:ListBucketVersions"], "Effect": "Allow", "Resource": arn},
            {"Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Effect": "Allow", "Resource": {"Fn::Join": ["", [arn, "/*"]]}},
        ]
    assert _cleanup_policy(t)["Properties"]["PolicyDocument"]["Statement"] == statements
    t.resource_count_is("Custom::SageMakerFineTuningBucketCleanup", 2)


def test_bucket_cleanup_nag_suppression_names_exactly_this_buckets_objects():
    """cdk-nag is clean, and the one IAM5 suppression names only ``<bucket>.Arn/*``: a whole-bucket grant
    added to the same role for another bucket is still reported."""
    from cdk_nag import AwsSolutionsChecks

    stack = new_stack()
    bucket = FineTuningBucket(stack, "Bucket", removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True)
    logical = stack.get_logical_id(bucket.bucket.node.default_child)
    logs = stack.get_logical_id(bucket.access_logs_bucket.node.default_child)
    rules = _cleanup_policy(Template.from_stack(stack))["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [r["applies_to"] for r in rules if r["id"] == "AwsSolutions-IAM5"] == [[f"Resource::<{logical}.Arn>/*"], [f"Resource::<{logs}.Arn>/*"]]
    cdk.Aspects.of(stack).add(AwsSolutionsChecks())

    def cleanup_findings(stack: cdk.Stack, rule: str) -> list:
        found = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp(rule))
        return [f for f in found if "SageMakerFineTuningBucketCleanupProvider" in f.id]

    assert not cleanup_findings(stack, "AwsSolutions-.*")

    stack = new_stack()
    FineTuningBucket(stack, "Bucket", removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True)
    other = s3.Bucket(stack, "Other", enforce_ssl=True, server_access_logs_prefix="x/")
    other.grant_read(stack.node.find_child("SageMakerFineTuningBucketCleanupProvider"))  # not meant to be suppressed
    cdk.Aspects.of(stack).add(AwsSolutionsChecks())
    found = {str(f.entry.data).split("]")[0] + "]" for f in cleanup_findings(stack, "AwsSolutions-IAM5")}
    other_objects = f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(other.node.default_child)}.Arn>/*]"
    assert {other_objects, "AwsSolutions-IAM5[Action::s3:GetObject*]"} <= found, found
