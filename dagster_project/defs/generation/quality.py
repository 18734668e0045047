"""Generation quality (issue 8): every generated image and query variant scored, kept or dropped, per dataset.

The asset runs ``dlcr_assets.steps.generation_quality`` once its inputs exist (the generated
images of every shard, the query variants, the baseline as reference model) and shows the counts
per reason and one histogram per score. Its check, evaluated from the table it just wrote, warns
when the kept fraction falls below ``quality.min_kept_fraction``; with
``quality.block_training_below`` it fails with ERROR severity, which (the check being blocking)
stops DLCR training and evaluation in the same run.
"""
# No `from __future__ import annotations`: Dagster reads the annotations as real types.

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetDep, AssetExecutionContext,
                     AutomationCondition, MaterializeResult, MetadataValue, asset)

from dagster_project.common import dataset_of, load_run_params, timed
from dagster_project.defs.data.partitions import dataset_partitions
from dagster_project.defs.generation.assets import GENERATION_GROUP, PER_DATASET
from dagster_project.execution import GPU_POOL, GPU_TAGS
from dagster_project.resources import DeviceResource, ParamsResource

KEPT_CHECK = "kept_fraction_above_minimum"
QUALITY_CHECKS = [AssetCheckSpec(
    KEPT_CHECK, asset="generation_quality", blocking=True, partitions_def=dataset_partitions,
    description="The kept fraction of scored generated images is at least quality.min_kept_fraction "
                "(fails as an ERROR, so DLCR training does not start, with quality.block_training_below).")]


def kept_fraction_check(quality, section) -> AssetCheckResult:
    """The check of one scored table: passes at or above ``section.min_kept_fraction``; ERROR when it blocks."""
    scored = len(quality)
    kept = int(quality["kept"].sum()) if scored else 0
    fraction = kept / scored if scored else 0.0
    return AssetCheckResult(check_name=KEPT_CHECK, passed=bool(scored and fraction >= section.min_kept_fraction),
                            severity=AssetCheckSeverity.ERROR if section.block_training_below else AssetCheckSeverity.WARN,
                            metadata={"scored": scored, "kept": kept, "kept_fraction": round(fraction, 4),
                                      "min_kept_fraction": section.min_kept_fraction,
                                      "blocks_training": section.block_training_below})


def _reasons_md(quality) -> str:
    """Rows per manifest: scored, kept, and dropped per reason (a row with two reasons counts in both)."""
    from dlcr_assets.quality import REASONS, reason_counts

    lines = ["| manifest | scored | kept | " + " | ".join(REASONS) + " |", "|---|---|---|" + "---|" * len(REASONS)]
    groups = quality.groupby("manifest", sort=False) if "manifest" in quality and len(quality) else [("all", quality)]
    for name, rows in groups:
        counts = reason_counts(rows) if len(rows) else {"kept": 0, **{r: 0 for r in REASONS}}
        lines.append(f"| {name} | {len(rows)} | {counts['kept']} | " + " | ".join(str(counts[r]) for r in REASONS) + " |")
    return "\n".join(lines)


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_partitions,
       deps=[AssetDep("generated_images", partition_mapping=PER_DATASET), "query_variants", "reid_checkpoint_baseline",
             "clothing_masks"],
       check_specs=QUALITY_CHECKS, automation_condition=AutomationCondition.eager(),
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})  # the reference model's features
def generation_quality(context: AssetExecutionContext, params: ParamsResource, device: DeviceResource) -> MaterializeResult:
    """Identity, clothes change, noise and leakage of every generated image -> data/generation_quality/<name>.parquet."""
    from PIL import Image

    from dlcr_assets import steps
    from dlcr_assets.quality import reason_counts
    from dlcr_assets.report import markdown_image

    run_params = load_run_params(params)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.generation_quality(run_params, name, device.device)
    quality, section = run.result, run_params.quality
    counts = reason_counts(quality) if len(quality) else {"kept": 0}
    metadata = {
        "table": MetadataValue.path(str(run.paths.generation_quality.resolve())),
        "reference_checkpoint": MetadataValue.path(str(run.extra["checkpoint"])),
        "scored": len(quality), "kept": counts["kept"], "dropped": len(quality) - counts["kept"],
        **{f"dropped_{reason}": n for reason, n in counts.items() if reason != "kept"},
        "filter": section.filter,
        "reasons": MetadataValue.md(_reasons_md(quality)),
        "features_extracted": quality.attrs.get("run", {}).get("features_extracted", 0),
        "seconds": clock["seconds"],
    }
    for score, path in run.extra["histograms"].items():
        with Image.open(path) as image:
            metadata[f"histogram_{score}"] = MetadataValue.md(markdown_image(image.convert("RGB"), score))
    return MaterializeResult(metadata=metadata, check_results=[kept_fraction_check(quality, section)])
