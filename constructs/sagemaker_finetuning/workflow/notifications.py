"""Notifications: where the workflow reports terminal executions and where its alarms go (SNS)."""

from __future__ import annotations

from typing import Optional

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from constructs import Construct
from sagemaker_finetuning.support import props


class Notifications:
    """``Notifications.none()`` (default), ``Notifications.new_topic()`` (an encrypted SNS topic the
    alarms can publish to) or ``Notifications.to(topic)`` (a topic you have)."""

    def __init__(self, *, topic: Optional[sns.ITopic], create: bool, encryption_key: Optional[kms.IKey]) -> None:
        self._topic, self._create, self._key = topic, create, encryption_key

    @staticmethod
    def none() -> "Notifications":
        """No topic: the alarms exist (and show in the CloudWatch console) but notify no one."""
        return Notifications(topic=None, create=False, encryption_key=None)

    @staticmethod
    def new_topic(*, encryption_key: Optional[kms.IKey] = None) -> "Notifications":
        """A new SNS topic encrypted with a customer managed key (CloudWatch alarms cannot publish to
        a topic encrypted with the AWS managed aws/sns key). Default key: a new one, rotated yearly."""
        props.interface("encryption_key", encryption_key, "kms.IKey", optional=True)
        return Notifications(topic=None, create=True, encryption_key=encryption_key)

    @staticmethod
    def to(topic: sns.ITopic) -> "Notifications":
        """A topic you have. Its policy (and its key's, if encrypted) must let cloudwatch.amazonaws.com
        publish: the library cannot change the policy of a topic it did not define."""
        props.interface("topic", topic, "sns.ITopic")
        return Notifications(topic=topic, create=False, encryption_key=None)

    def bind(self, scope: Construct, fallback_key: Optional[kms.IKey]) -> Optional[sns.ITopic]:
        if not self._create:
            return self._topic
        key = self._key or fallback_key or kms.Key(
            scope, "NotificationsKey", enable_key_rotation=True, description="Encrypts the fine-tuning notification topic",
        )
        alarms = _from_this_accounts_alarms(Stack.of(scope))
        key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"], conditions=alarms,
        ))
        topic = sns.Topic(scope, "Notifications", display_name="SageMaker fine-tuning runs", enforce_ssl=True, master_key=key)
        # enforce_ssl gives the topic a policy, which replaces SNS's default one: without this allow, alarm
        # actions could not publish.
        topic.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"], resources=[topic.topic_arn], conditions=alarms,
        ))
        return topic


def _from_this_accounts_alarms(stack: Stack) -> dict[str, dict[str, str]]:
    """Confused-deputy conditions: CloudWatch acts for alarms of this account and region only."""
    return {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": stack.format_arn(service="cloudwatch", resource="alarm", resource_name="*",
                                                       arn_format=ArnFormat.COLON_RESOURCE_NAME)},
    }
