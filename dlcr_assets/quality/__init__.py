"""Quality of generated data (issue 8): score each generated image, keep the good ones, show the scores.

``score_generated_images`` (score.py) writes the quality table; ``decide`` / ``kept_variants``
(policy.py) apply the filter policy (``dlcr_assets.params.quality.QualityParams``);
``score_histograms`` draws one PNG per score for the asset's metadata; ``filtering.py`` is the
pipeline step's glue (what it scores, the kept rows training reads, the MLflow record).
"""
from __future__ import annotations

from dlcr_assets.quality.histograms import score_histograms
from dlcr_assets.quality.policy import REASONS, decide, kept_variants, reason_counts
from dlcr_assets.quality.score import score_generated_images
from dlcr_assets.quality.scorers import ClipPromptScorer, PromptScorer, RealismScorer

__all__ = ["REASONS", "ClipPromptScorer", "PromptScorer", "RealismScorer", "decide", "kept_variants",
           "reason_counts", "score_generated_images", "score_histograms"]
