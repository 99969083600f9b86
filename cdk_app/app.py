"""The ready-to-deploy app: one stack with the ServerlessFineTuning pattern and its outputs.

Context values (cdk.json defaults, override with ``-c key=value``): ``stackName``, ``baseModel``,
``modelPackageGroupName``, ``judgeModelId``, ``destroyOnDelete`` (demo stacks: delete bucket and
group with the stack), ``minPollSeconds`` / ``maxPollSeconds``, ``maxRuntimeHours``,
``enableNotifications`` (SNS topic), ``mlflowResourceArn`` (the MLflow app or tracking server jobs
log to). No context lookups and no Docker: ``cdk synth`` works offline
without credentials.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

import aws_cdk as cdk

from sagemaker_finetuning import (
    DEFAULT_BASE_MODEL,
    FineTuningStorage,
    InvalidProp,
    JudgeModel,
    ModelPackageGroupSource,
    Notifications,
    ServerlessFineTuning,
)


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
    "min_poll_interval": "minPollSeconds", "max_poll_interval": "maxPollSeconds"
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


def _build(app: cdk.App) -> cdk.App:
    ctx = app.node.try_get_context
    env = None
    if os.environ.get("CDK_DEFAULT_REGION") and os.environ.get("CDK_DEFAULT_ACCOUNT"):
        env = cdk.Environment(account=os.environ["CDK_DEFAULT_ACCOUNT"], region=os.environ["CDK_DEFAULT_REGION"])
    name = ctx("stackName") or "SageMakerFineTuning"
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", name):
        raise ContextError(f"context stackName: received {name!r}; expected a CloudFormation stack name "
                           "(a letter, then up to 127 letters, digits and hyphens)")
    stack = cdk.Stack(app, name, env=env,
                      description="SageMaker AI serverless fine-tuning (sagemaker-finetuning-constructs)")
    destroy = _flag(ctx, "destroyOnDelete")
    judge = ctx("judgeModelId") or None
    mlflow = ctx("mlflowResourceArn") or None
    ft = ServerlessFineTuning(
        stack, "FineTuning",
        base_model=ctx("baseModel") or DEFAULT_BASE_MODEL,
        storage=FineTuningStorage.new_bucket(auto_delete_objects=destroy),
        model_package_group=ModelPackageGroupSource.new_group(ctx("modelPackageGroupName")),
        judge_model=JudgeModel(judge) if judge else None,
        mlflow_resource_arn=mlflow,
        removal_policy=cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN,
        max_runtime=cdk.Duration.seconds(round(_number(ctx, "maxRuntimeHours", 24) * 3600)),
        min_poll_interval=cdk.Duration.seconds(_number(ctx, "minPollSeconds", 60, integer=True)),
        max_poll_interval=cdk.Duration.seconds(_number(ctx, "maxPollSeconds", 900, integer=True)),
        notifications=Notifications.new_topic() if _flag(ctx, "enableNotifications") else Notifications.none(),
    )
    for key, (value, description) in ft.outputs().items():
        cdk.CfnOutput(stack, key, value=value, description=description)
    return app


if __name__ == "__main__":
    build_app().synth()
