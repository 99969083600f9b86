"""HubEvaluator: registers a reward function or reward prompt as a SageMaker Hub evaluator."""

from __future__ import annotations

import hashlib
from typing import Optional

from aws_cdk import CustomResource, Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from sagemaker_finetuning.core import evaluators
from sagemaker_finetuning.core.validation import LAMBDA_ARN
from sagemaker_finetuning.support import assets, props
from sagemaker_finetuning.support.functions import trace
from sagemaker_finetuning.support.nag import Suppression, resource_findings, suppress

_PROVIDER_ID = "SageMakerHubEvaluatorProvider"


class EvaluatorType:
    """The kind of a JsonDoc evaluator (SDK v3 ``sagemaker.ai_registry.evaluator`` ``EvaluatorType``)."""

    REWARD_FUNCTION: "EvaluatorType"
    REWARD_PROMPT: "EvaluatorType"

    def __init__(self, value: str, name_prefix: str, reference_pattern: str, reference_text: str) -> None:
        self.value, self.name_prefix = value, name_prefix
        #: What ``reference`` must look like for this type (tokens are not checked).
        self.reference_pattern, self.reference_text = reference_pattern, reference_text

    def __repr__(self) -> str:
        return f"EvaluatorType({self.value!r})"


#: A Lambda function that scores RLVR rollouts (reference: its ARN).
EvaluatorType.REWARD_FUNCTION = EvaluatorType(
    evaluators.REWARD_FUNCTION, "rf", LAMBDA_ARN.pattern,
    "a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)")
#: A Jinja judge prompt for RLAIF (reference: the S3 URI of the prompt file).
EvaluatorType.REWARD_PROMPT = EvaluatorType(
    evaluators.REWARD_PROMPT, "rp", r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+", "an S3 URI of the prompt file (s3://<bucket>/<key>)")


def default_evaluator_name(scope: Construct, prefix: str) -> str:
    """A stable 1-20 character name: ``<prefix>-<hash of the construct path>``."""
    digest = hashlib.sha256(Names.unique_id(scope).encode()).hexdigest()
    return f"{prefix}-{digest[: 19 - len(prefix)]}"


def validate_evaluator_name(name: str, prop: str = "evaluator_name") -> None:
    if isinstance(name, str) and Token.is_unresolved(name):
        return
    if not isinstance(name, str) or len(name) > 20 or not evaluators.EVALUATOR_NAME.match(name):
        raise props.InvalidProp(
            prop, name, "1-20 letters, digits and hyphens, starting and ending with a letter or digit",
        )


def _prompt_properties(evaluator_type: EvaluatorType, text: object, bucket: object, key: object) -> dict[str, object]:
    """RewardPrompt only: the prompt the handler writes to ``s3://bucket/key`` before registering."""
    props.string("prompt_text", text, expected="the prompt text")
    if evaluator_type is not EvaluatorType.REWARD_PROMPT:
        raise props.InvalidProp("prompt_text", text, "no prompt_text with EvaluatorType.REWARD_FUNCTION")
    props.bucket_name("prompt_bucket", bucket)
    props.string("prompt_key", key, pattern=r"[^/\s][^\s]{0,1023}", expected="an S3 object key (e.g. prompts/judge.jinja)")
    return {"PromptText": text, "PromptBucket": bucket, "PromptKey": key}


class HubEvaluator(Construct):
    """Defines a JsonDoc hub content in the account's AI Registry hub, exactly as SDK v3
    ``Evaluator.create`` registers one, through a Python custom resource.

    Create imports version 1.0.0 (creating the hub if needed), an update imports the next major
    version. Every version it imports is tagged with the stack id and the logical id of the custom
    resource; a delete (stack deletion, the old name after a rename, a rollback) removes only those
    versions, never ones registered by others (SDK v3 ``Evaluator.create``, another stack).

    :param evaluator_type: ``EvaluatorType.REWARD_FUNCTION`` (reference: a Lambda ARN) or
        ``EvaluatorType.REWARD_PROMPT`` (reference: an S3 URI of a Jinja prompt).
    :param reference: the Lambda ARN or S3 URI the evaluator refers to.
    :param evaluator_name: 1-20 characters. Default: derived from the construct path.
    :param description: Default: none.
    :param prompt_text: RewardPrompt only: the prompt itself; the handler writes it to
        ``prompt_bucket``/``prompt_key`` (the ``reference``) before registering. Default: none
        (the reference already exists).
    :param prompt_bucket: bucket name for ``prompt_text``. :param prompt_key: object key for ``prompt_text``.
    :param adopt_existing: when a hub content named ``evaluator_name`` already exists and this
        resource did not create it, add this resource's versions to it instead of failing the
        deployment. Deleting the resource still removes only the versions it imported. Default:
        False (the deployment fails with a message naming the evaluator).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        evaluator_type: EvaluatorType,
        reference: str,
        evaluator_name: Optional[str] = None,
        description: Optional[str] = None,
        prompt_text: Optional[str] = None,
        prompt_bucket: Optional[str] = None,
        prompt_key: Optional[str] = None,
        adopt_existing: bool = False,
    ) -> None:
        super().__init__(scope, id)
        props.instance("evaluator_type", evaluator_type, EvaluatorType, "EvaluatorType.REWARD_FUNCTION or EvaluatorType.REWARD_PROMPT")
        props.string("reference", reference, pattern=evaluator_type.reference_pattern, expected=evaluator_type.reference_text)
        props.string("description", description, optional=True, max_length=1023, expected="a description of at most 1023 characters")
        props.boolean("adopt_existing", adopt_existing)
        if evaluator_name is not None:
            validate_evaluator_name(evaluator_name)
        name = evaluator_name or default_evaluator_name(self, evaluator_type.name_prefix)
        self.evaluator_name = name
        provider = self.provider(Stack.of(self))
        properties: dict[str, object] = {"EvaluatorName": name, "EvaluatorType": evaluator_type.value, "Reference": reference}
        if description:
            properties["Description"] = description
        if adopt_existing:  # absent when False: deployed resources see no property change
            properties["AdoptExisting"] = True
        if prompt_text is not None:
            properties.update(_prompt_properties(evaluator_type, prompt_text, prompt_bucket, prompt_key))
        self._resource = CustomResource(
            self, "Resource",
            service_token=provider.function_arn,
            resource_type="Custom::SageMakerHubEvaluator",
            properties=properties,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.evaluator_arn: str = self._resource.get_att_string("EvaluatorArn")
        self.hub_name: str = self._resource.get_att_string("HubName")

    @staticmethod
    def provider(stack: Stack) -> lambda_.Function:
        """The stack's single custom-resource handler for hub evaluators."""
        existing = stack.node.try_find_child(_PROVIDER_ID)
        if isinstance(existing, lambda_.Function):
            return existing
        fn = lambda_.Function(
            stack, _PROVIDER_ID,
            runtime=assets.RUNTIME,
            code=assets.library_code(),
            handler=assets.handler("hub_registration.handler", "handler"),
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
        # Ownership tags: ImportHubContent with Tags needs AddTags; Delete reads them with ListTags.
        fn.add_to_role_policy(iam.PolicyStatement(actions=["sagemaker:AddTags", "sagemaker:ListTags"], resources=[content_arn]))
        trace(fn)
        suppress(fn, [Suppression(
            "AwsSolutions-IAM5",
            "The AI Registry hub's name is a hash of region and account, unknown to an environment-agnostic "
            "stack; access is limited to hubs of this account and to JsonDoc (evaluator) contents.",
            resource_findings(fn, [hub_arn, content_arn]),
        )])
        return fn
