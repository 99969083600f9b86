"""Whole-dataset validation before any spend: the S3 side of three workflow steps (thin adapters).

The record checks, the part plan, line ownership across byte ranges and the verdict are pure code
(``sagemaker_finetuning.core.datasets.whole``); this module lists objects, reads byte ranges and
raises the named errors. The three functions are steps of the Steps Lambda (``event["step"]``
selects them; the Lambda's ``step`` entry point passes the whole event on):

``list_parts`` — lists every object under the training and validation URIs and plans the parts::

    in:  {"input": {<execution input after ValidateInput>: "technique", "training_dataset",
                    "validation_dataset"?, "validate_dataset"?: "full" | "sample" | "off"},
          "resolution": {"resolved": {"model_id": str}},
          "part_bytes"?: int (default 256 MiB), "sample_records"?: int (default 1000),
          "max_errors"?: int (default 10)}
    out: {"mode", "format", "technique", "model_id", "max_errors",
          "datasets": [{"field", "uri", "bucket", "objects", "bytes"} | {"field", "uri", "skipped"}],
          "items": [<validate_part event>, ...], "part_count": int, "bytes": int}

  Hub DataSet ARNs are skipped (``"skipped"``); mode ``off`` lists nothing and plans no item.
  ``DatasetNotFound``: a missing object or bucket, a prefix without a non-empty object;
  ``DatasetAccessDenied``: S3 refused the listing. Consecutive parts of a dataset are grouped into
  one item of at most ``part_bytes`` (``full``) or 100 parts, so many small objects cost few
  invocations. The items and the Map's results (~70 and ~250 bytes a part) go through the state,
  and a Step Functions payload holds 256 KB. So the plan *fans out* when ``fan_out_bytes`` is given
  and the datasets are larger than that, or the items and their worst-case results would take more
  than ``INLINE_BUDGET_BYTES`` (without ``fan_out_bytes`` that is ``InvalidInput``): the items go
  to ``s3://<work.bucket>/<work.prefix><run>/items.json`` (the Distributed Map's ItemReader), each
  naming the object its result goes to, and the output carries ``items_location`` /
  ``results_location`` with ``"items": []``.

``validate_part`` — one item of ``items`` (an iteration of the Map over ``$.items``)::

    in:  {"field", "bucket", "format", "mode", "max_errors", "sample_records",
          "parts": [{"key", "start", "end", "size"}, ...]}      (or {"step"?, "item": <that>})
    out: {"field", "results": [<PartResult.to_dict()>: "key", "start", "end", "size", "lines",
          "records", "invalid_records", "blank_lines", "bytes", "text_chars", "errors_by_kind",
          "issues": [[local line, kind, message], ...], "read_bytes", "truncated"], ...]}

  A fanned-out item (``result_bucket`` / ``result_key``) writes that output to S3 instead and
  returns null, and reports a named error as data (``"failure"``) so the run fails with it.

  Each part is read with ranged GetObject requests, lazily, in 1 MiB chunks: ``full`` asks for
  ``[start - 1, end)`` and then 1 MiB windows past ``end`` until its last line ends; ``sample``
  asks for 256 KiB windows (doubling up to 8 MiB) and stops at the record limit. A part never
  asks for what it does not need. ``DatasetNotFound`` / ``DatasetAccessDenied`` when an object
  vanished or became unreadable since the listing.

``merge_parts`` — the verdict::

    in:  {"plan": <list_parts output; its "items" may be left out>,
          "results": [<validate_part output>, ...]}   (the Map's output, in any order;
                                                       read from results_location when fanned out)
    out: {"mode", "format", "training_dataset": <Verdict.to_dict()>, "validation_dataset"?: ...}

  ``DatasetInvalid`` (both datasets' problems combined, the first errors named with object key and
  absolute line number) when a dataset has an invalid record or no record at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import closing
from functools import lru_cache
from typing import Any, Generator, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_finetuning.core.datasets import whole
from sagemaker_finetuning.core.datasets.formats import format_for
from sagemaker_finetuning.core.errors import (
    DatasetAccessDenied,
    DatasetNotFound,
    FineTuningInputError,
    InvalidInput,
    combined,
    error_from_dict,
)
from sagemaker_finetuning.core.naming import run_key

DATASET_FIELDS = ("training_dataset", "validation_dataset")
DEFAULT_MAX_ERRORS = 10
MAX_PARTS_PER_ITEM = 100
CHUNK_BYTES = 1 << 20
TAIL_WINDOW = 1 << 20
SAMPLE_WINDOW, SAMPLE_WINDOW_MAX = 256 * 1024, 8 << 20
MESSAGE_CHARS = 300
NOT_FOUND = ("NoSuchKey", "NoSuchBucket", "404", "NotFound")
DENIED = ("AccessDenied", "AccessDeniedException", "403", "AllAccessDisabled")
#: What an inline validation may add to the state (item list + the Map's results); a state holds 256 KB.
INLINE_BUDGET_BYTES = 96 * 1024
#: A part's result without issues besides its key, and one issue (line, kind, message of at most MESSAGE_CHARS), as JSON.
RESULT_BYTES, ISSUE_BYTES = 240, 360
LOG = logging.getLogger(__name__)
CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="sagemaker-finetuning-constructs")


@lru_cache(maxsize=1)
def s3_client() -> Any:
    return boto3.client("s3", config=CONFIG)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# ----------------------------------------------------------------------------- list_parts
def list_parts(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Step ListDatasetParts: the objects of each dataset and the items that check them."""
    inp = event["input"]
    mode = inp.get("validate_dataset", whole.DEFAULT_MODE)
    if mode not in whole.MODES:
        raise InvalidInput("validate_dataset", mode, f"one of {', '.join(whole.MODES)}")
    model_id = event["resolution"]["resolved"]["model_id"]
    fmt = format_for(inp["technique"], model_id)
    part_bytes = int(event.get("part_bytes", whole.DEFAULT_PART_BYTES))
    common = {"format": fmt, "mode": mode, "max_errors": int(event.get("max_errors", DEFAULT_MAX_ERRORS)),
              "sample_records": int(event.get("sample_records", whole.DEFAULT_SAMPLE_RECORDS))}
    datasets: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    problems: list[FineTuningInputError] = []
    for field in DATASET_FIELDS:
        uri = inp.get(field)
        if not uri or mode == "off" or not uri.startswith("s3://"):
            if uri:
                datasets.append({"field": field, "uri": uri, "skipped": "mode off" if mode == "off" else "not an S3 dataset"})
            continue
        try:
            bucket, objects = list_objects(field, uri)
        except FineTuningInputError as error:
            problems.append(error)
            continue
        parts = whole.plan_parts(objects, part_bytes, mode)
        datasets.append({"field": field, "uri": uri, "bucket": bucket, "objects": len(objects), "bytes": sum(s for _, s in objects)})
        items += [{"field": field, "bucket": bucket, **common, "parts": [p.to_dict() for p in group]}
                  for group in _groups(parts, part_bytes, mode)]
    if problems:
        raise combined(problems)
    plan = {"mode": mode, "format": fmt, "technique": inp["technique"], "model_id": model_id,
            "max_errors": common["max_errors"], "datasets": datasets,
            "items": items, "part_count": sum(len(i["parts"]) for i in items), "bytes": sum(d.get("bytes", 0) for d in datasets)}
    return fan_out(plan, event) if _fans_out(plan, event.get("fan_out_bytes")) else plan


def inline_bytes(items: list[dict[str, Any]]) -> int:
    """The worst case an inline validation adds to the state: the item list, and the Map's output
    (every part's result, and up to ``max_errors`` issues per item: :func:`validate_part` keeps no more)."""
    results = sum(sum(RESULT_BYTES + len(p["key"]) for p in i["parts"]) + int(i["max_errors"]) * ISSUE_BYTES for i in items)
    return len(json.dumps(items)) + results


def _fans_out(plan: dict[str, Any], fan_out_bytes: Any) -> bool:
    if not plan["items"]:
        return False
    crowded = inline_bytes(plan["items"]) > INLINE_BUDGET_BYTES
    if fan_out_bytes is None:
        if crowded:
            first = next(d for d in plan["datasets"] if "objects" in d)
            raise InvalidInput(first["field"], first["uri"], f"a dataset whose {plan['part_count']} parts fit an inline validation "
                               "(this FineTuningJob has dataset_fan_out=False)",
                               "Merge its objects into fewer, larger ones, set validate_dataset to off, or use dataset_fan_out=True")
        return False
    return crowded or plan["bytes"] > int(fan_out_bytes)


def fan_out(plan: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Put the items in S3 for the Distributed Map: one JSON array, each item naming where its result goes."""
    work = event["work"]
    identity = f"{event['execution_arn']}\n{run_key(event['fragment'], event['input']) if event.get('fragment') else ''}"
    base = f"{work['prefix']}{hashlib.sha256(identity.encode('utf-8')).hexdigest()[:20]}/"
    items = [dict(item, result_bucket=work["bucket"], result_key=f"{base}results/{i:06d}.json") for i, item in enumerate(plan["items"])]
    s3_client().put_object(Bucket=work["bucket"], Key=f"{base}items.json", Body=json.dumps(items).encode("utf-8"),
                           ContentType="application/json")
    return dict(plan, items=[], item_count=len(items), items_location={"Bucket": work["bucket"], "Key": f"{base}items.json"},
                results_location={"Bucket": work["bucket"], "Prefix": f"{base}results/"})


def list_objects(field: str, uri: str) -> tuple[str, list[tuple[str, int]]]:
    """``(bucket, [(key, size)])``: the object ``uri`` names, else the non-empty objects under it."""
    s3 = s3_client()
    bucket, _, key = uri[5:].partition("/")
    try:
        if key and not key.endswith("/"):
            try:
                return bucket, [(key, int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"]))]
            except ClientError as exc:
                if error_code(exc) not in NOT_FOUND:
                    raise
                key += "/"  # maybe a prefix written without its trailing slash
        objects = [
            (o["Key"], int(o.get("Size", 0)))
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            for o in page.get("Contents", [])
            if not o["Key"].endswith("/") and int(o.get("Size", 0)) > 0
        ]
    except ClientError as exc:
        raise _named(exc, field, uri) from exc
    whole.require_objects(field, uri, objects)
    return bucket, sorted(objects)


def _named(exc: ClientError, field: str, uri: str) -> Exception:
    code = error_code(exc)
    if code in DENIED:
        return DatasetAccessDenied(field, uri, "a dataset the workflow may read (S3 answered AccessDenied)")
    if code in NOT_FOUND:
        return DatasetNotFound(field, uri, f"an existing S3 object (S3 answered {code})")
    error: Exception = exc
    return error


def _groups(parts: list[whole.Part], part_bytes: int, mode: str) -> Iterator[list[whole.Part]]:
    group: list[whole.Part] = []
    size = 0
    for part in parts:
        length = part.end - part.start if mode == "full" else 0
        if group and (size + length > part_bytes or len(group) >= MAX_PARTS_PER_ITEM):
            yield group
            group, size = [], 0
        group.append(part)
        size += length
    if group:
        yield group


# ----------------------------------------------------------------------------- validate_part
def validate_part(event: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
    """Step ValidateDatasetPart (one Map item): check the item's parts, each from its byte range.
    The item may come as the event itself or under ``"item"`` (a Map ItemSelector
    ``{"step": ..., "item.$": "$$.Map.Item.Value"}``). A fanned-out item writes its output to S3."""
    event = event.get("item", event)
    if "result_key" not in event:
        return _validate_item(event)
    try:
        out = _validate_item(event)
    except FineTuningInputError as error:
        out = {"field": event["field"], "results": [], "failure": error.to_dict()}
    s3_client().put_object(Bucket=event["result_bucket"], Key=event["result_key"], Body=json.dumps(out).encode("utf-8"),
                           ContentType="application/json")
    return None


def _validate_item(event: dict[str, Any]) -> dict[str, Any]:
    """The item's parts, in order; the first ``max_errors`` issues of the item are kept (the verdict names the
    first errors in dataset order, and the item's parts are consecutive), every error is counted."""
    mode = whole.check_mode(event.get("mode", whole.DEFAULT_MODE))
    limit = int(event.get("sample_records", whole.DEFAULT_SAMPLE_RECORDS)) if mode == "sample" else None
    left = int(event.get("max_errors", DEFAULT_MAX_ERRORS))
    results = []
    for data in event["parts"]:
        part = whole.Part.from_dict(data)
        with closing(range_chunks(event["bucket"], part, sample=mode == "sample")) as chunks:
            try:
                result = whole.validate_part(part, chunks, event["format"], max_errors=left, max_records=limit)
            except ClientError as exc:
                raise _named(exc, event["field"], f"s3://{event['bucket']}/{part.key}") from exc
        out = result.to_dict()
        out["issues"] = [[line, kind, message[:MESSAGE_CHARS]] for line, kind, message in result.issues[:left]]
        left -= len(out["issues"])
        results.append(out)
    return {"field": event["field"], "results": results}


def range_chunks(bucket: str, part: whole.Part, *, sample: bool = False) -> Generator[bytes, None, None]:
    """The object's bytes from ``part.read_from`` on, fetched lazily window by window (ranged
    GetObject) and yielded in chunks of at most ``CHUNK_BYTES``: the first window is the part's own
    range (``full``) or ``SAMPLE_WINDOW`` (``sample``, doubling); later ones extend past ``end``."""
    s3 = s3_client()
    pos = part.read_from
    window = SAMPLE_WINDOW if sample else max(part.end - pos, 1)
    while pos < part.size:
        stop = min(pos + window, part.size)
        body = s3.get_object(Bucket=bucket, Key=part.key, Range=f"bytes={pos}-{stop - 1}")["Body"]
        with closing(body):
            yield from body.iter_chunks(CHUNK_BYTES)
        pos = stop
        window = min(window * 2, SAMPLE_WINDOW_MAX) if sample else TAIL_WINDOW


# ----------------------------------------------------------------------------- merge_parts
def merge_parts(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Step MergeDatasetParts: one verdict per dataset; ``DatasetInvalid`` if any dataset fails."""
    plan = event["plan"]
    outputs = read_results(plan) if "results_location" in plan else event.get("results") or []
    failures = [error_from_dict(o["failure"]) for o in outputs if o.get("failure")]
    if failures:
        raise combined(failures)
    by_field: dict[str, list[dict[str, Any]]] = {}
    for output in outputs:
        by_field.setdefault(output["field"], []).extend(output["results"])
    out: dict[str, Any] = {"mode": plan["mode"], "format": plan["format"]}
    problems: list[FineTuningInputError] = []
    for dataset in plan["datasets"]:
        if "skipped" in dataset:
            out[dataset["field"]] = {"skipped": dataset["skipped"]}
            continue
        verdict = whole.merge(by_field.get(dataset["field"], []), plan["format"], mode=plan["mode"],
                              max_errors=int(plan.get("max_errors", DEFAULT_MAX_ERRORS)))
        out[dataset["field"]] = verdict.to_dict()
        problem = verdict.problem(dataset["field"], dataset["uri"], plan.get("technique"), plan.get("model_id"))
        if problem is not None:
            problems.append(problem)
    if problems:
        raise combined(problems)
    return out


def read_results(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The outputs the fanned-out items wrote, all of them (else RuntimeError: a WorkflowError, not the
    user's); the items and results are then deleted, so validation leaves nothing behind."""
    where = plan["results_location"]
    s3 = s3_client()
    keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=where["Bucket"], Prefix=where["Prefix"])
                  for o in page.get("Contents", []))
    if len(keys) != int(plan["item_count"]):
        raise RuntimeError(f"dataset validation: {len(keys)} of {plan['item_count']} item results under "
                           f"s3://{where['Bucket']}/{where['Prefix']}; the Distributed Map did not finish every item")
    outputs = [json.loads(s3.get_object(Bucket=where["Bucket"], Key=key)["Body"].read()) for key in keys]
    done = [{"Key": key} for key in [*keys, plan["items_location"]["Key"]]]
    for start in range(0, len(done), 1000):
        try:
            s3.delete_objects(Bucket=where["Bucket"], Delete={"Objects": done[start:start + 1000], "Quiet": True})
        except ClientError as exc:  # leftovers are small; the bucket's lifecycle rules still apply
            LOG.warning("could not delete dataset validation work files: %s", exc)
    return outputs
