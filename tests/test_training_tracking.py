"""MLflow tracking helpers: URI resolution, nesting under an active run, hashes, flattening, curves."""
from pathlib import Path

import mlflow
import pandas as pd

from dlcr_reid.params import TrackingParams
from dlcr_reid.training.tracking import RunTracker, flatten, plot_training_curves, resolve_tracking_uri, table_sha256


def test_uri_from_params_then_env_then_project_sqlite(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(TrackingParams()) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_tracking_uri(TrackingParams()) == "http://127.0.0.1:5000"
    assert resolve_tracking_uri(TrackingParams(uri="sqlite:///x.db")) == "sqlite:///x.db"


def test_training_run_nests_under_the_callers_active_run(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run(run_name="dagster-asset") as parent:
            tracker = RunTracker(TrackingParams(uri=uri, experiment="nest"))
            run_id = tracker.start("tiny-dlcr", {"training.lr": 0.1}, {"mode": "dlcr"}, None)
            tracker.log_metrics({"loss_id": 1.5}, step=1)
            tracker.finish()
        runs = mlflow.search_runs(experiment_ids=[parent.info.experiment_id], filter_string="tags.mode = 'dlcr'")
        assert list(runs["run_id"]) == [run_id]
        assert runs.iloc[0]["tags.mlflow.parentRunId"] == parent.info.run_id
        assert runs.iloc[0]["metrics.loss_id"] == 1.5 and runs.iloc[0]["params.training.lr"] == "0.1"
    finally:
        mlflow.set_tracking_uri(None)
    # sqlite stores keep artifacts beside the database, not in the current folder
    assert not Path("mlruns").exists() or Path("mlruns").resolve().parent != Path.cwd()


def test_disabled_tracker_does_nothing(tmp_path):
    tracker = RunTracker(TrackingParams(enabled=False, uri=f"sqlite:///{tmp_path / 'x.db'}"))
    assert tracker.start("x", {}, {}, None) is None
    tracker.log_metrics({"a": 1.0}, 1)
    tracker.finish()
    assert not (tmp_path / "x.db").exists()


def test_table_hash_flatten_and_curves(tmp_path):
    table = pd.DataFrame({"path": ["a", "b"], "frames": [["1", "2"], ["3"]], "pid": [1, 2]})
    assert table_sha256(table) == table_sha256(table.copy()) and len(table_sha256(table)) == 64
    assert table_sha256(table) != table_sha256(table.assign(pid=[1, 3])) and table_sha256(None) == "none"
    assert flatten({"a": {"b": 1, "c": {"d": [1]}}, "e": 2}) == {"a.b": 1, "a.c.d": [1], "e": 2}
    history = [{"epoch": 1, "loss_total": 2.0, "loss_id": 2.0}, {"epoch": 2, "loss_total": 1.0, "eval_cc_top1": 30.0}]
    png = plot_training_curves(history, tmp_path / "curves.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
