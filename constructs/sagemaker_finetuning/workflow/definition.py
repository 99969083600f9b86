"""The workflow's states: validate -> resolve -> plan -> [verify reward] -> record -> launch -> track.

Every state is defined directly in the workflow's scope (the construct IDs are the state names),
every AWS call retries and catches per :mod:`policies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from constructs import Construct
from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.workflow.policies import ALL_ERRORS, INPUT_ERRORS, POLICIES, RESOURCE_IN_USE, catch_errors
from sagemaker_finetuning.workflow.runtime import Runtime

#: CreateTrainingJob fields the planner always emits (MlflowConfig is the only optional one).
REQUEST_FIELDS = (
    "TrainingJobName", "RoleArn", "InputDataConfig", "OutputDataConfig", "ServerlessJobConfig",
    "HyperParameters", "ModelPackageConfig", "StoppingCondition", "Tags",
)


@dataclass
class Definition:
    start: sfn.IChainable
    #: What the raw Task states (launch, describe) need; they register it with the state machine they join.
    launch_statements: list[iam.PolicyStatement]
    #: Map states and their item processors, joined by :meth:`finish` (after a fragment prefixed its state names:
    #: a Map registers its processor's states under the names they have when it is set).
    processors: list[tuple[sfn.Map, sfn.IChainable]]

    def finish(self) -> None:
        for map_state, processor in self.processors:
            map_state.item_processor(processor)
        self.processors = []


class GrantingState(sfn.CustomState):
    """A raw ``Task`` state that carries its own IAM, as the aws-stepfunctions-tasks tasks do: when a
    state machine is built from it (directly, in a fragment, a ``Parallel`` or a ``Map``), its
    statements go to that state machine's role (``CustomState`` alone carries none)."""

    def __init__(self, scope: Construct, id: str, *, state_json: Mapping[str, Any], statements: Sequence[iam.PolicyStatement]) -> None:
        super().__init__(scope, id, state_json=dict(state_json))
        self.statements = list(statements)

    def _when_bound_to_graph(self, graph: sfn.StateGraph) -> None:
        super()._when_bound_to_graph(graph)
        for statement in self.statements:
            graph.register_policy_statement(statement)


@dataclass(frozen=True)
class _Ends:
    rejected: sfn.IChainable
    failed: sfn.IChainable


def build_definition(scope: Construct, runtime: Runtime, execution_role: iam.IRole, *, fragment: str = "") -> Definition:
    """The states, in ``scope``. ``fragment``: the run's identity inside an execution (a FineTuningJob's
    path; empty for the workflow's own state machine, whose execution is one run), part of the job name."""
    stack = Stack.of(scope)
    ends = _ends(scope)
    step = _StepFactory(scope, runtime, ends)
    # Any JSON value can start an execution: wrap it, so a rejection can be recorded next to it
    # (a Catch cannot write $.error into a list, a string or null).
    receive = sfn.Pass(scope, "ReceiveInput", parameters={"input.$": "$"},
                       comment="Wraps the execution input (any JSON value) as {input: ...}")
    validate = step("ValidateInput", "validate", {"input.$": "$.input"}, None, "Checks the input against the schema and the stack (no AWS call)")
    resolve = step("ResolveBaseModel", "resolve", {"input.$": "$.input"}, "$.resolution",
                   "DescribeHubContent of the base model (or the source model package) and its recipe")
    datasets = step("CheckDatasets", "check_datasets", {"input.$": "$.input", "resolution.$": "$.resolution"}, "$.datasets",
                    "The datasets exist and their first records are in the technique's format (S3 reads, before any spend)")
    validation = _dataset_validation(scope, runtime, step, ends)
    plan_payload = {"input.$": "$.input", "resolution.$": "$.resolution", "execution_arn.$": "$$.Execution.Id",
                    "dataset_validation.$": "$.dataset_validation",
                    **({"fragment": fragment} if fragment else {})}
    plan = step("PlanTrainingJob", "plan", plan_payload, None, "Builds the exact CreateTrainingJob request (pure planner)")
    verify = catch_errors(POLICIES.verify_lambda.apply(tasks.LambdaInvoke(
        scope, "VerifyRewardFunction",
        lambda_function=runtime.verify,
        payload=sfn.TaskInput.from_object({"input.$": "$.input", "plan.$": "$.plan"}),
        payload_response_only=True, result_path="$.reward_verification",
        comment="Invokes the reward function on training samples and checks its replies",
    )), rejected=ends.rejected, failed=ends.failed)
    record = catch_errors(POLICIES.dynamodb.apply(tasks.CallAwsService(
        scope, "RecordExecutionJob",
        service="dynamodb", action="updateItem",
        parameters={
            "TableName": runtime.table.table_name,
            "Key": {"pk": {"S": sfn.JsonPath.format("execution#{}", sfn.JsonPath.execution_id)}},
            # A set: an execution of a state machine embedding several FineTuningJobs (or a Map of them) runs several jobs.
            "UpdateExpression": "ADD job_names :job SET expires_at = :expires",
            "ExpressionAttributeValues": {
                ":job": {"SS": sfn.JsonPath.array(sfn.JsonPath.string_at("$.plan.training_job_name"))},
                ":expires": {"N": sfn.JsonPath.string_at("$.plan.expires_at")},
            },
        },
        iam_resources=[runtime.table.table_arn], result_path=sfn.JsonPath.DISCARD,
        comment="Remembers the job of this execution, so an aborted execution can stop it",
    )), rejected=ends.rejected, failed=ends.failed, input_errors=False)
    adopt = step("VerifyJobOwnership", "adopt", {"plan.$": "$.plan", "execution_arn.$": "$$.Execution.Id"}, "$.adopted",
                 "CreateTrainingJob said ResourceInUse: track the job only if this execution created it (retry, redrive)")
    describe, launch, statements = _launch(scope, stack, ends, adopt, execution_role)
    _tracking(scope, runtime, describe, step)
    record.next(launch)
    reward_check = (
        sfn.Choice(scope, "VerifyReward?")
        .when(sfn.Condition.boolean_equals("$.plan.verify_reward", True), verify.next(record))
        .otherwise(record)
    )
    receive.next(validate).next(resolve).next(datasets).next(validation.start)
    validation.merge.next(plan).next(reward_check)
    return Definition(receive, statements, [validation.processor])


@dataclass(frozen=True)
class _Validation:
    start: sfn.IChainable
    merge: sfn.TaskStateBase
    processor: tuple[sfn.Map, sfn.IChainable]


#: Bytes of dataset one validation item (one Steps invocation) reads: a few seconds at 512 MB of Lambda memory.
PART_BYTES = 64 * 1024 * 1024
#: Items validated at once (inline Map).
VALIDATION_CONCURRENCY = 10


def _dataset_validation(scope: Construct, runtime: Runtime, step: _StepFactory, ends: _Ends) -> _Validation:
    """Whole-dataset validation before any spend: plan parts (objects, byte ranges) -> validate them in a Map ->
    merge the verdict (``DatasetInvalid`` names object key and line). ``validate_dataset`` = off plans no part."""
    plan_parts = step("ListDatasetParts", "list_dataset_parts", {"input.$": "$.input", "resolution.$": "$.resolution",
                                                                 "part_bytes": PART_BYTES}, "$.dataset_plan",
                      "Lists every object of the datasets and splits them into byte ranges (validate_dataset)")
    item = POLICIES.steps_lambda.apply(tasks.LambdaInvoke(
        scope, "ValidateDatasetPart", lambda_function=runtime.steps, payload_response_only=True,  # the item is the payload
        comment="Checks every record of a part in the technique's format",
    ))
    parts = sfn.Map(scope, "ValidateDatasetParts", items_path="$.dataset_plan.items", max_concurrency=VALIDATION_CONCURRENCY,
                    item_selector={"step": "validate_dataset_part", "item.$": "$$.Map.Item.Value"}, result_path="$.dataset_results",
                    comment="Validates the parts in parallel (constant memory per part)")
    parts.add_catch(ends.rejected, errors=list(INPUT_ERRORS), result_path="$.error")
    parts.add_catch(ends.failed, errors=list(ALL_ERRORS), result_path="$.error")
    merge = step("MergeDatasetValidation", "merge_dataset_parts", {"plan.$": "$.dataset_plan", "results.$": "$.dataset_results"},
                 "$.dataset_validation", "The verdict: records, text size, the first errors with object key and line")
    plan_parts.next(parts)
    parts.next(merge)
    return _Validation(start=plan_parts, merge=merge, processor=(parts, item))


def _ends(scope: Construct) -> _Ends:
    rejected = sfn.Fail(scope, "InputRejected", comment="The input cannot run as given; nothing was created or billed.",
                        error_path="$.error.Error", cause_path="$.error.Cause.errorMessage")
    explain = sfn.Pass(scope, "ExplainRejection", comment="Turns the Lambda error into its message",
                       parameters={"Error.$": "$.error.Error", "Cause.$": "States.StringToJson($.error.Cause)"},
                       result_path="$.error").next(rejected)
    failed = sfn.Fail(scope, "WorkflowError", comment="An AWS call failed after its retries",
                      error_path="$.error.Error", cause_path="$.error.Cause")
    return _Ends(rejected=explain, failed=failed)


class _StepFactory:
    """A state of the Steps function: ``{"step": <name>, ...payload}``, retried and caught."""

    def __init__(self, scope: Construct, runtime: Runtime, ends: _Ends) -> None:
        self.scope, self.runtime, self.ends = scope, runtime, ends

    def __call__(self, id: str, step: str, payload: Mapping[str, Any], result_path: Optional[str], comment: str) -> sfn.TaskStateBase:
        task = tasks.LambdaInvoke(
            self.scope, id,
            lambda_function=self.runtime.steps,
            payload=sfn.TaskInput.from_object({"step": step, **payload}),
            payload_response_only=True,
            result_path=result_path,
            comment=comment,
        )
        return catch_errors(POLICIES.steps_lambda.apply(task), rejected=self.ends.rejected, failed=self.ends.failed)


def _launch(scope: Construct, stack: Stack, ends: _Ends, adopt: sfn.TaskStateBase,
            execution_role: iam.IRole) -> tuple[sfn.CustomState, sfn.Choice, list[iam.PolicyStatement]]:
    """CreateTrainingJob (raw Task states with every planned field by path) and DescribeTrainingJob.

    MlflowConfig is the one optional field, so a Choice picks the state that sends it. ResourceInUse
    goes through VerifyJobOwnership. The states carry their IAM (:class:`GrantingState`), each
    statement conditioned on the stack's tag (creation must carry it, describing needs it)."""
    create_statements, describe_statements = _launch_statements(stack, execution_role)

    def create_state(id: str, fields: Sequence[str]) -> sfn.CustomState:
        return GrantingState(scope, id, statements=create_statements, state_json={
            "Type": "Task",
            "Comment": "Launches the serverless training job (AWS SDK integration; no .sync)",
            "Resource": f"arn:{stack.partition}:states:::aws-sdk:sagemaker:createTrainingJob",
            "Parameters": {f"{f}.$": f"$.plan.request.{f}" for f in fields},
            "ResultSelector": {"TrainingJobArn.$": "$.TrainingJobArn"},
            "ResultPath": "$.created",
        })

    create = create_state("CreateTrainingJob", REQUEST_FIELDS)
    create_mlflow = create_state("CreateTrainingJobWithMlflow", (*REQUEST_FIELDS, "MlflowConfig"))
    describe = GrantingState(scope, "DescribeTrainingJob", statements=describe_statements, state_json={
        "Type": "Task",
        "Comment": "Status, secondary status and ProgressInfo of the job",
        "Resource": f"arn:{stack.partition}:states:::aws-sdk:sagemaker:describeTrainingJob",
        "Parameters": {"TrainingJobName.$": "$.plan.training_job_name"},
        "ResultPath": "$.job",
    })
    for task in (create, create_mlflow, describe):
        POLICIES.sagemaker.apply(task)  # type: ignore[arg-type]
    for task in (create, create_mlflow):
        task.add_catch(adopt, errors=list(RESOURCE_IN_USE), result_path="$.created")
        task.add_catch(ends.failed, errors=["States.ALL"], result_path="$.error")
    describe.add_catch(ends.failed, errors=["States.ALL"], result_path="$.error")
    adopt.next(describe)
    launch = (
        sfn.Choice(scope, "MlflowConfigured?")
        .when(sfn.Condition.is_present("$.plan.request.MlflowConfig"), create_mlflow.next(describe))
        .otherwise(create.next(describe))
    )
    return describe, launch, [*create_statements, *describe_statements]


def _launch_statements(stack: Stack, execution_role: iam.IRole) -> tuple[list[iam.PolicyStatement], list[iam.PolicyStatement]]:
    job_arns = [stack.format_arn(service="sagemaker", resource="training-job", resource_name="*")]
    create = [
        # Every job carries the stack's tag and an execution tag (sagemaker-finetuning:stack-id / execution-arn).
        iam.PolicyStatement(
            sid="CreateTaggedTrainingJobs", actions=["sagemaker:CreateTrainingJob", "sagemaker:AddTags"], resources=job_arns,
            conditions={"StringEquals": {f"aws:RequestTag/{C.STACK_TAG}": stack.stack_id},
                        "Null": {f"aws:RequestTag/{C.EXECUTION_TAG}": "false"}},
        ),
        iam.PolicyStatement(
            sid="PassExecutionRoleToSageMaker", actions=["iam:PassRole"], resources=[execution_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]
    # Only jobs of this stack are described.
    describe = [iam.PolicyStatement(
        sid="DescribeOwnTrainingJobs", actions=["sagemaker:DescribeTrainingJob"], resources=job_arns,
        conditions={"StringEquals": {f"aws:ResourceTag/{C.STACK_TAG}": stack.stack_id}},
    )]
    return create, describe


def _tracking(scope: Construct, runtime: Runtime, describe: sfn.CustomState, step: _StepFactory) -> None:
    """Describe -> status? -> wait for the job's event (at most the current interval) -> describe."""
    wait_event = POLICIES.dynamodb.apply(tasks.CallAwsService(
        scope, "WaitForJobEvent",
        service="dynamodb", action="putItem",
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        parameters={"TableName": runtime.table.table_name, "Item": {
            "pk": {"S": sfn.JsonPath.format("job#{}", sfn.JsonPath.string_at("$.plan.training_job_name"))},
            "token": {"S": sfn.JsonPath.task_token},
            "execution": {"S": sfn.JsonPath.execution_id},
            "expires_at": {"N": sfn.JsonPath.string_at("$.plan.expires_at")},
        }},
        iam_resources=[runtime.table.table_arn],
        task_timeout=sfn.Timeout.at("$.tracking.wait_seconds"),
        result_path="$.wake",
        comment="Waits for the job's state-change event, at most the current polling interval",
    ))
    tracking = {"max_seconds.$": "$.tracking.max_seconds", "wakes.$": "$.tracking.wakes"}
    backoff = sfn.Pass(scope, "BackOffPolling", comment="No event within the interval: double it (safety-net polling)",
                       parameters={"wait_seconds.$": "States.MathAdd($.tracking.wait_seconds, $.tracking.wait_seconds)", **tracking},
                       result_path="$.tracking")
    cap = sfn.Pass(scope, "CapPollInterval", parameters={"wait_seconds.$": "$.tracking.max_seconds", **tracking}, result_path="$.tracking")
    fallback_wait = sfn.Wait(scope, "PollWithoutEvents", time=sfn.WaitTime.seconds_path("$.tracking.wait_seconds"),
                             comment="The waiter table failed: poll on a timer instead")
    cap_choice = sfn.Choice(scope, "IntervalAboveMaximum?").when(
        sfn.Condition.number_greater_than_json_path("$.tracking.wait_seconds", "$.tracking.max_seconds"), cap.next(describe)
    ).otherwise(describe)
    wait_event.add_catch(backoff.next(cap_choice), errors=["States.Timeout"], result_path=sfn.JsonPath.DISCARD)
    wait_event.add_catch(fallback_wait.next(describe), errors=["States.ALL"], result_path="$.wait_error")
    wait_event.next(describe)
    summarize = step("SummarizeResult", "summarize", {"job.$": "$.job", "input.$": "$.input", "plan.$": "$.plan"}, None,
                     "Output: job, model package, billable tokens, timings, MLflow run")
    describe.next(
        sfn.Choice(scope, "JobStatus?")
        .when(sfn.Condition.string_equals("$.job.TrainingJobStatus", "Completed"), summarize.next(sfn.Succeed(scope, "TrainingJobCompleted")))
        .when(sfn.Condition.string_equals("$.job.TrainingJobStatus", "Failed"),
              sfn.Fail(scope, "TrainingJobFailed", error="TrainingJobFailed", cause_path="$.job.FailureReason"))
        .when(sfn.Condition.string_equals("$.job.TrainingJobStatus", "Stopped"),
              sfn.Fail(scope, "TrainingJobStopped", error="TrainingJobStopped",
                       cause="The training job was stopped (StopTrainingJob) before it completed."))
        .otherwise(wait_event)
    )
