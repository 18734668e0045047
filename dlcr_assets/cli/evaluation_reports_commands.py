"""`dlcr evaluation-reports`: score a trained checkpoint on a dataset's test protocols and write its report."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dlcr_assets.cli.app import ParamsOption, app, load


@app.command("evaluation-reports")
def evaluation_reports_command(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset name (data/dataset_index/<name>.parquet)"),
    mode: str = typer.Option("baseline", "--mode", "-m", help="which model: baseline or dlcr"),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", "-c", help="checkpoint (default: <data_dir>/reid_checkpoint/<dataset>/<mode>/best.safetensors)"
    ),
    refine: Optional[bool] = typer.Option(
        None, "--refine/--no-refine", help="test-time refinement with query variants (default: evaluation.refinement.enabled)"
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    params_path: Path = ParamsOption,
) -> None:
    """Evaluate a checkpoint on the dataset's protocols; write evaluation_reports/<dataset>/<mode>.json/.md/-cmc.png."""
    from dlcr_assets import steps

    params = load(params_path)
    paths = steps.layout(params, dataset)
    if refine and not paths.query_variants.is_file():
        typer.echo(f"note: no query variants at {paths.query_variants}; evaluating without refinement")
    run = steps.evaluation_reports(params, dataset, mode, device, refine=refine, checkpoint=checkpoint)
    report = run.result
    typer.echo(f"{dataset} {mode}: {report['checkpoint']}")
    for name, metrics in report["protocols"].items():
        if "error" in metrics:
            typer.echo(f"  {name:14s} not evaluated: {metrics['error']}")
            continue
        ranks = "  ".join(f"{key} {metrics[key]:6.2f}" for key in report["rank_keys"])
        typer.echo(f"  {name:14s} {ranks}  mAP {metrics['mAP']:6.2f}  mINP {metrics['mINP']:6.2f}  "
                   f"({metrics['num_queries']} queries, {metrics['num_skipped']} skipped)")
    typer.echo(f"report: {report['files']['json']}, {report['files']['markdown']}, {report['files']['cmc_png']}")
    champion = run.extra["champion"]
    if champion is not None:
        typer.echo(f"registered model {champion['name']}: version {champion['version']} scored {champion['score']:.2f}; "
                   f"champion is version {champion['champion']} (models:/{champion['name']}@champion)")
