"""DatasetTrigger on the deployed app (issue 12 §3): a dataset copied under the watched prefix starts
an execution of the app's state machine that trains on it; a redelivered event cannot start a
second training job.

Until ``ServerlessFineTuning.add_dataset_trigger`` wires the trigger into the app, the trigger is
deployed as a second stack next to the app (the app's state machine and bucket imported by name),
and the bucket's EventBridge notifications are switched on through the API, as the pattern's own
``FineTuningBucket`` will do in its template.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.e2e

PREFIX = "datasets/trigger-e2e/"
STACK = "FineTuningTriggerE2e"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _template(state_machine_arn: str, bucket_name: str) -> tuple[dict[str, Any], str]:
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_stepfunctions as sfn

    from sagemaker_finetuning import DatasetTrigger

    app = cdk.App()
    stack = cdk.Stack(app, STACK, env=cdk.Environment(account="123456789012", region="us-east-1"),
                      synthesizer=cdk.BootstraplessSynthesizer())
    trigger = DatasetTrigger(
        stack, "Nightly", prefix=PREFIX, input={"technique": "SFT"},
        state_machine=sfn.StateMachine.from_state_machine_arn(stack, "Machine", state_machine_arn),
        bucket=s3.Bucket.from_bucket_name(stack, "Data", bucket_name),
    )
    return app.synth().get_stack_by_name(STACK).template, trigger.job_name_prefix


@pytest.fixture(scope="module")
def trigger(harness) -> Iterator[str]:
    bucket = harness.outputs["BucketName"]
    cfn = harness.emu_clients("cloudformation")
    template, job_prefix = _template(harness.arn, bucket)
    harness.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    try:
        yield job_prefix
    finally:
        cfn.delete_stack(StackName=STACK)
        harness.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})


def _execution_for(harness, uri: str, timeout: float = 20) -> dict[str, Any]:
    """The execution of the app's state machine whose input trains on ``uri`` (started by the trigger)."""
    deadline = time.monotonic() + timeout
    while True:
        for run in harness.sfn.list_executions(stateMachineArn=harness.arn, maxResults=100)["executions"]:
            desc = harness.sfn.describe_execution(executionArn=run["executionArn"])
            if json.loads(desc["input"]).get("training_dataset") == uri:
                return desc
        if time.monotonic() > deadline:
            raise TimeoutError(f"no execution started for {uri}")
        time.sleep(0.25)


def test_new_dataset_starts_a_run_and_a_redelivery_starts_no_second_job(harness, trigger):
    bucket = harness.outputs["BucketName"]
    source_key = harness.uris["sft"].split(f"s3://{bucket}/", 1)[1]
    key = f"{PREFIX}2026-11-30.jsonl"
    harness.s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": source_key})
    harness.s3.put_object(Bucket=bucket, Key=f"{PREFIX}README.txt", Body=b"not a dataset")  # wrong suffix: no run

    started = _execution_for(harness, f"s3://{bucket}/{key}")
    sent = json.loads(started["input"])
    assert set(sent) == {"technique", "training_dataset", "training_job_name"} and sent["technique"] == "SFT"
    assert re.fullmatch(rf"{trigger}-{UUID}", sent["training_job_name"])
    done = harness.wait(started["executionArn"], timeout=90)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    job = harness.sm.describe_training_job(TrainingJobName=sent["training_job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{bucket}/{key}"

    # EventBridge delivers at least once: the same event again is a second execution with the same input,
    # which must end before creating anything (the job name is taken by another execution's job)
    jobs_before = harness.job_names()
    again = harness.wait(harness.start(sent), timeout=60)
    assert again["status"] == "FAILED" and again.get("error") == "TrainingJobNameInUse", (again.get("error"), again.get("cause"))
    assert sorted(harness.job_names()) == sorted(jobs_before)
    readme_runs = [r for r in harness.sfn.list_executions(stateMachineArn=harness.arn, maxResults=100)["executions"]
                   if "README" in harness.sfn.describe_execution(executionArn=r["executionArn"])["input"]]
    assert readme_runs == []
