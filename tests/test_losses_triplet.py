"""Batch-hard triplet loss on points on a line, worked out by hand."""
import math

import torch

from dlcr_reid.losses import BatchHardTripletLoss


def test_batch_hard_on_a_line():
    # points 0, 2 (id 0) and 3, 6 (id 1), margin 0.3
    # anchor 0: pos 2, neg 3 -> 0; anchor 2: pos 2, neg 1 -> 1.3
    # anchor 3: pos 3, neg 1 -> 2.3; anchor 6: pos 3, neg 4 -> 0; mean 0.9
    features = torch.tensor([[0.0], [2.0], [3.0], [6.0]])
    loss = BatchHardTripletLoss(0.3)(features, torch.tensor([0, 0, 1, 1]))
    assert math.isclose(loss.item(), 0.9, rel_tol=1e-5)


def test_gradient_is_finite_with_duplicate_points():
    features = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    loss = BatchHardTripletLoss(0.3)(features, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert torch.isfinite(features.grad).all()
    # each anchor: pos distance 0, neg distance sqrt(2): relu(0 - 1.414 + 0.3) = 0
    assert loss.item() == 0.0
