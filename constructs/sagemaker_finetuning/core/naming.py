"""Deterministic names.

A training job's name is derived from the execution ARN, so a redriven execution (same ARN) or a
retried CreateTrainingJob never starts a second job: it finds the one it already started.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

#: SageMaker's name pattern (training jobs, model package groups, hub contents: the service model's
#: ``EntityName`` / ``TrainingJobName`` shapes); ``MAX_NAME`` bounds it, the pattern alone does not.
NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
NAME_RE = re.compile(NAME_PATTERN)
NAME_RULE = "1-63 letters, digits and hyphens, starting and ending with a letter or digit"
MAX_NAME = 63
_INVALID = re.compile(r"[^a-zA-Z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def sanitize(text: str) -> str:
    """Map any text onto the SageMaker name alphabet ``[a-zA-Z0-9-]``, no leading/trailing dash."""
    return _DASHES.sub("-", _INVALID.sub("-", text)).strip("-")


def training_job_name(model_id: str, technique: str, execution_arn: str, run_key: str = "") -> str:
    """``<model>-<technique>-<10 hex of sha256(execution ARN [+ run key])>``, at most 63 characters.

    Mirrors SDK v3's ``<model>-<technique>-<timestamp>`` shape, with a hash of the execution in
    place of the clock so the name is reproducible. ``run_key`` tells apart the runs of one
    execution (:func:`run_key`: a fragment's id and its input); empty for the workflow's own state
    machine, whose execution is one run.
    """
    identity = execution_arn if not run_key else f"{execution_arn}\n{run_key}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:10]
    suffix = f"-{technique.lower()}-{digest}"
    base = sanitize(model_id)[: MAX_NAME - len(suffix)].rstrip("-") or "model"
    return base + suffix


def group_name_from_use_case(use_case: str, version: int = 1) -> str:
    """``"Customer Support Chatbot"`` -> ``"customer-support-chatbot-v1"`` (the plugin's rule)."""
    suffix = f"-v{version}"
    base = sanitize(use_case.lower())[: MAX_NAME - len(suffix)].rstrip("-")
    if not base:
        raise ValueError(f"use case {use_case!r} has no letters or digits to build a group name from")
    return base + suffix


def run_key(fragment: str, inp: Any) -> str:
    """The identity of one run inside an execution: the fragment's id and a hash of its input.

    Two fragments of one execution, or the items of a ``Map`` (which differ in their input), get
    different keys; a redrive (same input) gets the same key, so it finds its own job. Two runs of
    one fragment with identical inputs in one execution are the same run (one job)."""
    canonical = json.dumps(inp, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{fragment}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
