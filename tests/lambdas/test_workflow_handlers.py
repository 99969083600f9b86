"""Workflow Lambda handlers: thin shells, driven with botocore Stubbers (every request is validated
against the service model by the stubbed client)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import hub_fixtures as catalog
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from events import load

from sagemaker_finetuning.core.errors import (
    AccessNotGranted,
    DatasetAccessDenied,
    DatasetFormatMismatch,
    DatasetNotFound,
    InvalidInput,
    ModelNotFound,
    TrainingJobNameInUse,
    UnsupportedTrainingType,
)
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.lambda_src.workflow import handler as wf

REGION = "us-east-1"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/FineTuning/0b1e2c30-0000-11ef-8000-0a1b2c3d4e5f"
SETTINGS = StackSettings(region=REGION, account="123456789012", partition="aws", role_arn="arn:aws:iam::123456789012:role/ft",
                         bucket="ft-bucket", model_package_group_name="grp", base_model=catalog.DEFAULT_MODEL_ID, stack_id=STACK_ID)
EXEC = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"
JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job"


def _tags(stack_id: str = STACK_ID, execution: str = EXEC) -> dict[str, Any]:
    return {"Tags": [{"Key": "sagemaker-finetuning:stack-id", "Value": stack_id},
                     {"Key": "sagemaker-finetuning:execution-arn", "Value": execution}]}


@pytest.fixture
def clients(monkeypatch):
    made: dict[str, Any] = {}
    stubs: dict[str, Stubber] = {}

    def client(name: str) -> Any:
        if name not in made:
            made[name] = boto3.client(name, region_name=REGION)
            stubs[name] = Stubber(made[name])
            stubs[name].activate()
        return made[name]

    for name in ("sagemaker", "s3", "dynamodb", "stepfunctions", "sns", "lambda"):
        client(name)
    monkeypatch.setattr(wf, "_client", client)
    monkeypatch.setattr(wf, "settings", lambda: SETTINGS)
    monkeypatch.setenv("WAITER_TABLE", "waiters")
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_a_fine_tuning_job_fragment_is_one_run_and_refuses_a_sweep(clients):
    inp = {"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/train.jsonl", "evaluation": {"type": "benchmark", "benchmark": "mmlu"},
           "sweep": {"hyperparameters": {"learning_rate": [1e-5, 5e-5]}, "objective": {"metric": "accuracy"}}}
    assert "sweep" in wf.step({"step": "validate", "input": inp})["input"]  # the workflow's own state machine runs it
    with pytest.raises(InvalidInput, match="sweep: received .*; expected no value in a FineTuningJob"):
        wf.step({"step": "validate", "input": inp, "fragment": "Stack/Pipeline/Sft"})


def test_step_dispatch_rejects_unknown_step():
    with pytest.raises(ValueError, match="step: received 'launch'; expected one of validate, resolve, check_datasets, plan, adopt, track, summarize"):
        wf.step({"step": "launch"})


def test_validate_resolve_plan_summarize(clients):
    inp = wf.step(load("stepfunctions_steps_validate"))["input"]
    desc = catalog.describe_hub_content(REGION, catalog.DEFAULT_MODEL_ID)
    clients["sagemaker"].add_response("describe_hub_content", desc, {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": catalog.DEFAULT_MODEL_ID})
    objects = catalog.recipe_objects(REGION)
    uri = next(u for u in objects if "/llmft_qwen3_0_dot_6b_seq4k_gpu_sft_lora_override_params_" in u)  # the real SFT LoRA 4K recipe
    bucket, key = uri[5:].split("/", 1)
    clients["s3"].add_response("get_object", {"Body": _body(objects[uri])}, {"Bucket": bucket, "Key": key})
    resolution = wf.step({"step": "resolve", "input": inp})
    assert resolution["resolved"]["base_model_arn"] == desc["HubContentArn"] and "learning_rate" in resolution["override_params"]
    out = wf.step({"step": "plan", "input": inp, "resolution": resolution, "execution_arn": EXEC})
    plan = out["plan"]
    assert plan["training_job_name"].startswith("huggingface-reasoning-qwen3-06b-sft-") and plan["verify_reward"] is False
    assert plan["request"]["ServerlessJobConfig"]["Peft"] == "LORA" and int(plan["expires_at"]) > 0
    assert out["track"] == {"tracking": {"wait_seconds": 60, "max_seconds": 900, "wakes": 0}} and out["wake"] == {"source": "launch"}
    # A FineTuningJob run names its job after the fragment and its input too: two runs of one execution, two jobs.
    runs = {wf.step({"step": "plan", "input": inp, "resolution": resolution, "execution_arn": EXEC, "fragment": f})["plan"]["training_job_name"]
            for f in ("Stack/Sft", "Stack/Dpo")}
    assert len(runs) == 2 and plan["training_job_name"] not in runs
    job = {"TrainingJobName": plan["training_job_name"], "TrainingJobArn": "arn:job", "TrainingJobStatus": "Completed",
           "OutputModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/grp/1", "BillableTokenCount": 12345,
           "MlflowDetails": {"MlflowRunId": "run-1"}, "TrainingStartTime": "2026-01-01T00:00:00Z"}
    summary = wf.step({"step": "summarize", "job": job, "input": inp, "plan": plan})
    assert summary["output_model_package_arn"].endswith("/grp/1") and summary["billable_token_count"] == 12345
    assert summary["mlflow_run_id"] == "run-1" and summary["technique"] == "SFT"


def test_resolve_unknown_model_and_unsupported_type(clients):
    clients["sagemaker"].add_client_error("describe_hub_content", "ResourceNotFound", "no such model")
    with pytest.raises(ModelNotFound, match='model: received "no-such-model"; expected a model id of hub SageMakerPublicHub'):
        wf.resolve({"input": {"technique": "SFT", "model": "no-such-model", "training_type": "LORA"}})
    clients["sagemaker"].add_response("describe_hub_content", catalog.describe_hub_content(REGION, catalog.LORA_ONLY_MODEL_ID))
    with pytest.raises(UnsupportedTrainingType, match='training_type: received "FULL"; expected one of LORA'):
        wf.resolve({"input": {"technique": "SFT", "model": catalog.LORA_ONLY_MODEL_ID, "training_type": "FULL"}})


def test_continued_customization_resolves_base_model_from_package(clients):
    pkg = "arn:aws:sagemaker:us-east-1:123456789012:model-package/grp/3"
    clients["sagemaker"].add_response("describe_model_package", {
        "ModelPackageName": "grp", "ModelPackageArn": pkg, "CreationTime": "2026-01-01T00:00:00Z", "ModelPackageStatus": "Completed",
        "ModelPackageGroupName": "grp",
        "InferenceSpecification": {"Containers": [{"Image": "x", "BaseModel": {"HubContentName": catalog.DEFAULT_MODEL_ID, "HubContentVersion": "1.0.0"}}],
                                   "SupportedContentTypes": [], "SupportedResponseMIMETypes": []},
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
    }, {"ModelPackageName": pkg})
    clients["sagemaker"].add_response("describe_hub_content", catalog.describe_hub_content(REGION, catalog.DEFAULT_MODEL_ID))
    objects = catalog.recipe_objects(REGION)
    uri = next(u for u in objects if "/llmft_qwen3_0_dot_6b_seq4k_gpu_dpo_override_params_" in u)  # the real DPO LoRA 4K recipe
    clients["s3"].add_response("get_object", {"Body": _body(objects[uri])})
    out = wf.resolve({"input": {"technique": "DPO", "model": pkg, "training_type": "LORA"}})
    assert out["resolved"]["source_model_package_arn"] == pkg and out["resolved"]["source_model_package_group"] == "grp"
    assert out["resolved"]["model_id"] == catalog.DEFAULT_MODEL_ID


def _track(wake: Any, wait: int = 60) -> dict[str, Any]:
    return {"step": "track", "job_name": "my-job", "execution_arn": EXEC, "expires_at": "1900000000",
            "tracking": {"wait_seconds": wait, "max_seconds": 900, "wakes": 0}, "wake": wake}


def test_track_describes_the_job_and_sets_the_next_interval(clients):
    """A running job: no table write; the interval doubles after a timeout, stays after an event."""
    for wake, expected in (({"Error": "States.Timeout", "Cause": "x"}, 240), ({"source": "event", "status": "InProgress"}, 120),
                           ({"source": "launch"}, 120), ({"Error": "DynamoDb.ProvisionedThroughputExceededException"}, 240)):
        clients["sagemaker"].add_response("describe_training_job", _running("my-job"), {"TrainingJobName": "my-job"})
        out = wf.step(_track(wake, wait=120))
        assert out["tracking"]["wait_seconds"] == expected, wake
        assert out["job"]["TrainingJobStatus"] == "InProgress" and "ResponseMetadata" not in out["job"]
        json.dumps(out)  # the state's data: timestamps became text
    assert out["job"]["CreationTime"].startswith("2026-01-01T00:00:00")


def test_track_marks_an_ended_job_so_the_waiter_refuses_to_register(clients):
    ended = {**_running("my-job"), "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed"}
    clients["sagemaker"].add_response("describe_training_job", ended, {"TrainingJobName": "my-job"})
    clients["dynamodb"].add_response("put_item", {}, {"TableName": "waiters", "Item": {
        "pk": {"S": "job#my-job"}, "ended": {"S": "Completed"}, "execution": {"S": EXEC}, "expires_at": {"N": "1900000000"}}})
    assert wf.step(_track({"source": "event"}))["job"]["TrainingJobStatus"] == "Completed"
    # the table failing is not the run failing: the wait registers, times out, and the next cycle marks it again
    clients["sagemaker"].add_response("describe_training_job", ended, {"TrainingJobName": "my-job"})
    clients["dynamodb"].add_client_error("put_item", "ProvisionedThroughputExceededException")
    assert wf.step(_track({"source": "event"}))["tracking"]["wait_seconds"] == 60


def test_job_event_wakes_the_waiting_execution(clients):
    key = {"pk": {"S": "job#my-job"}}
    clients["dynamodb"].add_response("get_item", {"Item": {**key, "token": {"S": "tok"}}}, {"TableName": "waiters", "Key": key, "ConsistentRead": True})
    clients["stepfunctions"].add_response("send_task_success", {}, {"taskToken": "tok", "output": json.dumps({"source": "event", "status": "Completed", "secondary_status": "Completed"})})
    clients["dynamodb"].add_response("delete_item", {})
    out = wf.on_training_job_event(load("eventbridge_training_job_state_change"))
    assert out == {"job": "my-job", "woke": True}


def test_job_event_after_timeout_and_unknown_job(clients):
    clients["dynamodb"].add_response("get_item", {})
    assert "no execution is waiting" in wf.on_training_job_event(load("eventbridge_training_job_state_change", {"TrainingJobName": "other"}))["ignored"]
    clients["dynamodb"].add_response("get_item", {"Item": {"pk": {"S": "job#j"}, "token": {"S": "old"}}})
    clients["stepfunctions"].add_client_error("send_task_success", "TaskTimedOut")
    clients["dynamodb"].add_client_error("delete_item", "ConditionalCheckFailedException")
    assert wf.on_training_job_event(load("eventbridge_training_job_state_change", {"TrainingJobName": "j"})) == {"job": "j", "woke": False}


def test_aborted_execution_stops_its_job_and_notifies(clients, monkeypatch):
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ft")
    key = {"pk": {"S": f"execution#{EXEC}"}}
    clients["dynamodb"].add_response("get_item", {"Item": {**key, "job_name": {"S": "my-job"}}}, {"TableName": "waiters", "Key": key, "ConsistentRead": True})
    clients["sagemaker"].add_response("list_tags", _tags(), {"ResourceArn": JOB_ARN, "MaxResults": 100})
    clients["sagemaker"].add_response("describe_training_job", {
        "TrainingJobName": "my-job", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job",
        "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training", "CreationTime": "2026-01-01T00:00:00Z",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://x/y"}, "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }, {"TrainingJobName": "my-job"})
    clients["sagemaker"].add_response("stop_training_job", {}, {"TrainingJobName": "my-job"})
    no_map_runs(clients)
    clients["sns"].add_response("publish", {"MessageId": "m"})
    out = wf.on_execution_end(load("eventbridge_execution_status_change_aborted"))
    assert out == {"job": "my-job", "stopped": True, "notified": True, "jobs": [{"job": "my-job", "stopped": True}]}


def no_map_runs(clients: dict[str, Stubber]) -> None:
    clients["stepfunctions"].add_response("list_map_runs", {"mapRuns": []}, {"executionArn": EXEC})


def test_an_aborted_sweep_stops_the_jobs_of_its_child_executions(clients, monkeypatch):
    """A sweep's trials run in child executions of its Distributed Map: each recorded (and tagged) its own job."""
    monkeypatch.delenv("NOTIFICATION_TOPIC_ARN", raising=False)
    run = "arn:aws:states:us-east-1:123456789012:mapRun:sm/Sweep:4e0c"
    children = [f"arn:aws:states:us-east-1:123456789012:execution:sm/Sweep:{i}" for i in ("c1", "c2")]
    clients["dynamodb"].add_response("get_item", {})  # the sweep itself recorded no job
    clients["stepfunctions"].add_response("list_map_runs", {"mapRuns": [
        {"executionArn": EXEC, "mapRunArn": run, "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm/Sweep",
         "startDate": "2026-01-01T00:00:00Z"}]}, {"executionArn": EXEC})
    clients["stepfunctions"].add_response("list_executions", {"executions": [
        {"executionArn": c, "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm", "name": c[-2:],
         "status": "ABORTED", "startDate": "2026-01-01T00:00:00Z"} for c in children]}, {"mapRunArn": run})
    for child, job in zip(children, ("trial-a", "trial-b"), strict=True):
        key = {"pk": {"S": f"execution#{child}"}}
        clients["dynamodb"].add_response("get_item", {"Item": {**key, "job_names": {"SS": [job]}}},
                                         {"TableName": "waiters", "Key": key, "ConsistentRead": True})
        clients["sagemaker"].add_response("list_tags", _tags(execution=child), {"ResourceArn": JOB_ARN.replace("my-job", job), "MaxResults": 100})
    for job in ("trial-a", "trial-b"):
        clients["sagemaker"].add_response("describe_training_job", _running(job), {"TrainingJobName": job})
        clients["sagemaker"].add_response("stop_training_job", {}, {"TrainingJobName": job})
    event = load("eventbridge_execution_status_change_aborted")
    monkeypatch.setenv("STATE_MACHINE_ARN", event["detail"]["stateMachineArn"])
    out = wf.on_execution_end(event)
    assert out["jobs"] == [{"job": "trial-a", "stopped": True}, {"job": "trial-b", "stopped": True}]


def test_a_child_execution_listing_that_fails_leaves_the_rest_to_the_sweeper(clients, monkeypatch):
    monkeypatch.delenv("NOTIFICATION_TOPIC_ARN", raising=False)
    event = load("eventbridge_execution_status_change_aborted")
    monkeypatch.setenv("STATE_MACHINE_ARN", event["detail"]["stateMachineArn"])
    clients["dynamodb"].add_response("get_item", {})
    clients["stepfunctions"].add_client_error("list_map_runs", "AccessDeniedException")
    assert wf.on_execution_end(event) == {"job": None, "stopped": False, "jobs": []}


def _running(name: str) -> dict:
    return {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training", "CreationTime": "2026-01-01T00:00:00Z",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://x/y"}, "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}


def test_an_aborted_execution_with_several_runs_stops_every_job_it_created(clients, monkeypatch):
    """A state machine embedding two FineTuningJobs (or a Map of them): the execution recorded a set of jobs."""
    monkeypatch.delenv("NOTIFICATION_TOPIC_ARN", raising=False)
    key = {"pk": {"S": f"execution#{EXEC}"}}
    clients["dynamodb"].add_response("get_item", {"Item": {**key, "job_names": {"SS": ["sft-job", "dpo-job"]}}})
    clients["sagemaker"].add_response("list_tags", _tags(), {"ResourceArn": JOB_ARN.replace("my-job", "dpo-job"), "MaxResults": 100})
    clients["sagemaker"].add_response("list_tags", _tags(), {"ResourceArn": JOB_ARN.replace("my-job", "sft-job"), "MaxResults": 100})
    for name in ("dpo-job", "sft-job"):
        clients["sagemaker"].add_response("describe_training_job", _running(name), {"TrainingJobName": name})
        clients["sagemaker"].add_response("stop_training_job", {}, {"TrainingJobName": name})
    no_map_runs(clients)
    out = wf.on_execution_end(load("eventbridge_execution_status_change_aborted"))
    assert out == {"job": None, "stopped": True, "jobs": [{"job": "dpo-job", "stopped": True}, {"job": "sft-job", "stopped": True}]}


def test_execution_end_of_another_machine_without_jobs_is_ignored(clients, monkeypatch):
    """The clean-up rule also matches machines embedding a FineTuningJob: one whose execution ran no job is none of our business."""
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ft")
    event = load("eventbridge_execution_status_change_aborted")
    monkeypatch.setenv("STATE_MACHINE_ARN", event["detail"]["stateMachineArn"] + "-other")
    clients["dynamodb"].add_response("get_item", {})
    assert wf.on_execution_end(event) == {"ignored": "no training job recorded for this execution"}  # no SNS publish stubbed
    monkeypatch.setenv("STATE_MACHINE_ARN", event["detail"]["stateMachineArn"])  # the stack's own machine: always reported
    clients["dynamodb"].add_response("get_item", {})
    no_map_runs(clients)
    clients["sns"].add_response("publish", {"MessageId": "m"})
    assert wf.on_execution_end(event) == {"job": None, "stopped": False, "jobs": [], "notified": True}


def test_notification_message():
    msg = wf.notification({"executionArn": EXEC, "name": "run-1", "status": "SUCCEEDED",
                           "output": json.dumps({"training_job_name": "j", "output_model_package_arn": "arn:pkg"})}, "j", {"stopped": False})
    assert msg["subject"] == "Fine-tuning run-1: SUCCEEDED" and msg["output_model_package_arn"] == "arn:pkg" and msg["training_job_name"] == "j"
    failed = wf.notification({"executionArn": EXEC, "name": "run-2", "status": "FAILED", "error": "TrainingJobFailed",
                              "cause": "ClientError: out of memory"}, "j2", {"stopped": False})
    assert failed["reason"] == "ClientError: out of memory" and failed["error"] == "TrainingJobFailed"
    several = wf.notification({"executionArn": EXEC, "name": "run-3", "status": "ABORTED"}, None,
                              {"stopped": True, "jobs": [{"job": "sft-job", "stopped": True}, {"job": "dpo-job", "stopped": False}]})
    assert several["training_jobs"] == ["sft-job", "dpo-job"] and several["training_job_stopped"] is True


# ----------------------------------------------------------------------------- CheckDatasets
SFT_RECORD = json.dumps({"prompt": "2+2?", "completion": "4"}).encode() + b"\n"
RESOLVED = {"resolved": {"model_id": catalog.DEFAULT_MODEL_ID}}


def _datasets_event(technique: str = "SFT", **inp: str) -> dict[str, Any]:
    return {"step": "check_datasets", "input": {"technique": technique, "training_dataset": "s3://ft-bucket/datasets/a.jsonl", **inp},
            "resolution": RESOLVED}


def test_check_datasets_reads_the_head_of_the_object(clients):
    body = SFT_RECORD * 3
    clients["s3"].add_response("head_object", {"ContentLength": len(body)}, {"Bucket": "ft-bucket", "Key": "datasets/a.jsonl"})
    clients["s3"].add_response("get_object", {"Body": _body(body)}, {"Bucket": "ft-bucket", "Key": "datasets/a.jsonl", "Range": "bytes=0-262143"})
    assert wf.step(_datasets_event()) == {"training_dataset": {"object": "s3://ft-bucket/datasets/a.jsonl", "bytes": len(body), "records_checked": 3}}


def test_check_datasets_finds_the_first_object_of_a_prefix(clients):
    clients["s3"].add_response("list_objects_v2", {"Contents": [
        {"Key": "datasets/sft/", "Size": 0}, {"Key": "datasets/sft/part-2.jsonl", "Size": 10}, {"Key": "datasets/sft/part-1.jsonl", "Size": 20},
    ]}, {"Bucket": "ft-bucket", "Prefix": "datasets/sft/", "MaxKeys": 1000})
    clients["s3"].add_response("get_object", {"Body": _body(SFT_RECORD)})
    out = wf.step(_datasets_event(training_dataset="s3://ft-bucket/datasets/sft/"))
    assert out["training_dataset"]["object"] == "s3://ft-bucket/datasets/sft/part-1.jsonl"


def test_missing_dataset_and_empty_prefix_fail_before_launch(clients):
    clients["s3"].add_client_error("head_object", "404", http_status_code=404)
    clients["s3"].add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": "ft-bucket", "Prefix": "datasets/a.jsonl/", "MaxKeys": 1000})
    with pytest.raises(DatasetNotFound, match=r'training_dataset: received "s3://ft-bucket/datasets/a.jsonl"; expected an S3 object, or a prefix'):
        wf.step(_datasets_event())
    clients["s3"].add_response("list_objects_v2", {"Contents": [{"Key": "datasets/empty/", "Size": 0}]})
    with pytest.raises(DatasetNotFound):
        wf.step(_datasets_event(training_dataset="s3://ft-bucket/datasets/empty/"))


def test_rlvr_on_an_sft_dataset_fails_by_name_and_both_datasets_are_reported(clients):
    for _ in range(2):
        clients["s3"].add_response("head_object", {"ContentLength": len(SFT_RECORD)})
        clients["s3"].add_response("get_object", {"Body": _body(SFT_RECORD)})
    with pytest.raises(DatasetFormatMismatch) as err:
        wf.step(_datasets_event("RLVR", validation_dataset="s3://ft-bucket/datasets/b.jsonl"))
    assert [p.field for p in err.value.problems] == ["training_dataset", "validation_dataset"]
    assert str(err.value).startswith("2 problems: training_dataset:") and "look like the sft format" in str(err.value)


def test_unreadable_dataset_and_missing_hub_dataset(clients):
    clients["s3"].add_client_error("head_object", "AccessDenied", http_status_code=403)
    with pytest.raises(DatasetAccessDenied, match="S3 answered AccessDenied"):
        wf.step(_datasets_event())
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/H/DataSet/d/1.0.0"
    clients["sagemaker"].add_client_error("describe_hub_content", "ResourceNotFound")
    with pytest.raises(DatasetNotFound, match="an existing hub DataSet"):
        wf.step(_datasets_event(training_dataset=arn))



# ----------------------------------------------------------------------------- isolation between executions
def test_adopt_tracks_only_a_job_this_execution_created(clients):
    event = {"step": "adopt", "plan": {"training_job_name": "my-job"}, "execution_arn": EXEC}
    clients["sagemaker"].add_response("list_tags", _tags(), {"ResourceArn": JOB_ARN, "MaxResults": 100})
    assert wf.step(event) == {"adopted": "my-job"}  # a retried create or a redrive: the same execution
    for other in (_tags(execution=EXEC.replace("run-1", "run-2")), _tags(stack_id=STACK_ID.replace("FineTuning", "Other")), {"Tags": []}):
        clients["sagemaker"].add_response("list_tags", other)
        with pytest.raises(TrainingJobNameInUse, match='training_job_name: received "my-job"; expected a name no existing training job has'):
            wf.step(event)
    clients["sagemaker"].add_client_error("list_tags", "AccessDeniedException")  # another stack's job (IAM: own tag only)
    with pytest.raises(TrainingJobNameInUse):
        wf.step(event)


def test_an_ended_execution_never_stops_or_reports_a_job_it_did_not_create(clients, monkeypatch):
    """Execution B named team A's running job and was aborted: A's job keeps running, B reports no job."""
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ft")
    key = {"pk": {"S": f"execution#{EXEC}"}}
    clients["dynamodb"].add_response("get_item", {"Item": {**key, "job_name": {"S": "my-job"}}})
    clients["sagemaker"].add_response("list_tags", _tags(execution=EXEC.replace("run-1", "team-a")))
    no_map_runs(clients)
    clients["sns"].add_response("publish", {"MessageId": "m"})
    out = wf.on_execution_end(load("eventbridge_execution_status_change_aborted"))
    assert out == {"job": None, "stopped": False, "jobs": [], "notified": True}  # no StopTrainingJob stubbed: none was sent


def test_the_sweeper_stops_only_this_stacks_orphans(clients):
    jobs = {"TrainingJobSummaries": [
        {"TrainingJobName": n, "TrainingJobArn": f"{JOB_ARN[:-6]}{n}", "CreationTime": "2026-01-01T00:00:00Z", "TrainingJobStatus": "InProgress"}
        for n in ("orphan", "running", "other-stack", "no-tags", "gone")
    ]}
    sm, sfn = clients["sagemaker"], clients["stepfunctions"]
    sm.add_response("list_training_jobs", jobs, {"StatusEquals": "InProgress"})
    sm.add_response("list_tags", _tags(execution=EXEC.replace("run-1", "ended")))
    sfn.add_response("describe_execution", {"executionArn": EXEC.replace("run-1", "ended"), "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
                                            "status": "ABORTED", "startDate": "2026-01-01T00:00:00Z"})
    sm.add_response("stop_training_job", {}, {"TrainingJobName": "orphan"})
    sm.add_response("list_tags", _tags(execution=EXEC))
    sfn.add_response("describe_execution", {"executionArn": EXEC, "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
                                            "status": "RUNNING", "startDate": "2026-01-01T00:00:00Z"})
    sm.add_client_error("list_tags", "AccessDeniedException")  # another stack's job: IAM refuses
    sm.add_response("list_tags", {"Tags": []})
    sm.add_response("list_tags", _tags(execution=EXEC.replace("run-1", "deleted")))
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist")
    sm.add_response("stop_training_job", {}, {"TrainingJobName": "gone"})
    out = wf.sweep({"source": "aws.events", "detail-type": "Scheduled Event"})
    assert out == {"stopped": [{"job": "orphan", "reason": "its execution is ABORTED"}, {"job": "gone", "reason": "its execution is gone"}],
                   "left_alone": 3}


def _package_response(pkg: str, base: str = catalog.DEFAULT_MODEL_ID) -> dict[str, Any]:
    return {
        "ModelPackageName": "grp", "ModelPackageArn": pkg, "CreationTime": "2026-01-01T00:00:00Z", "ModelPackageStatus": "Completed",
        "ModelPackageGroupName": "grp",
        "InferenceSpecification": {"Containers": [{"Image": "x", "BaseModel": {"HubContentName": base, "HubContentVersion": "1.0.0"}}],
                                   "SupportedContentTypes": [], "SupportedResponseMIMETypes": []},
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
    }


def _job_response(name: str, status: str, package: str | None) -> dict[str, Any]:
    job = {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
           "TrainingJobStatus": status, "SecondaryStatus": status, "CreationTime": "2026-01-01T00:00:00Z",
           "AlgorithmSpecification": {"TrainingInputMode": "File"}, "ResourceConfig": {"VolumeSizeInGB": 1},
           "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m"}}
    if package:
        job["OutputModelPackageArn"] = package
    return job


def test_continued_customization_from_a_training_job_uses_its_output_package(clients):
    job_arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/sft-run-1"
    pkg = "arn:aws:sagemaker:us-east-1:123456789012:model-package/grp/7"
    clients["sagemaker"].add_response("describe_training_job", _job_response("sft-run-1", "Completed", pkg), {"TrainingJobName": "sft-run-1"})
    clients["sagemaker"].add_response("describe_model_package", _package_response(pkg), {"ModelPackageName": pkg})
    clients["sagemaker"].add_response("describe_hub_content", catalog.describe_hub_content(REGION, catalog.DEFAULT_MODEL_ID))
    objects = catalog.recipe_objects(REGION)
    uri = next(u for u in objects if "/llmft_qwen3_0_dot_6b_seq4k_gpu_dpo_override_params_" in u)
    clients["s3"].add_response("get_object", {"Body": _body(objects[uri])})
    out = wf.resolve({"input": {"technique": "DPO", "model": job_arn, "training_type": "LORA"}})
    assert out["resolved"]["source_model_package_arn"] == pkg and out["resolved"]["model_id"] == catalog.DEFAULT_MODEL_ID


@pytest.mark.parametrize(("status", "package", "error", "says"), [
    ("Failed", None, InvalidInput, "completed and registered a model package (it is Failed, with no output model package)"),
    ("InProgress", None, InvalidInput, "(it is InProgress"),
    ("Completed", "arn:aws:sagemaker:us-east-1:123456789012:model-package/someone-elses/2", AccessNotGranted,
     "a group this stack may read: grp (the job registered arn:aws:sagemaker:us-east-1:123456789012:model-package/someone-elses/2)"),
])
def test_continuing_from_a_job_without_a_readable_package_is_refused_by_name(clients, status, package, error, says):
    job_arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-2"
    clients["sagemaker"].add_response("describe_training_job", _job_response("run-2", status, package))
    with pytest.raises(error) as err:
        wf.resolve({"input": {"technique": "DPO", "model": job_arn, "training_type": "LORA"}})
    assert err.value.field == "model" and says in str(err.value) and job_arn in str(err.value)


@pytest.mark.parametrize(("code", "error"), [("ValidationException", ModelNotFound), ("AccessDeniedException", AccessNotGranted)])
def test_continuing_from_an_unknown_or_foreign_job(clients, code, error):
    clients["sagemaker"].add_client_error("describe_training_job", code, "no")
    with pytest.raises(error, match="model: received"):
        wf.resolve({"input": {"technique": "SFT", "model": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x", "training_type": "LORA"}})
