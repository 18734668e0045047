"""LaST (Large-Scale Spatio-Temporal person re-ID, movie frames) reader.

Reference:
    Shu et al. Large-Scale Spatio-Temporal Person Re-identification: Algorithms and Benchmark.
    IEEE TCSVT 2021. https://github.com/shuxjweb/last

Layout (root may be ``last`` itself or the folder holding it)::

    last/train/<pid>/*.jpg
    last/{val,test}/query/*.jpg             val optional: the validation split
    last/{val,test}/gallery/<subfolder>/*.jpg

Labels: the file stem split on ``_`` gives pid = first field and outfit = first + last field
(clothes_raw "<pid>_<last field>"). The images are movie frames without camera ids, so every
test image is its own camera (camid = its row number over query then gallery): no true match is
discarded as a same-camera match, and only the general metric is meaningful.
Training images get camid 0. ``val`` (when present) becomes ``val_query``/``val_gallery``, each
image again its own camera (numbered after the test images), for model selection only.

Statistics (as commonly reported): 10,862 identities, 228,156 images;
train 5,000 ids / 71,248 images; val 56 query ids / 100 query + 21,279 gallery images;
test 5,806 ids / 10,176 query + 125,353 gallery images.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlcr_reid.datasets.table import IMAGE_SUFFIXES, empty_raw, finalize_table, find_dataset_dir, scan_files

LAYOUT = "last/train/<pid>/*.jpg, last/test/query/*.jpg, last/test/gallery/<subfolder>/*.jpg"
FOLDER_NAMES = ("last", "LaST")
NAME_PATTERN = r"^(?P<pid>[^_]+)_(?:.*_)?(?P<outfit>[^_.]+)\.[^.]+$"


def _nested(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """Names and their folders for <folder>/<sub>/<file>; loose files in <folder> are unmatched."""
    names, dirs, loose = [], [], []
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir():
                files = scan_files(Path(entry.path))
                names.extend(files)
                dirs.extend([str(Path(entry.path).absolute())] * len(files))
            else:
                loose.append(str(Path(entry.path).absolute()))
    return names, dirs, loose


def _rows(names: list[str], dirs: list[str], split: str) -> tuple[pd.DataFrame, list[str]]:
    """Raw rows of one split from file names (one vectorised regex pass) and the unmatched paths."""
    files = pd.DataFrame({"name": names, "dir": dirs}, dtype=object)
    groups = files["name"].str.extract(NAME_PATTERN)
    ok = groups.notna().all(axis=1) & files["name"].str.lower().str.endswith(IMAGE_SUFFIXES)
    unmatched = (files.loc[~ok, "dir"] + "/" + files.loc[~ok, "name"]).tolist()
    files, groups = files[ok], groups[ok]
    return pd.DataFrame({
        "path": files["dir"] + "/" + files["name"],
        "split": split,
        "pid_raw": groups["pid"],
        "clothes_raw": groups["pid"] + "_" + groups["outfit"],
        "camid": 0,
    }), unmatched


def _query_gallery(folder: Path, splits: tuple[str, str], unmatched: list[str], first_camid: int) -> pd.DataFrame:
    """<folder>/query/*.jpg and <folder>/gallery/<sub>/*.jpg, every image its own camera."""
    query_dir = (folder / "query").absolute()
    query_names = scan_files(query_dir)
    query, bad = _rows(query_names, [str(query_dir)] * len(query_names), splits[0])
    unmatched += bad
    names, dirs, loose = _nested(folder / "gallery")
    gallery, bad = _rows(names, dirs, splits[1])
    unmatched += loose + bad
    rows = pd.concat([query, gallery], ignore_index=True)
    rows["camid"] = np.arange(first_camid, first_camid + len(rows), dtype=np.int64)
    return rows


def load_last(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index LaST train and test (no options); every test image gets its own camera id."""
    dataset_dir = find_dataset_dir(
        root, FOLDER_NAMES, ["train", "test/query", "test/gallery"], "last", LAYOUT
    )
    unmatched: list[str] = []
    names, dirs, loose = _nested(dataset_dir / "train")
    train, bad = _rows(names, dirs, "train")
    unmatched += loose + bad
    test = _query_gallery(dataset_dir / "test", ("query", "gallery"), unmatched, 0)
    val = dataset_dir / "val"
    if (val / "query").is_dir() and (val / "gallery").is_dir():
        val = _query_gallery(val, ("val_query", "val_gallery"), unmatched, len(test))
    else:
        val = empty_raw()
    parts = [part for part in (train, test, val) if len(part)]
    raw = pd.concat(parts, ignore_index=True) if parts else empty_raw()
    return finalize_table(raw, "last", unmatched)
