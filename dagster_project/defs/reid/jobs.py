"""`dlcr_training`: score the generated images, train on real + (kept) generated images, evaluate both, compare."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from dagster_project.execution import pipeline_executor

# after generation; the automation sensor runs them once their inputs exist. The quality step comes
# first: its blocking check (quality.block_training_below) stops the rest of the run
FINISH_ASSETS = ("generation_quality", "reid_checkpoint_dlcr", "evaluation_reports", "comparison_report")

dlcr_training_job = define_asset_job(
    "dlcr_training",
    selection=AssetSelection.assets(*FINISH_ASSETS),
    description="Score the generated images, train on real + generated images, evaluate both models, compare.",
    executor_def=pipeline_executor,
)
