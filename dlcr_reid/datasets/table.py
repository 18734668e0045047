"""The index table: its column schema, the relabelling rules of SPEC §2, and finalising a table.

Every loader produces a *raw* table (path, split, pid_raw, clothes_raw, camid, plus its extras);
``finalize_table`` turns it into the index every later step reads:

* training pids and clothes keys are relabelled 0..N-1 over the sorted raw keys;
* test pids stay raw (int) -- the evaluation compares ids across query and gallery only;
* test clothes keys are relabelled 0..M-1 over query and gallery together, so one outfit has the
  same id on both sides (the clothes-changing protocol compares them);
* validation rows (``val_query``/``val_gallery``) are labelled like test rows, over themselves
  alone, so adding them leaves every train and test label unchanged.

Raw keys are sorted "naturally" (digit runs compare as numbers) so "2" comes before "10".
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dlcr_reid.errors import DatasetLayoutError

INDEX_COLUMNS = ["path", "pid", "camid", "clothes_id", "split", "dataset", "pid_raw", "clothes_raw"]
RAW_COLUMNS = ["path", "split", "pid_raw", "clothes_raw", "camid"]
VIDEO_COLUMNS = ["tracklet", "frames", "num_frames"]
TRAIN_SPLIT = "train"
TEST_SPLITS = ("query", "gallery", "query_same", "query_diff")
# a dataset's own validation split (PRCC rgb/val, LaST val/, DeepChange val-set-*), or held-out
# training identities; model selection reads these, never the test splits
VAL_SPLITS = ("val_query", "val_gallery")
SPLITS = (TRAIN_SPLIT, *TEST_SPLITS, *VAL_SPLITS)
QUERY_SPLITS = ("query", "query_same", "query_diff")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
IMAGE_NAME_REGEX = r"\.(jpg|jpeg|png|bmp|webp)$"

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key where digit runs compare as numbers ("p2" < "p10")."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(str(text)))


def _sort_order(uniques: np.ndarray) -> np.ndarray:
    """Indices that sort ``uniques`` naturally, with C-speed paths for the common key shapes."""
    keys = pa.array(uniques, type=pa.string())
    if pc.all(pc.match_substring_regex(keys, r"^\d{1,18}$")).as_py():  # fits int64
        return np.argsort(pc.cast(keys, pa.int64()).to_numpy(), kind="stable")
    # Zero-padded keys of one shape ("0012_3"): plain string order is the natural order.
    shapes = pc.replace_substring_regex(keys, r"\d", "0")
    if pc.count_distinct(shapes).as_py() == 1:
        return pc.sort_indices(keys).to_numpy()
    return np.asarray(sorted(range(len(uniques)), key=lambda i: natural_key(uniques[i])), dtype=np.int64)


def relabel(keys: pd.Series) -> np.ndarray:
    """Map each key to its rank among the sorted unique keys (0..N-1)."""
    codes, uniques = pd.factorize(keys, sort=False)
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[_sort_order(np.asarray(uniques, dtype=object))] = np.arange(len(uniques), dtype=np.int64)
    return rank[codes]


def _test_pids(pid_raw: pd.Series) -> np.ndarray:
    """Test pids stay raw; a user format with non-numeric ids falls back to relabelling."""
    numeric = pd.to_numeric(pid_raw, errors="coerce")
    if numeric.notna().all():
        return numeric.astype(np.int64).to_numpy()
    return relabel(pid_raw)


def _strings(column: pd.Series) -> np.ndarray:
    if pd.api.types.infer_dtype(column, skipna=False) != "string":
        column = column.astype(str)
    return column.to_numpy(dtype=object)


def is_finalized(table: pd.DataFrame) -> bool:
    """True for a table ``finalize_table`` produced (labels already follow SPEC §2)."""
    return bool(table.attrs.get("labels") == "spec2") and set(INDEX_COLUMNS) <= set(table.columns)


def finalize_table(raw: pd.DataFrame, dataset: str, unmatched: Iterable[str] | None = None) -> pd.DataFrame:
    """Relabel ids, check columns and splits, order rows and columns; return the index table.

    Idempotent: the labels are recomputed from ``pid_raw``/``clothes_raw``. Rows are sorted by split
    then path (listings come in arbitrary order; sorted rows make the index reproducible).
    ``unmatched`` (files no naming rule matched) goes to ``attrs["unmatched"]``; without it the
    table's own attrs are kept.
    """
    missing = [column for column in RAW_COLUMNS if column not in raw.columns]
    if missing:
        raise DatasetLayoutError(
            f"dataset {dataset!r}: loader returned a table without columns {missing}; "
            f"loaders must return at least {RAW_COLUMNS}"
        )
    unmatched_list = list(unmatched) if unmatched is not None else list(raw.attrs.get("unmatched", []))
    split = _strings(raw["split"])
    bad_splits = sorted(set(pd.unique(split)) - set(SPLITS))
    if bad_splits:
        raise DatasetLayoutError(f"dataset {dataset!r}: unknown splits {bad_splits}; allowed: {list(SPLITS)}")
    path = _strings(raw["path"])
    pid_raw = pd.Series(_strings(raw["pid_raw"]))
    clothes_raw = pd.Series(_strings(raw["clothes_raw"]))

    is_train = split == TRAIN_SPLIT
    pid = np.zeros(len(raw), dtype=np.int64)
    clothes_id = np.zeros(len(raw), dtype=np.int64)
    if is_train.any():
        pid[is_train] = relabel(pid_raw[is_train])
        clothes_id[is_train] = relabel(clothes_raw[is_train])
    for part in (np.isin(split, TEST_SPLITS), np.isin(split, VAL_SPLITS)):
        if part.any():
            pid[part] = _test_pids(pid_raw[part])
            clothes_id[part] = relabel(clothes_raw[part])

    split_rank = pd.Series(split).map({name: rank for rank, name in enumerate(SPLITS)}).to_numpy()
    order = pc.sort_indices(
        pa.table({"rank": split_rank, "path": pa.array(path, type=pa.string())}),
        sort_keys=[("rank", "ascending"), ("path", "ascending")],
    ).to_numpy()
    columns = {
        "path": path[order],
        "pid": pid[order],
        "camid": raw["camid"].to_numpy().astype(np.int64)[order],
        "clothes_id": clothes_id[order],
        "split": split[order],
        "dataset": np.full(len(raw), dataset, dtype=object),
        "pid_raw": pid_raw.to_numpy()[order],
        "clothes_raw": clothes_raw.to_numpy()[order],
    }
    for column in raw.columns:
        if column not in columns:
            columns[column] = raw[column].to_numpy()[order]
    table = pd.DataFrame(columns)
    table.attrs = {**raw.attrs, "unmatched": unmatched_list, "labels": "spec2"}
    return table


def restamp(table: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A finished table under another dataset name (no relabelling needed)."""
    attrs = dict(table.attrs)
    table = table.assign(dataset=dataset)
    table.attrs = attrs
    return table


def join_paths(folder: Path | str, names: pd.Series) -> pd.Series:
    """Absolute paths for file names in one folder, built in one vectorised concatenation."""
    prefix = str(Path(folder).absolute()) + "/"
    return prefix + names.astype(str)


def scan_files(folder: Path) -> list[str]:
    """Names of the plain files directly inside ``folder`` (os.scandir: no per-file stat)."""
    with os.scandir(folder) as entries:
        return [entry.name for entry in entries if entry.is_file()]


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def empty_raw(extra_columns: Iterable[str] = ()) -> pd.DataFrame:
    """A raw table with no rows (a split with no files)."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in [*RAW_COLUMNS, *extra_columns]})


def find_dataset_dir(root: Path | str, folder_names: Iterable[str], required: Iterable[str], fmt: str, layout: str) -> Path:
    """The dataset folder: ``root`` itself if it holds ``required``, else ``root/<folder name>``.

    Users point at the dataset folder or at its parent (``data/raw`` or ``data/raw/LTCC_ReID``).
    Anything else is a DatasetLayoutError naming the expected layout and what is missing.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetLayoutError(f"{fmt}: dataset root {root} does not exist; expected layout: {layout}")
    required = list(required)
    candidates = [root] + [root / name for name in folder_names]
    for candidate in candidates:
        if candidate.is_dir() and all((candidate / entry).exists() for entry in required):
            return candidate.absolute()
    # Name what is missing in the most plausible candidate (a named dataset folder if one exists).
    best = next((c for c in reversed(candidates) if c.is_dir() and c != root), root)
    missing = [entry for entry in required if not (best / entry).exists()]
    raise DatasetLayoutError(f"{fmt}: {best} lacks {missing}; expected layout: {layout}")


def extract_names(names: list[str], pattern: str, folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """Match ``pattern`` (named groups) on file NAMES, never full paths, in one vectorised pass.

    The regex runs in Arrow's C++ engine over the whole column (no per-file Python call). Returns
    the groups of matching image files plus a ``name`` column, and the absolute paths of files
    that matched no rule (non-images included: they are reported, not dropped).
    """
    array = pa.array(names, type=pa.string())
    groups = pc.extract_regex(array, pattern)
    is_image = pc.match_substring_regex(pc.utf8_lower(array), IMAGE_NAME_REGEX)
    matched = pc.and_(groups.is_valid(), is_image)
    unmatched = join_paths(folder, pd.Series(pc.filter(array, pc.invert(matched)).to_pylist(), dtype=object)).tolist()
    groups = pc.filter(groups, matched)
    table = pd.DataFrame({field.name: groups.field(index).to_pandas() for index, field in enumerate(groups.type)})
    table["name"] = pc.filter(array, matched).to_pandas()
    return table, unmatched
