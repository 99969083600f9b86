"""ServerlessFineTuning: the pattern that wires bucket, role, group, reward function and workflow."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from sagemaker_finetuning.storage.bucket import FineTuningBucket
from sagemaker_finetuning.access.execution_role import FineTuningExecutionRole
from sagemaker_finetuning.rewards.judge_prompt import JudgePrompt
from sagemaker_finetuning.rewards.judges import BuiltinJudgePrompt
from sagemaker_finetuning.core.constants import JUDGE_MODEL_REGIONS
from sagemaker_finetuning.registry.model_package_group import IModelPackageGroup, ModelPackageGroup
from sagemaker_finetuning.rewards.reward_function import RewardFunction
from sagemaker_finetuning.workflow.construct import FineTuningWorkflow

#: The library's default base model: small, open weights, not gated.
DEFAULT_BASE_MODEL = "huggingface-llm-qwen3-0-6b"


class ServerlessFineTuning(Construct):
    """Defines everything a team needs to run governed serverless fine-tuning: a secure bucket, the
    training role, a model package group, an RLVR reward function registered as a hub evaluator,
    and the workflow state machine. ``ServerlessFineTuning(stack, "FineTuning")`` works as is.

    :param base_model: default SageMakerPublicHub model id. Default: ``huggingface-llm-qwen3-0-6b``.
    :param model_package_group_name: name of the group to define. Default: derived from the construct path.
    :param model_package_group: use an existing group instead. Default: a new group.
    :param bucket: use an existing bucket instead of defining one. Default: a new secure bucket.
    :param encryption_key: customer KMS key for bucket and job output. Default: SSE-S3.
    :param removal_policy: of the bucket and the group. Default: RETAIN.
    :param auto_delete_objects: empty the bucket on stack deletion (needs DESTROY). Default: False.
    :param reward_function: the default RLVR reward function. Default: the library's reward
        function (numeric answer match + format + anti-gaming).
    :param enable_reward_function: define the default reward function. Default: True.
    :param additional_reward_functions: further reward functions executions may name. Default: none.
    :param judge_model_id: default RLAIF judge; enables Bedrock invoke for it. Default: none.
    :param judge_model_ids: all judges executions may use. Default: ``[judge_model_id]`` if set.
    :param judge_prompt: default RLAIF prompt (``BuiltinJudgePrompt``, ``Builtin.<Name>`` or evaluator ARN). Default: recipe default.
    :param judge_prompt_file: a custom Jinja judge prompt, checked, uploaded and registered as the
        default prompt (a ``JudgePrompt``). Default: none.
    :param mlflow_resource_arn: MLflow app / tracking server jobs log to. Default: none.
    :param dataset_buckets: further buckets datasets may come from. Default: none.
    :param execution_role: use an existing training role. Default: a least-privilege role.
    :param max_runtime: longest job runtime (and default). Default: 24 hours.
    :param min_poll_interval: Default: 1 minute. :param max_poll_interval: Default: 15 minutes.
    :param notification_topic: SNS topic for terminal states. Default: none, unless ``enable_notifications``.
    :param enable_notifications: define an encrypted SNS topic for notifications. Default: False.
    :param log_retention: Default: one year.
    :param tags: tags for every training job. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        base_model: str = DEFAULT_BASE_MODEL,
        model_package_group_name: Optional[str] = None,
        model_package_group: Optional[IModelPackageGroup] = None,
        bucket: Optional[s3.IBucket] = None,
        encryption_key: Optional[kms.IKey] = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        auto_delete_objects: bool = False,
        reward_function: Optional[RewardFunction] = None,
        enable_reward_function: bool = True,
        additional_reward_functions: Sequence[RewardFunction] = (),
        judge_model_id: Optional[str] = None,
        judge_model_ids: Optional[Sequence[str]] = None,
        judge_prompt: Optional[Union[str, BuiltinJudgePrompt]] = None,
        judge_prompt_file: Optional[str] = None,
        mlflow_resource_arn: Optional[str] = None,
        dataset_buckets: Sequence[s3.IBucket] = (),
        execution_role: Optional[iam.IRole] = None,
        max_runtime: Duration = Duration.hours(24),
        min_poll_interval: Duration = Duration.minutes(1),
        max_poll_interval: Duration = Duration.minutes(15),
        notification_topic: Optional[sns.ITopic] = None,
        enable_notifications: bool = False,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        tags: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(scope, id)
        if model_package_group is not None and model_package_group_name is not None:
            raise ValueError(
                f"model_package_group_name: received {model_package_group_name!r} together with model_package_group; "
                "expected one of them (a name defines a new group, model_package_group uses an existing one)"
            )
        if reward_function is not None and not enable_reward_function:
            raise ValueError("reward_function: received a function with enable_reward_function=False; expected enable_reward_function=True")
        judges = list(judge_model_ids) if judge_model_ids is not None else ([judge_model_id] if judge_model_id else [])
        if judge_model_id and judge_model_id not in judges:
            raise ValueError(f"judge_model_ids: received {judges}; expected it to include judge_model_id {judge_model_id!r}")
        for judge in judges:
            if judge not in JUDGE_MODEL_REGIONS:
                raise ValueError(f"judge_model_ids: received {judge!r}; expected judge model ids among {', '.join(JUDGE_MODEL_REGIONS)}")

        self.bucket = FineTuningBucket(
            self, "Bucket", bucket=bucket, encryption_key=encryption_key if bucket is None else None,
            removal_policy=removal_policy, auto_delete_objects=auto_delete_objects,
        )
        self.model_package_group: IModelPackageGroup = model_package_group or ModelPackageGroup(
            self, "ModelPackageGroup", model_package_group_name=model_package_group_name,
            description="Models fine-tuned by SageMaker serverless fine-tuning", removal_policy=removal_policy,
        )
        self.reward_function: Optional[RewardFunction] = None
        if enable_reward_function:
            self.reward_function = reward_function or RewardFunction(self, "RewardFunction")
        reward_functions = ([self.reward_function] if self.reward_function else []) + list(additional_reward_functions)
        if enable_notifications and notification_topic is None:
            # A customer managed key: CloudWatch alarms cannot publish to a topic encrypted with the
            # AWS managed aws/sns key.
            topic_key = encryption_key or kms.Key(
                self, "NotificationsKey", enable_key_rotation=True, description="Encrypts the fine-tuning notification topic",
            )
            topic_key.add_to_resource_policy(iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
            ))
            notification_topic = sns.Topic(
                self, "Notifications", display_name="SageMaker fine-tuning runs", enforce_ssl=True, master_key=topic_key,
            )
        self.notification_topic = notification_topic
        if judge_prompt is not None and judge_prompt_file is not None:
            raise ValueError("judge_prompt_file: received a file together with judge_prompt; expected one of them")
        self.judge_prompt: Optional[JudgePrompt] = None
        if judge_prompt_file is not None:
            self.judge_prompt = JudgePrompt(self, "JudgePrompt", bucket=self.bucket, prompt_file=judge_prompt_file)
            judge_prompt = self.judge_prompt.evaluator_arn
        if isinstance(judge_prompt, BuiltinJudgePrompt):
            judge_prompt = judge_prompt.reward_prompt
        self.execution_role = FineTuningExecutionRole(
            self, "ExecutionRole", bucket=self.bucket, model_package_groups=[self.model_package_group],
            reward_functions=[rf.function for rf in reward_functions], dataset_buckets=dataset_buckets,
            encryption_key=encryption_key, judge_model_ids=judges, mlflow_resource_arn=mlflow_resource_arn,
            role=execution_role,
        )
        self.workflow = FineTuningWorkflow(
            self, "Workflow", bucket=self.bucket, execution_role=self.execution_role,
            model_package_group=self.model_package_group, base_model=base_model, reward_functions=reward_functions,
            judge_model_id=judge_model_id, judge_prompt=judge_prompt, mlflow_resource_arn=mlflow_resource_arn,
            dataset_buckets=dataset_buckets, max_runtime=max_runtime, min_poll_interval=min_poll_interval,
            max_poll_interval=max_poll_interval, notification_topic=notification_topic, log_retention=log_retention,
            encryption_key=encryption_key, tags=tags,
        )
        self.state_machine = self.workflow.state_machine

        outputs = {
            "StateMachineArn": (self.state_machine.state_machine_arn, "Start fine-tuning runs here"),
            "BucketName": (self.bucket.bucket_name, "Upload datasets under datasets/"),
            "ModelPackageGroupName": (self.model_package_group.model_package_group_name, "Fine-tuned models are registered here"),
            "ExecutionRoleArn": (self.execution_role.role_arn, "The role training jobs run as"),
        }
        if self.reward_function is not None:
            outputs["RewardEvaluatorArn"] = (self.reward_function.evaluator_arn, "custom_reward_function for RLVR runs")
        if self.judge_prompt is not None:
            outputs["JudgePromptEvaluatorArn"] = (self.judge_prompt.evaluator_arn, "reward_prompt for RLAIF runs")
        for key, (value, description) in outputs.items():
            output = CfnOutput(self, key, value=value, description=description)
            # "<pattern id><Key>": stable, readable, and what `finetune` looks for (suffix match).
            output.override_logical_id(f"{self.node.id}{key}")

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start fine-tuning runs."""
        return self.workflow.grant_start_execution(grantee)

    def metric_failed(self, **kwargs: Any):
        return self.workflow.metric_failed(**kwargs)
