"""The synthesized state machine: states a person can follow, Retry/Catch on every AWS call, no .sync."""

from __future__ import annotations

import json

EXPECTED_STATES = {
    "ValidateInput", "ResolveBaseModel", "PlanTrainingJob", "VerifyReward?", "VerifyRewardFunction",
    "RecordExecutionJob", "CreateTrainingJob", "DescribeTrainingJob", "JobStatus?", "WaitForJobEvent",
    "BackOffPolling", "IntervalAboveMaximum?", "CapPollInterval", "PollWithoutEvents", "SummarizeResult",
    "TrainingJobCompleted", "TrainingJobFailed", "TrainingJobStopped", "ExplainRejection", "InputRejected", "WorkflowError",
}


def test_named_states(definition):
    assert set(definition["States"]) == EXPECTED_STATES
    assert definition["StartAt"] == "ValidateInput"


def test_every_aws_call_has_retry_and_catch(definition):
    tasks = {n: s for n, s in definition["States"].items() if s["Type"] == "Task"}
    assert len(tasks) == 9
    for name, state in tasks.items():
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"


def test_no_sync_integrations(definition):
    for name, state in definition["States"].items():
        assert ".sync" not in state.get("Resource", ""), name


def test_create_passes_the_planned_request_whole(definition):
    create = definition["States"]["CreateTrainingJob"]
    assert create["Resource"].endswith(":states:::aws-sdk:sagemaker:createTrainingJob")
    assert create["InputPath"] == "$.plan.request" and "Parameters" not in create
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in create["Catch"]}
    assert catches[("SageMaker.ResourceInUseException", "SageMaker.ResourceInUse")] == "DescribeTrainingJob"
    retried = {e for r in create["Retry"] for e in r["ErrorEquals"]}
    assert "SageMaker.ThrottlingException" in retried


def test_event_wait_with_adaptive_polling_safety_net(definition):
    wait = definition["States"]["WaitForJobEvent"]
    assert wait["Resource"].endswith(":states:::aws-sdk:dynamodb:putItem.waitForTaskToken")
    assert wait["TimeoutSecondsPath"] == "$.tracking.wait_seconds"
    assert wait["Parameters"]["Item"]["token"] == {"S.$": "$$.Task.Token"}
    on_timeout = [c for c in wait["Catch"] if c["ErrorEquals"] == ["States.Timeout"]][0]
    assert on_timeout["Next"] == "BackOffPolling"
    assert "States.MathAdd($.tracking.wait_seconds, $.tracking.wait_seconds)" in json.dumps(definition["States"]["BackOffPolling"])
    assert definition["States"]["JobStatus?"]["Default"] == "WaitForJobEvent"


def test_terminal_states(definition):
    s = definition["States"]
    assert s["TrainingJobFailed"] == {"Type": "Fail", "Error": "TrainingJobFailed", "CausePath": "$.job.FailureReason"}
    assert s["TrainingJobStopped"]["Error"] == "TrainingJobStopped"
    assert s["InputRejected"]["ErrorPath"] == "$.error.Error"


def test_input_errors_route_to_rejection(definition):
    from sagemaker_finetuning.lambda_src.common.errors import ERROR_NAMES

    catch = definition["States"]["ValidateInput"]["Catch"]
    assert set(catch[0]["ErrorEquals"]) == set(ERROR_NAMES) and catch[0]["Next"] == "ExplainRejection"
    assert {"EulaNotAccepted", "HyperparameterOutOfRange", "JudgeModelNotAvailable", "DatasetAccessDenied"} <= set(ERROR_NAMES)
