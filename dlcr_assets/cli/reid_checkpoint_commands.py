"""`dlcr reid-checkpoint`: train the CAL ReID model on a dataset, baseline (real) or DLCR (real + generated).

Multi-GPU: run the same command under torchrun, e.g.
``torchrun --nproc_per_node 2 $(which dlcr) reid-checkpoint --dataset prcc --mode dlcr``;
each process trains on its shard of the P x K batches with DistributedDataParallel and rank 0
writes the checkpoints and the MLflow run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from dlcr_assets.cli.app import ParamsOption, app, load, parse_pairs


@app.command("reid-checkpoint")
def reid_checkpoint_command(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset name (reads <data_dir>/dataset_index/<name>.parquet)"),
    mode: str = typer.Option("baseline", "--mode", "-m", help="baseline (real images) or dlcr (+ data/generated_images/<name>.parquet)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the newest epoch checkpoint of this dataset/mode"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ... (under torchrun: one GPU per process)"),
    tag: Optional[list[str]] = typer.Option(None, "--tag", help="extra MLflow tag key=value, repeatable"),
    params_path: Path = ParamsOption,
) -> None:
    """Write <data_dir>/reid_checkpoint/<dataset>/<mode>/ (epoch-XXX and best checkpoints) and log an MLflow run.

    Under `torchrun --nproc_per_node N $(which dlcr) reid-checkpoint ...` it trains with DistributedDataParallel
    (NCCL on GPUs, gloo on CPU); P x K is per process.
    """
    import logging

    from dlcr_assets import steps

    # the per-epoch summaries and the count of images without variants go to the console
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("dlcr_reid").setLevel(logging.INFO)

    run = steps.reid_checkpoint(load(params_path), dataset, mode, device, resume=resume, run_tags=parse_pairs(tag, "tag", "--tag"))
    result = run.result
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun the summary is rank 0's to print
    if result.history:
        last = result.history[-1]
        typer.echo(
            f"trained {dataset}/{mode}: {len(result.history)} epochs, last loss {last['loss_total']:.4f}, "
            f"{last['images_per_s']:.1f} img/s"
        )
    selection = result.selection
    score = f", test top-1 {result.best_score:.2f}" if result.best_score is not None else ""
    val = f", val top-1 {selection['val_score']:.2f}" if selection.get("val_score") is not None else ""
    typer.echo(f"selected checkpoint (training.selection={selection.get('rule')}, epoch {selection.get('epoch')}"
               f"{val}): {result.best_checkpoint}{score}")
    if result.mlflow_run_id:
        typer.echo(f"MLflow run: {result.mlflow_run_id}")
    version = run.extra["model_version"]
    if version is not None:
        typer.echo(f"registered model: {version.name} version {version.version} (models:/{version.name}/{version.version})")
