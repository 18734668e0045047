"""Generated-images commands: generated-images (training images, one shard), query-variants, import-released, export-released."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import DatasetOption, DeviceOption, ParamsOption, app, load


def _run_summary(manifest, out: Path) -> str:
    run = manifest.attrs.get("run", {})
    rate = run.get("images_per_s")
    return (f"{run.get('generated', 0)} generated ({run.get('stale', 0)} of them stale: settings, prompts or inputs "
            f"changed), {run.get('skipped', 0)} already done, {run.get('failed', 0)} failed"
            + (f" ({rate:.2f} images/s)" if rate else "") + f"; manifest: {len(manifest)} rows -> {out}")


@app.command("generated-images")
def generated_images(
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
    shard: str = typer.Option(None, "--shard", help="k/n: generate only shard k of n (0-based), e.g. 0/4"),
) -> None:
    """Generated images: index + masks + prompts -> data/generated_images/NAME/... + data/generated_images/NAME.parquet."""
    from dlcr_assets import steps

    params = load(params_path)
    run = steps.generated_images(params, dataset, steps.parse_shard(shard, int(params.generation.shards)), device)
    typer.echo(_run_summary(run.result, run.paths.generated_images))


@app.command("query-variants")
def query_variants(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """K clothing variants of every query image: -> data/query_variants/NAME/... + data/query_variants/NAME.parquet."""
    from dlcr_assets import steps

    run = steps.query_variants(load(params_path), dataset, device)
    typer.echo(_run_summary(run.result, run.paths.query_variants))


# the step tables the released-format commands read: what each is, and the command that writes it
_TABLES = {"dataset_index": ("index", "dataset-index"), "generated_images": ("generation manifest", "generated-images")}


def _read_table(params_path: Path | None, dataset: str, table: str):
    """(the dataset's layout, its ``table``) for the released-format commands; a missing table names its command."""
    from dlcr_assets import steps
    from dlcr_reid.io import load_table

    paths = steps.layout(load(params_path), dataset)
    what, command = _TABLES[table]
    return paths, load_table(getattr(paths, table), what=f"{what} of dataset {dataset!r} (`dlcr {command}`)")


@app.command("import-released")
def import_released_command(
    folder: Path = typer.Argument(..., help="folder of released DLCR files (<name>.png strips + <name>.txt)"),
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
) -> None:
    """Import published DLCR images as this dataset's generated images and manifest."""
    from dlcr_assets.generation import import_released

    paths, index = _read_table(params_path, dataset, "dataset_index")
    manifest = import_released(folder, index, dataset, paths.generated_images_dir, paths.generated_images)
    typer.echo(f"imported {len(manifest)} images of {manifest['source_path'].nunique()} sources "
               f"({len(manifest.attrs.get('unmatched', []))} files matched no index image) -> {paths.generated_images}")


@app.command("export-released")
def export_released_command(
    folder: Path = typer.Argument(..., help="folder to write <name>.png strips + <name>.txt into"),
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
) -> None:
    """Export this dataset's generated images in the published DLCR format."""
    from dlcr_assets.generation import export_released

    _, manifest = _read_table(params_path, dataset, "generated_images")
    written = export_released(manifest, folder)
    typer.echo(f"exported {len(written)} strips -> {folder}")
