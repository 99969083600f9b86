"""The synthesized state machine: states a person can follow, Retry/Catch on every AWS call, no .sync."""

from __future__ import annotations

EXPECTED_STATES = {
    "ReceiveInput", "ValidateInput", "ResolveBaseModel", "CheckDatasets", "ListDatasetParts", "ValidateDatasetParts",
    "MergeDatasetValidation", "FanOutDatasetValidation?", "ValidateDatasetPartsAtScale", "PlanTrainingJob", "VerifyReward?", "VerifyRewardFunction",
    "RecordExecutionJob", "MlflowConfigured?", "VerifyJobOwnership", "CreateTrainingJob", "CreateTrainingJobWithMlflow", "TrackTrainingJob", "JobStatus?", "WaitForJobEvent",
    "PollWithoutEvents", "SummarizeResult", "EvaluateModel?", "EvaluationTarget", "PlanEvaluation", "RecordEvaluationJobs",
    "EvaluateModels", "GateEvaluation", "ExplainGateFailure", "EvaluationGateFailed", "Mode?", "ResolveEvaluationTarget", "Trained?",
    "EvaluationCompleted", "Sweep?", "PlanSweep", "RunSweep", "SummarizeSweep", "ExplainSweepFailure", "SweepFailed", "SweepCompleted",
    "TrainingJobCompleted", "TrainingJobFailed", "TrainingJobStopped", "ExplainRejection", "InputRejected", "WorkflowError",
}


def test_named_states(definition):
    assert set(definition["States"]) == EXPECTED_STATES
    assert definition["StartAt"] == "ReceiveInput"
    assert definition["States"]["ReceiveInput"]["Parameters"] == {"input.$": "$"}, "any JSON value is wrapped first"
    states = definition["States"]
    # the datasets are checked after the model is known and before anything is planned or launched
    assert (states["ResolveBaseModel"]["Next"], states["CheckDatasets"]["Next"]) == ("CheckDatasets", "ListDatasetParts")
    # every record is checked (a Map over byte ranges of every object) before anything is planned or launched
    assert (states["ListDatasetParts"]["Next"], states["ValidateDatasetParts"]["Next"], states["MergeDatasetValidation"]["Next"]) == (
        "FanOutDatasetValidation?", "MergeDatasetValidation", "Sweep?")
    assert states["Sweep?"]["Default"] == "PlanTrainingJob" and states["Sweep?"]["Choices"] == [
        {"Variable": "$.input.sweep", "IsPresent": True, "Next": "PlanSweep"}]
    fan_out = states["FanOutDatasetValidation?"]
    assert fan_out["Default"] == "ValidateDatasetParts" and fan_out["Choices"] == [
        {"Variable": "$.dataset_plan.items_location", "IsPresent": True, "Next": "ValidateDatasetPartsAtScale"}]
    parts = states["ValidateDatasetParts"]
    assert parts["ItemsPath"] == "$.dataset_plan.items" and parts["MaxConcurrency"] == 10
    assert parts["ItemSelector"] == {"step": "validate_dataset_part", "item.$": "$$.Map.Item.Value"}
    assert {c["Next"] for c in parts["Catch"]} == {"ExplainRejection", "WorkflowError"} and "DatasetInvalid" in parts["Catch"][0]["ErrorEquals"]
    inner = parts["ItemProcessor"]["States"]["ValidateDatasetPart"]
    assert inner["Retry"] and "Parameters" not in inner  # the item is the Lambda's payload


def test_large_datasets_fan_out_to_a_distributed_map(definition):
    """Items read from S3 (the workflow's own prefix), 100 STANDARD children at a time, no failure tolerated;
    each child writes its result to S3, so the Map's own output stays a constant."""
    at_scale = definition["States"]["ValidateDatasetPartsAtScale"]
    assert at_scale["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert at_scale["ItemReader"] == {
        "Resource": "arn:<AWS::Partition>:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.dataset_plan.items_location.Bucket", "Key.$": "$.dataset_plan.items_location.Key"}}
    assert at_scale["MaxConcurrency"] == 100 and at_scale.get("ToleratedFailurePercentage", 0) == 0  # the service default
    assert at_scale["ItemSelector"] == {"step": "validate_dataset_part", "item.$": "$$.Map.Item.Value"}
    assert at_scale["ResultSelector"] == {"fanned_out": True} and at_scale["ResultPath"] == "$.dataset_results"
    assert at_scale["Next"] == "MergeDatasetValidation" and [c["Next"] for c in at_scale["Catch"]] == ["WorkflowError"]
    assert at_scale["ItemProcessor"]["States"]["ValidateDatasetPartAtScale"]["Retry"]


def test_a_sweep_runs_each_configuration_as_a_fine_tuning_job_in_a_distributed_map(definition):
    """PlanSweep writes the trials; RunSweep reads them from S3 and runs max_concurrency STANDARD children at a time,
    tolerating the input's failure percentage; each child is the FineTuningJob's Parallel, then the record of its
    output or error (a failed run fails its child); SummarizeSweep decides, also when the Map stopped past the tolerance."""
    states = definition["States"]
    plan, run, summarize = states["PlanSweep"], states["RunSweep"], states["SummarizeSweep"]
    assert plan["Parameters"]["step"] == "plan_sweep" and plan["ResultPath"] == "$.sweep_plan" and plan["Next"] == "RunSweep"
    assert run["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert run["ItemReader"]["Parameters"] == {"Bucket.$": "$.sweep_plan.items_location.Bucket", "Key.$": "$.sweep_plan.items_location.Key"}
    assert run["MaxConcurrencyPath"] == "$.sweep_plan.max_concurrency"
    assert run["ToleratedFailurePercentagePath"] == "$.sweep_plan.tolerated_failure_percentage"
    assert run["ItemSelector"] == {"item.$": "$$.Map.Item.Value", "records.$": "$.sweep_plan.records"} and run["ResultPath"] is None
    assert [(c["ErrorEquals"], c["Next"]) for c in run["Catch"]] == [(["States.ExceedToleratedFailureThreshold"], "SummarizeSweep"),
                                                                    (["States.ALL"], "WorkflowError")]
    assert run["Next"] == "SummarizeSweep" and summarize["Next"] == "SweepCompleted" and states["SweepCompleted"]["OutputPath"] == "$.output"
    assert summarize["Catch"][0] == {"ErrorEquals": ["SweepFailed", "EvaluationGateFailed"], "ResultPath": "$.error", "Next": "ExplainSweepFailure"}
    child = run["ItemProcessor"]
    trial = child["States"][child["StartAt"]]
    assert child["StartAt"] == "Trial: Run" and trial["Type"] == "Parallel" and trial["InputPath"] == "$.item.input"
    assert trial["ResultPath"] == "$.output" and trial["Next"] == "RecordTrial"
    assert trial["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailedTrial"}]
    assert child["States"]["RecordTrial"]["End"] is True and child["States"]["RecordFailedTrial"]["Next"] == "TrialFailed"
    assert child["States"]["TrialFailed"] == {"Type": "Fail", "Comment": child["States"]["TrialFailed"]["Comment"],
                                              "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    # orchestration per child beyond the run's own states: the Parallel and the record (and the child's start)
    assert set(child["States"]) == {"Trial: Run", "RecordTrial", "RecordFailedTrial", "TrialFailed"}
    inner = trial["Branches"][0]["States"]
    assert "Trial: PlanTrainingJob" in inner and not any("Sweep" in name for name in inner), "a trial is one run, never a sweep"
    assert inner["Trial: ValidateInput"]["Parameters"]["fragment"].endswith("/Trial")


def test_every_aws_call_has_retry_and_catch(definition):
    tasks = {n: s for n, s in definition["States"].items() if s["Type"] == "Task"}
    assert len(tasks) == 20
    for name, state in tasks.items():
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"


def test_no_sync_integrations(definition):
    for name, state in definition["States"].items():
        assert ".sync" not in state.get("Resource", ""), name


def test_create_passes_the_planned_request(definition):
    from sagemaker_finetuning.workflow.definition import REQUEST_FIELDS

    for name, extra in (("CreateTrainingJob", ()), ("CreateTrainingJobWithMlflow", ("MlflowConfig",))):
        create = definition["States"][name]
        assert create["Resource"].endswith(":states:::aws-sdk:sagemaker:createTrainingJob")
        assert create["Parameters"] == {f"{f}.$": f"$.plan.request.{f}" for f in (*REQUEST_FIELDS, *extra)}
        catches = {tuple(c["ErrorEquals"]): c["Next"] for c in create["Catch"]}
        assert catches[("SageMaker.ResourceInUseException", "SageMaker.ResourceInUse")] == "VerifyJobOwnership"
        retried = {e for r in create["Retry"] for e in r["ErrorEquals"]}
        assert "SageMaker.ThrottlingException" in retried
    choice = definition["States"]["MlflowConfigured?"]
    assert choice["Choices"][0] == {"Variable": "$.plan.request.MlflowConfig", "IsPresent": True, "Next": "CreateTrainingJobWithMlflow"}


def test_planner_emits_exactly_the_fields_the_state_machine_sends():
    """Every request field is sent, and only MlflowConfig may be absent (a path to a missing field fails)."""
    import dataclasses
    import json as _json

    import hub_fixtures as catalog

    from sagemaker_finetuning.core import planner as P
    from sagemaker_finetuning.core.recipes import select_recipe
    from sagemaker_finetuning.core.settings import StackSettings
    from sagemaker_finetuning.workflow.definition import REQUEST_FIELDS

    settings = StackSettings(region="us-east-1", account="123456789012", partition="aws", role_arn="arn:aws:iam::123456789012:role/r",
                             bucket="ft-bucket", model_package_group_name="g", base_model=catalog.DEFAULT_MODEL_ID)
    for mlflow in (None, "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1"):
        raw = {"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/x.jsonl", **({"mlflow_resource_arn": mlflow} if mlflow else {})}
        inp = P.validate_input(raw, dataclasses.replace(settings, mlflow_resource_arn=mlflow))
        desc = catalog.describe_hub_content("us-east-1", catalog.DEFAULT_MODEL_ID)
        resolved = P.ResolvedModel.from_hub(desc, _json.loads(desc["HubContentDocument"]))
        recipe = select_recipe(resolved.recipes, resolved.model_id, "SFT", "LORA")
        request = P.plan_training_job(inp, resolved, catalog.override_params(resolved.model_id, "SFT", True, recipe["SequenceLength"]), settings, "arn:x")
        assert set(request) == set(REQUEST_FIELDS) | ({"MlflowConfig"} if mlflow else set())


def test_event_wait_with_adaptive_polling_safety_net(definition):
    """Two states per cycle: TrackTrainingJob -> WaitForJobEvent -> (event or timeout) -> TrackTrainingJob.
    The loop is left when the conditional put is refused (the job ended), through JobStatus?."""
    states = definition["States"]
    wait, track = states["WaitForJobEvent"], states["TrackTrainingJob"]
    assert wait["Resource"].endswith(":states:::aws-sdk:dynamodb:putItem.waitForTaskToken")
    assert wait["TimeoutSecondsPath"] == "$.track.tracking.wait_seconds"
    assert wait["Parameters"]["Item"]["token"] == {"S.$": "$$.Task.Token"}
    assert wait["Parameters"]["ConditionExpression"] == "attribute_not_exists(ended)"
    catches = {tuple(c["ErrorEquals"]): (c["Next"], c.get("ResultPath")) for c in wait["Catch"]}
    assert catches[("DynamoDb.ConditionalCheckFailedException", "DynamoDB.ConditionalCheckFailedException")] == ("JobStatus?", None)
    assert catches[("States.Timeout",)] == ("TrackTrainingJob", "$.wake")
    assert catches[("States.ALL",)] == ("JobStatus?", "$.wake")
    assert list(catches)[-1] == ("States.ALL",), "States.ALL must come last"
    assert wait["Next"] == "TrackTrainingJob" and track["Next"] == "WaitForJobEvent"
    assert track["Parameters"]["step"] == "track" and track["ResultPath"] == "$.track"
    assert track["Parameters"]["wake.$"] == "$.wake" and track["Parameters"]["tracking.$"] == "$.track.tracking"
    # the waiter table failing: poll on a timer, still through TrackTrainingJob
    assert states["JobStatus?"]["Default"] == "PollWithoutEvents" and states["PollWithoutEvents"]["Next"] == "TrackTrainingJob"
    assert not any(s["Type"] == "Pass" for n, s in states.items() if n not in ("ReceiveInput", "ExplainRejection", "ExplainGateFailure",
                                                                              "EvaluationTarget", "ExplainSweepFailure"))


def test_terminal_states(definition):
    s = definition["States"]
    assert s["TrainingJobFailed"] == {"Type": "Fail", "Error": "TrainingJobFailed", "CausePath": "$.track.job.FailureReason"}
    assert s["TrainingJobStopped"]["Error"] == "TrainingJobStopped"
    assert s["InputRejected"]["ErrorPath"] == "$.error.Error"


def test_input_errors_route_to_rejection(definition):
    from sagemaker_finetuning.core.errors import ERROR_NAMES

    catch = definition["States"]["ValidateInput"]["Catch"]
    assert set(catch[0]["ErrorEquals"]) == set(ERROR_NAMES) and catch[0]["Next"] == "ExplainRejection"
    assert {"EulaNotAccepted", "HyperparameterOutOfRange", "JudgeModelNotAvailable", "DatasetAccessDenied"} <= set(ERROR_NAMES)


def test_an_existing_job_is_tracked_only_after_its_ownership_is_verified(definition):
    """ResourceInUse -> VerifyJobOwnership (this execution's tags?) -> TrackTrainingJob; else InputRejected."""
    verify = definition["States"]["VerifyJobOwnership"]
    assert verify["Next"] == "TrackTrainingJob" and verify["Parameters"]["step"] == "adopt"
    assert verify["Parameters"]["execution_arn.$"] == "$$.Execution.Id"
    rejected = [c for c in verify["Catch"] if "TrainingJobNameInUse" in c["ErrorEquals"]]
    assert rejected and rejected[0]["Next"] == "ExplainRejection"


def test_a_completed_job_is_evaluated_and_gated_when_the_input_asks(definition):
    """SummarizeResult -> EvaluateModel? -> plan, record (the abort clean-up stops them), the sides in parallel
    (each side's jobs in order, each tracked like the training job), the gate; the output is $.output."""
    s = definition["States"]
    assert s["SummarizeResult"]["ResultPath"] == "$.output" and s["SummarizeResult"]["Next"] == "EvaluateModel?"
    assert s["EvaluateModel?"]["Default"] == "TrainingJobCompleted"
    assert s["EvaluateModel?"]["Choices"] == [{"Variable": "$.input.evaluation", "IsPresent": True, "Next": "EvaluationTarget"}]
    assert [s[n]["Next"] for n in ("EvaluationTarget", "PlanEvaluation", "RecordEvaluationJobs", "EvaluateModels", "GateEvaluation")] == [
        "PlanEvaluation", "RecordEvaluationJobs", "EvaluateModels", "GateEvaluation", "Trained?"]
    # mode evaluate: straight from ValidateInput to the evaluation, no training
    assert s["ValidateInput"]["Next"] == "Mode?" and s["Mode?"]["Default"] == "ResolveBaseModel"
    assert s["Mode?"]["Choices"] == [{"Variable": "$.input.mode", "StringEquals": "evaluate", "Next": "ResolveEvaluationTarget"}]
    assert s["ResolveEvaluationTarget"]["Next"] == "PlanEvaluation" and s["Trained?"]["Default"] == "TrainingJobCompleted"
    assert s["EvaluationCompleted"]["OutputPath"] == "$.output"
    assert s["TrainingJobCompleted"] == {"Type": "Succeed", "OutputPath": "$.output", "Comment": "The run's output document"}
    record = s["RecordEvaluationJobs"]["Parameters"]
    assert record["ExpressionAttributeValues"][":jobs"] == {"SS.$": "$.evaluation_plan.job_names"}
    sides = s["EvaluateModels"]
    assert sides["MaxConcurrency"] == 2 and sides["ItemsPath"] == "$.evaluation_plan.sides"
    jobs = sides["ItemProcessor"]["States"]["EvaluationJobs"]
    assert jobs["MaxConcurrency"] == 1 and jobs["ItemsPath"] == "$.side.jobs"
    inner = jobs["ItemProcessor"]["States"]
    assert jobs["ItemProcessor"]["StartAt"] == "LaunchEvaluationJob" and inner["LaunchEvaluationJob"]["Next"] == "TrackEvaluationJob"
    assert inner["WaitForEvaluationJobEvent"]["Parameters"]["ConditionExpression"] == "attribute_not_exists(ended)"
    assert all("Catch" not in st for st in inner.values() if st["Type"] == "Task" and st is not inner["WaitForEvaluationJobEvent"])
    assert inner["EvaluationJobFailed"] == {"Type": "Fail", "Error": "EvaluationJobFailed", "CausePath": "$.track.job.FailureReason"}
    gate = s["GateEvaluation"]
    assert gate["ResultPath"] == "$.output.evaluation" and gate["Catch"][0] == {
        "ErrorEquals": ["EvaluationGateFailed"], "ResultPath": "$.error", "Next": "ExplainGateFailure"}
    assert s["EvaluationGateFailed"]["ErrorPath"] == "$.error.Error" and s["EvaluationGateFailed"]["CausePath"] == "$.error.Cause.errorMessage"
