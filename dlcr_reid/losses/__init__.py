"""ReID losses, one a file: identity CE with label smoothing, batch-hard triplet, clothes CE, CAL."""
from dlcr_reid.losses.clothes_adversarial import ClothesAdversarialLoss
from dlcr_reid.losses.clothes_classification import ClothesClassificationLoss
from dlcr_reid.losses.cross_entropy_label_smoothing import CrossEntropyLabelSmoothing
from dlcr_reid.losses.triplet import BatchHardTripletLoss

__all__ = [
    "BatchHardTripletLoss",
    "ClothesAdversarialLoss",
    "ClothesClassificationLoss",
    "CrossEntropyLabelSmoothing",
]
