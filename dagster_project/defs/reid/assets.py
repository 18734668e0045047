"""ReID assets: the baseline and DLCR checkpoints, their evaluation, and the comparison report."""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import pandas as pd
from dagster import AssetDep, AssetExecutionContext, AssetsDefinition, AutomationCondition, MaterializeResult, MetadataValue, MultiToSingleDimensionPartitionMapping, asset

from dagster_project.common import dataset_of, latest_seconds, load_run_params, mlflow_metadata, paths_for, timed
from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME, dataset_partitions
from dagster_project.defs.generation.partitions import dataset_shard_key, shard_keys
from dagster_project.execution import GPU_POOL, GPU_TAGS
from dagster_project.resources import DeviceResource, MlflowResource, ParamsResource
from dlcr_assets.layout import MODES

REID_GROUP = "reid"
# the stages whose "seconds" the comparison report lists, in pipeline order
STAGES = ("dataset_index", "clothing_descriptions", "clothing_prompts", "clothing_masks", "generated_images",
          "query_variants", "reid_checkpoint_baseline", "generation_quality", "reid_checkpoint_dlcr", "evaluation_reports")


def _history_md(history: list[dict]) -> str:
    if not history:
        return "_no history_"
    table = pd.DataFrame(history)
    keep = [c for c in table.columns if c in ("epoch", "loss_total", "loss_id", "loss_cal", "eval_cc_top1",
                                              "eval_general_top1", "eval_cc_mAP", "images_per_s")]
    return (table[keep] if keep else table).round(4).to_markdown(index=False)


def reid_checkpoint_asset(mode: str) -> AssetsDefinition:
    """The checkpoint asset of one training mode (baseline: real images only; dlcr: + generated)."""
    deps: list = ["dataset_index"]
    if mode == "dlcr":
        deps.append(AssetDep("generated_images", partition_mapping=MultiToSingleDimensionPartitionMapping(DATASET_PARTITIONS_NAME)))
        deps.append("generation_quality")  # its blocking check stops training on a mostly rejected expansion

    @asset(name=f"reid_checkpoint_{mode}", group_name=REID_GROUP, partitions_def=dataset_partitions, deps=deps,
           pool=GPU_POOL, op_tags=GPU_TAGS, kinds={"pytorch", "safetensors"},
           automation_condition=AutomationCondition.eager() if mode == "dlcr" else None)
    def _checkpoint(context: AssetExecutionContext, params: ParamsResource, device: DeviceResource,
                    mlflow: MlflowResource) -> MaterializeResult:
        from dlcr_assets import steps

        run_params = load_run_params(params)
        name = dataset_of(context)
        # our run (Dagster tags) is the parent; training logs its epochs in a child run
        with timed() as clock, mlflow.run(context, run_params.tracking, run_name=f"{name}-{mode}") as parent:
            run = steps.reid_checkpoint(run_params, name, mode, device.device, run_tags=mlflow.dagster_tags(context))
        result, paths, manifest = run.result, run.paths, run.extra["manifest"]
        run_id = result.mlflow_run_id or parent.info.run_id
        filtered = run.extra.get("quality")  # quality.filter on: the counts by reason
        metadata = {
            "best_checkpoint": MetadataValue.path(str(result.best_checkpoint)),
            "folder": MetadataValue.path(str(paths.reid_checkpoint(mode).resolve())),
            "epochs": len(result.history),
            "history": MetadataValue.md(_history_md(result.history)),
            "generated_images_used": 0 if manifest is None else int((manifest["status"] == "ok").sum()),
            **({f"quality_{reason}": n for reason, n in filtered.items()} if filtered else {}),
            "seconds": clock["seconds"],
            **mlflow_metadata(mlflow.link(run_params.tracking, run_id), run_id),
        }
        version = run.extra["model_version"]
        if version is not None:  # registered: dlcr-<dataset>-<mode> version N (None: file store or registry off)
            metadata["registered_model"] = f"{version.name} v{version.version}"
        return MaterializeResult(metadata=metadata)

    return _checkpoint


reid_checkpoint_baseline = reid_checkpoint_asset("baseline")
reid_checkpoint_dlcr = reid_checkpoint_asset("dlcr")


@asset(group_name=REID_GROUP, partitions_def=dataset_partitions,
       deps=["reid_checkpoint_baseline", "reid_checkpoint_dlcr", "query_variants", "generation_quality"],
       automation_condition=AutomationCondition.eager(), kinds={"pytorch", "json"})
def evaluation_reports(context: AssetExecutionContext, params: ParamsResource, device: DeviceResource,
                       mlflow: MlflowResource) -> MaterializeResult:
    """Both checkpoints evaluated (general, CC, SC; CC with refinement) -> data/evaluation_reports/<name>/<mode>.json."""
    import mlflow as mlflow_api

    from dlcr_assets import steps
    from dlcr_assets.report import comparison_rows, metrics_markdown

    run_params = load_run_params(params)
    name = dataset_of(context)
    paths = paths_for(run_params, name)
    reports, champions = {}, {}
    with timed() as clock:
        for mode in MODES:
            # refinement is what DLCR adds at test time; the baseline row is the plain model (as dvc.yaml runs it)
            scored = steps.evaluation_reports(run_params, name, mode, device.device,
                                              refine=False if mode == "baseline" else None)
            reports[mode] = scored.result
            champion = scored.extra["champion"]  # the alias after comparing this checkpoint's version (None: none)
            if champion is not None:
                champions[f"champion_{mode}"] = f"{champion['name']} v{champion['champion']}"
    rows = comparison_rows(reports["baseline"], reports["dlcr"])
    with mlflow.run(context, run_params.tracking) as run:
        for row in rows:
            prefix = row["method"].replace(" + ", "_").replace(" ", "_").lower()
            mlflow_api.log_metrics({f"{prefix}.{k}": v for k, v in row.items() if isinstance(v, float)})
    return MaterializeResult(metadata={
        "reports": MetadataValue.path(str(paths.evaluation_reports_dir.resolve())),
        "metrics": MetadataValue.md(metrics_markdown(rows)),
        "seconds": clock["seconds"],
        **champions,
        **mlflow_metadata(mlflow.link(run_params.tracking, run.info.run_id), run.info.run_id),
    })


@asset(group_name=REID_GROUP, partitions_def=dataset_partitions, deps=["evaluation_reports", "generated_images"],
       automation_condition=AutomationCondition.eager(), kinds={"markdown", "png"})
def comparison_report(context: AssetExecutionContext, params: ParamsResource) -> MaterializeResult:
    """Baseline vs DLCR vs DLCR + refinement: comparison.{md,json,png} and samples.png per dataset."""
    from dlcr_assets import steps
    from dlcr_assets.report import markdown_image, metrics_markdown

    run_params = load_run_params(params)
    name = dataset_of(context)
    shards = shard_keys(int(run_params.generation.shards))
    stage_seconds = {}
    for stage in STAGES:
        partitions = [dataset_shard_key(name, k) for k in shards] if stage == "generated_images" else [name]
        stage_seconds[stage] = latest_seconds(context, stage, partitions)
    summary = steps.comparison_report(run_params, name, stage_seconds).result
    from PIL import Image

    return MaterializeResult(metadata={
        "report": MetadataValue.path(summary["paths"]["markdown"]),
        "metrics": MetadataValue.md(metrics_markdown(summary["rows"])),
        "chart": MetadataValue.md(markdown_image(Image.open(summary["paths"]["chart"]), "metrics")),
        "total_seconds": round(sum(stage_seconds.values()), 1),
    })
