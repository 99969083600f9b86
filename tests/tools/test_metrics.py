"""Metrics: loss by epoch from a recorded MLflow run (a local sqlite tracking store) + the PNG."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sagemaker_finetuning.tools import metrics as M
from sagemaker_finetuning.tools.metrics import MetricsError, build_table, read_run_metrics

_spec = importlib.util.spec_from_file_location("make_run", Path(__file__).parents[1] / "fixtures" / "mlflow" / "make_run.py")
make_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_run)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One sqlite tracking store with the recorded runs the tests read."""
    uri = "sqlite:///" + str(tmp_path_factory.mktemp("mlflow") / "mlflow.db")
    runs = {
        "sft": make_run.make_run(uri, "SFT"),
        "dpo": make_run.make_run(uri, "DPO", epochs=2, steps_per_epoch=5),
        "rlvr": make_run.make_run(uri, "RLVR", epochs=2, steps_per_epoch=4),
        "sft_epoch_metric": make_run.make_run(uri, "SFT", log_epoch_metric=True, log_max_epochs=False),
        "sft_no_epochs": make_run.make_run(uri, "SFT", epochs=1, steps_per_epoch=3, log_max_epochs=False),
    }
    return uri, runs


def test_sft_loss_by_epoch_with_steps_per_epoch(store):
    uri, runs = store
    table = read_run_metrics(runs["sft"], tracking_uri=uri, steps_per_epoch=10)
    assert table.technique == "SFT" and table.index_name == "epoch"
    assert table.metrics == ["total_loss", "val_eval_total_loss"] and table.missing == []
    assert [e for e, _ in table.rows] == [1, 2, 3]
    for epoch, row in table.rows:
        last = epoch * 10  # the last step of the epoch
        assert row["total_loss"] == pytest.approx(make_run.value("total_loss", last))
        assert row["val_eval_total_loss"] == pytest.approx(make_run.value("val_eval_total_loss", last))
    text = table.to_text()
    lines = text.splitlines()
    assert lines[0].startswith("SFT metrics by epoch (last value in each epoch; epochs from 10 steps per epoch")
    assert lines[1].split() == ["epoch", "total_loss", "val_eval_total_loss"]
    assert lines[3].split()[0] == "1" and len(lines) == 6


def test_mean_aggregate(store):
    uri, runs = store
    table = read_run_metrics(runs["sft"], tracking_uri=uri, steps_per_epoch=10, aggregate="mean")
    first = table.rows[0][1]["total_loss"]
    assert first == pytest.approx(sum(make_run.value("total_loss", s) for s in range(1, 11)) / 10)
    assert "mean over each epoch" in table.title()


def test_epochs_from_max_epochs_param(store):
    uri, runs = store
    table = read_run_metrics(runs["sft"], tracking_uri=uri)
    assert table.epoch_source == "max_epochs=3" and [e for e, _ in table.rows] == [1, 2, 3]
    assert table.rows == read_run_metrics(runs["sft"], tracking_uri=uri, steps_per_epoch=10).rows


def test_epochs_from_an_epoch_metric(store):
    uri, runs = store
    table = read_run_metrics(runs["sft_epoch_metric"], tracking_uri=uri)
    assert table.epoch_source == "the run's epoch metric"
    assert [e for e, _ in table.rows] == [1, 2, 3]
    assert table.rows[1][1]["total_loss"] == pytest.approx(make_run.value("total_loss", 20))


def test_without_epoch_information_the_table_is_by_step(store):
    uri, runs = store
    table = read_run_metrics(runs["sft_no_epochs"], tracking_uri=uri)
    assert table.index_name == "step" and [s for s, _ in table.rows] == [1, 2, 3]
    assert "val_eval_total_loss" not in table.rows[0][1] and "val_eval_total_loss" in table.rows[2][1]
    assert "-" in table.to_text().splitlines()[3]  # a missing cell


def test_dpo_metrics_detected(store):
    uri, runs = store
    table = read_run_metrics(runs["dpo"], tracking_uri=uri, steps_per_epoch=5)
    assert table.technique == "DPO"
    assert table.metrics == list(M.TECHNIQUE_METRICS["DPO"])
    row = dict(table.rows)[2]
    assert row["rewards/margins"] == pytest.approx(make_run.value("rewards/margins", 10))


def test_rlvr_metrics_include_validation_rewards(store):
    uri, runs = store
    table = read_run_metrics(runs["rlvr"], tracking_uri=uri, steps_per_epoch=4)
    assert table.technique == "RLVR"
    assert table.metrics[:5] == list(M.TECHNIQUE_METRICS["RLVR"])
    assert table.metrics[5] == "val-core/gsm8k/reward/mean"
    # RLAIF reads the same metrics.
    assert read_run_metrics(runs["rlvr"], tracking_uri=uri, technique="RLAIF").technique == "RLAIF"


def test_requested_metrics_that_were_not_logged_are_listed(store):
    uri, runs = store
    table = read_run_metrics(runs["sft"], tracking_uri=uri, metrics=["total_loss", "nope/metric"])
    assert table.metrics == ["total_loss"] and table.missing == ["nope/metric"]
    assert table.to_text().endswith("not logged by this run: nope/metric")


def test_plot_writes_a_png(store, tmp_path):
    uri, runs = store
    for key, spe in (("sft", 10), ("dpo", 5), ("sft_no_epochs", None)):
        table = read_run_metrics(runs[key], tracking_uri=uri, steps_per_epoch=spe)
        path = M.plot(table, tmp_path / f"{key}.png")
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_errors_are_one_line(store):
    uri, runs = store
    with pytest.raises(MetricsError, match="cannot read MLflow run 'nope'") as e:
        read_run_metrics("nope", tracking_uri=uri)
    assert "\n" not in str(e.value)
    with pytest.raises(MetricsError, match="unknown technique 'PPO'"):
        read_run_metrics(runs["sft"], tracking_uri=uri, technique="PPO")
    with pytest.raises(MetricsError, match="unknown aggregate"):
        build_table({"a": [(1, 1.0)]}, "SFT", aggregate="median")
    with pytest.raises(MetricsError, match="nothing to plot"):
        M.plot(build_table({}, "SFT", metrics=["total_loss"]), "/tmp/never.png")


def test_build_table_zero_based_steps():
    series = {"total_loss": [(s, float(s)) for s in range(0, 6)]}
    table = build_table(series, "SFT", steps_per_epoch=3)
    assert table.rows == [(1, {"total_loss": 2.0}), (2, {"total_loss": 5.0})]


def test_detect_technique():
    assert M.detect_technique(["total_loss"]) == "SFT"
    assert M.detect_technique(["rewards/margins", "total_loss"]) == "DPO"
    assert M.detect_technique(["critic/rewards/mean"]) == "RLVR"
    assert M.detect_technique(["foo"]) is None
