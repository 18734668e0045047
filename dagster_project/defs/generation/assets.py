"""Generation assets: generated images (one dataset shard per partition) and the query variants.

The generated images' blocking checks are declared on the asset (``check_specs``) and evaluated
from the plan the engine used (``manifest.plan``), so one materialization plans its shard once.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

from dagster import (AssetDep, AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue,
                     MultiToSingleDimensionPartitionMapping, asset)

from dagster_project.common import dataset_of, load_run_params, log_to_mlflow, timed
from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME, dataset_partitions
from dagster_project.defs.generation.checks import GENERATED_IMAGES_CHECKS, generated_images_check_results
from dagster_project.defs.generation.partitions import dataset_shard_partitions, shard_of
from dagster_project.execution import GPU_POOL, GPU_TAGS
from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource

GENERATION_GROUP = "generation"
PER_DATASET = MultiToSingleDimensionPartitionMapping(DATASET_PARTITIONS_NAME)


@asset(
    group_name=GENERATION_GROUP,
    partitions_def=dataset_shard_partitions,
    deps=[AssetDep("clothing_masks", partition_mapping=PER_DATASET),
          AssetDep("clothing_prompts", partition_mapping=PER_DATASET)],
    check_specs=GENERATED_IMAGES_CHECKS,
    pool=GPU_POOL,
    op_tags=GPU_TAGS,
    # a new mask/prompt table for a dataset regenerates all its shards (needs the daemon running)
    automation_condition=AutomationCondition.eager(),
    kinds={"pytorch", "png"},
)
def generated_images(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                     device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """Training images repainted with other outfits inside the clothes mask (one shard of a dataset)."""
    from dlcr_assets import steps
    from dlcr_assets.generation import shard_rows
    from dlcr_assets.report import markdown_image, sample_grid

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    shard, shards = shard_of(context, run_params)
    with timed() as clock:
        run = steps.generated_images(run_params, name, (shard, shards), device.device)
    merged, paths, plan = run.result, run.paths, run.result.plan
    manifest = shard_rows(merged, plan)
    ok = int((manifest["status"] == "ok").sum())
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "shard": f"{shard}/{shards}", "backend": run_params.generation.backend,
                              "steps": run_params.generation.steps, "variants_per_image": run_params.generation.variants_per_image},
                             {"generated": ok, "failed": len(manifest) - ok, "seconds": clock["seconds"],
                              "images_per_s": ok / max(clock["seconds"], 1e-6)})
    return MaterializeResult(metadata={
        "shard_manifest_parts": MetadataValue.path(str(paths.generated_images_shard_parts(shard, shards).resolve())),
        "manifest": MetadataValue.path(str(paths.generated_images.resolve())),
        "folder": MetadataValue.path(str(paths.generated_images_dir.resolve())),
        "generated": ok,
        "failed": len(manifest) - ok,
        "source_images": int(manifest["source_path"].nunique()) if len(manifest) else 0,
        "rows_in_merged_manifest": len(merged),
        "samples": MetadataValue.md("left: real image; right: generated variants\n\n"
                                    + markdown_image(sample_grid(manifest, max_sources=4), "source vs generated")),
        "seconds": clock["seconds"], **tracking,
    }, check_results=generated_images_check_results(manifest, plan))


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_partitions, deps=["clothing_masks", "clothing_prompts"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "png"})
def query_variants(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                   device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """K clothing variants of every query with the same K outfits, for test-time refinement."""
    from dlcr_assets import steps
    from dlcr_assets.report import markdown_image, sample_grid

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.query_variants(run_params, name, device.device)
    manifest, paths = run.result, run.paths
    ok = int((manifest["status"] == "ok").sum())
    tracking = log_to_mlflow(context, mlflow, run_params.tracking, {"dataset": name},
                             {"query_variants": ok, "seconds": clock["seconds"]})
    return MaterializeResult(metadata={
        "manifest": MetadataValue.path(str(paths.query_variants.resolve())),
        "generated": ok,
        "failed": len(manifest) - ok,
        "queries": int(manifest["source_path"].nunique()) if len(manifest) else 0,
        "samples": MetadataValue.md(markdown_image(sample_grid(manifest, max_sources=3), "query variants")),
        "seconds": clock["seconds"], **tracking,
    })
