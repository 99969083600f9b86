"""FineTuningExecutionRole: the role SageMaker assumes for serverless training jobs."""

from __future__ import annotations

from typing import Optional, Sequence, Union

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_finetuning.support.nag import Suppression, suppress
from sagemaker_finetuning.storage.bucket import FineTuningBucket
from sagemaker_finetuning.registry.model_package_group import IModelPackageGroup
from sagemaker_finetuning.rewards.reward_function import RewardFunction

MLFLOW_ACTIONS = (
    "sagemaker-mlflow:AccessUI", "sagemaker-mlflow:CreateExperiment", "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:UpdateRun", "sagemaker-mlflow:LogMetric", "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogParam", "sagemaker-mlflow:LogInputs", "sagemaker-mlflow:LogOutputs",
    "sagemaker-mlflow:SetTag", "sagemaker-mlflow:GetExperiment", "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:GetRun", "sagemaker-mlflow:GetMetricHistory", "sagemaker-mlflow:SearchExperiments",
    "sagemaker-mlflow:SearchRuns", "sagemaker-mlflow:ListArtifacts", "sagemaker-mlflow:CreateModelVersion",
    "sagemaker-mlflow:CreateRegisteredModel", "sagemaker-mlflow:GetRegisteredModel",
)


class FineTuningExecutionRole(Construct):
    """Defines the IAM role a serverless training job runs as, with least privilege.

    Trusted by ``sagemaker.amazonaws.com`` for this account only (``aws:SourceAccount``). Grants:
    read ``datasets/`` and ``prompts/``, write ``outputs/`` of the bucket; read the SageMaker hubs
    (the public hub is owned by AWS, so the account segment is a wildcard); register model
    packages in the given groups; invoke only the given reward functions; MLflow only on the given
    resource; CloudWatch Logs of training jobs; KMS when a key is given; Bedrock judge models only
    when RLAIF is enabled.

    :param bucket: the fine-tuning bucket.
    :param model_package_groups: groups the jobs may register into. Default: none.
    :param reward_functions: reward functions the jobs may invoke. Default: none.
    :param dataset_buckets: further buckets the jobs may read datasets from. Default: none.
    :param encryption_key: KMS key of the bucket / job output. Default: none.
    :param judge_model_ids: Bedrock model ids RLAIF jobs may invoke as judge. Default: none
        (RLAIF disabled).
    :param mlflow_resource_arn: the MLflow app or tracking server jobs log to. Default: none.
    :param role: use an existing role instead; no policy is added to it. Default: a new role.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: FineTuningBucket,
        model_package_groups: Sequence[IModelPackageGroup] = (),
        reward_functions: Sequence[Union[RewardFunction, lambda_.IFunction]] = (),
        dataset_buckets: Sequence[s3.IBucket] = (),
        encryption_key: Optional[kms.IKey] = None,
        judge_model_ids: Sequence[str] = (),
        mlflow_resource_arn: Optional[str] = None,
        role: Optional[iam.IRole] = None,
    ) -> None:
        super().__init__(scope, id)
        self.judge_model_ids = tuple(judge_model_ids)
        if role is not None:
            self.role: iam.IRole = role
            return
        stack = Stack.of(self)
        self.role = iam.Role(
            self, "Resource",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}),
            description="Execution role of SageMaker serverless fine-tuning jobs",
        )
        bucket.grant_read_datasets(self.role)
        bucket.grant_read_prompts(self.role)
        bucket.grant_write_outputs(self.role)
        for extra in dataset_buckets:
            extra.grant_read(self.role)
        if encryption_key is not None:
            encryption_key.grant_encrypt_decrypt(self.role)
        hub_resources = [
            f"arn:{stack.partition}:sagemaker:{stack.region}:*:hub/*",
            f"arn:{stack.partition}:sagemaker:{stack.region}:*:hub-content/*",
        ]
        self.role.add_to_policy(iam.PolicyStatement(
            sid="ReadHubs",
            actions=["sagemaker:DescribeHub", "sagemaker:DescribeHubContent", "sagemaker:ListHubContents", "sagemaker:ListHubs"],
            resources=hub_resources,
        ))
        for group in model_package_groups:
            group.grant_register(self.role)
        for fn in reward_functions:
            fn.grant_invoke(self.role)
        if mlflow_resource_arn:
            self.role.add_to_policy(iam.PolicyStatement(sid="MlflowData", actions=list(MLFLOW_ACTIONS), resources=[mlflow_resource_arn]))
            self.role.add_to_policy(iam.PolicyStatement(
                sid="MlflowDescribe", actions=["sagemaker:DescribeMlflowApp", "sagemaker:DescribeMlflowTrackingServer"], resources=[mlflow_resource_arn],
            ))
        self.role.add_to_policy(iam.PolicyStatement(
            sid="TrainingJobLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[stack.format_arn(service="logs", resource="log-group", resource_name="/aws/sagemaker/TrainingJobs*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        self.role.add_to_policy(iam.PolicyStatement(
            sid="TrainingJobMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ))
        if self.judge_model_ids:
            self.role.add_to_policy(iam.PolicyStatement(
                sid="RlaifJudge",
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=[f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{m}" for m in self.judge_model_ids],
            ))
        suppress(self.role, [
            Suppression(
                "AwsSolutions-IAM5",
                "SageMaker reads base models from SageMakerPublicHub, owned by the 'aws' account, and evaluators "
                "from the account's AI Registry hub whose name is derived at run time: hub ARNs need wildcards.",
                ["Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:*:hub/*",
                 "Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:*:hub-content/*"],
            ),
            Suppression(
                "AwsSolutions-IAM5",
                "Object access is limited to the datasets/, prompts/ and outputs/ prefixes of the fine-tuning bucket "
                "(and to dataset buckets the user named); reward functions to the given ones and their versions; model packages to the versions of the stack's groups; "
                "training logs to the /aws/sagemaker/TrainingJobs log groups.",
                ["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:Abort*",
                 "Action::s3:PutObjectLegalHold", "Action::s3:PutObjectRetention", "Action::s3:PutObjectTagging",
                 "Action::s3:PutObjectVersionTagging", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*",
                 "regex:/^Resource::<.*Arn>/(datasets|prompts|outputs)/\\*$/",
                 "regex:/^Resource::arn:<AWS::Partition>:s3:::.*/\\*$/",
                 "regex:/^Resource::<.*Arn>/\\*$/",
                 "regex:/^Resource::<.*Arn>:\\*$/",
                 "regex:/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/.*/\\*$/",
                 "regex:/^Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs\\*$/"],
            ),
            Suppression("AwsSolutions-IAM5", "cloudwatch:PutMetricData has no resource-level permissions; it is limited by the cloudwatch:namespace condition.",
                        ["Resource::*"]),
        ])

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` pass this role to SageMaker, and only to SageMaker."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["iam:PassRole"], resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
