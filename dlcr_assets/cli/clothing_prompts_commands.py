"""`dlcr clothing-prompts`: the clothing prompt table built from the descriptions (the clothing_prompts step)."""
from __future__ import annotations

from pathlib import Path

from dlcr_assets.cli.app import DatasetOption, DeviceOption, ParamsOption, app, load


@app.command("clothing-prompts")
def clothing_prompts(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Build the clothing prompt table: data/clothing_descriptions/NAME.parquet -> data/clothing_prompts/NAME.parquet."""
    import typer

    from dlcr_assets import steps

    run = steps.clothing_prompts(load(params_path), dataset, device)
    table = run.result
    counts = table.groupby(["source", "backend"]).size()
    summary = ", ".join(f"{source}/{backend}: {n}" for (source, backend), n in counts.items())
    typer.echo(f"{len(table)} prompts ({summary}) -> {run.paths.clothing_prompts}")
    typer.echo(f"example: {table['prompt'].iloc[0]}")
