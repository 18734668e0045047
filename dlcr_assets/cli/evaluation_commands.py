"""`dlcr evaluate`: score a trained checkpoint on a dataset's test protocols and write its report."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dlcr_assets.cli.app import ParamsOption, app, load


@app.command("evaluate")
def evaluate_command(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset name (data/index/<name>.parquet)"),
    mode: str = typer.Option("baseline", "--mode", "-m", help="which model: baseline or dlcr"),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", "-c", help="checkpoint (default: <data_dir>/checkpoints/<dataset>/<mode>/best.safetensors)"
    ),
    refine: Optional[bool] = typer.Option(
        None, "--refine/--no-refine", help="test-time refinement with query variants (default: evaluation.refinement.enabled)"
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    params_path: Path = ParamsOption,
) -> None:
    """Evaluate a checkpoint on the dataset's protocols; write reports/<dataset>/<mode>.json/.md/-cmc.png."""
    from dlcr_reid.evaluation import evaluate_checkpoint
    from dlcr_reid.io import load_table
    from dlcr_reid.params import check_dataset_name

    if mode not in ("baseline", "dlcr"):
        raise typer.BadParameter(f"mode must be baseline or dlcr, got {mode!r}", param_hint="--mode")
    try:
        check_dataset_name(dataset)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--dataset") from None
    params = load(params_path)
    data_dir = Path(params.data_dir)
    section = params.evaluation
    if refine is not None:
        section = section.model_copy(update={"refinement": section.refinement.model_copy(update={"enabled": refine})})
    index = load_table(data_dir / "index" / f"{dataset}.parquet", f"index of {dataset} (run `dlcr index`)")
    checkpoint = checkpoint or data_dir / "checkpoints" / dataset / mode / "best.safetensors"
    variants_path = data_dir / "query_variants" / f"{dataset}.parquet"
    variants = None
    if section.refinement.enabled and variants_path.is_file():
        variants = load_table(variants_path, "query variants")
    elif refine and not variants_path.is_file():
        typer.echo(f"note: no query variants at {variants_path}; evaluating without refinement")
    from dlcr_assets.cli.reid_commands import dataset_format_for

    # params.yaml's format, else detected on disk, else the checkpoint's (never the dataset's name)
    fmt = dataset_format_for(params, dataset)
    report = evaluate_checkpoint(
        checkpoint, index, section, data_dir / "reports" / dataset, variants, device,
        name=mode, dataset_format_name=fmt,
    )
    typer.echo(f"{dataset} {mode}: {report['checkpoint']}")
    for name, metrics in report["protocols"].items():
        if "error" in metrics:
            typer.echo(f"  {name:14s} not evaluated: {metrics['error']}")
            continue
        ranks = "  ".join(f"{key} {metrics[key]:6.2f}" for key in report["rank_keys"])
        typer.echo(f"  {name:14s} {ranks}  mAP {metrics['mAP']:6.2f}  mINP {metrics['mINP']:6.2f}  "
                   f"({metrics['num_queries']} queries, {metrics['num_skipped']} skipped)")
    typer.echo(f"report: {report['files']['json']}, {report['files']['markdown']}, {report['files']['cmc_png']}")
