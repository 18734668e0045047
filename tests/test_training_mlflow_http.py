"""Training logs through a running `dlcr mlflow-server` (http tracking URI); all of it reads back over HTTP."""
from __future__ import annotations

import json
import requests
from mlflow.tracking import MlflowClient

from orchestration_helpers import mlflow_server
from training_support import make_index, tiny_params


def test_training_with_the_servers_http_uri_reads_back_params_metrics_and_artifacts(tmp_path):
    from dlcr_reid.params import EvaluationParams, TrackingParams
    from dlcr_reid.training import train_reid

    with mlflow_server(tmp_path) as (base, project):
        index = make_index(tmp_path / "images")
        tracking = TrackingParams(uri=base, experiment="http-test", log_checkpoint=False)
        result = train_reid(index, None, tiny_params(epochs=2, eval_every=1), EvaluationParams(batch_size=16),
                            tracking, tmp_path / "ckpt", mode="baseline", device="cpu")
        assert result.mlflow_run_id

        # MlflowClient over HTTP: status, params, per-epoch metrics
        client = MlflowClient(base)
        run = client.get_run(result.mlflow_run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params["training.epochs"] == "2" and run.data.params["mode"] == "baseline"
        assert run.data.params["unreadable_images"] == "0"
        assert [m.step for m in client.get_metric_history(result.mlflow_run_id, "loss_total")] == [1, 2]
        assert "eval_cc_top1" in run.data.metrics or "eval_general_top1" in run.data.metrics, run.data.metrics

        # plain REST: the run's artifact list, and one artifact's bytes served by the server
        listed = requests.get(f"{base}/api/2.0/mlflow/artifacts/list", params={"run_id": result.mlflow_run_id},
                              timeout=10).json()
        assert {"history.json", "config.json", "training_curves.png"} <= {f["path"] for f in listed["files"]}
        served = requests.get(f"{base}/get-artifact", params={"path": "history.json", "run_uuid": result.mlflow_run_id},
                              timeout=10)
        assert served.status_code == 200
        assert [row["epoch"] for row in json.loads(served.content)] == [1, 2]
        assert json.loads(served.content) == result.history
    assert (project / "mlflow.db").is_file() and (project / "mlartifacts").is_dir()
