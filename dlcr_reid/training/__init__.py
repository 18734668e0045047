"""ReID training: CAL baseline and DLCR (real + generated pairs, progressive learning), with MLflow."""
from dlcr_reid.training.loop import ReidTrainer, TrainResult, train_reid

__all__ = ["ReidTrainer", "TrainResult", "train_reid"]
