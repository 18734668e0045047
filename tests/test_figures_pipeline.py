"""The pipeline accepts the figures dataset: index (vcclothes), clothing masks from its maps, recolor generation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from PIL import Image

from dlcr_assets.generation import generate_images
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from dlcr_reid.datasets import index_dataset
from dlcr_reid.datasets.figures import MARKER, write_figures_dataset
from dlcr_reid.params import DatasetSpec
from dlcr_reid.params.figures import FiguresParams


def figure_prompts(index: pd.DataFrame, outfits: dict[str, list[str]]) -> pd.DataFrame:
    """The prompts table of the training outfits, from the renderer's own outfit texts."""
    train = index[index["split"] == "train"].drop_duplicates("clothes_id")
    table = pd.DataFrame({
        "outfit_key": [f"{p}_{c}" for p, c in zip(train["pid"], train["clothes_id"])],
        "pid": train["pid"].astype("Int64").to_numpy(), "clothes_id": train["clothes_id"].astype("Int64").to_numpy(),
        "items": [outfits[key] for key in train["clothes_raw"]],
        "prompt": [", ".join(outfits[key]) for key in train["clothes_raw"]],
        "source": "dataset", "backend": "figures", "model_id": "figures",
    })
    return table.reset_index(drop=True)


def test_masks_and_recolor_generation_run_on_the_figures(tmp_path):
    root = tmp_path / "figures"
    write_figures_dataset(FiguresParams(root=root, train_ids=3, test_ids=2, outfits_per_id=2, images_per_camera=2,
                                        height=96, width=48))
    index = index_dataset("figures", DatasetSpec(format="vcclothes", root=root))
    masks = make_clothing_masks(index, MasksParams(parsing_root=root / "parsing"), tmp_path / "masks" / "figures")
    train = index[index["split"] == "train"]
    assert set(masks["status"]) == {"ok"} and len(masks) == len(index[index["split"].isin(["train", "query"])])
    prompts = figure_prompts(index, json.loads((root / MARKER).read_text())["outfits"])
    assert len(prompts) == 6 and prompts["prompt"].str.contains("shoes").all()
    params = GenerationParams(backend="recolor", variants_per_image=2, pool="dataset", width=48, height=96)
    manifest = generate_images(index, masks, prompts, params, tmp_path / "gen" / "figures",
                               tmp_path / "gen" / "figures.parquet", device="cpu", dataset="figures")
    assert len(manifest) == 2 * len(train) and set(manifest["status"]) == {"ok"}
    own = train.set_index("path").apply(lambda r: f"{r['pid']}_{r['clothes_id']}", axis=1)
    assert (manifest["outfit_key"] != manifest["source_path"].map(own)).all()
    mask_of = masks.set_index("path")["mask_path"]
    for _, row in manifest.iterrows():  # the clothes change, nothing else does
        source = np.asarray(Image.open(row["source_path"]).convert("RGB"))
        generated = np.asarray(Image.open(row["path"]).convert("RGB"))
        inside = np.asarray(Image.open(mask_of[row["source_path"]])) > 127
        assert generated.shape == source.shape
        assert np.array_equal(generated[~inside], source[~inside])
        assert np.abs(generated[inside].astype(int) - source[inside]).mean() > 5
