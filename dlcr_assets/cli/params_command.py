"""`dlcr params`: the resolved configuration as YAML, or where each key's value came from."""
from __future__ import annotations

from pathlib import Path

import typer

from dlcr_assets.cli.app import ParamsOption, app, overrides


@app.command("params")
def params(
    params_path: Path = ParamsOption,
    show_sources: bool = typer.Option(
        False, "--sources", help="print KEY: ORIGIN per leaf key (default, profile:<name>, params.yaml, override)"),
    extra: list[str] = typer.Option([], "--set", "-s", metavar="KEY=VALUE", help="override one key (repeatable)"),
) -> None:
    """Print the configuration every command would use: defaults, profile, params file, overrides."""
    import yaml

    from dlcr_assets.params import resolve_params

    resolved, origins = resolve_params(params_path, (*overrides(), *extra))
    if show_sources:
        width = max(len(key) for key in origins)
        typer.echo("\n".join(f"{key:<{width}}  {origin}" for key, origin in origins.items()))
    else:
        typer.echo(yaml.safe_dump(resolved, sort_keys=False).rstrip())
