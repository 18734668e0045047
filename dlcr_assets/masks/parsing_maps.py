"""`parsing-maps` backend: clothing label maps read from precomputed PNGs (SCHP output, LIP or ATR).

Where a map is found: the index column ``parsing_path`` when present (the synthetic dataset has
it); else ``params.parsing_root`` / <image path relative to the dataset root, suffix .png>, where
the dataset root is the common folder of all images in the index (``dataset_root`` overrides it).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.masks.labels import SCHEMES, clothes_labels_from_id2label, lip_lookup_from_id2label
from dlcr_assets.params.masks import MasksParams


def mirrored_parsing_paths(paths: list[str], parsing_root: str | Path, dataset_root: Path | None = None) -> list[str]:
    """``parsing_root`` / <image path relative to the dataset root, suffix .png> for each image path.

    The one lookup rule of a ``parsing_root`` (masks.parsing_root and descriptions.parsing_root);
    the dataset root is the common folder of all the images unless ``dataset_root`` is given.
    """
    root = str(dataset_root) if dataset_root else os.path.commonpath([os.path.dirname(p) for p in paths])
    return [str(Path(parsing_root) / Path(os.path.relpath(p, root)).with_suffix(".png")) for p in paths]


def parsing_map_paths(index: pd.DataFrame, params: MasksParams, dataset_root: Path | None = None) -> list[str]:
    """The label-map PNG of each index row (see the module docstring for the lookup rule)."""
    if "parsing_path" in index.columns and index["parsing_path"].notna().all():
        return index["parsing_path"].astype(str).tolist()
    if params.parsing_root is None:
        raise StepInputError(
            "masks.backend 'parsing-maps' needs label maps: the index has no parsing_path column, so set "
            "masks.parsing_root to a folder mirroring the dataset's image paths with .png label maps "
            "(or use masks.backend: segformer)"
        )
    return mirrored_parsing_paths(index["path"].astype(str).tolist(), params.parsing_root, dataset_root)


def read_label_map(path: str) -> np.ndarray:
    """A label map PNG as uint8 label ids of its own scheme."""
    with Image.open(path) as image:
        image.load()
        if image.mode not in ("L", "P"):
            image = image.convert("L")
        return np.asarray(image, dtype=np.uint8)


def scheme_tables(label_scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """(is-clothes lookup, to-LIP lookup) over the 256 possible label values of a scheme."""
    id2label = SCHEMES[label_scheme]
    is_clothes = np.zeros(256, dtype=bool)
    is_clothes[sorted(clothes_labels_from_id2label(id2label))] = True
    return is_clothes, lip_lookup_from_id2label(id2label)
