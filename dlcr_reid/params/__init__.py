"""Typed params sections that dlcr_reid's functions take (the root model lives in dlcr_assets.params)."""
from dlcr_reid.params.base import DATASET_NAME_PATTERN, StrictModel, check_dataset_name
from dlcr_reid.params.datasets import DatasetSpec
from dlcr_reid.params.evaluation import EvaluationParams
from dlcr_reid.params.synthetic import SyntheticParams
from dlcr_reid.params.tracking import TrackingParams
from dlcr_reid.params.training import TrainingParams

__all__ = [
    "DATASET_NAME_PATTERN",
    "DatasetSpec",
    "EvaluationParams",
    "StrictModel",
    "SyntheticParams",
    "TrackingParams",
    "TrainingParams",
    "check_dataset_name",
]
