"""Resources shared by every domain: params.yaml, the compute device, the model backends, MLflow.

Each is a ConfigurableResource with typed fields, so the UI's launchpad or a test swaps one in a
line (e.g. ``DeviceResource(device="cpu")``). ``RESOURCES`` is what definitions.py binds. Nothing
here reads params.yaml when imported: the code location loads from any working directory.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dagster import ConfigurableResource
from pydantic import field_validator

_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class ParamsResource(ConfigurableResource):
    """params.yaml, parsed and validated by dlcr_assets.params.load_params on each use.

    An empty ``path`` is looked up when used, not when the definitions load: $DLCR_PARAMS, else
    ./params.yaml of the process's working directory.
    """

    path: str = ""

    def load(self):
        from dlcr_assets.params import load_params

        return load_params(self.path or None)


class DeviceResource(ConfigurableResource):
    """Where models run: "auto" (CUDA when present), "cpu" or "cuda:N"."""

    device: str = "auto"

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not _DEVICE_RE.match(value):
            raise ValueError(f"device must be auto, cpu or cuda:N, got {value!r}")
        return value


class BackendsResource(ConfigurableResource):
    """The model backends: params.yaml's choice, overridable per run (empty = keep params.yaml)."""

    descriptions: str = ""
    prompts: str = ""
    masks: str = ""
    generation: str = ""

    def apply(self, params):
        """``params`` with the non-empty overrides written into each section's ``backend``."""
        updates = {}
        for section in ("descriptions", "prompts", "masks", "generation"):
            backend = getattr(self, section)
            if backend:
                updates[section] = getattr(params, section).model_copy(update={"backend": backend})
        return params.model_copy(update=updates) if updates else params

    def chosen(self, params) -> dict[str, str]:
        """Section -> backend name actually used (for metadata and MLflow params)."""
        applied = self.apply(params)
        return {s: getattr(applied, s).backend for s in ("descriptions", "prompts", "masks", "generation")}


class MlflowResource(ConfigurableResource):
    """One MLflow run per materialization, tagged with the Dagster run, asset and partition.

    dagster-mlflow is not used: outside a job with its hook it leaves runs RUNNING. Empty
    ``tracking_uri`` / ``experiment`` fall back to params.yaml's tracking section.
    """

    tracking_uri: str = ""
    experiment: str = ""
    ui_url: str = "http://127.0.0.1:5000"

    def resolve(self, tracking) -> tuple[str, str]:
        """(tracking uri, experiment name) for this resource and params' TrackingParams."""
        from dlcr_reid.training.tracking import resolve_tracking_uri

        # the same resolution as training's own tracker, so its run nests under ours
        uri = self.tracking_uri or resolve_tracking_uri(tracking)
        return uri, self.experiment or tracking.experiment

    def ensure_experiment(self, tracking) -> str:
        """Create the experiment once (artifacts under <project>/mlartifacts), tagged as model training; return its id."""
        import mlflow
        from mlflow.tracking import MlflowClient

        from dlcr_reid.training.tracking import ensure_experiment

        uri, name = self.resolve(tracking)
        mlflow.set_tracking_uri(uri)
        artifact_root = tracking.artifact_location
        if artifact_root is None and uri.startswith("sqlite:///"):
            artifact_root = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
        return ensure_experiment(MlflowClient(tracking_uri=uri), name, artifact_root)

    def dagster_tags(self, context) -> dict[str, str]:
        tags = {
            "dagster.run_id": context.run.run_id,
            "dagster.asset_key": context.asset_key.to_user_string(),
        }
        if context.has_partition_key:
            tags["dagster.partition"] = str(context.partition_key)
        return tags

    @contextmanager
    def run(self, context, tracking, run_name: str | None = None) -> Iterator:
        """Open an MLflow run for this materialization; it ends FINISHED or FAILED, never RUNNING."""
        import mlflow

        experiment_id = self.ensure_experiment(tracking)
        name = run_name or f"{context.asset_key.to_user_string()}[{context.partition_key if context.has_partition_key else ''}]"
        with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=self.dagster_tags(context)) as run:
            yield run

    def tag_run(self, context, tracking, run_id: str) -> None:
        """Add the Dagster tags to a run the library opened itself (training)."""
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.resolve(tracking)[0])
        for key, value in self.dagster_tags(context).items():
            client.set_tag(run_id, key, value)

    def link(self, tracking, run_id: str) -> str:
        """URL of the run in the MLflow UI (`dlcr mlflow-server`)."""
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.resolve(tracking)[0])
        experiment_id = client.get_run(run_id).info.experiment_id
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


RESOURCES = {
    "params": ParamsResource(),
    "device": DeviceResource(),
    "backends": BackendsResource(),
    "mlflow": MlflowResource(),
}
