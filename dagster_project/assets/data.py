"""Data assets: the embedded synthetic dataset and each dataset's index table."""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from dagster_project.assets.common import counts_md, dataset_of, load_run_params, table_md, timed
from dagster_project.partitions import dataset_partitions
from dagster_project.resources import ParamsResource


@asset(group_name="data", kinds={"python", "file"})
def synthetic_dataset(context: AssetExecutionContext, params: ParamsResource) -> MaterializeResult:
    """The embedded synthetic CC-ReID dataset in LTCC layout (data/raw/synthetic)."""
    from dlcr_reid.datasets import write_synthetic_dataset

    run_params = load_run_params(params)
    with timed() as clock:
        summary = write_synthetic_dataset(run_params.synthetic)
    metadata = {"root": MetadataValue.path(str(run_params.synthetic.root.resolve())), "seconds": clock["seconds"]}
    for key, value in (summary or {}).items():
        if isinstance(value, (int, float, str)):
            metadata[key] = value
    return MaterializeResult(metadata=metadata)


@asset(group_name="data", partitions_def=dataset_partitions, kinds={"pandas", "parquet"})
def dataset_index(context: AssetExecutionContext, params: ParamsResource) -> MaterializeResult:
    """Index table of one dataset: path, pid, camid, clothes_id, split (data/index/<name>.parquet)."""
    from dlcr_assets import steps

    run_params = load_run_params(params)
    name = dataset_of(context)
    with timed() as clock:
        run = steps.index(run_params, name)
    index, paths, spec = run.result, run.paths, run.extra["spec"]
    unmatched = list(index.attrs.get("unmatched", []))
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(paths.index.resolve())),
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
