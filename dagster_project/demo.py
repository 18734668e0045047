"""`dlcr-demo`: the whole pipeline on the embedded synthetic dataset, through Dagster, in-process.

Writes the synthetic dataset, then materializes every asset of the `synthetic` partition with
their checks (CPU backends of params.yaml), in the order the partitioned jobs would run on a
deployment: prepare -> generate (each shard) -> train DLCR, evaluate, compare. Runs land in the
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

    from dagster_project.assets import ALL_ASSETS, FINISH_ASSETS, PREPARE_ASSETS, generated_images, synthetic_dataset
    from dagster_project.checks import ALL_CHECKS
    from dagster_project.partitions import DATASET_PARTITIONS_NAME, dataset_shard_key
    from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource
    from dlcr_assets.params import load_params
    from dlcr_assets.registry import DatasetPaths

    params = load_params(params_path)
    instance = instance if instance is not None else _instance()
    resources = {
        "params": ParamsResource(path=str(Path(params_path).resolve())),
        "device": DeviceResource(device=device),
        "backends": BackendsResource(),
        "mlflow": MlflowResource(),
    }
    instance.add_dynamic_partitions(DATASET_PARTITIONS_NAME, [dataset])
    shards = int(params.generation.shards)
    from dagster_project.partitions import SHARD_COUNT

    if shards != SHARD_COUNT:  # the shard partitions are static, fixed when the definitions loaded
        raise RuntimeError(f"{params_path}: generation.shards={shards}, but the Dagster definitions were loaded with "
                           f"{SHARD_COUNT} shard(s) from $DLCR_PARAMS or ./params.yaml; set DLCR_PARAMS={params_path}")
    stages: list[tuple[str, list, list[str | None]]] = []
    if write_synthetic:
        stages.append(("synthetic dataset", [synthetic_dataset], [None]))
    stages += [
        ("prepare (index, descriptions, prompts, masks, query variants, baseline)", PREPARE_ASSETS, [dataset]),
        ("generate", [generated_images], [dataset_shard_key(dataset, k) for k in range(shards)]),
        ("DLCR training, evaluation, comparison", FINISH_ASSETS, [dataset]),
    ]
    wall: dict[str, float] = {}
    for label, assets, partition_keys in stages:
        started = time.perf_counter()
        for partition_key in partition_keys:
            log(f"[dlcr-demo] {label}" + (f" [{partition_key}]" if partition_key else ""))
            result = materialize(
                [*ALL_ASSETS, *ALL_CHECKS],
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
    paths = DatasetPaths(params.data_dir, dataset)
    summary = json.loads(paths.comparison["json"].read_text())
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
    # read by dagster_project.partitions when the definitions load (the shard count)
    os.environ["DLCR_PARAMS"] = str(args.params)
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
