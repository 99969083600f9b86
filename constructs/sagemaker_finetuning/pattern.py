"""ServerlessFineTuning: the pattern that wires bucket, role, group, reward function and workflow."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Unpack

from aws_cdk import Duration, RemovalPolicy, Size, Stack, TimeZone
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from sagemaker_finetuning.access.execution_role import FineTuningExecutionRole
from sagemaker_finetuning.core.sweep_plan import DEFAULT_MAX_CONFIGURATIONS
from sagemaker_finetuning.registry.model_package_group import IModelPackageGroup, ModelPackageGroupSource
from sagemaker_finetuning.rewards.judge_prompt import JudgePrompt, JudgePromptSource
from sagemaker_finetuning.rewards.judges import EvaluationJudgeModel, JudgeModel
from sagemaker_finetuning.rewards.reward_function import RewardFunction, RewardFunctionSource
from sagemaker_finetuning.storage.bucket import FineTuningBucket, FineTuningStorage
from sagemaker_finetuning.support import props
from sagemaker_finetuning.support.metrics import MetricOptions
from sagemaker_finetuning.workflow.construct import FineTuningWorkflow
from sagemaker_finetuning.workflow.job import FineTuningJob
from sagemaker_finetuning.workflow.notifications import Notifications
from sagemaker_finetuning.workflow.triggers import DatasetTrigger, ScheduleTrigger

#: The library's default base model: small, open weights, not gated.
DEFAULT_BASE_MODEL = "huggingface-reasoning-qwen3-06b"


def _default(value: Any, make: Callable[[], Any]) -> Any:
    return make() if value is None else value


def _judges(region: str, judge_model: Any, additional: Any) -> list[JudgeModel]:
    """The judges the stack grants, each offered in ``region``, named by the prop that gave it."""
    props.instance("judge_model", judge_model, JudgeModel, "a JudgeModel (e.g. JudgeModel.GPT_OSS_120B)", optional=True)
    judges = [judge_model.require_offered_in("judge_model", region)] if judge_model is not None else []
    for i, judge in enumerate(props.instances("additional_judge_models", additional, JudgeModel, "JudgeModel values")):
        judge.require_offered_in(f"additional_judge_models[{i}]", region)
        judges += [judge] if judge not in judges else []
    return judges


class ServerlessFineTuning(Construct):
    """Defines everything a team needs to run governed serverless fine-tuning: a secure bucket, the
    training role, a model package group, an RLVR reward function registered as a hub evaluator,
    and the workflow state machine. ``ServerlessFineTuning(stack, "FineTuning")`` works as is.

    :param base_model: default SageMakerPublicHub model id. Default: ``huggingface-reasoning-qwen3-06b``.
    :param storage: ``FineTuningStorage.new_bucket(...)`` or ``FineTuningStorage.existing_bucket(bucket, ...)``.
        Default: a new secure bucket (SSE-S3).
    :param model_package_group: ``ModelPackageGroupSource.new_group(name)`` or ``.existing(group)``.
        Default: a new group named after the construct path.
    :param removal_policy: of the new bucket, group, log groups and waiter table. Default: RETAIN.
    :param reward_function: ``RewardFunctionSource.library(...)``, ``.custom(fn)`` or ``.none()``.
        Default: the library's reward function (numeric answer match + format + anti-gaming).
    :param additional_reward_functions: further reward functions executions may name. Default: none.
    :param judge_model: the default RLAIF judge; enables Bedrock invoke for it. Default: none.
    :param additional_judge_models: further judges executions may name. Default: none.
    :param evaluation_judge_models: Bedrock evaluator models LLM-as-judge evaluations may use (granted to the execution
        role); the first is the default. Default: none.
    :param judge_prompt: ``JudgePromptSource.builtin(...)``, ``.from_file(...)``, ``.from_text(...)`` or
        ``.from_evaluator_arn(...)``. Default: the recipe's default prompt.
    :param mlflow_resource_arn: MLflow app / tracking server jobs log to. Default: none.
    :param dataset_buckets: further buckets datasets may come from. Default: none.
    :param execution_role: the role jobs run as (it gets the grants, or a notice if immutable).
        Default: a least-privilege role.
    :param max_runtime: longest job runtime (and default). Default: 24 hours.
    :param min_poll_interval: Default: 1 minute. :param max_poll_interval: Default: 15 minutes.
    :param sweep_interval: how often orphaned jobs (their execution ended) are stopped. Default: 30 minutes.
    :param dataset_fan_out_size: datasets above this are validated by a Distributed Map
        (see :class:`FineTuningWorkflow`). Default: 5 GiB.
    :param default_budget_tokens: the billable-token budget of runs whose input gives none. Default: none.
    :param max_sweep_configurations: the most configurations an input's ``sweep`` may have. Default: 50.
    :param log_level: of the state machine's log. Default: ``sfn.LogLevel.ALL``.
    :param log_execution_data: also log state inputs and outputs (inputs, S3 URIs, task tokens). Default: False.
    :param notifications: ``Notifications.none()``, ``.new_topic()`` or ``.to(topic)``. Default: none.
    :param log_retention: Default: one year.
    :param tags: tags for every training job. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        base_model: str = DEFAULT_BASE_MODEL,
        storage: Optional[FineTuningStorage] = None,
        model_package_group: Optional[ModelPackageGroupSource] = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        reward_function: Optional[RewardFunctionSource] = None,
        additional_reward_functions: Sequence[RewardFunction] = (),
        judge_model: Optional[JudgeModel] = None,
        additional_judge_models: Sequence[JudgeModel] = (),
        evaluation_judge_models: Sequence[EvaluationJudgeModel] = (),
        judge_prompt: Optional[JudgePromptSource] = None,
        mlflow_resource_arn: Optional[str] = None,
        dataset_buckets: Sequence[s3.IBucket] = (),
        execution_role: Optional[iam.IRole] = None,
        max_runtime: Duration = Duration.hours(24),
        min_poll_interval: Duration = Duration.minutes(1),
        max_poll_interval: Duration = Duration.minutes(15),
        sweep_interval: Duration = Duration.minutes(30),
        dataset_fan_out_size: Size = Size.gibibytes(5),
        default_budget_tokens: Optional[int] = None,
        max_sweep_configurations: int = DEFAULT_MAX_CONFIGURATIONS,
        log_level: sfn.LogLevel = sfn.LogLevel.ALL,
        log_execution_data: bool = False,
        notifications: Optional[Notifications] = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        tags: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(scope, id)
        storage = props.instance("storage", _default(storage, FineTuningStorage.new_bucket), FineTuningStorage,
                                 "FineTuningStorage.new_bucket(...) or FineTuningStorage.existing_bucket(bucket, ...)")
        group_source = props.instance("model_package_group", _default(model_package_group, ModelPackageGroupSource.new_group),
                                      ModelPackageGroupSource, "ModelPackageGroupSource.new_group(name) or .existing(group)")
        reward_source = props.instance("reward_function", _default(reward_function, RewardFunctionSource.library),
                                       RewardFunctionSource, "RewardFunctionSource.library(), .custom(fn) or .none()")
        notifications = props.instance("notifications", _default(notifications, Notifications.none), Notifications,
                                       "Notifications.none(), .new_topic() or .to(topic)")
        props.interface("execution_role", execution_role, "iam.IRole", optional=True)
        judges = _judges(Stack.of(self).region, judge_model, additional_judge_models)
        props.removal_policy("removal_policy", removal_policy)
        self.locations, self.data_bucket = storage.bind(self, "Bucket", removal_policy)
        self.bucket: s3.IBucket = self.locations.bucket
        self.model_package_group: IModelPackageGroup = group_source.bind(self, "ModelPackageGroup", removal_policy)
        self.reward_function = reward_source.bind(self, "RewardFunction", removal_policy)
        reward_functions = [self.reward_function] if self.reward_function else []
        reward_functions += props.instances("additional_reward_functions", additional_reward_functions, RewardFunction, "RewardFunction constructs")
        self.notification_topic = notifications.bind(self, self.locations.encryption_key)
        self.judge_prompt: Optional[JudgePrompt] = None
        if judge_prompt is not None:
            props.instance("judge_prompt", judge_prompt, JudgePromptSource, "a JudgePromptSource")
            value, self.judge_prompt = judge_prompt.bind(self, "JudgePrompt", self.locations)
            judge_prompt = JudgePromptSource.from_evaluator_arn(value) if self.judge_prompt else judge_prompt
        loc = self.locations
        self.execution_role = FineTuningExecutionRole(
            self, "ExecutionRole", bucket=loc.bucket, dataset_prefix=loc.dataset_prefix, output_prefix=loc.output_prefix,
            prompt_prefix=loc.prompt_prefix, encryption_key=loc.encryption_key, model_package_groups=[self.model_package_group],
            reward_functions=[rf.function for rf in reward_functions], dataset_buckets=dataset_buckets,
            judge_models=judges, evaluation_judge_models=evaluation_judge_models, mlflow_resource_arn=mlflow_resource_arn,
            role=execution_role,
        )
        self.workflow = FineTuningWorkflow(
            self, "Workflow", bucket=loc.bucket, dataset_prefix=loc.dataset_prefix, output_prefix=loc.output_prefix,
            prompt_prefix=loc.prompt_prefix, encryption_key=loc.encryption_key, execution_role=self.execution_role.role,
            model_package_group=self.model_package_group, base_model=base_model, reward_functions=reward_functions,
            judge_models=judges, evaluation_judge_models=evaluation_judge_models, judge_prompt=judge_prompt,
            mlflow_resource_arn=mlflow_resource_arn,
            dataset_buckets=dataset_buckets, max_runtime=max_runtime, min_poll_interval=min_poll_interval,
            max_poll_interval=max_poll_interval, sweep_interval=sweep_interval, dataset_fan_out_size=dataset_fan_out_size,
            default_budget_tokens=default_budget_tokens, max_sweep_configurations=max_sweep_configurations, notification_topic=self.notification_topic,
            log_level=log_level, log_execution_data=log_execution_data,
            log_retention=log_retention,
            removal_policy=removal_policy, tags=tags,
        )
        self.state_machine = self.workflow.state_machine

    @property
    def fine_tuning_bucket(self) -> Optional[FineTuningBucket]:
        """The bucket this pattern defined (None with ``FineTuningStorage.existing_bucket``)."""
        return self.data_bucket

    def outputs(self) -> dict[str, tuple[str, str]]:
        """What an app usually exports: ``{key: (value, description)}`` (the library emits no
        CloudFormation outputs itself: two patterns in one stack would collide)."""
        out = {
            "StateMachineArn": (self.state_machine.state_machine_arn, "Start fine-tuning runs here"),
            "BucketName": (self.bucket.bucket_name, f"Upload datasets under {self.locations.dataset_prefix}"),
            "ModelPackageGroupName": (self.model_package_group.model_package_group_name, "Fine-tuned models are registered here"),
            "ExecutionRoleArn": (self.execution_role.role_arn, "The role training jobs run as"),
        }
        if self.reward_function is not None:
            out["RewardEvaluatorArn"] = (self.reward_function.evaluator_arn, "custom_reward_function for RLVR runs")
        if self.judge_prompt is not None:
            out["JudgePromptEvaluatorArn"] = (self.judge_prompt.evaluator_arn, "reward_prompt for RLAIF runs")
        return out

    # ------------------------------------------------------------------ the run as a fragment
    def job(self, scope: Construct, id: str, *, input_path: str = "$", result_path: str = "$",
            comment: Optional[str] = None, dataset_fan_out: bool = True) -> FineTuningJob:
        """One fine-tuning run as a fragment of your own state machine (an ``sfn.StateMachineFragment``), run by this
        pattern's runtime. ``input_path``: the execution input JSON contract (default ``$``); ``result_path``: where the
        output document goes (default ``$``). Failures are named errors you can ``add_catch`` on. ``dataset_fan_out``: validate
        large datasets with a Distributed Map (False: always inline, e.g. inside your own inline Map). See :class:`FineTuningJob`."""
        return self.workflow.job(scope, id, input_path=input_path, result_path=result_path, comment=comment,
                                 dataset_fan_out=dataset_fan_out)

    # ------------------------------------------------------------------ triggers
    def add_dataset_trigger(self, id: Optional[str] = None, *, prefix: str, input: Mapping[str, Any],
                            dataset_field: str = "training_dataset", suffixes: Sequence[str] = (".jsonl",),
                            enabled: bool = True, deduplicate: bool = True) -> DatasetTrigger:
        """Start a run when a new object lands under ``prefix`` of the stack's bucket: ``input`` plus the object's
        ``s3://`` URI in ``dataset_field`` (see :class:`DatasetTrigger`). ``prefix`` lies under the dataset prefix
        (the workflow reads datasets only there). Default ``id``: derived from the prefix."""
        props.string("prefix", prefix)
        if not prefix.startswith(self.locations.dataset_prefix):
            raise props.InvalidProp("prefix", prefix, f"a prefix under the stack's dataset prefix {self.locations.dataset_prefix!r} "
                                    "(the workflow reads datasets only there), e.g. " + repr(self.locations.dataset_prefix + "nightly/"))
        return DatasetTrigger(self, id or "DatasetTrigger-" + "-".join(filter(None, prefix.split("/"))),
                              state_machine=self.state_machine, bucket=self.bucket, prefix=prefix, input=input,
                              dataset_field=dataset_field, suffixes=suffixes, enabled=enabled, deduplicate=deduplicate)

    def add_schedule(self, id: str, *, schedule: scheduler.ScheduleExpression, input: Mapping[str, Any],
                     time_zone: Optional[TimeZone] = None, enabled: bool = True, description: Optional[str] = None) -> ScheduleTrigger:
        """Start a run with ``input`` on ``schedule`` (EventBridge Scheduler), for periodic retraining (see :class:`ScheduleTrigger`)."""
        return ScheduleTrigger(self, id, state_machine=self.state_machine, schedule=schedule, input=input, time_zone=time_zone,
                               enabled=enabled, description=description)

    # ------------------------------------------------------------------ grants and metrics
    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start fine-tuning runs."""
        return self.workflow.grant_start_execution(grantee)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list and describe runs and their history."""
        return self.workflow.grant_read(grantee)

    def metric_failed(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Failed executions. Default: sum over 5 minutes."""
        return self.workflow.metric_failed(**options)

    def metric_succeeded(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Succeeded executions. Default: sum over 5 minutes."""
        return self.workflow.metric_succeeded(**options)

    def metric_timed_out(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Timed-out executions. Default: sum over 5 minutes."""
        return self.workflow.metric_timed_out(**options)

    def metric_aborted(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Aborted executions. Default: sum over 5 minutes."""
        return self.workflow.metric_aborted(**options)

    def metric_started(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Started executions. Default: sum over 5 minutes."""
        return self.workflow.metric_started(**options)

    def metric_reward_errors(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Errors of the default reward function. Default: sum over 5 minutes."""
        if self.reward_function is None:
            raise props.InvalidProp("reward_function", "RewardFunctionSource.none()", "a reward function to measure")
        return self.reward_function.metric_errors(**options)

    def metric_reward_duration(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Duration of the default reward function. Default: average over 5 minutes."""
        if self.reward_function is None:
            raise props.InvalidProp("reward_function", "RewardFunctionSource.none()", "a reward function to measure")
        return self.reward_function.metric_duration(**options)
