"""Where datasets come from: local files and directories, S3 objects and prefixes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from sagemaker_finetuning.core.datasets.engine import CHUNK_SIZE, DEFAULT_MAX_ERRORS, Issue, Report, State, consume, finish
from sagemaker_finetuning.core.datasets.formats import DatasetError, get_format


def _parse_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise DatasetError(f"invalid S3 URI {uri!r}: expected s3://bucket/key")
    return bucket, key


def _s3_objects(client: Any, bucket: str, key: str) -> Iterator[tuple[str, Any]]:
    """``(uri, body)`` for an object, or for every object under a prefix."""
    from botocore.exceptions import ClientError

    if key and not key.endswith("/"):
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code not in ("NoSuchKey", "404", "NotFound"):
                raise DatasetError(f"cannot read s3://{bucket}/{key}: {code or e}") from None
            # Maybe a prefix written without the trailing slash.
            key = key + "/"
        else:
            yield f"s3://{bucket}/{key}", body
            return
    keys = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/") and obj.get("Size", 1) > 0:
                    keys.append(obj["Key"])
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        raise DatasetError(f"cannot list s3://{bucket}/{key}: {code or e}") from None
    if not keys:
        raise DatasetError(f"no object at s3://{bucket}/{key.rstrip('/')} (nor under it as a prefix)")
    for k in sorted(keys):
        try:
            body = client.get_object(Bucket=bucket, Key=k)["Body"]
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise DatasetError(f"cannot read s3://{bucket}/{k}: {code or e}") from None
        yield f"s3://{bucket}/{k}", body


def _local_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".jsonl", ".json"))
        if not files:
            raise DatasetError(f"{path} is a directory without .jsonl files")
        return files
    if not path.exists():
        raise DatasetError(f"no such file: {path}")
    return [path]


def validate(
    source: str | os.PathLike,
    fmt: str,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    s3_client: Any = None,
    chunk_size: int = CHUNK_SIZE,
) -> Report:
    """Validate a local file or directory, or an ``s3://`` object or prefix, in format ``fmt``.

    Several files (a directory, an S3 prefix) are validated one after the other into one report;
    each issue then names its file.
    """
    spec = get_format(fmt)
    started = time.perf_counter()
    report = Report(format=spec.name)
    text = os.fspath(source)
    if text.startswith("s3://"):
        bucket, key = _parse_s3(text)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        streams: Iterable[tuple[str, Any]] = _s3_objects(s3_client, bucket, key)
    else:
        streams = ((str(p), p) for p in _local_files(Path(text)))
    many = False
    for i, (name, stream) in enumerate(streams):
        report.sources.append(name)
        many = many or i > 0
        if isinstance(stream, Path):
            try:
                with open(stream, "rb", buffering=0) as f:
                    consume(f, State(report, spec, max_errors, name), chunk_size)
            except OSError as e:
                raise DatasetError(f"cannot read {stream}: {e.strerror or e}") from None
        else:
            try:
                consume(stream, State(report, spec, max_errors, name), chunk_size)
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()
    if not many:  # a single source: issues say "line N"
        report.issues = [Issue(i.line, i.kind, i.message) for i in report.issues]
    return finish(report, spec, started)
