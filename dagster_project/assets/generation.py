"""Generation assets: descriptions -> prompts -> masks -> generated images (dataset x shard), query variants.

GPU steps sit in the `gpu` pool (one at a time per Dagster instance) and carry the tag the
multiprocess executor limits; each asset calls the one library function of its step.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import pandas as pd
from dagster import AssetDep, AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, MultiToSingleDimensionPartitionMapping, asset

from dagster_project.assets.common import (
    GPU_POOL,
    GPU_TAGS,
    counts_md,
    dataset_of,
    load_run_params,
    log_to_mlflow,
    paths_for,
    table_md,
    timed,
)
from dagster_project.partitions import dataset_partitions, dataset_shard_partitions
from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource

GENERATION_GROUP = "generation"


def _load(path, what: str) -> pd.DataFrame:
    from dlcr_reid.io import load_table

    return load_table(path, what)


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_partitions, deps=["dataset_index"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})
def clothing_descriptions(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                          device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """One answer per training image to "What clothes is the person wearing?" (data/descriptions/<name>.parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.descriptions(run_params, name, device.device)
    descriptions, paths = run.result, run.paths
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "backend": run_params.descriptions.backend},
                             {"descriptions": len(descriptions), "seconds": clock["seconds"]})
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(paths.descriptions.resolve())),
        "rows": len(descriptions),
        "backend": run_params.descriptions.backend,
        "preview": table_md(descriptions[["pid", "clothes_id", "answer"]], 8),
        "seconds": clock["seconds"], **tracking,
    })


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_partitions, deps=["clothing_descriptions"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})
def clothing_prompts(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                     device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """The outfit prompt pool: one prompt per training outfit (+ novel ones) (data/prompts/<name>.parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.prompts(run_params, name, device.device)
    prompts, paths = run.result, run.paths
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "backend": run_params.prompts.backend},
                             {"prompts": len(prompts), "seconds": clock["seconds"]})
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(paths.prompts.resolve())),
        "rows": len(prompts),
        "rows_per_source": counts_md(prompts["source"], "source"),
        "preview": table_md(prompts[["outfit_key", "source", "prompt"]], 8),
        "seconds": clock["seconds"], **tracking,
    })


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_partitions, deps=["dataset_index"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})
def clothing_masks(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                   device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """Binary clothes masks (0/255) per image from human parsing (data/masks/<name>/ + .parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.masks(run_params, name, device.device)
    masks, paths = run.result, run.paths
    ok = masks[masks["status"] == "ok"]
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "backend": run_params.masks.backend},
                             {"masks": len(masks), "masks_ok": len(ok), "seconds": clock["seconds"],
                              "mean_coverage": float(ok["coverage"].mean()) if len(ok) else 0.0})
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(paths.masks.resolve())),
        "folder": MetadataValue.path(str(paths.masks_dir.resolve())),
        "rows": len(masks),
        "rows_per_status": counts_md(masks["status"], "status"),
        "mean_coverage": round(float(ok["coverage"].mean()), 4) if len(ok) else 0.0,
        "seconds": clock["seconds"], **tracking,
    })


def shard_plan(run_params, name: str, shard: int, shards: int) -> list:
    """The (source image, variant) jobs of one shard, as the engine plans them."""
    from dlcr_assets.generation import plan_generation

    paths = paths_for(run_params, name)
    return plan_generation(_load(paths.index, "dataset index"), _load(paths.masks, "clothing masks"),
                           _load(paths.prompts, "clothing prompts"), run_params.generation, paths.generated_dir,
                           name, (shard, shards))


def shard_rows(manifest: pd.DataFrame, plan: list) -> pd.DataFrame:
    """The manifest rows of one shard (the engine's manifest holds every shard generated so far)."""
    wanted = {(job.source_path, job.variant) for job in plan}
    keep = [(s, int(v)) in wanted for s, v in zip(manifest["source_path"], manifest["variant"])]
    return manifest[keep]


@asset(
    group_name=GENERATION_GROUP,
    partitions_def=dataset_shard_partitions,
    deps=[
        AssetDep("clothing_masks", partition_mapping=MultiToSingleDimensionPartitionMapping("dataset")),
        AssetDep("clothing_prompts", partition_mapping=MultiToSingleDimensionPartitionMapping("dataset")),
    ],
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
    from dlcr_assets.report import markdown_image, sample_grid

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    shard = int(context.partition_key.keys_by_dimension["shard"])
    shards = int(run_params.generation.shards)
    if shard >= shards:
        raise ValueError(f"shard {shard} is outside params.generation.shards={shards}: reload the definitions")
    with timed() as clock:
        run = steps.generation(run_params, name, (shard, shards), device.device)
    manifest, paths = run.result, run.paths
    merged, manifest = manifest, shard_rows(manifest, shard_plan(run_params, name, shard, shards))
    ok = int((manifest["status"] == "ok").sum())
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "shard": f"{shard}/{shards}", "backend": run_params.generation.backend,
                              "steps": run_params.generation.steps, "variants_per_image": run_params.generation.variants_per_image},
                             {"generated": ok, "failed": len(manifest) - ok, "seconds": clock["seconds"],
                              "images_per_second": ok / max(clock["seconds"], 1e-6)})
    return MaterializeResult(metadata={
        "shard_manifest_parts": MetadataValue.path(str(paths.generated_shard_parts(shard, shards).resolve())),
        "manifest": MetadataValue.path(str(paths.generated.resolve())),
        "folder": MetadataValue.path(str(paths.generated_dir.resolve())),
        "generated": ok,
        "failed": len(manifest) - ok,
        "source_images": int(manifest["source_path"].nunique()) if len(manifest) else 0,
        "rows_in_merged_manifest": len(merged),
        "samples": MetadataValue.md("left: real image; right: generated variants\n\n"
                                    + markdown_image(sample_grid(manifest, max_sources=4), "source vs generated")),
        "seconds": clock["seconds"], **tracking,
    })


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
