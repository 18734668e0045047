"""What every domain's assets share: the params of this run, the dataset's paths, metadata and MLflow helpers."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, AssetRecordsFilter, MetadataValue

from dagster_project.resources import BackendsResource, ParamsResource
from dlcr_assets.layout import DatasetPaths

def dataset_of(context: AssetExecutionContext) -> str:
    """The dataset name of this partition (plain key, or the `dataset` dimension of dataset x shard)."""
    key = context.partition_key
    keys_by_dimension = getattr(key, "keys_by_dimension", None)
    return keys_by_dimension["dataset"] if keys_by_dimension else str(key)


def load_run_params(params: ParamsResource, backends: BackendsResource | None = None):
    loaded = params.load()
    return backends.apply(loaded) if backends is not None else loaded


def paths_for(params, name: str) -> DatasetPaths:
    """The dataset's one path layout, as every step resolves it (a bad name is a StepInputError)."""
    from dlcr_assets import steps

    return steps.layout(params, name)


def table_md(table: pd.DataFrame, max_rows: int = 20) -> MetadataValue:
    return MetadataValue.md(table.head(max_rows).to_markdown(index=False) if len(table) else "_empty_")


def counts_md(series: pd.Series, label: str) -> MetadataValue:
    counts = series.value_counts().sort_index()
    lines = [f"| {label} | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts.items()]
    return MetadataValue.md("\n".join(lines))


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """Measure a block's wall time into the yielded dict's "seconds" (shown per stage in reports)."""
    holder: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield holder
    finally:
        holder["seconds"] = round(time.perf_counter() - start, 2)


def latest_seconds(context: AssetExecutionContext, asset: str, partitions: list[str]) -> float:
    """Sum of the "seconds" metadata of the latest materialization of ``asset`` per partition."""
    total = 0.0
    for partition in partitions:
        records = context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[partition]), limit=1
        ).records
        if records:
            value = records[0].asset_materialization.metadata.get("seconds")
            total += float(getattr(value, "value", 0.0) or 0.0)
    return round(total, 2)


def mlflow_metadata(link: str, run_id: str) -> dict[str, Any]:
    return {"mlflow_run": MetadataValue.url(link), "mlflow_run_id": run_id}


def log_to_mlflow(context: AssetExecutionContext, mlflow_resource, tracking, params: dict[str, Any], metrics: dict[str, float]) -> dict[str, Any]:
    """Record this materialization as one MLflow run; return the metadata linking to it."""
    import mlflow

    with mlflow_resource.run(context, tracking) as run:
        if params:
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        if metrics:
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
    run_id = run.info.run_id
    return mlflow_metadata(mlflow_resource.link(tracking, run_id), run_id)
