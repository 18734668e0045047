"""`dlcr-demo`: the whole pipeline on the embedded synthetic dataset, through Dagster, in-process.

Writes the synthetic dataset, then materializes every asset of the `synthetic` partition with
their checks (CPU backends of params.yaml), in the order the partitioned jobs would run on a
deployment: prepare -> generate (each shard) -> score them, train DLCR, evaluate, compare. Runs land in the
Dagster instance of $DAGSTER_HOME (default: the project's dagster_home/), so `dagster dev`
shows them afterwards, and in the MLflow store `dlcr mlflow-server` serves.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _instance():
    """The DAGSTER_HOME instance (dagster_home/ of the project by default)."""
    from dagster import DagsterInstance

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_DIR / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return DagsterInstance.get()


def run_pipeline(params_path: Path, dataset: str = "synthetic", device: str = "cpu", instance=None,
                 write_synthetic: bool = True, log=print) -> dict:
    """Materialize every asset (and check) of ``dataset``; return the comparison summary + stage times.

    Raises RuntimeError naming the failed stage or check.
    """
    from dagster import AssetSelection, materialize

    from dagster_project.defs.data.jobs import PREPARE_ASSETS
    from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME
    from dagster_project.defs.generation.partitions import dataset_shard_key, sync_shard_keys
    from dagster_project.defs.reid.jobs import FINISH_ASSETS
    from dagster_project.definitions import defs
    from dagster_project.resources import RESOURCES, DeviceResource, ParamsResource
    from dlcr_assets.params import load_params
    from dlcr_assets import steps

    params = load_params(params_path)
    instance = instance if instance is not None else _instance()
    resources = {**RESOURCES, "params": ParamsResource(path=str(Path(params_path).resolve())),
                 "device": DeviceResource(device=device)}
    # the partition keys the sensors would add: this dataset, and the shards of generation.shards
    instance.add_dynamic_partitions(DATASET_PARTITIONS_NAME, [dataset])
    shards = sync_shard_keys(instance, int(params.generation.shards))
    definitions = [*defs.assets, *defs.asset_checks]
    stages: list[tuple[str, tuple[str, ...], list]] = []
    if write_synthetic:
        stages.append(("synthetic dataset", ("synthetic_dataset",), [None]))
    stages += [
        ("prepare (index, descriptions, prompts, masks, query variants, baseline)", PREPARE_ASSETS, [dataset]),
        ("generated images", ("generated_images",), [dataset_shard_key(dataset, k) for k in shards]),
        ("generation quality, DLCR training, evaluation, comparison", FINISH_ASSETS, [dataset]),
    ]
    wall: dict[str, float] = {}
    for label, assets, partition_keys in stages:
        started = time.perf_counter()
        for partition_key in partition_keys:
            log(f"[dlcr-demo] {label}" + (f" [{partition_key}]" if partition_key else ""))
            result = materialize(
                definitions,
                selection=AssetSelection.assets(*assets),
                instance=instance,
                partition_key=partition_key,
                resources=resources,
                tags={"dlcr/demo": "true"},
                # step-by-step events stay in the instance (and the UI); the console gets warnings
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                raise_on_error=False,
            )
            failed_checks = [
                f"{check.asset_check_key.asset_key.to_user_string()}:{check.asset_check_key.name} {dict(check.metadata)}"
                for check in result.get_asset_check_evaluations() if not check.passed
            ]
            if not result.success or failed_checks:
                failures = [ev.message for ev in result.all_events if ev.is_failure] if not result.success else []
                raise RuntimeError(f"stage {label!r} failed: {failures or failed_checks}")
        wall[label] = round(time.perf_counter() - started, 1)
        log(f"[dlcr-demo]   done in {wall[label]:.0f} s")
    paths = steps.layout(params, dataset)
    summary = json.loads(paths.comparison_report["json"].read_text())
    summary["demo_wall_seconds"] = wall
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlcr-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=None, help="default: $DLCR_PARAMS, else ./params.yaml")
    parser.add_argument("--dataset", default="synthetic", help="partition (dataset name) to run")
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda:N")
    args = parser.parse_args(argv)
    if args.params is None:
        from dlcr_assets.params import default_params_path

        args.params = default_params_path()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    started = time.perf_counter()
    summary = run_pipeline(args.params, args.dataset, args.device)
    from dlcr_assets.report import metrics_markdown

    print()
    print(metrics_markdown(summary["rows"]))
    print(f"\nwhole pipeline: {time.perf_counter() - started:.0f} s")
    for key in ("markdown", "chart", "samples", "json"):
        if summary["paths"].get(key):
            print(f"{key:9s} {summary['paths'][key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
