"""The generation_quality step's glue: what it scores, what it writes beside the table, what training reads.

``scored_manifest``: the manifests the step scores (the first pass, the guided pass when it has
rows, the query variants), one table with a ``manifest`` column naming each row's origin.
``write_histograms``: one PNG per score under the step's folder (atomic, stale ones removed).
``kept_rows``: a manifest restricted to the variants the quality table keeps (DLCR training and
refinement with ``quality.filter``). ``record_filter``: those counts on the training's MLflow run.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from dlcr_assets.quality.policy import kept_variants
from dlcr_reid.io import atomic_write

log = logging.getLogger(__name__)

# the manifests scored, in this order: the steps that write them
MANIFESTS = ("generated_images", "guided_images", "query_variants")


def scored_manifest(manifests: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """The given manifests (None or empty ones skipped) as one table with a ``manifest`` column."""
    parts = [table.assign(manifest=name) for name, table in manifests.items() if table is not None and len(table)]
    if not parts:
        return pd.DataFrame(columns=["path", "source_path", "variant", "status", "manifest"])
    return pd.concat(parts, ignore_index=True)


def write_histograms(quality: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """score -> PNG path under ``folder`` (kept vs dropped, the median threshold dashed)."""
    from dlcr_assets.quality.histograms import score_histograms

    folder = Path(folder)
    images = score_histograms(quality) if len(quality) else {}
    written = {}
    for score, png in images.items():
        with atomic_write(folder / f"{score}.png") as tmp:
            tmp.write_bytes(png)
        written[score] = folder / f"{score}.png"
    for stale in folder.glob("*.png") if folder.is_dir() else []:  # a score that has no values any more
        if stale.stem not in images:
            stale.unlink()
    return written


def fresh_rows(quality: pd.DataFrame, masks: pd.DataFrame, digest_cache: Path | None = None) -> pd.DataFrame:
    """The rows of ``quality`` whose generated image, source and mask are still what was scored.

    ``digest_cache``: the step's file-digest cache, read only (training must not write into the
    quality step's folder); a file whose size and mtime it knows is not reread.
    """
    from dlcr_assets.fingerprint import FileDigests
    from dlcr_assets.quality.score import row_fingerprints

    if "fingerprint" not in quality.columns or not len(quality):
        return quality
    mask_paths = dict(zip(masks["path"], masks["mask_path"]))
    current = row_fingerprints(quality["path"], quality["source_path"], mask_paths, FileDigests(digest_cache))
    return quality[quality["fingerprint"].to_numpy() == pd.Series(current, dtype=object).to_numpy()]


def kept_rows(manifest: pd.DataFrame, quality: pd.DataFrame, what: str, masks: pd.DataFrame | None = None,
              digest_cache: Path | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """(``manifest``'s kept ok rows, counts by reason); an image the table does not list is dropped as unscored.

    With ``masks``, a row whose files changed since it was scored (regenerated at the same path, a
    new mask) counts as unscored too, and as ``stale``: its scores say nothing about the new image.
    """
    fresh = fresh_rows(quality, masks, digest_cache) if masks is not None else quality
    kept, counts = kept_variants(manifest, fresh)
    counts["stale"] = int(manifest["path"].isin(set(quality["path"]) - set(fresh["path"])).sum())
    if counts.get("unscored"):
        log.warning("%s: %d generated images are not in the quality table or changed since it was written (%d stale;"
                    " generated after `dlcr generation-quality`?) and are left out; rerun it to score them", what,
                    counts["unscored"], counts["stale"])
    log.info("%s: quality filter keeps %d variants (%s)", what, counts["kept"],
             ", ".join(f"{reason} {n}" for reason, n in counts.items() if reason != "kept" and n))
    return kept, counts


def record_filter(tracking, run_id: str | None, counts: dict[str, int], checkpoint: Path) -> None:
    """The filter's counts as metrics (``quality.kept``, ``quality.dropped_<reason>``) and params of run ``run_id``."""
    if not (tracking.enabled and run_id):
        return
    import time

    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from dlcr_reid.training.tracking import resolve_tracking_uri

    now = int(time.time() * 1000)
    metrics = [Metric("quality.kept", float(counts["kept"]), now, 0)]
    metrics += [Metric(f"quality.dropped_{reason}", float(n), now, 0) for reason, n in counts.items() if reason != "kept"]
    params = [Param("quality.filter", "true"), Param("quality.reference_checkpoint", str(checkpoint)[:500])]
    try:
        MlflowClient(resolve_tracking_uri(tracking)).log_batch(run_id, metrics=metrics, params=params)
    except MlflowException as error:  # a resumed run that logged another reference: keep training's result
        log.warning("could not record the quality filter on MLflow run %s: %s", run_id, error)


__all__ = ["MANIFESTS", "kept_rows", "record_filter", "scored_manifest", "write_histograms"]
