"""FineTuningJob: the run as a state-machine fragment in other people's state machines."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from sagemaker_finetuning import FineTuningJob, ServerlessFineTuning
from sagemaker_finetuning.core.tracking import OUTPUT_KEYS, OUTPUT_SCHEMA_PATH, summarize_job

ENV = cdk.Environment(account="123456789012", region="us-east-1")


def pipeline_stack(nag: bool = False) -> tuple[cdk.Stack, ServerlessFineTuning]:
    """The issue's snippet (SFT then DPO), a Map of runs and a caught run, in one stack."""
    app = cdk.App()
    stack = cdk.Stack(app, "Pipelines", env=ENV)
    ft = ServerlessFineTuning(stack, "FineTuning")
    sft = ft.job(stack, "Sft", input_path="$.sft", result_path="$.sft_result")
    dpo = ft.job(stack, "Dpo", input_path="$.dpo", result_path="$.dpo_result")
    sfn.StateMachine(stack, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(sft.next(dpo)))
    runs = sfn.Map(stack, "Runs", items_path="$.runs", result_path="$.results").item_processor(ft.job(stack, "Run"))
    sfn.StateMachine(stack, "Many", definition_body=sfn.DefinitionBody.from_chainable(runs))
    if nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks())
    return stack, ft


@pytest.fixture(scope="module")
def synthesized():
    stack, ft = pipeline_stack()
    return stack, ft, Template.from_stack(stack).to_json()


def _resource(template: dict, type_: str, prefix: str) -> dict:
    found = [v for k, v in template["Resources"].items() if v["Type"] == type_ and k.startswith(prefix)]
    assert len(found) == 1, (type_, prefix, len(found))
    return found[0]


def _definition(template: dict, prefix: str) -> dict:
    parts = _resource(template, "AWS::StepFunctions::StateMachine", prefix)["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "0" for p in parts))


def _statements(template: dict, policy_prefix: str) -> list[dict]:
    return _resource(template, "AWS::IAM::Policy", policy_prefix)["Properties"]["PolicyDocument"]["Statement"]


def test_the_snippet_chains_two_catchable_runs(synthesized):
    _, _, template = synthesized
    definition = _definition(template, "Pipeline")
    assert definition["StartAt"] == "Sft: Run"
    sft, dpo = definition["States"]["Sft: Run"], definition["States"]["Dpo: Run"]
    assert sft["Type"] == dpo["Type"] == "Parallel" and sft["Next"] == "Dpo: Run" and dpo["End"] is True
    assert (sft["InputPath"], sft["ResultPath"], dpo["InputPath"], dpo["ResultPath"]) == ("$.sft", "$.sft_result", "$.dpo", "$.dpo_result")
    # the output document, key by key: exactly the output schema's keys
    assert sft["ResultSelector"] == {f"{k}.$": f"$[0].{k}" for k in OUTPUT_KEYS}
    inner = sft["Branches"][0]["States"]
    assert sft["Branches"][0]["StartAt"] == "Sft: ReceiveInput" and all(name.startswith("Sft: ") for name in inner)
    # named failures stay inside the branch (they fail the Parallel, which the user can catch)
    fails = {name: st for name, st in inner.items() if st["Type"] == "Fail"}
    assert {"Sft: InputRejected", "Sft: WorkflowError", "Sft: TrainingJobFailed", "Sft: TrainingJobStopped", "Sft: EvaluationGateFailed"} == set(fails)
    # the job name is the run's own: the plan step gets the fragment's path
    plan = inner["Sft: PlanTrainingJob"]["Parameters"]
    assert plan["fragment"] == "Pipelines/Sft" and plan["execution_arn.$"] == "$$.Execution.Id"


def test_a_map_item_processor_holds_a_run(synthesized):
    _, _, template = synthesized
    runs = _definition(template, "Many")["States"]["Runs"]
    processor = runs["ItemProcessor"]
    assert processor["StartAt"] == "Run: Run" and processor["States"]["Run: Run"]["Type"] == "Parallel"


def test_the_tasks_bring_their_iam_to_the_users_role(synthesized):
    _, _, template = synthesized
    for machine in ("PipelineRoleDefaultPolicy", "ManyRoleDefaultPolicy"):
        by_sid = {s.get("Sid"): s for s in _statements(template, machine)}
        create = by_sid["CreateTaggedTrainingJobs"]
        assert create["Condition"]["StringEquals"] == {"aws:RequestTag/sagemaker-finetuning:stack-id": {"Ref": "AWS::StackId"}}
        pass_role = by_sid["PassExecutionRoleToSageMaker"]
        assert pass_role["Action"] == "iam:PassRole"
        assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
        # jobs are described by the shared Steps function (its own role, jobs of this stack only), not by the user's machine
        assert "DescribeOwnTrainingJobs" not in by_sid
        actions = {a for s in _statements(template, machine) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        assert {"lambda:InvokeFunction", "dynamodb:updateItem", "dynamodb:putItem"} <= actions
        # two runs in one machine: each statement once (IAM refuses duplicate Sids)
        sids = [s.get("Sid") for s in _statements(template, machine) if s.get("Sid")]
        assert len(sids) == len(set(sids))


def test_the_shared_runtime_learns_the_embedding_machines(synthesized):
    stack, ft, template = synthesized
    own, pipeline, many = (stack.get_logical_id(c.node.default_child) for c in (
        ft.state_machine, stack.node.find_child("Pipeline"), stack.node.find_child("Many")))
    pattern = _resource(template, "AWS::Events::Rule", "FineTuningWorkflowExecutionEnded")["Properties"]["EventPattern"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": own}, {"Ref": pipeline}, {"Ref": many}]
    wake = [s for s in _statements(template, "FineTuningWorkflowJobEventsServiceRoleDefaultPolicy") if s["Action"] == "states:SendTaskSuccess"]
    expected = [[{"Ref": own}, {"Fn::Join": ["", [{"Ref": own}, "/*"]]}], {"Ref": pipeline}, {"Ref": many}]  # own: and its Map children
    assert sorted(json.dumps(s["Resource"]) for s in wake) == sorted(json.dumps(r) for r in expected)
    sweeper = _statements(template, "FineTuningWorkflowSweeperServiceRoleDefaultPolicy")
    described = [s["Resource"] for s in sweeper if s["Action"] == "states:DescribeExecution"]
    assert len(described) == 3
    env = _resource(template, "AWS::Lambda::Function", "FineTuningWorkflowExecutionEnd")["Properties"]["Environment"]["Variables"]
    assert env["STATE_MACHINE_ARN"] == {"Ref": own}


def test_cdk_nag_has_no_unsuppressed_finding_on_the_libraries_resources():
    stack, _ = pipeline_stack(nag=True)
    ann = Annotations.from_stack(stack)
    errors = [e for e in ann.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))]
    ours = [e for e in errors if "/FineTuning/" in e.id or "IAM5" in str(e.entry.data)]
    assert not ours, "\n".join(f"{e.id}: {str(e.entry.data)[:200]}" for e in ours)
    # what remains is the user's machines' own choices (logging, tracing): theirs to make
    assert {str(e.entry.data).split(":")[0] for e in errors} <= {"AwsSolutions-SF1", "AwsSolutions-SF2"}


def test_a_fragment_used_nowhere_names_the_problem():
    app = cdk.App()
    stack = cdk.Stack(app, "Unused", env=ENV)
    ServerlessFineTuning(stack, "FineTuning").job(stack, "Orphan")
    with pytest.raises(RuntimeError, match="FineTuningJob Unused/Orphan is used in no state machine"):
        app.synth()


def test_add_catch_goes_to_the_handler():
    app = cdk.App()
    stack = cdk.Stack(app, "Caught", env=ENV)
    ft = ServerlessFineTuning(stack, "FineTuning")
    job = ft.job(stack, "Guarded").add_catch(sfn.Pass(stack, "Recovered"), errors=["InvalidInput", "TrainingJobFailed"],
                                             result_path="$.error")
    assert isinstance(job, FineTuningJob)
    sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(job))
    run = _definition(Template.from_stack(stack).to_json(), "Machine")["States"]["Guarded: Run"]
    assert run["Catch"] == [{"ErrorEquals": ["InvalidInput", "TrainingJobFailed"], "ResultPath": "$.error", "Next": "Recovered"}]


def test_a_machine_in_another_stack_is_warned_about():
    app = cdk.App()
    stack = cdk.Stack(app, "Runtime", env=ENV)
    other = cdk.Stack(app, "Other", env=ENV)
    ft = ServerlessFineTuning(stack, "FineTuning")
    sfn.StateMachine(other, "Elsewhere", definition_body=sfn.DefinitionBody.from_chainable(ft.job(other, "Far")))
    app.synth()
    warnings = Annotations.from_stack(other).find_warning("*", Match.string_like_regexp(".*from another stack.*"))
    assert warnings and "jobInAnotherStack" in str(warnings[0].entry.data)


def test_the_output_schema_is_the_summary_the_workflow_writes():
    import jsonschema

    schema = json.loads(OUTPUT_SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    job = {"TrainingJobName": "j", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
           "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed", "BillableTokenCount": 12,
           "SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": "2026-01-01T00:00:00Z"}]}
    out = {**summarize_job(job), "technique": "SFT", "base_model": "huggingface-reasoning-qwen3-06b",
           "dataset": {"mode": "full", "training": {"records": 24, "bytes": 4096, "text_chars": 3900}, "validation": None},
           "budget": None, "evaluation": None, "sweep": None}
    assert tuple(out) == OUTPUT_KEYS == tuple(schema["required"]) == tuple(schema["properties"])
    jsonschema.validate(out, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in out.items() if k != "status"}, schema)


def test_large_datasets_fan_out_inside_the_users_machine_with_its_iam(synthesized):
    """The run's Distributed Map reads its item list from the workflow's prefix only; CDK's policy lets the
    user's machine run its child executions; the list and the results are the run's own (execution + fragment)."""
    _, _, template = synthesized
    inner = _definition(template, "Pipeline")["States"]["Sft: Run"]["Branches"][0]["States"]
    at_scale = inner["Sft: ValidateDatasetPartsAtScale"]
    assert at_scale["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    listing = inner["Sft: ListDatasetParts"]["Parameters"]
    assert listing["fragment"] == "Pipelines/Sft" and listing["execution_arn.$"] == "$$.Execution.Id"
    assert listing["fan_out_bytes"] == 5 * 1024**3 and listing["work"]["prefix"] == "outputs/dataset-validation/"
    read = {s.get("Sid"): s for s in _statements(template, "PipelineRoleDefaultPolicy")}["ReadDatasetValidationItems"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-1] == "/outputs/dataset-validation/*"
    actions = {a for s in _statements(template, "PipelineDistributedMapPolicy") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"states:StartExecution", "states:DescribeExecution", "states:StopExecution"} <= actions


def test_a_job_without_fan_out_validates_inline_only():
    app = cdk.App()
    stack = cdk.Stack(app, "Inline", env=ENV)
    ft = ServerlessFineTuning(stack, "FineTuning")
    sfn.StateMachine(stack, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(ft.job(stack, "Sft", dataset_fan_out=False)))
    template = Template.from_stack(stack).to_json()
    inner = _definition(template, "Pipeline")["States"]["Sft: Run"]["Branches"][0]["States"]
    assert "Sft: ValidateDatasetPartsAtScale" not in inner and "fan_out_bytes" not in inner["Sft: ListDatasetParts"]["Parameters"]
    assert inner["Sft: ListDatasetParts"]["Next"] == "Sft: ValidateDatasetParts"
    assert not [k for k, v in template["Resources"].items() if k.startswith("PipelineDistributedMapPolicy")]
    assert "ReadDatasetValidationItems" not in {s.get("Sid") for s in _statements(template, "PipelineRoleDefaultPolicy")}
