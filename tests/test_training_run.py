"""Real (tiny) training runs: both modes with MLflow, exact resume, NaN stop."""

import mlflow
import pytest
import torch
from safetensors.torch import load_file, save_file

from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation import evaluate_checkpoint
from dlcr_reid.models import load_checkpoint
from dlcr_reid.params import EvaluationParams, TrackingParams
from dlcr_reid.training import ReidTrainer, train_reid
from training_support import make_index, make_manifest, tiny_params


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    index = make_index(root / "raw")
    return index, make_manifest(index, root / "generated")


def test_baseline_and_dlcr_train_evaluate_and_log_to_mlflow(tiny_data, tmp_path, monkeypatch):
    index, manifest = tiny_data
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = TrackingParams(uri=uri, experiment="tiny-test")
    params = tiny_params(eval_every=1, time_to_top1=[0.0, 101.0])
    results = {}
    for mode in ("baseline", "dlcr"):
        results[mode] = train_reid(index, manifest if mode == "dlcr" else None, params, EvaluationParams(),
                                   tracking, tmp_path / mode, mode, device="cpu", run_tags={"dagster_run": "r1"})
    dlcr, baseline = results["dlcr"], results["baseline"]
    for result in results.values():
        assert result.best_checkpoint.is_file() and len(result.history) == 2
        assert "eval_cc_top1" in result.history[-1] and result.best_score is not None
        # the 0% level is reached at the first evaluation; 101% never
        assert "time_to_cc_top1_0" in result.history[0] and "time_to_cc_top1_101" not in result.history[-1]
    assert dlcr.history[0]["generated_images"] > 0 and baseline.history[0]["generated_images"] == 0
    assert dlcr.history[0]["variant_fraction"] == 0.25 and dlcr.history[1]["variant_fraction"] == 1.0
    assert dlcr.history[1]["loss_cal"] > 0 and dlcr.history[0]["loss_cal"] == 0  # CAL from epoch 1

    model, meta = load_checkpoint(dlcr.best_checkpoint)
    assert meta["mode"] == "dlcr" and meta["num_ids"] == 4 and meta["config"]["backbone"] == "resnet18"
    report = evaluate_checkpoint(dlcr.best_checkpoint, index, EvaluationParams(), tmp_path / "reports", device="cpu")
    assert {"general", "cc"} <= set(report["protocols"])

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    try:
        runs = mlflow.search_runs(experiment_names=["tiny-test"], filter_string="tags.mode = 'dlcr'")
        assert list(runs["run_id"]) == [dlcr.mlflow_run_id]
        run = runs.iloc[0]
        assert run["status"] == "FINISHED" and run["tags.dagster_run"] == "r1" and run["tags.progressive"] == "true"
        assert run["params.training.backbone"] == "resnet18" and len(run["params.index_sha256"]) == 64
        assert run["params.manifest_sha256"] != "none" and run["params.mode"] == "dlcr"
        for metric in ("loss_id", "loss_cal", "lr", "images_per_s", "eval_cc_top1", "eval_general_mAP"):
            assert runs[f"metrics.{metric}"].notna().all(), metric
        client = mlflow.tracking.MlflowClient(uri)
        history = client.get_metric_history(dlcr.mlflow_run_id, "loss_total")
        assert [m.step for m in history] == [1, 2]
        artifacts = {a.path for a in client.list_artifacts(dlcr.mlflow_run_id)}
        assert {"best.json", "config.json", "training_curves.png", "best_evaluation.json", "checkpoint"} <= artifacts
        assert len(mlflow.search_runs(experiment_names=["tiny-test"])) == 2
    finally:
        mlflow.set_tracking_uri(None)


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tiny_data, tmp_path):
    index, manifest = tiny_data
    params, off = tiny_params(), TrackingParams(enabled=False)
    straight = train_reid(index, manifest, params, EvaluationParams(), off, tmp_path / "straight", "dlcr", device="cpu")
    # a run stopped after its first epoch, then resumed
    tracking = TrackingParams(uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    first = ReidTrainer(index, manifest, params, EvaluationParams(), tracking, tmp_path / "resumed", "dlcr", "cpu")
    killed = first.fit(until_epoch=1)
    assert not (tmp_path / "resumed" / "epoch-002.json").exists()
    resumed = train_reid(index, manifest, params, EvaluationParams(), tracking, tmp_path / "resumed", "dlcr",
                         resume=True, device="cpu")
    # the resumed attempt is its own MLflow run, linked both ways, and holds every epoch's metrics
    client = mlflow.tracking.MlflowClient(tracking.uri)
    old, new = client.get_run(killed.mlflow_run_id), client.get_run(resumed.mlflow_run_id)
    assert new.info.run_id != old.info.run_id and old.info.status == "KILLED" and new.info.status == "FINISHED"
    assert new.data.tags["dlcr.resumed_from"] == old.info.run_id and old.data.tags["dlcr.resumed_by"] == new.info.run_id
    assert [m.step for m in client.get_metric_history(new.info.run_id, "loss_total")] == [1, 2]
    assert [round(r["loss_total"], 6) for r in resumed.history] == [round(r["loss_total"], 6) for r in straight.history]
    expected = load_file(str(straight.last_checkpoint))
    got = load_file(str(resumed.last_checkpoint))
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    # resuming with different training params is refused, naming the field
    with pytest.raises(ReidInputError, match="lr"):
        train_reid(index, manifest, tiny_params(lr=2e-4), EvaluationParams(), tracking, tmp_path / "resumed",
                   "dlcr", resume=True, device="cpu")


def test_non_finite_loss_stops_with_epoch_and_step(tiny_data, tmp_path):
    import torchvision

    weights = torchvision.models.resnet18(weights=None).state_dict()
    weights["conv1.weight"] = torch.full_like(weights["conv1.weight"], float("nan"))
    save_file(weights, str(tmp_path / "nan.safetensors"))
    index, _ = tiny_data
    params = tiny_params(weights=str(tmp_path / "nan.safetensors"))
    with pytest.raises(ReidInputError, match="non-finite training loss at epoch 1 step 1 "):
        train_reid(index, None, params, EvaluationParams(), TrackingParams(enabled=False), tmp_path / "nan",
                   "baseline", device="cpu")
    json_files = list((tmp_path / "nan").glob("epoch-*.json"))
    assert json_files == []
