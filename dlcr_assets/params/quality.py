"""The quality section of params.yaml: which generated images are kept for training (issue 8).

Every threshold is off when set to null. The filter is OFF by default (``filter: false``): the
paper trains on every generated image, and filtering's effect on training is not yet measured at
a meaningful size (benchmarks/quality_training.py); the step still scores every image and its
asset shows the scores. The thresholds' defaults are rules RELATIVE to the data, never numbers
fitted to the embedded dataset, because the scales of the scores depend on the reference model,
the image size and the dataset (a cosine of 0.8 is excellent for one ReID model and poor for
another; a colour distance of 0.2 is a big change for grey uniforms and a small one for street
clothes). The references are computed from REAL training images with the same reference model and
the same masks:

- identity (OFF by default, ``require_nearest_identity: false``, ``identity_quantile: null``; the
  scores are still computed): with the dataset's own baseline as reference, a clothes-biased model,
  each rule alone keeps only 28-58% of the CLEAN recolor variants of the embedded dataset (two
  references; benchmarks/README.md), while each pixel rule keeps 99-100%; so they are for a
  clothes-invariant reference given by ``checkpoint``. When on: among the training identities'
  mean features, the source's identity must rank for the generated image no worse than it ranks
  for real images of known identity (the ``1 - identity_quantile`` quantile (null: strictly 1) of
  real images' own-identity ranks, leave-one-out; 1 = nearest,
  which it is for a reference model that recognises its training set). The cosine to the source
  must not fall below ``identity_quantile`` of the cosines between real images of that identity in
  DIFFERENT clothes (a variant is its source in other clothes; one less similar than nearly every
  real cross-clothes pair has drifted). An absolute ``min_identity_cosine`` can be added on top.
- clothes: the colour/texture distance between the generated clothes and the source's must exceed
  ``clothes_quantile`` of the distances between real images of one outfit (the variation a single
  outfit shows across views); a smaller change is no clothes change ("unchanged").
- noise: the colour entropy inside the mask must not exceed the ``entropy_quantile`` of real clothes
  regions by more than ``entropy_margin_bits`` (1 bit: twice as many effective colours as nearly
  every real garment): noise or a shredded garment has far more colours than any real one. (A
  high-frequency energy was tried first: patterned real clothes reach the energy of noise.)
- leakage: at most ``max_leaked_pixels`` pixels outside the mask may differ from the source (0:
  the engine pastes inside the mask, so any difference is a bug).
- realism / prompt adherence: absolute floors, off by default; they only apply when a scorer runs.

``min_kept_fraction`` is for the asset check: below it the check warns, and with
``block_training_below`` it fails so training does not start on a mostly rejected expansion.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from dlcr_reid.params import StrictModel


class QualityParams(StrictModel):
    # DLCR training and refinement read only kept variants (false: every generated image, as the paper)
    filter: bool = False
    # the reference ReID checkpoint (.safetensors or its stem); null: the dataset's baseline best checkpoint
    checkpoint: Path | None = None
    # identity (off by default: see above)
    require_nearest_identity: bool = False
    identity_quantile: float | None = Field(None, ge=0.0, le=1.0)
    min_identity_cosine: float | None = Field(None, ge=-1.0, le=1.0)
    # clothes change
    clothes_quantile: float | None = Field(0.5, ge=0.0, le=1.0)
    min_clothes_distance: float | None = Field(None, ge=0.0)
    # implausibly many colours inside the mask (noise, shredded garments)
    entropy_quantile: float | None = Field(0.99, ge=0.0, le=1.0)
    entropy_margin_bits: float = Field(1.0, ge=0.0)
    # pixels outside the mask that differ from the source
    max_leaked_pixels: int | None = Field(0, ge=0)
    # optional scorers: realism (a discriminator) and CLIP image-text similarity
    min_realism: float | None = None
    prompt_model_id: str | None = None  # CLIP id or folder; null: prompt similarity not computed
    min_prompt_similarity: float | None = None
    # feature extraction of the reference model
    batch_size: int = Field(64, ge=1)
    # asset check: warn below this kept fraction; with block_training_below, fail (blocks training)
    min_kept_fraction: float = Field(0.5, ge=0.0, le=1.0)
    block_training_below: bool = False
