"""Unreadable images (a truncated PNG, a missing file): a clear error naming them, or a counted skip."""
from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation.features import check_test_images, extract_image_features
from dlcr_reid.params import EvaluationParams, TrackingParams
from dlcr_reid.training import ReidTrainer, train_reid
from dlcr_reid.training.data import ReidTrainingSet
from test_evaluation_features import HEIGHT, WIDTH, tiny_model, write_images
from training_support import make_index, make_manifest, tiny_params


def truncate(path: str) -> str:
    """Cut a PNG to half its bytes: the header still opens, the pixels cannot be decoded."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    return path


def broken_index(tmp_path: Path):
    index = make_index(tmp_path / "raw")
    train = index.index[index["split"] == "train"]
    truncated = truncate(index.loc[train[0], "path"])
    missing = str(tmp_path / "raw" / "train" / "gone.png")
    index.loc[train[1], "path"] = missing
    return index, truncated, missing


def test_unreadable_training_images_stop_before_the_first_step_naming_them(tmp_path):
    index, truncated, missing = broken_index(tmp_path)
    with pytest.raises(ReidInputError, match="skip_unreadable") as raised:
        train_reid(index, None, tiny_params(num_workers=1), EvaluationParams(), TrackingParams(enabled=False),
                   tmp_path / "out", "baseline", device="cpu")
    message = str(raised.value)
    assert truncated in message and missing in message and "2 training image(s)" in message
    assert not (tmp_path / "out" / "epoch-001.json").exists()


def test_skip_unreadable_leaves_them_out_and_counts_them(tmp_path):
    index, truncated, missing = broken_index(tmp_path)
    manifest = make_manifest(index[index["path"] != missing], tmp_path / "generated")
    bad_variant = truncate(manifest[manifest["status"] == "ok"]["path"].iloc[-1])
    params = tiny_params(skip_unreadable=True, epochs=1, num_workers=1)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    trainer = ReidTrainer(index, manifest, params, EvaluationParams(), TrackingParams(uri=uri, experiment="skip"),
                          tmp_path / "out", "dlcr", "cpu")
    assert set(trainer.train_set.unreadable) == {truncated, missing, bad_variant}
    assert truncated not in trainer.train_set.paths and missing not in trainer.train_set.paths
    assert len(trainer.train_set) == (index["split"] == "train").sum() - 2
    assert not any(bad_variant in pool for pool in trainer.train_set.variants)
    result = trainer.fit()
    assert (tmp_path / "out" / "epoch-001.json").is_file()
    run = mlflow.tracking.MlflowClient(uri).get_run(result.mlflow_run_id)
    assert run.data.params["unreadable_images"] == "3" and run.info.status == "FINISHED"
    # without the flag the same set is refused; the check is the one the trainer ran
    with pytest.raises(ReidInputError, match="3 training image"):
        ReidTrainingSet(index, manifest, tiny_params())


@pytest.mark.parametrize("workers", [0, 1])
def test_evaluation_features_name_the_unreadable_file(tmp_path, workers):
    model, paths = tiny_model(), write_images(tmp_path / "img", 4)
    bad = truncate(paths[2])
    with pytest.raises(ReidInputError, match="cannot read evaluation image") as raised:
        extract_image_features(model, paths, height=HEIGHT, width=WIDTH, batch_size=2, num_workers=workers)
    assert bad in str(raised.value)
    missing = str(tmp_path / "img" / "absent.png")
    with pytest.raises(ReidInputError, match="cannot read evaluation image") as raised:
        extract_image_features(model, paths[:2] + [missing], height=HEIGHT, width=WIDTH, num_workers=workers)
    assert missing in str(raised.value)


def test_training_checks_its_test_images_before_training(tmp_path):
    index = make_index(tmp_path / "raw")
    query = index.index[index["split"] == "query"]
    bad = truncate(index.loc[query[0], "path"])
    with pytest.raises(ReidInputError, match="1 evaluation image") as raised:
        check_test_images(index)
    assert bad in str(raised.value)
    with pytest.raises(ReidInputError, match="evaluation image"):
        ReidTrainer(index, None, tiny_params(eval_every=1), EvaluationParams(), TrackingParams(enabled=False),
                    tmp_path / "out", "baseline", "cpu")
    assert not (tmp_path / "out").exists()
