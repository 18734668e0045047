"""The `dlcr` Typer application and what every command shares (the params file and overrides)."""
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

# the options of the per-dataset step commands
DatasetOption = typer.Option(..., "--dataset", "-d", help="dataset name registered in params.yaml")
DeviceOption = typer.Option("auto", "--device", help='torch device for model backends: "auto", "cpu", "cuda", "cuda:1"')

# None: dlcr_assets.params.default_params_path() when the command runs ($DLCR_PARAMS, else ./params.yaml)
ParamsOption = typer.Option(None, "--params", "-p", help="params file to read [default: $DLCR_PARAMS or params.yaml]")

# `dlcr --set KEY=VALUE ... COMMAND`: overrides that every command's load() applies on top of the file
_OVERRIDES: list[str] = []


@app.callback()
def _options(
    overrides: list[str] = typer.Option(
        [], "--set", "-s", metavar="KEY=VALUE",
        help="override one params key for this run (repeatable; value parsed as YAML), e.g. --set training.lr=1e-3",
    ),
) -> None:
    _OVERRIDES[:] = overrides


def load(params_path: Path | None):
    """Load params for a command (imported late so `dlcr --help` stays fast)."""
    from dlcr_assets.params import load_params

    return load_params(params_path, tuple(_OVERRIDES))


def parse_pairs(pairs: list[str] | None, what: str, param_hint: str) -> dict[str, str]:
    """``["k=v", ...]`` (a repeatable option) as a dict; a pair without ``=`` or key is a BadParameter."""
    parsed = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} {pair!r} must look like key=value", param_hint=param_hint)
        parsed[key.strip()] = value.strip()
    return parsed


def overrides() -> tuple[str, ...]:
    """The `dlcr --set` pairs of this invocation."""
    return tuple(_OVERRIDES)
