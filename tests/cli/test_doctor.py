"""``finetune doctor``: the pure verdicts, and every check's AWS calls through botocore's Stubber
(the requests are validated against botocore's model, the answers are shaped like AWS's)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import hub_fixtures
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import NoCredentialsError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from click.testing import CliRunner

from sagemaker_finetuning import DEFAULT_BASE_MODEL
from sagemaker_finetuning.cli import cli
from sagemaker_finetuning.cli import doctor as D
from sagemaker_finetuning.cli.aws import Aws
from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core.recipes import OVERRIDE_PARAMS_KEY, RECIPE_TEMPLATE_KEY, select_recipe
from sagemaker_finetuning.core.reward_contract import check_reply
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning_emulator.validation import validation_errors

REGION, ACCOUNT = "us-east-1", "123456789012"
STACK = "SageMakerFineTuning"
SM_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:FineTuningWorkflow"
STEPS = "SageMakerFineTuning-FineTuningWorkflowSteps1A2B3C-XYZ"
STEPS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerFineTuning-StepsServiceRole"
BUCKET = "sagemakerfinetuning-bucket"
REWARD_FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reward"
EVALUATOR = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/AiRegistry/JsonDoc/reward/1.0.0"
JUDGE = next(m for m, regions in C.JUDGE_MODEL_REGIONS.items() if REGION in regions)
MLFLOW_APP = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-TEST12345678"
SERVICES = ("cloudformation", "lambda", "stepfunctions", "sagemaker", "s3", "iam", "bedrock")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "FINETUNE_STACK", "FINETUNE_STATE_MACHINE_ARN", "FINETUNE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


def settings_doc(**changes: Any) -> dict[str, Any]:
    doc = {
        "account": ACCOUNT, "partition": "aws", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/TrainingRole", "bucket": BUCKET,
        "output_prefix": "outputs/", "dataset_prefix": "datasets/", "prompt_prefix": "prompts/",
        "stack_id": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/1", "dataset_buckets": [],
        "model_package_group_name": "fine-tuned-models", "base_model": DEFAULT_BASE_MODEL, "reward_evaluator_arn": EVALUATOR,
        "reward_function_arns": [REWARD_FN], "reward_evaluators": {EVALUATOR: REWARD_FN}, "judge_model_id": JUDGE,
        "judge_model_ids": [JUDGE], "judge_prompt": None, "mlflow_resource_arn": MLFLOW_APP, "kms_key_arn": None,
        "max_runtime_seconds": 86400, "hub_name": "SageMakerPublicHub", "stack_tags": {},
    }
    doc.update(changes)
    return doc


def settings(**changes: Any) -> StackSettings:
    return D.settings_from_configuration(configuration(**changes), REGION)[0]


def configuration(**changes: Any) -> dict[str, Any]:
    return {"FunctionName": STEPS, "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STEPS}", "Role": STEPS_ROLE,
            "Handler": "lambda_src.workflow.handler.step",
            "Environment": {"Variables": {"FINETUNE_SETTINGS": json.dumps(settings_doc(**changes)), "WAITER_TABLE": "t"}}}


def hub_content() -> dict[str, Any]:
    return hub_fixtures.describe_hub_content(REGION, DEFAULT_BASE_MODEL)


def sft_recipe() -> dict[str, Any]:
    doc = json.loads(hub_content()["HubContentDocument"])
    return select_recipe(doc["RecipeCollection"], DEFAULT_BASE_MODEL, "SFT", "LORA")


def override_params() -> dict[str, Any]:
    return json.loads(hub_fixtures.recipe_objects(REGION)[sft_recipe()[OVERRIDE_PARAMS_KEY]])


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def stack(status: str = "UPDATE_COMPLETE", outputs: dict[str, str] | None = None) -> dict[str, Any]:
    outputs = {"StateMachineArn": SM_ARN, "BucketName": BUCKET, "ModelPackageGroupName": "fine-tuned-models",
               "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/TrainingRole"} if outputs is None else outputs
    return {"StackName": STACK, "StackStatus": status, "CreationTime": "2026-01-01T00:00:00Z",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}


# ---- the pure verdicts -------------------------------------------------------------------------------


def test_stack_verdict():
    assert D.stack_verdict(STACK, stack()).status == D.PASS
    prefixed = stack(outputs={"FineTuningStateMachineArn0A1B2C3D": SM_ARN, "BucketName": BUCKET, "ModelPackageGroupName": "g",
                              "ExecutionRoleArn": "arn:aws:iam::1:role/r"})
    assert D.stack_verdict(STACK, prefixed).status == D.PASS and D.outputs_of(prefixed)["StateMachineArn"] == SM_ARN
    missing = D.stack_verdict(STACK, stack(outputs={"StateMachineArn": SM_ARN}))
    assert missing.status == D.FAIL and "BucketName, ModelPackageGroupName, ExecutionRoleArn" in missing.detail and missing.fix
    busy = D.stack_verdict(STACK, stack("UPDATE_IN_PROGRESS"))
    assert busy.status == D.FAIL and "wait" in busy.fix
    rolled_back = D.stack_verdict(STACK, stack("ROLLBACK_COMPLETE"))
    assert rolled_back.status == D.FAIL and "redeploy" in rolled_back.fix
    assert D.stack_verdict(STACK, stack("UPDATE_ROLLBACK_COMPLETE")).status == D.PASS  # a failed update leaves the stack usable


def test_settings_from_the_steps_function_tolerate_keys_of_a_newer_stack():
    cfg, unknown = D.settings_from_configuration(configuration(new_feature={"x": 1}), REGION)
    assert unknown == ["new_feature"] and cfg.region == REGION and cfg.base_model == DEFAULT_BASE_MODEL
    assert cfg.reward_function_arns == (REWARD_FN,) and cfg.judge_model_ids == (JUDGE,)


def test_definition_verdict():
    assert D.definition_verdict({"result": "OK", "diagnostics": []}).status == D.PASS
    warned = D.definition_verdict({"result": "OK", "diagnostics": [{"severity": "WARNING", "code": "W", "message": "m"}]})
    assert warned.status == D.PASS and "1 warning(s): W: m" in warned.detail
    bad = D.definition_verdict({"result": "FAIL", "diagnostics": [{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                                                                    "message": "no", "location": "/States/A"}]})
    assert bad.status == D.FAIL and "SCHEMA_VALIDATION_FAILED: no at /States/A" in bad.detail


def test_the_planned_request_and_the_test_state_arguments(definition):
    cfg = settings()
    inp, request = D.plan_sample(cfg, hub_content(), override_params(), SM_ARN)
    assert inp["technique"] == "SFT" and inp["mlflow_resource_arn"] == MLFLOW_APP
    assert validation_errors("sagemaker", "CreateTrainingJob", request) == []
    assert request["TrainingJobName"].startswith(f"{DEFAULT_BASE_MODEL}-sft-") and "MlflowConfig" in request
    name, state = D.create_state(definition, request)
    assert name == "CreateTrainingJobWithMlflow" and state["Resource"].endswith(":aws-sdk:sagemaker:createTrainingJob")
    assert D.create_state(definition, {k: v for k, v in request.items() if k != "MlflowConfig"})[0] == "CreateTrainingJob"
    args = D.test_state_arguments(state, inp, request, cfg, ("result", "errorOutput", "fieldValidationMode"))
    assert validation_errors("stepfunctions", "TestState", args) == []
    assert args["mock"]["fieldValidationMode"] == "STRICT" and args["inspectionLevel"] == "DEBUG"
    assert json.loads(args["mock"]["result"]) == {"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{request['TrainingJobName']}"}
    assert json.loads(args["input"])["plan"]["request"] == request
    assert "fieldValidationMode" not in D.test_state_arguments(state, inp, request, cfg, ("result",))["mock"]  # an older botocore


def test_a_gated_base_model_is_planned_with_the_eula_accepted():
    assert D.sample_input(settings(), gated=True)["accept_eula"] is True
    assert "accept_eula" not in D.sample_input(settings(), gated=False)


def test_test_state_verdict():
    request = {"TrainingJobName": "j", "RoleArn": "r", "HyperParameters": {}}
    sent = json.dumps(request)
    ok = D.test_state_verdict({"status": "SUCCEEDED", "nextState": "TrackTrainingJob", "inspectionData": {"afterParameters": sent}},
                              "CreateTrainingJob", request)
    assert ok.status == D.PASS and "all 3 fields" in ok.detail and ok.data["fields"] == sorted(request)
    refused = D.test_state_verdict({"status": "FAILED", "error": "States.Runtime", "cause": "The field 'X' is not supported"},
                                   "CreateTrainingJob", request)
    assert refused.status == D.FAIL and "States.Runtime The field 'X'" in refused.detail and "SDK integration" in refused.fix
    dropped = D.test_state_verdict({"status": "SUCCEEDED", "nextState": "TrackTrainingJob",
                                    "inspectionData": {"afterParameters": json.dumps({"TrainingJobName": "j"})}}, "CreateTrainingJob", request)
    assert dropped.status == D.FAIL and "HyperParameters, RoleArn" in dropped.detail
    elsewhere = D.test_state_verdict({"status": "SUCCEEDED", "nextState": "WorkflowError", "inspectionData": {"afterParameters": sent}},
                                     "CreateTrainingJob", request)
    assert elsewhere.status == D.FAIL
    assert D.test_state_verdict({"status": "SUCCEEDED"}, "CreateTrainingJob", request).status == D.PASS  # no inspection data


def test_small_verdicts():
    assert D.judge_verdict({JUDGE: {"modelLifecycle": {"status": "ACTIVE"}}}, REGION).status == D.PASS
    legacy = D.judge_verdict({JUDGE: {"modelLifecycle": {"status": "LEGACY"}}}, REGION)
    assert legacy.status == D.PASS and "LEGACY" in legacy.detail
    missing = D.judge_verdict({"vendor.unknown-v1:0": None}, REGION)
    assert missing.status == D.FAIL and JUDGE in missing.fix
    assert D.mlflow_resource(MLFLOW_APP) == ("app", "app-TEST12345678")
    assert D.mlflow_resource(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/ts") == ("tracking-server", "ts")
    assert D.mlflow_verdict(MLFLOW_APP, "Created").status == D.PASS
    stopped = D.mlflow_verdict(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/ts", "Stopped", "Inactive")
    assert stopped.status == D.FAIL and "start-mlflow-tracking-server --tracking-server-name ts" in stopped.fix
    empty = D.dataset_verdict(BUCKET, "datasets/", {"KeyCount": 0})
    assert empty.status == D.FAIL and f"s3://{BUCKET}/datasets/train.jsonl" in empty.fix
    only_folder = D.dataset_verdict(BUCKET, "datasets/", {"Contents": [{"Key": "datasets/", "Size": 0}]})
    assert only_folder.status == D.FAIL
    assert D.dataset_verdict(BUCKET, "datasets/", {"Contents": [{"Key": "datasets/a.jsonl", "Size": 9}]}).status == D.PASS
    denied = D.simulation_verdict([{"EvalActionName": "s3:GetObject", "EvalResourceName": "arn:aws:s3:::b/k", "EvalDecision": "implicitDeny"}],
                                  STEPS_ROLE)
    assert denied.status == D.FAIL and "implicitDeny" in denied.detail
    assert D.simulation_verdict([{"EvalActionName": "s3:GetObject", "EvalDecision": "allowed"}], STEPS_ROLE).status == D.PASS
    runs = D.simulation_verdict([{"EvalActionName": "sagemaker-mlflow:GetRun", "EvalResourceName": MLFLOW_APP, "EvalDecision": "explicitDeny"}],
                                STEPS_ROLE, D.MLFLOW_RUNS_ROLE)
    assert runs.id == "mlflow-runs" and runs.status == D.FAIL and "may not read MLflow runs" in runs.detail and "explicitDeny" in runs.detail
    assert "sagemaker-mlflow:GetRun" in runs.fix


def test_reward_verdict():
    samples = D.reward_samples()
    good = [{"id": s.get("id", f"s{i}"), "aggregate_reward_score": 0.5, "metrics_list": []} for i, s in enumerate(samples)]
    ok = check_reply(samples, good, "nova")
    assert D.reward_verdict({REWARD_FN: ok}, "nova").status == D.PASS
    bad = D.reward_verdict({REWARD_FN: check_reply(samples, {"nope": 1}, "open-weights")}, "open-weights")
    assert bad.status == D.FAIL and REWARD_FN in bad.detail and "reward_check" in bad.fix
    raised = D.reward_verdict({REWARD_FN: "it raised: boom"}, "open-weights")
    assert raised.status == D.FAIL and "boom" in raised.detail


def test_report_lines_and_document():
    results = [D.passed("stack", "ok"), D.failed("base-model", "gone", "pick another"), D.skipped("recipes", "needs base-model (fail)")]
    lines = [click_unstyle(line) for line in D.report_lines(results)]
    assert lines[0].startswith("PASS  stack ") and lines[1].startswith("FAIL  base-model  gone")
    assert lines[2].strip() == "fix: pick another" and lines[3].startswith("SKIP  recipes ")
    assert lines[-1] == "1 passed, 1 failed, 1 skipped"


def click_unstyle(text: str) -> str:
    import click

    return click.unstyle(text)


# ---- every check through Stubber ---------------------------------------------------------------------


class Stubs:
    """Stubbed clients of every service doctor calls, injected into an ``Aws``."""

    def __init__(self) -> None:
        self.aws = Aws(stack=STACK, region=REGION)
        self.clients = {s: boto3.client(s, region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b") for s in SERVICES}
        self.stubs = {s: Stubber(c) for s, c in self.clients.items()}
        self.aws._clients.update(self.clients)

    def __getitem__(self, service: str) -> Stubber:
        return self.stubs[service]

    def __enter__(self) -> "Stubs":
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc: Any) -> None:
        for stub in self.stubs.values():
            stub.deactivate()

    def assert_done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def happy(stubs: Stubs, definition: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Queue the answers of a healthy stack; returns the planned request."""
    cfg = settings(**changes)
    stubs["cloudformation"].add_response("describe_stacks", {"Stacks": [stack()]}, {"StackName": STACK})
    stubs["cloudformation"].add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "FineTuningWorkflowJobEvents1", "PhysicalResourceId": "events-fn", "ResourceType": "AWS::Lambda::Function",
         "ResourceStatus": "CREATE_COMPLETE", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"},
        {"LogicalResourceId": "FineTuningWorkflowSteps1A2B3C", "PhysicalResourceId": STEPS, "ResourceType": "AWS::Lambda::Function",
         "ResourceStatus": "CREATE_COMPLETE", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"},
    ]}, {"StackName": STACK})
    stubs["lambda"].add_response("get_function_configuration", configuration(**changes), {"FunctionName": STEPS})
    stubs["stepfunctions"].add_response("describe_state_machine", {
        "stateMachineArn": SM_ARN, "name": "FineTuningWorkflow", "definition": json.dumps(definition), "roleArn": STEPS_ROLE,
        "type": "STANDARD", "creationDate": "2026-01-01T00:00:00Z"}, {"stateMachineArn": SM_ARN})
    stubs["stepfunctions"].add_response("validate_state_machine_definition", {"result": "OK", "diagnostics": []},
                                        {"definition": json.dumps(definition), "type": "STANDARD"})
    stubs["sagemaker"].add_response("describe_hub_content", hub_content(),
                                    {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": DEFAULT_BASE_MODEL})
    recipe = sft_recipe()
    for key in (OVERRIDE_PARAMS_KEY, RECIPE_TEMPLATE_KEY):
        bucket, obj = D.split_s3(recipe[key])
        stubs["s3"].add_response("head_object", {"ContentLength": 10}, {"Bucket": bucket, "Key": obj})
    bucket, obj = D.split_s3(recipe[OVERRIDE_PARAMS_KEY])
    stubs["s3"].add_response("get_object", {"Body": body(json.dumps(override_params()).encode())}, {"Bucket": bucket, "Key": obj})
    resources = [f"arn:aws:s3:::{b}/{k}" for b, k in (D.split_s3(recipe[OVERRIDE_PARAMS_KEY]), D.split_s3(recipe[RECIPE_TEMPLATE_KEY]))]
    stubs["iam"].add_response("simulate_principal_policy", {"EvaluationResults": [
        {"EvalActionName": "s3:GetObject", "EvalResourceName": r, "EvalDecision": "allowed"} for r in resources]},
        {"PolicySourceArn": STEPS_ROLE, "ActionNames": ["s3:GetObject"], "ResourceArns": resources})
    inp, request = D.plan_sample(cfg, hub_content(), override_params(), SM_ARN)
    name, state = D.create_state(definition, request)
    stubs["stepfunctions"].add_response("test_state", {
        "status": "SUCCEEDED", "nextState": "TrackTrainingJob", "output": "{}",
        "inspectionData": {"afterParameters": json.dumps(request)}},
        {"definition": json.dumps(state), "input": ANY, "inspectionLevel": "DEBUG",
         "mock": {"result": ANY, "fieldValidationMode": "STRICT"}})
    if cfg.judge_model_ids:
        stubs["bedrock"].add_response("get_foundation_model", {"modelDetails": {
            "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{JUDGE}", "modelId": JUDGE, "modelLifecycle": {"status": "ACTIVE"}}},
            {"modelIdentifier": JUDGE})
    if cfg.mlflow_resource_arn and ":mlflow-app/" in cfg.mlflow_resource_arn:
        stubs["sagemaker"].add_response("describe_mlflow_app", {"Arn": MLFLOW_APP, "Status": "Created"}, {"Arn": MLFLOW_APP})
        stubs["iam"].add_response("simulate_principal_policy", {"EvaluationResults": [
            {"EvalActionName": "sagemaker-mlflow:GetRun", "EvalResourceName": MLFLOW_APP, "EvalDecision": "allowed"}]},
            {"PolicySourceArn": STEPS_ROLE, "ActionNames": ["sagemaker-mlflow:GetRun"], "ResourceArns": [MLFLOW_APP]})
    elif cfg.mlflow_resource_arn:
        name = cfg.mlflow_resource_arn.rsplit("/", 1)[-1]
        stubs["sagemaker"].add_response("describe_mlflow_tracking_server", {
            "TrackingServerArn": cfg.mlflow_resource_arn, "TrackingServerName": name, "TrackingServerStatus": "Stopped", "IsActive": "Inactive"},
            {"TrackingServerName": name})
    stubs["s3"].add_response("list_objects_v2", {"KeyCount": 1, "IsTruncated": False, "Contents": [{"Key": "datasets/sft/train.jsonl", "Size": 99}]},
                             {"Bucket": BUCKET, "Prefix": "datasets/", "MaxKeys": 100})
    if cfg.reward_function_arns:
        samples = D.reward_samples()
        reply = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(
            [{"id": s["id"], "aggregate_reward_score": 1.0, "metrics_list": [{"name": "numeric_match", "value": 1.0, "type": "Reward"}]}
             for s in samples])}
        stubs["lambda"].add_response("invoke", {"StatusCode": 200, "Payload": body(json.dumps(reply).encode())},
                                     {"FunctionName": REWARD_FN, "Payload": json.dumps({"batch": samples}).encode()})
    return request


def by_id(results: list[D.CheckResult]) -> dict[str, D.CheckResult]:
    return {r.id: r for r in results}


def test_every_check_passes_on_a_healthy_stack(definition):
    with Stubs() as stubs:
        request = happy(stubs, definition)
        queued_before = [item for stub in stubs.stubs.values() for item in stub._queue]
        facts, results = D.run_checks(stubs.aws)
        stubs.assert_done()
    assert [r.id for r in results] == [c.id for c in D.CHECKS]
    assert {item["operation_name"] for item in queued_before} == set(D.IAM_ACTIONS) - {"DescribeMlflowTrackingServer"}
    assert all(r.status == D.PASS for r in results), [(r.id, r.detail, r.fix) for r in results if r.status != D.PASS]
    found = by_id(results)
    assert found["create-training-job"].data["state"] == "CreateTrainingJobWithMlflow"
    assert request["TrainingJobName"] in found["create-training-job"].detail
    assert facts.steps_role_arn == STEPS_ROLE and facts.region == REGION


def test_a_lean_stack_skips_what_it_does_not_have(definition):
    lean = {"judge_model_id": None, "judge_model_ids": [], "mlflow_resource_arn": None, "reward_function_arns": [],
            "reward_evaluators": {}, "reward_evaluator_arn": None}
    with Stubs() as stubs:
        happy(stubs, definition, **lean)
        _, results = D.run_checks(stubs.aws)
        stubs.assert_done()
    found = by_id(results)
    assert found["create-training-job"].status == D.PASS and found["create-training-job"].data["state"] == "CreateTrainingJob"
    assert {k: found[k].status for k in ("judge", "mlflow", "reward")} == {"judge": D.SKIP, "mlflow": D.SKIP, "reward": D.SKIP}


def test_a_stopped_tracking_server_fails_with_how_to_start_it(definition):
    server = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/team"
    with Stubs() as stubs:
        happy(stubs, definition, mlflow_resource_arn=server)
        _, results = D.run_checks(stubs.aws)
        stubs.assert_done()
    found = by_id(results)
    assert found["mlflow"].status == D.FAIL and found["mlflow"].detail == f"{server} is Stopped (Inactive)"
    assert "start-mlflow-tracking-server --tracking-server-name team" in found["mlflow"].fix
    assert [(r.id, r.status) for r in results if r.status != D.PASS] == [("mlflow", D.FAIL), ("mlflow-runs", D.SKIP)]


def test_a_missing_stack_fails_and_skips_everything_else():
    with Stubs() as stubs:
        stubs["cloudformation"].add_client_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist")
        _, results = D.run_checks(stubs.aws)
    assert results[0].status == D.FAIL and "not found" in results[0].detail and "--stack" in results[0].fix
    assert all(r.status == D.SKIP for r in results[1:])
    assert by_id(results)["settings"].detail == "needs stack (fail)"


def _queued(stub: Stubber, operation: str) -> dict[str, Any]:
    """The answer queued for ``operation`` (its API name, e.g. DescribeHubContent)."""
    return next(item for item in stub._queue if item["operation_name"] == operation)


def answer(stub: Stubber, operation: str, parsed: dict[str, Any]) -> None:
    item = _queued(stub, operation)
    item["response"] = (item["response"][0], parsed)


def answer_error(stub: Stubber, operation: str, code: str, message: str, status: int = 400) -> None:
    item = _queued(stub, operation)
    item["response"] = (AWSResponse(None, status, {}, None),
                        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}})


def drop(stub: Stubber, operation: str, nth: int = 0) -> None:
    stub._queue.remove([item for item in stub._queue if item["operation_name"] == operation][nth])


def test_the_base_model_missing_from_the_hub_fails_with_a_fix(definition):
    with Stubs() as stubs:
        happy(stubs, definition)
        answer_error(stubs["sagemaker"], "DescribeHubContent", "ResourceNotFound", f"Hub content Model/{DEFAULT_BASE_MODEL} does not exist")
        for operation in ("HeadObject", "HeadObject", "GetObject"):
            drop(stubs["s3"], operation)
        drop(stubs["iam"], "SimulatePrincipalPolicy")
        drop(stubs["stepfunctions"], "TestState")
        _, results = D.run_checks(stubs.aws)
        stubs.assert_done()
    found = by_id(results)
    assert found["base-model"].status == D.FAIL and DEFAULT_BASE_MODEL in found["base-model"].detail
    assert "base model" in found["base-model"].fix and REGION in found["base-model"].fix
    assert found["recipes"].detail == found["recipes-role"].detail == "needs base-model (fail)"
    assert found["create-training-job"].status == D.SKIP and "recipes (skip)" in found["create-training-job"].detail
    assert found["judge"].status == found["mlflow"].status == found["reward"].status == D.PASS


@pytest.mark.parametrize("service, operation, code, message, check, status, needle", [
    ("iam", "SimulatePrincipalPolicy", "AccessDenied", "not you", "recipes-role", D.SKIP, "iam:SimulatePrincipalPolicy"),
    ("bedrock", "GetFoundationModel", "ValidationException", "The provided model identifier is invalid.", "judge", D.FAIL, "Bedrock does not offer"),
    ("sagemaker", "DescribeMlflowApp", "ResourceNotFound", "gone", "mlflow", D.FAIL, "does not exist"),
    ("s3", "ListObjectsV2", "AccessDenied", "no", "datasets", D.FAIL, "may not list"),
    ("stepfunctions", "TestState", "AccessDeniedException", "no", "create-training-job", D.FAIL, "allow states:TestState"),
    ("stepfunctions", "TestState", "ValidationException", "Mock result schema validation error: Required field 'TrainingJobArn' is missing",
     "create-training-job", D.FAIL, "Mock result schema validation error"),
    ("lambda", "Invoke", "AccessDeniedException", "no", "reward", D.FAIL, "lambda:InvokeFunction"),
])
def test_an_aws_error_becomes_that_check_s_verdict(definition, service, operation, code, message, check, status, needle):
    with Stubs() as stubs:
        happy(stubs, definition)
        answer_error(stubs[service], operation, code, message)
        if check == "mlflow":  # reading its runs is then not asked
            drop(stubs["iam"], "SimulatePrincipalPolicy", nth=1)
        _, results = D.run_checks(stubs.aws)
        stubs.assert_done()
    found = by_id(results)
    assert found[check].status == status, found[check]
    assert needle in f"{found[check].detail} {found[check].fix}"
    assert [r.id for r in results if r.status == D.FAIL] == ([check] if status == D.FAIL else [])


def test_errors_that_stop_what_depends_on_them(definition):
    with Stubs() as stubs:
        happy(stubs, definition)
        answer_error(stubs["s3"], "HeadObject", "403", "Forbidden", status=403)
        drop(stubs["s3"], "HeadObject", nth=1)
        drop(stubs["s3"], "GetObject")
        drop(stubs["stepfunctions"], "TestState")
        _, results = D.run_checks(stubs.aws)
        stubs.assert_done()
    found = by_id(results)
    assert found["recipes"].status == D.FAIL and "s3:GetObject on arn:aws:s3:::jumpstart-cache-prod-" in found["recipes"].fix
    assert found["recipes-role"].status == D.PASS and found["create-training-job"].detail == "needs recipes (fail)"

    with Stubs() as stubs:
        happy(stubs, definition)
        answer_error(stubs["stepfunctions"], "ValidateStateMachineDefinition", "ThrottlingException", "Rate exceeded")
        drop(stubs["stepfunctions"], "TestState")
        _, results = D.run_checks(stubs.aws)
    found = by_id(results)
    assert found["definition"].status == D.FAIL and "again in a minute" in found["definition"].fix
    assert found["create-training-job"].detail == "needs definition (fail)"


def test_a_refused_request_and_a_reward_function_that_raises(definition):
    with Stubs() as stubs:
        happy(stubs, definition)
        answer(stubs["stepfunctions"], "TestState", {"status": "FAILED", "error": "States.Runtime",
                                                     "cause": "The field 'ServerlessJobConfig' is not supported by Step Functions"})
        answer(stubs["lambda"], "Invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": body(b'{"errorMessage": "boom"}')})
        _, results = D.run_checks(stubs.aws)
    found = by_id(results)
    assert found["create-training-job"].status == D.FAIL and "ServerlessJobConfig" in found["create-training-job"].detail
    assert found["reward"].status == D.FAIL and "boom" in found["reward"].detail


def test_an_unexpected_error_in_one_check_does_not_hide_the_others(definition, monkeypatch):
    def broken(count: int = 3) -> list[dict[str, Any]]:
        raise RuntimeError("disk gone")

    with Stubs() as stubs:
        happy(stubs, definition)
        drop(stubs["lambda"], "Invoke")
        monkeypatch.setattr(D, "reward_samples", broken)
        _, results = D.run_checks(stubs.aws)
    found = by_id(results)
    assert found["reward"].status == D.FAIL and "unexpected RuntimeError: disk gone" in found["reward"].detail
    assert sum(r.status == D.PASS for r in results) == len(results) - 1


# ---- the command ---------------------------------------------------------------------------------------


def test_the_command_prints_one_line_per_check_and_exits_by_the_verdict(definition, monkeypatch):
    with Stubs() as stubs:
        happy(stubs, definition)
        monkeypatch.setattr(Aws, "client", lambda self, service: stubs.clients[service])
        result = CliRunner().invoke(cli, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"finetune doctor: stack {STACK} in {REGION}"
    assert len(lines) == 1 + len(D.CHECKS) + 1 and lines[-1] == f"{len(D.CHECKS)} passed, 0 failed, 0 skipped"

    with Stubs() as stubs:
        stubs["cloudformation"].add_client_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist")
        monkeypatch.setattr(Aws, "client", lambda self, service: stubs.clients[service])
        failed = CliRunner().invoke(cli, ["doctor", "--json"], catch_exceptions=False)
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert report["ok"] is False and report["counts"] == {"pass": 0, "fail": 1, "skip": len(D.CHECKS) - 1}
    assert report["checks"][0]["id"] == "stack" and report["checks"][0]["fix"] and report["checks"][0]["title"]


def test_no_credentials_is_one_error_line(monkeypatch):
    class NoCredentials:
        meta = type("Meta", (), {"region_name": REGION})()

        def describe_stacks(self, **kwargs: Any) -> Any:
            raise NoCredentialsError()

    monkeypatch.setattr(Aws, "client", lambda self, service: NoCredentials())
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("finetune: error: no AWS credentials found")


def test_a_custom_endpoint_gets_a_test_state_client_without_the_sync_host_prefix(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    aws = Aws(region=REGION)
    client = D.test_state_client(aws)
    assert client is not aws.client("stepfunctions") and client.meta.config.inject_host_prefix is False
    assert client.meta.endpoint_url == "http://localhost:5000"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    plain = Aws(region=REGION)
    assert D.test_state_client(plain) is plain.client("stepfunctions")  # AWS's own endpoint: sync-states.<region>...
