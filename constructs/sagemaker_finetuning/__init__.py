"""AWS CDK constructs for Amazon SageMaker AI serverless fine-tuning (SFT, DPO, RLVR, RLAIF).

Construct classes load lazily, so ``sagemaker_finetuning.lambda_src`` (the Lambda code) and the
CLI import without ``aws_cdk``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "FineTuningBucket": "bucket",
    "FineTuningExecutionRole": "execution_role",
    "ModelPackageGroup": "model_package_group",
    "IModelPackageGroup": "model_package_group",
    "HubEvaluator": "hub_evaluator",
    "RewardFunction": "reward_function",
    "JudgePrompt": "judge_prompt",
    "FineTuningWorkflow": "workflow",
    "JudgeModel": "judges",
    "BuiltinJudgePrompt": "judges",
    "ServerlessFineTuning": "pattern",
    "DEFAULT_BASE_MODEL": "pattern",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
