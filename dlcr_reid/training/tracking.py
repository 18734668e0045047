"""MLflow tracking of training runs: one run per training, written by rank 0 only.

The URI comes from ``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else
``sqlite:///<cwd>/mlflow.db``. For sqlite stores the experiment's artifacts go beside the database
(``mlartifacts/``) instead of into the current folder. When the caller already has an active
MLflow run (e.g. a Dagster asset), the training run is created as its child.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_reid.io import atomic_write
from dlcr_reid.params.tracking import TrackingParams

ATTEMPT_FILE = "mlflow-run.json"
# the MLflow UI opens a tagged experiment on its runs table (untagged, MLflow 3 shows the GenAI overview)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
DIGEST_CHARS = 16  # a dataset input's digest: the first characters of the logged index_sha256 / manifest_sha256

log = logging.getLogger(__name__)


def resolve_tracking_uri(tracking: TrackingParams) -> str:
    if tracking.uri:
        return tracking.uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path.cwd().resolve() / 'mlflow.db'}"


def _artifact_location(tracking: TrackingParams, uri: str) -> str | None:
    if tracking.artifact_location:
        return tracking.artifact_location
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
    return None


def ensure_experiment(client, name: str, artifact_location: str | None = None) -> str:
    """The experiment's id, created if missing; tagged as model training either way (see EXPERIMENT_KIND)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location, tags=EXPERIMENT_KIND)
        except Exception:  # noqa: BLE001 - created by a concurrent writer in between
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if any(experiment.tags.get(k) != v for k, v in EXPERIMENT_KIND.items()):  # made before the tag existed
        for key, value in EXPERIMENT_KIND.items():
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def dataset_input(table: pd.DataFrame, name: str, source: str | None):
    """An MLflow DatasetInput (context "training") of ``table``, its digest the start of ``table_sha256``."""
    import mlflow.data
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    with warnings.catch_warnings():
        # a local path matches two equivalent source kinds; the schema's integer columns hint is for model inputs
        warnings.filterwarnings("ignore", message=".*(interpreted in multiple ways|Inferred schema contains integer).*")
        # MLflow's own digest hashes the first 10,000 rows; ours covers every row (the store keeps <= 36 chars)
        dataset = mlflow.data.from_pandas(table, source=source, name=name, digest=table_sha256(table)[:DIGEST_CHARS])
        # what mlflow.log_input logs, for a run that is not the active one
        return DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag(MLFLOW_DATASET_CONTEXT, "training")])


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay as one value."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def table_sha256(table: pd.DataFrame | None) -> str:
    """Content hash of a table (columns and values; list cells hashed by their repr)."""
    if table is None:
        return "none"
    hashable = table.copy()
    for column in hashable.columns:
        if hashable[column].dtype == object:
            hashable[column] = hashable[column].map(repr)
    digest = hashlib.sha256(",".join(map(str, hashable.columns)).encode())
    digest.update(pd.util.hash_pandas_object(hashable, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def git_commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def plot_training_curves(history: list[dict[str, Any]], path: Path) -> Path:
    """Losses and CC top-1 per epoch as a PNG (matplotlib Agg: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, metric_axis) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [row["epoch"] for row in history]
    for key in ("loss_total", "loss_id", "loss_triplet", "loss_cal", "loss_clothes"):
        if any(key in row for row in history):
            loss_axis.plot(epochs, [row.get(key, float("nan")) for row in history], label=key)
    loss_axis.set_xlabel("epoch")
    loss_axis.set_title("training losses")
    loss_axis.legend()
    metric_keys = sorted({k for row in history for k in row if k.startswith("eval_") and k.endswith("top1")})
    for key in metric_keys:
        points = [(row["epoch"], row[key]) for row in history if key in row]
        metric_axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=key)
    metric_axis.set_xlabel("epoch")
    metric_axis.set_title("evaluation top-1")
    if metric_keys:
        metric_axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


class RunTracker:
    """Thin wrapper over MlflowClient; every method is a no-op when tracking is off (or rank > 0)."""

    def __init__(self, tracking: TrackingParams, active: bool = True, out_dir: Path | None = None) -> None:
        self.active = active and tracking.enabled
        self.tracking = tracking
        self.run_id: str | None = None
        self.client = None
        # where this training's run id is kept for the next attempt (None: not kept)
        self.attempt_file = Path(out_dir) / ATTEMPT_FILE if out_dir is not None else None
        if self.active:
            os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
            from mlflow.tracking import MlflowClient

            self.uri = resolve_tracking_uri(tracking)
            self.client = MlflowClient(tracking_uri=self.uri)

    def previous_attempt(self) -> str | None:
        """The run id the last attempt in this folder recorded, if it used this tracking store."""
        if self.attempt_file is None or not self.attempt_file.is_file():
            return None
        try:
            record = json.loads(self.attempt_file.read_text())
        except (OSError, ValueError):
            log.warning("ignoring unreadable %s", self.attempt_file)
            return None
        return record.get("run_id") if record.get("tracking_uri") == self.uri else None

    def _close_previous(self, run_id: str) -> bool:
        """Mark a run a killed attempt left RUNNING as KILLED; False if the store does not know it."""
        try:
            run = self.client.get_run(run_id)
        except Exception:  # noqa: BLE001 - deleted or from another store: nothing to link
            log.warning("MLflow run %s not found at %s; the new run is not linked to it", run_id, self.uri)
            return False
        if run.info.status == "RUNNING":
            log.info("MLflow run %s was left RUNNING by a killed attempt: marking it KILLED", run_id)
            self.client.set_terminated(run_id, status="KILLED")
        return True

    def _experiment_id(self) -> str:
        return ensure_experiment(self.client, self.tracking.experiment, _artifact_location(self.tracking, self.uri))

    def log_inputs(self, inputs: list[tuple[pd.DataFrame, str, str | None]]) -> None:
        """Each (table, name, source path) as an MLflow dataset input of the run (the UI's Dataset column)."""
        if not self.active or self.run_id is None or not inputs:
            return
        self.client.log_inputs(self.run_id, datasets=[dataset_input(*entry) for entry in inputs])

    def start(
        self,
        run_name: str,
        params: dict[str, Any],
        tags: dict[str, str],
        resume_run_id: str | None,
        resume: bool = False,
        history: list[dict[str, Any]] | None = None,
        inputs: list[tuple[pd.DataFrame, str, str | None]] | None = None,
    ) -> str | None:
        """Open this attempt's run; log params, tags and ``inputs`` once, and record the run id in the attempt file.

        ``resume_run_id`` is the run that wrote the checkpoint resumed from; the attempt file, when
        present, names the newest attempt and wins. ``history`` (restored epochs) is re-logged.
        ``inputs`` are (table, name, source) logged as the run's datasets (``log_inputs``).
        """
        if not self.active:
            return None
        import mlflow

        previous = self.previous_attempt() or resume_run_id
        linked = previous is not None and self._close_previous(previous) and resume
        experiment_id = self._experiment_id()
        parent = mlflow.active_run()
        all_tags = dict(tags)
        if linked:
            all_tags["dlcr.resumed_from"] = previous
        if parent is not None and mlflow.get_tracking_uri() == self.uri:
            all_tags["mlflow.parentRunId"] = parent.info.run_id
            experiment_id = parent.info.experiment_id
        run = self.client.create_run(experiment_id, run_name=run_name, tags=all_tags)
        self.run_id = run.info.run_id
        if linked:
            self.client.set_tag(previous, "dlcr.resumed_by", self.run_id)
        if self.attempt_file is not None:
            with atomic_write(self.attempt_file) as tmp:
                tmp.write_text(json.dumps({"run_id": self.run_id, "tracking_uri": self.uri}))
        from mlflow.entities import Param

        entries = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(entries), 100):
            self.client.log_batch(self.run_id, params=entries[start : start + 100])
        self.log_inputs(inputs or [])
        for row in history or []:
            numbers = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k != "epoch"}
            self.log_metrics(numbers, row["epoch"])
        return self.run_id

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if not self.active or self.run_id is None:
            return
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entries = [Metric(k.replace("@", "_at_"), float(v), now, step) for k, v in metrics.items()]
        if entries:
            self.client.log_batch(self.run_id, metrics=entries)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if self.active and self.run_id is not None and Path(path).is_file():
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        if self.active and self.run_id is not None:
            self.client.set_terminated(self.run_id, status=status)
