"""The generation section of params.yaml: inpainting backend, sampler settings and engine knobs.

Defaults are the CPU demo (``backend: recolor``, small sizes). The top-level ``profile: paper``
(dlcr_assets.params.profiles) fills every field the YAML leaves unset with ``PAPER_GENERATION``
(SPEC §1.4): backend ``diffusers`` with ``stable-diffusion-v1-5/stable-diffusion-inpainting`` (mirror
of runwayml/stable-diffusion-inpainting), fp16, the checkpoint's default scheduler, 50 steps,
guidance 7.5, strength 1.0, width 256 x height 768, 10 variants per image drawn from the dataset's
own outfits, K=4 query variants. Fields set explicitly in the YAML always win over the profile
(e.g. ``profile: paper`` + ``generation: {steps: 20, scheduler: dpm++}``).

The top-level ``profile: fast`` is the paper profile with generation made fast (``FAST_GENERATION``,
SPEC §3): DPM-Solver++ multistep at 20 steps, ``dtype: auto`` (bf16 on CUDA, fp32 on CPU),
``batch_size: auto`` (from free GPU memory, dlcr_assets.inpainting.speed), channels_last and SDPA
attention; ``compile`` (torch.compile of the UNet) and ``deepcache`` stay off unless chosen. A
switch enters the fingerprints only when it is on and can move a pixel (dlcr_assets.inpainting.speed),
so every switch off keeps the fingerprints of before.

``discriminator_guidance`` (SPEC §1.5) is off in both profiles, as in the paper's main results. On,
`dlcr guided-images` makes a second, guided expansion beside the first (never over it) and
`dlcr reid-checkpoint --mode dlcr` trains on that one instead.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from dlcr_assets.params.discriminator import DiscriminatorGuidanceParams
from dlcr_reid.params import StrictModel

SD15_INPAINTING_ID = "stable-diffusion-v1-5/stable-diffusion-inpainting"
# batch_size auto off CUDA (no free memory to read): the demo's batch, enough to keep the writers fed
CPU_BATCH = 8

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
    # the speed switches (SPEC §3), all off: the paper ran plain diffusers
    "attention": "default",
    "channels_last": False,
    "compile": False,
    "deepcache": {"enabled": False, "interval": 3, "branch": 0},
    # off, as in the paper's main results (guidance is an optional stage of the original code)
    "discriminator_guidance": {"enabled": False, "weight": 1.0, "threshold": 200.0},
}

# The generation values of the top-level `profile: fast`: the paper's model, size and variants, fewer
# sampler steps and the speed levers of SPEC §3. DPM-Solver++ over UniPC: both cost one UNet call per
# step, so speed cannot choose between them (benchmarks/generation_profiles.py times both), and
# DPM-Solver++ is the one with published quality at 20 steps on SD 1.5 (SPEC §3); random weights
# cannot judge quality, so compare on your checkpoint (README, "Fast generation").
FAST_GENERATION: dict[str, Any] = {
    **PAPER_GENERATION,
    "scheduler": "dpm++",
    "steps": 20,
    "dtype": "auto",
    "batch_size": "auto",
    "attention": "sdpa",
    "channels_last": True,
}


class DeepCacheParams(StrictModel):
    """DeepCache (Ma et al. 2024): reuse the UNet's deep features between steps, recomputing them
    every ``interval`` steps; ``branch`` is the skip branch whose features are kept (0: the
    shallowest, the fastest). Changes the images, so on it enters the fingerprints."""

    enabled: bool = False
    interval: int = Field(3, ge=1)
    branch: int = Field(0, ge=0)


class GenerationParams(StrictModel):
    backend: Literal["recolor", "diffusers"] = "recolor"
    # diffusers backend: hub id or local folder of any inpainting pipeline (SD 1.5 / SDXL inpainting)
    model_id: str = SD15_INPAINTING_ID
    # auto: bf16 on CUDA, fp32 elsewhere (fp16 on CPU also runs as fp32)
    dtype: Literal["auto", "fp16", "bf16", "fp32"] = "fp32"
    scheduler: Literal["default", "ddim", "dpm++", "euler", "euler_a", "pndm", "unipc"] = "default"
    steps: int = Field(10, ge=1)
    guidance: float = Field(7.5, ge=0.0)
    strength: float = Field(1.0, gt=0.0, le=1.0)
    # the diffusion resolution; outputs are resized back to each source image's size
    width: int = Field(64, ge=8, multiple_of=8)
    height: int = Field(128, ge=8, multiple_of=8)
    # auto: from free GPU memory after the model is loaded (rule in dlcr_assets.inpainting.speed); 8 on CPU
    batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = 8
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
    # speed switches (SPEC §3). attention sdpa: PyTorch scaled_dot_product_attention set explicitly on
    # the UNet and VAE (default: whatever the checkpoint's model code picks, SDPA in diffusers >= 0.20)
    attention: Literal["default", "sdpa"] = "default"
    channels_last: bool = False
    # torch.compile of the UNet's forward: the first batch pays the compile (minutes on CPU)
    compile: bool = False
    deepcache: DeepCacheParams = Field(default_factory=DeepCacheParams)
    # the guided pass (SPEC §1.5); off: nothing is loaded and fingerprints stay as without it
    discriminator_guidance: DiscriminatorGuidanceParams = Field(default_factory=DiscriminatorGuidanceParams)

    @model_validator(mode="after")
    def _guidance_needs_diffusion(self):
        if self.discriminator_guidance.enabled and self.backend != "diffusers":
            raise ValueError("discriminator_guidance.enabled needs backend: diffusers (it guides the diffusion; "
                             f"backend {self.backend!r} has none)")
        if self.compile and self.deepcache.enabled:
            # DeepCache swaps UNet blocks by Python state at every step, which a compiled UNet would
            # trace as guards (recompiles); the pair is not measured, so it is refused, not guessed at
            raise ValueError("compile and deepcache.enabled cannot both be on: choose one of the two")
        return self
