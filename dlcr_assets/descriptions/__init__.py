"""Clothing descriptions (SPEC §1.1): one answer to "What clothes is the person wearing?" per training image.

Backends (``descriptions.backend``): ``vlm`` loads any image-text-to-text checkpoint through
transformers (original: LLaVA 1.5); ``parsing`` reads the image's human-parsing map and pixels on the
CPU. Only the training split is described: the prompt pool is built from training outfits.
Each row records a ``fingerprint`` (settings, model revision, image and parsing-map digests); given
the previous table, a rerun describes only the rows whose fingerprint changed (dlcr_assets.reuse).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.fingerprint import FileDigests, extend, fingerprint
from dlcr_assets.params.descriptions import DescriptionsParams
from dlcr_assets.reuse import Previous, Reuse
from dlcr_reid.progress import progress

DESCRIPTION_COLUMNS = ["path", "pid", "clothes_id", "answer", "backend", "model_id", "fingerprint"]
_INDEX_COLUMNS = ["path", "pid", "clothes_id", "split"]


def training_rows(index: pd.DataFrame) -> pd.DataFrame:
    """The index's training split, checked for the columns the describers need."""
    missing = [column for column in _INDEX_COLUMNS if column not in index.columns]
    if missing:
        raise StepInputError(f"index table lacks column(s) {missing}; expected at least {_INDEX_COLUMNS}")
    train = index[index["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise StepInputError(
            f"index has no row with split == 'train' (splits present: {sorted(index['split'].unique())}); "
            "descriptions are made for training images only"
        )
    return train


def parsing_paths(train: pd.DataFrame, params: DescriptionsParams, dataset_root: Path | None = None) -> list[str]:
    """The label-map file of each training image: index column parsing_path, else under params.parsing_root
    (the image's path relative to the dataset root, suffix .png: masks.parsing_root's rule)."""
    paths = list(train["parsing_path"]) if "parsing_path" in train.columns else [None] * len(train)
    if params.parsing_root is not None:
        from dlcr_assets.masks.parsing_maps import mirrored_parsing_paths

        if not Path(params.parsing_root).is_dir():
            raise StepInputError(f"descriptions.parsing_root {params.parsing_root} is not a folder of parsing-map PNGs")
        mirrored = mirrored_parsing_paths(train["path"].astype(str).tolist(), params.parsing_root, dataset_root)
        paths = [p if isinstance(p, str) and p else m for p, m in zip(paths, mirrored)]
    absent = [img for p, img in zip(paths, train["path"]) if not (isinstance(p, str) and p)]
    if absent:
        raise StepInputError(
            f"descriptions backend 'parsing' needs a human-parsing map per image: index column "
            f"'parsing_path' is missing or null for {len(absent)} of {len(train)} training images "
            f"(first: {absent[0]}); set descriptions.backend: vlm, or set descriptions.parsing_root to a "
            "folder of LIP label-map PNGs mirroring the dataset's image paths (e.g. SCHP output), as masks.parsing_root"
        )
    return paths


# bump when a backend changes what it answers for the same inputs and settings
DESCRIBER_FORMAT = {"parsing": "parsing/1", "vlm": "vlm/1"}


def settings_of(params: DescriptionsParams, device: str) -> dict:
    """What besides the image (and its parsing map) determines an answer."""
    if params.backend == "parsing":
        return {"backend": "parsing", "format": DESCRIBER_FORMAT["parsing"], "min_garment_pixels": params.min_garment_pixels}
    from dlcr_assets.hub import model_revision, resolve_device, resolve_dtype

    # sampled answers also depend on the batch they are drawn in: a recomputed row is a fresh draw
    return {"backend": "vlm", "format": DESCRIBER_FORMAT["vlm"], "model_id": params.model_id,
            "revision": model_revision(params.model_id), "question": params.question,
            "temperature": params.temperature, "max_new_tokens": params.max_new_tokens, "seed": params.seed,
            "dtype": str(resolve_dtype(params.dtype, resolve_device(device))).removeprefix("torch.")}


def describe_clothing(index: pd.DataFrame, params: DescriptionsParams, device: str = "auto",
                      previous: Previous = None, digests: FileDigests | None = None,
                      dataset_root: Path | None = None) -> pd.DataFrame:
    """The descriptions table (columns DESCRIPTION_COLUMNS) of the index's training images.

    ``previous`` is the table of an earlier run (or its path): rows whose fingerprint (settings +
    content digests of the image and its parsing map) is unchanged are kept, only the others are
    described; ``table.attrs["run"]`` counts rows, computed, skipped and stale. ``dataset_root``
    anchors descriptions.parsing_root's mirrored paths (default: the images' common folder).
    """
    train = training_rows(index)
    digests = digests or FileDigests()
    paths = train["path"].astype(str).tolist()
    maps = parsing_paths(train, params, dataset_root) if params.backend == "parsing" else [None] * len(paths)
    base = fingerprint(settings_of(params, device))
    fingerprints = [extend(base, digests(image), digests(parsing)) for image, parsing in zip(paths, maps)]
    reuse = Reuse(previous, "path")
    kept = [reuse.get(path, value) for path, value in zip(paths, fingerprints)]
    todo = [i for i, row in enumerate(kept) if row is None]
    answers = [row["answer"] if row else None for row in kept]
    backend, model_id = params.backend, params.model_id if params.backend == "vlm" else ""
    if todo and params.backend == "parsing":
        from dlcr_assets.descriptions.parsing import describe_image

        for i in progress(todo, desc="descriptions parsing", unit="img", disable=len(todo) < 200):
            answers[i] = describe_image(paths[i], maps[i], params.min_garment_pixels)
    elif todo:
        from dlcr_assets.descriptions.vlm import VlmDescriber

        describer = VlmDescriber(params, device)  # loads (or fails) before any image is read
        for i, answer in zip(todo, describer.describe([paths[i] for i in todo])):
            answers[i] = answer
    table = pd.DataFrame({
        "path": paths,
        "pid": train["pid"].astype("int64"),
        "clothes_id": train["clothes_id"].astype("int64"),
        "answer": answers,
        "backend": backend,
        "model_id": model_id,
        "fingerprint": fingerprints,
    })[DESCRIPTION_COLUMNS]
    return reuse.report(table, "descriptions")


__all__ = ["DESCRIPTION_COLUMNS", "describe_clothing"]
