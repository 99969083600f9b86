"""End-to-end harness: the real synthesized app deployed to the offline emulator, executions run
by moto's Step Functions interpreter, Lambdas by our in-emulator runner, training SIMULATED."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

JOB_SECONDS = 3.0
#: The emulator's MLflow app (any ARN: the emulator does not check it exists).
MLFLOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-demo"
CONTEXT = {"destroyOnDelete": "true", "minPollSeconds": "1", "maxPollSeconds": "2", "judgeModelId": "openai.gpt-oss-120b-1:0",
           "mlflowResourceArn": MLFLOW_ARN, "datasetFanOutMiB": "1", "evaluationJudgeModelId": "anthropic.claude-haiku-4-5-20251001-v1:0"}  # datasets above 1 MiB take the Distributed Map


class Harness:
    def __init__(self, emu: Any, outputs: dict[str, str], uris: dict[str, str]):
        self.emu, self.outputs, self.uris = emu, outputs, uris
        kw = emu.client_kwargs()
        self.sfn, self.sm, self.s3 = (boto3.client(n, **kw) for n in ("stepfunctions", "sagemaker", "s3"))
        self.control = emu.control
        self.arn = outputs["StateMachineArn"]

    def start(self, payload: dict[str, Any], name: str | None = None) -> str:
        name = name or f"e2e-{uuid.uuid4().hex[:12]}"
        return self.sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(payload))["executionArn"]

    def wait(self, arn: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            desc = self.sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"{arn} still RUNNING after {timeout} s")
            time.sleep(0.25)

    def run(self, payload: dict[str, Any], timeout: float = 60, **kw: Any) -> dict[str, Any]:
        return self.wait(self.start(payload, **kw), timeout)

    def history(self, arn: str) -> list[dict[str, Any]]:
        return self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]

    def emu_clients(self, service: str) -> Any:
        return boto3.client(service, **self.emu.client_kwargs())

    def physical_id(self, resource_type: str, construct_id: str) -> str:
        """The deployed name of the workflow's resource ``construct_id`` (e.g. ``AWS::Events::Rule``, ``SweepOrphanedJobs``)."""
        cfn = self.emu_clients("cloudformation")
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName="SageMakerFineTuning"):
            for res in page["StackResourceSummaries"]:
                if res["ResourceType"] == resource_type and res["LogicalResourceId"].startswith(f"FineTuningWorkflow{construct_id}"):
                    return res["PhysicalResourceId"]
        raise KeyError(construct_id)

    def rule(self, construct_id: str) -> str:
        return self.physical_id("AWS::Events::Rule", construct_id)

    def job_names(self) -> list[str]:
        return [j["TrainingJobName"] for j in self.sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]]

    def wait_job(self, name: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                job = self.sm.describe_training_job(TrainingJobName=name)
            except self.sm.exceptions.ClientError as exc:  # not created yet
                if "Could not find" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.25)
                continue
            if job["TrainingJobStatus"] in statuses:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {name} is {job['TrainingJobStatus']}, not one of {statuses}")
            time.sleep(0.25)


@pytest.fixture(scope="package")
def harness(tmp_path_factory) -> Harness:
    import aws_cdk as cdk
    from app import build_app

    from sagemaker_finetuning_emulator import Emulator
    from sagemaker_finetuning_emulator.demo import deploy_assembly, stack_outputs, upload_samples

    outdir: Path = tmp_path_factory.mktemp("e2e-cdk.out")
    app = build_app(cdk.App(outdir=str(outdir), context=CONTEXT))
    app.synth()
    with Emulator(port=0, job_seconds=JOB_SECONDS) as emu:
        kw = emu.client_kwargs()
        clients = {n: boto3.client(n, **kw) for n in ("s3", "cloudformation", "ssm")}
        deploy_assembly(clients, outdir)
        outputs = stack_outputs(clients["cloudformation"])
        uris = upload_samples(clients["s3"], outputs["BucketName"])
        yield Harness(emu, outputs, uris)
