"""Which checkpoint a run reports (last | val | holdout), that the test split never picks it, protocols
from the format, and resume refusing a changed configuration."""

import json

import mlflow
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation import evaluate_checkpoint
from dlcr_reid.params import EvaluationParams, TrackingParams
from dlcr_reid.training import ReidTrainer, train_reid
from dlcr_reid.training.selection import hold_out
from training_support import make_index, tiny_params

OFF = TrackingParams(enabled=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The tiny index plus a validation split of other identities (drawn like the test split)."""
    root = tmp_path_factory.mktemp("selection")
    index = make_index(root / "raw")
    extra = make_index(root / "val", train_ids=2, test_ids=3)
    val = extra[extra["split"] != "train"].assign(
        split=lambda t: t["split"].map({"query": "val_query", "gallery": "val_gallery"}), pid=lambda t: t["pid"] + 100)
    return pd.concat([index, val], ignore_index=True)


def weights(path):
    return load_file(str(path))


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_last_is_the_default_and_is_recorded(data, tmp_path):
    result = train_reid(data, None, tiny_params(eval_every=1), EvaluationParams(), OFF, tmp_path, "baseline", device="cpu")
    assert result.selection == {"rule": "last", "epoch": 2, "val_score": None}
    assert same_weights(weights(result.best_checkpoint), weights(result.last_checkpoint))
    # the reported score is the last epoch's test CC top-1, whatever an earlier epoch scored
    assert result.best_score == result.history[-1]["eval_cc_top1"]
    report = json.loads((tmp_path / "best_evaluation.json").read_text())
    assert report["selection"] == result.selection and report["cc"]["top1"] == result.best_score
    # validation rows are never evaluated (nor trained on) under `last`
    assert not any(key.startswith("val_") for key in result.history[-1])


def test_val_selects_on_the_validation_split_and_records_it(data, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = tiny_params(epochs=3, eval_every=1, selection="val")
    result = train_reid(data, None, params, EvaluationParams(), TrackingParams(uri=uri), tmp_path / "run", "baseline",
                        device="cpu")
    val_scores = [row["val_cc_top1"] for row in result.history]
    best = val_scores.index(max(val_scores)) + 1  # the first epoch with the best score
    assert result.selection == {"rule": "val", "epoch": best, "val_score": max(val_scores)}
    assert result.best_score == result.history[best - 1]["eval_cc_top1"]  # reported: that epoch on TEST
    assert same_weights(weights(result.best_checkpoint), weights(tmp_path / "run" / f"epoch-{best:03d}.safetensors"))
    report = evaluate_checkpoint(result.best_checkpoint, data, EvaluationParams(), tmp_path / "reports", device="cpu")
    assert report["selection"] == result.selection
    # the report is of the test split only: the validation identities (2xx) are not in it
    assert report["num_gallery"] == int((data["split"] == "gallery").sum())
    client = mlflow.tracking.MlflowClient(uri)
    run = client.get_run(result.mlflow_run_id)
    assert run.data.tags["selection"] == "val" and run.data.tags["selected_epoch"] == str(best)
    assert run.data.params["training.selection"] == "val"
    assert run.data.metrics["selected_epoch"] == best and run.data.metrics["selected_val_score"] == max(val_scores)


def test_the_test_split_never_influences_the_choice(data, tmp_path):
    """Scramble every test label: the test scores change, the chosen checkpoint does not."""
    params = tiny_params(epochs=3, eval_every=1, selection="val")
    scrambled = data.copy()
    test = scrambled["split"].isin(["query", "gallery"])
    scrambled.loc[test, "pid"] = scrambled.loc[test, "pid"].sample(frac=1.0, random_state=1).to_numpy()
    scrambled.loc[test, "clothes_id"] = scrambled.loc[test, "clothes_id"].to_numpy()[::-1]
    first = train_reid(data, None, params, EvaluationParams(), OFF, tmp_path / "a", "baseline", device="cpu")
    second = train_reid(scrambled, None, params, EvaluationParams(), OFF, tmp_path / "b", "baseline", device="cpu")
    assert [r["eval_general_mAP"] for r in first.history] != [r["eval_general_mAP"] for r in second.history]
    assert first.selection == second.selection
    assert same_weights(weights(first.best_checkpoint), weights(second.best_checkpoint))


def test_holdout_selects_on_training_identities_never_trained_on(data, tmp_path):
    params = tiny_params(epochs=2, eval_every=1, selection="holdout", holdout_ids=1)
    held = hold_out(data, params)
    held_pids = set(held.loc[held["split"].isin(["val_query", "val_gallery"]), "pid"])
    assert len(held_pids) == 1 and not held_pids & set(held.loc[held["split"] == "train", "pid"])
    # every held-out outfit has its first image as a query and the rest in the gallery
    assert set(held.loc[held["split"] == "val_query", "clothes_id"]) == set(held.loc[held["split"] == "val_gallery", "clothes_id"])
    trainer = ReidTrainer(data, None, params, EvaluationParams(), OFF, tmp_path, "baseline", "cpu")
    assert trainer.train_set.num_ids == 3  # 4 training identities, 1 held out
    result = trainer.fit()
    assert result.selection["rule"] == "holdout" and result.selection["val_score"] is not None
    assert result.selection["val_score"] == max(row["val_cc_top1"] for row in result.history)
    with pytest.raises(ReidInputError, match="holdout_ids"):
        hold_out(data, tiny_params(holdout_ids=3))  # 1 identity left for P=2


def test_val_needs_a_validation_split_and_evaluations(data, tmp_path):
    plain = data[~data["split"].isin(["val_query", "val_gallery"])]
    with pytest.raises(ReidInputError, match="no \\['val_query', 'val_gallery'\\] rows"):
        ReidTrainer(plain, None, tiny_params(eval_every=1, selection="val"), EvaluationParams(), OFF, tmp_path,
                    "baseline", "cpu")
    with pytest.raises(ReidInputError, match="eval_every"):
        ReidTrainer(data, None, tiny_params(eval_every=0, selection="val"), EvaluationParams(), OFF, tmp_path,
                    "baseline", "cpu")


def test_a_last_format_set_under_another_name_gets_general_only(data, tmp_path):
    """LaST registered as 'last-test': no CC/SC protocol, so no CC top-1 can select or be reported."""
    last = data.assign(dataset="last-test")
    test = last["split"].isin(["query", "gallery"])
    last.loc[test, "camid"] = range(int(test.sum()))  # LaST: every test image its own camera
    for given in ("last", None):  # the format given, and detected from the index
        params = tiny_params(eval_every=1, selection="val")
        trainer = ReidTrainer(last, None, params, EvaluationParams(), OFF, tmp_path / str(given), "baseline", "cpu",
                              dataset_format=given)
        result = trainer.fit()
        assert trainer.dataset_format == "last"
        row = result.history[-1]
        assert "eval_general_top1" in row and not any(k.startswith(("eval_cc", "eval_sc", "val_cc")) for k in row)
        assert result.selection["val_score"] == max(r["val_general_top1"] for r in result.history)
        assert result.best_score == row["eval_general_top1"] or result.selection["epoch"] != 2
    # the same rows registered under a CC format's name keep CC/SC (the format decides, not the name)
    trainer = ReidTrainer(last, None, tiny_params(epochs=1, eval_every=1), EvaluationParams(), OFF, tmp_path / "ltcc",
                          "baseline", "cpu", dataset_format="ltcc")
    assert "eval_cc_top1" in trainer.fit().history[-1]


def test_resume_refuses_another_configuration_and_names_the_keys(data, tmp_path):
    params = tiny_params()
    ReidTrainer(data, None, params, EvaluationParams(), OFF, tmp_path, "baseline", "cpu").fit(until_epoch=1)
    with pytest.raises(ReidInputError) as error:
        train_reid(data, None, tiny_params(lr=2e-4, seed=4), EvaluationParams(), OFF, tmp_path, "baseline",
                   resume=True, device="cpu")
    message = str(error.value)
    assert "lr: 0.001 -> 0.0002" in message and "seed: 3 -> 4" in message and "num_workers" not in message
    with pytest.raises(ReidInputError, match="selection: 'last' -> 'val'"):
        train_reid(data, None, tiny_params(selection="val", eval_every=1), EvaluationParams(), OFF, tmp_path,
                   "baseline", resume=True, device="cpu")
    with pytest.raises(ReidInputError, match="dataset_format: 'generic' -> 'ltcc'"):
        train_reid(data, None, params, EvaluationParams(), OFF, tmp_path, "baseline", resume=True, device="cpu",
                   dataset_format="ltcc")
    # fields that do not change results may differ (RESUME_FREE_FIELDS)
    free = tiny_params(keep_checkpoints=1, eval_every=1, time_to_top1=[5.0])
    resumed = train_reid(data, None, free, EvaluationParams(), OFF, tmp_path, "baseline", resume=True, device="cpu")
    assert [row["epoch"] for row in resumed.history] == [1, 2]
