"""Description commands: `dlcr describe` (clothing descriptions) and `dlcr prompts` (clothing prompt table)."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import ParamsOption, app, load

DatasetOption = typer.Option(..., "--dataset", "-d", help="dataset name registered in params.yaml")
DeviceOption = typer.Option("auto", "--device", help='torch device for model backends: "auto", "cpu", "cuda", "cuda:1"')


def _check_name(dataset: str) -> None:
    """A bad dataset name is a user error (one line, exit 2), not a traceback."""
    from dlcr_assets.errors import GenerationInputError
    from dlcr_reid.params import check_dataset_name

    try:
        check_dataset_name(dataset)
    except ValueError as error:
        raise GenerationInputError(str(error)) from None


@app.command("describe")
def describe(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Describe the clothes of every training image: data/index/NAME.parquet -> data/descriptions/NAME.parquet."""
    from dlcr_assets.descriptions import describe_clothing
    from dlcr_reid.io import load_table, save_table

    params = load(params_path)
    _check_name(dataset)
    index = load_table(params.data_dir / "index" / f"{dataset}.parquet", what=f"index of dataset {dataset!r} (`dlcr index`)")
    descriptions = describe_clothing(index, params.descriptions, device=device)
    out = save_table(descriptions, params.data_dir / "descriptions" / f"{dataset}.parquet")
    outfits = descriptions.groupby(["pid", "clothes_id"]).ngroups
    typer.echo(f"described {len(descriptions)} training images ({outfits} outfits) with "
               f"{params.descriptions.backend} -> {out}")
    typer.echo(f"example: {descriptions['answer'].iloc[0][:200]}")


@app.command("prompts")
def prompts(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Build the clothing prompt table: data/descriptions/NAME.parquet -> data/prompts/NAME.parquet."""
    from dlcr_assets.prompts import build_prompt_table
    from dlcr_reid.io import load_table, save_table

    params = load(params_path)
    _check_name(dataset)
    descriptions = load_table(params.data_dir / "descriptions" / f"{dataset}.parquet",
                              what=f"descriptions of dataset {dataset!r} (`dlcr describe`)")
    table = build_prompt_table(descriptions, params.prompts, device=device)
    out = save_table(table, params.data_dir / "prompts" / f"{dataset}.parquet")
    counts = table.groupby(["source", "backend"]).size()
    summary = ", ".join(f"{source}/{backend}: {n}" for (source, backend), n in counts.items())
    typer.echo(f"{len(table)} prompts ({summary}) -> {out}")
    typer.echo(f"example: {table['prompt'].iloc[0]}")
