"""Clothes classifier loss: cross-entropy on scale x cosine logits (trained on detached features)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ClothesClassificationLoss(nn.Module):
    def __init__(self, scale: float = 16.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, cosine: torch.Tensor, clothes_ids: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.scale * cosine.float(), clothes_ids)
