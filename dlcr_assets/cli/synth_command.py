"""`dlcr synth`: draw the embedded synthetic CC-ReID dataset (LTCC layout + parsing maps)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dlcr_assets.cli.app import ParamsOption, app, load


@app.command("synth")
def synth(
    params_path: Path = ParamsOption,
    root: Optional[Path] = typer.Option(None, "--root", "-r", help="output folder (default: synthetic.root)"),
    seed: Optional[int] = typer.Option(None, "--seed", "-s", min=0, help="random seed (default: synthetic.seed)"),
) -> None:
    """Write the synthetic dataset: {train,query,test}/*.png plus parsing/{train,query,test}/*.png."""
    from dlcr_reid.datasets.synthesis import write_synthetic_dataset

    section = load(params_path).synthetic
    changes = {key: value for key, value in (("root", root), ("seed", seed)) if value is not None}
    section = section.model_copy(update=changes) if changes else section
    summary = write_synthetic_dataset(section)
    typer.echo(f"synthetic dataset written to {summary['root']} in {summary['seconds']} s "
               f"({summary['images']} images, {summary['parsing_maps']} parsing maps, "
               f"{summary['trap_outfits']} trap outfits)")
    for split, counts in summary["splits"].items():
        typer.echo(f"  {split:8s} {counts['ids']:4d} ids {counts['outfits']:5d} outfits "
                   f"{counts['cameras']:3d} cameras {counts['images']:6d} images")
