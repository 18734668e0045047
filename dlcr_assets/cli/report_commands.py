"""`dlcr comparison-report`: baseline vs DLCR vs DLCR + refinement for one dataset (md, json, png)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from dlcr_assets.cli.app import ParamsOption, app, load


@app.command("comparison-report")
def comparison_report_command(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset name (reads data/reports/<name>/{baseline,dlcr}.json)"),
    params_path: Path = ParamsOption,
) -> None:
    """Write data/reports/NAME/comparison.{md,json,png} and samples.png from the two evaluation reports."""
    import pandas as pd

    from dlcr_assets.registry import DatasetPaths
    from dlcr_assets.report import metrics_markdown, write_comparison_report

    params = load(params_path)
    paths = DatasetPaths(params.data_dir, dataset)
    reports = {}
    for mode in ("baseline", "dlcr"):
        path = paths.reports_dir / f"{mode}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `dlcr evaluate --dataset {dataset} --mode {mode}` first")
        reports[mode] = json.loads(path.read_text())
    manifest = pd.read_parquet(paths.generated) if paths.generated.is_file() else None
    summary = write_comparison_report(dataset, reports["baseline"], reports["dlcr"], paths.reports_dir, manifest)
    typer.echo(metrics_markdown(summary["rows"]))
    typer.echo(f"report: {summary['paths']['markdown']}")
