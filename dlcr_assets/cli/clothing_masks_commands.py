"""`dlcr clothing-masks`: binary clothes masks of every image (the clothing_masks step)."""
from __future__ import annotations

from pathlib import Path

from dlcr_assets.cli.app import DatasetOption, DeviceOption, ParamsOption, app, load


@app.command("clothing-masks")
def clothing_masks(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Clothing masks: data/dataset_index/NAME.parquet -> data/clothing_masks/NAME/... + data/clothing_masks/NAME.parquet."""
    import typer

    from dlcr_assets import steps
    from dlcr_assets.masks import summarize_masks

    run = steps.clothing_masks(load(params_path), dataset, device)
    typer.echo(summarize_masks(run.result))
    typer.echo(f"-> {run.paths.clothing_masks}")
