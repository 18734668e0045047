"""What REAL training images look like to each score: the references the filter thresholds come from.

With the reference model's features and the clothing masks of the real training images:
identity class means and the rank real images give their own identity among them (for the
nearest-identity check), the cosines between real images of one identity in different clothes
(per identity; pooled over identities for one with a single image), the histogram distances between real images of one outfit (pooled: an outfit has few images) and the colour
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
    identity_cosines: dict[int, np.ndarray]  # pid -> cosines of real same-identity cross-clothes pairs
    ranks: np.ndarray  # rank of the own identity among class means, per real training image
    outfit_distances: np.ndarray  # histogram distances of real same-outfit pairs
    entropies: np.ndarray  # colour entropies of real clothes regions


def _groups(table: pd.DataFrame, columns: list[str]):
    for _, group in table.groupby(columns, sort=True):
        yield group.index.to_numpy()[:MAX_PER_GROUP]


def identity_references(train: pd.DataFrame, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray]:
    """(pids, class means, pid -> real cross-clothes cosines, real ranks); ``train`` rows align with ``features``.

    The cosines are those of real same-identity pairs in DIFFERENT clothes (all pairs when an
    identity has one outfit): a variant is its source in other clothes. A real image's rank is the
    place of its own identity among the class means (its own mean without it), 1 = nearest.
    """
    train = train.reset_index(drop=True)
    labels = train["pid"].to_numpy()
    pids = np.sort(np.unique(labels))
    sums = np.stack([features[labels == p].sum(axis=0) for p in pids])
    means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    column = np.searchsorted(pids, labels)
    own_without = sums[column] - features  # leave-one-out: the image must not vote for itself
    own_score = np.sum(features * own_without, axis=1) / np.maximum(np.linalg.norm(own_without, axis=1), 1e-12)
    scores = features @ means.T
    scores[np.arange(len(labels)), column] = -np.inf
    ranks = 1 + np.sum(scores > own_score[:, None], axis=1)
    single = np.bincount(column, minlength=len(pids)) < 2
    ranks = ranks[~single[column]]
    cosines = {}
    for rows in _groups(train, ["pid"]):
        block = features[rows]
        clothes = train.loc[rows, "clothes_id"].to_numpy()
        upper = np.triu_indices(len(rows), k=1)
        different = clothes[upper[0]] != clothes[upper[1]]
        values = (block @ block.T)[upper]
        cosines[int(train.at[rows[0], "pid"])] = values[different] if different.any() else values
    return pids, means, cosines, ranks


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


def rank_threshold(references: References, quantile: float | None) -> int:
    """The worst own-identity rank kept: the (1 - quantile) quantile of real images' ranks (1 = must be nearest).

    With a reference model that places every real image nearest its own identity this is the
    strict nearest rule; with a weaker one it allows what real images of known identity get.
    """
    if quantile is None or len(references.ranks) == 0:
        return 1
    return int(np.quantile(references.ranks, 1.0 - quantile, method="higher"))


def identity_threshold(references: References, pid: int, quantile: float) -> float:
    """``quantile`` of the real same-identity cosines of ``pid`` (pooled when it has no pair)."""
    own = references.identity_cosines.get(int(pid))
    if own is None or len(own) == 0:
        pooled = [v for v in references.identity_cosines.values() if len(v)]
        if not pooled:
            return float("nan")
        own = np.concatenate(pooled)
    return float(np.quantile(own, quantile))
