"""`dlcr describe`: clothing descriptions of every training image (the descriptions step)."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import ParamsOption, app, load

DatasetOption = typer.Option(..., "--dataset", "-d", help="dataset name registered in params.yaml")
DeviceOption = typer.Option("auto", "--device", help='torch device for model backends: "auto", "cpu", "cuda", "cuda:1"')


@app.command("describe")
def describe(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Describe the clothes of every training image: data/index/NAME.parquet -> data/descriptions/NAME.parquet."""
    from dlcr_assets import steps

    params = load(params_path)
    run = steps.descriptions(params, dataset, device)
    table = run.result
    outfits = table.groupby(["pid", "clothes_id"]).ngroups
    typer.echo(f"described {len(table)} training images ({outfits} outfits) with "
               f"{params.descriptions.backend} -> {run.paths.descriptions}")
    typer.echo(f"example: {table['answer'].iloc[0][:200]}")
