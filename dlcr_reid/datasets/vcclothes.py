"""VC-Clothes (virtual clothes-changing, rendered in GTA5) reader, with its SC and CC modes.

Reference:
    Wan et al. When Person Re-identification Meets Changing Clothes. CVPR Workshops 2020.
    https://wanfb.github.io/dataset.html

Layout (root may be ``VC-Clothes`` itself or the folder holding it)::

    VC-Clothes/{train,query,gallery}/<pid>-<cam>-<outfit>-<index>.jpg

Labels: ``(\\d+)-(\\d+)-(\\d+)-(\\d+)`` on the file name gives pid, camera (1..4), outfit, index;
camid = camera - 1, clothes_raw = "<pid>_<outfit>".
Option ``mode``: ``all`` (default) keeps every camera; ``sc`` keeps cameras 2 and 3 in query and
gallery (same-clothes protocol); ``cc`` keeps cameras 3 and 4 (clothes-changing protocol).
Training rows are never filtered. Rows a mode drops are counted in ``attrs["filtered"]``.

Statistics (as commonly reported): 512 identities, 4 cameras, 1-3 outfits each, 19,060 images;
train 256 ids / 9,449 images; query 256 ids / 1,020 images; gallery 256 ids / 8,591 images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from dlcr_reid.datasets.table import empty_raw, extract_names, finalize_table, find_dataset_dir, join_paths, scan_files

LAYOUT = "VC-Clothes/{train,query,gallery}/<pid>-<cam>-<outfit>-<index>.jpg"
FOLDER_NAMES = ("VC-Clothes", "VC_Clothes", "vc-clothes")
SPLIT_FOLDERS = {"train": "train", "query": "query", "gallery": "gallery"}
NAME_PATTERN = r"^(?P<pid>\d+)-(?P<cam>\d+)-(?P<outfit>\d+)-(?P<index>\d+)"
MODE_CAMERAS = {"all": None, "sc": (2, 3), "cc": (3, 4)}


class VCClothesOptions(BaseModel):
    """Loader options of the ``vcclothes`` format (params.yaml ``datasets.<name>.options``)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["all", "sc", "cc"] = "all"


def load_vcclothes(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index VC-Clothes; ``options={"mode": "sc"|"cc"|"all"}`` filters query/gallery cameras."""
    mode = VCClothesOptions.model_validate(options or {}).mode
    dataset_dir = find_dataset_dir(root, FOLDER_NAMES, list(SPLIT_FOLDERS), "vcclothes", LAYOUT)
    parts, unmatched = [], []
    for folder, split in SPLIT_FOLDERS.items():
        split_dir = dataset_dir / folder
        groups, bad = extract_names(scan_files(split_dir), NAME_PATTERN, split_dir)
        unmatched.extend(bad)
        parts.append(pd.DataFrame({
            "path": join_paths(split_dir, groups["name"]),
            "split": split,
            "pid_raw": groups["pid"],
            "clothes_raw": groups["pid"] + "_" + groups["outfit"],
            "camera": groups["cam"].astype("int64"),
        }))
    raw = pd.concat(parts, ignore_index=True) if parts else empty_raw(["camera"])
    filtered = 0
    cameras = MODE_CAMERAS[mode]
    if cameras is not None:
        keep = (raw["split"] == "train") | raw["camera"].isin(cameras)
        filtered = int((~keep).sum())
        raw = raw[keep].copy()
    raw["camid"] = raw["camera"] - 1
    table = finalize_table(raw.drop(columns="camera"), "vcclothes", unmatched)
    table.attrs["filtered"] = filtered
    return table
