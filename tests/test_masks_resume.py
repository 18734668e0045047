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
