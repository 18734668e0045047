"""Test-time prediction refinement on a hand-built case whose scores are worked out below."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcr_reid.evaluation.refinement import refine_distances, select_variant_rows, stack_views

# Gallery (unit vectors) and identities:
#   g0 = (1, 0, 0)        pid 10
#   g1 = (0.6, 0.8, 0)    pid 20
#   g2 = (0, 1, 0)        pid 30
#   g3 = (0.28, 0, 0.96)  pid 30
GALLERY = np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 1, 0], [0.28, 0, 0.96]], dtype=np.float32)
G_PIDS = np.array([10, 20, 30, 30])
QUERY = np.array([[1, 0, 0]], dtype=np.float32)
# two variant views: v1 = (0, 1, 0), v2 = (0.6, 0.8, 0)
VIEWS = np.array([[[0, 1, 0], [0.6, 0.8, 0]]], dtype=np.float32)


def test_fusion_and_raised_entries():
    distances, top1 = refine_distances(QUERY, VIEWS, GALLERY, G_PIDS, top_k=2)
    # s = cos + 1.  original view: g0 2, g1 1.6, g2 1, g3 1.28
    #   identity scores (max): s0(10)=2, s0(20)=1.6, s0(30)=1.28 -> candidates (top 2) {10, 20}
    # v1: g0 1, g1 1.8, g2 2, g3 1 -> ids 10:1, 20:1.8, 30:2 ; top2 {30, 20}; max 2
    #   bonus 20: 1.8^2 / 2 = 1.62 ; 10 not in top2: 0
    # v2: g0 1.6, g1 2, g2 1.8, g3 1.168 -> ids 10:1.6, 20:2, 30:1.8 ; top2 {20, 30}; max 2
    #   bonus 20: 2^2 / 2 = 2 ; 10: 0
    # S(10) = 2 ; S(20) = 1.6 + 1.62 + 2 = 5.22 -> fused top-1 is 20
    assert top1.tolist() == [20]
    # the 2 best original entries g0 (2) and g1 (1.6) are raised:
    #   g0 -> max(S(10)=2, 2) = 2 ; g1 -> max(S(20)=5.22, 1.6) = 5.22 ; others keep s0
    # distance = 2 - s: g0 0, g1 -3.22, g2 1, g3 0.72
    np.testing.assert_allclose(distances, [[0.0, -3.22, 1.0, 0.72]], atol=1e-5)


def test_masked_view_is_left_out():
    distances, top1 = refine_distances(QUERY, VIEWS, GALLERY, G_PIDS, top_k=2, view_mask=[[True, False]])
    # only v1 counts: S(20) = 1.6 + 1.62 = 3.22 -> g1 distance 2 - 3.22 = -1.22
    assert top1.tolist() == [20]
    np.testing.assert_allclose(distances, [[0.0, -1.22, 1.0, 0.72]], atol=1e-5)


def test_query_without_views_keeps_its_row():
    distances, _ = refine_distances(QUERY, VIEWS, GALLERY, G_PIDS, top_k=2, view_mask=[[False, False]])
    np.testing.assert_allclose(distances, 1 - QUERY @ GALLERY.T, atol=1e-6)


def test_excluded_entries_take_no_part():
    distances, top1 = refine_distances(QUERY, VIEWS, GALLERY, G_PIDS, top_k=2, excluded=(np.array([0]), np.array([1])))
    # g1 (the only pid-20 item) excluded: s0 ids 10:2, 30:1.28 -> candidates {10, 30}
    # v1: g0 1, g2 2, g3 1 -> ids 10:1, 30:2 ; top2 {30, 10}; max 2 -> bonus 10: 0.5, 30: 2
    # v2: g0 1.6, g2 1.8, g3 1.168 -> ids 10:1.6, 30:1.8 ; max 1.8 -> 10: 2.56/1.8, 30: 3.24/1.8 = 1.8
    s10 = 2 + 0.5 + 2.56 / 1.8  # 3.9222
    s30 = 1.28 + 2 + 1.8  # 5.08
    assert top1.tolist() == [30]
    # best 2 non-excluded entries: g0 (2) -> S(10); g3 (1.28) -> S(30); g2 keeps 1; g1 is out (inf)
    np.testing.assert_allclose(distances[0, [0, 2, 3]], [2 - s10, 1.0, 2 - s30], atol=1e-5)
    assert np.isinf(distances[0, 1])


def test_vectorised_over_query_chunks():
    rng = np.random.default_rng(3)
    query, views = rng.standard_normal((9, 6)), rng.standard_normal((9, 3, 6))
    gallery, g_pids = rng.standard_normal((20, 6)), rng.integers(0, 7, 20)
    whole, top_whole = refine_distances(query, views, gallery, g_pids, chunk_rows=100)
    parts, top_parts = refine_distances(query, views, gallery, g_pids, chunk_rows=2)
    np.testing.assert_allclose(whole, parts, atol=1e-6)  # matmul blocking may differ in the last bit
    np.testing.assert_array_equal(top_whole, top_parts)
    # one query alone gives the same row as inside the batch
    single, _ = refine_distances(query[4:5], views[4:5], gallery, g_pids)
    np.testing.assert_allclose(single[0], whole[4], atol=1e-6)


def test_views_from_manifest_and_mapping():
    manifest = pd.DataFrame(
        {
            "source_path": ["/q/a.png", "/q/a.png", "/q/a.png", "/q/b.png", "/q/c.png"],
            "variant": [0, 1, 2, 1, 0],
            "path": ["/v/a0.png", "/v/a1.png", "/v/a2.png", "/v/b1.png", "/v/c0.png"],
            "status": ["ok", "ok", "ok", "ok", "failed"],
        }
    )
    rows = select_variant_rows(manifest, ["/q/a.png", "/q/b.png", "/q/c.png"], views=2)
    # variants 0 and 1 are the two shared target outfits; a2 is past K=2, c0 failed
    assert sorted(zip(rows["path"], rows["slot"])) == [("/v/a0.png", 0), ("/v/a1.png", 1), ("/v/b1.png", 1)]
    stacked, mask = stack_views(["/q/a.png", "/q/x.png"], {"/q/a.png": np.ones((1, 4))}, views=2, dim=4)
    assert stacked.shape == (2, 2, 4) and mask.tolist() == [[True, False], [False, False]]
    with pytest.raises(ValueError, match="lacks columns"):
        select_variant_rows(manifest.drop(columns="status"), ["/q/a.png"], views=2)
