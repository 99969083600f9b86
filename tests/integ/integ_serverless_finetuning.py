"""CDK integration test (``integ-runner``): the state machine takes a tiny SFT run to a training job.

What a real run deploys (``make integ-snapshot`` only synthesizes it, offline; see ``README.md`` beside
this file): a small, destroyable ``ServerlessFineTuning`` stack (no reward function, DESTROY
everywhere, buckets emptied on deletion), then the assertions, in this order:

1. the stack's outputs exist (CloudFormation ``DescribeStacks``);
2. a few SFT JSONL records are put into the bucket's dataset prefix (S3 ``PutObject``: no asset,
   no Docker);
3. an execution starts with a tiny SFT input (``StartExecution``);
4. the training job it launches exists, runs as the stack's role, and the execution is still
   running (tracking it) — polled with ``DescribeTrainingJob`` / ``DescribeExecution``;
5. the execution is stopped (``StopExecution``), and the workflow's clean-up stops the job: polled
   until ``DescribeTrainingJob`` says Stopping or Stopped.

The job's name is given in the input (unique per deployment: the assertion stack's id), so the
assertions can find it; its ``MaxRuntimeInSeconds`` (15 minutes) bounds the spend even if every
clean-up failed. The base model is the library's ``DEFAULT_BASE_MODEL``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import schema_compat
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import integ_tests_alpha as integ

from sagemaker_finetuning import (
    DEFAULT_BASE_MODEL,
    FineTuningStorage,
    ModelPackageGroupSource,
    RewardFunctionSource,
    ServerlessFineTuning,
)

#: Polling of the assertions that wait (each poll is one Lambda invocation).
POLL = cdk.Duration.seconds(15)
#: Job creation takes the workflow's validation, hub look-up and dataset check (well under a minute).
JOB_TIMEOUT = cdk.Duration.minutes(10)
#: The safety net of the job itself: SageMaker stops it after this long whatever happens.
JOB_MAX_RUNTIME_SECONDS = 900


def sft_records(n: int = 16) -> str:
    """``n`` tiny SFT records (prompt / completion JSONL), the same on every synth."""
    lines = []
    for i in range(n):
        a, b = 3 + 7 * i, 11 + 5 * i
        lines.append(json.dumps({"prompt": f"What is {a} + {b}?", "completion": f"{a} + {b} = {a + b}. The answer is {a + b}."}))
    return "\n".join(lines) + "\n"


BUCKET, JOB = "@BUCKET@", "@JOB@"


def json_string_parameter(document: dict[str, Any], tokens: dict[str, str]) -> str:
    """``document`` as JSON text, for an assertion parameter whose API wants a JSON string.

    The assertion provider sends each parameter as ``JSON.stringify(value)``, which leaves the
    literal parts of a value with tokens unescaped (``"{"a": ...}"`` then reaches the handler, which
    cannot parse it and passes it on as is, quotes and all). So the literal parts are given already
    escaped as the body of a JSON string; the placeholders in ``document`` become ``tokens``, whose
    values (bucket and job names) need no escaping.
    """
    body = json.dumps(json.dumps(document, sort_keys=True))[1:-1]
    pieces = re.split("(" + "|".join(map(re.escape, tokens)) + ")", body)
    return cdk.Fn.join("", [tokens.get(piece, piece) for piece in pieces if piece])


def fine_tuning_stack(app: cdk.App) -> tuple[cdk.Stack, ServerlessFineTuning]:
    stack = cdk.Stack(app, "SageMakerFineTuningInteg",
                      description="Integration test of sagemaker-finetuning-constructs (destroyed after the test)")
    # The access logs bucket is one the test empties on deletion too (S3 delivers logs late).
    access_logs = s3.Bucket(
        stack, "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED, block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=True,
    )
    ft = ServerlessFineTuning(
        stack, "FineTuning",
        base_model=DEFAULT_BASE_MODEL,
        storage=FineTuningStorage.new_bucket(auto_delete_objects=True, server_access_logs_bucket=access_logs),
        model_package_group=ModelPackageGroupSource.new_group(),
        reward_function=RewardFunctionSource.none(),
        removal_policy=cdk.RemovalPolicy.DESTROY,
        max_runtime=cdk.Duration.hours(1),
        min_poll_interval=cdk.Duration.seconds(30),
        max_poll_interval=cdk.Duration.minutes(2),
        log_retention=logs.RetentionDays.ONE_DAY,
    )
    for key, (value, description) in ft.outputs().items():
        cdk.CfnOutput(stack, key, value=value, description=description)
    return stack, ft


def add_assertions(test: integ.IntegTest, stack: cdk.Stack, ft: ServerlessFineTuning) -> None:
    assertions = test.assertions
    for key, (value, _) in ft.outputs().items():
        assertions.aws_api_call("CloudFormation", "describeStacks", {"StackName": stack.stack_name}).expect(
            integ.ExpectedResult.object_like({"Stacks": integ.Match.array_with([integ.Match.object_like({
                "Outputs": integ.Match.array_with([integ.Match.object_like({"OutputKey": key, "OutputValue": value})]),
            })])}))

    key = f"{ft.locations.dataset_prefix}sft/integ-train.jsonl"
    upload = assertions.aws_api_call("S3", "putObject", {"Bucket": ft.bucket.bucket_name, "Key": key, "Body": sft_records()})
    # Unique per deployment of the assertion stack (a job name can never be used twice in an account).
    job_name = cdk.Fn.join("-", ["integ-sft", cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID))])
    execution_input = json_string_parameter({
        "technique": "SFT",
        "training_dataset": f"s3://{BUCKET}/{key}",
        "training_job_name": JOB,
        "max_runtime_in_seconds": JOB_MAX_RUNTIME_SECONDS,
        "tags": {"purpose": "integ-test"},
    }, {BUCKET: ft.bucket.bucket_name, JOB: job_name})
    start = assertions.aws_api_call("StepFunctions", "startExecution", {
        "stateMachineArn": ft.state_machine.state_machine_arn, "input": execution_input,
    })
    execution_arn = start.get_att_string("executionArn")
    job_exists = assertions.aws_api_call("SageMaker", "describeTrainingJob", {"TrainingJobName": job_name}).expect(
        integ.ExpectedResult.object_like({"TrainingJobName": job_name, "RoleArn": ft.execution_role.role_arn}),
    ).wait_for_assertions(total_timeout=JOB_TIMEOUT, interval=POLL)
    still_running = assertions.aws_api_call("StepFunctions", "describeExecution", {"executionArn": execution_arn}).expect(
        integ.ExpectedResult.object_like({"status": "RUNNING"}),
    )
    stop = assertions.aws_api_call("StepFunctions", "stopExecution", {
        "executionArn": execution_arn, "cause": "integration test: the job was launched; stopping it",
    })
    job_stopped = assertions.aws_api_call("SageMaker", "describeTrainingJob", {"TrainingJobName": job_name}).expect(
        integ.ExpectedResult.object_like({"TrainingJobStatus": integ.Match.string_like_regexp("^Stop(ping|ped)$")}),
    ).wait_for_assertions(total_timeout=JOB_TIMEOUT, interval=POLL)
    upload.next(start).next(job_exists).next(still_running).next(stop).next(job_stopped)


def build() -> cdk.App:
    app = cdk.App(context={
        # The assertion stack reads the test stack's outputs through exports (CDK's current default, made explicit).
        "@aws-cdk/core:defaultCrossStackReferences": "strong",
    })
    stack, ft = fine_tuning_stack(app)
    test = integ.IntegTest(
        app, "ServerlessFineTuningInteg",
        test_cases=[stack],
        # Every run is a fresh stack (nothing to update from), and the snapshot compares templates
        # with asset hashes left out (CDK's default): a Lambda change alone needs no new snapshot.
        stack_update_workflow=False,
        diff_assets=False,
    )
    add_assertions(test, stack, ft)
    return app


if __name__ == "__main__":
    schema_compat.synth(build())
