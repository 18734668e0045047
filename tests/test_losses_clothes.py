"""Clothes classifier loss (CE on 16 x cosine) and the CAL loss, against values worked out by hand."""
import math

import torch

from dlcr_reid.losses import ClothesAdversarialLoss, ClothesClassificationLoss
from dlcr_reid.models import CosineClassifier


def test_clothes_classification_is_cross_entropy_on_scaled_cosine():
    # 16 x cos = (0, ln 3): probabilities (1/4, 3/4); target 0 -> ln 4
    cosine = torch.tensor([[0.0, math.log(3) / 16]])
    loss = ClothesClassificationLoss(16.0)(cosine, torch.tensor([0]))
    assert math.isclose(loss.item(), math.log(4), rel_tol=1e-6)


def test_cal_loss_by_hand():
    # 16 x cos = (0, ln 2, 0); the identity wears clothes {0, 1}; own clothes 1; negative {2}
    # log p_0 = 0 - ln(1 + 1) = -ln 2 ; log p_1 = ln 2 - ln(1 + 2)
    # targets: class 0: eps/2 = 0.05, class 1: 0.9 + 0.05 = 0.95
    # loss = 0.05 ln 2 + 0.95 (ln 3 - ln 2)
    cosine = torch.tensor([[0.0, math.log(2) / 16, 0.0]])
    positives = torch.tensor([[1, 1, 0]])
    loss = ClothesAdversarialLoss(16.0, 0.1)(cosine, torch.tensor([1]), positives)
    expected = 0.05 * math.log(2) + 0.95 * (math.log(3) - math.log(2))
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_cal_loss_single_positive_is_plain_cross_entropy():
    # one clothes class per identity: the loss is CE over all classes (targets 1 on own clothes)
    cosine = torch.tensor([[math.log(3) / 16, 0.0]])
    loss = ClothesAdversarialLoss(16.0, 0.1)(cosine, torch.tensor([0]), torch.tensor([[1, 0]]))
    assert math.isclose(loss.item(), math.log(4 / 3), rel_tol=1e-6)


def test_cal_loss_is_lowest_when_own_identity_clothes_are_equally_likely():
    positives = torch.tensor([[1, 1, 0]])
    balanced = ClothesAdversarialLoss()(torch.tensor([[0.5, 0.5, -0.5]]), torch.tensor([1]), positives)
    own_only = ClothesAdversarialLoss()(torch.tensor([[-0.5, 0.5, -0.5]]), torch.tensor([1]), positives)
    assert balanced.item() < own_only.item()


def test_cosine_classifier_outputs_cosines():
    classifier = CosineClassifier(2, 2)
    with torch.no_grad():
        classifier.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 5.0]]))
    cosine = classifier(torch.tensor([[3.0, 3.0]]))
    assert torch.allclose(cosine, torch.tensor([[1 / math.sqrt(2), 1 / math.sqrt(2)]]))
