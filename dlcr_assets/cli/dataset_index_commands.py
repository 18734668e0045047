"""Dataset commands: dataset-index (write data/dataset_index/<name>.parquet) and check-dataset (validate a dataset).

`dlcr synthetic-dataset` (drawing the embedded dataset) is registered by its own module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dlcr_assets.cli.app import ParamsOption, app, load, parse_pairs

DatasetOption = typer.Option(None, "--dataset", "-d", help="dataset name registered in params.yaml datasets")
FormatOption = typer.Option(None, "--format", "-f", help="loader format (default with --root: detected)")
RootOption = typer.Option(None, "--root", "-r", help="dataset folder (or its parent), instead of --dataset")
NameOption = typer.Option(
    None, "--name", "-n", help="name for an unregistered --root dataset: lowercase letters, digits, _ and -"
)
OptionOption = typer.Option(None, "--option", "-o", help="loader option key=value (e.g. mode=cc), repeatable")


def resolve_dataset(params, dataset: str | None, fmt: str | None, root: Path | None,
                    name: str | None, options: list[str] | None):
    """(name, DatasetSpec) from --dataset (params.yaml, else a folder under the watch root), or from
    --root [--format] [--name] [--option]."""
    from pydantic import ValidationError

    from dlcr_reid.datasets import detect_format
    from dlcr_reid.params import DatasetSpec, check_dataset_name

    if root is not None:
        fmt = fmt or detect_format(root)
        try:
            spec = DatasetSpec(format=fmt, root=root, options=parse_pairs(options, "option", "--option"))
        except ValidationError as error:
            raise typer.BadParameter(str(error.errors()[0]["msg"]), param_hint="--format/--option") from None
        name = name or dataset or fmt
    elif dataset is not None:
        if fmt is not None or options:
            raise typer.BadParameter("--format/--option go with --root; with --dataset they come from params.yaml")
        from dlcr_assets.layout import resolve_dataset as registered_or_watched

        spec = registered_or_watched(params, dataset)  # as the asset resolves it (params.yaml, else watched)
        name = dataset
    else:
        raise typer.BadParameter("give --dataset NAME (from params.yaml) or --root FOLDER [--format F]")
    try:
        check_dataset_name(name)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--dataset/--name") from None
    return name, spec


def _dataset_command(name: str):
    """Register ``run(params, name, spec)`` as command ``name`` taking a dataset by --dataset or --root."""
    def register(run):
        def command(
            dataset: Optional[str] = DatasetOption,
            fmt: Optional[str] = FormatOption,
            root: Optional[Path] = RootOption,
            name: Optional[str] = NameOption,
            option: Optional[list[str]] = OptionOption,
            params_path: Path = ParamsOption,
        ) -> None:
            params = load(params_path)
            run(params, *resolve_dataset(params, dataset, fmt, root, name, option))

        command.__doc__ = run.__doc__
        app.command(name)(command)
        return run
    return register


@_dataset_command("dataset-index")
def dataset_index_command(params, name: str, spec) -> None:
    """Index a dataset (names only, no pixels) into data/dataset_index/<name>.parquet and print its summary."""
    from dlcr_assets import steps
    from dlcr_reid.datasets import summary_text

    run = steps.dataset_index(params, name, spec)
    table = run.result
    typer.echo(summary_text(table, title=f"dataset {name} (format {spec.format}, root {spec.root})"))
    typer.echo(f"wrote {run.paths.dataset_index} ({len(table)} rows)")


@_dataset_command("check-dataset")
def check_dataset_command(params, name: str, spec) -> None:
    """Validate a dataset: images decode, sizes, unmatched names, query ids without gallery match.

    Exits 1 when the report has errors.
    """
    from dlcr_reid.datasets import check_dataset, index_dataset

    report = check_dataset(index_dataset(name, spec), spec)
    typer.echo(report.to_text())
    if not report.ok:
        raise typer.Exit(code=1)
