"""PRCC (Photo-Realistic Clothes-Changing) reader.

Reference:
    Yang et al. Person Re-identification by Contour Sketch under Moderate Clothing Change.
    TPAMI 2019. https://www.isee-ai.cn/~yangqize/clothing.html

Layout (root may be ``prcc``, its ``rgb`` folder, or the folder holding ``prcc``)::

    prcc/rgb/train/<pid>/<cam>_*.jpg        cam letter A, B or C starts the file name
    prcc/rgb/val/<pid>/<cam>_*.jpg          optional: the validation split (see below)
    prcc/rgb/test/{A,B,C}/<pid>/*.jpg

Labels: camera A 0, B 1, C 2 (train: first letter of the file name; test: the camera folder);
outfit = pid for cameras A and B (same clothes), pid + "C" for camera C (changed clothes).
Test splits: gallery = A, ``query_same`` = B (same clothes), ``query_diff`` = C (changed clothes).

The ``val`` folder (other identities than train and test) becomes the validation split model
selection reads (``training.selection: val``): camera A is ``val_gallery``, cameras B (same clothes)
and C (changed clothes) are ``val_query``. The published protocol trains on train and reports on
test; the train and test rows are the same with or without it.

Statistics (as commonly reported): 221 identities, 3 cameras, 33,698 images;
train 150 ids / 17,896 images (plus val 5,002); test 71 ids: gallery A 3,384, query B 3,543,
query C 3,873 images.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_reid.datasets.table import (
    IMAGE_SUFFIXES,
    empty_raw,
    finalize_table,
    find_dataset_dir,
    scan_files,
)
from dlcr_reid.errors import DatasetLayoutError

LAYOUT = "prcc/rgb/train/<pid>/<A|B|C>_*.jpg and prcc/rgb/test/{A,B,C}/<pid>/*.jpg"
FOLDER_NAMES = ("rgb", "prcc/rgb")
CAMERAS = {"A": 0, "B": 1, "C": 2}
CAMERA_SPLITS = {"A": "gallery", "B": "query_same", "C": "query_diff"}
VAL_CAMERA_SPLITS = {"A": "val_gallery", "B": "val_query", "C": "val_query"}


def _pid_folders(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return sorted((e for e in entries if e.is_dir()), key=lambda e: e.name)


def _scan_tree(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """(pid folder, file name, folder path) for every file of <folder>/<pid>/*; loose files are unmatched."""
    pids, names, dirs, unmatched = [], [], [], []
    with os.scandir(folder) as entries:
        unmatched.extend(str(Path(e.path).absolute()) for e in entries if e.is_file())
    for entry in _pid_folders(folder):
        files = scan_files(Path(entry.path))
        pids.extend([entry.name] * len(files))
        names.extend(files)
        dirs.extend([str(Path(entry.path).absolute())] * len(files))
    table = pd.DataFrame({"pid": pids, "name": names, "dir": dirs}, dtype=object)
    ok = table["pid"].str.fullmatch(r"\d+") & table["name"].str.lower().str.endswith(IMAGE_SUFFIXES)
    unmatched.extend((table.loc[~ok, "dir"] + "/" + table.loc[~ok, "name"]).tolist())
    return table[ok].reset_index(drop=True), unmatched


def _outfit(pid: pd.Series, cam_letter: pd.Series) -> pd.Series:
    return pid.where(cam_letter != "C", pid + "C")


def _by_name_camera(folder: Path) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Rows of <folder>/<pid>/<cam>_*.jpg (train, val), their camera letters and the unmatched paths."""
    rows, unmatched = _scan_tree(folder)
    letter = rows["name"].str[0].str.upper()
    known = letter.isin(list(CAMERAS))
    unmatched.extend((rows.loc[~known, "dir"] + "/" + rows.loc[~known, "name"]).tolist())
    return rows[known], letter[known], unmatched


def load_prcc(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index PRCC: train from file-name cameras, test from the A/B/C camera folders (no options)."""
    dataset_dir = find_dataset_dir(root, FOLDER_NAMES, ["train", "test"], "prcc", LAYOUT)
    parts, unmatched = [], []

    folders = ["train", "val"] if (dataset_dir / "val").is_dir() else ["train"]
    for folder in folders:
        rows, letter, bad = _by_name_camera(dataset_dir / folder)
        unmatched.extend(bad)
        split = "train" if folder == "train" else letter.map(VAL_CAMERA_SPLITS)
        parts.append(pd.DataFrame({
            "path": rows["dir"] + "/" + rows["name"],
            "split": split,
            "pid_raw": rows["pid"],
            "clothes_raw": _outfit(rows["pid"], letter),
            "camid": letter.map(CAMERAS).astype("int64"),
        }))

    for cam, split in CAMERA_SPLITS.items():
        cam_dir = dataset_dir / "test" / cam
        if not cam_dir.is_dir():
            raise DatasetLayoutError(f"prcc: camera folder {cam_dir} is missing; expected layout: {LAYOUT}")
        test, bad = _scan_tree(cam_dir)
        unmatched.extend(bad)
        if test.empty:
            continue
        parts.append(pd.DataFrame({
            "path": test["dir"] + "/" + test["name"],
            "split": split,
            "pid_raw": test["pid"],
            "clothes_raw": _outfit(test["pid"], pd.Series(cam, index=test.index)),
            "camid": CAMERAS[cam],
        }))
    parts = [part for part in parts if len(part)]
    raw = pd.concat(parts, ignore_index=True) if parts else empty_raw()
    return finalize_table(raw, "prcc", unmatched)
