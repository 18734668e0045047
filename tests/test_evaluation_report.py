"""evaluate_model on a tiny index, evaluate_checkpoint's JSON/markdown/PNG report, and `dlcr evaluation-reports`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation import cosine_distance, evaluate, evaluate_checkpoint, evaluate_model, extract_image_features
from dlcr_reid.params import EvaluationParams

HEIGHT, WIDTH = 32, 16
# per identity: queries (camera, clothes) and gallery items, so general, CC and SC all have matches
QUERY_ITEMS = [(0, 0), (0, 1)]
GALLERY_ITEMS = [(1, 0), (1, 1), (0, 0), (2, 1)]


def write_index(root, num_ids=3, dataset="toy"):
    rng = np.random.default_rng(0)
    rows = []
    for pid in range(num_ids):
        colour = rng.integers(0, 255, 3)
        for split, items in (("query", QUERY_ITEMS), ("gallery", GALLERY_ITEMS)):
            for n, (camid, clothes) in enumerate(items):
                path = root / split / f"{pid}_{n}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                pixels = np.clip(colour + rng.integers(-40, 40, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(path)
                rows.append(dict(path=str(path), pid=pid, camid=camid, clothes_id=pid * 2 + clothes, split=split,
                                 dataset=dataset, pid_raw=str(pid), clothes_raw=f"{pid}_{clothes}"))
    return pd.DataFrame(rows)


def write_variants(root, index, views=2):
    rng = np.random.default_rng(1)
    rows = []
    for source in index.loc[index["split"] == "query", "path"]:
        for variant in range(views):
            path = root / "variants" / f"{variant}_{source.split('/')[-1]}"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(path)
            rows.append(dict(dataset="toy", source_path=source, variant=variant, outfit_key=f"o{variant}",
                             prompt="red coat", seed=variant, backend="recolor", model_id="none",
                             path=str(path), status="ok", error=None))
    return pd.DataFrame(rows)


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d((2, 1)), nn.Flatten())


def test_evaluate_model_protocols_and_refinement(tmp_path):
    index = write_index(tmp_path)
    params = EvaluationParams(batch_size=4, refinement={"views": 2, "top_k": 2})
    model = tiny_model()
    with pytest.raises(ReidInputError, match="input size unknown"):
        evaluate_model(model, index, params)
    results = evaluate_model(model, index, params, input_size=(HEIGHT, WIDTH))
    assert list(results) == ["general", "cc", "sc"]
    for metrics in results.values():
        assert {"top1", "top5", "top10", "mAP", "mINP", "num_queries", "num_skipped", "cmc"} <= set(metrics)
        assert metrics["num_queries"] == 6 and metrics["num_skipped"] == 0

    # the same numbers from the pieces, in percent
    features = extract_image_features(model, index["path"].tolist(), height=HEIGHT, width=WIDTH)
    q, g = (index["split"] == "query").to_numpy(), (index["split"] == "gallery").to_numpy()
    direct = evaluate(cosine_distance(features[q], features[g]), index.pid[q], index.pid[g], index.camid[q],
                      index.camid[g], index.clothes_id[q], index.clothes_id[g], mode="cc")
    assert results["cc"]["mAP"] == pytest.approx(100 * direct["mAP"], abs=1e-6)
    assert results["cc"]["top1"] == pytest.approx(100 * direct["cmc"][0])

    refined = evaluate_model(model, index, params, query_variants=write_variants(tmp_path, index),
                             input_size=(HEIGHT, WIDTH))
    assert list(refined) == ["general", "cc", "cc_refined", "sc"]  # refinement is scored on CC queries only
    assert refined["cc_refined"]["num_refined_queries"] == 6
    assert 0 <= refined["cc_refined"]["top1_fused"] <= 100
    off = EvaluationParams(batch_size=4, refinement={"enabled": False})
    assert "cc_refined" not in evaluate_model(model, index, off, query_variants=write_variants(tmp_path, index),
                                              input_size=(HEIGHT, WIDTH))


def save_cal_checkpoint(path, num_ids=3):
    """A checkpoint in the layout dlcr_reid.models.load_checkpoint reads."""
    from safetensors.torch import save_file

    from dlcr_reid.models import CALModel

    torch.manual_seed(0)
    model = CALModel("resnet18", num_ids=num_ids, weights="none")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(path))
    meta = {"backbone": "resnet18", "num_ids": num_ids, "mode": "baseline",
            "config": {"height": HEIGHT, "width": WIDTH}}
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_evaluate_checkpoint_writes_report(tmp_path):
    index = write_index(tmp_path / "data")
    checkpoint = save_cal_checkpoint(tmp_path / "ckpt" / "baseline" / "best.safetensors")
    report = evaluate_checkpoint(checkpoint, index, EvaluationParams(batch_size=8), tmp_path / "reports", device="cpu")
    files = {key: tmp_path / "reports" / name for key, name in
             (("json", "baseline.json"), ("md", "baseline.md"), ("png", "baseline-cmc.png"))}
    assert all(path.is_file() for path in files.values())
    saved = json.loads(files["json"].read_text())
    assert saved["dataset"] == "toy" and saved["input_size"] == [HEIGHT, WIDTH]
    assert saved["checkpoint"] == str(checkpoint.resolve()) and saved["feature_dim"] == 1024
    assert set(saved["protocols"]) == {"general", "cc", "sc"} == set(report["protocols"])
    assert saved["protocols"]["cc"]["num_queries"] == 6
    markdown = files["md"].read_text()
    assert "| cc |" in markdown and "mAP" in markdown
    with Image.open(files["png"]) as png:
        assert png.format == "PNG" and png.size[0] > 100
    assert not list((tmp_path / "reports").glob(".*.tmp"))  # atomic writes leave no temp files


def test_cli_evaluate(tmp_path):
    from typer.testing import CliRunner

    from dlcr_assets.cli import app
    from dlcr_reid.io import save_table

    data = tmp_path / "data"
    index = write_index(data / "raw" / "toy")
    save_table(index, data / "dataset_index" / "toy.parquet")
    save_table(write_variants(data / "query_variants" / "toy", index), data / "query_variants" / "toy.parquet")
    save_cal_checkpoint(data / "reid_checkpoint" / "toy" / "dlcr" / "best.safetensors")
    params = tmp_path / "params.yaml"
    params.write_text(f"data_dir: {data}\nevaluation:\n  batch_size: 8\n  refinement:\n    views: 2\n")
    result = CliRunner().invoke(app, ["evaluation-reports", "--dataset", "toy", "--mode", "dlcr", "--device", "cpu",
                                      "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "cc_refined" in result.output
    report = json.loads((data / "evaluation_reports" / "toy" / "dlcr.json").read_text())
    assert "cc_refined" in report["protocols"]
    assert (data / "evaluation_reports" / "toy" / "dlcr-cmc.png").is_file()

    missing = CliRunner().invoke(app, ["evaluation-reports", "--dataset", "toy", "--mode", "baseline", "--params", str(params)])
    assert isinstance(missing.exception, ReidInputError) and "not found" in str(missing.exception)
