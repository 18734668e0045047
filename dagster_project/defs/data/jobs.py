"""`dataset_pipeline`: one dataset from its folder to the baseline checkpoint (partition = dataset).

A run targets one partitions definition, so a dataset's pipeline is three jobs in a row:
`dataset_pipeline` (here; the new-dataset sensor requests it), `generated_images_job` (dataset x
shard) and `dlcr_training`; the automation sensor starts the last two once their inputs exist.
"""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from dagster_project.execution import pipeline_executor

# every per-dataset asset before generation (query variants and the baseline need no generated image)
PREPARE_ASSETS = ("dataset_index", "clothing_descriptions", "clothing_prompts", "clothing_masks", "query_variants",
                  "reid_checkpoint_baseline")

dataset_pipeline_job = define_asset_job(
    "dataset_pipeline",
    selection=AssetSelection.assets(*PREPARE_ASSETS),
    description="One dataset from its folder to the baseline checkpoint (then generation and DLCR follow).",
    executor_def=pipeline_executor,
)
