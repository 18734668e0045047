"""The vectorised metrics against a plain per-query reference, plus the good/junk rules by hand."""
from __future__ import annotations

import numpy as np
import pytest

from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation.distance import cosine_distance
from dlcr_reid.evaluation.metrics import evaluate


def reference(distmat, q_pids, g_pids, q_cams, g_cams, q_clothes, g_clothes, mode):
    """One query at a time: sort the row, drop junk, read the ranks of the good items.

    Ties: sort by (distance, is-good, gallery index), so a good item ranks after the non-good
    items at its distance and tied good items keep gallery order (metrics.py's documented rule).
    """
    num_q, num_g = distmat.shape
    cmc = np.zeros(num_g)
    aps, inps = [], []
    for q in range(num_q):
        same_pid = g_pids == q_pids[q]
        same_cam = g_cams == q_cams[q]
        same_clothes = g_clothes == q_clothes[q]
        if mode == "general":
            good, junk = same_pid & ~same_cam, same_pid & same_cam
        elif mode == "cc":
            good, junk = same_pid & ~same_cam & ~same_clothes, same_pid & (same_cam | same_clothes)
        else:
            good, junk = same_pid & ~same_cam & same_clothes, same_pid & (same_cam | ~same_clothes)
        order = np.lexsort((np.arange(num_g), good, distmat[q]))
        good, junk = good[order], junk[order]
        hits = np.flatnonzero(good[~junk])  # 0-based positions among non-junk items
        if hits.size == 0:
            continue
        cmc[hits[0]:] += 1
        aps.append(np.mean(np.arange(1, hits.size + 1) / (hits + 1)))
        inps.append(hits.size / (hits[-1] + 1))
    valid = len(aps)
    return cmc / max(valid, 1), (np.mean(aps) if aps else None), (np.mean(inps) if inps else None), valid


def random_problem(rng, ties: bool):
    num_q, num_g = int(rng.integers(1, 30)), int(rng.integers(1, 150))
    ids = int(rng.integers(1, 8))
    problem = dict(
        q_pids=rng.integers(0, ids, num_q), g_pids=rng.integers(0, ids, num_g),
        q_camids=rng.integers(0, 3, num_q), g_camids=rng.integers(0, 3, num_g),
        q_clothes=rng.integers(0, 3, num_q), g_clothes=rng.integers(0, 3, num_g),
    )
    # integer distances force many ties: both sides must break them by gallery order
    distmat = rng.integers(0, 4, (num_q, num_g)).astype(np.float32) if ties else rng.random((num_q, num_g))
    return distmat, problem


@pytest.mark.parametrize("mode", ["general", "cc", "sc"])
@pytest.mark.parametrize("ties", [False, True])
def test_matches_reference_on_random_problems(mode, ties):
    rng = np.random.default_rng(7 + ties)
    compared = 0
    for _ in range(40):
        distmat, problem = random_problem(rng, ties)
        cmc, mean_ap, mean_inp, valid = reference(
            distmat, problem["q_pids"], problem["g_pids"], problem["q_camids"], problem["g_camids"],
            problem["q_clothes"], problem["g_clothes"], mode,
        )
        # tiny chunks and two threads exercise the chunk boundaries
        chunk_bytes = int(rng.integers(1, 3000))
        if valid == 0:
            with pytest.raises(ReidInputError, match="skipped"):
                evaluate(distmat, **problem, mode=mode, chunk_bytes=chunk_bytes)
            continue
        result = evaluate(distmat, **problem, mode=mode, chunk_bytes=chunk_bytes, threads=2)
        assert result["num_valid_queries"] == valid
        assert result["num_skipped_queries"] == len(problem["q_pids"]) - valid
        assert result["cmc"].shape == (distmat.shape[1],)
        np.testing.assert_allclose(result["cmc"], cmc, rtol=0, atol=1e-9)
        assert result["mAP"] == pytest.approx(mean_ap, abs=1e-9)
        assert result["mINP"] == pytest.approx(mean_inp, abs=1e-9)
        compared += 1
    assert compared >= 10


@pytest.mark.parametrize("mode", ["general", "cc"])
def test_matches_reference_when_matches_rank_high(mode):
    # same-identity items pulled to the top: only a narrow band of each row needs sorting
    rng = np.random.default_rng(11)
    for _ in range(10):
        distmat, problem = random_problem(rng, ties=False)
        same = problem["q_pids"][:, None] == problem["g_pids"][None, :]
        distmat = np.where(same, distmat * 0.05, distmat)
        expected = reference(distmat, problem["q_pids"], problem["g_pids"], problem["q_camids"],
                             problem["g_camids"], problem["q_clothes"], problem["g_clothes"], mode)
        if expected[3] == 0:
            continue
        result = evaluate(distmat, **problem, mode=mode, chunk_bytes=2000)
        np.testing.assert_allclose(result["cmc"], expected[0], rtol=0, atol=1e-9)
        assert result["mAP"] == pytest.approx(expected[1], abs=1e-9)
        assert result["mINP"] == pytest.approx(expected[2], abs=1e-9)


def test_hand_worked_query():
    # gallery by distance: 0.1 junk (same camera), 0.2 other id, 0.3 good, 0.4 other id, 0.5 good
    distmat = np.array([[0.3, 0.1, 0.5, 0.2, 0.4]])
    result = evaluate(distmat, [1], [1, 1, 1, 2, 3], [0], [1, 0, 2, 1, 1])
    # after removing the junk item: ranks other=1, good=2, other=3, good=4
    # AP = (1/2 + 2/4) / 2 = 0.5 ; first good at rank 2 ; mINP = 2 goods / last rank 4 = 0.5
    assert result["mAP"] == pytest.approx(0.5)
    assert result["mINP"] == pytest.approx(0.5)
    np.testing.assert_allclose(result["cmc"], [0, 1, 1, 1, 1])


def test_clothes_rules():
    # one query (pid 1, camera 0, clothes 0); gallery all pid 1, in distance order:
    # 0: cam 1 clothes 0 (good in SC, junk in CC); 1: cam 1 clothes 1 (good in CC, junk in SC);
    # 2: cam 0 clothes 1 (junk in every mode: same camera)
    distmat = np.array([[0.1, 0.2, 0.05]])
    args = ([1], [1, 1, 1], [0], [1, 1, 0], [0], [0, 1, 1])
    assert evaluate(distmat, *args, mode="cc")["cmc"][0] == 1.0  # junk 0 and 2 gone, item 1 is rank 1
    assert evaluate(distmat, *args, mode="sc")["cmc"][0] == 1.0
    general = evaluate(distmat, *args, mode="general")
    assert general["mAP"] == pytest.approx(1.0)  # items 0 and 1 at ranks 1 and 2


def test_ties_never_help():
    # all four items at distance 0.5: the good one (index 0) ranks after the two negatives;
    # the junk item (same camera) is removed first
    distmat = np.full((1, 4), 0.5)
    result = evaluate(distmat, [1], [1, 2, 3, 1], [0], [1, 1, 1, 0])
    assert result["mAP"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(result["cmc"], [0, 0, 1, 1])


def test_every_query_skipped_is_an_error():
    distmat = np.zeros((2, 3))
    with pytest.raises(ReidInputError, match="every one of the 2 queries was skipped"):
        evaluate(distmat, [1, 2], [1, 2, 3], [0, 0], [0, 0, 1])  # only same-camera matches


def test_input_errors():
    with pytest.raises(ReidInputError, match="needs q_clothes"):
        evaluate(np.zeros((1, 1)), [1], [1], [0], [1], mode="cc")
    with pytest.raises(ReidInputError, match="unknown evaluation mode"):
        evaluate(np.zeros((1, 1)), [1], [1], [0], [1], mode="xx")
    with pytest.raises(ReidInputError, match="g_pids has 1 entries"):
        evaluate(np.zeros((1, 2)), [1], [1], [0], [1, 1])
    with pytest.raises(ReidInputError, match="NaN"):
        evaluate(np.array([[np.nan, 0.1]]), [1], [1, 1], [0], [1, 1])


def test_cosine_distance_in_chunks():
    rng = np.random.default_rng(0)
    query, gallery = rng.standard_normal((7, 5)), rng.standard_normal((9, 5))
    expected = 1 - (query / np.linalg.norm(query, axis=1, keepdims=True)) @ (
        gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    ).T
    distances = cosine_distance(query, gallery, chunk_rows=3)
    assert distances.dtype == np.float32
    np.testing.assert_allclose(distances, expected, atol=1e-6)


@pytest.mark.parametrize("mode", ["general", "cc"])
@pytest.mark.parametrize("near_top", [False, True])
def test_matches_reference_on_larger_problems_with_many_ties(mode, near_top):
    # a few thousand gallery items with 3-decimal distances (most items tie with others); with
    # near_top the same-identity items are pulled close, so the band path (only the items up to
    # each row's last good distance are sorted) runs; otherwise the whole-row sort does
    rng = np.random.default_rng(23 + near_top)
    num_q, num_g, ids = 60, 3000, 40
    problem = dict(
        q_pids=rng.integers(0, ids, num_q), g_pids=rng.integers(0, ids, num_g),
        q_camids=rng.integers(0, 4, num_q), g_camids=rng.integers(0, 4, num_g),
        q_clothes=rng.integers(0, 3, num_q), g_clothes=rng.integers(0, 3, num_g),
    )
    distmat = np.round(rng.random((num_q, num_g)), 3).astype(np.float32)
    if near_top:
        same = problem["q_pids"][:, None] == problem["g_pids"][None, :]
        distmat = np.where(same, np.round(distmat * 0.02, 3), distmat).astype(np.float32)
    expected = reference(distmat, problem["q_pids"], problem["g_pids"], problem["q_camids"],
                         problem["g_camids"], problem["q_clothes"], problem["g_clothes"], mode)
    assert expected[3] > 0
    for chunk_bytes, threads in ((16 * 2**20, 1), (50_000, 2)):
        result = evaluate(distmat, **problem, mode=mode, chunk_bytes=chunk_bytes, threads=threads)
        assert result["num_valid_queries"] == expected[3]
        np.testing.assert_allclose(result["cmc"], expected[0], rtol=0, atol=1e-9)
        assert result["mAP"] == pytest.approx(expected[1], abs=1e-9)
        assert result["mINP"] == pytest.approx(expected[2], abs=1e-9)


@pytest.mark.parametrize("near_top", [False, True])
def test_nan_is_reported_on_either_path(near_top):
    # the NaN check sits in the band path and after the whole-row sort; a row without goods too
    distmat = np.full((3, 2000), 0.9)
    distmat[:, 0] = 0.1 if near_top else 0.95  # the good item: near the top, or past most items
    distmat[1, 1500] = np.nan
    with pytest.raises(ReidInputError, match="NaN"):
        evaluate(distmat, [1, 1, 1], [1] + [2] * 1999, [0, 0, 0], [1] * 2000)
    skipped_row = np.full((2, 2000), 0.9)
    skipped_row[1, 7] = np.nan  # query 1 (pid 5) has no gallery match at all
    with pytest.raises(ReidInputError, match="NaN"):
        evaluate(skipped_row, [1, 5], [1] + [2] * 1999, [0, 0], [1] * 2000, chunk_bytes=8000)
