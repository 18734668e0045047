"""What REAL training images look like to each score: the references the filter thresholds come from.

With the reference model's features and the clothing masks of the real training images:
identity class means (for the nearest-identity check), the cosines between real images of one
identity (per identity; pooled over identities for one with a single image), the histogram
distances between real images of one outfit (pooled: an outfit has few images) and the colour
entropies of real clothes regions. See ``dlcr_assets.params.quality`` for why thresholds are relative.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlcr_assets.quality.pixels import clothes_descriptor, hellinger, read_mask, read_rgb, rgb_to_lab, colour_entropy

MAX_PER_GROUP = 200  # images per identity/outfit used for the pair distributions (pairs grow quadratically)


@dataclass
class References:
    pids: np.ndarray  # [C] identity labels of the class means
    means: np.ndarray  # [C, D] L2-normalised mean feature per training identity
    identity_cosines: dict[int, np.ndarray]  # pid -> cosines of real same-identity pairs
    outfit_distances: np.ndarray  # histogram distances of real same-outfit pairs
    entropies: np.ndarray  # colour entropies of real clothes regions


def _pair_values(matrix: np.ndarray) -> np.ndarray:
    upper = np.triu_indices(len(matrix), k=1)
    return matrix[upper]


def _groups(table: pd.DataFrame, columns: list[str]):
    for _, group in table.groupby(columns, sort=True):
        yield group.index.to_numpy()[:MAX_PER_GROUP]


def identity_references(train: pd.DataFrame, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(pids, class means, pid -> real same-identity cosines); ``train`` rows align with ``features``."""
    train = train.reset_index(drop=True)
    pids = np.sort(train["pid"].unique())
    means = np.stack([features[(train["pid"] == p).to_numpy()].mean(axis=0) for p in pids])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    cosines = {}
    for rows in _groups(train, ["pid"]):
        block = features[rows]
        cosines[int(train.at[rows[0], "pid"])] = _pair_values(block @ block.T)
    return pids, means, cosines


def clothes_references(train: pd.DataFrame, mask_paths: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(real same-outfit histogram distances, real colour entropies) over training images with a mask."""
    train = train[train["path"].isin(mask_paths)].reset_index(drop=True)
    descriptors, entropies = [], []
    for path in train["path"]:
        mask = read_mask(mask_paths[path])
        rgb = read_rgb(path)
        lab = rgb_to_lab(rgb)
        if mask.shape != lab.shape[:2]:
            mask = np.zeros(lab.shape[:2], dtype=bool)
        descriptors.append(clothes_descriptor(lab, mask))
        entropies.append(colour_entropy(rgb, mask) if mask.any() else np.nan)
    distances = []
    for rows in _groups(train, ["pid", "clothes_id"]):
        distances += [hellinger(descriptors[i], descriptors[j]) for n, i in enumerate(rows) for j in rows[n + 1:]]
    return np.asarray(distances, dtype=np.float64), np.asarray([e for e in entropies if np.isfinite(e)])


def identity_threshold(references: References, pid: int, quantile: float) -> float:
    """``quantile`` of the real same-identity cosines of ``pid`` (pooled when it has no pair)."""
    own = references.identity_cosines.get(int(pid))
    if own is None or len(own) == 0:
        pooled = [v for v in references.identity_cosines.values() if len(v)]
        if not pooled:
            return float("nan")
        own = np.concatenate(pooled)
    return float(np.quantile(own, quantile))
