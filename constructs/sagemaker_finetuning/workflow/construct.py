"""FineTuningWorkflow: the Step Functions state machine that runs one fine-tuning job per execution."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sagemaker_finetuning.support import assets as _assets
from sagemaker_finetuning.support.nag import Suppression, suppress
from sagemaker_finetuning.storage.bucket import FineTuningBucket
from sagemaker_finetuning.access.execution_role import FineTuningExecutionRole
from sagemaker_finetuning.core.constants import JUDGE_MODEL_REGIONS
from sagemaker_finetuning.core.errors import ERROR_NAMES
from sagemaker_finetuning.registry.model_package_group import IModelPackageGroup
from sagemaker_finetuning.rewards.reward_function import RewardFunction

#: Errors of SageMaker SDK-integration calls worth retrying (throttling, transient service faults).
SAGEMAKER_RETRYABLE = [
    "SageMaker.ThrottlingException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.SageMakerException",
    "SageMaker.InternalFailureException",
    "SageMaker.ServiceUnavailableException",
    "SageMaker.SdkClientException",
]
#: CreateTrainingJob fields the planner always emits (MlflowConfig is the only optional one).
REQUEST_FIELDS = (
    "TrainingJobName", "RoleArn", "InputDataConfig", "OutputDataConfig", "ServerlessJobConfig",
    "HyperParameters", "ModelPackageConfig", "StoppingCondition", "Tags",
)
RESOURCE_IN_USE = ["SageMaker.ResourceInUseException", "SageMaker.ResourceInUse"]
DYNAMODB_RETRYABLE = [
    "DynamoDb.ProvisionedThroughputExceededException", "DynamoDb.ThrottlingException",
    "DynamoDb.InternalServerErrorException", "DynamoDb.RequestLimitExceededException", "DynamoDb.SdkClientException",
]
LAMBDA_SUPPRESSIONS = [
    Suppression("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
    Suppression("AwsSolutions-IAM5", "X-Ray tracing needs PutTraceSegments/PutTelemetryRecords on '*' (no resource-level permissions).",
                ["Resource::*"]),
]


class FineTuningWorkflow(Construct):
    """Defines the state machine that turns one JSON execution input into one serverless
    fine-tuning job: validate, resolve the base model, plan the exact CreateTrainingJob request,
    verify the RLVR reward function, launch, track to the end (EventBridge event + adaptive
    polling), summarize — and stop the job if the execution is aborted or times out.

    :param bucket: the fine-tuning bucket (datasets, outputs).
    :param execution_role: the role training jobs run as.
    :param model_package_group: the default group outputs are registered in.
    :param base_model: default SageMakerPublicHub model id. Default: none (inputs must name one).
    :param reward_functions: reward functions executions may use; the first is the default.
        Default: none.
    :param judge_model_id: default RLAIF judge (Bedrock model id). Default: none.
    :param judge_prompt: default RLAIF prompt: ``Builtin.<Name>`` or a RewardPrompt evaluator ARN.
        Default: the recipe's default prompt.
    :param mlflow_resource_arn: default MLflow app / tracking server. Default: none (no MlflowConfig).
    :param dataset_buckets: further buckets training may read. Default: none.
    :param max_runtime: the longest a job may run; also the default. Default: 24 hours.
    :param pending_allowance: time added to ``max_runtime`` for the execution's own timeout
        (validation, queueing, upload). Default: 6 hours.
    :param min_poll_interval: first polling interval (safety net behind the events). Default: 1 minute.
    :param max_poll_interval: the interval doubles up to this. Default: 15 minutes.
    :param notification_topic: SNS topic told of every terminal state. Default: none.
    :param alarm_topic: SNS topic the failed/timed-out/aborted alarms notify. Default: the notification topic.
    :param log_retention: retention of the state machine and function logs. Default: one year.
    :param encryption_key: KMS key for the job output. Default: none.
    :param recipe_bucket_name: the bucket SageMakerPublicHub recipes live in.
        Default: ``jumpstart-cache-prod-<region>``.
    :param hub_name: the hub base models are resolved in. Default: SageMakerPublicHub.
    :param tags: tags added to every training job. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: FineTuningBucket,
        execution_role: FineTuningExecutionRole,
        model_package_group: IModelPackageGroup,
        base_model: Optional[str] = None,
        reward_functions: Sequence[RewardFunction] = (),
        judge_model_id: Optional[str] = None,
        judge_prompt: Optional[str] = None,
        mlflow_resource_arn: Optional[str] = None,
        dataset_buckets: Sequence[s3.IBucket] = (),
        max_runtime: Duration = Duration.hours(24),
        pending_allowance: Duration = Duration.hours(6),
        min_poll_interval: Duration = Duration.minutes(1),
        max_poll_interval: Duration = Duration.minutes(15),
        notification_topic: Optional[sns.ITopic] = None,
        alarm_topic: Optional[sns.ITopic] = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        encryption_key: Optional[kms.IKey] = None,
        recipe_bucket_name: Optional[str] = None,
        hub_name: str = "SageMakerPublicHub",
        tags: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        max_seconds = int(max_runtime.to_seconds())
        if not 1 <= max_seconds <= 28 * 86400:
            raise ValueError(f"max_runtime: received {max_seconds} seconds; expected between 1 second and 28 days")
        lo, hi = int(min_poll_interval.to_seconds()), int(max_poll_interval.to_seconds())
        if not 1 <= lo <= hi:
            raise ValueError(
                f"min_poll_interval: received {lo} s with max_poll_interval {hi} s; expected 1 <= min_poll_interval <= max_poll_interval"
            )
        if judge_model_id is not None:
            _check_judge(stack, judge_model_id)
        self.max_runtime = max_runtime

        # ---------------------------------------------------------------- waiter table
        self.table = dynamodb.Table(
            self, "Waiters",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # ---------------------------------------------------------------- functions
        evaluators = {rf.evaluator_arn: rf.function_arn for rf in reward_functions}
        settings = {
            "account": stack.account,
            "partition": stack.partition,
            "role_arn": execution_role.role_arn,
            "bucket": bucket.bucket_name,
            "output_prefix": bucket.output_prefix,
            "dataset_prefix": bucket.dataset_prefix,
            "dataset_buckets": [b.bucket_name for b in dataset_buckets],
            "model_package_group_name": model_package_group.model_package_group_name,
            "base_model": base_model,
            "reward_evaluator_arn": reward_functions[0].evaluator_arn if reward_functions else None,
            "reward_function_arns": [rf.function_arn for rf in reward_functions],
            "reward_evaluators": evaluators,
            "judge_model_id": judge_model_id,
            "judge_prompt": judge_prompt,
            "mlflow_resource_arn": mlflow_resource_arn,
            "kms_key_arn": encryption_key.key_arn if encryption_key else None,
            "max_runtime_seconds": max_seconds,
            "hub_name": hub_name,
            "stack_tags": dict(tags or {}),
        }
        env = {
            "FINETUNE_SETTINGS": stack.to_json_string(settings),
            "FINETUNE_TRACKING": json.dumps({"min_wait_seconds": lo, "max_wait_seconds": hi}),
            "WAITER_TABLE": self.table.table_name,
        }
        self.steps_function = self._function("Steps", "step", env, "Validates, resolves, plans and summarizes fine-tuning runs", log_retention)
        self.verify_function = self._function("VerifyReward", "verify_reward", env, "Checks the RLVR reward function on training samples", log_retention, timeout=Duration.minutes(5))
        self.job_events_function = self._function("JobEvents", "on_training_job_event", env, "Wakes executions on SageMaker training job state changes", log_retention)
        end_env = dict(env)
        if notification_topic is not None:
            end_env["NOTIFICATION_TOPIC_ARN"] = notification_topic.topic_arn
        self.execution_end_function = self._function("ExecutionEnd", "on_execution_end", end_env, "Stops the training job of aborted executions and notifies", log_retention)

        hub_content = f"arn:{stack.partition}:sagemaker:{stack.region}:*:hub-content/*"
        self.steps_function.add_to_role_policy(iam.PolicyStatement(actions=["sagemaker:DescribeHubContent"], resources=[hub_content]))
        self.steps_function.add_to_role_policy(iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage"], resources=[model_package_group.model_packages_arn()],
        ))
        recipe_bucket = recipe_bucket_name or f"jumpstart-cache-prod-{stack.region}"
        self.steps_function.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[f"arn:{stack.partition}:s3:::{recipe_bucket}/*"],
        ))
        bucket.grant_read_datasets(self.verify_function)
        for extra in dataset_buckets:
            extra.grant_read(self.verify_function)
        for rf in reward_functions:
            rf.grant_invoke(self.verify_function)
        if encryption_key is not None:
            encryption_key.grant_decrypt(self.verify_function)
        self.table.grant(self.job_events_function, "dynamodb:GetItem", "dynamodb:DeleteItem")
        self.table.grant(self.execution_end_function, "dynamodb:GetItem")
        self.execution_end_function.add_to_role_policy(iam.PolicyStatement(
            actions=["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            resources=[stack.format_arn(service="sagemaker", resource="training-job", resource_name="*")],
        ))
        if notification_topic is not None:
            notification_topic.grant_publish(self.execution_end_function)
            suppress(self.execution_end_function, [Suppression(
                "AwsSolutions-IAM5", "Publishing to the KMS-encrypted notification topic needs kms:GenerateDataKey* on its key (CDK's grant_publish).",
                ["Action::kms:GenerateDataKey*"],
            )])
        versions = "regex:/^Resource::<.*Arn>:\\*$/"
        suppress(self.steps_function, [Suppression(
            "AwsSolutions-IAM5",
            "Base models live in SageMakerPublicHub (owned by the 'aws' account, name per input), recipes in the regional "
            "JumpStart bucket, continued customization reads versioned packages of the stack's group: wildcards on those only.",
            ["Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:*:hub-content/*",
             "regex:/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/.*/\\*$/",
             "regex:/^Resource::arn:<AWS::Partition>:s3:::.*/\\*$/"],
        )])
        suppress(self.verify_function, [Suppression(
            "AwsSolutions-IAM5",
            "Reads training samples under the bucket's datasets/ prefix (and dataset buckets the user named) and invokes the "
            "stack's reward functions, including their versions.",
            ["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*",
             "regex:/^Resource::<.*Arn>/datasets/\\*$/", "regex:/^Resource::<.*Arn>/\\*$/", "regex:/^Resource::arn:<AWS::Partition>:s3:::.*/\\*$/",
             versions],
        )])
        suppress(self.execution_end_function, [Suppression(
            "AwsSolutions-IAM5",
            "Stops the training job of an aborted execution; job names are chosen per execution, so the ARN needs a name wildcard.",
            ["regex:/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/\\*$/"],
        )])

        # ---------------------------------------------------------------- state machine
        self.log_group = logs.LogGroup(self, "StateMachineLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        definition = self._definition(stack)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=max_runtime.plus(pending_allowance),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            comment="SageMaker AI serverless fine-tuning: one execution, one training job",
        )
        execution_role.grant_pass_role(self.state_machine)
        for statement in self._create_policy:
            self.state_machine.add_to_role_policy(statement)
        self.table.grant(self.state_machine, "dynamodb:PutItem")
        self.steps_function.grant_invoke(self.state_machine)
        self.job_events_function.add_to_role_policy(iam.PolicyStatement(
            actions=["states:SendTaskSuccess"], resources=[self.state_machine.state_machine_arn],
        ))

        # ---------------------------------------------------------------- events
        self.job_events_rule = events.Rule(
            self, "TrainingJobStateChange",
            description="SageMaker training job state changes wake the waiting fine-tuning execution",
            event_pattern=events.EventPattern(source=["aws.sagemaker"], detail_type=["SageMaker Training Job State Change"]),
            targets=[targets.LambdaFunction(self.job_events_function, retry_attempts=4)],
        )
        self.execution_end_rule = events.Rule(
            self, "ExecutionEnded",
            description="Stops the training job of an aborted, timed-out or failed fine-tuning execution",
            event_pattern=events.EventPattern(
                source=["aws.states"], detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [self.state_machine.state_machine_arn],
                        "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]},
            ),
            targets=[targets.LambdaFunction(self.execution_end_function, retry_attempts=8)],
        )

        # ---------------------------------------------------------------- alarms
        topic = alarm_topic or notification_topic
        self.alarms = []
        for name, metric in (("Failed", self.metric_failed()), ("TimedOut", self.metric_timed_out()), ("Aborted", self.metric_aborted())):
            alarm = metric.create_alarm(
                self, f"Executions{name}Alarm",
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"A fine-tuning execution {name.lower()}",
            )
            if topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(topic))
            self.alarms.append(alarm)

        suppress(self.state_machine, [
            Suppression("AwsSolutions-IAM5",
                        "Training job names are chosen per execution (derived or given), so the job ARN needs a name wildcard; "
                        "X-Ray and CloudWatch Logs delivery have no resource-level permissions; the Lambda version wildcard is CDK's.",
                        ["regex:/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/\\*$/",
                         "Resource::*", "regex:/^Resource::<.*Arn>:\\*$/"]),
        ])

    # ------------------------------------------------------------------------------------------
    def _function(self, id: str, entry: str, env: Mapping[str, str], description: str,
                  retention: logs.RetentionDays, timeout: Duration = Duration.seconds(60)) -> lambda_.Function:
        fn = lambda_.Function(
            self, id,
            runtime=_assets.RUNTIME,
            code=_assets.library_code(),
            handler=_assets.handler("workflow.handler", entry),
            memory_size=512,
            timeout=timeout,
            environment=dict(env),
            description=description,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs.LogGroup(self, f"{id}Logs", retention=retention, removal_policy=RemovalPolicy.DESTROY),
        )
        suppress(fn, LAMBDA_SUPPRESSIONS)
        return fn

    def _step(self, id: str, step: str, payload: Mapping[str, Any], result_path: Optional[str], comment: str) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self, id,
            lambda_function=self.steps_function,
            payload=sfn.TaskInput.from_object({"step": step, **payload}),
            payload_response_only=True,
            result_path=result_path,
            comment=comment,
        )
        task.add_retry(errors=["Lambda.TooManyRequestsException", "Lambda.ServiceException", "Lambda.AWSLambdaException",
                               "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"],
                       interval=Duration.seconds(2), max_attempts=6, backoff_rate=2, jitter_strategy=sfn.JitterType.FULL)
        return task

    def _definition(self, stack: Stack) -> sfn.IChainable:
        sm_arn_resources = [stack.format_arn(service="sagemaker", resource="training-job", resource_name="*")]
        rejected = sfn.Fail(self, "InputRejected", comment="The input cannot run as given; nothing was created or billed.",
                            error_path="$.error.Error", cause_path="$.error.Cause.errorMessage")
        explain = sfn.Pass(self, "ExplainRejection", comment="Turns the Lambda error into its message",
                           parameters={"Error.$": "$.error.Error", "Cause.$": "States.StringToJson($.error.Cause)"},
                           result_path="$.error").next(rejected)
        workflow_error = sfn.Fail(self, "WorkflowError", comment="An AWS call failed after its retries",
                                  error_path="$.error.Error", cause_path="$.error.Cause")

        def catch(state: sfn.TaskStateBase) -> sfn.TaskStateBase:
            state.add_catch(explain, errors=list(ERROR_NAMES), result_path="$.error")
            state.add_catch(workflow_error, errors=["States.ALL"], result_path="$.error")
            return state

        validate = catch(self._step("ValidateInput", "validate", {"input.$": "$"}, None,
                                    "Checks the input against the schema and the stack (no AWS call)"))
        resolve = catch(self._step("ResolveBaseModel", "resolve", {"input.$": "$.input"}, "$.resolution",
                                   "DescribeHubContent of the base model (or the source model package) and its recipe"))
        plan = catch(self._step("PlanTrainingJob", "plan",
                                {"input.$": "$.input", "resolution.$": "$.resolution", "execution_arn.$": "$$.Execution.Id"}, None,
                                "Builds the exact CreateTrainingJob request (pure planner)"))
        verify = catch(tasks.LambdaInvoke(
            self, "VerifyRewardFunction",
            lambda_function=self.verify_function,
            payload=sfn.TaskInput.from_object({"input.$": "$.input", "plan.$": "$.plan"}),
            payload_response_only=True, result_path="$.reward_verification",
            comment="Invokes the reward function on training samples and checks its replies",
        ))
        verify.add_retry(errors=["Lambda.TooManyRequestsException", "Lambda.ServiceException", "Lambda.AWSLambdaException",
                                 "Lambda.SdkClientException"], interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
        record = tasks.CallAwsService(
            self, "RecordExecutionJob",
            service="dynamodb", action="putItem",
            parameters={"TableName": self.table.table_name, "Item": {
                "pk": {"S": sfn.JsonPath.format("execution#{}", sfn.JsonPath.execution_id)},
                "job_name": {"S": sfn.JsonPath.string_at("$.plan.training_job_name")},
                "expires_at": {"N": sfn.JsonPath.string_at("$.plan.expires_at")},
            }},
            iam_resources=[self.table.table_arn], result_path=sfn.JsonPath.DISCARD,
            comment="Remembers the job of this execution, so an aborted execution can stop it",
        )
        record.add_retry(errors=DYNAMODB_RETRYABLE, interval=Duration.seconds(1), max_attempts=5, backoff_rate=2)
        record.add_catch(workflow_error, errors=["States.ALL"], result_path="$.error")
        # Raw Task states with explicit Parameters: every field the planner always emits, by path.
        # MlflowConfig is the one optional field, so a Choice picks the state that sends it.
        self._create_policy = [
            iam.PolicyStatement(actions=["sagemaker:CreateTrainingJob", "sagemaker:AddTags"], resources=sm_arn_resources),
        ]

        def create_state(id: str, fields: Sequence[str]) -> sfn.CustomState:
            return sfn.CustomState(self, id, state_json={
                "Type": "Task",
                "Comment": "Launches the serverless training job (AWS SDK integration; no .sync)",
                "Resource": f"arn:{stack.partition}:states:::aws-sdk:sagemaker:createTrainingJob",
                "Parameters": {f"{f}.$": f"$.plan.request.{f}" for f in fields},
                "ResultSelector": {"TrainingJobArn.$": "$.TrainingJobArn"},
                "ResultPath": "$.created",
            })

        create = create_state("CreateTrainingJob", REQUEST_FIELDS)
        create_mlflow = create_state("CreateTrainingJobWithMlflow", (*REQUEST_FIELDS, "MlflowConfig"))
        describe = tasks.CallAwsService(
            self, "DescribeTrainingJob",
            service="sagemaker", action="describeTrainingJob",
            parameters={"TrainingJobName": sfn.JsonPath.string_at("$.plan.training_job_name")},
            iam_resources=sm_arn_resources, result_path="$.job",
            comment="Status, secondary status and ProgressInfo of the job",
        )
        for task in (create, create_mlflow, describe):
            task.add_retry(errors=SAGEMAKER_RETRYABLE, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2,
                           max_delay=Duration.seconds(60), jitter_strategy=sfn.JitterType.FULL)
        for task in (create, create_mlflow):
            task.add_catch(describe, errors=RESOURCE_IN_USE, result_path="$.created")
            task.add_catch(workflow_error, errors=["States.ALL"], result_path="$.error")
        describe.add_catch(workflow_error, errors=["States.ALL"], result_path="$.error")

        wait_event = tasks.CallAwsService(
            self, "WaitForJobEvent",
            service="dynamodb", action="putItem",
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            parameters={"TableName": self.table.table_name, "Item": {
                "pk": {"S": sfn.JsonPath.format("job#{}", sfn.JsonPath.string_at("$.plan.training_job_name"))},
                "token": {"S": sfn.JsonPath.task_token},
                "execution": {"S": sfn.JsonPath.execution_id},
                "expires_at": {"N": sfn.JsonPath.string_at("$.plan.expires_at")},
            }},
            iam_resources=[self.table.table_arn],
            task_timeout=sfn.Timeout.at("$.tracking.wait_seconds"),
            result_path="$.wake",
            comment="Waits for the job's state-change event, at most the current polling interval",
        )
        wait_event.add_retry(errors=DYNAMODB_RETRYABLE, interval=Duration.seconds(1), max_attempts=5, backoff_rate=2)
        backoff = sfn.Pass(self, "BackOffPolling", comment="No event within the interval: double it (safety-net polling)",
                           parameters={"wait_seconds.$": "States.MathAdd($.tracking.wait_seconds, $.tracking.wait_seconds)",
                                       "max_seconds.$": "$.tracking.max_seconds",
                                       "wakes.$": "$.tracking.wakes"},
                           result_path="$.tracking")
        cap = sfn.Pass(self, "CapPollInterval", parameters={"wait_seconds.$": "$.tracking.max_seconds",
                                                            "max_seconds.$": "$.tracking.max_seconds",
                                                            "wakes.$": "$.tracking.wakes"},
                       result_path="$.tracking")
        fallback_wait = sfn.Wait(self, "PollWithoutEvents", time=sfn.WaitTime.seconds_path("$.tracking.wait_seconds"),
                                 comment="The waiter table failed: poll on a timer instead")
        cap_choice = sfn.Choice(self, "IntervalAboveMaximum?").when(
            sfn.Condition.number_greater_than_json_path("$.tracking.wait_seconds", "$.tracking.max_seconds"), cap.next(describe)
        ).otherwise(describe)
        wait_event.add_catch(backoff.next(cap_choice), errors=["States.Timeout"], result_path=sfn.JsonPath.DISCARD)
        wait_event.add_catch(fallback_wait.next(describe), errors=["States.ALL"], result_path="$.wait_error")
        wait_event.next(describe)

        summarize = catch(self._step("SummarizeResult", "summarize", {"job.$": "$.job", "input.$": "$.input", "plan.$": "$.plan"}, None,
                                     "Output: job, model package, billable tokens, timings, MLflow run"))
        done = sfn.Succeed(self, "TrainingJobCompleted")
        failed = sfn.Fail(self, "TrainingJobFailed", error="TrainingJobFailed", cause_path="$.job.FailureReason")
        stopped = sfn.Fail(self, "TrainingJobStopped", error="TrainingJobStopped",
                           cause="The training job was stopped (StopTrainingJob) before it completed.")
        status = (
            sfn.Choice(self, "JobStatus?")
            .when(sfn.Condition.string_equals("$.job.TrainingJobStatus", "Completed"), summarize.next(done))
            .when(sfn.Condition.string_equals("$.job.TrainingJobStatus", "Failed"), failed)
            .when(sfn.Condition.string_equals("$.job.TrainingJobStatus", "Stopped"), stopped)
            .otherwise(wait_event)
        )
        describe.next(status)
        reward_check = (
            sfn.Choice(self, "VerifyReward?")
            .when(sfn.Condition.boolean_equals("$.plan.verify_reward", True), verify.next(record))
            .otherwise(record)
        )
        launch = (
            sfn.Choice(self, "MlflowConfigured?")
            .when(sfn.Condition.is_present("$.plan.request.MlflowConfig"), create_mlflow.next(describe))
            .otherwise(create.next(describe))
        )
        record.next(launch)
        return validate.next(resolve).next(plan).next(reward_check)

    # ------------------------------------------------------------------ grants and metrics
    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start fine-tuning runs."""
        return self.state_machine.grant_start_execution(grantee)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list and describe runs and their history."""
        return self.state_machine.grant_read(grantee)

    def metric_failed(self, **kwargs: Any) -> cloudwatch.Metric:
        return self.state_machine.metric_failed(**kwargs)

    def metric_succeeded(self, **kwargs: Any) -> cloudwatch.Metric:
        return self.state_machine.metric_succeeded(**kwargs)

    def metric_timed_out(self, **kwargs: Any) -> cloudwatch.Metric:
        return self.state_machine.metric_timed_out(**kwargs)

    def metric_aborted(self, **kwargs: Any) -> cloudwatch.Metric:
        return self.state_machine.metric_aborted(**kwargs)

    def metric_started(self, **kwargs: Any) -> cloudwatch.Metric:
        return self.state_machine.metric_started(**kwargs)


def _check_judge(stack: Stack, judge_model_id: str) -> None:
    from aws_cdk import Token

    if judge_model_id not in JUDGE_MODEL_REGIONS:
        raise ValueError(
            f"judge_model_id: received {judge_model_id!r}; expected one of {', '.join(JUDGE_MODEL_REGIONS)}"
        )
    if not Token.is_unresolved(stack.region) and stack.region not in JUDGE_MODEL_REGIONS[judge_model_id]:
        offered = [m for m, regions in JUDGE_MODEL_REGIONS.items() if stack.region in regions]
        raise ValueError(
            f"judge_model_id: received {judge_model_id!r}, which is not offered in {stack.region}; expected a judge "
            f"offered there: {', '.join(offered) or 'none (use another region)'}"
        )
