"""The ready app: every cdk.json / -c context value is checked, and a bad one names its context key."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from app import ContextError, build_app
from aws_cdk.assertions import Annotations, Match, Template

ROOT = Path(__file__).resolve().parents[2]


def synth(**context):
    app = cdk.App(context=context)
    build_app(app)
    return Template.from_stack(app.node.find_child(context.get("stackName", "SageMakerFineTuning")))


@pytest.mark.parametrize("context, message", [
    ({"maxRuntimeHours": "a day"}, r"^context maxRuntimeHours: received 'a day'; expected a number$"),
    ({"datasetFanOutMiB": "1.5"}, r"^context datasetFanOutMiB: received '1.5'; expected a whole number$"),
    ({"maxRuntimeHours": "-1"}, r"^context maxRuntimeHours: received '-1'; expected a positive number$"),
    ({"maxRuntimeHours": 700}, r"^context maxRuntimeHours: max_runtime: received Duration 29 days 4 hours; expected between 1 second and 28 days$"),
    ({"minPollSeconds": "1.5"}, r"^context minPollSeconds: received '1.5'; expected a whole number$"),
    ({"minPollSeconds": 600, "maxPollSeconds": 60}, r"^context minPollSeconds: min_poll_interval: received Duration 10 minutes"),
    ({"destroyOnDelete": "maybe"}, r"^context destroyOnDelete: received 'maybe'; expected true or false$"),
    ({"enableNotifications": "on"}, r"^context enableNotifications: received 'on'; expected true or false$"),
    ({"judgeModelId": "anthropic.claude"}, r"^context judgeModelId: model_id: received str 'anthropic.claude'; expected one of "),
    ({"baseModel": "Qwen 3"}, r"^context baseModel: base_model: received str 'Qwen 3'; expected a SageMakerPublicHub model id"),
    ({"modelPackageGroupName": "my_group"}, r"^context modelPackageGroupName: model_package_group_name: received str 'my_group'"),
    ({"mlflowResourceArn": "arn:aws:s3:::bucket"}, r"^context mlflowResourceArn: mlflow_resource_arn: received str 'arn:aws:s3:::bucket'"),
    ({"stackName": "1st stack"}, r"^context stackName: received '1st stack'; expected a CloudFormation stack name"),
])
def test_a_bad_context_value_names_its_key(context, message):
    with pytest.raises(ContextError, match=message):
        synth(**context)


@pytest.mark.parametrize("flag", [True, "true", "TRUE", "1", "yes"])
def test_flags_accept_the_usual_spellings_of_true(flag):
    t = synth(enableNotifications=flag)
    t.resource_count_is("AWS::SNS::Topic", 1)


@pytest.mark.parametrize("flag", [False, "false", "0", "no", ""])
def test_flags_accept_the_usual_spellings_of_false(flag):
    synth(enableNotifications=flag).resource_count_is("AWS::SNS::Topic", 0)


def test_fractional_hours_become_whole_seconds():
    t = synth(maxRuntimeHours="1.5")
    settings = [f["Properties"]["Environment"]["Variables"]["FINETUNE_SETTINGS"]
                for f in t.find_resources("AWS::Lambda::Function").values()
                if f["Properties"].get("Handler") == "lambda_src.workflow.handler.step"][0]
    assert '"max_runtime_seconds":5400,' in str(settings)


@pytest.mark.parametrize("region", ["eu-central-1", "ap-southeast-2", "sa-east-1"])
def test_in_a_region_without_the_default_judge_or_model_the_app_degrades_with_warnings(monkeypatch, region):
    """`AWS_REGION=eu-central-1 npx cdk synth` was a Python traceback (the default judge is not offered there)."""
    monkeypatch.setenv("CDK_DEFAULT_REGION", region)
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    app = cdk.App(context={"judgeModelId": "openai.gpt-oss-120b-1:0"})
    build_app(app)
    stack = app.node.find_child("SageMakerFineTuning")
    warnings = [str(w.entry.data) for w in Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(".*"))]
    judge = [w for w in warnings if "judge openai.gpt-oss-120b-1:0 is not offered in " + region in w]
    model = [w for w in warnings if "is not customizable in " + region in w and "-c baseModel=" in w]
    assert judge and model, warnings
    settings = str(Template.from_stack(stack).to_json())
    assert '"judge_model_ids":[]' in settings  # the stack grants no judge rather than failing


def test_in_a_region_offering_them_there_is_no_warning(monkeypatch):
    monkeypatch.setenv("CDK_DEFAULT_REGION", "us-west-2")
    app = cdk.App(context={"judgeModelId": "openai.gpt-oss-120b-1:0"})
    build_app(app)
    stack = app.node.find_child("SageMakerFineTuning")
    assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("sagemaker-finetuning|not offered|customizable"))
    assert stack.region == "us-west-2"


def test_the_app_silences_the_node_end_of_life_banner():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE")}
    env["CDK_OUTDIR"] = tempfile.mkdtemp()
    done = subprocess.run([sys.executable, "cdk_app/app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "end-of-life" not in done.stderr.lower() and "end of life" not in done.stderr.lower(), done.stderr[-2000:]


def test_an_evaluation_judge_is_granted_only_when_named():
    """-c evaluationJudgeModelId grants an LLM-as-judge evaluator model to the execution role and tells the workflow."""
    plain = json.dumps(synth().to_json())
    assert "bedrock:CreateEvaluationJob" not in plain and "anthropic.claude-haiku" not in plain
    granted = synth(evaluationJudgeModelId="anthropic.claude-haiku-4-5-20251001-v1:0").to_json()
    statements = [s for r in granted["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                  for s in r["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") in ("EvaluationJobs", "EvaluationJudge")]
    assert {s["Sid"] for s in statements} == {"EvaluationJobs", "EvaluationJudge"}
    assert "anthropic.claude-haiku-4-5-20251001-v1:0" in json.dumps(granted)
    with pytest.raises(ContextError, match=r"^context evaluationJudgeModelId: received 'openai.gpt-oss-120b-1:0'; expected one of amazon.nova-pro"):
        synth(evaluationJudgeModelId="openai.gpt-oss-120b-1:0")
