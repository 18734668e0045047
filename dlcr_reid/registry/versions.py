"""The model registry: each training's selected checkpoint is a version of ``dlcr-<dataset>-<mode>``.

``register_checkpoint`` (called by the reid_checkpoint step) logs the checkpoint as the
``ReidEmbedder`` pyfunc into the training's MLflow run and registers it as a new version, tagged
with the checkpoint file's sha256. ``promote`` (called by the evaluation_reports step, where the
test CC top-1 is known) tags the version holding the evaluated checkpoint with that top-1 and moves
the ``champion`` alias to it only when it beats the current champion's (strictly; the first
evaluated version takes the alias). Formats without a CC protocol compare general top-1.

The registry needs a database-backed store: ``sqlite:///...`` (the project default), another SQL
database, or an ``http(s)://`` ``mlflow server`` over one. A file store (``./mlruns``, ``file:``)
is skipped with a warning; training and evaluation go on.
"""
from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from dlcr_reid.params.tracking import TrackingParams
from dlcr_reid.training.tracking import resolve_tracking_uri

CHAMPION = "champion"
SHA_TAG = "checkpoint_sha256"
MODEL_ARTIFACT = "model"  # the pyfunc's folder in the run's artifacts
# what the served model needs besides the project's own dlcr_reid (served with --env-manager local)
REQUIREMENTS = ("mlflow", "torch", "torchvision", "safetensors", "numpy", "pillow")

log = logging.getLogger(__name__)


def model_name(dataset: str, mode: str) -> str:
    return f"dlcr-{dataset}-{mode}"


def has_registry(uri: str) -> bool:
    """False for file stores (a path or file:), whose runs MLflow 3 keeps but whose registry we do not use."""
    scheme = urlparse(uri).scheme
    return scheme not in ("", "file") and len(scheme) > 1  # one letter: a Windows drive, i.e. a path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _fluent_uri(uri: str) -> Iterator[None]:
    """MLflow's Model.log reads the global tracking URI: point it at ours, then put it back."""
    import mlflow

    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def _requirements() -> list[str]:
    pins = []
    for package in REQUIREMENTS:
        try:
            pins.append(f"{package}=={metadata.version(package).split('+')[0]}")  # no local tag (+cu128)
        except metadata.PackageNotFoundError:
            pins.append(package)
    return pins


def _registry_uri(tracking: TrackingParams, what: str) -> str | None:
    """The store's URI when registration can run there, else None (with the log line saying why)."""
    if not tracking.enabled:
        return None
    uri = resolve_tracking_uri(tracking)
    if not has_registry(uri):
        log.warning("MLflow store %s is a file store; the model registry needs a database-backed one: %s skipped "
                    "(set tracking.uri to sqlite:///<path>/mlflow.db or an http(s) mlflow server)", uri, what)
        return None
    return uri


def register_checkpoint(tracking: TrackingParams, run_id: str | None, checkpoint: Path, config: Path, name: str,
                        tags: dict[str, str] | None = None):
    """Log ``checkpoint`` (+ its .json meta and the run's ``config``) as a pyfunc into ``run_id``; register it.

    Returns the new ModelVersion, or None when tracking is off, the run is unknown or the store is
    a file store (logged).
    """
    uri = _registry_uri(tracking, f"registering {name}")
    if uri is None or run_id is None:
        return None
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import Model
    from mlflow.tracking import MlflowClient

    from dlcr_reid.registry.embedder import input_example, signature

    checkpoint = Path(checkpoint)
    meta_path = checkpoint.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    height, width = meta["input_size"]
    version_tags = {SHA_TAG: file_sha256(checkpoint), **(tags or {})}
    client = MlflowClient(tracking_uri=uri)
    with _fluent_uri(uri):
        # created in the run's experiment: Model.log alone would use the active (else the Default) experiment
        logged = mlflow.initialize_logged_model(name=MODEL_ARTIFACT, source_run_id=run_id, tags=version_tags,
                                                experiment_id=client.get_run(run_id).info.experiment_id)
        info = Model.log(
            None, name=MODEL_ARTIFACT, model_id=logged.model_id, flavor=mlflow.pyfunc, run_id=run_id,
            python_model=str(Path(__file__).with_name("served.py")),
            artifacts={"weights": str(checkpoint), "meta": str(meta_path), "config": str(config)},
            signature=signature(int(meta["feature_dim"])), input_example=input_example(int(height), int(width)),
            pip_requirements=_requirements(), registered_model_name=name, tags=version_tags,
        )
    if not client.get_registered_model(name).description:
        client.update_registered_model(name, description=(
            "ReID embedder: uint8 images N x H x W x 3 (RGB) -> L2-normalised float32 embeddings N x D. "
            f"Alias '{CHAMPION}': the version with the best test CC top-1 (evaluation_reports)."))
    version = client.get_model_version(name, str(info.registered_model_version))
    log.info("registered %s version %s (run %s)", name, version.version, run_id)
    return version


def report_score(report: dict[str, Any]) -> tuple[str, float] | None:
    """(tag, value) a version is compared by: CC top-1 where the report has it, else general top-1."""
    protocols = report.get("protocols", {})
    for protocol in ("cc", "general"):
        block = protocols.get(protocol)
        if isinstance(block, dict) and isinstance(block.get("top1"), (int, float)):
            return f"{protocol}_top1", float(block["top1"])
    return None


def _champion(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:  # no alias yet
        return None


def promote(tracking: TrackingParams, name: str, checkpoint: Path, report: dict[str, Any]) -> dict[str, Any] | None:
    """Tag the version holding ``checkpoint`` with the report's top-1; move ``champion`` to it if it is better.

    Returns {"name", "version", "score", "champion"} (champion: the alias's version afterwards), or
    None when nothing was compared (tracking off, a file store, no score, no such version: logged).
    """
    uri = _registry_uri(tracking, f"the {CHAMPION} comparison of {name}")
    scored = report_score(report)
    if uri is None or scored is None:
        return None
    from mlflow.tracking import MlflowClient

    key, score = scored
    client = MlflowClient(tracking_uri=uri)
    sha = file_sha256(Path(checkpoint))
    versions = [v for v in client.search_model_versions(f"name = '{name}'") if v.tags.get(SHA_TAG) == sha]
    if not versions:
        log.info("no version of registered model %s holds %s: %s alias unchanged", name, checkpoint, CHAMPION)
        return None
    version = str(max(int(v.version) for v in versions))
    client.set_model_version_tag(name, version, key, f"{score:.6g}")
    champion = _champion(client, name)
    best = None if champion is None or key not in champion.tags else float(champion.tags[key])
    holder = None if champion is None else str(champion.version)
    if holder is None or (holder != version and (best is None or score > best)):
        client.set_registered_model_alias(name, CHAMPION, version)
        log.info("%s version %s is the %s (%s %.2f > %s)", name, version, CHAMPION, key, score, best)
        holder = version
    else:
        log.info("%s version %s (%s %.2f) does not beat %s version %s (%s): alias unchanged", name,
                 version, key, score, CHAMPION, holder, best)
    return {"name": name, "version": version, "score": score, "champion": holder}
