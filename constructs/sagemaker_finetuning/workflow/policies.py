"""The workflow's retry and catch policies, in one table.

Every AWS call of the state machine retries what is transient (throttling, service faults, Lambda
capacity) and catches the rest: input errors (the core's named errors) end in ``InputRejected``,
anything else in ``WorkflowError``; ``ResourceInUse`` on CreateTrainingJob is its own branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn

from sagemaker_finetuning.core.errors import ERROR_NAMES

#: Errors of SageMaker SDK-integration calls worth retrying (throttling, transient service faults).
SAGEMAKER_RETRYABLE = (
    "SageMaker.ThrottlingException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.SageMakerException",
    "SageMaker.InternalFailureException",
    "SageMaker.ServiceUnavailableException",
    "SageMaker.SdkClientException",
)
DYNAMODB_RETRYABLE = (
    "DynamoDb.ProvisionedThroughputExceededException", "DynamoDb.ThrottlingException",
    "DynamoDb.InternalServerErrorException", "DynamoDb.RequestLimitExceededException", "DynamoDb.SdkClientException",
)
LAMBDA_RETRYABLE = (
    "Lambda.TooManyRequestsException", "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
)
#: CreateTrainingJob of a name that exists (the idempotent re-launch case).
RESOURCE_IN_USE = ("SageMaker.ResourceInUseException", "SageMaker.ResourceInUse")
#: The core's named input errors: the input cannot run as given (nothing was created).
INPUT_ERRORS = tuple(ERROR_NAMES)
ALL_ERRORS = ("States.ALL",)


@dataclass(frozen=True)
class RetryPolicy:
    errors: Sequence[str]
    interval: Duration
    max_attempts: int
    backoff_rate: float = 2
    max_delay: Optional[Duration] = None
    jitter: Optional[sfn.JitterType] = None

    def apply(self, state: sfn.TaskStateBase) -> sfn.TaskStateBase:
        state.add_retry(errors=list(self.errors), interval=self.interval, max_attempts=self.max_attempts,
                        backoff_rate=self.backoff_rate, max_delay=self.max_delay, jitter_strategy=self.jitter)
        return state


@dataclass(frozen=True)
class Policies:
    """The table: which retry each kind of call gets."""

    steps_lambda: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        (*LAMBDA_RETRYABLE, "Lambda.ClientExecutionTimeoutException"), Duration.seconds(2), 6, jitter=sfn.JitterType.FULL))
    verify_lambda: RetryPolicy = field(default_factory=lambda: RetryPolicy(LAMBDA_RETRYABLE, Duration.seconds(2), 6))
    sagemaker: RetryPolicy = field(default_factory=lambda: RetryPolicy(
        SAGEMAKER_RETRYABLE, Duration.seconds(2), 6, max_delay=Duration.seconds(60), jitter=sfn.JitterType.FULL))
    dynamodb: RetryPolicy = field(default_factory=lambda: RetryPolicy(DYNAMODB_RETRYABLE, Duration.seconds(1), 5))


POLICIES = Policies()


def catch_errors(state: sfn.TaskStateBase, *, rejected: sfn.IChainable, failed: sfn.IChainable,
                 input_errors: bool = True) -> sfn.TaskStateBase:
    """Input errors -> ``rejected`` (when the state can raise them), anything else -> ``failed``."""
    if input_errors:
        state.add_catch(rejected, errors=list(INPUT_ERRORS), result_path="$.error")
    state.add_catch(failed, errors=list(ALL_ERRORS), result_path="$.error")
    return state
