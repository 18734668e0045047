"""The realism score for the quality step: P(real) from the discriminator at low timesteps.

``RealismScorer(discriminator, pipe)`` encodes images with the pipeline's VAE at the size the
discriminator was trained at, noises them to each of ``timesteps`` with a fixed seed (so a score is
reproducible) and averages sigmoid(D) over them. At t near 0 the noise barely hides anything, which
is what a realism score of a finished image wants; a few small timesteps smooth D's output.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlcr_assets.discriminator.latents import encode_images, latent_masks, load_pipeline, noise_schedule
from dlcr_assets.discriminator.model import LatentDiscriminator, load_discriminator


class RealismScorer:
    def __init__(self, discriminator: LatentDiscriminator, pipe, timesteps: tuple[int, ...] = (0, 25, 50),
                 seed: int = 0, batch_size: int = 16):
        self.discriminator, self.pipe = discriminator.eval(), pipe
        self.schedule = noise_schedule(pipe)
        self.timesteps, self.seed, self.batch_size = tuple(timesteps), seed, batch_size

    @torch.no_grad()
    def score(self, images: list[Image.Image], masks: list[Image.Image]) -> np.ndarray:
        """P(real) per image, in [0, 1]; ``masks`` are the clothes masks (L, 0/255) of the images."""
        if len(images) != len(masks):
            raise ValueError(f"realism score: {len(images)} images but {len(masks)} masks")
        c = self.discriminator.config
        device = next(self.discriminator.parameters()).device
        scores = []
        for start in range(0, len(images), self.batch_size):
            chunk = [im.convert("RGB") for im in images[start:start + self.batch_size]]
            latents = encode_images(self.pipe, chunk, c.height, c.width).cpu()
            mask = latent_masks(self.pipe, [m.convert("L") for m in masks[start:start + len(chunk)]], c.height, c.width)
            generator = torch.Generator().manual_seed(self.seed)
            p = torch.zeros(len(chunk))
            for t in self.timesteps:
                noise = torch.randn(latents.shape, generator=generator)
                x = self.schedule.add_noise(latents, noise, torch.full((len(chunk),), t))
                logits = self.discriminator(x.to(device), torch.tensor(t, device=device),
                                            mask.to(device) if c.use_mask else None)
                p += torch.sigmoid(logits.float()).cpu()
            scores.append((p / len(self.timesteps)).numpy())
        return np.concatenate(scores) if scores else np.zeros(0)

    __call__ = score


def load_scorer(path: str | Path, device: str = "cpu", pipeline=None, **kwargs) -> RealismScorer:
    """The scorer of a discriminator folder; ``pipeline`` defaults to the one it was trained with."""
    discriminator = load_discriminator(path, device)
    pipe = load_pipeline(pipeline if pipeline is not None else discriminator.config.pipeline, device)
    return RealismScorer(discriminator, pipe, **kwargs)
