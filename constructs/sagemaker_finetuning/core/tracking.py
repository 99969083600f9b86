"""Pure helpers for tracking a training job from the workflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagemaker_finetuning.core.constants import EXECUTION_TAG, STACK_TAG, TERMINAL_JOB_STATUSES

#: The output document of a run (the execution output; what a FineTuningJob writes at its result_path).
OUTPUT_SCHEMA_PATH = Path(__file__).with_name("execution_output.schema.json")
#: Its keys, every one always present: the fragment's ResultSelector copies exactly these.
OUTPUT_KEYS: tuple[str, ...] = tuple(json.loads(OUTPUT_SCHEMA_PATH.read_text(encoding="utf-8"))["required"])


def waiter_key_for_job(job_name: str) -> str:
    return f"job#{job_name}"


def waiter_key_for_execution(execution_arn: str) -> str:
    return f"execution#{execution_arn}"


def first_tracking(min_wait_seconds: int, max_wait_seconds: int) -> dict[str, Any]:
    """The tracking state a run starts with (PlanTrainingJob): wait ``min`` seconds for an event first."""
    return {"wait_seconds": int(min_wait_seconds), "max_seconds": int(max_wait_seconds), "wakes": 0}


def next_tracking(tracking: dict[str, Any], wake: Any) -> dict[str, Any]:
    """The polling interval after a wait ended (state TrackTrainingJob).

    ``wake`` is what ended it: the job's state-change event (``{"source": "event", ...}``: the
    interval stays), the launch (``{"source": "launch"}``: the first interval), or anything else -
    the wait's ``States.Timeout``, or the waiter table failing - in which case no event came and
    the interval doubles, up to ``max_seconds`` (the detection bound when every event is lost)."""
    wait, ceiling, wakes = int(tracking["wait_seconds"]), int(tracking["max_seconds"]), int(tracking.get("wakes", 0))
    source = wake.get("source") if isinstance(wake, dict) else None
    if source == "event":
        wakes += 1
    elif source != "launch":
        wait = wait * 2
    return {"wait_seconds": min(wait, ceiling), "max_seconds": ceiling, "wakes": wakes}


def job_ended(job: dict[str, Any]) -> bool:
    return job.get("TrainingJobStatus") in TERMINAL_JOB_STATUSES


def json_safe(value: Any) -> Any:
    """A boto3 response as the JSON a Step Functions state carries (timestamps as ISO 8601 text)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return _iso(value)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def summarize_job(job: dict[str, Any]) -> dict[str, Any]:
    """The execution output of a finished job, from a DescribeTrainingJob response."""
    start, end = job.get("TrainingStartTime"), job.get("TrainingEndTime")
    transitions = job.get("SecondaryStatusTransitions") or []
    return {
        "training_job_name": job.get("TrainingJobName"),
        "training_job_arn": job.get("TrainingJobArn"),
        "status": job.get("TrainingJobStatus"),
        "secondary_status": job.get("SecondaryStatus"),
        "output_model_package_arn": job.get("OutputModelPackageArn"),
        "model_package_group_arn": (job.get("ModelPackageConfig") or {}).get("ModelPackageGroupArn"),
        "billable_token_count": job.get("BillableTokenCount"),
        "billable_time_in_seconds": job.get("BillableTimeInSeconds"),
        "mlflow_run_id": (job.get("MlflowDetails") or {}).get("MlflowRunId"),
        "mlflow_experiment_id": (job.get("MlflowDetails") or {}).get("MlflowExperimentId"),
        "mlflow_resource_arn": (job.get("MlflowConfig") or {}).get("MlflowResourceArn"),
        "creation_time": _iso(job.get("CreationTime")),
        "training_start_time": _iso(start),
        "training_end_time": _iso(end),
        "secondary_status_transitions": [
            {"status": t.get("Status"), "start": _iso(t.get("StartTime")), "end": _iso(t.get("EndTime"))} for t in transitions
        ],
        "failure_reason": job.get("FailureReason"),
        "output_s3_path": (job.get("OutputDataConfig") or {}).get("S3OutputPath"),
    }


# ----------------------------------------------------------------------------- ownership of jobs
def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` (ListTags, CreateTrainingJob) -> ``{k: v}``."""
    return {t["Key"]: t["Value"] for t in tags or [] if "Key" in t}


def created_by(tags: dict[str, str], stack_id: str | None, execution_arn: str) -> bool:
    """Whether the job carrying ``tags`` was created by this stack's execution ``execution_arn``.

    The planner tags every job with both (the values cut to the 256 characters a tag holds); a job
    another execution, another stack or a person created never matches."""
    if tags.get(EXECUTION_TAG) != execution_arn[:256]:
        return False
    return stack_id is None or tags.get(STACK_TAG) == stack_id[:256]


def sweep_verdict(tags: dict[str, str], stack_id: str, execution_status: str | None) -> str | None:
    """Why the sweeper stops this running job, or None to leave it.

    Only jobs of this stack are the sweeper's business; among them, a job whose execution is no
    longer running (ended, or unknown to Step Functions) is an orphan that would keep billing."""
    if tags.get(STACK_TAG) != stack_id[:256] or not tags.get(EXECUTION_TAG):
        return None
    if execution_status == "RUNNING":
        return None
    return f"its execution is {execution_status or 'gone'}"
