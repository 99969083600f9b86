"""Every construct prop is type- and value-checked at construction (hardening §6).

A wrong prop must end in ``InvalidProp`` (a ValueError) whose message reads
``<prop>: received <what>; expected <what>``, raised while the construct is being defined, never an
AttributeError, TypeError, KeyError or jsii error from deep inside CDK, and never a template that
synthesizes and fails only at deploy or run time.

The props are discovered with ``inspect.signature``: a prop added to any construct, option-class
factory or value class without a case in ``CASES`` fails ``test_every_prop_has_a_case``, and a
construct or factory added to the package without an entry in ``TARGETS`` fails
``test_every_public_entry_point_is_a_target``. ``test_valid_call_synthesizes`` keeps the table
honest: the valid props each case starts from do synthesize.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, RemovalPolicy, Size, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

import sagemaker_finetuning
from sagemaker_finetuning import (
    BuiltinJudgePrompt,
    DataLocations,
    DatasetTrigger,
    EvaluationJudgeModel,
    EvaluatorType,
    FineTuningBucket,
    FineTuningExecutionRole,
    FineTuningJob,
    FineTuningStorage,
    FineTuningWorkflow,
    HubEvaluator,
    InvalidProp,
    JudgeModel,
    JudgePrompt,
    JudgePromptSource,
    JudgePromptTemplate,
    ModelPackageGroup,
    ModelPackageGroupSource,
    Notifications,
    RewardContract,
    RewardFunction,
    RewardFunctionSource,
    ScheduleTrigger,
    ServerlessFineTuning,
)
from sagemaker_finetuning.support.props import describe

ENV = cdk.Environment(account="123456789012", region="us-east-1")
NOT_IN_US_EAST_1 = JudgeModel.QWEN3_235B_A22B_2507  # type: ignore[attr-defined]  # offered in us-west-2 / ap-northeast-1 only
VALID_PROMPT = "Rate the response {{ response }} to the prompt {{ prompt }} from 1 to 10."
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-reward"
ROLE_ARN = "arn:aws:iam::123456789012:role/fine-tuning"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:fine-tuning"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOT_MLFLOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model/not-mlflow"


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "T", env=ENV)


def _id(scope: cdk.Stack, prefix: str) -> str:
    """A construct id not yet used in ``scope`` (cases build several helpers in one stack)."""
    n = 0
    while scope.node.try_find_child(f"{prefix}{n}") is not None:
        n += 1
    return f"{prefix}{n}"


# --------------------------------------------------------------------------- valid building blocks
def a_bucket(s: cdk.Stack) -> s3.IBucket:
    return s3.Bucket(s, _id(s, "Bucket"))


def a_key(s: cdk.Stack) -> kms.IKey:
    return kms.Key(s, _id(s, "Key"))


def a_role(s: cdk.Stack) -> iam.IRole:
    return iam.Role(s, _id(s, "Role"), assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))


def a_group(s: cdk.Stack) -> ModelPackageGroup:
    return ModelPackageGroup(s, _id(s, "Group"), model_package_group_name=_id(s, "group-"))


def a_reward(s: cdk.Stack) -> RewardFunction:
    return RewardFunction(s, _id(s, "Reward"))


def a_function(s: cdk.Stack) -> lambda_.IFunction:
    return lambda_.Function(s, _id(s, "Fn"), runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))


def a_topic(s: cdk.Stack) -> sns.ITopic:
    return sns.Topic(s, _id(s, "Topic"))


def a_machine(s: cdk.Stack) -> sfn.IStateMachine:
    return sfn.StateMachine(s, _id(s, "Machine"), definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(s, _id(s, "Pass"))))


def inline_code() -> lambda_.Code:
    return lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


@lru_cache(maxsize=None)
def prompt_file(text: str) -> str:
    """A real file with ``text`` (kept for the session)."""
    path = Path(tempfile.mkdtemp(prefix="test-props-")) / "judge.jinja"
    path.write_text(text, encoding="utf-8")
    return str(path)


@dataclass(frozen=True)
class Make:
    """A prop value that needs the case's stack (a construct): built when the case runs."""

    build: Callable[[cdk.Stack], Any]
    label: str

    def __repr__(self) -> str:
        return self.label


def resolve(value: Any, stack: cdk.Stack) -> Any:
    return value.build(stack) if isinstance(value, Make) else value


# --------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """A construct constructor, option-class factory or value class, and how a case calls it.

    ``build`` calls it with the props and, for factories and value classes, binds the result the
    way the pattern does, so checks made at bind time (still synth) count too.
    """

    func: Callable[..., Any]
    build: Callable[[cdk.Stack, dict[str, Any]], Any]
    required: Callable[[cdk.Stack], dict[str, Any]] = lambda s: {}
    #: the valid call defines resources (False: the option means "nothing", e.g. Notifications.none())
    defines: bool = True


def _construct(cls: type) -> Callable[[cdk.Stack, dict[str, Any]], Any]:
    return lambda s, kw: cls(s, "Subject", **kw)


def _role_with_group(s: cdk.Stack, group: Any) -> Any:
    return FineTuningExecutionRole(s, _id(s, "UsesGroup"), bucket=a_bucket(s), model_package_groups=[group])


def _hub_prompt_setup() -> dict[str, Any]:
    return {"evaluator_type": EvaluatorType.REWARD_PROMPT, "reference": "s3://acme-data/prompts/judge.jinja",
            "prompt_text": VALID_PROMPT, "prompt_bucket": "acme-data", "prompt_key": "prompts/judge.jinja"}


TARGETS: dict[str, Target] = {
    # the pattern and its options (factories are bound as the pattern binds them: RETAIN is its default)
    "ServerlessFineTuning": Target(ServerlessFineTuning.__init__, _construct(ServerlessFineTuning)),
    "FineTuningStorage.new_bucket": Target(
        FineTuningStorage.new_bucket, lambda s, kw: FineTuningStorage.new_bucket(**kw).bind(s, "Storage", RemovalPolicy.RETAIN)),
    "FineTuningStorage.existing_bucket": Target(
        FineTuningStorage.existing_bucket, lambda s, kw: FineTuningStorage.existing_bucket(**kw).bind(s, "Storage", RemovalPolicy.RETAIN),
        required=lambda s: {"bucket": a_bucket(s)}),
    "ModelPackageGroupSource.new_group": Target(
        ModelPackageGroupSource.new_group, lambda s, kw: ModelPackageGroupSource.new_group(**kw).bind(s, "GroupSource", RemovalPolicy.RETAIN)),
    "ModelPackageGroupSource.existing": Target(
        ModelPackageGroupSource.existing,
        lambda s, kw: _role_with_group(s, ModelPackageGroupSource.existing(**kw).bind(s, "GroupSource", RemovalPolicy.RETAIN)),
        required=lambda s: {"group": a_group(s)}),
    "RewardFunctionSource.library": Target(
        RewardFunctionSource.library, lambda s, kw: RewardFunctionSource.library(**kw).bind(s, "RewardSource", RemovalPolicy.DESTROY)),
    "RewardFunctionSource.custom": Target(
        RewardFunctionSource.custom, lambda s, kw: RewardFunctionSource.custom(**kw).bind(s, "RewardSource", RemovalPolicy.DESTROY),
        required=lambda s: {"reward_function": a_reward(s)}),
    "RewardFunctionSource.none": Target(
        RewardFunctionSource.none, lambda s, kw: RewardFunctionSource.none(**kw).bind(s, "RewardSource", RemovalPolicy.DESTROY),
        defines=False),
    "JudgePromptSource.builtin": Target(
        JudgePromptSource.builtin,
        lambda s, kw: JudgePromptSource.builtin(**kw).bind(s, "JudgePromptSource", DataLocations(a_bucket(s))),
        required=lambda s: {"prompt": BuiltinJudgePrompt.FAITHFULNESS}),  # type: ignore[attr-defined]
    "JudgePromptSource.from_file": Target(
        JudgePromptSource.from_file,
        lambda s, kw: JudgePromptSource.from_file(**kw).bind(s, "JudgePromptSource", DataLocations(a_bucket(s))),
        required=lambda s: {"path": prompt_file(VALID_PROMPT)}),
    "JudgePromptSource.from_text": Target(
        JudgePromptSource.from_text,
        lambda s, kw: JudgePromptSource.from_text(**kw).bind(s, "JudgePromptSource", DataLocations(a_bucket(s))),
        required=lambda s: {"text": VALID_PROMPT}),
    "JudgePromptSource.from_evaluator_arn": Target(
        JudgePromptSource.from_evaluator_arn,
        lambda s, kw: FineTuningWorkflow(s, "Workflow", bucket=a_bucket(s), execution_role=a_role(s), model_package_group=a_group(s),
                                         judge_prompt=JudgePromptSource.from_evaluator_arn(**kw)),
        required=lambda s: {"evaluator_arn": "arn:aws:sagemaker:us-east-1:123456789012:hub-content/h/JsonDoc/judge/1.0.0"}),
    "JudgePromptTemplate.from_file": Target(
        JudgePromptTemplate.from_file,
        lambda s, kw: JudgePrompt(s, "JudgePrompt", bucket=a_bucket(s), template=JudgePromptTemplate.from_file(**kw)),
        required=lambda s: {"path": prompt_file(VALID_PROMPT)}),
    "JudgePromptTemplate.from_text": Target(
        JudgePromptTemplate.from_text,
        lambda s, kw: JudgePrompt(s, "JudgePrompt", bucket=a_bucket(s), template=JudgePromptTemplate.from_text(**kw)),
        required=lambda s: {"text": VALID_PROMPT}),
    "Notifications.none": Target(Notifications.none, lambda s, kw: Notifications.none(**kw).bind(s, None), defines=False),
    "Notifications.new_topic": Target(Notifications.new_topic, lambda s, kw: Notifications.new_topic(**kw).bind(s, None)),
    "Notifications.to": Target(
        Notifications.to, lambda s, kw: Notifications.to(**kw).bind(s, None), required=lambda s: {"topic": a_topic(s)}),
    # the constructs
    "FineTuningBucket": Target(FineTuningBucket.__init__, _construct(FineTuningBucket)),
    "FineTuningExecutionRole": Target(
        FineTuningExecutionRole.__init__, _construct(FineTuningExecutionRole), required=lambda s: {"bucket": a_bucket(s)}),
    "ModelPackageGroup": Target(ModelPackageGroup.__init__, _construct(ModelPackageGroup)),
    "ModelPackageGroup.from_model_package_group_name": Target(
        ModelPackageGroup.from_model_package_group_name,
        lambda s, kw: _role_with_group(s, ModelPackageGroup.from_model_package_group_name(s, "Imported", **kw)),
        required=lambda s: {"model_package_group_name": "support-bot-v1"}),
    "ModelPackageGroup.from_model_package_group_arn": Target(
        ModelPackageGroup.from_model_package_group_arn,
        lambda s, kw: _role_with_group(s, ModelPackageGroup.from_model_package_group_arn(s, "Imported", **kw)),
        required=lambda s: {"model_package_group_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/support-bot-v1"}),
    "HubEvaluator": Target(
        HubEvaluator.__init__, _construct(HubEvaluator),
        required=lambda s: {"evaluator_type": EvaluatorType.REWARD_FUNCTION, "reference": LAMBDA_ARN}),
    "RewardFunction": Target(RewardFunction.__init__, _construct(RewardFunction)),
    "JudgePrompt": Target(
        JudgePrompt.__init__, _construct(JudgePrompt),
        required=lambda s: {"bucket": a_bucket(s), "template": JudgePromptTemplate.from_text(VALID_PROMPT)}),
    "FineTuningWorkflow": Target(
        FineTuningWorkflow.__init__, _construct(FineTuningWorkflow),
        required=lambda s: {"bucket": a_bucket(s), "execution_role": a_role(s), "model_package_group": a_group(s)}),
    "FineTuningJob": Target(
        FineTuningJob.__init__,
        lambda s, kw: sfn.StateMachine(s, "Machine", definition_body=sfn.DefinitionBody.from_chainable(FineTuningJob(s, "Subject", **kw))),
        required=lambda s: {"workflow": FineTuningWorkflow(s, _id(s, "Workflow"), bucket=a_bucket(s), execution_role=a_role(s),
                                                           model_package_group=a_group(s))}),
    "DatasetTrigger": Target(
        DatasetTrigger.__init__, _construct(DatasetTrigger),
        required=lambda s: {"state_machine": a_machine(s), "bucket": a_bucket(s), "prefix": "datasets/nightly/", "input": {"technique": "SFT"}}),
    "ScheduleTrigger": Target(
        ScheduleTrigger.__init__, _construct(ScheduleTrigger),
        required=lambda s: {"state_machine": a_machine(s), "schedule": scheduler.ScheduleExpression.cron(minute="0", hour="2"),
                            "input": {"technique": "SFT", "training_dataset": "s3://acme-data/datasets/latest/"}}),
    # value classes
    "EvaluationJudgeModel": Target(
        EvaluationJudgeModel.__init__,
        lambda s, kw: FineTuningExecutionRole(s, "Role", bucket=a_bucket(s), evaluation_judge_models=[EvaluationJudgeModel(**kw)]),
        required=lambda s: {"model_id": "anthropic.claude-haiku-4-5-20251001-v1:0"}),
    "JudgeModel": Target(
        JudgeModel.__init__, lambda s, kw: FineTuningExecutionRole(s, "Role", bucket=a_bucket(s), judge_models=[JudgeModel(**kw)]),
        required=lambda s: {"model_id": "openai.gpt-oss-120b-1:0"}),
    "BuiltinJudgePrompt": Target(
        BuiltinJudgePrompt.__init__,
        lambda s, kw: FineTuningWorkflow(s, "Workflow", bucket=a_bucket(s), execution_role=a_role(s), model_package_group=a_group(s),
                                         judge_prompt=JudgePromptSource.builtin(BuiltinJudgePrompt(**kw))),
        required=lambda s: {"name": "Faithfulness"}),
    "RewardContract": Target(
        RewardContract.__init__, lambda s, kw: RewardFunction(s, "Reward", contract=RewardContract(**kw)),
        required=lambda s: {"value": "nova"}),
}

#: Public callables of the package that take no construct props, and why.
NOT_TARGETS = {
    "FineTuningStorage.__init__": "internal plumbing of the factories (keyword-only, private state)",
    "ModelPackageGroupSource.__init__": "internal plumbing of the factories",
    "RewardFunctionSource.__init__": "internal plumbing of the factories",
    "JudgePromptSource.__init__": "internal plumbing of the factories",
    "JudgePromptTemplate.__init__": "internal: from_file/from_text are the entry points",
    "Notifications.__init__": "internal plumbing of the factories",
    "HubEvaluator.provider": "returns the stack's singleton handler; takes only the stack",
    "JudgeModel.offered_in": "a query (region -> judges), not a prop",
    "EvaluatorType.__init__": "enum-like: only the two constants EvaluatorType.REWARD_FUNCTION / REWARD_PROMPT are used",
    "DataLocations.__init__": "a result type (FineTuningBucket.locations), not an input of the public API",
    "InvalidProp.__init__": "the error itself",
}


def discovered_props(func: Callable[..., Any]) -> set[str]:
    skip = {"self", "scope", "id"}
    return {name for name, p in inspect.signature(func).parameters.items()
            if name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    target: str
    prop: str
    value: Any
    kind: str  # "type" or "value"
    #: other props of the call (a mutually inconsistent combination, or a setup the prop needs)
    also: dict[str, Any] = field(default_factory=dict)
    #: other prop names the message may start with (only for a combination: it may name either side)
    names: tuple[str, ...] = ()
    #: what the message must show of the received value. Default: describe(value) or repr(value)
    shows: Optional[str] = None
    why: str = ""
    #: how the test id names ``also`` (default: its keys)
    given: str = ""

    @property
    def id(self) -> str:
        text = label(self.value)
        text = text if len(text) <= 40 else text[:37] + "..."
        extra = f"+{self.given or ','.join(k for k in self.also if k != self.prop)}" if self.also else ""
        return f"{self.target}:{self.prop}={text}{extra}"


def label(value: Any) -> str:
    if isinstance(value, Duration):
        return f"Duration({value.to_human_string()})"
    if isinstance(value, list):
        return "[" + ", ".join(label(v) for v in value) + "]"
    return repr(value)


def T(target: str, prop: str, value: Any, **kw: Any) -> Case:  # noqa: N802
    return Case(target, prop, value, "type", **kw)


def V(target: str, prop: str, value: Any, **kw: Any) -> Case:  # noqa: N802
    return Case(target, prop, value, "value", **kw)


JOB = "FineTuningJob"
SFT, STORE_NEW, STORE_EXISTING = "ServerlessFineTuning", "FineTuningStorage.new_bucket", "FineTuningStorage.existing_bucket"
WF, ROLE, RF, HUB, JP, BUCKET, MPG = ("FineTuningWorkflow", "FineTuningExecutionRole", "RewardFunction", "HubEvaluator", "JudgePrompt",
                                      "FineTuningBucket", "ModelPackageGroup")
DT, ST = "DatasetTrigger", "ScheduleTrigger"

CASES: list[Case] = [
    # ------------------------------------------------------------------ ServerlessFineTuning
    T(SFT, "base_model", 123),
    V(SFT, "base_model", "", why="an empty model id"),
    V(SFT, "base_model", "x" * 300, why="longer than any hub model id"),
    T(SFT, "storage", "acme-data"),
    T(SFT, "storage", Make(lambda s: FineTuningBucket(s, "Data"), "FineTuningBucket(...)"), why="a bucket instead of FineTuningStorage"),
    T(SFT, "model_package_group", "support-bot-v1"),
    T(SFT, "model_package_group", Make(a_group, "ModelPackageGroup(...)"), why="a group instead of ModelPackageGroupSource"),
    T(SFT, "removal_policy", "destroy"),
    T(SFT, "reward_function", "exactmatch"),
    T(SFT, "reward_function", Make(a_reward, "RewardFunction(...)"), why="a construct instead of RewardFunctionSource.custom(fn)"),
    T(SFT, "reward_function", False, why="False meant as 'no reward function' must not silently get the library default"),
    T(SFT, "additional_reward_functions", Make(a_reward, "RewardFunction(...)"), why="one construct instead of a list"),
    T(SFT, "additional_reward_functions", [LAMBDA_ARN]),
    T(SFT, "judge_model", "openai.gpt-oss-120b-1:0"),
    V(SFT, "judge_model", NOT_IN_US_EAST_1, why="a judge not offered in the stack's region"),
    T(SFT, "additional_judge_models", JudgeModel.GPT_OSS_20B),  # type: ignore[attr-defined]
    T(SFT, "additional_judge_models", ["qwen.qwen3-32b-v1:0"]),
    T(SFT, "evaluation_judge_models", ["anthropic.claude-haiku-4-5-20251001-v1:0"]),
    T(SFT, "evaluation_judge_models", [JudgeModel.GPT_OSS_120B], why="an RLAIF judge, not an evaluator model"),  # type: ignore[attr-defined]
    V(SFT, "additional_judge_models", [NOT_IN_US_EAST_1], why="a judge not offered in the stack's region"),
    T(SFT, "judge_prompt", "Faithfulness"),
    T(SFT, "judge_prompt", BuiltinJudgePrompt.FAITHFULNESS, why="not wrapped in JudgePromptSource.builtin"),  # type: ignore[attr-defined]
    T(SFT, "mlflow_resource_arn", 123),
    V(SFT, "mlflow_resource_arn", NOT_MLFLOW_ARN),
    T(SFT, "dataset_buckets", "acme-data"),
    T(SFT, "dataset_buckets", ["acme-data"]),
    T(SFT, "execution_role", ROLE_ARN),
    T(SFT, "max_runtime", 3600),
    V(SFT, "max_runtime", Duration.days(29)),
    V(SFT, "max_runtime", Duration.millis(1500), why="not a whole number of seconds"),
    T(SFT, "min_poll_interval", 60),
    V(SFT, "min_poll_interval", Duration.minutes(30), names=("max_poll_interval",), why="above max_poll_interval"),
    T(SFT, "max_poll_interval", 900.0),
    V(SFT, "max_poll_interval", Duration.seconds(30), names=("min_poll_interval",), why="below min_poll_interval"),
    T(SFT, "sweep_interval", 30),
    V(SFT, "sweep_interval", Duration.hours(25)),
    V(SFT, "sweep_interval", Duration.seconds(90), why="not a whole number of minutes (EventBridge rate)"),
    T(SFT, "dataset_fan_out_size", 5 * 1024**3),
    T(SFT, "default_budget_tokens", "50M"),
    V(SFT, "default_budget_tokens", 0),
    T(SFT, "max_sweep_configurations", "50"),
    V(SFT, "max_sweep_configurations", 1001),
    V(SFT, "dataset_fan_out_size", Make(lambda s: Size.kibibytes(1536), "Size.kibibytes(1536)"), why="not a whole number of MiB"),
    T(SFT, "log_level", "ALL"),
    T(SFT, "log_execution_data", "yes"),
    T(SFT, "notifications", TOPIC_ARN),
    T(SFT, "notifications", Make(a_topic, "sns.Topic(...)"), why="a topic instead of Notifications.to(topic)"),
    T(SFT, "notifications", False, why="False meant as 'no notifications' (accepted only by accident of `or`)"),
    T(SFT, "log_retention", 365),
    T(SFT, "tags", ["team=ml"]),
    T(SFT, "tags", {"team": 1}),
    V(SFT, "tags", {"aws:team": "ml"}, why="aws: tag keys are reserved (CreateTrainingJob refuses them at run time)"),
    # ------------------------------------------------------------------ FineTuningStorage
    T(STORE_NEW, "encryption_key", "alias/fine-tuning"),
    T(STORE_NEW, "auto_delete_objects", "yes"),
    V(STORE_NEW, "auto_delete_objects", True, why="with the pattern's default removal policy RETAIN"),
    T(STORE_NEW, "server_access_logs_bucket", "acme-logs"),
    T(STORE_EXISTING, "bucket", "acme-data"),
    T(STORE_EXISTING, "bucket", Make(lambda s: FineTuningBucket(s, "Data"), "FineTuningBucket(...)"), why="the construct, not its .bucket"),
    T(STORE_EXISTING, "encryption_key", KEY_ARN),
    T(STORE_EXISTING, "dataset_prefix", 5),
    V(STORE_EXISTING, "dataset_prefix", "/datasets/"),
    T(STORE_EXISTING, "output_prefix", ["outputs/"]),
    V(STORE_EXISTING, "output_prefix", "datasets/", names=("dataset_prefix",), why="same prefix as dataset_prefix"),
    T(STORE_EXISTING, "prompt_prefix", True),
    V(STORE_EXISTING, "prompt_prefix", "prompts", why="no trailing slash"),
    # ------------------------------------------------------------------ ModelPackageGroupSource
    T("ModelPackageGroupSource.new_group", "model_package_group_name", 123),
    V("ModelPackageGroupSource.new_group", "model_package_group_name", "support_bot v1"),
    T("ModelPackageGroupSource.new_group", "description", 123),
    V("ModelPackageGroupSource.new_group", "description", "x" * 1025),
    T("ModelPackageGroupSource.existing", "group", "support-bot-v1"),
    T("ModelPackageGroupSource.existing", "group", ModelPackageGroupSource.new_group(), why="a source instead of a group"),
    # ------------------------------------------------------------------ RewardFunctionSource
    T("RewardFunctionSource.library", "components", {"type": "numeric_match"}, why="a dict where a list is expected"),
    V("RewardFunctionSource.library", "components", [{"name": "exactmatch"}]),
    T("RewardFunctionSource.library", "contract", "nova"),
    T("RewardFunctionSource.custom", "reward_function", LAMBDA_ARN),
    T("RewardFunctionSource.custom", "reward_function", Make(a_function, "lambda_.Function(...)"), why="a plain Lambda, not a RewardFunction"),
    # ------------------------------------------------------------------ JudgePromptSource / JudgePromptTemplate
    T("JudgePromptSource.builtin", "prompt", "Faithfulness"),
    T("JudgePromptSource.from_file", "path", 123),
    V("JudgePromptSource.from_file", "path", "/nonexistent/judge.jinja"),
    V("JudgePromptSource.from_file", "path", Make(lambda s: prompt_file("Rate the answer from 1 to 10."), "<file without placeholders>"),
      shows="judge.jinja", why="a file without {{ prompt }} / {{ response }}"),
    T("JudgePromptSource.from_text", "text", 123),
    V("JudgePromptSource.from_text", "text", "Faithfulness", shows="text", why="no {{ prompt }} / {{ response }} placeholders"),
    V("JudgePromptSource.from_text", "text", "{{ prompt }} {{ response", shows="text", why="a Jinja syntax error"),
    T("JudgePromptSource.from_evaluator_arn", "evaluator_arn", 123),
    V("JudgePromptSource.from_evaluator_arn", "evaluator_arn", "Builtin.Faithfulness"),
    T("JudgePromptTemplate.from_file", "path", ["judge.jinja"]),
    V("JudgePromptTemplate.from_file", "path", "/nonexistent/judge.jinja"),
    V("JudgePromptTemplate.from_file", "path", Make(lambda s: prompt_file("Rate {{ response }} from 1 to 10."), "<file without prompt>"),
      shows="judge.jinja", why="a file without {{ prompt }}"),
    T("JudgePromptTemplate.from_text", "text", VALID_PROMPT.encode(), why="bytes where str"),
    V("JudgePromptTemplate.from_text", "text", "Rate {{ response }} from 1 to 10.", shows="text", why="no {{ prompt }}"),
    # ------------------------------------------------------------------ Notifications
    T("Notifications.new_topic", "encryption_key", "alias/fine-tuning"),
    T("Notifications.to", "topic", TOPIC_ARN),
    T("Notifications.to", "topic", Notifications.new_topic(), why="Notifications instead of a topic"),
    # ------------------------------------------------------------------ FineTuningBucket
    T(BUCKET, "encryption_key", "alias/aws/s3"),
    T(BUCKET, "removal_policy", "RETAIN"),
    T(BUCKET, "auto_delete_objects", 1),
    V(BUCKET, "auto_delete_objects", True, why="with removal_policy RETAIN (the default)"),
    T(BUCKET, "server_access_logs_bucket", "acme-logs"),
    T(BUCKET, "output_transition_after", 30),
    V(BUCKET, "output_transition_after", Duration.days(10), why="S3 refuses Standard-IA transitions before 30 days (deploy fails)"),
    T(BUCKET, "noncurrent_version_expiration", 90),
    V(BUCKET, "noncurrent_version_expiration", Duration.days(0), why="NoncurrentDays must be positive (deploy fails)"),
    T(BUCKET, "event_bridge_enabled", "yes"),
    # ------------------------------------------------------------------ FineTuningExecutionRole
    T(ROLE, "bucket", "acme-data"),
    T(ROLE, "dataset_prefix", ["datasets/"]),
    V(ROLE, "dataset_prefix", "datasets//train/"),
    T(ROLE, "output_prefix", 0),
    V(ROLE, "output_prefix", "datasets/", names=("dataset_prefix",), why="same prefix as dataset_prefix"),
    T(ROLE, "prompt_prefix", None),
    V(ROLE, "prompt_prefix", "/prompts/"),
    T(ROLE, "encryption_key", KEY_ARN),
    T(ROLE, "model_package_groups", Make(a_group, "ModelPackageGroup(...)"), why="one group instead of a list"),
    T(ROLE, "model_package_groups", ["support-bot-v1"]),
    T(ROLE, "reward_functions", LAMBDA_ARN),
    T(ROLE, "reward_functions", [LAMBDA_ARN]),
    T(ROLE, "dataset_buckets", Make(a_bucket, "s3.Bucket(...)"), why="one bucket instead of a list"),
    T(ROLE, "judge_models", JudgeModel.GPT_OSS_120B, why="one judge instead of a list"),  # type: ignore[attr-defined]
    T(ROLE, "judge_models", ["openai.gpt-oss-120b-1:0"]),
    T(ROLE, "evaluation_judge_models", "anthropic.claude-haiku-4-5-20251001-v1:0"),
    V(ROLE, "judge_models", [NOT_IN_US_EAST_1], why="a judge not offered in the stack's region (the workflow refuses it)"),
    T(ROLE, "mlflow_resource_arn", 42),
    V(ROLE, "mlflow_resource_arn", NOT_MLFLOW_ARN),
    T(ROLE, "role", ROLE_ARN),
    # ------------------------------------------------------------------ ModelPackageGroup
    T(MPG, "model_package_group_name", 42),
    V(MPG, "model_package_group_name", "support_bot v1"),
    V(MPG, "model_package_group_name", "x" * 64),
    T(MPG, "description", ["a description"]),
    V(MPG, "description", "x" * 1025),
    T(MPG, "removal_policy", "destroy"),
    T("ModelPackageGroup.from_model_package_group_name", "model_package_group_name", 42),
    V("ModelPackageGroup.from_model_package_group_name", "model_package_group_name", "support bot"),
    T("ModelPackageGroup.from_model_package_group_arn", "model_package_group_arn", 42),
    V("ModelPackageGroup.from_model_package_group_arn", "model_package_group_arn", "support-bot-v1", why="a name, not an ARN"),
    V("ModelPackageGroup.from_model_package_group_arn", "model_package_group_arn",
      "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-bot-v1/1", why="a model package ARN, not a group ARN"),
    # ------------------------------------------------------------------ HubEvaluator
    T(HUB, "evaluator_type", "RewardFunction"),
    T(HUB, "reference", 42),
    V(HUB, "reference", "", why="empty"),
    T(HUB, "evaluator_name", 42),
    V(HUB, "evaluator_name", "x" * 21),
    V(HUB, "evaluator_name", "", why="empty (silently replaced by the default name)"),
    T(HUB, "description", 42),
    V(HUB, "description", "x" * 1024),
    T(HUB, "prompt_text", 42),
    V(HUB, "prompt_text", VALID_PROMPT, shows="str 'Rate the response", why="with EvaluatorType.REWARD_FUNCTION"),
    T(HUB, "prompt_bucket", 42, also=_hub_prompt_setup(), given="REWARD_PROMPT setup"),
    V(HUB, "prompt_bucket", "Not A Bucket", also=_hub_prompt_setup(), given="REWARD_PROMPT setup"),
    T(HUB, "prompt_key", 42, also=_hub_prompt_setup(), given="REWARD_PROMPT setup"),
    V(HUB, "prompt_key", "", also=_hub_prompt_setup(), given="REWARD_PROMPT setup", names=("prompt_text",), shows="prompt_key", why="empty with prompt_text"),
    T(HUB, "adopt_existing", "yes"),
    # ------------------------------------------------------------------ RewardFunction
    T(RF, "code", "lambda_src/reward"),
    V(RF, "code", Make(lambda s: inline_code(), "Code.from_inline(...)"), names=("handler",), shows="code is set", why="code without handler"),
    T(RF, "handler", 42, also={"code": Make(lambda s: inline_code(), "Code.from_inline(...)")}),
    V(RF, "handler", "index.handler", why="handler without code"),
    V(RF, "handler", "", also={"code": Make(lambda s: inline_code(), "Code.from_inline(...)")}, why="empty handler"),
    T(RF, "components", {"type": "numeric_match"}),
    V(RF, "components", [{"name": "exactmatch"}]),
    V(RF, "components", [{"type": "numeric_match"}], also={"code": Make(lambda s: inline_code(), "Code.from_inline(...)"),
                                                           "handler": "index.handler"}, why="components with your own code"),
    T(RF, "contract", "nova"),
    T(RF, "function_name", 42),
    V(RF, "function_name", "reward fn"),
    T(RF, "memory_size", "1024"),
    T(RF, "memory_size", True),
    V(RF, "memory_size", 64),
    T(RF, "timeout", 60),
    V(RF, "timeout", Duration.minutes(20), why="Lambda's limit is 15 minutes"),
    T(RF, "environment", ["REWARD_CONTRACT=nova"]),
    T(RF, "environment", {"DEBUG": 1}),
    V(RF, "environment", {"REWARD_CONTRACT": "nova"}, why="silently overrides contract=OPEN_WEIGHTS"),
    T(RF, "evaluator_name", 42),
    V(RF, "evaluator_name", "x" * 21),
    T(RF, "log_retention", 30),
    T(RF, "removal_policy", "destroy"),
    T(RF, "adopt_existing_evaluator", "yes"),
    # ------------------------------------------------------------------ JudgePrompt
    T(JP, "bucket", "acme-data"),
    T(JP, "template", VALID_PROMPT, why="a str instead of JudgePromptTemplate.from_text(...)"),
    T(JP, "template", JudgePromptSource.from_text(VALID_PROMPT), why="a JudgePromptSource instead of a template"),
    T(JP, "prompt_prefix", 7),
    V(JP, "prompt_prefix", "prompts"),
    T(JP, "encryption_key", "alias/fine-tuning"),
    T(JP, "evaluator_name", 42),
    T(JP, "adopt_existing_evaluator", 1),
    V(JP, "evaluator_name", "judge_prompt!"),
    # ------------------------------------------------------------------ FineTuningJob
    T(JOB, "workflow", "FineTuning"),
    T(JOB, "workflow", Make(lambda s: ServerlessFineTuning(s, "Pattern"), "ServerlessFineTuning(...)"), why="the pattern, not its .workflow"),
    T(JOB, "input_path", 5),
    V(JOB, "input_path", "sft", why="not a JSONPath"),
    V(JOB, "input_path", "$.runs[0]", why="a JSONPath the fragment does not take (dots and names only)"),
    T(JOB, "result_path", ["$.result"]),
    V(JOB, "result_path", "$..result", why="an empty path segment"),
    T(JOB, "comment", 7),
    T(JOB, "dataset_fan_out", "yes"),
    # ------------------------------------------------------------------ FineTuningWorkflow
    T(WF, "bucket", "acme-data"),
    T(WF, "execution_role", ROLE_ARN),
    T(WF, "execution_role", Make(lambda s: FineTuningExecutionRole(s, "JobRole", bucket=a_bucket(s)), "FineTuningExecutionRole(...)"),
      why="the construct, not its .role"),
    T(WF, "model_package_group", "support-bot-v1"),
    T(WF, "model_package_group", ModelPackageGroupSource.new_group(), why="a source instead of a group"),
    T(WF, "dataset_prefix", 5),
    V(WF, "dataset_prefix", "datasets"),
    T(WF, "output_prefix", ["outputs/"]),
    V(WF, "output_prefix", "datasets/", names=("dataset_prefix",), why="same prefix as dataset_prefix"),
    T(WF, "prompt_prefix", True),
    V(WF, "prompt_prefix", "outputs/prompts/", names=("output_prefix",), why="lies under output_prefix"),
    T(WF, "encryption_key", "alias/fine-tuning"),
    T(WF, "base_model", 42),
    V(WF, "base_model", "", why="an empty model id"),
    T(WF, "reward_functions", Make(a_reward, "RewardFunction(...)"), why="one construct instead of a list"),
    T(WF, "reward_functions", Make(lambda s: [a_function(s)], "[lambda_.Function(...)]"), why="a plain Lambda, not a RewardFunction"),
    T(WF, "judge_models", "openai.gpt-oss-120b-1:0"),
    T(WF, "evaluation_judge_models", ("amazon.nova-pro-v1:0",)),
    V(WF, "judge_models", [NOT_IN_US_EAST_1], why="a judge not offered in the stack's region"),
    T(WF, "judge_prompt", "Faithfulness"),
    T(WF, "mlflow_resource_arn", 42),
    V(WF, "mlflow_resource_arn", NOT_MLFLOW_ARN),
    T(WF, "dataset_buckets", ["acme-data"]),
    T(WF, "max_runtime", 3600),
    V(WF, "max_runtime", Duration.days(29)),
    T(WF, "pending_allowance", 3600),
    V(WF, "pending_allowance", Duration.millis(1500), why="not a whole number of seconds (state machine timeout)"),
    T(WF, "min_poll_interval", 60),
    V(WF, "min_poll_interval", Duration.minutes(30), names=("max_poll_interval",), why="above max_poll_interval"),
    V(WF, "min_poll_interval", Duration.millis(500), why="not a whole number of seconds"),
    T(WF, "max_poll_interval", "15 minutes"),
    V(WF, "max_poll_interval", Duration.seconds(30), names=("min_poll_interval",), why="below min_poll_interval"),
    T(WF, "sweep_interval", 1800),
    V(WF, "sweep_interval", Duration.hours(25)),
    V(WF, "sweep_interval", Duration.seconds(90), why="not a whole number of minutes (EventBridge rate)"),
    T(WF, "dataset_fan_out_size", "5GB"),
    T(WF, "default_budget_tokens", 5e7, why="a float"),
    V(WF, "max_sweep_configurations", 0),
    T(WF, "max_sweep_configurations", 2.5, why="a float"),
    V(WF, "dataset_fan_out_size", Make(lambda s: Size.kibibytes(512), "Size.kibibytes(512)"), why="below 1 MiB"),
    T(WF, "log_level", "ALL"),
    T(WF, "log_execution_data", "yes"),
    T(WF, "notification_topic", TOPIC_ARN),
    T(WF, "alarm_topic", TOPIC_ARN),
    T(WF, "log_retention", 365),
    T(WF, "removal_policy", "retain"),
    T(WF, "recipe_bucket_name", 42),
    V(WF, "recipe_bucket_name", "Not_A_Bucket!", why="not an S3 bucket name"),
    T(WF, "hub_name", 42),
    V(WF, "hub_name", "", why="empty"),
    V(WF, "hub_name", "x" * 64),
    T(WF, "tags", ["team"]),
    V(WF, "tags", {"aws:team": "ml"}, why="aws: tag keys are reserved (CreateTrainingJob refuses them at run time)"),
    # ------------------------------------------------------------------ triggers
    T(DT, "state_machine", "arn:aws:states:us-east-1:123456789012:stateMachine:fine-tuning"),
    T(DT, "bucket", "acme-data"),
    T(DT, "prefix", 7),
    V(DT, "prefix", "datasets", why="no trailing slash"),
    T(DT, "input", '{"technique": "SFT"}', why="JSON text instead of a mapping"),
    V(DT, "input", {"technique": "SFTX"}, why="not a technique (fails every triggered run in ValidateInput)"),
    V(DT, "input", {"technique": "SFT", "training_dataset": "s3://acme-data/x.jsonl"}, why="the field the trigger fills"),
    T(DT, "dataset_field", 1),
    V(DT, "dataset_field", "model", why="not a dataset field"),
    T(DT, "suffixes", ".jsonl", why="one string instead of a list"),
    V(DT, "suffixes", ["*.jsonl"], why="a wildcard"),
    T(DT, "enabled", "yes"),
    T(DT, "deduplicate", 1),
    T(ST, "state_machine", Make(lambda s: a_bucket(s), "s3.Bucket(...)")),
    T(ST, "schedule", "rate(1 day)"),
    T(ST, "input", ["technique", "SFT"]),
    V(ST, "input", {"technique": "SFT"}, shows="received None", why="no training_dataset (fails every scheduled run)"),
    V(ST, "input", {"technique": "SFT", "training_dataset": "s3://acme-data/d/", "training_job_name": "weekly"},
      why="a fixed job name: every run after the first fails with TrainingJobNameInUse"),
    T(ST, "time_zone", "Europe/Berlin"),
    V(ST, "time_zone", Make(lambda s: TimeZone.EUROPE_BERLIN, "TimeZone.EUROPE_BERLIN"), also={"schedule": scheduler.ScheduleExpression.rate(Duration.days(1))},
      given="rate schedule", why="rate() has no time zone"),
    T(ST, "enabled", "no"),
    T(ST, "description", 42),
    V(ST, "description", "x" * 513),
    # ------------------------------------------------------------------ value classes
    T("JudgeModel", "model_id", ["openai.gpt-oss-120b-1:0"]),
    V("JudgeModel", "model_id", "anthropic.claude-3-sonnet"),
    T("EvaluationJudgeModel", "model_id", 42),
    V("EvaluationJudgeModel", "model_id", "openai.gpt-oss-120b-1:0", why="an RLAIF judge: SDK v3 refuses it as an evaluator model"),
    T("BuiltinJudgePrompt", "name", 42),
    V("BuiltinJudgePrompt", "name", "faithfulness", why="wrong case"),
    T("RewardContract", "value", 1, names=("contract",)),
    V("RewardContract", "value", "gpt", names=("contract",)),
]


# --------------------------------------------------------------------------- the check
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def _candidates(received: Any) -> list[str]:
    """Ways a message may show the received value (the whole value or, for prop[i], an item)."""
    out = [describe(received), repr(received)[:60]]
    if isinstance(received, (list, tuple)):
        for item in received:
            out += [describe(item), repr(item)[:60]]
    if isinstance(received, dict):  # prop['key']: received <the value>
        out += [describe(v) for v in received.values()]
    return out


def run_case(case: Case) -> None:
    target = TARGETS[case.target]
    stack = new_stack()
    kwargs = {**target.required(stack), **{k: resolve(v, stack) for k, v in case.also.items()}}
    kwargs[case.prop] = received = resolve(case.value, stack)
    what = f"{case.prop}={label(case.value)}" + (f" ({case.why})" if case.why else "")
    try:
        target.build(stack, kwargs)
    except Exception as exc:  # noqa: BLE001 - any exception is judged below
        error: Optional[Exception] = exc
    else:
        error = None
    if error is None:
        try:
            Template.from_stack(stack)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{what}: constructed without error; synth raised {type(exc).__name__}: {_first_line(exc)}")
        pytest.fail(f"{what}: constructed and synthesized without error")
    message = str(error)
    if not isinstance(error, ValueError):
        pytest.fail(f"{what}: raised {type(error).__name__} instead of InvalidProp: {_first_line(error)}")
    names = "|".join(re.escape(n) for n in (case.prop, *case.names))
    if not re.match(rf"^(?:{names})(?:\[\d+\]|\['[^']+'\])?: received .+; expected .+", message, re.S):
        pytest.fail(f"{what}: {type(error).__name__} does not read '{case.prop}: received ...; expected ...': {_first_line(error)}")
    shows = [case.shows] if case.shows else _candidates(received)
    assert any(s in message for s in shows), f"{what}: message does not show the received value ({shows[0]!r}): {message}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wrong_prop_fails_with_a_message(case: Case) -> None:
    run_case(case)


# --------------------------------------------------------------------------- the issue's four examples
def _case(target: str, prop: str, value: Any) -> Case:
    found = [c for c in CASES if c.target == target and c.prop == prop and c.value == value]
    assert found, f"the table lost the issue example {target}({prop}={value!r})"
    return found[0]


@pytest.mark.parametrize("target", [STORE_EXISTING, ROLE, JP, WF])
def test_issue_bucket_as_a_string(target: str) -> None:
    """``bucket="acme-data"`` was ``AttributeError: 'str' object has no attribute 'grant_read'``."""
    run_case(_case(target, "bucket", "acme-data"))
    stack = new_stack()
    with pytest.raises(InvalidProp, match=r"^bucket: received str 'acme-data'; expected an s3\.IBucket"):
        TARGETS[target].build(stack, {**TARGETS[target].required(stack), "bucket": "acme-data"})


@pytest.mark.parametrize("target", [SFT, WF])
def test_issue_max_runtime_as_an_int(target: str) -> None:
    """``max_runtime=3600`` was ``'int' object has no attribute 'to_seconds'``."""
    run_case(_case(target, "max_runtime", 3600))
    stack = new_stack()
    with pytest.raises(InvalidProp, match=r"^max_runtime: received int 3600; expected an aws_cdk\.Duration \(e\.g\. Duration\.seconds\(3600\)\)"):
        TARGETS[target].build(stack, {**TARGETS[target].required(stack), "max_runtime": 3600})


@pytest.mark.parametrize("target", [RF, "RewardFunctionSource.library"])
def test_issue_reward_components_name(target: str) -> None:
    """``components=[{"name": "exactmatch"}]`` synthesized and failed at the first reward call."""
    run_case(_case(target, "components", [{"name": "exactmatch"}]))
    with pytest.raises(InvalidProp, match=r"^components: received list of 1; expected components the reward handler accepts"):
        TARGETS[target].build(new_stack(), {"components": [{"name": "exactmatch"}]})


@pytest.mark.parametrize("target", [SFT, WF])
def test_issue_judge_prompt_as_a_string(target: str) -> None:
    """``judge_prompt="Faithfulness"`` synthesized and failed at run time."""
    run_case(_case(target, "judge_prompt", "Faithfulness"))
    stack = new_stack()
    with pytest.raises(InvalidProp, match=r"^judge_prompt: received str 'Faithfulness'; expected a JudgePromptSource"):
        TARGETS[target].build(stack, {**TARGETS[target].required(stack), "judge_prompt": "Faithfulness"})


# --------------------------------------------------------------------------- the table is complete and not vacuous
def _public_entry_points() -> set[str]:
    found = set()
    for name in sagemaker_finetuning.__all__:
        obj = getattr(sagemaker_finetuning, name)
        if not inspect.isclass(obj) or obj.__module__.split(".")[0] != "sagemaker_finetuning" or "__init__" not in vars(obj):
            continue  # constants, aliases (IModelPackageGroup), TypedDicts (MetricOptions)
        found.add(name if name in TARGETS else f"{name}.__init__")
        found |= {f"{name}.{k}" for k, v in vars(obj).items() if isinstance(v, staticmethod) and not k.startswith("_")}
    return found


def test_every_public_entry_point_is_a_target() -> None:
    """A new construct, factory or value class of the package needs an entry in TARGETS (or NOT_TARGETS)."""
    assert _public_entry_points() == set(TARGETS) | set(NOT_TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_prop_has_a_case(name: str) -> None:
    """The props discovered from the signature equal the table's: a new prop fails here until it has a case."""
    target = TARGETS[name]
    props = discovered_props(target.func)
    cased = {c.prop for c in CASES if c.target == name}
    typed = {c.prop for c in CASES if c.target == name and c.kind == "type"}
    assert cased == props, f"{name}: props without a case {sorted(props - cased)}; cases of no prop {sorted(cased - props)}"
    assert typed == props, f"{name}: props without a wrong-type case {sorted(props - typed)}"
    assert set(target.required(new_stack())) <= props


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_valid_call_synthesizes(name: str) -> None:
    """The valid props every case starts from construct and synthesize (so no case passes vacuously)."""
    target = TARGETS[name]
    stack = new_stack()
    target.build(stack, target.required(stack))
    resources = Template.from_stack(stack).to_json().get("Resources", {})
    if target.defines:
        assert resources, f"{name}: the valid call defined nothing"


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
