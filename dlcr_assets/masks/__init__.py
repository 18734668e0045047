"""Clothing masks (SPEC §1.3): binary 0/255 masks of the clothes, one PNG per image, plus a table.

``make_clothing_masks`` writes ``<out_dir>/<split>/<rel>.png`` (out_dir = data/masks/<name>) at each
image's own resolution, and for the segformer backend (or ATR maps) the label map translated to LIP
ids under ``<out_dir>/labels/<split>/<rel>.png`` so the recolor inpainter can paint garment by garment.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from dlcr_assets.hub import resolve_device
from dlcr_assets.masks.labels import clothes_labels_from_id2label  # noqa: F401  (public)
from dlcr_assets.masks.naming import relative_keys
from dlcr_assets.masks.parsing_maps import parsing_map_paths, read_label_map, scheme_tables
from dlcr_assets.params.masks import MasksParams
from dlcr_reid.io import atomic_write
from dlcr_reid.progress import progress

log = logging.getLogger(__name__)

MASK_COLUMNS = ["path", "mask_path", "parsing_path", "coverage", "status", "error"]


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


def make_clothing_masks(
    index: pd.DataFrame,
    params: MasksParams,
    out_dir: Path,
    device: str = "auto",
    dataset_root: Path | None = None,
) -> pd.DataFrame:
    """Masks for the index rows in ``params.splits``; returns the masks table (one row per image).

    Rows with status ``empty``/``full`` (coverage outside [min_coverage, max_coverage]) or
    ``failed`` (unreadable image or label map; ``error`` says why) are excluded from generation;
    ``table.attrs["excluded"]`` lists them.
    """
    out_dir = Path(out_dir)
    rows = index[index["split"].isin(params.splits)].reset_index(drop=True)
    keys = relative_keys(rows).tolist()
    mask_paths = [str((out_dir / f"{key}.png").resolve()) for key in keys]
    records: list[dict] = []

    if params.backend == "parsing-maps":
        sources = parsing_map_paths(rows, params, dataset_root)
        is_clothes, to_lip = scheme_tables(params.label_scheme)
        for i in progress(range(len(rows)), desc="clothing masks", unit="img"):
            record = {"path": rows.at[i, "path"], "mask_path": mask_paths[i], "parsing_path": None}
            try:
                labels = read_label_map(sources[i])
                with Image.open(rows.at[i, "path"]) as image:
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
    else:
        from dlcr_assets.masks.segformer import SegformerParser

        parser = SegformerParser(params.model_id, resolve_device(device))
        for start in progress(range(0, len(rows), params.batch_size), desc="clothing masks (segformer)", unit="batch"):
            batch = list(range(start, min(start + params.batch_size, len(rows))))
            images, ok_rows = [], []
            for i in batch:
                try:
                    with Image.open(rows.at[i, "path"]) as image:
                        images.append(image.convert("RGB"))
                    ok_rows.append(i)
                except Exception as error:
                    records.append({"path": rows.at[i, "path"], "mask_path": mask_paths[i], "parsing_path": None,
                                    "coverage": 0.0, "status": "failed", "error": f"{type(error).__name__}: {error}"})
            for i, labels in zip(ok_rows, parser.parse(images) if images else []):
                binary, coverage, status = _finish(parser.is_clothes[labels], params)
                _save_png(binary, Path(mask_paths[i]))
                lip_path = (out_dir / "labels" / f"{keys[i]}.png").resolve()
                _save_png(parser.to_lip[labels], lip_path)
                records.append({"path": rows.at[i, "path"], "mask_path": mask_paths[i], "parsing_path": str(lip_path),
                                "coverage": coverage, "status": status, "error": None})

    table = pd.DataFrame.from_records(records, columns=MASK_COLUMNS)
    order = {p: n for n, p in enumerate(rows["path"])}
    table = table.sort_values("path", key=lambda s: s.map(order)).reset_index(drop=True)
    table["coverage"] = table["coverage"].astype(float)
    excluded = table[table["status"] != "ok"]
    table.attrs["excluded"] = excluded["path"].tolist()
    if len(excluded):
        log.warning("clothing masks: %d of %d images excluded from generation (%s)", len(excluded), len(table),
                    excluded["status"].value_counts().to_dict())
    return table


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
