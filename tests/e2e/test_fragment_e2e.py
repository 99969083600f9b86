"""FineTuningJob fragments inside user state machines, deployed to the emulator next to the app:
SFT then DPO continued from the SFT model package, a Map of three runs, a caught named error, a
large dataset validated by the run's Distributed Map (child executions of the user's machine), and
the abort clean-up of a machine that is not the workflow's own."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.e2e

STACK = "FineTuningPipelines"


def build(app: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_stepfunctions as sfn

    from sagemaker_finetuning import ServerlessFineTuning

    stack = cdk.Stack(app, STACK, env=cdk.Environment(account="123456789012", region="us-east-1"))
    ft = ServerlessFineTuning(stack, "FineTuning", removal_policy=cdk.RemovalPolicy.DESTROY, reward_function=None,
                              min_poll_interval=cdk.Duration.seconds(1), max_poll_interval=cdk.Duration.seconds(2),
                              dataset_fan_out_size=cdk.Size.mebibytes(1))
    sft = ft.job(stack, "Sft", input_path="$.sft", result_path="$.sft_result")
    dpo_input = sfn.Pass(stack, "DpoFromSft", result_path="$.dpo", parameters={
        "technique": "DPO", "training_dataset.$": "$.dpo_dataset", "model.$": "$.sft_result.output_model_package_arn"})
    dpo = ft.job(stack, "Dpo", input_path="$.dpo", result_path="$.dpo_result")
    pipeline = sfn.StateMachine(stack, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(sft.next(dpo_input).next(dpo)))
    runs = sfn.Map(stack, "Runs", items_path="$.runs", max_concurrency=3, result_path="$.results").item_processor(ft.job(stack, "Run"))
    many = sfn.StateMachine(stack, "Many", definition_body=sfn.DefinitionBody.from_chainable(runs))
    guarded = ft.job(stack, "Guarded").add_catch(sfn.Pass(stack, "Recovered"), errors=["InvalidInput"], result_path="$.error")
    caught = sfn.StateMachine(stack, "Caught", definition_body=sfn.DefinitionBody.from_chainable(guarded))
    for key, machine in (("Pipeline", pipeline), ("Many", many), ("Caught", caught)):
        cdk.CfnOutput(stack, f"{key}Arn", value=machine.state_machine_arn)
    for key, value in ft.outputs().items():
        cdk.CfnOutput(stack, key, value=value[0])


@pytest.fixture(scope="module")
def pipelines(harness, tmp_path_factory) -> dict[str, Any]:
    import aws_cdk as cdk

    from sagemaker_finetuning_emulator.demo import deploy_assembly, upload_samples

    outdir = tmp_path_factory.mktemp("pipelines.out")
    app = cdk.App(outdir=str(outdir))
    build(app)
    app.synth()
    kw = harness.emu.client_kwargs()
    clients = {n: boto3.client(n, **kw) for n in ("s3", "cloudformation", "ssm")}
    deploy_assembly(clients, outdir, stack=STACK)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in clients["cloudformation"].describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}
    return {"outputs": outputs, "uris": upload_samples(clients["s3"], outputs["BucketName"])}


def _start(harness, arn: str, payload: dict[str, Any]) -> str:
    return harness.sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]


def test_sft_then_dpo_continued_from_the_sft_model_package(harness, pipelines):
    u = pipelines["uris"]
    done = harness.wait(_start(harness, pipelines["outputs"]["PipelineArn"],
                               {"sft": {"technique": "SFT", "training_dataset": u["sft"]}, "dpo_dataset": u["dpo"]}), timeout=120)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    out = json.loads(done["output"])
    sft, dpo = out["sft_result"], out["dpo_result"]
    assert sft["status"] == dpo["status"] == "Completed" and sft["technique"] == "SFT" and dpo["technique"] == "DPO"
    assert sft["training_job_name"] != dpo["training_job_name"]
    job = harness.sm.describe_training_job(TrainingJobName=dpo["training_job_name"])
    assert job["ModelPackageConfig"]["SourceModelPackageArn"] == sft["output_model_package_arn"]  # continued from the SFT output
    from sagemaker_finetuning.core.tracking import OUTPUT_KEYS

    assert set(sft) == set(dpo) == set(OUTPUT_KEYS)  # the same output document as an execution of the app's machine
    assert out["sft"] == {"technique": "SFT", "training_dataset": u["sft"]}  # the rest of the state is kept


def test_a_map_of_three_runs_gets_three_jobs(harness, pipelines):
    u = pipelines["uris"]
    runs = [{"technique": "SFT", "training_dataset": u["sft"], "hyperparameters": {"learning_rate": lr}} for lr in (1e-5, 2e-5, 5e-5)]
    done = harness.wait(_start(harness, pipelines["outputs"]["ManyArn"], {"runs": runs}), timeout=120)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    results = json.loads(done["output"])["results"]
    names = [r["training_job_name"] for r in results]
    assert len(set(names)) == 3 and all(r["status"] == "Completed" for r in results)
    rates = {harness.sm.describe_training_job(TrainingJobName=n)["HyperParameters"]["learning_rate"] for n in names}
    assert len(rates) == 3  # each job ran its own item's input


def test_a_named_error_leaves_the_fragment_and_can_be_caught(harness, pipelines):
    done = harness.wait(_start(harness, pipelines["outputs"]["CaughtArn"], {"technique": "SFT"}), timeout=60)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    error = json.loads(done["output"])["error"]
    assert error["Error"] == "InvalidInput" and "training_dataset" in error["Cause"]


def test_a_large_dataset_is_validated_by_child_executions_of_the_users_machine(harness, pipelines):
    bucket = pipelines["outputs"]["BucketName"]
    line = json.dumps({"prompt": "What is 2 + 2?", "completion": "2 + 2 = 4."})
    for i in range(3):  # ~1.4 MB in all: above the stack's 1 MiB fan-out size
        harness.s3.put_object(Bucket=bucket, Key=f"datasets/fragment-large/{i}.jsonl", Body=("\n".join([line] * 10000) + "\n").encode())
    arn = _start(harness, pipelines["outputs"]["CaughtArn"], {"technique": "SFT", "training_dataset": f"s3://{bucket}/datasets/fragment-large/"})
    done = harness.wait(arn, timeout=180)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"])["dataset"]["training"]["records"] == 30000
    entered = {e["stateEnteredEventDetails"]["name"] for e in harness.history(arn) if "stateEnteredEventDetails" in e}
    assert "Guarded: ValidateDatasetPartsAtScale" in entered and "Guarded: ValidateDatasetParts" not in entered
    left = harness.s3.list_objects_v2(Bucket=bucket, Prefix="outputs/dataset-validation/").get("KeyCount", 0)
    assert left == 0


def test_aborting_a_user_machine_stops_its_running_job(harness, pipelines):
    """The clean-up rule learned the user's machine at synth (the fragment's IAM and the rule come with it)."""
    u = pipelines["uris"]
    arn = _start(harness, pipelines["outputs"]["PipelineArn"], {
        "sft": {"technique": "SFT", "training_dataset": u["sft"], "tags": {"sim:duration-seconds": "600"}}, "dpo_dataset": u["dpo"]})
    deadline = time.monotonic() + 60
    name = None
    while name is None and time.monotonic() < deadline:
        for job in harness.sm.list_training_jobs(StatusEquals="InProgress", MaxResults=100)["TrainingJobSummaries"]:
            tags = harness.sm.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
            if {"Key": "sagemaker-finetuning:execution-arn", "Value": arn} in tags:
                name = job["TrainingJobName"]
        time.sleep(0.25)
    assert name, "the SFT job did not start"
    harness.sfn.stop_execution(executionArn=arn, error="Aborted", cause="e2e")
    job = harness.wait_job(name, {"Stopping", "Stopped"}, timeout=30)
    assert job["TrainingJobStatus"] in ("Stopping", "Stopped")

