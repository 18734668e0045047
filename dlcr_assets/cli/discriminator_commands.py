"""Discriminator guidance commands (SPEC §1.5): discriminator (train the classifier), guided-images (the guided pass)."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import DatasetOption, DeviceOption, ParamsOption, app, load

# DVC's stages pass it: with guidance off the stage still has its outs (a note), and costs nothing
WhenGuidedOption = typer.Option(False, "--when-guided",
                                help="do nothing but write a note when generation.discriminator_guidance.enabled is false")


@app.command("discriminator")
def discriminator_command(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption,
                          when_guided: bool = WhenGuidedOption) -> None:
    """Real-vs-generated classifier on the pipeline's latents: index + first pass -> data/discriminator/NAME/."""
    from dlcr_assets import steps

    run = steps.discriminator(load(params_path), dataset, device, when_guided=when_guided)
    if run.extra["skipped"]:
        typer.echo(f"guidance is off: nothing trained -> {run.paths.discriminator_dir}/skipped.json")
        return
    result = run.result
    typer.echo(f"discriminator: {result.train_pairs} training pairs, {result.heldout_pairs} held out, "
               f"held-out accuracy {result.heldout_accuracy:.3f} -> {result.path}"
               + (f" (MLflow run {result.run_id})" if result.run_id else ""))


@app.command("guided-images")
def generate_guided_command(
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
    shard: str = typer.Option(None, "--shard", help="k/n: generate only shard k of n (0-based), e.g. 0/4"),
    when_guided: bool = WhenGuidedOption,
) -> None:
    """The guided pass: its own seeds -> data/guided_images/NAME/... + .parquet (the first pass is untouched)."""
    from dlcr_assets import steps
    from dlcr_assets.cli.generated_images_commands import _run_summary

    params = load(params_path)
    run = steps.guided_images(params, dataset, steps.parse_shard(shard, int(params.generation.shards)), device,
                                  when_guided=when_guided)
    if run.extra["skipped"]:
        typer.echo(f"guidance is off: nothing generated -> {run.paths.guided_images} (empty)")
        return
    typer.echo(_run_summary(run.result, run.paths.guided_images))
