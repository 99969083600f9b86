"""Server mode, the moto self-check and the one-emulator-per-process rule."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest

from sagemaker_finetuning_emulator import Emulator, _patching, hub_data, patches
from sagemaker_finetuning_emulator.control import EmulatorControl


def test_self_check_fails_loudly_on_missing_symbols_or_other_moto(monkeypatch):
    checked = patches.self_check()
    assert "moto.awslambda.models:LambdaFunction.invoke" in checked and len(checked) > 40
    with pytest.raises(_patching.EmulatorIncompatible, match="LambdaFunction.no_such_method"):
        patches.self_check(extra=[_patching.Requirement("moto.awslambda.models:LambdaFunction.no_such_method")])
    with pytest.raises(_patching.EmulatorIncompatible, match="lacks parameter"):
        patches.self_check(extra=[_patching.Requirement("moto.awslambda.models:LambdaFunction.invoke", ("payload",))])
    import moto

    monkeypatch.setattr(moto, "__version__", "5.3.0")
    monkeypatch.delenv(_patching.ALLOW_UNPINNED_ENV, raising=False)
    with pytest.raises(_patching.EmulatorIncompatible, match="moto 5.3.0 is installed"):
        patches.self_check()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_in_a_separate_process_until_sigterm(tmp_path):
    port = _free_port()
    env = dict(os.environ, FINETUNE_SIM_JOB_SECONDS="0.5")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_finetuning_emulator", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if f"listening on http://localhost:{port}" in line:
                break
        else:  # pragma: no cover
            pytest.fail("".join(lines))
        endpoint = f"http://localhost:{port}"
        sm = boto3.client(
            "sagemaker", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        content = sm.describe_hub_content(
            HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=hub_data.DEFAULT_MODEL_ID
        )
        assert content["HubContentVersion"] == hub_data.model(hub_data.DEFAULT_MODEL_ID)["version"]
        status = EmulatorControl(endpoint).status()
        assert status["endpoint_url"] == endpoint and status["sim"]["job_seconds"] == 0.5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_only_one_emulator_per_process():
    with Emulator(port=0) as first:
        assert first.endpoint_url == f"http://localhost:{first.port}"
        with pytest.raises(RuntimeError, match="already running"):
            Emulator(port=0).start()


def test_patches_are_inert_once_the_emulator_stopped():
    """Other tests of the same process that use moto in decorator mode see stock moto."""
    from moto import mock_aws
    from moto.core.config import default_user_config

    with Emulator(port=0):
        assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    assert default_user_config["stepfunctions"].get("execute_state_machine") is False
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        sm.create_training_job(
            TrainingJobName="stock",
            RoleArn="arn:aws:iam::123456789012:role/x",
            AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
            OutputDataConfig={"S3OutputPath": "s3://b/o"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
        assert sm.describe_training_job(TrainingJobName="stock")["TrainingJobStatus"] == "Completed"  # moto's own


def test_every_start_begins_from_empty_backends_and_default_settings():
    """moto keeps its backends in the process: a second emulator must not find the first one's
    stacks (the e2e order-dependence: 'AlreadyExistsException' on the second deploy)."""
    template = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}'
    with Emulator(port=0, job_seconds=0.3) as first:
        cfn = boto3.client("cloudformation", **first.client_kwargs())
        cfn.create_stack(StackName="Leftover", TemplateBody=template)
        boto3.client("s3", **first.client_kwargs()).create_bucket(Bucket="leftover-bucket")
        first.control.inject_fault("CreateTrainingJob")
        first.control.set_sim(speed=5)
    with Emulator(port=0) as second:
        kw = second.client_kwargs()
        assert boto3.client("cloudformation", **kw).describe_stacks()["Stacks"] == []
        buckets = [b["Name"] for b in boto3.client("s3", **kw).list_buckets()["Buckets"]]
        assert buckets == ["jumpstart-cache-prod-us-east-1"]  # only the seeded public-hub recipes
        status = second.control.status()
        assert second.control.faults() == [] and status["sim"]["speed"] == 1.0 and status["sim"]["job_seconds"] == 3.0
        boto3.client("cloudformation", **kw).create_stack(StackName="Leftover", TemplateBody=template)
