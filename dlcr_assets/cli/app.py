"""The `dlcr` Typer application and what every command shares (the params option)."""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="dlcr",
    help="DLCR: clothes-changing ReID by generative data expansion. Every command reads params.yaml.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsOption = typer.Option(Path("params.yaml"), "--params", "-p", help="params.yaml to read")


def load(params_path: Path):
    """Load params.yaml for a command (imported late so `dlcr --help` stays fast)."""
    from dlcr_assets.params import load_params

    return load_params(params_path)
