"""The ready-to-deploy app: one stack with the ServerlessFineTuning pattern and its outputs.

Context values (cdk.json defaults, override with ``-c key=value``): ``stackName``, ``baseModel``,
``modelPackageGroupName``, ``judgeModelId``, ``evaluationJudgeModelId``, ``destroyOnDelete`` (demo stacks: delete bucket and
group with the stack), ``minPollSeconds`` / ``maxPollSeconds``, ``maxRuntimeHours``, ``datasetFanOutMiB``, ``maxSweepConfigurations``,
``enableNotifications`` (SNS topic), ``mlflowResourceArn`` (the MLflow app or tracking server jobs
log to). No context lookups and no Docker: ``cdk synth`` works offline
without credentials.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

# jsii (the CDK's bridge to Node.js) prints a banner on every `cdk` call that Node 20 is past its end of
# life; Node 20 still works (as do 22 and 24, which print nothing). Silenced here so `npx cdk ...` is quiet.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from sagemaker_finetuning import (
    DEFAULT_BASE_MODEL,
    EvaluationJudgeModel,
    FineTuningStorage,
    InvalidProp,
    JudgeModel,
    ModelPackageGroupSource,
    Notifications,
    ServerlessFineTuning,
)
from sagemaker_finetuning.core.constants import JUDGE_MODEL_REGIONS
from sagemaker_finetuning.core.validation import model_regions


class ContextError(ValueError):
    """A cdk.json / ``-c`` context value of the wrong kind (raised before anything is defined)."""


def _flag(ctx: Callable[[str], Any], key: str) -> bool:
    value = ctx(key)
    if value is None or value is False or value is True:
        return bool(value)
    if str(value).lower() in ("1", "true", "yes"):
        return True
    if str(value).lower() in ("", "0", "false", "no"):
        return False
    raise ContextError(f"context {key}: received {value!r}; expected true or false")


def _number(ctx: Callable[[str], Any], key: str, default: float, *, integer: bool = False) -> float:
    value = ctx(key)
    if value is None or value == "":
        return default
    try:
        number = int(str(value)) if integer else float(str(value))
    except ValueError:
        raise ContextError(f"context {key}: received {value!r}; expected {'a whole' if integer else 'a'} number") from None
    if not number > 0 or number == float("inf"):
        raise ContextError(f"context {key}: received {value!r}; expected a positive number")
    return number


#: The construct prop each context value becomes (a prop error names the context key too).
_CONTEXT_OF_PROP = {
    "base_model": "baseModel", "model_package_group_name": "modelPackageGroupName", "model_id": "judgeModelId",
    "judge_model": "judgeModelId", "mlflow_resource_arn": "mlflowResourceArn", "max_runtime": "maxRuntimeHours",
    "min_poll_interval": "minPollSeconds", "max_poll_interval": "maxPollSeconds", "dataset_fan_out_size": "datasetFanOutMiB",
    "max_sweep_configurations": "maxSweepConfigurations",
}


def build_app(app: cdk.App | None = None) -> cdk.App:
    """The app, with a :class:`ContextError` naming the context key for any value the constructs refuse."""
    app = app or cdk.App()
    try:
        return _build(app)
    except InvalidProp as exc:
        key = _CONTEXT_OF_PROP.get(exc.prop)
        if key is None:
            raise
        raise ContextError(f"context {key}: {exc}") from None


def _environment() -> cdk.Environment | None:
    """The CLI's account and region (CDK_DEFAULT_*): a known region lets the synth check what it offers.
    Without them the stack is environment-agnostic and region checks wait for the executions."""
    region, account = os.environ.get("CDK_DEFAULT_REGION"), os.environ.get("CDK_DEFAULT_ACCOUNT")
    return cdk.Environment(account=account, region=region) if region else None


def _evaluation_judges(model_id: str | None) -> list[EvaluationJudgeModel]:
    """The LLM-as-judge evaluator model the stack grants (context evaluationJudgeModelId; none by default)."""
    if not model_id:
        return []
    try:
        return [EvaluationJudgeModel(model_id)]
    except InvalidProp as error:
        raise ContextError(f"context evaluationJudgeModelId: received {model_id!r}; expected {error.expected}") from None


def _regional(stack: cdk.Stack, base_model: str, judge_id: str | None) -> JudgeModel | None:
    """Region-specific defaults degrade with a warning (and the context key to change), never a traceback."""
    region = stack.region
    judge = JudgeModel(judge_id) if judge_id else None
    if cdk.Token.is_unresolved(region):
        return judge
    if judge is not None and not judge.is_offered_in(region):
        offered = [j.model_id for j in JudgeModel.offered_in(region)]
        cdk.Annotations.of(stack).add_warning_v2("sagemaker-finetuning:judgeNotOffered", (
            f"judge {judge.model_id} is not offered in {region}: the stack grants no RLAIF judge, so RLAIF runs "
            f"will be refused. " + (f"Set -c judgeModelId=<one of {', '.join(offered)}>." if offered else
                                     "No RLAIF judge is offered in this region; judges are offered in "
                                     f"{', '.join(sorted({r for j in JUDGE_MODEL_REGIONS.values() for r in j}))}.")))
        judge = None
    if region not in model_regions(base_model):
        cdk.Annotations.of(stack).add_warning_v2("sagemaker-finetuning:modelNotOffered", (
            f"base model {base_model} is not customizable in {region} (serverless customization offers it in "
            f"{', '.join(model_regions(base_model))}): executions must name a model offered here in 'model', "
            "or set -c baseModel=<model id>, or deploy to one of those regions."))
    return judge


def _build(app: cdk.App) -> cdk.App:
    ctx = app.node.try_get_context
    name = ctx("stackName") or "SageMakerFineTuning"
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", name):
        raise ContextError(f"context stackName: received {name!r}; expected a CloudFormation stack name "
                           "(a letter, then up to 127 letters, digits and hyphens)")
    stack = cdk.Stack(app, name, env=_environment(),
                      description="SageMaker AI serverless fine-tuning (sagemaker-finetuning-constructs)")
    destroy = _flag(ctx, "destroyOnDelete")
    base_model = ctx("baseModel") or DEFAULT_BASE_MODEL
    ft = ServerlessFineTuning(
        stack, "FineTuning",
        base_model=base_model,
        storage=FineTuningStorage.new_bucket(auto_delete_objects=destroy),
        model_package_group=ModelPackageGroupSource.new_group(ctx("modelPackageGroupName")),
        judge_model=_regional(stack, base_model, ctx("judgeModelId") or None),
        evaluation_judge_models=_evaluation_judges(ctx("evaluationJudgeModelId") or None),
        mlflow_resource_arn=ctx("mlflowResourceArn") or None,
        removal_policy=cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN,
        max_runtime=cdk.Duration.seconds(round(_number(ctx, "maxRuntimeHours", 24) * 3600)),
        min_poll_interval=cdk.Duration.seconds(_number(ctx, "minPollSeconds", 60, integer=True)),
        max_poll_interval=cdk.Duration.seconds(_number(ctx, "maxPollSeconds", 900, integer=True)),
        dataset_fan_out_size=cdk.Size.mebibytes(_number(ctx, "datasetFanOutMiB", 5120, integer=True)),
        max_sweep_configurations=int(_number(ctx, "maxSweepConfigurations", 50, integer=True)),
        notifications=Notifications.new_topic() if _flag(ctx, "enableNotifications") else Notifications.none(),
    )
    for key, (value, description) in ft.outputs().items():
        cdk.CfnOutput(stack, key, value=value, description=description)
    return app


if __name__ == "__main__":
    build_app().synth()
