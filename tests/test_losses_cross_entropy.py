"""Identity cross-entropy with label smoothing, against values worked out by hand."""
import math

import torch

from dlcr_reid.losses import CrossEntropyLabelSmoothing


def test_uniform_logits_give_log_of_class_count():
    # every class has probability 1/2 whatever the soft targets: loss = ln 2
    loss = CrossEntropyLabelSmoothing(0.1)(torch.zeros(1, 2), torch.tensor([0]))
    assert math.isclose(loss.item(), math.log(2), rel_tol=1e-6)


def test_three_classes_by_hand():
    # probabilities (1/4, 1/2, 1/4); target 1; soft targets (1/30, 0.9 + 1/30, 1/30)
    # loss = 2/30 * ln 4 + 28/30 * ln 2 = 32/30 * ln 2
    logits = torch.log(torch.tensor([[1.0, 2.0, 1.0]]))
    loss = CrossEntropyLabelSmoothing(0.1)(logits, torch.tensor([1]))
    assert math.isclose(loss.item(), 32 / 30 * math.log(2), rel_tol=1e-6)


def test_batch_mean_and_no_smoothing():
    logits = torch.log(torch.tensor([[1.0, 3.0], [1.0, 1.0]]))
    loss = CrossEntropyLabelSmoothing(0.0)(logits, torch.tensor([1, 0]))
    # sample 1: -ln(3/4); sample 2: -ln(1/2)
    assert math.isclose(loss.item(), (math.log(4 / 3) + math.log(2)) / 2, rel_tol=1e-6)
