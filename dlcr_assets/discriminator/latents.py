"""What the discriminator sees, computed exactly as the inpainting pipeline computes it.

Images go through the pipeline's own image processor and VAE (``scaling_factor`` applied), masks
through its mask processor and the same nearest downsample to latent size that
``prepare_mask_latents`` does, and noise follows the pipeline's own schedule: a DDPM scheduler
built from the pipeline scheduler's config (same betas, so the same alpha_bar_t). Why DDPM and not
``pipe.scheduler.add_noise`` itself: for PNDM/DDIM the two are identical, while Euler-type
schedulers (SDXL's default) add noise in sigma form and rescale it with ``scale_model_input``
before the UNet; the UNet, and so the guided discriminator, always sees the VP form
sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps.
"""
from __future__ import annotations

import torch
from PIL import Image

from dlcr_assets.errors import StepInputError


def load_pipeline(pipeline_id_or_path, device: str):
    """A loaded pipeline is used as is; an id or folder loads like the diffusers backend does (fp32 here)."""
    if not isinstance(pipeline_id_or_path, (str, bytes)) and hasattr(pipeline_id_or_path, "vae"):
        return pipeline_id_or_path
    from diffusers import AutoPipelineForInpainting

    from dlcr_assets.hub import load_pretrained

    pipe = load_pretrained(AutoPipelineForInpainting.from_pretrained, str(pipeline_id_or_path), "inpainting pipeline",
                           dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def noise_schedule(pipe):
    """The VP noising of the pipeline's own schedule (see the module docstring)."""
    from diffusers import DDPMScheduler

    config = pipe.scheduler.config
    if config.get("prediction_type", "epsilon") != "epsilon":
        raise StepInputError(f"discriminator: the pipeline predicts {config['prediction_type']!r}; "
                                   "guidance is defined for epsilon-prediction checkpoints (SD 1.5 / SDXL inpainting)")
    return DDPMScheduler.from_config(config)


@torch.no_grad()
def encode_images(pipe, images: list[Image.Image], height: int, width: int, batch_size: int = 8) -> torch.Tensor:
    """Scaled VAE latents (float32, on the VAE's device) of RGB images resized to the diffusion size."""
    vae = pipe.vae
    out = []
    for start in range(0, len(images), batch_size):
        pixels = pipe.image_processor.preprocess(images[start:start + batch_size], height=height, width=width)
        pixels = pixels.to(device=vae.device, dtype=vae.dtype)
        out.append(vae.encode(pixels).latent_dist.mode().float() * vae.config.scaling_factor)
    return torch.cat(out)


@torch.no_grad()
def latent_masks(pipe, masks: list[Image.Image], height: int, width: int) -> torch.Tensor:
    """Binary clothes masks at latent size, as the inpainting UNet's mask channel holds them."""
    mask = pipe.mask_processor.preprocess(masks, height=height, width=width)
    size = (height // pipe.vae_scale_factor, width // pipe.vae_scale_factor)
    return torch.nn.functional.interpolate(mask.float(), size=size).to(pipe.vae.device)
