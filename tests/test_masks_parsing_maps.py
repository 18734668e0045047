"""Clothing masks from precomputed parsing maps (LIP and ATR), dilation and coverage exclusion."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.masks import clothes_labels_from_id2label, make_clothing_masks
from dlcr_assets.masks.labels import ATR_LABELS, LIP_LABELS
from dlcr_assets.params.masks import MasksParams
from tiny_vision_models import lip_person_map, make_tiny_dataset

LIP_TO_ATR = {0: 0, 13: 11, 5: 4, 9: 6, 18: 9}


@pytest.fixture()
def tiny(tmp_path):
    index, prompts = make_tiny_dataset(tmp_path / "raw")
    return tmp_path, index


def _read(path):
    return np.asarray(Image.open(path))


def test_clothes_label_sets_follow_spec():
    assert clothes_labels_from_id2label(LIP_LABELS) == set(range(20)) - {0, 1, 2, 13, 14, 15, 16, 17}
    assert clothes_labels_from_id2label(ATR_LABELS) == {3, 4, 5, 6, 7, 8, 9, 10, 16, 17}
    # names are matched case- and spacing-insensitively
    odd = {0: "BACKGROUND", 1: "upper_clothes", 2: "Left Arm", 3: "left-shoe", 4: "Face"}
    assert clothes_labels_from_id2label(odd) == {1, 3}


def test_lip_maps_give_clothes_masks_at_image_size(tiny):
    tmp_path, index = tiny
    table = make_clothing_masks(index, MasksParams(), tmp_path / "masks" / "tiny", device="cpu")
    assert len(table) == len(index) and set(table["status"]) == {"ok"}
    expected = np.isin(lip_person_map(), [5, 9, 18])
    for _, row in table.iterrows():
        mask = _read(row["mask_path"])
        assert mask.shape == (64, 32) and set(np.unique(mask)) <= {0, 255}
        labels = _read(row["parsing_path"])
        assert np.array_equal(mask > 0, np.isin(labels, [5, 9, 18]))
        assert row["coverage"] == pytest.approx((mask > 0).mean())
    first = table.iloc[0]
    assert first["mask_path"].endswith("masks/tiny/train/000_1_c1_000.png")
    assert np.array_equal(_read(first["mask_path"]) > 0, expected)


def test_atr_maps_via_parsing_root_and_lip_label_copy(tiny):
    tmp_path, index = tiny
    atr_root = tmp_path / "atr"
    for path in index["parsing_path"]:
        lip = _read(path)
        atr = np.vectorize(LIP_TO_ATR.get)(lip).astype(np.uint8)
        target = atr_root / path.split("/parsing/")[1]  # mirrors the image path under the dataset root
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(atr, mode="L").save(target)
    without_column = index.drop(columns=["parsing_path"])
    params = MasksParams(label_scheme="atr", parsing_root=atr_root)
    table = make_clothing_masks(without_column, params, tmp_path / "masks" / "tiny")
    assert set(table["status"]) == {"ok"}
    row = table.iloc[3]
    assert np.array_equal(_read(row["mask_path"]) > 0, np.isin(lip_person_map(shift=1), [5, 9, 18]))
    # the label map written for recolor is in LIP ids
    assert "/labels/" in row["parsing_path"]
    assert set(np.unique(_read(row["parsing_path"]))) == {0, 5, 9, 13, 18}

    with pytest.raises(StepInputError, match="parsing_root"):
        make_clothing_masks(without_column, MasksParams(), tmp_path / "masks" / "x")


def test_dilation_grows_the_mask(tiny):
    tmp_path, index = tiny
    table = make_clothing_masks(index.head(1), MasksParams(dilation=2), tmp_path / "masks" / "tiny")
    mask = _read(table.iloc[0]["mask_path"]) > 0
    clothes = np.isin(lip_person_map(), [5, 9, 18])
    assert mask[clothes].all() and mask.sum() > clothes.sum()
    assert mask[13:61, 6:26].all() and not mask[:, :6].any() and not mask[:, 26:].any()
    assert mask[11:63].any(axis=1).all() and not mask[:11].any()


def test_coverage_exclusion_and_failures(tiny):
    tmp_path, index = tiny
    index = index.head(4).copy()
    Image.fromarray(np.zeros((64, 32), np.uint8), mode="L").save(index.at[0, "parsing_path"])  # no clothes
    Image.fromarray(np.full((64, 32), 5, np.uint8), mode="L").save(index.at[1, "parsing_path"])  # all clothes
    index.at[2, "parsing_path"] = str(tmp_path / "missing.png")
    table = make_clothing_masks(index, MasksParams(), tmp_path / "masks" / "tiny")
    assert table["status"].tolist() == ["empty", "full", "failed", "ok"]
    assert "missing.png" in table.at[2, "error"]
    assert table.attrs["excluded"] == index["path"].tolist()[:3]
