"""`dlcr prompts`: the clothing prompt table built from the descriptions (the prompts step)."""
from __future__ import annotations

from pathlib import Path

from dlcr_assets.cli.app import ParamsOption, app, load
from dlcr_assets.cli.description_commands import DatasetOption, DeviceOption


@app.command("prompts")
def prompts(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Build the clothing prompt table: data/descriptions/NAME.parquet -> data/prompts/NAME.parquet."""
    import typer

    from dlcr_assets import steps

    run = steps.prompts(load(params_path), dataset, device)
    table = run.result
    counts = table.groupby(["source", "backend"]).size()
    summary = ", ".join(f"{source}/{backend}: {n}" for (source, backend), n in counts.items())
    typer.echo(f"{len(table)} prompts ({summary}) -> {run.paths.prompts}")
    typer.echo(f"example: {table['prompt'].iloc[0]}")
