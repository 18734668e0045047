"""Generation commands: masks, generate (sharded), query-variants, import-released, export-released."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import ParamsOption, app, load

DatasetOption = typer.Option(..., "--dataset", "-d", help="dataset name registered in params.yaml")
DeviceOption = typer.Option("auto", "--device", help='torch device for model backends: "auto", "cpu", "cuda", "cuda:1"')


def _inputs(params, dataset: str, *tables: str) -> list:
    """Load the named tables of a dataset (index, masks, prompts) from their standard places."""
    from dlcr_assets.errors import GenerationInputError
    from dlcr_reid.io import load_table
    from dlcr_reid.params import check_dataset_name

    try:
        check_dataset_name(dataset)
    except ValueError as error:
        raise GenerationInputError(str(error)) from None
    where = {"index": ("index", "`dlcr index`"), "masks": ("masks", "`dlcr masks`"),
             "prompts": ("prompts", "`dlcr prompts`")}
    return [load_table(params.data_dir / where[name][0] / f"{dataset}.parquet",
                       what=f"{name} of dataset {dataset!r} ({where[name][1]})") for name in tables]


def _parse_shard(text: str | None, default_shards: int) -> tuple[int, int]:
    from dlcr_assets.errors import GenerationInputError

    if not text:
        return (0, default_shards)
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise GenerationInputError(f"--shard {text!r}: expected k/n with 0 <= k < n, e.g. 0/4") from None
    if not 0 <= k < n:
        raise GenerationInputError(f"--shard {text!r}: expected k/n with 0 <= k < n, e.g. 0/4")
    return (k, n)


def _run_summary(manifest, out: Path) -> str:
    run = manifest.attrs.get("run", {})
    rate = run.get("images_per_s")
    return (f"{run.get('generated', 0)} generated ({run.get('stale', 0)} of them stale: settings, prompts or inputs "
            f"changed), {run.get('skipped', 0)} already done, {run.get('failed', 0)} failed"
            + (f" ({rate:.2f} images/s)" if rate else "") + f"; manifest: {len(manifest)} rows -> {out}")


@app.command("masks")
def masks(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """Clothing masks: data/index/NAME.parquet -> data/masks/NAME/... + data/masks/NAME.parquet."""
    from dlcr_assets.masks import make_clothing_masks, summarize_masks
    from dlcr_reid.io import save_table

    params = load(params_path)
    (index,) = _inputs(params, dataset, "index")
    table = make_clothing_masks(index, params.masks, params.data_dir / "masks" / dataset, device=device)
    out = save_table(table, params.data_dir / "masks" / f"{dataset}.parquet")
    typer.echo(summarize_masks(table))
    typer.echo(f"-> {out}")


@app.command("generate")
def generate(
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
    shard: str = typer.Option(None, "--shard", help="k/n: generate only shard k of n (0-based), e.g. 0/4"),
) -> None:
    """Generated images: index + masks + prompts -> data/generated/NAME/... + data/generated/NAME.parquet."""
    from dlcr_assets.generation import generate_images

    params = load(params_path)
    index, mask_table, prompts = _inputs(params, dataset, "index", "masks", "prompts")
    out = params.data_dir / "generated" / f"{dataset}.parquet"
    manifest = generate_images(index, mask_table, prompts, params.generation, params.data_dir / "generated" / dataset,
                               out, shard=_parse_shard(shard, params.generation.shards), device=device, dataset=dataset)
    typer.echo(_run_summary(manifest, out))


@app.command("query-variants")
def query_variants(dataset: str = DatasetOption, params_path: Path = ParamsOption, device: str = DeviceOption) -> None:
    """K clothing variants of every query image: -> data/query_variants/NAME/... + data/query_variants/NAME.parquet."""
    from dlcr_assets.generation import generate_query_variants

    params = load(params_path)
    index, mask_table, prompts = _inputs(params, dataset, "index", "masks", "prompts")
    out = params.data_dir / "query_variants" / f"{dataset}.parquet"
    manifest = generate_query_variants(index, mask_table, prompts, params.generation,
                                       params.data_dir / "query_variants" / dataset, out, device=device, dataset=dataset)
    typer.echo(_run_summary(manifest, out))


@app.command("import-released")
def import_released_command(
    folder: Path = typer.Argument(..., help="folder of released DLCR files (<name>.png strips + <name>.txt)"),
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
) -> None:
    """Import published DLCR images as this dataset's generated images and manifest."""
    from dlcr_assets.generation import import_released

    params = load(params_path)
    (index,) = _inputs(params, dataset, "index")
    out = params.data_dir / "generated" / f"{dataset}.parquet"
    manifest = import_released(folder, index, dataset, params.data_dir / "generated" / dataset, out)
    typer.echo(f"imported {len(manifest)} images of {manifest['source_path'].nunique()} sources "
               f"({len(manifest.attrs.get('unmatched', []))} files matched no index image) -> {out}")


@app.command("export-released")
def export_released_command(
    folder: Path = typer.Argument(..., help="folder to write <name>.png strips + <name>.txt into"),
    dataset: str = DatasetOption,
    params_path: Path = ParamsOption,
    device: str = DeviceOption,
) -> None:
    """Export this dataset's generated images in the published DLCR format."""
    from dlcr_assets.generation import export_released
    from dlcr_reid.io import load_table

    params = load(params_path)
    manifest = load_table(params.data_dir / "generated" / f"{dataset}.parquet",
                          what=f"generation manifest of dataset {dataset!r} (`dlcr generate`)")
    written = export_released(manifest, folder)
    typer.echo(f"exported {len(written)} strips -> {folder}")
