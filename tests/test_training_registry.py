"""The model registry through the step functions the `dlcr` commands, Dagster assets and DVC stages call.

A tiny training registers its selected checkpoint as a version of dlcr-<dataset>-<mode>; its
evaluation makes it `champion`; models:/<name>@champion loads as a pyfunc whose embeddings are the
evaluation's own features. Later versions take the alias only with a better CC top-1.
"""
from __future__ import annotations

import logging

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from orchestration_helpers import REPO, VENV_BIN, free_port, server_env, stop, tiny_params, wait_for_http, write_params

DATASET = "synthetic"
NAME = f"dlcr-{DATASET}-baseline"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The synthetic dataset indexed, params tracking into the project's sqlite store."""
    from dagster_project.resources import ParamsResource
    from dlcr_assets import steps

    root = tmp_path_factory.mktemp("registry")
    values = tiny_params(absolute_to=root)
    values["tracking"].update(uri=f"sqlite:///{root / 'mlflow.db'}", experiment="registry-test")
    params = ParamsResource(path=str(write_params(root / "params.yaml", values))).load()
    steps.synthetic_dataset(params)
    steps.dataset_index(params, DATASET)
    return params


def _train(params, seed: int):
    from dlcr_assets import steps

    training = params.training.model_copy(update={"seed": seed})
    return steps.reid_checkpoint(params.model_copy(update={"training": training}), DATASET, "baseline", "cpu")


def _images(paths) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])


def _champion(params):
    """The champion version (crowning a first one when this test runs alone)."""
    from mlflow.exceptions import MlflowException

    from dlcr_reid.registry import promote

    client = MlflowClient(params.tracking.uri)
    try:
        return client.get_model_version_by_alias(NAME, "champion")
    except MlflowException:
        promote(params.tracking, NAME, _train(params, seed=1).result.best_checkpoint, {"protocols": {"cc": {"top1": 50.0}}})
        return client.get_model_version_by_alias(NAME, "champion")


def _test_images(params, count: int) -> list[str]:
    import pandas as pd
    from dlcr_assets import steps

    index = pd.read_parquet(steps.layout(params, DATASET).dataset_index)
    return index[index["split"].isin(["query", "gallery"])]["path"].tolist()[:count]


def test_training_registers_and_evaluation_crowns_a_loadable_embedder(project):
    from dlcr_assets import steps
    from dlcr_reid.evaluation.features import extract_image_features
    from dlcr_reid.models import load_checkpoint

    params = project
    uri = params.tracking.uri
    trained = _train(params, seed=1)
    version = trained.extra["model_version"]
    assert version is not None and version.name == NAME
    client = MlflowClient(uri)
    assert client.get_model_version(NAME, version.version).run_id == trained.result.mlflow_run_id
    assert version.tags["checkpoint_sha256"] and version.tags["dataset"] == DATASET
    # the pyfunc lives in the training's experiment, under the project's mlartifacts/ (not ./mlruns)
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    run = client.get_run(trained.result.mlflow_run_id)
    assert logged.experiment_id == run.info.experiment_id and "READY" in str(logged.status)
    assert "mlartifacts" in logged.artifact_location and str(uri[len("sqlite:///"):]).rsplit("/", 1)[0] in logged.artifact_location

    evaluated = steps.evaluation_reports(params, DATASET, "baseline", "cpu", refine=False)
    top1 = evaluated.result["protocols"]["cc"]["top1"]
    assert evaluated.extra["champion"] == {"name": NAME, "version": str(version.version), "score": top1,
                                           "champion": str(version.version)}
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert str(champion.version) == str(version.version) and float(champion.tags["cc_top1"]) == pytest.approx(top1)

    mlflow.set_tracking_uri(uri)
    try:
        model = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    signature = model.metadata.signature
    assert signature.inputs.inputs[0].type == np.dtype(np.uint8) and signature.inputs.inputs[0].shape == (-1, -1, -1, 3)
    assert model.metadata.saved_input_example_info is not None
    paths = _test_images(params, 6)
    embeddings = model.predict(_images(paths))
    checkpoint, meta = load_checkpoint(trained.result.best_checkpoint)
    assert embeddings.shape == (len(paths), checkpoint.feature_dim) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # the evaluation's own features of the same files (the images are at the training size)
    height, width = meta["input_size"]
    expected = extract_image_features(checkpoint, paths, height=height, width=width, flip=params.evaluation.flip)
    np.testing.assert_allclose(embeddings, expected.numpy(), atol=1e-5)
    # other sizes are resized to the model's: still one unit-norm embedding per image
    bigger = np.stack([np.asarray(Image.fromarray(image).resize((width * 2, height * 2))) for image in _images(paths[:2])])
    assert np.allclose(np.linalg.norm(model.predict(bigger), axis=1), 1.0, atol=1e-5)
    with pytest.raises(Exception, match="uint8|dtype"):
        model.predict(_images(paths[:1]).astype(np.float64))


def test_champion_moves_only_to_a_better_cc_top1(project, tmp_path):
    from dlcr_reid.registry import promote

    params = project
    client = MlflowClient(params.tracking.uri)
    champion = _champion(params)
    best = float(champion.tags["cc_top1"])

    worse = _train(params, seed=2)
    result = promote(params.tracking, NAME, worse.result.best_checkpoint, {"protocols": {"cc": {"top1": best - 1.0}}})
    assert result["version"] == str(worse.extra["model_version"].version) != str(champion.version)
    assert result["champion"] == str(champion.version)
    assert client.get_model_version_by_alias(NAME, "champion").version == champion.version
    assert float(client.get_model_version(NAME, result["version"]).tags["cc_top1"]) == best - 1.0

    better = _train(params, seed=3)
    result = promote(params.tracking, NAME, better.result.best_checkpoint, {"protocols": {"cc": {"top1": best + 1.0}}})
    assert result["champion"] == result["version"] == str(better.extra["model_version"].version)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == result["version"]
    # a checkpoint no version holds changes nothing
    stray = tmp_path / "stray.safetensors"
    stray.write_bytes(b"not a registered checkpoint")
    assert promote(params.tracking, NAME, stray, {"protocols": {"cc": {"top1": 99.0}}}) is None
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == result["version"]


def test_mlflow_models_serve_answers_with_the_champions_embeddings(project, tmp_path):
    """The README's `mlflow models serve -m models:/<name>@champion --env-manager local`, queried as a client would."""
    import subprocess

    import requests

    params = project
    _champion(params)
    port, log = free_port(), tmp_path / "serve.log"
    server = subprocess.Popen(
        [str(VENV_BIN / "mlflow"), "models", "serve", "-m", f"models:/{NAME}@champion", "--env-manager", "local",
         "--port", str(port)],
        cwd=REPO, env=server_env(MLFLOW_TRACKING_URI=params.tracking.uri), stdout=log.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", server, timeout=180, log=log)
        images = _images(_test_images(params, 3))
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", json={"inputs": images.tolist()}, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        served = np.asarray(answer.json()["predictions"], dtype=np.float32)
    finally:
        stop(server)
    mlflow.set_tracking_uri(params.tracking.uri)
    try:
        local = mlflow.pyfunc.load_model(f"models:/{NAME}@champion").predict(images)
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(served, local, atol=1e-5)


def test_a_file_store_skips_the_registry_with_a_log_line(tmp_path, caplog):
    from dlcr_reid.params import TrackingParams
    from dlcr_reid.registry import promote, register_checkpoint

    tracking = TrackingParams(uri=(tmp_path / "mlruns").as_uri())
    with caplog.at_level(logging.WARNING, logger="dlcr_reid.registry"):
        assert register_checkpoint(tracking, "run", tmp_path / "best.safetensors", tmp_path / "config.json", NAME) is None
        assert promote(tracking, NAME, tmp_path / "best.safetensors", {"protocols": {"cc": {"top1": 1.0}}}) is None
    assert sum("file store" in r.getMessage() and "database-backed" in r.getMessage() for r in caplog.records) == 2
    assert not (tmp_path / "mlruns").exists()
