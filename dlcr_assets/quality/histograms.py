"""One histogram image per score for the asset's metadata: kept vs dropped, PNG bytes (matplotlib Agg)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

SCORES = ("identity_cosine", "clothes_distance", "lab_delta_e", "colour_entropy", "leaked_pixels", "realism",
          "prompt_similarity")
THRESHOLDS = {"identity_cosine": "identity_threshold", "clothes_distance": "clothes_threshold",
              "colour_entropy": "entropy_threshold"}


def score_histograms(quality: pd.DataFrame, bins: int = 30) -> dict[str, bytes]:
    """{score: PNG} for every score column with at least one value; the median threshold is drawn dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    images = {}
    for score in SCORES:
        if score not in quality:
            continue
        values = pd.to_numeric(quality[score], errors="coerce")
        known = values.notna().to_numpy()
        if not known.any():
            continue
        kept = quality["kept"].astype(bool).to_numpy()
        figure = Figure(figsize=(4, 2.6), dpi=100)
        axes = figure.add_subplot()
        edges = np.histogram_bin_edges(values[known], bins=bins)
        axes.hist([values[known & kept], values[known & ~kept]], bins=edges, stacked=True,
                  label=["kept", "dropped"], color=["tab:green", "tab:red"])
        column = THRESHOLDS.get(score)
        if column in quality and pd.to_numeric(quality[column], errors="coerce").notna().any():
            axes.axvline(float(pd.to_numeric(quality[column], errors="coerce").median()), color="k", linestyle="--",
                         label="threshold")
        axes.set_title(score, fontsize=9)
        axes.legend(fontsize=7)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        images[score] = buffer.getvalue()
    return images
