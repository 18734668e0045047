"""Asset checks: catch a bad mask table or a broken generator before a GPU spends hours on it.

Blocking checks stop downstream assets of the same run (masks -> generation, generation ->
training); the report check only warns, nothing expensive follows it.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import json

import numpy as np
import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check
from PIL import Image

from dagster_project.assets.common import dataset_of, load_run_params, paths_for
from dagster_project.assets.generation import clothing_masks, generated_images, query_variants
from dagster_project.assets.reid import MODES, evaluation_reports, report_path
from dagster_project.partitions import dataset_partitions, dataset_shard_partitions
from dagster_project.resources import ParamsResource
from dlcr_reid.datasets.table import QUERY_SPLITS

# Masks outside masks.{min,max}_coverage are parsing failures (nothing to repaint, or the whole
# person); a few are tolerated, many mean the parser or the label scheme is wrong.
MIN_OK_FRACTION = 0.9
PIXEL_SAMPLE = 12


@asset_check(asset=clothing_masks, partitions_def=dataset_partitions, blocking=True)
def mask_coverage_within_bounds(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """At least 90% of masks are usable and every usable mask's coverage is within masks.{min,max}_coverage."""
    run_params = load_run_params(params)
    low, high = run_params.masks.min_coverage, run_params.masks.max_coverage
    masks = pd.read_parquet(paths_for(run_params, dataset_of(context)).masks)
    ok = masks[masks["status"] == "ok"]
    ok_fraction = len(ok) / max(len(masks), 1)
    out_of_bounds = ok[(ok["coverage"] < low) | (ok["coverage"] > high)]
    passed = len(masks) > 0 and ok_fraction >= MIN_OK_FRACTION and out_of_bounds.empty
    return AssetCheckResult(
        passed=bool(passed),
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "masks": len(masks),
            "ok_fraction": round(ok_fraction, 4),
            "coverage_min": float(ok["coverage"].min()) if len(ok) else 0.0,
            "coverage_max": float(ok["coverage"].max()) if len(ok) else 0.0,
            "out_of_bounds": len(out_of_bounds),
            "bounds": f"[{low}, {high}], ok fraction >= {MIN_OK_FRACTION}",
        },
    )


def _shard_manifest_and_plan(context, run_params) -> tuple[pd.DataFrame, list]:
    from dagster_project.assets.generation import shard_plan, shard_rows

    name = dataset_of(context)
    shard = int(context.partition_key.keys_by_dimension["shard"])
    plan = shard_plan(run_params, name, shard, int(run_params.generation.shards))
    manifest = pd.read_parquet(paths_for(run_params, name).generated)
    return shard_rows(manifest, plan), plan


@asset_check(asset=generated_images, partitions_def=dataset_shard_partitions, blocking=True)
def generated_count_equals_expected(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """Every (source image, variant) of the shard produced an image ("ok" rows == expected)."""
    run_params = load_run_params(params)
    manifest, plan = _shard_manifest_and_plan(context, run_params)
    # the plan: train images of this shard with an ok mask, times variants_per_image
    expected = len(plan)
    ok = int((manifest["status"] == "ok").sum())
    return AssetCheckResult(passed=bool(ok == expected and expected > 0),
                            metadata={"expected": expected, "ok": ok, "failed": int(len(manifest) - ok)})


def _pixels_outside_mask_changed(row, mask_by_source: dict[str, str]) -> int:
    source = np.asarray(Image.open(row.source_path).convert("RGB"))
    generated = np.asarray(Image.open(row.path).convert("RGB"))
    mask = np.asarray(Image.open(mask_by_source[row.source_path]).convert("L")) > 0
    if generated.shape != source.shape:
        return int(source.shape[0] * source.shape[1])
    return int(np.any(generated != source, axis=-1)[~mask].sum())


@asset_check(asset=generated_images, partitions_def=dataset_shard_partitions, blocking=True)
def pixels_outside_mask_unchanged(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """On a sample of generated images, every pixel outside the clothes mask equals the source's."""
    run_params = load_run_params(params)
    manifest, _ = _shard_manifest_and_plan(context, run_params)
    masks = pd.read_parquet(paths_for(run_params, dataset_of(context)).masks)
    mask_by_source = dict(zip(masks["path"], masks["mask_path"]))
    ok = manifest[manifest["status"] == "ok"]
    sample = ok.sample(n=min(PIXEL_SAMPLE, len(ok)), random_state=0) if len(ok) else ok
    changed = {row.path: _pixels_outside_mask_changed(row, mask_by_source) for row in sample.itertuples()}
    bad = {path: count for path, count in changed.items() if count}
    return AssetCheckResult(passed=bool(len(sample) > 0 and not bad),
                            metadata={"sampled": len(sample), "images_with_changed_pixels": len(bad),
                                      "examples": json.dumps(dict(list(bad.items())[:3]))})


@asset_check(asset=query_variants, partitions_def=dataset_partitions, blocking=True)
def query_variants_complete(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """Every query with a usable mask has its K variants (refinement compares the same K outfits)."""
    run_params = load_run_params(params)
    paths = paths_for(run_params, dataset_of(context))
    manifest = pd.read_parquet(paths.query_variants)
    index = pd.read_parquet(paths.index)
    masks = pd.read_parquet(paths.masks)
    query_paths = set(index.loc[index["split"].isin(QUERY_SPLITS), "path"])
    usable = query_paths & set(masks.loc[masks["status"] == "ok", "path"])
    expected = len(usable) * int(run_params.generation.query_variants)
    ok = int(((manifest["status"] == "ok") & manifest["source_path"].isin(usable)).sum())
    return AssetCheckResult(passed=bool(ok == expected and expected > 0),
                            metadata={"queries": len(query_paths), "queries_with_mask": len(usable),
                                      "expected": expected, "ok": ok})


def missing_report_keys(report: dict, refined: bool) -> list[str]:
    """Which of the numbers the comparison needs a report lacks (per the dataset's protocols)."""
    from dlcr_reid.evaluation import PROTOCOLS

    offered = {p.name for p in PROTOCOLS.get(str(report.get("format")), PROTOCOLS["ltcc"])}
    needed = [name for name in ("general", "cc") if name in offered]
    needed += ["cc_refined"] if refined and "cc" in offered else []
    missing = []
    for name in needed:
        block = report.get("protocols", {}).get(name)
        if not isinstance(block, dict) or "error" in block:
            missing.append(f"{name}: {block.get('error') if isinstance(block, dict) else 'absent'}")
            continue
        missing += [f"{name}.{key}" for key in ("top1", "mAP") if not isinstance(block.get(key), (int, float))]
    return missing


@asset_check(asset=evaluation_reports, partitions_def=dataset_partitions)
def evaluation_report_complete(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """Both reports exist with general and CC top-1/mAP, and the DLCR one has the refined CC numbers."""
    run_params = load_run_params(params)
    paths = paths_for(run_params, dataset_of(context))
    problems: list[str] = []
    for mode in MODES:
        path = report_path(paths, mode)
        if not path.is_file():
            problems.append(f"{path} missing")
            continue
        missing = missing_report_keys(json.loads(path.read_text()), refined=(mode == "dlcr"))
        problems += [f"{mode}: {m}" for m in missing]
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.WARN,
                            metadata={"problems": "; ".join(problems) or "none"})


ALL_CHECKS = [
    mask_coverage_within_bounds,
    generated_count_equals_expected,
    pixels_outside_mask_unchanged,
    query_variants_complete,
    evaluation_report_complete,
]
