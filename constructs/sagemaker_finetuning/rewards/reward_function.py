"""RewardFunction: the RLVR reward Lambda and its SageMaker Hub evaluator registration."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence, Unpack

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from sagemaker_finetuning.core import reward_contract
from sagemaker_finetuning.registry.hub_evaluator import EvaluatorType, HubEvaluator
from sagemaker_finetuning.support import assets, props
from sagemaker_finetuning.support.functions import trace
from sagemaker_finetuning.support.metrics import MetricOptions

_FUNCTION_NAME = r"[a-zA-Z0-9\-_]{1,64}"


class RewardContract:
    """How SageMaker calls a reward function and what it expects back (``core.reward_contract``)."""

    OPEN_WEIGHTS: "RewardContract"
    NOVA: "RewardContract"

    def __init__(self, value: str) -> None:
        try:
            self.value = reward_contract.normalize_contract(value)
        except ValueError:
            aliases = ", ".join(sorted(reward_contract.CONTRACT_ALIASES))
            raise props.InvalidProp("value", value, f'"open-weights" or "nova" (accepted spellings: {aliases})') from None

    def __repr__(self) -> str:
        return f"RewardContract({self.value!r})"


#: Llama, Qwen, GPT-OSS ...: ``{"batch": [...]}`` in, a statusCode/body envelope out.
RewardContract.OPEN_WEIGHTS = RewardContract(reward_contract.OPEN_WEIGHTS)
#: Amazon Nova: a bare list of samples in, a bare list of scores out.
RewardContract.NOVA = RewardContract(reward_contract.NOVA)


class RewardFunction(Construct):
    """Defines the RLVR reward function (a Python Lambda) and registers it as a SageMaker Hub
    ``RewardFunction`` evaluator, so executions can name it by ``evaluator_arn``.

    :param code: the function's code. Default: the library's reward handler
        (``lambda_src/reward``), configured by ``components``.
    :param handler: the handler of ``code``. Default: the library handler; required with ``code``.
    :param components: reward components and weights, e.g.
        ``[{"type": "numeric_match", "weight": 0.7}, {"type": "anti_gaming", "weight": 0.3}]``
        (library handler only). Default: the handler's default mix.
    :param contract: ``RewardContract.OPEN_WEIGHTS`` or ``RewardContract.NOVA``. Default: OPEN_WEIGHTS.
    :param function_name: Default: ``sagemaker-reward-<unique suffix>`` — it contains
        "sagemaker" so the AWS managed policy AmazonSageMakerModelCustomizationCoreAccess can
        invoke it too.
    :param memory_size: Default: 1024 MB (reward latency is training time).
    :param timeout: Default: 60 seconds.
    :param environment: extra environment variables. Default: none.
    :param evaluator_name: 1-20 characters. Default: derived from the construct path.
    :param log_retention: Default: one month. :param removal_policy: of the log group. Default: DESTROY.
    :param adopt_existing_evaluator: add versions to an evaluator of that name registered elsewhere
        (e.g. by SDK v3 ``Evaluator.create``) instead of failing the deployment; deletion still
        removes only the versions this resource imported. Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code: Optional[lambda_.Code] = None,
        handler: Optional[str] = None,
        components: Optional[Sequence[Mapping[str, Any]]] = None,
        contract: RewardContract = RewardContract.OPEN_WEIGHTS,
        function_name: Optional[str] = None,
        memory_size: int = 1024,
        timeout: Duration = Duration.seconds(60),
        environment: Optional[Mapping[str, str]] = None,
        evaluator_name: Optional[str] = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        adopt_existing_evaluator: bool = False,
    ) -> None:
        super().__init__(scope, id)
        props.boolean("adopt_existing_evaluator", adopt_existing_evaluator)
        env = _check(code, handler, components, contract, function_name, memory_size, timeout, environment, removal_policy)
        props.instance("log_retention", log_retention, logs.RetentionDays, "a logs.RetentionDays value")
        self.contract = contract
        self.function = lambda_.Function(
            self, "Function",
            function_name=function_name or _default_name(self),
            runtime=assets.RUNTIME,
            code=code or assets.library_code(),
            handler=handler or assets.handler("reward.handler", "handler"),
            memory_size=memory_size,
            timeout=timeout,
            environment=env,
            description="RLVR reward function for SageMaker serverless fine-tuning",
            log_group=logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy),
        )
        # SageMaker's rollout workers call the function as the training job's execution role; the
        # resource policy lets the service principal of this account call it as well.
        self.function.add_permission(
            "SageMakerInvoke",
            principal=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            source_account=Stack.of(self).account,
        )
        trace(self.function)
        self.evaluator = HubEvaluator(
            self, "Evaluator",
            evaluator_type=EvaluatorType.REWARD_FUNCTION,
            reference=self.function.function_arn,
            evaluator_name=evaluator_name,
            description="RLVR reward function",
            adopt_existing=adopt_existing_evaluator,
        )
        self.evaluator_arn: str = self.evaluator.evaluator_arn
        self.function_arn: str = self.function.function_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the reward function."""
        return self.function.grant_invoke(grantee)

    def metric_errors(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Reward function errors (a failing reward fails training batches). Default: sum over 5 minutes."""
        return self.function.metric_errors(**options)

    def metric_duration(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Reward function duration (reward latency is training time). Default: average over 5 minutes."""
        return self.function.metric_duration(**options)

    def metric_throttles(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Throttled reward invocations (rollouts waiting on reward). Default: sum over 5 minutes."""
        return self.function.metric_throttles(**options)


def _default_name(scope: Construct) -> str:
    name = "sagemaker-reward-" + Names.unique_resource_name(scope, max_length=46, separator="-")
    return re.sub(r"[^a-zA-Z0-9\-_]", "", name)[:64]


def _check(code: Any, handler: Any, components: Any, contract: Any, function_name: Any, memory_size: Any, timeout: Any,
           environment: Any, removal_policy: Any) -> dict[str, str]:
    """Check the props; returns the function's environment."""
    props.instance("code", code, lambda_.Code, "a lambda_.Code (e.g. lambda_.Code.from_asset(path))", optional=True)
    props.string("handler", handler, optional=True, pattern=r"[^\s]{1,128}", expected="a handler such as 'index.handler'")
    if (code is None) != (handler is None):
        raise props.InvalidProp("handler", handler, "both code and handler (your own function) or neither (the library's "
                                "reward handler); code is " + ("set" if code is not None else "not set"))
    if components is not None:
        props.instances("components", components, dict, 'mappings such as {"type": "numeric_match", "weight": 1.0}')
        if code is not None:
            raise props.InvalidProp("components", list(components), "no components with your own code (the library's handler reads them)")
    props.instance("contract", contract, RewardContract, "RewardContract.OPEN_WEIGHTS or RewardContract.NOVA")
    props.string("function_name", function_name, optional=True, pattern=_FUNCTION_NAME,
                 expected="1-64 letters, digits, hyphens or underscores")
    props.integer("memory_size", memory_size, 128, 10240)
    props.duration("timeout", timeout, low=1, high=900)  # Lambda's limit: 15 minutes
    props.removal_policy("removal_policy", removal_policy)
    env = {"REWARD_CONTRACT": contract.value, **_check_environment(environment)}
    if components is not None:
        _check_components(components)
        env["REWARD_COMPONENTS"] = json.dumps([dict(c) for c in components], sort_keys=True)
    return env


#: Set from other props (contract, components) or by the Lambda runtime itself.
_RESERVED_ENVIRONMENT = {
    "REWARD_CONTRACT": "contract", "REWARD_COMPONENTS": "components",
    **{key: "the Lambda runtime" for key in (
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR")},
}


def _check_environment(environment: Any) -> dict[str, str]:
    env = props.string_map("environment", environment)
    for key in env:
        if key in _RESERVED_ENVIRONMENT:
            raise props.InvalidProp(f"environment[{key!r}]", env[key], f"a key other than {key} (set by {_RESERVED_ENVIRONMENT[key]})")
        if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]*", key):
            raise props.InvalidProp(f"environment[{key!r}]", env[key], "a key of letters, digits and underscores, starting with a letter")
    return env


def _check_components(components: Sequence[Mapping[str, Any]]) -> None:
    """The library handler's own configuration check, at synth time rather than at the first reward call."""
    from sagemaker_finetuning.lambda_src.reward.components import RewardConfigError, build_components

    try:
        build_components([dict(c) for c in components])
    except RewardConfigError as exc:
        raise props.InvalidProp("components", [dict(c) for c in components], f"components the reward handler accepts ({exc})") from None


class RewardFunctionSource:
    """The pattern's default RLVR reward function: ``RewardFunctionSource.library()`` (the library's
    handler, optionally configured), ``.custom(reward_function)`` (one you defined), or ``.none()``
    (RLVR runs must then name a function or a preset)."""

    def __init__(self, *, function: Optional[RewardFunction], components: Optional[Sequence[Mapping[str, Any]]],
                 contract: Optional[RewardContract]) -> None:
        self._function, self._components, self._contract = function, components, contract

    @staticmethod
    def library(*, components: Optional[Sequence[Mapping[str, Any]]] = None,
                contract: RewardContract = RewardContract.OPEN_WEIGHTS) -> "RewardFunctionSource":
        """A new :class:`RewardFunction` running the library's handler. Default: its default mix."""
        return RewardFunctionSource(function=None, components=components, contract=contract)

    @staticmethod
    def custom(reward_function: RewardFunction) -> "RewardFunctionSource":
        props.instance("reward_function", reward_function, RewardFunction, "a RewardFunction construct")
        return RewardFunctionSource(function=reward_function, components=None, contract=None)

    @staticmethod
    def none() -> "RewardFunctionSource":
        return RewardFunctionSource(function=None, components=None, contract=None)

    def bind(self, scope: Construct, id: str, removal_policy: RemovalPolicy) -> Optional[RewardFunction]:
        if self._function is not None or self._contract is None:
            return self._function
        return RewardFunction(scope, id, components=self._components, contract=self._contract, removal_policy=removal_policy)
