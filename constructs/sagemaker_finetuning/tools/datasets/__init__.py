"""Streaming validation of fine-tuning datasets (JSON Lines), local files or S3 objects.

One pass, constant memory (one read chunk plus one partial line), stdlib only. Each record is
parsed with the C JSON scanner and checked by a cheap per-format predicate; only a record that
fails the predicate is looked at again by the (slower) diagnosing checker, which names every
problem with its field path. The first ``max_errors`` problems are kept with their line numbers;
all of them are counted by kind.

Formats (see the README "Dataset formats"):

========== ================================================================================
name       record
========== ================================================================================
sft        ``{"prompt": str, "completion": str}`` (open-weights SFT)
dpo        ``{"prompt": str, "chosen": str, "rejected": str}`` (open-weights DPO)
rlvr       ``{"data_source"?: str, "prompt": [{"role", "content"}], "ability"?: str,
           "reward_model": {"ground_truth", "style"?: str}}``
rlaif      ``{"prompt": str | [{"role", "content"}]}`` (prompt only; the judge scores responses)
nova-sft   ``{"schemaVersion": "bedrock-conversation-2024", "system"?: [{"text"}],
           "messages": [{"role": "user"|"assistant", "content": [{"text"}]}]}``
nova-dpo   as nova-sft, the final assistant turn has ``candidates``:
           ``[{"content": [{"text"}], "preferenceLabel": "preferred"|"non-preferred"}]``
nova-rft   ``{"id"?: str, "messages": [{"role", "content": str}], "reference_answer": ...}``
nova-cpt   ``{"text": str}``
========== ================================================================================

Usage::

    report = validate("s3://bucket/train.jsonl", "sft")
    print(report.summary())
    for issue in report.issues:
        print(issue)
"""

from sagemaker_finetuning.core.datasets.engine import Issue, Report, validate_lines, validate_stream
from sagemaker_finetuning.core.datasets.formats import (
    FORMATS,
    DatasetError,
    detect_format,
    diagnose_record,
    format_for,
)
from sagemaker_finetuning.tools.datasets.sources import validate

__all__ = [
    "FORMATS",
    "DatasetError",
    "Issue",
    "Report",
    "detect_format",
    "format_for",
    "diagnose_record",
    "validate",
    "validate_lines",
    "validate_stream",
]
