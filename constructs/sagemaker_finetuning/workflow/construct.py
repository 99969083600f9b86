"""FineTuningWorkflow: the Step Functions state machine that runs one fine-tuning job per execution."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Unpack

from aws_cdk import ArnFormat, AspectPriority, Aspects, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from sagemaker_finetuning.access.execution_role import MLFLOW_ARN
from sagemaker_finetuning.core.constants import PUBLIC_HUB_NAME, TERMINAL_EXECUTION_STATUSES
from sagemaker_finetuning.core.naming import NAME_PATTERN, NAME_RULE
from sagemaker_finetuning.core.sweep_plan import DEFAULT_MAX_CONFIGURATIONS, MAX_CONFIGURATIONS_CAP
from sagemaker_finetuning.core.validation import MAX_TAGS, RESERVED_TAGS, stack_tag_problem
from sagemaker_finetuning.registry.model_package_group import IModelPackageGroup
from sagemaker_finetuning.rewards.judge_prompt import JudgePromptSource
from sagemaker_finetuning.rewards.judges import EvaluationJudgeModel, JudgeModel
from sagemaker_finetuning.rewards.reward_function import RewardFunction
from sagemaker_finetuning.storage.bucket import DATASET_PREFIX, OUTPUT_PREFIX, PROMPT_PREFIX, DataLocations, check_locations
from sagemaker_finetuning.support import props
from sagemaker_finetuning.support.functions import XRAY_WRITE
from sagemaker_finetuning.support.metrics import MetricOptions
from sagemaker_finetuning.support.nag import Suppression, resource_findings, suppress, wildcard_policy
from sagemaker_finetuning.workflow.definition import build_definition
from sagemaker_finetuning.workflow.job import EmbeddingWatcher, FineTuningJob
from sagemaker_finetuning.workflow.runtime import RuntimeProps, define_runtime
from sagemaker_finetuning.workflow.sweep import sweep_states

#: What Step Functions needs to deliver logs to CloudWatch Logs (aws-stepfunctions' StateMachine adds the same).
LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")


class FineTuningWorkflow(Construct):
    """Defines the state machine that turns one JSON execution input into one serverless
    fine-tuning job: validate, resolve the base model, plan the exact CreateTrainingJob request,
    verify the RLVR reward function, launch, track to the end (EventBridge event + adaptive
    polling), summarize — and stop the job if the execution is aborted or times out.

    :param bucket: the bucket of datasets, outputs and prompts.
    :param dataset_prefix: Default: ``datasets/``. :param output_prefix: Default: ``outputs/``.
    :param prompt_prefix: Default: ``prompts/``.
    :param encryption_key: KMS key of the bucket and of job output. Default: none.
    :param execution_role: the role training jobs run as (the state machine may pass it to SageMaker).
    :param model_package_group: the default group outputs are registered in.
    :param base_model: default SageMakerPublicHub model id. Default: none (inputs must name one).
    :param reward_functions: reward functions executions may use; the first is the default. Default: none.
    :param judge_models: RLAIF judges executions may use; the first is the default. Default: none.
    :param evaluation_judge_models: Bedrock evaluator models LLM-as-judge evaluations may use (the execution role
        must be granted them too); the first is the default. Default: none (LLM-as-judge inputs are refused).
    :param judge_prompt: default RLAIF prompt (``JudgePromptSource.builtin(...)``, ``.from_file(...)``,
        ``.from_text(...)`` or ``.from_evaluator_arn(...)``). Default: the recipe's default prompt.
    :param mlflow_resource_arn: default MLflow app / tracking server. Default: none (no MlflowConfig).
    :param dataset_buckets: further buckets training may read. Default: none.
    :param max_runtime: the longest a job may run; also the default. Default: 24 hours.
    :param pending_allowance: time added to ``max_runtime`` for the execution's own timeout
        (validation, queueing, upload). Default: 6 hours.
    :param min_poll_interval: first polling interval (safety net behind the events). Default: 1 minute.
    :param max_poll_interval: the interval doubles up to this. Default: 15 minutes.
    :param sweep_interval: how often running jobs of this stack whose execution ended are stopped
        (the safety net behind the abort clean-up). Default: 30 minutes.
    :param dataset_fan_out_size: datasets larger than this (training and validation together) are validated
        by a Distributed Map, 100 parts of 64 MiB at a time in child executions, instead of an inline Map
        (10 at a time); so are datasets of so many objects that their part list would not fit a state's
        payload. Default: 5 GiB.
    :param default_budget_tokens: the budget, in billable tokens, of runs whose input gives none (``budget.max_tokens``):
        a run estimated above it is refused before launch (``BudgetExceeded``). Default: none.
    :param max_sweep_configurations: the most configurations an input's ``sweep`` may have (``SweepTooLarge`` above it);
        each is a training job, and an evaluation with an evaluation block. Default: 50.
    :param log_level: what the state machine logs. Default: ``ALL`` (every state transition).
    :param log_execution_data: also log each state's input and output (execution inputs, hyperparameters,
        S3 URIs, task tokens). Default: False — the execution history in Step Functions still has them,
        behind ``grant_read``; set True only where the log group is as tightly held.
    :param notification_topic: SNS topic told of every terminal execution. Default: none.
    :param alarm_topic: SNS topic of the alarms. Default: ``notification_topic``.
    :param log_retention: of the state machine's and the functions' logs. Default: one year.
    :param removal_policy: of the log groups and the waiter table. Default: RETAIN.
    :param recipe_bucket_name: where the hub's recipes are. Default: ``jumpstart-cache-prod-<region>``.
    :param hub_name: the hub base models come from. Default: ``SageMakerPublicHub``.
    :param tags: tags every training job gets. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        execution_role: iam.IRole,
        model_package_group: IModelPackageGroup,
        dataset_prefix: str = DATASET_PREFIX,
        output_prefix: str = OUTPUT_PREFIX,
        prompt_prefix: str = PROMPT_PREFIX,
        encryption_key: Optional[kms.IKey] = None,
        base_model: Optional[str] = None,
        reward_functions: Sequence[RewardFunction] = (),
        judge_models: Sequence[JudgeModel] = (),
        evaluation_judge_models: Sequence[EvaluationJudgeModel] = (),
        judge_prompt: Optional[JudgePromptSource] = None,
        mlflow_resource_arn: Optional[str] = None,
        dataset_buckets: Sequence[s3.IBucket] = (),
        max_runtime: Duration = Duration.hours(24),
        pending_allowance: Duration = Duration.hours(6),
        min_poll_interval: Duration = Duration.minutes(1),
        max_poll_interval: Duration = Duration.minutes(15),
        sweep_interval: Duration = Duration.minutes(30),
        dataset_fan_out_size: Size = Size.gibibytes(5),
        default_budget_tokens: Optional[int] = None,
        max_sweep_configurations: int = DEFAULT_MAX_CONFIGURATIONS,
        log_level: sfn.LogLevel = sfn.LogLevel.ALL,
        log_execution_data: bool = False,
        notification_topic: Optional[sns.ITopic] = None,
        alarm_topic: Optional[sns.ITopic] = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        recipe_bucket_name: Optional[str] = None,
        hub_name: str = PUBLIC_HUB_NAME,
        tags: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        locations = check_locations(bucket, encryption_key, dataset_prefix, output_prefix, prompt_prefix)
        props.interface("execution_role", execution_role, "iam.IRole")
        props.instance("model_package_group", model_package_group, IModelPackageGroup, "a ModelPackageGroup (or an imported one)")
        rewards = props.instances("reward_functions", reward_functions, RewardFunction, "RewardFunction constructs")
        judges = props.instances("judge_models", judge_models, JudgeModel, "JudgeModel values (e.g. JudgeModel.GPT_OSS_120B)")
        evaluation_judges = props.instances("evaluation_judge_models", evaluation_judge_models, EvaluationJudgeModel,
                                            "EvaluationJudgeModel values (e.g. EvaluationJudgeModel.CLAUDE_HAIKU_4_5)")
        props.instance("judge_prompt", judge_prompt, JudgePromptSource, "a JudgePromptSource", optional=True)
        extra_buckets = props.interfaces("dataset_buckets", dataset_buckets, "s3.IBucket")
        _check_operations(notification_topic, alarm_topic, removal_policy, log_retention, log_level, log_execution_data)
        max_seconds, (lo, hi) = _check_times(max_runtime, pending_allowance, min_poll_interval, max_poll_interval)
        props.duration("sweep_interval", sweep_interval, unit="minutes", low=1, high=24 * 60)  # an EventBridge rate
        #: Datasets above this many bytes are validated by the Distributed Map (``dataset_fan_out_size``).
        self.dataset_fan_out_bytes = props.size_bytes("dataset_fan_out_size", dataset_fan_out_size, low_mib=1, high_gib=1024 * 1024)
        for i, judge in enumerate(judges):
            judge.require_offered_in(f"judge_models[{i}]", stack.region)
        self.max_runtime = max_runtime
        prompt_value, self.judge_prompt = judge_prompt.bind(self, "JudgePrompt", locations) if judge_prompt else (None, None)
        settings = _settings(stack, locations, execution_role, model_package_group, extra_buckets, rewards, judges, max_seconds,
                             base_model=base_model, judge_prompt=prompt_value, evaluation_judges=evaluation_judges,
                             mlflow_resource_arn=mlflow_resource_arn, hub_name=hub_name, tags=tags, budget=default_budget_tokens,
                             max_sweep_configurations=max_sweep_configurations)
        runtime = define_runtime(self, RuntimeProps(
            settings=settings, min_wait_seconds=lo, max_wait_seconds=hi, locations=locations, dataset_buckets=extra_buckets,
            reward_functions=rewards, model_package_group=model_package_group,
            recipe_bucket_name=props.bucket_name("recipe_bucket_name", recipe_bucket_name, optional=True)
            or f"jumpstart-cache-prod-{stack.region}",
            notification_topic=notification_topic, log_retention=log_retention, removal_policy=removal_policy,
        ))
        self.table, self.steps_function, self.verify_function, self.job_events_function = runtime.table, runtime.steps, runtime.verify, runtime.job_events
        self.execution_end_function, self.sweeper_function, self.dead_letter_queue = runtime.execution_end, runtime.sweeper, runtime.dead_letters
        self.log_group = logs.LogGroup(self, "StateMachineLogs", retention=log_retention, removal_policy=removal_policy)
        self.runtime, self.execution_role = runtime, execution_role
        self._watcher: Optional[EmbeddingWatcher] = None
        launch_statements = self._state_machine(max_runtime.plus(pending_allowance))
        for statement in launch_statements:  # LaunchEvaluationJob: the Steps function creates evaluation jobs
            self.steps_function.add_to_role_policy(statement)
        self._observe(log_level, log_execution_data)
        self._grant_state_machine(launch_statements)
        self._events(sweep_interval)
        self.alarms = self._alarms(alarm_topic or notification_topic)

    # ------------------------------------------------------------------ wiring
    def _state_machine(self, timeout: Duration) -> list[iam.PolicyStatement]:
        """The workflow's own state machine: the run's states (those a FineTuningJob wraps), ending in Succeed / Fail."""
        definition = build_definition(self, self.runtime, self.execution_role, fan_out_bytes=self.dataset_fan_out_bytes,
                                      sweep=sweep_states(self, self))
        definition.finish()
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition.start),
            timeout=timeout,
            comment="SageMaker AI serverless fine-tuning: one execution, one training job",
        )
        self.execution_end_function.add_environment("STATE_MACHINE_ARN", self.state_machine.state_machine_arn)
        return definition.launch_statements

    def _observe(self, level: sfn.LogLevel, execution_data: bool) -> None:
        """Logs and X-Ray through the CloudFormation properties, their ``Resource: *`` grants in a policy of
        their own (``StateMachineObservabilityPolicy``, beside the state machine), so no other grant hides behind that suppression."""
        cfn = self.state_machine.node.default_child
        assert isinstance(cfn, sfn.CfnStateMachine)
        cfn.tracing_configuration = sfn.CfnStateMachine.TracingConfigurationProperty(enabled=True)
        cfn.logging_configuration = sfn.CfnStateMachine.LoggingConfigurationProperty(
            destinations=[sfn.CfnStateMachine.LogDestinationProperty(
                cloud_watch_logs_log_group=sfn.CfnStateMachine.CloudWatchLogsLogGroupProperty(log_group_arn=self.log_group.log_group_arn))],
            include_execution_data=execution_data, level=level.value,
        )
        policy = wildcard_policy(self, "StateMachineObservabilityPolicy", self.state_machine.role, [
            iam.PolicyStatement(actions=list(LOG_DELIVERY), resources=["*"]),
            iam.PolicyStatement(actions=list(XRAY_WRITE) + ["xray:GetSamplingRules", "xray:GetSamplingTargets"], resources=["*"]),
        ], "CloudWatch Logs delivery and X-Ray have no resource-level permissions (the statements CDK's logs/tracing options add).")
        cfn.add_resource_dependency(policy.node.default_child)  # type: ignore[arg-type]

    def _grant_state_machine(self, launch_statements: Sequence[iam.PolicyStatement]) -> None:
        """The tasks carry their own IAM (launch, PassRole, table, Lambda invokes); here what the runtime needs of the machine."""
        # A sweep's configurations wait for their job's event in child executions of its Distributed Map, whose
        # state machine ARN is this machine's with the Map Run's label (<machine>/<label>).
        children_machine = f"{self.state_machine.state_machine_arn}/*"
        self.job_events_function.add_to_role_policy(iam.PolicyStatement(
            actions=["states:SendTaskSuccess"], resources=[self.state_machine.state_machine_arn, children_machine],
        ))
        suppress(self.job_events_function, [Suppression(
            "AwsSolutions-IAM5", "Wakes this state machine's executions and the child executions of its Distributed Maps (a sweep's "
            "configurations), whose state machine ARN carries the Map Run's label.", resource_findings(self, [children_machine]))])
        execution_arns = executions_of(self.state_machine)
        children = child_executions_of(self.state_machine)
        self.sweeper_function.add_to_role_policy(iam.PolicyStatement(
            sid="ReadOwnExecutions", actions=["states:DescribeExecution"], resources=[execution_arns, children]))
        # A sweep's trials run in child executions of its Distributed Map: the clean-up finds them through the Map Runs.
        map_runs = Stack.of(self).format_arn(service="states", resource="mapRun", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                             resource_name=f"{self.state_machine.state_machine_name}/*")
        self.execution_end_function.add_to_role_policy(iam.PolicyStatement(
            sid="ListChildExecutions", actions=["states:ListMapRuns", "states:ListExecutions"], resources=[execution_arns, map_runs]))
        suppress(self.state_machine, [
            Suppression("AwsSolutions-IAM5",
                        "Training job names are chosen per execution (derived or given), so the job ARN needs a name wildcard "
                        "(Create only with the stack's tag; the Steps function describes them); LambdaInvoke also grants the "
                        "versions of the Steps and VerifyReward functions (CDK).",
                        resource_findings(self, [r for st in launch_statements for r in st.resources]
                                          + [f"{fn.function_arn}:*" for fn in (self.steps_function, self.verify_function)])),
            Suppression("AwsSolutions-IAM5", WORK_READ_REASON, resource_findings(self, [self.runtime.work.object_arns()])),
        ])
        suppress_distributed_map_policy(self.state_machine)
        suppress(self.sweeper_function, [
            Suppression("AwsSolutions-IAM5", "The sweeper reads the status of this state machine's executions (and of their "
                        "Distributed Maps' child executions) only.", resource_findings(self, [execution_arns, children])),
        ])
        suppress(self.execution_end_function, [
            Suppression("AwsSolutions-IAM5", "The clean-up lists the Map Runs of this state machine's executions and their child "
                        "executions (a sweep's trials), whose names Step Functions chooses.", resource_findings(self, [execution_arns, map_runs])),
        ])

    def _events(self, sweep_interval: Duration) -> None:
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
                detail={"stateMachineArn": [self.state_machine.state_machine_arn], "status": list(TERMINAL_EXECUTION_STATUSES)},
            ),
            targets=[targets.LambdaFunction(self.execution_end_function, retry_attempts=8, dead_letter_queue=self.dead_letter_queue)],
        )
        self.sweep_rule = events.Rule(
            self, "SweepOrphanedJobs",
            description="Stops running training jobs of this stack whose execution ended (lost clean-up events)",
            schedule=events.Schedule.rate(sweep_interval),
            targets=[targets.LambdaFunction(self.sweeper_function, retry_attempts=2, dead_letter_queue=self.dead_letter_queue)],
        )

    def _alarms(self, topic: Optional[sns.ITopic]) -> list[cloudwatch.Alarm]:
        alarms = []
        lost = self.dead_letter_queue.metric_approximate_number_of_messages_visible(statistic="Maximum")
        for name, metric in (("Failed", self.metric_failed()), ("TimedOut", self.metric_timed_out()), ("Aborted", self.metric_aborted()),
                             ("CleanupLost", lost)):
            alarm = metric.create_alarm(
                self, f"Executions{name}Alarm",
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=("A clean-up event (stop the job of an ended execution) could not be handled: see the "
                                   "CleanupDeadLetters queue; the sweeper retries on its schedule")
                if name == "CleanupLost" else f"A fine-tuning execution {name.lower()}",
            )
            if topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(topic))
            alarms.append(alarm)
        return alarms

    # ------------------------------------------------------------------ the run as a fragment
    def job(self, scope: Construct, id: str, *, input_path: str = "$", result_path: str = "$",
            comment: Optional[str] = None, dataset_fan_out: bool = True) -> FineTuningJob:
        """One fine-tuning run as a state-machine fragment for your own state machines (see :class:`FineTuningJob`):
        ``input_path`` holds the execution input JSON contract, ``result_path`` receives the output document."""
        return FineTuningJob(scope, id, workflow=self, input_path=input_path, result_path=result_path, comment=comment,
                             dataset_fan_out=dataset_fan_out)

    def watch_embedding(self) -> None:
        """Find the state machines that embed this workflow's runs when the app is synthesized (once)."""
        if self._watcher is None:
            self._watcher = EmbeddingWatcher(self)
            Aspects.of(self.node.root).add(self._watcher, priority=AspectPriority.MUTATING)

    def serve(self, machine: sfn.StateMachine) -> None:
        """What the runtime needs of a state machine that embeds this workflow's runs: wake its executions
        (SendTaskSuccess), see them end (the clean-up rule), and describe them (the sweeper)."""
        self.job_events_function.add_to_role_policy(iam.PolicyStatement(
            actions=["states:SendTaskSuccess"], resources=[machine.state_machine_arn]))
        self.execution_end_rule.add_event_pattern(detail={"stateMachineArn": [machine.state_machine_arn]})
        executions = executions_of(machine)
        self.sweeper_function.add_to_role_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]))
        suppress(self.sweeper_function, [
            Suppression("AwsSolutions-IAM5", "The sweeper reads the status of the executions of the state machines that embed "
                        "this workflow's runs.", resource_findings(self, [executions])),
        ])
        # The run's own statements on the embedding machine's role: the same wildcards as on the workflow's machine.
        job_arns = Stack.of(self).format_arn(service="sagemaker", resource="training-job", resource_name="*")
        suppress(machine.role, [Suppression(
            "AwsSolutions-IAM5",
            "A FineTuningJob's tasks: training job names are chosen per run, so the job ARN needs a name wildcard (Create only "
            "with the stack's tag, Describe only of jobs carrying it); LambdaInvoke also grants the versions of the workflow's "
            "Steps and VerifyReward functions (CDK).",
            resource_findings(self, [job_arns] + [f"{fn.function_arn}:*" for fn in (self.steps_function, self.verify_function)]),
        ), Suppression("AwsSolutions-IAM5", WORK_READ_REASON, resource_findings(self, [self.runtime.work.object_arns()]))])
        suppress_distributed_map_policy(machine)

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

    def metric_failed(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that failed. Default: sum over 5 minutes."""
        return self.state_machine.metric_failed(**options)

    def metric_succeeded(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that succeeded. Default: sum over 5 minutes."""
        return self.state_machine.metric_succeeded(**options)

    def metric_timed_out(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that timed out. Default: sum over 5 minutes."""
        return self.state_machine.metric_timed_out(**options)

    def metric_aborted(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that were aborted. Default: sum over 5 minutes."""
        return self.state_machine.metric_aborted(**options)

    def metric_started(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions started. Default: sum over 5 minutes."""
        return self.state_machine.metric_started(**options)


WORK_READ_REASON = ("The Distributed Map of a large dataset's validation reads its item list: any name under the workflow's "
                    "own prefix of the output prefix.")


def suppress_distributed_map_policy(machine: sfn.StateMachine) -> None:
    """CDK's policy for a machine with a Distributed Map (start, describe, stop its own child executions and map runs)."""
    policy = machine.node.try_find_child("DistributedMapPolicy")
    if not isinstance(policy, iam.Policy):
        return
    document = Stack.of(machine).resolve(policy.document.to_json())
    resources = [r for st in document["Statement"] for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
    suppress(policy, [Suppression(
        "AwsSolutions-IAM5", "CDK's Distributed Map policy: the machine starts, describes and stops its own child executions "
        "(the dataset validation's map runs), whose names Step Functions chooses.", resource_findings(machine, resources))])


def child_executions_of(machine: sfn.IStateMachine) -> str:
    """The ARN pattern of the child executions of ``machine``'s Distributed Maps (``<machine>/<label>:<id>``)."""
    return Stack.of(machine).format_arn(service="states", resource="execution", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                        resource_name=f"{machine.state_machine_name}/*")


def executions_of(machine: sfn.IStateMachine) -> str:
    """The ARN pattern of the executions of ``machine``."""
    return Stack.of(machine).format_arn(service="states", resource="execution", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                        resource_name=f"{machine.state_machine_name}:*")


def _check_operations(notification_topic: Any, alarm_topic: Any, removal_policy: Any, log_retention: Any, log_level: Any,
                      log_execution_data: Any) -> None:
    props.interface("notification_topic", notification_topic, "sns.ITopic", optional=True)
    props.interface("alarm_topic", alarm_topic, "sns.ITopic", optional=True)
    props.removal_policy("removal_policy", removal_policy)
    props.instance("log_retention", log_retention, logs.RetentionDays, "a logs.RetentionDays value")
    props.instance("log_level", log_level, sfn.LogLevel, "an sfn.LogLevel (ALL, ERROR, FATAL or OFF)")
    props.boolean("log_execution_data", log_execution_data)


def _check_times(max_runtime: Any, pending: Any, lo_interval: Any, hi_interval: Any) -> tuple[int, tuple[int, int]]:
    props.duration("max_runtime", max_runtime, low=1, high=28 * 86400)  # the service's MaxRuntimeInSeconds
    props.duration("pending_allowance", pending, low=0, high=30 * 86400)
    props.duration("min_poll_interval", lo_interval, low=1, high=86400)
    props.duration("max_poll_interval", hi_interval, low=1, high=86400)
    max_seconds = int(max_runtime.to_seconds())
    lo, hi = int(lo_interval.to_seconds()), int(hi_interval.to_seconds())
    if lo > hi:
        raise props.InvalidProp("min_poll_interval", lo_interval, f"at most max_poll_interval ({props.describe(hi_interval)})")
    return max_seconds, (lo, hi)


def _settings(stack: Stack, loc: DataLocations, role: iam.IRole, group: IModelPackageGroup, extra_buckets: Sequence[s3.IBucket],
              rewards: Sequence[RewardFunction], judges: Sequence[JudgeModel], max_seconds: int, *, base_model: Optional[str],
              judge_prompt: Optional[str], mlflow_resource_arn: Optional[str], hub_name: str,
              tags: Optional[Mapping[str, str]], evaluation_judges: Sequence[EvaluationJudgeModel] = (),
              budget: Optional[int] = None, max_sweep_configurations: int = DEFAULT_MAX_CONFIGURATIONS) -> dict[str, Any]:
    """What the workflow Lambdas know of the stack (``core.settings.StackSettings``)."""
    props.string("base_model", base_model, optional=True, pattern=NAME_PATTERN,
                 expected=f"a SageMakerPublicHub model id ({NAME_RULE})")
    props.string("mlflow_resource_arn", mlflow_resource_arn, optional=True, pattern=MLFLOW_ARN,
                 expected="an MLflow app or tracking server ARN (arn:aws:sagemaker:<region>:<account>:mlflow-app/<id>)")
    props.string("hub_name", hub_name, pattern=NAME_PATTERN, expected=f"a hub name such as {PUBLIC_HUB_NAME} ({NAME_RULE})")
    return {
        "account": stack.account,
        "partition": stack.partition,
        "role_arn": role.role_arn,
        "bucket": loc.bucket.bucket_name,
        "output_prefix": loc.output_prefix,
        "dataset_prefix": loc.dataset_prefix,
        "prompt_prefix": loc.prompt_prefix,
        "stack_id": stack.stack_id,
        "dataset_buckets": [b.bucket_name for b in extra_buckets],
        "model_package_group_name": group.model_package_group_name,
        "base_model": base_model,
        "reward_evaluator_arn": rewards[0].evaluator_arn if rewards else None,
        "reward_function_arns": [rf.function_arn for rf in rewards],
        "reward_evaluators": {rf.evaluator_arn: rf.function_arn for rf in rewards},
        "judge_model_id": judges[0].model_id if judges else None,
        "judge_model_ids": [j.model_id for j in judges],
        "judge_prompt": judge_prompt,
        "evaluation_judge_model_ids": [j.model_id for j in evaluation_judges],
        "mlflow_resource_arn": mlflow_resource_arn,
        "kms_key_arn": loc.encryption_key.key_arn if loc.encryption_key else None,
        "max_runtime_seconds": max_seconds,
        "hub_name": hub_name,
        "stack_tags": _check_tags(tags),
        "default_budget_tokens": None if budget is None else props.integer("default_budget_tokens", budget, 1, 10**15),
        "max_sweep_configurations": props.integer("max_sweep_configurations", max_sweep_configurations, 1, MAX_CONFIGURATIONS_CAP),
    }


def _check_tags(tags: Optional[Mapping[str, str]]) -> dict[str, str]:
    checked = props.string_map("tags", tags)
    limit = MAX_TAGS - len(RESERVED_TAGS)
    if len(checked) > limit:
        raise props.InvalidProp("tags", checked, f"at most {limit} tags (a job has at most {MAX_TAGS}; the workflow sets {len(RESERVED_TAGS)})")
    for key, value in checked.items():
        problem = stack_tag_problem(key, value)
        if problem:
            raise props.InvalidProp(f"tags[{key!r}]", value, problem)
    return checked


