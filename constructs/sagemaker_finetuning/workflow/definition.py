"""The workflow's states: validate -> resolve -> plan -> [verify reward] -> record -> launch -> track.

Every state is defined directly in the workflow's scope (the construct IDs are the state names),
every AWS call retries and catches per :mod:`policies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

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
    #: What the raw Task states (launch) need; they register it with the state machine they join.
    launch_statements: list[iam.PolicyStatement]
    #: Map states and their item processors, joined by :meth:`finish` (after a fragment prefixed its state names:
    #: a Map registers its processor's states under the names they have when it is set).
    processors: list[tuple[sfn.Map, sfn.IChainable]]

    def finish(self) -> None:
        for map_state, processor in self.processors:
            map_state.item_processor(processor)
        self.processors = []


class GrantingDistributedMap(sfn.DistributedMap):
    """A Distributed Map that carries the IAM its ItemReader needs (CDK's own reader statements cover a
    whole bucket named at synth; ours name the workflow's prefix). CDK adds the child-execution policy."""

    def __init__(self, scope: Construct, id: str, *, statements: Sequence[iam.PolicyStatement], **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.statements = list(statements)

    def _when_bound_to_graph(self, graph: sfn.StateGraph) -> None:
        super()._when_bound_to_graph(graph)
        for statement in self.statements:
            graph.register_policy_statement(statement)


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
class Ends:
    rejected: sfn.IChainable
    failed: sfn.IChainable


#: Builds a sweep's states (see :mod:`sweep`) from the step factory and the ends: (its first state, Map processors).
SweepStates = Callable[["StepFactory", "Ends"], tuple[sfn.IChainable, list[tuple[sfn.Map, sfn.IChainable]]]]


def build_definition(scope: Construct, runtime: Runtime, execution_role: iam.IRole, *, fragment: str = "",
                     fan_out_bytes: Optional[int] = None, sweep: Optional[SweepStates] = None) -> Definition:
    """The states, in ``scope``. ``fragment``: the run's identity inside an execution (a FineTuningJob's
    path; empty for the workflow's own state machine, whose execution is one run), part of the job name.
    ``fan_out_bytes``: datasets above it are validated by a Distributed Map (None: always inline).
    ``sweep``: the sweep's states, entered after the dataset validation when the input has a sweep block
    (the workflow's own state machine; a FineTuningJob is one run)."""
    stack = Stack.of(scope)
    ends = _ends(scope)
    step = StepFactory(scope, runtime, ends)
    # Any JSON value can start an execution: wrap it, so a rejection can be recorded next to it
    # (a Catch cannot write $.error into a list, a string or null).
    receive = sfn.Pass(scope, "ReceiveInput", parameters={"input.$": "$"},
                       comment="Wraps the execution input (any JSON value) as {input: ...}")
    validate = step("ValidateInput", "validate", {"input.$": "$.input", **({"fragment": fragment} if fragment else {})}, None,
                    "Checks the input against the schema and the stack (no AWS call)")
    resolve = step("ResolveBaseModel", "resolve", {"input.$": "$.input"}, "$.resolution",
                   "DescribeHubContent of the base model (or the source model package) and its recipe")
    datasets = step("CheckDatasets", "check_datasets", {"input.$": "$.input", "resolution.$": "$.resolution"}, "$.datasets",
                    "The datasets exist and their first records are in the technique's format (S3 reads, before any spend)")
    validation = _dataset_validation(scope, runtime, step, ends, fragment, fan_out_bytes)
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
    track, status = _job_loop(scope, runtime, step, TRAINING_LOOP)
    evaluation = _evaluation(scope, runtime, step, ends, fragment)
    summarize, mode = _outcomes(scope, step, evaluation, resolve)
    _training_ends(scope, status, summarize)
    launch, statements = _launch(scope, stack, ends, adopt, track, execution_role)
    record.next(launch)
    reward_check = (
        sfn.Choice(scope, "VerifyReward?")
        .when(sfn.Condition.boolean_equals("$.plan.verify_reward", True), verify.next(record))
        .otherwise(record)
    )
    receive.next(validate).next(mode)
    resolve.next(datasets).next(validation.start)
    plan.next(reward_check)
    processors = [*validation.processors, *evaluation.processors]
    if sweep is None:
        validation.merge.next(plan)
    else:
        sweep_start, sweep_processors = sweep(step, ends)
        processors += sweep_processors
        validation.merge.next(sfn.Choice(scope, "Sweep?").when(sfn.Condition.is_present("$.input.sweep"), sweep_start).otherwise(plan))
    return Definition(receive, statements, processors)


@dataclass(frozen=True)
class _Validation:
    start: sfn.IChainable
    merge: sfn.TaskStateBase
    processors: list[tuple[sfn.Map, sfn.IChainable]]


#: Bytes of dataset one validation item (one Steps invocation) reads: a few seconds at 512 MB of Lambda memory.
PART_BYTES = 64 * 1024 * 1024
#: Items validated at once (inline Map).
VALIDATION_CONCURRENCY = 10
#: Items validated at once when the validation fans out (Distributed Map, STANDARD child executions).
FAN_OUT_CONCURRENCY = 100


def _dataset_validation(scope: Construct, runtime: Runtime, step: StepFactory, ends: Ends, fragment: str,
                        fan_out_bytes: Optional[int]) -> _Validation:
    """Whole-dataset validation before any spend: plan parts (objects, byte ranges) -> validate them in a Map ->
    merge the verdict (``DatasetInvalid`` names object key and line). ``validate_dataset`` = off plans no part.
    Large datasets (``fan_out_bytes``) fan out: the items go to S3 and a Distributed Map validates them."""
    payload: dict[str, Any] = {"input.$": "$.input", "resolution.$": "$.resolution", "part_bytes": PART_BYTES}
    if fan_out_bytes is not None:
        payload.update(fan_out_bytes=fan_out_bytes, execution_arn=sfn.JsonPath.execution_id,
                       work={"bucket": runtime.work.bucket.bucket_name, "prefix": runtime.work.prefix}, **({"fragment": fragment} if fragment else {}))
    plan_parts = step("ListDatasetParts", "list_dataset_parts", payload, "$.dataset_plan",
                      "Lists every object of the datasets and splits them into byte ranges (validate_dataset)")
    item = POLICIES.steps_lambda.apply(tasks.LambdaInvoke(
        scope, "ValidateDatasetPart", lambda_function=runtime.steps, payload_response_only=True,  # the item is the payload
        comment="Checks every record of a part in the technique's format",
    ))
    selector = {"step": "validate_dataset_part", "item.$": "$$.Map.Item.Value"}
    parts = sfn.Map(scope, "ValidateDatasetParts", items_path="$.dataset_plan.items", max_concurrency=VALIDATION_CONCURRENCY,
                    item_selector=selector, result_path="$.dataset_results",
                    comment="Validates the parts in parallel (constant memory per part)")
    merge = step("MergeDatasetValidation", "merge_dataset_parts", {"plan.$": "$.dataset_plan", "results.$": "$.dataset_results"},
                 "$.dataset_validation", "The verdict: records, text size, the first errors with object key and line")
    parts.add_catch(ends.rejected, errors=list(INPUT_ERRORS), result_path="$.error")
    parts.add_catch(ends.failed, errors=list(ALL_ERRORS), result_path="$.error")
    parts.next(merge)
    maps: list[tuple[sfn.Map, sfn.IChainable]] = [(parts, item)]
    if fan_out_bytes is None:
        plan_parts.next(parts)
    else:
        plan_parts.next(_fan_out_choice(scope, runtime, ends, parts, merge, maps))
    return _Validation(start=plan_parts, merge=merge, processors=maps)


def _fan_out_choice(scope: Construct, runtime: Runtime, ends: Ends, parts: sfn.Map, merge: sfn.TaskStateBase,
                    maps: list[tuple[sfn.Map, sfn.IChainable]]) -> sfn.Choice:
    """ListDatasetParts put the items in S3 -> a Distributed Map (child executions, each writing its result to S3;
    MergeDatasetValidation reads them); else the inline Map."""
    item = POLICIES.steps_lambda.apply(tasks.LambdaInvoke(
        scope, "ValidateDatasetPartAtScale", lambda_function=runtime.steps, payload_response_only=True,
        comment="Checks every record of a part and writes the result to S3",
    ))
    at_scale = GrantingDistributedMap(
        scope, "ValidateDatasetPartsAtScale", statements=runtime.work.read_statements(),
        item_reader=sfn.S3JsonItemReader(bucket_name_path=sfn.JsonPath.string_at("$.dataset_plan.items_location.Bucket"),
                                         key=sfn.JsonPath.string_at("$.dataset_plan.items_location.Key")),
        item_selector={"step": "validate_dataset_part", "item.$": "$$.Map.Item.Value"},
        max_concurrency=FAN_OUT_CONCURRENCY,  # no tolerated failure (the service default)
        map_execution_type=sfn.StateMachineType.STANDARD,  # each child's history inspectable (and what the emulator runs)
        result_selector={"fanned_out": True}, result_path="$.dataset_results",
        comment="Validates the parts of a large dataset, 100 at a time (child executions)",
    )
    # Named input errors of an item come back as data (MergeDatasetValidation raises them); what fails here is the platform.
    at_scale.add_catch(ends.failed, errors=list(ALL_ERRORS), result_path="$.error")
    maps.append((at_scale, item))
    at_scale.next(merge)
    return (sfn.Choice(scope, "FanOutDatasetValidation?")
            .when(sfn.Condition.is_present("$.dataset_plan.items_location"), at_scale)
            .otherwise(parts))


def _ends(scope: Construct) -> Ends:
    rejected = sfn.Fail(scope, "InputRejected", comment="The input cannot run as given; nothing was created or billed.",
                        error_path="$.error.Error", cause_path="$.error.Cause.errorMessage")
    explain = sfn.Pass(scope, "ExplainRejection", comment="Turns the Lambda error into its message",
                       parameters={"Error.$": "$.error.Error", "Cause.$": "States.StringToJson($.error.Cause)"},
                       result_path="$.error").next(rejected)
    failed = sfn.Fail(scope, "WorkflowError", comment="An AWS call failed after its retries",
                      error_path="$.error.Error", cause_path="$.error.Cause")
    return Ends(rejected=explain, failed=failed)


class StepFactory:
    """A state of the Steps function: ``{"step": <name>, ...payload}``, retried and caught."""

    def __init__(self, scope: Construct, runtime: Runtime, ends: Optional[Ends]) -> None:
        """``ends`` None: states inside a Map's item processor, which cannot catch to states outside it (an
        error fails the iteration, and the Map's own Catch handles it)."""
        self.scope, self.runtime, self.ends = scope, runtime, ends

    def __call__(self, id: str, step: str, payload: Mapping[str, Any], result_path: Optional[str], comment: str,
                 catches: Sequence[tuple[Sequence[str], sfn.IChainable]] = ()) -> sfn.TaskStateBase:
        """``catches``: (errors, handler) caught before the input errors and the rest."""
        task = tasks.LambdaInvoke(
            self.scope, id,
            lambda_function=self.runtime.steps,
            payload=sfn.TaskInput.from_object({"step": step, **payload}),
            payload_response_only=True,
            result_path=result_path,
            comment=comment,
        )
        for errors, handler in catches:
            task.add_catch(handler, errors=list(errors), result_path="$.error")
        POLICIES.steps_lambda.apply(task)
        return task if self.ends is None else catch_errors(task, rejected=self.ends.rejected, failed=self.ends.failed)


def _launch(scope: Construct, stack: Stack, ends: Ends, adopt: sfn.TaskStateBase, track: sfn.TaskStateBase,
            execution_role: iam.IRole) -> tuple[sfn.Choice, list[iam.PolicyStatement]]:
    """CreateTrainingJob (raw Task states with every planned field by path), then TrackTrainingJob.

    MlflowConfig is the one optional field, so a Choice picks the state that sends it. ResourceInUse
    goes through VerifyJobOwnership. The states carry their IAM (:class:`GrantingState`), each
    statement conditioned on the stack's tag (creation must carry it)."""
    statements = _launch_statements(stack, execution_role)

    def create_state(id: str, fields: Sequence[str]) -> sfn.CustomState:
        return GrantingState(scope, id, statements=statements, state_json={
            "Type": "Task",
            "Comment": "Launches the serverless training job (AWS SDK integration; no .sync)",
            "Resource": f"arn:{stack.partition}:states:::aws-sdk:sagemaker:createTrainingJob",
            "Parameters": {f"{f}.$": f"$.plan.request.{f}" for f in fields},
            "ResultSelector": {"TrainingJobArn.$": "$.TrainingJobArn"},
            "ResultPath": "$.created",
        })

    create = create_state("CreateTrainingJob", REQUEST_FIELDS)
    create_mlflow = create_state("CreateTrainingJobWithMlflow", (*REQUEST_FIELDS, "MlflowConfig"))
    for task in (create, create_mlflow):
        POLICIES.sagemaker.apply(task)  # type: ignore[arg-type]
        task.add_catch(adopt, errors=list(RESOURCE_IN_USE), result_path="$.created")
        task.add_catch(ends.failed, errors=["States.ALL"], result_path="$.error")
    adopt.next(track)
    launch = (
        sfn.Choice(scope, "MlflowConfigured?")
        .when(sfn.Condition.is_present("$.plan.request.MlflowConfig"), create_mlflow.next(track))
        .otherwise(create.next(track))
    )
    return launch, statements


def _launch_statements(stack: Stack, execution_role: iam.IRole) -> list[iam.PolicyStatement]:
    job_arns = [stack.format_arn(service="sagemaker", resource="training-job", resource_name="*")]
    return [
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


#: The waiter's conditional put fails with this once TrackTrainingJob marked the job ended (aws-sdk integration
#: errors are <Service>.<Code>; "DynamoDb" as Step Functions spells it, "DynamoDB" as its optimised integration does).
WAITER_CLOSED = ("DynamoDb.ConditionalCheckFailedException", "DynamoDB.ConditionalCheckFailedException")


@dataclass(frozen=True)
class _Loop:
    """The state names and paths of one job's tracking loop (the training job's, or an evaluation job's)."""

    track: str
    wait: str
    poll: str
    status: str
    job_name: str
    expires_at: str
    noun: str = "job"


TRAINING_LOOP = _Loop("TrackTrainingJob", "WaitForJobEvent", "PollWithoutEvents", "JobStatus?", "$.plan.training_job_name", "$.plan.expires_at",
                      "training job")
EVALUATION_LOOP = _Loop("TrackEvaluationJob", "WaitForEvaluationJobEvent", "PollEvaluationWithoutEvents", "EvaluationJobStatus?",
                        "$.request.TrainingJobName", "$.expires_at", "evaluation job")


def _job_loop(scope: Construct, runtime: Runtime, step: StepFactory, loop: _Loop) -> tuple[sfn.TaskStateBase, sfn.Choice]:
    """Track -> wait for the job's event (at most the current interval) -> Track: two states per cycle.

    Track describes the job and sets the next interval (doubling while no event comes, up to the
    maximum); once the job ended it marks the waiter item, so the wait's conditional put fails at
    once and leaves the loop to the status Choice, returned for the caller to complete (its default
    polls on a timer: the waiter table failed). Returns (Track, the status Choice)."""
    track = step(loop.track, "track", {
        "job_name.$": loop.job_name, "execution_arn.$": "$$.Execution.Id", "expires_at.$": loop.expires_at,
        "tracking.$": "$.track.tracking", "wake.$": "$.wake",
    }, "$.track", f"DescribeTrainingJob of the {loop.noun} (status, secondary status, progress) and the next polling interval")
    wait_event = POLICIES.dynamodb.apply(tasks.CallAwsService(
        scope, loop.wait,
        service="dynamodb", action="putItem",
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        parameters={"TableName": runtime.table.table_name, "Item": {
            "pk": {"S": sfn.JsonPath.format("job#{}", sfn.JsonPath.string_at(loop.job_name))},
            "token": {"S": sfn.JsonPath.task_token},
            "execution": {"S": sfn.JsonPath.execution_id},
            "expires_at": {"N": sfn.JsonPath.string_at(loop.expires_at)},
        }, "ConditionExpression": "attribute_not_exists(ended)"},
        iam_resources=[runtime.table.table_arn],
        task_timeout=sfn.Timeout.at("$.track.tracking.wait_seconds"),
        result_path="$.wake",
        comment=f"Waits for the {loop.noun}'s state-change event, at most the current polling interval; refused once it ended",
    ))
    fallback_wait = sfn.Wait(scope, loop.poll, time=sfn.WaitTime.seconds_path("$.track.tracking.wait_seconds"),
                             comment="The waiter table failed: poll on a timer instead")
    status = sfn.Choice(scope, loop.status)
    status.otherwise(fallback_wait.next(track))
    wait_event.add_catch(status, errors=list(WAITER_CLOSED), result_path=sfn.JsonPath.DISCARD)
    wait_event.add_catch(track, errors=["States.Timeout"], result_path="$.wake")
    wait_event.add_catch(status, errors=["States.ALL"], result_path="$.wake")
    track.next(wait_event).next(track)
    return track, status


def _outcomes(scope: Construct, step: StepFactory, evaluation: _Evaluation, resolve: sfn.IChainable) -> tuple[sfn.IChainable, sfn.Choice]:
    """After the training job completed: summarize, then evaluate if the input asks; mode evaluate goes from
    ValidateInput straight to the evaluation. Returns (the completed job's first state, the Mode? Choice)."""
    summarize = step("SummarizeResult", "summarize", {"job.$": "$.track.job", "input.$": "$.input", "plan.$": "$.plan"}, "$.output",
                     "Output: job, model package, billable tokens, timings, MLflow run")
    done = sfn.Succeed(scope, "TrainingJobCompleted", output_path="$.output", comment="The run's output document")
    target = sfn.Pass(scope, "EvaluationTarget", comment="The model the training job registered, and its base model",
                      parameters={"model_package_arn.$": "$.output.output_model_package_arn",
                                  "model_package_group_arn.$": "$.output.model_package_group_arn",
                                  "base_model_arn.$": "$.plan.request.ServerlessJobConfig.BaseModelArn",
                                  "model_id.$": "$.plan.base_model"}, result_path="$.evaluation_target")
    summarize.next(sfn.Choice(scope, "EvaluateModel?")
                   .when(sfn.Condition.is_present("$.input.evaluation"), target.next(evaluation.start))
                   .otherwise(done))
    evaluation.end.next(sfn.Choice(scope, "Trained?")
                        .when(sfn.Condition.string_equals("$.input.mode", "evaluate"),
                              sfn.Succeed(scope, "EvaluationCompleted", output_path="$.output", comment="The run's output document"))
                        .otherwise(done))
    evaluation_target = step("ResolveEvaluationTarget", "resolve_evaluation_target", {"input.$": "$.input"}, None,
                             "mode evaluate: the model package (or base model) to evaluate and its base model (DescribeModelPackage, DescribeHubContent)")
    evaluation_target.next(evaluation.start)
    mode = (sfn.Choice(scope, "Mode?")
            .when(sfn.Condition.string_equals("$.input.mode", "evaluate"), evaluation_target)
            .otherwise(resolve))
    return summarize, mode


def _training_ends(scope: Construct, status: sfn.Choice, completed: sfn.IChainable) -> None:
    status.when(sfn.Condition.string_equals("$.track.job.TrainingJobStatus", "Completed"), completed)
    status.when(sfn.Condition.string_equals("$.track.job.TrainingJobStatus", "Failed"),
                sfn.Fail(scope, "TrainingJobFailed", error="TrainingJobFailed", cause_path="$.track.job.FailureReason"))
    status.when(sfn.Condition.string_equals("$.track.job.TrainingJobStatus", "Stopped"),
                sfn.Fail(scope, "TrainingJobStopped", error="TrainingJobStopped",
                         cause="The training job was stopped (StopTrainingJob) before it completed."))


@dataclass(frozen=True)
class _Evaluation:
    start: sfn.IChainable
    end: sfn.INextable
    processors: list[tuple[sfn.Map, sfn.IChainable]]


def _evaluation(scope: Construct, runtime: Runtime, step: StepFactory, ends: Ends, fragment: str) -> _Evaluation:
    """Plan the evaluation jobs (the fine-tuned model's, and the base model's in parallel) -> record them (the
    abort clean-up stops them) -> run each side's jobs in order (LLM-as-judge: inference, then judging) ->
    read the results, gate, approve or reject the model package (``EvaluationGateFailed``)."""
    plan = step("PlanEvaluation", "plan_evaluation", {
        "input.$": "$.input", "target.$": "$.evaluation_target", "execution_arn.$": "$$.Execution.Id", **({"fragment": fragment} if fragment else {}),
    }, "$.evaluation_plan", "Builds the exact CreateTrainingJob requests of the evaluation jobs (pure planner)")
    record = catch_errors(POLICIES.dynamodb.apply(tasks.CallAwsService(
        scope, "RecordEvaluationJobs", service="dynamodb", action="updateItem",
        parameters={
            "TableName": runtime.table.table_name,
            "Key": {"pk": {"S": sfn.JsonPath.format("execution#{}", sfn.JsonPath.execution_id)}},
            "UpdateExpression": "ADD job_names :jobs SET expires_at = :expires",
            "ExpressionAttributeValues": {":jobs": {"SS.$": "$.evaluation_plan.job_names"},
                                          ":expires": {"N": sfn.JsonPath.string_at("$.evaluation_plan.expires_at")}},
        },
        iam_resources=[runtime.table.table_arn], result_path=sfn.JsonPath.DISCARD,
        comment="Remembers the evaluation jobs of this execution, so an aborted execution stops them too",
    )), rejected=ends.rejected, failed=ends.failed, input_errors=False)
    jobs = sfn.Map(scope, "EvaluationJobs", items_path="$.side.jobs", max_concurrency=1, result_path=sfn.JsonPath.DISCARD,
                   item_selector={"request.$": "$$.Map.Item.Value", "expires_at.$": "$.expires_at"},
                   comment="One model's evaluation jobs, in order (LLM-as-judge: inference, then judging)")
    sides = sfn.Map(scope, "EvaluateModels", items_path="$.evaluation_plan.sides", max_concurrency=2, result_path=sfn.JsonPath.DISCARD,
                    item_selector={"side.$": "$$.Map.Item.Value", "expires_at.$": "$.evaluation_plan.expires_at"},
                    comment="The fine-tuned model and, with compare_to_base, the base model, in parallel")
    sides.add_catch(ends.failed, errors=list(ALL_ERRORS), result_path="$.error")
    gate_failed = sfn.Pass(scope, "ExplainGateFailure", parameters={"Error.$": "$.error.Error", "Cause.$": "States.StringToJson($.error.Cause)"},
                           result_path="$.error").next(sfn.Fail(scope, "EvaluationGateFailed", error_path="$.error.Error",
                                                                cause_path="$.error.Cause.errorMessage",
                                                                comment="The model package was rejected: the metric missed the gate"))
    gate = step("GateEvaluation", "gate_evaluation", {"evaluation.$": "$.input.evaluation", "plan.$": "$.evaluation_plan"},
                "$.output.evaluation", "Reads the results, compares with the base model, approves or rejects the model package",
                catches=[(("EvaluationGateFailed",), gate_failed)])
    plan.next(record).next(sides).next(gate)
    return _Evaluation(start=plan, end=gate, processors=[(jobs, _evaluation_job(scope, runtime)), (sides, jobs)])


def _evaluation_job(scope: Construct, runtime: Runtime) -> sfn.IChainable:
    """Launch one evaluation job (the Steps function creates it, or adopts this execution's own) and track it.
    Inside the Map: errors fail the iteration (EvaluateModels catches them)."""
    step = StepFactory(scope, runtime, None)
    launch = step("LaunchEvaluationJob", "launch_evaluation_job", {
        "request.$": "$.request", "expires_at.$": "$.expires_at", "execution_arn.$": "$$.Execution.Id",
    }, None, "CreateTrainingJob with JobType Evaluation (idempotent: an existing job of this execution is tracked)")
    track, status = _job_loop(scope, runtime, step, EVALUATION_LOOP)
    status.when(sfn.Condition.string_equals("$.track.job.TrainingJobStatus", "Completed"), sfn.Succeed(scope, "EvaluationJobCompleted"))
    status.when(sfn.Condition.string_equals("$.track.job.TrainingJobStatus", "Failed"),
                sfn.Fail(scope, "EvaluationJobFailed", error="EvaluationJobFailed", cause_path="$.track.job.FailureReason"))
    status.when(sfn.Condition.string_equals("$.track.job.TrainingJobStatus", "Stopped"),
                sfn.Fail(scope, "EvaluationJobStopped", error="EvaluationJobStopped",
                         cause="The evaluation job was stopped (StopTrainingJob) before it completed."))
    return launch.next(track)
