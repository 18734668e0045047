"""Reads the embedded synthetic CC-ReID dataset (`dlcr synthetic-dataset`): the LTCC layout plus parsing maps.

Reference: this project (dlcr_reid.datasets.synthetic.write draws it procedurally).

Layout (root may be the dataset folder or the folder holding ``synthetic``)::

    synthetic/{train,query,test}/<pid>_<outfit>_c<cam>_<index>.png     test/ is the gallery
    synthetic/parsing/{train,query,test}/<same stem>.png               LIP label ids, mode "L"

Labels exactly as LTCC (the LTCC reader reads it); the extra column ``parsing_path`` points at
the ground-truth human-parsing map of each image, or is null when that map is missing.

Statistics: set by params.yaml ``synthetic`` (identities, outfits, cameras, image size).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_reid.datasets.ltcc import SPLIT_FOLDERS, read_ltcc_raw
from dlcr_reid.datasets.table import finalize_table, find_dataset_dir, scan_files

LAYOUT = (
    "synthetic/{train,query,test}/<pid>_<outfit>_c<cam>_<index>.png plus "
    "synthetic/parsing/{train,query,test}/<same stem>.png (test/ is the gallery)"
)
FOLDER_NAMES = ("synthetic",)
PARSING_FOLDER = "parsing"


def synthetic_dir(root: Path | str) -> Path:
    # parsing/ is not required: images without a map get a null parsing_path.
    return find_dataset_dir(root, FOLDER_NAMES, list(SPLIT_FOLDERS), "synthetic", LAYOUT)


def load_synthetic(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index the synthetic dataset: LTCC rows plus ``parsing_path`` (null where the map is missing)."""
    dataset_dir = synthetic_dir(root)
    raw, unmatched = read_ltcc_raw(dataset_dir)
    parsing_path = pd.Series([None] * len(raw), dtype=object)
    stems = raw["name"].str.replace(r"\.[^.]+$", "", regex=True) + ".png"
    for folder, split in SPLIT_FOLDERS.items():
        parsing_dir = dataset_dir / PARSING_FOLDER / folder
        available = set(scan_files(parsing_dir)) if parsing_dir.is_dir() else set()
        rows = (raw["split"] == split) & stems.isin(available)
        parsing_path[rows] = str(parsing_dir) + "/" + stems[rows]
    raw["parsing_path"] = parsing_path.where(parsing_path.notna(), None)
    return finalize_table(raw.drop(columns="name"), "synthetic", unmatched)


__all__ = ["LAYOUT", "load_synthetic"]
