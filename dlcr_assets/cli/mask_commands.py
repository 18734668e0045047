"""`dlcr masks`: binary clothes masks of every image (the masks step)."""
from __future__ import annotations

from pathlib import Path

from dlcr_assets.cli.app import ParamsOption, app, load
from dlcr_assets.cli.description_commands import DatasetOption, DeviceOption


@app.command("masks")
def masks(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Clothing masks: data/index/NAME.parquet -> data/masks/NAME/... + data/masks/NAME.parquet."""
    import typer

    from dlcr_assets import steps
    from dlcr_assets.masks import summarize_masks

    run = steps.masks(load(params_path), dataset, device)
    typer.echo(summarize_masks(run.result))
    typer.echo(f"-> {run.paths.masks}")
