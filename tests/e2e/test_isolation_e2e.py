"""Isolation between executions of one shared stack: an execution touches only the job it created.

Jobs carry the stack's and the execution's tags; ResourceInUse is adopted only for the execution's
own job (a retried create, a redrive); an ended execution stops only its own job; a scheduled
sweeper stops this stack's jobs whose execution no longer runs, and nothing else.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.e2e

STACK_TAG, EXECUTION_TAG = "sagemaker-finetuning:stack-id", "sagemaker-finetuning:execution-arn"


def _tags(harness, name: str) -> dict[str, str]:
    arn = harness.sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"]
    return {t["Key"]: t["Value"] for t in harness.sm.list_tags(ResourceArn=arn)["Tags"]}


def _stack_id(harness) -> str:
    return harness.emu_clients("cloudformation").describe_stacks(StackName="SageMakerFineTuning")["Stacks"][0]["StackId"]


def _states(harness, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in harness.history(arn) if "stateEnteredEventDetails" in e]


def test_jobs_carry_the_stack_and_execution_tags(harness):
    desc = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": "e2e-tagged"})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    tags = _tags(harness, "e2e-tagged")
    assert tags[EXECUTION_TAG] == desc["executionArn"] and tags[STACK_TAG] == _stack_id(harness)


def test_naming_another_executions_running_job_touches_nothing_even_when_aborted(harness):
    """Team B names team A's running job: B fails by name; B aborted: A's job keeps running; A succeeds."""
    name = "e2e-team-a-job"
    team_a = harness.start({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": name,
                            "tags": {"sim:duration-seconds": "600"}})  # runs until the clock is advanced below
    harness.wait_job(name, {"InProgress"})
    team_b = harness.run({"technique": "DPO", "training_dataset": harness.uris["dpo"], "training_job_name": name})
    assert team_b["status"] == "FAILED" and team_b["error"] == "TrainingJobNameInUse", team_b
    assert "was not created by this execution" in team_b["cause"]
    states = _states(harness, team_b["executionArn"])
    assert "VerifyJobOwnership" in states and "DescribeTrainingJob" not in states and states[-1] == "InputRejected"
    # another team member aborts a second attempt while it runs: A's job is not stopped
    team_b2 = harness.start({"technique": "DPO", "training_dataset": harness.uris["dpo"], "training_job_name": name})
    time.sleep(1.0)
    harness.sfn.stop_execution(executionArn=team_b2, error="Aborted", cause="team B gave up")
    time.sleep(2.0)  # the ExecutionEnd clean-up runs for team B's execution
    assert harness.sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    harness.control.advance(600, job_name=name)  # A's job now completes
    done = harness.wait(team_a, timeout=60)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"])["training_job_name"] == name and harness.job_names().count(name) == 1


def test_reusing_a_finished_jobs_name_is_refused(harness):
    """A DPO run naming a finished SFT job must not 'succeed' with the SFT job's model package."""
    sft = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": "e2e-finished-sft"})
    assert sft["status"] == "SUCCEEDED"
    before = harness.sm.describe_training_job(TrainingJobName="e2e-finished-sft")
    dpo = harness.run({"technique": "DPO", "training_dataset": harness.uris["dpo"], "training_job_name": "e2e-finished-sft"})
    assert dpo["status"] == "FAILED" and dpo["error"] == "TrainingJobNameInUse"
    assert "output" not in dpo or not dpo.get("output")
    after = harness.sm.describe_training_job(TrainingJobName="e2e-finished-sft")
    assert after["TrainingJobStatus"] == before["TrainingJobStatus"] == "Completed"
    assert after["OutputModelPackageArn"] == before["OutputModelPackageArn"]


def test_a_retried_create_adopts_the_executions_own_job(harness):
    """CreateTrainingJob took effect but its answer was lost: the retry meets ResourceInUse for the
    execution's own job, verifies it and tracks it (the redrive case works the same way)."""
    name = "e2e-lost-create-response"
    harness.control.inject_fault("CreateTrainingJob", error_code="ServiceUnavailableException", http_status=503, after=True,
                                 match={"TrainingJobName": name})
    desc = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": name})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    states = _states(harness, desc["executionArn"])
    creates = [s for s in states if s.startswith("CreateTrainingJob")]  # WithMlflow: the harness stack grants MLflow
    assert len(creates) == 1 and "VerifyJobOwnership" in states
    assert harness.job_names().count(name) == 1 and _tags(harness, name)[EXECUTION_TAG] == desc["executionArn"]


def test_the_sweeper_stops_only_this_stacks_orphaned_jobs(harness):
    """A lost clean-up event must not leave a job billing: the scheduled sweeper stops it; a job of
    another stack and a job of a running execution are left alone."""
    stack_id = _stack_id(harness)
    ended = harness.run({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": "e2e-sweep-done"})
    running = harness.start({"technique": "SFT", "training_dataset": harness.uris["sft"], "training_job_name": "e2e-sweep-running",
                             "tags": {"sim:duration-seconds": "20"}})
    harness.wait_job("e2e-sweep-running", {"InProgress"})
    template = harness.sm.describe_training_job(TrainingJobName="e2e-sweep-done")
    orphan_tags = {STACK_TAG: stack_id, EXECUTION_TAG: ended["executionArn"], "sim:duration-seconds": "60"}
    other_tags = {STACK_TAG: stack_id.replace("SageMakerFineTuning", "SomeoneElse"), EXECUTION_TAG: ended["executionArn"],
                  "sim:duration-seconds": "60"}
    for name, tags in (("e2e-sweep-orphan", orphan_tags), ("e2e-sweep-other-stack", other_tags)):
        harness.sm.create_training_job(
            TrainingJobName=name, RoleArn=template["RoleArn"], InputDataConfig=template["InputDataConfig"],
            OutputDataConfig=template["OutputDataConfig"], ServerlessJobConfig=template["ServerlessJobConfig"],
            ModelPackageConfig=template["ModelPackageConfig"], StoppingCondition=template["StoppingCondition"],
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        harness.wait_job(name, {"InProgress"})
    fired = harness.control.fire_schedule(harness.rule("SweepOrphanedJobs"))
    assert fired["delivered"] == 1
    assert harness.sm.describe_training_job(TrainingJobName="e2e-sweep-orphan")["TrainingJobStatus"] in ("Stopping", "Stopped")
    for alive in ("e2e-sweep-other-stack", "e2e-sweep-running"):
        assert harness.sm.describe_training_job(TrainingJobName=alive)["TrainingJobStatus"] == "InProgress", alive
    assert harness.wait(running, timeout=60)["status"] == "SUCCEEDED"
