"""Per-split counts of an index table (ids, images, outfits, cameras) and its printable form."""
from __future__ import annotations

import pandas as pd

from dlcr_reid.datasets.table import SPLITS

SHOWN_UNMATCHED = 5


def summarize_index(index: pd.DataFrame) -> pd.DataFrame:
    """One row per split (in train/query/gallery order) plus ``total``: ids, images, outfits, cameras.

    Video tables count tracklets as images and add a ``frames`` column. ``attrs["unmatched"]``
    of the index is carried over, so the summary says what was not indexed.
    """
    order = [split for split in SPLITS if split in set(index["split"])]
    order += sorted(set(index["split"]) - set(order))
    is_video = "num_frames" in index.columns
    rows = []
    for split, part in index.groupby("split", sort=False):
        rows.append(_counts(str(split), part, is_video, within_split=True))
    rows.sort(key=lambda row: order.index(row["split"]))
    rows.append(_counts("total", index, is_video, within_split=False))
    summary = pd.DataFrame(rows).set_index("split")
    summary.attrs["unmatched"] = list(index.attrs.get("unmatched", []))
    return summary


def _counts(split: str, part: pd.DataFrame, is_video: bool, within_split: bool) -> dict:
    # Within a split the integer labels are one-to-one with the raw keys (cheaper to count);
    # across splits train labels are relabelled and test ones raw, so only raw keys compare.
    ids = part["pid"] if within_split else part["pid_raw"]
    outfits = part["clothes_id"] if within_split else part["clothes_raw"]
    row = {
        "split": split,
        "ids": int(ids.nunique()),
        "images": int(len(part)),
        "outfits": int(outfits.nunique()),
        "cameras": int(part["camid"].nunique()),
    }
    if is_video:
        row["frames"] = int(part["num_frames"].sum())
    return row


def summary_text(index: pd.DataFrame, title: str | None = None) -> str:
    """The summary as text: a count table, then the number and first few unmatched files."""
    summary = summarize_index(index)
    lines = [title] if title else []
    lines.append(summary.to_string())
    unmatched = summary.attrs["unmatched"]
    lines.append(f"unmatched (files or list lines no naming rule matched): {len(unmatched)}")
    lines += [f"  {path}" for path in unmatched[:SHOWN_UNMATCHED]]
    if len(unmatched) > SHOWN_UNMATCHED:
        lines.append(f"  ... and {len(unmatched) - SHOWN_UNMATCHED} more")
    return "\n".join(lines)
