"""DeepChange (long-term, naturally clothes-changing) reader.

Reference:
    Xu et al. DeepChange: A Long-Term Person Re-Identification Benchmark with Clothes Change.
    ICCV 2023 (arXiv:2105.14685). https://github.com/PengBoXiangShang/deepchange

Layout (root may be ``DeepChangeDataset`` itself or the folder holding it)::

    DeepChangeDataset/{train-set,test-set-query,test-set-gallery}/<image>.jpg
    DeepChangeDataset/{train-set,test-set-query,test-set-gallery}-bbox.txt   lines: <image>,<tracklet>
    DeepChangeDataset/{val-set-query,val-set-gallery}[-bbox.txt]   optional: the validation split

Images are named ``P<pid>_C<cam>_<day>_...``: pid comes from the ``P0001`` token. The tracklet id
of the list plays the camera's role (the benchmark counts a match from the same camera but
another tracklet as valid). Outfits are not annotated; like common practice we take the capture
day (3rd ``_`` field) as the outfit: clothes_raw = "<pid>_<day>" (a person is assumed to wear one
outfit per day). Names with fewer fields fall back to clothes_raw = pid.
Lines that do not parse are listed as unmatched ("<list file>:<line number>: <line>").
The val sets, when both lists exist, become ``val_query``/``val_gallery`` (model selection only).

Statistics (as commonly reported): 1,121 identities, 17 cameras, 178,407 bounding boxes;
train 450 ids / 75,083 images; val 150 ids / 4,976 query + 17,527 gallery;
test 521 ids / 17,148 query + 63,840 gallery images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_reid.datasets.table import empty_raw, finalize_table, find_dataset_dir

LAYOUT = (
    "DeepChangeDataset/{train-set,test-set-query,test-set-gallery}/*.jpg with "
    "DeepChangeDataset/<same name>-bbox.txt listing '<image>,<tracklet>' lines"
)
FOLDER_NAMES = ("DeepChangeDataset", "DeepChange")
SPLIT_FOLDERS = {"train-set": "train", "test-set-query": "query", "test-set-gallery": "gallery"}
VAL_FOLDERS = {"val-set-query": "val_query", "val-set-gallery": "val_gallery"}
LINE_PATTERN = r"^\s*(?P<image>(?P<pid>P\d+)(?:_(?P<f1>[^_,]*))?(?:_(?P<day>[^_,.]*))?[^,]*)\s*,\s*(?P<tracklet>\d+)\s*$"


def _read_list(list_path: Path, image_dir: Path, split: str) -> tuple[pd.DataFrame, list[str]]:
    lines = pd.Series(list_path.read_text().splitlines(), dtype=object)
    lines = lines[lines.str.strip() != ""]
    groups = lines.str.extract(LINE_PATTERN)
    ok = groups["image"].notna()
    unmatched = [f"{list_path}:{number + 1}: {line}" for number, line in lines[~ok].items()]
    groups = groups[ok]
    pid = groups["pid"].str[1:]
    day = groups["day"].fillna("")
    clothes = pid.where(day == "", pid + "_" + day.str.replace(r"\.[^.]*$", "", regex=True))
    return pd.DataFrame({
        "path": str(image_dir) + "/" + groups["image"].str.strip(),
        "split": split,
        "pid_raw": pid,
        "clothes_raw": clothes,
        "camid": groups["tracklet"].astype("int64"),
    }), unmatched


def load_deepchange(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index DeepChange from its *-bbox.txt lists (no options)."""
    required = [*SPLIT_FOLDERS, *(f"{folder}-bbox.txt" for folder in SPLIT_FOLDERS)]
    dataset_dir = find_dataset_dir(root, FOLDER_NAMES, required, "deepchange", LAYOUT)
    parts, unmatched = [], []
    folders = dict(SPLIT_FOLDERS)
    if all((dataset_dir / f"{folder}-bbox.txt").is_file() for folder in VAL_FOLDERS):
        folders.update(VAL_FOLDERS)
    for folder, split in folders.items():
        rows, bad = _read_list(dataset_dir / f"{folder}-bbox.txt", dataset_dir / folder, split)
        parts.append(rows)
        unmatched += bad
    parts = [part for part in parts if len(part)]
    raw = pd.concat(parts, ignore_index=True) if parts else empty_raw()
    return finalize_table(raw, "deepchange", unmatched)
