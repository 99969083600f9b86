"""Gap 3: aws-sdk error names, waitForTaskToken with another process, execution status events."""

from __future__ import annotations

import json

import pytest

from .helpers import ROLE_ARN, drain_queue, ensure_data, serverless_job, wait_for

SFN_ROLE = "arn:aws:iam::123456789012:role/sfn"

CREATE_JOB = {
    "StartAt": "Create",
    "States": {
        "Create": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sagemaker:createTrainingJob",
            "Parameters": {"TrainingJobName.$": "$.name", "RoleArn.$": "$.role", "OutputDataConfig": {"S3OutputPath": "s3://data/out"},
                           "ServerlessJobConfig.$": "$.sjc"},
            "Retry": [{"ErrorEquals": ["SageMaker.ThrottlingException"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
            "ResultSelector": {"arn.$": "$.TrainingJobArn"},
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}

WAIT_FOR_TOKEN = {
    "StartAt": "Park",
    "States": {
        "Park": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken",
            "TimeoutSecondsPath": "$.timeout",
            "Parameters": {
                "TableName": "tokens",
                "Item": {"pk": {"S.$": "$.key"}, "token": {"S.$": "$$.Task.Token"}},
            },
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "TimedOut"}],
            "End": True,
        },
        "TimedOut": {"Type": "Pass", "Result": "timed out", "ResultPath": "$.result", "End": True},
    },
}

CONDITIONAL_PUT = {
    "StartAt": "Put",
    "States": {
        "Put": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
            "Parameters": {"TableName": "tokens", "Item": {"pk": {"S": "taken"}}, "ConditionExpression": "attribute_not_exists(pk)"},
            "Catch": [{"ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}

LONG_WAIT = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}}}


@pytest.fixture(scope="module")
def sfn(client):
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="tokens",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ensure_data(client("s3"))
    return client("stepfunctions")


def machine(sfn, name: str, definition: dict) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=SFN_ROLE)["stateMachineArn"]


def run(sfn, arn: str, payload: dict, name: str | None = None) -> dict:
    kwargs = {"stateMachineArn": arn, "input": json.dumps(payload)}
    if name:
        kwargs["name"] = name
    exec_arn = sfn.start_execution(**kwargs)["executionArn"]
    return wait_for(lambda: (d := sfn.describe_execution(executionArn=exec_arn))["status"] != "RUNNING" and d, timeout=15)


def test_aws_sdk_error_names_follow_aws(sfn, emulator):
    arn = machine(sfn, "create-job", CREATE_JOB)
    sjc = serverless_job("x")["ServerlessJobConfig"]
    ok = run(sfn, arn, {"name": "sfn-job", "role": ROLE_ARN, "sjc": sjc})
    assert ok["status"] == "SUCCEEDED" and json.loads(ok["output"])["arn"].endswith("training-job/sfn-job")

    duplicate = json.loads(run(sfn, arn, {"name": "sfn-job", "role": ROLE_ARN, "sjc": sjc})["output"])
    assert duplicate["error"]["Error"] == "SageMaker.ResourceInUseException"
    assert "Service: SageMaker" in duplicate["error"]["Cause"]

    # The aws-sdk integration skips client-side validation; the emulator validates like AWS.
    invalid = json.loads(run(sfn, arn, {"name": "sfn-job-2", "role": "not-an-arn", "sjc": sjc})["output"])
    assert invalid["error"]["Error"] == "SageMaker.ValidationException"
    assert "roleArn" in invalid["error"]["Cause"]

    # one throttle is retried by the Retry policy, two exhaust it and are caught
    emulator.control.inject_fault("CreateTrainingJob", count=1)
    retried = run(sfn, arn, {"name": "sfn-job-3", "role": ROLE_ARN, "sjc": sjc})
    assert "error" not in json.loads(retried["output"])
    emulator.control.inject_fault("CreateTrainingJob", count=2)
    throttled = json.loads(run(sfn, arn, {"name": "sfn-job-4", "role": ROLE_ARN, "sjc": sjc})["output"])
    assert throttled["error"]["Error"] == "SageMaker.ThrottlingException"

    cond = machine(sfn, "conditional", CONDITIONAL_PUT)
    assert "error" not in json.loads(run(sfn, cond, {})["output"])
    caught = json.loads(run(sfn, cond, {})["output"])
    assert caught["error"]["Error"] == "DynamoDb.ConditionalCheckFailedException"


@pytest.fixture(scope="module")
def park(sfn):
    return machine(sfn, "park", WAIT_FOR_TOKEN)


def test_wait_for_task_token_resumes_on_send_task_success(sfn, client, park):
    ddb = client("dynamodb")
    arn = park
    exec_arn = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"key": "k1", "timeout": 30}))["executionArn"]
    item = wait_for(lambda: ddb.get_item(TableName="tokens", Key={"pk": {"S": "k1"}}).get("Item"))
    assert sfn.describe_execution(executionArn=exec_arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=item["token"]["S"], output=json.dumps({"trained": True}))
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=exec_arn))["status"] != "RUNNING" and d)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"trained": True}

    # SendTaskFailure fails the execution with the given error
    exec_arn = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"key": "k2", "timeout": 30}))["executionArn"]
    item = wait_for(lambda: ddb.get_item(TableName="tokens", Key={"pk": {"S": "k2"}}).get("Item"))
    sfn.send_task_failure(taskToken=item["token"]["S"], error="Training.Failed", cause="boom")
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=exec_arn))["status"] != "RUNNING" and d)
    assert done["status"] == "FAILED" and done["error"] == "Training.Failed"


def test_wait_for_task_token_timeout_is_catchable(sfn, park):
    done = run(sfn, park, {"key": "k3", "timeout": 1})
    assert done["status"] == "SUCCEEDED"
    out = json.loads(done["output"])
    assert out["result"] == "timed out" and out["error"]["Error"] == "States.Timeout"


def test_execution_status_change_events(sfn, client):
    sqs, events = client("sqs"), client("events")
    url = sqs.create_queue(QueueName="sfn-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="sfn-status",
        EventPattern=json.dumps({"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}),
    )
    events.put_targets(Rule="sfn-status", Targets=[{"Id": "q", "Arn": queue_arn}])
    quick = machine(sfn, "quick", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}})
    first = run(sfn, quick, {"a": 1})
    second = run(sfn, quick, {"a": 2})  # unnamed executions get distinct UUID names
    assert first["name"] != second["name"] and first["name"] != "None"
    slow = machine(sfn, "slow", LONG_WAIT)
    exec_arn = sfn.start_execution(stateMachineArn=slow, name="to-stop")["executionArn"]
    sfn.stop_execution(executionArn=exec_arn)
    wait_for(lambda: sfn.describe_execution(executionArn=exec_arn)["status"] == "ABORTED")

    def statuses(bodies):
        return {(b["detail"]["name"], b["detail"]["status"]) for b in bodies}

    bodies = drain_queue(sqs, url, until=lambda b: ("to-stop", "ABORTED") in statuses(b) and len(b) >= 6)
    got = statuses(bodies)
    assert {(first["name"], "RUNNING"), (first["name"], "SUCCEEDED"), ("to-stop", "RUNNING"), ("to-stop", "ABORTED")} <= got
    done = next(b for b in bodies if b["detail"]["name"] == first["name"] and b["detail"]["status"] == "SUCCEEDED")
    assert done["source"] == "aws.states" and done["resources"] == [first["executionArn"]]
    assert json.loads(done["detail"]["output"]) == {"ok": 1} and json.loads(done["detail"]["input"]) == {"a": 1}
    assert done["detail"]["stateMachineArn"] == quick and isinstance(done["detail"]["stopDate"], int)


def test_a_definite_path_through_an_index_selects_the_node(sfn):
    """``$[0].name`` (a Parallel's ResultSelector reading its branch) is the value, not ``[value]``; a filter
    expression still gives a list (moto's fix for getmoto/moto#7825 is kept for those)."""
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {"Type": "Parallel", "Branches": [{"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}],
                     "ResultSelector": {"name.$": "$[0].name", "first.$": "$[0].items[0]", "deep.$": "$[0].items[1].id",
                                        "filtered.$": "$[0].people[?(@.id==2)].name"},
                     "End": True},
        },
    }
    done = run(sfn, machine(sfn, "definite-paths", definition),
               {"name": "sft", "items": ["a", {"id": 7}], "people": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]})
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"]) == {"name": "sft", "first": "a", "deep": 7, "filtered": ["y"]}


def test_a_map_runs_child_executions_can_be_listed(sfn):
    """ListExecutions(mapRunArn) answers (moto: HTTP 500): the emulator's Distributed Map runs its children inside the
    parent execution, so the list is empty; an unknown Map Run is ResourceNotFound, as in AWS."""
    definition = {"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}}}}
    done = run(sfn, machine(sfn, "distributed-children", definition), {"items": [1, 2, 3]})
    assert done["status"] == "SUCCEEDED", done.get("cause")
    [map_run] = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    assert sfn.list_executions(mapRunArn=map_run["mapRunArn"])["executions"] == []
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_executions(mapRunArn=map_run["mapRunArn"].replace(map_run["mapRunArn"][-6:], "000000"))
    assert sfn.list_executions(stateMachineArn=done["stateMachineArn"])["executions"], "by state machine: unchanged"
