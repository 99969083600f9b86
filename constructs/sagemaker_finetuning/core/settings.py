"""The stack's settings, as the workflow Lambda receives them (environment variables).

The CDK construct writes these; the pure planner takes a ``StackSettings`` value so tests and the
CLI can build one without any environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class StackSettings:
    region: str
    account: str
    partition: str
    role_arn: str
    bucket: str
    output_prefix: str = "outputs/"
    dataset_prefix: str = "datasets/"
    prompt_prefix: str = "prompts/"
    #: The CloudFormation stack id: every job the workflow creates carries it as a tag.
    stack_id: str | None = None
    #: Further groups (besides ``model_package_group_name``) the training role may register into.
    model_package_groups: tuple[str, ...] = ()
    #: Buckets the training role may read datasets from (the stack bucket is always one).
    dataset_buckets: tuple[str, ...] = ()
    model_package_group_name: str | None = None
    base_model: str | None = None
    reward_evaluator_arn: str | None = None
    #: Lambda ARNs (unqualified) the stack may invoke as reward functions.
    reward_function_arns: tuple[str, ...] = ()
    #: Evaluator ARN -> Lambda ARN of the reward functions the stack registered itself.
    reward_evaluators: Mapping[str, str] = field(default_factory=dict)
    judge_model_id: str | None = None
    #: Judges the training role may invoke (Bedrock); ``judge_model_id`` is the first.
    judge_model_ids: tuple[str, ...] = ()
    judge_prompt: str | None = None
    #: Bedrock evaluator models the training role may invoke for LLM-as-judge evaluations (the first is the default).
    evaluation_judge_model_ids: tuple[str, ...] = ()
    mlflow_resource_arn: str | None = None
    kms_key_arn: str | None = None
    max_runtime_seconds: int = 86400
    #: A run's budget in billable tokens when its input gives none (``budget.max_tokens``); None: no budget.
    default_budget_tokens: int | None = None
    #: The most configurations a sweep may have (``sweep``; construct prop ``max_sweep_configurations``).
    max_sweep_configurations: int = 50
    hub_name: str = "SageMakerPublicHub"
    stack_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def readable_buckets(self) -> tuple[str, ...]:
        return (self.bucket, *[b for b in self.dataset_buckets if b != self.bucket])

    def group_arn(self, name: str) -> str:
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:model-package-group/{name}"

    def owns(self, partition: str, region: str, account: str) -> bool:
        """An ARN of this stack's partition, region and account."""
        return (partition, region, account) == (self.partition, self.region, self.account)

    @property
    def granted_groups(self) -> tuple[str, ...]:
        """The groups the training role may register into (and read packages of)."""
        return tuple(g for g in (self.model_package_group_name, *self.model_package_groups) if g)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "StackSettings":
        """Read ``FINETUNE_SETTINGS`` (a JSON document) plus the Lambda region."""
        env = os.environ if env is None else env
        raw = json.loads(env["FINETUNE_SETTINGS"])
        raw.setdefault("region", env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"))
        for key in ("dataset_buckets", "reward_function_arns", "model_package_groups", "judge_model_ids", "evaluation_judge_model_ids"):
            raw[key] = tuple(raw.get(key) or ())
        return cls(**raw)
