"""Masks resume per row: unchanged fingerprints keep their rows and files, changes redo only theirs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.masks import MasksParams
from dlcr_reid.io import save_table
from tiny_vision_models import make_tiny_dataset


def test_parsing_map_masks_resume_per_row(tmp_path: Path):
    index, _ = make_tiny_dataset(tmp_path / "raw")
    out, params = tmp_path / "masks" / "tiny", MasksParams()
    first = make_clothing_masks(index, params, out)
    n = len(first)
    assert first.attrs["run"] == {"rows": n, "computed": n, "skipped": 0, "stale": 0}
    saved = save_table(first, tmp_path / "masks.parquet")
    times = {path: Path(path).stat().st_mtime_ns for path in first["mask_path"]}

    again = make_clothing_masks(index, params, out, previous=saved)
    assert again.attrs["run"] == {"rows": n, "computed": 0, "skipped": n, "stale": 0}
    assert again.drop(columns="coverage").equals(first.drop(columns="coverage"))
    assert {path: Path(path).stat().st_mtime_ns for path in again["mask_path"]} == times  # nothing rewritten

    # one parsing map changes: only that image's mask is redone
    changed = index.at[0, "parsing_path"]
    labels = np.asarray(Image.open(changed)).copy()
    labels[40:50] = 0
    Image.fromarray(labels, mode="L").save(changed)
    redone = make_clothing_masks(index, params, out, previous=first)
    assert redone.attrs["run"] == {"rows": n, "computed": 1, "skipped": n - 1, "stale": 1}
    assert (redone["fingerprint"] != first["fingerprint"]).tolist() == [True] + [False] * (n - 1)
    assert redone.at[0, "coverage"] < first.at[0, "coverage"]

    # a deleted mask file is made again even though its fingerprint matches
    Path(redone.at[1, "mask_path"]).unlink()
    healed = make_clothing_masks(index, params, out, previous=redone)
    assert healed.attrs["run"]["computed"] == 1 and Path(healed.at[1, "mask_path"]).is_file()

    # a setting that changes every mask makes every row stale
    dilated = make_clothing_masks(index, params.model_copy(update={"dilation": 2}), out, previous=healed)
    assert dilated.attrs["run"]["stale"] == n and (dilated["coverage"] > healed["coverage"]).all()


def test_segformer_masks_resume_and_a_new_model_revision_makes_them_stale(tmp_path: Path, monkeypatch):
    from hf_cache import install_in_hf_cache, use_offline_cache
    from tiny_vision_models import build_tiny_segformer

    model_id = MasksParams().model_id
    hub = tmp_path / "hf_home" / "hub"
    snapshot = install_in_hf_cache(build_tiny_segformer(tmp_path / "model"), hub, model_id)
    use_offline_cache(monkeypatch, hub)
    index, _ = make_tiny_dataset(tmp_path / "raw")
    index = index.drop(columns=["parsing_path"])
    params, out = MasksParams(backend="segformer", batch_size=3, min_coverage=0.0, max_coverage=1.0), tmp_path / "m"
    first = make_clothing_masks(index, params, out, device="cpu")
    n = len(first)
    again = make_clothing_masks(index, params, out, device="cpu", previous=first)
    assert again.attrs["run"] == {"rows": n, "computed": 0, "skipped": n, "stale": 0}

    # the hub publishes a new commit of the same id: every mask it made is stale
    repo = Path(snapshot).parent.parent
    Path(snapshot).rename(Path(snapshot).with_name("0" * 40))
    (repo / "refs" / "main").write_text("0" * 40)
    newer = make_clothing_masks(index, params, out, device="cpu", previous=again)
    assert newer.attrs["run"]["stale"] == n
