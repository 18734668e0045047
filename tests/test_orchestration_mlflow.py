"""`dlcr mlflow-server` serves the project's store: a tiny training's runs show up in its REST API."""
from __future__ import annotations

import requests

from orchestration_helpers import mlflow_server
from training_support import make_index, tiny_params


def test_training_runs_are_visible_through_the_mlflow_server(tmp_path):
    from dlcr_reid.params import EvaluationParams, TrackingParams
    from dlcr_reid.training import train_reid

    with mlflow_server(tmp_path) as (base, project):
        index = make_index(tmp_path / "images")
        # training writes straight into the sqlite store the server reads, as Dagster, DVC and the CLI do
        direct = TrackingParams(uri=f"sqlite:///{project / 'mlflow.db'}", experiment="dlcr-test")
        result = train_reid(index, None, tiny_params(epochs=1, eval_every=1), EvaluationParams(batch_size=16), direct,
                            tmp_path / "ckpt-direct", mode="baseline", device="cpu")

        experiment = requests.get(f"{base}/api/2.0/mlflow/experiments/get-by-name",
                                  params={"experiment_name": "dlcr-test"}, timeout=10).json()["experiment"]
        # artifacts live in the project's mlartifacts/, where the server reads them
        assert experiment["artifact_location"].endswith("mlartifacts") or "mlartifacts" in experiment["artifact_location"]
        runs = requests.post(f"{base}/api/2.0/mlflow/runs/search",
                             json={"experiment_ids": [experiment["experiment_id"]], "max_results": 50}, timeout=10).json()["runs"]
        by_id = {run["info"]["run_id"]: run for run in runs}
        assert result.mlflow_run_id in by_id
        finished = by_id[result.mlflow_run_id]
        assert finished["info"]["status"] == "FINISHED"
        metric_keys = {m["key"] for m in finished["data"].get("metrics", [])}
        assert any(key.startswith("eval_") for key in metric_keys), metric_keys
        params = {p["key"]: p["value"] for p in finished["data"]["params"]}
        assert params.get("mode", "baseline") == "baseline"
        artifacts = requests.get(f"{base}/api/2.0/mlflow/artifacts/list", params={"run_id": result.mlflow_run_id},
                                 timeout=10).json()
        assert any(f["path"] == "history.json" for f in artifacts.get("files", [])), artifacts
    assert (project / "mlflow.db").is_file()
