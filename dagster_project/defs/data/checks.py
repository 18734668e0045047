"""Data checks: a bad mask table stops generation before a GPU spends hours on it (blocking)."""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from dagster_project.common import dataset_of, load_run_params, paths_for
from dagster_project.defs.data.partitions import dataset_partitions
from dagster_project.resources import ParamsResource

# Masks outside masks.{min,max}_coverage are parsing failures (nothing to repaint, or the whole
# person); a few are tolerated, many mean the parser or the label scheme is wrong.
MIN_OK_FRACTION = 0.9


@asset_check(asset="clothing_masks", partitions_def=dataset_partitions, blocking=True)
def mask_coverage_within_bounds(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """At least 90% of masks are usable and every usable mask's coverage is within masks.{min,max}_coverage."""
    run_params = load_run_params(params)
    low, high = run_params.masks.min_coverage, run_params.masks.max_coverage
    masks = pd.read_parquet(paths_for(run_params, dataset_of(context)).clothing_masks)
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
