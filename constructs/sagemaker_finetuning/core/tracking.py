"""Pure helpers for tracking a training job from the workflow."""

from __future__ import annotations

from typing import Any


def waiter_key_for_job(job_name: str) -> str:
    return f"job#{job_name}"


def waiter_key_for_execution(execution_arn: str) -> str:
    return f"execution#{execution_arn}"


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
