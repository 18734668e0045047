"""`dlcr comparison-report`: baseline vs DLCR vs DLCR + refinement for one dataset (md, json, png)."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import ParamsOption, app, load


@app.command("comparison-report")
def comparison_report_command(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset name (reads data/evaluation_reports/<name>/{baseline,dlcr}.json)"),
    params_path: Path = ParamsOption,
) -> None:
    """Write data/comparison_report/NAME/{comparison.md,.json,.png} and samples.png from the two evaluation reports."""
    from dlcr_assets import steps
    from dlcr_assets.report import metrics_markdown

    summary = steps.comparison_report(load(params_path), dataset).result
    typer.echo(metrics_markdown(summary["rows"]))
    typer.echo(f"report: {summary['paths']['markdown']}")
