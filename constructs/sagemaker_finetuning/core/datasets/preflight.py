"""Before any spend: does the dataset's head look like the technique's format? (pure)

The workflow reads the first bytes of a dataset (an object, or the first object of a prefix) and
asks :func:`first_records_problem` whether its first complete records are in the format the
technique expects for the model family. Whole-dataset validation is a separate, optional pass.
"""

from __future__ import annotations

from sagemaker_finetuning.core.datasets.engine import validate_lines
from sagemaker_finetuning.core.datasets.formats import INVALID_JSON, NOT_AN_OBJECT, detect_format, format_for
from sagemaker_finetuning.core.errors import DatasetFormatMismatch

#: How much of a dataset the workflow reads before launch, and how many records it checks.
HEAD_BYTES = 256 * 1024
HEAD_RECORDS = 20


def head_lines(head: bytes, complete: bool) -> list[str]:
    """The complete JSON Lines of a dataset's first bytes (``complete``: the head is the whole object)."""
    text = head.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if not complete:
        lines = lines[:-1]  # the last line may be cut by the byte range
    return [line for line in lines if line.strip()][:HEAD_RECORDS]


def first_records_problem(field: str, uri: str, lines: list[str], technique: str, model_id: str) -> DatasetFormatMismatch | None:
    """A named problem when the first records are not in the technique's format, else None."""
    if not lines:
        return None  # nothing complete within the head: the training job's own validation decides
    fmt = format_for(technique, model_id)
    report = validate_lines(lines, fmt, max_errors=3)
    if report.ok or not report.issues:
        return None
    issue = report.issues[0]
    guess = None if issue.kind in (INVALID_JSON, NOT_AN_OBJECT) else _guess(lines[issue.line - 1] if issue.line else "")
    hint = f"The records look like the {guess} format" if guess and guess != fmt else None
    return DatasetFormatMismatch(
        field, uri, f"records in the {fmt} format {technique} expects for {model_id} (record {issue.line}: {issue.message})", hint,
    )


def _guess(line: str) -> str | None:
    import json

    try:
        return detect_format(json.loads(line))
    except ValueError:
        return None
