"""FineTuningBucket (a new, secure bucket) and FineTuningStorage (the pattern's choice between a new
bucket and an existing ``s3.IBucket``), with the ``datasets/``, ``outputs/``, ``prompts/`` layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from constructs import Construct
from sagemaker_finetuning.support import assets, props
from sagemaker_finetuning.support.functions import trace
from sagemaker_finetuning.support.nag import Suppression, resource_findings, suppress

DATASET_PREFIX = "datasets/"
OUTPUT_PREFIX = "outputs/"
PROMPT_PREFIX = "prompts/"
_CLEANUP_PROVIDER_ID = "SageMakerFineTuningBucketCleanupProvider"


@dataclass(frozen=True)
class DataLocations:
    """Where fine-tuning data lives: one bucket, three prefixes (what the role and workflow need)."""

    bucket: s3.IBucket
    encryption_key: Optional[kms.IKey] = None
    dataset_prefix: str = DATASET_PREFIX
    output_prefix: str = OUTPUT_PREFIX
    prompt_prefix: str = PROMPT_PREFIX

    def s3_uri(self, key: str = "") -> str:
        return f"s3://{self.bucket.bucket_name}/{key}"


def check_locations(bucket: object, encryption_key: object, dataset_prefix: object, output_prefix: object,
                    prompt_prefix: object) -> DataLocations:
    """Check the bucket-and-prefixes props every construct of the library shares."""
    props.interface("bucket", bucket, "s3.IBucket")
    props.interface("encryption_key", encryption_key, "kms.IKey", optional=True)
    named = [("dataset_prefix", props.prefix("dataset_prefix", dataset_prefix)),
             ("output_prefix", props.prefix("output_prefix", output_prefix)),
             ("prompt_prefix", props.prefix("prompt_prefix", prompt_prefix))]
    props.distinct_prefixes(named)
    return DataLocations(bucket, encryption_key, *(value for _, value in named))  # type: ignore[arg-type]


class FineTuningBucket(Construct):
    """Defines the S3 bucket that holds datasets (``datasets/``), job outputs (``outputs/``) and
    RLAIF judge prompts (``prompts/``), secure by default.

    Encrypted (S3-managed, or the given KMS key), all public access blocked, TLS-only, versioned,
    server access logging, outputs moved to Infrequent Access and old versions expired. Retained
    when the stack is deleted unless ``removal_policy=DESTROY``. To use a bucket you already have,
    pass it (an ``s3.IBucket``) to the constructs that read and write it instead.

    :param encryption_key: customer managed KMS key for the bucket. Default: S3-managed keys (SSE-S3).
    :param removal_policy: what happens to the bucket when the stack is deleted. Default: RETAIN.
    :param auto_delete_objects: empty the bucket when the stack deletes it (requires
        ``removal_policy=DESTROY``; for demos). Default: False.
    :param server_access_logs_bucket: where S3 server access logs go. Default: a new, private,
        encrypted log bucket with the same removal policy.
    :param output_transition_after: when job outputs move to S3 Infrequent Access. Default: 30 days.
    :param noncurrent_version_expiration: when overwritten object versions are deleted. Default: 90 days.
    :param event_bridge_enabled: send the bucket's events (``Object Created`` ...) to Amazon
        EventBridge, as a ``DatasetTrigger`` needs (it turns this on itself). Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        encryption_key: Optional[kms.IKey] = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        auto_delete_objects: bool = False,
        server_access_logs_bucket: Optional[s3.IBucket] = None,
        output_transition_after: Duration = Duration.days(30),
        noncurrent_version_expiration: Duration = Duration.days(90),
        event_bridge_enabled: bool = False,
    ) -> None:
        super().__init__(scope, id)
        props.interface("encryption_key", encryption_key, "kms.IKey", optional=True)
        props.removal_policy("removal_policy", removal_policy)
        props.boolean("auto_delete_objects", auto_delete_objects)
        props.interface("server_access_logs_bucket", server_access_logs_bucket, "s3.IBucket", optional=True)
        # S3: Standard-IA only after 30 days; lifecycle ages are whole days.
        props.duration("output_transition_after", output_transition_after, unit="days", low=30, high=36500)
        props.duration("noncurrent_version_expiration", noncurrent_version_expiration, unit="days", low=1, high=36500)
        props.boolean("event_bridge_enabled", event_bridge_enabled)
        if auto_delete_objects and removal_policy != RemovalPolicy.DESTROY:
            raise props.InvalidProp(
                "auto_delete_objects", True,
                f"removal_policy=RemovalPolicy.DESTROY with it (received {removal_policy}; objects can only be deleted with the bucket)",
            )
        self.encryption_key = encryption_key
        self._event_bridge = False
        self.dataset_prefix, self.output_prefix, self.prompt_prefix = DATASET_PREFIX, OUTPUT_PREFIX, PROMPT_PREFIX
        self.access_logs_bucket = server_access_logs_bucket or self._log_bucket(removal_policy)
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
        self._log_to(self.access_logs_bucket, "fine-tuning-bucket/")
        if event_bridge_enabled:
            self.enable_event_bridge()
        if auto_delete_objects:
            self._empty_on_delete(self.bucket, "AutoDeleteObjects", removal_policy)
            if server_access_logs_bucket is None:  # the log bucket this construct made is deleted too
                assert isinstance(self.access_logs_bucket, s3.Bucket)
                self._empty_on_delete(self.access_logs_bucket, "AccessLogsAutoDeleteObjects", removal_policy)

    @property
    def event_bridge_enabled(self) -> bool:
        """Whether the bucket sends its events to Amazon EventBridge."""
        return self._event_bridge

    def enable_event_bridge(self) -> None:
        """Send the bucket's events to Amazon EventBridge (idempotent).

        Set on the bucket resource itself (``NotificationConfiguration.EventBridgeConfiguration``),
        so no notification custom resource is defined. Do not combine with CDK's
        ``bucket.add_event_notification(...)`` on this bucket: its handler rewrites the whole
        notification configuration.
        """
        if self._event_bridge:
            return
        self._event_bridge = True
        cfn = self.bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True),
        )

    @property
    def locations(self) -> DataLocations:
        """The bucket, its key and its three prefixes (what the role and the workflow take)."""
        return DataLocations(self.bucket, self.encryption_key, self.dataset_prefix, self.output_prefix, self.prompt_prefix)

    def _log_bucket(self, removal_policy: RemovalPolicy) -> s3.IBucket:
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
        return logs_bucket

    def _log_to(self, target: s3.IBucket, prefix: str) -> None:
        """Server access logging through a bucket policy (no ACLs, whatever the app's feature flags)."""
        cfn = self.bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
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

    def _empty_on_delete(self, bucket: s3.Bucket, id: str, removal_policy: RemovalPolicy) -> CustomResource:
        """A custom resource that empties ``bucket`` when CloudFormation deletes it (or replaces it).

        Its role can list the bucket and delete object versions, nothing else: no reads, no KMS.
        """
        provider = _cleanup_provider(Stack.of(self))
        provider.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:ListBucketVersions"], resources=[bucket.bucket_arn],
        ))
        provider.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:DeleteObject", "s3:DeleteObjectVersion"], resources=[bucket.arn_for_objects("*")],
        ))
        # After the statements: suppressions are recorded on the policy resources that exist now.
        # The finding is named exactly (this bucket's objects), so no other bucket-wide grant hides behind it.
        suppress(provider, [Suppression(
            "AwsSolutions-IAM5",
            "Emptying a DESTROY bucket on stack deletion deletes every object version in it: s3:DeleteObject(Version) on its objects.",
            resource_findings(provider, [bucket.arn_for_objects("*")]),
        )])
        cleanup = CustomResource(
            self, id,
            service_token=provider.function_arn,
            resource_type="Custom::SageMakerFineTuningBucketCleanup",
            properties={"BucketName": bucket.bucket_name},
            removal_policy=removal_policy,
        )
        cleanup.node.add_dependency(bucket.node.default_child)  # the bucket itself, not its policy (which may name others)
        return cleanup

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
        return grant_read_prefix(self.bucket, grantee, DATASET_PREFIX)

    def grant_read_prompts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read RLAIF judge prompt files under ``prompts/``."""
        return self.bucket.grant_read(grantee, f"{PROMPT_PREFIX}*")

    def grant_write_outputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Write (and read back) job outputs under ``outputs/``."""
        self.bucket.grant_read(grantee, f"{OUTPUT_PREFIX}*")
        return self.bucket.grant_put(grantee, f"{OUTPUT_PREFIX}*")


def grant_read_prefix(bucket: s3.IBucket, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
    """Read the objects under ``prefix`` of ``bucket`` and list the bucket (CDK's grant_read + listing)."""
    grant = bucket.grant_read(grantee, f"{prefix}*")
    iam.Grant.add_to_principal(grantee=grantee, actions=["s3:ListBucket", "s3:GetBucketLocation"], resource_arns=[bucket.bucket_arn])
    return grant


def _cleanup_provider(stack: Stack) -> lambda_.Function:
    """The stack's single handler that empties DESTROY buckets on deletion."""
    existing = stack.node.try_find_child(_CLEANUP_PROVIDER_ID)
    if isinstance(existing, lambda_.Function):
        return existing
    provider = lambda_.Function(
        stack, _CLEANUP_PROVIDER_ID,
        runtime=assets.RUNTIME,
        code=assets.library_code(),
        handler=assets.handler("bucket_cleanup.handler", "handler"),
        timeout=Duration.minutes(15),
        description="Empties fine-tuning demo buckets when their stack is deleted",
        log_group=logs.LogGroup(stack, f"{_CLEANUP_PROVIDER_ID}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY),
    )
    return trace(provider)


class FineTuningStorage:
    """Where the pattern keeps its data: a new :class:`FineTuningBucket`, or a bucket you have.

    ``FineTuningStorage.new_bucket(encryption_key=key)`` or
    ``FineTuningStorage.existing_bucket(s3.Bucket.from_bucket_name(stack, "Data", "acme-ml"), dataset_prefix="ft/datasets/")``.
    """

    def __init__(self, *, bucket: Optional[s3.IBucket], encryption_key: Optional[kms.IKey], auto_delete_objects: bool,
                 server_access_logs_bucket: Optional[s3.IBucket], prefixes: tuple[str, str, str]) -> None:
        self._bucket, self.encryption_key, self._auto_delete = bucket, encryption_key, auto_delete_objects
        self._logs_bucket, self._prefixes = server_access_logs_bucket, prefixes

    @staticmethod
    def new_bucket(*, encryption_key: Optional[kms.IKey] = None, auto_delete_objects: bool = False,
                   server_access_logs_bucket: Optional[s3.IBucket] = None) -> "FineTuningStorage":
        """A new :class:`FineTuningBucket` (``datasets/``, ``outputs/``, ``prompts/``); it follows the
        pattern's removal policy. Default: SSE-S3, objects kept on deletion, a new access-log bucket."""
        props.interface("encryption_key", encryption_key, "kms.IKey", optional=True)
        props.boolean("auto_delete_objects", auto_delete_objects)
        props.interface("server_access_logs_bucket", server_access_logs_bucket, "s3.IBucket", optional=True)
        return FineTuningStorage(bucket=None, encryption_key=encryption_key, auto_delete_objects=auto_delete_objects,
                                 server_access_logs_bucket=server_access_logs_bucket,
                                 prefixes=(DATASET_PREFIX, OUTPUT_PREFIX, PROMPT_PREFIX))

    @staticmethod
    def existing_bucket(bucket: s3.IBucket, *, encryption_key: Optional[kms.IKey] = None, dataset_prefix: str = DATASET_PREFIX,
                        output_prefix: str = OUTPUT_PREFIX, prompt_prefix: str = PROMPT_PREFIX) -> "FineTuningStorage":
        """A bucket you own (never modified or deleted by the stack), with the key it is encrypted
        with (the job role gets encrypt/decrypt on it) and the prefixes to use."""
        loc = check_locations(bucket, encryption_key, dataset_prefix, output_prefix, prompt_prefix)
        return FineTuningStorage(bucket=loc.bucket, encryption_key=encryption_key, auto_delete_objects=False,
                                 server_access_logs_bucket=None, prefixes=(loc.dataset_prefix, loc.output_prefix, loc.prompt_prefix))

    def bind(self, scope: Construct, id: str, removal_policy: RemovalPolicy) -> tuple[DataLocations, Optional[FineTuningBucket]]:
        """The locations to use (and the new bucket, if this storage defines one)."""
        if self._bucket is not None:
            return DataLocations(self._bucket, self.encryption_key, *self._prefixes), None
        bucket = FineTuningBucket(scope, id, encryption_key=self.encryption_key, removal_policy=removal_policy,
                                  auto_delete_objects=self._auto_delete, server_access_logs_bucket=self._logs_bucket)
        return bucket.locations, bucket
