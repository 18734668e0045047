"""Clothing masks (SPEC §1.3): binary 0/255 masks of the clothes, one PNG per image, plus a table.

``make_clothing_masks`` writes ``<out_dir>/<split>/<rel>.png`` (out_dir = data/clothing_masks/<name>) at each
image's own resolution, and for the segformer backend (or ATR maps) the label map translated to LIP
ids under ``<out_dir>/labels/<split>/<rel>.png`` so the recolor inpainter can paint garment by garment.
Each row records a ``fingerprint`` (settings, model revision, image and label-map digests); given the
previous table, a rerun remakes only the rows whose fingerprint changed or whose files are gone.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from dlcr_assets.fingerprint import FileDigests, extend, fingerprint
from dlcr_assets.hub import resolve_device
from dlcr_assets.masks.labels import clothes_labels_from_id2label  # noqa: F401  (public)
from dlcr_assets.masks.naming import relative_keys
from dlcr_assets.masks.parsing_maps import parsing_map_paths, read_label_map, scheme_tables
from dlcr_assets.params.masks import MasksParams
from dlcr_assets.reuse import Previous, Reuse
from dlcr_reid.io import atomic_write
from dlcr_reid.progress import progress

log = logging.getLogger(__name__)

MASK_COLUMNS = ["path", "mask_path", "parsing_path", "coverage", "status", "error", "fingerprint"]
# bump when mask making changes what it writes for the same inputs and settings
MASKS_FORMAT = "masks/1"


def _save_png(array: np.ndarray, path: Path) -> None:
    with atomic_write(path) as tmp:
        Image.fromarray(array, mode="L").save(tmp, format="PNG")


def _finish(mask: np.ndarray, params: MasksParams) -> tuple[np.ndarray, float, str]:
    """Dilate, turn into 0/255 and judge coverage (ok / empty / full)."""
    image = Image.fromarray(mask.astype(np.uint8) * 255, mode="L")
    if params.dilation:
        image = image.filter(ImageFilter.MaxFilter(2 * params.dilation + 1))
    binary = np.asarray(image, dtype=np.uint8)
    coverage = float((binary > 0).mean())
    status = "empty" if coverage < params.min_coverage else "full" if coverage > params.max_coverage else "ok"
    return binary, coverage, status


def settings_of(params: MasksParams) -> dict:
    """What besides the image (and its label map) determines a mask, its label copy and its status."""
    settings = {"format": MASKS_FORMAT, "backend": params.backend, "dilation": params.dilation,
                "min_coverage": params.min_coverage, "max_coverage": params.max_coverage}
    if params.backend == "parsing-maps":
        settings["label_scheme"] = params.label_scheme
    else:
        from dlcr_assets.hub import model_revision

        settings.update(model_id=params.model_id, revision=model_revision(params.model_id))
    return settings


def _reusable(row: dict | None, mask_path: str) -> bool:
    """A matching earlier row is kept only if it did not fail and its files are where this run puts them."""
    if row is None or row["status"] == "failed" or row["mask_path"] != mask_path:
        return False
    parsing = row.get("parsing_path")
    return Path(mask_path).is_file() and (not isinstance(parsing, str) or Path(parsing).is_file())


def make_clothing_masks(
    index: pd.DataFrame,
    params: MasksParams,
    out_dir: Path,
    device: str = "auto",
    dataset_root: Path | None = None,
    previous: Previous = None,
    digests: FileDigests | None = None,
) -> pd.DataFrame:
    """Masks for the index rows in ``params.splits``; returns the masks table (one row per image).

    Rows with status ``empty``/``full`` (coverage outside [min_coverage, max_coverage]) or
    ``failed`` (unreadable image or label map; ``error`` says why) are excluded from generation;
    ``table.attrs["excluded"]`` lists them. ``previous`` is the table of an earlier run (or its
    path): a row whose fingerprint (settings + content digests of the image and its label map) is
    unchanged, and whose files are still there, is kept without reading anything;
    ``table.attrs["run"]`` counts rows, computed, skipped and stale.
    """
    out_dir = Path(out_dir)
    rows = index[index["split"].isin(params.splits)].reset_index(drop=True)
    keys = relative_keys(rows).tolist()
    mask_paths = [str((out_dir / f"{key}.png").resolve()) for key in keys]
    images = rows["path"].astype(str).tolist()
    sources = parsing_map_paths(rows, params, dataset_root) if params.backend == "parsing-maps" else [None] * len(rows)
    digests = digests or FileDigests()
    base = fingerprint(settings_of(params))
    values = [extend(base, digests(image), digests(source)) for image, source in zip(images, sources)]
    reuse = Reuse(previous, "path")
    records: list[dict] = []
    todo: list[int] = []
    for i, (image, value) in enumerate(zip(images, values)):
        row = reuse.get(image, value)
        if _reusable(row, mask_paths[i]):
            records.append({column: row.get(column) for column in MASK_COLUMNS})
        else:
            if row is not None:  # matched, but its files are gone or it failed: computed after all
                reuse.kept -= 1
            todo.append(i)

    if todo and params.backend == "parsing-maps":
        is_clothes, to_lip = scheme_tables(params.label_scheme)
        for i in progress(todo, desc="clothing masks", unit="img"):
            record = {"path": images[i], "mask_path": mask_paths[i], "parsing_path": None, "fingerprint": values[i]}
            try:
                labels = read_label_map(sources[i])
                with Image.open(images[i]) as image:
                    size = image.size
                resized = labels.shape[::-1] != size
                if resized:  # maps from a parser run at another size
                    labels = np.asarray(Image.fromarray(labels).resize(size, Image.NEAREST))
                binary, coverage, status = _finish(is_clothes[labels], params)
                _save_png(binary, Path(mask_paths[i]))
                if params.label_scheme == "lip" and not resized:
                    record["parsing_path"] = str(Path(sources[i]).resolve())
                else:  # keep a LIP-id copy at the image's size for the recolor backend
                    lip_path = (out_dir / "labels" / f"{keys[i]}.png").resolve()
                    _save_png(to_lip[labels], lip_path)
                    record["parsing_path"] = str(lip_path)
                record.update(coverage=coverage, status=status, error=None)
            except Exception as error:  # one bad file must not stop the dataset
                record.update(coverage=0.0, status="failed", error=f"{type(error).__name__}: {error}")
            records.append(record)
    elif todo:
        from dlcr_assets.masks.segformer import SegformerParser

        parser = SegformerParser(params.model_id, resolve_device(device))
        for start in progress(range(0, len(todo), params.batch_size), desc="clothing masks (segformer)", unit="batch"):
            batch = todo[start:start + params.batch_size]
            loaded, ok_rows = [], []
            for i in batch:
                try:
                    with Image.open(images[i]) as image:
                        loaded.append(image.convert("RGB"))
                    ok_rows.append(i)
                except Exception as error:
                    records.append({"path": images[i], "mask_path": mask_paths[i], "parsing_path": None,
                                    "coverage": 0.0, "status": "failed", "error": f"{type(error).__name__}: {error}",
                                    "fingerprint": values[i]})
            for i, labels in zip(ok_rows, parser.parse(loaded) if loaded else []):
                binary, coverage, status = _finish(parser.is_clothes[labels], params)
                _save_png(binary, Path(mask_paths[i]))
                lip_path = (out_dir / "labels" / f"{keys[i]}.png").resolve()
                _save_png(parser.to_lip[labels], lip_path)
                records.append({"path": images[i], "mask_path": mask_paths[i], "parsing_path": str(lip_path),
                                "coverage": coverage, "status": status, "error": None, "fingerprint": values[i]})

    table = pd.DataFrame.from_records(records, columns=MASK_COLUMNS)
    order = {p: n for n, p in enumerate(images)}
    table = table.sort_values("path", key=lambda s: s.map(order)).reset_index(drop=True)
    table["coverage"] = table["coverage"].astype(float)
    excluded = table[table["status"] != "ok"]
    table.attrs["excluded"] = excluded["path"].tolist()
    if len(excluded):
        log.warning("clothing masks: %d of %d images excluded from generation (%s)", len(excluded), len(table),
                    excluded["status"].value_counts().to_dict())
    return reuse.report(table, "clothing masks")


def summarize_masks(table: pd.DataFrame) -> str:
    """Counts per status and coverage quantiles, plus the excluded images (the stats the CLI prints)."""
    counts = table["status"].value_counts().to_dict()
    ok = table.loc[table["status"] == "ok", "coverage"]
    lines = [f"{len(table)} masks: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    if len(ok):
        lines.append(f"coverage of ok masks: min {ok.min():.3f}, median {ok.median():.3f}, max {ok.max():.3f}")
    for _, row in table[table["status"] != "ok"].head(20).iterrows():
        lines.append(f"  excluded ({row['status']}, coverage {row['coverage']:.3f}): {row['path']}"
                     + (f" — {row['error']}" if row["error"] else ""))
    return "\n".join(lines)


__all__ = ["make_clothing_masks", "summarize_masks", "clothes_labels_from_id2label", "MASK_COLUMNS"]
