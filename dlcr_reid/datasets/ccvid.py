"""CCVID (Clothes-Changing Video person re-ID) reader: one row per tracklet with its frame list.

Reference:
    Gu et al. Clothes-Changing Person Re-identification with RGB Modality Only. CVPR 2022.
    https://github.com/guxinqian/Simple-CCReID

Layout (root may be ``CCVID`` itself or the folder holding it)::

    CCVID/{train,query,gallery}.txt        lines: <tracklet_path> <pid> <clothes_label>
    CCVID/<tracklet_path>/*.jpg            frames, e.g. CCVID/session1/001_01/00001.jpg

Labels: session = first part of the tracklet path; camera = int of the 2nd ``_`` field of the
tracklet folder name (``001_01`` -> 1), plus 12 in ``session3`` (its cameras are new ones);
clothes_raw = "<pid>_<clothes_label>". Rows are tracklets: ``path`` and ``tracklet`` name the
tracklet folder, ``frames`` lists its frame files (sorted), ``num_frames`` counts them.
Test-time clips (8 frames, stride 4, mean of clip features) are the evaluation's business.
Lines that do not parse are listed as unmatched ("<list file>:<line number>: <line>"); a tracklet
whose folder is missing keeps its row with no frames (``dlcr check-dataset`` reports it).

Statistics (as commonly reported): 226 identities, 2,856 tracklets, 347,833 frames;
train 75 ids / 948 tracklets; query 151 ids / 834 tracklets; gallery 151 ids / 1,074 tracklets.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_reid.datasets.table import IMAGE_SUFFIXES, empty_raw, finalize_table, find_dataset_dir

LAYOUT = "CCVID/{train,query,gallery}.txt (lines: <tracklet_path> <pid> <clothes_label>) and CCVID/<tracklet_path>/*.jpg"
FOLDER_NAMES = ("CCVID",)
SPLIT_LISTS = {"train.txt": "train", "query.txt": "query", "gallery.txt": "gallery"}
SESSION3_CAMERA_OFFSET = 12


def tracklet_camera(tracklet_path: str) -> int:
    """Camera of a tracklet: 2nd ``_`` field of its folder name, +12 for session3."""
    parts = tracklet_path.strip("/").split("/")
    camera = int(parts[-1].split("_")[1])
    return camera + SESSION3_CAMERA_OFFSET if parts[0] == "session3" else camera


def _frames(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES))
    prefix = str(folder) + "/"
    return [prefix + name for name in names]


def load_ccvid(root: Path | str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Index CCVID tracklets from its three list files (no options)."""
    dataset_dir = find_dataset_dir(root, FOLDER_NAMES, list(SPLIT_LISTS), "ccvid", LAYOUT)
    rows, unmatched = [], []
    for list_name, split in SPLIT_LISTS.items():
        list_path = dataset_dir / list_name
        for number, line in enumerate(list_path.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                tracklet, pid, clothes = fields
                camid = tracklet_camera(tracklet)
                int(pid)
            except (ValueError, IndexError):
                unmatched.append(f"{list_path}:{number}: {line}")
                continue
            folder = dataset_dir / tracklet.strip("/")
            frames = _frames(folder)
            rows.append({
                "path": str(folder), "split": split, "pid_raw": pid, "clothes_raw": f"{pid}_{clothes}",
                "camid": camid, "tracklet": tracklet.strip("/"), "frames": frames, "num_frames": len(frames),
            })
    raw = pd.DataFrame(rows) if rows else empty_raw(["tracklet", "frames", "num_frames"])
    raw["num_frames"] = raw["num_frames"].astype("int64")
    return finalize_table(raw, "ccvid", unmatched)
