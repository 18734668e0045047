"""The tracking section: where MLflow runs go."""
from __future__ import annotations

from dlcr_reid.params.base import StrictModel


class TrackingParams(StrictModel):
    enabled: bool = True
    uri: str | None = None  # None: $MLFLOW_TRACKING_URI, else sqlite:///<project>/mlflow.db
    experiment: str = "dlcr"
    # None: <folder of the sqlite file>/mlartifacts for sqlite stores, else the server's default
    artifact_location: str | None = None
    log_checkpoint: bool = True  # upload best.safetensors as an artifact (large for ResNet-50)
    # each training's selected checkpoint as a version of the registered model dlcr-<dataset>-<mode>
    # (a pyfunc embedder; the `champion` alias follows test CC top-1); needs a database-backed store
    register_model: bool = True
