"""A run's evaluation results (the ``evaluation`` key of its output) as a table and a bar chart (``finetune results``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping


class ResultsError(Exception):
    """The execution has no evaluation to show (one line for the CLI)."""


@dataclass(frozen=True)
class ResultsTable:
    kind: str
    #: (metric, the evaluated model's value, the base model's or None, the difference or None)
    rows: list[tuple[str, float | None, float | None, float | None]]
    gate: Mapping[str, Any] | None
    approval_status: str | None
    model_package_arn: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "gate": self.gate, "approval_status": self.approval_status, "model_package_arn": self.model_package_arn,
                "metrics": [{"metric": m, "model": v, "base": b, "delta": d} for m, v, b, d in self.rows]}


def results_table(output: Mapping[str, Any]) -> ResultsTable:
    """The table of an execution output (``ResultsError`` when it has no evaluation). ``_stderr`` entries are left out."""
    evaluation = output.get("evaluation") if isinstance(output, Mapping) else None
    if not isinstance(evaluation, Mapping):
        raise ResultsError("the execution's output has no evaluation: start it with an evaluation block (or finetune evaluate)")
    model, base, delta = evaluation.get("model") or {}, evaluation.get("base") or {}, evaluation.get("delta") or {}
    names = sorted(n for n in {*model, *base} if not n.endswith("_stderr"))
    rows = [(n, model.get(n), base.get(n) if base else None, delta.get(n)) for n in names]
    return ResultsTable(str(evaluation.get("type")), rows, evaluation.get("gate"), evaluation.get("approval_status"),
                        evaluation.get("model_package_arn"))


def plot_results(table: ResultsTable, path: str | Path, *, title: str | None = None) -> Path:
    """Write a PNG: a bar per metric for the evaluated model, next to the base model's when it was evaluated."""
    if not table.rows:
        raise ResultsError("nothing to plot: the evaluation reported no metric")
    path = Path(path)
    with _png(path, (max(4.8, 1.6 * len(table.rows)), 3.6)) as ax:
        xs = range(len(table.rows))
        with_base = any(b is not None for _, _, b, _ in table.rows)
        width = 0.38 if with_base else 0.6
        ax.bar([x - (width / 2 if with_base else 0) for x in xs], [v or 0 for _, v, _, _ in table.rows], width, label="evaluated model")
        if with_base:
            ax.bar([x + width / 2 for x in xs], [b or 0 for _, _, b, _ in table.rows], width, label="base model")
        gate = table.gate or {}
        if "min" in gate:
            ax.axhline(gate["min"], color="tab:red", linestyle="--", linewidth=1, label=f"gate: {gate['metric']} >= {gate['min']:g}")
        ax.set_xticks(list(xs), [m for m, _, _, _ in table.rows])
        ax.set_title(title or f"{table.kind} evaluation")
        ax.legend(loc="best", fontsize="small")
    return path


@dataclass(frozen=True)
class SweepTable:
    """A sweep's configurations (the ``sweep`` key of its output), best first marked."""

    metric: str
    goal: str
    best: int | None
    rows: list[Mapping[str, Any]]
    succeeded: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        return {"objective": {"metric": self.metric, "goal": self.goal}, "best": self.best, "succeeded": self.succeeded,
                "failed": self.failed, "configurations": [dict(r) for r in self.rows]}


def sweep_table(output: Mapping[str, Any]) -> SweepTable | None:
    """The sweep's table of an execution output; None for a single run."""
    sweep = output.get("sweep") if isinstance(output, Mapping) else None
    if not isinstance(sweep, Mapping):
        return None
    objective = sweep.get("objective") or {}
    return SweepTable(str(objective.get("metric")), str(objective.get("goal")), sweep.get("best"), list(sweep.get("configurations") or []),
                      int(sweep.get("succeeded") or 0), int(sweep.get("failed") or 0))


def configuration_label(configuration: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in configuration.items()) or "(defaults)"


def plot_sweep(table: SweepTable, path: str | Path, *, title: str | None = None) -> Path:
    """Write a PNG: the objective of each configuration (failed ones at zero, hatched), the best highlighted."""
    if not table.rows:
        raise ResultsError("nothing to plot: the sweep has no configuration")
    path = Path(path)
    with _png(path, (max(4.8, 1.2 * len(table.rows)), 4.0)) as ax:
        values = [r.get("objective") for r in table.rows]
        colors = ["tab:green" if r.get("index") == table.best else "tab:blue" for r in table.rows]
        bars = ax.bar(range(len(values)), [v or 0 for v in values], color=colors)
        for bar, value in zip(bars, values, strict=True):
            if value is None:
                bar.set_hatch("//")
                bar.set_alpha(0.3)
        ax.set_xticks(range(len(values)), [configuration_label(r.get("configuration") or {}) for r in table.rows], rotation=30, ha="right",
                      fontsize="small")
        ax.set_ylabel(f"{table.metric} ({table.goal})")
        ax.set_title(title or f"sweep: {table.metric} per configuration (best: {table.best})")
    return path


@contextlib.contextmanager
def _png(path: Path, size: tuple[float, float]) -> Iterator[Any]:
    """One matplotlib axes (headless; matplotlib imported only here), written to ``path`` as a PNG when the block ends."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    fig = plt.figure(figsize=size, dpi=100)
    try:
        yield fig.add_subplot(1, 1, 1)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
