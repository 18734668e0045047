"""A second synthetic CC-ReID renderer, independent of the embedded one: jointed walking figures in the VC-Clothes layout.

``people`` samples identities, outfits, cameras and poses; ``draw`` paints a figure into a part
canvas; ``render`` turns that into an image and its LIP parsing map; ``write`` plans and writes
the dataset (`dlcr synthetic-dataset --renderer vcclothes-figures`).
"""
from __future__ import annotations

from dlcr_reid.datasets.figures.write import MARKER, plan_shots, write_figures_dataset

__all__ = ["MARKER", "plan_shots", "write_figures_dataset"]
