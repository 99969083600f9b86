"""Hyperparameter sweeps: an input's ``sweep`` block -> one run (a trial) per configuration, the best one chosen.

Pure: the configurations of a grid or a list, the checks that need no AWS call (ValidateInput), each
trial's execution input, the spend of all trials together, the objective of a finished trial and the
sweep's verdict (the best trial, which packages to approve and reject, whether too many trials failed).
The workflow runs the trials in a Distributed Map of FineTuningJob children (``workflow/definition.py``).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sagemaker_finetuning.core import evaluation as EV
from sagemaker_finetuning.core.errors import FineTuningInputError, InvalidInput, SweepObjectiveUnavailable, SweepTooLarge

GOALS = ("maximize", "minimize")
#: Configurations a sweep may have when the stack sets no other cap (construct prop ``max_sweep_configurations``).
DEFAULT_MAX_CONFIGURATIONS = 50
#: The largest cap a stack may set: a Distributed Map runs up to 10,000 children at once; we stay far below.
MAX_CONFIGURATIONS_CAP = 1000
DEFAULT_MAX_CONCURRENCY = 4
#: Trials that may fail (percent of all) before the sweep fails with SweepFailed.
DEFAULT_TOLERATED_FAILURE_PERCENTAGE = 50.0
#: Input fields a trial does not inherit: the sweep itself, the budget (the sweep checks it for all trials
#: together) and the gate (the sweep applies it to the best trial only).
NOT_INHERITED = ("sweep", "budget")


def configurations(sweep: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The configurations, in order: the grid's cartesian product (the first name varies slowest), or the list."""
    if "configurations" in sweep:
        return [dict(c) for c in sweep["configurations"]]
    grid = sweep.get("hyperparameters") or {}
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def configuration_count(sweep: Mapping[str, Any]) -> int:
    """How many configurations, without building them (a grid of 20 lists of 100 values is 100^20)."""
    if "configurations" in sweep:
        return len(sweep["configurations"])
    return math.prod(len(v) for v in (sweep.get("hyperparameters") or {}).values())


def check_sweep(inp: Mapping[str, Any], max_configurations: int) -> list[FineTuningInputError]:
    """The block's shape beyond the schema, its size against the stack's cap, and whether its objective can be read."""
    sweep = inp["sweep"]
    found: list[FineTuningInputError] = []
    given = [k for k in ("hyperparameters", "configurations") if k in sweep]
    if len(given) != 1:
        found.append(InvalidInput("sweep", {k: sweep[k] for k in given}, "exactly one of hyperparameters (a grid: name -> list of values) "
                                  "or configurations (a list of hyperparameter objects)"))
        return found
    if given == ["hyperparameters"] and not sweep["hyperparameters"]:
        found.append(InvalidInput("sweep.hyperparameters", {}, "at least one hyperparameter with a list of values"))
    count = configuration_count(sweep)
    if count > max_configurations:
        found.append(SweepTooLarge(f"sweep.{given[0]}", f"{count} configurations", f"at most {max_configurations} configurations "
                                   "(the stack's max_sweep_configurations)", "Sweep fewer values, or split the sweep"))
        return found
    found += _duplicates(inp, given[0])
    if inp.get("training_job_name"):
        found.append(InvalidInput("training_job_name", inp["training_job_name"],
                                  "no value with a sweep: each configuration's job gets its own name, derived from the execution"))
    found += _objective_problems(inp)
    return found


def _duplicates(inp: Mapping[str, Any], where: str) -> list[FineTuningInputError]:
    """Two configurations that make the same run (one job, billed twice in the table): refused by index."""
    seen: dict[str, int] = {}
    found: list[FineTuningInputError] = []
    base = inp.get("hyperparameters") or {}
    for i, config in enumerate(configurations(inp["sweep"])):
        key = json.dumps({**base, **config}, sort_keys=True, default=str)
        if key in seen:
            field = f"sweep.configurations[{i}]" if where == "configurations" else "sweep.hyperparameters"
            found.append(InvalidInput(field, config, f"a configuration different from configuration {seen[key]} (each is trained once)"))
            break
        seen[key] = i
    return found


def objective_source(inp: Mapping[str, Any]) -> str | None:
    """Where each trial's objective comes from: ``evaluation`` (a metric of the run's evaluation), ``mlflow``
    (a final training metric of the job's MLflow run), or None (neither: the sweep is refused)."""
    if inp.get("evaluation"):
        return "evaluation"
    if inp.get("mlflow_resource_arn"):
        return "mlflow"
    return None


def _objective_problems(inp: Mapping[str, Any]) -> list[FineTuningInputError]:
    objective = inp["sweep"]["objective"]
    source = objective_source(inp)
    if source is None:
        return [SweepObjectiveUnavailable(
            "sweep.objective", dict(objective), "an objective the workflow can read: a metric of the input's evaluation block (each "
            "configuration's model is evaluated), or a final training metric of each job's MLflow run (the stack, or the input, "
            "needs an MLflow resource)", "Add an evaluation block, or set the construct's mlflow_resource_arn")]
    if source == "evaluation":
        produced = EV.produced_metrics(inp["evaluation"])
        if produced is not None and objective["metric"] not in produced:
            return [InvalidInput("sweep.objective.metric", objective["metric"], f"a metric this evaluation reports: {', '.join(produced)}")]
    return []


#: The longest MLflow run name (the input schema's, SageMaker's MlflowRunName).
MAX_RUN_NAME = 256


def trial_input(inp: Mapping[str, Any], configuration: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """One configuration's run: the sweep's input with the configuration's hyperparameters over its own, no sweep,
    no budget, no gate (the sweep decides), no second whole-dataset validation (the sweep validated it once), and its
    own MLflow run name (``<mlflow_run_name>-c<index>``) when the input names one."""
    trial = {k: copy.deepcopy(v) for k, v in inp.items() if k not in NOT_INHERITED}
    trial["hyperparameters"] = {**(inp.get("hyperparameters") or {}), **configuration}
    trial["validate_dataset"] = "off"
    if trial.get("mlflow_run_name"):
        suffix = f"-c{index}"
        trial["mlflow_run_name"] = str(trial["mlflow_run_name"])[: MAX_RUN_NAME - len(suffix)] + suffix
    if trial.get("evaluation"):
        trial["evaluation"].pop("gate", None)
    return trial


def with_configuration(error: FineTuningInputError, index: int, configuration: Mapping[str, Any]) -> FineTuningInputError:
    """The same named error, its field telling which configuration (``sweep configuration 2: hyperparameters.lr``)."""
    return type(error)(f"sweep configuration {index} {json.dumps(configuration, default=str)}: {error.field}", error.received,
                       error.expected, error.hint)


# ----------------------------------------------------------------------------- the verdict
@dataclass(frozen=True)
class Trial:
    """What one child reported: its configuration and either its run's output document or its error."""

    index: int
    configuration: dict[str, Any]
    output: dict[str, Any] | None
    error: dict[str, Any] | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Trial":
        return cls(int(record["index"]), dict(record.get("configuration") or {}), record.get("output"), record.get("error"))

    @property
    def succeeded(self) -> bool:
        return self.output is not None and self.error is None


def evaluation_objective(output: Mapping[str, Any] | None, metric: str) -> float | None:
    """The objective of a finished trial from its evaluation (the fine-tuned model's metric)."""
    value = (((output or {}).get("evaluation") or {}).get("model") or {}).get(metric)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def best_index(objectives: Mapping[int, float | None], goal: str) -> int | None:
    """The trial with the best objective (ties: the lowest index); None when no trial has one."""
    known = [(i, v) for i, v in sorted(objectives.items()) if v is not None]
    if not known:
        return None
    pick = max if goal == "maximize" else min
    best = pick(v for _, v in known)
    return next(i for i, v in known if v == best)


def too_many_failed(failed: int, total: int, tolerated_percentage: float) -> bool:
    """Step Functions' rule for ToleratedFailurePercentage: the run fails when failures exceed the percentage."""
    return total > 0 and failed * 100.0 > tolerated_percentage * total


def row(trial: Trial, objective: float | None, note: str | None = None) -> dict[str, Any]:
    """One line of the sweep's table: configuration, job, status, objective, billable tokens, package; ``cause``: why a
    failed trial failed, or why a completed one has no objective (``note``)."""
    out = trial.output or {}
    error = trial.error or {}
    return {
        "index": trial.index, "configuration": trial.configuration,
        "status": "Completed" if trial.succeeded else "Failed",
        "training_job_name": out.get("training_job_name") or error.get("training_job_name"),
        "objective": objective, "billable_token_count": out.get("billable_token_count"),
        "model_package_arn": out.get("output_model_package_arn"), "approval_status": None,
        "error": None if trial.succeeded else error.get("Error"), "cause": note if trial.succeeded else _cause(error),
    }


def _cause(error: Mapping[str, Any]) -> str | None:
    cause = error.get("Cause")
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            message = json.loads(cause).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        if isinstance(message, str):
            return message[:1000]
    return None if cause is None else str(cause)[:1000]


def total_tokens(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
