"""The plan cache: a rerun or a shard reads its plan back; any input or setting that shapes it makes it stale."""
from __future__ import annotations

import logging
from pathlib import Path

from dlcr_assets.generation import generate_images, plan_generation
from dlcr_assets.generation.columnar import ColumnarPlan
from dlcr_assets.generation.plan_cache import cached_plan, plan_path
from dlcr_assets.inpainting.recolor import RecolorInpainter
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from tiny_vision_models import make_tiny_dataset


def _tables(tmp_path: Path):
    index, prompts = make_tiny_dataset(tmp_path / "raw")
    masks = make_clothing_masks(index, MasksParams(min_coverage=0.0, max_coverage=1.0), tmp_path / "masks")
    return index, masks, prompts


def test_plan_is_cached_per_shard_and_replanned_when_an_input_changes(tmp_path: Path, caplog):
    index, masks, prompts = _tables(tmp_path)
    params, out = GenerationParams(variants_per_image=3), tmp_path / "generated"
    caplog.set_level(logging.INFO, logger="dlcr_assets.generation.plan_cache")
    first = cached_plan(index, masks, prompts, params, out, "tiny")
    assert plan_path(out, (0, 1)).is_file() and first == plan_generation(index, masks, prompts, params, out, "tiny")
    caplog.clear()
    again = cached_plan(index, masks, prompts, params, out, "tiny")
    assert again == first and "read from" in caplog.text

    shard = cached_plan(index, masks, prompts, params, out, "tiny", (1, 2))
    assert plan_path(out, (1, 2)).is_file() and shard == plan_generation(index, masks, prompts, params, out, "tiny", (1, 2))

    caplog.clear()
    edited = prompts.copy()
    edited.loc[0, "prompt"] = "green coat, white trousers"
    replanned = cached_plan(index, masks, edited, params, out, "tiny")
    assert "stale" in caplog.text and replanned == plan_generation(index, masks, edited, params, out, "tiny")
    assert replanned != first
    more = cached_plan(index, masks, edited, GenerationParams(variants_per_image=4), out, "tiny")
    assert len(more) == len(first) // 3 * 4
    failed_mask = masks.copy()
    failed_mask.loc[0, "status"] = "failed"
    assert len(cached_plan(index, failed_mask, edited, params, out, "tiny")) == len(first) - 3


def test_the_engine_uses_the_cache_and_a_broken_cache_is_replanned(tmp_path: Path):
    index, masks, prompts = _tables(tmp_path)
    params, out = GenerationParams(variants_per_image=2), tmp_path / "generated"
    manifest = generate_images(index, masks, prompts, params, out, tmp_path / "m.parquet", inpainter=RecolorInpainter())
    assert plan_path(out, (0, 1)).is_file() and manifest.attrs["run"]["generated"] == len(manifest.plan)
    plan_path(out, (0, 1)).write_bytes(b"not parquet")
    rerun = generate_images(index, masks, prompts, params, out, tmp_path / "m.parquet", inpainter=RecolorInpainter())
    assert rerun.attrs["run"]["skipped"] == len(rerun.plan) and rerun.plan == manifest.plan


def test_a_cached_plan_is_columnar_and_a_resume_makes_objects_only_for_the_missing_images(tmp_path: Path):
    index, masks, prompts = _tables(tmp_path)
    params, out = GenerationParams(variants_per_image=2), tmp_path / "generated"
    first = generate_images(index, masks, prompts, params, out, tmp_path / "m.parquet", inpainter=RecolorInpainter())
    cached = cached_plan(index, masks, prompts, params, out, "tiny")
    fresh = plan_generation(index, masks, prompts, params, out, "tiny")  # unfingerprinted, as the cache holds it
    assert isinstance(cached, ColumnarPlan) and cached == fresh and len(cached) == len(first.plan)
    assert cached[-1] == fresh[-1] and cached[1:3] == fresh[1:3] and list(cached) == fresh
    assert [(job.path, job.prompt, job.seed) for job in cached] == [(job.path, job.prompt, job.seed) for job in first.plan]
    removed = [first.plan[0].path, first.plan[-1].path]
    for path in removed:
        Path(path).unlink()
    rerun = generate_images(index, masks, prompts, params, out, tmp_path / "m.parquet", inpainter=RecolorInpainter())
    assert isinstance(rerun.plan, ColumnarPlan)
    assert rerun.attrs["run"]["generated"] == 2 and rerun.attrs["run"]["skipped"] == len(cached) - 2
    assert all(Path(path).is_file() for path in removed)
    # the columnar plan carries the fingerprints the engine set: the rows written match the others'
    rows = rerun.set_index("path").loc[removed, "fingerprint"]
    assert rows.notna().all() and set(rows) <= set(rerun["fingerprint"])
