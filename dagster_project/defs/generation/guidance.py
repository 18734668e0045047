"""Discriminator guidance (SPEC §1.5): the real-vs-generated classifier and the guided pass.

Both are materialized on request (no automation): a guided pass only means something with
``generation.discriminator_guidance.enabled`` and a diffusers backend, and while guidance is on,
DLCR training reads the guided manifest (``dlcr_assets.steps.reid_checkpoint``).
"""
# No `from __future__ import annotations`: Dagster reads the annotations as real types.

from dagster import AssetDep, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from dagster_project.common import dataset_of, load_run_params, log_to_mlflow, timed
from dagster_project.defs.data.partitions import dataset_partitions
from dagster_project.defs.generation.assets import GENERATION_GROUP, PER_DATASET
from dagster_project.defs.generation.partitions import dataset_shard_partitions, shard_of
from dagster_project.execution import GPU_POOL, GPU_TAGS
from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_partitions,
       deps=[AssetDep("generated_images", partition_mapping=PER_DATASET)],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "safetensors"})
def discriminator(context: AssetExecutionContext, params: ParamsResource, device: DeviceResource,
                  mlflow: MlflowResource) -> MaterializeResult:
    """Real-vs-generated classifier on the inpainting pipeline's latents -> data/discriminator/<name>/."""
    from dlcr_assets import steps

    run_params = load_run_params(params)
    name = dataset_of(context)
    # our run (Dagster tags) is the parent; the discriminator logs its epochs in a child run
    with timed() as clock, mlflow.run(context, run_params.tracking, run_name=f"{name}-discriminator"):
        run = steps.discriminator(run_params, name, device.device)
    result = run.result
    return MaterializeResult(metadata={
        "folder": MetadataValue.path(str(run.paths.discriminator_dir.resolve())),
        "heldout_accuracy": float(result.heldout_accuracy), "train_pairs": result.train_pairs,
        "heldout_pairs": result.heldout_pairs, "final_loss": float(result.history[-1]["loss"]),
        "mlflow_run_id": result.run_id or "", "seconds": clock["seconds"]})


@asset(group_name=GENERATION_GROUP, partitions_def=dataset_shard_partitions,
       deps=[AssetDep("discriminator", partition_mapping=PER_DATASET),
             AssetDep("clothing_masks", partition_mapping=PER_DATASET),
             AssetDep("clothing_prompts", partition_mapping=PER_DATASET)],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "png"})
def guided_images(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                  device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """The guided pass of one shard: its own seeds and folder, never over the first pass."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    shard, shards = shard_of(context, run_params)
    with timed() as clock:
        run = steps.guided_images(run_params, name, (shard, shards), device.device)
    manifest = run.result
    ok = int((manifest["status"] == "ok").sum())
    tracking = log_to_mlflow(context, mlflow, run_params.tracking, {"dataset": name, "shard": f"{shard}/{shards}"},
                             {"generated": ok, "failed": len(manifest) - ok, "seconds": clock["seconds"]})
    return MaterializeResult(metadata={"manifest": MetadataValue.path(str(run.paths.guided_images.resolve())),
                                       "folder": MetadataValue.path(str(run.paths.guided_images_dir.resolve())),
                                       "generated": ok, "failed": len(manifest) - ok,
                                       "seconds": clock["seconds"], **tracking})
