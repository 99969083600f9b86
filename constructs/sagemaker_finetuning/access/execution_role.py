"""FineTuningExecutionRole: the role SageMaker assumes for serverless training jobs."""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from constructs import Construct
from sagemaker_finetuning.core.constants import PUBLIC_HUB_NAME
from sagemaker_finetuning.registry.model_package_group import REGISTER_ACTIONS, IModelPackageGroup
from sagemaker_finetuning.rewards.judges import EvaluationJudgeModel, JudgeModel
from sagemaker_finetuning.storage.bucket import DATASET_PREFIX, OUTPUT_PREFIX, PROMPT_PREFIX, DataLocations, check_locations
from sagemaker_finetuning.support import permissions, props
from sagemaker_finetuning.support.nag import Suppression, statement_findings, suppress

#: The account segment of SageMakerPublicHub's ARNs (arn:aws:sagemaker:<region>:aws:hub-content/SageMakerPublicHub/...).
PUBLIC_HUB_ACCOUNT = "aws"

#: The action sets of aws-cdk-lib's ``Bucket.grant_read`` / ``grant_put`` and ``Key.grant_encrypt_decrypt``
#: (``aws-s3/lib/perms.ts``, ``aws-kms/lib/perms.ts``), written out so the same statements can go to a
#: role the library does not own, or into a permission notice.
S3_READ = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
S3_PUT = ("s3:PutObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention", "s3:PutObjectTagging",
          "s3:PutObjectVersionTagging", "s3:Abort*")
KMS_ENCRYPT_DECRYPT = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*")
HUB_READ = ("sagemaker:DescribeHub", "sagemaker:DescribeHubContent", "sagemaker:ListHubContents", "sagemaker:ListHubs")
MLFLOW_ACTIONS = (
    "sagemaker-mlflow:AccessUI", "sagemaker-mlflow:CreateExperiment", "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:UpdateRun", "sagemaker-mlflow:LogMetric", "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogParam", "sagemaker-mlflow:LogInputs", "sagemaker-mlflow:LogOutputs",
    "sagemaker-mlflow:SetTag", "sagemaker-mlflow:GetExperiment", "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:GetRun", "sagemaker-mlflow:GetMetricHistory", "sagemaker-mlflow:SearchExperiments",
    "sagemaker-mlflow:SearchRuns", "sagemaker-mlflow:ListArtifacts", "sagemaker-mlflow:CreateModelVersion",
    "sagemaker-mlflow:CreateRegisteredModel", "sagemaker-mlflow:GetRegisteredModel",
)
MLFLOW_ARN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-(app|tracking-server)/.+"


class FineTuningExecutionRole(Construct):
    """Defines (or completes) the IAM role a serverless training job runs as, with least privilege.

    A new role is trusted by ``sagemaker.amazonaws.com`` for this account only (``aws:SourceAccount``).
    Grants: read the dataset and prompt prefixes, write the output prefix of ``bucket``; read the
    SageMaker hubs (SageMakerPublicHub, owned by the ``aws`` account, and this account's hubs); register
    model packages in the given groups; invoke only the given reward functions; MLflow only on the
    given resource; CloudWatch Logs of training jobs; KMS when a key is given; Bedrock only for the
    given judge models. A ``role`` you pass gets the same statements; if it is immutable
    (``iam.Role.from_role_arn(..., mutable=False)``) the synth prints a warning listing them.

    :param bucket: the bucket of datasets, outputs and prompts.
    :param dataset_prefix: Default: ``datasets/``. :param output_prefix: Default: ``outputs/``.
    :param prompt_prefix: Default: ``prompts/``.
    :param encryption_key: the KMS key of the bucket and of job output. Default: none (SSE-S3).
    :param model_package_groups: groups the jobs may register into. Default: none.
    :param reward_functions: reward functions the jobs may invoke. Default: none.
    :param dataset_buckets: further buckets the jobs may read datasets from. Default: none.
    :param judge_models: Bedrock judges RLAIF jobs may invoke. Default: none (no Bedrock access).
    :param evaluation_judge_models: Bedrock evaluator models LLM-as-judge evaluation jobs may use (invoke them, and
        create and read the Bedrock evaluation jobs of this account and region). Default: none.
    :param mlflow_resource_arn: the MLflow app or tracking server jobs log to. Default: none.
    :param role: complete this role instead of defining one. Default: a new role.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        dataset_prefix: str = DATASET_PREFIX,
        output_prefix: str = OUTPUT_PREFIX,
        prompt_prefix: str = PROMPT_PREFIX,
        encryption_key: Optional[kms.IKey] = None,
        model_package_groups: Sequence[IModelPackageGroup] = (),
        reward_functions: Sequence[lambda_.IFunction] = (),
        dataset_buckets: Sequence[s3.IBucket] = (),
        judge_models: Sequence[JudgeModel] = (),
        evaluation_judge_models: Sequence[EvaluationJudgeModel] = (),
        mlflow_resource_arn: Optional[str] = None,
        role: Optional[iam.IRole] = None,
    ) -> None:
        super().__init__(scope, id)
        self.locations = check_locations(bucket, encryption_key, dataset_prefix, output_prefix, prompt_prefix)
        groups = props.instances("model_package_groups", model_package_groups, IModelPackageGroup, "ModelPackageGroup constructs")
        functions = props.interfaces("reward_functions", reward_functions, "lambda.IFunction")
        extra_buckets = props.interfaces("dataset_buckets", dataset_buckets, "s3.IBucket")
        self.judge_models = props.instances("judge_models", judge_models, JudgeModel, "JudgeModel values (e.g. JudgeModel.GPT_OSS_120B)")
        for i, judge in enumerate(self.judge_models):
            judge.require_offered_in(f"judge_models[{i}]", Stack.of(self).region)
        self.evaluation_judge_models = props.instances("evaluation_judge_models", evaluation_judge_models, EvaluationJudgeModel,
                                                       "EvaluationJudgeModel values (e.g. EvaluationJudgeModel.CLAUDE_HAIKU_4_5)")
        props.string("mlflow_resource_arn", mlflow_resource_arn, optional=True, pattern=MLFLOW_ARN,
                     expected="an MLflow app or tracking server ARN (arn:aws:sagemaker:<region>:<account>:mlflow-app/<id>)")
        props.interface("role", role, "iam.IRole", optional=True)
        stack = Stack.of(self)
        self.role: iam.IRole = role or iam.Role(
            self, "Resource",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}),
            description="Execution role of SageMaker serverless fine-tuning jobs",
        )
        self.statements = (
            _storage_statements(self.locations, extra_buckets)
            + _registry_statements(stack, groups, functions)
            + _runtime_statements(stack, mlflow_resource_arn, self.judge_models)
            + _evaluation_judge_statements(stack, self.evaluation_judge_models)
        )
        self.dropped = permissions.attach(
            self, self.role, self.statements, "a SageMaker serverless fine-tuning job",
            wildcard_reason="cloudwatch:PutMetricData has no resource-level permissions; the cloudwatch:namespace condition limits it.")
        if not self.dropped:
            suppress(self.role, [Suppression("AwsSolutions-IAM5", _WILDCARDS_REASON,
                                              statement_findings(self, [s for s in self.statements if s.resources != ["*"]]))])

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` pass this role to SageMaker, and only to SageMaker."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["iam:PassRole"], resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )


def hub_arns(stack: Stack, resource: str) -> list[str]:
    """``hub`` or ``hub-content`` ARNs a fine-tuning run reads: SageMakerPublicHub, owned by the ``aws``
    account, and any hub of this account (the AI Registry hub of evaluators and datasets, private hubs)."""
    public = PUBLIC_HUB_NAME if resource == "hub" else f"{PUBLIC_HUB_NAME}/*"
    return [stack.format_arn(service="sagemaker", resource=resource, resource_name=public, account=PUBLIC_HUB_ACCOUNT),
            stack.format_arn(service="sagemaker", resource=resource, resource_name="*")]


def _read(bucket: s3.IBucket, pattern: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(S3_READ), resources=[bucket.bucket_arn, bucket.arn_for_objects(pattern)])


def _storage_statements(loc: DataLocations, extra_buckets: Sequence[s3.IBucket]) -> list[iam.PolicyStatement]:
    bucket = loc.bucket
    statements = [
        _read(bucket, f"{loc.dataset_prefix}*"),
        iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[bucket.bucket_arn]),
        _read(bucket, f"{loc.prompt_prefix}*"),
        _read(bucket, f"{loc.output_prefix}*"),
        iam.PolicyStatement(actions=list(S3_PUT), resources=[bucket.arn_for_objects(f"{loc.output_prefix}*")]),
    ]
    statements += [_read(extra, "*") for extra in extra_buckets]
    if loc.encryption_key is not None:
        statements.append(iam.PolicyStatement(actions=list(KMS_ENCRYPT_DECRYPT), resources=[loc.encryption_key.key_arn]))
    return statements


def _registry_statements(stack: Stack, groups: Sequence[IModelPackageGroup], functions: Sequence[lambda_.IFunction]) -> list[iam.PolicyStatement]:
    statements = [iam.PolicyStatement(sid="ReadHubs", actions=list(HUB_READ), resources=hub_arns(stack, "hub") + hub_arns(stack, "hub-content"))]
    statements += [iam.PolicyStatement(actions=list(REGISTER_ACTIONS), resources=[g.model_package_group_arn, g.model_packages_arn()])
                   for g in groups]
    statements += [iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[f.function_arn, f"{f.function_arn}:*"])
                   for f in functions]
    return statements


def _runtime_statements(stack: Stack, mlflow_resource_arn: Optional[str], judges: Sequence[JudgeModel]) -> list[iam.PolicyStatement]:
    statements = []
    if mlflow_resource_arn:
        statements += [
            iam.PolicyStatement(sid="MlflowData", actions=list(MLFLOW_ACTIONS), resources=[mlflow_resource_arn]),
            iam.PolicyStatement(sid="MlflowDescribe", actions=["sagemaker:DescribeMlflowApp", "sagemaker:DescribeMlflowTrackingServer"],
                                resources=[mlflow_resource_arn]),
        ]
    statements += [
        iam.PolicyStatement(
            sid="TrainingJobLogs", actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[stack.format_arn(service="logs", resource="log-group", resource_name="/aws/sagemaker/TrainingJobs*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ),
        iam.PolicyStatement(sid="TrainingJobMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
                            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
    ]
    if judges:
        statements.append(iam.PolicyStatement(
            sid="RlaifJudge", actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            resources=[f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{j.model_id}" for j in judges],
        ))
    return statements


def _evaluation_judge_statements(stack: Stack, judges: Sequence[EvaluationJudgeModel]) -> list[iam.PolicyStatement]:
    """LLM-as-judge evaluation jobs run a Bedrock evaluation job with the judge (SDK v3's bedrock_evaluation_policy,
    scoped to this account's evaluation jobs and to the granted judges)."""
    if not judges:
        return []
    return [
        iam.PolicyStatement(sid="EvaluationJobs", actions=["bedrock:CreateEvaluationJob", "bedrock:GetEvaluationJob"],
                            resources=[stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")]),
        iam.PolicyStatement(sid="EvaluationJudge", actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                            resources=[f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{j.model_id}" for j in judges]),
    ]


_WILDCARDS_REASON = (
    "Exactly the wildcards of the statements above: objects under the dataset, prompt and output prefixes of the "
    "fine-tuning bucket and of the whole dataset buckets the user named (CDK's read/put action sets); base models in "
    "SageMakerPublicHub (owned by the 'aws' account) and evaluators in this account's hubs, named per run; the versions "
    "of the given reward functions and of the stack's model package groups; the /aws/sagemaker/TrainingJobs log groups; "
    "the Bedrock evaluation jobs of this account and region (named by the evaluation job)."
)
