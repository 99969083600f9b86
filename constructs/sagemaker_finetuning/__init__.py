"""AWS CDK constructs for Amazon SageMaker AI serverless fine-tuning (SFT, DPO, RLVR, RLAIF).

Construct classes load lazily, so ``sagemaker_finetuning.lambda_src`` (the Lambda code) and the
CLI import without ``aws_cdk``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # the pattern and its options
    "ServerlessFineTuning": "pattern",
    "DEFAULT_BASE_MODEL": "pattern",
    "FineTuningStorage": "storage.bucket",
    "ModelPackageGroupSource": "registry.model_package_group",
    "RewardFunctionSource": "rewards.reward_function",
    "JudgePromptSource": "rewards.judge_prompt",
    "Notifications": "workflow.notifications",
    # the constructs, by AWS concern
    "FineTuningBucket": "storage.bucket",
    "DataLocations": "storage.bucket",
    "FineTuningExecutionRole": "access.execution_role",
    "ModelPackageGroup": "registry.model_package_group",
    "IModelPackageGroup": "registry.model_package_group",
    "HubEvaluator": "registry.hub_evaluator",
    "EvaluatorType": "registry.hub_evaluator",
    "RewardFunction": "rewards.reward_function",
    "RewardContract": "rewards.reward_function",
    "JudgePrompt": "rewards.judge_prompt",
    "JudgePromptTemplate": "rewards.judge_prompt",
    "JudgeModel": "rewards.judges",
    "EvaluationJudgeModel": "rewards.judges",
    "BuiltinJudgePrompt": "rewards.judges",
    "FineTuningWorkflow": "workflow.construct",
    "FineTuningJob": "workflow.job",
    "DatasetTrigger": "workflow.triggers",
    "ScheduleTrigger": "workflow.triggers",
    "MetricOptions": "support.metrics",
    "InvalidProp": "support.props",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
