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


def test_experiment_is_tagged_as_model_training_when_created_and_when_found_untagged(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    RunTracker(TrackingParams(uri=uri, experiment="fresh")).start("x", {}, {}, None)
    assert client.get_experiment_by_name("fresh").tags["mlflow.experimentKind"] == "custom_model_development"
    old = client.create_experiment("old")  # as made before the tag existed: the UI opened it on GenAI traces
    assert "mlflow.experimentKind" not in client.get_experiment(old).tags
    RunTracker(TrackingParams(uri=uri, experiment="old")).start("x", {}, {}, None)
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def test_training_logs_its_index_and_manifest_as_dataset_inputs(tmp_path):
    import json

    from mlflow.tracking import MlflowClient

    from dlcr_reid.params import EvaluationParams
    from dlcr_reid.training import train_reid
    from training_support import make_index, make_manifest, tiny_params

    index = make_index(tmp_path / "images")
    manifest = make_manifest(index, tmp_path / "generated")
    sources = {"index": str(tmp_path / "dataset_index" / "tiny.parquet"),
               "manifest": str(tmp_path / "generated_images" / "tiny.parquet")}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train_reid(index, manifest, tiny_params(epochs=1), EvaluationParams(), TrackingParams(uri=uri, experiment="inputs"),
                        tmp_path / "ckpt", "dlcr", device="cpu", data_sources=sources)
    run = MlflowClient(uri).get_run(result.mlflow_run_id)
    inputs = {entry.dataset.name: entry for entry in run.inputs.dataset_inputs}
    assert set(inputs) == {"tiny-index", "tiny-manifest"}
    for name, key, table in (("tiny-index", "index", index), ("tiny-manifest", "manifest", manifest)):
        dataset = inputs[name].dataset
        # the digest is the start of the full-content hash the run logs as a param
        assert dataset.digest == run.data.params[f"{key}_sha256"][:16] == table_sha256(table)[:16]
        assert dataset.source_type == "local" and json.loads(dataset.source)["uri"] == sources[key]
        assert json.loads(dataset.profile)["num_rows"] == len(table)
        assert {t.key: t.value for t in inputs[name].tags}["mlflow.data.context"] == "training"
