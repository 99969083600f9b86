"""Gap 4: simulated serverless training jobs: lifecycle, events, validation, faults, control API."""

from __future__ import annotations

import json

import pytest

from sagemaker_finetuning_emulator import hub_data

from .helpers import drain_queue, ensure_data, ensure_role, serverless_job, wait_for, zip_bytes

TERMINAL = ("Completed", "Failed", "Stopped")

EVENT_SINK = """
import json, boto3
def handler(event, context):
    d = event["detail"]
    key = "events/%s/%s-%s.json" % (d["TrainingJobName"], d["TrainingJobStatus"], d["SecondaryStatus"])
    boto3.client("s3").put_object(Bucket="event-sink", Key=key, Body=json.dumps(event).encode())
"""


@pytest.fixture(scope="module")
def sm(client):
    ensure_data(client("s3"))
    return client("sagemaker")


@pytest.fixture(scope="module")
def raw_sm(client, sm):
    return client("sagemaker", raw=True)


@pytest.fixture(scope="module")
def group(sm):
    return sm.create_model_package_group(ModelPackageGroupName="ft-models")["ModelPackageGroupArn"]


@pytest.fixture(scope="module")
def job_events(client):
    """SQS queue + Lambda function receiving every training-job state change."""
    sqs, events, lam, s3 = client("sqs"), client("events"), client("lambda"), client("s3")
    url = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="event-sink")
    fn_arn = lam.create_function(
        FunctionName="event-sink",
        Runtime="python3.12",
        Role=ensure_role(client("iam")),
        Handler="sink.handler",
        Code={"ZipFile": zip_bytes({"sink.py": EVENT_SINK})},
        Timeout=10,
    )["FunctionArn"]
    pattern = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"]}
    events.put_rule(Name="jobs", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="jobs", Targets=[{"Id": "q", "Arn": queue_arn}])
    lambda_pattern = dict(pattern, detail={"TrainingJobName": [{"prefix": "lam-"}]})
    events.put_rule(Name="jobs-to-lambda", EventPattern=json.dumps(lambda_pattern))
    events.put_targets(Rule="jobs-to-lambda", Targets=[{"Id": "fn", "Arn": fn_arn}])
    return sqs, url


def wait_terminal(sm, name: str, timeout: float = 10.0) -> tuple[dict, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []

    def poll():
        d = sm.describe_training_job(TrainingJobName=name)
        state = (d["TrainingJobStatus"], d["SecondaryStatus"])
        if not seen or seen[-1] != state:
            seen.append(state)
        return d if d["TrainingJobStatus"] in TERMINAL else None

    return wait_for(poll, timeout=timeout, interval=0.02), seen


def events_for(bodies: list[dict], name: str) -> list[tuple[str, str]]:
    return [(b["detail"]["TrainingJobStatus"], b["detail"]["SecondaryStatus"]) for b in bodies if b["detail"]["TrainingJobName"] == name]


def test_serverless_job_completes_with_model_package_and_events(sm, job_events):
    sqs, url = job_events
    # A group of its own: the package versions below count only this test's jobs.
    group = sm.create_model_package_group(ModelPackageGroupName="ft-lifecycle")["ModelPackageGroupArn"]
    mlflow = {"MlflowResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1", "MlflowExperimentName": "exp"}
    req = serverless_job("sft-1", group, MlflowConfig=mlflow, StoppingCondition={"MaxRuntimeInSeconds": 3600})
    arn = sm.create_training_job(**req)["TrainingJobArn"]
    assert arn.endswith(":training-job/sft-1")
    first = sm.describe_training_job(TrainingJobName="sft-1")
    assert first["TrainingJobStatus"] == "InProgress"
    done, seen = wait_terminal(sm, "sft-1")
    assert seen[0][0] == "InProgress" and seen[-1] == ("Completed", "Completed")
    assert [t["Status"] for t in done["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"
    ]
    assert all(t["StatusMessage"].startswith("SIMULATED") for t in done["SecondaryStatusTransitions"])
    # echoed request fields
    for key in ("ServerlessJobConfig", "ModelPackageConfig", "MlflowConfig", "HyperParameters", "InputDataConfig", "StoppingCondition"):
        assert done[key] == req[key], key
    assert done["ProgressInfo"] == {"TotalStepCountPerEpoch": 10, "CurrentStep": 10, "CurrentEpoch": 2, "MaxEpoch": 2}
    assert done["BillableTokenCount"] > 0
    assert set(done["MlflowDetails"]) == {"MlflowExperimentId", "MlflowRunId"}
    assert done["TrainingStartTime"] <= done["TrainingEndTime"]
    assert done["OutputModelPackageArn"].endswith(":model-package/ft-lifecycle/1")

    package = sm.describe_model_package(ModelPackageName=done["OutputModelPackageArn"])
    assert package["ModelPackageGroupName"] == "ft-lifecycle"
    assert package["InferenceSpecification"]["Containers"][0]["BaseModel"] == {
        "HubContentName": hub_data.DEFAULT_MODEL_ID,
        "HubContentVersion": hub_data.model(hub_data.DEFAULT_MODEL_ID)["version"],
        "RecipeName": "llmft_qwen3_0_dot_6b_seq4k_gpu_sft_lora",  # the real SFT LoRA 4K recipe of Qwen3 0.6B
    }
    # a continued fine-tuning job from that package: version 2, same base model
    req2 = serverless_job("sft-2", group)
    req2["ModelPackageConfig"]["SourceModelPackageArn"] = done["OutputModelPackageArn"]
    sm.create_training_job(**req2)
    done2, _ = wait_terminal(sm, "sft-2")
    assert done2["OutputModelPackageArn"].endswith(":model-package/ft-lifecycle/2")
    package2 = sm.describe_model_package(ModelPackageName=done2["OutputModelPackageArn"])
    assert package2["InferenceSpecification"]["Containers"][0]["BaseModel"]["HubContentName"] == hub_data.DEFAULT_MODEL_ID

    bodies = drain_queue(sqs, url, until=lambda b: ("Completed", "Completed") in events_for(b, "sft-1"))
    assert events_for(bodies, "sft-1") == [
        ("InProgress", "Starting"),
        ("InProgress", "Downloading"),
        ("InProgress", "Training"),
        ("InProgress", "Uploading"),
        ("Completed", "Completed"),
    ]
    final = [b for b in bodies if b["detail"]["TrainingJobName"] == "sft-1"][-1]
    assert final["source"] == "aws.sagemaker" and final["resources"] == [arn]
    assert final["detail"]["OutputModelPackageArn"] == done["OutputModelPackageArn"]
    assert isinstance(final["detail"]["CreationTime"], int)


def test_events_reach_a_lambda_target(sm, client, job_events):
    s3 = client("s3")
    sm.create_training_job(**serverless_job("lam-1", Tags=[{"Key": "sim:duration-seconds", "Value": "0.3"}]))
    wait_terminal(sm, "lam-1")
    keys = wait_for(
        lambda: (k := [o["Key"] for o in s3.list_objects_v2(Bucket="event-sink", Prefix="events/lam-1/").get("Contents", [])])
        and len(k) == 5
        and k
    )
    assert "events/lam-1/Completed-Completed.json" in keys
    event = json.loads(s3.get_object(Bucket="event-sink", Key="events/lam-1/Completed-Completed.json")["Body"].read())
    assert event["detail-type"] == "SageMaker Training Job State Change" and event["time"].endswith("Z")


def test_failed_and_stopped_jobs(sm, job_events):
    sqs, url = job_events
    tags = [
        {"Key": "sim:outcome", "Value": "Failed"},
        {"Key": "sim:failure-reason", "Value": "AlgorithmError: loss is NaN"},
        {"Key": "sim:duration-seconds", "Value": "0.4"},
    ]
    sm.create_training_job(**serverless_job("bad-1", Tags=tags))
    done, _ = wait_terminal(sm, "bad-1")
    assert done["TrainingJobStatus"] == "Failed" and done["SecondaryStatus"] == "Failed"
    assert done["FailureReason"] == "SIMULATED: AlgorithmError: loss is NaN"
    assert "OutputModelPackageArn" not in done

    sm.create_training_job(**serverless_job("stop-1", Tags=[{"Key": "sim:duration-seconds", "Value": "30"}]))
    sm.stop_training_job(TrainingJobName="stop-1")
    assert sm.describe_training_job(TrainingJobName="stop-1")["TrainingJobStatus"] == "Stopping"
    done, _ = wait_terminal(sm, "stop-1")
    assert (done["TrainingJobStatus"], done["SecondaryStatus"]) == ("Stopped", "Stopped")
    with pytest.raises(sm.exceptions.ClientError, match="status Stopped"):
        sm.stop_training_job(TrainingJobName="stop-1")
    listed = {j["TrainingJobName"]: j["TrainingJobStatus"] for j in sm.list_training_jobs()["TrainingJobSummaries"]}
    assert listed["stop-1"] == "Stopped" and listed["bad-1"] == "Failed"
    bodies = drain_queue(sqs, url, until=lambda b: ("Stopped", "Stopped") in events_for(b, "stop-1"))
    assert events_for(bodies, "stop-1")[-2:] == [("Stopping", "Stopping"), ("Stopped", "Stopped")]
    assert ("Failed", "Failed") in events_for(bodies, "bad-1")


def test_missing_input_data_fails_the_job_like_aws(sm):
    sm.create_training_job(**serverless_job("nodata-1", bucket="no-such-bucket"))
    done, _ = wait_terminal(sm, "nodata-1")
    assert done["TrainingJobStatus"] == "Failed"
    assert done["FailureReason"].startswith('SIMULATED: ClientError: No S3 objects found under S3 URL "s3://no-such-bucket/train/"')


def test_requests_are_validated_like_aws(raw_sm, group):
    no_role = serverless_job("v-1", group)
    del no_role["RoleArn"]
    with pytest.raises(raw_sm.exceptions.ClientError) as err:
        raw_sm.create_training_job(**no_role)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in str(err.value)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    bad_model = serverless_job("v-2", group)
    bad_model["ServerlessJobConfig"]["BaseModelArn"] = (
        "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/no-such-model/1.0.0"
    )
    with pytest.raises(raw_sm.exceptions.ClientError, match="no-such-model does not exist") as err:
        raw_sm.create_training_job(**bad_model)
    assert err.value.response["Error"]["Code"] == "ValidationException"

    bad_pattern = serverless_job("v_3!", group)
    bad_pattern["ServerlessJobConfig"]["JobType"] = "Pretraining"
    with pytest.raises(raw_sm.exceptions.ClientError) as err:
        raw_sm.create_training_job(**bad_pattern)
    message = err.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected")
    assert "trainingJobName" in message and "serverlessJobConfig.jobType" in message

    missing_group = serverless_job("v-4", group.replace("ft-models", "nope"))
    with pytest.raises(raw_sm.exceptions.ClientError, match="model-package-group/nope does not exist"):
        raw_sm.create_training_job(**missing_group)

    gated = serverless_job("v-5", group)
    gated["ServerlessJobConfig"].update(
        BaseModelArn="arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/meta-textgeneration-llama-3-2-1b-instruct",
        SequenceLength="4K",  # the real Llama 3.2 1B recipes: 4K (SFT, DPO, RLAIF), 1K (RLVR)
    )
    with pytest.raises(raw_sm.exceptions.ClientError, match="AcceptEula"):
        raw_sm.create_training_job(**gated)
    gated["ServerlessJobConfig"]["AcceptEula"] = True
    raw_sm.create_training_job(**gated)

    with pytest.raises(raw_sm.exceptions.ClientError) as err:
        raw_sm.create_training_job(**gated)
    assert err.value.response["Error"]["Code"] == "ResourceInUse"


def test_throttling_injection(emulator, raw_sm):
    control = emulator.control
    raw_sm.create_training_job(**serverless_job("thr-0"))  # an existing job the Describe fault must not match
    control.inject_fault("CreateTrainingJob", count=2)
    control.inject_fault("DescribeTrainingJob", match={"TrainingJobName": "thr-1"})
    assert [f["operation"] for f in control.faults()] == ["CreateTrainingJob", "DescribeTrainingJob"]
    for _ in range(2):
        with pytest.raises(raw_sm.exceptions.ClientError) as err:
            raw_sm.create_training_job(**serverless_job("thr-1"))
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert err.value.response["Error"]["Message"].startswith("SIMULATED")
    raw_sm.create_training_job(**serverless_job("thr-1"))
    raw_sm.describe_training_job(TrainingJobName="thr-0")  # does not match the fault
    with pytest.raises(raw_sm.exceptions.ClientError, match="ThrottlingException"):
        raw_sm.describe_training_job(TrainingJobName="thr-1")
    assert raw_sm.describe_training_job(TrainingJobName="thr-1")["TrainingJobName"] == "thr-1"
    assert control.faults() == []


def test_a_fault_after_the_call_applies_it_then_answers_the_error(emulator, raw_sm):
    """``after=True`` simulates a lost response: the job exists although the caller saw a 503."""
    emulator.control.inject_fault("CreateTrainingJob", error_code="ServiceUnavailableException", http_status=503, after=True,
                                  match={"TrainingJobName": "lost-1"})
    with pytest.raises(raw_sm.exceptions.ClientError) as err:
        raw_sm.create_training_job(**serverless_job("lost-1"))
    assert err.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raw_sm.describe_training_job(TrainingJobName="lost-1")["TrainingJobName"] == "lost-1"
    with pytest.raises(raw_sm.exceptions.ClientError, match="ResourceInUse"):  # the caller's retry
        raw_sm.create_training_job(**serverless_job("lost-1"))
    emulator.control.inject_fault("CreateTrainingJob", match={"TrainingJobName": "lost-2"})  # before (default): no effect
    with pytest.raises(raw_sm.exceptions.ClientError, match="ThrottlingException"):
        raw_sm.create_training_job(**serverless_job("lost-2"))
    with pytest.raises(raw_sm.exceptions.ClientError, match="ValidationException|ResourceNotFound"):
        raw_sm.describe_training_job(TrainingJobName="lost-2")


def test_control_api_outcome_suppression_snapshot_and_clock(emulator, sm, job_events):
    sqs, url = job_events
    control = emulator.control
    control.force_outcome("ctl-1", "Failed", "SimulatedError: forced")  # before the job exists
    control.suppress_events("ctl-1")
    sm.create_training_job(**serverless_job("ctl-1", Tags=[{"Key": "sim:duration-seconds", "Value": "600"}]))
    assert control.advance(1000, job_name="ctl-1")["jobs"] == 1
    done = sm.describe_training_job(TrainingJobName="ctl-1")
    assert done["TrainingJobStatus"] == "Failed" and done["FailureReason"] == "SIMULATED: SimulatedError: forced"
    snapshot = control.job("ctl-1")
    assert snapshot["Simulation"]["EventsSuppressed"] and snapshot["Simulation"]["SuppressedEventCount"] >= 2
    assert "ctl-1" in {j["TrainingJobName"] for j in control.jobs()}
    bodies = drain_queue(sqs, url)
    assert events_for(bodies, "ctl-1") == []

    settings = control.set_sim(job_seconds=0.5, speed=2.0)
    assert settings["job_seconds"] == 0.5 and settings["speed"] == 2.0
    control.set_sim(job_seconds=0.8, speed=1.0)
    status = control.status()
    assert status["moto_version"] == "5.2.5" and any("CreateTrainingJob" in p["summary"] for p in status["patches"])
