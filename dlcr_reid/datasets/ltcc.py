"""LTCC (Long-Term Cloth-Changing) reader; also reads any dataset written in its layout.

Reference:
    Qian et al. Long-Term Cloth-Changing Person Re-identification. ACCV 2020.
    https://naiq.github.io/LTCC_Perosn_ReID.html

Layout (root may be ``LTCC_ReID`` itself or the folder holding it)::

    LTCC_ReID/{train,query,test}/*.png     test/ is the gallery

File names ``<pid>_<outfit>_c<cam>_<index>.png``: the pattern ``(\\d+)_(\\d+)_c(\\d+)`` is matched on
the file NAME only -- matched on a full path it would happily read digits out of a folder such as
``/home/me/reid_code/``. pid_raw = pid, clothes_raw = "<pid>_<outfit>", camid = cam - 1.

Statistics (as commonly reported):
    152 identities, 478 outfits, 12 cameras, 17,119 images;
    train 77 ids / 9,576 images; query 75 ids / 493 images; gallery 75 ids / 7,050 images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_reid.datasets.table import empty_raw, extract_names, finalize_table, find_dataset_dir, join_paths, scan_files

LAYOUT = "LTCC_ReID/{train,query,test}/<pid>_<outfit>_c<cam>_<index>.png (test/ is the gallery)"
FOLDER_NAMES = ("LTCC_ReID",)
SPLIT_FOLDERS = {"train": "train", "query": "query", "test": "gallery"}
NAME_PATTERN = r"^(?P<pid>\d+)_(?P<outfit>\d+)_c(?P<cam>\d+)"


def ltcc_dir(root: Path | str, fmt: str = "ltcc", layout: str = LAYOUT) -> Path:
    return find_dataset_dir(root, FOLDER_NAMES, list(SPLIT_FOLDERS), fmt, layout)


def read_ltcc_raw(dataset_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """Raw rows (path, split, pid_raw, clothes_raw, camid, name) of an LTCC-layout folder."""
    parts, unmatched = [], []
    for folder, split in SPLIT_FOLDERS.items():  # a few folders, then vectorised per folder
        split_dir = dataset_dir / folder
        groups, bad = extract_names(scan_files(split_dir), NAME_PATTERN, split_dir)
        unmatched.extend(bad)
        if groups.empty:
            continue
        parts.append(pd.DataFrame({
            "path": join_paths(split_dir, groups["name"]),
            "split": split,
            "pid_raw": groups["pid"],
            "clothes_raw": groups["pid"] + "_" + groups["outfit"],
            "camid": groups["cam"].astype("int64") - 1,
            "name": groups["name"],
        }))
    raw = pd.concat(parts, ignore_index=True) if parts else empty_raw(["name"])
    return raw, unmatched


def load_ltcc(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index an LTCC-layout dataset (no options)."""
    raw, unmatched = read_ltcc_raw(ltcc_dir(root))
    return finalize_table(raw.drop(columns="name"), "ltcc", unmatched)
