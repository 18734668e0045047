"""Progressive learning (SPEC §1.6): the share of an image's generated variants that may be drawn grows.

Variants are ordered by their ``variant`` number; at a stage with fraction f an image with n
variants may draw from its first ``max(1, ceil(f * n))``. Stage starts are written in the epochs of
a ``progressive_reference_epochs``-long run and scaled to the run's length, rounded up so the
first (smallest) stage always gets at least one epoch (see TrainingParams).
"""
from __future__ import annotations

import math

from dlcr_reid.params.training import TrainingParams


def stage_starts(params: TrainingParams) -> list[tuple[int, float]]:
    """The schedule of this run: (first epoch, fraction) per stage, 0-based epochs."""
    scale = params.epochs / params.progressive_reference_epochs
    return [(math.ceil(start * scale - 1e-9), fraction) for start, fraction in params.progressive_schedule]


def variant_fraction(params: TrainingParams, epoch: int) -> float:
    """Fraction of each image's variants that may be drawn at ``epoch`` (0-based); 1 without progressive."""
    if not params.progressive:
        return 1.0
    fraction = params.progressive_schedule[0][1]
    for start, stage_fraction in stage_starts(params):
        if epoch >= start:
            fraction = stage_fraction
    return fraction


def allowed_variant_count(num_variants: int, fraction: float) -> int:
    """How many of an image's first variants are in the pool (at least one when it has any)."""
    if num_variants == 0:
        return 0
    return min(num_variants, max(1, math.ceil(fraction * num_variants - 1e-9)))
