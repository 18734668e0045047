"""The generation section of params.yaml: inpainting backend, sampler settings and engine knobs.

Defaults are the CPU demo (``backend: recolor``, small sizes). The top-level ``profile: paper``
(dlcr_assets.params.profiles) fills every field the YAML leaves unset with ``PAPER_GENERATION``
(SPEC §1.4): backend ``diffusers`` with ``stable-diffusion-v1-5/stable-diffusion-inpainting`` (mirror
of runwayml/stable-diffusion-inpainting), fp16, the checkpoint's default scheduler, 50 steps,
guidance 7.5, strength 1.0, width 256 x height 768, 10 variants per image drawn from the dataset's
own outfits, K=4 query variants. Fields set explicitly in the YAML always win over the profile
(e.g. ``profile: paper`` + ``generation: {steps: 20, scheduler: dpm++}``).

``discriminator_guidance`` (SPEC §1.5) is off in both profiles, as in the paper's main results. On,
`dlcr guided-images` makes a second, guided expansion beside the first (never over it) and
`dlcr reid-checkpoint --mode dlcr` trains on that one instead.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from dlcr_assets.params.discriminator import DiscriminatorGuidanceParams
from dlcr_reid.params import StrictModel

SD15_INPAINTING_ID = "stable-diffusion-v1-5/stable-diffusion-inpainting"

# SPEC §1.4; the generation values of the top-level `profile: paper`.
PAPER_GENERATION: dict[str, Any] = {
    "backend": "diffusers",
    "model_id": SD15_INPAINTING_ID,
    "dtype": "fp16",
    "scheduler": "default",
    "steps": 50,
    "guidance": 7.5,
    "strength": 1.0,
    "width": 256,
    "height": 768,
    "batch_size": 8,
    "variants_per_image": 10,
    "query_variants": 4,
    "pool": "dataset",
    # off, as in the paper's main results (guidance is an optional stage of the original code)
    "discriminator_guidance": {"enabled": False, "weight": 1.0, "threshold": 200.0},
}


class GenerationParams(StrictModel):
    backend: Literal["recolor", "diffusers"] = "recolor"
    # diffusers backend: hub id or local folder of any inpainting pipeline (SD 1.5 / SDXL inpainting)
    model_id: str = SD15_INPAINTING_ID
    dtype: Literal["fp16", "bf16", "fp32"] = "fp32"
    scheduler: Literal["default", "ddim", "dpm++", "euler", "euler_a", "pndm", "unipc"] = "default"
    steps: int = Field(10, ge=1)
    guidance: float = Field(7.5, ge=0.0)
    strength: float = Field(1.0, gt=0.0, le=1.0)
    # the diffusion resolution; outputs are resized back to each source image's size
    width: int = Field(64, ge=8, multiple_of=8)
    height: int = Field(128, ge=8, multiple_of=8)
    batch_size: int = Field(8, ge=1)
    variants_per_image: int = Field(4, ge=1)
    query_variants: int = Field(4, ge=1)
    # where target outfits come from: the dataset's own outfits, or those plus novel ones
    pool: Literal["dataset", "dataset+novel"] = "dataset+novel"
    # mixed into every per-image seed: change it to get a different (still reproducible) expansion
    seed: int = 0
    # engine I/O: reader prefetch depth (batches) and PNG writer threads
    prefetch: int = Field(2, ge=1)
    num_workers: int = Field(2, ge=1)
    # default shard count for `dlcr generated-images` without --shard
    shards: int = Field(1, ge=1)
    # the guided pass (SPEC §1.5); off: nothing is loaded and fingerprints stay as without it
    discriminator_guidance: DiscriminatorGuidanceParams = Field(default_factory=DiscriminatorGuidanceParams)

    @model_validator(mode="after")
    def _guidance_needs_diffusion(self):
        if self.discriminator_guidance.enabled and self.backend != "diffusers":
            raise ValueError("discriminator_guidance.enabled needs backend: diffusers (it guides the diffusion; "
                             f"backend {self.backend!r} has none)")
        return self
