"""HubEvaluator: registers a reward function or reward prompt as a SageMaker Hub evaluator."""

from __future__ import annotations

import hashlib
import re
from typing import Optional

from aws_cdk import CustomResource, Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from sagemaker_finetuning.support import assets as _assets
from sagemaker_finetuning.support.nag import Suppression, suppress

EVALUATOR_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,19}$")
REWARD_FUNCTION = "RewardFunction"
REWARD_PROMPT = "RewardPrompt"
_PROVIDER_ID = "SageMakerHubEvaluatorProvider"


def default_evaluator_name(scope: Construct, prefix: str) -> str:
    """A stable 1-20 character name: ``<prefix>-<hash of the construct path>``."""
    digest = hashlib.sha256(Names.unique_id(scope).encode()).hexdigest()
    return f"{prefix}-{digest[: 19 - len(prefix)]}"


def validate_evaluator_name(name: str, prop: str = "evaluator_name") -> None:
    if Token.is_unresolved(name):
        return
    if len(name) > 20 or not EVALUATOR_NAME.match(name):
        raise ValueError(
            f"{prop}: received {name!r}; expected 1-20 letters, digits and hyphens, starting and ending "
            "with a letter or digit (pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,19})"
        )


class HubEvaluator(Construct):
    """Defines a JsonDoc hub content in the account's AI Registry hub, exactly as SDK v3
    ``Evaluator.create`` registers one, through a Python custom resource.

    Create imports version 1.0.0 (creating the hub if needed), an update imports the next version,
    delete removes every version.

    :param evaluator_type: ``"RewardFunction"`` (reference: a Lambda ARN) or ``"RewardPrompt"``
        (reference: an S3 URI of a Jinja prompt).
    :param reference: the Lambda ARN or S3 URI the evaluator refers to.
    :param evaluator_name: 1-20 characters. Default: derived from the construct path.
    :param description: Default: none.
    :param prompt_text: RewardPrompt only: the prompt itself; the handler writes it to
        ``prompt_bucket``/``prompt_key`` (the ``reference``) before registering. Default: none
        (the reference already exists).
    :param prompt_bucket: bucket name for ``prompt_text``. :param prompt_key: object key for ``prompt_text``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        evaluator_type: str,
        reference: str,
        evaluator_name: Optional[str] = None,
        description: Optional[str] = None,
        prompt_text: Optional[str] = None,
        prompt_bucket: Optional[str] = None,
        prompt_key: Optional[str] = None,
    ) -> None:
        super().__init__(scope, id)
        if evaluator_type not in (REWARD_FUNCTION, REWARD_PROMPT):
            raise ValueError(f"evaluator_type: received {evaluator_type!r}; expected 'RewardFunction' or 'RewardPrompt'")
        name = evaluator_name or default_evaluator_name(self, "rf" if evaluator_type == REWARD_FUNCTION else "rp")
        validate_evaluator_name(name)
        self.evaluator_name = name
        provider = self.provider(Stack.of(self))
        props = {"EvaluatorName": name, "EvaluatorType": evaluator_type, "Reference": reference}
        if description:
            props["Description"] = description
        if prompt_text is not None:
            if evaluator_type != REWARD_PROMPT or not (prompt_bucket and prompt_key):
                raise ValueError("prompt_text: received a prompt; expected evaluator_type RewardPrompt with prompt_bucket and prompt_key")
            props.update(PromptText=prompt_text, PromptBucket=prompt_bucket, PromptKey=prompt_key)
        self._resource = CustomResource(
            self, "Resource",
            service_token=provider.function_arn,
            resource_type="Custom::SageMakerHubEvaluator",
            properties=props,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.evaluator_arn: str = self._resource.get_att_string("EvaluatorArn")
        self.hub_name: str = self._resource.get_att_string("HubName")

    @staticmethod
    def provider(stack: Stack) -> lambda_.Function:
        """The stack's single custom-resource handler for hub evaluators."""
        existing = stack.node.try_find_child(_PROVIDER_ID)
        if existing is not None:
            return existing  # type: ignore[return-value]
        fn = lambda_.Function(
            stack, _PROVIDER_ID,
            runtime=_assets.RUNTIME,
            code=_assets.library_code(),
            handler=_assets.handler("hub_registration.handler", "handler"),
            timeout=Duration.minutes(5),
            description="Registers reward functions and judge prompts as SageMaker Hub evaluators",
            log_group=logs.LogGroup(stack, f"{_PROVIDER_ID}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY),
        )
        hub_arn = stack.format_arn(service="sagemaker", resource="hub", resource_name="*")
        content_arn = stack.format_arn(service="sagemaker", resource="hub-content", resource_name="*/JsonDoc/*")
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["sagemaker:DescribeHub", "sagemaker:CreateHub", "sagemaker:AddTags"], resources=[hub_arn],
        ))
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["sagemaker:ImportHubContent", "sagemaker:DescribeHubContent", "sagemaker:ListHubContentVersions",
                     "sagemaker:DeleteHubContent"],
            resources=[hub_arn, content_arn],
        ))
        suppress(fn, [
            Suppression("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
            Suppression(
                "AwsSolutions-IAM5",
                "The AI Registry hub's name is a hash of region and account, unknown to an environment-agnostic "
                "stack; access is limited to hubs of this account and to JsonDoc (evaluator) contents.",
                ["regex:/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:hub(-content)?/\\*(/JsonDoc/\\*)?$/"],
            ),
        ])
        return fn
