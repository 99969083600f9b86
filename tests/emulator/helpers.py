"""Helpers shared by the emulator tests."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any, Callable

from botocore.config import Config

from sagemaker_finetuning_emulator import hub_data

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/test-role"
BASE_MODEL_ARN = hub_data.hub_content_arn(REGION, hub_data.DEFAULT_MODEL_ID)
#: No retries and no client-side validation: the tests look at what the server answers.
RAW = Config(retries={"total_max_attempts": 1}, parameter_validation=False)


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def ensure_role(iam: Any, name: str = "test-role") -> str:
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def drain_queue(sqs: Any, url: str, timeout: float = 5.0, until: Callable[[list[dict[str, Any]]], bool] | None = None) -> list[dict[str, Any]]:
    """Receive messages until ``until(bodies)`` holds (or the queue stays empty when until is None)."""
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        for m in msgs:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if until is not None and until(bodies):
            return bodies
        if not msgs:
            if until is None:
                return bodies
            time.sleep(0.05)
    if until is not None:
        raise AssertionError(f"queue condition not met; got {bodies}")
    return bodies


def serverless_job(name: str, group_arn: str | None = None, bucket: str = "data", **extra: Any) -> dict[str, Any]:
    req: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE_ARN,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3Uri": f"s3://{bucket}/train/", "S3DataType": "S3Prefix"}},
            }
        ],
        "HyperParameters": {"max_epochs": "2", "learning_rate": "0.0001"},
        "ServerlessJobConfig": {
            "BaseModelArn": BASE_MODEL_ARN,
            "JobType": "FineTuning",
            "CustomizationTechnique": "SFT",
            "Peft": "LORA",
            "SequenceLength": "4K",
        },
    }
    if group_arn:
        req["ModelPackageConfig"] = {"ModelPackageGroupArn": group_arn}
    req.update(extra)
    return req


def ensure_data(s3: Any, bucket: str = "data") -> None:
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001 - exists
        pass
    s3.put_object(Bucket=bucket, Key="train/data.jsonl", Body=b'{"prompt": "hi", "completion": "there"}\n' * 50)
