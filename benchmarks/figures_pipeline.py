"""Figures renderer end to end: draw a VC-Clothes-layout set, index it, clothing masks, recolor generation; a sample grid.

Times each step and writes ``<out>/figures_grid.png``: per row one identity, its images across
cameras and outfits, then the clothing mask and one recoloured variant of its first training image.
Usage: python benchmarks/figures_pipeline.py [--out /tmp/figures_run] [--train-ids 40] [--test-ids 40] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dlcr_assets.generation import generate_images
from dlcr_assets.masks import make_clothing_masks, summarize_masks
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from dlcr_reid.datasets import index_dataset, summary_text
from dlcr_reid.datasets.figures import MARKER, write_figures_dataset
from dlcr_reid.params import DatasetSpec
from dlcr_reid.params.figures import FiguresParams


def prompts_of(index: pd.DataFrame, outfits: dict[str, list[str]]) -> pd.DataFrame:
    train = index[index["split"] == "train"].drop_duplicates("clothes_id")
    return pd.DataFrame({
        "outfit_key": [f"{p}_{c}" for p, c in zip(train["pid"], train["clothes_id"])],
        "pid": train["pid"].astype("Int64").to_numpy(), "clothes_id": train["clothes_id"].astype("Int64").to_numpy(),
        "items": [outfits[k] for k in train["clothes_raw"]], "prompt": [", ".join(outfits[k]) for k in train["clothes_raw"]],
        "source": "dataset", "backend": "figures", "model_id": "figures",
    })


def grid(index: pd.DataFrame, masks: pd.DataFrame, manifest: pd.DataFrame, people: int, per_person: int) -> Image.Image:
    rows = []
    mask_of = masks.set_index("path")["mask_path"]
    variant_of = manifest.drop_duplicates("source_path").set_index("source_path")["path"]
    for pid in sorted(index.loc[index["split"] == "train", "pid"].unique())[:people]:
        mine = index[index["pid"] == pid].sort_values(["clothes_id", "camid"])
        picks = mine.groupby("clothes_id").head(max(1, per_person // mine["clothes_id"].nunique())).head(per_person)
        first = mine["path"].iloc[0]
        tiles = [np.asarray(Image.open(p).convert("RGB")) for p in picks["path"]]
        tiles.append(np.repeat(np.asarray(Image.open(mask_of[first]))[..., None], 3, axis=2))
        tiles.append(np.asarray(Image.open(variant_of[first]).convert("RGB")))
        rows.append(np.concatenate(tiles, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return Image.fromarray(np.concatenate(rows, axis=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/figures_run"))
    parser.add_argument("--train-ids", type=int, default=40)
    parser.add_argument("--test-ids", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.out / "figures"
    for stale in ("masks", "generated"):  # a rerun must not adopt variants of an older drawing
        shutil.rmtree(args.out / stale, ignore_errors=True)
    (args.out / "manifest.parquet").unlink(missing_ok=True)
    started = time.perf_counter()
    summary = write_figures_dataset(FiguresParams(root=root, seed=args.seed, train_ids=args.train_ids,
                                                  test_ids=args.test_ids))
    print(f"render: {summary['images']} images in {time.perf_counter() - started:.1f} s")
    index = index_dataset("figures", DatasetSpec(format="vcclothes", root=root))
    print(summary_text(index, "figures (vcclothes layout)"))
    started = time.perf_counter()
    masks = make_clothing_masks(index, MasksParams(parsing_root=root / "parsing"), args.out / "masks")
    print(f"masks: {time.perf_counter() - started:.1f} s\n{summarize_masks(masks)}")
    prompts = prompts_of(index, json.loads((root / MARKER).read_text())["outfits"])
    started = time.perf_counter()
    params = GenerationParams(backend="recolor", variants_per_image=1, pool="dataset")
    manifest = generate_images(index, masks, prompts, params, args.out / "generated", args.out / "manifest.parquet",
                               device="cpu", dataset="figures")
    print(f"recolor generation: {len(manifest)} images ({manifest['status'].value_counts().to_dict()}) "
          f"in {time.perf_counter() - started:.1f} s")
    grid(index, masks, manifest, people=8, per_person=8).save(args.out / "figures_grid.png")
    print(f"grid: {args.out / 'figures_grid.png'}")


if __name__ == "__main__":
    main()
