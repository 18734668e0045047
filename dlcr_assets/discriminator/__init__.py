"""Discriminator guidance (SPEC §1.5): a real-vs-generated classifier on the inpainting pipeline's
latents, the `discriminator` step that trains it, guided sampling with it, and its realism score."""
from dlcr_assets.discriminator.guidance import GuidedForward, enable_guidance, guidance_fingerprint, guided_base_seed
from dlcr_assets.discriminator.model import DiscriminatorConfig, LatentDiscriminator, load_discriminator, save_discriminator
from dlcr_assets.discriminator.realism import RealismScorer, load_scorer
from dlcr_assets.discriminator.training import DiscriminatorResult, train_discriminator

__all__ = [
    "DiscriminatorConfig", "DiscriminatorResult", "GuidedForward", "LatentDiscriminator", "RealismScorer",
    "enable_guidance", "guidance_fingerprint", "guided_base_seed", "load_discriminator", "load_scorer",
    "save_discriminator", "train_discriminator",
]
