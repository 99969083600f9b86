"""FineTuningBucket: datasets, outputs and prompt files of fine-tuning runs."""

from __future__ import annotations

from typing import Optional

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_finetuning.support import assets as _assets
from sagemaker_finetuning.support.nag import Suppression, suppress

DATASET_PREFIX = "datasets/"
OUTPUT_PREFIX = "outputs/"
PROMPT_PREFIX = "prompts/"


class FineTuningBucket(Construct):
    """Defines the S3 bucket that holds datasets (``datasets/``), job outputs (``outputs/``) and
    RLAIF judge prompts (``prompts/``), secure by default.

    Encrypted (S3-managed, or the given KMS key), all public access blocked, TLS-only, versioned,
    server access logging, outputs moved to Infrequent Access and old versions expired. Retained
    when the stack is deleted unless ``removal_policy=DESTROY``.

    :param bucket: use an existing bucket instead of defining one. Default: a new bucket.
    :param encryption_key: customer managed KMS key for the bucket. Default: S3-managed keys (SSE-S3).
    :param removal_policy: what happens to the bucket when the stack is deleted. Default: RETAIN.
    :param auto_delete_objects: empty the bucket when the stack deletes it (requires
        ``removal_policy=DESTROY``; for demos). Default: False.
    :param server_access_logs_bucket: where S3 server access logs go. Default: a new, private,
        encrypted log bucket with the same removal policy.
    :param output_transition_after: when job outputs move to S3 Infrequent Access. Default: 30 days.
    :param noncurrent_version_expiration: when overwritten object versions are deleted. Default: 90 days.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: Optional[s3.IBucket] = None,
        encryption_key: Optional[kms.IKey] = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        auto_delete_objects: bool = False,
        server_access_logs_bucket: Optional[s3.IBucket] = None,
        output_transition_after: Duration = Duration.days(30),
        noncurrent_version_expiration: Duration = Duration.days(90),
    ) -> None:
        super().__init__(scope, id)
        if auto_delete_objects and removal_policy != RemovalPolicy.DESTROY:
            raise ValueError(
                f"auto_delete_objects: received True with removal_policy {removal_policy}; "
                "expected removal_policy=RemovalPolicy.DESTROY (objects can only be deleted with the bucket)"
            )
        if bucket is not None and (encryption_key is not None or auto_delete_objects or server_access_logs_bucket is not None):
            raise ValueError(
                "bucket: received an existing bucket together with encryption_key / auto_delete_objects / "
                "server_access_logs_bucket; expected either an existing bucket or the props to define one"
            )
        self.encryption_key = encryption_key
        self.dataset_prefix, self.output_prefix, self.prompt_prefix = DATASET_PREFIX, OUTPUT_PREFIX, PROMPT_PREFIX
        if bucket is not None:
            self.bucket: s3.IBucket = bucket
            self.access_logs_bucket = None
            return
        if server_access_logs_bucket is None:
            logs_bucket = s3.Bucket(
                self, "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=False,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                removal_policy=removal_policy,
                lifecycle_rules=[s3.LifecycleRule(id="ExpireAccessLogs", expiration=Duration.days(365))],
            )
            suppress(logs_bucket, [Suppression("AwsSolutions-S1", "This is the server access log bucket; logging it into itself would loop.")])
            server_access_logs_bucket = logs_bucket
        self.access_logs_bucket = server_access_logs_bucket
        self.bucket = s3.Bucket(
            self, "Resource",
            encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key,
            bucket_key_enabled=bool(encryption_key),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="Outputs", prefix=OUTPUT_PREFIX,
                    transitions=[s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=output_transition_after)],
                ),
                s3.LifecycleRule(
                    id="OldVersions", noncurrent_version_expiration=noncurrent_version_expiration,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        self._log_to(server_access_logs_bucket, "fine-tuning-bucket/")
        if auto_delete_objects:
            self._add_auto_delete(removal_policy)

    def _log_to(self, target: s3.IBucket, prefix: str) -> None:
        """Server access logging through a bucket policy (no ACLs, whatever the app's feature flags)."""
        cfn = self.bucket.node.default_child
        cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=target.bucket_name, log_file_prefix=prefix,
        )
        target.add_to_resource_policy(iam.PolicyStatement(
            sid="S3ServerAccessLogsPolicy",
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[target.arn_for_objects(f"{prefix}*")],
            conditions={"ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                        "StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
        ))

    def _add_auto_delete(self, removal_policy: RemovalPolicy) -> None:
        stack = Stack.of(self)
        provider_id = "SageMakerFineTuningBucketCleanupProvider"
        provider = stack.node.try_find_child(provider_id)
        if provider is None:
            provider = lambda_.Function(
                stack, provider_id,
                runtime=_assets.RUNTIME,
                code=_assets.library_code(),
                handler=_assets.handler("bucket_cleanup.handler", "handler"),
                timeout=Duration.minutes(15),
                description="Empties fine-tuning demo buckets when their stack is deleted",
                log_group=logs.LogGroup(stack, f"{provider_id}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY),
            )
        self.bucket.grant_delete(provider)
        self.bucket.grant_read(provider)
        provider.add_to_role_policy(iam.PolicyStatement(actions=["s3:ListBucketVersions"], resources=[self.bucket.bucket_arn]))
        suppress(provider, [
            Suppression("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
            Suppression("AwsSolutions-IAM5", "Deleting every object version of the demo bucket needs the bucket's object wildcard.",
                        ["regex:/^Resource::<.*Arn>/\\*$/", "Action::s3:List*", "Action::s3:GetBucket*", "Action::s3:DeleteObject*", "Action::s3:GetObject*"]),
        ])
        cleanup = CustomResource(
            self, "AutoDeleteObjects",
            service_token=provider.function_arn,
            resource_type="Custom::SageMakerFineTuningBucketCleanup",
            properties={"BucketName": self.bucket.bucket_name},
            removal_policy=removal_policy,
        )
        cleanup.node.add_dependency(self.bucket)

    # ------------------------------------------------------------------ grants and helpers
    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        return self.bucket.bucket_arn

    def s3_uri(self, key: str = "") -> str:
        return f"s3://{self.bucket.bucket_name}/{key}"

    def grant_read_datasets(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read objects under ``datasets/`` and list that prefix."""
        grant = self.bucket.grant_read(grantee, f"{DATASET_PREFIX}*")
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:ListBucket", "s3:GetBucketLocation"], resource_arns=[self.bucket.bucket_arn],
        )
        return grant

    def grant_read_prompts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read RLAIF judge prompt files under ``prompts/``."""
        return self.bucket.grant_read(grantee, f"{PROMPT_PREFIX}*")

    def grant_write_outputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Write (and read back) job outputs under ``outputs/``."""
        self.bucket.grant_read(grantee, f"{OUTPUT_PREFIX}*")
        return self.bucket.grant_put(grantee, f"{OUTPUT_PREFIX}*")
