"""`dlcr_training`: train on real + generated images, evaluate both models, compare (partition = dataset)."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from dagster_project.execution import gpu_limited_executor

# after generation; the automation sensor runs them once their inputs exist
FINISH_ASSETS = ("reid_checkpoint_dlcr", "evaluation_reports", "comparison_report")

dlcr_training_job = define_asset_job(
    "dlcr_training",
    selection=AssetSelection.assets(*FINISH_ASSETS),
    description="Train on real + generated images, evaluate both models, write the comparison report.",
    executor_def=gpu_limited_executor,
)
