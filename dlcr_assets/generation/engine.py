"""The generation engine: clothes-changed variants of every training image, resumable and shardable.

For each training image with an ``ok`` mask, ``variants_per_image`` target outfits are drawn from the
prompt pool (never the image's own outfit), each inpainted with a seed that depends only on
(dataset, image, variant, generation.seed), and pasted inside the mask: every pixel outside the mask
keeps the source value. Outputs: ``<out_dir>/<split>/<rel>_v<NN>.png`` plus manifest rows.

The phases live in their own modules: planning.py (what to make), resume.py (what is done, adopted
or stale, by fingerprint), running.py (reader thread + writer pool). ``generate_images`` (training
images, one shard) and ``generate_query_variants`` differ only in their plan; both end in
``_generate``. A caller that needs the plan too (to check the output against it) builds it with
``plan_generation`` / ``plan_query_variants`` and passes ``plan=``; the plan used is also left on
the returned manifest as ``manifest.plan`` (a plain attribute: not kept by slices, never saved); a plan
read from the plan cache is a ``ColumnarPlan`` (columnar.py).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.fingerprint import FileDigests
from dlcr_assets.generation.manifest import PartWriter, merge_manifest
from dlcr_assets.generation.planning import (PlannedImage, check_plan_matches, choose_query_outfits, dataset_name,
                                             plan_generation, plan_query_variants, shard_rows)
from dlcr_assets.generation.plan_cache import cached_plan
from dlcr_assets.generation.resume import digests_path, fingerprint_plan, split_done
from dlcr_assets.generation.running import composite_and_save, manifest_row, run_plan
from dlcr_assets.inpainting.base import Inpainter
from dlcr_assets.params.generation import GenerationParams

log = logging.getLogger(__name__)


def _backend(inpainter: Inpainter | None, params: GenerationParams, device: str) -> Inpainter:
    """The inpainter, loaded before anything is planned or written: an unloadable id fails first."""
    if inpainter is None:
        from dlcr_assets.inpainting import load_inpainter

        inpainter = load_inpainter(params, device)
    return inpainter


def _generate(plan: Sequence[PlannedImage], params: GenerationParams, out_dir: Path, manifest_path: Path,
              shard: tuple[int, int], device: str, dataset: str, inpainter: Inpainter | None, desc: str) -> pd.DataFrame:
    """The shared tail: load the backend, fingerprint, resume, run, merge; the merged manifest with its run summary."""
    inpainter = _backend(inpainter, params, device)
    digests = FileDigests(digests_path(out_dir, shard))
    fingerprint_plan(plan, inpainter, digests)
    split = split_done(plan, out_dir, manifest_path)
    writer = PartWriter(out_dir, shard)  # creates <out_dir>/manifest/shard-k-of-n/
    digests.save()
    if split.adopted:
        log.info("adopting %d images already on disk but missing from the manifest", len(split.adopted))
        writer.add([manifest_row(job, dataset, inpainter, "ok", None) for job in split.adopted])
        writer.flush()
    log.info("%s: %d planned, %d to do (%d stale)", desc, len(plan), len(split.pending), len(split.stale))
    stats = run_plan(split.pending, inpainter, params, writer, dataset, desc=desc)
    writer.compact()
    manifest = merge_manifest(out_dir, manifest_path)
    manifest.attrs["run"] = {"planned": len(plan), "generated": stats["ok"], "failed": stats["failed"],
                             "skipped": len(plan) - len(split.pending), "stale": len(split.stale),
                             "adopted": len(split.adopted), "images_per_s": stats["images_per_s"]}
    object.__setattr__(manifest, "plan", plan)  # not an attr: attrs are deep-copied by pandas and saved as JSON
    return manifest


def generate_images(index: pd.DataFrame, masks: pd.DataFrame, prompts: pd.DataFrame, params: GenerationParams,
                    out_dir: Path, manifest_path: Path, shard: tuple[int, int] = (0, 1), device: str = "auto",
                    dataset: str | None = None, inpainter: Inpainter | None = None,
                    plan: list[PlannedImage] | None = None) -> pd.DataFrame:
    """Generate this shard's variants of the training images; returns the merged manifest (all shards so far).

    ``inpainter`` overrides ``load_inpainter(params, device)`` (tests and benchmarks pass one in);
    ``plan`` is this shard's ``plan_generation(...)`` when the caller built it already; else the plan
    comes from the plan cache beside the manifest (plan_cache.py) or is planned and cached.
    ``manifest.attrs["run"]`` counts planned, generated, failed, skipped, stale and adopted images.
    """
    k, n = shard
    if not (0 <= k < n):
        raise StepInputError(f"shard {k}/{n} is out of range: k must satisfy 0 <= k < n")
    dataset = dataset_name(index, dataset)
    out_dir, manifest_path = Path(out_dir), Path(manifest_path)
    inpainter = _backend(inpainter, params, device)
    if plan is None:  # from <out_dir>/manifest/plan-k-of-n.parquet when nothing that shapes it changed
        plan = cached_plan(index, masks, prompts, params, out_dir, dataset, shard)
    else:
        check_plan_matches(plan, out_dir)
    return _generate(plan, params, out_dir, manifest_path, shard, device, dataset, inpainter,
                     desc=f"generate {dataset} [{k}/{n}]")


def generate_query_variants(index: pd.DataFrame, masks: pd.DataFrame, prompts: pd.DataFrame, params: GenerationParams,
                            out_dir: Path, manifest_path: Path, device: str = "auto", dataset: str | None = None,
                            inpainter: Inpainter | None = None, plan: list[PlannedImage] | None = None) -> pd.DataFrame:
    """K = ``query_variants`` views of every query image, all with the same K outfits (SPEC §1.7).

    Queries whose mask is not ok get failed rows saying so (evaluation then uses the views it has).
    ``plan`` is ``plan_query_variants(...)`` when the caller built it already.
    """
    dataset = dataset_name(index, dataset)
    out_dir, manifest_path = Path(out_dir), Path(manifest_path)
    if plan is None:
        plan = plan_query_variants(index, masks, prompts, params, out_dir, dataset)
    else:
        check_plan_matches(plan, out_dir)
    return _generate(plan, params, out_dir, manifest_path, (0, 1), device, dataset, inpainter,
                     desc=f"query variants {dataset}")


__all__ = ["PlannedImage", "choose_query_outfits", "composite_and_save", "generate_images", "generate_query_variants",
           "plan_generation", "plan_query_variants", "shard_rows", "split_done"]
