"""Server commands: `dlcr mlflow-server`, the tracking UI over the store every run writes to.

Dagster assets, DVC stages and plain CLI runs all log to ``sqlite:///<project>/mlflow.db`` with
artifacts under ``<project>/mlartifacts``; this command serves exactly that store, so the three
kinds of runs sit side by side in one UI.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer

from dlcr_assets.cli.app import app


def mlflow_server_command(project_dir: Path, host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    """The `mlflow server` argv serving the project's sqlite store and artifact folder."""
    project_dir = project_dir.resolve()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    executable = str(mlflow_bin) if mlflow_bin.exists() else (shutil.which("mlflow") or "mlflow")
    return [
        executable,
        "server",
        "--host", host,
        "--port", str(port),
        "--backend-store-uri", f"sqlite:///{project_dir / 'mlflow.db'}",
        # A plain folder (not mlflow-artifacts:/) so clients writing to sqlite directly, without
        # this server, put artifacts where the server reads them.
        "--default-artifact-root", str(project_dir / "mlartifacts"),
        "--workers", "1",
    ]


@app.command("mlflow-server")
def mlflow_server(
    host: str = typer.Option("127.0.0.1", help="interface to bind (keep 127.0.0.1: no auth)"),
    port: int = typer.Option(5000, help="port of the MLflow UI / REST API"),
    project_dir: Path = typer.Option(Path("."), help="folder holding mlflow.db and mlartifacts/"),
) -> None:
    """Start the MLflow UI on the project's store (sqlite mlflow.db + mlartifacts/)."""
    argv = mlflow_server_command(project_dir, host, port)
    (project_dir / "mlartifacts").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # the job runner serves MLflow's GenAI jobs, which this project does not use: 8 fewer processes
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    typer.echo(f"MLflow UI: http://{host}:{port}  (store {argv[argv.index('--backend-store-uri') + 1]})")
    os.execv(argv[0], argv)  # replace this process so Ctrl-C and signals reach mlflow directly
