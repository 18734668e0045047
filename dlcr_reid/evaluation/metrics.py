"""ReID retrieval metrics (CMC, mAP, mINP) with the field's good/junk rules, vectorised over queries.

Rules (SPEC §1.7). For a query, among gallery items of the same identity:

* ``general``: good = different camera; junk = same camera.
* ``cc`` (clothes-changing): good = different camera and different clothes; junk = same camera
  or same clothes.
* ``sc`` (same-clothes): good = different camera and same clothes; junk = same camera or
  different clothes.

Gallery items of other identities are plain negatives. Junk items are removed before ranking;
ranks are 1-based among the remaining items. A query with no good item is skipped and counted; if
every query is skipped, ``ReidInputError``.

Equal distances (frequent at scale: float32 distances of 125k items crowd around one value, and
about one item in ten ties with another) are ranked so that a tie never helps: a good item comes
after every non-good item at the same distance, and tied good items keep gallery order. This is a
sort by (distance, is-good, gallery index). (The field's loop uses an unstable argsort, whose tie
order is arbitrary.)

How it avoids a per-query loop and a full argsort of every row: only items of the query's own
identity can be good or junk, so those (query, item) pairs are few and are handled as one flat,
sparse set. For a good item g at distance v with position i among the query's goods (ordered by
distance, then gallery index), its rank is ``#{items with d <= v} - #{junk with d <= v}
- #{goods with d <= v} + i``. The first count comes from each row sorted by value (``np.sort``:
no index array, several times cheaper than ``argsort``; only the items up to the row's largest
good distance when those are few) and one binary search run for every good item of a chunk at once; the others come from the sparse pairs ordered by (query, distance,
gallery index). Row chunks keep memory bounded and are sorted on a few threads (numpy releases
the GIL while sorting).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np

from dlcr_reid.errors import ReidInputError

Mode = Literal["general", "cc", "sc"]
MODES = ("general", "cc", "sc")


def identity_pairs(q_pids: np.ndarray, g_pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (query row, gallery column) pairs sharing an identity, grouped by query, columns ascending."""
    g_order = np.argsort(g_pids, kind="stable")
    sorted_pids = g_pids[g_order]
    starts = np.searchsorted(sorted_pids, q_pids, side="left")
    counts = np.searchsorted(sorted_pids, q_pids, side="right") - starts
    total = int(counts.sum())
    pair_q = np.repeat(np.arange(len(q_pids)), counts)
    # position of each pair inside its query's run of same-pid gallery items
    offset_in_run = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    pair_g = g_order[np.repeat(starts, counts) + offset_in_run]
    return pair_q, pair_g


def classify_pairs(
    pair_q: np.ndarray,
    pair_g: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    q_clothes: np.ndarray | None,
    g_clothes: np.ndarray | None,
    mode: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Good and junk flags for same-identity pairs under ``mode`` (see the module docstring)."""
    same_cam = q_camids[pair_q] == g_camids[pair_g]
    if mode == "general":
        return ~same_cam, same_cam
    same_clothes = q_clothes[pair_q] == g_clothes[pair_g]
    if mode == "cc":
        return ~same_cam & ~same_clothes, same_cam | same_clothes
    return ~same_cam & same_clothes, same_cam | ~same_clothes


def _labels(values, name: str, length: int | None = None) -> np.ndarray:
    array = np.asarray(values).reshape(-1)
    if length is not None and len(array) != length:
        raise ReidInputError(f"{name} has {len(array)} entries, the distance matrix needs {length}")
    return array


def _rows_per_chunk(num_gallery: int, chunk_bytes: int) -> int:
    # a sorted float32 copy of the chunk is the one dense allocation per chunk
    return max(1, int(chunk_bytes // (4 * max(num_gallery, 1))))


def _count_before(sorted_rows: np.ndarray, rows: np.ndarray, values: np.ndarray, strict: bool) -> np.ndarray:
    """For each (row, value): how many entries of that sorted row are < value (strict) or <= value.

    A binary search advanced for all requests at once: ~log2(num_gallery) vectorised steps.
    """
    low = np.zeros(len(rows), dtype=np.int64)
    high = np.full(len(rows), sorted_rows.shape[1], dtype=np.int64)
    active = low < high
    while active.any():
        mid = (low + high) // 2
        probe = sorted_rows[rows, np.minimum(mid, sorted_rows.shape[1] - 1)]
        go_right = (probe < values) if strict else (probe <= values)
        go_right &= active
        low = np.where(go_right, mid + 1, low)
        high = np.where(active & ~go_right, mid, high)
        active = low < high
    return low


def evaluate(
    distmat,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    q_clothes=None,
    g_clothes=None,
    mode: Mode = "general",
    *,
    chunk_bytes: int = 16 * 2**20,
    threads: int | None = None,
) -> dict:
    """CMC over all ranks, mAP and mINP of a query x gallery distance matrix (smaller = closer).

    Returns ``{"cmc": float64 array of length num_gallery, "mAP", "mINP", "num_valid_queries",
    "num_skipped_queries"}``. ``chunk_bytes`` bounds the per-chunk sorted copy; ``threads`` sorts
    that many chunks at once (default: up to 2, the CPU count permitting).
    """
    if mode not in MODES:
        raise ReidInputError(f"unknown evaluation mode {mode!r}; allowed: {', '.join(MODES)}")
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ReidInputError(f"distmat must be 2-D (queries x gallery), got shape {distmat.shape}")
    if not np.issubdtype(distmat.dtype, np.floating):
        distmat = distmat.astype(np.float64)
    num_q, num_g = distmat.shape
    q_pids, q_camids = _labels(q_pids, "q_pids", num_q), _labels(q_camids, "q_camids", num_q)
    g_pids, g_camids = _labels(g_pids, "g_pids", num_g), _labels(g_camids, "g_camids", num_g)
    if mode != "general":
        if q_clothes is None or g_clothes is None:
            raise ReidInputError(f"mode {mode!r} needs q_clothes and g_clothes")
        q_clothes, g_clothes = _labels(q_clothes, "q_clothes", num_q), _labels(g_clothes, "g_clothes", num_g)
    if num_q == 0 or num_g == 0:
        raise ReidInputError(f"nothing to evaluate: {num_q} queries x {num_g} gallery items")

    pair_q, pair_g = identity_pairs(q_pids, g_pids)
    good, junk = classify_pairs(pair_q, pair_g, q_camids, g_camids, q_clothes, g_clothes, mode)
    if not good.any():
        raise ReidInputError(
            f"every one of the {num_q} queries was skipped in mode {mode!r}: no query has a valid "
            "gallery match (same identity, other camera"
            + {"general": ")", "cc": ", other clothes)", "sc": ", same clothes)"}[mode]
        )
    pair_d = distmat[pair_q, pair_g]

    # Sparse side: same-identity pairs in ranking order (query, distance, gallery index).
    order = np.lexsort((pair_g, pair_d, pair_q))
    pair_q, pair_d, good, junk = (a[order] for a in (pair_q, pair_d, good, junk))
    run_start = np.searchsorted(pair_q, np.arange(num_q), side="left")[pair_q]
    # last pair of each (query, distance) group: counts "<= d" include every pair tied with it
    group_last = np.r_[(pair_q[1:] != pair_q[:-1]) | (pair_d[1:] != pair_d[:-1]), True]
    group_end = np.flatnonzero(group_last)[np.cumsum(np.r_[0, group_last[:-1]])]
    junk_cum, good_cum = np.cumsum(junk), np.cumsum(good)
    before_run_junk = junk_cum[run_start] - junk[run_start]
    before_run_good = good_cum[run_start] - good[run_start]
    junk_at_most = junk_cum[group_end] - before_run_junk  # junk with d <= this pair's d
    good_at_most = good_cum[group_end] - before_run_good
    good_position = good_cum - before_run_good  # 1-based among the query's goods

    good_rows, good_d, good_position = pair_q[good], pair_d[good], good_position[good]
    sparse_part = good_position - (junk_at_most + good_at_most)[good]

    # Dense side: items with d <= v in each good item's row.
    at_most = np.zeros(len(good_rows), dtype=np.int64)
    rows_per_chunk = _rows_per_chunk(num_g, chunk_bytes)
    chunk_starts = list(range(0, num_q, rows_per_chunk))

    def sorted_band(block: np.ndarray, local_rows: np.ndarray, values: np.ndarray, where: str) -> np.ndarray:
        """Each row's items up to its largest good distance, sorted (padded with +inf), for counting.

        Items above a row's largest good distance never count; when they are most of the row (a
        trained model puts a query's matches near the top) only the rest is sorted. Otherwise the
        whole block is sorted in place. A strided sample of ~512 columns decides first whether a
        band can pay off, so rows whose goods are spread over the ranking (the worst case) pay
        for the sort alone, not for an extra full pass building the band mask. NaN: a full sort
        puts it last (one column to check); the band path checks the block.
        """
        row_max = np.full(block.shape[0], -np.inf, dtype=np.float64)
        np.maximum.at(row_max, local_rows, values)
        threshold = row_max[:, None].astype(block.dtype)
        has_goods = np.isfinite(row_max)
        step = max(1, block.shape[1] // 512)
        if (np.isposinf(row_max).any()
                or (block[:, ::step] <= threshold).mean(axis=1).max() > 0.5):
            return sort_all(block, where)
        if np.isnan(block).any():
            raise ReidInputError(f"distmat has NaN values ({where})")
        inside = block <= threshold
        counts = np.count_nonzero(inside, axis=1)
        width = int(counts.max())
        if width > 0.6 * block.shape[1] or not has_goods[counts > 0].all():
            return sort_all(block, where)
        band = np.full((block.shape[0], max(width, 1)), np.inf, dtype=block.dtype)
        # one flat (1-D) nonzero: several times cheaper than 2-D nonzero plus boolean indexing
        row_ids = np.repeat(np.arange(block.shape[0]), counts)
        position = np.arange(len(row_ids)) - np.repeat(np.cumsum(counts) - counts, counts)
        band[row_ids, position] = block.reshape(-1)[np.flatnonzero(inside)]
        band.sort(axis=1)
        return band

    def sort_all(block: np.ndarray, where: str) -> np.ndarray:
        block.sort(axis=1)  # NaN sorts after every number, +inf included
        if np.isnan(block[:, -1]).any():
            raise ReidInputError(f"distmat has NaN values ({where})")
        return block

    def rank_chunks(starts: list[int]) -> None:
        # one reused buffer per worker: fresh large allocations cost more in page faults than the sort
        buffer = np.empty((min(rows_per_chunk, num_q), num_g), dtype=distmat.dtype)
        for start in starts:
            stop = min(start + rows_per_chunk, num_q)
            where = f"query rows {start}..{stop - 1}"
            mine = np.flatnonzero((good_rows >= start) & (good_rows < stop))
            if mine.size == 0:  # rows that are all skipped: only the NaN check
                if np.isnan(distmat[start:stop]).any():
                    raise ReidInputError(f"distmat has NaN values ({where})")
                continue
            block = buffer[: stop - start]
            block[...] = distmat[start:stop]
            local_rows = good_rows[mine] - start
            sorted_rows = sorted_band(block, local_rows, good_d[mine], where)
            at_most[mine] = _count_before(sorted_rows, local_rows, good_d[mine], strict=False)

    threads = max(1, min(threads or min(2, os.cpu_count() or 1), len(chunk_starts)))
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(rank_chunks, [chunk_starts[w::threads] for w in range(threads)]))
    else:
        rank_chunks(chunk_starts)

    ranks = at_most + sparse_part  # 1-based rank among non-junk items

    num_good = np.bincount(good_rows, minlength=num_q)
    valid = num_good > 0
    num_valid = int(valid.sum())
    ap_sum = np.bincount(good_rows, weights=good_position / ranks, minlength=num_q)
    average_precision = ap_sum[valid] / num_good[valid]
    first_rank = np.full(num_q, np.iinfo(np.int64).max)
    np.minimum.at(first_rank, good_rows, ranks)
    last_rank = np.zeros(num_q, dtype=np.int64)
    np.maximum.at(last_rank, good_rows, ranks)
    inverse_negative_penalty = num_good[valid] / last_rank[valid]
    cmc = np.cumsum(np.bincount(first_rank[valid] - 1, minlength=num_g)[:num_g]) / num_valid
    return {
        "cmc": cmc.astype(np.float64),
        "mAP": float(average_precision.mean()),
        "mINP": float(inverse_negative_penalty.mean()),
        "num_valid_queries": num_valid,
        "num_skipped_queries": int(num_q - num_valid),
    }


__all__ = ["MODES", "classify_pairs", "evaluate", "identity_pairs"]
