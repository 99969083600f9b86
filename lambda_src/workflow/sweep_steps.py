"""Hyperparameter sweeps: the AWS side of three workflow steps (thin adapters over ``core.sweep_plan``).

``plan_sweep`` — state PlanSweep, after the whole-dataset validation: plans every configuration's
CreateTrainingJob request with the real recipe (names, types, ranges: the named error says which
configuration), checks the budget against the sum of their estimates (``BudgetExceeded``), and puts
the trials' inputs in S3 for the Distributed Map (``<work prefix>sweeps/<run>/items.json``)::

    out: {"count", "max_concurrency", "tolerated_failure_percentage", "objective": {"metric", "goal", "source"},
          "items_location": {"Bucket", "Key"}, "records": {"Bucket", "Prefix"}, "budget": {...} | null}

``record_trial`` — state RecordTrial / RecordFailedTrial, the last of each child: writes the trial's
configuration and its run's output document (or its error, with the job name the run had) to
``records``. The Map's own output is not read: a failed child has none, and 100 output documents would
not fit a state.

``summarize_sweep`` — state SummarizeSweep: reads the records, the objective of each trial (its
evaluation's metric), approves the best model package (with a gate: only if it passes) and rejects the
others, deletes the work files, and returns the best run's output document with the sweep's table.
``SweepFailed`` when more trials failed than tolerated or none has an objective (every package of the
sweep rejected); ``EvaluationGateFailed`` when the best misses the gate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_finetuning.core import evaluation as EV
from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core import sweep_plan as SW
from sagemaker_finetuning.core.budget import chars_per_token, check_budget, estimate_tokens
from sagemaker_finetuning.core.datasets.whole import dataset_summary
from sagemaker_finetuning.core.errors import EvaluationGateFailed, FineTuningInputError, SweepFailed, combined
from sagemaker_finetuning.core.naming import run_key, training_job_name

from . import mlflow_runs
from .evaluation import client, settings

LOG = logging.getLogger(__name__)
SWEEP_DIR = "sweeps/"


def plan(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State PlanSweep."""
    inp, cfg = event["input"], settings()
    resolved = P.ResolvedModel.from_dict(event["resolution"]["resolved"])
    items, requests, problems = [], [], []
    for index, configuration in enumerate(SW.configurations(inp["sweep"])):
        trial = SW.trial_input(inp, configuration, index)
        try:
            requests.append(P.plan_training_job(trial, resolved, event["resolution"]["override_params"], cfg, event["execution_arn"], "sweep"))
        except FineTuningInputError as exc:
            problems += [SW.with_configuration(p, index, configuration) for p in exc.problems]
            continue
        items.append({"index": index, "configuration": configuration, "input": trial, "model_id": resolved.model_id})
    if problems:
        raise combined(problems)
    budget = _budget(inp, requests, resolved.model_id, dataset_summary(event.get("dataset_validation")))
    work, sweep = event["work"], inp["sweep"]
    base = f"{work['prefix']}{SWEEP_DIR}{hashlib.sha256(event['execution_arn'].encode('utf-8')).hexdigest()[:20]}/"
    client("s3").put_object(Bucket=work["bucket"], Key=f"{base}items.json", Body=json.dumps(items).encode("utf-8"), ContentType="application/json")
    return {
        "count": len(items), "max_concurrency": sweep["max_concurrency"], "tolerated_failure_percentage": sweep["tolerated_failure_percentage"],
        "objective": {**sweep["objective"], "source": SW.objective_source(inp)},
        "items_location": {"Bucket": work["bucket"], "Key": f"{base}items.json"},
        "records": {"Bucket": work["bucket"], "Prefix": f"{base}trials/"}, "budget": budget,
    }


def _budget(inp: dict[str, Any], requests: list[dict[str, Any]], model_id: str, summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The tokens of all configurations together (each: its text x its own max_epochs), checked against the budget."""
    epochs = [int(str(r.get("HyperParameters", {}).get("max_epochs", "1")) or 1) for r in requests]
    estimates = [estimate_tokens(summary, e, model_id) for e in epochs]
    total = None if any(e is None for e in estimates) else sum(e for e in estimates if e is not None)
    max_tokens = (inp.get("budget") or {}).get("max_tokens")
    check_budget(max_tokens, total, configurations=len(requests))
    if total is None:
        return None
    return {"max_tokens": max_tokens, "estimated_tokens": total, "epochs": epochs, "chars_per_token": chars_per_token(model_id)}


def record(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State RecordTrial / RecordFailedTrial: the trial's record, for SummarizeSweep."""
    item, where = event["item"], event["records"]
    error = event.get("error")
    if error is not None:  # the run failed: name the job it had (if it got that far), from the child's execution
        trial_key = run_key(event["fragment"], item["input"])
        error = dict(error, training_job_name=training_job_name(item["model_id"], item["input"]["technique"], event["execution_arn"], trial_key))
    body = {"index": item["index"], "configuration": item["configuration"], "output": event.get("output"), "error": error}
    client("s3").put_object(Bucket=where["Bucket"], Key=f"{where['Prefix']}{int(item['index']):06d}.json",
                            Body=json.dumps(body, default=str).encode("utf-8"), ContentType="application/json")
    return {"index": item["index"], "failed": error is not None}


def summarize(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State SummarizeSweep."""
    inp, planned = event["input"], event["sweep_plan"]
    trials = _read_trials(planned)
    metric, goal = planned["objective"]["metric"], planned["objective"]["goal"]
    read = {t.index: objective(t, metric, planned["objective"]["source"]) for t in trials}
    objectives = {i: value for i, (value, _) in read.items()}
    rows = [SW.row(t, objectives[t.index], read[t.index][1]) for t in trials]
    failed = sum(1 for t in trials if not t.succeeded)
    best = SW.best_index(objectives, goal)
    table = {"objective": planned["objective"], "best": best, "configurations": rows, "count": planned["count"],
             "succeeded": len(trials) - failed, "failed": failed, "tolerated_failure_percentage": planned["tolerated_failure_percentage"],
             "max_concurrency": planned["max_concurrency"],
             "budget": {**(planned.get("budget") or {}), "billable_token_count": SW.total_tokens([r["billable_token_count"] for r in rows])}}
    # The work files are deleted once the packages are decided: a retried SummarizeSweep must still find every record.
    too_many = SW.too_many_failed(failed, planned["count"], float(planned["tolerated_failure_percentage"]))
    if too_many or best is None:
        notes = [r["cause"] for r in rows if r["status"] == "Completed" and r["cause"]]
        reason = (f"{failed} of {planned['count']} configurations failed (tolerated: {planned['tolerated_failure_percentage']:g}%)"
                  if too_many else f"no configuration reported {metric} ({failed} of {planned['count']} failed"
                  + (f"; {notes[0]}" if notes else "") + ")")
        _decide(rows, None, f"Sweep failed: {reason}")
        _delete_work(planned)
        raise SweepFailed(f"{reason}; every model package of the sweep was rejected. {_failures(rows)}")
    winner = next(t for t in trials if t.index == best)
    evaluation = dict((winner.output or {}).get("evaluation") or {})
    gate = (inp.get("evaluation") or {}).get("gate")
    verdict = EV.judge_gate(gate, evaluation.get("model") or {}, evaluation.get("base"))
    description = f"Best of the sweep by {metric} ({goal}): configuration {best} {json.dumps(winner.configuration)}"
    if verdict is not None and not verdict.passed:
        _decide(rows, None, f"{verdict.description} (the sweep's best, configuration {best})")
        _delete_work(planned)
        raise EvaluationGateFailed(f"{verdict.description}: the sweep's best configuration {best}; every model package of the sweep was rejected.")
    _decide(rows, best, description if verdict is None else f"{description}; {verdict.description}")
    _delete_work(planned)
    if verdict is not None:
        evaluation["gate"] = {**(gate or {}), "passed": True, "description": verdict.description}
    if evaluation:
        evaluation["approval_status"] = next(r["approval_status"] for r in rows if r["index"] == best)
    return {**dict(winner.output or {}), "evaluation": evaluation or None, "sweep": table}


def objective(trial: SW.Trial, metric: str, source: str) -> tuple[float | None, str | None]:
    """A finished trial's objective, or why it has none: its evaluation's metric, or the latest value of the training
    metric in its job's MLflow run."""
    if not trial.succeeded:
        return None, None
    out = trial.output or {}
    if source != "mlflow":
        value = SW.evaluation_objective(out, metric)
        return value, None if value is not None else f"the evaluation reported no {metric}"
    if not out.get("mlflow_run_id") or not out.get("mlflow_resource_arn"):
        return None, "the training job reported no MLflow run"
    try:
        metrics = mlflow_runs.run_metrics(out["mlflow_resource_arn"], out["mlflow_run_id"])
    except mlflow_runs.MlflowReadError as exc:
        LOG.warning("objective of configuration %s: %s", trial.index, exc)
        return None, str(exc)
    if metric not in metrics:
        return None, f"MLflow run {out['mlflow_run_id']} has no {metric} (it logged: {', '.join(sorted(metrics)) or 'nothing'})"
    return metrics[metric], None


def _read_trials(planned: dict[str, Any]) -> list[SW.Trial]:
    """Every configuration's record; one the Map never ran (aborted, or stopped past the tolerated failures) is a failure."""
    where, s3 = planned["records"], client("s3")
    keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=where["Bucket"], Prefix=where["Prefix"])
                  for o in page.get("Contents", []))
    found = {t.index: t for t in (SW.Trial.from_record(json.loads(s3.get_object(Bucket=where["Bucket"], Key=k)["Body"].read())) for k in keys)}
    configurations = {item["index"]: item["configuration"] for item in _items(planned)}
    return [found.get(i) or SW.Trial(i, configurations.get(i, {}), None, {"Error": "NotRun", "Cause": "the Map did not run this configuration"})
            for i in range(int(planned["count"]))]


def _items(planned: dict[str, Any]) -> list[dict[str, Any]]:
    where = planned["items_location"]
    items: list[dict[str, Any]] = json.loads(client("s3").get_object(Bucket=where["Bucket"], Key=where["Key"])["Body"].read())
    return items


def _decide(rows: list[dict[str, Any]], best: int | None, description: str) -> None:
    """Approve the best configuration's package, reject every other one (best None: reject them all)."""
    for r in rows:
        if not r["model_package_arn"]:
            continue
        approved = r["index"] == best
        why = description if approved or best is None else (f"Not the best of the sweep (configuration {r['index']}, objective "
                                                             f"{r['objective']}); {description}")
        client("sagemaker").update_model_package(ModelPackageArn=r["model_package_arn"], ModelApprovalStatus="Approved" if approved else "Rejected",
                                                 ApprovalDescription=why[:1024])
        r["approval_status"] = "Approved" if approved else "Rejected"


def _failures(rows: list[dict[str, Any]]) -> str:
    failed = [f"configuration {r['index']}: {r['error']} ({(r['cause'] or '')[:200]})" for r in rows if r["status"] == "Failed"]
    return "Failed: " + "; ".join(failed[:5]) + ("; ..." if len(failed) > 5 else "") if failed else ""


def _delete_work(planned: dict[str, Any]) -> None:
    """The items and the records: the sweep's table is in its output."""
    where, s3 = planned["records"], client("s3")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=where["Bucket"], Prefix=where["Prefix"])
            for o in page.get("Contents", [])] + [planned["items_location"]["Key"]]
    for start in range(0, len(keys), 1000):
        try:
            s3.delete_objects(Bucket=where["Bucket"], Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})
        except ClientError as exc:  # leftovers are small; the bucket's lifecycle rules still apply
            LOG.warning("could not delete the sweep's work files: %s", exc)
