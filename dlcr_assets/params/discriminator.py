"""Discriminator settings: training the real-vs-generated latent classifier, and guiding with it (SPEC §1.5).

``DiscriminatorParams`` is the `discriminator` step (what the classifier is and how it is trained);
``DiscriminatorGuidanceParams`` is the switch a generation pass reads. Guidance is off by default
and, when off, nothing is loaded and the pipeline is untouched.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from dlcr_reid.params import StrictModel


class DiscriminatorParams(StrictModel):
    # the diffusion resolution the latents are encoded at; match generation.width/height
    width: int = Field(64, ge=8, multiple_of=8)
    height: int = Field(128, ge=8, multiple_of=8)
    # condition on the clothes mask at latent size (the original ignored it: SPEC §1.5)
    use_mask: bool = True
    channels: list[int] = Field(default_factory=lambda: [32, 64, 128], min_length=1)
    time_dim: int = Field(64, ge=8, multiple_of=2)
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-4, gt=0.0)
    # held-out pairs: whole identities (no person seen in training) or single source images
    holdout_by: Literal["identity", "image"] = "identity"
    holdout_fraction: float = Field(0.25, gt=0.0, lt=1.0)
    # noisy draws per held-out pair when measuring accuracy (timesteps drawn uniformly)
    eval_draws: int = Field(4, ge=1)
    seed: int = 0


class DiscriminatorGuidanceParams(StrictModel):
    enabled: bool = False
    # folder written by `dlcr discriminator` (safetensors weights + config.json); null: the dataset's
    # own, data/discriminator/<name>/ (the steps fill it in; the library needs it set)
    path: str | None = None
    weight: float = Field(1.0, ge=0.0)
    # guide only at steps whose timestep t > threshold (SPEC §1.5: 200)
    threshold: float = Field(200.0, ge=0.0)

    def require_path(self) -> str:
        """The discriminator folder, or a ValueError saying how to get one."""
        if not self.path:
            raise ValueError("discriminator_guidance.enabled is true but discriminator_guidance.path is not set: "
                             "give the folder written by `dlcr discriminator` (the steps use data/discriminator/<name>/)")
        return self.path
