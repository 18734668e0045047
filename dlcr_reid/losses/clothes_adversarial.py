"""The clothes-based adversarial loss (CAL, Gu et al. CVPR 2022).

The backbone is pushed to make every clothes class of the sample's own identity equally likely:
for each positive class j (a clothes class of the same identity) the log-probability is taken over
{j} plus all negative classes only, ``log p_j = s_j - log(exp(s_j) + sum_neg exp(s_k))``, so the
other positives do not compete with j. Soft targets put ``1 - eps`` on the sample's own clothes
and spread ``eps`` uniformly over all positive classes (the own clothes included).
The logits are ``scale x cosine`` from the clothes classifier.
"""
from __future__ import annotations

import torch
from torch import nn


class ClothesAdversarialLoss(nn.Module):
    def __init__(self, scale: float = 16.0, epsilon: float = 0.1) -> None:
        super().__init__()
        self.scale = scale
        self.epsilon = epsilon

    def forward(self, cosine: torch.Tensor, clothes_ids: torch.Tensor, positive_mask: torch.Tensor) -> torch.Tensor:
        """``positive_mask`` [B, C]: 1 where clothes class c belongs to the sample's identity."""
        logits = self.scale * cosine.float()
        positive = positive_mask.float()
        negative = 1.0 - positive
        # shift by the row max for stability; it cancels in s_j - log(...)
        logits = logits - logits.max(dim=1, keepdim=True).values.detach()
        exp_logits = logits.exp()
        negatives_sum = (exp_logits * negative).sum(dim=1, keepdim=True)
        log_prob = logits - torch.log(negatives_sum + exp_logits)
        own = torch.zeros_like(positive).scatter_(1, clothes_ids.unsqueeze(1), 1.0)
        targets = (1.0 - self.epsilon) * own + self.epsilon * positive / positive.sum(dim=1, keepdim=True)
        return -(targets * log_prob).sum(dim=1).mean()
