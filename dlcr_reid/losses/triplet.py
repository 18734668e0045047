"""Batch-hard triplet loss: per anchor, farthest positive vs nearest negative (Euclidean), margin."""
from __future__ import annotations

import torch
from torch import nn


class BatchHardTripletLoss(nn.Module):
    def __init__(self, margin: float = 0.3) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, features: torch.Tensor, pids: torch.Tensor) -> torch.Tensor:
        features = features.float()
        # clamp before sqrt: the diagonal is 0 and sqrt'(0) is infinite
        squared_norms = features.pow(2).sum(dim=1, keepdim=True)
        squared = squared_norms + squared_norms.t() - 2.0 * features @ features.t()
        distances = squared.clamp_min(1e-12).sqrt()
        same = pids.unsqueeze(0) == pids.unsqueeze(1)
        hardest_positive = distances.masked_fill(~same, float("-inf")).max(dim=1).values
        hardest_negative = distances.masked_fill(same, float("inf")).min(dim=1).values
        # anchors without any negative in the batch contribute nothing
        valid = torch.isfinite(hardest_negative)
        if not valid.any():
            return features.sum() * 0.0
        losses = torch.relu(hardest_positive - hardest_negative + self.margin)
        return losses[valid].mean()
