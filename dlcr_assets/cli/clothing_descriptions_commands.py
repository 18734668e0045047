"""`dlcr clothing-descriptions`: clothing descriptions of every training image (the clothing_descriptions step)."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import DatasetOption, DeviceOption, ParamsOption, app, load


@app.command("clothing-descriptions")
def clothing_descriptions(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Describe the clothes of every training image: data/dataset_index/NAME.parquet -> data/clothing_descriptions/NAME.parquet."""
    from dlcr_assets import steps

    params = load(params_path)
    run = steps.clothing_descriptions(params, dataset, device)
    table = run.result
    outfits = table.groupby(["pid", "clothes_id"]).ngroups
    typer.echo(f"described {len(table)} training images ({outfits} outfits) with "
               f"{params.descriptions.backend} -> {run.paths.clothing_descriptions}")
    typer.echo(f"example: {table['answer'].iloc[0][:200]}")
