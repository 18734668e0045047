"""Clothing masks from a SegFormer checkpoint loaded offline under the production id."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.masks.labels import ATR_CLOTHES, lip_lookup_from_id2label, ATR_LABELS
from dlcr_assets.params.masks import MasksParams
from hf_cache import install_in_hf_cache, use_offline_cache
from tiny_vision_models import build_tiny_segformer, make_tiny_dataset

PRODUCTION_ID = MasksParams().model_id


@pytest.fixture(scope="session")
def segformer_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("segformer")
    folder = build_tiny_segformer(root / "model")
    install_in_hf_cache(folder, root / "hf_home" / "hub", PRODUCTION_ID)
    return root / "hf_home", folder


def test_segformer_masks_through_production_id(segformer_home, tmp_path, monkeypatch):
    hf_home, folder = segformer_home
    use_offline_cache(monkeypatch, hf_home / "hub")
    index, _ = make_tiny_dataset(tmp_path / "raw")
    index = index.drop(columns=["parsing_path"])
    params = MasksParams(backend="segformer", batch_size=3, min_coverage=0.0, max_coverage=1.0)
    table = make_clothing_masks(index, params, tmp_path / "masks" / "tiny", device="cpu")
    assert len(table) == len(index) and set(table["status"]) == {"ok"}

    # the same parse, computed here by hand, must give the same masks
    from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation
    import torch

    processor = AutoImageProcessor.from_pretrained(folder)
    model = AutoModelForSemanticSegmentation.from_pretrained(folder).eval()
    image = Image.open(index.iloc[0]["path"]).convert("RGB")
    with torch.no_grad():
        logits = model(**processor(images=[image], return_tensors="pt")).logits
    labels = torch.nn.functional.interpolate(logits, size=(64, 32), mode="bilinear").argmax(1)[0].numpy()
    row = table.iloc[0]
    mask = np.asarray(Image.open(row["mask_path"]))
    assert mask.shape == (64, 32) and set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(mask > 0, np.isin(labels, sorted(ATR_CLOTHES)))
    assert 0.0 < row["coverage"] < 1.0
    lip_map = np.asarray(Image.open(row["parsing_path"]))
    assert np.array_equal(lip_map, lip_lookup_from_id2label(ATR_LABELS)[labels])


def test_unloadable_segformer_id_names_the_id(segformer_home, tmp_path, monkeypatch):
    use_offline_cache(monkeypatch, segformer_home[0] / "hub")
    index, _ = make_tiny_dataset(tmp_path / "raw")
    params = MasksParams(backend="segformer", model_id="nobody/no-such-parser")
    with pytest.raises(StepInputError, match="nobody/no-such-parser.*download"):
        make_clothing_masks(index, params, tmp_path / "masks" / "tiny", device="cpu")
    assert not (tmp_path / "masks" / "tiny").exists()
