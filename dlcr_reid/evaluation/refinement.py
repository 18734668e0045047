"""Test-time prediction refinement (SPEC §1.7): fuse a query's clothing-variant views into its ranking.

Every query has an original view (v = 0) and up to K variant views (the same K target outfits for
all queries). Similarities are s = cosine + 1, in [0, 2]. Our reading of the rule, where the SPEC
leaves a choice:

* identity score s_v(p) = the best (max) similarity among the gallery items of identity p in view v;
* candidates C = the k identities with the highest s_0(p) (the original view's top k);
* S(p) = s_0(p) + sum over variant views v of [p in top-k of v] * s_v(p)^2 / max_p' s_v(p'),
  for p in C (the max runs over every identity of view v); the fused top-1 identity is argmax S;
* for CMC/mAP, the k best gallery entries of the original row get similarity
  max(S(pid of the entry), s_0(entry)); every other entry keeps s_0. The refined distance is
  2 - similarity, the same "1 - cosine" scale as the unrefined distance (distance.py).
* Gallery entries excluded for a query by the protocol (its junk: same camera, or same/other clothes
  in CC/SC) take part in none of this, as if absent from the gallery: otherwise a same-clothes
  image the protocol discards could vote for its identity.
* A query with no variant view keeps its original row unchanged.

Variant views that are missing (failed generations) are masked out of the sum.
Everything is vectorised over queries in row chunks; the only loop is over the K views.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from dlcr_reid.errors import ReidInputError

MANIFEST_COLUMNS = ("source_path", "variant", "path", "status")


def _normalized(features) -> torch.Tensor:
    tensor = features if isinstance(features, torch.Tensor) else torch.from_numpy(np.asarray(features))
    return F.normalize(tensor.detach().float(), dim=-1)


class _IdentityMax:
    """Per-identity max over gallery columns, as one reduceat over identity-sorted columns."""

    def __init__(self, g_pids: np.ndarray) -> None:
        self.pid_values, codes = np.unique(g_pids, return_inverse=True)
        self.codes = codes.reshape(-1)
        self.column_order = np.argsort(self.codes, kind="stable")
        sorted_codes = self.codes[self.column_order]
        self.group_starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])

    def __call__(self, similarity: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(similarity[:, self.column_order], self.group_starts, axis=1)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k largest scores (unordered)."""
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


def refine_distances(
    query_features,
    view_features,
    gallery_features,
    g_pids,
    *,
    view_mask=None,
    top_k: int = 5,
    excluded: tuple[np.ndarray, np.ndarray] | None = None,
    chunk_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Refined [Q, G] float32 distances and the fused top-1 identity of every query.

    ``view_features``: [Q, K, D] features of the K variant views; ``view_mask``: [Q, K] bool, True
    where a view exists (default: all). ``excluded``: (query rows, gallery columns) the protocol
    removes for each query (its junk pairs). Features are L2-normalised here. ``chunk_rows``
    (default: ~32M similarities per chunk) bounds memory: a chunk holds a few float64 [rows, G] arrays.
    """
    query = _normalized(query_features)
    views = _normalized(view_features)
    gallery = _normalized(gallery_features)
    g_pids = np.asarray(g_pids).reshape(-1)
    num_q, num_g = query.shape[0], gallery.shape[0]
    if views.ndim != 3 or views.shape[0] != num_q or views.shape[2] != query.shape[1]:
        raise ReidInputError(f"view features must be [Q={num_q}, K, D={query.shape[1]}], got {tuple(views.shape)}")
    if len(g_pids) != num_g:
        raise ReidInputError(f"g_pids has {len(g_pids)} entries for {num_g} gallery features")
    mask = np.ones(views.shape[:2], dtype=bool) if view_mask is None else np.asarray(view_mask, dtype=bool)
    identity_max = _IdentityMax(g_pids)
    num_ids = len(identity_max.pid_values)
    k_ids, k_items = min(top_k, num_ids), min(top_k, num_g)
    excluded_rows, excluded_cols = (
        (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)) if excluded is None else map(np.asarray, excluded)
    )

    chunk_rows = chunk_rows or max(1, min(4096, 2**25 // max(num_g, 1)))
    distances = np.empty((num_q, num_g), dtype=np.float32)
    fused_top1 = np.empty(num_q, dtype=g_pids.dtype)
    for start in range(0, num_q, chunk_rows):  # row chunks bound memory; all queries of a chunk at once
        stop = min(start + chunk_rows, num_q)
        rows = np.arange(stop - start)[:, None]
        in_chunk = (excluded_rows >= start) & (excluded_rows < stop)
        drop_rows, drop_cols = excluded_rows[in_chunk] - start, excluded_cols[in_chunk]

        def similarity(features: torch.Tensor) -> np.ndarray:
            sims = (features @ gallery.T).numpy().astype(np.float64) + 1.0
            sims[drop_rows, drop_cols] = -np.inf
            return sims

        original = similarity(query[start:stop])
        original_ids = identity_max(original)
        candidates = _top(original_ids, k_ids)  # [R, k] identity codes
        fused = original_ids[rows, candidates]
        chunk_mask = mask[start:stop]
        for view in range(views.shape[1]):
            view_ids = identity_max(similarity(views[start:stop, view]))
            in_top = np.zeros(view_ids.shape, dtype=bool)
            in_top[rows, _top(view_ids, k_ids)] = True
            best = np.maximum(view_ids.max(axis=1, keepdims=True), np.finfo(np.float64).tiny)
            candidate_scores = view_ids[rows, candidates]
            usable = in_top[rows, candidates] & np.isfinite(candidate_scores)
            bonus = np.where(usable, np.where(usable, candidate_scores, 0.0) ** 2 / best, 0.0)
            fused += np.where(chunk_mask[:, view : view + 1], bonus, 0.0)
        fused_top1[start:stop] = identity_max.pid_values[candidates[rows[:, 0], np.argmax(fused, axis=1)]]

        # raise the k best entries of the original row to their identity's fused score
        fused_by_id = np.full(original_ids.shape, -np.inf)
        fused_by_id[rows, candidates] = fused
        best_items = _top(original, k_items)
        raised = np.maximum(fused_by_id[rows, identity_max.codes[best_items]], original[rows, best_items])
        refined_rows = chunk_mask.any(axis=1)
        raised = np.where(refined_rows[:, None], raised, original[rows, best_items])
        original[rows, best_items] = raised
        distances[start:stop] = 2.0 - original
    return distances, fused_top1


def select_variant_rows(manifest: pd.DataFrame, query_paths: Sequence[str], views: int) -> pd.DataFrame:
    """The manifest rows usable as views of these queries, with their view ``slot`` (0..views-1).

    Slots follow the sorted variant numbers (variant i is the i-th of the shared target outfits);
    rows that failed, belong to other images, or fall past ``views`` are dropped.
    """
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise ReidInputError(f"query-variants manifest lacks columns {missing}; needs {list(MANIFEST_COLUMNS)}")
    usable = manifest[(manifest["status"] == "ok") & manifest["source_path"].isin(set(map(str, query_paths)))]
    variant_numbers = np.sort(usable["variant"].unique())[:views]
    slot_of = {int(v): i for i, v in enumerate(variant_numbers)}
    usable = usable[usable["variant"].isin(variant_numbers)].copy()
    usable["slot"] = usable["variant"].map(lambda v: slot_of[int(v)]).astype(int)
    return usable.drop_duplicates(["source_path", "slot"]).reset_index(drop=True)


def stack_views(
    query_paths: Sequence[str],
    views_by_path: Mapping[str, object],
    views: int,
    dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    """[Q, K, D] view features and [Q, K] mask from a mapping query path -> its (<= K) view features."""
    stacked = np.zeros((len(query_paths), views, dim), dtype=np.float32)
    mask = np.zeros((len(query_paths), views), dtype=bool)
    for row, path in enumerate(query_paths):  # bookkeeping only: copies arrays into place
        found = views_by_path.get(str(path))
        if found is None:
            continue
        found = np.asarray(found, dtype=np.float32).reshape(-1, dim)[:views]
        stacked[row, : len(found)] = found
        mask[row, : len(found)] = True
    return stacked, mask


def views_from_manifest_rows(
    query_paths: Sequence[str], rows: pd.DataFrame, row_features, views: int
) -> tuple[np.ndarray, np.ndarray]:
    """[Q, K, D] view features and mask from ``select_variant_rows`` rows and their features."""
    features = np.asarray(row_features, dtype=np.float32)
    position = {str(p): i for i, p in enumerate(query_paths)}
    stacked = np.zeros((len(query_paths), views, features.shape[1]), dtype=np.float32)
    mask = np.zeros((len(query_paths), views), dtype=bool)
    query_rows = rows["source_path"].map(position).to_numpy(dtype=np.int64)
    slots = rows["slot"].to_numpy(dtype=np.int64)
    stacked[query_rows, slots] = features
    mask[query_rows, slots] = True
    return stacked, mask


__all__ = ["refine_distances", "select_variant_rows", "stack_views", "views_from_manifest_rows"]
