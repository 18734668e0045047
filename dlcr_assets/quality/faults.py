"""Fault injection: known-bad generated images, to measure what the quality filter catches.

Four kinds, each a failure a real inpainting model shows silently:

- ``identity``: another training identity's image composited inside the source's mask (the
  person's clothes region now shows someone else: an identity drift);
- ``unchanged``: an exact copy of the source (the model reproduced the old clothes);
- ``noise``: uniform noise inside the mask (a blob replaces the garment);
- ``outside``: the garment's colour painted on a band of pixels just outside the mask (a garment
  leaking onto the background).

``inject_faults`` writes the faulty images under ``out_dir`` and returns the manifest with those
rows pointing at them and a ``fault`` column (None for the untouched rows).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy.ndimage import binary_dilation

from dlcr_assets.quality.pixels import read_mask, read_rgb
from dlcr_reid.io import atomic_write

FAULTS = ("identity", "unchanged", "noise", "outside")


def make_fault(kind: str, generated: np.ndarray, source: np.ndarray, mask: np.ndarray,
               other: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """One faulty image of ``kind`` (``other``: another identity's image, for ``identity``)."""
    out = generated.copy()
    if kind == "identity":
        resized = np.asarray(Image.fromarray(other).resize(source.shape[1::-1], Image.BILINEAR))
        out = source.copy()
        out[mask] = resized[mask]
    elif kind == "unchanged":
        out = source.copy()
    elif kind == "noise":
        out[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
    elif kind == "outside":
        ring = binary_dilation(mask, iterations=2) & ~mask
        colour = generated[mask].mean(axis=0) if mask.any() else np.array([255, 0, 0])
        out[ring] = np.clip(colour, 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"unknown fault kind {kind!r}; known: {list(FAULTS)}")
    return out


def inject_faults(manifest: pd.DataFrame, index: pd.DataFrame, masks: pd.DataFrame, out_dir: Path,
                  fraction: float, kinds: tuple[str, ...] = FAULTS, seed: int = 0) -> pd.DataFrame:
    """Replace ``fraction`` of the ok rows (split evenly over ``kinds``) with faulty images."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    table = manifest.reset_index(drop=True).copy()
    table["fault"] = pd.Series(None, index=table.index, dtype=object)
    ok = np.flatnonzero((table["status"] == "ok").to_numpy())
    chosen = rng.permutation(ok)[: int(round(fraction * len(ok)))]
    mask_paths = dict(zip(masks["path"], masks["mask_path"]))
    train = index[index["split"] == "train"]
    pid_of = dict(zip(index["path"], index["pid"]))
    for number, row in enumerate(chosen):
        kind = kinds[number % len(kinds)]
        source_path, path = table.at[row, "source_path"], table.at[row, "path"]
        others = train[train["pid"] != pid_of[source_path]]["path"].to_numpy()
        other = read_rgb(others[rng.integers(len(others))]) if kind == "identity" else None
        image = make_fault(kind, read_rgb(path), read_rgb(source_path), read_mask(mask_paths[source_path]), other, rng)
        target = out_dir / kind / f"{number:05d}_{Path(path).name}"
        with atomic_write(target) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
        table.at[row, "path"] = str(target.resolve())
        table.at[row, "fault"] = kind
    return table


def filter_scores(quality: pd.DataFrame, faults: pd.DataFrame) -> pd.DataFrame:
    """Per fault kind: injected, caught, recall, precision (over that kind + the clean rows), plus clean drops.

    Precision of a kind = caught faults of that kind / (those + clean rows dropped): how much of
    what the filter drops, in a set of clean rows plus that kind only, is really faulty.
    """
    joined = quality.merge(faults[["path", "fault"]], on="path", how="left")
    dropped = ~joined["kept"].astype(bool)
    clean = joined["fault"].isna()
    false_drops = int((dropped & clean).sum())
    rows = []
    for kind in FAULTS:
        mine = (joined["fault"] == kind).to_numpy()
        if not mine.any():
            continue
        caught = int((dropped & mine).sum())
        reasons = joined.loc[mine & dropped, "reason"].str.split(",").explode().value_counts()
        rows.append(dict(fault=kind, injected=int(mine.sum()), caught=caught, recall=caught / mine.sum(),
                         precision=caught / (caught + false_drops) if caught + false_drops else float("nan"),
                         reasons=", ".join(f"{r} {n}" for r, n in reasons.items())))
    rows.append(dict(fault="(clean)", injected=int(clean.sum()), caught=false_drops,
                     recall=float("nan"), precision=float("nan"),
                     reasons=", ".join(f"{r} {n}" for r, n in
                                       joined.loc[clean & dropped, "reason"].str.split(",").explode().value_counts().items())))
    return pd.DataFrame(rows)
