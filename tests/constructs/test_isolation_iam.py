"""Isolation in IAM: job actions only on jobs carrying this stack's tag, creation only with the tags,
and a clean-up path that cannot lose an event silently (DLQ, alarm, scheduled sweeper).

These assert the synthesized policies; whether AWS evaluates the tag conditions as intended is
verified offline only (the emulator does not enforce IAM; see README, Limits)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from sagemaker_finetuning import FineTuningWorkflow, ServerlessFineTuning
from sagemaker_finetuning.core.constants import EXECUTION_TAG, STACK_TAG

ENV = cdk.Environment(account="123456789012", region="us-east-1")
STACK_ID = {"Ref": "AWS::StackId"}
JOB_ACTIONS = {"sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags",
               "sagemaker:AddTags", "sagemaker:UpdateTrainingJob", "sagemaker:DeleteTrainingJob"}


@pytest.fixture(scope="module")
def template() -> dict:
    stack = cdk.Stack(cdk.App(), "Test", env=ENV)
    ServerlessFineTuning(stack, "FT")
    return Template.from_stack(stack).to_json()


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _job_statements(template: dict) -> list[tuple[str, dict]]:
    """(policy logical id, statement) of every statement that allows a job action on training jobs."""
    out = []
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::Policy":
            continue
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            on_jobs = any("training-job/" in str(r) or r == "*" for r in resources)
            if on_jobs and JOB_ACTIONS & set(_actions(st)):
                out.append((lid, st))
    return out


def test_every_job_action_is_conditioned_on_the_stacks_tag(template):
    found = _job_statements(template)
    assert {a for _, st in found for a in _actions(st)} >= {
        "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags"}
    for lid, st in found:
        cond = st.get("Condition", {})
        if "sagemaker:CreateTrainingJob" in _actions(st):
            assert set(_actions(st)) == {"sagemaker:CreateTrainingJob", "sagemaker:AddTags"}, lid
            assert cond == {"StringEquals": {f"aws:RequestTag/{STACK_TAG}": STACK_ID},
                            "Null": {f"aws:RequestTag/{EXECUTION_TAG}": "false"}}, lid
        else:
            assert cond == {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": STACK_ID}}, (lid, st)
    assert not [st for _, st in found if {"sagemaker:UpdateTrainingJob", "sagemaker:DeleteTrainingJob"} & set(_actions(st))]


def test_only_the_state_machine_creates_jobs_and_only_clean_up_stops_them(template):
    by_action: dict[str, set[str]] = {}
    for lid, st in _job_statements(template):
        for action in _actions(st):
            by_action.setdefault(action, set()).add(lid.split("ServiceRole")[0].split("RoleDefault")[0])
    # the state machine launches training jobs, the Steps function evaluation jobs (LaunchEvaluationJob), both under the tag conditions
    assert by_action["sagemaker:CreateTrainingJob"] == {"FTWorkflowStateMachine", "FTWorkflowSteps"}
    assert by_action["sagemaker:StopTrainingJob"] == {"FTWorkflowExecutionEnd", "FTWorkflowSweeper"}


def test_the_sweeper_lists_all_jobs_but_reads_executions_of_this_state_machine_only(template):
    policy = next(r for lid, r in template["Resources"].items()
                  if r["Type"] == "AWS::IAM::Policy" and lid.startswith("FTWorkflowSweeperServiceRole"))
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert "*" not in [s["Resource"] for s in statements.values()]
    (listing,) = [r["Properties"]["PolicyDocument"]["Statement"] for lid, r in template["Resources"].items()
                  if lid.startswith("FTWorkflowSweeperListJobsPolicy")]
    assert listing == [{"Action": "sagemaker:ListTrainingJobs", "Effect": "Allow", "Resource": "*"}]
    describe = statements["ReadOwnExecutions"]
    assert _actions(describe) == ["states:DescribeExecution"]
    own, children = (r["Fn::Join"][1] for r in describe["Resource"])
    assert ":execution:" in own[2] and own[3] == {"Fn::GetAtt": ["FTWorkflowStateMachine1040D81F", "Name"]} and own[4] == ":*"
    assert children[3] == own[3] and children[4] == "/*", "and the child executions of its Distributed Maps (a sweep's trials)"


def test_the_clean_up_finds_a_sweeps_child_executions_of_this_state_machine_only(template):
    policy = next(r for lid, r in template["Resources"].items()
                  if r["Type"] == "AWS::IAM::Policy" and lid.startswith("FTWorkflowExecutionEndServiceRole"))
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    listing = statements["ListChildExecutions"]
    assert sorted(_actions(listing)) == ["states:ListExecutions", "states:ListMapRuns"]
    executions, map_runs = (r["Fn::Join"][1] for r in listing["Resource"])
    assert ":execution:" in executions[2] and executions[4] == ":*"
    assert ":mapRun:" in map_runs[2] and map_runs[3] == {"Fn::GetAtt": ["FTWorkflowStateMachine1040D81F", "Name"]} and map_runs[4] == "/*"


def test_lost_clean_up_events_land_in_a_dead_letter_queue_that_an_alarm_watches(template):
    res = template["Resources"]
    (queue_id,) = [lid for lid, r in res.items() if r["Type"] == "AWS::SQS::Queue"]
    dlq = {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    rules = {lid: r["Properties"] for lid, r in res.items() if r["Type"] == "AWS::Events::Rule"}
    ended = next(p for lid, p in rules.items() if lid.startswith("FTWorkflowExecutionEnded"))
    sweep = next(p for lid, p in rules.items() if lid.startswith("FTWorkflowSweepOrphanedJobs"))
    assert ended["Targets"][0]["DeadLetterConfig"] == dlq and sweep["Targets"][0]["DeadLetterConfig"] == dlq
    assert sweep["ScheduleExpression"] == "rate(30 minutes)" and "EventPattern" not in sweep
    (invoke,) = [r["Properties"] for r in res.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == dlq["Arn"]
    assert invoke["FunctionName"] == {"Ref": next(lid for lid in res if lid.startswith("FTWorkflowExecutionEnd")
                                                 and res[lid]["Type"] == "AWS::Lambda::Function")}
    alarm = next(r["Properties"] for lid, r in res.items() if lid.startswith("FTWorkflowExecutionsCleanupLostAlarm"))
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 1
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    queue = res[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    policy = next(r["Properties"]["PolicyDocument"]["Statement"] for r in res.values() if r["Type"] == "AWS::SQS::QueuePolicy")
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    senders = [s for s in policy if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in senders} == {"events.amazonaws.com"}
    assert all("aws:SourceArn" in s["Condition"]["ArnEquals"] for s in senders)


@pytest.mark.parametrize("minutes, expression", [(1, "rate(1 minute)"), (120, "rate(2 hours)")])
def test_sweep_interval_is_a_prop(minutes, expression):
    stack = cdk.Stack(cdk.App(), "Test", env=ENV)
    ServerlessFineTuning(stack, "FT", sweep_interval=cdk.Duration.minutes(minutes))
    rules = Template.from_stack(stack).find_resources("AWS::Events::Rule")
    assert [r["Properties"]["ScheduleExpression"] for r in rules.values() if "ScheduleExpression" in r["Properties"]] == [expression]


def test_a_workflow_exposes_its_sweeper_and_dead_letter_queue():
    stack = cdk.Stack(cdk.App(), "Test", env=ENV)
    ft = ServerlessFineTuning(stack, "FT")
    wf: FineTuningWorkflow = ft.workflow
    assert wf.sweeper_function.node.id == "Sweeper" and wf.dead_letter_queue.node.id == "CleanupDeadLetters"
    assert wf.sweep_rule.node.id == "SweepOrphanedJobs"
