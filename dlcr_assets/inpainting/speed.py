"""The speed levers of the diffusers backend (SPEC §3): dtype, batch size, channels_last, SDPA, torch.compile, DeepCache.

``pipeline_dtype`` and ``auto_batch_size`` turn the ``auto`` values of the generation section into
numbers for a device; ``apply_speedups`` sets the switches on a loaded pipeline (each one off leaves
the pipeline untouched, so all off is today's generation bit for bit) and returns what of them can
move a pixel, for the fingerprint: channels_last (measured: one 8-bit level on ~1 value in 10,000
on CPU, other convolution kernels), torch.compile (fused kernels round differently) and DeepCache
(other images); ``attention: sdpa`` only where it replaced another processor (diffusers' default
is already SDPA for SD 1.5 and SDXL, so there it changes nothing). Batch size stays out, as before
(benchmarks/batch_invariance.py).
"""
from __future__ import annotations

import logging

import torch

from dlcr_assets.params.generation import CPU_BATCH, GenerationParams

log = logging.getLogger(__name__)

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}

# batch_size auto: the largest on CUDA (past 32 images/s stop growing while a lost batch costs
# more); on CPU it is CPU_BATCH (dlcr_assets.params.generation)
MAX_BATCH = 32
# bytes one image needs while it is generated, per pixel of the diffusion size and per byte of the
# dtype. Measured on CPU by benchmarks/generation_memory.py (peak resident memory, full-size SD 1.5,
# 256x768, fp32, batch 1 vs 3; two runs): the VAE decode + encode adds 0.47-0.58 GiB per image
# (641-788 bytes per pixel per dtype byte), the UNet's guidance pair 0.27-0.30 GiB; the phases run
# one after the other, so the VAE is the peak. 1024 leaves 1.3-1.6x for CUDA workspaces and
# fragmentation (0.375 GiB per 256x768 bf16 image); out of memory still halves the batch
# (dlcr_assets.hub.run_in_batches)
BYTES_PER_PIXEL_BYTE = 1024
# the share of free memory the batch may take (the rest: allocator fragmentation, cuDNN workspaces)
FREE_SHARE = 0.8


def pipeline_dtype(name: str, device: str) -> torch.dtype:
    """The torch dtype for ``generation.dtype`` on ``device``: auto is bf16 on CUDA, fp32 elsewhere;
    fp16 on CPU runs as fp32 (many CPU kernels have no fp16 version; same images, only slower)."""
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if name == "fp16" and device == "cpu":
        log.warning("generation.dtype fp16 on CPU: using fp32")
        return torch.float32
    return DTYPES[name]


def auto_batch_size(width: int, height: int, dtype: torch.dtype, device: str) -> int:
    """``batch_size: auto``: on CUDA, FREE_SHARE of the free memory (torch.cuda.mem_get_info, read
    after the model is loaded) over the estimated bytes per image, between 1 and MAX_BATCH; CPU_BATCH elsewhere."""
    if not device.startswith("cuda"):
        return CPU_BATCH
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    per_image = BYTES_PER_PIXEL_BYTE * width * height * torch.tensor([], dtype=dtype).element_size()
    batch = max(1, min(MAX_BATCH, int(free * FREE_SHARE // per_image)))
    log.info("generation.batch_size auto: %d (%.1f GiB free, ~%.2f GiB per %dx%d image)",
             batch, free / 2**30, per_image / 2**30, width, height)
    return batch


def apply_speedups(pipe, params: GenerationParams) -> dict:
    """Set the speed switches of ``params`` on ``pipe`` (already on its device and dtype); return the
    fingerprint entries of those that can change the images (empty with every switch off)."""
    changed: dict = {}
    if params.attention == "sdpa":
        from diffusers.models.attention_processor import AttnProcessor2_0

        for model in (pipe.unet, pipe.vae):
            if any(type(p) is not AttnProcessor2_0 for p in model.attn_processors.values()):
                changed["attention"] = "sdpa"
            model.set_attn_processor(AttnProcessor2_0())
    if params.channels_last:
        # convolutions dominate the UNet and VAE; NHWC is the layout tensor cores read fastest
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        changed["channels_last"] = True
    if params.deepcache.enabled:
        try:
            from DeepCache import DeepCacheSDHelper
        except ImportError:
            raise ImportError("generation.deepcache.enabled needs the DeepCache package: "
                              "pip install deepcache==0.1.1 (pinned in constraints.txt)") from None
        helper = DeepCacheSDHelper(pipe=pipe)
        helper.set_params(cache_interval=params.deepcache.interval, cache_branch_id=params.deepcache.branch)
        helper.enable()  # wraps the UNet's forwards; the wrappers keep the helper and its cached features
        changed.update(deepcache_interval=params.deepcache.interval, deepcache_branch=params.deepcache.branch)
    if params.compile:
        # the forward only, not the module: patches that wrap it later (discriminator guidance) stay
        # outside the compiled graph
        pipe.unet.forward = torch.compile(pipe.unet.forward)
        changed["compile"] = True
    return changed
