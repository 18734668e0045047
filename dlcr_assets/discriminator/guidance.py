"""Discriminator guidance for any diffusers SD 1.5 / SDXL inpainting pipeline, by patching its UNet.

``enable_guidance(pipe, settings)`` replaces the UNet instance's ``forward`` with one that calls the
real forward and then, at steps with t > threshold, adds

    -sqrt(1 - alpha_bar_t) * weight * grad_x log(D / (1 - D))     (the logit of D is log D/(1-D))

to the noise prediction, x being the noisy latents (the first 4 of the inpainting UNet's 9 input
channels; channel 4 is the clothes mask at latent size, which conditions D). Everything else in the
pipeline runs unchanged, classifier-free guidance included: with CFG the UNet sees [uncond; cond]
copies of the same latents, D gets the same gradient for both halves, and adding c to both gives
eps_u + c + g * ((eps_c + c) - (eps_u + c)) = CFG(eps) + c, the correction exactly once.
With guidance off nothing is loaded and the pipeline is not touched.
"""
from __future__ import annotations

import torch

from dlcr_assets.discriminator.model import LatentDiscriminator, load_discriminator, weights_sha256
from dlcr_assets.errors import StepInputError
from dlcr_assets.generation.seeds import stable_int
from dlcr_assets.params.discriminator import DiscriminatorGuidanceParams


class GuidedForward:
    """The patched forward; ``remove()`` restores the UNet's own."""

    def __init__(self, unet, discriminator: LatentDiscriminator, alphas_cumprod: torch.Tensor, weight: float,
                 threshold: float):
        self.unet, self.discriminator = unet, discriminator
        self.original = unet.forward
        self.alphas_cumprod = alphas_cumprod.float()
        self.weight, self.threshold = float(weight), float(threshold)
        self.calls = 0  # guided UNet calls (tests and benchmarks read it)

    def correction(self, latents: torch.Tensor, timestep, mask: torch.Tensor | None) -> torch.Tensor:
        t = torch.as_tensor(timestep).float().reshape(-1)[0].cpu()
        # Euler-type schedulers pass float timesteps: interpolate alpha_bar between integer steps
        low = int(t.floor().clamp(0, len(self.alphas_cumprod) - 1))
        high = min(low + 1, len(self.alphas_cumprod) - 1)
        frac = float(t - low)
        alpha_bar = float(self.alphas_cumprod[low] * (1 - frac) + self.alphas_cumprod[high] * frac)
        d = self.discriminator
        with torch.enable_grad():
            x = latents.detach().to(device=next(d.parameters()).device, dtype=torch.float32).requires_grad_(True)
            m = mask.detach().to(x) if mask is not None else None
            logit = d(x, t.to(x.device).expand(x.shape[0]), m)
            (grad,) = torch.autograd.grad(logit.sum(), x)
        return -((1.0 - alpha_bar) ** 0.5) * self.weight * grad

    def __call__(self, sample, timestep, *args, **kwargs):
        out = self.original(sample, timestep, *args, **kwargs)
        if float(torch.as_tensor(timestep).reshape(-1)[0]) <= self.threshold or self.weight == 0.0:
            return out
        noise = out[0] if isinstance(out, tuple) else out.sample
        channels = noise.shape[1]
        mask = sample[:, channels:channels + 1] if self.discriminator.config.use_mask else None
        if self.discriminator.config.use_mask and mask.shape[1] == 0:
            raise StepInputError("discriminator guidance: this discriminator is conditioned on the clothes mask, "
                                       "but the UNet has no mask channel (not an inpainting UNet)")
        self.calls += 1
        guided = noise + self.correction(sample[:, :channels], timestep, mask).to(noise.dtype)
        if isinstance(out, tuple):
            return (guided, *out[1:])
        out.sample = guided
        return out

    def remove(self) -> None:
        if self.unet.__dict__.get("forward") is self:
            del self.unet.forward


def enable_guidance(pipe, settings: DiscriminatorGuidanceParams, discriminator: LatentDiscriminator | None = None,
                    device: str | None = None) -> GuidedForward | None:
    """Patch ``pipe.unet`` for guidance when ``settings.enabled``; return the patch (None when off)."""
    if not settings.enabled:
        return None
    if pipe.scheduler.config.get("prediction_type", "epsilon") != "epsilon":
        raise StepInputError("discriminator guidance: the pipeline predicts "
                                   f"{pipe.scheduler.config['prediction_type']!r}; guidance needs epsilon prediction")
    if discriminator is None:
        discriminator = load_discriminator(settings.require_path(), device or str(pipe.unet.device))
    expected = pipe.scheduler.config.get("num_train_timesteps", 1000)
    if discriminator.config.num_train_timesteps != expected:
        raise StepInputError(f"discriminator guidance: {settings.path} was trained on {discriminator.config.num_train_timesteps} "
                                   f"timesteps, the pipeline's scheduler has {expected}")
    discriminator.requires_grad_(False)  # gradients flow to the latents only
    patch = GuidedForward(pipe.unet, discriminator, pipe.scheduler.alphas_cumprod, settings.weight, settings.threshold)
    pipe.unet.forward = patch
    return patch


def guidance_fingerprint(settings: DiscriminatorGuidanceParams) -> dict:
    """What a guided expansion adds to its fingerprint; {} when off, so unguided fingerprints stay as they are."""
    if not settings.enabled:
        return {}
    return {"discriminator_guidance": {"weight": settings.weight, "threshold": settings.threshold,
                                       "discriminator_sha256": weights_sha256(settings.require_path())}}


def guided_base_seed(base_seed: int, settings: DiscriminatorGuidanceParams) -> int:
    """The base seed of a guided pass: its own stream (per (image, variant) as before); unchanged when off."""
    if not settings.enabled:
        return base_seed
    fingerprint = guidance_fingerprint(settings)["discriminator_guidance"]
    return stable_int("guided", base_seed, fingerprint["discriminator_sha256"], settings.weight, settings.threshold)
