"""Data assets: the embedded synthetic dataset, then per dataset its index, descriptions, prompts and masks.

GPU steps sit in the `gpu` pool (one at a time per Dagster instance) and carry the tag the
multiprocess executor limits; each asset calls the one function of its step in dlcr_assets.steps.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from dagster_project.common import counts_md, dataset_of, load_run_params, log_to_mlflow, table_md, timed
from dagster_project.defs.data.partitions import dataset_partitions
from dagster_project.execution import GPU_POOL, GPU_TAGS
from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource

DATA_GROUP = "data"


@asset(group_name=DATA_GROUP, kinds={"python", "file"})
def synthetic_dataset(context: AssetExecutionContext, params: ParamsResource) -> MaterializeResult:
    """The embedded synthetic CC-ReID dataset in LTCC layout (data/raw/synthetic)."""
    from dlcr_assets import steps

    run_params = load_run_params(params)
    with timed() as clock:
        summary = steps.synthetic_dataset(run_params)
    metadata = {"root": MetadataValue.path(str(run_params.synthetic.root.resolve())), "seconds": clock["seconds"]}
    for key, value in (summary or {}).items():
        if isinstance(value, (int, float, str)):
            metadata[key] = value
    return MaterializeResult(metadata=metadata)


@asset(group_name=DATA_GROUP, partitions_def=dataset_partitions, kinds={"pandas", "parquet"})
def dataset_index(context: AssetExecutionContext, params: ParamsResource) -> MaterializeResult:
    """Index table of one dataset: path, pid, camid, clothes_id, split (data/dataset_index/<name>.parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.dataset_index(run_params, name)
    index, paths, spec = run.result, run.paths, run.extra["spec"]
    unmatched = list(index.attrs.get("unmatched", []))
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(paths.dataset_index.resolve())),
            "format": spec.format,
            "root": MetadataValue.path(str(spec.root)),
            "rows": len(index),
            "identities": int(index["pid"].nunique()),
            "outfits_train": int(index.loc[index["split"] == "train", "clothes_id"].nunique()),
            "rows_per_split": counts_md(index["split"], "split"),
            "unmatched_files": len(unmatched),
            "preview": table_md(index[["path", "pid", "camid", "clothes_id", "split"]], 5),
            "seconds": clock["seconds"],
        }
    )


@asset(group_name=DATA_GROUP, partitions_def=dataset_partitions, deps=["dataset_index"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})
def clothing_descriptions(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                          device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """One answer per training image to "What clothes is the person wearing?" (data/clothing_descriptions/<name>.parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.clothing_descriptions(run_params, name, device.device)
    descriptions, paths = run.result, run.paths
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "backend": run_params.descriptions.backend},
                             {"descriptions": len(descriptions), "seconds": clock["seconds"]})
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(paths.clothing_descriptions.resolve())),
        "rows": len(descriptions),
        "backend": run_params.descriptions.backend,
        "preview": table_md(descriptions[["pid", "clothes_id", "answer"]], 8),
        "seconds": clock["seconds"], **tracking,
    })


@asset(group_name=DATA_GROUP, partitions_def=dataset_partitions, deps=["clothing_descriptions"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})
def clothing_prompts(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                     device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """The outfit prompt pool: one prompt per training outfit (+ novel ones) (data/clothing_prompts/<name>.parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.clothing_prompts(run_params, name, device.device)
    prompts, paths = run.result, run.paths
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "backend": run_params.prompts.backend},
                             {"prompts": len(prompts), "seconds": clock["seconds"]})
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(paths.clothing_prompts.resolve())),
        "rows": len(prompts),
        "rows_per_source": counts_md(prompts["source"], "source"),
        "preview": table_md(prompts[["outfit_key", "source", "prompt"]], 8),
        "seconds": clock["seconds"], **tracking,
    })


@asset(group_name=DATA_GROUP, partitions_def=dataset_partitions, deps=["dataset_index"],
       pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "parquet"})
def clothing_masks(context: AssetExecutionContext, params: ParamsResource, backends: BackendsResource,
                   device: DeviceResource, mlflow: MlflowResource) -> MaterializeResult:
    """Binary clothes masks (0/255) per image from human parsing (data/clothing_masks/<name>/ + .parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params, backends)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.clothing_masks(run_params, name, device.device)
    masks, paths = run.result, run.paths
    ok = masks[masks["status"] == "ok"]
    tracking = log_to_mlflow(context, mlflow, run_params.tracking,
                             {"dataset": name, "backend": run_params.masks.backend},
                             {"masks": len(masks), "masks_ok": len(ok), "seconds": clock["seconds"],
                              "mean_coverage": float(ok["coverage"].mean()) if len(ok) else 0.0})
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(paths.clothing_masks.resolve())),
        "folder": MetadataValue.path(str(paths.clothing_masks_dir.resolve())),
        "rows": len(masks),
        "rows_per_status": counts_md(masks["status"], "status"),
        "mean_coverage": round(float(ok["coverage"].mean()), 4) if len(ok) else 0.0,
        "seconds": clock["seconds"], **tracking,
    })
