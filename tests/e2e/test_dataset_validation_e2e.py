"""Whole-dataset validation before any spend, on the deployed app: every record of every object under
the dataset URI is checked in the workflow (ListDatasetParts -> ValidateDatasetParts -> merge); above
the stack's fan-out size (1 MiB in these tests) by a Distributed Map (ValidateDatasetPartsAtScale)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

RECORD = {"prompt": "What is {a} + {b}?", "completion": "{a} + {b} = {c}."}


def _records(count: int, bad_line: int | None = None) -> bytes:
    lines = []
    for i in range(1, count + 1):
        if i == bad_line:
            lines.append('{"prompt": "an unterminated record", "completion": ')
            continue
        a, b = i % 97, i % 89
        lines.append(json.dumps({"prompt": RECORD["prompt"].format(a=a, b=b), "completion": RECORD["completion"].format(a=a, b=b, c=a + b)}))
    return ("\n".join(lines) + "\n").encode()


def _states(harness, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in harness.history(arn) if "stateEnteredEventDetails" in e]


def _jobs_of(harness, arn: str) -> list[str]:
    names = []
    for job in harness.sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]:
        tags = harness.sm.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
        if {"Key": "sagemaker-finetuning:execution-arn", "Value": arn} in tags:
            names.append(job["TrainingJobName"])
    return names


def test_one_malformed_line_among_10000_fails_before_any_job(harness):
    bucket = harness.outputs["BucketName"]
    harness.s3.put_object(Bucket=bucket, Key="datasets/whole/part-1.jsonl", Body=_records(5000))
    harness.s3.put_object(Bucket=bucket, Key="datasets/whole/part-2.jsonl", Body=_records(5000, bad_line=2777))
    arn = harness.start({"technique": "SFT", "training_dataset": f"s3://{bucket}/datasets/whole/"})
    done = harness.wait(arn, timeout=120)
    assert done["status"] == "FAILED" and done["error"] == "DatasetInvalid", (done.get("error"), done.get("cause"))
    assert "datasets/whole/part-2.jsonl line 2777" in done["cause"] and "1 of 10000 records" in done["cause"], done["cause"]
    states = _states(harness, arn)
    assert "ValidateDatasetParts" in states and "MergeDatasetValidation" in states and states[-1] == "InputRejected"
    assert "CreateTrainingJob" not in states and not _jobs_of(harness, arn)  # nothing launched, nothing billed


def test_a_valid_dataset_passes_and_sample_and_off_read_less(harness):
    bucket = harness.outputs["BucketName"]
    body = _records(2000)
    harness.s3.put_object(Bucket=bucket, Key="datasets/whole-ok/train.jsonl", Body=body)
    arn = harness.start({"technique": "SFT", "training_dataset": f"s3://{bucket}/datasets/whole-ok/train.jsonl"})
    done = harness.wait(arn, timeout=120)
    assert done["status"] == "SUCCEEDED"
    # the output reports what was checked: the inputs of a token estimate (budgets)
    dataset = json.loads(done["output"])["dataset"]
    assert dataset["mode"] == "full" and dataset["validation"] is None
    assert dataset["training"]["records"] == 2000 and dataset["training"]["bytes"] == len(body)
    texts = [json.loads(line) for line in body.decode().splitlines()]
    assert dataset["training"]["text_chars"] == sum(len(r["prompt"]) + len(r["completion"]) for r in texts)
    # sample: a malformed record past the first 1000 is not looked at; off: no part is planned
    harness.s3.put_object(Bucket=bucket, Key="datasets/whole-late/train.jsonl", Body=_records(3000, bad_line=2500))
    for mode in ("sample", "off"):
        arn = harness.start({"technique": "SFT", "training_dataset": f"s3://{bucket}/datasets/whole-late/train.jsonl",
                             "validate_dataset": mode})
        done = harness.wait(arn, timeout=120)
        assert done["status"] == "SUCCEEDED", (mode, done.get("cause"))
        reported = json.loads(done["output"])["dataset"]
        assert reported["mode"] == mode and (reported["training"] is None) == (mode == "off")
        assert mode == "off" or reported["training"]["records"] == 1000  # sample: the first 1000 records


def _work_files(harness) -> list[str]:
    listing = harness.s3.list_objects_v2(Bucket=harness.outputs["BucketName"], Prefix="outputs/dataset-validation/")
    return [o["Key"] for o in listing.get("Contents", [])]


def test_a_large_dataset_fans_out_to_a_distributed_map_and_names_the_bad_line(harness):
    """Above the fan-out size: the items go to S3, child executions validate them, the verdict is the same
    (the bad line named with its object and line), nothing is launched and no work file is left behind."""
    bucket = harness.outputs["BucketName"]
    for i in range(1, 4):  # ~3 x 0.6 MB: above 1 MiB in total
        harness.s3.put_object(Bucket=bucket, Key=f"datasets/large/part-{i}.jsonl", Body=_records(10000, bad_line=4321 if i == 3 else None))
    arn = harness.start({"technique": "SFT", "training_dataset": f"s3://{bucket}/datasets/large/"})
    done = harness.wait(arn, timeout=180)
    assert done["status"] == "FAILED" and done["error"] == "DatasetInvalid", (done.get("error"), done.get("cause"))
    assert "datasets/large/part-3.jsonl line 4321" in done["cause"] and "1 of 30000 records" in done["cause"], done["cause"]
    states = _states(harness, arn)
    assert "ValidateDatasetPartsAtScale" in states and "ValidateDatasetParts" not in states, states
    assert "CreateTrainingJob" not in states and not _jobs_of(harness, arn)
    assert _work_files(harness) == []
    # the same data, valid: the run goes on and reports exact counts
    harness.s3.put_object(Bucket=bucket, Key="datasets/large/part-3.jsonl", Body=_records(10000))
    arn = harness.start({"technique": "SFT", "training_dataset": f"s3://{bucket}/datasets/large/"})
    done = harness.wait(arn, timeout=180)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"])["dataset"]["training"]["records"] == 30000
    assert "ValidateDatasetPartsAtScale" in _states(harness, arn) and _work_files(harness) == []


def test_a_budget_of_one_token_launches_nothing_and_a_sufficient_one_reports_estimate_and_billing(harness):
    bucket = harness.outputs["BucketName"]
    body = _records(400)
    harness.s3.put_object(Bucket=bucket, Key="datasets/budget/train.jsonl", Body=body)
    uri = f"s3://{bucket}/datasets/budget/train.jsonl"
    refused = harness.wait(harness.start({"technique": "SFT", "training_dataset": uri, "budget": {"max_tokens": 1}}), timeout=120)
    assert refused["status"] == "FAILED" and refused["error"] == "BudgetExceeded", (refused.get("error"), refused.get("cause"))
    assert "budget.max_tokens: received 1; expected at least the run's estimate of" in refused["cause"]
    assert not _jobs_of(harness, refused["executionArn"])
    done = harness.wait(harness.start({"technique": "SFT", "training_dataset": uri, "budget": {"max_tokens": 10**9}}), timeout=120)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    budget = json.loads(done["output"])["budget"]
    chars = sum(len(r["prompt"]) + len(r["completion"]) for r in map(json.loads, body.decode().splitlines()))
    assert budget["estimated_tokens"] == -(-chars // 4) * budget["epochs"] and budget["max_tokens"] == 10**9
    assert budget["billable_token_count"] == len(body) // 4 * budget["epochs"]  # the emulator bills bytes / 4 per epoch (SIMULATED)
