"""The operations ``finetune doctor`` uses that moto lacks: Step Functions ValidateStateMachineDefinition
and TestState (with mock), Bedrock GetFoundationModel, SageMaker MLflow apps and tracking servers, IAM
SimulatePrincipalPolicy, and the control routes that remove hub / Bedrock models."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_finetuning_emulator import patch_stepfunctions_testing as pst
from sagemaker_finetuning_emulator.validation import service_model

from .helpers import ACCOUNT, REGION, ensure_role

JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/j-1"
CREATE = {
    "Type": "Task",
    "Resource": "arn:aws:states:::aws-sdk:sagemaker:createTrainingJob",
    "Parameters": {"TrainingJobName.$": "$.plan.request.TrainingJobName", "RoleArn.$": "$.plan.request.RoleArn",
                   "StoppingCondition.$": "$.plan.request.StoppingCondition"},
    "ResultSelector": {"TrainingJobArn.$": "$.TrainingJobArn"},
    "ResultPath": "$.created",
    "Retry": [{"ErrorEquals": ["SageMaker.ThrottlingException"], "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "WorkflowError", "ResultPath": "$.error"}],
    "Next": "DescribeTrainingJob",
}
STATE_INPUT = {"plan": {"request": {"TrainingJobName": "j-1", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
                                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}}}


@pytest.fixture(scope="module")
def sfn(emulator):
    import boto3

    # TestState's endpoint has the host prefix "sync-": no such host at a local endpoint.
    return boto3.client("stepfunctions", config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
                        **emulator.client_kwargs())


def _test(sfn, state=CREATE, state_input=STATE_INPUT, **kwargs):
    answer = sfn.test_state(definition=json.dumps(state), input=json.dumps(state_input), **kwargs)
    answer.pop("ResponseMetadata", None)
    return answer


def _result(value):
    return json.dumps(value)


# ---- ValidateStateMachineDefinition ---------------------------------------------------------------


def test_validate_definition_ok_and_missing_targets(sfn):
    ok = sfn.validate_state_machine_definition(definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))
    assert ok["result"] == "OK" and ok["diagnostics"] == [] and ok["truncated"] is False

    broken = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets", "Next": "Gone",
                                               "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "AlsoGone"}]}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(broken))
    assert answer["result"] == "FAIL"
    assert [(d["code"], d["location"]) for d in answer["diagnostics"]] == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Next"), ("MISSING_TRANSITION_TARGET", "/States/A/Catch[0]/Next")]
    assert all(d["severity"] == "ERROR" and d["message"].startswith("SIMULATED") for d in answer["diagnostics"])


def test_validate_definition_schema_errors_and_request_validation(sfn):
    answer = sfn.validate_state_machine_definition(definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Teleport"}}}))
    assert answer["result"] == "FAIL" and answer["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"
    assert sfn.validate_state_machine_definition(definition="{not json")["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
    with pytest.raises(ClientError, match="maxResults.*less than or equal to 100"):
        sfn.validate_state_machine_definition(definition="{}", maxResults=101)


def test_validate_definition_of_an_express_machine_refuses_sync_integrations(sfn):
    sync = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": True,
                                             "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}}}}
    assert sfn.validate_state_machine_definition(definition=json.dumps(sync))["result"] == "OK"
    express = sfn.validate_state_machine_definition(definition=json.dumps(sync), type="EXPRESS")
    assert express["result"] == "FAIL" and express["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"


# ---- TestState --------------------------------------------------------------------------------------


def test_mocked_result_runs_the_state_and_shows_what_it_sent(sfn):
    answer = _test(sfn, mock={"result": _result({"TrainingJobArn": JOB_ARN}), "fieldValidationMode": "STRICT"}, inspectionLevel="DEBUG")
    assert answer["status"] == "SUCCEEDED" and answer["nextState"] == "DescribeTrainingJob"
    assert json.loads(answer["output"])["created"] == {"TrainingJobArn": JOB_ARN}
    data = answer["inspectionData"]
    assert json.loads(data["afterParameters"]) == STATE_INPUT["plan"]["request"]  # "RoleArn.$" is a path too
    assert json.loads(data["result"]) == {"TrainingJobArn": JOB_ARN} and json.loads(data["input"]) == STATE_INPUT
    assert "inspectionData" not in _test(sfn, mock={"result": _result({"TrainingJobArn": JOB_ARN})})  # INFO


@pytest.mark.parametrize("mode, result, message", [
    ("STRICT", {}, "Required field 'TrainingJobArn' is missing"),
    ("STRICT", {"TrainingJobArn": 42}, "Field 'TrainingJobArn' must be a string"),
    ("STRICT", {"TrainingJobArn": "a" * 300}, "Field 'TrainingJobArn' is larger than the maximum length"),
    ("PRESENT", {"TrainingJobArn": ["x"]}, "Field 'TrainingJobArn' must be a string"),
])
def test_mocked_result_is_validated_against_the_api_model(sfn, mode, result, message):
    with pytest.raises(ClientError) as err:
        _test(sfn, mock={"result": _result(result), "fieldValidationMode": mode})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["Error"]["Message"] == f"Mock result schema validation error: {message}"


def test_looser_modes_and_fields_outside_the_model(sfn):
    plain = {k: v for k, v in CREATE.items() if k != "ResultSelector"}
    assert _test(sfn, state=plain, mock={"result": _result({}), "fieldValidationMode": "PRESENT"})["status"] == "SUCCEEDED"
    assert _test(sfn, state=plain, mock={"result": _result({"TrainingJobArn": 1}), "fieldValidationMode": "NONE"})["status"] == "SUCCEEDED"
    assert _test(sfn, mock={"result": _result({"TrainingJobArn": JOB_ARN, "Extra": [1]})})["status"] == "SUCCEEDED"  # STRICT default
    with pytest.raises(ClientError, match="not a valid JSON string"):
        _test(sfn, mock={"result": "not json", "fieldValidationMode": "NONE"})
    with pytest.raises(ClientError, match="either a result or an errorOutput"):
        _test(sfn, mock={"result": "{}", "errorOutput": {"error": "E"}})


def test_a_field_the_sdk_does_not_know_fails_the_state(sfn):
    state = dict(CREATE, Parameters={**CREATE["Parameters"], "ServerlessJobConfig": {"BaseModelArn": "x", "Turbo": True}, "Colour": "red"})
    answer = _test(sfn, state=state, mock={"result": _result({"TrainingJobArn": JOB_ARN})})
    assert answer["status"] == "FAILED" and answer["error"] == "States.Runtime"  # States.ALL does not catch it
    assert "'ServerlessJobConfig.Turbo' is not supported" in answer["cause"] and "'Colour' is not supported" in answer["cause"]
    assert answer["cause"].startswith("SIMULATED")


def test_mocked_errors_retry_then_catch(sfn):
    throttled = {"errorOutput": {"error": "SageMaker.ThrottlingException", "cause": "Rate exceeded"}}
    assert _test(sfn, mock=throttled) == {"status": "RETRIABLE", "error": "SageMaker.ThrottlingException", "cause": "Rate exceeded"}
    caught = _test(sfn, mock=throttled, stateConfiguration={"retrierRetryCount": 2})  # retries used up
    assert caught["status"] == "CAUGHT_ERROR" and caught["nextState"] == "WorkflowError"
    assert json.loads(caught["output"])["error"] == {"Error": "SageMaker.ThrottlingException", "Cause": "Rate exceeded"}
    bad = _test(sfn, mock={"errorOutput": {"error": "SageMaker.ValidationException", "cause": "no"}})
    assert bad["status"] == "CAUGHT_ERROR" and bad["error"] == "SageMaker.ValidationException"
    uncaught = _test(sfn, state={k: v for k, v in CREATE.items() if k != "Catch"}, mock={"errorOutput": {"error": "X", "cause": "y"}})
    assert uncaught["status"] == "FAILED" and uncaught["error"] == "X"


def test_other_states_and_a_state_of_a_whole_machine(sfn):
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}
    assert _test(sfn, state=choice, state_input={"n": 5})["nextState"] == "Big"
    assert _test(sfn, state=choice, state_input={"n": 0})["nextState"] == "Small"
    passed = _test(sfn, state={"Type": "Pass", "Parameters": {"v.$": "States.Format('x{}', $.n)"}, "End": True}, state_input={"n": 1})
    assert passed["status"] == "SUCCEEDED" and json.loads(passed["output"]) == {"v": "x1"} and "nextState" not in passed
    fail = _test(sfn, state={"Type": "Fail", "Error": "Nope", "Cause": "because"})
    assert (fail["status"], fail["error"], fail["cause"]) == ("FAILED", "Nope", "because")
    machine = {"StartAt": "Create", "States": {"Create": CREATE, "DescribeTrainingJob": {"Type": "Succeed"}, "WorkflowError": {"Type": "Fail"}}}
    answer = sfn.test_state(definition=json.dumps(machine), stateName="Create", input=json.dumps(STATE_INPUT),
                            mock={"result": _result({"TrainingJobArn": JOB_ARN})})
    assert answer["status"] == "SUCCEEDED" and answer["nextState"] == "DescribeTrainingJob"


def test_states_and_requests_the_emulator_refuses(sfn):
    with pytest.raises(ClientError, match="runs Task, Pass"):
        _test(sfn, state={"Type": "Map", "ItemProcessor": {}, "End": True})
    with pytest.raises(ClientError, match="Task states only"):
        _test(sfn, state={"Type": "Pass", "End": True}, mock={"result": "{}"})
    with pytest.raises(ClientError, match="roleArn is required"):
        _test(sfn)
    with pytest.raises(ClientError) as err:
        _test(sfn, state={"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets", "Next": "Gone", "Nope": 1},
              mock={"result": "{}"})
    assert err.value.response["Error"]["Code"] == "InvalidDefinition"
    with pytest.raises(ClientError, match="stateName must name a state"):
        sfn.test_state(definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}), input="{}")
    with pytest.raises(ClientError, match="inspectionLevel"):
        _test(sfn, inspectionLevel="LOUD", mock={"result": "{}"})


def test_without_a_mock_the_service_is_called(sfn, client):
    iam = client("iam")
    role = ensure_role(iam)
    state = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:listTrainingJobs", "Parameters": {"MaxResults": 5},
             "ResultSelector": {"count.$": "States.ArrayLength($.TrainingJobSummaries)"}, "End": True}
    answer = sfn.test_state(definition=json.dumps(state), roleArn=role, input="{}")
    assert answer["status"] == "SUCCEEDED" and "count" in json.loads(answer["output"])


def test_pure_helpers():
    assert pst.integration_operation("arn:aws:states:::aws-sdk:sagemaker:createTrainingJob") == ("sagemaker", "CreateTrainingJob")
    assert pst.integration_operation("arn:aws:states:::lambda:invoke") == ("lambda", "Invoke")
    assert pst.integration_operation("arn:aws:states:::states:startExecution.sync") == ("stepfunctions", "StartExecution")
    assert pst.integration_operation("arn:aws:lambda:us-east-1:123456789012:function:f") is None
    shape = service_model("stepfunctions").operation_model("StartExecution").output_shape
    # Step Functions spells members with a capital first letter, whatever botocore does
    assert pst.mock_result_error(shape, {"executionArn": "a", "startDate": "b"}, "STRICT") == "Required field 'ExecutionArn' is missing"
    assert pst.mock_result_error(shape, {"ExecutionArn": "a", "StartDate": True}, "STRICT") == "Field 'StartDate' must be a string"
    s3 = service_model("s3").operation_model("GetObject").output_shape
    assert pst.mock_result_error(s3, {"StorageClass": "Papyrus"}, "STRICT") == "Field 'StorageClass' is not an expected value"
    assert pst.mock_result_error(s3, {"ContentLength": "9000"}, "PRESENT") == "Field 'ContentLength' must be a number"
    create = service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    assert pst.sdk_request_errors(create, {"TrainingJobName": "x", "Tags": [{"Key": "k", "Value": "v", "Colour": 1}]}) == [
        "The field 'Tags[0].Colour' is not supported by Step Functions"]
    assert pst.sdk_request_errors(create, {"HyperParameters": ["a"]}) == ["The field 'HyperParameters' must be an object"]


# ---- Bedrock GetFoundationModel ------------------------------------------------------------------


def test_foundation_models(client, emulator):
    bedrock = client("bedrock")
    details = bedrock.get_foundation_model(modelIdentifier="openai.gpt-oss-120b-1:0")["modelDetails"]
    assert details["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0"
    assert details["modelLifecycle"] == {"status": "ACTIVE"} and details["inferenceTypesSupported"] == ["ON_DEMAND"]
    by_arn = bedrock.get_foundation_model(modelIdentifier=details["modelArn"])["modelDetails"]
    assert by_arn["modelId"] == "openai.gpt-oss-120b-1:0"
    for unknown in ("anthropic.claude-v9", "qwen.qwen3-coder-480b-a35b-v1:0"):  # unknown; not offered in us-east-1
        with pytest.raises(ClientError, match="The provided model identifier is invalid") as err:
            bedrock.get_foundation_model(modelIdentifier=unknown)
        assert err.value.response["Error"]["Code"] == "ValidationException"
    raw = client("bedrock", raw=True)
    with pytest.raises(ClientError, match="failed to satisfy constraint"):
        raw.get_foundation_model(modelIdentifier="NOT A MODEL")
    emulator.control.remove_foundation_model("openai.gpt-oss-20b-1:0")
    try:
        with pytest.raises(ClientError, match="invalid"):
            bedrock.get_foundation_model(modelIdentifier="openai.gpt-oss-20b-1:0")
    finally:
        emulator.control.restore_foundation_model("openai.gpt-oss-20b-1:0")
    assert bedrock.get_foundation_model(modelIdentifier="openai.gpt-oss-20b-1:0")["modelDetails"]["providerName"] == "OpenAI"


# ---- SageMaker MLflow -----------------------------------------------------------------------------


def test_mlflow_apps_and_tracking_servers(client, emulator):
    sm = client("sagemaker")
    role = f"arn:aws:iam::{ACCOUNT}:role/mlflow"
    arn = sm.create_mlflow_app(Name="team", ArtifactStoreUri="s3://bucket/mlflow", RoleArn=role)["Arn"]
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-")
    app = sm.describe_mlflow_app(Arn=arn)
    assert (app["Name"], app["Status"], app["RoleArn"]) == ("team", "Created", role)
    assert sm.delete_mlflow_app(Arn=arn)["Arn"] == arn
    with pytest.raises(ClientError) as err:
        sm.describe_mlflow_app(Arn=arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"

    server = sm.create_mlflow_tracking_server(TrackingServerName="ts", ArtifactStoreUri="s3://bucket/ts", RoleArn=role)["TrackingServerArn"]
    desc = sm.describe_mlflow_tracking_server(TrackingServerName="ts")
    assert desc["TrackingServerArn"] == server and desc["TrackingServerStatus"] == "Created" and desc["IsActive"] == "Active"
    with pytest.raises(ClientError, match="already exists"):
        sm.create_mlflow_tracking_server(TrackingServerName="ts", ArtifactStoreUri="s3://bucket/ts", RoleArn=role)
    sm.delete_mlflow_tracking_server(TrackingServerName="ts")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_mlflow_tracking_server(TrackingServerName="ts")
    with pytest.raises(ClientError, match="ValidationException"):  # botocore-model validation of every SageMaker request
        client("sagemaker", raw=True).create_mlflow_app(Name="x", ArtifactStoreUri="ftp://nope", RoleArn=role)

    fixed = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-demo"
    assert emulator.control.register_mlflow(fixed)["Arn"] == fixed
    assert emulator.control.register_mlflow(fixed)["Arn"] == fixed  # idempotent
    assert sm.describe_mlflow_app(Arn=fixed)["Status"] == "Created"
    emulator.control.register_mlflow(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/fixed")
    assert sm.describe_mlflow_tracking_server(TrackingServerName="fixed")["IsActive"] == "Active"


# ---- IAM SimulatePrincipalPolicy ------------------------------------------------------------------


def test_policy_simulation(client):
    iam = client("iam")
    role = iam.create_role(RoleName="doctor-sim", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(RoleName="doctor-sim", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::recipes/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::recipes/secret/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/team": "ml"}}},
    ]}))
    managed = iam.create_policy(PolicyName="doctor-list", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::recipes"}]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="doctor-sim", PolicyArn=managed)

    def decide(action, resource, **extra):
        result = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=[action], ResourceArns=[resource], **extra)
        return result["EvaluationResults"][0]

    allowed = decide("s3:GetObject", "arn:aws:s3:::recipes/a.json")
    assert allowed["EvalDecision"] == "allowed" and allowed["MatchedStatements"][0]["SourcePolicyType"] == "role"
    assert decide("s3:getobject", "arn:aws:s3:::recipes/a.json")["EvalDecision"] == "allowed"  # actions are case-insensitive
    assert decide("s3:GetObject", "arn:aws:s3:::recipes/secret/k")["EvalDecision"] == "explicitDeny"
    assert decide("s3:GetObject", "arn:aws:s3:::other/k")["EvalDecision"] == "implicitDeny"
    listed = decide("s3:ListBucket", "arn:aws:s3:::recipes")
    assert listed["EvalDecision"] == "allowed" and listed["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"
    conditional = decide("s3:PutObject", "arn:aws:s3:::recipes/x")
    assert conditional["EvalDecision"] == "implicitDeny" and conditional["MissingContextValues"] == ["aws:RequestTag/team"]
    given = decide("s3:PutObject", "arn:aws:s3:::recipes/x",
                   ContextEntries=[{"ContextKeyName": "aws:RequestTag/team", "ContextKeyValues": ["ml"], "ContextKeyType": "string"}])
    assert given["EvalDecision"] == "allowed"
    several = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject", "s3:DeleteObject"])["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in several] == [
        ("s3:GetObject", "*", "implicitDeny"), ("s3:DeleteObject", "*", "implicitDeny")]
    with pytest.raises(ClientError) as err:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/no-such-role", ActionNames=["s3:GetObject"])
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"


# ---- control: removing a public-hub model -----------------------------------------------------------


def test_remove_and_restore_a_public_hub_model(client, emulator):
    sm = client("sagemaker")
    listed = [c["HubContentName"] for c in sm.list_hub_contents(HubName="SageMakerPublicHub", HubContentType="Model")["HubContentSummaries"]]
    model = listed[0]
    with emulator.control.hub_model_removed(model):
        assert emulator.control.removed_hub_models() == [model]
        with pytest.raises(ClientError) as err:
            sm.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=model)
        assert err.value.response["Error"]["Code"] == "ResourceNotFound"
        now = [c["HubContentName"] for c in sm.list_hub_contents(HubName="SageMakerPublicHub", HubContentType="Model")["HubContentSummaries"]]
        assert model not in now and len(now) == len(listed) - 1
    assert emulator.control.removed_hub_models() == []
    assert sm.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=model)["HubContentName"] == model
    assert emulator.control.remove_hub_model("no-such-model")["known"] is False
    emulator.control.reset()  # a reset restores every removed model
    assert emulator.control.removed_hub_models() == []
