"""RewardFunction: the RLVR reward Lambda and its SageMaker Hub evaluator registration."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from sagemaker_finetuning.support import assets as _assets
from sagemaker_finetuning.support.nag import Suppression, suppress
from sagemaker_finetuning.registry.hub_evaluator import REWARD_FUNCTION, HubEvaluator

CONTRACTS = ("open-weights", "nova")
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")


class RewardFunction(Construct):
    """Defines the RLVR reward function (a Python Lambda) and registers it as a SageMaker Hub
    ``RewardFunction`` evaluator, so executions can name it by ``evaluator_arn``.

    :param code: the function's code. Default: the library's reward handler
        (``lambda_src/reward``), configured by ``components``.
    :param handler: the handler of ``code``. Default: the library handler; required with ``code``.
    :param components: reward components and weights, e.g.
        ``[{"type": "numeric_match", "weight": 0.7}, {"type": "anti_gaming", "weight": 0.3}]``
        (library handler only). Default: the handler's default mix.
    :param contract: ``"open-weights"`` (statusCode/body envelope) or ``"nova"`` (bare list).
        Default: ``"open-weights"``.
    :param function_name: Default: ``sagemaker-reward-<unique suffix>`` — it contains
        "sagemaker" so the AWS managed policy AmazonSageMakerModelCustomizationCoreAccess can
        invoke it too.
    :param memory_size: Default: 1024 MB (reward latency is training time).
    :param timeout: Default: 60 seconds.
    :param environment: extra environment variables. Default: none.
    :param evaluator_name: 1-20 characters. Default: derived from the construct path.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code: Optional[lambda_.Code] = None,
        handler: Optional[str] = None,
        components: Optional[Sequence[Mapping[str, Any]]] = None,
        contract: str = "open-weights",
        function_name: Optional[str] = None,
        memory_size: int = 1024,
        timeout: Duration = Duration.seconds(60),
        environment: Optional[Mapping[str, str]] = None,
        evaluator_name: Optional[str] = None,
    ) -> None:
        super().__init__(scope, id)
        if contract not in CONTRACTS:
            raise ValueError(f"contract: received {contract!r}; expected one of {', '.join(CONTRACTS)}")
        if (code is None) != (handler is None):
            raise ValueError(
                f"handler: received {handler!r} with code {'set' if code else 'unset'}; expected both code and handler "
                "(your own function) or neither (the library's reward handler)"
            )
        if code is not None and components is not None:
            raise ValueError("components: received a value with custom code; expected components only with the library's handler")
        if function_name is None:
            function_name = "sagemaker-reward-" + Names.unique_resource_name(self, max_length=46, separator="-")
            function_name = re.sub(r"[^a-zA-Z0-9\-_]", "", function_name)[:64]
        elif not Token.is_unresolved(function_name) and not _FUNCTION_NAME.match(function_name):
            raise ValueError(f"function_name: received {function_name!r}; expected 1-64 letters, digits, hyphens or underscores")
        env = {"REWARD_CONTRACT": contract, **(environment or {})}
        if components is not None:
            env["REWARD_COMPONENTS"] = json.dumps(list(components), sort_keys=True)
        self.contract = contract
        self.function = lambda_.Function(
            self, "Function",
            function_name=function_name,
            runtime=_assets.RUNTIME,
            code=code or _assets.library_code(),
            handler=handler or _assets.handler("reward.handler", "handler"),
            memory_size=memory_size,
            timeout=timeout,
            environment=env,
            description="RLVR reward function for SageMaker serverless fine-tuning",
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY),
        )
        # SageMaker's rollout workers call the function as the training job's execution role; the
        # resource policy lets the service principal of this account call it as well.
        self.function.add_permission(
            "SageMakerInvoke",
            principal=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            source_account=Stack.of(self).account,
        )
        suppress(self.function, [
            Suppression("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
            Suppression("AwsSolutions-IAM5", "X-Ray tracing needs PutTraceSegments/PutTelemetryRecords on '*' (no resource-level permissions).",
                        ["Resource::*"]),
        ])
        self.evaluator = HubEvaluator(
            self, "Evaluator",
            evaluator_type=REWARD_FUNCTION,
            reference=self.function.function_arn,
            evaluator_name=evaluator_name,
            description="RLVR reward function",
        )
        self.evaluator_arn: str = self.evaluator.evaluator_arn
        self.function_arn: str = self.function.function_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the reward function."""
        return self.function.grant_invoke(grantee)

    def metric_errors(self, **kwargs: Any):
        """Reward function errors (a failing reward fails training batches)."""
        return self.function.metric_errors(**kwargs)

    def metric_duration(self, **kwargs: Any):
        """Reward function duration (reward latency is training time)."""
        return self.function.metric_duration(**kwargs)
