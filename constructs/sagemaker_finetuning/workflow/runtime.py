"""The workflow's Lambda runtime: the waiter table and the four functions, with their permissions.

Defined directly in the workflow's scope (construct IDs ``Waiters``, ``Steps``, ``VerifyReward``,
``JobEvents``, ``ExecutionEnd``), so the logical IDs do not depend on how the code is arranged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct
from sagemaker_finetuning.access.execution_role import hub_arns
from sagemaker_finetuning.core.constants import STACK_TAG
from sagemaker_finetuning.registry.model_package_group import IModelPackageGroup
from sagemaker_finetuning.rewards.reward_function import RewardFunction
from sagemaker_finetuning.storage.bucket import DataLocations, grant_read_prefix
from sagemaker_finetuning.support import assets
from sagemaker_finetuning.support.functions import trace
from sagemaker_finetuning.support.nag import Suppression, resource_findings, suppress, wildcard_policy


@dataclass(frozen=True)
class RuntimeProps:
    settings: Mapping[str, Any]
    min_wait_seconds: int
    max_wait_seconds: int
    locations: DataLocations
    dataset_buckets: Sequence[s3.IBucket]
    reward_functions: Sequence[RewardFunction]
    model_package_group: IModelPackageGroup
    recipe_bucket_name: str
    notification_topic: Optional[sns.ITopic]
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy


#: Under the output prefix: the workflow's own transient files (Distributed Map item lists and results of the dataset
#: validation, ``sweeps/`` of a sweep's trials), deleted when the verdict (or the sweep's table) is read.
WORK_DIR = "dataset-validation/"


@dataclass(frozen=True)
class WorkArea:
    """Where the workflow keeps its transient files: the fanned-out dataset validation's items and results."""

    bucket: s3.IBucket
    prefix: str
    key: Optional[kms.IKey]

    def object_arns(self) -> str:
        return self.bucket.arn_for_objects(f"{self.prefix}*")

    def read_statements(self) -> list[iam.PolicyStatement]:
        """What a state machine needs to read the item lists (the Distributed Map's ItemReader)."""
        statements = [iam.PolicyStatement(sid="ReadDatasetValidationItems", actions=["s3:GetObject"], resources=[self.object_arns()])]
        if self.key is not None:
            statements.append(iam.PolicyStatement(sid="DecryptDatasetValidationItems", actions=["kms:Decrypt"], resources=[self.key.key_arn]))
        return statements


@dataclass(frozen=True)
class Runtime:
    table: dynamodb.Table
    steps: lambda_.Function
    verify: lambda_.Function
    job_events: lambda_.Function
    execution_end: lambda_.Function
    #: Stops running jobs of this stack whose execution ended (scheduled; see the construct).
    sweeper: lambda_.Function
    #: Clean-up events that could not be delivered or handled (EventBridge DLQ and Lambda on-failure).
    dead_letters: sqs.Queue
    work: WorkArea


def define_runtime(scope: Construct, p: RuntimeProps) -> Runtime:
    """The table and functions in ``scope``, each with exactly the permissions its work needs."""
    stack = Stack.of(scope)
    table = dynamodb.Table(
        scope, "Waiters",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        time_to_live_attribute="expires_at",
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
        removal_policy=p.removal_policy,
    )
    env = {
        "FINETUNE_SETTINGS": stack.to_json_string(dict(p.settings)),
        "FINETUNE_TRACKING": json.dumps({"min_wait_seconds": p.min_wait_seconds, "max_wait_seconds": p.max_wait_seconds}),
        "WAITER_TABLE": table.table_name,
    }
    end_env = dict(env, **({"NOTIFICATION_TOPIC_ARN": p.notification_topic.topic_arn} if p.notification_topic else {}))
    runtime = Runtime(
        table=table,
        steps=_function(scope, "Steps", "step", env, "Validates, resolves, plans and summarizes fine-tuning runs", p),
        verify=_function(scope, "VerifyReward", "verify_reward", env, "Checks the RLVR reward function on training samples", p,
                         timeout=Duration.minutes(5)),
        job_events=_function(scope, "JobEvents", "on_training_job_event", env, "Wakes executions on SageMaker training job state changes", p),
        execution_end=_function(scope, "ExecutionEnd", "on_execution_end", end_env,
                                "Stops the training job of aborted executions and notifies", p),
        sweeper=_function(scope, "Sweeper", "sweep", env, "Stops running training jobs of this stack whose execution ended", p,
                          timeout=Duration.minutes(5)),
        dead_letters=_dead_letters(scope),
        work=WorkArea(p.locations.bucket, f"{p.locations.output_prefix}{WORK_DIR}", p.locations.encryption_key),
    )
    _grant_steps(stack, runtime.steps, p)
    _grant_work(runtime.steps, runtime.work)
    _grant_verify(runtime.verify, p)
    table.grant(runtime.steps, "dynamodb:PutItem")  # TrackTrainingJob marks an ended job's waiter item
    table.grant(runtime.job_events, "dynamodb:GetItem", "dynamodb:DeleteItem")
    table.grant(runtime.execution_end, "dynamodb:GetItem")
    _grant_execution_end(stack, runtime.execution_end, p.notification_topic)
    _grant_sweeper(stack, runtime.sweeper)
    runtime.execution_end.configure_async_invoke(on_failure=destinations.SqsDestination(runtime.dead_letters), retry_attempts=2)
    return runtime


def _dead_letters(scope: Construct) -> sqs.Queue:
    queue = sqs.Queue(
        scope, "CleanupDeadLetters",
        encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, retention_period=Duration.days(14),
    )
    suppress(queue, [Suppression("AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the clean-up path "
                                 "(EventBridge target DLQ and Lambda on-failure destination); an alarm watches it.")])
    return queue


def own_jobs(stack: Stack, actions: list[str], sid: str) -> iam.PolicyStatement:
    """Job actions allowed only on training jobs that carry this stack's tag."""
    return iam.PolicyStatement(
        sid=sid, actions=actions, resources=[stack.format_arn(service="sagemaker", resource="training-job", resource_name="*")],
        conditions={"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack.stack_id}},
    )


def _grant_sweeper(stack: Stack, fn: lambda_.Function) -> None:
    assert fn.node.scope is not None
    wildcard_policy(fn.node.scope, "SweeperListJobsPolicy", _role(fn), [iam.PolicyStatement(actions=["sagemaker:ListTrainingJobs"], resources=["*"])],
                    "ListTrainingJobs has no resource-level permissions (the sweeper then reads tags and stops only this stack's jobs).")
    statement = own_jobs(stack, ["sagemaker:ListTags", "sagemaker:StopTrainingJob"], "StopOwnOrphans")
    fn.add_to_role_policy(statement)
    suppress(fn, [Suppression(
        "AwsSolutions-IAM5",
        "ListTags and StopTrainingJob apply to any job name but only to jobs carrying this stack's tag (IAM condition).",
        resource_findings(fn, statement.resources),
    )])


def _role(fn: lambda_.Function) -> iam.IRole:
    assert fn.role is not None
    return fn.role


def _function(scope: Construct, id: str, entry: str, env: Mapping[str, str], description: str, p: RuntimeProps,
              timeout: Duration = Duration.seconds(60)) -> lambda_.Function:
    fn = lambda_.Function(
        scope, id,
        runtime=assets.RUNTIME,
        code=assets.library_code(),
        handler=assets.handler("workflow.handler", entry),
        memory_size=512,
        timeout=timeout,
        environment=dict(env),
        description=description,
        log_group=logs.LogGroup(scope, f"{id}Logs", retention=p.log_retention, removal_policy=p.removal_policy),
    )
    return trace(fn)


def _grant_steps(stack: Stack, fn: lambda_.Function, p: RuntimeProps) -> None:
    hub_contents = hub_arns(stack, "hub-content")
    statements = [
        iam.PolicyStatement(actions=["sagemaker:DescribeHubContent"], resources=hub_contents),
        own_jobs(stack, ["sagemaker:ListTags", "sagemaker:DescribeTrainingJob"], "ReadOwnJobs"),  # TrackTrainingJob, VerifyJobOwnership
        # continued customization reads the source package; GateEvaluation writes metrics and the approval
        iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
                            resources=[p.model_package_group.model_packages_arn()]),
        # GateEvaluation reads the evaluation jobs' result files
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[p.locations.bucket.arn_for_objects(f"{p.locations.output_prefix}*")]),
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"arn:{stack.partition}:s3:::{p.recipe_bucket_name}/*"]),
    ]
    mlflow = p.settings.get("mlflow_resource_arn")
    if mlflow:  # SummarizeSweep reads each configuration's MLflow run (an objective without evaluation)
        statements.append(iam.PolicyStatement(sid="ReadSweepRuns", actions=["sagemaker-mlflow:GetRun"], resources=[mlflow]))
    for statement in statements:
        fn.add_to_role_policy(statement)
    _grant_dataset_reads(fn, p)  # CheckDatasets: the datasets exist and begin in the right format
    suppress(fn, [Suppression(
        "AwsSolutions-IAM5",
        "Base models live in SageMakerPublicHub (owned by the 'aws' account) or this account's hubs, named per input; "
        "recipes in the regional JumpStart bucket; continued customization reads (and evaluation approves) versioned packages of the "
        "stack's group; evaluation results are read under the output prefix; "
        "job tags are read only on jobs carrying this stack's tag (IAM condition): wildcards on exactly those.",
        resource_findings(fn, [r for st in statements for r in st.resources]),
    )])


def _grant_work(fn: lambda_.Function, work: WorkArea) -> None:
    """ListDatasetParts writes the item list, each item its result, MergeDatasetValidation reads and deletes them."""
    fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], resources=[work.object_arns()]))
    if work.key is not None:
        work.key.grant(fn, "kms:Decrypt", "kms:GenerateDataKey")
    suppress(fn, [Suppression(
        "AwsSolutions-IAM5", "The workflow's transient files (dataset-validation and sweep items and results): any name under its own "
        "prefix of the output prefix.",
        resource_findings(fn, [work.object_arns()]),
    )])


def _dataset_read_resources(p: RuntimeProps) -> list[str]:
    loc = p.locations
    own = [loc.bucket.bucket_arn, loc.bucket.arn_for_objects(f"{loc.dataset_prefix}*")]
    return own + [arn for extra in p.dataset_buckets for arn in (extra.bucket_arn, extra.arn_for_objects("*"))]


def _grant_dataset_reads(fn: lambda_.Function, p: RuntimeProps) -> None:
    grant_read_prefix(p.locations.bucket, fn, p.locations.dataset_prefix)
    for extra in p.dataset_buckets:
        extra.grant_read(fn)
    if p.locations.encryption_key is not None:
        p.locations.encryption_key.grant_decrypt(fn)
    suppress(fn, [Suppression(
        "AwsSolutions-IAM5",
        "Reads datasets under the bucket's dataset prefix (and the whole dataset buckets the user named) to check they "
        "exist and begin in the technique's format (CDK's grant_read: object-read action wildcards).",
        ["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*",
         *resource_findings(fn, _dataset_read_resources(p))],
    )])


def _grant_verify(fn: lambda_.Function, p: RuntimeProps) -> None:
    _grant_dataset_reads(fn, p)
    for rf in p.reward_functions:
        rf.grant_invoke(fn)
    suppress(fn, [Suppression(
        "AwsSolutions-IAM5", "Invokes the stack's reward functions, including their versions and aliases.",
        resource_findings(fn, [f"{rf.function_arn}:*" for rf in p.reward_functions]),
    )])


def _grant_execution_end(stack: Stack, fn: lambda_.Function, topic: Optional[sns.ITopic]) -> None:
    statement = own_jobs(stack, ["sagemaker:DescribeTrainingJob", "sagemaker:ListTags", "sagemaker:StopTrainingJob"], "StopOwnJobs")
    fn.add_to_role_policy(statement)
    suppress(fn, [Suppression(
        "AwsSolutions-IAM5",
        "Stops the training job of an aborted execution: any job name, but only jobs carrying this stack's tag (IAM condition).",
        resource_findings(fn, statement.resources),
    )])
    if topic is not None:
        topic.grant_publish(fn)
        suppress(fn, [Suppression(
            "AwsSolutions-IAM5", "Publishing to the KMS-encrypted notification topic needs kms:GenerateDataKey* on its key (CDK's grant_publish).",
            ["Action::kms:GenerateDataKey*"],
        )])
