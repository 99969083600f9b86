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

import aws_cdk as cdk

from sagemaker_finetuning import (
    DEFAULT_BASE_MODEL,
    FineTuningStorage,
    JudgeModel,
    ModelPackageGroupSource,
    Notifications,
    ServerlessFineTuning,
)


def _flag(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    ctx = app.node.try_get_context
    env = None
    if os.environ.get("CDK_DEFAULT_REGION") and os.environ.get("CDK_DEFAULT_ACCOUNT"):
        env = cdk.Environment(account=os.environ["CDK_DEFAULT_ACCOUNT"], region=os.environ["CDK_DEFAULT_REGION"])
    stack = cdk.Stack(app, ctx("stackName") or "SageMakerFineTuning", env=env,
                      description="SageMaker AI serverless fine-tuning (sagemaker-finetuning-constructs)")
    destroy = _flag(ctx("destroyOnDelete") or False)
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
        max_runtime=cdk.Duration.hours(float(ctx("maxRuntimeHours") or 24)),
        min_poll_interval=cdk.Duration.seconds(int(ctx("minPollSeconds") or 60)),
        max_poll_interval=cdk.Duration.seconds(int(ctx("maxPollSeconds") or 900)),
        notifications=Notifications.new_topic() if _flag(ctx("enableNotifications") or False) else Notifications.none(),
    )
    for key, (value, description) in ft.outputs().items():
        cdk.CfnOutput(stack, key, value=value, description=description)
    return app


if __name__ == "__main__":
    build_app().synth()
