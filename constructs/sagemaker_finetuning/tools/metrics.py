"""Training metrics of a fine-tuning job, read from its MLflow run: loss by epoch + a PNG plot.

A serverless training job logs to MLflow (``TrainingJob.mlflow_config.mlflow_resource_arn`` is
the tracking URI, ``mlflow_details.mlflow_run_id`` the run). In AWS the tracking URI is an
MLflow app or tracking-server ARN, which needs the ``sagemaker-mlflow`` plugin; any MLflow
tracking URI (``sqlite:///...``, ``http://...``) works the same way.

Steps become epochs, in order of preference, from:

1. ``steps_per_epoch`` given by the caller (``DescribeTrainingJob`` ProgressInfo
   ``TotalStepCountPerEpoch``; the CLI passes it);
2. an ``epoch`` metric logged by the run (``epoch``, ``train/epoch``, ``training/epoch``);
3. the run's ``max_epochs`` parameter and the last step logged;
4. otherwise the table is by step.

Each cell is the *last* value the metric had in the epoch (as SDK v3's own loss-by-epoch table
does); ``aggregate="mean"`` averages instead.

mlflow and matplotlib are imported only when used.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = [
    "TECHNIQUE_METRICS",
    "MetricsError",
    "MetricsTable",
    "build_table",
    "detect_technique",
    "metric_names_for",
    "plot",
    "read_run_metrics",
]

#: The metrics shown per technique (SFT and DPO: the SDK's recipes; RLVR/RLAIF: verl).
TECHNIQUE_METRICS: dict[str, tuple[str, ...]] = {
    "SFT": ("total_loss", "val_eval_total_loss"),
    "DPO": ("loss_per_batch", "rewards/chosen", "rewards/rejected", "rewards/margins", "acc_per_batch"),
    "RLVR": (
        "critic/rewards/mean",
        "response_length/mean",
        "actor/entropy_loss",
        "actor/grad_norm",
        "critic/advantages/mean",
    ),
}
TECHNIQUE_METRICS["RLAIF"] = TECHNIQUE_METRICS["RLVR"]

#: RLVR/RLAIF validation rewards: ``val-core/{data_source}/reward(/acc)/mean@{k}``.
VALIDATION_PREFIX = "val-core/"
MAX_VALIDATION_METRICS = 3
EPOCH_METRIC_KEYS = ("epoch", "train/epoch", "training/epoch")
AGGREGATES = ("last", "mean", "min", "max")


class MetricsError(Exception):
    """The run or its metrics cannot be read."""


def metric_names_for(technique: str) -> list[str]:
    try:
        return list(TECHNIQUE_METRICS[technique.upper()])
    except KeyError:
        raise MetricsError(
            f"unknown technique {technique!r}; expected one of {', '.join(TECHNIQUE_METRICS)}"
        ) from None


def detect_technique(metric_keys: Iterable[str]) -> str | None:
    keys = set(metric_keys)
    if keys & {"rewards/margins", "loss_per_batch", "rewards/chosen", "acc_per_batch"}:
        return "DPO"
    if keys & {"critic/rewards/mean", "actor/entropy_loss", "response_length/mean"}:
        return "RLVR"
    if keys & {"total_loss", "val_eval_total_loss"}:
        return "SFT"
    return None


Point = tuple[int, float]  # (step, value)


@dataclass
class MetricsTable:
    technique: str
    run_id: str | None
    metrics: list[str]
    #: (epoch or step, {metric: value})
    rows: list[tuple[int, dict[str, float]]]
    index_name: str  # "epoch" or "step"
    epoch_source: str  # how steps were mapped to epochs
    aggregate: str = "last"
    missing: list[str] = field(default_factory=list)
    series: dict[str, list[Point]] = field(default_factory=dict)
    epoch_end_steps: dict[int, int] = field(default_factory=dict)

    def title(self) -> str:
        run = f", run {self.run_id}" if self.run_id else ""
        if self.index_name == "epoch":
            how = "last value in each epoch" if self.aggregate == "last" else f"{self.aggregate} over each epoch"
            return f"{self.technique} metrics by epoch ({how}; epochs from {self.epoch_source}{run})"
        return f"{self.technique} metrics by step (no epoch information{run})"

    def to_text(self, precision: int = 4) -> str:
        """A plain-text table: one row per epoch (or step), one column per metric."""
        headers = [self.index_name] + self.metrics
        body = [
            [str(idx)] + [_fmt(row.get(m), precision) for m in self.metrics] for idx, row in self.rows
        ]
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
        lines = [self.title(), _table_row(headers, widths), "  ".join("-" * w for w in widths)]
        lines += [_table_row(r, widths) for r in body]
        if not body:
            lines.append("(no data points)")
        if self.missing:
            lines.append("not logged by this run: " + ", ".join(self.missing))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "technique": self.technique,
            "run_id": self.run_id,
            "index": self.index_name,
            "epoch_source": self.epoch_source,
            "aggregate": self.aggregate,
            "metrics": self.metrics,
            "missing": self.missing,
            "rows": [{self.index_name: idx, **row} for idx, row in self.rows],
        }


def _table_row(cells: list[str], widths: list[int]) -> str:
    """One table line: the index column left-aligned, the metric columns right-aligned."""
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def _fmt(v: float | None, precision: int) -> str:
    if v is None:
        return "-"
    if v != 0 and (abs(v) < 10 ** -precision or abs(v) >= 1e6):
        return f"{v:.{precision}e}"
    return f"{v:.{precision}f}"


def _aggregate(values: Sequence[float], how: str) -> float:
    if how == "last":
        return values[-1]
    if how == "mean":
        return sum(values) / len(values)
    if how == "min":
        return min(values)
    return max(values)


def _epoch_of_steps(
    series: dict[str, list[Point]],
    steps_per_epoch: int | None,
    epoch_points: list[Point] | None,
    max_epochs: int | None,
) -> tuple[Any, str] | None:
    """A function step -> epoch (1-based) and a description of where it came from."""
    all_steps = [s for pts in series.values() for s, _ in pts]
    if not all_steps:
        return None
    first = min(all_steps)
    base = 1 if first >= 1 else 0  # 1-based steps: 1..N is epoch 1; 0-based: 0..N-1

    if steps_per_epoch and steps_per_epoch > 0:
        spe = steps_per_epoch
        return (lambda s: max(s - base, 0) // spe + 1), f"{spe} steps per epoch"
    if epoch_points:
        pts = sorted(epoch_points)
        steps = [s for s, _ in pts]
        values = [v for _, v in pts]
        integral = all(float(v).is_integer() for v in values)
        shift = 1 if integral and min(values) == 0 else 0

        def from_metric(s: int) -> int:
            i = bisect.bisect_right(steps, s) - 1
            if i < 0:
                i = 0
            v = values[i]
            return int(v) + shift if integral else max(1, math.ceil(v))

        return from_metric, "the run's epoch metric"
    if max_epochs and max_epochs > 0:
        last = max(all_steps)
        spe = max(1, math.ceil((last - base + 1) / max_epochs))
        return (lambda s: min(max(s - base, 0) // spe + 1, max_epochs)), f"max_epochs={max_epochs}"
    return None


def build_table(
    series: dict[str, list[Point]],
    technique: str,
    *,
    metrics: Sequence[str] | None = None,
    run_id: str | None = None,
    steps_per_epoch: int | None = None,
    epoch_points: list[Point] | None = None,
    max_epochs: int | None = None,
    aggregate: str = "last",
) -> MetricsTable:
    """Group metric histories ``{name: [(step, value)]}`` into a table by epoch (or step)."""
    if aggregate not in AGGREGATES:
        raise MetricsError(f"unknown aggregate {aggregate!r}; expected one of {', '.join(AGGREGATES)}")
    wanted = list(metrics) if metrics else list(series)
    present = [m for m in wanted if series.get(m)]
    missing = [m for m in wanted if not series.get(m)]
    clean = {m: sorted(series[m]) for m in present}
    mapping = _epoch_of_steps(clean, steps_per_epoch, epoch_points, max_epochs)
    buckets: dict[int, dict[str, list[float]]] = {}
    end_steps: dict[int, int] = {}
    if mapping:
        epoch_of, source = mapping
        index_name = "epoch"
        for m, pts in clean.items():
            for s, v in pts:
                e = epoch_of(s)
                buckets.setdefault(e, {}).setdefault(m, []).append(v)
                end_steps[e] = max(end_steps.get(e, s), s)
    else:
        source, index_name = "steps", "step"
        for m, pts in clean.items():
            for s, v in pts:
                buckets.setdefault(s, {}).setdefault(m, []).append(v)
    rows = [
        (idx, {m: _aggregate(vals, aggregate) for m, vals in buckets[idx].items()})
        for idx in sorted(buckets)
    ]
    return MetricsTable(
        technique=technique,
        run_id=run_id,
        metrics=present,
        rows=rows,
        index_name=index_name,
        epoch_source=source,
        aggregate=aggregate,
        missing=missing,
        series=clean,
        epoch_end_steps=end_steps,
    )


def _client(tracking_uri: str | None):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:  # pragma: no cover - mlflow is a dependency of the cli extra
        raise MetricsError("reading metrics needs mlflow: pip install mlflow sagemaker-mlflow") from None
    if tracking_uri and tracking_uri.startswith("arn:"):
        try:
            import sagemaker_mlflow  # noqa: F401  (registers the arn:// tracking store)
        except ImportError:
            raise MetricsError(
                "an MLflow ARN tracking URI needs the sagemaker-mlflow plugin: pip install sagemaker-mlflow"
            ) from None
    return MlflowClient(tracking_uri=tracking_uri) if tracking_uri else MlflowClient()


def read_run_metrics(
    run_id: str,
    *,
    tracking_uri: str | None = None,
    technique: str | None = None,
    metrics: Sequence[str] | None = None,
    steps_per_epoch: int | None = None,
    aggregate: str = "last",
    client: Any = None,
) -> MetricsTable:
    """Read a run's metric histories and build the loss-by-epoch table.

    ``technique`` picks the metric set (detected from the run's metric names when omitted);
    ``metrics`` replaces the set. RLVR/RLAIF runs also show up to three ``val-core/...`` metrics.
    """
    if client is None:
        client = _client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except Exception as e:  # mlflow raises MlflowException or transport errors
        raise MetricsError(f"cannot read MLflow run {run_id!r}{_where(tracking_uri)}: {_msg(e)}") from None
    keys = set(run.data.metrics)
    tech = (technique or detect_technique(keys) or "").upper()
    if not tech and not metrics:
        raise MetricsError(
            f"run {run_id} logged none of the known fine-tuning metrics (logged: "
            f"{', '.join(sorted(keys)) or 'nothing'}); pass the technique or metric names"
        )
    if metrics:
        names = list(metrics)
    else:
        names = metric_names_for(tech)
        if tech in ("RLVR", "RLAIF"):
            names += sorted(k for k in keys if k.startswith(VALIDATION_PREFIX))[:MAX_VALIDATION_METRICS]
    series: dict[str, list[Point]] = {}
    try:
        for name in names:
            if name in keys:
                series[name] = [(int(m.step), float(m.value)) for m in client.get_metric_history(run_id, name)]
        epoch_points = None
        for key in EPOCH_METRIC_KEYS:
            if key in keys:
                epoch_points = [(int(m.step), float(m.value)) for m in client.get_metric_history(run_id, key)]
                break
    except Exception as e:
        raise MetricsError(f"cannot read metric history of run {run_id}: {_msg(e)}") from None
    max_epochs = None
    raw = run.data.params.get("max_epochs") if run.data.params else None
    if raw is not None:
        try:
            max_epochs = int(float(raw))
        except ValueError:
            max_epochs = None
    return build_table(
        series,
        tech or "custom",
        metrics=names,
        run_id=run_id,
        steps_per_epoch=steps_per_epoch,
        epoch_points=epoch_points,
        max_epochs=max_epochs,
        aggregate=aggregate,
    )


def _where(uri: str | None) -> str:
    return f" at {uri}" if uri else ""


def _msg(e: Exception) -> str:
    text = getattr(e, "message", None) or str(e) or type(e).__name__
    return " ".join(str(text).split())[:300]


def plot(table: MetricsTable, path: str | Path, *, title: str | None = None) -> Path:
    """Write a PNG: one panel per metric, the raw series by step, the per-epoch values as dots
    at each epoch's last step, dashed lines between epochs."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    path = Path(path)
    names = [m for m in table.metrics if table.series.get(m)]
    if not names:
        raise MetricsError("nothing to plot: the run has none of the requested metrics")
    cols = 1 if len(names) == 1 else 2
    nrows = math.ceil(len(names) / cols)
    fig: Figure = plt.figure(figsize=(6.4 * cols, 3.2 * nrows), dpi=100)
    try:
        boundaries = sorted(table.epoch_end_steps.items())
        for i, name in enumerate(names, start=1):
            ax = fig.add_subplot(nrows, cols, i)
            steps = [s for s, _ in table.series[name]]
            values = [v for _, v in table.series[name]]
            ax.plot(steps, values, linewidth=1.2, label=name, marker="." if len(steps) < 40 else None)
            if table.index_name == "epoch":
                xs, ys = [], []
                for epoch, row in table.rows:
                    if name in row and epoch in table.epoch_end_steps:
                        xs.append(table.epoch_end_steps[epoch])
                        ys.append(row[name])
                ax.plot(xs, ys, "o", color="tab:red", markersize=5, label=f"epoch ({table.aggregate})")
                for _, end in boundaries[:-1]:
                    ax.axvline(end + 0.5, color="grey", linestyle="--", linewidth=0.7)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("step")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(title or table.title(), fontsize=10)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
