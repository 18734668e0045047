"""Where per-image outputs go: <split>/<path relative to the split's image folder, no suffix>.

For flat layouts (LTCC, VC-Clothes) this is just ``<split>/<stem>``; for layouts with identity
folders (PRCC ``train/<pid>/A_*.jpg``) the sub-folders are kept, so equal file names never collide.
"""
from __future__ import annotations

import os
from pathlib import PurePath

import pandas as pd


def relative_keys(index: pd.DataFrame) -> pd.Series:
    """One key per index row: '<split>/<relative stem>' (POSIX separators), stable across machines."""
    keys = pd.Series("", index=index.index, dtype=object)
    for split, rows in index.groupby("split", sort=False):
        paths = rows["path"].astype(str).tolist()
        root = os.path.commonpath([os.path.dirname(p) for p in paths])
        keys.loc[rows.index] = [
            f"{split}/{PurePath(os.path.relpath(p, root)).with_suffix('').as_posix()}" for p in paths
        ]
    return keys
