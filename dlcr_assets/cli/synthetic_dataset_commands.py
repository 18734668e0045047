"""`dlcr synthetic-dataset`: draw the embedded synthetic CC-ReID dataset (LTCC layout + parsing maps)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dlcr_assets.cli.app import ParamsOption, app, load


@app.command("synthetic-dataset")
def synthetic_dataset(
    params_path: Path = ParamsOption,
    root: Optional[Path] = typer.Option(None, "--root", "-r", help="output folder (default: synthetic.root)"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s", min=0, help="random seed (default: synthetic.seed)"),
    renderer: str = typer.Option("ltcc-synthetic", "--renderer",
                                 help="ltcc-synthetic (the embedded dataset, synthetic section) or vcclothes-figures "
                                      "(the independent VC-Clothes-layout renderer)"),
    figures: Optional[Path] = typer.Option(None, "--figures", exists=True, dir_okay=False,
                                           help="YAML of FiguresParams fields for vcclothes-figures (default: its defaults)"),
) -> None:
    """Write the synthetic dataset: {train,query,test}/*.png plus parsing/{train,query,test}/*.png."""
    if renderer != "ltcc-synthetic":
        return _figures(renderer, root, seed, figures)
    from dlcr_assets import steps

    summary = steps.synthetic_dataset(load(params_path), root=root, seed=seed)
    typer.echo(f"synthetic dataset written to {summary['root']} in {summary['seconds']} s "
               f"({summary['images']} images, {summary['parsing_maps']} parsing maps, "
               f"{summary['trap_outfits']} trap outfits)")
    for split, counts in summary["splits"].items():
        typer.echo(f"  {split:8s} {counts['ids']:4d} ids {counts['outfits']:5d} outfits "
                   f"{counts['cameras']:3d} cameras {counts['images']:6d} images")


def _figures(renderer: str, root: Optional[Path], seed: Optional[int], settings: Optional[Path]) -> None:
    """`--renderer vcclothes-figures`: VC-Clothes/{train,query,gallery}/*.jpg plus parsing/ under the root."""
    from dlcr_reid.datasets.figures import write_figures_dataset
    from dlcr_reid.params.figures import RENDERERS, FiguresParams

    if renderer not in RENDERERS:
        raise typer.BadParameter(f"unknown renderer {renderer!r}; choose one of {', '.join(RENDERERS)}",
                                 param_hint="--renderer")
    import yaml
    from pydantic import ValidationError

    values = (yaml.safe_load(settings.read_text()) or {}) if settings else {}
    values.update({key: value for key, value in (("root", root), ("seed", seed)) if value is not None})
    try:
        params = FiguresParams.model_validate(values)
    except ValidationError as error:
        raise typer.BadParameter(f"{settings or 'defaults'}: {error}", param_hint="--figures") from error
    summary = write_figures_dataset(params)
    typer.echo(f"figures dataset written to {summary['root']} in {summary['seconds']} s "
               f"({summary['images']} images, {summary['parsing_maps']} parsing maps, "
               f"{len(summary['tempting'])} copied outfits); index it with format vcclothes, "
               f"masks.parsing_root {summary['root']}/parsing")
    for split, counts in summary["splits"].items():
        typer.echo(f"  {split:8s} {counts['ids']:4d} ids {counts['outfits']:5d} outfits "
                   f"{counts['cameras']:3d} cameras {counts['images']:6d} images")
