"""Generation checks: catch a broken generator before DLCR training spends hours on its images.

The two checks of the generated images are ``check_specs`` of that asset: it evaluates them from
the plan the engine used and returns them with its materialization (no second plan, no re-read of
the tables). Both block: a failure stops DLCR training in the same run. The pixel check opens a
sample of images only, so it stays in the asset's step.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import json

import numpy as np
import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSpec, asset_check
from PIL import Image

from dagster_project.common import dataset_of, load_run_params, paths_for
from dagster_project.defs.data.partitions import dataset_partitions
from dagster_project.defs.generation.partitions import dataset_shard_partitions
from dagster_project.resources import ParamsResource
from dlcr_assets.generation.columnar import plan_column
from dlcr_reid.datasets.table import QUERY_SPLITS

PIXEL_SAMPLE = 12
COUNT_CHECK, PIXEL_CHECK = "generated_count_equals_expected", "pixels_outside_mask_unchanged"
GENERATED_IMAGES_CHECKS = [
    AssetCheckSpec(COUNT_CHECK, asset="generated_images", blocking=True, partitions_def=dataset_shard_partitions,
                   description='Every (source image, variant) of the shard produced an image ("ok" rows == planned).'),
    AssetCheckSpec(PIXEL_CHECK, asset="generated_images", blocking=True, partitions_def=dataset_shard_partitions,
                   description="On a sample of generated images, every pixel outside the clothes mask equals the source's."),
]


def _pixels_outside_mask_changed(row, mask_by_source: dict[str, str]) -> int:
    source = np.asarray(Image.open(row.source_path).convert("RGB"))
    generated = np.asarray(Image.open(row.path).convert("RGB"))
    mask = np.asarray(Image.open(mask_by_source[row.source_path]).convert("L")) > 0
    if generated.shape != source.shape:
        return int(source.shape[0] * source.shape[1])
    return int(np.any(generated != source, axis=-1)[~mask].sum())


def generated_images_check_results(manifest: pd.DataFrame, plan: list) -> list[AssetCheckResult]:
    """Both checks of one shard: ``manifest`` holds the shard's rows, ``plan`` what the engine planned."""
    expected = len(plan)  # train images of this shard with an ok mask, times variants_per_image
    ok_rows = manifest[manifest["status"] == "ok"]
    count = AssetCheckResult(check_name=COUNT_CHECK, passed=bool(len(ok_rows) == expected and expected > 0),
                             metadata={"expected": expected, "ok": len(ok_rows), "failed": int(len(manifest) - len(ok_rows))})
    mask_by_source = dict(zip(plan_column(plan, "source_path"), plan_column(plan, "mask_path")))
    sample = ok_rows.sample(n=min(PIXEL_SAMPLE, len(ok_rows)), random_state=0) if len(ok_rows) else ok_rows
    changed = {row.path: _pixels_outside_mask_changed(row, mask_by_source) for row in sample.itertuples()}
    bad = {path: n for path, n in changed.items() if n}
    pixels = AssetCheckResult(check_name=PIXEL_CHECK, passed=bool(len(sample) > 0 and not bad),
                              metadata={"sampled": len(sample), "images_with_changed_pixels": len(bad),
                                        "examples": json.dumps(dict(list(bad.items())[:3]))})
    return [count, pixels]


@asset_check(asset="query_variants", partitions_def=dataset_partitions, blocking=True)
def query_variants_complete(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """Every query with a usable mask has its K variants (refinement compares the same K outfits)."""
    run_params = load_run_params(params)
    paths = paths_for(run_params, dataset_of(context))
    manifest = pd.read_parquet(paths.query_variants)
    index = pd.read_parquet(paths.dataset_index)
    masks = pd.read_parquet(paths.clothing_masks)
    query_paths = set(index.loc[index["split"].isin(QUERY_SPLITS), "path"])
    usable = query_paths & set(masks.loc[masks["status"] == "ok", "path"])
    expected = len(usable) * int(run_params.generation.query_variants)
    ok = int(((manifest["status"] == "ok") & manifest["source_path"].isin(usable)).sum())
    return AssetCheckResult(passed=bool(ok == expected and expected > 0),
                            metadata={"queries": len(query_paths), "queries_with_mask": len(usable),
                                      "expected": expected, "ok": ok})
