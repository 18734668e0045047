"""The latent discriminator: a small timestep-conditioned conv encoder giving logit P(real | x_t, t, mask).

Input: the noisy 4-channel VAE latent x_t (as the UNet sees it, i.e. after ``scale_model_input``),
the timestep t (embedded sinusoidally from t / num_train_timesteps, so any scheduler's float
timesteps work) and, when ``use_mask``, the clothes mask at latent size (the inpainting UNet's 5th
input channel). GroupNorm, not BatchNorm, so every sample's gradient is its own (guidance needs
per-sample gradients in a batch). A model is a folder: ``model.safetensors`` + ``config.json``.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from dlcr_assets.errors import StepInputError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


@dataclass
class DiscriminatorConfig:
    num_train_timesteps: int = 1000
    use_mask: bool = True
    channels: list[int] = field(default_factory=lambda: [32, 64, 128])
    time_dim: int = 64
    latent_channels: int = 4
    # what it was trained on: the pipeline whose VAE and noise schedule it knows, at which size
    pipeline: str = ""
    width: int = 64
    height: int = 128
    scaling_factor: float = 0.18215
    metrics: dict = field(default_factory=dict)


def timestep_embedding(t: torch.Tensor, dim: int, num_train_timesteps: int) -> torch.Tensor:
    """Sinusoidal features of t / num_train_timesteps in [0, 1] (frequencies 1 .. 1000 over the range)."""
    s = t.float().reshape(-1, 1) / num_train_timesteps
    freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), dim // 2, device=t.device))
    angles = s * freqs * math.pi
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class _Block(nn.Module):
    """Conv, GroupNorm, a per-channel shift from the time embedding, SiLU; then a stride-2 downsample."""

    def __init__(self, cin: int, cout: int, time_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.GroupNorm(min(8, cout), cout)
        self.time = nn.Linear(time_dim, cout)
        self.down = nn.Conv2d(cout, cout, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.conv(x)) + self.time(emb)[:, :, None, None]
        return self.down(nn.functional.silu(h))


class LatentDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        cin = config.latent_channels + (1 if config.use_mask else 0)
        self.time_mlp = nn.Sequential(nn.Linear(config.time_dim, config.time_dim), nn.SiLU(),
                                      nn.Linear(config.time_dim, config.time_dim))
        blocks = []
        for cout in config.channels:
            blocks.append(_Block(cin, cout, config.time_dim))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        # mean and max pooling: a small generated region must not be averaged away
        self.head = nn.Linear(2 * cin, 1)

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logit of P(real) per sample; ``timesteps`` is a scalar or one per sample."""
        c = self.config
        if c.use_mask:
            if mask is None:
                raise ValueError("this discriminator is conditioned on the clothes mask: pass mask (N,1,h,w)")
            latents = torch.cat([latents, mask.to(latents.dtype)], dim=1)
        t = torch.as_tensor(timesteps, device=latents.device).reshape(-1).expand(latents.shape[0])
        emb = self.time_mlp(timestep_embedding(t, c.time_dim, c.num_train_timesteps))
        h = latents
        for block in self.blocks:
            h = block(h, emb)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(pooled).squeeze(1)


def save_discriminator(model: LatentDiscriminator, folder: Path) -> Path:
    """Write the folder atomically: weights and config under a temp name, then rename into place."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for name, write in ((WEIGHTS, lambda p: save_file(state, str(p))),
                        (CONFIG, lambda p: p.write_text(json.dumps(asdict(model.config), indent=2)))):
        tmp = folder / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, folder / name)
    return folder


def load_discriminator(path: str | Path, device: str = "cpu") -> LatentDiscriminator:
    """Load a folder written by ``save_discriminator`` (eval mode, on ``device``)."""
    from safetensors.torch import load_file

    folder = Path(path).expanduser()
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise StepInputError(f"discriminator {folder}: {name} is missing; "
                                       "train one with `dlcr discriminator --dataset NAME`")
    try:
        config = DiscriminatorConfig(**json.loads((folder / CONFIG).read_text()))
    except (TypeError, ValueError) as error:
        raise StepInputError(f"discriminator {folder / CONFIG}: not a discriminator config ({error})") from error
    model = LatentDiscriminator(config)
    model.load_state_dict(load_file(str(folder / WEIGHTS)))
    return model.to(device).eval()


def weights_sha256(path: str | Path) -> str:
    """The weights file's digest: what a guided expansion's fingerprint names."""
    import hashlib

    digest = hashlib.sha256()
    with open(Path(path) / WEIGHTS, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
