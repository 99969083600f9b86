"""Whole-dataset validation steps (lambda_src/workflow/dataset_validation.py) against moto's S3:
list the parts, validate each from its byte ranges, merge into one verdict or a named error."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagemaker_finetuning.core.errors import DatasetAccessDenied, DatasetInvalid, DatasetNotFound, InvalidInput
from sagemaker_finetuning.lambda_src.workflow import dataset_validation as dv

BUCKET = "ft-data"
MODEL = "huggingface-reasoning-qwen3-06b"
GOOD = json.dumps({"prompt": "What is 2 + 2?", "completion": "4"})


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 client; every GetObject Range and every ListObjectsV2 the steps send is recorded."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.ranges = []  # type: ignore[attr-defined]
        client.listings = 0  # type: ignore[attr-defined]

        def record(params: dict[str, Any], **_: Any) -> None:
            client.ranges.append((params["Key"], params.get("Range")))  # type: ignore[attr-defined]

        def listed(**_: Any) -> None:
            client.listings += 1  # type: ignore[attr-defined]

        client.meta.events.register("provide-client-params.s3.GetObject", record)
        client.meta.events.register("provide-client-params.s3.ListObjectsV2", listed)
        client.meta.events.register("provide-client-params.s3.HeadObject", listed)
        monkeypatch.setattr(dv, "s3_client", lambda: client)
        yield client


def put(s3: Any, key: str, body: bytes | str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


def event(training: str, validation: str | None = None, mode: str | None = None, model: str = MODEL, **extra: Any) -> dict[str, Any]:
    inp: dict[str, Any] = {"technique": "SFT", "training_dataset": training}
    if validation:
        inp["validation_dataset"] = validation
    if mode:
        inp["validate_dataset"] = mode
    return {"step": "list_dataset_parts", "input": inp, "resolution": {"resolved": {"model_id": model}}, **extra}


def run(ev: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The three steps as the state machine chains them (each payload through JSON, as between states)."""
    plan = json.loads(json.dumps(dv.list_parts(ev)))
    results = [json.loads(json.dumps(dv.validate_part({"step": "validate_dataset_part", "item": item} if i % 2 else item)))
               for i, item in enumerate(plan["items"])]  # the item as the event, or under "item" (a Map's ItemSelector)
    return plan, dv.merge_parts({"plan": {k: v for k, v in plan.items() if k != "items"}, "results": results[::-1]})


def test_a_prefix_is_listed_split_validated_and_merged(s3):
    put(s3, "datasets/sft/a.jsonl", "\n".join([GOOD] * 300) + "\n")
    put(s3, "datasets/sft/b.jsonl", "\r\n".join([GOOD] * 20))
    put(s3, "datasets/sft/empty.jsonl", "")
    put(s3, "datasets/sft/", "")  # a folder marker
    plan, verdict = run(event(f"s3://{BUCKET}/datasets/sft/", part_bytes=1000))
    size_a = 301 * len(GOOD) + 300 - len(GOOD)
    assert plan["datasets"] == [{"field": "training_dataset", "uri": f"s3://{BUCKET}/datasets/sft/", "bucket": BUCKET, "objects": 2,
                                 "bytes": size_a + 20 * len(GOOD) + 19 * 2}]
    assert plan["format"] == "sft" and plan["mode"] == "full" and plan["part_count"] == -(-size_a // 1000) + 1
    assert all(sum(p["end"] - p["start"] for p in item["parts"]) <= 1000 for item in plan["items"])
    t = verdict["training_dataset"]
    assert t["ok"] and (t["objects"], t["records"], t["bytes"]) == (2, 320, plan["bytes"])
    assert t["text_chars"] == 320 * len("What is 2 + 2?4")


def test_one_malformed_line_among_10000_fails_naming_its_object_and_line(s3):
    lines = [json.dumps({"prompt": f"question {i}", "completion": "answer " * (i % 7 + 1)}) for i in range(10_000)]
    lines[7344] = '{"prompt": "question 7344", "completion": }'
    put(s3, "datasets/train.jsonl", "\n".join(lines) + "\n")
    put(s3, "datasets/valid.jsonl", GOOD + "\n")
    with pytest.raises(DatasetInvalid) as err:
        run(event(f"s3://{BUCKET}/datasets/train.jsonl", f"s3://{BUCKET}/datasets/valid.jsonl", part_bytes=64 * 1024))
    message = str(err.value)
    assert err.value.field == "training_dataset" and len(err.value.problems) == 1
    assert "datasets/train.jsonl line 7345: invalid_json" in message and "1 of 10000 records" in message
    # every part was read from its own range: [start - 1, end), then past its end only to finish its last line
    reads = [r for k, r in s3.ranges if k == "datasets/train.jsonl"]
    assert reads[0] == f"bytes=0-{64 * 1024 - 1}" and f"bytes={64 * 1024 - 1}-{2 * 64 * 1024 - 1}" in reads


def test_both_datasets_problems_are_reported_at_once(s3):
    put(s3, "train.jsonl", GOOD + "\n" + '{"prompt": "p"}' + "\n")
    put(s3, "valid.jsonl", "[1, 2]\n")
    with pytest.raises(DatasetInvalid) as err:
        run(event(f"s3://{BUCKET}/train.jsonl", f"s3://{BUCKET}/valid.jsonl"))
    assert [p.field for p in err.value.problems] == ["training_dataset", "validation_dataset"]
    assert "train.jsonl line 2: missing_field" in str(err.value) and "valid.jsonl line 1: not_an_object" in str(err.value)


def test_an_object_without_records_is_invalid(s3):
    put(s3, "blank.jsonl", "\n\n  \n")
    with pytest.raises(DatasetInvalid, match="the dataset has none"):
        run(event(f"s3://{BUCKET}/blank.jsonl"))


@pytest.mark.parametrize("uri", [f"s3://{BUCKET}/missing.jsonl", f"s3://{BUCKET}/empty-prefix/", "s3://no-such-bucket/train.jsonl"])
def test_a_missing_object_or_an_empty_prefix_is_dataset_not_found(s3, uri):
    put(s3, "empty-prefix/zero.jsonl", "")
    with pytest.raises(DatasetNotFound) as err:
        dv.list_parts(event(uri))
    assert err.value.field == "training_dataset" and err.value.received == uri


def test_both_missing_datasets_are_named(s3):
    with pytest.raises(DatasetNotFound) as err:
        dv.list_parts(event(f"s3://{BUCKET}/t.jsonl", f"s3://{BUCKET}/v/"))
    assert [p.field for p in err.value.problems] == ["training_dataset", "validation_dataset"]


def test_a_prefix_written_without_its_slash(s3):
    put(s3, "datasets/sft/part-0.jsonl", GOOD)
    plan, verdict = run(event(f"s3://{BUCKET}/datasets/sft"))
    assert plan["datasets"][0]["objects"] == 1 and verdict["training_dataset"]["records"] == 1


def test_sample_mode_reads_only_what_the_first_records_need(s3):
    body = ("\n".join([GOOD] * 200_000) + "\nbroken\n").encode()  # ~6.8 MB, the bad line at the very end
    put(s3, "big.jsonl", body)
    put(s3, "small.jsonl", GOOD)
    plan, verdict = run(event(f"s3://{BUCKET}/", mode="sample", sample_records=50))
    assert plan["part_count"] == 2 and len(plan["items"]) == 1
    t = verdict["training_dataset"]
    assert t["ok"] and t["records"] == 51 and t["mode"] == "sample"
    big = [r for k, r in s3.ranges if k == "big.jsonl"]
    assert big == [f"bytes=0-{dv.SAMPLE_WINDOW - 1}"]  # one 256 KiB window, of a 6.8 MB object
    result = dv.validate_part(plan["items"][0])["results"][0]
    assert result["truncated"] and result["read_bytes"] <= dv.SAMPLE_WINDOW
    with pytest.raises(DatasetInvalid):
        run(event(f"s3://{BUCKET}/big.jsonl", mode="full", part_bytes=1 << 20))


def test_sample_mode_widens_its_window_only_while_it_needs_more(s3):
    put(s3, "long.jsonl", "\n".join(json.dumps({"prompt": "x" * 100_000, "completion": "y"}) for _ in range(10)))
    run(event(f"s3://{BUCKET}/long.jsonl", mode="sample", sample_records=4))
    starts = [int(r.split("=")[1].split("-")[0]) for _, r in s3.ranges]
    ends = [int(r.split("-")[1]) for _, r in s3.ranges]
    assert starts[0] == 0 and ends[-1] < 4 * 100_030 + dv.SAMPLE_WINDOW_MAX and len(s3.ranges) <= 2


def test_off_mode_reads_nothing(s3):
    plan, verdict = run(event(f"s3://{BUCKET}/missing/", mode="off"))
    assert plan["items"] == [] and s3.listings == 0 and s3.ranges == []
    assert verdict["training_dataset"] == {"skipped": "mode off"}


def test_a_hub_dataset_is_skipped_and_an_unknown_mode_refused(s3):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/h/DataSet/d/1.0.0"
    plan, verdict = run(event(arn))
    assert plan["items"] == [] and verdict["training_dataset"] == {"skipped": "not an S3 dataset"}
    with pytest.raises(InvalidInput, match="validate_dataset"):
        dv.list_parts(event(arn, mode="partial"))


def test_a_nova_model_gets_the_nova_format(s3):
    put(s3, "nova.jsonl", GOOD)
    with pytest.raises(DatasetInvalid, match="nova-sft"):
        run(event(f"s3://{BUCKET}/nova.jsonl", model="nova-textgeneration-lite-v2"))


def test_an_object_deleted_after_the_listing_is_not_found(s3):
    put(s3, "gone.jsonl", GOOD)
    plan = dv.list_parts(event(f"s3://{BUCKET}/gone.jsonl"))
    s3.delete_object(Bucket=BUCKET, Key="gone.jsonl")
    with pytest.raises(DatasetNotFound, match="gone.jsonl"):
        dv.validate_part(plan["items"][0])


def test_many_small_objects_share_items(s3):
    for i in range(250):
        put(s3, f"shards/{i:04d}.jsonl", GOOD + "\n")
    plan, verdict = run(event(f"s3://{BUCKET}/shards/"))
    assert plan["part_count"] == 250 and len(plan["items"]) == 3  # at most 100 parts an item
    assert verdict["training_dataset"]["objects"] == 250 and verdict["training_dataset"]["records"] == 250


def test_a_refused_listing_is_dataset_access_denied(s3, monkeypatch):
    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(s3, "head_object", refuse)
    with pytest.raises(DatasetAccessDenied, match="AccessDenied"):
        dv.list_parts(event(f"s3://{BUCKET}/train.jsonl"))


# ----------------------------------------------------------------------------- fan-out (Distributed Map)
WORK = {"bucket": BUCKET, "prefix": "outputs/dataset-validation/"}
EXEC = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"


def fanned(training: str, **extra: Any) -> dict[str, Any]:
    return event(training, fan_out_bytes=1 << 20, work=WORK, execution_arn=EXEC, **extra)


def run_fanned_out(plan: dict[str, Any], s3: Any) -> dict[str, Any]:
    """What the Distributed Map does: read the item list (ItemReader), run each item (it writes its result)."""
    loc = plan["items_location"]
    items = json.loads(s3.get_object(Bucket=loc["Bucket"], Key=loc["Key"])["Body"].read())
    assert all(dv.validate_part({"step": "validate_dataset_part", "item": item}) is None for item in items)
    return dv.merge_parts({"plan": plan, "results": {"fanned_out": True}})


def keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_above_the_fan_out_size_the_items_go_to_s3_and_the_results_come_back_from_it(s3):
    put(s3, "big/a.jsonl", "\n".join([GOOD] * 40000) + "\n")  # ~1.3 MB, above the 1 MiB fan-out size
    put(s3, "big/b.jsonl", "\n".join([GOOD] * 10) + "\n")
    plan = json.loads(json.dumps(dv.list_parts(fanned(f"s3://{BUCKET}/big/", part_bytes=256 * 1024))))
    assert plan["items"] == [] and keys(s3, "outputs/dataset-validation/") == [plan["items_location"]["Key"]]
    assert plan["items_location"]["Key"].startswith("outputs/dataset-validation/") and plan["items_location"]["Key"].endswith("/items.json")
    assert plan["item_count"] >= 5 and plan["results_location"]["Prefix"].endswith("/results/")
    verdict = run_fanned_out(plan, s3)
    assert verdict["training_dataset"]["records"] == 40010 and verdict["training_dataset"]["ok"]
    assert keys(s3, "outputs/dataset-validation/") == []  # items and results deleted once read


def test_below_the_fan_out_size_few_items_stay_inline_but_many_objects_fan_out(s3):
    put(s3, "small/a.jsonl", GOOD + "\n")
    assert "items_location" not in dv.list_parts(fanned(f"s3://{BUCKET}/small/"))
    assert "items_location" not in dv.list_parts(event(f"s3://{BUCKET}/small/", work=WORK, execution_arn=EXEC))  # no fan-out size: inline
    for i in range(400):  # tiny, but their results could crowd the state's 256 KB payload
        put(s3, f"many/{i:04d}.jsonl", GOOD + "\n")
    plan = dv.list_parts(fanned(f"s3://{BUCKET}/many/"))
    assert plan["bytes"] < 1 << 20 and "items_location" in plan and plan["part_count"] == 400
    assert run_fanned_out(json.loads(json.dumps(plan)), s3)["training_dataset"]["objects"] == 400
    # without fan-out (a FineTuningJob with dataset_fan_out=False) that is refused by name, before any state overflows
    with pytest.raises(InvalidInput, match=r"training_dataset: received .*many/.*; expected a dataset whose 400 parts fit an inline validation"):
        dv.list_parts(event(f"s3://{BUCKET}/many/"))


def test_the_inline_budget_holds_the_worst_case_results(s3):
    """Every part of an inline plan invalid, each item with max_errors issues of the longest message: the Map's
    output and the item list still fit the budget, far below the 256 KB a state holds."""
    for i in range(250):
        put(s3, f"bad/{i:04d}.jsonl", "\n".join(["{" + "x" * 400] * 12) + "\n")
    plan = json.loads(json.dumps(dv.list_parts(event(f"s3://{BUCKET}/bad/"))))
    assert dv.inline_bytes(plan["items"]) <= dv.INLINE_BUDGET_BYTES
    results = [dv.validate_part(item) for item in plan["items"]]
    assert len(json.dumps(plan["items"])) + len(json.dumps(results)) <= dv.inline_bytes(plan["items"])


def test_runs_of_one_execution_get_their_own_work_files(s3):
    put(s3, "big/a.jsonl", "\n".join([GOOD] * 40000) + "\n")
    locations = {dv.list_parts(fanned(f"s3://{BUCKET}/big/", **extra))["items_location"]["Key"]
                 for extra in ({}, {"fragment": "Stack/Sft"}, {"fragment": "Stack/Dpo"})}
    assert len(locations) == 3
    again = dv.list_parts(fanned(f"s3://{BUCKET}/big/", fragment="Stack/Sft"))["items_location"]["Key"]
    assert again in locations  # a redrive writes over its own list


def test_a_fanned_out_item_reports_a_named_error_as_data_and_the_merge_raises_it(s3):
    put(s3, "big/a.jsonl", "\n".join([GOOD] * 40000) + "\n")
    plan = dv.list_parts(fanned(f"s3://{BUCKET}/big/", part_bytes=256 * 1024))
    s3.delete_object(Bucket=BUCKET, Key="big/a.jsonl")  # gone since the listing
    with pytest.raises(DatasetNotFound, match="big/a.jsonl"):
        run_fanned_out(json.loads(json.dumps(plan)), s3)


def test_a_missing_result_is_a_workflow_error_not_a_verdict(s3):
    put(s3, "big/a.jsonl", "\n".join([GOOD] * 40000) + "\n")
    plan = dv.list_parts(fanned(f"s3://{BUCKET}/big/", part_bytes=256 * 1024))
    with pytest.raises(RuntimeError, match=rf"0 of {plan['item_count']} item results"):
        dv.merge_parts({"plan": plan, "results": {"fanned_out": True}})
