"""`dlcr generation-quality`: score every generated image against its source; kept or dropped, and why."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import DatasetOption, DeviceOption, ParamsOption, app, load


@app.command("generation-quality")
def generation_quality_command(dataset: str = DatasetOption, params_path: Path = ParamsOption,
                               device: str = DeviceOption) -> None:
    """Generated images + query variants vs their sources -> data/generation_quality/NAME.parquet (+ histograms)."""
    from dlcr_assets import steps
    from dlcr_assets.quality import reason_counts

    params = load(params_path)
    run = steps.generation_quality(params, dataset, device)
    quality, counts = run.result, reason_counts(run.result)
    dropped = ", ".join(f"{reason} {n}" for reason, n in counts.items() if reason != "kept" and n) or "none"
    done = quality.attrs.get("run", {})
    typer.echo(f"{len(quality)} generated images scored against {run.extra['checkpoint']} "
               f"({done.get('features_extracted', 0)} features extracted, {done.get('pixels_computed', 0)} pixel scores "
               f"computed now): kept {counts['kept']}, dropped by reason: {dropped}")
    typer.echo(f"quality.filter is {'on: training and refinement read the kept ones' if params.quality.filter else 'off'}"
               f" -> {run.paths.generation_quality}")
