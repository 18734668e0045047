"""Clothing descriptions (SPEC §1.1): one answer to "What clothes is the person wearing?" per training image.

Backends (``descriptions.backend``): ``vlm`` loads any image-text-to-text checkpoint through
transformers (original: LLaVA 1.5); ``parsing`` reads the image's human-parsing map and pixels on the
CPU. Only the training split is described: the prompt pool is built from training outfits.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from dlcr_assets.errors import GenerationInputError
from dlcr_assets.params.descriptions import DescriptionsParams
from dlcr_reid.progress import progress

DESCRIPTION_COLUMNS = ["path", "pid", "clothes_id", "answer", "backend", "model_id"]
_INDEX_COLUMNS = ["path", "pid", "clothes_id", "split"]


def training_rows(index: pd.DataFrame) -> pd.DataFrame:
    """The index's training split, checked for the columns the describers need."""
    missing = [column for column in _INDEX_COLUMNS if column not in index.columns]
    if missing:
        raise GenerationInputError(f"index table lacks column(s) {missing}; expected at least {_INDEX_COLUMNS}")
    train = index[index["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise GenerationInputError(
            f"index has no row with split == 'train' (splits present: {sorted(index['split'].unique())}); "
            "descriptions are made for training images only"
        )
    return train


def _maps_by_stem(parsing_dir: str) -> dict[str, str]:
    folder = Path(parsing_dir)
    if not folder.is_dir():
        raise GenerationInputError(f"descriptions.parsing_dir {parsing_dir} is not a folder of parsing-map PNGs")
    return {path.stem: str(path) for path in sorted(folder.rglob("*.png"))}


def parsing_paths(train: pd.DataFrame, params: DescriptionsParams) -> list[str]:
    """The label-map file of each training image: index column parsing_path, else params.parsing_dir."""
    paths = list(train["parsing_path"]) if "parsing_path" in train.columns else [None] * len(train)
    if params.parsing_dir is not None:
        by_stem = _maps_by_stem(params.parsing_dir)
        paths = [p if isinstance(p, str) and p else by_stem.get(Path(img).stem) for p, img in zip(paths, train["path"])]
    absent = [img for p, img in zip(paths, train["path"]) if not (isinstance(p, str) and p)]
    if absent:
        raise GenerationInputError(
            f"descriptions backend 'parsing' needs a human-parsing map per image: index column "
            f"'parsing_path' is missing or null for {len(absent)} of {len(train)} training images "
            f"(first: {absent[0]}); set descriptions.backend: vlm, or set descriptions.parsing_dir to a "
            "folder of LIP label-map PNGs named like the images (e.g. SCHP output)"
        )
    return paths


def describe_clothing(index: pd.DataFrame, params: DescriptionsParams, device: str = "auto") -> pd.DataFrame:
    """The descriptions table (columns DESCRIPTION_COLUMNS) of the index's training images."""
    train = training_rows(index)
    if params.backend == "parsing":
        from dlcr_assets.descriptions.parsing import describe_image

        maps = parsing_paths(train, params)
        answers = [
            describe_image(image, parsing, params.min_garment_pixels)
            for image, parsing in progress(list(zip(train["path"], maps)), desc="descriptions parsing", unit="img",
                                       disable=len(train) < 200)
        ]
        backend, model_id = "parsing", ""
    else:
        from dlcr_assets.descriptions.vlm import VlmDescriber

        describer = VlmDescriber(params, device)  # loads (or fails) before any image is read
        answers = describer.describe(list(train["path"]))
        backend, model_id = describer.backend, describer.model_id
    return pd.DataFrame({
        "path": train["path"].astype(str),
        "pid": train["pid"].astype("int64"),
        "clothes_id": train["clothes_id"].astype("int64"),
        "answer": answers,
        "backend": backend,
        "model_id": model_id,
    })[DESCRIPTION_COLUMNS]


__all__ = ["DESCRIPTION_COLUMNS", "describe_clothing"]
