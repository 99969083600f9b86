"""The `finetune` CLI driven against the deployed app on the local emulator."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sagemaker_finetuning.cli import cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def run(harness, monkeypatch):
    for key, value in harness.emu.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_start_watch_status_list(run, harness):
    started = run("start", "-t", "sft", "-d", harness.uris["sft"], "--validate-dataset", "--name", "cli-run-1",
                  "--watch", "--interval", "0.5")
    assert started.exit_code == 0, started.output
    status = run("status", "cli-run-1", "--json")
    assert status.exit_code == 0, status.output
    doc = json.loads(status.output)
    assert "SUCCEEDED" in json.dumps(doc) and "huggingface-reasoning-qwen3-06b-sft-" in json.dumps(doc)
    listed = run("list")
    assert listed.exit_code == 0 and "cli-run-1" in listed.output


def test_stop_stops_the_execution_and_its_job(run, harness):
    started = run("start", "-t", "sft", "-d", harness.uris["sft"], "--name", "cli-run-2", "--training-job-name", "cli-stopped-job",
                  "--tag", "sim:duration-seconds=60")
    assert started.exit_code == 0, started.output
    harness.wait_job("cli-stopped-job", {"InProgress"})
    stopped = run("stop", "cli-run-2", "--yes")
    assert stopped.exit_code == 0, stopped.output
    assert harness.wait_job("cli-stopped-job", {"Stopping", "Stopped"})["TrainingJobStatus"] in ("Stopping", "Stopped")


def test_bad_input_is_one_line_and_starts_nothing(run, harness):
    before = len(harness.sfn.list_executions(stateMachineArn=harness.arn)["executions"])
    result = run("start", "-t", "sft", "-d", harness.uris["sft"], "--set", "epochs=3")
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    # one line per problem (path, value received, expectation), then one summary line
    assert len(lines) == 2 and "epochs: received 3" in lines[0] and "nothing was started" in lines[1], result.output
    assert len(harness.sfn.list_executions(stateMachineArn=harness.arn)["executions"]) == before
