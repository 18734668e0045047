"""The filter: which scored generated images are kept, why the others are dropped, and the kept manifest.

``decide`` is a pure function of the quality table and the policy: each row carries its own
data-relative thresholds (``identity_threshold``, ``clothes_threshold``, ``entropy_threshold``,
computed by ``score_generated_images`` from real training images), so a changed policy re-decides
without rescoring. A row failing several rules lists every reason, joined by ",".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.params.quality import QualityParams

REASONS = ("identity", "unchanged", "noise", "leak", "realism", "prompt")


def _below(values: pd.Series, floor) -> np.ndarray:
    """True where a score is known and below ``floor`` (a scalar or a per-row Series)."""
    values = pd.to_numeric(values, errors="coerce")
    floor = pd.to_numeric(floor, errors="coerce") if isinstance(floor, pd.Series) else floor
    return (values < floor).fillna(False).to_numpy(bool)


def decide(quality: pd.DataFrame, params: QualityParams) -> pd.DataFrame:
    """The table with ``kept`` (bool) and ``reason`` (comma-joined, "" when kept) set from ``params``."""
    n = len(quality)
    failed: dict[str, np.ndarray] = {reason: np.zeros(n, bool) for reason in REASONS}
    if params.require_nearest_identity:
        nearest = quality["identity_nearest_ok"]
        failed["identity"] |= (nearest.notna() & (nearest == False)).to_numpy(bool)  # noqa: E712  (None: not applicable)
    if params.identity_quantile is not None:
        failed["identity"] |= _below(quality["identity_cosine"], quality["identity_threshold"])
    if params.min_identity_cosine is not None:
        failed["identity"] |= _below(quality["identity_cosine"], params.min_identity_cosine)
    if params.clothes_quantile is not None:
        failed["unchanged"] |= _below(quality["clothes_distance"], quality["clothes_threshold"])
    if params.min_clothes_distance is not None:
        failed["unchanged"] |= _below(quality["clothes_distance"], params.min_clothes_distance)
    if params.entropy_quantile is not None:
        failed["noise"] |= _below(quality["entropy_threshold"], quality["colour_entropy"])
    if params.max_leaked_pixels is not None:
        failed["leak"] |= (quality["leaked_pixels"] > params.max_leaked_pixels).to_numpy(bool)
    if params.min_realism is not None and "realism" in quality:
        failed["realism"] |= _below(quality["realism"], params.min_realism)
    if params.min_prompt_similarity is not None and "prompt_similarity" in quality:
        failed["prompt"] |= _below(quality["prompt_similarity"], params.min_prompt_similarity)
    reasons = [",".join(r for r in REASONS if failed[r][i]) for i in range(n)]
    out = quality.copy()
    out["reason"] = pd.Series(reasons, index=quality.index, dtype=object)
    out["kept"] = out["reason"] == ""
    return out


def reason_counts(quality: pd.DataFrame) -> dict[str, int]:
    """{"kept": n, "<reason>": n dropped for it (a row with two reasons counts in both)}."""
    counts = {"kept": int(quality["kept"].sum())}
    for reason in REASONS:
        counts[reason] = int(quality["reason"].str.split(",").apply(lambda parts, r=reason: r in parts).sum())
    return counts


def kept_variants(manifest: pd.DataFrame, quality: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the manifest restricted to kept ok rows, counts by reason incl. "unscored" and "failed").

    An ok row the quality table does not list (generated after scoring) is dropped as "unscored":
    training must not read an image nobody has checked.
    """
    for column, table, what in (("path", manifest, "manifest"), ("kept", quality, "quality table")):
        if column not in table.columns:
            raise StepInputError(f"the {what} has no {column!r} column; columns: {list(table.columns)}")
    kept_paths = set(quality.loc[quality["kept"].astype(bool), "path"])
    ok = manifest["status"] == "ok" if "status" in manifest.columns else pd.Series(True, index=manifest.index)
    scored = manifest["path"].isin(set(quality["path"]))
    keep = ok & manifest["path"].isin(kept_paths)
    counts = reason_counts(quality[quality["path"].isin(set(manifest["path"]))]) if len(quality) else {"kept": 0}
    counts.update(kept=int(keep.sum()), unscored=int((ok & ~scored).sum()), failed=int((~ok).sum()))
    return manifest[keep].reset_index(drop=True), counts
